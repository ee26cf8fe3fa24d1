"""A small finished job for the review tests: real consolidation, reasons known in advance.

People are the COCO rig's template moved to ``at`` (387 px tall); workers never click
the same pixel (``shift``), and ``swap`` exchanges a worker's left_X and right_X.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.output_manifest import OutputManifestLine, parse_output_manifest_line
from handlers.rig import load_rig
from tests.scripts import manifests
from tests.scripts.manifests import Points

COCO = load_rig("coco-person-17")
WIDTH, HEIGHT = 1280, 720
JOB = "pose-job-1"
ATTRIBUTE = "label-results"
BUCKET = "pose-bucket"


def image(name: str, bucket: str = BUCKET) -> str:
    return f"s3://{bucket}/labeling_jobs/images/{name}"


def person(
    at: tuple[float, float] = (100, 50), *, shift: float = 0, swap: tuple[str, ...] = ()
) -> Points:
    points = {k.label: (at[0] + k.x + shift, at[1] + k.y - shift, 2) for k in COCO.keypoints}
    for joint in swap:
        left, right = f"left_{joint}", f"right_{joint}"
        points[left], points[right] = points[right], points[left]
    return points


def answer(uri: str, *people: Points, seconds: float = 30.0, **fields: Any) -> dict[str, str]:
    skeletons = [manifests.skeleton(f"person {i + 1}", p) for i, p in enumerate(people)]
    return manifests.submission(
        skeletons, image_s3_uri=uri, width=WIDTH, height=HEIGHT, seconds=seconds, **fields
    )


def labeled(
    uri: str,
    answers: list[dict[str, str]],
    *,
    index: int,
    job: str = JOB,
    extra: dict[str, Any] | None = None,
) -> str:
    """An output-manifest line of ``job`` (the label records its rig, as deployed)."""
    line = json.loads(
        manifests.output_line(
            uri, answers, COCO, index=index, attribute=ATTRIBUTE, job=job, extra=extra
        )
    )
    line[ATTRIBUTE]["rig"] = {"name": COCO.name, "fingerprint": COCO.fingerprint}
    return json.dumps(line)


def parse(text: str) -> OutputManifestLine:
    return parse_output_manifest_line(text, rig=COCO)


def small_job(bucket: str = BUCKET) -> list[str]:
    """Six lines: 1 clean, 2 blank, 3 one worker's knees and ankles swapped, 4 not labeled,
    5 not JSON, 6 one worker missed the second person."""
    a, b, c, d = (image(n, bucket) for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"))
    far = (600, 60)
    return [
        labeled(a, [answer(a, person(shift=s)) for s in (0, 2, -2)], index=0),
        "",
        labeled(
            b,
            [
                answer(b, person()),
                answer(b, person(shift=2)),
                answer(b, person(swap=("knee", "ankle"))),
            ],
            index=1,
        ),
        json.dumps({"source-ref": c}),
        "{not json",
        labeled(
            d,
            [
                answer(d, person(), person(far)),
                answer(d, person(shift=2), person(far, shift=2)),
                answer(d, person(shift=-2)),
            ],
            index=3,
        ),
    ]


def review_output(
    manifest_line: dict[str, Any],
    skeletons: list[dict[str, Any]] | None,
    *,
    job: str,
    index: int,
) -> str:
    """A review job's output line for one line of its manifest: the reviewer, shown the
    pre-annotations, submits ``skeletons``; None leaves the line unlabeled (the job
    stopped first), which Ground Truth writes as the input line alone."""
    if skeletons is None:
        return json.dumps(manifest_line)
    uri = manifest_line["source-ref"]
    shown = manifest_line.get("annotations") or []
    reviewer = manifests.submission(
        skeletons, image_s3_uri=uri, width=WIDTH, height=HEIGHT, original=shown, seconds=12.0
    )
    extra = {k: v for k, v in manifest_line.items() if k != "source-ref"}
    return labeled(uri, [reviewer], index=index, job=job, extra=extra)
