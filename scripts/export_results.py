"""Turn a labeling job's output manifest into training data, figures and pictures.

SOURCE is a job name (its output manifest is found with describe_labeling_job,
or in the self-hosted runner's table), an s3:// URI of an output manifest, or a
local file (such as the offline preview's output.manifest). The manifest is
streamed, line by line, and both spellings of Ground Truth's metadata are read. Written to --out:

  coco_keypoints.json  COCO keypoints: images with their width and height (the id is
                       the image's line number in the manifest), one annotation per
                       skeleton ([x, y, v] in rig order, num_keypoints, bbox, area),
                       one category per rig (`person` for the human rigs; the rig's
                       name and fingerprint in the category's "rig" field)
  summary.json         images, skeletons, keypoints, labeling time per image (mean,
                       median), share of pre-annotations modified, QA flags, agreement;
                       the workers' scores (images, time, agreement with the
                       consensus, QA flags, review changes); with --review, what
                       each review round did, by selection reason
  yolo/<rig>/          an Ultralytics YOLO pose dataset per rig: data.yaml (no `path`:
                       train from any directory), images.txt (the exported images),
                       labels/ where Ultralytics looks for them; copy the images into
                       images/
  pictures/, review.html
                       up to --max-pictures images with their skeletons drawn in the
                       rig's colours, on one page with the workers' scores (a table
                       sorted by the column clicked) that lists flagged images first
  problems.jsonl       one line per manifest line not exported whole: line number,
                       image (source-ref as written), reason

The rig: every label records the rig it was made with, and is exported with it
(a manifest of several rigs gives one COCO category and one YOLO folder each).
--rig names the rig for labels from before labels recorded it; a --rig that is
not the labels' own stops the export with one line naming both.

Nothing is lost quietly: a line that cannot be read, has no usable answer, has
keypoints that are not in its rig, or an image whose size is unknown (read from
the image, local copy or S3, when the label lacks it) goes to problems.jsonl, and
the export exits with status 1 unless --allow-partial is given. Keypoints outside
the image are moved onto its edge, in COCO and YOLO alike; a box is at least 2% of
the image's longer side (docs/export.md).

examples:
  .venv/bin/python -m scripts.export_results pose-20250314-093000-1f2e --out export/
  .venv/bin/python -m scripts.export_results \\
      s3://BUCKET/labeling_jobs/output/JOB/manifests/output/output.manifest
  .venv/bin/python -m scripts.export_results \\
      preview-output/pose-labeling-preview/manifests/output/output.manifest \\
      --images preview-output/sample-images --max-pictures 20
  # labels from before labels recorded their rig; accept lines not exported whole
  .venv/bin/python -m scripts.export_results old.manifest --rig human-18 --allow-partial
  # a job and its review jobs (scripts/review_job.py) merged into one result
  .venv/bin/python -m scripts.export_results pose-20250314-093000-1f2e \\
      --review pose-20250314-093000-1f2e-review-1 --out export/
  # then train from any directory, once the images are in export/yolo/coco-person-17/images/
  yolo pose train data=export/yolo/coco-person-17/data.yaml

Review rounds (--review): a review that came back labeled replaces the label it
reviews, matched by the review key the review job wrote (job, line, dataset
object), never by file name; a later round replaces an earlier one. A review that
came back unlabeled keeps the label it reviewed, and goes to problems.jsonl, as
does a review line that matches nothing. Every COCO image and annotation then
records where its label came from: "provenance": {"job", "round", "changed"}
(docs/review.md).

Labels whose fields the post-annotation Lambda moved to an overflow file (to keep
a very large batch under Lambda's response limit) are put back whole: the file
is read from S3, or, for a local manifest, from a copy beside it (at
pose-labeling-overflow/<the rest of its key>, or by its file name). A label whose
file cannot be read is listed in problems.jsonl, never exported incomplete.

Images and overflow files are read from S3 with the stack's region, or, for a
local manifest, with the default AWS credentials when there are some. Large
manifests are read by --jobs worker processes. The summary is printed to stdout;
progress and warnings go to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
from PIL import Image
from tqdm import tqdm

from components.s3_layout import IMAGES_PREFIX
from components.stack_outputs import StackOutputs
from handlers.rig import Rig, RigError, load_rig
from scripts import draw_skeletons, export_lines, export_paths, gt_limits, stack, yolo_pose
from scripts.aws import AwsClients
from scripts.cli import EXIT_FAILURE, ArgumentParser, UsageError, UserError, run, warn
from scripts.coco_writer import CocoWriter, category_name
from scripts.export_rigs import RecordedRig, RigBook, recorded_rig
from scripts.export_s3 import S3Access, S3Reader, S3Unreadable
from scripts.export_scores import Scores, review_outcomes
from scripts.export_summary import Summary
from scripts.job_output import Source, open_source, source_kind
from scripts.review_merge import ReviewMerge

PROG = "python -m scripts.export_results"
DEFAULT_MAX_PICTURES = 100
#: Lines read ahead, at most, to find the first label and check its rig before
#: anything is written (the lines the export processes before starting workers).
PEEK_LINES = export_lines.CHUNK_LINES * export_lines.INLINE_CHUNKS


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
        help="the label's key in the manifest (default: the job's; else the key with a"
        " -metadata companion, label-results if several have one)",
    )
    parser.add_argument(
        "--rig",
        action="append",
        metavar="NAME|FILE",
        help="the rig of labels that do not record theirs (default: the stack's), or the"
        " file of a rig the labels record but the export does not bundle; repeat for"
        " several. A rig the labels do not record stops the export",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="exit 0 even if some lines were not exported whole (see problems.jsonl)",
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
        " (default: read them from S3 when credentials allow)",
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
    parser.add_argument(
        "--no-worker-scores",
        action="store_true",
        help="do not score the workers (reading every worker's own skeletons costs time on"
        " jobs with several workers per image)",
    )
    parser.add_argument(
        "--review",
        action="append",
        default=[],
        metavar="JOB|S3_URI|FILE",
        help="a review job's output (scripts/review_job.py) to merge: its labels replace the"
        " ones they review; repeat for several jobs and rounds (docs/review.md)",
    )
    stack.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, clients: AwsClients | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: export(args, clients))


def export(args: argparse.Namespace, clients: AwsClients | None) -> int:
    kind = source_kind(args.source)
    reviews = [(value, source_kind(value, "--review")) for value in args.review]
    given = [_rig(value) for value in args.rig or []]
    # A local manifest needs the stack only for the rig of labels that record none.
    wants_stack = (
        any(k != "file" for k in [kind, *(k for _, k in reviews)])
        or args.stack is not None
        or args.stack_outputs is not None
    )
    outputs = stack.read(args) if wants_stack else None
    if outputs is not None:
        clients = clients or AwsClients(outputs.region)
    merge = None
    if reviews:
        merge = ReviewMerge.load(
            (value, open_source(value, k, clients, label_attribute=args.label_attribute,
                                what="--review", prog=PROG, outputs=outputs))
            for value, k in reviews
        )  # fmt: skip
    source = open_source(
        args.source, kind, clients, label_attribute=args.label_attribute, prog=PROG, outputs=outputs
    )
    first, lines = _first_label(source.lines, source.label_attribute)
    if first is not None and first[1] is None and outputs is None and not given:
        outputs = _stack_for_older_labels(args, first[0])
    rigs = RigBook.create(given, outputs.rig if outputs else None)
    if first is not None:  # a rig that cannot be used stops the export before it writes
        rigs.choose(first[1], f"line {first[0]}")
    merged = merge.lines(lines, source.label_attribute, source.name) if merge else lines
    settings = export_lines.Settings(
        rigs,
        source.label_attribute,
        args.images_prefix,
        args.images,
        not args.no_yolo,
        export_lines.OverflowFiles(source.folder),
        S3Access(enabled=True, region=outputs.region if outputs else None),
        provenance=merge is not None,
        scores=None
        if args.no_worker_scores
        else export_lines.ScoreSettings(
            outcomes=review_outcomes(merge.first_round_lines()) if merge else {}
        ),
    )
    out: Path = args.out or Path(f"export-{source.name}")
    exporter = Exporter(out, settings, args, source, merged, clients, merge)
    with exporter:
        exporter.run()
    exporter.draw_pictures()
    return exporter.report(allow_partial=args.allow_partial)


def _rig(name_or_path: str) -> Rig:
    try:
        return load_rig(name_or_path)
    except RigError as exc:
        raise UsageError(f"--rig: {exc}") from None


def _first_label(
    lines: Iterator[bytes], attribute: str | None
) -> tuple[tuple[int, RecordedRig | None] | None, Iterator[bytes]]:
    """(line number, recorded rig) of the first readable label within PEEK_LINES lines,
    and the lines again from the start. Lines it cannot judge (unreadable, or a label
    whose fields moved to an overflow file) are left to the export proper."""
    seen: list[bytes] = []
    found = None
    for number, raw in enumerate(itertools.islice(lines, PEEK_LINES), start=1):
        seen.append(raw)
        try:
            data = orjson.loads(raw)
            name = export_lines.label_attribute(data, attribute) if isinstance(data, dict) else None
            if name is None or not isinstance(data[name], dict) or "overflow" in data[name]:
                continue
            found = (number, recorded_rig(data[name], name))
        except ValueError:  # orjson's errors, and AnnotationError, are ValueErrors
            continue
        break
    return found, itertools.chain(seen, lines)


def _stack_for_older_labels(args: argparse.Namespace, number: int) -> StackOutputs:
    try:
        return stack.read(args)
    except UserError as exc:
        raise UserError(
            f"line {number} records no rig (labeled before labels recorded their rig):"
            f" pass --rig NAME|FILE with the rig it was labeled with (the stack's rig is"
            f" not available either: {exc})"
        ) from None


@dataclass
class _Candidate:
    """An image that may be pictured: its line is kept, and parsed again to draw it."""

    number: int
    raw: bytes | str | export_lines.Merged
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
        settings: export_lines.Settings,
        args: argparse.Namespace,
        source: Source,
        lines: Iterable[bytes | export_lines.Merged],
        clients: AwsClients | None,
        merge: ReviewMerge | None = None,
    ) -> None:
        self.out = out
        self.settings = settings
        self.rigs = settings.rigs
        self.source = source
        self.lines = lines
        self.clients = clients
        self.merge = merge
        self.scores = Scores() if settings.scores is not None else None
        self.jobs: int = args.jobs
        self.summary = Summary()
        self.picker = _Picker(args.max_pictures)
        self.problems = 0
        self.pictures_drawn = 0
        out.mkdir(parents=True, exist_ok=True)
        self.coco = CocoWriter(
            out / "coco_keypoints.json", description=f"pose-labeling export of {source.name}"
        )
        self._categories: dict[int, int] = {}
        self._datasets: dict[int, yolo_pose.YoloDataset] = {}
        self._problems_file: IO[str] | None = None

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        for dataset in self._datasets.values():
            dataset.close()
        if kind is None:
            self.coco.close()
        self.coco.discard()
        if self._problems_file:
            self._problems_file.close()

    def run(self) -> None:
        bar = tqdm(unit=" lines", disable=None)
        with bar:
            for chunk, result in export_lines.process(
                self.lines, self.settings, jobs=self.jobs, clients=self.clients
            ):
                self._commit(chunk, result)
                bar.update(len(chunk))
        if self.merge is not None:
            self.merge.finish()
            for record in self.merge.problems:
                self._problem(record)

    def _commit(self, chunk: export_lines.Chunk, result: export_lines.ChunkResult) -> None:
        self.summary.merge(result.summary)
        if self.scores is not None:
            self.scores.tallies.merge(result.workers)
        for record in result.problems:
            self._problem(record)
        self.coco.add_images_json(result.images)
        self.coco.add_annotations_json(
            [(self._category(rig), body) for rig, body in result.annotations]
        )
        for rig, label_file in result.yolo:
            self._dataset(rig).add(label_file)
        if not self.picker.wants_more:
            return
        raw = dict(chunk)
        for number in result.usable:
            flags, errors = result.flagged.get(number, ([], []))
            self.picker.offer(_Candidate(number, raw[number], flags, errors))

    def _category(self, rig: int) -> int:
        found = self._categories.get(rig)
        if found is None:
            found = self._categories[rig] = self.coco.category_id(self.rigs.rigs[rig])
        return found

    def _dataset(self, rig: int) -> yolo_pose.YoloDataset:
        """The YOLO folder of a rig: yolo/<rig name>, or yolo/<rig name>-<fingerprint>
        when another rig of that name came first."""
        found = self._datasets.get(rig)
        if found is None:
            the_rig = self.rigs.rigs[rig]
            folder = export_paths.safe_name(the_rig.name.replace("/", "_")) or "rig"
            if any(d.folder.path.name == folder for d in self._datasets.values()):
                folder = f"{folder}-{self.rigs.fingerprint(rig)}"
            found = self._datasets[rig] = yolo_pose.YoloDataset(
                export_paths.Folder(self.out / "yolo" / folder, self.out),
                the_rig,
                category_name(the_rig),
                self._problem,
            )
        return found

    def _problem(self, record: dict[str, Any]) -> None:
        self.problems += 1
        if self._problems_file is None:
            self._problems_file = (self.out / "problems.jsonl").open("w", encoding="utf-8")
        self._problems_file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def draw_pictures(self) -> None:
        if not self.picker.limit:
            return
        chosen = self.picker.chosen()
        reader = export_lines.LineProcessor(self.settings, self.clients)
        s3 = S3Reader(self.settings.s3, self.clients)
        pictures = export_paths.Folder(self.out / "pictures", self.out)

        prepared = []
        for candidate in chosen:
            parsed = reader.parse(candidate.number, candidate.raw)
            assert parsed.label is not None  # only usable lines are candidates
            name, _ = export_lines.image_name(
                parsed.source_ref, parsed.label, candidate.number, self.settings.images_prefix
            )
            prepared.append((candidate, parsed, name))
        picture_names = _picture_names([(c.number, name) for c, _, name in prepared])

        def one(
            entry: tuple[_Candidate, export_lines.ParsedLine, str],
        ) -> draw_skeletons.ReviewItem:
            candidate, parsed, name = entry
            label = parsed.label
            assert label is not None
            item = draw_skeletons.ReviewItem(name, None, candidate.flags, candidate.errors)
            relative = picture_names[candidate.number]
            try:
                with self._open_image(name, parsed.source_ref, s3) as image:
                    flagged = {f.skeleton for f in label.qa_flags if f.skeleton is not None}
                    rig = self.rigs.rigs[parsed.rig]
                    skeletons = label.updated_annotations or []
                    picture = draw_skeletons.draw(image, skeletons, rig, flagged)
                target = pictures.file(relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                # 4:4:4 chroma: thin coloured lines stay their colour instead of bleeding out.
                picture.save(target, "JPEG", quality=90, subsampling=0)
            except _NoImage as exc:
                item.missing = str(exc)
                return item
            except OSError as exc:  # PIL cannot read it, or the picture cannot be written
                item.missing = f"{type(exc).__name__}: {exc}"
                return item
            item.picture = f"pictures/{relative}"
            return item

        with ThreadPoolExecutor(max_workers=4) as pool:
            items = list(
                tqdm(pool.map(one, prepared), total=len(prepared), desc="pictures", disable=None)
            )
        self.pictures_drawn = sum(1 for item in items if item.picture)
        for item in items:
            if item.missing:
                warn(PROG, f"no picture of {item.image_name}: {item.missing}")
        (self.out / "review.html").write_text(
            draw_skeletons.review_page(
                items,
                title=f"Review: {self.source.name}",
                summary=self._summary_text(),
                scores=self.scores.rows() if self.scores else (),
            ),
            encoding="utf-8",
        )

    def _summary_text(self) -> list[str]:
        merged = self.merge.lines_of_text() if self.merge else []
        return self.summary.lines_of_text() + merged

    def _open_image(self, name: str, source_ref: str | None, s3: S3Reader) -> Image.Image:
        path = export_lines.local_image(self.settings.images_dir, name)
        if path is not None:
            return Image.open(path)
        if self.settings.images_dir is not None:
            raise _NoImage(f"not in {self.settings.images_dir}")
        if not source_ref or not source_ref.startswith("s3://"):
            raise _NoImage("no s3:// source-ref to read it from, and no --images")
        try:
            return Image.open(BytesIO(s3.read(source_ref)))
        except S3Unreadable as exc:
            raise _NoImage(str(exc)) from exc

    def report(self, *, allow_partial: bool) -> int:
        """Write summary.json, print the summary and the warnings; the exit status."""
        out, summary = self.out, self.summary
        data = summary.to_jsonable()
        if self.merge is not None:
            data["review"] = self.merge.to_jsonable()
        if self.scores is not None:
            data["worker_scores"] = self.scores.to_jsonable()
        (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        for text in self._summary_text():
            print(text)
        for text in self.scores.lines_of_text() if self.scores else []:
            print(text)
        written = ["coco_keypoints.json", "summary.json"]
        written += [f"yolo/{d.folder.path.name}/" for d in self._datasets.values()]
        if self.picker.limit:
            written.append(f"review.html ({self.pictures_drawn} pictures)")
        print(f"written to {out}/: {', '.join(written)}")
        for dataset in self._datasets.values():
            if dataset.renamed:
                where = f"{out}/yolo/{dataset.folder.path.name}/renamed.tsv"
                warn(PROG, f"{dataset.renamed} images listed under other names: see {where}")
        if summary.without_size:
            warn(
                PROG,
                f"{summary.without_size} images left out of COCO and YOLO: their size is"
                f" unknown (see {out}/problems.jsonl)",
            )
        if not self.problems:
            return 0
        note = "" if allow_partial else "; exit status 1 (--allow-partial accepts this)"
        warn(PROG, f"{self.problems} problems, see {out}/problems.jsonl{note}")
        return 0 if allow_partial else EXIT_FAILURE


class _NoImage(Exception):
    """The image of a picture could not be opened; the message says why."""


def _picture_names(images: list[tuple[int, str]]) -> dict[int, str]:
    """Each line's picture path: the image's name with a .jpg extension, then, if two
    pictures would share it (a.jpg and a.png), the later one's stem ends in -<line>."""
    names: dict[int, str] = {}
    used: set[str] = set()
    for number, name in images:
        path = PurePosixPath(name).with_suffix(".jpg")
        if str(path) in used:
            path = path.with_stem(f"{path.stem}-{number}")
        used.add(str(path))
        names[number] = str(path)
    return names


if __name__ == "__main__":
    raise SystemExit(main())
