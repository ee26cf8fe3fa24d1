"""A COCO keypoints file written a batch of images at a time, so memory stays flat.

COCO puts all images before all annotations in one JSON object. Each list is
streamed to its own temporary file beside the output, and ``close`` joins them
(and the categories) into the final file, which appears only once complete.
Entries arrive serialised (made by :mod:`scripts.export_lines`); annotation ids
and category ids are given here, in order.

One category per rig, numbered from 1 in the order the rigs first appear. The
human rigs' category is named ``person`` (supercategory ``person``), as COCO
names it and as every tool that merges with COCO expects; any other rig's is
named after the rig. Every category also carries ``"rig": {"name": …,
"fingerprint": …}``, the rig it was exported with (COCO readers ignore keys
they do not know).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from handlers.coco import coco_category
from handlers.rig import Rig
from scripts.export_geometry import Instance

#: Bundled rigs of people: their category is COCO's ``person``.
PERSON_RIGS = frozenset({"coco-person-17", "human-18"})
PERSON = "person"


def category_name(rig: Rig) -> str:
    """The COCO category (and YOLO class) name of ``rig``'s skeletons."""
    return PERSON if rig.name in PERSON_RIGS else rig.name


def category(rig: Rig, category_id: int) -> dict[str, Any]:
    """The ``categories[]`` entry of ``rig`` (see the module doc)."""
    name = category_name(rig)
    entry = coco_category(rig, category_id=category_id, name=name, supercategory=name)
    entry["rig"] = {"name": rig.name, "fingerprint": rig.fingerprint}
    return entry


def annotation_body(one: Instance, image_id: int) -> dict[str, Any]:
    """An ``annotations[]`` entry without ``id`` and ``category_id`` (given by the writer)."""
    return {
        "image_id": image_id,
        "keypoints": one.keypoints,
        "num_keypoints": one.labeled,
        "bbox": list(one.box),
        "area": one.area,
        "iscrowd": 0,
    }


class CocoWriter:
    def __init__(self, path: Path, *, description: str) -> None:
        self.path = path
        self.description = description
        self.categories: list[dict[str, Any]] = []
        self._category_ids: dict[str, int] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._images = _ListFile(path.parent)
        self._annotations = _ListFile(path.parent)
        self.image_count = 0
        self.annotation_count = 0

    def add_images_json(self, entries: list[str]) -> None:
        """Add ``images[]`` entries already serialised, ids included."""
        self.image_count += len(entries)
        self._images.add_raw(entries)

    def category_id(self, rig: Rig) -> int:
        """The id of ``rig``'s category, added on first use."""
        fingerprint = rig.fingerprint
        found = self._category_ids.get(fingerprint)
        if found is None:
            found = self._category_ids[fingerprint] = len(self.categories) + 1
            self.categories.append(category(rig, found))
        return found

    def add_annotations_json(self, bodies: list[tuple[int, str]]) -> None:
        """Add ``annotations[]`` entries, each ``(category id, JSON without id and
        category_id)``; ids are given here, in the order of the calls."""
        first = self.annotation_count + 1
        self.annotation_count += len(bodies)
        self._annotations.add_raw(
            [
                f'{{"id":{n},"category_id":{category_id},{body[1:]}'
                for n, (category_id, body) in enumerate(bodies, start=first)
            ]
        )

    def close(self) -> None:
        """Write the file (through a ``.partial`` file, renamed when complete)."""
        head = {
            "info": {
                "description": self.description,
                "version": "1.0",
                "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            "licenses": [],
        }
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps(head, ensure_ascii=False)[:-1])
            out.write(',\n"images": ')
            self._images.copy_to(out)
            out.write(',\n"annotations": ')
            self._annotations.copy_to(out)
            out.write(',\n"categories": ')
            out.write(json.dumps(self.categories, ensure_ascii=False))
            out.write("}\n")
        partial.replace(self.path)

    def discard(self) -> None:
        self._images.close()
        self._annotations.close()

    def __enter__(self) -> CocoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        self.discard()


class _ListFile:
    """A JSON list, one item per line, in an anonymous temporary file."""

    def __init__(self, directory: Path) -> None:
        self._file: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115 (closed by discard)
            "w+", encoding="utf-8", dir=directory
        )
        self._empty = True

    def add_raw(self, items: list[str]) -> None:
        """Add items already serialised as JSON, in one write."""
        if not items:
            return
        self._file.write(("[\n" if self._empty else ",\n") + ",\n".join(items))
        self._empty = False

    def copy_to(self, out: IO[str]) -> None:
        if self._empty:
            out.write("[]")
            return
        self._file.seek(0)
        shutil.copyfileobj(self._file, out, 1 << 20)
        out.write("\n]")

    def close(self) -> None:
        self._file.close()
