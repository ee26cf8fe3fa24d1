"""Consolidating several workers' skeletons for one image into one answer.

1. **Match** skeleton instances across workers. Workers are taken in order of
   how many skeletons they drew (most first; payload order on ties). The first
   one's skeletons start the groups; each next worker's skeletons are assigned
   to the groups by an optimal assignment (:mod:`handlers.assignment`) on
   ``1 - mean OKS`` to the group's members. A pair below
   :data:`MATCH_MIN_OKS` is not the same person: the skeleton starts a new
   group. Skeletons without labeled keypoints are ignored.
2. **Merge** each group: per keypoint, the median x and median y of the
   workers that placed it, and the visibility most of them gave (a tie goes
   to visible). The name is the most common name (ties: the earliest worker's).
   Keypoints keep the earliest worker's order; others follow in rig order.
   So N identical answers consolidate to that very answer.
3. **Agreement** per group: how many workers drew it, the mean pairwise OKS of
   their skeletons, the RMS distance (pixels) of each keypoint from the merged
   point, and which keypoints fewer workers placed than drew the skeleton.

With one worker the answer is returned as drawn (empty skeletons left out)
and there is no agreement to report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.assignment import min_cost_assignment
from handlers.oks import area, points, points_oks
from handlers.rig import Rig
from handlers.skeleton import Keypoint, Skeleton, Visibility

#: Two skeletons with a lower OKS are taken to be different people.
MATCH_MIN_OKS = 0.2

#: Added to the matching cost when names differ, so that equally good matches
#: keep skeletons with the same name together (it never outweighs geometry).
_NAME_TIE_BREAK = 1e-9


@dataclass(slots=True)
class SkeletonAgreement:
    #: Workers whose answer contains this skeleton.
    workers: int
    #: Mean OKS over every pair of those workers; None when only one drew it.
    mean_oks: float | None
    #: Keypoint label -> RMS distance (pixels) of the workers' points from the merged one.
    keypoint_spread: dict[str, float] = field(default_factory=dict)
    #: Keypoint label -> how many workers placed it, for keypoints not placed by all of them.
    keypoint_workers: dict[str, int] = field(default_factory=dict)

    def to_jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {"workers": self.workers, "mean_oks": self.mean_oks}
        out["keypoint_spread"] = self.keypoint_spread
        if self.keypoint_workers:
            out["keypoint_workers"] = self.keypoint_workers
        return out

    @classmethod
    def parse(cls, obj: Any) -> SkeletonAgreement:
        obj = obj if isinstance(obj, dict) else {}
        return cls(
            int(obj.get("workers") or 0),
            obj.get("mean_oks"),
            dict(obj.get("keypoint_spread") or {}),
            dict(obj.get("keypoint_workers") or {}),
        )


@dataclass(slots=True)
class Agreement:
    """Between-worker agreement for one image; ``skeletons`` follows the consolidated order."""

    #: Workers whose answer could be used.
    workers: int
    #: Mean of the skeletons' ``mean_oks`` (skeletons drawn by one worker excluded).
    mean_oks: float | None
    skeletons: list[SkeletonAgreement]

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "mean_oks": self.mean_oks,
            "skeletons": [s.to_jsonable() for s in self.skeletons],
        }

    @classmethod
    def parse(cls, obj: Any) -> Agreement | None:
        if not isinstance(obj, dict):
            return None
        skeletons = obj.get("skeletons")
        return cls(
            int(obj.get("workers") or 0),
            obj.get("mean_oks"),
            [SkeletonAgreement.parse(s) for s in skeletons] if isinstance(skeletons, list) else [],
        )


@dataclass(slots=True)
class Consolidation:
    skeletons: list[Skeleton]
    #: None with fewer than two workers.
    agreement: Agreement | None
    #: For each consolidated skeleton: ``(worker, skeleton index in that worker's answer)``.
    members: list[list[tuple[int, int]]]


def consolidate(answers: Sequence[Sequence[Skeleton]], rig: Rig) -> Consolidation:
    """One list of skeletons from each worker (at least one) -> the consolidated answer."""
    if len(answers) == 1:
        drawn = [(j, s) for j, s in enumerate(answers[0]) if s.drawn]
        return Consolidation([s for _, s in drawn], None, [[(0, j)] for j, _ in drawn])
    similarity: dict[tuple[int, int], float] = {}
    prepared: dict[int, tuple[dict[str, tuple[float, float]], float]] = {}

    def pair_oks(a: Skeleton, b: Skeleton) -> float:
        key = (id(a), id(b)) if id(a) < id(b) else (id(b), id(a))
        value = similarity.get(key)
        if value is None:
            pa, area_a = prepared.get(id(a)) or prepared.setdefault(id(a), (points(a), area(a)))
            pb, area_b = prepared.get(id(b)) or prepared.setdefault(id(b), (points(b), area(b)))
            value = similarity[key] = points_oks(pa, pb, (area_a + area_b) / 2.0, rig)
        return value

    groups: list[list[tuple[int, int, Skeleton]]] = []
    order = sorted(range(len(answers)), key=lambda w: -sum(1 for s in answers[w] if s.drawn))
    for w in order:
        drawn = [(j, s) for j, s in enumerate(answers[w]) if s.drawn]
        if not groups:
            groups = [[(w, j, s)] for j, s in drawn]
            continue
        cost = [
            [
                1.0
                - sum(pair_oks(s, m) for _, _, m in group) / len(group)
                + (_NAME_TIE_BREAK if s.name != group[0][2].name else 0.0)
                for group in groups
            ]
            for _, s in drawn
        ]
        assigned = dict(min_cost_assignment(cost)) if drawn else {}
        new_groups = []
        for row, (j, s) in enumerate(drawn):
            g = assigned.get(row)
            if g is not None and 1.0 - cost[row][g] >= MATCH_MIN_OKS - _NAME_TIE_BREAK:
                groups[g].append((w, j, s))
            else:
                new_groups.append([(w, j, s)])
        groups.extend(new_groups)

    skeletons: list[Skeleton] = []
    agreements: list[SkeletonAgreement] = []
    for group in groups:
        group.sort(key=lambda member: member[0])
        members = [s for _, _, s in group]
        skeleton, agreement = _merge(members, rig)
        if len(members) > 1:
            pairs = [
                pair_oks(members[a], members[b])
                for a in range(len(members))
                for b in range(a + 1, len(members))
            ]
            agreement.mean_oks = round(sum(pairs) / len(pairs), 4)
        skeletons.append(skeleton)
        agreements.append(agreement)
    scored = [a.mean_oks for a in agreements if a.mean_oks is not None]
    overall = round(sum(scored) / len(scored), 4) if scored else None
    return Consolidation(
        skeletons,
        Agreement(len(answers), overall, agreements),
        [[(w, j) for w, j, _ in group] for group in groups],
    )


def _merge(members: Sequence[Skeleton], rig: Rig) -> tuple[Skeleton, SkeletonAgreement]:
    """One skeleton from a group; keypoints in the first member's order, then the others'."""
    by_label: dict[str, list[Keypoint]] = {}
    for s in members:
        for k in s.keypoints:
            if k.visibility:
                by_label.setdefault(k.label, []).append(k)
    first = {k.label: k for k in members[0].keypoints}
    later = sorted((label for label in by_label if label not in first), key=rig.index)
    keypoints: list[Keypoint] = []
    spread: dict[str, float] = {}
    placed_by: dict[str, int] = {}
    for label in [*first, *later]:
        placed = by_label.get(label)
        if placed is None:  # listed as not labeled (v = 0) by the first worker only
            keypoints.append(first[label])
            continue
        n = len(placed)
        xs = [p.x for p in placed]
        ys = [p.y for p in placed]
        x = median(xs)
        y = median(ys)
        occluded = [p.visibility for p in placed].count(Visibility.OCCLUDED)
        v = Visibility.OCCLUDED if occluded * 2 > n else Visibility.VISIBLE
        keypoints.append(Keypoint(label, x, y, v, placed[0].extra))
        if n > 1:
            squares = 0.0
            for px, py in zip(xs, ys, strict=True):
                squares += (px - x) * (px - x) + (py - y) * (py - y)
            spread[label] = round(math.sqrt(squares / n), 2)
        if n < len(members):
            placed_by[label] = n
    names = [s.name for s in members]
    name = names[0]
    if names.count(name) != len(names):
        counts = Counter(names)
        top = max(counts.values())
        name = next(n for n in names if counts[n] == top)
    skeleton = Skeleton(name, keypoints, members[0].extra)
    return skeleton, SkeletonAgreement(len(members), None, spread, placed_by)


def median(values: list[float]) -> float:
    """The median; an even count averages the middle two (kept an int when exact)."""
    values = sorted(values)
    n = len(values)
    middle = values[n // 2]
    if n % 2:
        return middle
    below = values[n // 2 - 1]
    mid = (below + middle) / 2
    if type(below) is int and type(middle) is int and mid.is_integer():
        return int(mid)
    return mid
