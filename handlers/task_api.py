"""The task service behind API Gateway (HTTP API, payload format 2.0, JWT authorizer).

Handler: ``handlers.task_api.lambda_handler``. Routes (every one behind the
authorizer):

=============================================  ======================================
``GET /jobs``                                  the jobs handing out tasks now
``POST /jobs/{job}/next``                      lease a task; body ``{"task": ID}`` to
                                               get one's own lease again (a reloaded
                                               page) or, in the preview, that task
``POST /jobs/{job}/tasks/{task}/submit``       ``{"lease": L, "answer": {...}}``
``POST /jobs/{job}/tasks/{task}/release``      ``{"lease": L}``: give the task back
=============================================  ======================================

The authorizer has checked the worker's Cognito token; :func:`identity` also
requires the work team's group (``POSE_LABELING_WORKTEAM_GROUP``) in its
``cognito:groups`` claim. Every answer is JSON; an error is ``{"error": "<one line>"}``
with the status that fits (400, 403, 404, 409, 413; 500 with the details in the log).
The offline preview's server builds the same events and calls :func:`handle`.

Environment: ``POSE_LABELING_RIG_FILE``, ``POSE_LABELING_TASKS_TABLE``,
``POSE_LABELING_BUCKET``, ``POSE_LABELING_TEMPLATE_S3_URI``,
``POSE_LABELING_WORKTEAM_GROUP``, ``POSE_LABELING_KMS_KEY_ID`` (production only).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from handlers.limits import MAX_ANSWER_CHARS
from handlers.rig import deployed_rig
from handlers.task_records import Identity
from handlers.task_service import ServiceError, TaskService

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

TABLE_ENV = "POSE_LABELING_TASKS_TABLE"
BUCKET_ENV = "POSE_LABELING_BUCKET"
TEMPLATE_ENV = "POSE_LABELING_TEMPLATE_S3_URI"
GROUP_ENV = "POSE_LABELING_WORKTEAM_GROUP"
KMS_ENV = "POSE_LABELING_KMS_KEY_ID"
#: The routes API Gateway sends here (each behind the JWT authorizer).
ROUTES = (
    "GET /jobs",
    "POST /jobs/{job}/next",
    "POST /jobs/{job}/tasks/{task}/submit",
    "POST /jobs/{job}/tasks/{task}/release",
)
#: A request body past this is refused before it is parsed (an answer plus its envelope).
MAX_BODY_CHARS = MAX_ANSWER_CHARS + 10_000
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_TASK_ID = re.compile(r"\d{1,8}")
_clients: dict[str, Any] = {}


class Refused(ServiceError):
    """A request refused before it reaches the service."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from handlers.task_store_aws import DynamoTaskTable, S3Objects

    objects = S3Objects(_client("s3"), kms_key_id=os.environ.get(KMS_ENV) or None)
    template_uri = _env(TEMPLATE_ENV)
    service = TaskService(
        tasks=DynamoTaskTable(_client("dynamodb"), _env(TABLE_ENV)),
        objects=objects,
        rig=deployed_rig(),
        template=lambda: objects.read(template_uri).decode("utf-8"),
    )
    return handle(event, service, group=_env(GROUP_ENV), region=_env("AWS_REGION"))


def handle(event: Mapping[str, Any], service: TaskService, *, group: str, region: str) -> dict:
    """Answer one API Gateway (payload 2.0) request with ``service``."""
    route = str(event.get("routeKey", ""))
    try:
        who = identity(event, group=group, region=region)
        return _response(200, _route(route, event, service, who))
    except ServiceError as exc:
        if exc.status >= 500:
            LOG.error("%s: %s", route, exc)
        return _response(exc.status, {"error": str(exc)})
    except Exception:
        LOG.exception("%s failed", route)
        return _response(
            500, {"error": "the task service failed; try again (the details are in its log)"}
        )


def identity(event: Mapping[str, Any], *, group: str, region: str) -> Identity:
    """The worker the authorizer let in, if they are in the work team's group."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if not isinstance(claims, Mapping) or not isinstance(claims.get("sub"), str):
        raise Refused(401, "not signed in: sign in to the worker portal again")
    if group not in _groups(claims.get("cognito:groups")):
        raise Refused(403, f"you are signed in, but not a member of the work team ({group})")
    sub = claims["sub"]
    return Identity(
        worker_id=f"private.{region}.{sub}",
        identity_data={
            "identityProviderType": "Cognito",
            "issuer": str(claims.get("iss", "")),
            "sub": sub,
        },
    )


def _groups(claim: Any) -> set[str]:
    """``cognito:groups``: a list, or as API Gateway passes it on, ``"[a b]"``."""
    if isinstance(claim, list):
        return {str(g) for g in claim}
    if isinstance(claim, str):
        return set(claim.strip("[]").replace(",", " ").split())
    return set()


def _route(
    route: str, event: Mapping[str, Any], service: TaskService, who: Identity
) -> dict[str, Any]:
    params = event.get("pathParameters") or {}
    if route not in ROUTES:
        raise Refused(404, f"no route {route}")
    if route == "GET /jobs":
        return {"jobs": [_job_summary(job) for job in service.jobs()]}
    job = _job_name(params)
    body = _body(event)
    if route == "POST /jobs/{job}/next":
        wanted = body.get("task")
        task = None if wanted is None else _task_id({"task": wanted})
        offer = service.next(job, who, task)
        return {"task": None, "message": offer} if isinstance(offer, str) else offer.to_jsonable()
    task = _task_id(params)
    lease = body.get("lease")
    if not isinstance(lease, str) or not lease:
        raise Refused(400, "the request names no lease: reload the task")
    if route == "POST /jobs/{job}/tasks/{task}/submit":
        answer = body.get("answer")
        if not isinstance(answer, dict):
            raise Refused(400, "the request has no answer (a JSON object of the form's fields)")
        return service.submit(job, task, who, lease, answer).to_jsonable()
    service.release(job, task, who, lease)
    return {"released": True}


def _job_summary(job: Any) -> dict[str, Any]:
    return {
        "name": job.name,
        "title": job.spec.title,
        "description": job.spec.description,
        "objects": job.total,
        "labeled": job.done,
        "time_limit": job.spec.time_limit,
        "ends": job.ends,
    }


def _job_name(params: Mapping[str, Any]) -> str:
    name = params.get("job")
    if not isinstance(name, str) or not _JOB_NAME.fullmatch(name):
        raise Refused(400, "the job name in the path is not a labeling job name")
    return name


def _task_id(params: Mapping[str, Any]) -> int:
    task = params.get("task")
    if not isinstance(task, str | int) or not _TASK_ID.fullmatch(str(task)):
        raise Refused(400, "the task in the request is not a task number")
    return int(task)


def _body(event: Mapping[str, Any]) -> dict[str, Any]:
    raw = event.get("body")
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise Refused(400, "the request body is not text")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except ValueError as exc:
            raise Refused(400, "the request body is not base64-encoded UTF-8") from exc
    if len(raw) > MAX_BODY_CHARS:
        raise Refused(413, f"the request is over {MAX_BODY_CHARS:,} characters")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, "the request body is not JSON") from exc
    if not isinstance(value, dict):
        raise Refused(400, "the request body is not a JSON object")
    return value


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: the task service needs it (redeploy the stack)")
    return value


def _client(service: str) -> Any:
    """One boto3 client per service for the container's life (creating one is slow)."""
    if service not in _clients:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "total_max_attempts": 5},
            # Image URLs are signed for the bucket's own regional endpoint (SigV4).
            signature_version="s3v4" if service == "s3" else None,
            s3={"addressing_style": "virtual"} if service == "s3" else None,
        )
        make: Any = boto3.client  # one call for both services (the stubs type each name)
        _clients[service] = make(service, config=config)
    return _clients[service]
