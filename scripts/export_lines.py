"""The per-line half of an export: read one output-manifest line, make its COCO and YOLO.

For a large manifest this runs in worker processes, a chunk of lines per task,
so it returns small picklable results: COCO entries already serialised (the
parent numbers annotations and categories, which must follow manifest order),
YOLO label texts (the parent names and writes the files: only it sees every
image, so only it can keep two images from sharing a label file), the review
notes of flagged images, the records for ``problems.jsonl``, and the chunk's
:class:`Summary`. Lines are read as bytes, so a byte that is not UTF-8 costs
its line, not the export.

A line is parsed by :func:`handlers.output_manifest.parse_output_manifest_line`
against the rig that its label records (:mod:`scripts.export_rigs`). Each
worker's own copy of the skeletons is left out before parsing: the export
writes the consolidated skeletons, and reads from the workers only their image
size and time; validating the copies too would double the cost of a line.

Nothing a worker submitted is left out quietly: a line that cannot be read, has
no usable answer, has keypoints the rig does not have, or an image whose size
cannot be found becomes a record in ``problems.jsonl`` (line number, image as
written, reason). One bad line never stops the others.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

import orjson

from handlers.label import ConsolidatedLabel
from handlers.output_manifest import (
    DEFAULT_LABEL_ATTRIBUTE,
    OutputManifestLine,
    label_attribute_names,
    parse_output_manifest_line,
)
from handlers.overflow import OVERFLOW_DIR, restore_overflow
from handlers.skeleton import AnnotationError, FieldError, json_problem, show_value
from scripts import draw_skeletons, export_paths, yolo_pose
from scripts.aws import AwsClients
from scripts.coco_writer import annotation_body
from scripts.export_geometry import image_size, instance
from scripts.export_rigs import RigBook, RigMismatch, RigUnknown, recorded_rig
from scripts.export_s3 import NO_ACCESS, S3Access, S3Reader, S3Unreadable
from scripts.export_summary import Summary
from scripts.review_key import ReviewKey, label_job
from scripts.review_selection import ReviewRules
from scripts.worker_scores import WorkerTallies

#: Lines per task sent to a worker process.
CHUNK_LINES = 500
#: Chunks handled in this process before worker processes are started: small
#: manifests (tests, the offline preview) never pay for starting them.
INLINE_CHUNKS = 4
#: Keys of a worker's result that the export does not read (see the module doc).
_WORKER_KEYS_SKIPPED = ("updated_annotations", "raw")
#: Decoded overflow files kept by each process (see _RecentFiles).
OVERFLOW_FILES_KEPT = 4


class Merged(NamedTuple):
    """A line of the manifest and the review line that replaces it (``review_merge``):
    the review's label is exported, the original's workers are scored."""

    original: bytes
    reviewed: bytes


#: Numbered lines as read: bytes (decoded here, so a bad byte costs one line) or text,
#: or a line and its review.
Chunk = list[tuple[int, bytes | str | Merged]]


@dataclass(frozen=True)
class OverflowFiles:
    """Where the fields that the post-annotation Lambda moved out of a large response
    are read back from (:mod:`handlers.overflow`): beside a local manifest first, in
    ``folder``, the file at the path that follows ``pose-labeling-overflow/`` in its
    URI, or with its name alone; else from S3."""

    folder: Path | None = None

    def local_copy(self, uri: str) -> Path | None:
        if self.folder is None:
            return None
        _, _, tail = uri.partition(f"/{OVERFLOW_DIR}/")
        for relative in (f"{OVERFLOW_DIR}/{tail}" if tail else None, uri.rsplit("/", 1)[-1]):
            if relative and (self.folder / relative).is_file():
                return self.folder / relative
        return None


@dataclass(frozen=True)
class Settings:
    rigs: RigBook
    label_attribute: str | None
    images_prefix: str
    images_dir: Path | None
    yolo: bool
    overflow: OverflowFiles = OverflowFiles()
    s3: S3Access = NO_ACCESS
    #: Record where each label came from in COCO (when review rounds are merged).
    provenance: bool = False
    #: Score the workers (reading each worker's own skeletons), or None.
    scores: ScoreSettings | None = None


@dataclass(frozen=True)
class ScoreSettings:
    """What :class:`~scripts.worker_scores.WorkerTallies` needs besides the lines."""

    rules: ReviewRules = field(default_factory=ReviewRules)
    #: The first review round's results by image (``review_outcomes``), when merging.
    outcomes: Mapping[str, bool] = field(default_factory=dict)


@dataclass(slots=True)
class ChunkResult:
    """What the parent needs from a chunk, in few and simple objects (cheap to pickle)."""

    #: COCO ``images[]`` entries, final JSON (the id is the manifest line number).
    images: list[str] = field(default_factory=list)
    #: COCO ``annotations[]`` entries: (rig, JSON without ``id`` and ``category_id``);
    #: a rig is its position in ``Settings.rigs.rigs``.
    annotations: list[tuple[int, str]] = field(default_factory=list)
    #: (rig, YOLO label file) per exported image.
    yolo: list[tuple[int, yolo_pose.LabelFile]] = field(default_factory=list)
    #: Line numbers of the usable images, and review notes of the flagged ones.
    usable: list[int] = field(default_factory=list)
    flagged: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)
    #: Records for problems.jsonl.
    problems: list[dict[str, Any]] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    #: The workers' figures, when scoring.
    workers: WorkerTallies = field(default_factory=WorkerTallies)


@dataclass(slots=True)
class ParsedLine:
    source_ref: str | None
    #: The whole line, decoded; its ``label`` is :attr:`label`.
    line: OutputManifestLine
    #: None when the line has no label (not labeled).
    label: ConsolidatedLabel | None = None
    #: The rig the label is exported with: a position in ``Settings.rigs.rigs``.
    rig: int = 0
    #: Problems the export found in the label's skeletons (keypoints it left out).
    dropped: list[FieldError] = field(default_factory=list)


class LineProcessor:
    def __init__(self, settings: Settings, clients: AwsClients | None = None) -> None:
        self.settings = settings
        self.rigs = settings.rigs
        self.s3 = S3Reader(settings.s3, clients)
        self._overflow_files = _RecentFiles(OVERFLOW_FILES_KEPT)

    def chunk(self, lines: Chunk) -> ChunkResult:
        result = ChunkResult()
        for number, raw in lines:
            self.line(number, raw, result)
        return result

    def parse(self, number: int, raw: bytes | str | Merged, *, workers: bool = False) -> ParsedLine:
        """One line read (the review's, for a merged line), against its label's rig;
        AnnotationError when it cannot be read, RigMismatch/RigUnknown (which stop the
        export) when its rig is unusable.

        Each worker's own skeletons are read only with ``workers`` (the review
        selection and the worker scores compare them; the export does not need them).
        """
        where = f"line {number}"
        data = decode(raw.reviewed if isinstance(raw, Merged) else raw, where)
        source_ref = data.get("source-ref")
        source_ref = source_ref if isinstance(source_ref, str) else None
        try:
            name = label_attribute(data, self.settings.label_attribute)
        except AnnotationError as exc:
            raise AnnotationError(exc.errors, where) from exc
        if name is None:
            return ParsedLine(source_ref, OutputManifestLine(data, source_ref, None, None, None))
        label = data[name]
        if isinstance(label, dict) and label.get("overflow"):
            label = data[name] = self._restore(label, f"{where}: {name}")
        if not workers:
            _drop_worker_skeletons(label)
        try:
            rig = self.rigs.choose(recorded_rig(label, name), where)
        except AnnotationError as exc:
            raise AnnotationError(exc.errors, where) from exc
        stored = len(label.get("errors") or []) if isinstance(label, dict) else 0
        parsed = parse_output_manifest_line(
            data, label_attribute_name=name, rig=self.rigs.rigs[rig], where=where
        )
        if parsed.label is None:
            return ParsedLine(source_ref, parsed)
        prefix = f"{name}.updated_annotations"
        dropped = [
            e
            for e in parsed.label.errors[stored:]
            if e.level == "error" and e.field.startswith(prefix)
        ]
        source_ref = source_ref or parsed.label.image_s3_location
        return ParsedLine(source_ref, parsed, parsed.label, rig, dropped)

    def _restore(self, label: dict[str, Any], where: str) -> dict[str, Any]:
        """The label with the fields the Lambda moved to its overflow file put back."""
        try:
            return restore_overflow(label, self._read_overflow, self._overflow_files)
        except (OSError, ValueError, KeyError, TypeError, S3Unreadable) as exc:
            uri = label["overflow"].get("s3_uri") if isinstance(label["overflow"], dict) else None
            problem = f"the fields moved to {uri} could not be read back: {_reason(exc)}"
            raise AnnotationError([FieldError("overflow", problem)], where) from exc

    def _read_overflow(self, uri: str) -> str:
        local = self.settings.overflow.local_copy(uri)
        if local is not None:
            return local.read_text(encoding="utf-8")
        try:
            return self.s3.read(uri).decode("utf-8")
        except S3Unreadable as exc:
            raise S3Unreadable(f"no copy beside the manifest, and {exc}") from exc

    def line(self, number: int, raw: bytes | str | Merged, out: ChunkResult) -> None:
        """Export one line into ``out``; whatever is wrong with it becomes a problem record."""
        out.summary.lines += 1
        try:
            self._line(number, raw, out)
        except AnnotationError as exc:
            out.summary.unusable += 1
            out.problems.append(_problem(number, _source_ref_of(raw), str(exc)))
        except (RigMismatch, RigUnknown):
            raise  # a rig the export cannot use: the whole export stops
        except Exception as exc:  # one bad line never ends the export
            out.summary.unusable += 1
            reason = f"line {number}: could not be read ({type(exc).__name__}: {exc})"
            out.problems.append(_problem(number, _source_ref_of(raw), reason))

    def _score(self, number: int, line: bytes | ParsedLine, out: ChunkResult) -> None:
        """Tally the workers of a labeled line (every answer counts, usable or not): the
        line as parsed for the export, or the original a review replaced (read here)."""
        scores = self.settings.scores
        assert scores is not None
        try:
            parsed = self.parse(number, line, workers=True) if isinstance(line, bytes) else line
        except (AnnotationError, RigMismatch, RigUnknown):
            return  # the review replaced it: nothing of it is exported
        try:
            if parsed.label is not None:
                rig = self.rigs.rigs[parsed.rig]
                out.workers.add(parsed.line, rig, scores.rules, scores.outcomes)
        except Exception:  # figures about the workers: never the line's failure
            out.workers.unscored += 1

    def _line(self, number: int, raw: bytes | str | Merged, out: ChunkResult) -> None:
        summary = out.summary
        scores = self.settings.scores
        merged = isinstance(raw, Merged)
        parsed = self.parse(number, raw, workers=scores is not None and not merged)
        if scores is not None:
            self._score(number, raw.original if isinstance(raw, Merged) else parsed, out)
        label, source_ref = parsed.label, parsed.source_ref
        if label is None:
            summary.unlabeled += 1
            return
        if not label.usable:
            summary.unusable += 1
            record = _problem(number, source_ref, "no usable worker answer")
            record["errors"] = [str(e) for e in label.errors]
            out.problems.append(record)
            return
        rig = self.rigs.rigs[parsed.rig]
        name, unsafe = image_name(source_ref, label, number, self.settings.images_prefix)
        size, why = image_size(label), ""
        if size is None:
            size, why = self._read_size(name, source_ref)
        instances = []
        if size is not None:
            width, height = size
            for skeleton in label.updated_annotations or []:
                one = instance(skeleton, rig, width, height)
                if one is not None:
                    instances.append(one)
        # Everything that can fail is done: the line's results are recorded together.
        summary.add(label, rig.name)
        out.usable.append(number)
        flags, errors = review_notes(label)
        if flags or errors:
            out.flagged[number] = (flags, errors)
        if parsed.dropped:
            out.problems.append(_problem(number, source_ref, _dropped(parsed.dropped, rig.name)))
            summary.keypoints_dropped += len(parsed.dropped)
        if size is None:
            summary.without_size += 1
            reason = f"image size unknown ({why}): left out of COCO and YOLO"
            out.problems.append(_problem(number, source_ref, reason))
            return
        image: dict[str, Any] = {"id": number, "file_name": name, "width": width, "height": height}
        image["s3_uri"] = source_ref
        origin = provenance(parsed.line) if self.settings.provenance else None
        if origin is not None:
            image["provenance"] = origin
        out.images.append(_json(image))
        for one in instances:
            summary.clamped += one.clamped
            body = annotation_body(one, number)
            if origin is not None:
                body["provenance"] = origin
            out.annotations.append((parsed.rig, _json(body)))
        if not self.settings.yolo:
            return
        if not yolo_pose.readable(name):
            reason = "not in YOLO: Ultralytics reads only files named with an image extension"
            out.problems.append(_problem(number, source_ref, reason))
            return
        text = "".join(yolo_pose.yolo_line(i, width, height) + "\n" for i in instances)
        label_file = yolo_pose.LabelFile(number, name, text, source_ref, unsafe)
        out.yolo.append((parsed.rig, label_file))

    def _read_size(self, name: str, source_ref: str | None) -> tuple[tuple[int, int] | None, str]:
        """The image's size from a local copy, else from S3; or None and why not."""
        path = local_image(self.settings.images_dir, name)
        try:
            if path is not None:
                return draw_skeletons.oriented_size(path), ""
            if self.settings.images_dir is not None:
                return None, f"not in {self.settings.images_dir}"
            if not source_ref:
                return None, "no source-ref"
            return draw_skeletons.oriented_size(BytesIO(self.s3.read(source_ref))), ""
        except S3Unreadable as exc:
            return None, str(exc)
        except (OSError, ValueError) as exc:  # PIL: not an image it can read
            return None, f"cannot read the image: {exc}"


def provenance(line: OutputManifestLine) -> dict[str, Any]:
    """Where a label came from: ``{"job", "round", "changed"}``. Round 0 is a job's own
    label; a review job's (its line has a review key) is that review's round, and
    ``changed`` says whether the reviewer changed what they were shown."""
    try:
        key = ReviewKey.read(line.data)
    except ValueError:  # a broken key: the label is still the job's own
        key = None
    label = line.label
    return {
        "job": label_job(line.data, line.label_attribute_name),
        "round": key.round if key else 0,
        "changed": bool(key and label and label.was_modified),
    }


def _dropped(errors: list[FieldError], rig: str) -> str:
    shown = "; ".join(str(e) for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"{len(errors)} keypoint(s) not exported with rig {rig!r}: {shown}{more}"


def _problem(number: int, image: str | None, reason: str) -> dict[str, Any]:
    return {"line": number, "image": image, "reason": reason}


def _source_ref_of(raw: bytes | str | Merged) -> str | None:
    """The source-ref of a line that could not be used, for its problem record."""
    if isinstance(raw, Merged):
        raw = raw.reviewed
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = data.get("source-ref") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


#: Compact, UTF-8 as is; made once (json.dumps with these options makes one per call).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def _json(value: Any) -> str:
    """Compact JSON, UTF-8 as is: by orjson (ten times as fast), or by json for what
    orjson cannot write (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _COMPACT.encode(value)


def decode(raw: bytes | str, where: str) -> dict[str, Any]:
    """A manifest line as a JSON object (by orjson, twice as fast, else by json, which
    reads what orjson refuses: NaN, integers beyond 64 bits), or AnnotationError."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = f"0x{raw[exc.start]:02x}"
                problem = f"not UTF-8 (byte {byte} at position {exc.start + 1})"
                raise AnnotationError([FieldError("line", problem)], where) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            problem = f"not valid JSON ({json_problem(exc, str(text))})"
            raise AnnotationError([FieldError("line", problem)], where) from exc
    if not isinstance(data, dict):
        problem = f"expected a JSON object, got {show_value(data)}"
        raise AnnotationError([FieldError("line", problem)], where)
    return data


def label_attribute(data: dict[str, Any], given: str | None) -> str | None:
    """The key of the line's label: ``given``; else the key with a ``-metadata``
    companion (``label-results`` if several have one); else ``label-results`` if
    present. None: the line has no label."""
    if given is not None:
        return given if given in data else None
    names = label_attribute_names(data)
    if len(names) > 1 and DEFAULT_LABEL_ATTRIBUTE in names:
        return DEFAULT_LABEL_ATTRIBUTE
    if len(names) > 1:
        problem = f"several label attributes ({', '.join(names)}); say which with --label-attribute"
        raise AnnotationError([FieldError("line", problem)])
    if names:
        return names[0]
    return DEFAULT_LABEL_ATTRIBUTE if DEFAULT_LABEL_ATTRIBUTE in data else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):  # restore_overflow: the file holds nothing for the label
        return str(exc.args[0]) if exc.args else "missing entry"
    return str(exc) or type(exc).__name__


class _RecentFiles(OrderedDict[str, Any]):
    """The decoded overflow files last read, at most ``size`` of them: each batch that
    overflowed has one file of tens of MB, so memory stays flat in the number of lines."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __getitem__(self, uri: str) -> Any:
        self.move_to_end(uri)
        return super().__getitem__(uri)

    def __setitem__(self, uri: str, value: Any) -> None:
        super().__setitem__(uri, value)
        while len(self) > self.size:
            self.popitem(last=False)


def _drop_worker_skeletons(label: Any) -> None:
    if isinstance(label, dict) and isinstance(label.get("workers"), list):
        label["workers"] = [
            {k: v for k, v in w.items() if k not in _WORKER_KEYS_SKIPPED}
            if isinstance(w, dict)
            else w
            for w in label["workers"]
        ]


def image_name(
    source_ref: str | None, label: ConsolidatedLabel, number: int, images_prefix: str
) -> tuple[str, str | None]:
    """The image's name in the export: its S3 key without ``images_prefix``, made safe
    (:func:`scripts.export_paths.safe_name`); and the name before, if that changed it."""
    if source_ref and source_ref.startswith("s3://"):
        plain = source_ref.removeprefix("s3://").partition("/")[2].removeprefix(images_prefix)
    else:
        plain = label.image_file_name or ""
    name = export_paths.safe_name(plain) or f"line-{number}"
    return name, (None if name == plain else plain)


def local_image(images_dir: Path | None, name: str) -> Path | None:
    """The image in ``images_dir``: at its relative path, or by its file name alone
    (also URL-decoded, as the offline preview writes its ``source-ref`` keys)."""
    if images_dir is None:
        return None
    file_name = Path(name).name
    for relative in (name, file_name, export_paths.safe_name(unquote(file_name))):
        if relative and (images_dir / relative).is_file():
            return images_dir / relative
    return None


def review_notes(label: ConsolidatedLabel) -> tuple[list[str], list[str]]:
    flags = [
        f"{flag.flag}"
        + (f" (skeleton {flag.skeleton + 1})" if flag.skeleton is not None else "")
        + f": {flag.message}"
        for flag in label.qa_flags
    ]
    errors = [str(e) for e in label.errors if e.level == "error"]
    return flags, errors


# -- running over a whole manifest -------------------------------------------------

_processor: LineProcessor | None = None


def _init_worker(settings: Settings) -> None:
    global _processor
    _processor = LineProcessor(settings)


def _in_worker(chunk: Chunk) -> ChunkResult:
    assert _processor is not None
    return _processor.chunk(chunk)


def chunks(lines: Iterable[bytes | str | Merged], size: int = CHUNK_LINES) -> Iterator[Chunk]:
    """Non-blank lines, numbered from 1 as in the file, ``size`` at a time."""
    chunk: Chunk = []
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, Merged) or raw.strip():
            chunk.append((number, raw))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def process(
    lines: Iterable[bytes | str | Merged],
    settings: Settings,
    *,
    jobs: int,
    clients: AwsClients | None = None,
    chunk_lines: int = CHUNK_LINES,
    inline_chunks: int = INLINE_CHUNKS,
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Each chunk with its result, in manifest order.

    The first chunks are processed here; after them, with ``jobs`` > 1, the rest
    go to that many worker processes, with at most two chunks per process in
    flight, so memory stays flat however long the manifest is. ``clients`` read
    S3 in this process (workers make their own).
    """
    local = LineProcessor(settings, clients)
    pending = chunks(lines, chunk_lines)
    if jobs <= 1:
        for chunk in pending:
            yield chunk, local.chunk(chunk)
        return
    for _, chunk in zip(range(inline_chunks), pending, strict=False):
        yield chunk, local.chunk(chunk)
    first = next(pending, None)
    if first is None:
        return
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(settings,)
    ) as pool:
        window: deque[tuple[Chunk, Future[ChunkResult]]] = deque()
        window.append((first, pool.submit(_in_worker, first)))
        for chunk in pending:
            window.append((chunk, pool.submit(_in_worker, chunk)))
            if len(window) >= 2 * jobs:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
