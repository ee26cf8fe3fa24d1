"""Shared builders for the handler tests: realistic skeletons from a rig's template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers.rig import Rig, load_rig

COCO = load_rig("coco-person-17")


@pytest.fixture(scope="session")
def coco() -> Rig:
    return COCO


def person(
    rig: Rig = COCO,
    *,
    at: tuple[float, float] = (100, 50),
    scale: float = 1.0,
    name: str = "person 1",
    occluded: tuple[str, ...] = (),
    drop: tuple[str, ...] = (),
    move: dict[str, tuple[float, float]] | None = None,
    swap: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """A skeleton (JSON form) shaped like the rig's template, facing the camera.

    ``swap`` exchanges the positions of label pairs, the way a worker who
    clicked the wrong side would.
    """
    points = {k.label: (at[0] + k.x * scale, at[1] + k.y * scale) for k in rig.keypoints}
    for a, b in swap:
        points[a], points[b] = points[b], points[a]
    for label, (dx, dy) in (move or {}).items():
        points[label] = (points[label][0] + dx, points[label][1] + dy)
    annotations = [
        {"label": label, "x": round(x), "y": round(y), "visibility": 1 if label in occluded else 2}
        for label, (x, y) in points.items()
        if label not in drop
    ]
    return {"name": name, "annotations": annotations}


def submission(
    updated: list[dict[str, Any]] | str,
    original: list[dict[str, Any]] | str = "[]",
    **fields: Any,
) -> str:
    """An ``annotationData.content`` string as the labeling component submits it."""
    answer = {
        "updated_annotations": updated if isinstance(updated, str) else json.dumps(updated),
        "original_annotations": original if isinstance(original, str) else json.dumps(original),
        "image_s3_uri": "s3://pose-labeling-bucket/labeling_jobs/images/a.jpg",
        "image_name": "a.jpg",
        "image_width": "640",
        "image_height": "480",
        "no_changes_needed": "false",
        "total_time_in_seconds": "42",
    }
    answer.update(fields)
    return json.dumps({k: v for k, v in answer.items() if v is not None})


EVENTS = Path(__file__).resolve().parent.parent / "events"
BUCKET = "pose-labeling-bucket"


def event_file(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for everything boto3 does; fake credentials so nothing real is reachable."""
    from moto import mock_aws

    import handlers.groundtruth

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(handlers.groundtruth, "_s3_client", None)
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    import boto3

    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client
