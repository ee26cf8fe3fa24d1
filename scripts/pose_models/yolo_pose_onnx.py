"""Ultralytics YOLO pose models exported to ONNX (``format=onnx``): check, run, decode.

The layout relied on, from Ultralytics' exporter and its ``Pose`` head:

- one input (``images``): float32 ``[1, 3, H, W]``, RGB scaled to 0..1,
  letterboxed with grey 114 and centred (see :mod:`.letterbox`). H and W are
  fixed unless the model was exported with ``dynamic=True``;
- one output (``output0``): float32 ``[1, 4 + 1 + 3K, N]``, channels first and
  the N candidates last. Per candidate: the box as centre x, centre y, width,
  height in input pixels; the person score (after sigmoid); then for each of
  the K keypoints x, y (input pixels) and a confidence (after sigmoid).
  Non-maximum suppression is *not* in the graph: this module does it;
- metadata (``metadata_props``, values written as Python literals):
  ``kpt_shape`` (``[17, 3]``), ``imgsz`` (``[640, 640]``, height then width) and,
  from newer Ultralytics versions, ``kpt_names`` (``{0: ['nose', ...]}``).
  All optional here; when present they are checked against the output.

Exports with ``nms=True``, or end-to-end models, emit ``[1, 300, 6 + 3K]``
instead and are refused with the shapes named: export without NMS.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from handlers.rig import load_rig
from scripts.pose_models import INSTALL_HINT, ModelError, Person
from scripts.pose_models.letterbox import Letterbox, letterbox
from scripts.pose_models.nms import nms

#: The input side used when the model's own is dynamic and its metadata names none (Ultralytics').
DEFAULT_INPUT_SIZE = 640
#: YOLO inputs must be multiples of the largest stride.
STRIDE = 32
#: A person's box, its score: the channels before the keypoints.
BOX_AND_SCORE = 5
#: Candidates kept after NMS (Ultralytics' ``max_det``).
MAX_PEOPLE = 300
#: The bundled rig whose labels are COCO's 17 keypoints in COCO (and YOLO pose) order.
COCO_17_RIG = "coco-person-17"


@dataclass(frozen=True)
class Prepared:
    """One image ready for the model: the input tensor and how the image was placed in it."""

    tensor: NDArray[np.float32]
    letterbox: Letterbox

    @property
    def image_size(self) -> tuple[int, int]:
        return self.letterbox.image_size


class YoloPoseOnnx:
    """A checked YOLO pose ONNX model on ONNX Runtime's CPU provider."""

    def __init__(
        self,
        session: Any,
        *,
        source: str,
        input_size: tuple[int, int],
        keypoint_names: tuple[str, ...],
        score_threshold: float,
        iou_threshold: float,
    ) -> None:
        self._session = session
        self._source = source
        self._input = session.get_inputs()[0]
        self._output = session.get_outputs()[0]
        self.input_size = input_size
        self.keypoint_names = keypoint_names
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold

    def prepare(self, image: Image.Image) -> Prepared:
        tensor, box = letterbox(image, self.input_size)
        return Prepared(tensor, box)

    def detect(self, prepared: Prepared) -> list[Person]:
        try:
            (output,) = self._session.run([self._output.name], {self._input.name: prepared.tensor})
        except Exception as exc:  # ONNX Runtime's errors share no base class below Exception
            raise ModelError(
                f"--model {self._source}: ONNX Runtime failed to run it: {_ort_message(exc)}"
            ) from None
        expected = output_channels(len(self.keypoint_names))
        if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] != expected:
            raise ModelError(
                f"--model {self._source}: output {self._output.name} is"
                f" {show_shape(output.shape)}; expected [1, {expected}, N]"
            )
        return decode(
            output[0].astype(np.float32, copy=False),
            prepared.letterbox,
            num_keypoints=len(self.keypoint_names),
            score_threshold=self.score_threshold,
            iou_threshold=self.iou_threshold,
        )


def output_channels(num_keypoints: int) -> int:
    return BOX_AND_SCORE + 3 * num_keypoints


def decode(
    output: NDArray[np.float32],
    box: Letterbox,
    *,
    num_keypoints: int,
    score_threshold: float,
    iou_threshold: float,
    max_people: int = MAX_PEOPLE,
) -> list[Person]:
    """The people in one image's ``[5 + 3K, N]`` output, best score first, in image pixels."""
    # A candidate with a NaN box or score (a broken model) is nobody.
    usable = (output[4] > score_threshold) & np.isfinite(output[:BOX_AND_SCORE]).all(axis=0)
    candidates = output[:, usable]
    cx, cy, w, h = candidates[:4]
    corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kept = nms(corners, candidates[4], iou_threshold)[:max_people]
    # Channels 5.. are x0, y0, c0, x1, y1, c1, ...: one [K, 3] block per candidate.
    keypoints = candidates[BOX_AND_SCORE:].reshape(num_keypoints, 3, -1)
    people = []
    for i in kept:
        x0, y0 = box.to_image(corners[i, 0], corners[i, 1])
        x1, y1 = box.to_image(corners[i, 2], corners[i, 3])
        xs, ys = box.to_image(keypoints[:, 0, i], keypoints[:, 1, i])
        people.append(
            Person(
                score=float(candidates[4, i]),
                box=(float(x0), float(y0), float(x1), float(y1)),
                keypoints=np.stack([xs, ys, keypoints[:, 2, i].astype(np.float64)], axis=1),
            )
        )
    return people


def load(
    path: Path,
    *,
    input_size: int | None = None,
    keypoint_names: Sequence[str] | None = None,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.7,
) -> YoloPoseOnnx:
    """Open and check a model; every problem is one :class:`ModelError` line naming ``--model``."""
    where = f"--model {path}"
    session = _session(path, where)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelError(
            f"{where}: expected one input (images [1, 3, H, W]), found {len(inputs)}:"
            f" {', '.join(i.name for i in inputs)}"
        )
    if len(outputs) != 1:
        raise ModelError(
            f"{where}: expected one output ([1, 5 + 3K, N] of a pose model), found"
            f" {len(outputs)}: {', '.join(o.name for o in outputs)}"
        )
    shape = list(inputs[0].shape)
    if len(shape) != 4 or not _fits(shape[0], 1) or not _fits(shape[1], 3):
        raise ModelError(
            f"{where}: input {inputs[0].name} is {show_shape(shape)}; expected [1, 3, H, W]"
        )
    if inputs[0].type != "tensor(float)":
        raise ModelError(
            f"{where}: input {inputs[0].name} is {inputs[0].type}; expected tensor(float)"
        )
    metadata = session.get_modelmeta().custom_metadata_map
    names = _keypoint_names(where, metadata, list(outputs[0].shape), keypoint_names)
    return YoloPoseOnnx(
        session,
        source=str(path),
        input_size=_input_size(shape, metadata, input_size),
        keypoint_names=names,
        score_threshold=score_threshold,
        iou_threshold=iou_threshold,
    )


def _session(path: Path, where: str) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelError(f"{where}: {INSTALL_HINT}") from None
    if not path.is_file():
        raise ModelError(f"{where}: {'not a file' if path.exists() else 'no such file'}")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # fatal only: errors reach the user as one line, below
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime's errors share no base class below Exception
        raise ModelError(f"{where}: ONNX Runtime cannot load it: {_ort_message(exc)}") from None


def _ort_message(exc: Exception) -> str:
    """``[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from m.onnx failed:Protobuf
    parsing failed.`` -> ``INVALID_PROTOBUF: Protobuf parsing failed.``"""
    text = " ".join(str(exc).split())
    parts = [p.strip() for p in text.split(" : ")]
    if len(parts) >= 4 and parts[0] == "[ONNXRuntimeError]":
        code, detail = parts[2], " : ".join(parts[3:])
        return f"{code}: {detail.rpartition('failed:')[2].strip() or detail}"
    return text or type(exc).__name__


def _keypoint_names(
    where: str,
    metadata: Mapping[str, str],
    output_shape: list[Any],
    given: Sequence[str] | None,
) -> tuple[str, ...]:
    """Who the K keypoints are: given names, else the model's kpt_names, else COCO's 17."""
    count = _keypoint_count(where, metadata, output_shape, given)
    if given is not None:
        return tuple(given)
    from_model = _literal(metadata.get("kpt_names"))
    if isinstance(from_model, dict) and from_model:
        names = next(iter(from_model.values()))
        if (
            isinstance(names, list | tuple)
            and len(names) == count
            and all(isinstance(n, str) and n for n in names)
        ):
            return tuple(names)
        raise ModelError(
            f"{where}: metadata kpt_names does not name {count} keypoints; give --keypoint-names"
        )
    if count == 17:
        return load_rig(COCO_17_RIG).labels
    raise ModelError(
        f"{where}: the model predicts {count} keypoints and its metadata does not name them;"
        f" give --keypoint-names with {count} labels in the model's order"
    )


def _keypoint_count(
    where: str, metadata: Mapping[str, str], output_shape: list[Any], given: Sequence[str] | None
) -> int:
    """K, from the output's channels, metadata kpt_shape or the given names; all must agree."""
    if len(output_shape) != 3 or not _fits(output_shape[0], 1):
        raise ModelError(
            f"{where}: output is {show_shape(output_shape)}; expected [1, 5 + 3K, N]"
            " (box, person score, K keypoints of x, y, confidence)"
        )
    channels = output_shape[1] if isinstance(output_shape[1], int) else None
    count: int | None = None
    kpt_shape = _literal(metadata.get("kpt_shape"))
    if isinstance(kpt_shape, list | tuple) and len(kpt_shape) == 2:
        if kpt_shape[1] != 3:
            raise ModelError(
                f"{where}: metadata kpt_shape is {list(kpt_shape)}: keypoints without a"
                " confidence; expected [K, 3]"
            )
        count = int(kpt_shape[0])
    if given is not None:
        if count is not None and len(given) != count:
            raise ModelError(
                f"--keypoint-names: {len(given)} labels, but the model predicts {count} keypoints"
            )
        count = len(given)
    if count is None and channels is not None and channels > BOX_AND_SCORE:
        extra = channels - BOX_AND_SCORE
        count = extra // 3 if extra % 3 == 0 else None
    if count is None:
        # COCO's 17, the usual pose model: a mismatch below then names what was expected;
        # a dynamic channel count is checked when the model first runs.
        count = 17
    if channels is not None and channels != output_channels(count):
        raise ModelError(
            f"{where}: output is {show_shape(output_shape)}; expected"
            f" [1, {output_channels(count)}, N] for {count} keypoints (box 4, person score 1,"
            f" {count} x 3 keypoint values). Export the pose model with format=onnx and"
            " without nms=True"
        )
    return count


def _input_size(
    shape: list[Any], metadata: Mapping[str, str], requested: int | None
) -> tuple[int, int]:
    """``(width, height)`` of the input: the model's own, else --input-size, else its metadata."""
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        if requested is not None and (requested, requested) != (width, height):
            raise ModelError(
                f"--input-size {requested}: this model's input is fixed at {width}x{height}"
            )
        return width, height
    if requested is not None:
        return requested, requested
    imgsz = _literal(metadata.get("imgsz"))
    if (
        isinstance(imgsz, list | tuple)
        and len(imgsz) == 2
        and all(isinstance(v, int) and v > 0 for v in imgsz)
    ):
        return imgsz[1], imgsz[0]
    return DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE


def _literal(text: str | None) -> Any:
    """A metadata value Ultralytics wrote with ``str()``: a Python literal, or None."""
    if not text:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _fits(dim: Any, value: int) -> bool:
    """Whether a model dimension (an int, or a name or None when dynamic) can be ``value``."""
    return not isinstance(dim, int) or dim == value


def show_shape(shape: Sequence[Any]) -> str:
    return "[" + ", ".join(str(d) if d is not None else "?" for d in shape) + "]"
