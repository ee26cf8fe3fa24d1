"""Turn a labeling job's output manifest into training data, figures and pictures.

SOURCE is a job name (its output manifest is found with describe_labeling_job),
an s3:// URI of an output manifest, or a local file (such as the offline
preview's output.manifest). The manifest is streamed, line by line, and both
spellings of Ground Truth's metadata are read. Written to --out:

  coco_keypoints.json  COCO keypoints: images with width/height (the id is the image's
                       line number in the manifest), one annotation per skeleton
                       ([x, y, v] in rig order, num_keypoints, bbox, area), the rig
                       as the category
  summary.json         images, skeletons, keypoints, labeling time per image (mean,
                       median), share of pre-annotations modified, QA flags, agreement
  yolo/                Ultralytics YOLO pose labels (labels/<image>.txt, data.yaml)
  pictures/, review.html
                       up to --max-pictures images with their skeletons drawn in the
                       rig's colours, on one page that lists flagged images first
  problems.jsonl       every line that could not be used, and why (only if any)

examples:
  python -m scripts.export_results pose-20250314-093000-1f2e --out export/
  python -m scripts.export_results s3://BUCKET/labeling_jobs/output/JOB/manifests/output/output.manifest
  python -m scripts.export_results preview-output/output.manifest --rig coco-person-17 \\
      --images example-images --max-pictures 20

Labels whose fields the post-annotation Lambda moved to an overflow file (to keep
a very large batch under Lambda's response limit) are put back whole: the file
is read from S3, or, for a local manifest, from a copy beside it (at
pose-labeling-overflow/<the rest of its key>, or by its file name). A label whose
file cannot be read is listed in problems.jsonl, never exported incomplete.

Large manifests are read by --jobs worker processes. The summary is printed to
stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from PIL import Image
from tqdm import tqdm

from handlers.rig import Rig, RigError, load_rig
from scripts import draw_skeletons, export_lines, gt_limits, stack, yolo_pose
from scripts.aws import AwsClients
from scripts.cli import ArgumentParser, UsageError, UserError, run, warn
from scripts.coco_writer import CocoWriter
from scripts.export_summary import Summary
from scripts.s3 import S3Uri

PROG = "python -m scripts.export_results"
IMAGES_PREFIX = "labeling_jobs/images/"
DEFAULT_MAX_PICTURES = 100
_READ_CHUNK = 1 << 20


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(PROG, __doc__)
    parser.add_argument(
        "source", metavar="SOURCE", help="a job name, an s3:// output manifest, or a local file"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write (default: export-<job or manifest name>/)",
    )
    parser.add_argument(
        "--label-attribute",
        type=gt_limits.label_attribute_name,
        metavar="NAME",
        help="the label's key in the manifest (default: the job's, or the key with a"
        " -metadata companion)",
    )
    parser.add_argument(
        "--rig",
        metavar="NAME|FILE",
        help="the rig the labels use (default: the stack's); with a local SOURCE and --rig,"
        " no stack is needed",
    )
    parser.add_argument(
        "--images-prefix",
        default=IMAGES_PREFIX,
        metavar="PREFIX",
        help="removed from image keys to make file names, so they match a local copy of"
        f" the images (default: {IMAGES_PREFIX})",
    )
    parser.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help="local copy of the images, for pictures and missing image sizes"
        " (default: download the pictured ones from S3)",
    )
    parser.add_argument(
        "--max-pictures",
        type=gt_limits.integer(0, 100_000),
        default=DEFAULT_MAX_PICTURES,
        metavar="N",
        help=f"draw at most N images, flagged ones first (default: {DEFAULT_MAX_PICTURES};"
        " 0: none)",
    )
    parser.add_argument("--no-yolo", action="store_true", help="do not write YOLO labels")
    parser.add_argument(
        "--jobs",
        type=gt_limits.integer(1, 64),
        default=export_lines.default_jobs(),
        metavar="N",
        help="processes for large manifests (default: the number of CPUs, at most 8)",
    )
    stack.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, clients: AwsClients | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: export(args, clients))


@dataclass
class Source:
    name: str
    lines: Iterator[str]
    label_attribute: str | None
    #: Where images and overflow files come from (None: local files only).
    clients: AwsClients | None
    #: A local manifest's folder, where copies of overflow files are looked for first.
    folder: Path | None = None


def export(args: argparse.Namespace, clients: AwsClients | None) -> int:
    kind = source_kind(args.source)
    offline = kind == "file" and args.rig is not None
    outputs = None if offline else stack.read(args)
    rig = _rig(args.rig) if args.rig else outputs.rig  # type: ignore[union-attr]
    if outputs is not None:
        clients = clients or AwsClients(outputs.region)
    source = open_source(args, kind, clients)
    out: Path = args.out or Path(f"export-{source.name}")
    exporter = Exporter(out, rig, args, source, outputs.region if outputs else None)
    with exporter:
        exporter.run()
    exporter.draw_pictures()
    summary = exporter.summary
    (out / "summary.json").write_text(
        json.dumps(summary.to_jsonable(), indent=2) + "\n", encoding="utf-8"
    )
    for text in summary.lines_of_text():
        print(text)
    print(f"written to {out}/: coco_keypoints.json, summary.json", end="")
    print(", yolo/" if not args.no_yolo else "", end="")
    print(f", review.html ({exporter.pictures_drawn} pictures)" if args.max_pictures else "")
    if exporter.problems:
        warn(PROG, f"{exporter.problems} lines could not be used; see {out}/problems.jsonl")
    return 0


def _rig(name_or_path: str) -> Rig:
    try:
        return load_rig(name_or_path)
    except RigError as exc:
        raise UsageError(f"--rig: {exc}") from None


def source_kind(text: str) -> str:
    """``"s3"``, ``"file"`` or ``"job"``; anything else is a usage error."""
    if text.startswith("s3://"):
        return "s3"
    if Path(text).is_file():
        return "file"
    try:
        gt_limits.labeling_job_name(text)
    except argparse.ArgumentTypeError:
        raise UsageError(
            f"SOURCE {text!r}: not a file, an s3:// URI or a labeling job name"
        ) from None
    return "job"


def open_source(args: argparse.Namespace, kind: str, clients: AwsClients | None) -> Source:
    text = args.source
    if kind == "s3":
        uri = S3Uri.parse(text, what="SOURCE")
        assert clients is not None  # the stack was read: S3 needs its region
        return Source(
            Path(uri.key).parent.parent.parent.name or Path(uri.key).stem,
            _s3_lines(clients, uri),
            args.label_attribute,
            clients,
        )
    if kind == "file":
        path = Path(text)
        return Source(path.stem, _file_lines(path), args.label_attribute, clients, path.parent)
    job_name = text
    assert clients is not None
    job = clients.sagemaker.describe_labeling_job(LabelingJobName=job_name)
    manifest = job.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri")
    if not manifest:
        raise UserError(
            f"{job_name} has no output manifest yet (status {job['LabelingJobStatus']});"
            " it is written when the job completes or is stopped"
        )
    if job["LabelingJobStatus"] not in ("Completed", "Stopped"):
        warn(PROG, f"{job_name} is {job['LabelingJobStatus']}: exporting the labels so far")
    uri = S3Uri.parse(manifest, what="OutputDatasetS3Uri")
    return Source(
        job_name,
        _s3_lines(clients, uri),
        args.label_attribute or job["LabelAttributeName"],
        clients,
    )


def _file_lines(path: Path) -> Iterator[str]:
    # newline="\n": split on line feeds only, never on a U+2028 inside a JSON string.
    with path.open(encoding="utf-8", newline="\n") as stream:
        yield from stream


def _s3_lines(clients: AwsClients, uri: S3Uri) -> Iterator[str]:
    body = clients.s3.get_object(Bucket=uri.bucket, Key=uri.key)["Body"]
    for raw in body.iter_lines(chunk_size=_READ_CHUNK):
        yield raw.decode("utf-8")


@dataclass
class _Candidate:
    """An image that may be pictured: its line is kept, and parsed again to draw it."""

    number: int
    text: str
    flags: list[str]
    errors: list[str]


@dataclass
class _Picker:
    """Keeps the first ``limit`` flagged images and the first ``limit`` others."""

    limit: int
    flagged: list[_Candidate] = field(default_factory=list)
    others: list[_Candidate] = field(default_factory=list)

    def offer(self, candidate: _Candidate) -> None:
        bucket = self.flagged if candidate.flags or candidate.errors else self.others
        if len(bucket) < self.limit:
            bucket.append(candidate)

    @property
    def wants_more(self) -> bool:
        return len(self.flagged) < self.limit

    def chosen(self) -> list[_Candidate]:
        return (self.flagged + self.others)[: self.limit]


class Exporter:
    """Everything written for one manifest: per-line results are committed in order."""

    def __init__(
        self,
        out: Path,
        rig: Rig,
        args: argparse.Namespace,
        source: Source,
        region: str | None = None,
    ) -> None:
        self.out = out
        self.rig = rig
        self.source = source
        self.jobs: int = args.jobs
        self.summary = Summary()
        self.picker = _Picker(args.max_pictures)
        self.problems = 0
        self.pictures_drawn = 0
        out.mkdir(parents=True, exist_ok=True)
        yolo_labels = None if args.no_yolo else out / "yolo" / "labels"
        if yolo_labels is not None:
            yolo_labels.mkdir(parents=True, exist_ok=True)
            (out / "yolo" / "data.yaml").write_text(yolo_pose.data_yaml(rig), encoding="utf-8")
        self.settings = export_lines.Settings(
            rig,
            source.label_attribute,
            args.images_prefix,
            args.images,
            yolo_labels,
            export_lines.OverflowFiles(source.folder, region if source.clients else None),
        )
        self.coco = CocoWriter(
            out / "coco_keypoints.json", rig, description=f"pose-labeling export of {source.name}"
        )
        self._problems_file: IO[str] | None = None

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self.coco.close()
        self.coco.discard()
        if self._problems_file:
            self._problems_file.close()

    def run(self) -> None:
        bar = tqdm(unit=" lines", disable=None)
        with bar:
            for chunk, result in export_lines.process(
                self.source.lines, self.settings, jobs=self.jobs, clients=self.source.clients
            ):
                self._commit(chunk, result)
                bar.update(len(chunk))

    def _commit(self, chunk: export_lines.Chunk, result: export_lines.ChunkResult) -> None:
        self.summary.merge(result.summary)
        for record in result.problems:
            self._problem(record)
        self.coco.add_images_json(result.images)
        self.coco.add_annotations_json(result.annotations)
        if not self.picker.wants_more:
            return
        text = dict(chunk)
        for number in result.usable:
            flags, errors = result.flagged.get(number, ([], []))
            self.picker.offer(_Candidate(number, text[number], flags, errors))

    def _problem(self, record: dict[str, Any]) -> None:
        self.problems += 1
        if self._problems_file is None:
            self._problems_file = (self.out / "problems.jsonl").open("w", encoding="utf-8")
        self._problems_file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def draw_pictures(self) -> None:
        if not self.picker.limit:
            return
        chosen = self.picker.chosen()
        reader = export_lines.LineProcessor(self.settings, self.source.clients)

        def one(candidate: _Candidate) -> draw_skeletons.ReviewItem:
            source_ref, label = reader.parse(candidate.number, candidate.text)
            assert label is not None  # only usable lines are candidates
            name = export_lines.image_name(
                source_ref, label, candidate.number, self.settings.images_prefix
            )
            item = draw_skeletons.ReviewItem(name, None, candidate.flags, candidate.errors)
            skeletons = label.updated_annotations or []
            flagged = {f.skeleton for f in label.qa_flags if f.skeleton is not None}
            image = self._open_image(name, source_ref)
            if image is None:
                return item
            with image:
                picture = draw_skeletons.draw(image, skeletons, self.rig, flagged)
            target = self.out / "pictures" / f"{name}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            # 4:4:4 chroma: thin coloured lines stay their colour instead of bleeding out.
            picture.save(target, "JPEG", quality=90, subsampling=0)
            item.picture = f"pictures/{name}.jpg"
            return item

        with ThreadPoolExecutor(max_workers=4) as pool:
            items = list(
                tqdm(pool.map(one, chosen), total=len(chosen), desc="pictures", disable=None)
            )
        self.pictures_drawn = sum(1 for item in items if item.picture)
        missing = len(items) - self.pictures_drawn
        if missing:
            warn(PROG, f"{missing} images could not be read for pictures (see review.html)")
        (self.out / "review.html").write_text(
            draw_skeletons.review_page(
                items,
                title=f"Review: {self.source.name}",
                summary=self.summary.lines_of_text(),
            ),
            encoding="utf-8",
        )

    def _open_image(self, name: str, source_ref: str | None) -> Image.Image | None:
        path = export_lines.local_image(self.settings.images_dir, name)
        try:
            if path is not None:
                return Image.open(path)
            if self.source.clients is not None and source_ref and source_ref.startswith("s3://"):
                uri = S3Uri.parse(source_ref)
                body = self.source.clients.s3.get_object(Bucket=uri.bucket, Key=uri.key)["Body"]
                return Image.open(BytesIO(body.read()))
        except Exception as exc:  # a missing or unreadable image costs its picture, not the export
            print(f"{PROG}: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    raise SystemExit(main())
