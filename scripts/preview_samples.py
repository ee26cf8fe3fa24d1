"""Sample images for the offline preview, drawn with Pillow (nothing is downloaded).

Simple stick figures built from the COCO rig's template positions, so the joints
of every figure are known exactly. The output is deterministic: the same files
every run. One image comes with pre-annotations (one figure, with its wrists
deliberately swapped) to show the pre-annotation path and the swap warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from handlers.rig import load_rig

SIZE = (1600, 1067)
SKIN = (233, 196, 160)
CLOTHES = [(52, 101, 164), (204, 102, 51), (90, 140, 80)]


@dataclass(frozen=True)
class Figure:
    """A person: where its template box goes (left, top) and its height in pixels."""

    left: float
    top: float
    height: float
    clothes: int = 0

    def joints(self) -> dict[str, tuple[float, float]]:
        rig = load_rig("coco-person-17")
        box = rig.bounding_box
        assert box is not None
        scale = self.height / (box.bottom - box.top)
        return {
            k.label: (self.left + (k.x - box.left) * scale, self.top + (k.y - box.top) * scale)
            for k in rig.keypoints
        }


@dataclass(frozen=True)
class Sample:
    name: str
    figures: tuple[Figure, ...]
    #: Indexes of the figures that come pre-annotated (wrists swapped on purpose).
    pre_annotated: tuple[int, ...] = ()
    #: A box hiding part of the scene, to practise occluded keypoints.
    occluder: tuple[int, int, int, int] | None = None


SAMPLES = (
    Sample("one-person.jpg", (Figure(640, 180, 760),)),
    Sample("two-people.jpg", (Figure(300, 260, 620, 1), Figure(980, 140, 760, 2)), (1,)),
    Sample("partly-hidden.jpg", (Figure(700, 120, 820),), occluder=(560, 700, 1060, 1000)),
)


def draw_figure(draw: ImageDraw.ImageDraw, figure: Figure) -> None:
    j = figure.joints()
    width = max(6, int(figure.height / 28))
    cloth = CLOTHES[figure.clothes % len(CLOTHES)]
    torso = [j["left_shoulder"], j["right_shoulder"], j["right_hip"], j["left_hip"]]
    draw.polygon(torso, fill=cloth)
    for a, b in (
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"),
    ):
        draw.line([j[a], j[b]], fill=SKIN, width=width)
    for a, b in (
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
    ):
        draw.line([j[a], j[b]], fill=(60, 60, 70), width=width + 2)
    (nx, ny), (lx, _), (rx, _) = j["nose"], j["left_ear"], j["right_ear"]
    r = (lx - rx) / 2 * 1.15
    neck = ((j["left_shoulder"][0] + j["right_shoulder"][0]) / 2, j["left_shoulder"][1])
    draw.line([(nx, ny), neck], fill=SKIN, width=width + 4)
    draw.ellipse([nx - r, ny - r * 1.25, nx + r, ny + r * 0.9], fill=SKIN)
    for eye in ("left_eye", "right_eye"):
        x, y = j[eye]
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(30, 30, 30))
    draw.line([j["left_shoulder"], j["right_shoulder"]], fill=cloth, width=width)


def render(sample: Sample) -> Image.Image:
    w, h = SIZE
    img = Image.new("RGB", SIZE, (200, 215, 228))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, int(h * 0.72), w, h], fill=(176, 168, 140))  # floor
    for x in range(0, w, 160):
        draw.line([(x, int(h * 0.72)), (x - 300, h)], fill=(160, 152, 126), width=3)
    for figure in sample.figures:
        draw_figure(draw, figure)
    if sample.occluder:
        draw.rectangle(sample.occluder, fill=(120, 85, 60), outline=(80, 55, 40), width=6)
    return img


def pre_annotations(sample: Sample) -> list[dict[str, Any]]:
    skeletons = []
    for i in sample.pre_annotated:
        joints = dict(sample.figures[i].joints())
        joints["left_wrist"], joints["right_wrist"] = joints["right_wrist"], joints["left_wrist"]
        skeletons.append(
            {
                "name": f"detector person {i + 1}",
                "annotations": [
                    {"label": label, "x": round(x), "y": round(y), "visibility": 2}
                    for label, (x, y) in joints.items()
                ],
            }
        )
    return skeletons


def write_samples(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Write the sample images into ``folder``; returns their COCO-rig pre-annotations by name."""
    folder.mkdir(parents=True, exist_ok=True)
    annotations = {}
    for sample in SAMPLES:
        render(sample).save(folder / sample.name, "JPEG", quality=90)
        if sample.pre_annotated:
            annotations[sample.name] = pre_annotations(sample)
    return annotations
