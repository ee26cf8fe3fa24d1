"""launch_job and the stack's own work team: the default when --workteam-arn is absent.

The stack outputs come from the real program under Pulumi's mocks (a team in a new
workforce), so the test follows the output from ``__main__.py`` to the request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import launch_job
from scripts.aws import AwsClients
from tests.infra import harness
from tests.scripts import aws_fakes
from tests.scripts.aws_fakes import RequestLog, object_keys
from tests.scripts.images import make_folder
from tests.scripts.test_launch_job import JOB, JOB_ARN, expect_new_job, expected_request

STACK_TEAM = (
    f"arn:aws:sagemaker:{aws_fakes.REGION}:{aws_fakes.ACCOUNT}:workteam/private-crowd/stack-team"
)
PORTAL = "https://abc123.labeling.us-east-1.sagemaker.aws"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "images", ["a.jpg", "b.png"])


def outputs_file(tmp_path: Path, bucket: str = "b", **extra: Any) -> Path:
    return aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket, **extra)


def dry_run(folder: Path, outputs: Path, tmp_path: Path, *extra: str) -> int:
    argv = [str(folder), "--stack-outputs", str(outputs), "--dry-run"]
    return launch_job.main([*argv, "--manifest-out", str(tmp_path / "out.manifest"), *extra])


def test_dry_run_without_workteam_arn_uses_the_team_the_program_exports(
    folder: Path, tmp_path: Path, capsys: Any
) -> None:
    run = harness.run_main(harness.stack_config(workteamName="pose-team", createWorkforce=True))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(run.exports), encoding="utf-8")

    assert dry_run(folder, outputs, tmp_path) == 0

    request = json.loads(capsys.readouterr().out)
    team = run.one("aws:sagemaker/workteam:Workteam").outputs["arn"]
    assert request["HumanTaskConfig"]["WorkteamArn"] == team == run.exports["workteam_arn"]


def test_dry_run_without_workteam_arn_uses_the_stacks_team(
    folder: Path, tmp_path: Path, capsys: Any
) -> None:
    outputs = outputs_file(tmp_path, workteam_arn=STACK_TEAM, labeling_portal_url=PORTAL)

    assert dry_run(folder, outputs, tmp_path) == 0

    assert json.loads(capsys.readouterr().out)["HumanTaskConfig"]["WorkteamArn"] == STACK_TEAM


def test_workteam_arn_option_wins_over_the_stacks_team(
    folder: Path, tmp_path: Path, capsys: Any
) -> None:
    outputs = outputs_file(tmp_path, workteam_arn=STACK_TEAM)

    assert dry_run(folder, outputs, tmp_path, "--workteam-arn", aws_fakes.WORKTEAM_ARN) == 0

    request = json.loads(capsys.readouterr().out)
    assert request["HumanTaskConfig"]["WorkteamArn"] == aws_fakes.WORKTEAM_ARN


def test_no_team_anywhere_says_both_ways_to_fix_it_before_anything_is_written(
    folder: Path, tmp_path: Path, capsys: Any
) -> None:
    client, stubber = aws_fakes.sagemaker_client()
    log = RequestLog(client)

    with stubber:
        code = launch_job.main(
            [str(folder), "--stack-outputs", str(outputs_file(tmp_path))],
            clients=AwsClients(sagemaker=client),
        )

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "--workteam-arn: no work team given and the stack has none" in err
    assert "pass --workteam-arn ARN" in err and "pulumi config set workteamName NAME" in err
    assert log.calls == []
    assert list(tmp_path.glob("*.manifest")) == [] and not Path(f"{JOB}.manifest").exists()


def test_a_malformed_stack_team_is_named_as_the_stack_output(
    folder: Path, tmp_path: Path, capsys: Any
) -> None:
    outputs = outputs_file(tmp_path, workteam_arn="pose-team")

    assert dry_run(folder, outputs, tmp_path) == 2

    assert (
        "stack output workteam_arn: 'pose-team' is not a work team ARN" in capsys.readouterr().err
    )


def test_launch_with_the_stacks_team_prints_its_portal(
    folder: Path, tmp_path: Path, s3: Any, bucket: str, sagemaker: Any, capsys: Any
) -> None:
    client, stubber = sagemaker
    request = expected_request(bucket)
    request["HumanTaskConfig"]["WorkteamArn"] = STACK_TEAM
    expect_new_job(stubber, request)
    outputs = outputs_file(tmp_path, bucket, workteam_arn=STACK_TEAM, labeling_portal_url=PORTAL)

    code = launch_job.main(
        [str(folder), "--stack-outputs", str(outputs), "--job-name", JOB,
         "--manifest-out", str(tmp_path / "out.manifest")],
        clients=AwsClients(s3=s3, sagemaker=client),
    )  # fmt: skip

    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"job ARN:   {JOB_ARN}" in out
    assert f"workers:   sign in at {PORTAL}\n" in out
    assert f"labeling_jobs/manifests/{JOB}.manifest" in object_keys(s3, bucket)
