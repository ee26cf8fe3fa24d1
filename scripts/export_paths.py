"""Where an export writes: file names made from image keys, kept under ``--out``.

An image's name in the export (COCO ``file_name``, the YOLO image and label
paths, the review picture) is its S3 key without ``--images-prefix``, made safe
by one rule, :func:`safe_name`:

- the key is split on ``/``; empty, ``.`` and ``..`` segments are dropped (so a
  leading ``/`` or a ``../`` cannot climb out of the folder written to);
- a control character (NUL, which no file system stores; a line feed or a tab,
  which would break ``images.txt`` or ``renamed.tsv``) becomes ``_``;
- a segment that ends in ``.`` gets ``_`` appended: Windows cannot store such a
  name, and Ultralytics reads ``./`` anywhere in a listed path as "the list's
  folder", which would misplace the image.

Every path is then checked once more, after symlinks are followed
(:meth:`Path.resolve`), by :meth:`Folder.file`: nothing is written outside ``--out``.
"""

from __future__ import annotations

from pathlib import Path

_CONTROL = dict.fromkeys((*range(32), 127), "_")


class OutsideOutput(OSError):
    """A path that would lead outside the export's folder."""


def safe_name(key: str) -> str | None:
    """``key`` as a relative POSIX path by the rule above; None when nothing is left."""
    if not key.isprintable():  # rare: the one test is cheaper than translating every key
        key = key.translate(_CONTROL)
    segments = []
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            continue
        segments.append(segment + "_" if segment.endswith(".") else segment)
    return "/".join(segments) or None


class Folder:
    """A folder under ``--out``; :meth:`file` gives paths in it, checked after symlinks
    are followed to stay under ``--out`` (``root``)."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self._resolved_root = root.resolve()
        #: Whether each directory seen resolves under ``root``: resolved once, not once
        #: per file (a YOLO dataset writes a file per image into few directories).
        self._inside: dict[Path, bool] = {}

    def file(self, relative: str) -> Path:
        """``path / relative``, or :class:`OutsideOutput` when that resolves outside
        ``--out`` (a ``..`` that slipped through, or a symlink that points away)."""
        target = self.path / relative
        inside = self._inside.get(target.parent)
        if inside is None:
            inside = self._inside[target.parent] = self._under_root(target.parent)
        if not inside or (target.is_symlink() and not self._under_root(target)):
            raise OutsideOutput(f"{relative}: would be written outside {self.root}")
        return target

    def _under_root(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self._resolved_root)
