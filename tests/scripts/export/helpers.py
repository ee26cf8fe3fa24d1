"""Output manifests and export runs for the export tests.

Lines are built by the handlers' own consolidation (``tests.scripts.manifests``);
by default each label records its rig as the post-annotation Lambda writes it
(``"rig": {"name", "fingerprint"}``), and ``record_rig=False`` makes a label
from before that.
"""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image

from handlers.rig import Rig, load_rig
from scripts import export_results
from tests.scripts.manifests import Points, output_line, submission

RIG = load_rig("coco-person-17")
BUCKET = "pose-bucket"
W, H = 400, 300

ALICE: Points = {
    "nose": (200, 40, 2),
    "left_shoulder": (230, 90, 2),
    "left_elbow": (250, 150, 2),
    "right_shoulder": (170, 90, 1),
    "left_hip": (220, 180, 2),
}
BOB: Points = {"nose": (60, 50, 2), "left_ankle": (80, 280, 2)}


def uri(name: str, bucket: str = BUCKET) -> str:
    return f"s3://{bucket}/labeling_jobs/images/{name}"


def answer(
    name: str,
    *skeletons: dict[str, Any],
    bucket: str = BUCKET,
    size: tuple[int, int] = (W, H),
    **kwargs: Any,
) -> dict[str, str]:
    width, height = size
    return submission(
        list(skeletons), image_s3_uri=uri(name, bucket), width=width, height=height, **kwargs
    )


def labeled(
    source_ref: str,
    answers: list[dict[str, str]],
    rig: Rig = RIG,
    *,
    record_rig: bool = True,
    attribute: str = "pose",
    **kwargs: Any,
) -> str:
    """An output-manifest line; its label records ``rig`` unless ``record_rig`` is False."""
    line = json.loads(output_line(source_ref, answers, rig, attribute=attribute, **kwargs))
    if record_rig:
        line[attribute]["rig"] = {"name": rig.name, "fingerprint": rig.fingerprint}
    else:  # as written before labels recorded their rig
        line[attribute].pop("rig", None)
    return json.dumps(line)


def write_manifest(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def export(tmp_path: Path, manifest: Path, *extra: str, clients: Any = None) -> int:
    """Export ``manifest`` to ``tmp_path/out``; ``extra`` options as on the command line."""
    argv = [str(manifest), "--out", str(tmp_path / "out"), *extra]
    return export_results.main(argv, clients=clients)


def flat(points: Points, rig: Rig = RIG) -> list[float]:
    out: list[float] = []
    for label in rig.labels:
        out.extend(points.get(label, (0, 0, 0)))
    return out


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def problems(out: Path) -> list[dict[str, Any]]:
    path = out / "problems.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def jpeg(size: tuple[int, int], color: str = "#808080") -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()
