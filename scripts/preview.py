"""Label images in your browser, offline: the self-hosted runner's task service, run locally.

The preview is the local mode of the task service the self-hosted runner deploys
(handlers/task_service.py; docs/self-hosted.md): the same service, the same worker
portal and the same crowd-form, with the tasks in memory and the files under
--output instead of DynamoDB and S3. It registers one job (one task per image),
serves the portal on 127.0.0.1, and for each task renders the worker template
exactly as `pulumi up` and Ground Truth would (the real pre-annotation handler's
taskInput; grant_read_access points at the local image). Each answer is stored
where Ground Truth stores worker responses, the real post-annotation handler
consolidates it, and the output manifest is rewritten at Ground Truth's path,
OUTPUT/JOB/manifests/output/output.manifest, in its format. No AWS account is
needed.

Without --images, sample images are drawn (Pillow) into OUTPUT/sample-images;
one of them comes with pre-annotations (wrists swapped on purpose). Files in
--images that the preview cannot serve (not .jpg, .jpeg or .png, or folders)
are listed on stderr with the reason, and so are manifest lines it cannot use.
The index page lists every image; opening a labeled one starts from its label,
as in an adjustment job, and its new answer replaces it. The rig and the
instructions default to the stack's defaults in Pulumi.yaml. With --workers N,
each image waits for N answers, from N workers: open the portal as
/portal/?worker=NAME in a window per worker.

Only the preview's own pages reach its task service: each request carries the
page's token, a request from another origin is refused, and only requests for
127.0.0.1 or localhost are answered.

Examples:
  .venv/bin/python -m scripts.preview
  .venv/bin/python -m scripts.preview --images ~/photos --rig human-18
  .venv/bin/python -m scripts.preview --manifest my.manifest --images ~/photos
  .venv/bin/python -m scripts.preview --workers 3 --no-browser
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
import webbrowser
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml

from components.s3_layout import IMAGES_PREFIX
from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers import task_api
from handlers.output_manifest import DEFAULT_LABEL_ATTRIBUTE
from handlers.rig import Rig, RigError, load_rig
from handlers.task_groundtruth import (
    PREVIEW_ACCOUNT,
    job_arn,
    output_manifest_uri,
    output_prefix,
)
from handlers.task_records import JobSpec
from handlers.task_service import TaskService
from scripts.gt_limits import (
    TASK_LIFETIME,
    TASK_TIME_LIMIT,
    WORKERS,
    integer,
    label_attribute_name,
    labeling_job_name,
)
from scripts.preview_groundtruth import CROWD_HTML_ELEMENTS_URL, REGION
from scripts.preview_samples import write_samples
from scripts.s3 import IMAGE_SUFFIXES, is_image
from scripts.task_local import LocalObjects, LocalTaskTable

REPO = Path(__file__).resolve().parent.parent
COMPONENT_JS = REPO / "assets" / "crowd-2d-skeleton.js"
CROWD_FORM_JS = REPO / "assets" / "crowd-form.js"
PORTAL = REPO / "assets" / "portal"
#: The stack's settings and their defaults: the preview shows what `pulumi up` deploys.
PULUMI_YAML = REPO / "Pulumi.yaml"
#: The bucket the preview's folder stands for.
BUCKET = "pose-labeling-preview"
#: Manifest lines name images as Ground Truth would see them in the stack's bucket.
BUCKET_PREFIX = f"s3://{BUCKET}/{IMAGES_PREFIX}"
#: The work team's group every local worker is in.
GROUP = "preview-workers"
#: The header that names the worker (only the local server reads it).
WORKER_HEADER = "X-Pose-Worker"
DEFAULT_WORKER = "preview-worker"
_WORKER = re.compile(r"[A-Za-z0-9_-]{1,40}")
_API = re.compile(
    r"/api/jobs(?:/(?P<job>[^/]+)/(?:(?P<next>next)|tasks/(?P<task>[^/]+)/(?P<act>submit|release)))?"
)


@dataclass
class PreviewJob:
    """Everything one preview serves: the images, their manifest lines, the task service."""

    rig: Rig
    images: dict[str, Path]
    manifest: list[dict[str, Any]]
    label_attribute: str
    job_name: str
    output_dir: Path
    service: TaskService
    #: Every request of the preview's pages carries it; a request without it is refused.
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def output_manifest(self) -> Path:
        """Where Ground Truth would write the output manifest, in the local folder."""
        prefix = output_prefix(f"s3://{BUCKET}/", self.job_name)
        return Path(self.service.objects.location(output_manifest_uri(prefix)))


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
    parser.add_argument(
        "--workers",
        type=integer(*WORKERS),
        default=1,
        help="answers (from different workers) each image waits for, 1-9 (default: 1)",
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
    """Read the images and the manifest, and register them with a local task service."""
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
    keep_earlier_session(output, args.job_name)
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
    service = TaskService(
        LocalTaskTable(),
        LocalObjects(output, BUCKET, lambda uri: grant_read_access(images, uri)),
        rig,
        lambda: template,
    )
    spec = JobSpec(
        name=args.job_name,
        label_attribute=args.label_attribute,
        workers=args.workers,
        time_limit=TASK_TIME_LIMIT[1],
        lifetime=TASK_LIFETIME[1],
        manifest_uri=f"s3://{BUCKET}/input.manifest",
        output_path=f"s3://{BUCKET}/",
        title=f"Offline preview: {args.job_name}",
        description=f"Label the images with the {rig.name} rig",
        preview=True,
    )
    service.register(
        spec, manifest, arn=job_arn(args.job_name, region=REGION, account=PREVIEW_ACCOUNT)
    )
    return PreviewJob(rig, images, manifest, args.label_attribute, args.job_name, output, service)


def keep_earlier_session(output: Path, job_name: str) -> None:
    """A job folder an earlier run left (its labels, answers and output manifest) is moved
    aside whole, never overwritten: every run of the preview starts its job afresh."""
    folder = output / job_name
    if not folder.exists():
        return
    stamp = f"{job_name}.{datetime.now(UTC):%Y%m%d-%H%M%S}"
    kept = folder.with_name(stamp)
    n = 1
    while kept.exists():  # two runs within a second
        n += 1
        kept = folder.with_name(f"{stamp}-{n}")
    folder.rename(kept)
    print(
        f"preview: the earlier run's labels of {job_name} are kept in {kept};"
        " this run starts afresh",
        file=sys.stderr,
    )


def grant_read_access(images: dict[str, Path], uri: str) -> str:
    """Ground Truth presigns an S3 URI; the preview serves the image itself."""
    name = uri[len(BUCKET_PREFIX) :] if uri.startswith(BUCKET_PREFIX) else None
    if name is None or name not in images:
        raise ValueError(f"grant_read_access: {uri} is not an image of this preview")
    return "/images/" + quote(name)


def index_page(job: PreviewJob) -> str:
    rows = []
    for task in job.service.tasks.all_tasks(job.job_name):
        line = job.manifest[task.id]
        name = line["source-ref"].rsplit("/", 1)[-1]
        if task.state == "done":
            state = "labeled"
        elif task.state == "failed":
            state = f"cannot be labeled: {task.reason}"
        else:
            answers = f"{len(task.answers)} of {len(task.slots)} answers" if task.answers else ""
            state = answers or ("pre-annotated" if len(line) > 1 else "")
        link = f"/portal/?job={quote(job.job_name)}&task={task.id}"
        rows.append(f'<li><a href="{escape(link)}">{escape(name)}</a> {escape(state)}</li>')
    return (
        "<!doctype html><meta charset=utf-8><title>pose-labeling preview</title>"
        "<body style='font:15px system-ui;margin:2em'>"
        f"<h1>Offline preview: {escape(job.job_name)}</h1>"
        f"<p>Rig <b>{escape(job.rig.name)}</b>,"
        f" label attribute <b>{escape(job.label_attribute)}</b>."
        f" Results: <code>{escape(str(job.output_manifest))}</code></p>"
        "<p><a href='/portal/'>Label the images one after another</a> in the worker portal,"
        " or open one:</p>"
        f"<ol start=0>{''.join(rows)}</ol>"
    )


def refusal(job: PreviewJob, headers: Any, port: int) -> str | None:
    """Why a request to the task service is refused, or None: it must come from one of
    the preview's own pages (its token, and its origin when the browser names one)."""
    own = {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    origin = headers.get("Origin")
    if origin is not None and origin not in own:
        return f"request from {origin} refused: only the preview's own pages can use it"
    given = headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given, job.token):
        return "request without the page's token refused: reload the page"
    return None


def api_event(method: str, path: str, body: str, worker: str) -> dict[str, Any] | None:
    """The API Gateway (payload 2.0) event for a request to the local task service, as the
    deployed API sends it after its authorizer: the worker is signed in, in the group."""
    match = _API.fullmatch(path)
    if match is None:
        return None
    if match["job"] is None:
        route = "GET /jobs"
    elif match["next"]:
        route = "POST /jobs/{job}/next"
    else:
        route = f"POST /jobs/{{job}}/tasks/{{task}}/{match['act']}"
    if not route.startswith(method + " "):
        return None
    params = {k: unquote(v) for k, v in match.groupdict().items() if k in ("job", "task") and v}
    claims = {"sub": worker, "iss": "local preview", "cognito:groups": [GROUP]}
    return {
        "version": "2.0",
        "routeKey": route,
        "pathParameters": params,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"authorizer": {"jwt": {"claims": claims}}},
    }


def make_server(job: PreviewJob, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def send(self, status: int, body: bytes | str, kind: str) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(data)

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
            path = unquote(urlsplit(self.path).path)
            html = "text/html; charset=utf-8"
            js = "application/javascript; charset=utf-8"
            if path == "/":
                self.send(200, index_page(job), html)
            elif path == "/component.js":
                self.send(200, COMPONENT_JS.read_bytes(), js)
            elif path in ("/portal", "/portal/"):
                self.send(200, (PORTAL / "index.html").read_bytes(), html)
            elif path == "/portal/config.json":
                config = {"api_url": f"http://{self.headers['Host']}/api", "local": True}
                config["token"] = job.token
                self.send(200, json.dumps(config), "application/json")
            elif path == "/portal/crowd-form.js":
                self.send(200, CROWD_FORM_JS.read_bytes(), js)
            elif path.startswith("/portal/") and (PORTAL / path[len("/portal/") :]).is_file():
                name = path[len("/portal/") :]
                if "/" in name or name.startswith("."):
                    self.send(404, "not found", "text/plain")
                    return
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                self.send(200, (PORTAL / name).read_bytes(), kind)
            elif path.startswith("/images/") and path[len("/images/") :] in job.images:
                image = job.images[path[len("/images/") :]]
                kind = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
                self.send(200, image.read_bytes(), kind)
            elif path.startswith("/api/"):
                self.api("GET")
            else:
                self.send(404, "not found", "text/plain")

        def do_POST(self) -> None:
            if self.host_refused():
                return
            if not urlsplit(self.path).path.startswith("/api/"):
                self.send(404, "not found", "text/plain")
                return
            self.api("POST")

        def api(self, method: str) -> None:
            refused = refusal(job, self.headers, self.port())
            if refused:
                print(f"preview: {refused}", file=sys.stderr)
                self.send(403, json.dumps({"error": refused}), "application/json")
                return
            worker = self.headers.get(WORKER_HEADER) or DEFAULT_WORKER
            if not _WORKER.fullmatch(worker):
                self.send(
                    400,
                    json.dumps({"error": f"{WORKER_HEADER}: not a worker name"}),
                    "application/json",
                )
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
            event = api_event(method, urlsplit(self.path).path, body, worker)
            if event is None:
                self.send(404, json.dumps({"error": "no such route"}), "application/json")
                return
            response = task_api.handle(event, job.service, group=GROUP, region=REGION)
            if response["statusCode"] >= 500:
                print(f"preview: {response['body']} (the traceback is above)", file=sys.stderr)
            self.send(response["statusCode"], response["body"], "application/json")

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
    print(f"Offline preview of {len(job.manifest)} image(s) with rig {job.rig.name}: {url}portal/")
    print(f"All images: {url}   Results: {job.output_manifest}   Stop: Ctrl+C", flush=True)
    if preview.open_browser:
        webbrowser.open(f"{url}portal/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        finish(job)
    print(f"Stopped. Output manifest, every image listed: {job.output_manifest}")
    return 0


def finish(job: PreviewJob) -> None:
    """Stop the job as Ground Truth stops one: what has answers is consolidated, and the
    output manifest lists every image, those nobody labeled without a label (so a merge
    of a review round sees the images that were not reviewed)."""
    job.service.stop(job.job_name)


if __name__ == "__main__":
    raise SystemExit(main())
