"""Ground Truth streams the task page: slotted instructions that arrive late still show."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.rig import load_rig
from scripts.preview_groundtruth import CROWD_HTML_ELEMENTS_URL, render_task
from tests.ui.harness import READY_PROBE

pytestmark = pytest.mark.browser

LOADS = 20
PAUSE = 0.3  # seconds between the two parts of the page
INSIGHTS = '<div slot="annotation-insights">Reviewer: check the wrists.</div>'
BOTH_SHOWN = """() => {
  const root = document.querySelector('crowd-2d-skeleton').shadowRoot;
  return !root.querySelector('details.instr').hidden && !root.querySelector('details.insights').hidden;
}"""


def worker_page() -> str:
    """The bundled worker template as Ground Truth serves it, plus an insights slot."""
    deployed = render_worker_template(
        TEMPLATE_PATH.read_text(encoding="utf-8"),
        component_url="/assets/crowd-2d-skeleton.js",
        rig=load_rig("coco-person-17"),
        instructions="Place every visible keypoint of each person.",
    ).replace(CROWD_HTML_ELEMENTS_URL, "/stand-in.js")
    task_input = {
        "image_s3_uri": "s3://b/labeling_jobs/images/test.jpg",
        "image_name": "test.jpg",
        "initial_values": "[]",
    }
    page = render_task(deployed, task_input, lambda uri: "/img/test.jpg")
    page = page.replace("</crowd-2d-skeleton>", INSIGHTS + "</crowd-2d-skeleton>", 1)
    return "<!doctype html>" + READY_PROBE + page


def split_after_opening_tag(page: str, slot: str) -> list[str]:
    """The page in two parts, cut right after the opening tag of the ``slot`` element."""
    match = re.search(rf'<div slot="{slot}"[^>]*>', page)
    assert match, f"no {slot} slot in the page"
    return [page[: match.end()], page[match.end() :]]


def test_instructions_and_insights_show_when_the_page_arrives_in_parts(page, server):
    page_text = worker_page()
    urls = [
        server.add_streamed(f"/streamed/{slot}", split_after_opening_tag(page_text, slot), PAUSE)
        for slot in ("instructions", "annotation-insights")
    ]
    missing = []
    for load in range(LOADS):  # each load a new document in the same tab
        page.goto(urls[load % 2], wait_until="domcontentloaded")  # all of it parsed
        try:
            page.wait_for_function(BOTH_SHOWN, timeout=1000)
        except PlaywrightTimeout:
            missing.append(urls[load % 2].rsplit("/", 1)[-1])
    assert missing == [], f"{len(missing)} of {LOADS} loads hid a slot, cut after: {missing}"
