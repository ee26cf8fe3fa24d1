"""One review round, offline, in Chromium: label, select, review in the preview, merge.

Round one is labeled in the preview (the pre-annotated sample with its wrists swapped,
confirmed with "No changes needed": the QA check flags it); review_job writes the
review manifest; the preview opened on it shows the reasons in the component and
round one's skeletons; the reviewer swaps the wrists back and submits; the merged
export holds the correction, marked as round one's review. And the review page's
workers table sorts by the column clicked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from scripts import export_results, review_job
from scripts.draw_skeletons import review_page
from scripts.preview import Preview
from scripts.preview_samples import SAMPLES
from scripts.worker_scores import WorkerScore
from tests.ui.portal import FrameSkeleton, open_portal, running_preview, task, wait_saved

pytestmark = pytest.mark.browser

REVIEW_JOB = "pose-labeling-preview-review-1"


def open_task(page: Any, p: Preview, image: str) -> FrameSkeleton:
    """The preview's task of ``image``, opened in the portal."""
    index = next(i for i, line in enumerate(p.job.manifest) if line["source-ref"].endswith(image))
    open_portal(page, p, task_id=index)
    return task(page, image)


def saved_line(path: Path, image: str) -> dict[str, Any]:
    """The output-manifest line of ``image``, once the preview has written it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists():
            for text in path.read_text().splitlines():
                line = json.loads(text)
                if line["source-ref"].endswith("/" + image):
                    return line
        time.sleep(0.05)
    raise AssertionError(f"{path} never got a line for {image}")


def test_offline_review_round_from_labels_to_the_merged_export(page: Any, tmp_path: Path) -> None:
    first, second = tmp_path / "round-1", tmp_path / "round-2"
    image = "two-people.jpg"
    with running_preview(["--output", str(first)]) as p:
        sk = open_task(page, p, image)
        sk.el.locator("input[name=no-changes]").check()
        sk.button("submit").click()
        wait_saved(page, image)
        round_one = saved_line(p.job.output_manifest, image)
        first_manifest = p.job.output_manifest
    skeletons = round_one["label-results"]["updated_annotations"]
    assert [f["flag"] for f in round_one["label-results"]["qa_flags"]] == ["left_right_swap"]

    manifest = tmp_path / "review.manifest"
    argv = [str(first_manifest), "--manifest-only", "--manifest-out", str(manifest)]
    assert review_job.main([*argv, "--off", "audit"]) == 0
    [sent] = [json.loads(line) for line in manifest.read_text().splitlines()]
    reasons = [r["reason"] for r in sent["review"]["reasons"]]
    assert reasons and reasons[0].startswith('skeleton 1 ("detector person 2"): left and right')

    images = first / "sample-images"
    with running_preview(["--manifest", str(manifest), "--images", str(images),
                          "--output", str(second), "--job-name", REVIEW_JOB]) as p:  # fmt: skip
        sk = open_task(page, p, image)
        assert sk.el.locator(".issues li").all_inner_texts() == reasons
        assert sk.value == skeletons  # round one's label is the starting point
        sk.el.locator(".card [data-act=row]", has_text="left_wrist").click()
        sk.press("g")  # swap it with its counterpart
        sk.button("submit").click()
        wait_saved(page, image)
        reviewed = saved_line(p.job.output_manifest, image)
        second_manifest = p.job.output_manifest
    assert reviewed["review"] == sent["review"]  # the key came through the round unchanged

    out = tmp_path / "export"
    code = export_results.main(
        [str(first_manifest), "--review", str(second_manifest),
         "--images", str(images), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    coco = json.loads((out / "coco_keypoints.json").read_text())
    [entry] = coco["images"]
    [annotation] = coco["annotations"]
    assert entry["provenance"] == {"job": REVIEW_JOB, "round": 1, "changed": True}
    assert annotation["provenance"] == entry["provenance"]
    # The wrists are where the drawn figure has them again: the swap is corrected.
    figure = next(s for s in SAMPLES if s.name == image).figures[1].joints()
    flat = annotation["keypoints"]  # [x, y, v] in the category's keypoint order
    labels = coco["categories"][0]["keypoints"]
    placed = {label: (flat[3 * i], flat[3 * i + 1]) for i, label in enumerate(labels)}
    for wrist in ("left_wrist", "right_wrist"):
        assert placed[wrist] == pytest.approx(figure[wrist], abs=1)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["review"]["rounds"][0]["by_reason"] == {
        "left_right_swap": {"sent": 1, "labeled": 1, "changed": 1}
    }


def test_review_page_sorts_the_workers_by_the_column_clicked(page: Any, server: Any) -> None:
    rows = [
        WorkerScore("private.us-east-1.b", images=10, disagreeing=0.05),
        WorkerScore("private.us-east-1.a", images=9, disagreeing=None),  # nothing compared
        WorkerScore("private.us-east-1.c", images=120, disagreeing=0.3),
    ]
    html = review_page([], title="Review: job", summary=[], scores=rows)
    page.goto(server.add("/page/review-scores", html))

    def order() -> list[str]:
        return page.locator("table.sortable tbody tr td:first-child").all_inner_texts()

    header = page.locator("table.sortable th", has_text="disagree")
    header.click()
    assert order() == ["private.us-east-1.b", "private.us-east-1.c", "private.us-east-1.a"]
    header.click()
    assert order() == ["private.us-east-1.c", "private.us-east-1.b", "private.us-east-1.a"]
    page.locator("table.sortable th", has_text="images").click()  # 120 after 10: numbers
    assert order() == ["private.us-east-1.a", "private.us-east-1.b", "private.us-east-1.c"]
    page.locator("table.sortable th", has_text="worker").click()
    assert order() == ["private.us-east-1.a", "private.us-east-1.b", "private.us-east-1.c"]
    assert page.page_errors == []
