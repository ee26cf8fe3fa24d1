"""Ground Truth's side of a labeling job, for the runners that play its part.

The self-hosted task service and the offline preview call the same two handlers
Ground Truth calls, with the events Ground Truth sends, and write what Ground Truth
writes, where it writes it (``docs/contracts.md``): under
``<S3OutputPath><job>/``

* ``annotations/worker-response/iteration-1/<datasetObjectId>/<time>-<slot>.json``,
  one worker's answer in Ground Truth's ``{"answers": [...]}`` form;
* ``annotations/consolidated-annotation/consolidation-request/iteration-1/<time>-<id>.json``,
  the payload of a post-annotation request;
* ``manifests/output/output.manifest``: the input line's keys, then ``<label>`` and
  ``<label>-metadata``.

Stdlib only (part of the Lambda archive).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

ITERATION = "iteration-1"
#: Written into the ARN of a job when the account is not known (the offline preview).
PREVIEW_ACCOUNT = "123456789012"
_FILE_TIME = "%Y-%m-%d_%H:%M:%S"


def job_arn(job_name: str, *, region: str, account: str) -> str:
    """The ``labelingJobArn`` the handlers see: Ground Truth's form, for a job it does not run."""
    return f"arn:aws:sagemaker:{region}:{account}:labeling-job/{job_name}"


def output_prefix(output_path: str, job_name: str) -> str:
    """``s3://bucket/<S3OutputPath key>/<job>/``: everything the job writes is under it."""
    return f"{output_path.rstrip('/')}/{job_name}/"


def worker_response_uri(prefix: str, dataset_object_id: int | str, slot: int, at: float) -> str:
    return (
        f"{prefix}annotations/worker-response/{ITERATION}/{dataset_object_id}/"
        f"{_file_time(at)}-{slot}.json"
    )


def consolidation_request_uri(prefix: str, first_object_id: int | str, at: float) -> str:
    return (
        f"{prefix}annotations/consolidated-annotation/consolidation-request/{ITERATION}/"
        f"{_file_time(at)}-{first_object_id}.json"
    )


def output_manifest_uri(prefix: str) -> str:
    return f"{prefix}manifests/output/output.manifest"


def pre_annotation_event(manifest_line: Mapping[str, Any], arn: str) -> dict[str, Any]:
    return {"version": "2018-10-16", "labelingJobArn": arn, "dataObject": dict(manifest_line)}


def payload_entry(
    dataset_object_id: int | str, source_ref: Any, answers: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """One data object of a consolidation payload; ``answers`` are (worker ID, the answer
    as a JSON string), as Ground Truth stores ``annotationData.content``."""
    return {
        "datasetObjectId": str(dataset_object_id),
        "dataObject": {"s3Uri": source_ref},
        "annotations": [
            {"workerId": worker, "annotationData": {"content": content}}
            for worker, content in answers
        ],
    }


def post_annotation_event(
    *,
    arn: str,
    label_attribute: str,
    output_prefix: str,
    max_workers: int,
    payload_uri: str | None = None,
    payload: Sequence[Mapping[str, Any]] | None = None,
    kms_key_id: str | None = None,
) -> dict[str, Any]:
    """The consolidation request, its payload in S3 (``payload_uri``) or inline."""
    event: dict[str, Any] = {
        "version": "2018-10-06",
        "labelingJobArn": arn,
        "labelCategories": None,
        "labelAttributeName": label_attribute,
        "outputConfig": f"{output_prefix}annotations",
        "maxHumanWorkersPerDataObject": max_workers,
        "payload": {"s3Uri": payload_uri}
        if payload_uri is not None
        else {"content": json.dumps(list(payload or []))},
    }
    if kms_key_id:
        event["kmsKeyId"] = kms_key_id
    return event


def worker_response(
    *,
    worker_id: str,
    answer: Mapping[str, Any],
    accepted: float,
    submitted: float,
    identity_data: Mapping[str, str],
) -> dict[str, Any]:
    """A worker-response file as Ground Truth writes it (``answerContent`` already parsed)."""
    return {
        "answers": [
            {
                "workerId": worker_id,
                "answerContent": dict(answer),
                "acceptanceTime": _answer_time(accepted),
                "submissionTime": _answer_time(submitted),
                "timeSpentInSeconds": round(max(0.0, submitted - accepted), 3),
                "workerMetadata": {"identityData": dict(identity_data)},
            }
        ]
    }


def output_manifest_line(
    input_line: Mapping[str, Any],
    *,
    label_attribute: str,
    consolidated: Any,
    job_name: str,
    created: datetime,
) -> dict[str, Any]:
    """The input line's keys unchanged, then the label and its metadata."""
    line = dict(input_line)
    line[label_attribute] = consolidated
    line[f"{label_attribute}-metadata"] = {
        "type": "groundtruth/custom",
        "job-name": job_name,
        "human-annotated": "yes",
        "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    }
    return line


def unlabeled_line(
    input_line: Mapping[str, Any], *, label_attribute: str, job_name: str, reason: str
) -> dict[str, Any]:
    """An object that got no label: the input line, and the reason in the metadata."""
    line = dict(input_line)
    line[f"{label_attribute}-metadata"] = {"job-name": job_name, "failure-reason": reason}
    return line


def utc(at: float) -> datetime:
    """Epoch seconds as a naive UTC datetime (the form of ``creation-date``)."""
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None)


def _file_time(at: float) -> str:
    return utc(at).strftime(_FILE_TIME)


def _answer_time(at: float) -> str:
    return utc(at).strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc(at).microsecond // 1000:03d}Z"
