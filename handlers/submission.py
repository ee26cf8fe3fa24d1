"""One worker's answer: the fields the labeling component submits (docs/contracts.md).

The contract says every value is a string: ``updated_annotations`` and
``original_annotations`` (JSON lists of skeletons), ``image_s3_uri``,
``image_name``, ``image_width``, ``image_height``, ``no_changes_needed``
(``"true"``/``"false"``) and ``total_time_in_seconds``. What else is accepted,
always with a ``warning`` in the errors:

- a value that is already a list, boolean or number;
- ``original_annotations`` of ``""``, ``"null"`` or missing (the public
  component sends the first two) as ``[]``;
- a presigned HTTPS ``image_s3_uri`` (the public component sends
  ``imgSrc``): the query string is removed and an S3 URL becomes ``s3://``;
  an ``image_name`` ending in ``?X-Amz-…`` loses the query string;
- ``no_changes_needed`` as ``"True"``, ``"on"`` (an HTML checkbox) or missing
  (read as false).

Rejected (level ``error``): an answer that is not a JSON object (``null``
included), or beyond the bounds of :mod:`handlers.limits` (too long, too deeply
nested, more than :data:`~handlers.limits.MAX_SKELETONS_PER_IMAGE` skeletons);
``updated_annotations`` missing or not JSON (in all these cases the whole answer
is unusable and kept raw); keypoints that fail validation (left out; the raw
answer is kept); image sizes that are not whole numbers of pixels from 1 to
:data:`~handlers.skeleton.MAX_COORDINATE` and times that are not non-negative
numbers (read as unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from handlers.limits import (
    MAX_ERRORS_PER_ANSWER,
    MAX_SKELETONS_PER_IMAGE,
    JsonLimitError,
    keepable,
    loads_bounded,
)
from handlers.rig import Rig
from handlers.skeleton import (
    MAX_COORDINATE,
    FieldError,
    Skeleton,
    decode_json_list,
    json_problem,
    parse_skeletons,
    pass_through,
    show_value,
)

#: The fields of the worker-submission contract.
SUBMISSION_FIELDS = (
    "updated_annotations",
    "original_annotations",
    "image_s3_uri",
    "image_name",
    "image_width",
    "image_height",
    "no_changes_needed",
    "total_time_in_seconds",
)

_SUBMISSION_KEYS = frozenset(SUBMISSION_FIELDS)
_TRUE = frozenset(("true", "on", "yes", "1"))
_FALSE = frozenset(("false", "off", "no", "0", ""))
_S3_HOST = re.compile(
    r"(?P<bucket>[a-z0-9][a-z0-9.\-]*)\.s3(?:[.\-](?:dualstack\.)?[a-z0-9\-]+)?\.amazonaws\.com"
)
_S3_PATH_HOST = re.compile(r"s3(?:[.\-](?:dualstack\.)?[a-z0-9\-]+)?\.amazonaws\.com")


@dataclass(slots=True)
class WorkerAnswer:
    worker_id: str
    #: None when the answer could not be used at all.
    updated_annotations: list[Skeleton] | None
    original_annotations: list[Skeleton] | None = None
    image_s3_uri: str | None = None
    image_name: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    no_changes_needed: bool = False
    total_time_in_seconds: float | None = None
    #: Problems found, with field paths under ``field_prefix`` (``workers[0].x``).
    errors: list[FieldError] = field(default_factory=list)
    #: Fields outside the contract (a template's own extra inputs), passed through.
    other_fields: dict[str, Any] | None = None
    #: The answer as received (or its JSON text, if it is not standard JSON); kept in
    #: the output whenever something was rejected.
    raw: Any = None

    @property
    def usable(self) -> bool:
        return self.updated_annotations is not None

    @property
    def rejected_something(self) -> bool:
        return any(e.level == "error" for e in self.errors)


def parse_answer(
    content: Any, *, rig: Rig, worker_id: str = "", field: str = "workers[0]"
) -> WorkerAnswer:
    """Decode and validate one answer (``annotationData.content``, a JSON string or object)."""
    errors: list[FieldError] = []
    if isinstance(content, str):
        try:
            answer = loads_bounded(content)
        except JsonLimitError as exc:
            errors.append(FieldError(field, f"the answer is {exc}; not read, kept raw"))
            return WorkerAnswer(worker_id, None, errors=errors, raw=content)
        except ValueError as exc:
            why = json_problem(exc, content)
            errors.append(FieldError(field, f"the answer is not valid JSON ({why})"))
            return WorkerAnswer(worker_id, None, errors=errors, raw=content)
    else:  # already decoded: kept only as standard JSON of bounded depth
        answer, problem = keepable(content)
        if problem is not None:
            errors.append(FieldError(field, f"the answer {problem}; kept as text"))
            return WorkerAnswer(worker_id, None, errors=errors, raw=answer)
    if not isinstance(answer, dict):
        errors.append(FieldError(field, f"expected the answer object, got {show_value(answer)}"))
        return WorkerAnswer(worker_id, None, errors=errors, raw=content)

    updated: list[Skeleton] | None = None
    where = f"{field}.updated_annotations"
    if "updated_annotations" not in answer:
        foreign = ", ".join(sorted(answer)[:5]) or "nothing"
        errors.append(
            FieldError(
                where,
                f"missing: this is not a pose-labeling answer (it has {show_value(foreign)}); "
                "is the job using this project's worker template?",
            )
        )
    else:
        updated = _skeletons(answer["updated_annotations"], where, rig, errors)

    original: list[Skeleton] | None = []
    where = f"{field}.original_annotations"
    if "original_annotations" not in answer:
        errors.append(FieldError(where, "missing; read as no annotations ([])", "warning"))
    else:
        value = answer["original_annotations"]
        original = _skeletons(value, where, rig, errors, empty_means_none=True)

    result = WorkerAnswer(
        worker_id,
        updated,
        original,
        image_s3_uri=_image_uri(answer.get("image_s3_uri"), f"{field}.image_s3_uri", errors),
        image_name=_image_name(answer.get("image_name"), f"{field}.image_name", errors),
        image_width=_size(answer, "image_width", field, errors),
        image_height=_size(answer, "image_height", field, errors),
        no_changes_needed=_flag(answer, "no_changes_needed", field, errors),
        total_time_in_seconds=_seconds(answer, "total_time_in_seconds", field, errors),
        errors=errors,
        other_fields=pass_through(answer, _SUBMISSION_KEYS, field, errors),
    )
    if updated is None or result.rejected_something:
        result.raw = content
    if len(errors) > MAX_ERRORS_PER_ANSWER:
        rest = errors[MAX_ERRORS_PER_ANSWER:]
        serious = any(e.level == "error" for e in rest)
        del errors[MAX_ERRORS_PER_ANSWER:]
        message = f"{len(rest)} more problems not listed"
        errors.append(FieldError(field, message, "error" if serious else "warning"))
    return result


def _skeletons(
    value: Any, field: str, rig: Rig, errors: list[FieldError], *, empty_means_none: bool = False
) -> list[Skeleton] | None:
    """A field holding a JSON string of skeletons; None when it cannot be used at all."""
    decoded = decode_json_list(value, field, errors, empty_means_none=empty_means_none)
    if decoded is None:  # why is recorded
        return None
    if isinstance(decoded, list) and len(decoded) > MAX_SKELETONS_PER_IMAGE:
        errors.append(
            FieldError(
                field,
                f"{len(decoded)} skeletons, over the limit of {MAX_SKELETONS_PER_IMAGE} "
                "per image; not read",
            )
        )
        return None
    skeletons, problems = parse_skeletons(decoded, field, rig)
    errors.extend(problems)
    return skeletons if isinstance(decoded, list) else None


def s3_uri_from_url(url: str) -> str | None:
    """``s3://bucket/key`` for an S3 HTTPS URL (virtual-hosted or path style), else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    match = _S3_HOST.fullmatch(host)
    if match and path.strip("/"):
        return f"s3://{match['bucket']}/{path.lstrip('/')}"
    if _S3_PATH_HOST.fullmatch(host):
        bucket, _, key = path.lstrip("/").partition("/")
        if bucket and key:
            return f"s3://{bucket}/{key}"
    return None


def _image_uri(value: Any, where: str, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(where, f"expected a string, got {show_value(value)}; ignored"))
        return None
    if value.startswith(("https://", "http://")):
        s3_uri = s3_uri_from_url(value)
        if s3_uri is not None:
            errors.append(
                FieldError(where, "an HTTPS (presigned) URL; read as its s3:// URI", "warning")
            )
            return s3_uri
        if "?" in value:
            errors.append(
                FieldError(where, "a URL with a query string; query string removed", "warning")
            )
            return value.split("?", 1)[0]
    return value


def _image_name(value: Any, where: str, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(where, f"expected a string, got {show_value(value)}; ignored"))
        return None
    if "?" in value or "/" in value:  # the last segment of a (presigned) URL, still encoded
        if "?" in value:
            errors.append(FieldError(where, "query string removed", "warning"))
        value = unquote(value.split("?", 1)[0].rsplit("/", 1)[-1])
    return value


def _size(answer: dict[str, Any], key: str, field: str, errors: list[FieldError]) -> int | None:
    value = answer.get(key)
    if value is None:
        return None
    whole = _whole_number(value)
    if whole and whole <= MAX_COORDINATE:  # the usual "1280"
        return whole
    where = f"{field}.{key}"
    number = _number(value)
    if number is None or not number.is_integer() or not 0 < number <= MAX_COORDINATE:
        errors.append(
            FieldError(
                where,
                f"expected a whole number of pixels from 1 to {MAX_COORDINATE:.0f}, "
                f"got {show_value(value)}; ignored",
            )
        )
        return None
    if not isinstance(value, str):
        errors.append(FieldError(where, "expected a string, got a number; used as is", "warning"))
    return int(number)


def _seconds(
    answer: dict[str, Any], key: str, field: str, errors: list[FieldError]
) -> float | None:
    value = answer.get(key)
    if value is None:
        return None
    whole = _whole_number(value)
    if whole is not None and whole <= 1e9:  # the usual "42"
        return whole
    where = f"{field}.{key}"
    number = _number(value)
    if number is None or number < 0 or number > 1e9:
        errors.append(
            FieldError(where, f"expected a number of seconds, got {show_value(value)}; ignored")
        )
        return None
    if not isinstance(value, str):
        errors.append(FieldError(where, "expected a string, got a number; used as is", "warning"))
    return int(number) if number.is_integer() else number


def _whole_number(value: Any) -> int | None:
    """A string of a few ASCII digits as its number (what the component sends), else None.

    Up to 15 digits, so that the value is the one the general path (through
    ``float``) would read.
    """
    if type(value) is str and len(value) <= 15 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _flag(answer: dict[str, Any], key: str, field: str, errors: list[FieldError]) -> bool:
    where = f"{field}.{key}"
    if key not in answer:
        errors.append(FieldError(where, "missing; read as false", "warning"))
        return False
    value = answer[key]
    if value == "true" or value == "false":
        return value == "true"
    if isinstance(value, bool):
        errors.append(FieldError(where, "expected a string, got a boolean; used as is", "warning"))
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        flag = value.strip().lower() in _TRUE
        errors.append(
            FieldError(where, f"{show_value(value)} read as {str(flag).lower()}", "warning")
        )
        return flag
    errors.append(
        FieldError(where, f'expected "true" or "false", got {show_value(value)}; read as false')
    )
    return False
