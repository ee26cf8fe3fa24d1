"""launch_job: folder and S3-prefix inputs, resume, pre-annotations, limits, dry run.

S3 is a moto server over real HTTP; create_labeling_job and describe_labeling_job
go through botocore's Stubber, so each request is validated against the
SageMaker service model and compared with the exact request written out here.
Everything runs in-process through ``main(argv)``; two tests run the real
``python -m scripts.launch_job`` command.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto.s3.models import s3_backends

from components import policies
from components.s3_layout import TEMPLATE_KEY
from scripts import launch_job
from scripts.aws import AwsClients
from tests.scripts import aws_fakes
from tests.scripts.aws_fakes import (
    ACCOUNT,
    PRE_LAMBDA_ARN,
    REGION,
    ROLE_ARN,
    WORKTEAM_ARN,
    RequestLog,
    create_labeling_job_request,
    object_keys,
)
from tests.scripts.images import make_folder

JOB = "pose-test-job-1"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:labeling-job/{JOB}"


def expected_request(bucket: str, job: str = JOB, **human: Any) -> dict[str, Any]:
    """The create_labeling_job request for the default options, written out in full."""
    return create_labeling_job_request(bucket, job, **human)


@pytest.fixture
def outputs_file(tmp_path: Path, bucket: str) -> Path:
    return aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = make_folder(tmp_path / "images", ["a.jpg", "b.png", "sub/c.jpeg"])
    (folder / "notes.txt").write_text("not an image")
    return folder


def args(source: Path | str, outputs_file: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        str(source),
        "--workteam-arn",
        WORKTEAM_ARN,
        "--stack-outputs",
        str(outputs_file),
        "--manifest-out",
        str(tmp_path / "out.manifest"),
        *extra,
    ]


def expect_new_job(stubber: Stubber, request: dict[str, Any]) -> None:
    stubber.add_client_error(
        "describe_labeling_job",
        service_error_code="ResourceNotFound",
        service_message=f"Could not find labeling job {request['LabelingJobName']}",
        expected_params={"LabelingJobName": request["LabelingJobName"]},
    )
    stubber.add_response(
        "create_labeling_job", {"LabelingJobArn": JOB_ARN}, expected_params=request
    )


def manifest_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_launch_folder_uploads_images_and_creates_job(
    folder: Path,
    outputs_file: Path,
    tmp_path: Path,
    s3: Any,
    bucket: str,
    sagemaker: Any,
    capsys: Any,
) -> None:
    client, stubber = sagemaker
    expect_new_job(stubber, expected_request(bucket))

    code = launch_job.main(
        args(folder, outputs_file, tmp_path, "--job-name", JOB),
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    assert sorted(object_keys(s3, bucket)) == [
        "labeling_jobs/images/a.jpg",
        "labeling_jobs/images/b.png",
        "labeling_jobs/images/sub/c.jpeg",
        f"labeling_jobs/manifests/{JOB}.manifest",
    ]
    uploaded = s3.get_object(Bucket=bucket, Key=f"labeling_jobs/manifests/{JOB}.manifest")
    text = uploaded["Body"].read().decode()
    assert manifest_lines(text) == [
        {"source-ref": f"s3://{bucket}/labeling_jobs/images/a.jpg"},
        {"source-ref": f"s3://{bucket}/labeling_jobs/images/b.png"},
        {"source-ref": f"s3://{bucket}/labeling_jobs/images/sub/c.jpeg"},
    ]
    assert (tmp_path / "out.manifest").read_text() == text
    assert f"job name:  {JOB}" in out
    assert f"job ARN:   {JOB_ARN}" in out
    assert "skipping 1 files that are not .jpg/.jpeg/.png: notes.txt" in err


def test_launch_folder_stores_sha256_and_content_type(
    folder: Path, outputs_file: Path, tmp_path: Path, s3: Any, bucket: str, sagemaker: Any
) -> None:
    client, stubber = sagemaker
    expect_new_job(stubber, expected_request(bucket))

    assert (
        launch_job.main(
            args(folder, outputs_file, tmp_path, "--job-name", JOB),
            clients=AwsClients(s3=s3, sagemaker=client),
        )
        == 0
    )

    head = s3.head_object(Bucket=bucket, Key="labeling_jobs/images/b.png")
    assert head["Metadata"]["sha256"] == hashlib.sha256((folder / "b.png").read_bytes()).hexdigest()
    assert head["ContentType"] == "image/png"


def test_launch_generated_job_name_is_valid_and_unique(
    folder: Path, outputs_file: Path, tmp_path: Path, capsys: Any
) -> None:
    names = set()
    for _ in range(2):
        assert launch_job.main(args(folder, outputs_file, tmp_path, "--dry-run")) == 0
        names.add(json.loads(capsys.readouterr().out)["LabelingJobName"])

    assert len(names) == 2
    for name in names:
        assert re.fullmatch(r"pose-\d{8}-\d{6}-[0-9a-f]{4}", name)


def put_objects_in_moto(bucket: str, keys: list[str]) -> None:
    """Objects straight into the moto server's (in-process) store: 1,000 PUTs over HTTP
    cost seconds, and what is under test is the script's listing, not the writes."""
    backend = s3_backends[ACCOUNT]["aws"]
    for key in keys:
        backend.put_object(bucket, key, b"x")


def test_launch_s3_prefix_lists_every_page_and_uploads_nothing(
    outputs_file: Path, tmp_path: Path, s3: Any, bucket: str, sagemaker: Any
) -> None:
    prefix = "labeling_jobs/images/run-1"
    put_objects_in_moto(
        bucket, [f"{prefix}/img-{i:04d}.jpg" for i in range(1001)] + [f"{prefix}/README"]
    )
    client, stubber = sagemaker
    expect_new_job(stubber, expected_request(bucket))
    log = RequestLog(s3)

    code = launch_job.main(
        args(f"s3://{bucket}/{prefix}", outputs_file, tmp_path, "--job-name", JOB),
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    assert code == 0
    assert log.names().count("ListObjectsV2") == 2  # 1,002 keys: two pages of up to 1,000
    assert log.keys("PutObject") == [f"labeling_jobs/manifests/{JOB}.manifest"]
    lines = manifest_lines((tmp_path / "out.manifest").read_text())
    assert len(lines) == 1001
    assert lines[0] == {"source-ref": f"s3://{bucket}/{prefix}/img-0000.jpg"}
    assert lines[-1] == {"source-ref": f"s3://{bucket}/{prefix}/img-1000.jpg"}


def test_launch_resumes_after_interrupted_upload(
    folder: Path,
    outputs_file: Path,
    tmp_path: Path,
    s3: Any,
    bucket: str,
    sagemaker: Any,
    capsys: Any,
) -> None:
    def drop_connection(params: Any, **kwargs: Any) -> None:
        if params["Key"].endswith("b.png"):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1")

    client, stubber = sagemaker
    describe_missing = {
        "service_error_code": "ResourceNotFound",
        "expected_params": {"LabelingJobName": JOB},
    }
    stubber.add_client_error("describe_labeling_job", **describe_missing)

    s3.meta.events.register("before-parameter-build.s3.PutObject", drop_connection)
    try:
        first = launch_job.main(
            args(folder, outputs_file, tmp_path, "--job-name", JOB),
            clients=AwsClients(s3=s3, sagemaker=client),
        )
    finally:  # the S3 client is shared with the other tests
        s3.meta.events.unregister("before-parameter-build.s3.PutObject", drop_connection)

    err = capsys.readouterr().err
    assert first == 1
    assert "failed to upload b.png: EndpointConnectionError" in err
    assert "1 of 3 uploads failed" in err
    assert sorted(object_keys(s3, bucket)) == [
        "labeling_jobs/images/a.jpg",
        "labeling_jobs/images/sub/c.jpeg",
    ]

    log = RequestLog(s3)
    expect_new_job(stubber, expected_request(bucket))
    second = launch_job.main(
        args(folder, outputs_file, tmp_path, "--job-name", JOB),
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    assert second == 0
    assert log.keys("PutObject") == [
        "labeling_jobs/images/b.png",
        f"labeling_jobs/manifests/{JOB}.manifest",
    ]
    assert "2 images already in" in capsys.readouterr().err


def test_launch_refuses_to_replace_a_different_object(
    folder: Path,
    outputs_file: Path,
    tmp_path: Path,
    s3: Any,
    bucket: str,
    sagemaker: Any,
    capsys: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/a.jpg", Body=b"another image")
    log = RequestLog(s3)

    code = launch_job.main(
        args(folder, outputs_file, tmp_path),
        clients=AwsClients(s3=s3, sagemaker=sagemaker[0]),
    )

    assert code == 1
    err = capsys.readouterr().err
    assert "1 images differ from the objects already at their keys" in err
    assert "a.jpg (size 13 in S3" in err
    assert "PutObject" not in log.names()


def test_launch_overwrite_replaces_a_different_object(
    folder: Path, outputs_file: Path, tmp_path: Path, s3: Any, bucket: str, sagemaker: Any
) -> None:
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/a.jpg", Body=b"another image")
    client, stubber = sagemaker
    expect_new_job(stubber, expected_request(bucket))

    code = launch_job.main(
        args(folder, outputs_file, tmp_path, "--job-name", JOB, "--overwrite"),
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    assert code == 0
    body = s3.get_object(Bucket=bucket, Key="labeling_jobs/images/a.jpg")["Body"].read()
    assert body == (folder / "a.jpg").read_bytes()


def test_launch_existing_job_name_rejected_before_upload(
    folder: Path,
    outputs_file: Path,
    tmp_path: Path,
    s3: Any,
    bucket: str,
    sagemaker: Any,
    capsys: Any,
) -> None:
    client, stubber = sagemaker
    stubber.add_response(
        "describe_labeling_job",
        {
            "LabelingJobStatus": "Completed",
            "LabelCounters": {},
            "CreationTime": "2024-01-01T00:00:00Z",
            "LastModifiedTime": "2024-01-01T00:00:00Z",
            "JobReferenceCode": "abc",
            "LabelingJobName": JOB,
            "LabelingJobArn": JOB_ARN,
            "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/m"}}},
            "OutputConfig": {"S3OutputPath": "s3://b/o"},
            "RoleArn": ROLE_ARN,
            "HumanTaskConfig": expected_request(bucket)["HumanTaskConfig"],
        },
        expected_params={"LabelingJobName": JOB},
    )

    code = launch_job.main(
        args(folder, outputs_file, tmp_path, "--job-name", JOB),
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    assert code == 2
    assert "--job-name pose-test-job-1: a labeling job with this name already exists" in (
        capsys.readouterr().err
    )
    assert object_keys(s3, bucket) == []


def test_dry_run_prints_request_and_makes_no_aws_call(
    folder: Path,
    outputs_file: Path,
    tmp_path: Path,
    s3: Any,
    bucket: str,
    sagemaker: Any,
    capsys: Any,
) -> None:
    client, _ = sagemaker
    s3_log, sagemaker_log = RequestLog(s3), RequestLog(client)

    code = launch_job.main(
        args(folder, outputs_file, tmp_path, "--job-name", JOB, "--dry-run"),
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == expected_request(bucket)
    assert s3_log.calls == [] and sagemaker_log.calls == []
    assert object_keys(s3, bucket) == []
    assert len(manifest_lines((tmp_path / "out.manifest").read_text())) == 3
    assert "dry run: 3 images" in err


def test_dry_run_sets_every_option_in_the_request(
    folder: Path, outputs_file: Path, tmp_path: Path, bucket: str, capsys: Any
) -> None:
    code = launch_job.main(
        args(
            folder,
            outputs_file,
            tmp_path,
            "--dry-run",
            "--job-name", JOB,
            "--label-attribute", "body-pose",
            "--title", "Mark the players",
            "--description", "Every player on the field",
            "--keywords", "sports, pose",
            "--workers", "3",
            "--time-limit", "15m",
            "--task-lifetime", "2d",
            "--max-concurrent-tasks", "200",
            "--tag", "project=Straße 1",
            "--tag", "team=vision",
        )
    )  # fmt: skip

    assert code == 0
    request = json.loads(capsys.readouterr().out)
    expected = expected_request(
        bucket,
        TaskTitle="Mark the players",
        TaskDescription="Every player on the field",
        TaskKeywords=["sports", "pose"],
        NumberOfHumanWorkersPerDataObject=3,
        TaskTimeLimitInSeconds=900,
        TaskAvailabilityLifetimeInSeconds=172800,
        MaxConcurrentTaskCount=200,
    )
    expected["LabelAttributeName"] = "body-pose"
    expected["Tags"] = [
        {"Key": "project", "Value": "Straße 1"},
        {"Key": "team", "Value": "vision"},
    ]
    assert request == expected


def test_dry_run_passes_kms_key_from_stack_outputs(
    folder: Path, tmp_path: Path, bucket: str, capsys: Any
) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket, kms_key_id=key)

    assert launch_job.main(args(folder, outputs, tmp_path, "--dry-run")) == 0

    request = json.loads(capsys.readouterr().out)
    assert request["OutputConfig"] == {
        "S3OutputPath": f"s3://{bucket}/labeling_jobs/output/",
        "KmsKeyId": key,
    }


LONG = "x" * 300
INVALID_OPTIONS = [
    (["--job-name", "pose_job"], "argument --job-name: 'pose_job': use ASCII letters"),
    (["--job-name", "a" * 64], "argument --job-name: 'aaaa"),
    (["--label-attribute", "pose-metadata"], "argument --label-attribute: 'pose-metadata' must not end in '-metadata'"),
    (["--label-attribute", "pose-ref"], "argument --label-attribute: 'pose-ref' must not end in '-ref'"),
    (["--title", "t" * 129], "argument --title: must be 1 to 128 characters, got 129"),
    (["--title", "bell\x07"], "argument --title: contains control characters"),
    (["--description", LONG], "argument --description: must be 1 to 255 characters, got 300"),
    (["--description", "two\nlines"], "argument --description: must be one line"),
    (["--keywords", "key-points"], "argument --keywords: keyword 'key-points': only ASCII letters"),
    (["--keywords", "a,b,c,d,e,f"], "argument --keywords: give 1 to 5 comma-separated keywords, got 6"),
    (["--keywords", "k" * 31], "argument --keywords: keyword 'kkkk"),
    (["--workers", "0"], "argument --workers: must be 1 to 9, got 0"),
    (["--workers", "10"], "argument --workers: must be 1 to 9, got 10"),
    (["--workers", "two"], "argument --workers: expected a whole number, got 'two'"),
    (["--time-limit", "29"], "argument --time-limit: must be 30s to 8h, got 29"),
    (["--time-limit", "9h"], "argument --time-limit: must be 30s to 8h, got 9h (32400 s)"),
    (["--task-lifetime", "59s"], "argument --task-lifetime: must be 1m to 30d, got 59s"),
    (["--task-lifetime", "31d"], "argument --task-lifetime: must be 1m to 30d, got 31d"),
    (["--task-lifetime", "soon"], "argument --task-lifetime: expected seconds or a duration"),
    (["--max-concurrent-tasks", "0"], "argument --max-concurrent-tasks: must be 1 to 5000, got 0"),
    (["--max-concurrent-tasks", "5001"], "argument --max-concurrent-tasks: must be 1 to 5000, got 5001"),
    (["--tag", "aws:owner=me"], "argument --tag: tag key 'aws:owner': the aws: prefix is reserved"),
    (["--tag", "owner=me;drop"], "argument --tag: tag value 'me;drop' contains ';'"),
    (["--tag", "owner"], "argument --tag: 'owner': expected KEY=VALUE"),
    (["--tag", "k" * 129 + "=v"], "argument --tag: tag key must be 1 to 128 characters, got 129"),
    (["--tag", "k=" + "v" * 257], "argument --tag: tag 'k': value must be at most 256 characters"),
    ([f"--tag=k{i}=v" for i in range(51)], "--tag: at most 50 tags, got 51"),
    (["--workteam-arn", "arn:aws:sagemaker:us-east-1:123:workteam/x"], "argument --workteam-arn: 'arn:aws:sagemaker:us-east-1:123:workteam/x' is not a work team ARN"),
    (["--workteam-arn", "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/t"], "--workteam-arn: the work team is in eu-west-1, the stack in us-east-1"),
    (
        ["--workteam-arn", "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default", "--task-lifetime", "13h"],
        "--task-lifetime: at most 12h for the Mechanical Turk workforce",
    ),
    (["--images-prefix", "/abs/"], "--images-prefix '/abs/': expected a key prefix"),
    (["--images-prefix", "../x"], "--images-prefix '../x': expected a key prefix"),
    (["--images-prefix", "labeling_jobs/images/../../x"], "--images-prefix 'labeling_jobs/images/../../x': expected a key prefix"),
    (["--images-prefix", "labeling_jobs/images/./x"], "--images-prefix 'labeling_jobs/images/./x': expected a key prefix"),
    (["--images-prefix", "datasets/run-1/"], "--images-prefix s3://stack-bucket/datasets/run-1/: the job's role may read only labeling_jobs/images/, labeling_jobs/manifests/, labeling_jobs/output/"),
    (["--images-prefix", "labeling_jobs/imagesX/"], "--images-prefix s3://stack-bucket/labeling_jobs/imagesX/: the job's role may read only"),
    (["--concurrency", "0"], "argument --concurrency: must be 1 to 64, got 0"),
]  # fmt: skip


@dataclass
class IdleAws:
    """Clients no call may reach, shared by the cases that must stop before any AWS call."""

    clients: AwsClients
    s3_log: RequestLog
    sagemaker_log: RequestLog

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        return self.s3_log.calls + self.sagemaker_log.calls


@pytest.fixture(scope="module")
def idle_aws(moto_endpoint: str) -> Iterator[IdleAws]:
    """One S3 client (moto) and one SageMaker client whose Stubber has nothing queued.

    Built once per module: a SageMaker client loads a service model of several MB,
    which made each of the option cases below take seconds.
    """
    s3 = aws_fakes.s3_client(moto_endpoint)
    client, stubber = aws_fakes.sagemaker_client()
    with stubber:
        yield IdleAws(AwsClients(s3=s3, sagemaker=client), RequestLog(s3), RequestLog(client))


@pytest.fixture
def idle(idle_aws: IdleAws) -> IdleAws:
    idle_aws.s3_log.calls.clear()
    idle_aws.sagemaker_log.calls.clear()
    return idle_aws


@pytest.fixture(scope="module")
def stack_bucket_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stack outputs naming ``stack-bucket``; nothing may reach it, so it need not exist."""
    path = tmp_path_factory.mktemp("stack") / "outputs.json"
    return aws_fakes.write_stack_outputs(path, "stack-bucket")


@pytest.mark.parametrize(
    ("extra", "message"), INVALID_OPTIONS, ids=[m[:40] for _, m in INVALID_OPTIONS]
)
def test_launch_invalid_option_rejected_before_any_upload(
    extra: list[str],
    message: str,
    folder: Path,
    stack_bucket_outputs: Path,
    tmp_path: Path,
    idle: IdleAws,
    capsys: Any,
) -> None:
    code = exit_code(
        launch_job.main,
        args(folder, stack_bucket_outputs, tmp_path, *extra),
        clients=idle.clients,
    )

    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert idle.calls() == []
    assert list(tmp_path.glob("out.manifest*")) == []


def exit_code(main: Any, argv: list[str], **kwargs: Any) -> int:
    """``main``'s exit code, whether it returns it or argparse exits with it."""
    try:
        return int(main(argv, **kwargs))
    except SystemExit as exc:
        return int(exc.code or 0)


def test_launch_missing_folder_is_a_usage_error(
    outputs_file: Path, tmp_path: Path, capsys: Any
) -> None:
    code = launch_job.main(args(tmp_path / "nowhere", outputs_file, tmp_path, "--dry-run"))

    assert code == 2
    assert "FOLDER" in capsys.readouterr().err


def test_launch_folder_without_images_fails(
    outputs_file: Path, tmp_path: Path, capsys: Any
) -> None:
    (tmp_path / "empty").mkdir()

    code = launch_job.main(args(tmp_path / "empty", outputs_file, tmp_path, "--dry-run"))

    assert code == 1
    assert "no .jpg, .jpeg or .png images in" in capsys.readouterr().err


def test_launch_pre_annotations_too_large_for_a_manifest_attribute(
    folder: Path, outputs_file: Path, tmp_path: Path, capsys: Any
) -> None:
    person = {
        "name": "person",
        "annotations": [{"label": "nose", "x": 10.123456789, "y": 20.123456789, "visibility": 2}],
    }
    line = {"image": "a.jpg", "annotations": [dict(person, name=f"person {i}") for i in range(400)]}
    pre = tmp_path / "pre.jsonl"
    pre.write_text(json.dumps(line) + "\n")

    code = launch_job.main(
        args(folder, outputs_file, tmp_path, "--dry-run", "--pre-annotations", str(pre))
    )

    err = capsys.readouterr().err
    assert code == 1
    assert "pre-annotations for a.jpg: " in err
    assert "Ground Truth allows 20,000 per attribute" in err


def test_launch_unwritable_manifest_path_is_one_line(
    folder: Path, outputs_file: Path, tmp_path: Path, capsys: Any
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    argv = args(folder, outputs_file, tmp_path, "--dry-run")
    argv[argv.index("--manifest-out") + 1] = str(blocker / "job.manifest")

    code = launch_job.main(argv)

    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert code == 1
    assert errors == [f"python -m scripts.launch_job: error: {blocker}: File exists"]


def test_launch_non_utf8_file_name_stops_before_any_upload(
    folder: Path, stack_bucket_outputs: Path, tmp_path: Path, idle: IdleAws, capsys: Any
) -> None:
    latin1 = os.fsdecode(b"caf\xe9.jpg")  # "café.jpg" written by a Latin-1 system
    (folder / latin1).write_bytes((folder / "a.jpg").read_bytes())

    code = launch_job.main(
        args(folder, stack_bucket_outputs, tmp_path, "--job-name", JOB), clients=idle.clients
    )

    errors = capsys.readouterr().err.splitlines()
    assert code == 1
    assert [line for line in errors if ": error: " in line] == [
        f"python -m scripts.launch_job: error: {folder}: 1 image file names are not valid"
        r" UTF-8 (caf\xe9.jpg); S3 keys and the manifest are UTF-8, so rename them"
        " (convmv -f latin1 -t utf8 -r --notest FOLDER, for example)"
    ]
    assert idle.calls() == []
    assert list(tmp_path.glob("out.manifest*")) == []


S3_PREFIXES_JOBS_CANNOT_READ = [
    ("s3://stack-bucket/datasets/run-1", "S3_PREFIX s3://stack-bucket/datasets/run-1/: the job's role may read only labeling_jobs/images/, labeling_jobs/manifests/, labeling_jobs/output/ in the stack's bucket"),
    ("s3://stack-bucket/", "S3_PREFIX s3://stack-bucket/: the job's role may read only"),
    ("s3://stack-bucket/labeling_jobs/images/../x/", "S3_PREFIX 'labeling_jobs/images/../x/': expected a key prefix"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "message"),
    S3_PREFIXES_JOBS_CANNOT_READ,
    ids=[s for s, _ in S3_PREFIXES_JOBS_CANNOT_READ],
)
def test_launch_s3_prefix_jobs_cannot_read_is_rejected_before_any_call(
    source: str,
    message: str,
    stack_bucket_outputs: Path,
    tmp_path: Path,
    idle: IdleAws,
    capsys: Any,
) -> None:
    code = launch_job.main(args(source, stack_bucket_outputs, tmp_path), clients=idle.clients)

    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert idle.calls() == []


def test_prefixes_jobs_may_read_are_those_the_execution_role_grants() -> None:
    bucket = "arn:aws:s3:::b"
    document = json.loads(
        policies.execution_role_policy(
            bucket_arn=bucket,
            template_key=TEMPLATE_KEY,
            lambda_arns=[PRE_LAMBDA_ARN],
            region=REGION,
            account_id=ACCOUNT,
        )
    )
    readable = {
        resource
        for statement in document["Statement"]
        if "s3:GetObject" in statement["Action"]
        for resource in statement["Resource"]
    }
    assert readable == {f"{bucket}/{prefix}*" for prefix in launch_job.READABLE_BY_JOBS} | {
        f"{bucket}/{TEMPLATE_KEY}"
    }


# -- the real command, as a user runs it -------------------------------------------------


def run_command(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.launch_job", *argv],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )


def test_command_dry_run_prints_the_request(
    folder: Path, stack_bucket_outputs: Path, tmp_path: Path
) -> None:
    result = run_command(
        *args(folder, stack_bucket_outputs, tmp_path, "--job-name", JOB, "--dry-run")
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected_request("stack-bucket")
    assert "dry run: 3 images" in result.stderr
    assert len(manifest_lines((tmp_path / "out.manifest").read_text())) == 3


def test_command_bad_prefix_is_one_line_and_exit_code_2(
    folder: Path, stack_bucket_outputs: Path, tmp_path: Path
) -> None:
    result = run_command(
        *args(folder, stack_bucket_outputs, tmp_path, "--images-prefix", "../x", "--dry-run")
    )

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "python -m scripts.launch_job: error: --images-prefix '../x': expected a key prefix like"
        " labeling_jobs/images/ (UTF-8 folder names, no '.', '..' or empty folders)"
    ]
    assert result.stdout == ""
    assert not (tmp_path / "out.manifest").exists()
