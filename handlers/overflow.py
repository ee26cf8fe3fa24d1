"""Keeping the post-annotation response under Lambda's 6 MB response limit.

Ground Truth sends up to MaxConcurrentTaskCount objects (default 1000) in one
batch, and a label with three workers and two people is about 12 KB, so a
realistic batch can be several times the limit (measured in
``benchmarks/bench_consolidation.py``). A response over the limit fails the
invocation, and Ground Truth would retry it forever.

So the response is sized as the Lambda runtime serialises it (default
``json.dumps``, ASCII, which is an upper bound of what goes on the wire):
exactly, or from upper bounds of each item's size that the caller computed
without serialising (:mod:`handlers.json_size`). When the size exceeds
:data:`RESPONSE_BUDGET_BYTES`, bulky fields are moved to **one** JSON file in S3
next to the payload, largest labels first, until it fits:

1. each label's ``workers`` (the per-worker copies: the bulk, and not needed
   to train on);
2. only if that is not enough: ``original_annotations``, ``agreement``,
   ``qa_flags``, ``errors`` and ``updated_annotations``;
3. only for batches of thousands of objects: every other field but
   ``dataset_object_id``, leaving a reference (about 250 bytes per object,
   so even 20,000 objects fit).

A label that lost fields carries ``"overflow": {"s3_uri": …, "fields": […]}``;
the file maps each ``datasetObjectId`` to its moved fields, and
:func:`restore_overflow` puts them back (the export script does this). The file
goes to ``…/annotations/consolidated-annotation/pose-labeling-overflow/…``,
mirroring the payload's own path, so the post-annotation role needs
``s3:PutObject`` on that prefix only. Retries write the same key with the
same content.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

from handlers.json_size import (
    dumps,
    entry_size,
    json_size,
    list_size,
    object_frame,
    string_size,
)

#: Lambda's limit for a synchronous response.
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
#: What we allow ourselves: room for the runtime's own framing.
RESPONSE_BUDGET_BYTES = 5_500_000
OVERFLOW_DIR = "pose-labeling-overflow"
#: Moved in this order: per-worker copies first, the consolidated answer last.
MOVABLE_STAGES = (
    ("workers",),
    ("original_annotations", "agreement", "qa_flags", "errors", "updated_annotations"),
    (
        "data_object_s3_uri",
        "image_file_name",
        "image_s3_location",
        "worker_id",
        "no_changes_needed",
        "was_modified",
        "total_time_in_seconds",
    ),
)


class ResponseTooLarge(RuntimeError):
    """The response cannot be brought under the limit (no place to write, or still too big)."""


@dataclass(frozen=True, slots=True)
class FitResult:
    size_before: int
    size_after: int
    #: The labels (datasetObjectIds) that lost fields.
    moved: tuple[str, ...] = ()
    overflow_uri: str | None = None
    #: False when the sizes are upper bounds (the caller gave ``sizes``), not measured.
    exact: bool = True


def overflow_uri(
    payload_s3_uri: str | None, output_config: str | None, dataset_object_ids: list[str]
) -> str | None:
    """Where a batch's overflow file goes: beside the payload, else under ``outputConfig``.

    Deterministic, so that a retried batch overwrites its own file.
    """
    if payload_s3_uri:
        head, _, tail = payload_s3_uri.rpartition("/consolidation-request/")
        if head:
            return f"{head}/{OVERFLOW_DIR}/{tail}"
        folder, name = posixpath.split(payload_s3_uri)
        return f"{folder}/{OVERFLOW_DIR}/{name}"
    if output_config and output_config.startswith("s3://"):
        digest = hashlib.sha256("\n".join(dataset_object_ids).encode()).hexdigest()[:20]
        base = output_config.rstrip("/")
        return f"{base}/consolidated-annotation/{OVERFLOW_DIR}/{digest}.json"
    return None


def fit_response(
    response: list[dict[str, Any]],
    label_attribute_name: str,
    *,
    uri: str | None,
    write: Callable[[str, bytes], None],
    budget: int = RESPONSE_BUDGET_BYTES,
    sizes: Sequence[int] | None = None,
    prepared: Sequence[Mapping[str, tuple[str, int]] | None] | None = None,
) -> FitResult:
    """Shrink ``response`` in place until it fits ``budget``.

    ``uri`` names the overflow file (None: nowhere to write, so a response over
    budget raises); ``write(uri, content)`` stores it, and is called only if needed.
    ``sizes`` are upper bounds of each item's serialised size; without them each
    item is serialised once to measure it. Each moved value is serialised once
    to write it, and sizes after a move are computed, not re-measured: removing
    an entry of known size from a bounded item leaves it bounded.

    ``prepared[i]`` may give, for fields of item ``i``, a JSON text of the value
    that the caller already has, with the size ``sizes[i]`` counted for that value
    (at least its serialised size): the text is written instead of serialising
    the value again, and that size is what moving it takes off the bound.
    """
    exact = sizes is None
    item_sizes = [json_size(item) for item in response] if sizes is None else list(sizes)
    total = list_size(item_sizes)
    before = total
    if total <= budget:
        return FitResult(before, total, exact=exact)
    if uri is None:
        if not exact:  # only the bounds are over: measure before failing
            return fit_response(response, label_attribute_name, uri=uri, write=write, budget=budget)
        raise ResponseTooLarge(
            f"the response is {before} bytes, over the {budget}-byte budget, and the event names "
            "no S3 location (payload.s3Uri or outputConfig) to move labels to"
        )
    labels = [item["consolidatedAnnotation"]["content"][label_attribute_name] for item in response]
    moves = _Moves(uri)
    for fields in MOVABLE_STAGES:
        for i in sorted(range(len(response)), key=lambda i: -item_sizes[i]):
            if total <= budget:
                break
            known = (prepared[i] if prepared is not None else None) or {}
            change = moves.move(response[i]["datasetObjectId"], labels[i], fields, known)
            item_sizes[i] += change
            total += change
        if total <= budget:
            break
    if total > budget and not exact:  # only the bounds are over: measure what is left
        total = json_size(response)
    if total > budget:
        raise ResponseTooLarge(
            f"the response is {total} bytes even with every movable field moved to S3 "
            f"(budget {budget}, Lambda's limit {RESPONSE_LIMIT_BYTES}); "
            "lower MaxConcurrentTaskCount"
        )
    write(uri, moves.content().encode())
    return FitResult(before, total, tuple(moves.parts), uri, exact)


_QUOTED = {f: encode_basestring_ascii(f) for stage in MOVABLE_STAGES for f in stage}


class _Moves:
    """The fields moved so far, as the overflow file's entries, and the references left."""

    _FRAME = object_frame(("s3_uri", "fields"))

    def __init__(self, uri: str) -> None:
        self.uri = uri
        #: datasetObjectId -> its moved ``"field": value`` entries, serialised.
        self.parts: dict[str, list[str]] = {}
        self._reference_sizes: dict[tuple[str, ...], int] = {}

    def move(
        self,
        dataset_object_id: str,
        label: dict[str, Any],
        fields: tuple[str, ...],
        known: Mapping[str, tuple[str, int]],
    ) -> int:
        """Move those of ``fields`` that ``label`` has; returns the change of its size."""
        taken = [f for f in fields if f in label]
        if not taken:
            return 0
        parts = self.parts.setdefault(dataset_object_id, [])
        change = 0
        for f in taken:
            value = label.pop(f)
            text, counted = known.get(f) or (None, 0)
            if text is None:
                text = dumps(value)
                counted = len(text)
            key = _QUOTED[f]
            parts.append(f"{key}: {text}")
            change -= len(key) + 4 + counted  # "key": value, (see entry_size)
        previous = label.pop("overflow", None)
        earlier: list[str] = previous["fields"] if previous else []
        if earlier:
            change -= entry_size("overflow", self._reference_size(earlier))
        label["overflow"] = {"s3_uri": self.uri, "fields": [*earlier, *taken]}
        return change + entry_size("overflow", self._reference_size(label["overflow"]["fields"]))

    def _reference_size(self, fields: list[str]) -> int:
        """Serialised size of ``{"s3_uri": uri, "fields": fields}`` (a few distinct lists)."""
        key = tuple(fields)
        size = self._reference_sizes.get(key)
        if size is None:
            size = self._FRAME + string_size(self.uri) + list_size(list(map(string_size, key)))
            self._reference_sizes[key] = size
        return size

    def content(self) -> str:
        """The overflow file: ``{"<datasetObjectId>": {"<field>": <value>, …}, …}``."""
        entries = (f"{dumps(k)}: {{{', '.join(v)}}}" for k, v in self.parts.items())
        return "{" + ", ".join(entries) + "}"


def restore_overflow(
    label: dict[str, Any],
    read_text: Callable[[str], str],
    cache: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The label with its moved fields put back (a new dict; ``label`` is unchanged).

    ``read_text(uri)`` fetches the overflow file; pass the same ``cache`` dict
    for a whole manifest so each file is read once.
    """
    info = label.get("overflow")
    if not info:
        return label
    uri = info["s3_uri"]
    cache = {} if cache is None else cache
    if uri not in cache:
        cache[uri] = json.loads(read_text(uri))
    dataset_object_id = label.get("dataset_object_id")
    stored = cache[uri].get(dataset_object_id)
    if stored is None:
        raise KeyError(f"{uri} holds no fields for datasetObjectId {dataset_object_id!r}")
    restored = {k: v for k, v in label.items() if k != "overflow"}
    restored.update(stored)
    return restored
