"""Pre-annotate images with a pose model, so workers correct its guesses instead of clicking.

Runs a YOLO pose model (Ultralytics' ONNX export, format=onnx) with ONNX Runtime
on the CPU over FOLDER (every .jpg/.jpeg/.png below it) or the images under
S3_PREFIX, and writes JSON Lines of {"image": NAME, "annotations": [skeleton, ...]}:
the file `launch_job --pre-annotations` takes. NAME is the image's path relative
to FOLDER or S3_PREFIX, exactly as launch_job names it, so the two commands chain.

The model's keypoints map to the stack's rig by label (COCO's 17 fill the rig
coco-person-17, and 12 of human-18); a rig with none of them is refused. A
keypoint whose confidence is below --keypoint-threshold is left out, so the
worker places it (the labeling component goes to missing points first). Each
keypoint written carries the model's "confidence", each skeleton its "score";
both pass through Ground Truth into the output manifest.

examples:
  # 1. try the model on the first few images: prints their lines, writes nothing
  .venv/bin/python -m scripts.prelabel example-images --model yolo11n-pose.onnx --dry-run

  # 2. pre-annotate a folder, then launch a job that starts from the model's guesses
  .venv/bin/python -m scripts.prelabel example-images --model yolo11n-pose.onnx --out pre.jsonl
  .venv/bin/python -m scripts.launch_job example-images --pre-annotations pre.jsonl \\
      --workteam-arn arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pose

  # 3. images already in S3, stricter about which keypoints to trust
  .venv/bin/python -m scripts.prelabel s3://my-bucket/datasets/run-42/ \\
      --model yolo11n-pose.onnx --keypoint-threshold 0.7 --out run-42.jsonl

Needs ONNX Runtime, a development dependency (requirements-dev.txt), not one of
`pulumi up`. Progress and the summary go to stderr. An image that cannot be read
or decoded is named and gets no line (it is labeled from scratch); the others go
on, and the exit code is 1 at the end. The file is written as FILE.partial and
renamed when complete.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from handlers.rig import Rig
from scripts import gt_limits, stack, upload
from scripts.aws import AwsClients
from scripts.cli import ArgumentParser, UsageError, UserError, describe_client_error, run, warn
from scripts.pose_models import INSTALL_HINT
from scripts.s3 import S3Uri, list_images

if TYPE_CHECKING:
    from scripts.pose_models import Person, PoseModel, Prepared

PROG = "python -m scripts.prelabel"
#: Images a --dry-run runs the model on.
DRY_RUN_IMAGES = 5
DEFAULT_KEYPOINT_THRESHOLD = 0.5
#: Ultralytics' defaults for its pose models (``conf``, ``iou``).
DEFAULT_SCORE_THRESHOLD = 0.25
DEFAULT_IOU_THRESHOLD = 0.7
#: Images read and resized ahead of the model, on this many threads (S3 latency hides here).
READERS = 4
READ_AHEAD = 8
#: Confidence and score are written with this many decimals: enough to sort by, short.
DECIMALS = 2
SKELETON_NAME = "person"
#: What Pillow raises for a file it cannot decode (UnidentifiedImageError is an OSError).
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(PROG, __doc__)
    parser.add_argument(
        "images",
        metavar="FOLDER|S3_PREFIX",
        help="a local folder of .jpg/.jpeg/.png images, or s3://bucket/prefix/ holding them",
    )
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        metavar="MODEL.onnx",
        help="a YOLO pose model exported to ONNX by Ultralytics (format=onnx)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="the JSON Lines file to write (required unless --dry-run)",
    )
    parser.add_argument(
        "--keypoint-threshold",
        type=fraction,
        default=DEFAULT_KEYPOINT_THRESHOLD,
        metavar="P",
        help="leave out keypoints whose confidence is below P, 0-1; the worker places them"
        f" (default: {DEFAULT_KEYPOINT_THRESHOLD})",
    )
    parser.add_argument(
        "--score-threshold",
        type=fraction,
        default=DEFAULT_SCORE_THRESHOLD,
        metavar="P",
        help=f"people the model scores at P or below are ignored, 0-1 (default:"
        f" {DEFAULT_SCORE_THRESHOLD})",
    )
    parser.add_argument(
        "--iou-threshold",
        type=fraction,
        default=DEFAULT_IOU_THRESHOLD,
        metavar="P",
        help="two people whose boxes overlap by more than P (intersection over union) are one;"
        f" the better scored is kept (default: {DEFAULT_IOU_THRESHOLD})",
    )
    parser.add_argument(
        "--input-size",
        type=input_size,
        metavar="N",
        help="model input side in pixels, a multiple of 32, for a model exported with"
        " dynamic=True (default: its metadata's imgsz, else 640); fixed models use their own",
    )
    parser.add_argument(
        "--keypoint-names",
        type=label_list,
        metavar="A,B,...",
        help="the model's keypoint labels in its output order, when its metadata has no"
        " kpt_names and it does not predict COCO's 17",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=f"run on the first {DRY_RUN_IMAGES} images and print their lines; write nothing",
    )
    stack.add_arguments(parser)
    return parser


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value


def input_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of pixels, got {text!r}"
        ) from None
    if value < 32 or value % 32:
        raise argparse.ArgumentTypeError(f"expected a positive multiple of 32, got {value}")
    return value


def label_list(text: str) -> list[str]:
    labels = [label.strip() for label in text.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError(f"an empty label in {text!r}")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise argparse.ArgumentTypeError(f"labels given twice: {', '.join(duplicates)}")
    return labels


# -- where the images are ---------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    """One image: its name as launch_job gives it, and where to read it."""

    name: str
    path: Path | None = None
    uri: S3Uri | None = None

    def read(self, clients: AwsClients) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        assert self.uri is not None
        response = clients.s3.get_object(Bucket=self.uri.bucket, Key=self.uri.key)
        return response["Body"].read()


def find_images(source: str, clients: AwsClients) -> list[ImageRef]:
    """Every image of FOLDER or S3_PREFIX, named and ordered as launch_job names them."""
    if source.startswith("s3://"):
        prefix = S3Uri.parse(source, what="S3_PREFIX")
        if prefix.key and not prefix.key.endswith("/"):
            prefix = S3Uri(prefix.bucket, prefix.key + "/")
        names, skipped = list_images(clients.s3, prefix)
        refs = [ImageRef(name, uri=prefix.join(name)) for name in names]
        if skipped:
            warn(PROG, f"skipping {skipped} objects under {prefix} that are not .jpg/.jpeg/.png")
        if not refs:
            raise UserError(f"no .jpg, .jpeg or .png objects under {prefix}")
        return refs
    folder = Path(source)
    if not folder.is_dir():
        raise UsageError(f"FOLDER {source!r}: not a directory (or give an s3:// prefix)")
    images, others = upload.find_images(folder)
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        warn(PROG, f"skipping {len(others)} files that are not .jpg/.jpeg/.png: {shown}")
    if not images:
        raise UserError(f"no .jpg, .jpeg or .png images in {folder}")
    return [ImageRef(image.name, path=image.path) for image in images]


# -- the model's keypoints in the rig -----------------------------------------------


@dataclass(frozen=True)
class RigMapping:
    """Which model keypoint fills which rig keypoint, by label, in rig order."""

    #: ``(rig label, index of the model keypoint)`` for every label both have.
    pairs: tuple[tuple[str, int], ...]
    #: Model keypoints the rig has no place for (ignored).
    unused: tuple[str, ...]
    #: Rig keypoints the model does not predict (workers place them).
    unpredicted: tuple[str, ...]


def map_to_rig(model_labels: Sequence[str], rig: Rig) -> RigMapping:
    index = {label: i for i, label in enumerate(model_labels)}
    pairs = tuple((label, index[label]) for label in rig.labels if label in index)
    if not pairs:
        raise UserError(
            f"the model's keypoints ({_show(model_labels)}) share no label with the stack's rig"
            f" {rig.name!r} ({_show(rig.labels)}); nothing could be pre-annotated"
        )
    return RigMapping(
        pairs,
        tuple(label for label in model_labels if label not in rig),
        tuple(label for label in rig.labels if label not in index),
    )


def _show(labels: Sequence[str], limit: int = 6) -> str:
    return ", ".join(labels[:limit]) + (", …" if len(labels) > limit else "")


# -- people to skeletons ------------------------------------------------------------


@dataclass
class Tally:
    images: int = 0
    #: Images that could not be read or decoded (each named in a warning as it happened).
    unreadable: int = 0
    people_found: int = 0
    people_written: int = 0
    #: People whose every keypoint was left out: nothing for the worker to correct.
    people_empty: int = 0
    #: People left out to keep an image's pre-annotations within Ground Truth's limit.
    people_over_limit: int = 0
    kept: int = 0
    below_threshold: int = 0
    outside_image: int = 0


def skeletons_for(
    people: Sequence[Person],
    mapping: RigMapping,
    image_size: tuple[int, int],
    keypoint_threshold: float,
    tally: Tally,
) -> list[dict[str, Any]]:
    """The skeleton JSON of each person, best score first, named ``person 1``, ``person 2``…

    A keypoint is kept when its confidence is at least ``keypoint_threshold``
    and it falls on the image (a point the model puts beyond the edge is a
    joint out of frame); it is written in whole pixels, as the labeling
    component stores them.
    """
    width, height = image_size
    skeletons: list[dict[str, Any]] = []
    for person in people:
        tally.people_found += 1
        points = []
        for label, k in mapping.pairs:
            x, y, confidence = (float(v) for v in person.keypoints[k])
            if not confidence >= keypoint_threshold:  # NaN from a broken model too
                tally.below_threshold += 1
                continue
            if not (math.isfinite(x) and math.isfinite(y)):
                tally.outside_image += 1
                continue
            px, py = round(x), round(y)
            if not (0 <= px < width and 0 <= py < height):
                tally.outside_image += 1
                continue
            tally.kept += 1
            points.append(
                {
                    "label": label,
                    "x": px,
                    "y": py,
                    "visibility": 2,
                    "confidence": round(confidence, DECIMALS),
                }
            )
        if not points:
            tally.people_empty += 1
            continue
        skeletons.append(
            {
                "name": f"{SKELETON_NAME} {len(skeletons) + 1}",
                "annotations": points,
                "score": round(person.score, DECIMALS),
            }
        )
    return skeletons


def within_manifest_limit(skeletons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best-scored skeletons whose JSON fits one manifest attribute (what launch_job checks)."""
    kept = list(skeletons)
    while kept and _compact_size(kept) > gt_limits.MANIFEST_ATTRIBUTE_MAX:
        kept.pop()  # the lowest score: skeletons are best first
    return kept


def _compact_size(value: Any) -> int:
    # The manifest's own serialisation: compact separators, non-ASCII kept.
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


# -- running ------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    ref: ImageRef
    #: What the model's ``prepare`` returned, or None when the image could not be read.
    prepared: Prepared | None = None
    problem: str = ""


def load_image(ref: ImageRef, model: PoseModel, clients: AwsClients) -> Loaded:
    """Read, decode and prepare one image; a problem is recorded, never raised."""
    try:
        data = ref.read(clients)
    except OSError as exc:
        return Loaded(ref, problem=f"cannot read: {exc.strerror or exc}")
    except ClientError as exc:
        return Loaded(ref, problem=f"cannot read: {describe_client_error(exc)}")
    try:
        with Image.open(BytesIO(data)) as image:
            return Loaded(ref, model.prepare(image))
    except UnidentifiedImageError:
        return Loaded(ref, problem="cannot decode: not an image Pillow recognises")
    except IMAGE_ERRORS as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return Loaded(ref, problem=f"cannot decode: {detail}")


T = TypeVar("T")
R = TypeVar("R")


def read_ahead(
    pool: ThreadPoolExecutor, work: Callable[[T], R], items: Iterable[T], ahead: int
) -> Iterator[R]:
    """``map(work, items)`` on the pool, in order, at most ``ahead`` items in flight
    (``pool.map`` would read every image before the model used the first)."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def main(argv: Sequence[str] | None = None, *, clients: AwsClients | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: prelabel(args, clients))


def prelabel(args: argparse.Namespace, clients: AwsClients | None) -> int:
    if args.out is None and not args.dry_run:
        raise UsageError("--out FILE is required (or --dry-run to print a few lines)")
    outputs = stack.read(args)
    model = _load_model(args)
    mapping = map_to_rig(model.keypoint_names, outputs.rig)
    if mapping.unused:
        warn(PROG, f"the stack's rig {outputs.rig.name!r} has no {_show(mapping.unused)}: ignored")
    if mapping.unpredicted:
        warn(
            PROG,
            f"the model does not predict {_show(mapping.unpredicted)} of the rig"
            f" {outputs.rig.name!r}: workers place them",
        )
    clients = clients or AwsClients(outputs.region)
    images = find_images(args.images, clients)
    total = len(images)
    if args.dry_run:
        images = images[:DRY_RUN_IMAGES]
    tally = Tally()
    with _lines_to(None if args.dry_run else args.out) as write:
        _run(model, images, clients, mapping, args.keypoint_threshold, tally, write)
    _summary(args, tally, total)
    return 1 if tally.unreadable else 0


def _load_model(args: argparse.Namespace) -> PoseModel:
    try:
        from scripts.pose_models import yolo_pose_onnx
    except ModuleNotFoundError as exc:  # numpy: ONNX Runtime itself is imported on load
        if exc.name == "numpy":
            raise UserError(f"--model {args.model}: {INSTALL_HINT}") from None
        raise
    return yolo_pose_onnx.load(
        args.model,
        input_size=args.input_size,
        keypoint_names=args.keypoint_names,
        score_threshold=args.score_threshold,
        iou_threshold=args.iou_threshold,
    )


def _run(
    model: PoseModel,
    images: list[ImageRef],
    clients: AwsClients,
    mapping: RigMapping,
    keypoint_threshold: float,
    tally: Tally,
    write: Callable[[str], None],
) -> None:
    with (
        ThreadPoolExecutor(max_workers=READERS) as pool,
        tqdm(
            total=len(images), desc="prelabel", unit="image", disable=None, file=sys.stderr
        ) as bar,
    ):
        for loaded in read_ahead(
            pool, lambda ref: load_image(ref, model, clients), images, READ_AHEAD
        ):
            bar.update()
            tally.images += 1
            if loaded.prepared is None:
                tally.unreadable += 1
                tqdm.write(f"{PROG}: warning: {loaded.ref.name}: {loaded.problem}", file=sys.stderr)
                continue
            people = model.detect(loaded.prepared)
            size = loaded.prepared.image_size
            skeletons = skeletons_for(people, mapping, size, keypoint_threshold, tally)
            fitting = within_manifest_limit(skeletons)
            if len(fitting) < len(skeletons):
                dropped = len(skeletons) - len(fitting)
                tally.people_over_limit += dropped
                tqdm.write(
                    f"{PROG}: warning: {loaded.ref.name}: left out the {dropped} lowest-scored of"
                    f" {len(skeletons)} people, to stay within Ground Truth's"
                    f" {gt_limits.MANIFEST_ATTRIBUTE_MAX:,} characters of pre-annotations",
                    file=sys.stderr,
                )
            tally.people_written += len(fitting)
            write(_compact({"image": loaded.ref.name, "annotations": fitting}))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@contextmanager
def _lines_to(path: Path | None) -> Iterator[Callable[[str], None]]:
    """A line writer: stdout for None, else FILE.partial renamed to FILE once complete.

    If the run stops early, the lines written so far stay in FILE.partial
    (each a finished image), and FILE is left as it was.
    """
    if path is None:
        yield lambda line: print(line, flush=True)
        return
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with partial.open("w", encoding="utf-8") as stream:

        def write(line: str) -> None:
            nonlocal written
            stream.write(line + "\n")
            written += 1

        try:
            yield write
        except BaseException:
            stream.close()
            if written:
                print(f"{PROG}: the {written} images done so far are in {partial}", file=sys.stderr)
            else:
                partial.unlink(missing_ok=True)
            raise
    partial.replace(path)


def _summary(args: argparse.Namespace, tally: Tally, total: int) -> None:
    def say(text: str) -> None:
        print(text, file=sys.stderr)

    threshold = args.keypoint_threshold
    read = tally.images - tally.unreadable
    unreadable = (
        f" ({tally.unreadable:,} could not be read, listed above: no pre-annotations)"
        if tally.unreadable
        else ""
    )
    say(f"images:     {tally.images:,}{unreadable}")
    notes = []
    if tally.people_empty:
        notes.append(f"{tally.people_empty:,} with no keypoint at confidence {threshold} or above")
    if tally.people_over_limit:
        notes.append(f"{tally.people_over_limit:,} left out to fit Ground Truth's limit")
    say(
        f"people:     {tally.people_found:,} found, {tally.people_written:,} written"
        + (f" ({'; '.join(notes)})" if notes else "")
    )
    say(
        f"keypoints:  {tally.kept:,} kept, {tally.below_threshold:,} below confidence"
        f" {threshold} (left for the worker), {tally.outside_image:,} outside the image"
    )
    if args.dry_run:
        say(f"dry run:    {tally.images} of {total:,} images; nothing written")
        return
    say(f"written:    {args.out} ({read:,} lines)")
    say(
        f"next:       .venv/bin/python -m scripts.launch_job {args.images} --pre-annotations"
        f" {args.out} --workteam-arn ARN"
    )


if __name__ == "__main__":
    raise SystemExit(main())
