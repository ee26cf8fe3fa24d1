"""COCO keypoints: skeletons to COCO annotations and back, categories from a rig.

COCO stores one instance as a flat ``[x1, y1, v1, x2, y2, v2, …]`` list in the
category's keypoint order (the rig's order), with ``v = 0`` and ``x = y = 0``
for a keypoint that was not labeled; ``num_keypoints`` counts ``v > 0``; the
category's ``skeleton`` is 1-indexed. ``bbox`` and ``area`` here are those of
the labeled keypoints, which is what pycocotools' ``loadRes`` computes for
keypoint results too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.rig import Rig
from handlers.skeleton import AnnotationError, FieldError, Keypoint, Skeleton, Visibility

_PLAIN = (0, 1, 2)  # COCO's v as a plain int, not a Visibility member


def coco_category(
    rig: Rig, *, category_id: int = 1, name: str | None = None, supercategory: str | None = None
) -> dict[str, Any]:
    """The ``categories[]`` entry for ``rig`` (name defaults to the rig's name)."""
    return {
        "id": category_id,
        "name": name or rig.name,
        "supercategory": supercategory or name or rig.name,
        "keypoints": list(rig.labels),
        "skeleton": [[rig.index(b.a) + 1, rig.index(b.b) + 1] for b in rig.skeleton],
    }


def coco_keypoints(skeleton: Skeleton, rig: Rig) -> list[float]:
    """Flat ``[x, y, v] * len(rig.keypoints)`` in rig order."""
    positions = rig.positions
    flat: list[float] = [0] * (3 * len(positions))
    for k in skeleton.keypoints:
        if not k.visibility:
            continue
        i = positions.get(k.label)
        if i is None:
            raise AnnotationError(
                [
                    FieldError(
                        "annotations", f"label {k.label!r} is not a keypoint of rig {rig.name!r}"
                    )
                ],
                f"skeleton {skeleton.name!r}",
            )
        i *= 3
        flat[i] = k.x
        flat[i + 1] = k.y
        flat[i + 2] = _PLAIN[k.visibility]
    return flat


def coco_bbox(skeleton: Skeleton) -> list[float]:
    box = skeleton.bbox()
    return [0, 0, 0, 0] if box is None else list(box)


def coco_annotation(
    skeleton: Skeleton, rig: Rig, *, annotation_id: int, image_id: int, category_id: int = 1
) -> dict[str, Any]:
    """One COCO ``annotations[]`` entry (``iscrowd`` 0) for one skeleton."""
    bbox = coco_bbox(skeleton)
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category_id,
        "keypoints": coco_keypoints(skeleton, rig),
        "num_keypoints": skeleton.num_labeled,
        "bbox": bbox,
        "area": bbox[2] * bbox[3],
        "iscrowd": 0,
    }


def skeleton_from_coco_keypoints(
    flat: Any, rig: Rig, *, name: str = "", field: str = "keypoints"
) -> Skeleton:
    """The inverse of :func:`coco_keypoints`; unlabeled (v = 0) entries are left out.

    Raises :class:`AnnotationError` naming the index of any bad value.
    """
    size = 3 * len(rig.keypoints)
    if not isinstance(flat, list) or len(flat) != size:
        got = f"a list of {len(flat)}" if isinstance(flat, list) else type(flat).__name__
        raise AnnotationError(
            [
                FieldError(
                    field,
                    f"expected {size} numbers (x, y, v per keypoint of {rig.name!r}), got {got}",
                )
            ]
        )
    errors: list[FieldError] = []
    keypoints: list[Keypoint] = []
    for i, label in enumerate(rig.labels):
        x, y, v = flat[3 * i : 3 * i + 3]
        if v not in (0, 1, 2) or isinstance(v, bool):
            errors.append(
                FieldError(
                    f"{field}[{3 * i + 2}]", f"visibility of {label!r} must be 0, 1 or 2, got {v!r}"
                )
            )
            continue
        if not v:
            continue
        for offset, value in ((0, x), (1, y)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value < float("inf")
            ):
                errors.append(
                    FieldError(
                        f"{field}[{3 * i + offset}]",
                        f"coordinate of {label!r} must be a number >= 0, got {value!r}",
                    )
                )
        keypoints.append(Keypoint(label, x, y, Visibility(int(v))))
    if errors:
        raise AnnotationError(errors)
    return Skeleton(name, keypoints)


def skeleton_from_coco(
    annotation: Mapping[str, Any], rig: Rig, *, name: str | None = None
) -> Skeleton:
    """A skeleton from a COCO ``annotations[]`` entry (name defaults to ``"<id>"``)."""
    where = f"annotations[id={annotation.get('id')}]"
    return skeleton_from_coco_keypoints(
        annotation.get("keypoints"),
        rig,
        name=str(annotation.get("id", "")) if name is None else name,
        field=f"{where}.keypoints",
    )
