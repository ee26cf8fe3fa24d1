"""The offline preview end to end: the local task service, the portal, the real template and
handlers, and the output manifest at Ground Truth's path in its format."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.preview import Preview
from tests.ui.harness import PERSON
from tests.ui.portal import (
    FrameSkeleton,
    open_portal,
    request,
    running_preview,
    status,
    task,
    wait_saved,
)

pytestmark = pytest.mark.browser

INSTRUCTIONS = "Click each keypoint in turn.\nN: not in the image.\nShift+click: occluded."
# The sample images, in the preview's (sorted) order.
ONE_PERSON, PARTLY_HIDDEN, TWO_PEOPLE = 0, 1, 2
CONSOLIDATED_KEYS = {
    "dataset_object_id",
    "data_object_s3_uri",
    "image_file_name",
    "image_s3_location",
    "original_annotations",
    "updated_annotations",
    "worker_id",
    "no_changes_needed",
    "was_modified",
    "total_time_in_seconds",
}


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    out = tmp_path_factory.mktemp("preview")
    argv = ["--output", str(out), "--label-attribute", "body-pose", "--instructions", INSTRUCTIONS]
    with running_preview(argv) as p:
        yield p


def output_line(path: Path, image: str) -> dict:
    """The output-manifest line of `image`, once the server has written it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(x) for x in path.read_text().splitlines()]
            found = [ln for ln in lines if ln["source-ref"].endswith("/" + image)]
            if found:
                assert len(found) == 1, f"{image} has {len(found)} lines"
                return found[0]
        time.sleep(0.05)
    raise AssertionError(f"{path} never got a line for {image}")


def open_task(page, preview: Preview, index: int) -> FrameSkeleton:
    open_portal(page, preview, task_id=index)
    return task(page, preview.job.manifest[index]["source-ref"].rsplit("/", 1)[-1])


def test_preview_labels_an_image_and_writes_the_output_manifest_line(page, preview):
    open_portal(page, preview)  # the portal opens the first image waiting for a label
    sk = task(page, "one-person.jpg")  # 1600x1067, no pre-annotations
    sk.place([(x * 2 / 3, y * 2 / 3) for x, y in PERSON])
    sk.button("submit").click()
    # Saved: the next image opens at once, and the portal says what was saved and where.
    path = preview.job.output_manifest
    assert f"✓ Saved one-person.jpg to {path}." in wait_saved(page, "one-person.jpg")
    assert path.parts[-4:] == ("pose-labeling-preview", "manifests", "output", "output.manifest")
    line = output_line(path, "one-person.jpg")
    source = "s3://pose-labeling-preview/labeling_jobs/images/one-person.jpg"
    assert list(line) == ["source-ref", "body-pose", "body-pose-metadata"]
    assert line["source-ref"] == source
    meta = line["body-pose-metadata"]
    assert {k: meta[k] for k in ("type", "job-name", "human-annotated")} == {
        "type": "groundtruth/custom",
        "job-name": "pose-labeling-preview",
        "human-annotated": "yes",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", meta["creation-date"])
    label = line["body-pose"]
    assert set(label) >= CONSOLIDATED_KEYS
    assert label["data_object_s3_uri"] == source
    assert label["image_file_name"] == "one-person.jpg"
    assert label["worker_id"] == "private.us-east-1.preview-worker"
    assert label["no_changes_needed"] is False and label["was_modified"] is True
    [person] = label["updated_annotations"]
    assert len(person["annotations"]) == 17
    assert person["annotations"][0]["label"] == "nose"
    # Where Ground Truth keeps them: the answer, and the post-annotation request.
    job = path.parents[2]
    [answer] = (job / "annotations" / "worker-response" / "iteration-1" / "0").glob("*.json")
    assert json.loads(answer.read_text())["answers"][0]["workerId"] == label["worker_id"]
    assert list((job / "annotations" / "consolidated-annotation").rglob("*.json"))


def test_preview_preannotation_kept_unchanged_is_not_modified(page, preview):
    index = next(i for i, ln in enumerate(preview.job.manifest) if "annotations" in ln)
    assert index == TWO_PEOPLE
    sk = open_task(page, preview, index)
    assert len(sk.value) == 1  # the pre-annotated person is shown
    sk.el.locator("input[name=no-changes]").check()
    sk.button("submit").click()
    wait_saved(page, "two-people.jpg")
    line = output_line(preview.job.output_manifest, "two-people.jpg")
    label = line["body-pose"]
    assert label["no_changes_needed"] is True
    assert label["was_modified"] is False
    assert line["annotations"] == preview.job.manifest[index]["annotations"]  # input keys kept


def test_preview_instructions_keep_their_line_breaks(page, preview):
    sk = open_task(page, preview, PARTLY_HIDDEN)
    sk.el.locator("details.instr summary").click()
    shown = sk.frame.locator("[slot=instructions]").inner_text()
    assert shown.splitlines() == INSTRUCTIONS.split("\n")


def test_preview_reopened_image_starts_from_its_saved_labels(page, preview):
    sk = open_task(page, preview, PARTLY_HIDDEN)
    sk.place([(x * 2 / 3, y * 2 / 3) for x, y in PERSON[:5]])
    sk.button("submit").click()
    sk.button("confirmSubmit").click()  # 12 keypoints left open
    wait_saved(page, "partly-hidden.jpg")
    saved = output_line(preview.job.output_manifest, "partly-hidden.jpg")["body-pose"]
    sk = open_task(page, preview, PARTLY_HIDDEN)
    assert "partly-hidden.jpg was labeled before" in status(page)
    assert sk.value == saved["updated_annotations"]  # the starting point, as in an adjustment job
    # Removing every skeleton and submitting asks first, and nothing is written until then.
    sk.el.locator("[data-act=deleteSkeleton]").click()
    sk.button("submit").click()
    confirm = sk.el.locator(".confirm")
    assert "This submits no skeletons and removes the 1 this task started with." in (
        confirm.inner_text()
    )
    sk.button("cancelSubmit").click()
    assert sk.submissions() == []
    assert output_line(preview.job.output_manifest, "partly-hidden.jpg")["body-pose"] == saved
    # Relabeled: the new answer replaces the label, and the line stays the only one.
    sk.button("submit").click()
    sk.button("confirmSubmit").click()
    wait_saved(page, "partly-hidden.jpg")
    relabeled = output_line(preview.job.output_manifest, "partly-hidden.jpg")["body-pose"]
    assert relabeled["updated_annotations"] == []
    assert relabeled["original_annotations"] == saved["updated_annotations"]


def leases(preview: Preview) -> list[tuple[int, str]]:
    tasks = preview.job.service.tasks.all_tasks(preview.job.job_name)
    return [(t.id, s.lease) for t in tasks for s in (*t.slots, t.revision) if s is not None]


def test_preview_refuses_a_request_from_another_origin(page, preview, server):
    before = leases(preview)
    # A page on another port of 127.0.0.1 posts a form-like request (no preflight).
    page.goto(server.add("/page/elsewhere", "<!doctype html><title>elsewhere</title>"))
    page.evaluate(
        """async (url) => { await fetch(url, {method: 'POST', mode: 'no-cors',
          headers: {'Content-Type': 'text/plain'}, body: '{}'}); }""",
        f"{preview.url}api/jobs/{preview.job.job_name}/next",
    )
    assert leases(preview) == before  # no task was leased for it


def test_preview_service_needs_the_pages_token_and_host(preview):
    origin = preview.url.rstrip("/")
    path = f"/api/jobs/{preview.job.job_name}/next"
    status_, body = request(
        preview, "POST", path, headers={"Origin": origin, "Authorization": "Bearer guessed"}
    )
    assert (status_, body) == (
        403,
        {"error": "request without the page's token refused: reload the page"},
    )
    token = {"Authorization": f"Bearer {preview.job.token}"}
    status_, body = request(
        preview, "POST", path, headers={"Origin": "http://127.0.0.1:1", **token}
    )
    assert status_ == 403
    assert "request from http://127.0.0.1:1 refused" in body["error"]
    # A DNS-rebinding page reaches the server under its own host name.
    status_, _ = request(preview, "POST", path, headers={"Host": "attacker.example", **token})
    assert status_ == 421
    status_, _ = request(
        preview, "GET", "/portal/config.json", headers={"Host": "attacker.example"}
    )
    assert status_ == 421  # nor can it read the token
    status_, body = request(preview, "GET", "/api/jobs", headers=token)
    assert status_ == 200 and [j["name"] for j in body["jobs"]] == ["pose-labeling-preview"]
