"""Letterboxing: fit an image into a model's fixed input without distorting it, and back.

The image is scaled by one factor until it just fits, centred, and the rest is
filled with grey (114, 114, 114): what Ultralytics' ``LetterBox`` does before
its YOLO models (``auto=False``, ``center=True``, the same rounding of sizes and
padding), so a model sees images the way it was trained on them.
:meth:`Letterbox.to_image` is the exact inverse of the placement, taking
model-input pixels back to the image's own pixels.

Images are read the way a browser shows them: EXIF orientation applied, so the
coordinates match what a worker sees in the labeling component.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

#: Ultralytics pads with this grey on every channel.
PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """Where an image of ``image_size`` sits in a model input of ``input_size`` (both w, h)."""

    image_size: tuple[int, int]
    input_size: tuple[int, int]
    #: The image's size after scaling, inside the input.
    resized: tuple[int, int]
    #: Grey columns on the left and rows on top.
    left: int
    top: int

    @classmethod
    def fit(cls, image_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
        (w, h), (in_w, in_h) = image_size, input_size
        if w < 1 or h < 1:
            raise ValueError(f"image size {w}x{h}: both sides must be at least 1 pixel")
        scale = min(in_w / w, in_h / h)
        # Ultralytics' rounding, so padding offsets agree with theirs to the pixel.
        resized = (max(1, round(w * scale)), max(1, round(h * scale)))
        left = round((in_w - resized[0]) / 2 - 0.1)
        top = round((in_h - resized[1]) / 2 - 0.1)
        return cls((w, h), (in_w, in_h), resized, left, top)

    def to_image(
        self, x: NDArray[np.floating], y: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Model-input pixel coordinates -> the image's pixel coordinates.

        Each axis uses its own factor (resized / image size): the image was
        resized to exactly ``resized``, so this undoes the placement exactly
        even where rounding made the two factors differ slightly.
        """
        sx = self.resized[0] / self.image_size[0]
        sy = self.resized[1] / self.image_size[1]
        return (np.asarray(x, np.float64) - self.left) / sx, (
            np.asarray(y, np.float64) - self.top
        ) / sy

    def to_input(self, x: float, y: float) -> tuple[float, float]:
        """The image's pixel coordinates -> model-input pixels (the forward placement)."""
        sx = self.resized[0] / self.image_size[0]
        sy = self.resized[1] / self.image_size[1]
        return x * sx + self.left, y * sy + self.top


def letterbox(
    image: Image.Image, input_size: tuple[int, int]
) -> tuple[NDArray[np.float32], Letterbox]:
    """``image`` as a model input: float32 ``[1, 3, H, W]``, RGB in 0..1, letterboxed.

    ``image`` is best freshly opened and not yet decoded: a JPEG much larger than
    the input is then decoded at a reduced scale (Pillow's ``draft``, the same
    shortcut as ``Image.thumbnail``), which is much faster and loses nothing
    the model would see. It is turned upright in place (no full-size copy).
    Decoding errors propagate (``OSError``, ``ValueError``, ``SyntaxError``,
    ``Image.DecompressionBombError``).
    """
    # The size the worker sees (full resolution, upright), read before draft shrinks it.
    turned = _quarter_turned(image)
    box = Letterbox.fit(oriented_size(image), input_size)
    # Decode no larger than needed: draft picks the largest JPEG reduction (1/2, 1/4,
    # 1/8) that still covers the resized image, in the file's own orientation.
    width, height = box.resized
    image.draft("RGB", (height, width) if turned else (width, height))
    # In place: an upright image (the usual case) is not copied at full size.
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.size != box.resized:
        image = image.resize(box.resized, Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", input_size, (PAD_VALUE, PAD_VALUE, PAD_VALUE))
    canvas.paste(image, (box.left, box.top))
    pixels = np.asarray(canvas, dtype=np.float32) / np.float32(255)
    return pixels.transpose(2, 0, 1)[np.newaxis], box


#: EXIF tag 0x0112: orientations 5 to 8 turn the image a quarter, swapping width and height.
_ORIENTATION = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """``(width, height)`` as a browser shows the image: EXIF orientation applied."""
    width, height = image.size
    return (height, width) if _quarter_turned(image) else (width, height)


def _quarter_turned(image: Image.Image) -> bool:
    return image.getexif().get(_ORIENTATION, 1) in _QUARTER_TURNS
