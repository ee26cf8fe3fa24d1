"""Serving and driving the labeling component in headless Chromium, for the UI tests."""

from __future__ import annotations

import html
import io
import json
import os
import threading
import time
from collections.abc import Mapping
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Locator, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
COMPONENT_JS = REPO / "assets" / "crowd-2d-skeleton.js"
STAND_IN_JS = REPO / "assets" / "crowd-form.js"

#: The browser when the CHROMIUM environment variable is unset: Debian's package.
#: Playwright's own browser download is never used (it cannot work offline).
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMAGE_SIZE = (2400, 1600)


def chromium_path() -> str:
    """The one setting that picks the browser for every UI test and benchmark: the
    CHROMIUM environment variable (the Makefile exports its own CHROMIUM), else Debian's."""
    return os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM


def chromium_problem(path: str) -> str | None:
    """Why ``path`` cannot be launched, in one line, or None."""
    if Path(path).is_file() and os.access(path, os.X_OK):
        return None
    return (
        f"CHROMIUM={path} is not an executable file: run `make chromium` for Debian's package,"
        " or set CHROMIUM to a Chromium or Chrome binary (docs/development.md#chromium)"
    )


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless Chromium from :func:`chromium_path`."""
    path = chromium_path()
    problem = chromium_problem(path)
    if problem:
        raise RuntimeError(problem)
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


VIEWPORT = {"width": 1280, "height": 800}


@cache
def test_image_jpeg() -> bytes:
    """A large (2400x1600) deterministic test image: a gradient, a grid, a stick figure."""
    w, h = IMAGE_SIZE
    ramp = Image.linear_gradient("L")
    img = Image.merge(
        "RGB",
        (
            ramp.resize((w, h)),
            ramp.transpose(Image.Transpose.ROTATE_90).resize((w, h)),
            Image.new("L", (w, h), 150),
        ),
    )
    draw = ImageDraw.Draw(img)
    for x in range(0, w, 100):
        draw.line([(x, 0), (x, h)], fill=(90, 90, 90), width=1)
    for y in range(0, h, 100):
        draw.line([(0, y), (w, y)], fill=(90, 90, 90), width=1)
    draw.ellipse([1150, 250, 1250, 370], outline=(20, 20, 20), width=8)
    draw.line([(1200, 370), (1200, 800), (1100, 1300)], fill=(20, 20, 20), width=10)
    draw.line([(1200, 800), (1300, 1300)], fill=(20, 20, 20), width=10)
    draw.line([(1000, 600), (1200, 450), (1400, 600)], fill=(20, 20, 20), width=10)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class PageServer:
    """A local HTTP server (not file://) for the component, the stand-in and test pages."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.streamed: dict[str, tuple[list[bytes], float]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path in server.streamed:
                    self.stream(*server.streamed[path])
                    return
                if path == "/assets/crowd-2d-skeleton.js":
                    body, kind = COMPONENT_JS.read_bytes(), "application/javascript; charset=utf-8"
                elif path == "/stand-in.js":
                    body, kind = STAND_IN_JS.read_bytes(), "application/javascript; charset=utf-8"
                elif path == "/img/test.jpg":
                    body, kind = test_image_jpeg(), "image/jpeg"
                elif path in server.routes:
                    body, kind = server.routes[path]
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def stream(self, parts: list[bytes], pause: float) -> None:
                """An HTML page in parts, as a slow network or a streaming server sends it:
                no Content-Length, each part flushed, a pause between parts."""
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                for i, part in enumerate(parts):
                    if i:
                        time.sleep(pause)
                    self.wfile.write(part)
                    self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: str | bytes, kind: str = "text/html; charset=utf-8") -> str:
        self.routes[path] = (body.encode() if isinstance(body, str) else body, kind)
        return self.url + path

    def add_streamed(self, path: str, parts: list[str], pause: float) -> str:
        """Serve ``parts`` one after another with ``pause`` seconds between them."""
        self.streamed[path] = ([part.encode() for part in parts], pause)
        return self.url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def attributes(attrs: Mapping[str, Any]) -> str:
    """HTML attributes; dicts and lists become JSON, everything is escaped."""
    parts = []
    for name, value in attrs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f'{name}="{html.escape(text, quote=True)}"')
    return " ".join(parts)


READY_PROBE = """<script>
window.skeletonEvents = [];
for (const t of ["ready", "error", "change"])
  document.addEventListener("crowd-2d-skeleton:" + t, (e) => window.skeletonEvents.push([t, e.detail]));
</script>"""


def page_html(
    attrs: Mapping[str, Any], *, inner: str = "", wrapper: str = "crowd-form", extra: str = ""
) -> str:
    element = f"<crowd-2d-skeleton {attributes(attrs)}>{inner}</crowd-2d-skeleton>"
    if wrapper == "crowd-form":
        element = (
            "<crowd-form>"
            + element
            + '<crowd-button form-action="submit" style="display:none">Submit</crowd-button></crowd-form>'
        )
    elif wrapper == "form":
        element = f'<form action="/nowhere" method="post">{element}</form>'
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>test</title>
<script src="/stand-in.js"></script>{READY_PROBE}</head>
<body style="margin:0">{extra}{element}
<script src="/assets/crowd-2d-skeleton.js"></script></body></html>"""


class Skeleton:
    """The component on a page, driven the way a worker drives it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.el: Locator = page.locator("crowd-2d-skeleton").first

    def wait_ready(self) -> Skeleton:
        self.page.wait_for_function(
            "() => window.skeletonEvents && window.skeletonEvents.some(([t]) => t === 'ready' || t === 'error')"
        )
        errors = self.page.evaluate("() => window.skeletonEvents.filter(([t]) => t === 'error')")
        assert not errors, f"the component reported errors instead of getting ready: {errors}"
        self.page.evaluate("() => new Promise(requestAnimationFrame)")
        return self

    @property
    def state(self) -> dict[str, Any]:
        return self.el.evaluate("e => e.state")

    @property
    def value(self) -> list[dict[str, Any]]:
        return self.el.evaluate("e => e.value")

    def img_rect(self) -> dict[str, float]:
        return self.el.evaluate(
            """e => { const i = e.shadowRoot.querySelector('img'); const r = i.getBoundingClientRect();
            return {left: r.left, top: r.top, width: r.width, height: r.height, nw: i.naturalWidth, nh: i.naturalHeight}; }"""
        )

    def to_client(self, x: float, y: float) -> tuple[float, float]:
        r = self.img_rect()
        return r["left"] + x * r["width"] / r["nw"], r["top"] + y * r["height"] / r["nh"]

    def to_image(self, cx: float, cy: float) -> tuple[float, float]:
        """Image pixel under a client point, from the image's own on-screen box."""
        r = self.img_rect()
        return (cx - r["left"]) * r["nw"] / r["width"], (cy - r["top"]) * r["nh"] / r["height"]

    def click(self, x: float, y: float, *, shift: bool = False) -> tuple[float, float]:
        """Click the whole client pixel nearest image point (x, y); returns the image point clicked."""
        cx, cy = (round(c) for c in self.to_client(x, y))
        clicked = self.to_image(cx, cy)
        if shift:
            self.page.keyboard.down("Shift")
        self.page.mouse.click(cx, cy)
        if shift:
            self.page.keyboard.up("Shift")
        return clicked

    def drag(
        self,
        a: tuple[float, float],
        b: tuple[float, float],
        *,
        button: str = "left",
        steps: int = 8,
    ) -> None:
        """Drag between two client points."""
        self.page.mouse.move(*a)
        self.page.mouse.down(button=button)  # type: ignore[arg-type]
        self.page.mouse.move(*b, steps=steps)
        self.page.mouse.up(button=button)  # type: ignore[arg-type]

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def button(self, name: str) -> Locator:
        return self.el.locator(f"[data-act={name}]")

    def submit(self, *, confirm: bool = False) -> dict[str, str]:
        """Press Submit (and "Submit anyway" if asked to confirm); returns what the form sent."""
        before = self.page.evaluate("() => window.crowdFormSubmissions.length")
        self.button("submit").click()
        if confirm:
            self.button("confirmSubmit").click()
        self.page.wait_for_function(f"() => window.crowdFormSubmissions.length > {before}")
        return self.page.evaluate("() => window.crowdFormSubmissions.at(-1)")


#: One COCO person in the 2400x1600 test image, in rig order, points well apart on screen.
PERSON = [
    (1200, 300), (1232, 288), (1168, 288), (1262, 312), (1138, 312),
    (1400, 600), (1000, 600), (1460, 720), (940, 720), (1500, 840), (900, 840),
    (1300, 820), (1100, 820), (1310, 1060), (1090, 1060), (1300, 1300), (1100, 1300),
]  # fmt: skip


def rig_attributes(rig: str = "coco-person-17", **extra: Any) -> dict[str, Any]:
    from handlers.rig import load_rig

    attrs: dict[str, Any] = dict(load_rig(rig).component_attributes())
    attrs.update(
        imgSrc="/img/test.jpg", imageS3Uri="s3://pose-bucket/labeling_jobs/images/test.jpg"
    )
    attrs.update(extra)
    return attrs
