"""The pre-annotation step: one input-manifest line -> the worker template's ``taskInput``.

Input line (docs/contracts.md): ``{"source-ref": "s3://…/a.jpg", "annotations": [<skeleton>, …]}``,
where ``annotations`` may also be a JSON string, or be given as
``initial_values`` (a JSON string, for compatibility with the public example).
Output: ``{"image_s3_uri", "image_name", "initial_values"}``, the pre-annotations
normalised (every visibility explicit) and re-encoded as a JSON string;
``image_name`` is the last segment of the key as written (S3 keys in a manifest
are not URL-encoded, so nothing is decoded).

A line of a review job (``scripts/review_job.py``) also has a ``review`` key:
``{"job", "round", "line", "dataset_object_id", "reasons": [{"code", "reason"}]}``.
Its reasons become ``annotation_issues``, a JSON string of ``[{"reason": text}]``
that the template gives the component as ``annotationIssues`` (shown beside the
image). Only the reasons are read here; the rest is for merging the rounds, and
reaches the output manifest unchanged as every input key does.

Strict: a line without an image (``s3://bucket/key``), with any pre-annotation
that does not fit the rig, or beyond the bounds of :mod:`handlers.limits`,
raises :class:`~handlers.skeleton.AnnotationError` naming the field and the
line's image. A worker must never be shown a silently trimmed pre-annotation
that they then "confirm".
"""

from __future__ import annotations

import json
import re
from typing import Any

from handlers.limits import (
    MAX_REVIEW_REASON_CHARS,
    MAX_REVIEW_REASONS,
    MAX_SKELETONS_PER_IMAGE,
)
from handlers.rig import Rig
from handlers.skeleton import (
    AnnotationError,
    FieldError,
    decode_json_list,
    load_skeletons,
    show_value,
    skeletons_to_jsonable,
)

PRE_ANNOTATION_KEYS = ("annotations", "initial_values")
#: The input-manifest key of a review job's line: where it came from, and why.
REVIEW_KEY = "review"
#: An image: a bucket and a key that is not a folder.
_IMAGE_URI = re.compile(r"s3://[^/]+/.*[^/]", re.DOTALL)


def build_task_input(data_object: dict[str, Any], rig: Rig) -> dict[str, Any]:
    source = data_object.get("source-ref")
    if not isinstance(source, str) or not _IMAGE_URI.fullmatch(source):
        other = ", ".join(sorted(data_object)[:5]) or "nothing"
        got = (
            f"got {show_value(source)}" if "source-ref" in data_object else f"the line has {other}"
        )
        raise AnnotationError(
            [FieldError("source-ref", f"expected the s3:// URI of an image, {got}")],
            "dataset object",
        )
    context = f"dataset object {source}"
    given = [k for k in PRE_ANNOTATION_KEYS if data_object.get(k) is not None]
    if len(given) > 1:
        raise AnnotationError(
            [FieldError("annotations", "both annotations and initial_values are given; keep one")],
            context,
        )
    skeletons = []
    if given:
        key = given[0]
        value = data_object[key]
        if isinstance(value, str):
            errors: list[FieldError] = []
            value = decode_json_list(value, key, errors, empty_means_none=True)
            rejected = [e for e in errors if e.level == "error"]
            if rejected:
                raise AnnotationError(rejected, context)
        if isinstance(value, list) and len(value) > MAX_SKELETONS_PER_IMAGE:
            problem = (
                f"{len(value)} skeletons, over the limit of {MAX_SKELETONS_PER_IMAGE} per image"
            )
            raise AnnotationError([FieldError(key, problem)], context)
        skeletons = load_skeletons(value, key, rig, context)
    task_input = {
        "image_s3_uri": source,
        "image_name": source.rsplit("/", 1)[-1],
        "initial_values": json.dumps(skeletons_to_jsonable(skeletons), separators=(",", ":")),
    }
    if REVIEW_KEY in data_object:
        issues = review_reasons(data_object[REVIEW_KEY], context)
        task_input["annotation_issues"] = json.dumps(issues, separators=(",", ":"))
    return task_input


def review_reasons(review: Any, context: str) -> list[dict[str, str]]:
    """``[{"reason": text}]`` from a review line's ``review`` value, or AnnotationError
    naming the field: a reviewer must see every reason the line was sent for."""

    def bad(field: str, problem: str) -> AnnotationError:
        return AnnotationError([FieldError(field, problem)], context)

    if not isinstance(review, dict):
        raise bad(REVIEW_KEY, f"expected an object with reasons, got {show_value(review)}")
    reasons = review.get("reasons")
    field = f"{REVIEW_KEY}.reasons"
    if not isinstance(reasons, list):
        raise bad(field, f"expected a list of {{code, reason}} objects, got {show_value(reasons)}")
    if len(reasons) > MAX_REVIEW_REASONS:
        raise bad(field, f"{len(reasons)} reasons, over the limit of {MAX_REVIEW_REASONS}")
    issues = []
    for i, item in enumerate(reasons):
        if not isinstance(item, dict):
            raise bad(f"{field}[{i}]", f"expected {{code, reason}}, got {show_value(item)}")
        text = item.get("reason")
        where = f"{field}[{i}].reason"
        if not isinstance(text, str) or not text.strip():
            raise bad(where, f"expected a non-empty string, got {show_value(text)}")
        if len(text) > MAX_REVIEW_REASON_CHARS:
            raise bad(
                where, f"{len(text):,} characters, over the limit of {MAX_REVIEW_REASON_CHARS}"
            )
        issues.append({"reason": text})
    return issues
