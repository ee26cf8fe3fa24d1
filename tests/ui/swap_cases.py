"""The shared left/right swap cases (``swap_cases.json``), built into skeletons."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.rig import load_rig

CASES_FILE = Path(__file__).resolve().with_name("swap_cases.json")
#: Template units to image pixels, and where the template's top-left corner goes: every
#: case, rotated or not, stays inside the 2400x1600 test image (the component would
#: move a point outside to the edge, changing the case).
SCALE = 2.0
OFFSET = (800.0, 400.0)


@dataclass(frozen=True)
class SwapCase:
    name: str
    rig: str
    skeleton: dict[str, Any]
    #: None: no flag; else the flag's ``{"lines": [...], "pairs": [...]}``.
    expect: dict[str, list[list[str]]] | None


def build(case: dict[str, Any]) -> dict[str, Any]:
    """The case's skeleton in the shape the component submits (integer pixels)."""
    rig = load_rig(case["rig"])
    points = {k.label: (k.x, k.y) for k in rig.keypoints}
    points.update({label: (x, y) for label, (x, y) in case.get("set", {}).items()})
    for a, b in case.get("swap", []):
        points[a], points[b] = points[b], points[a]
    for label in case.get("drop", []):
        del points[label]
    box = rig.bounding_box
    assert box is not None
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    turn = math.radians(case.get("rotate", 0))
    cos, sin = math.cos(turn), math.sin(turn)
    annotations = []
    for label, (x, y) in points.items():
        rx = cx + (x - cx) * cos - (y - cy) * sin
        ry = cy + (x - cx) * sin + (y - cy) * cos
        annotations.append(
            {
                "label": label,
                "x": round(OFFSET[0] + rx * SCALE),
                "y": round(OFFSET[1] + ry * SCALE),
                "visibility": 1 if label in case.get("occluded", []) else 2,
            }
        )
    return {"name": case["name"], "annotations": annotations}


def load_cases() -> list[SwapCase]:
    raw = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
    return [SwapCase(c["name"], c["rig"], build(c), c["expect"]) for c in raw]
