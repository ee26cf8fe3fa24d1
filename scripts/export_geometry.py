"""One skeleton as a training instance: its keypoints in rig order, inside the image, and a box.

COCO and YOLO are both written from an :class:`Instance`, so they always agree:

- ``keypoints`` is ``[x, y, v]`` for every keypoint of the rig, in rig order,
  ``0, 0, 0`` for one not labeled (COCO's layout; ``v`` 1 occluded, 2 visible);
- a labeled point outside the image (workers may drop one just past an edge) is
  moved onto the nearest edge: ``x`` into ``[0, width]``, ``y`` into
  ``[0, height]``. YOLO requires coordinates within the image, and COCO gets the
  same point. ``clamped`` counts them (the summary reports the total);
- the box is the labeled points' extent, but no side shorter than
  :data:`MIN_BOX_FRACTION` of the image's longer side (at least 1 pixel): a
  shorter side is widened around its centre, then shifted to stay inside the
  image. A skeleton with one labeled point, or with points on one line, would
  otherwise have zero area: COCOeval's OKS divides by the area (it would score
  0), and Ultralytics drops boxes under 2 pixels. ``area`` is the box's.

:func:`image_size` is the image's size as a label records it, when it can be used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from handlers.label import ConsolidatedLabel
from handlers.rig import Rig
from handlers.skeleton import Skeleton

#: The shortest box side, as a share of the image's longer side: 20 pixels for a
#: 1024-pixel image, 13 when Ultralytics scales it to 640. Large enough that a
#: point one pixel off still scores an OKS near 1 for a shoulder; small enough to
#: leave the boxes of distant people nearly as they are.
MIN_BOX_FRACTION = 0.02

_PLAIN = (0, 1, 2)  # COCO's v as a plain int, not a Visibility member


@dataclass(slots=True)
class Instance:
    #: ``[x, y, v] * len(rig.keypoints)``, points inside the image.
    keypoints: list[float]
    #: Keypoints with ``v > 0`` (COCO's ``num_keypoints``).
    labeled: int
    #: ``(x, y, width, height)`` in pixels.
    box: tuple[float, float, float, float]
    #: Labeled points that were outside the image and moved onto its edge.
    clamped: int = 0

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


def instance(skeleton: Skeleton, rig: Rig, width: float, height: float) -> Instance | None:
    """The skeleton as an instance of an image ``width`` x ``height``; None when it has
    no labeled keypoint. Its labels must be the rig's (skeletons parsed against it)."""
    positions = rig.positions
    flat: list[float] = [0] * (3 * len(positions))
    xs: list[float] = []
    ys: list[float] = []
    clamped = 0
    for k in skeleton.keypoints:
        visibility = k.visibility
        if not visibility:
            continue
        x, y = k.x, k.y
        if x > width or y > height or x < 0 or y < 0:
            x, y = min(max(x, 0), width), min(max(y, 0), height)
            clamped += 1
        i = 3 * positions[k.label]
        flat[i] = x
        flat[i + 1] = y
        flat[i + 2] = _PLAIN[visibility]
        xs.append(x)
        ys.append(y)
    if not xs:
        return None
    minimum = max(1.0, MIN_BOX_FRACTION * max(width, height))
    x0, x1 = _widen(min(xs), max(xs), minimum, width)
    y0, y1 = _widen(min(ys), max(ys), minimum, height)
    return Instance(flat, len(xs), (x0, y0, x1 - x0, y1 - y0), clamped)


def _widen(low: float, high: float, minimum: float, limit: float) -> tuple[float, float]:
    """``[low, high]`` at least ``minimum`` long (centred, shifted into ``[0, limit]``)."""
    if high - low >= minimum:
        return low, high
    centre = (low + high) / 2
    low, high = centre - minimum / 2, centre + minimum / 2
    if low < 0:
        low, high = 0, high - low
    if high > limit:
        low, high = max(0, low - (high - limit)), limit
    return low, high


def image_size(label: ConsolidatedLabel) -> tuple[int, int] | None:
    """``(width, height)`` from the label, if it is a pair of positive numbers."""
    size = label.image_size
    if size is None:
        return None
    width, height = size
    if type(width) in _NUMBERS and type(height) in _NUMBERS and 0 < width < math.inf > height > 0:
        return size
    return None


_NUMBERS = (int, float)
