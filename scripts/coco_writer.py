"""A COCO keypoints file written one image at a time, so memory stays flat.

COCO puts all images before all annotations in one JSON object. Each list is
streamed to its own temporary file beside the output, and ``close`` joins them
(and the rig's category) into the final file, which appears only once complete.
The annotation entries come from :func:`handlers.coco.coco_annotation`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from handlers.coco import coco_annotation, coco_category
from handlers.rig import Rig
from handlers.skeleton import Skeleton


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

    def add_image(self, file_name: str, width: int | None, height: int | None, **extra: Any) -> int:
        """Add ``images[]`` entry; returns its id (1, 2, …)."""
        self.image_count += 1
        entry = {"id": self.image_count, "file_name": file_name, "width": width, "height": height}
        self._images.add({**entry, **extra})
        return self.image_count

    def add_skeleton(self, skeleton: Skeleton, image_id: int) -> None:
        self.annotation_count += 1
        self._annotations.add(
            coco_annotation(
                skeleton, self.rig, annotation_id=self.annotation_count, image_id=image_id
            )
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

    def add(self, item: Any) -> None:
        self._file.write("[\n" if self._empty else ",\n")
        self._file.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
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
