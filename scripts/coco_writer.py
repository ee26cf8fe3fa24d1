"""A COCO keypoints file written a batch of images at a time, so memory stays flat.

COCO puts all images before all annotations in one JSON object. Each list is
streamed to its own temporary file beside the output, and ``close`` joins them
(and the rig's category) into the final file, which appears only once complete.
Entries arrive serialised (made by :mod:`scripts.export_lines` with
:func:`handlers.coco.coco_annotation`); annotation ids are given here, in order.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from handlers.coco import coco_category
from handlers.rig import Rig


class CocoWriter:
    def __init__(self, path: Path, rig: Rig, *, description: str) -> None:
        self.path = path
        self.rig = rig
        self.description = description
        path.parent.mkdir(parents=True, exist_ok=True)
        self._images = _ListFile(path.parent)
        self._annotations = _ListFile(path.parent)
        self.image_count = 0
        self.annotation_count = 0

    def add_images_json(self, entries: list[str]) -> None:
        """Add ``images[]`` entries already serialised, ids included."""
        self.image_count += len(entries)
        self._images.add_raw(entries)

    def add_annotations_json(self, bodies: list[str]) -> None:
        """Add ``annotations[]`` entries serialised without their ``id``, which is
        given here, in the order of the calls."""
        first = self.annotation_count + 1
        self.annotation_count += len(bodies)
        self._annotations.add_raw(
            [f'{{"id":{n},{body[1:]}' for n, body in enumerate(bodies, start=first)]
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
            out.write(json.dumps([coco_category(self.rig)], ensure_ascii=False))
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
