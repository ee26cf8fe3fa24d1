"""The task service behind API Gateway: payload 2.0 events in, JSON answers out."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

import handlers.task_api
from handlers.rig import RIG_FILE_ENV, deployed_rig
from handlers.task_api import MAX_BODY_CHARS, handle, lambda_handler
from handlers.task_service import TaskService
from tests.handlers.runner_harness import (
    ARN,
    BUCKET,
    REGION,
    TABLE,
    Clock,
    answer,
    aws_service,
    deployed_template,
    local_service,
    manifest,
    spec,
)

GROUP = "pose-labelers"
JOB = "pose-job"
SUB = "5f0a1c2e-0000-4000-8000-00000000abcd"


def event(
    route: str,
    *,
    job: str | None = JOB,
    task: str | None = None,
    body: Any = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) request that passed the JWT authorizer."""
    params = {k: v for k, v in {"job": job, "task": task}.items() if v is not None}
    if claims is None:
        claims = {
            "sub": SUB,
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool",
            "cognito:groups": f"[other {GROUP}]",  # how the authorizer passes a list on
            "client_id": "portal",
        }
    return {
        "version": "2.0",
        "routeKey": route,
        "pathParameters": params,
        "requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": None}}},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.fixture
def service(tmp_path: Path) -> TaskService:
    service = local_service(Clock(), tmp_path)
    service.register(spec(JOB), manifest(2), arn=ARN + JOB)
    return service


def call(service: TaskService, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handle(request, service, group=GROUP, region=REGION)
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_task_api_a_worker_lists_leases_and_submits(service):
    status, body = call(service, event("GET /jobs", job=None))
    assert status == 200
    assert body == {
        "jobs": [
            {
                "name": JOB,
                "title": "Pose labeling",
                "description": "Place the keypoints",
                "objects": 2,
                "labeled": 0,
                "time_limit": 300,
                "ends": service.job(JOB).ends,
            }
        ]
    }
    status, task = call(service, event("POST /jobs/{job}/next"))
    assert status == 200
    assert task["job"] == JOB and task["task"] in ("0", "1") and task["lease"]
    assert "<crowd-2d-skeleton" in task["html"]
    submit = event(
        "POST /jobs/{job}/tasks/{task}/submit",
        task=task["task"],
        body={"lease": task["lease"], "answer": answer(task["image_name"])},
    )
    status, receipt = call(service, submit)
    assert (status, receipt["saved"], receipt["consolidated"]) == (200, task["image_name"], True)
    [line] = service._output_lines(service.job(JOB), include_open=False)
    [worker] = line["pose"]["workers"]
    assert worker["worker_id"] == f"private.{REGION}.{SUB}"
    status, again = call(service, submit)
    assert status == 409 and "you hold no lease" in again["error"]  # the task is done


def test_task_api_release_gives_the_task_back(service):
    _, task = call(service, event("POST /jobs/{job}/next"))
    release = event(
        "POST /jobs/{job}/tasks/{task}/release", task=task["task"], body={"lease": task["lease"]}
    )
    assert call(service, release) == (200, {"released": True})
    status, body = call(service, release)
    assert status == 409 and "you hold no lease" in body["error"]


def test_task_api_says_when_there_is_no_task(service):
    for _ in range(2):
        call(service, event("POST /jobs/{job}/next"))
    status, body = call(service, event("POST /jobs/{job}/next"))
    assert status == 200 and body["task"] is None
    assert body["message"].startswith(f"no task for you in {JOB} now")


@pytest.mark.parametrize(
    ("claims", "status", "message"),
    [
        ({}, 401, "not signed in: sign in to the worker portal again"),
        ({"sub": SUB}, 403, f"not a member of the work team ({GROUP})"),
        ({"sub": SUB, "cognito:groups": "[others]"}, 403, "not a member of the work team"),
        ({"sub": SUB, "cognito:groups": [GROUP]}, 200, None),
    ],
)
def test_task_api_requires_the_work_teams_group(service, claims, status, message):
    got, body = call(service, event("GET /jobs", job=None, claims=claims))
    assert got == status
    if message:
        assert message in body["error"]


def answer_request(**body: Any) -> dict[str, Any]:
    return event("POST /jobs/{job}/tasks/{task}/submit", task="0", body=body)


@pytest.mark.parametrize(
    ("request_", "status", "message"),
    [
        (event("POST /jobs/{job}/next", job="bad_name"), 400, "not a labeling job name"),
        (event("POST /jobs/{job}/next", job="nope"), 404, "no job named nope"),
        (event("POST /jobs/{job}/next", body="{not json"), 400, "the request body is not JSON"),
        (event("POST /jobs/{job}/next", body="[1]"), 400, "not a JSON object"),
        (event("POST /jobs/{job}/next", body={"task": "x"}), 400, "not a task number"),
        (event("POST /jobs/{job}/next", body={"task": 7}), 404, f"{JOB} has no task 7"),
        (answer_request(answer={}), 400, "the request names no lease"),
        (answer_request(lease="l"), 400, "the request has no answer"),
        (answer_request(lease="l", answer="text"), 400, "the request has no answer"),
        (answer_request(lease="l", answer={}), 409, "you hold no lease on task 0"),
        (event("POST /jobs/{job}/tasks/{task}/submit", task="-1", body={}), 400, "task number"),
        (event("DELETE /jobs/{job}", body={"lease": "l"}), 404, "no route DELETE /jobs/{job}"),
    ],
)
def test_task_api_bad_requests_get_one_line(service, request_, status, message):
    got, body = call(service, request_)
    assert got == status
    assert message in body["error"]
    assert "\n" not in body["error"]


def test_task_api_refuses_a_body_too_large_before_reading_it(service):
    huge = json.dumps({"lease": "l", "answer": {"x": "a" * MAX_BODY_CHARS}})
    status, body = call(service, answer_request() | {"body": huge})
    assert status == 413 and f"over {MAX_BODY_CHARS:,} characters" in body["error"]


def test_task_api_reads_a_base64_body(service):
    _, task = call(service, event("POST /jobs/{job}/next"))
    raw = json.dumps({"lease": task["lease"], "answer": answer()}).encode()
    request = event("POST /jobs/{job}/tasks/{task}/submit", task=task["task"])
    request |= {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    assert call(service, request)[0] == 200


def test_task_api_an_unexpected_failure_is_logged_not_shown(service, monkeypatch, caplog):
    def broken(*args: Any) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service, "next", broken)
    with caplog.at_level(logging.ERROR, logger="handlers.task_api"):
        status, body = call(service, event("POST /jobs/{job}/next"))
    assert status == 500
    assert body == {"error": "the task service failed; try again (the details are in its log)"}
    assert "secret detail" in caplog.text


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> TaskService:
    """The Lambda's environment on moto: table, bucket, template and rig as deployed."""
    service = aws_service(Clock())
    service.objects.write(
        f"s3://{BUCKET}/infrastructure/ground_truth_templates/pose-skeleton.liquid.html",
        deployed_template().encode(),
        "text/html",
    )
    rigs = Path(__file__).resolve().parents[2] / "assets" / "rigs"
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(rigs))
    monkeypatch.setenv(RIG_FILE_ENV, "coco-person-17.json")
    monkeypatch.setenv("POSE_LABELING_TASKS_TABLE", TABLE)
    monkeypatch.setenv("POSE_LABELING_BUCKET", BUCKET)
    monkeypatch.setenv(
        "POSE_LABELING_TEMPLATE_S3_URI",
        f"s3://{BUCKET}/infrastructure/ground_truth_templates/pose-skeleton.liquid.html",
    )
    monkeypatch.setenv("POSE_LABELING_WORKTEAM_GROUP", GROUP)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setattr(handlers.task_api, "_clients", {})
    deployed_rig.cache_clear()
    yield service
    deployed_rig.cache_clear()


def test_task_api_lambda_handler_runs_the_service_from_its_environment(deployed):
    deployed.clock = time.time  # the Lambda's own clock
    deployed.register(spec(JOB), manifest(1), arn=ARN + JOB)
    response = lambda_handler(event("POST /jobs/{job}/next"))
    assert response["statusCode"] == 200, response["body"]
    task = json.loads(response["body"])
    assert f"https://{BUCKET}.s3.amazonaws.com/labeling_jobs/images/img-000.jpg?" in task["html"]
    response = lambda_handler(
        event(
            "POST /jobs/{job}/tasks/{task}/submit",
            task="0",
            body={"lease": task["lease"], "answer": answer("img-000.jpg")},
        )
    )
    assert json.loads(response["body"])["consolidated"] is True
    assert deployed.job(JOB).status == "Completed"


def test_task_api_lambda_handler_names_a_missing_setting(deployed, monkeypatch, caplog):
    monkeypatch.delenv("POSE_LABELING_TASKS_TABLE")
    with pytest.raises(RuntimeError, match="POSE_LABELING_TASKS_TABLE is not set"):
        lambda_handler(event("GET /jobs", job=None))


LAMBDA_ONLY = """
import importlib.abc, json, os, sys
BLOCKED = {"liquid", "markupsafe", "yaml", "PIL", "numpy", "orjson", "tqdm", "pulumi",
           "moto", "scripts", "components", "tests"}

class NotInTheLambda(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not in the Lambda runtime")
        return None

sys.meta_path.insert(0, NotInTheLambda())
import handlers.task_api, handlers.task_store_aws
from handlers.post_annotation import consolidate_batch
from handlers.pre_annotation import pre_annotate
from handlers.rig import load_rig
from handlers.task_groundtruth import payload_entry, post_annotation_event, pre_annotation_event
from handlers.task_template import render_task

rig = load_rig("coco-person-17")
line = {"source-ref": "s3://b/labeling_jobs/images/a.jpg"}
task_input = pre_annotate(pre_annotation_event(line, "arn:j"), rig)["taskInput"]
html = render_task(sys.stdin.read(), task_input, lambda uri: "https://signed/" + uri)
event = post_annotation_event(arn="arn:j", label_attribute="pose", output_prefix="s3://b/o/j/",
    max_workers=1, payload=[payload_entry(0, line["source-ref"], [("w", os.environ["ANSWER"])])])
[item] = consolidate_batch(event, rig)
print(json.dumps({"html": 'imgSrc="https://signed/s3://b/labeling_jobs/images/a.jpg"' in html,
                  "label": item["consolidatedAnnotation"]["content"]["pose"]["image_file_name"],
                  "imported": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""


def test_task_service_needs_only_what_the_lambda_runtime_has(tmp_path):
    """The task service's modules import, render a task and consolidate an answer with
    python-liquid, PyYAML, Pillow, scripts/ and components/ all unimportable: the Lambda
    runtime has the standard library and boto3."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", LAMBDA_ONLY],
        input=deployed_template(),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo), "ANSWER": json.dumps(answer("a.jpg"))},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"html": True, "label": "a.jpg", "imported": []}
