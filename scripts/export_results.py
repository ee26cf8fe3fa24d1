"""Turn a labeling job's output manifest into training data, figures and pictures.

SOURCE is a job name (its output manifest is found with describe_labeling_job),
an s3:// URI of an output manifest, or a local file (such as the offline
preview's output.manifest). The manifest is streamed, line by line, and both
spellings of Ground Truth's metadata are read. Written to --out:

  coco_keypoints.json  COCO keypoints: images with width/height, one annotation per
                       skeleton ([x, y, v] in rig order, num_keypoints, bbox, area),
                       the rig as the category
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

The summary is printed to stdout; progress goes to stderr.
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

from handlers.label import ConsolidatedLabel
from handlers.output_manifest import parse_output_manifest_line
from handlers.rig import Rig, RigError, load_rig
from handlers.skeleton import AnnotationError, Skeleton
from scripts import draw_skeletons, gt_limits, stack, yolo_pose
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
    #: Where images come from when drawing (None: local files only).
    clients: AwsClients | None


def export(args: argparse.Namespace, clients: AwsClients | None) -> int:
    kind = source_kind(args.source)
    offline = kind == "file" and args.rig is not None
    outputs = None if offline else stack.read(args)
    rig = _rig(args.rig) if args.rig else outputs.rig  # type: ignore[union-attr]
    if outputs is not None:
        clients = clients or AwsClients(outputs.region)
    source = open_source(args, kind, clients)
    out: Path = args.out or Path(f"export-{source.name}")
    exporter = Exporter(out, rig, args, source)
    with exporter:
        for number, line in enumerate(tqdm(source.lines, unit=" lines", disable=None), start=1):
            if line.strip():
                exporter.add(number, line)
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
        return Source(path.stem, _file_lines(path), args.label_attribute, clients)
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
    """An image that may be pictured; kept only for the first N flagged and N others."""

    name: str
    source_ref: str | None
    skeletons: list[Skeleton]
    flagged_skeletons: set[int]
    flags: list[str]
    errors: list[str]


@dataclass
class _Picker:
    limit: int
    flagged: list[_Candidate] = field(default_factory=list)
    others: list[_Candidate] = field(default_factory=list)

    def offer(self, candidate: _Candidate) -> None:
        bucket = self.flagged if candidate.flags or candidate.errors else self.others
        if len(bucket) < self.limit:
            bucket.append(candidate)

    def chosen(self) -> list[_Candidate]:
        return (self.flagged + self.others)[: self.limit]


class Exporter:
    """Everything written for one manifest, one line at a time."""

    def __init__(self, out: Path, rig: Rig, args: argparse.Namespace, source: Source) -> None:
        self.out = out
        self.rig = rig
        self.source = source
        self.label_attribute = source.label_attribute
        self.images_prefix: str = args.images_prefix
        self.images_dir: Path | None = args.images
        self.yolo = not args.no_yolo
        self.summary = Summary()
        self.picker = _Picker(args.max_pictures)
        self.problems = 0
        self.pictures_drawn = 0
        out.mkdir(parents=True, exist_ok=True)
        self.coco = CocoWriter(
            out / "coco_keypoints.json", rig, description=f"pose-labeling export of {source.name}"
        )
        self._problems_file: IO[str] | None = None
        self._yolo_dirs: set[Path] = set()
        if self.yolo:
            (out / "yolo" / "labels").mkdir(parents=True, exist_ok=True)
            (out / "yolo" / "data.yaml").write_text(yolo_pose.data_yaml(rig), encoding="utf-8")

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self.coco.close()
        self.coco.discard()
        if self._problems_file:
            self._problems_file.close()

    def add(self, number: int, line: str) -> None:
        self.summary.lines += 1
        try:
            parsed = parse_output_manifest_line(
                line,
                label_attribute_name=self.label_attribute,
                rig=self.rig,
                where=f"line {number}",
            )
        except AnnotationError as exc:
            self.summary.unusable += 1
            self._problem({"line": number, "error": str(exc)})
            return
        label = parsed.label
        if label is None:
            self.summary.unlabeled += 1
            return
        source_ref = parsed.source_ref or label.image_s3_location
        if not label.usable:
            self.summary.unusable += 1
            self._problem(
                {
                    "line": number,
                    "source-ref": source_ref,
                    "error": "no usable worker answer",
                    "errors": [str(e) for e in label.errors],
                }
            )
            return
        name = self.image_name(source_ref, label, number)
        size = label.image_size or self._local_size(name)
        if size is None:
            self.summary.without_size += 1
        width, height = size or (None, None)
        image_id = self.coco.add_image(name, width, height, s3_uri=source_ref)
        skeletons = [s for s in label.updated_annotations or [] if s.num_labeled]
        for skeleton in skeletons:
            self.coco.add_skeleton(skeleton, image_id)
        if self.yolo:
            self._write_yolo(name, skeletons, size, number)
        self.summary.add(label)
        if self.picker.limit:
            self.picker.offer(_candidate(name, source_ref, label))

    def image_name(self, source_ref: str | None, label: ConsolidatedLabel, number: int) -> str:
        if source_ref and source_ref.startswith("s3://"):
            key = S3Uri.parse(source_ref).key
            return (
                key.removeprefix(self.images_prefix) if key.startswith(self.images_prefix) else key
            )
        return label.image_file_name or f"line-{number}"

    def _local_size(self, name: str) -> tuple[int, int] | None:
        path = self._local_image(name)
        return draw_skeletons.oriented_size(path) if path else None

    def _local_image(self, name: str) -> Path | None:
        if self.images_dir is None:
            return None
        for candidate in (self.images_dir / name, self.images_dir / Path(name).name):
            if candidate.is_file():
                return candidate
        return None

    def _write_yolo(
        self, name: str, skeletons: list[Skeleton], size: tuple[int, int] | None, number: int
    ) -> None:
        if size is None:
            self._problem(
                {
                    "line": number,
                    "image": name,
                    "error": "image size unknown: no YOLO label written",
                }
            )
            return
        path = yolo_pose.label_path(self.out / "yolo" / "labels", name)
        if path.parent not in self._yolo_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._yolo_dirs.add(path.parent)
        width, height = size
        text = "".join(yolo_pose.yolo_line(s, self.rig, width, height) + "\n" for s in skeletons)
        path.write_text(text, encoding="utf-8")

    def _problem(self, record: dict[str, Any]) -> None:
        self.problems += 1
        if self._problems_file is None:
            self._problems_file = (self.out / "problems.jsonl").open("w", encoding="utf-8")
        self._problems_file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def draw_pictures(self) -> None:
        chosen = self.picker.chosen()
        if not self.picker.limit:
            return
        pictures = self.out / "pictures"
        items: list[draw_skeletons.ReviewItem] = []

        def one(candidate: _Candidate) -> draw_skeletons.ReviewItem:
            relative = f"pictures/{candidate.name}.jpg"
            item = draw_skeletons.ReviewItem(
                candidate.name, None, candidate.flags, candidate.errors
            )
            image = self._open_image(candidate)
            if image is None:
                return item
            with image:
                picture = draw_skeletons.draw(
                    image, candidate.skeletons, self.rig, candidate.flagged_skeletons
                )
            target = pictures / f"{candidate.name}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            # 4:4:4 chroma: thin coloured lines stay their colour instead of bleeding out.
            picture.save(target, "JPEG", quality=90, subsampling=0)
            item.picture = relative
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

    def _open_image(self, candidate: _Candidate) -> Image.Image | None:
        path = self._local_image(candidate.name)
        try:
            if path is not None:
                return Image.open(path)
            if (
                self.source.clients is not None
                and candidate.source_ref
                and candidate.source_ref.startswith("s3://")
            ):
                uri = S3Uri.parse(candidate.source_ref)
                body = self.source.clients.s3.get_object(Bucket=uri.bucket, Key=uri.key)["Body"]
                return Image.open(BytesIO(body.read()))
        except Exception as exc:  # a missing or unreadable image costs its picture, not the export
            print(f"{PROG}: {candidate.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def _candidate(name: str, source_ref: str | None, label: ConsolidatedLabel) -> _Candidate:
    flags = [
        f"{flag.flag}"
        + (f" (skeleton {flag.skeleton + 1})" if flag.skeleton is not None else "")
        + f": {flag.message}"
        for flag in label.qa_flags
    ]
    errors = [str(e) for e in label.errors if e.level == "error"]
    skeletons = label.updated_annotations or []
    flagged = {flag.skeleton for flag in label.qa_flags if flag.skeleton is not None}
    return _Candidate(name, source_ref, skeletons, flagged, flags, errors)


if __name__ == "__main__":
    raise SystemExit(main())
