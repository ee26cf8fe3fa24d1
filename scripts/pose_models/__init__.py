"""Pose models for pre-annotation: one module per model layout, one shape of result.

A layout module (``yolo_pose_onnx`` is the first) has a ``load(path, ...)`` that
checks the model and returns a :class:`PoseModel`: the names of the keypoints
it predicts, ``prepare`` (decode and resize one image; runs in reader threads)
and ``detect`` (run the model, decode its output into :class:`Person` results
in the image's own pixels). ``scripts/prelabel.py`` knows nothing else about
a model, so another layout (a top-down model behind a person detector, RTMO)
is a new module beside this one and a ``--layout`` choice in the script.

Nothing here imports ONNX Runtime or numpy; a layout module imports them, and
ONNX Runtime only when a model is loaded, so the other scripts never need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from scripts.cli import UserError

if TYPE_CHECKING:  # numpy comes with ONNX Runtime, a development dependency only
    import numpy as np
    from numpy.typing import NDArray

#: What to do when ONNX Runtime (or numpy, which it brings) is missing.
INSTALL_HINT = (
    "ONNX Runtime is not installed (`pulumi up` does not need it): run"
    " `.venv/bin/python -m pip install -r requirements-dev.txt` (or `pip install onnxruntime`)"
)


class ModelError(UserError):
    """A model that cannot be used (unreadable, or not the expected layout); one line."""


@dataclass(frozen=True)
class Person:
    """One person a model found, in the image's own pixels (origin top-left)."""

    #: The model's score that this is a person, 0..1.
    score: float
    #: ``x0, y0, x1, y1`` of the person's box.
    box: tuple[float, float, float, float]
    #: ``[K, 3]``: x, y and confidence (0..1) of each keypoint, in the model's keypoint order.
    keypoints: NDArray[np.float64]


class Prepared(Protocol):
    """One image made ready for a model; what else it holds is the layout's business."""

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` as the worker sees the image: full size, EXIF orientation applied."""
        ...


class PoseModel(Protocol):
    #: The label of each keypoint the model predicts, in its output order.
    keypoint_names: tuple[str, ...]

    def prepare(self, image: Image.Image) -> Prepared:
        """Decode and resize one opened image for ``detect`` (thread-safe, no model call)."""
        ...

    def detect(self, prepared: Any) -> list[Person]:
        """The people in one prepared image, best score first."""
        ...
