"""The task service against moto (DynamoDB, S3), in-process: Ground Truth's contract, kept.

Leases, answers and consolidation on the AWS storage; a few checks run on the local
storage too (the preview's), since both go through the same service.
"""

from __future__ import annotations

import html
import json
import random
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from handlers.output_manifest import parse_output_manifest_line
from handlers.task_service import Assignment, Conflict, NotFound, TaskService
from tests.handlers.runner_harness import (
    ARN,
    BUCKET,
    COCO,
    Clock,
    answer,
    aws_service,
    local_service,
    manifest,
    spec,
    worker,
)

JOB = "pose-job"
PREFIX = f"labeling_jobs/output/{JOB}/"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(aws: None, clock: Clock) -> TaskService:
    return aws_service(clock)


@pytest.fixture(params=["aws", "local"])
def either(request: pytest.FixtureRequest, clock: Clock, tmp_path: Path) -> TaskService:
    if request.param == "local":
        return local_service(clock, tmp_path)
    request.getfixturevalue("aws")
    return aws_service(clock)


def register(service: TaskService, count: int = 3, **changes: Any) -> None:
    service.register(spec(JOB, **changes), manifest(count), arn=ARN + JOB)


def lease(service: TaskService, name: str, task: int | None = None) -> Assignment:
    offer = service.next(JOB, worker(name), task)
    assert isinstance(offer, Assignment), offer
    return offer


def label(service: TaskService, name: str, x: int = 100) -> Assignment:
    offer = lease(service, name)
    service.submit(JOB, offer.task, worker(name), offer.lease, answer(offer.image_name, x))
    return offer


def read(service: TaskService, key: str) -> bytes:
    return service.objects.read(f"s3://{BUCKET}/{key}")


def output_lines(service: TaskService) -> list[dict[str, Any]]:
    text = read(service, PREFIX + "manifests/output/output.manifest").decode()
    return [json.loads(line) for line in text.splitlines()]


def keys(service: TaskService, under: str) -> list[str]:
    client = service.objects.client
    if hasattr(client, "list_objects_v2"):
        listed = client.list_objects_v2(Bucket=BUCKET, Prefix=under).get("Contents", [])
        return sorted(o["Key"] for o in listed)
    root = service.objects.root
    return sorted(str(p.relative_to(root)) for p in (root / under).rglob("*.json"))


def consolidated_ids(service: TaskService) -> Counter[str]:
    """How often each object went to the post-annotation handler, from the payload files."""
    requests = PREFIX + "annotations/consolidated-annotation/consolidation-request/"
    return Counter(
        entry["datasetObjectId"]
        for key in keys(service, requests)
        for entry in json.loads(read(service, key))
    )


def test_task_service_job_runs_to_groundtruths_output(either):
    register(either, 3, workers=2)
    for name in ("ann", "bob"):
        for _ in range(3):
            label(either, name)
    lines = output_lines(either)
    assert [line["source-ref"] for line in lines] == [m["source-ref"] for m in manifest(3)]
    for i, line in enumerate(lines):
        assert list(line) == ["source-ref", "n", "pose", "pose-metadata"]
        assert line["n"] == i  # the input line's keys, unchanged
        meta = line["pose-metadata"]
        assert meta["type"] == "groundtruth/custom" and meta["job-name"] == JOB
        assert meta["human-annotated"] == "yes"
        parsed = parse_output_manifest_line(line, rig=COCO)
        assert parsed.label is not None and parsed.label.usable
        assert sorted(w.worker_id for w in parsed.label.workers) == [
            worker("ann").worker_id,
            worker("bob").worker_id,
        ]
    job = either.job(JOB)
    assert (job.status, job.done, job.failed) == ("Completed", 3, 0)
    assert job.output_manifest == f"s3://{BUCKET}/{PREFIX}manifests/output/output.manifest"
    assert consolidated_ids(either) == {"0": 1, "1": 1, "2": 1}
    assert either.next(JOB, worker("cy")) == f"{JOB} is Completed: it hands out no more tasks"


def test_task_service_writes_answers_and_requests_in_groundtruths_layout(service, clock):
    register(service, 1)
    offer = lease(service, "ann")
    clock.advance(42.5)
    service.submit(JOB, 0, worker("ann"), offer.lease, answer("img-000.jpg"))
    [response_key] = keys(service, PREFIX + "annotations/worker-response/")
    assert response_key == (
        PREFIX + "annotations/worker-response/iteration-1/0/2026-01-01_00:00:42-0.json"
    )
    [stored] = json.loads(read(service, response_key))["answers"]
    assert stored["workerId"] == worker("ann").worker_id
    assert stored["answerContent"] == answer("img-000.jpg")
    assert stored["acceptanceTime"] == "2026-01-01T00:00:00.000Z"
    assert stored["submissionTime"] == "2026-01-01T00:00:42.500Z"
    assert stored["timeSpentInSeconds"] == 42.5
    assert stored["workerMetadata"]["identityData"]["identityProviderType"] == "Cognito"
    [request_key] = keys(service, PREFIX + "annotations/consolidated-annotation/")
    assert "consolidation-request/iteration-1/2026-01-01_00:00:42-0.json" in request_key
    [entry] = json.loads(read(service, request_key))
    assert entry["dataObject"] == {"s3Uri": manifest(1)[0]["source-ref"]}
    [given] = entry["annotations"]
    assert json.loads(given["annotationData"]["content"]) == answer("img-000.jpg")


def test_task_service_renders_the_task_as_groundtruth_does(service):
    register(service, 1)
    offer = lease(service, "ann")
    assert offer.image_name == "img-000.jpg"
    assert 'imageS3Uri="s3://pose-labeling-bucket/labeling_jobs/images/img-000.jpg"' in offer.html
    src = offer.html.split('imgSrc="', 1)[1].split('"', 1)[0]
    assert src.startswith(f"https://{BUCKET}.s3.amazonaws.com/labeling_jobs/images/img-000.jpg?")
    assert "X-Amz-Expires=300" in src or "Expires=" in src  # signed for the lease's life
    assert "https://assets.crowd.aws/crowd-html-elements.js" in offer.html  # as Ground Truth
    assert "{{" not in offer.html


def test_task_service_never_gives_a_worker_the_same_object_twice(either):
    register(either, 2, workers=2)
    first = label(either, "ann")
    second = label(either, "ann")
    assert {first.task, second.task} == {0, 1}
    assert either.next(JOB, worker("ann")).startswith(f"no task for you in {JOB} now")


def test_task_service_refuses_a_second_answer_and_a_stranger(either):
    register(either, 2, workers=2)
    mine = lease(either, "ann")
    with pytest.raises(Conflict, match="leased to another worker"):
        either.submit(JOB, mine.task, worker("bob"), mine.lease, answer())
    with pytest.raises(Conflict, match=f"you hold no lease on task {mine.task}"):
        either.submit(JOB, mine.task, worker("bob"), "guessed", answer())
    either.submit(JOB, mine.task, worker("ann"), mine.lease, answer())
    with pytest.raises(Conflict, match=f"you have submitted task {mine.task} already"):
        either.submit(JOB, mine.task, worker("ann"), mine.lease, answer())
    with pytest.raises(NotFound, match=f"{JOB} has no task 9"):
        either.submit(JOB, 9, worker("ann"), mine.lease, answer())
    assert len(keys(either, PREFIX + "annotations/worker-response/")) == 1


def test_task_service_an_expired_lease_goes_to_another_worker(either, clock):
    register(either, 1)
    late = lease(either, "ann")
    assert either.next(JOB, worker("bob")).startswith("no task for you")  # ann holds it
    clock.advance(301)  # past the 300 s time limit
    with pytest.raises(Conflict, match=r"your time for task 0 ran out \(300 s\)"):
        either.submit(JOB, 0, worker("ann"), late.lease, answer())
    taken = lease(either, "bob")
    assert taken.task == 0 and taken.lease != late.lease
    assert either.next(JOB, worker("ann")).startswith("no task for you")  # not ann again
    with pytest.raises(Conflict, match="you hold no lease"):
        either.submit(JOB, 0, worker("ann"), late.lease, answer())
    either.submit(JOB, 0, worker("bob"), taken.lease, answer())
    assert either.job(JOB).status == "Completed"


def test_task_service_a_released_task_goes_to_someone_else(either):
    register(either, 1)
    given_back = lease(either, "ann")
    either.release(JOB, 0, worker("ann"), given_back.lease)
    with pytest.raises(Conflict, match="you hold no lease on task 0"):
        either.submit(JOB, 0, worker("ann"), given_back.lease, answer())
    assert either.next(JOB, worker("ann")).startswith("no task for you")
    assert lease(either, "bob").task == 0


def test_task_service_a_reloaded_page_gets_the_same_lease_again(either, clock):
    register(either, 2)
    first = lease(either, "ann")
    clock.advance(10)
    again = lease(either, "ann", first.task)
    assert (again.task, again.lease, again.expires) == (first.task, first.lease, first.expires)
    other = 1 - first.task
    with pytest.raises(Conflict, match=f"you hold no lease on task {other} of pose-job"):
        either.next(JOB, worker("ann"), other)  # a deployed job's worker cannot pick a task


def test_task_service_a_bad_manifest_line_fails_its_object_only(either):
    lines = manifest(2)
    lines[0]["annotations"] = [{"annotations": [{"label": "tail", "x": 1, "y": 1}]}]
    either.register(spec(JOB), lines, arn=ARN + JOB)
    offer = lease(either, "ann")
    assert offer.task == 1  # task 0 was refused by the pre-annotation handler (if tried first)
    either.submit(JOB, 1, worker("ann"), offer.lease, answer())
    if either.job(JOB).status == "InProgress":  # task 1 was tried first: task 0's turn now
        assert either.next(JOB, worker("bob")).startswith("no task for you")
    job = either.job(JOB)
    assert (job.status, job.done, job.failed) == ("Completed", 1, 1)
    failed = output_lines(either)[0]
    assert "pose" not in failed
    assert "pre-annotation handler" in failed["pose-metadata"]["failure-reason"]
    assert 'unknown label "tail"' in failed["pose-metadata"]["failure-reason"]


def test_task_service_stop_consolidates_what_has_answers(either):
    register(either, 3, workers=2)
    labeled = label(either, "ann").task  # one answer of two
    held = lease(either, "bob")
    stopped = either.stop(JOB)
    assert (stopped.status, stopped.done, stopped.failed) == ("Stopped", 1, 0)
    assert either.next(JOB, worker("cy")) == f"{JOB} is Stopped: it hands out no more tasks"
    with pytest.raises(Conflict, match=f"{JOB} is Stopped: it takes no more answers"):
        either.submit(JOB, held.task, worker("bob"), held.lease, answer())
    lines = output_lines(either)
    assert len(lines) == 3  # every object, in manifest order
    assert parse_output_manifest_line(lines.pop(labeled), rig=COCO).label.usable
    for line in lines:
        assert line["pose-metadata"]["failure-reason"] == (
            "the job was stopped before any worker answered"
        )
        assert parse_output_manifest_line(line, rig=COCO).label is None
    with pytest.raises(Conflict, match=f"{JOB} is Stopped already"):
        either.stop(JOB)


def test_task_service_the_end_of_the_task_lifetime_finishes_the_job(either, clock):
    register(either, 2, workers=2, lifetime=3600)
    labeled = label(either, "ann").task
    clock.advance(3600)
    assert either.next(JOB, worker("bob")) == f"{JOB} is Completed: it hands out no more tasks"
    job = either.job(JOB)
    assert (job.status, job.done, job.failed) == ("Completed", 1, 1)
    reason = output_lines(either)[1 - labeled]["pose-metadata"]["failure-reason"]
    assert reason == "no worker answered before the task lifetime ended"


def test_task_service_settle_reports_progress(service, clock):
    register(service, 3, workers=2)
    label(service, "ann")
    lease(service, "bob")
    progress = service.settle(JOB)
    assert (progress.job.done, progress.leased, progress.answers_waiting) == (0, 1, 1)
    clock.advance(86_400)
    assert service.settle(JOB).job.status == "Completed"


def test_task_service_register_completes_an_interrupted_registration_only(service):
    assert service.tasks.create_job(_initializing(spec(JOB), 3))  # launch was interrupted
    job = service.register(spec(JOB), manifest(3), arn=ARN + JOB)
    assert (job.status, job.total) == ("InProgress", 3)
    assert len(list(service.tasks.all_tasks(JOB))) == 3
    with pytest.raises(Conflict, match="a job named pose-job exists already"):
        service.register(spec(JOB), manifest(3), arn=ARN + JOB)


def _initializing(job_spec: Any, total: int) -> Any:
    from handlers.task_records import Job

    return Job(job_spec, "Initializing", 0.0, 0.0, total=total, arn=ARN + JOB)


def test_task_service_keeps_a_huge_label_in_the_bucket(service, monkeypatch):
    import handlers.task_service

    monkeypatch.setattr(handlers.task_service, "OUTPUT_INLINE_MAX", 100)
    register(service, 1)
    label(service, "ann")
    [task] = service.tasks.all_tasks(JOB)
    assert task.output is None
    assert task.output_uri == (
        f"s3://{BUCKET}/{PREFIX}annotations/consolidated-annotation/pose-labeling-lines/0.json"
    )
    assert output_lines(service)[0]["pose"]["updated_annotations"]


def test_task_service_leases_hold_under_concurrency(service):
    """20 workers, 30 objects, 2 answers each, on threads: random releases and sleeps."""
    register(service, 30, workers=2)
    given: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def work(name: str, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        try:
            while True:
                offer = service.next(JOB, worker(name))
                if isinstance(offer, str):
                    return
                given.append((name, offer.task))
                time.sleep(rng.random() * 0.004)
                if rng.random() < 0.15:
                    service.release(JOB, offer.task, worker(name), offer.lease)
                    continue
                service.submit(
                    JOB, offer.task, worker(name), offer.lease, answer(x=rng.randint(90, 110))
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i:02d}", i)) for i in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "workers still running after 60 s"
    assert errors == []
    assert time.monotonic() - started < 60
    pairs = Counter(given)
    assert max(pairs.values()) == 1, "a worker was given the same object twice"
    job = service.job(JOB)
    assert (job.status, job.done, job.failed) == ("Completed", 30, 0)
    assert consolidated_ids(service) == {str(i): 1 for i in range(30)}  # each exactly once
    for i, line in enumerate(output_lines(service)):
        label_ = parse_output_manifest_line(line, rig=COCO).label
        workers_ = [w.worker_id for w in label_.workers]
        assert len(workers_) == 2 == len(set(workers_)), f"object {i}: {workers_}"
    responses = keys(service, PREFIX + "annotations/worker-response/")
    assert len(responses) == 60  # no answer beyond the two slots of each object


def test_task_service_a_preview_job_reopens_a_labeled_image_for_its_worker(clock, tmp_path):
    """The preview's own rule: a labeled image opens again, from its label, and the new
    answer replaces the worker's own; with several answers, only its workers may."""
    service = local_service(clock, tmp_path)
    service.register(spec(JOB, workers=2, preview=True), manifest(1), arn=ARN + JOB)
    for name, x in (("ann", 100), ("bob", 120)):
        offer = lease(service, name)
        service.submit(JOB, 0, worker(name), offer.lease, answer(offer.image_name, x))
    with pytest.raises(Conflict, match="task 0 was labeled by other workers; only they relabel"):
        service.next(JOB, worker("cy"), 0)
    clock.advance(30)
    again = lease(service, "ann", 0)
    assert again.revision
    first = output_lines(service)[0]["pose"]
    shown = re.search(r'initialValues="([^"]*)"', again.html)[1]
    assert json.loads(html.unescape(shown)) == first["updated_annotations"]  # from the label
    service.submit(JOB, 0, worker("ann"), again.lease, answer(again.image_name, 140))
    label = output_lines(service)[0]["pose"]
    xs = sorted(w["updated_annotations"][0]["annotations"][0]["x"] for w in label["workers"])
    assert xs == [120 + 62, 140 + 62]  # ann's answer replaced, bob's kept (nose at x + 62)
    assert consolidated_ids(service) == {"0": 2}  # consolidated again, by design
