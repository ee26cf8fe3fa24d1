"""Label images in your browser, offline: the real worker template, component and Lambdas.

Serves, on 127.0.0.1, the worker template exactly as `pulumi up` renders it
(stage 1) and as Ground Truth fills it for each image (stage 2, python-liquid
with Ground Truth's filters; `grant_read_access` points at the local image).
Each page is built from the real pre-annotation Lambda's taskInput. On submit,
the real post-annotation Lambda consolidates the answer and the result is
written to OUTPUT/output.manifest in Ground Truth's format (the input line's
keys, then LABEL and LABEL-metadata). No AWS account is needed.

crowd-html-elements.js (served by AWS) cannot load offline: a small, clearly
labelled local stand-in for <crowd-form> and <crowd-button> takes its place.

Without --images, sample images are drawn (Pillow) into OUTPUT/sample-images;
one of them comes with pre-annotations (wrists swapped on purpose).

Examples:
  python -m scripts.preview
  python -m scripts.preview --images ~/photos --rig human-18
  python -m scripts.preview --manifest my.manifest --images ~/photos
  make preview ARGS="--port 8000 --no-browser"
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import sys
import threading
import traceback
import webbrowser
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from components.s3_layout import IMAGES_PREFIX
from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.output_manifest import DEFAULT_LABEL_ATTRIBUTE
from handlers.rig import BUNDLED_RIGS_DIR, RIG_FILE_ENV, Rig, RigError, load_rig
from scripts.gt_limits import label_attribute_name, labeling_job_name
from scripts.preview_groundtruth import (
    CROWD_HTML_ELEMENTS_URL,
    output_manifest_line,
    post_annotation_event,
    pre_annotation_event,
    render_task,
)
from scripts.preview_samples import write_samples
from scripts.s3 import IMAGE_SUFFIXES, is_image

REPO = Path(__file__).resolve().parent.parent
COMPONENT_JS = REPO / "assets" / "crowd-2d-skeleton.js"
STAND_IN_JS = Path(__file__).resolve().parent / "preview_stand_in.js"
#: Manifest lines name images as Ground Truth would see them in the stack's bucket.
BUCKET_PREFIX = f"s3://pose-labeling-preview/{IMAGES_PREFIX}"
DEFAULT_INSTRUCTIONS = (
    "Click each keypoint in the order shown beside the cursor.\n"
    "N: the keypoint is not in the image. Shift+click: it is there but hidden (occluded).\n"
    "After the last keypoint, the next click starts the next person."
)


@dataclass
class PreviewJob:
    """Everything one preview serves: the images, their manifest lines and the template."""

    rig: Rig
    rig_file: Path
    images: dict[str, Path]
    manifest: list[dict[str, Any]]
    label_attribute: str
    job_name: str
    output_dir: Path
    template: str  # stage 1 done
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def output_manifest(self) -> Path:
        return self.output_dir / "output.manifest"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.preview",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--images", type=Path, help="folder of images (default: drawn samples)")
    parser.add_argument(
        "--manifest",
        type=Path,
        help="input manifest (JSON Lines) with pre-annotations; source-ref file names are "
        "looked up in --images",
    )
    parser.add_argument("--rig", default="coco-person-17", help="bundled rig name or rig JSON file")
    parser.add_argument(
        "--label-attribute",
        type=label_attribute_name,
        default=DEFAULT_LABEL_ATTRIBUTE,
        help=f"label attribute name (default: {DEFAULT_LABEL_ATTRIBUTE})",
    )
    parser.add_argument(
        "--job-name", type=labeling_job_name, default="pose-labeling-preview", help="job name"
    )
    parser.add_argument("--output", type=Path, default=Path("preview-output"), help="output folder")
    parser.add_argument("--instructions", default=DEFAULT_INSTRUCTIONS, help="worker instructions")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    if args.images is not None and not args.images.is_dir():
        parser.error(f"--images {args.images}: not a folder")
    if args.manifest is not None and args.images is None:
        parser.error("--manifest needs --images: the folder that holds its images")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: expected 0-65535")
    return args


def read_manifest(path: Path) -> list[dict[str, Any]]:
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}: line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(line, dict) or not isinstance(line.get("source-ref"), str):
            raise SystemExit(f"{path}: line {number}: expected an object with a source-ref")
        lines.append(line)
    return lines


def build_job(args: argparse.Namespace) -> PreviewJob:
    try:
        rig = load_rig(args.rig)
    except RigError as exc:
        raise SystemExit(f"--rig: {exc}") from exc
    rig_file = (
        Path(args.rig) if args.rig.endswith(".json") else BUNDLED_RIGS_DIR / f"{args.rig}.json"
    )
    output = args.output
    output.mkdir(parents=True, exist_ok=True)
    pre: dict[str, list[dict[str, Any]]] = {}
    if args.images is None:
        folder = output / "sample-images"
        pre = write_samples(folder)
        if rig.name != "coco-person-17":  # the samples' pre-annotations use COCO labels
            pre = {}
    else:
        folder = args.images
    images = {p.name: p for p in sorted(folder.iterdir()) if is_image(p.name)}
    if args.manifest is not None:
        manifest = read_manifest(args.manifest)
        for given in manifest:
            name = given["source-ref"].rsplit("/", 1)[-1]
            if name not in images:
                raise SystemExit(f"{args.manifest}: {given['source-ref']}: no {name} in {folder}")
            given["source-ref"] = BUCKET_PREFIX + name
    else:
        manifest = []
        for name in images:
            # Raw keys, as in real manifests: S3 URIs are not URL-encoded.
            line: dict[str, Any] = {"source-ref": BUCKET_PREFIX + name}
            if name in pre:
                line["annotations"] = pre[name]
            manifest.append(line)
    if not manifest:
        raise SystemExit(f"--images {folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    with (output / "input.manifest").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(line) + "\n" for line in manifest)
    template = render_worker_template(
        TEMPLATE_PATH.read_text(encoding="utf-8"),
        component_url="/component.js",
        rig=rig,
        instructions=args.instructions,
    )
    if CROWD_HTML_ELEMENTS_URL not in template:
        print(f"note: the template does not load {CROWD_HTML_ELEMENTS_URL}", file=sys.stderr)
    return PreviewJob(
        rig,
        rig_file.resolve(),
        images,
        manifest,
        args.label_attribute,
        args.job_name,
        output,
        template,
    )


def use_rig_in_lambdas(rig_file: Path) -> None:
    """Give the Lambdas the rig as the Pulumi program does (an env var read at import)."""
    os.environ[RIG_FILE_ENV] = str(rig_file)
    for name in ("handlers.pre_annotation", "handlers.post_annotation"):
        sys.modules.pop(name, None)


def grant_read_access(uri: str) -> str:
    """Ground Truth presigns an S3 URI; the preview serves the image itself."""
    if not uri.startswith(BUCKET_PREFIX):
        raise ValueError(f"grant_read_access: {uri} is not an image of this preview")
    return "/images/" + quote(uri[len(BUCKET_PREFIX) :])


def render_page(job: PreviewJob, index: int) -> str:
    from handlers import pre_annotation

    response = pre_annotation.lambda_handler(
        pre_annotation_event(job.manifest[index], job.job_name)
    )
    page = render_task(job.template, response["taskInput"], grant_read_access)
    stand_in = f"/crowd-html-elements-stand-in.js?submit=/submit/{index}"
    # Ground Truth shows the template inside its own standards-mode page.
    head = (
        f"<!doctype html><meta charset=utf-8><title>{escape(job.job_name)} #{index}</title>"
        "<style>crowd-2d-skeleton{--crowd-2d-skeleton-height:calc(100vh - 56px)}</style>"
    )
    return head + page.replace(CROWD_HTML_ELEMENTS_URL, stand_in)


def consolidate(job: PreviewJob, index: int, answer: dict[str, Any]) -> dict[str, Any]:
    """Run the post-annotation Lambda on one answer; write the output-manifest line."""
    from handlers import post_annotation

    line = job.manifest[index]
    event = post_annotation_event(
        job_name=job.job_name,
        label_attribute=job.label_attribute,
        dataset_object_id=str(index),
        source_ref=line["source-ref"],
        answer=answer,
    )
    [result] = post_annotation.lambda_handler(event)
    label = result["consolidatedAnnotation"]["content"][job.label_attribute]
    out = output_manifest_line(
        line,
        label_attribute=job.label_attribute,
        consolidated=label,
        job_name=job.job_name,
        created=datetime.now(UTC).replace(tzinfo=None),
    )
    with job.lock:
        # One line per object, in manifest order, as Ground Truth writes it; submitting
        # an image again replaces its line.
        job.labels[index] = out
        text = "".join(json.dumps(job.labels[i]) + "\n" for i in sorted(job.labels))
        tmp = job.output_manifest.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(job.output_manifest)
    return out


def index_page(job: PreviewJob) -> str:
    rows = []
    for i, line in enumerate(job.manifest):
        name = line["source-ref"].rsplit("/", 1)[-1]
        done = "labeled" if i in job.labels else ("pre-annotated" if len(line) > 1 else "")
        rows.append(f'<li><a href="/task/{i}">{escape(name)}</a> {escape(done)}</li>')
    return (
        "<!doctype html><meta charset=utf-8><title>pose-labeling preview</title>"
        "<body style='font:15px system-ui;margin:2em'>"
        f"<h1>Offline preview: {escape(job.job_name)}</h1>"
        f"<p>Rig <b>{escape(job.rig.name)}</b>,"
        f" label attribute <b>{escape(job.label_attribute)}</b>."
        f" Results: <code>{escape(str(job.output_manifest))}</code></p>"
        f"<ol start=0>{''.join(rows)}</ol>"
    )


def make_server(job: PreviewJob, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def send(self, status: int, body: bytes | str, kind: str) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def task_index(self, prefix: str) -> int | None:
            match = re.fullmatch(rf"/{prefix}/(\d+)", self.path.split("?")[0])
            if match and int(match.group(1)) < len(job.manifest):
                return int(match.group(1))
            return None

        def do_GET(self) -> None:
            path = unquote(self.path.split("?")[0])
            html = "text/html; charset=utf-8"
            js = "application/javascript; charset=utf-8"
            if path == "/":
                self.send(200, index_page(job), html)
            elif path == "/component.js":
                self.send(200, COMPONENT_JS.read_bytes(), js)
            elif path == "/crowd-html-elements-stand-in.js":
                self.send(200, STAND_IN_JS.read_bytes(), js)
            elif path.startswith("/images/") and path[len("/images/") :] in job.images:
                image = job.images[path[len("/images/") :]]
                kind = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
                self.send(200, image.read_bytes(), kind)
            elif (i := self.task_index("task")) is not None:
                try:
                    self.send(200, render_page(job, i), html)
                except ValueError as exc:  # the pre-annotation Lambda rejected the line
                    self.send(422, f"<pre>pre-annotation Lambda: {escape(str(exc))}</pre>", html)
            else:
                self.send(404, "not found", "text/plain")

        def do_POST(self) -> None:
            i = self.task_index("submit")
            if i is None:
                self.send(404, "not found", "text/plain")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                answer = json.loads(self.rfile.read(length))
                consolidate(job, i, answer)
            except Exception as exc:  # report to the page and the terminal, keep serving
                traceback.print_exc()
                body: dict[str, str | None] = {"error": f"{type(exc).__name__}: {exc}"}
                self.send(500, json.dumps(body), "application/json")
                return
            nxt = f"/task/{i + 1}" if i + 1 < len(job.manifest) else None
            body = {"output": str(job.output_manifest), "next": nxt}
            self.send(200, json.dumps(body), "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


@dataclass
class Preview:
    server: ThreadingHTTPServer
    job: PreviewJob
    url: str
    open_browser: bool


def start(argv: list[str] | None = None) -> Preview:
    """Build the job and bind the server (not yet serving); used by main() and the tests."""
    args = parse_args(argv)
    job = build_job(args)
    use_rig_in_lambdas(job.rig_file)
    try:
        server = make_server(job, args.port)
    except OSError as exc:
        raise SystemExit(
            f"--port {args.port}: cannot listen on 127.0.0.1 ({exc.strerror})"
        ) from exc
    return Preview(
        server, job, f"http://127.0.0.1:{server.server_address[1]}/", not args.no_browser
    )


def main(argv: list[str] | None = None) -> int:
    preview = start(argv)
    server, job, url = preview.server, preview.job, preview.url
    print(f"Offline preview of {len(job.manifest)} image(s) with rig {job.rig.name}: {url}task/0")
    print(f"All images: {url}   Results: {job.output_manifest}   Stop: Ctrl+C", flush=True)
    if preview.open_browser:
        webbrowser.open(f"{url}task/0")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
