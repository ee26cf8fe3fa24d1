"""Three workers label a small job through the worker portal served by the local task service;
the export of the result is read back with pycocotools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from handlers.rig import load_rig
from scripts import export_results
from tests.ui.harness import PERSON, VIEWPORT
from tests.ui.portal import open_portal, running_preview, status, task, wait_saved

pytestmark = pytest.mark.browser

RIG = load_rig("coco-person-17")
WORKERS = ("ana", "ben", "cho")
#: Where each worker's clicks land, in image pixels (the samples are 1600x1067): the
#: test image's person at 2/3 scale, a few pixels off per worker.
JITTER = {"ana": (-3, 2), "ben": (0, 0), "cho": (4, -2)}


def truth(image: str, preannotated: dict[str, Any]) -> list[list[float]]:
    """The keypoints (x, y, v in rig order) each image should end up with."""
    if image == "two-people.jpg":
        by_label = {p["label"]: p for p in preannotated[image][0]["annotations"]}
        return [
            [by_label[k.label]["x"], by_label[k.label]["y"], by_label[k.label].get("visibility", 2)]
            if k.label in by_label
            else [0, 0, 0]
            for k in RIG.keypoints
        ]
    return [[x * 2 / 3, y * 2 / 3, 2] for x, y in PERSON]


def test_portal_three_workers_label_a_job_and_the_export_reads_in_pycocotools(
    browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "preview"
    with running_preview(["--output", str(out), "--workers", "3"]) as preview:
        pages = {}
        for name in WORKERS:
            context = browser.new_context(viewport=VIEWPORT)
            pages[name] = context.new_page()
            open_portal(pages[name], preview, worker=name)
        images = [line["source-ref"].rsplit("/", 1)[-1] for line in preview.job.manifest]
        for round_ in range(len(images)):  # each worker labels each image once
            for name in WORKERS:
                page = pages[name]
                sk = task(page)
                image = page.locator("#task iframe").get_attribute("title").split(": ", 1)[1]
                assert "worker " + name in page.locator("#who").inner_text()
                if image == "two-people.jpg":
                    sk.el.locator("input[name=no-changes]").check()  # the pre-annotation is right
                else:
                    dx, dy = JITTER[name]
                    sk.place([(x * 2 / 3 + dx, y * 2 / 3 + dy) for x, y in PERSON])
                sk.button("submit").click()
                saved = wait_saved(page, image)
                if round_ == len(images) - 1:
                    assert "no task for you" in saved  # every image has been theirs
        manifest = preview.job.output_manifest
        lines = [json.loads(x) for x in manifest.read_text().splitlines()]
        for page in pages.values():
            page.context.close()
    assert [line["source-ref"].rsplit("/", 1)[-1] for line in lines] == images
    for line in lines:
        label = line[preview.job.label_attribute]
        assert sorted(w["worker_id"].rsplit(".", 1)[-1] for w in label["workers"]) == sorted(
            WORKERS
        )
        assert label["agreement"]["mean_oks"] > 0.9

    export = tmp_path / "export"
    code = export_results.main(
        [str(manifest), "--rig", RIG.name, "--images", str(out / "sample-images"),
         "--out", str(export), "--max-pictures", "0", "--no-yolo"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    exported = COCO(str(export / "coco_keypoints.json"))
    assert sorted(img["file_name"] for img in exported.dataset["images"]) == sorted(images)
    # The consolidated skeletons are the ones the workers meant: evaluate the export against
    # the truth with pycocotools' own keypoint OKS.
    preannotated = {
        ln["source-ref"].rsplit("/", 1)[-1]: ln.get("annotations") for ln in preview.job.manifest
    }
    gt = {
        "images": exported.dataset["images"],
        "categories": exported.dataset["categories"],
        "annotations": [],
    }
    for img in exported.dataset["images"]:
        points = truth(img["file_name"], preannotated)
        xs = [x for x, _, v in points if v]
        ys = [y for _, y, v in points if v]
        box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        gt["annotations"].append(
            {
                "id": len(gt["annotations"]) + 1,
                "image_id": img["id"],
                "category_id": exported.dataset["categories"][0]["id"],
                "keypoints": [c for p in points for c in p],
                "num_keypoints": sum(1 for p in points if p[2]),
                "bbox": box,
                "area": box[2] * box[3],
                "iscrowd": 0,
            }
        )
    truth_coco = COCO()
    truth_coco.dataset = gt
    truth_coco.createIndex()
    results = [
        {**a, "score": 1.0} for a in exported.dataset["annotations"]
    ]  # every exported skeleton, as a detection
    evaluation = COCOeval(truth_coco, truth_coco.loadRes(results), iouType="keypoints")
    evaluation.params.kpt_oks_sigmas = np.array([k.sigma for k in RIG.keypoints])
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] > 0.95  # AP over OKS .50:.95


def test_portal_shows_the_services_error_and_takes_the_answer_again(page, tmp_path: Path):
    with running_preview(["--output", str(tmp_path)]) as preview:
        open_portal(page, preview)
        sk = task(page, "one-person.jpg")
        # The lease ends behind the worker's back (another window gave it back).
        [held] = [
            s
            for t in preview.job.service.tasks.all_tasks(preview.job.job_name)
            for s in t.slots
            if s is not None
        ]
        from tests.ui.portal import request

        headers = {"Authorization": f"Bearer {preview.job.token}"}
        code, _ = request(
            preview,
            "POST",
            f"/api/jobs/{preview.job.job_name}/tasks/0/release",
            headers=headers,
            body={"lease": held.lease},
        )
        assert code == 200
        sk.click(*[c * 2 / 3 for c in PERSON[0]])
        sk.button("submit").click()
        sk.button("confirmSubmit").click()
        banner = sk.frame.locator("#crowd-form-banner")
        banner.filter(has_text="Not saved").wait_for()
        assert banner.get_attribute("role") == "alert"
        assert "you hold no lease on task 0" in banner.inner_text()
        assert "You can submit again." in banner.inner_text()
        assert "Your answer was not saved: you hold no lease on task 0" in status(page)
        next_button = page.locator("#next")
        assert next_button.is_visible()
        assert not preview.job.output_manifest.exists()
        # The worker moves on; the image they gave back is not offered to them again.
        next_button.click()
        task(page, "partly-hidden.jpg")
