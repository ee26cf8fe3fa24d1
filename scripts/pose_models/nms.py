"""Non-maximum suppression: of overlapping boxes that find the same person, keep the best.

Greedy and class-agnostic, as Ultralytics does for its single-class pose models:
take the highest-scoring box, drop every remaining box whose intersection over
union with it exceeds the threshold, repeat.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def nms(
    boxes: NDArray[np.floating], scores: NDArray[np.floating], iou_threshold: float
) -> NDArray[np.intp]:
    """Indices of the boxes kept, best score first.

    ``boxes`` is ``[N, 4]`` as ``x0, y0, x1, y1``; ``scores`` is ``[N]``. Boxes
    overlapping a kept one by more than ``iou_threshold`` (intersection over
    union) are suppressed; a box of zero area suppresses nothing.
    """
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = (boxes[:, i].astype(np.float64) for i in range(4))
    areas = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    kept: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        width = np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None)
        height = np.clip(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0, None)
        overlap = width * height
        union = areas[best] + areas[rest] - overlap
        iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(kept, dtype=np.intp)
