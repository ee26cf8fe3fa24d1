"""The offline preview end to end: real template, real Lambdas, output.manifest as Ground Truth writes it."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.preview import Preview, start
from tests.ui.harness import PERSON, READY_PROBE, Skeleton

pytestmark = pytest.mark.browser

PROBE_SCRIPT = READY_PROBE.removeprefix("<script>").removesuffix("</script>")
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
    p = start(["--no-browser", "--output", str(out), "--label-attribute", "body-pose"])
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


def test_preview_labels_an_image_and_writes_the_output_manifest_line(page, preview):
    sk = open_task(page, preview, 0)  # one-person.jpg, 1600x1067, no pre-annotations
    for x, y in PERSON:
        sk.click(x * 2 / 3, y * 2 / 3)
    sk.submit()
    line = output_line(preview.job.output_manifest, "one-person.jpg")
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
    sk = open_task(page, preview, 1)
    sk.el.locator("details.instr summary").click()
    shown = page.locator("[slot=instructions]").inner_text()
    assert shown.splitlines()[0] == "Click each keypoint in the order shown beside the cursor."
    assert len(shown.splitlines()) == 3
