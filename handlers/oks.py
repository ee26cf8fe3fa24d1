"""Object keypoint similarity (OKS) between two skeletons.

COCO's definition (``computeOks`` in pycocotools): for each keypoint labeled in
both skeletons, ``exp(-d² / (2 · s² · κ²))`` with ``κ = 2·sigma`` and ``s²`` the
object's area, averaged. COCO compares a prediction with a ground truth and
takes the area from the ground truth; here the two skeletons are peers (two
workers, or a worker and the consensus), so:

- the area is the mean of the two skeletons' keypoint bounding-box areas
  (COCO's segmentation areas do not exist for keypoint-only labels), at least
  :data:`MIN_AREA` so that a one-point skeleton does not divide by zero;
- a keypoint labeled in only one of the two counts as 0 similarity, so a
  disagreement about whether a joint is there lowers the score;
- sigma comes from the rig (:data:`~handlers.rig.DEFAULT_SIGMA` for a label the
  rig does not have, which validated skeletons never hold).
"""

from __future__ import annotations

import math

from handlers.rig import DEFAULT_SIGMA, Rig
from handlers.skeleton import Skeleton

#: Smallest area (pixels²) used for the scale ``s²``.
MIN_AREA = 1.0

# 1 / (8·sigma²) per label; exp(-d² · this / area) is one keypoint's similarity.
#: The scale of a label that neither the rig nor COCO knows.
DEFAULT_SCALE = 1.0 / (8.0 * DEFAULT_SIGMA * DEFAULT_SIGMA)
_RIG_SCALES: dict[int, tuple[Rig, dict[str, float]]] = {}


def sigma(label: str, rig: Rig) -> float:
    """The OKS sigma used for ``label``."""
    return rig.sigma(label) if label in rig else DEFAULT_SIGMA


def sigmas(rig: Rig) -> list[float]:
    """The rig's sigmas in rig order: pycocotools' ``kpt_oks_sigmas``."""
    return [k.sigma for k in rig.keypoints]


def area(skeleton: Skeleton) -> float:
    """Area of the bounding box of the labeled keypoints (0 when fewer than two)."""
    box = skeleton.bbox()
    return 0.0 if box is None else box[2] * box[3]


def oks(a: Skeleton, b: Skeleton, rig: Rig, *, scale_area: float | None = None) -> float:
    """Similarity of two skeletons in [0, 1]; 0 when neither has a labeled keypoint."""
    if scale_area is None:
        scale_area = (area(a) + area(b)) / 2.0
    return points_oks(points(a), points(b), scale_area, rig)


def points(skeleton: Skeleton) -> dict[str, tuple[float, float]]:
    """Labeled keypoints as ``label -> (x, y)``: what :func:`points_oks` compares."""
    return {k.label: (k.x, k.y) for k in skeleton.keypoints if k.visibility}


def points_oks(
    pa: dict[str, tuple[float, float]],
    pb: dict[str, tuple[float, float]],
    scale_area: float,
    rig: Rig,
) -> float:
    """:func:`oks` on prepared points, for callers that compare each skeleton many times."""
    count = len(pa.keys() | pb.keys())
    if not count:
        return 0.0
    inv_area = 1.0 / max(scale_area, MIN_AREA)
    table = scales(rig)
    total = 0.0
    exp = math.exp
    for label, (px, py) in pa.items():
        q = pb.get(label)
        if q is not None:
            dx = px - q[0]
            dy = py - q[1]
            total += exp(-(dx * dx + dy * dy) * table.get(label, DEFAULT_SCALE) * inv_area)
    return total / count


def scales(rig: Rig) -> dict[str, float]:
    """Label -> ``1 / (8·sigma²)``, the factor of ``d² / area`` in a keypoint's OKS term."""
    cached = _RIG_SCALES.get(id(rig))
    if cached is None or cached[0] is not rig:
        cached = (rig, {k.label: 1.0 / (8.0 * k.sigma * k.sigma) for k in rig.keypoints})
        _RIG_SCALES[id(rig)] = cached
    return cached[1]
