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
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson

from handlers.coco import coco_annotation
from handlers.label import ConsolidatedLabel
from handlers.output_manifest import label_attribute_names, parse_output_manifest_line
from handlers.rig import Rig
from handlers.skeleton import AnnotationError, Skeleton
from scripts import draw_skeletons, yolo_pose
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

Chunk = list[tuple[int, str]]


@dataclass(frozen=True)
class Settings:
    rig: Rig
    label_attribute: str | None
    images_prefix: str
    images_dir: Path | None
    yolo_labels: Path | None


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
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rig = settings.rig
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
        try:
            data = orjson.loads(text)  # twice as fast as json
        except orjson.JSONDecodeError:
            # The handlers' parser decodes it with json, which reads what orjson refuses
            # (NaN, integers beyond 64 bits), or says what is wrong, in its words.
            data = text
        if isinstance(data, dict):
            _drop_worker_skeletons(data, self.settings.label_attribute)
        parsed = parse_output_manifest_line(
            data,
            label_attribute_name=self.settings.label_attribute,
            rig=self.rig,
            where=f"line {number}",
        )
        label = parsed.label
        return (parsed.source_ref or (label.image_s3_location if label else None)), label

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


def _drop_worker_skeletons(data: dict[str, Any], attribute: str | None) -> None:
    names = [attribute] if attribute else label_attribute_names(data)
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
    chunk_lines: int = CHUNK_LINES,
    inline_chunks: int = INLINE_CHUNKS,
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Each chunk with its result, in manifest order.

    The first chunks are processed here; after them, with ``jobs`` > 1, the rest
    go to that many worker processes, with at most two chunks per process in
    flight, so memory stays flat however long the manifest is.
    """
    local = LineProcessor(settings)
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
