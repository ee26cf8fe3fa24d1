"""Small real image files for the scripts' tests."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def make_image(path: Path, size: tuple[int, int] = (64, 48), color: str = "#808080") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def make_folder(folder: Path, names: list[str], size: tuple[int, int] = (64, 48)) -> Path:
    for i, name in enumerate(names):
        # A different colour per file, so no two files have the same bytes.
        make_image(folder / name, size, f"#{(i * 40) % 256:02x}{(i * 90) % 256:02x}80")
    return folder
