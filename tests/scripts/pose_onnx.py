"""Tiny ONNX models in the exact layout of an Ultralytics YOLO pose export, built by the tests.

No weights can be downloaded here, so the tests make their own models with the
``onnx`` helper API: real ONNX files that ONNX Runtime loads and runs, whose
output is known to the pixel.

- :func:`constant_model` ignores the image and emits given candidates;
- :func:`bright_spot_model` finds the brightest pixel of its input and emits one
  person with every keypoint there, so a test can check that the letterbox
  places an image where its inverse says it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NUM_KEYPOINTS = 17
#: An opset and IR version every ONNX Runtime the project allows can run.
OPSET = 17
IR_VERSION = 8


@dataclass
class Candidate:
    """One output column, in model-input pixels: a box by centre and size, a score, keypoints."""

    cx: float
    cy: float
    w: float
    h: float
    score: float
    #: ``(x, y, confidence)`` per keypoint; default: all at the box centre, confidence 0.9.
    keypoints: list[tuple[float, float, float]] = field(default_factory=list)

    def column(self, num_keypoints: int) -> list[float]:
        points = self.keypoints or [(self.cx, self.cy, 0.9)] * num_keypoints
        assert len(points) == num_keypoints
        return [self.cx, self.cy, self.w, self.h, self.score, *(v for p in points for v in p)]


def constant_output(
    candidates: Sequence[Candidate], num_keypoints: int = NUM_KEYPOINTS
) -> np.ndarray:
    """``[1, 5 + 3K, N]``: the candidates as columns, channels first, as Ultralytics writes them."""
    columns = [c.column(num_keypoints) for c in candidates]
    if not columns:
        return np.zeros((1, 5 + 3 * num_keypoints, 0), np.float32)
    return np.asarray(columns, dtype=np.float32).T[np.newaxis]


def constant_model(
    path: Path,
    candidates: Sequence[Candidate],
    *,
    input_size: tuple[int | str, int | str] = (64, 64),
    num_keypoints: int = NUM_KEYPOINTS,
    metadata: Mapping[str, str] | None = None,
    output: np.ndarray | None = None,
) -> Path:
    """A model that ignores its image and outputs ``candidates`` (or ``output`` as given).

    ``input_size`` is ``(width, height)``; a string makes that side dynamic.
    """
    value = output if output is not None else constant_output(candidates, num_keypoints)
    node = helper.make_node("Constant", [], ["output0"], value=numpy_helper.from_array(value))
    return _save(path, [node], input_size, list(value.shape), metadata)


def unknown_shape_model(path: Path, output: np.ndarray) -> Path:
    """A model whose output shape only running it tells: ``output``'s channels cut at the
    (dynamic) input width, so ONNX Runtime cannot infer them when loading. With an input at
    least as wide as the channels, it outputs ``output`` unchanged."""
    nodes = [
        helper.make_node("Constant", [], ["all"], value=numpy_helper.from_array(output)),
        helper.make_node("Shape", ["images"], ["width"], start=3, end=4),
        _int64("starts", [0]),
        _int64("axes", [1]),
        helper.make_node("Slice", ["all", "starts", "width", "axes"], ["output0"]),
    ]
    return _save(path, nodes, ("width", "height"), [1, "channels", "candidates"], None)


def bright_spot_model(path: Path, input_size: tuple[int, int]) -> Path:
    """One person, score 0.9, every keypoint (confidence 0.9) at the centre of the brightest
    input pixel (the first in reading order when several tie)."""
    w, h = input_size
    channels = 5 + 3 * NUM_KEYPOINTS
    x_mask = np.zeros((1, channels, 1), np.float32)
    y_mask = np.zeros((1, channels, 1), np.float32)
    fixed = np.zeros((1, channels, 1), np.float32)
    x_mask[0, [0, *range(5, channels, 3)]] = 1
    y_mask[0, [1, *range(6, channels, 3)]] = 1
    fixed[0, 2:5, 0] = (10, 10, 0.9)  # box width, height; person score
    fixed[0, 7::3, 0] = 0.9  # keypoint confidences
    consts = {
        "axes": np.array([1], np.int64),
        "width": np.array([w], np.int64),
        "flat": np.array([1, h * w], np.int64),
        "column": np.array([1, 1, 1], np.int64),
        "half": np.array([0.5], np.float32),
        "x_mask": x_mask,
        "y_mask": y_mask,
        "fixed": fixed,
    }
    nodes = [
        helper.make_node("Constant", [], [name], value=numpy_helper.from_array(v, name))
        for name, v in consts.items()
    ]
    nodes += [
        helper.make_node("ReduceSum", ["images", "axes"], ["gray"], keepdims=0),
        helper.make_node("Reshape", ["gray", "flat"], ["pixels"]),
        helper.make_node("ArgMax", ["pixels"], ["index"], axis=1, keepdims=0),
        helper.make_node("Mod", ["index", "width"], ["col"]),
        helper.make_node("Div", ["index", "width"], ["row"]),
        helper.make_node("Cast", ["col"], ["col_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["row"], ["row_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["col_f", "half"], ["x"]),
        helper.make_node("Add", ["row_f", "half"], ["y"]),
        helper.make_node("Reshape", ["x", "column"], ["x3"]),
        helper.make_node("Reshape", ["y", "column"], ["y3"]),
        helper.make_node("Mul", ["x3", "x_mask"], ["xs"]),
        helper.make_node("Mul", ["y3", "y_mask"], ["ys"]),
        helper.make_node("Add", ["xs", "ys"], ["xy"]),
        helper.make_node("Add", ["xy", "fixed"], ["output0"]),
    ]
    return _save(path, nodes, input_size, [1, channels, 1], None)


def failing_model(path: Path) -> Path:
    """A model that loads but fails when run: it takes candidate number <input width> of 3."""
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["all"],
            value=numpy_helper.from_array(np.zeros((1, 5 + 3 * NUM_KEYPOINTS, 3), np.float32)),
        ),
        helper.make_node("Shape", ["images"], ["width"], start=3, end=4),
        helper.make_node("Gather", ["all", "width"], ["output0"], axis=2),
    ]
    return _save(path, nodes, ("width", "height"), [1, 5 + 3 * NUM_KEYPOINTS, 1], None)


def _int64(name: str, values: list[int]) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(np.array(values, np.int64))
    )


def _save(
    path: Path,
    nodes: list[onnx.NodeProto],
    input_size: tuple[int | str, int | str],
    output_shape: list[int | str],
    metadata: Mapping[str, str] | None,
) -> Path:
    w, h = input_size
    graph = helper.make_graph(
        nodes,
        "tiny-pose",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, output_shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path
