"""Both task tables keep the same contract: DynamoDB (on moto) and the local one, test for test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from handlers.task_records import Claim, Job, Slot, TaskTable, new_task
from handlers.task_store_aws import DynamoTaskTable
from scripts.task_local import LocalTaskTable
from tests.handlers.runner_harness import START, TABLE, create_table, spec

JOB = "pose-job"


@pytest.fixture(params=["dynamodb", "local"])
def table(request: pytest.FixtureRequest) -> Iterator[TaskTable]:
    if request.param == "local":
        yield LocalTaskTable()
        return
    request.getfixturevalue("aws")
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client)
    yield DynamoTaskTable(client, TABLE)


def job(**changes: Any) -> Job:
    values: dict[str, Any] = {
        "spec": spec(JOB, workers=2, keywords=("pose", "keypoints"), kms_key_id="alias/k"),
        "status": "InProgress",
        "created": START,
        "updated": START + 0.25,
        "total": 3,
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/pose-job",
    }
    values.update(changes)
    return Job(**values)


LINES = [
    {"source-ref": "s3://b/labeling_jobs/images/a.jpg"},
    {"source-ref": "s3://b/labeling_jobs/images/ü b.jpg", "annotations": [{"annotations": []}]},
    {"source-ref": "s3://b/labeling_jobs/images/c.jpg", "deep": {"x": [1.5, None, "", {}]}},
]


def lease(worker: str, expires: float = START + 60) -> Slot:
    return Slot(worker, f"lease-{worker}-{expires}", expires, START)


@pytest.fixture
def filled(table: TaskTable) -> TaskTable:
    assert table.create_job(job())
    table.put_tasks([new_task(JOB, i, line, 2) for i, line in enumerate(LINES)])
    return table


def test_task_table_job_is_created_once_and_read_back_whole(table):
    assert table.create_job(job())
    assert not table.create_job(job(status="Stopped"))
    assert table.get_job(JOB) == job()
    assert table.list_jobs() == [job()]
    assert table.get_job("other") is None


def test_task_table_job_changes_only_from_an_expected_status(filled):
    assert filled.update_job(JOB, expect=("Initializing",), status="Stopped") is None
    stopped = filled.update_job(JOB, expect=("InProgress",), status="Stopping", done=2)
    assert stopped == job(status="Stopping", done=2)
    assert filled.count(JOB, done=1, failed=2, now=START + 9) == job(
        status="Stopping", done=3, failed=2, updated=START + 9
    )


def test_task_table_tasks_come_back_whole_in_manifest_order(filled):
    tasks = list(filled.all_tasks(JOB))
    assert [t.line for t in tasks] == LINES
    assert [t.slots for t in tasks] == [(None, None)] * 3
    assert filled.get_task(JOB, 1) == tasks[1]
    assert filled.get_task(JOB, 7) is None


def test_task_table_a_slot_is_leased_once_and_a_worker_once_per_task(filled):
    now = START + 1
    assert filled.lease(JOB, 0, 0, lease("a"), now=now)
    assert not filled.lease(JOB, 0, 0, lease("b"), now=now)  # the slot is held
    assert not filled.lease(JOB, 0, 1, lease("a"), now=now)  # a has been given task 0
    assert filled.lease(JOB, 0, 1, lease("b"), now=now)
    task = filled.get_task(JOB, 0)
    assert task.slots == (lease("a"), lease("b"))
    assert task.seen == {"a", "b"}
    assert task.free_slot("c", now) is None


def test_task_table_an_expired_lease_goes_to_another_worker_not_back(filled):
    assert filled.lease(JOB, 0, 0, lease("a", expires=START + 60), now=START)
    assert not filled.lease(JOB, 0, 0, lease("b"), now=START + 60)  # not yet expired
    assert not filled.lease(JOB, 0, 0, lease("a", START + 200), now=START + 61)  # a had it
    assert filled.lease(JOB, 0, 0, lease("b", START + 200), now=START + 61)
    assert filled.get_task(JOB, 0).slots[0] == lease("b", START + 200)


def test_task_table_again_lets_a_worker_open_a_task_given_back(filled):
    assert filled.lease(JOB, 0, 0, lease("a"), now=START)
    assert filled.release(JOB, 0, 0, lease("a").lease)
    assert not filled.lease(JOB, 0, 0, lease("a"), now=START)
    assert filled.lease(JOB, 0, 0, lease("a"), now=START, again=True)


def test_task_table_release_needs_the_lease(filled):
    assert filled.lease(JOB, 1, 0, lease("a"), now=START)
    assert not filled.release(JOB, 1, 0, "someone-elses")
    assert filled.release(JOB, 1, 0, lease("a").lease)
    assert not filled.release(JOB, 1, 0, lease("a").lease)  # released already
    assert filled.get_task(JOB, 1).slots == (None, None)
    assert filled.lease(JOB, 1, 0, lease("b"), now=START)


def test_task_table_answer_only_from_the_live_lease_of_a_running_job(filled):
    slot = lease("a", expires=START + 60)
    assert filled.lease(JOB, 2, 0, slot, now=START)
    assert not filled.answer(JOB, 2, 0, "wrong", "s3://b/x.json", now=START + 1)
    assert not filled.answer(JOB, 2, 0, slot.lease, "s3://b/x.json", now=START + 61)  # expired
    assert filled.answer(JOB, 2, 0, slot.lease, "s3://b/x.json", now=START + 60)
    assert not filled.answer(JOB, 2, 0, slot.lease, "s3://b/y.json", now=START + 2)  # twice
    assert filled.get_task(JOB, 2).slots[0] == replace(
        slot, answer="s3://b/x.json", submitted=START + 60
    )
    assert not filled.release(JOB, 2, 0, slot.lease)  # an answered slot stays


def test_task_table_no_answer_once_the_job_stops(filled):
    slot = lease("a")
    assert filled.lease(JOB, 0, 0, slot, now=START)
    filled.update_job(JOB, expect=("InProgress",), status="Stopping")
    assert not filled.answer(JOB, 0, 0, slot.lease, "s3://b/x.json", now=START + 1)
    assert filled.get_task(JOB, 0).slots[0].answer is None


def test_task_table_claim_is_exclusive_until_stale(filled):
    first = filled.claim(JOB, 0, Claim("one", START), stale_before=START - 900)
    assert first is not None and first.claim == Claim("one", START)
    assert filled.claim(JOB, 0, Claim("two", START + 1), stale_before=START - 899) is None
    assert not filled.lease(JOB, 0, 0, lease("a"), now=START)  # claimed: handed out no more
    assert filled.open_tasks(JOB, worker="a", now=START, after=-1, limit=10)[0].id == 1
    taken = filled.claim(JOB, 0, Claim("two", START + 901), stale_before=START + 1)
    assert taken is not None and taken.claim == Claim("two", START + 901)


def test_task_table_close_needs_the_claim_and_keeps_the_output(filled):
    claimed = filled.claim(JOB, 1, Claim("c", START), stale_before=START - 900)
    output = {
        **LINES[1],
        "pose": {"x": [1.25, "ü"]},
        "pose-metadata": {"type": "groundtruth/custom"},
    }
    done = replace(claimed, state="done", output=output, claim=None)
    assert not filled.close(done, "other")
    assert filled.close(done, "c")
    assert not filled.close(done, "c")  # closed once
    assert filled.get_task(JOB, 1) == done
    assert [t.state for t in filled.all_tasks(JOB)] == ["open", "done", "open"]
    assert [t.id for t in filled.open_tasks(JOB, worker="a", now=START, after=-1, limit=9)] == [
        0,
        2,
    ]
    failed = replace(
        filled.claim(JOB, 2, Claim("d", START), stale_before=START - 900),
        state="failed",
        reason="pre-annotation handler: bad line",
        claim=None,
        output_uri="s3://b/line.json",
    )
    assert filled.close(failed, "d")
    assert filled.get_task(JOB, 2) == failed


def test_task_table_open_tasks_skips_what_the_worker_cannot_take(filled):
    now = START
    assert filled.lease(JOB, 0, 0, lease("a"), now=now)
    assert filled.lease(JOB, 0, 1, lease("b"), now=now)  # task 0: both slots held
    assert filled.lease(JOB, 1, 0, lease("c"), now=now)  # task 1: one slot left
    ids = [t.id for t in filled.open_tasks(JOB, worker="d", now=now, after=-1, limit=9)]
    assert ids == [1, 2]
    assert [t.id for t in filled.open_tasks(JOB, worker="c", now=now, after=-1, limit=9)] == [2]
    assert [t.id for t in filled.open_tasks(JOB, worker="d", now=now, after=1, limit=9)] == [2]
    assert [t.id for t in filled.open_tasks(JOB, worker="d", now=now, after=-1, limit=1)] == [1]
    later = START + 61  # every lease ran out: task 0 is offered again, to others
    assert [t.id for t in filled.open_tasks(JOB, worker="d", now=later, after=-1, limit=9)] == [
        0,
        1,
        2,
    ]


def test_task_table_revision_of_a_done_task(filled):
    claimed = filled.claim(JOB, 0, Claim("c", START), stale_before=START - 900)
    assert filled.close(replace(claimed, state="done", output={"v": 1}, claim=None), "c")
    first = lease("a", expires=START + 60)
    assert filled.lease_revision(JOB, 0, first, now=START)
    assert not filled.lease_revision(JOB, 0, lease("b"), now=START + 1)
    assert not filled.lease_revision(JOB, 1, lease("b"), now=START + 1)  # task 1 is open
    revised = replace(filled.get_task(JOB, 0), output={"v": 2}, revision=None)
    assert not filled.revise(revised, "other", now=START + 2)
    assert not filled.revise(revised, first.lease, now=START + 61)  # ran out
    assert filled.revise(revised, first.lease, now=START + 60)
    assert filled.get_task(JOB, 0) == revised
    assert filled.lease_revision(JOB, 0, lease("b"), now=START + 70)
    assert filled.release(JOB, 0, None, lease("b").lease)
    assert filled.get_task(JOB, 0).revision is None
