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
one of them comes with pre-annotations (wrists swapped on purpose). Files in
--images that the preview cannot serve (not .jpg, .jpeg or .png, or folders)
are listed on stderr with the reason. An image labeled already opens with its
saved skeletons as the starting point, as in an adjustment job. The rig and
the instructions default to the stack's defaults in Pulumi.yaml.

Only the preview's own pages can submit: each carries a token the server
checks, and a request from another origin is refused.

Examples:
  .venv/bin/python -m scripts.preview
  .venv/bin/python -m scripts.preview --images ~/photos --rig human-18
  .venv/bin/python -m scripts.preview --manifest my.manifest --images ~/photos
  make preview ARGS="--port 8000 --no-browser"
"""

from __future__ import annotations

import argparse
import hmac
import json
import mimetypes
import re
import secrets
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

import yaml

from components.s3_layout import IMAGES_PREFIX
from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.output_manifest import DEFAULT_LABEL_ATTRIBUTE
from handlers.rig import Rig, RigError, load_rig
from handlers.task_input import PRE_ANNOTATION_KEYS
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
#: The stack's settings and their defaults: the preview shows what `pulumi up` deploys.
PULUMI_YAML = REPO / "Pulumi.yaml"
#: Manifest lines name images as Ground Truth would see them in the stack's bucket.
BUCKET_PREFIX = f"s3://pose-labeling-preview/{IMAGES_PREFIX}"
#: The header that carries the page's token with a submission.
TOKEN_HEADER = "X-Preview-Token"  # noqa: S105 - a header name, not a secret


@dataclass
class PreviewJob:
    """Everything one preview serves: the images, their manifest lines and the template."""

    rig: Rig
    images: dict[str, Path]
    manifest: list[dict[str, Any]]
    label_attribute: str
    job_name: str
    output_dir: Path
    template: str  # stage 1 done
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Every task page carries it; a submission without it is refused.
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def output_manifest(self) -> Path:
        return self.output_dir / "output.manifest"


def stack_defaults(pulumi_yaml: Path = PULUMI_YAML) -> dict[str, Any]:
    """The ``default`` of every setting under ``config:`` in Pulumi.yaml."""
    project = yaml.safe_load(pulumi_yaml.read_text(encoding="utf-8"))
    return {key: spec.get("default") for key, spec in project.get("config", {}).items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = stack_defaults()
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
    parser.add_argument(
        "--rig",
        default=defaults["rig"],
        help=f"bundled rig name or rig JSON file (default: the stack's, {defaults['rig']})",
    )
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
    parser.add_argument(
        "--instructions",
        default=defaults["instructions"],
        help="worker instructions (default: the stack's, from Pulumi.yaml)",
    )
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


def read_manifest(path: Path, images: dict[str, Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The manifest's usable lines, each pointed at its image in the preview's bucket, and
    one line for each it skips (not JSON, no source-ref, an image not in --images)."""
    lines: list[dict[str, Any]] = []
    skipped: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{path}: line {number}"
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            skipped.append(f"{where}: not JSON ({exc.msg})")
            continue
        if not isinstance(line, dict) or not isinstance(line.get("source-ref"), str):
            skipped.append(f"{where}: expected an object with a source-ref")
            continue
        name = line["source-ref"].rsplit("/", 1)[-1]
        if name not in images:
            skipped.append(f"{where}: {line['source-ref']}: no usable {name} in --images")
            continue
        line["source-ref"] = BUCKET_PREFIX + name
        lines.append(line)
    return lines, skipped


def usable_images(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The images the preview can serve, by name, and one line for each entry it skips."""
    images: dict[str, Path] = {}
    skipped: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            skipped.append(f"{path}: a folder (only the images directly in --images are used)")
        elif not is_image(path.name):
            skipped.append(f"{path}: not one of {', '.join(IMAGE_SUFFIXES)}")
        else:
            images[path.name] = path
    return images, skipped


def build_job(args: argparse.Namespace) -> PreviewJob:
    try:
        rig = load_rig(args.rig)
    except RigError as exc:
        raise SystemExit(f"--rig: {exc}") from exc
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
    images, skipped = usable_images(folder)
    if args.manifest is not None:
        manifest, skipped_lines = read_manifest(args.manifest, images)
        skipped += skipped_lines
    else:
        manifest = []
        for name in images:
            # Raw keys, as in real manifests: S3 URIs are not URL-encoded.
            line: dict[str, Any] = {"source-ref": BUCKET_PREFIX + name}
            if name in pre:
                line["annotations"] = pre[name]
            manifest.append(line)
    for reason in skipped:
        print(f"preview: skipped {reason}", file=sys.stderr)
    if not manifest:
        what = f"--manifest {args.manifest}: no usable lines" if args.manifest else "no images"
        raise SystemExit(f"--images {folder}: {what} ({', '.join(sorted(IMAGE_SUFFIXES))})")
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
        images,
        manifest,
        args.label_attribute,
        args.job_name,
        output,
        template,
    )


def grant_read_access(uri: str) -> str:
    """Ground Truth presigns an S3 URI; the preview serves the image itself."""
    if not uri.startswith(BUCKET_PREFIX):
        raise ValueError(f"grant_read_access: {uri} is not an image of this preview")
    return "/images/" + quote(uri[len(BUCKET_PREFIX) :])


# The two calls into the Lambdas, each as Ground Truth makes it.
def run_pre_annotation(job: PreviewJob, event: dict[str, Any]) -> dict[str, Any]:
    from handlers import pre_annotation

    return pre_annotation.pre_annotate(event, job.rig)


def run_post_annotation(job: PreviewJob, event: dict[str, Any]) -> list[dict[str, Any]]:
    from handlers import post_annotation

    return post_annotation.consolidate_batch(event, job.rig)


def task_line(job: PreviewJob, index: int) -> dict[str, Any]:
    """The manifest line a task is built from. An image labeled already starts from its
    saved skeletons, as an adjustment job's task starts from the previous labels."""
    line = job.manifest[index]
    with job.lock:
        saved = job.labels.get(index)
    if saved is None:
        return line
    reopened = {k: v for k, v in line.items() if k not in PRE_ANNOTATION_KEYS}
    reopened["annotations"] = saved[job.label_attribute]["updated_annotations"]
    return reopened


def render_page(job: PreviewJob, index: int) -> str:
    response = run_pre_annotation(job, pre_annotation_event(task_line(job, index), job.job_name))
    page = render_task(job.template, response["taskInput"], grant_read_access)
    stand_in = f"/crowd-html-elements-stand-in.js?submit=/submit/{index}&token={job.token}"
    # Ground Truth shows the template inside its own standards-mode page.
    head = (
        f"<!doctype html><meta charset=utf-8><title>{escape(job.job_name)} #{index}</title>"
        "<style>crowd-2d-skeleton{--crowd-2d-skeleton-height:calc(100vh - 56px)}</style>"
    )
    return head + page.replace(CROWD_HTML_ELEMENTS_URL, stand_in)


def consolidate(job: PreviewJob, index: int, answer: dict[str, Any]) -> dict[str, Any]:
    """Run the post-annotation Lambda on one answer; write the output-manifest line."""
    line = job.manifest[index]
    event = post_annotation_event(
        job_name=job.job_name,
        label_attribute=job.label_attribute,
        dataset_object_id=str(index),
        source_ref=line["source-ref"],
        answer=answer,
    )
    [result] = run_post_annotation(job, event)
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


def refusal(job: PreviewJob, headers: Any, port: int) -> str | None:
    """Why a submission is refused, or None: it must come from one of the preview's own
    pages (its token, and its origin when the browser names one)."""
    own = {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    origin = headers.get("Origin")
    if origin is not None and origin not in own:
        return f"submission from {origin} refused: only the preview's own pages can submit"
    if not hmac.compare_digest(headers.get(TOKEN_HEADER, ""), job.token):
        return "submission without the page's token refused: reload the task page"
    return None


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

        def port(self) -> int:
            address = self.server.server_address
            assert isinstance(address, tuple)
            return int(address[1])

        def host_refused(self) -> bool:
            """Answer 421 to a request for another host name (a DNS-rebinding page)."""
            port = self.port()
            if self.headers.get("Host") in (f"127.0.0.1:{port}", f"localhost:{port}"):
                return False
            self.send(421, "this server answers only 127.0.0.1 and localhost", "text/plain")
            return True

        def do_GET(self) -> None:
            if self.host_refused():
                return
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
            if self.host_refused():
                return
            i = self.task_index("submit")
            if i is None:
                self.send(404, "not found", "text/plain")
                return
            refused = refusal(job, self.headers, self.port())
            if refused:
                print(f"preview: {refused}", file=sys.stderr)
                self.send(403, json.dumps({"error": refused}), "application/json")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                answer = json.loads(self.rfile.read(length))
                consolidate(job, i, answer)
            except Exception as exc:  # report to the page and the terminal, keep serving
                traceback.print_exc()
                error = {"error": f"{type(exc).__name__}: {exc}"}
                self.send(500, json.dumps(error), "application/json")
                return
            nxt = f"/task/{i + 1}" if i + 1 < len(job.manifest) else None
            saved = job.manifest[i]["source-ref"].rsplit("/", 1)[-1]
            body = {"output": str(job.output_manifest), "next": nxt, "saved": saved}
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
