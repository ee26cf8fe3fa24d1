"""Where a finished job's output manifest is read from: a job name, an s3:// URI or a file.

Shared by ``export_results`` (its SOURCE and each ``--review``) and ``review_job``.
A job name is looked up with ``describe_labeling_job`` (its ``OutputDatasetS3Uri``
and label attribute), or, on a stack with the self-hosted runner, in the runner's own
table (the same facts); an ``s3://`` URI is read as it is; a local file (such as the
offline preview's ``output.manifest``) from disk. Lines are streamed as bytes,
split on line feeds only, so a byte that is not UTF-8 costs its line alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components.stack_outputs import StackOutputs
from handlers.task_service import NotFound
from scripts import gt_limits, runner
from scripts.aws import AwsClients
from scripts.cli import UsageError, UserError, warn
from scripts.s3 import S3Uri

_READ_CHUNK = 1 << 20

Kind = Literal["s3", "file", "job"]


@dataclass
class Source:
    """An output manifest, opened: its lines are read as they are iterated."""

    #: The job's name, or the manifest's (a file's stem, a job folder in an S3 key).
    name: str
    lines: Iterator[bytes]
    #: The job's label attribute (a job name), or the one given; None: find it per line.
    label_attribute: str | None
    #: A local manifest's folder, where copies of overflow files are looked for first.
    folder: Path | None = None


def source_kind(text: str, what: str = "SOURCE") -> Kind:
    """``"s3"``, ``"file"`` or ``"job"``; anything else is a usage error naming ``what``."""
    if text.startswith("s3://"):
        return "s3"
    if Path(text).is_file():
        return "file"
    try:
        gt_limits.labeling_job_name(text)
    except argparse.ArgumentTypeError:
        raise UsageError(
            f"{what} {text!r}: not a file, an s3:// URI or a labeling job name"
        ) from None
    return "job"


def open_source(
    text: str,
    kind: Kind,
    clients: AwsClients | None,
    *,
    label_attribute: str | None = None,
    what: str = "SOURCE",
    prog: str,
    outputs: StackOutputs | None = None,
) -> Source:
    """The manifest ``text`` names (``kind`` from :func:`source_kind`); S3 and job names
    need ``clients``, and a job name the stack's ``outputs`` (which runner ran it).
    ``prog`` signs the warning about a job that is still running."""
    if kind == "file":
        path = Path(text)
        return Source(path.stem, _file_lines(path), label_attribute, path.parent)
    if clients is None:
        raise UsageError(f"{what} {text}: reading it needs AWS (the stack's region)")
    if kind == "s3":
        uri = S3Uri.parse(text, what=what)
        key = Path(uri.key)
        # <output>/<job>/manifests/output/output.manifest: the job's folder names it.
        return Source(
            key.parent.parent.parent.name or key.stem, _s3_lines(clients, uri), label_attribute
        )
    manifest, status, job_attribute = _job_output(text, clients, outputs)
    if not manifest:
        raise UserError(
            f"{text} has no output manifest yet (status {status});"
            " it is written when the job completes or is stopped"
        )
    if status not in ("Completed", "Stopped"):
        warn(prog, f"{text} is {status}: reading the labels so far")
    uri = S3Uri.parse(manifest, what="OutputDatasetS3Uri")
    return Source(text, _s3_lines(clients, uri), label_attribute or job_attribute)


def _job_output(
    name: str, clients: AwsClients, outputs: StackOutputs | None
) -> tuple[str | None, str, str]:
    """(output manifest URI or None, status, label attribute) of a job, from the runner
    that ran it: Ground Truth's ``DescribeLabelingJob``, or the self-hosted runner's table."""
    if outputs is not None and runner.is_self_hosted(outputs):
        try:
            job = runner.task_service(outputs, clients).job(name)
        except NotFound:
            raise UserError(f"{name}: the stack's runner has no job of this name") from None
        return job.output_manifest, job.status, job.spec.label_attribute
    described = clients.sagemaker.describe_labeling_job(LabelingJobName=name)
    manifest = described.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri")
    return manifest, described["LabelingJobStatus"], described["LabelAttributeName"]


def _file_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from stream


def _s3_lines(clients: AwsClients, uri: S3Uri) -> Iterator[bytes]:
    body = clients.s3.get_object(Bucket=uri.bucket, Key=uri.key)["Body"]
    yield from body.iter_lines(chunk_size=_READ_CHUNK)
