"""Ultralytics YOLO pose datasets: one folder per rig, to train on from any directory.

``yolo/<rig>/`` holds::

    data.yaml    kpt_shape, flip_idx, kpt_oks_sigmas, names, kpt_names; train and
                 val are images.txt (split it as you need)
    images.txt   every exported image of the rig, one ./images/<name> per line
    labels/…     one label file per image, where Ultralytics looks for it
    renamed.tsv  only if some image is listed under another name than its key
    images/      where the images go: copied by you (the export does not fetch them)

A label line is ``<class> <cx> <cy> <w> <h>`` followed by ``<x> <y> <v>`` for
every keypoint in rig order, coordinates divided by the image's width or height
(0 to 1), from the same :class:`~scripts.export_geometry.Instance` as the COCO
annotation (points clamped into the image, a minimum box size). ``v`` keeps
COCO's meaning (0 not labeled, with x = y = 0; 1 occluded; 2 visible).

Ultralytics' own rules that this layout follows (read in its source, 8.x):

- ``data.yaml``'s ``path``, when relative, is resolved against the directory
  training starts in; without ``path`` the YAML file's folder is the dataset
  root. So there is no ``path``, and ``train``/``val`` are relative to the file.
- In a list file, a line that starts with ``./`` is relative to the list's folder.
- A label is found from its image path (``img2label_paths``): the last
  ``/images/`` becomes ``/labels/`` and the extension becomes ``.txt``. An
  image key that itself contains an ``images/`` folder therefore has its label
  under that folder (``images/shoot/images/a.jpg`` ->
  ``images/shoot/labels/a.txt``); :func:`label_path` applies the rule as is.
- Only files whose extension is in ``IMG_FORMATS`` are read (:func:`readable`).
- ``kpt_oks_sigmas`` must have ``kpt_shape[0]`` values; without it, every rig
  but COCO's 17 keypoints is scored with uniform sigmas.

Images whose label files would coincide (``a.jpg`` and ``a.png``, or the same
image on two manifest lines) get distinct names: the later one is listed as
``<stem>-<line number><extension>``, and ``renamed.tsv`` says so.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from handlers.rig import Rig
from scripts.export_geometry import Instance
from scripts.export_paths import Folder

#: Ultralytics' IMG_FORMATS: the extensions of the files it reads as images.
IMG_FORMATS = frozenset(
    {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}
)
#: Label files written at once, at most, before the oldest is waited for.
_PENDING_WRITES = 256


def yolo_line(instance: Instance, width: float, height: float, class_id: int = 0) -> str:
    """The label line of one instance (its points are inside the image already)."""
    x, y, w, h = instance.box
    flat = instance.keypoints
    normal = [v / width for v in flat[0::3]], [v / height for v in flat[1::3]]
    values: list[float] = [class_id, (x + w / 2) / width, (y + h / 2) / height]
    values += (w / width, h / height)
    for px, py, v in zip(*normal, flat[2::3], strict=True):
        values += (px, py, v)
    return _line_format(len(flat) // 3) % tuple(values)


@functools.cache
def _line_format(keypoints: int) -> str:
    # One %-format for the whole line is several times faster than formatting each number.
    return "%d" + " %.6g" * 4 + " %.6g %.6g %d" * keypoints


def readable(name: str) -> bool:
    """Whether Ultralytics reads a file of this name as an image (its extension)."""
    return name.rpartition(".")[-1].lower() in IMG_FORMATS


def label_path(image_path: str) -> str:
    """Ultralytics' label path of the image at ``image_path`` (relative, POSIX, under
    ``images/``): its last ``/images/`` replaced by ``/labels/``, its extension by ``.txt``."""
    head, _, tail = f"/{image_path}".rpartition("/images/")
    return f"{head}/labels/{tail}".rsplit(".", 1)[0].removeprefix("/") + ".txt"


def flip_idx(rig: Rig) -> list[int]:
    return [rig.index(k.mirror) if k.mirror else i for i, k in enumerate(rig.keypoints)]


def data_yaml(rig: Rig, class_name: str) -> str:
    """Ultralytics' dataset file; JSON values are valid YAML, so no YAML library is needed."""
    sigmas = [k.sigma for k in rig.keypoints]
    return (
        f"# Ultralytics YOLO pose dataset of rig {json.dumps(rig.name)}, written by\n"
        "# scripts/export_results.py. No `path:` on purpose: the dataset root is then this\n"
        "# file's folder, whatever directory training starts in. Copy the images listed in\n"
        "# images.txt into images/ (same relative paths; see renamed.tsv if present).\n"
        "train: images.txt\n"
        "val: images.txt\n"
        f"kpt_shape: [{len(rig.keypoints)}, 3]\n"
        f"flip_idx: {json.dumps(flip_idx(rig))}\n"
        f"kpt_oks_sigmas: {json.dumps(sigmas)}\n"
        f"names:\n  0: {json.dumps(class_name)}\n"
        f"kpt_names:\n  0: {json.dumps(list(rig.labels))}\n"
    )


@dataclass(frozen=True, slots=True)
class LabelFile:
    """One image's label file, as made for a manifest line (picklable)."""

    line: int
    #: The image's name in the export (already made safe: :mod:`scripts.export_paths`).
    name: str
    text: str
    source_ref: str | None
    #: The name before it was made safe, when that changed it.
    unsafe_name: str | None = None


Report = Callable[[dict[str, Any]], None]


class YoloDataset:
    """The folder of one rig: label files written by a few threads (creating many small
    files is system-call bound), listed in images.txt once written, in manifest order."""

    def __init__(self, folder: Folder, rig: Rig, class_name: str, report: Report) -> None:
        folder.path.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.report = report
        folder.file("data.yaml").write_text(data_yaml(rig, class_name), encoding="utf-8")
        self._list: IO[str] = folder.file("images.txt").open("w", encoding="utf-8")
        self._renamed_file: IO[str] | None = None
        self._used: dict[str, int] = {}
        self._made_dirs: set[Path] = set()
        self._writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="yolo")
        #: Label files being written: (item, image path, why it was renamed, the write).
        self._writes: deque[tuple[LabelFile, str, str | None, Future[None]]] = deque()
        self.images = 0
        self.renamed = 0

    def add(self, item: LabelFile) -> None:
        image = f"images/{item.name}"
        label = label_path(image)
        why = None if item.unsafe_name is None else f"made safe from {item.unsafe_name!r}"
        if label in self._used:
            why = f"its label file would be line {self._used[label]}'s"
            image = self._distinct(item, image)
            label = label_path(image)
        try:
            target = self.folder.file(label)
            if target.parent not in self._made_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(target.parent)
        except OSError as exc:
            self._failed(item, exc)
            return
        self._used[label] = item.line
        write = self._writer.submit(_write_text, target, item.text)
        self._writes.append((item, image, why, write))
        if len(self._writes) > _PENDING_WRITES:
            self._settle_oldest()

    def _distinct(self, item: LabelFile, image: str) -> str:
        """``<stem>-<line><extension>``: an image path whose label file is not taken."""
        path = PurePosixPath(image)
        for n in range(1, len(self._used) + 2):
            candidate = str(path.with_stem(f"{path.stem}-{item.line}" + (f"-{n}" if n > 1 else "")))
            if label_path(candidate) not in self._used:
                return candidate
        raise AssertionError("unreachable: one of len(used) + 1 names is free")

    def _note_renamed(self, image: str, item: LabelFile, why: str) -> None:
        """A line of renamed.tsv: the image is listed under another name than its key."""
        if self._renamed_file is None:
            self._renamed_file = self.folder.file("renamed.tsv").open("w", encoding="utf-8")
            self._renamed_file.write("image in this dataset\tsource-ref\twhy\n")
        self._renamed_file.write(f"{image}\t{item.source_ref}\t{why}\n")
        self.renamed += 1

    def _settle_oldest(self) -> None:
        """Wait for the oldest write; list its image once its label file exists."""
        item, image, why, write = self._writes.popleft()
        try:
            write.result()
        except OSError as exc:
            self._failed(item, exc)
            return
        self._list.write(f"./{image}\n")
        self.images += 1
        if why is not None:
            self._note_renamed(image, item, why)

    def _failed(self, item: LabelFile, exc: OSError) -> None:
        reason = f"YOLO label not written: {exc.strerror or exc}"
        self.report({"line": item.line, "image": item.source_ref, "reason": reason})

    def close(self) -> None:
        while self._writes:
            self._settle_oldest()
        self._writer.shutdown()
        self._list.close()
        if self._renamed_file is not None:
            self._renamed_file.close()


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
