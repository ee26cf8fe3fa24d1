"""Quality checks on consolidated skeletons: flags for a reviewer, never corrections.

``left_right_swap`` — three geometric tests built from the rig alone, so they
work for any rig with left/right pairs (people, vehicles). Their thresholds are
:data:`SWAP_RULES_FILE` (``swap_rules.json``), and the labeling component runs
the same three tests with the same thresholds for its live warning, so a worker
and a reviewer are told the same thing (``tests/ui/test_swap_parity.py`` runs
one list of cases through both):

- *Crossed lines.* For every rig line whose ends both have a left/right
  counterpart (``left_elbow-left_wrist`` and ``right_elbow-right_wrist``), the
  two mirrored lines are compared with the two "crossed" lines obtained by
  exchanging one end (``left_elbow-right_wrist`` …). When the crossed lines are
  clearly shorter (below ``crossed_ratio`` of the drawn ones, and by more than
  ``crossed_min_gain`` of the skeleton's size), the labels
  on one side of that joint were probably exchanged. This catches a swapped
  wrist or elbow, and a swapped arm below a correct shoulder.
- *Reversed cross-pieces.* Left/right pairs joined by a rig line of their own
  (``left_shoulder-right_shoulder``, ``left_hip-right_hip``, the eyes; the
  truck's wheel axle and box edges) are rigid cross-pieces: on any real body
  their left-to-right directions agree (a torso cannot twist past 120
  degrees). A piece pointing the opposite way (cosine below
  ``piece_opposite_cos``, -0.5) from more
  than half of the other pieces is flagged; with only two pieces, both are.
- *Reversed pairs.* Any other left/right pair (knees, wheels) pointing the
  opposite way from the agreeing cross-pieces is flagged when exchanging its
  two labels would also shorten its lines towards the body (hip-knee for the
  knees). This catches swapped knees, or a whole swapped lower leg, on a
  narrow stance, where the crossed-lines test sees almost no difference.

Pairs shorter than ``piece_min_length`` of the skeleton's size are left
out of the direction tests (a person in profile has no reliable shoulder
direction). Limits: a *consistent* swap of every left/right label (the whole
body mirrored) leaves every length and direction consistent, so it is not
detected: which way a person faces is not in the keypoints. Limbs that
really are crossed (arms folded across the chest, legs crossed at the knee)
look exactly like swapped labels and are flagged.

``outside_image`` — labeled points beyond ``image_width``/``image_height``
(x = width is on the edge, not outside). Negative coordinates never get here:
the parser rejects them.

``duplicate_skeleton`` — two skeletons with OKS of at least
:data:`DUPLICATE_OKS`: almost certainly the same person drawn twice. Each
skeleton is flagged once at most, as a copy of the first one it repeats, so
there are fewer flags than skeletons however many of them overlap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from handlers.oks import DEFAULT_SCALE, MIN_AREA, oks, scales
from handlers.rig import Rig
from handlers.skeleton import Skeleton

Flag = Literal[
    "left_right_swap",
    "outside_image",
    "duplicate_skeleton",
    "drawn_by_some_workers",
    "modified_despite_no_changes_needed",
]

#: The left/right swap thresholds, shared with the labeling component.
SWAP_RULES_FILE = Path(__file__).resolve().with_name("swap_rules.json")
#: Skeletons this similar are the same instance drawn twice.
DUPLICATE_OKS = 0.9


@dataclass(slots=True)
class QaFlag:
    flag: Flag
    message: str
    #: Index in the consolidated ``updated_annotations``, or None for the whole image.
    skeleton: int | None = None
    #: Flag-specific facts (``keypoints``, ``lines``, ``pairs``, ``skeletons`` …).
    details: dict[str, Any] | None = None

    def to_jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {"flag": self.flag}
        if self.skeleton is not None:
            out["skeleton"] = self.skeleton
        out["message"] = self.message
        if self.details:
            out.update(self.details)
        return out

    @classmethod
    def parse(cls, obj: Any) -> QaFlag:
        obj = dict(obj) if isinstance(obj, dict) else {"message": str(obj)}
        flag = obj.pop("flag", "")
        message = str(obj.pop("message", ""))
        skeleton = obj.pop("skeleton", None)
        return cls(flag, message, skeleton if isinstance(skeleton, int) else None, obj or None)


def check_skeletons(
    skeletons: Sequence[Skeleton],
    rig: Rig,
    image_width: int | None = None,
    image_height: int | None = None,
) -> list[QaFlag]:
    """Every QA flag for one image's consolidated skeletons."""
    flags: list[QaFlag] = []
    geometry = _geometry(rig)
    boxes: list[tuple[float, float, float, float] | None] = []
    for i, s in enumerate(skeletons):
        points = {k.label: (k.x, k.y) for k in s.keypoints if k.visibility}
        if not points:
            boxes.append(None)
            continue
        xs, ys = zip(*points.values(), strict=True)
        box = (min(xs), min(ys), max(xs), max(ys))
        boxes.append(box)
        if (
            image_width is not None
            and image_height is not None
            and (box[2] > image_width or box[3] > image_height)
        ):
            outside = [
                label for label, (x, y) in points.items() if x > image_width or y > image_height
            ]
            flags.append(
                QaFlag(
                    "outside_image",
                    f"{len(outside)} point(s) outside the {image_width}x{image_height} image",
                    i,
                    {"keypoints": outside},
                )
            )
        if len(points) >= 3:
            size = math.hypot(box[2] - box[0], box[3] - box[1])
            swap = _swap_flag(points, size, geometry, i) if size > 0 else None
            if swap is not None:
                flags.append(swap)
    if len(skeletons) > 1:
        flags.extend(_duplicates(skeletons, boxes, rig))
    return flags


_DUPLICATE_EXPONENT = -math.log(DUPLICATE_OKS)
_MIN_SCALE: dict[int, tuple[Rig, float]] = {}


def _min_scale(rig: Rig) -> float:
    """The loosest keypoint's OKS scale (largest sigma) of the rig, cached per rig."""
    cached = _MIN_SCALE.get(id(rig))
    if cached is None or cached[0] is not rig:
        cached = (rig, min(*scales(rig).values(), DEFAULT_SCALE))
        _MIN_SCALE[id(rig)] = cached
    return cached[1]


def _duplicates(
    skeletons: Sequence[Skeleton],
    boxes: Sequence[tuple[float, float, float, float] | None],
    rig: Rig,
) -> list[QaFlag]:
    # Skip pairs whose boxes are so far apart that every keypoint term of OKS,
    # exp(-d^2 * scale / area), is below DUPLICATE_OKS even for the rig's
    # loosest keypoint: then OKS cannot reach it either.
    min_scale = _min_scale(rig)
    threshold = _DUPLICATE_EXPONENT
    flags = []
    copies: set[int] = set()
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if a is None or b is None or j in copies:
                continue
            gap_x = max(a[0] - b[2], b[0] - a[2], 0.0)
            gap_y = max(a[1] - b[3], b[1] - a[3], 0.0)
            largest = max((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]), MIN_AREA)
            if (gap_x * gap_x + gap_y * gap_y) * min_scale > threshold * largest:
                continue
            similarity = oks(skeletons[i], skeletons[j], rig)
            if similarity >= DUPLICATE_OKS:
                flags.append(
                    QaFlag(
                        "duplicate_skeleton",
                        f"skeletons {i} and {j} are near-identical (OKS {similarity:.2f})",
                        j,
                        {"skeletons": [i, j], "oks": round(similarity, 4)},
                    )
                )
                copies.add(j)
    return flags


@dataclass(frozen=True, slots=True)
class SwapRules:
    """The thresholds of the left/right swap tests (``swap_rules.json``)."""

    #: Crossed lines shorter than this share of the drawn lines suggest a swap…
    crossed_ratio: float
    #: …when they are shorter by at least this share of the skeleton's size.
    crossed_min_gain: float
    #: A pair shorter than this share of the skeleton's size has no direction to trust.
    piece_min_length: float
    #: Cosine below which two left/right pairs point opposite ways.
    piece_opposite_cos: float

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> SwapRules:
        return cls(
            crossed_ratio=float(obj["crossed_ratio"]),
            crossed_min_gain=float(obj["crossed_min_gain"]),
            piece_min_length=float(obj["piece_min_length"]),
            piece_opposite_cos=float(obj["piece_opposite_cos"]),
        )


@cache
def swap_rules() -> SwapRules:
    """The shared thresholds, read on first use (the file ships in the Lambda archive)."""
    return SwapRules.parse(json.loads(SWAP_RULES_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class _Geometry:
    #: (a, b, mirror of a, mirror of b) for each pair of mirrored rig lines.
    line_pairs: tuple[tuple[str, str, str, str], ...]
    #: (left, right) pairs joined by a rig line of their own.
    pieces: tuple[tuple[str, str], ...]
    #: The other (left, right) pairs, each with the indices of its line pairs
    #: towards the body (all its line pairs when the rig gives no direction).
    limbs: tuple[tuple[str, str, tuple[int, ...]], ...]
    rules: SwapRules


_GEOMETRY: dict[int, tuple[Rig, _Geometry]] = {}


def _geometry(rig: Rig) -> _Geometry:
    cached = _GEOMETRY.get(id(rig))
    if cached is not None and cached[0] is rig:
        return cached[1]
    mirror = {}
    for left, right in rig.mirror_pairs:
        mirror[left] = right
        mirror[right] = left
    lines = {frozenset((b.a, b.b)) for b in rig.skeleton}
    line_pairs: list[tuple[str, str, str, str]] = []
    seen: set[frozenset[str]] = set()
    for bone in rig.skeleton:
        a, b = bone.a, bone.b
        if a not in mirror or b not in mirror:
            continue
        this, other = frozenset((a, b)), frozenset((mirror[a], mirror[b]))
        if this == other or other not in lines or this in seen:
            continue
        seen.update((this, other))
        line_pairs.append((a, b, mirror[a], mirror[b]))
    pieces = tuple(pair for pair in rig.mirror_pairs if frozenset(pair) in lines)
    # Depth of each keypoint from the cross-pieces along the rig's lines: a limb
    # pair is judged on its lines towards the body (hip-knee for the knees), so
    # a swapped lower leg is found at the knee where the swap starts.
    depth = {label: 0 for pair in pieces for label in pair}
    frontier = list(depth)
    while frontier:
        nxt = []
        for label in frontier:
            for bone in rig.skeleton:
                for here, there in ((bone.a, bone.b), (bone.b, bone.a)):
                    if here == label and there not in depth:
                        depth[there] = depth[label] + 1
                        nxt.append(there)
        frontier = nxt
    limbs: list[tuple[str, str, tuple[int, ...]]] = []
    for left, right in rig.mirror_pairs:
        if (left, right) in pieces:
            continue
        incident = [i for i, lp in enumerate(line_pairs) if {left, right} & set(lp)]
        level = depth.get(left)
        towards_body = [
            i
            for i in incident
            if level is not None
            and any(
                depth.get(end, level) < level for end in line_pairs[i] if end not in (left, right)
            )
        ]
        limbs.append((left, right, tuple(towards_body or incident)))
    geometry = _Geometry(tuple(line_pairs), pieces, tuple(limbs), swap_rules())
    _GEOMETRY[id(rig)] = (rig, geometry)
    return geometry


Point = tuple[float, float]


def _swap_flag(
    points: dict[str, Point], size: float, geometry: _Geometry, index: int
) -> QaFlag | None:
    dist = math.dist
    rules = geometry.rules
    crossed_ratio, opposite_cos = rules.crossed_ratio, rules.piece_opposite_cos
    min_gain = rules.crossed_min_gain * size
    crossed: list[list[str]] = []
    for a, b, ma, mb in geometry.line_pairs:
        try:
            pa, pb, pma, pmb = points[a], points[b], points[ma], points[mb]
        except KeyError:  # a point is not labeled: nothing to compare
            continue
        drawn = dist(pa, pb) + dist(pma, pmb)
        swapped = dist(pa, pmb) + dist(pma, pb)
        if swapped < crossed_ratio * drawn and drawn - swapped > min_gain:
            crossed.append([a, b])
            crossed.append([ma, mb])
    min_length = rules.piece_min_length * size
    pieces = _directions(points, geometry.pieces, min_length)
    reversed_pairs = _odd_ones_out(pieces, opposite_cos)
    cx = cy = 0.0
    for pair, ux, uy in pieces:
        if pair not in reversed_pairs:
            cx += ux
            cy += uy
    norm = math.hypot(cx, cy)
    if norm:
        reversed_pairs += _reversed_limbs(points, geometry, (cx, cy, norm), min_length)
    if not crossed and not reversed_pairs:
        return None
    reasons = []
    details: dict[str, Any] = {}
    if crossed:
        reasons.append(f"lines {', '.join(f'{a}-{b}' for a, b in crossed)} cross over")
        details["lines"] = crossed
    if reversed_pairs:
        shown = ", ".join(f"{left}/{right}" for left, right in reversed_pairs)
        reasons.append(f"{shown} point the opposite way to the other left/right pairs")
        details["pairs"] = [list(p) for p in reversed_pairs]
    return QaFlag(
        "left_right_swap", "left and right look swapped: " + "; ".join(reasons), index, details
    )


def _reversed_limbs(
    points: dict[str, Point],
    geometry: _Geometry,
    body: tuple[float, float, float],
    min_length: float,
) -> list[tuple[str, str]]:
    """Limb pairs pointing against ``body`` (the cross-pieces' summed direction and its
    length) whose exchange would shorten their lines towards the body."""
    found = []
    bx, by, norm = body
    for left, right, incident in geometry.limbs:
        try:
            pl, pr = points[left], points[right]
        except KeyError:
            continue
        dx, dy = pr[0] - pl[0], pr[1] - pl[1]
        along = dx * bx + dy * by
        if along >= 0:  # within 90 degrees of the body's direction: the usual case
            continue
        length = math.hypot(dx, dy)
        if length < min_length or along / (length * norm) >= geometry.rules.piece_opposite_cos:
            continue
        gains = [
            gain
            for i in incident
            if (gain := _crossing_gain(points, geometry.line_pairs[i])) is not None
        ]
        if gains and sum(gains) > 0:  # exchanging the pair shortens its lines
            found.append((left, right))
    return found


def _crossing_gain(points: dict[str, Point], line_pair: tuple[str, str, str, str]) -> float | None:
    """How much shorter the crossed lines are than the drawn ones (None: a point is missing)."""
    a, b, ma, mb = line_pair
    try:
        pa, pb, pma, pmb = points[a], points[b], points[ma], points[mb]
    except KeyError:
        return None
    dist = math.dist
    return dist(pa, pb) + dist(pma, pmb) - dist(pa, pmb) - dist(pma, pb)


def _directions(
    points: dict[str, Point], pairs: Sequence[tuple[str, str]], min_length: float
) -> list[tuple[tuple[str, str], float, float]]:
    """Unit vectors from the left to the right point of each pair long enough to trust."""
    out = []
    for pair in pairs:
        try:
            pl, pr = points[pair[0]], points[pair[1]]
        except KeyError:
            continue
        dx, dy = pr[0] - pl[0], pr[1] - pl[1]
        length = math.hypot(dx, dy)
        if length >= min_length and length > 0:
            out.append((pair, dx / length, dy / length))
    return out


def _odd_ones_out(
    vectors: list[tuple[tuple[str, str], float, float]], opposite_cos: float
) -> list[tuple[str, str]]:
    """Pairs pointing opposite to more than half of the others (needs two or more)."""
    n = len(vectors)
    if n < 2:
        return []
    flagged = []
    for pair, ux, uy in vectors:
        opposite = 0
        for _, vx, vy in vectors:  # a vector is never opposite to itself: cosine 1
            if ux * vx + uy * vy < opposite_cos:
                opposite += 1
        if opposite * 2 > n - 1:
            flagged.append(pair)
    return flagged
