"""The deployed portal's sign-in: Cognito's hosted UI (authorization code + PKCE), played locally.

Three servers on 127.0.0.1, three origins as deployed: the portal (its files and the
config.json the stack writes), a stand-in for Cognito's hosted UI that checks what
Cognito checks (the client, the redirect URI, S256 PKCE: the verifier must hash to the
challenge), and the task API, which accepts only the access token the sign-in issued
(as the JWT authorizer does) and answers with the task service (local storage) through
``handlers.task_api.handle``, with CORS for the portal's origin only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.task_api import handle
from handlers.task_service import TaskService
from tests.handlers.runner_harness import COCO, Clock, local_service, manifest, spec
from tests.ui.harness import test_image_jpeg as image_jpeg
from tests.ui.portal import status, task, wait_saved

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CLIENT = "portal-client-id"
GROUP = "pose-workers"
JOB = "pose-job"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, Any]) -> str:
    """A token shaped like Cognito's (the fake API checks it by value, not signature)."""
    header = b64url(json.dumps({"alg": "none"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.sig"


@dataclass
class Cognito:
    """What the hosted UI and the token endpoint remember between the two calls."""

    user: str = "ana"
    groups: tuple[str, ...] = (GROUP,)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status_: int, body: bytes | str, kind: str, **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status_)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)


@dataclass
class Deployed:
    portal: str
    auth: str
    api: str
    cognito: Cognito
    service: TaskService


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Deployed]:
    cognito = Cognito()
    service = local_service(Clock(time.time()), tmp_path)
    template = render_worker_template(
        TEMPLATE_PATH.read_text(encoding="utf-8"), component_url="/component.js", rig=COCO
    )
    service.template = lambda: template  # the component from the portal's origin, not a CDN
    service.register(spec(JOB, time_limit=600), manifest(2), arn="arn:job")
    urls: dict[str, str] = {}

    class Portal(Quiet):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/portal/config.json":
                config = {
                    "api_url": urls["api"],
                    "auth_domain": urls["auth"],
                    "client_id": CLIENT,
                    "region": "us-east-1",
                    "redirect_uri": urls["portal"] + "/portal/",
                }
                self.reply(200, json.dumps(config), "application/json")
                return
            if path.startswith("/images/"):
                self.reply(200, image_jpeg(), "image/jpeg")
                return
            name = path.removeprefix("/portal/") or "index.html"
            file = REPO / "assets" / f"portal/{name}"
            if name == "crowd-form.js":
                file = REPO / "assets" / "crowd-form.js"
            elif path == "/component.js":
                file = REPO / "assets" / "crowd-2d-skeleton.js"
            kinds = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
            if not file.is_file():
                self.reply(404, "not found", "text/plain")
                return
            self.reply(200, file.read_bytes(), kinds.get(file.suffix, "text/plain"))

    class HostedUi(Quiet):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            expected = {
                "response_type": "code",
                "client_id": CLIENT,
                "redirect_uri": urls["portal"] + "/portal/",
                "code_challenge_method": "S256",
            }
            wrong = [k for k, v in expected.items() if query.get(k) != v]
            if url.path != "/oauth2/authorize" or wrong or "openid" not in query["scope"].split():
                cognito.refused.append(f"authorize: {wrong or query}")
                self.reply(400, "invalid_request", "text/plain")
                return
            code = secrets.token_urlsafe(8)
            cognito.codes[code] = query
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            self.reply(302, "", "text/plain", Location=back)

        def do_OPTIONS(self) -> None:
            self.reply(204, "", "text/plain", **self.cors())

        def cors(self) -> dict[str, str]:
            return {
                "Access_Control_Allow_Origin": urls["portal"],
                "Access_Control_Allow_Headers": "content-type",
                "Access_Control_Allow_Methods": "POST",
            }

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            asked = cognito.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if (
                urlsplit(self.path).path != "/oauth2/token"
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != CLIENT
                or asked is None
                or form.get("redirect_uri") != asked["redirect_uri"]
                or b64url(hashlib.sha256(verifier.encode()).digest()) != asked["code_challenge"]
            ):
                cognito.refused.append(f"token: {form}")
                self.reply(400, '{"error": "invalid_grant"}', "application/json", **self.cors())
                return
            claims = {
                "sub": f"sub-{cognito.user}",
                "username": cognito.user,
                "client_id": CLIENT,
                "cognito:groups": list(cognito.groups),
                "iss": urls["auth"],
                "exp": int(time.time()) + 3600,
            }
            access = jwt(claims)
            cognito.tokens[access] = claims
            tokens = {"access_token": access, "id_token": jwt(claims), "expires_in": 3600}
            self.reply(
                200,
                json.dumps(tokens | {"token_type": "Bearer"}),
                "application/json",
                **self.cors(),
            )

    class Api(Quiet):
        def cors(self) -> dict[str, str]:
            return {
                "Access_Control_Allow_Origin": urls["portal"],
                "Access_Control_Allow_Headers": "authorization,content-type",
                "Access_Control_Allow_Methods": "GET,POST,OPTIONS",
            }

        def do_OPTIONS(self) -> None:
            self.reply(204, "", "text/plain", **self.cors())

        def do_GET(self) -> None:
            self.route("GET")

        def do_POST(self) -> None:
            self.route("POST")

        def route(self, method: str) -> None:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            claims = cognito.tokens.get(token)
            if claims is None:  # the JWT authorizer: no valid token, no request
                self.reply(401, '{"message": "Unauthorized"}', "application/json", **self.cors())
                return
            parts = urlsplit(self.path).path.strip("/").split("/")
            params = {"job": parts[1]} if len(parts) > 1 else {}
            if len(parts) > 3:
                params["task"] = parts[3]
            route = {
                1: "GET /jobs",
                3: "POST /jobs/{job}/next",
                5: f"POST /jobs/{{job}}/tasks/{{task}}/{parts[-1]}",
            }[len(parts)]
            length = int(self.headers.get("Content-Length", "0"))
            event = {
                "routeKey": route if route.startswith(method) else f"{method} ?",
                "pathParameters": params,
                "body": self.rfile.read(length).decode(),
                # API Gateway passes a list claim on as "[a b]".
                "requestContext": {
                    "authorizer": {
                        "jwt": {
                            "claims": {
                                **claims,
                                "cognito:groups": f"[{' '.join(claims['cognito:groups'])}]",
                            }
                        }
                    }
                },
            }
            response = handle(event, service, group=GROUP, region="us-east-1")
            self.reply(response["statusCode"], response["body"], "application/json", **self.cors())

    servers = []
    for name, handler in (("portal", Portal), ("auth", HostedUi), ("api", Api)):
        server, urls[name] = serve(handler)
        servers.append(server)
    yield Deployed(urls["portal"], urls["auth"], urls["api"], cognito, service)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_portal_signs_in_with_pkce_and_labels_with_the_access_token(page, deployed):
    page.goto(deployed.portal + "/portal/")
    page.locator("#job-list button").wait_for()  # signed in: the jobs are listed
    assert deployed.cognito.refused == []
    assert page.url == deployed.portal + "/portal/"  # the code and state are gone
    assert page.locator("#who").inner_text() == "ana"
    assert page.locator("#sign-out").is_visible()
    stored = json.loads(page.evaluate("() => sessionStorage.getItem('pose-portal:tokens')"))
    assert stored["access_token"] in deployed.cognito.tokens
    page.locator("#job-list button").click()
    sk = task(page)
    sk.button("submit").click()  # nothing to place: an empty answer is an answer
    image = page.locator("#task iframe").get_attribute("title").split(": ", 1)[1]
    wait_saved(page, image)
    [line] = deployed.service._output_lines(deployed.service.job(JOB), include_open=False)
    assert line["pose"]["workers"][0]["worker_id"] == "private.us-east-1.sub-ana"


def test_portal_shows_a_signed_in_stranger_why_there_is_no_work(page, deployed):
    deployed.cognito.groups = ("other-team",)
    page.goto(deployed.portal + "/portal/")
    page.locator("#status[role=alert]").wait_for()
    assert status(page) == f"you are signed in, but not a member of the work team ({GROUP})"
