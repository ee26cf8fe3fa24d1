"""Worker submissions and output-manifest lines shaped as the real ones, for export tests.

Submissions follow the worker-submission contract in docs/contracts.md (every value a
string); labels come from the handlers' own consolidation (``build_label``),
and metadata is written in either of Ground Truth's two spellings.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.label import build_label
from handlers.rig import Rig
from handlers.submission import parse_answer

Points = dict[str, tuple[float, float, int]]


def skeleton(name: str, points: Points) -> dict[str, Any]:
    return {
        "name": name,
        "annotations": [
            {"label": label, "x": x, "y": y, "visibility": v} for label, (x, y, v) in points.items()
        ],
    }


def submission(
    skeletons: list[dict[str, Any]],
    *,
    image_s3_uri: str,
    width: int,
    height: int,
    original: list[dict[str, Any]] | None = None,
    no_changes_needed: bool = False,
    seconds: float = 10.0,
) -> dict[str, str]:
    """What the labeling component puts in the crowd-form: strings only."""
    return {
        "updated_annotations": json.dumps(skeletons),
        "original_annotations": json.dumps(original or []),
        "image_s3_uri": image_s3_uri,
        "image_name": image_s3_uri.rsplit("/", 1)[-1],
        "image_width": str(width),
        "image_height": str(height),
        "no_changes_needed": "true" if no_changes_needed else "false",
        "total_time_in_seconds": str(seconds),
    }


def metadata(job: str, *, documented_spelling: bool = False) -> dict[str, str]:
    if documented_spelling:  # as AWS's documentation spells it
        return {
            "type": "groundTruth/custom",
            "job_name": job,
            "human-annotated": "yes",
            "creation_date": "2025-03-14T10:00:00.000000",
        }
    return {  # as real output manifests spell it
        "type": "groundtruth/custom",
        "job-name": job,
        "human-annotated": "yes",
        "creation-date": "2025-03-14T10:00:00.000000",
    }


def output_line(
    source_ref: str,
    answers: list[dict[str, str]],
    rig: Rig,
    *,
    index: int = 0,
    attribute: str = "pose",
    job: str = "pose-test-job",
    documented_spelling: bool = False,
    extra: dict[str, Any] | None = None,
) -> str:
    parsed = [
        parse_answer(
            json.dumps(a), worker_id=f"private.us-east-1.worker{i}", field=f"workers[{i}]", rig=rig
        )
        for i, a in enumerate(answers)
    ]
    label = build_label(str(index), parsed, data_object_s3_uri=source_ref, rig=rig)
    line = {
        "source-ref": source_ref,
        **(extra or {}),
        attribute: label.to_jsonable(),
        f"{attribute}-metadata": metadata(job, documented_spelling=documented_spelling),
    }
    return json.dumps(line)
