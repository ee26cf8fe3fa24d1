"""Keeping the post-annotation response under Lambda's 6 MB response limit.

Ground Truth sends up to MaxConcurrentTaskCount objects (default 1000) in one
batch, and a label with three workers and two people is about 12 KB, so a
realistic batch can be several times the limit (measured in
``benchmarks/bench_consolidation.py``). A response over the limit fails the
invocation, and Ground Truth would retry it forever.

So each item of the response is measured as the Lambda runtime serialises it
(default ``json.dumps``: ASCII, which is an upper bound of what goes on the
wire). When the total exceeds :data:`RESPONSE_BUDGET_BYTES`, bulky fields are
moved to **one** JSON file in S3 next to the payload, largest labels first,
until it fits:

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
        "rig",
    ),
)


_STANDARD_JSON = json.JSONEncoder(allow_nan=False)


def json_size(value: Any) -> int:
    """Characters of ``value`` as the Lambda runtime writes it (``json.dumps``' defaults).

    NaN and infinities are refused (ValueError): the response must be standard JSON.
    """
    return len(_STANDARD_JSON.encode(value))


class ResponseTooLarge(RuntimeError):
    """The response cannot be brought under the limit (no place to write, or still too big)."""


@dataclass(frozen=True, slots=True)
class FitResult:
    size_before: int
    size_after: int
    #: The labels (datasetObjectIds) that lost fields.
    moved: tuple[str, ...] = ()
    overflow_uri: str | None = None


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
        ids = json.dumps(dataset_object_ids)  # ASCII whatever the IDs hold (lone surrogates)
        digest = hashlib.sha256(ids.encode()).hexdigest()[:20]
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
) -> FitResult:
    """Shrink ``response`` in place until it fits ``budget``.

    ``uri`` names the overflow file (None: nowhere to write, so a response over
    budget raises); ``write(uri, content)`` stores it, and is called only if needed.
    ``sizes`` are each item's :func:`json_size`, if the caller has measured them.
    """
    item_sizes = [json_size(item) for item in response] if sizes is None else list(sizes)
    total = _list_size(item_sizes)
    before = total
    if total <= budget:
        return FitResult(before, total)
    if uri is None:
        raise ResponseTooLarge(
            f"the response is {before} bytes, over the {budget}-byte budget, and the event names "
            "no S3 location (payload.s3Uri or outputConfig) to move labels to"
        )
    moved: dict[str, dict[str, Any]] = {}
    for fields in MOVABLE_STAGES:
        for i in sorted(range(len(response)), key=lambda i: -item_sizes[i]):
            if total <= budget:
                break
            item = response[i]
            label = item["consolidatedAnnotation"]["content"][label_attribute_name]
            taken = {f: label.pop(f) for f in fields if f in label}
            if not taken:
                continue
            moved.setdefault(item["datasetObjectId"], {}).update(taken)
            earlier = label.pop("overflow", {}).get("fields", [])
            label["overflow"] = {"s3_uri": uri, "fields": [*earlier, *taken]}
            size = json_size(item)
            total += size - item_sizes[i]
            item_sizes[i] = size
        if total <= budget:
            break
    if total > budget:
        raise ResponseTooLarge(
            f"the response is {total} bytes even with every movable field moved to S3 "
            f"(budget {budget}, Lambda's limit {RESPONSE_LIMIT_BYTES}); "
            "lower MaxConcurrentTaskCount"
        )
    write(uri, json.dumps(moved, allow_nan=False).encode())
    return FitResult(before, total, tuple(moved), uri)


def _list_size(item_sizes: Sequence[int]) -> int:
    """Size of a JSON list of items of these sizes: brackets and ``", "`` between items."""
    return sum(item_sizes) + 2 + 2 * max(len(item_sizes) - 1, 0)


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
