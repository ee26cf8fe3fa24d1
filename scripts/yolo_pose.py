"""Ultralytics YOLO pose labels: one text file per image, one line per skeleton.

A line is ``<class> <cx> <cy> <w> <h>`` followed by ``<x> <y> <v>`` for every
keypoint in rig order, all coordinates divided by the image's width or height
(0 to 1). ``v`` keeps COCO's meaning (0 not labeled, with x = y = 0; 1
occluded; 2 visible); Ultralytics treats any ``v > 0`` as a labeled point. The
box is the labeled keypoints' extent, as in the COCO export. ``data.yaml``
gives ``kpt_shape`` and ``flip_idx`` (each keypoint's left/right counterpart,
from the rig), which Ultralytics needs to flip images while training.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from handlers.rig import Rig
from handlers.skeleton import Skeleton


def yolo_line(skeleton: Skeleton, rig: Rig, width: float, height: float, class_id: int = 0) -> str:
    """The label line for one skeleton; it must have at least one labeled keypoint."""
    box = skeleton.bbox()
    if box is None:
        raise ValueError(f"skeleton {skeleton.name!r} has no labeled keypoints")
    x, y, w, h = box
    flat: list[float] = [0] * (3 * len(rig.keypoints))
    for k in skeleton.keypoints:
        if k.visibility:
            i = 3 * rig.index(k.label)
            flat[i : i + 3] = (_unit(k.x / width), _unit(k.y / height), int(k.visibility))
    center_x, center_y = _unit((x + w / 2) / width), _unit((y + h / 2) / height)
    values = (class_id, center_x, center_y, _unit(w / width), _unit(h / height), *flat)
    return _line_format(len(rig.keypoints)) % values


@functools.cache
def _line_format(keypoints: int) -> str:
    # One %-format for the whole line is several times faster than formatting each number.
    return "%d" + " %.6g" * 4 + " %.6g %.6g %d" * keypoints


def _unit(value: float) -> float:
    """Clamp to [0, 1]: a point on the far edge (x = width) is inside the image."""
    return 0.0 if value < 0 else 1.0 if value > 1 else value


def label_path(labels_dir: Path, image_name: str) -> Path:
    """``labels/<image path>.txt``, mirroring the image's path as Ultralytics expects."""
    return labels_dir / Path(image_name).with_suffix(".txt")


def flip_idx(rig: Rig) -> list[int]:
    return [rig.index(k.mirror) if k.mirror else i for i, k in enumerate(rig.keypoints)]


def data_yaml(rig: Rig) -> str:
    """Ultralytics' dataset file; JSON values are valid YAML, so no YAML library is needed."""
    return (
        "# Ultralytics YOLO pose dataset written by scripts/export_results.py.\n"
        "# Put the images under images/ with the same relative paths as the files in\n"
        "# labels/ (Ultralytics finds each label by replacing images/ with labels/),\n"
        "# and split them into train and val as you need.\n"
        "path: .\n"
        "train: images\n"
        "val: images\n"
        f"kpt_shape: [{len(rig.keypoints)}, 3]\n"
        f"flip_idx: {json.dumps(flip_idx(rig))}\n"
        f"names:\n  0: {json.dumps(rig.name)}\n"
        f"kpt_names:\n  0: {json.dumps(list(rig.labels))}\n"
    )
