"""prelabel's own overhead: reading, letterboxing, decoding and writing, without a real model.

Run: ``python -m benchmarks prelabel`` (``--images N`` for a quicker run).

The model is a tiny ONNX graph (tests/scripts/pose_onnx.py) that ignores its
640x640 input and emits a realistic output, ``[1, 56, 8400]``: 8,400
candidates, of which 6 people with 12 overlapping candidates each are above the
score threshold, so NMS and the mapping back to the image do their usual work.
ONNX Runtime's share is only copying that output; a real YOLO pose model adds
its own inference time on top of every figure here.

Figures:
  end to end   ``prelabel.main`` over a folder of JPEGs, --out to a file: images per second
               and CPU seconds, for 1920x1080 photos and for 4032x3024 (12 MP) phone photos
  stages       one image at a time, median CPU time per image: read + decode + letterbox
               (with Pillow's JPEG draft, as prelabel does, and decoded whole for comparison),
               model run + decode + NMS, skeletons + JSON line
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from benchmarks.bench_manifest import stack_outputs
from handlers.rig import load_rig
from scripts import prelabel
from scripts.pose_models import yolo_pose_onnx
from scripts.pose_models.letterbox import Letterbox, letterbox
from tests.scripts.pose_onnx import NUM_KEYPOINTS, constant_model

SIZES = {"1920x1080": (1920, 1080), "4032x3024": (4032, 3024)}
INPUT = 640
CANDIDATES = 8400
PEOPLE = 6
PER_PERSON = 12


def photo(size: tuple[int, int]) -> bytes:
    """A JPEG that decodes like a photo: noise, softened, at quality 85."""
    w, h = size
    noise = Image.effect_noise((w, h), 48).filter(ImageFilter.GaussianBlur(0.8))
    ramp = Image.linear_gradient("L").resize((w, h))
    image = Image.merge("RGB", (ramp, noise, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def realistic_output(rng: np.random.Generator) -> np.ndarray:
    """``[1, 56, 8400]``: low scores everywhere but 6 people, each found by 12 nearby candidates."""
    out = np.zeros((1, 5 + 3 * NUM_KEYPOINTS, CANDIDATES), np.float32)
    out[0, 0:2] = rng.uniform(0, INPUT, (2, CANDIDATES))
    out[0, 2:4] = rng.uniform(8, 120, (2, CANDIDATES))
    out[0, 4] = rng.uniform(0, 0.05, CANDIDATES)
    out[0, 5::3] = rng.uniform(0, INPUT, (NUM_KEYPOINTS, CANDIDATES))
    out[0, 6::3] = rng.uniform(0, INPUT, (NUM_KEYPOINTS, CANDIDATES))
    out[0, 7::3] = rng.uniform(0, 1, (NUM_KEYPOINTS, CANDIDATES))
    for p in range(PEOPLE):
        cx, cy = 60 + p * 100, 320
        for j in range(PER_PERSON):
            i = p * 500 + j
            out[0, 0:5, i] = (cx + j % 3, cy + j % 4, 80, 240, 0.9 - j / 100)
            out[0, 5::3, i] = cx + rng.uniform(-40, 40, NUM_KEYPOINTS)
            out[0, 6::3, i] = cy + rng.uniform(-120, 120, NUM_KEYPOINTS)
    return out


def median_ms(work: Callable[[], Any], repeat: int) -> float:
    """Median CPU time of ``work`` (all threads of the process): steadier than wall time on
    a machine shared with other work, and what an image costs."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def draft_scale(jpeg: bytes) -> int:
    """The reduction Pillow's JPEG draft gives for a 640 input (1, 2, 4 or 8)."""
    image = Image.open(io.BytesIO(jpeg))
    full = image.size[0]
    image.draft("RGB", Letterbox.fit(image.size, (INPUT, INPUT)).resized)  # as letterbox() does
    return full // image.size[0]


def end_to_end(work: Path, model: Path, outputs: Path, size: str, data: bytes, n: int) -> str:
    folder = work / size
    folder.mkdir()
    for i in range(n):
        (folder / f"img-{i:05d}.jpg").write_bytes(data)
    out = work / f"{size}.jsonl"
    argv = [str(folder), "--model", str(model), "--stack-outputs", str(outputs), "--out", str(out)]
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stderr(io.StringIO()):
        code = prelabel.main(argv)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    lines = out.read_text().splitlines()
    people = sum(len(json.loads(line)["annotations"]) for line in lines)
    if code != 0 or len(lines) != n or people != n * PEOPLE:
        raise SystemExit(f"end to end {size}: exit {code}, {len(lines)} lines, {people} people")
    return (
        f"end to end {size}: {n} images in {seconds:.2f} s, {n / seconds:.1f} images/s"
        f" (CPU {cpu:.2f} s, {cpu / n * 1000:.0f} ms an image, {cpu / seconds:.1f} cores busy;"
        f" {len(data) / 1e6:.2f} MB JPEG)"
    )


def stages(model: yolo_pose_onnx.YoloPoseOnnx, data: dict[str, bytes], repeat: int) -> list[str]:
    rig = load_rig("coco-person-17")
    mapping = prelabel.map_to_rig(model.keypoint_names, rig)
    lines = []
    for size, jpeg in data.items():
        drafted = median_ms(lambda jpeg=jpeg: model.prepare(Image.open(io.BytesIO(jpeg))), repeat)

        def full(jpeg: bytes = jpeg) -> None:
            image = Image.open(io.BytesIO(jpeg))
            image.load()  # decoded at full size: no draft
            letterbox(image, model.input_size)

        lines.append(
            f"read + decode + letterbox {size}: {drafted:.1f} ms CPU (JPEG decoded at"
            f" 1/{draft_scale(jpeg)} scale; {median_ms(full, repeat):.1f} ms decoding it whole)"
        )
    prepared = model.prepare(Image.open(io.BytesIO(data["1920x1080"])))
    detect = median_ms(lambda: model.detect(prepared), repeat)
    people = model.detect(prepared)
    tally = prelabel.Tally()

    def write() -> None:
        skeletons = prelabel.skeletons_for(people, mapping, prepared.image_size, 0.5, tally)
        json.dumps({"image": "x.jpg", "annotations": prelabel.within_manifest_limit(skeletons)})

    lines.append(
        f"model run + decode + NMS: {detect:.2f} ms CPU ({CANDIDATES:,} candidates,"
        f" {PEOPLE * PER_PERSON} above the score threshold, {len(people)} people after NMS)"
    )
    lines.append(
        f"skeletons + JSON line: {median_ms(write, repeat):.2f} ms CPU ({len(people)} people)"
    )
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks prelabel")
    parser.add_argument("--images", type=int, default=200, help="images per end-to-end run")
    parser.add_argument("--repeat", type=int, default=30, help="timings per stage")
    args = parser.parse_args(argv)
    data = {name: photo(size) for name, size in SIZES.items()}
    with tempfile.TemporaryDirectory(prefix="bench-prelabel-") as tmp:
        work = Path(tmp)
        model_path = constant_model(
            work / "model.onnx",
            [],
            input_size=(INPUT, INPUT),
            output=realistic_output(np.random.default_rng(15)),
        )
        outputs = work / "outputs.json"
        outputs.write_text(json.dumps(stack_outputs(load_rig("coco-person-17").to_jsonable())))
        print(f"{os.cpu_count()} cores; {prelabel.READERS} reader threads, ONNX Runtime's own pool")
        for line in stages(yolo_pose_onnx.load(model_path), data, args.repeat):
            print(line)
        for size, jpeg in data.items():
            print(end_to_end(work, model_path, outputs, size, jpeg, args.images))
    return 0


if __name__ == "__main__":
    raise SystemExit(main([]))
