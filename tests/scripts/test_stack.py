"""Stack outputs from a file and from the pulumi CLI (a fake executable on PATH)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import job_status, stack
from scripts.aws import AwsClients
from scripts.stack import StackOutputsError
from tests.scripts import aws_fakes


def fake_pulumi(bin_dir: Path, *, stdout: str = "", stderr: str = "", code: int = 0) -> Path:
    """A ``pulumi`` executable that records its arguments and answers as told."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        f"pathlib.Path({str(bin_dir / 'argv.json')!r}).write_text(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write({stdout!r})\n"
        f"sys.stderr.write({stderr!r})\n"
        f"sys.exit({code})\n"
    )
    script.chmod(0o755)
    return bin_dir


def test_stack_outputs_from_file(tmp_path: Path) -> None:
    path = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "my-bucket")

    outputs = stack.from_file(path)

    assert outputs.bucket_name == "my-bucket"
    assert outputs.region == "us-east-1"
    assert outputs.rig.name == "coco-person-17"
    assert len(outputs.rig.keypoints) == 17


def test_stack_outputs_file_missing(tmp_path: Path) -> None:
    with pytest.raises(StackOutputsError, match=r"--stack-outputs .*nope.json: cannot read"):
        stack.from_file(tmp_path / "nope.json")


def test_stack_outputs_file_not_json(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text("bucket_name = x\n")

    with pytest.raises(StackOutputsError, match=r"not JSON \(line 1 column 1"):
        stack.from_file(path)


def test_stack_outputs_missing_keys_are_named(tmp_path: Path) -> None:
    values = aws_fakes.stack_outputs("b")
    del values["ground_truth_role_arn"], values["region"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(values))

    with pytest.raises(StackOutputsError, match="missing ground_truth_role_arn, region"):
        stack.from_file(path)


def test_stack_outputs_from_pulumi_on_path(tmp_path: Path, monkeypatch: Any) -> None:
    outputs = aws_fakes.stack_outputs("from-pulumi")
    bin_dir = fake_pulumi(tmp_path / "bin", stdout=json.dumps(outputs))
    monkeypatch.setenv("PATH", str(bin_dir))

    result = stack.from_pulumi("dev")

    assert result.bucket_name == "from-pulumi"
    assert json.loads((bin_dir / "argv.json").read_text()) == [
        "stack",
        "output",
        "--json",
        "--stack",
        "dev",
    ]


def test_stack_outputs_pulumi_failure_shows_its_stderr(tmp_path: Path, monkeypatch: Any) -> None:
    bin_dir = fake_pulumi(tmp_path / "bin", stderr="error: no stack named 'dev' found\n", code=255)
    monkeypatch.setenv("PATH", str(bin_dir))

    with pytest.raises(StackOutputsError) as caught:
        stack.from_pulumi("dev")

    assert str(caught.value) == (
        "`pulumi stack output --json --stack dev` failed (exit 255):"
        " error: no stack named 'dev' found"
    )


def test_stack_outputs_pulumi_printing_non_json(tmp_path: Path, monkeypatch: Any) -> None:
    bin_dir = fake_pulumi(tmp_path / "bin", stdout="Current stack outputs (9):\n")
    monkeypatch.setenv("PATH", str(bin_dir))

    with pytest.raises(StackOutputsError, match="printed something that is not JSON"):
        stack.from_pulumi(None)


def test_stack_outputs_pulumi_not_installed(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(StackOutputsError, match=r"not found on PATH.*--stack-outputs FILE"):
        stack.from_pulumi(None)


def test_script_reads_stack_through_fake_pulumi(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    bin_dir = fake_pulumi(tmp_path / "bin", stdout=json.dumps(aws_fakes.stack_outputs("b")))
    monkeypatch.setenv("PATH", str(bin_dir))

    code = job_status.main(
        ["some-job", "--stack", "prod"], clients=AwsClients(sagemaker=_stubbed())
    )

    assert code == 0, capsys.readouterr().err
    assert json.loads((bin_dir / "argv.json").read_text())[-2:] == ["--stack", "prod"]


def test_script_reports_failing_pulumi_in_one_line(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv(
        "PATH", str(fake_pulumi(tmp_path / "bin", stderr="error: not logged in\n", code=1))
    )

    code = job_status.main(["some-job"])

    assert code == 1
    assert capsys.readouterr().err == (
        "python -m scripts.job_status: error: `pulumi stack output --json` failed (exit 1):"
        " error: not logged in\n"
    )


def test_stack_and_stack_outputs_are_exclusive(tmp_path: Path, capsys: Any) -> None:
    with pytest.raises(SystemExit) as caught:
        job_status.main(["j", "--stack", "dev", "--stack-outputs", str(tmp_path / "o.json")])

    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def _stubbed() -> Any:
    client, stubber = aws_fakes.sagemaker_client()
    stubber.add_response(
        "describe_labeling_job",
        {
            "LabelingJobStatus": "InProgress",
            "LabelCounters": {"TotalLabeled": 0, "Unlabeled": 3},
            "CreationTime": "2024-01-01T00:00:00Z",
            "LastModifiedTime": "2024-01-01T00:00:00Z",
            "JobReferenceCode": "abc",
            "LabelingJobName": "some-job",
            "LabelingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/some-job",
            "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/m"}}},
            "OutputConfig": {"S3OutputPath": "s3://b/o"},
            "RoleArn": aws_fakes.ROLE_ARN,
            "HumanTaskConfig": {
                "WorkteamArn": aws_fakes.WORKTEAM_ARN,
                "UiConfig": {"UiTemplateS3Uri": "s3://b/t"},
                "TaskTitle": "t",
                "TaskDescription": "d",
                "NumberOfHumanWorkersPerDataObject": 1,
                "TaskTimeLimitInSeconds": 60,
            },
        },
        expected_params={"LabelingJobName": "some-job"},
    )
    stubber.activate()
    return client
