"""Driving the worker portal in Chromium: the preview (the task service's local mode) on a thread,
and the labeling component inside the portal's task frame."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Frame, Page

from scripts.preview import Preview, start
from tests.ui.harness import Skeleton

READY = """() => { const e = document.querySelector('crowd-2d-skeleton');
  return !!e && !!e.state && (e.state.ready || e.state.errors.length > 0); }"""


@contextmanager
def running_preview(argv: list[str]) -> Iterator[Preview]:
    preview = start(["--no-browser", *argv])
    thread = threading.Thread(target=preview.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield preview
    finally:
        preview.server.shutdown()
        preview.server.server_close()


class FrameSkeleton(Skeleton):
    """The component inside the portal's sandboxed task frame, driven with the page's mouse."""

    def __init__(self, page: Page, frame: Frame) -> None:
        self.page = page
        self.frame = frame
        self.el = frame.locator("crowd-2d-skeleton").first

    def wait_ready(self) -> FrameSkeleton:
        self.frame.wait_for_function(READY)
        errors = self.el.evaluate("e => e.state.errors")
        assert not errors, f"the component reported errors instead of getting ready: {errors}"
        self.frame.evaluate("() => new Promise(requestAnimationFrame)")
        return self

    def img_rect(self) -> dict[str, float]:
        rect = super().img_rect()  # in the frame's viewport
        box = self.page.locator("#task iframe").bounding_box()
        assert box is not None
        return rect | {"left": rect["left"] + box["x"], "top": rect["top"] + box["y"]}

    def place(self, points: list[tuple[float, float]]) -> None:
        """Click each image point in turn (the image's place is read once: clicks do not
        move it)."""
        r = self.img_rect()
        for x, y in points:
            cx = round(r["left"] + x * r["width"] / r["nw"])
            cy = round(r["top"] + y * r["height"] / r["nh"])
            self.page.mouse.click(cx, cy)

    def submissions(self) -> list[dict[str, str]]:
        return self.frame.evaluate("() => window.crowdFormSubmissions")


def task(page: Page, image: str | None = None) -> FrameSkeleton:
    """The task on screen (of ``image``, when given) once its component is ready."""
    frame_el = page.locator("#task iframe" + (f'[title$=": {image}"]' if image else ""))
    frame_el.wait_for()
    frame = frame_el.element_handle().content_frame()
    assert frame is not None
    return FrameSkeleton(page, frame).wait_ready()


def open_portal(
    page: Page, preview: Preview, *, worker: str | None = None, task_id: int | None = None
) -> None:
    query = []
    if worker:
        query.append(f"worker={worker}")
    if task_id is not None:
        query += [f"job={preview.job.job_name}", f"task={task_id}"]
    page.goto(f"{preview.url}portal/" + ("?" + "&".join(query) if query else ""))


def status(page: Page) -> str:
    return page.locator("#status").inner_text()


def wait_saved(page: Page, image: str) -> str:
    """The portal's confirmation once ``image`` is saved."""
    page.wait_for_function(
        "(image) => document.querySelector('#status').textContent.includes(`Saved ${image}`)",
        arg=image,
    )
    return status(page)


def request(
    preview: Preview, method: str, path: str, *, headers: dict[str, str], body: Any = None
) -> tuple[int, dict[str, Any]]:
    """A request to the preview's server from outside a browser."""
    host, port = preview.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, {"text": text}
    finally:
        connection.close()
