"""launch_job and job_status on a self-hosted stack, against a moto server (S3 and DynamoDB).

The job is registered in the stack's table instead of Ground Truth (the SageMaker
client is a Stubber with nothing queued: any call fails the test); workers are played
by the task service itself; the output manifest it writes is read by export_results
(from S3, as for a Ground Truth job) and by the review selection.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.s3_layout import TEMPLATE_KEY
from handlers.output_manifest import parse_output_manifest_line
from handlers.rig import load_rig
from handlers.task_records import Identity
from handlers.task_service import Assignment, TaskService
from scripts import export_results, job_status, launch_job, runner
from scripts.aws import AwsClients
from scripts.review_selection import select_for_review
from scripts.stack import from_file
from tests.handlers.runner_harness import answer, create_table, deployed_template
from tests.scripts import aws_fakes
from tests.scripts.aws_fakes import ACCOUNT, REGION, RequestLog, object_keys
from tests.scripts.images import make_folder

RIG = load_rig("coco-person-17")
JOB = "pose-self-hosted-1"
PORTAL = "https://d111111abcdef8.cloudfront.net/portal/"


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    return boto3.session.Session().client(
        "dynamodb", region_name=REGION, endpoint_url=moto_endpoint, **aws_fakes.CREDENTIALS
    )


@pytest.fixture
def table(dynamodb: Any) -> str:
    name = f"pose-labeling-tasks-{uuid.uuid4().hex[:8]}"
    create_table(dynamodb, name)
    return name


@pytest.fixture
def outputs_file(tmp_path: Path, bucket: str, table: str, s3: Any) -> Path:
    s3.put_object(Bucket=bucket, Key=TEMPLATE_KEY, Body=deployed_template().encode())
    return aws_fakes.write_stack_outputs(
        tmp_path / "outputs.json",
        bucket,
        template_s3_uri=f"s3://{bucket}/{TEMPLATE_KEY}",
        runner="self-hosted",
        tasks_table_name=table,
        worker_portal_url=PORTAL,
        task_api_url="https://abc123.execute-api.us-east-1.amazonaws.com",
        workteam_arn=aws_fakes.WORKTEAM_ARN,
    )


@pytest.fixture
def clients(s3: Any, dynamodb: Any) -> Any:
    """AWS for the scripts; SageMaker answers nothing, so a call to it fails the test."""
    sagemaker, stubber = aws_fakes.sagemaker_client()
    with stubber:
        yield AwsClients(s3=s3, sagemaker=sagemaker, dynamodb=dynamodb)
        stubber.assert_no_pending_responses()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "images", ["a.jpg", "b.jpg", "c.jpg"])


def launch(folder: Path, outputs: Path, tmp_path: Path, clients: Any, *extra: str) -> int:
    argv = [str(folder), "--stack-outputs", str(outputs), "--job-name", JOB]
    argv += ["--manifest-out", str(tmp_path / "out.manifest"), *extra]
    return launch_job.main(argv, clients=clients)


def service(outputs: Path, clients: AwsClients) -> TaskService:
    return runner.task_service(from_file(outputs), clients)


def work(svc: TaskService, worker: str) -> Assignment | str:
    """One worker takes a task and answers it, as the portal would."""
    who = Identity(f"private.{REGION}.{worker}")
    offer = svc.next(JOB, who)
    if isinstance(offer, Assignment):
        svc.submit(JOB, offer.task, who, offer.lease, answer(offer.image_name))
    return offer


def test_self_hosted_launch_registers_the_job_instead_of_ground_truth(
    folder, outputs_file, tmp_path, clients, bucket, capsys
):
    code = launch(folder, outputs_file, tmp_path, clients, "--workers", "2", "--time-limit", "5m")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"workers:   sign in at {PORTAL}" in out
    assert f"job ARN:   arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{JOB}" in out
    svc = service(outputs_file, clients)
    job = svc.job(JOB)
    assert (job.status, job.total, job.done) == ("InProgress", 3, 0)
    spec = job.spec
    assert (spec.workers, spec.time_limit, spec.lifetime) == (2, 300, 30 * 86400)
    assert spec.label_attribute == "label-results"
    assert spec.output_path == f"s3://{bucket}/labeling_jobs/output/"
    assert spec.manifest_uri == f"s3://{bucket}/labeling_jobs/manifests/{JOB}.manifest"
    uploaded = clients.s3.get_object(Bucket=bucket, Key=f"labeling_jobs/manifests/{JOB}.manifest")
    lines = [json.loads(x) for x in uploaded["Body"].read().decode().splitlines()]
    assert [t.line for t in svc.tasks.all_tasks(JOB)] == lines  # one task per manifest line
    assert sorted(object_keys(clients.s3, bucket)) == sorted(
        [TEMPLATE_KEY, f"labeling_jobs/manifests/{JOB}.manifest"]
        + [f"labeling_jobs/images/{n}" for n in ("a.jpg", "b.jpg", "c.jpg")]
    )


def test_self_hosted_dry_run_prints_the_registration_and_touches_nothing(
    folder, outputs_file, tmp_path, clients, table, capsys
):
    s3_log, table_log = RequestLog(clients.s3), RequestLog(clients.dynamodb)
    code = launch(folder, outputs_file, tmp_path, clients, "--dry-run", "--task-lifetime", "2d")
    out, err = capsys.readouterr()
    assert code == 0, err
    printed = json.loads(out)
    assert (printed["runner"], printed["table"], printed["tasks"]) == ("self-hosted", table, 3)
    assert printed["job"]["name"] == JOB and printed["job"]["lifetime"] == 2 * 86400
    assert s3_log.calls == [] and table_log.calls == []


def test_self_hosted_launch_refuses_options_that_do_not_apply(
    folder, outputs_file, tmp_path, clients, capsys
):
    code = launch(folder, outputs_file, tmp_path, clients, "--workteam-arn", aws_fakes.WORKTEAM_ARN)
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "python -m scripts.launch_job: error: --workteam-arn: this stack runs its jobs itself"
        " (runner self-hosted); its workers are the stack's own work team, so leave the option out"
    ]


def test_self_hosted_launch_refuses_a_used_name_before_uploading(
    folder, outputs_file, tmp_path, clients, bucket, capsys
):
    assert launch(folder, outputs_file, tmp_path, clients) == 0
    capsys.readouterr()
    other = make_folder(tmp_path / "more", ["d.jpg"])
    assert launch(other, outputs_file, tmp_path, clients) == 2
    assert "the stack's runner has a job with this name (InProgress)" in capsys.readouterr().err
    assert "labeling_jobs/images/d.jpg" not in object_keys(clients.s3, bucket)


def test_self_hosted_job_status_follows_and_the_output_is_read_unchanged(
    folder, outputs_file, tmp_path, clients, bucket, capsys
):
    assert launch(folder, outputs_file, tmp_path, clients, "--workers", "2") == 0
    capsys.readouterr()
    svc = service(outputs_file, clients)
    work(svc, "ann")
    status_args = [JOB, "--stack-outputs", str(outputs_file)]
    assert job_status.main(status_args, clients=clients) == 0
    shown = capsys.readouterr().out
    assert "runner:   self-hosted (the stack's own task service)" in shown
    assert "status:   InProgress" in shown
    assert "labeled:  0 of 3 (human 0, machine 0), failed 0, unlabeled 3" in shown
    assert "working:  0 images with workers now, 1 answers waiting for more workers" in shown
    assert f"portal:   {PORTAL}" in shown

    def labeling_meanwhile(seconds: float) -> None:  # the workers go on while job_status waits
        while isinstance(work(svc, "ann"), Assignment):
            pass
        while isinstance(work(svc, "bob"), Assignment):
            pass

    assert job_status.main([*status_args, "--wait"], clients=clients, sleep=labeling_meanwhile) == 0
    shown = capsys.readouterr().out
    output = f"s3://{bucket}/labeling_jobs/output/{JOB}/manifests/output/output.manifest"
    assert "status:   Completed" in shown and f"output:   {output}" in shown
    assert "labeled:  3 of 3" in shown

    # The job's name finds its output through the runner, as Ground Truth's jobs do.
    for source in (output, JOB):
        export = tmp_path / f"export-{source.rsplit('/', 1)[-1]}"
        code = export_results.main(
            [source, "--stack-outputs", str(outputs_file), "--out", str(export),
             "--max-pictures", "0", "--no-yolo"],
            clients=clients,
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        coco = json.loads((export / "coco_keypoints.json").read_text())
        assert sorted(i["file_name"] for i in coco["images"]) == ["a.jpg", "b.jpg", "c.jpg"]
        assert len(coco["annotations"]) == 3
    text = clients.s3.get_object(Bucket=bucket, Key=output.split("/", 3)[3])["Body"].read()
    lines = [parse_output_manifest_line(x, rig=RIG) for x in text.decode().splitlines()]
    selection = select_for_review(lines, RIG)
    assert (selection.lines, selection.labeled) == (3, 3)


def test_self_hosted_stop_consolidates_what_has_answers(
    folder, outputs_file, tmp_path, clients, bucket, capsys, monkeypatch
):
    assert launch(folder, outputs_file, tmp_path, clients, "--workers", "2") == 0
    svc = service(outputs_file, clients)
    first = work(svc, "ann")  # one answer of two: consolidated when the job stops
    assert isinstance(first, Assignment)
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert (
        job_status.main([JOB, "--stop", "--stack-outputs", str(outputs_file)], clients=clients) == 0
    )
    out = capsys.readouterr().out
    output = f"s3://{bucket}/labeling_jobs/output/{JOB}/manifests/output/output.manifest"
    assert f"stopped {JOB}: 1 labeled, 0 failed, 2 unlabeled; output manifest: {output}" in out
    assert svc.next(JOB, Identity("private.us-east-1.bob")) == (
        f"{JOB} is Stopped: it hands out no more tasks"
    )
    text = clients.s3.get_object(Bucket=bucket, Key=output.split("/", 3)[3])["Body"].read()
    labels = [parse_output_manifest_line(x, rig=RIG).label for x in text.decode().splitlines()]
    assert [label is not None for label in labels] == [i == first.task for i in range(3)]
    code = job_status.main(
        [JOB, "--stop", "--yes", "--stack-outputs", str(outputs_file)], clients=clients
    )
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"python -m scripts.job_status: error: {JOB} is already Stopped; nothing to stop"
    )


def test_self_hosted_unknown_job_is_one_line(outputs_file, clients, capsys):
    code = job_status.main(["pose-nothing", "--stack-outputs", str(outputs_file)], clients=clients)
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "python -m scripts.job_status: error: pose-nothing: the stack's runner has no job of"
        " this name"
    )


def test_self_hosted_stack_without_its_table_output_is_one_line(
    folder, tmp_path, clients, bucket, capsys
):
    outputs = aws_fakes.write_stack_outputs(
        tmp_path / "half.json", bucket, runner="self-hosted", workteam_arn=aws_fakes.WORKTEAM_ARN
    )
    assert launch(folder, outputs, tmp_path, clients) == 1
    assert "stack output tasks_table_name is missing although the runner is self-hosted" in (
        capsys.readouterr().err
    )
