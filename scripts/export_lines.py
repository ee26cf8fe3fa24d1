"""The per-line half of an export: read one output-manifest line, make its COCO and YOLO.

For a large manifest this runs in worker processes, a chunk of lines per task,
so it returns small picklable results: COCO annotation bodies already
serialised (the parent adds the ids, which must follow manifest order), the
review notes of flagged images, and the chunk's :class:`Summary`. YOLO label
files are written here, by a few threads (creating many small files is
system-call bound, and threads overlap those calls).

Lines are parsed by :func:`handlers.output_manifest.parse_output_manifest_line`.
Each worker's own copy of the skeletons is left out before parsing: the export
writes the consolidated skeletons, and reads from the workers only their image
size and time; validating the copies too would double the cost of a line.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from handlers.coco import coco_annotation
from handlers.label import ConsolidatedLabel
from handlers.output_manifest import label_attribute_names, parse_output_manifest_line
from handlers.overflow import OVERFLOW_DIR, restore_overflow
from handlers.rig import Rig
from handlers.skeleton import AnnotationError, FieldError, Skeleton
from scripts import draw_skeletons, yolo_pose
from scripts.aws import AwsClients
from scripts.cli import UserError
from scripts.export_summary import Summary
from scripts.s3 import S3Uri

#: Lines per task sent to a worker process.
CHUNK_LINES = 500
#: Chunks handled in this process before worker processes are started: small
#: manifests (tests, the offline preview) never pay for starting them.
INLINE_CHUNKS = 4
#: Keys of a worker's result that the export does not read (see the module doc).
_WORKER_KEYS_SKIPPED = ("updated_annotations", "raw")
_PENDING_WRITES = 256
#: Decoded overflow files kept by each process (see _RecentFiles).
OVERFLOW_FILES_KEPT = 4

Chunk = list[tuple[int, str]]


@dataclass(frozen=True)
class OverflowFiles:
    """Where the fields that the post-annotation Lambda moved out of a large response
    are read back from (:mod:`handlers.overflow`).

    Beside a local manifest first: in ``folder``, the file at the path that
    follows ``pose-labeling-overflow/`` in its URI, or with its name alone. Else
    from S3: in the export's own process through its clients, in worker
    processes through clients made for ``region`` (None: no S3).
    """

    folder: Path | None = None
    region: str | None = None

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
    rig: Rig
    label_attribute: str | None
    images_prefix: str
    images_dir: Path | None
    yolo_labels: Path | None
    overflow: OverflowFiles = OverflowFiles()


@dataclass(slots=True)
class ChunkResult:
    """What the parent needs from a chunk, in few and simple objects (cheap to pickle)."""

    #: COCO ``images[]`` entries, final JSON (the id is the manifest line number).
    images: list[str] = field(default_factory=list)
    #: COCO ``annotations[]`` entries, JSON without the ``id`` (numbered by the parent).
    annotations: list[str] = field(default_factory=list)
    #: Line numbers of the usable images, and review notes of the flagged ones.
    usable: list[int] = field(default_factory=list)
    flagged: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)
    #: Records for problems.jsonl.
    problems: list[dict[str, Any]] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)


class LineProcessor:
    def __init__(self, settings: Settings, clients: AwsClients | None = None) -> None:
        self.settings = settings
        self.rig = settings.rig
        self._clients = clients
        self._overflow_files = _RecentFiles(OVERFLOW_FILES_KEPT)
        self._writer: ThreadPoolExecutor | None = None
        self._writes: deque[Future[None]] = deque()
        self._made_dirs: set[Path] = set()

    def chunk(self, lines: Chunk) -> ChunkResult:
        result = ChunkResult()
        for number, text in lines:
            self.line(number, text, result)
        self._finish_writes()
        return result

    def parse(self, number: int, text: str) -> tuple[str | None, ConsolidatedLabel | None]:
        """(source-ref, label) of one line; AnnotationError when it cannot be read."""
        where = f"line {number}"
        data = _decode(text)
        if isinstance(data, dict):
            attribute = self.settings.label_attribute
            names = [attribute] if attribute else label_attribute_names(data)
            for name in names:
                if isinstance(data.get(name), dict) and data[name].get("overflow"):
                    data[name] = self._restore(data[name], f"{where}: {name}")
            _drop_worker_skeletons(data, names)
        parsed = parse_output_manifest_line(
            data,
            label_attribute_name=self.settings.label_attribute,
            rig=self.rig,
            where=where,
        )
        label = parsed.label
        return (parsed.source_ref or (label.image_s3_location if label else None)), label

    def _restore(self, label: dict[str, Any], where: str) -> dict[str, Any]:
        """The label with the fields the Lambda moved to its overflow file put back."""
        try:
            return restore_overflow(label, self._read_overflow, self._overflow_files)
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            UserError,
            BotoCoreError,
            ClientError,
        ) as exc:
            uri = label["overflow"].get("s3_uri") if isinstance(label["overflow"], dict) else None
            problem = f"the fields moved to {uri} could not be read back: {_reason(exc)}"
            raise AnnotationError([FieldError("overflow", problem)], where) from exc

    def _read_overflow(self, uri: str) -> str:
        local = self.settings.overflow.local_copy(uri)
        if local is not None:
            return local.read_text(encoding="utf-8")
        if self._clients is None and self.settings.overflow.region is not None:
            self._clients = AwsClients(self.settings.overflow.region)
        if self._clients is None:
            raise FileNotFoundError(
                "no copy beside the manifest, and no S3 access without the stack's outputs"
            )
        target = S3Uri.parse(uri, what="overflow file")
        body = self._clients.s3.get_object(Bucket=target.bucket, Key=target.key)["Body"]
        return str(body.read().decode("utf-8"))

    def line(self, number: int, text: str, out: ChunkResult) -> None:
        summary = out.summary
        summary.lines += 1
        try:
            source_ref, label = self.parse(number, text)
        except AnnotationError as exc:
            summary.unusable += 1
            out.problems.append({"line": number, "error": str(exc)})
            return
        if label is None:
            summary.unlabeled += 1
            return
        if not label.usable:
            summary.unusable += 1
            out.problems.append(
                {
                    "line": number,
                    "source-ref": source_ref,
                    "error": "no usable worker answer",
                    "errors": [str(e) for e in label.errors],
                }
            )
            return
        name = image_name(source_ref, label, number, self.settings.images_prefix)
        size = label.image_size or self._local_size(name)
        if size is None:
            summary.without_size += 1
        width, height = size or (None, None)
        image = {"id": number, "file_name": name, "width": width, "height": height}
        out.images.append(_json({**image, "s3_uri": source_ref}))
        skeletons = [s for s in label.updated_annotations or [] if s.num_labeled]
        for skeleton in skeletons:
            body = coco_annotation(skeleton, self.rig, annotation_id=0, image_id=number)
            del body["id"]  # numbered by the parent, in manifest order
            out.annotations.append(_json(body))
        if self.settings.yolo_labels is not None:
            if size is None:
                error = "image size unknown: no YOLO label written"
                out.problems.append({"line": number, "image": name, "error": error})
            else:
                self._write_yolo(name, skeletons, size)
        out.usable.append(number)
        flags, errors = review_notes(label)
        if flags or errors:
            out.flagged[number] = (flags, errors)
        summary.add(label)

    def _local_size(self, name: str) -> tuple[int, int] | None:
        path = local_image(self.settings.images_dir, name)
        return draw_skeletons.oriented_size(path) if path else None

    def _write_yolo(self, name: str, skeletons: list[Skeleton], size: tuple[int, int]) -> None:
        assert self.settings.yolo_labels is not None
        path = yolo_pose.label_path(self.settings.yolo_labels, name)
        if path.parent not in self._made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(path.parent)
        width, height = size
        text = "".join(yolo_pose.yolo_line(s, self.rig, width, height) + "\n" for s in skeletons)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="yolo")
        self._writes.append(self._writer.submit(_write_text, path, text))
        if len(self._writes) > _PENDING_WRITES:
            self._writes.popleft().result()

    def _finish_writes(self) -> None:
        while self._writes:
            self._writes.popleft().result()

    def close(self) -> None:
        self._finish_writes()
        if self._writer is not None:
            self._writer.shutdown()


#: Compact, UTF-8 as is; made once (json.dumps with these options makes one per call).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def _json(value: Any) -> str:
    """Compact JSON, UTF-8 as is: by orjson (ten times as fast), or by json for what
    orjson cannot write (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _COMPACT.encode(value)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _decode(text: str) -> Any:
    """A manifest line decoded (by orjson, twice as fast, else by json, which reads what
    orjson refuses: NaN, integers beyond 64 bits); the text itself if neither can, so
    that the handlers' parser says what is wrong, in its words."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):  # restore_overflow: the file holds nothing for the label
        return str(exc.args[0]) if exc.args else "missing entry"
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or exc)
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


def _drop_worker_skeletons(data: dict[str, Any], names: list[str]) -> None:
    for name in names:
        label = data.get(name)
        if isinstance(label, dict) and isinstance(label.get("workers"), list):
            label["workers"] = [
                {k: v for k, v in w.items() if k not in _WORKER_KEYS_SKIPPED}
                if isinstance(w, dict)
                else w
                for w in label["workers"]
            ]


def image_name(
    source_ref: str | None, label: ConsolidatedLabel, number: int, images_prefix: str
) -> str:
    """The image's path for COCO and YOLO: its S3 key without ``images_prefix``."""
    if source_ref and source_ref.startswith("s3://"):
        return S3Uri.parse(source_ref).key.removeprefix(images_prefix)
    return label.image_file_name or f"line-{number}"


def local_image(images_dir: Path | None, name: str) -> Path | None:
    """The image in ``images_dir``: at its relative path, or by its file name alone
    (also URL-decoded, as the offline preview writes its ``source-ref`` keys)."""
    if images_dir is None:
        return None
    for relative in (name, Path(name).name, unquote(Path(name).name)):
        candidate = images_dir / relative
        if candidate.is_file():
            return candidate
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


def chunks(lines: Iterable[str], size: int = CHUNK_LINES) -> Iterator[Chunk]:
    """Non-blank lines, numbered from 1 as in the file, ``size`` at a time."""
    chunk: Chunk = []
    for number, text in enumerate(lines, start=1):
        if text.strip():
            chunk.append((number, text))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def process(
    lines: Iterable[str],
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
    overflow files from S3 in this process (workers make their own).
    """
    local = LineProcessor(settings, clients)
    pending = chunks(lines, chunk_lines)
    try:
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
    finally:
        local.close()


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
