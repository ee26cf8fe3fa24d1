"""The offline preview end to end: real template, real Lambdas, output.manifest as Ground Truth writes it."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.preview import TOKEN_HEADER, Preview, start
from tests.ui.harness import PERSON, READY_PROBE, Skeleton

pytestmark = pytest.mark.browser

PROBE_SCRIPT = READY_PROBE.removeprefix("<script>").removesuffix("</script>")
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
    p = start(
        [
            "--no-browser",
            "--output",
            str(out),
            "--label-attribute",
            "body-pose",
            "--instructions",
            INSTRUCTIONS,
        ]
    )
    thread = threading.Thread(target=p.server.serve_forever, daemon=True)
    thread.start()
    yield p
    p.server.shutdown()
    p.server.server_close()


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


def open_task(page, preview: Preview, index: int) -> Skeleton:
    page.add_init_script(PROBE_SCRIPT)
    page.goto(f"{preview.url}task/{index}")
    return Skeleton(page).wait_ready()


def submit_and_go_on(sk: Skeleton, preview: Preview, index: int, *, confirm: bool = False) -> None:
    """Submit task ``index``; once it is saved the stand-in opens the next task at once."""
    with sk.page.expect_navigation(url=f"{preview.url}task/{index + 1}"):
        sk.button("submit").click()
        if confirm:
            sk.button("confirmSubmit").click()


def test_preview_labels_an_image_and_writes_the_output_manifest_line(page, preview):
    sk = open_task(page, preview, ONE_PERSON)  # 1600x1067, no pre-annotations
    for x, y in PERSON:
        sk.click(x * 2 / 3, y * 2 / 3)
    submit_and_go_on(sk, preview, ONE_PERSON)
    line = output_line(preview.job.output_manifest, "one-person.jpg")
    # The next image is open, and its banner says what was saved.
    banner = page.locator("#crowd-stand-in-banner")
    assert f"Saved one-person.jpg to {preview.job.output_manifest}." in banner.inner_text()
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
    assert label["no_changes_needed"] is False and label["was_modified"] is True
    [person] = label["updated_annotations"]
    assert len(person["annotations"]) == 17
    assert person["annotations"][0]["label"] == "nose"


def test_preview_preannotation_kept_unchanged_is_not_modified(page, preview):
    index = next(i for i, ln in enumerate(preview.job.manifest) if "annotations" in ln)
    assert index == TWO_PEOPLE
    sk = open_task(page, preview, index)
    assert len(sk.value) == 1  # the pre-annotated person is shown
    sk.el.locator("input[name=no-changes]").check()
    sk.submit()
    line = output_line(preview.job.output_manifest, "two-people.jpg")
    label = line["body-pose"]
    assert label["no_changes_needed"] is True
    assert label["was_modified"] is False
    assert line["annotations"] == preview.job.manifest[index]["annotations"]  # input keys kept


def test_preview_instructions_keep_their_line_breaks(page, preview):
    sk = open_task(page, preview, PARTLY_HIDDEN)
    sk.el.locator("details.instr summary").click()
    assert page.locator("[slot=instructions]").inner_text().splitlines() == INSTRUCTIONS.split("\n")


def test_preview_reopened_image_starts_from_its_saved_labels(page, preview):
    sk = open_task(page, preview, PARTLY_HIDDEN)
    for x, y in PERSON[:5]:
        sk.click(x * 2 / 3, y * 2 / 3)
    submit_and_go_on(sk, preview, PARTLY_HIDDEN, confirm=True)  # 12 keypoints left open
    saved = output_line(preview.job.output_manifest, "partly-hidden.jpg")["body-pose"]
    sk = open_task(page, preview, PARTLY_HIDDEN)
    assert sk.value == saved["updated_annotations"]  # the starting point, as in an adjustment job
    # Removing every skeleton and submitting asks first, and nothing is written until then.
    sk.el.locator("[data-act=deleteSkeleton]").click()
    sk.button("submit").click()
    confirm = sk.el.locator(".confirm")
    assert "This submits no skeletons and removes the 1 this task started with." in (
        confirm.inner_text()
    )
    sk.button("cancelSubmit").click()
    assert page.evaluate("() => window.crowdFormSubmissions") == []
    assert output_line(preview.job.output_manifest, "partly-hidden.jpg")["body-pose"] == saved


def test_preview_refuses_a_submission_from_another_origin(page, preview, server):
    before = preview.job.output_manifest.read_text() if preview.job.output_manifest.exists() else ""
    answer = {"updated_annotations": "[]", "original_annotations": "[]"}
    # A page on another port of 127.0.0.1 posts a form-like request (no preflight).
    page.goto(server.add("/page/elsewhere", "<!doctype html><title>elsewhere</title>"))
    page.evaluate(
        """async ([url, body]) => { await fetch(url, {method: 'POST', mode: 'no-cors',
          headers: {'Content-Type': 'text/plain'}, body}); }""",
        [f"{preview.url}submit/{ONE_PERSON}", json.dumps(answer)],
    )
    after = preview.job.output_manifest.read_text() if preview.job.output_manifest.exists() else ""
    assert after == before


def post(preview: Preview, headers: dict[str, str], path: str = "/submit/0") -> tuple[int, str]:
    host, port = preview.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", path, body=b"{}", headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_preview_submission_needs_the_pages_token_and_host(preview):
    origin = preview.url.rstrip("/")
    status, body = post(preview, {"Origin": origin, TOKEN_HEADER: "guessed"})
    assert (status, json.loads(body)) == (
        403,
        {"error": "submission without the page's token refused: reload the task page"},
    )
    status, body = post(preview, {"Origin": "http://127.0.0.1:1", TOKEN_HEADER: preview.job.token})
    assert status == 403
    assert "submission from http://127.0.0.1:1 refused" in body
    # A DNS-rebinding page reaches the server under its own host name.
    status, _ = post(preview, {"Host": "attacker.example", TOKEN_HEADER: preview.job.token})
    assert status == 421
