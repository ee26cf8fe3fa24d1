"""Quality checks on consolidated skeletons: flags for a reviewer, never corrections.

``left_right_swap`` — three geometric tests built from the rig alone, so they
work for any rig with left/right pairs (people, vehicles):

- *Crossed lines.* For every rig line whose ends both have a left/right
  counterpart (``left_elbow-left_wrist`` and ``right_elbow-right_wrist``), the
  two mirrored lines are compared with the two "crossed" lines obtained by
  exchanging one end (``left_elbow-right_wrist`` …). When the crossed lines are
  clearly shorter (below :data:`CROSSED_RATIO` of the drawn ones), the labels
  on one side of that joint were probably exchanged. This catches a swapped
  wrist or elbow, and a swapped arm below a correct shoulder.
- *Reversed cross-pieces.* Left/right pairs joined by a rig line of their own
  (``left_shoulder-right_shoulder``, ``left_hip-right_hip``, the eyes; the
  truck's wheel axle and box edges) are rigid cross-pieces: on any real body
  their left-to-right directions agree (a torso cannot twist past 120
  degrees). A piece pointing the opposite way (cosine below -0.5) from more
  than half of the other pieces is flagged; with only two pieces, both are.
- *Reversed pairs.* Any other left/right pair (knees, wheels) pointing the
  opposite way from the agreeing cross-pieces is flagged when exchanging its
  two labels would also shorten its lines to its neighbours. This catches
  swapped knees on a narrow stance, where the crossed-lines test sees almost
  no difference.

Pairs shorter than :data:`PIECE_MIN_LENGTH` of the skeleton's size are left
out of the direction tests (a person in profile has no reliable shoulder
direction). Limits: a *consistent* swap of every left/right label (the whole
body mirrored) leaves every length and direction consistent, so it is not
detected: which way a person faces is not in the keypoints. Limbs that
really are crossed (arms folded across the chest, legs crossed at the knee)
look exactly like swapped labels and are flagged. Without a rig nothing is
checked.

``outside_image`` — labeled points beyond ``image_width``/``image_height``
(x = width is on the edge, not outside). Negative coordinates never get here:
the parser rejects them.

``duplicate_skeleton`` — two skeletons with OKS of at least
:data:`DUPLICATE_OKS`: almost certainly the same person drawn twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from handlers.oks import oks
from handlers.rig import Rig
from handlers.skeleton import Skeleton

Flag = Literal[
    "left_right_swap",
    "outside_image",
    "duplicate_skeleton",
    "drawn_by_some_workers",
    "modified_despite_no_changes_needed",
]

#: Crossed lines shorter than this share of the drawn lines suggest a swap.
CROSSED_RATIO = 0.75
#: …and only when they are shorter by at least this share of the skeleton's size.
CROSSED_MIN_GAIN = 0.05
#: A cross-piece shorter than this share of the skeleton's size has no direction to trust.
PIECE_MIN_LENGTH = 0.02
#: Cosine below which two cross-pieces point opposite ways.
PIECE_OPPOSITE_COS = -0.5
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
    rig: Rig | None = None,
    image_width: int | None = None,
    image_height: int | None = None,
) -> list[QaFlag]:
    """Every QA flag for one image's consolidated skeletons."""
    flags: list[QaFlag] = []
    geometry = _geometry(rig) if rig is not None else None
    for i, s in enumerate(skeletons):
        if image_width is not None and image_height is not None:
            outside = [
                k.label
                for k in s.keypoints
                if k.visibility and (k.x > image_width or k.y > image_height)
            ]
            if outside:
                flags.append(
                    QaFlag(
                        "outside_image",
                        f"{len(outside)} point(s) outside the {image_width}x{image_height} image",
                        i,
                        {"keypoints": outside},
                    )
                )
        if geometry is not None:
            swap = _swap_flag(s, geometry, i)
            if swap is not None:
                flags.append(swap)
    for i in range(len(skeletons)):
        for j in range(i + 1, len(skeletons)):
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
    return flags


@dataclass(frozen=True, slots=True)
class _Geometry:
    #: (a, b, mirror of a, mirror of b) for each pair of mirrored rig lines.
    line_pairs: tuple[tuple[str, str, str, str], ...]
    #: (left, right) pairs joined by a rig line of their own.
    pieces: tuple[tuple[str, str], ...]
    #: The other (left, right) pairs, each with the indices of its line pairs.
    limbs: tuple[tuple[str, str, tuple[int, ...]], ...]


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
    limbs = tuple(
        (left, right, tuple(i for i, lp in enumerate(line_pairs) if {left, right} & set(lp)))
        for left, right in rig.mirror_pairs
        if (left, right) not in pieces
    )
    geometry = _Geometry(tuple(line_pairs), pieces, limbs)
    _GEOMETRY[id(rig)] = (rig, geometry)
    return geometry


Point = tuple[float, float]


def _swap_flag(s: Skeleton, geometry: _Geometry, index: int) -> QaFlag | None:
    points = {k.label: (k.x, k.y) for k in s.keypoints if k.visibility}
    if len(points) < 3:
        return None
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    size = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
    if size == 0:
        return None
    dist = math.dist
    # Per line pair: (drawn length, crossed length), or None when a point is missing.
    lengths: list[tuple[float, float] | None] = []
    crossed: list[list[str]] = []
    for a, b, ma, mb in geometry.line_pairs:
        pa, pb, pma, pmb = points.get(a), points.get(b), points.get(ma), points.get(mb)
        if pa is None or pb is None or pma is None or pmb is None:
            lengths.append(None)
            continue
        drawn = dist(pa, pb) + dist(pma, pmb)
        swapped = dist(pa, pmb) + dist(pma, pb)
        lengths.append((drawn, swapped))
        if swapped < CROSSED_RATIO * drawn and drawn - swapped > CROSSED_MIN_GAIN * size:
            crossed.append([a, b])
            crossed.append([ma, mb])
    min_length = PIECE_MIN_LENGTH * size
    pieces = [v for v in (_direction(points, pair, min_length) for pair in geometry.pieces) if v]
    reversed_pairs = _odd_ones_out(pieces)
    agreeing = [v for v in pieces if v[0] not in reversed_pairs]
    if agreeing:
        cx = sum(v[1] for v in agreeing)
        cy = sum(v[2] for v in agreeing)
        norm = math.hypot(cx, cy)
        for left, right, incident in geometry.limbs if norm else ():
            limb = _direction(points, (left, right), min_length)
            if limb is None or (limb[1] * cx + limb[2] * cy) / norm >= PIECE_OPPOSITE_COS:
                continue
            known = [pair for i in incident if (pair := lengths[i]) is not None]
            if known and sum(s for _, s in known) < sum(d for d, _ in known):
                reversed_pairs.append((left, right))
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


def _direction(
    points: dict[str, Point], pair: tuple[str, str], min_length: float
) -> tuple[tuple[str, str], float, float] | None:
    """The unit vector from the left to the right point of ``pair``, if long enough."""
    pl, pr = points.get(pair[0]), points.get(pair[1])
    if pl is None or pr is None:
        return None
    dx, dy = pr[0] - pl[0], pr[1] - pl[1]
    length = math.hypot(dx, dy)
    if length < min_length or length == 0:
        return None
    return (pair, dx / length, dy / length)


def _odd_ones_out(vectors: list[tuple[tuple[str, str], float, float]]) -> list[tuple[str, str]]:
    """Pairs pointing opposite to more than half of the others (needs two or more)."""
    if len(vectors) < 2:
        return []
    flagged = []
    for pair, ux, uy in vectors:
        others = [(vx, vy) for other, vx, vy in vectors if other != pair]
        opposite = sum(1 for vx, vy in others if ux * vx + uy * vy < PIECE_OPPOSITE_COS)
        if opposite * 2 > len(others):
            flagged.append(pair)
    return flagged
