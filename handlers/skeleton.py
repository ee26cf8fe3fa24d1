"""Keypoints and skeletons: parse, validate, compare and serialise.

The skeleton JSON is the one format used everywhere in pose-labeling
(pre-annotations, worker answers, consolidated output; see DESIGN.md)::

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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from operator import attrgetter
from typing import Any, Literal

from handlers.json_size import json_size, numbers_size_bound, string_size, strings_size
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
_STRICT_JSON = json.JSONEncoder(allow_nan=False)
_KEYPOINT_FIELDS = attrgetter("label", "x", "y", "extra")
_VISIBILITY_OF = attrgetter("visibility")
#: A keypoint's JSON without its label and coordinates (visibility is one digit).
_KEYPOINT_FRAME = len('{"label": , "x": , "y": , "visibility": 2}')
_SKELETON_FRAME = len('{"name": , "annotations": []}')


class Visibility(IntEnum):
    """COCO's keypoint visibility flag; a keypoint without one is ``VISIBLE``."""

    NOT_LABELED = 0
    OCCLUDED = 1
    VISIBLE = 2


_VISIBILITY = {0: Visibility.NOT_LABELED, 1: Visibility.OCCLUDED, 2: Visibility.VISIBLE}
_BY_INT = (Visibility.NOT_LABELED, Visibility.OCCLUDED, Visibility.VISIBLE)
_PLAIN = (0, 1, 2)  # JSON output: plain ints, not enum members


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
        out = {"label": self.label, "x": self.x, "y": self.y, "visibility": _PLAIN[self.visibility]}
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
        return any(map(_VISIBILITY_OF, self.keypoints))

    def to_jsonable(self) -> dict[str, Any]:
        # Inlined Keypoint.to_jsonable: this runs for every keypoint of every label.
        annotations = [
            {"label": k.label, "x": k.x, "y": k.y, "visibility": _PLAIN[k.visibility]}
            if k.extra is None
            else k.to_jsonable()
            for k in self.keypoints
        ]
        out: dict[str, Any] = {"name": self.name, "annotations": annotations}
        if self.extra:
            out.update(self.extra)
        return out

    def json_size_bound(self) -> int:
        """At least ``len(json.dumps(self.to_jsonable()))``, mostly without serialising.

        Exact but for whole-pixel coordinates, which count as wide as the
        largest one. Skeletons with pass-through keys are serialised.
        """
        if not self.extra:
            try:
                return (
                    _SKELETON_FRAME + string_size(self.name) + _keypoints_size_bound(self.keypoints)
                )
            except (TypeError, ValueError):  # a label or a coordinate of another type
                pass
        return json_size(self.to_jsonable())

    @classmethod
    def parse(
        cls, obj: Any, field: str = "skeleton", rig: Rig | None = None
    ) -> tuple[Skeleton | None, list[FieldError]]:
        """One skeleton object; None when it cannot be used at all."""
        errors: list[FieldError] = []
        return _parse_skeleton(obj, field, rig, errors)[0], errors


def skeletons_to_jsonable(skeletons: Iterable[Skeleton]) -> list[dict[str, Any]]:
    return [s.to_jsonable() for s in skeletons]


def _keypoints_size_bound(keypoints: Sequence[Keypoint]) -> int:
    """The keypoints' part of :meth:`Skeleton.json_size_bound`, a few C calls per column.

    Raises ValueError (or TypeError) unless every keypoint is plain: no extra
    keys, a string label, int or float coordinates.
    """
    if not keypoints:
        return 0
    labels, xs, ys, extras = zip(*map(_KEYPOINT_FIELDS, keypoints), strict=True)
    if any(extras):
        raise ValueError("keypoints with pass-through keys")
    n = len(keypoints)
    return n * _KEYPOINT_FRAME + 2 * (n - 1) + strings_size(labels) + numbers_size_bound(xs + ys)


def parse_skeletons(
    value: Any, field: str = "annotations", rig: Rig | None = None
) -> tuple[list[Skeleton], list[FieldError]]:
    """A decoded list of skeletons, validated against ``rig`` when one is given.

    Returns the usable skeletons and every problem found. Rejected keypoints are
    left out of their skeleton; a skeleton that is not an object, or has no
    ``annotations`` list, is left out of the list. Nothing is guessed.
    """
    errors: list[FieldError] = []
    return _parse_skeletons(value, field, rig, errors)[0], errors


@dataclass(frozen=True, slots=True)
class SkeletonsJson:
    """A JSON text of skeletons that its parsed skeletons render exactly.

    Made by :func:`parse_skeletons_json` when every skeleton and keypoint was
    taken as written: nothing added (a missing visibility or name), changed
    or left out, no pass-through keys, whole-pixel coordinates. Then ``value``
    (the decoded text) equals ``skeletons_to_jsonable`` of the skeletons, and
    the text itself can be stored instead of serialising them again.
    """

    text: str
    value: list[dict[str, Any]]
    #: At least ``len(json.dumps(value))``; None when the text is not ASCII.
    size_bound: int | None


def parse_skeletons_json(
    text: str, value: Any, field: str = "annotations", rig: Rig | None = None
) -> tuple[list[Skeleton], list[FieldError], SkeletonsJson | None]:
    """:func:`parse_skeletons` of ``value``, the decoded ``text``, and the
    :class:`SkeletonsJson` of the text when the skeletons render it exactly."""
    errors: list[FieldError] = []
    skeletons, exact = _parse_skeletons(value, field, rig, errors)
    if not exact or errors:
        return skeletons, errors, None
    return skeletons, errors, SkeletonsJson(text, value, _text_size_bound(text, skeletons))


def _parse_skeletons(
    value: Any, field: str, rig: Rig | None, errors: list[FieldError]
) -> tuple[list[Skeleton], bool]:
    """The skeletons, and whether ``value`` is exactly their JSON form."""
    if not isinstance(value, list):
        errors.append(FieldError(field, f"expected a list of skeletons, got {show_value(value)}"))
        return [], False
    skeletons = []
    all_exact = True
    for i, obj in enumerate(value):
        skeleton, exact = _parse_skeleton(obj, f"{field}[{i}]", rig, errors)
        all_exact = all_exact and exact
        if skeleton is not None:
            skeletons.append(skeleton)
    return skeletons, all_exact


def _text_size_bound(text: str, skeletons: Sequence[Skeleton]) -> int | None:
    """At least ``len(json.dumps(json.loads(text)))`` for the text of exactly ``skeletons``.

    In an ASCII text, every string (key or value) takes at least as many
    characters as ``json.dumps`` writes for it: a printable character is
    written as is, and any other was escaped in the text (``json.loads``
    rejects raw control characters in strings) at least as long as
    ``json.dumps`` escapes it; the one exception is DEL, printed raw by some
    writers and escaped by ``json.dumps``. Whole numbers are written in their
    shortest form. What ``json.dumps`` adds is a space after each ``:`` and
    ``,``, and their number follows from the counts of skeletons and keypoints.
    """
    if not text.isascii() or "\x7f" in text:
        return None
    # Per skeleton: 2 colons and 1 comma, 4 colons and 3 commas per keypoint, and
    # commas between keypoints; commas between skeletons.
    separators = sum(3 + 7 * len(s.keypoints) + max(len(s.keypoints) - 1, 0) for s in skeletons)
    return len(text) + separators + max(len(skeletons) - 1, 0)


def load_skeletons(
    value: Any, field: str = "annotations", rig: Rig | None = None, context: str = ""
) -> list[Skeleton]:
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
    when the value cannot be decoded, after recording why.
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
        decoded = json.loads(value)
    except ValueError as exc:  # JSONDecodeError, and int literals beyond Python's digit limit
        errors.append(FieldError(field, f"not valid JSON ({json_problem(exc, value)})"))
        return None
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


def _parse_skeleton(
    obj: Any, field: str, rig: Rig | None, errors: list[FieldError]
) -> tuple[Skeleton | None, bool]:
    """One skeleton, and whether ``obj`` is exactly its JSON form (see :class:`SkeletonsJson`)."""
    if type(obj) is not dict:
        errors.append(FieldError(field, f"expected a skeleton object, got {show_value(obj)}"))
        return None, False
    name = obj.get("name", "")
    exact = type(name) is str and "name" in obj
    if type(name) is not str:
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
    if type(items) is not list:
        what = (
            "missing" if items is None and "annotations" not in obj else f"got {show_value(items)}"
        )
        errors.append(
            FieldError(
                f"{field}.annotations", f"expected a list of keypoints, {what}; skeleton left out"
            )
        )
        return None, False
    extra = None
    if not obj.keys() <= _SKELETON_KEYS:
        extra = pass_through(obj, _SKELETON_KEYS, field, errors)
        exact = False
    index = rig.positions if rig is not None else None
    keypoints: list[Keypoint] = []
    append = keypoints.append
    seen: dict[str, int] = {}
    for j, kp in enumerate(items):
        # Fast path: a well-formed keypoint costs a handful of type checks; anything
        # else (a missing key, a bad value) goes the careful way.
        if type(kp) is dict:
            try:
                label: Any = kp["label"]
                x: Any = kp["x"]
                y: Any = kp["y"]
            except KeyError:
                pass
            else:
                v: Any = kp.get("visibility", 2)
                tx = type(x)
                ty = type(y)
                if (
                    (tx is int or tx is float)
                    and (ty is int or ty is float)
                    and 0 <= x <= MAX_COORDINATE
                    and 0 <= y <= MAX_COORDINATE
                    and type(v) is int
                    and 0 <= v <= 2
                    and type(label) is str
                    and label
                    and (index is None or label in index)
                    and label not in seen
                ):
                    seen[label] = j
                    if len(kp) == 4 and "visibility" in kp:
                        append(Keypoint(label, x, y, _BY_INT[v]))
                        # Exactly its JSON form if the coordinates are whole: json.dumps
                        # may spell a float longer than the text did (1e5 -> 100000.0).
                        exact = exact and tx is int and ty is int
                    else:  # visibility left out, or keys to pass through
                        exact = False
                        where = f"{field}.annotations[{j}]"
                        kept = pass_through(kp, _KEYPOINT_KEYS, where, errors)
                        append(Keypoint(label, x, y, _BY_INT[v], kept))
                    continue
        exact = False
        point = _parse_keypoint_slowly(kp, f"{field}.annotations[{j}]", rig, seen, errors)
        if point is not None:
            seen[point.label] = j
            append(point)
    return Skeleton(name, keypoints, extra), exact


def pass_through(
    obj: dict[str, Any], known: Collection[str], field: str, errors: list[FieldError]
) -> dict[str, Any] | None:
    """The keys of ``obj`` beyond ``known``, kept as they are, except values that standard
    JSON cannot write (NaN, Infinity): those would make the output unreadable."""
    extra = {}
    for key, value in obj.items():
        if key in known:
            continue
        try:
            _STRICT_JSON.encode(value)
        except ValueError:
            errors.append(
                FieldError(
                    f"{field}.{key}",
                    f"{show_value(value)} cannot be written as standard JSON; left out",
                )
            )
            continue
        extra[key] = value
    return extra or None


def _parse_keypoint_slowly(
    kp: Any, field: str, rig: Rig | None, seen: Mapping[str, int], errors: list[FieldError]
) -> Keypoint | None:
    """Every check, with a precise message; runs only for keypoints that are not perfect."""
    if type(kp) is not dict:
        errors.append(
            FieldError(field, f"expected a keypoint object, got {show_value(kp)}; left out")
        )
        return None
    ok = True
    label: Any = kp.get("label")
    if type(label) is not str or not label:
        errors.append(
            FieldError(
                f"{field}.label",
                f"expected a non-empty string, got {show_value(label)}; keypoint left out",
            )
        )
        ok = False
    elif rig is not None and label not in rig:
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
    extra = None if kp.keys() <= _KEYPOINT_KEYS else pass_through(kp, _KEYPOINT_KEYS, field, errors)
    return Keypoint(label, x, y, visibility, extra)


def _coordinate(kp: dict[str, Any], key: str, field: str, errors: list[FieldError]) -> float | None:
    where = f"{field}.{key}"
    value = kp.get(key)
    number: float
    if type(value) is str:
        try:
            number = float(value)
        except ValueError:
            errors.append(
                FieldError(where, f"expected a number, got {show_value(value)}; keypoint left out")
            )
            return None
        number = int(number) if number.is_integer() and abs(number) < 2**53 else number
        errors.append(
            FieldError(
                where, f"number given as a string {show_value(value)}; read as {number}", "warning"
            )
        )
    elif type(value) is int or type(value) is float:
        number = value
    else:
        missing = key not in kp
        got = "missing" if missing else f"got {show_value(value)}"
        errors.append(FieldError(where, f"expected a number, {got}; keypoint left out"))
        return None
    if type(number) is float and not math.isfinite(number):
        errors.append(
            FieldError(
                where, f"expected a finite number, got {show_value(value)}; keypoint left out"
            )
        )
        return None
    if number < 0:
        errors.append(FieldError(where, f"negative coordinate {number}; keypoint left out"))
        return None
    if number > MAX_COORDINATE:
        errors.append(
            FieldError(
                where,
                f"{show_value(number)} is beyond {MAX_COORDINATE:.0f} pixels; keypoint left out",
            )
        )
        return None
    return number


def _visibility(kp: dict[str, Any], field: str, errors: list[FieldError]) -> Visibility | None:
    where = f"{field}.visibility"
    value = kp.get("visibility", 2)
    if type(value) is int and value in _VISIBILITY:
        return _VISIBILITY[value]
    if (type(value) is str and value.strip() in ("0", "1", "2")) or (
        type(value) is float and value in (0.0, 1.0, 2.0)
    ):
        number = int(float(value))
        errors.append(FieldError(where, f"{show_value(value)} read as {number}", "warning"))
        return _VISIBILITY[number]
    errors.append(
        FieldError(
            where,
            f"expected 0, 1 or 2 (COCO visibility), got {show_value(value)}; keypoint left out",
        )
    )
    return None


def show_value(value: Any) -> str:
    """A value for an error message: JSON, ASCII only, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):  # not JSON, or an int too long to print
        text = f"<{type(value).__name__}>"
    if type(value) is float and math.isfinite(value) and abs(value) >= 1e16:
        text = f"{value:.3g}"
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 1] + "…"


def json_problem(exc: ValueError, text: str) -> str:
    """What :func:`json.loads` disliked, and where: for error messages."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at character {exc.pos} of {len(text)}"
    return str(exc).split(";")[0]  # e.g. an integer beyond Python's digit limit
