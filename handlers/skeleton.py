"""Keypoints and skeletons: parse, validate, compare and serialise.

The skeleton JSON is the one format used everywhere in pose-labeling
(pre-annotations, worker answers, consolidated output; see docs/contracts.md)::

    {"name": "person 1",
     "annotations": [{"label": "nose", "x": 356, "y": 73, "visibility": 2}]}

Parsing is liberal where the meaning is unambiguous and strict where accepting
would lose or corrupt data. Every problem becomes a :class:`FieldError` naming
the exact field (``updated_annotations[1].annotations[3].x``):

- level ``"warning"``: tolerated, the value was used (``"12"`` read as 12, a
  missing ``visibility`` read as 2 is *not* reported, it is the contract);
- level ``"error"``: rejected, the keypoint or skeleton was left out.

Standard library only: this module ships inside the Lambda archive.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from handlers.limits import JsonLimitError, keepable, loads_bounded
from handlers.rig import Rig

#: Larger coordinates are rejected: no image is a million pixels wide, and values
#: beyond this overflow the squared distances of OKS.
MAX_COORDINATE = 1_000_000.0

#: Two coordinates closer than this are the same point when deciding whether a
#: worker changed a pre-annotation: the component stores whole pixels, so an
#: untouched pre-annotated 356.4 comes back as 356.
SAME_POINT_TOLERANCE = 0.5

_KEYPOINT_KEYS = frozenset(("label", "x", "y", "visibility"))
_SKELETON_KEYS = frozenset(("name", "annotations"))
_SHOW_LIMIT = 60
#: Standard JSON: what a pass-through value must be writable as.


class Visibility(IntEnum):
    """COCO's keypoint visibility flag; a keypoint without one is ``VISIBLE``."""

    NOT_LABELED = 0
    OCCLUDED = 1
    VISIBLE = 2


_VISIBILITY = {0: Visibility.NOT_LABELED, 1: Visibility.OCCLUDED, 2: Visibility.VISIBLE}


@dataclass(slots=True)
class FieldError:
    """One problem with one field; ``level`` says whether the value was used."""

    field: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_jsonable(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "level": self.level}

    @classmethod
    def parse(cls, obj: Any) -> FieldError:
        if isinstance(obj, Mapping):
            warning = obj.get("level") == "warning"
            field, message = str(obj.get("field", "")), str(obj.get("message", ""))
            return cls(field, message, "warning" if warning else "error")
        return cls("", str(obj))


class AnnotationError(ValueError):
    """Annotations that cannot be used; carries every :class:`FieldError` found."""

    def __init__(self, errors: Sequence[FieldError], context: str = "") -> None:
        self.errors = list(errors)
        self.context = context
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{context}: {shown}{more}" if context else f"{shown}{more}")


@dataclass(slots=True)
class Keypoint:
    label: str
    x: float
    y: float
    visibility: Visibility = Visibility.VISIBLE
    #: Keys other than label/x/y/visibility, passed through unchanged.
    extra: dict[str, Any] | None = None

    @property
    def labeled(self) -> bool:
        """COCO ``v > 0``: the point was placed (visible or occluded)."""
        return self.visibility != 0

    def to_jsonable(self) -> dict[str, Any]:
        out = {"label": self.label, "x": self.x, "y": self.y, "visibility": int(self.visibility)}
        if self.extra:
            out.update(self.extra)
        return out


@dataclass(slots=True)
class Skeleton:
    name: str
    keypoints: list[Keypoint]
    #: Keys other than name/annotations (``annotation_options`` …), passed through.
    extra: dict[str, Any] | None = None

    def points(self) -> dict[str, Keypoint]:
        """The labeled keypoints (v > 0) by label."""
        return {k.label: k for k in self.keypoints if k.visibility}

    @property
    def num_labeled(self) -> int:
        return sum(1 for k in self.keypoints if k.visibility)

    def bbox(self) -> tuple[float, float, float, float] | None:
        """``(x, y, width, height)`` of the labeled keypoints, or None if there are none."""
        xs = [k.x for k in self.keypoints if k.visibility]
        if not xs:
            return None
        ys = [k.y for k in self.keypoints if k.visibility]
        x0, y0 = min(xs), min(ys)
        return (x0, y0, max(xs) - x0, max(ys) - y0)

    @property
    def drawn(self) -> bool:
        """Whether any keypoint is labeled (the public component submits empty skeletons)."""
        return any(k.visibility for k in self.keypoints)

    def to_jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "annotations": [k.to_jsonable() for k in self.keypoints],
        }
        if self.extra:
            out.update(self.extra)
        return out

    @classmethod
    def parse(cls, obj: Any, field: str, rig: Rig) -> tuple[Skeleton | None, list[FieldError]]:
        """One skeleton object; None when it cannot be used at all."""
        errors: list[FieldError] = []
        return _parse_skeleton(obj, field, rig, errors), errors


def skeletons_to_jsonable(skeletons: Iterable[Skeleton]) -> list[dict[str, Any]]:
    return [s.to_jsonable() for s in skeletons]


def parse_skeletons(value: Any, field: str, rig: Rig) -> tuple[list[Skeleton], list[FieldError]]:
    """A decoded list of skeletons, validated against ``rig``.

    Returns the usable skeletons and every problem found. Rejected keypoints are
    left out of their skeleton; a skeleton that is not an object, or has no
    ``annotations`` list, is left out of the list. Nothing is guessed.
    """
    errors: list[FieldError] = []
    if not isinstance(value, list):
        errors.append(FieldError(field, f"expected a list of skeletons, got {show_value(value)}"))
        return [], errors
    skeletons = []
    for i, obj in enumerate(value):
        skeleton = _parse_skeleton(obj, f"{field}[{i}]", rig, errors)
        if skeleton is not None:
            skeletons.append(skeleton)
    return skeletons, errors


def load_skeletons(value: Any, field: str, rig: Rig, context: str = "") -> list[Skeleton]:
    """Like :func:`parse_skeletons`, but any rejected value raises :class:`AnnotationError`."""
    skeletons, errors = parse_skeletons(value, field, rig)
    rejected = [e for e in errors if e.level == "error"]
    if rejected:
        raise AnnotationError(rejected, context)
    return skeletons


def decode_json_list(
    value: Any, field: str, errors: list[FieldError], *, empty_means_none: bool = False
) -> Any:
    """A field that should hold a JSON string of a list, decoded.

    A value that is already a list is used as is (with a warning). With
    ``empty_means_none``, ``""`` and ``"null"`` (what the public component sends
    for "no pre-annotations") mean an empty list, with a warning. Returns None
    when the value cannot be decoded (or is ``null``), after recording why.
    """
    if isinstance(value, list):
        errors.append(
            FieldError(field, "expected a JSON string, got a list; used as is", "warning")
        )
        return value
    if not isinstance(value, str):
        errors.append(
            FieldError(field, f"expected a JSON string of a list, got {show_value(value)}")
        )
        return None
    if value == "[]":  # no annotations, the usual original_annotations
        return []
    if empty_means_none and value.strip() in ("", "null"):
        errors.append(FieldError(field, f"{value!r} read as no annotations ([])", "warning"))
        return []
    try:
        decoded = loads_bounded(value)
    except JsonLimitError as exc:
        errors.append(FieldError(field, f"{exc}; not read"))
        return None
    except ValueError as exc:  # JSONDecodeError, and int literals beyond Python's digit limit
        errors.append(FieldError(field, f"not valid JSON ({json_problem(exc, value)})"))
        return None
    if decoded is None:
        errors.append(FieldError(field, "expected a JSON string of a list, got null"))
    return decoded


def same_annotations(a: Sequence[Skeleton], b: Sequence[Skeleton]) -> bool:
    """Whether two skeleton lists say the same thing.

    Compared on what matters, not on the text: skeleton and keypoint order are
    ignored, skeletons without labeled keypoints are ignored (the public
    component submits empty ones), a missing visibility equals 2, numbers are
    compared as numbers and coordinates within :data:`SAME_POINT_TOLERANCE`
    are equal. Names count: renaming a person is a change.
    """
    left = sorted(_normal(s) for s in a if s.drawn)
    right = sorted(_normal(s) for s in b if s.drawn)
    if len(left) != len(right):
        return False
    for (name_a, points_a), (name_b, points_b) in zip(left, right, strict=True):
        if name_a != name_b or len(points_a) != len(points_b):
            return False
        for (label_a, v_a, x_a, y_a), (label_b, v_b, x_b, y_b) in zip(
            points_a, points_b, strict=True
        ):
            if label_a != label_b or v_a != v_b:
                return False
            if abs(x_a - x_b) > SAME_POINT_TOLERANCE or abs(y_a - y_b) > SAME_POINT_TOLERANCE:
                return False
    return True


def _normal(s: Skeleton) -> tuple[str, list[tuple[str, int, float, float]]]:
    return (
        s.name,
        sorted((k.label, int(k.visibility), k.x, k.y) for k in s.keypoints if k.visibility),
    )


# -- parsing ------------------------------------------------------------------


def _parse_skeleton(obj: Any, field: str, rig: Rig, errors: list[FieldError]) -> Skeleton | None:
    if not isinstance(obj, dict):
        errors.append(FieldError(field, f"expected a skeleton object, got {show_value(obj)}"))
        return None
    name = obj.get("name", "")
    if not isinstance(name, str):
        if name is None:
            name = ""
            errors.append(FieldError(f"{field}.name", "null read as an empty name", "warning"))
        elif type(name) in (int, float):
            name = json.dumps(name)
            errors.append(
                FieldError(f"{field}.name", f"number read as the name {name!r}", "warning")
            )
        else:
            errors.append(
                FieldError(
                    f"{field}.name", f"expected a string, got {show_value(name)}; name left empty"
                )
            )
            name = ""
    items = obj.get("annotations")
    if not isinstance(items, list):
        what = (
            "missing" if items is None and "annotations" not in obj else f"got {show_value(items)}"
        )
        errors.append(
            FieldError(
                f"{field}.annotations", f"expected a list of keypoints, {what}; skeleton left out"
            )
        )
        return None
    extra = pass_through(obj, _SKELETON_KEYS, field, errors)
    keypoints: list[Keypoint] = []
    seen: dict[str, int] = {}
    for j, kp in enumerate(items):
        point = _parse_keypoint(kp, f"{field}.annotations[{j}]", rig, seen, errors)
        if point is not None:
            seen[point.label] = j
            keypoints.append(point)
    return Skeleton(name, keypoints, extra)


def pass_through(
    obj: dict[str, Any], known: AbstractSet[str], field: str, errors: list[FieldError]
) -> dict[str, Any] | None:
    """The keys of ``obj`` beyond ``known``, kept as they are, except values that standard
    JSON cannot write (NaN, Infinity) or that nest deeper than
    :data:`~handlers.limits.MAX_JSON_DEPTH`: those would make the output unreadable."""
    if obj.keys() <= known:  # the usual case: nothing to pass through
        return None
    extra = {}
    for key, value in obj.items():
        if key in known:
            continue
        kept, problem = keepable(value)
        if problem is not None:
            errors.append(FieldError(f"{field}.{key}", f"the value {problem}; left out"))
            continue
        extra[key] = kept
    return extra or None


def _parse_keypoint(
    kp: Any, field: str, rig: Rig, seen: Mapping[str, int], errors: list[FieldError]
) -> Keypoint | None:
    if not isinstance(kp, dict):
        errors.append(
            FieldError(field, f"expected a keypoint object, got {show_value(kp)}; left out")
        )
        return None
    ok = True
    label: Any = kp.get("label")
    if not isinstance(label, str) or not label:
        errors.append(
            FieldError(
                f"{field}.label",
                f"expected a non-empty string, got {show_value(label)}; keypoint left out",
            )
        )
        ok = False
    elif label not in rig:
        errors.append(
            FieldError(
                f"{field}.label",
                f"unknown label {show_value(label)}: not in rig {rig.name!r}; keypoint left out",
            )
        )
        ok = False
    elif label in seen:
        errors.append(
            FieldError(
                f"{field}.label",
                f"duplicate label {show_value(label)} (also annotations[{seen[label]}]); left out",
            )
        )
        ok = False
    x = _coordinate(kp, "x", field, errors)
    y = _coordinate(kp, "y", field, errors)
    visibility = _visibility(kp, field, errors)
    if not ok or x is None or y is None or visibility is None:
        return None
    return Keypoint(label, x, y, visibility, pass_through(kp, _KEYPOINT_KEYS, field, errors))


def _coordinate(kp: dict[str, Any], key: str, field: str, errors: list[FieldError]) -> float | None:
    value = kp.get(key)
    number: float
    if type(value) is str:
        try:
            number = float(value)
        except ValueError:
            errors.append(
                FieldError(
                    f"{field}.{key}",
                    f"expected a number, got {show_value(value)}; keypoint left out",
                )
            )
            return None
        number = int(number) if number.is_integer() and abs(number) < 2**53 else number
        errors.append(
            FieldError(
                f"{field}.{key}",
                f"number given as a string {show_value(value)}; read as {number}",
                "warning",
            )
        )
    elif type(value) is int or type(value) is float:
        number = value
    else:
        missing = key not in kp
        got = "missing" if missing else f"got {show_value(value)}"
        errors.append(FieldError(f"{field}.{key}", f"expected a number, {got}; keypoint left out"))
        return None
    if type(number) is float and not math.isfinite(number):
        errors.append(
            FieldError(
                f"{field}.{key}",
                f"expected a finite number, got {show_value(value)}; keypoint left out",
            )
        )
        return None
    if number < 0:
        errors.append(
            FieldError(f"{field}.{key}", f"negative coordinate {number}; keypoint left out")
        )
        return None
    if number > MAX_COORDINATE:
        errors.append(
            FieldError(
                f"{field}.{key}",
                f"{show_value(number)} is beyond {MAX_COORDINATE:.0f} pixels; keypoint left out",
            )
        )
        return None
    return number


def _visibility(kp: dict[str, Any], field: str, errors: list[FieldError]) -> Visibility | None:
    value = kp.get("visibility", 2)
    if type(value) is int and value in _VISIBILITY:
        return _VISIBILITY[value]
    if (type(value) is str and value.strip() in ("0", "1", "2")) or (
        type(value) is float and value in (0.0, 1.0, 2.0)
    ):
        number = int(float(value))
        errors.append(
            FieldError(f"{field}.visibility", f"{show_value(value)} read as {number}", "warning")
        )
        return _VISIBILITY[number]
    errors.append(
        FieldError(
            f"{field}.visibility",
            f"expected 0, 1 or 2 (COCO visibility), got {show_value(value)}; keypoint left out",
        )
    )
    return None


def show_value(value: Any) -> str:
    """A value for an error message: JSON, ASCII only, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):  # not JSON, an int too long, too deep
        text = f"<{type(value).__name__}>"
    if type(value) is float and math.isfinite(value) and abs(value) >= 1e16:
        text = f"{value:.3g}"
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 1] + "…"


def json_problem(exc: ValueError, text: str) -> str:
    """What :func:`json.loads` disliked, and where: for error messages."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at character {exc.pos} of {len(text)}"
    return str(exc).split(";")[0]  # e.g. an integer beyond Python's digit limit
