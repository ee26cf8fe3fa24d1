"""Pre-annotations for a launch: skeletons per image name, from COCO or JSON Lines.

- A **COCO keypoints** file (``images``, ``annotations``, ``categories``): each
  annotation becomes a skeleton named ``"<category> <n>"`` through the handlers'
  COCO conversion; ``images[].file_name`` is the image name. The category's
  keypoint names may come in any order but must all be in the stack's rig.
  Crowd regions (``iscrowd: 1``) are not instances and are left out.
- **JSON Lines**: ``{"image": "a.jpg", "annotations": [<skeleton>, …]}`` per
  line, skeletons as in docs/contracts.md.

Every skeleton is validated against the rig; the first file that has a problem
stops the launch with the file, line or annotation and the field. The result is
normalised skeleton JSON, ready for the manifest's ``annotations``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from handlers.coco import skeleton_from_coco
from handlers.rig import Rig
from handlers.skeleton import AnnotationError, load_skeletons, skeletons_to_jsonable
from scripts.cli import UserError

PreAnnotations = dict[str, list[dict[str, Any]]]


def load(path: Path, rig: Rig) -> PreAnnotations:
    where = f"--pre-annotations {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None  # not one JSON document: JSON Lines
    if isinstance(whole, dict) and "images" in whole:
        return from_coco(whole, rig, where)
    return from_json_lines(text, rig, where)


def from_coco(coco: dict[str, Any], rig: Rig, where: str) -> PreAnnotations:
    images = _list(coco, "images", where)
    annotations = _list(coco, "annotations", where)
    categories = _list(coco, "categories", where)
    names: dict[Any, str] = {}
    for i, image in enumerate(images):
        if not isinstance(image, dict) or not isinstance(image.get("file_name"), str):
            raise UserError(f"{where}: images[{i}]: expected an object with a file_name")
        names[image.get("id")] = image["file_name"]
    category_rigs = {
        c.get("id"): (
            str(c.get("name") or rig.name),
            _category_rig(c, rig, f"{where}: categories[{i}]"),
        )
        for i, c in enumerate(categories)
        if isinstance(c, dict) and c.get("keypoints")
    }
    result: PreAnnotations = defaultdict(list)
    for i, annotation in enumerate(annotations):
        at = f"{where}: annotations[{i}]"
        if not isinstance(annotation, dict):
            raise UserError(f"{at}: expected an object")
        if annotation.get("iscrowd") == 1:
            continue
        if annotation.get("category_id") not in category_rigs:
            raise UserError(
                f"{at}: category_id {annotation.get('category_id')!r} is not a category with"
                " keypoints"
            )
        if annotation.get("image_id") not in names:
            raise UserError(f"{at}: image_id {annotation.get('image_id')!r} is not in images")
        category_name, category_rig = category_rigs[annotation["category_id"]]
        name = names[annotation["image_id"]]
        try:
            skeleton = skeleton_from_coco(
                annotation, category_rig, name=f"{category_name} {len(result[name]) + 1}"
            )
        except AnnotationError as exc:
            raise UserError(f"{at}: {exc}") from None
        result[name].extend(skeletons_to_jsonable([skeleton]))
    return dict(result)


def _category_rig(category: dict[str, Any], rig: Rig, where: str) -> Rig:
    """The rig with its keypoints in the category's order, so COCO's flat list lines up."""
    labels = category["keypoints"]
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise UserError(f"{where}.keypoints: expected a list of keypoint names")
    unknown = [label for label in labels if label not in rig]
    if unknown:
        raise UserError(
            f"{where}.keypoints: {', '.join(unknown)} not in the stack's rig {rig.name!r}"
        )
    if tuple(labels) == rig.labels:
        return rig
    return Rig(rig.name, tuple(rig.keypoints[rig.index(label)] for label in labels), ())


def from_json_lines(text: str, rig: Rig, where: str) -> PreAnnotations:
    result: PreAnnotations = {}
    for number, line in _lines(text):
        at = f"{where}: line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{at}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("image"), str):
            raise UserError(f'{at}: expected {{"image": NAME, "annotations": [...]}}')
        name = obj["image"]
        if name in result:
            raise UserError(f"{at}: image {name!r} appears on an earlier line too")
        try:
            skeletons = load_skeletons(obj.get("annotations"), "annotations", rig)
        except AnnotationError as exc:
            raise UserError(f"{at}: {exc}") from None
        result[name] = skeletons_to_jsonable(skeletons)
    return result


def _lines(text: str) -> Iterator[tuple[int, str]]:
    # Split on "\n" only: str.splitlines() would also split at U+2028 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line


def _list(coco: dict[str, Any], key: str, where: str) -> list[Any]:
    value = coco.get(key)
    if not isinstance(value, list):
        raise UserError(f"{where}: a COCO file needs a {key!r} list")
    return value
