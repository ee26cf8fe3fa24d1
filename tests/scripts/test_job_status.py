"""job_status: show, wait (polling with describe_labeling_job) and stop, against Stubber."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scripts import job_status
from scripts.aws import AwsClients
from tests.scripts import aws_fakes

JOB = "pose-20250314-093000-1f2e"


def described(status: str, labeled: int = 0, unlabeled: int = 4, **extra: Any) -> dict[str, Any]:
    """A describe_labeling_job response (validated by Stubber against the model)."""
    return {
        "LabelingJobStatus": status,
        "LabelCounters": {
            "TotalLabeled": labeled,
            "HumanLabeled": labeled,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": unlabeled,
        },
        "CreationTime": datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
        "LastModifiedTime": datetime(2025, 3, 14, 10, 0, tzinfo=UTC),
        "JobReferenceCode": "ref",
        "LabelingJobName": JOB,
        "LabelingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{JOB}",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/m.manifest"}}},
        "OutputConfig": {"S3OutputPath": "s3://b/labeling_jobs/output/"},
        "RoleArn": aws_fakes.ROLE_ARN,
        "HumanTaskConfig": {
            "WorkteamArn": aws_fakes.WORKTEAM_ARN,
            "UiConfig": {"UiTemplateS3Uri": "s3://b/t.liquid.html"},
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 3600,
        },
        **extra,
    }


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    return aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "b")


def expect_describe(stubber: Any, response: dict[str, Any]) -> None:
    stubber.add_response("describe_labeling_job", response, {"LabelingJobName": JOB})


def test_status_shows_state_and_counters(outputs_file: Path, sagemaker: Any, capsys: Any) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("InProgress", labeled=1, unlabeled=3))

    code = job_status.main(
        [JOB, "--stack-outputs", str(outputs_file)], clients=AwsClients(sagemaker=client)
    )

    assert code == 0
    assert capsys.readouterr().out == (
        f"job:      {JOB}\n"
        "status:   InProgress\n"
        "labeled:  1 of 4 (human 1, machine 0), failed 0, unlabeled 3\n"
        "created:  2025-03-14T09:30:00+00:00\n"
        "modified: 2025-03-14T10:00:00+00:00\n"
    )


def test_wait_polls_until_completed(outputs_file: Path, sagemaker: Any, capsys: Any) -> None:
    client, stubber = sagemaker
    output = "s3://b/labeling_jobs/output/j/manifests/output/output.manifest"
    expect_describe(stubber, described("Initializing"))
    expect_describe(stubber, described("InProgress", labeled=2, unlabeled=2))
    expect_describe(
        stubber,
        described(
            "Completed",
            labeled=4,
            unlabeled=0,
            LabelingJobOutput={"OutputDatasetS3Uri": output},
        ),
    )
    sleeps: list[float] = []

    code = job_status.main(
        [JOB, "--wait", "--interval", "2m", "--stack-outputs", str(outputs_file)],
        clients=AwsClients(sagemaker=client),
        sleep=sleeps.append,
    )

    out = capsys.readouterr().out
    assert code == 0
    assert sleeps == [120, 120]
    assert "status:   Completed\n" in out
    assert f"output:   {output}\n" in out


def test_wait_exits_non_zero_when_job_fails(
    outputs_file: Path, sagemaker: Any, capsys: Any
) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("InProgress"))
    expect_describe(
        stubber, described("Failed", FailureReason="ClientError: Exception invoking the Lambda")
    )

    code = job_status.main(
        [JOB, "--wait", "--stack-outputs", str(outputs_file)],
        clients=AwsClients(sagemaker=client),
        sleep=lambda seconds: None,
    )

    assert code == 1
    assert "failure:  ClientError: Exception invoking the Lambda\n" in capsys.readouterr().out


def test_wait_exits_non_zero_when_job_was_stopped(outputs_file: Path, sagemaker: Any) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("Stopped"))

    code = job_status.main(
        [JOB, "--wait", "--stack-outputs", str(outputs_file)],
        clients=AwsClients(sagemaker=client),
        sleep=lambda seconds: None,
    )

    assert code == 1


def test_stop_after_confirmation(
    outputs_file: Path, sagemaker: Any, monkeypatch: Any, capsys: Any
) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("InProgress"))
    stubber.add_response("stop_labeling_job", {}, {"LabelingJobName": JOB})
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))

    code = job_status.main(
        [JOB, "--stop", "--stack-outputs", str(outputs_file)], clients=AwsClients(sagemaker=client)
    )

    out, err = capsys.readouterr()
    assert code == 0
    assert f"Stop {JOB} (InProgress" in err
    assert f"stopping {JOB}" in out


def test_stop_declined_does_not_stop(
    outputs_file: Path, sagemaker: Any, monkeypatch: Any, capsys: Any
) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("InProgress"))
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))

    code = job_status.main(
        [JOB, "--stop", "--stack-outputs", str(outputs_file)], clients=AwsClients(sagemaker=client)
    )

    assert code == 1
    assert "not stopped" in capsys.readouterr().err


def test_stop_with_yes_does_not_ask(
    outputs_file: Path, sagemaker: Any, monkeypatch: Any, capsys: Any
) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("InProgress"))
    stubber.add_response("stop_labeling_job", {}, {"LabelingJobName": JOB})
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    code = job_status.main(
        [JOB, "--stop", "--yes", "--stack-outputs", str(outputs_file)],
        clients=AwsClients(sagemaker=client),
    )

    assert code == 0
    assert "[y/N]" not in capsys.readouterr().err


def test_stop_finished_job_is_refused(outputs_file: Path, sagemaker: Any, capsys: Any) -> None:
    client, stubber = sagemaker
    expect_describe(stubber, described("Completed"))

    code = job_status.main(
        [JOB, "--stop", "--yes", "--stack-outputs", str(outputs_file)],
        clients=AwsClients(sagemaker=client),
    )

    assert code == 1
    assert f"{JOB} is already Completed; nothing to stop" in capsys.readouterr().err


def test_unknown_job_is_one_line(outputs_file: Path, sagemaker: Any, capsys: Any) -> None:
    client, stubber = sagemaker
    stubber.add_client_error(
        "describe_labeling_job",
        service_error_code="ResourceNotFound",
        service_message=f"Requested resource not found: {JOB}",
        expected_params={"LabelingJobName": JOB},
    )

    code = job_status.main(
        [JOB, "--stack-outputs", str(outputs_file)], clients=AwsClients(sagemaker=client)
    )

    assert code == 1
    assert capsys.readouterr().err == (
        "python -m scripts.job_status: error: DescribeLabelingJob: ResourceNotFound:"
        f" Requested resource not found: {JOB}\n"
    )


def test_invalid_job_name_rejected_while_parsing(capsys: Any) -> None:
    with pytest.raises(SystemExit) as caught:
        job_status.main(["my_job"])

    assert caught.value.code == 2
    assert "argument JOB_NAME: 'my_job': use ASCII letters" in capsys.readouterr().err


PORTAL = "https://abc123.labeling.us-east-1.sagemaker.aws"
MTURK = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"


def test_status_shows_the_stacks_labeling_portal_for_a_private_team(
    tmp_path: Path, sagemaker: Any, capsys: Any
) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "o.json", "b", labeling_portal_url=PORTAL)
    client, stubber = sagemaker
    expect_describe(stubber, described("InProgress", labeled=1, unlabeled=3))

    code = job_status.main(
        [JOB, "--stack-outputs", str(outputs)], clients=AwsClients(sagemaker=client)
    )

    assert code == 0
    assert capsys.readouterr().out == (
        f"job:      {JOB}\n"
        "status:   InProgress\n"
        "labeled:  1 of 4 (human 1, machine 0), failed 0, unlabeled 3\n"
        "created:  2025-03-14T09:30:00+00:00\n"
        "modified: 2025-03-14T10:00:00+00:00\n"
        f"portal:   {PORTAL}\n"
    )


def test_status_shows_no_portal_for_a_mechanical_turk_job(
    tmp_path: Path, sagemaker: Any, capsys: Any
) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "o.json", "b", labeling_portal_url=PORTAL)
    client, stubber = sagemaker
    job = described("InProgress")
    job["HumanTaskConfig"]["WorkteamArn"] = MTURK
    expect_describe(stubber, job)

    assert (
        job_status.main(
            [JOB, "--stack-outputs", str(outputs)], clients=AwsClients(sagemaker=client)
        )
        == 0
    )

    assert "portal" not in capsys.readouterr().out
