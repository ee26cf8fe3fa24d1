"""The Lambda archive: reproducible bytes, and a layout the Lambda runtime can actually run.

The run tests unpack the archive built exactly as ``__main__.py`` builds it and
call both handlers in a separate, isolated interpreter whose only copy of
``handlers`` is the unpacked one, the way Lambda imports it from its task root.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from components.lambda_archive import HANDLERS_DIR, RIG_FILE, build_archive
from handlers.rig import load_rig

JOB_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/pose-test"
IMAGE = "s3://labels-bucket/labeling_jobs/images/person.jpg"


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default stack's archive (coco-person-17), unpacked as Lambda unpacks it."""
    root = tmp_path_factory.mktemp("task-root")
    with zipfile.ZipFile(BytesIO(build_archive(load_rig("coco-person-17")).data)) as archive:
        archive.extractall(root)
    return root


def run_in_lambda_layout(task_root: Path, script: str) -> dict:
    """Run ``script`` isolated (no repo on sys.path) with the task root first, as Lambda does."""
    env = {
        "LAMBDA_TASK_ROOT": str(task_root),
        **build_archive(load_rig("coco-person-17")).environment,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PATH": "/usr/bin:/bin",
    }
    prelude = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(task_root)!r})
        """
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", prelude + textwrap.dedent(script)],
        env=env,
        cwd=task_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_archive_is_byte_identical_across_builds() -> None:
    rig = load_rig("coco-person-17")
    assert build_archive(rig).data == build_archive(rig).data


def test_archive_code_hash_is_base64_sha256_of_the_bytes() -> None:
    archive = build_archive(load_rig("human-18"))
    assert archive.code_hash == base64.b64encode(hashlib.sha256(archive.data).digest()).decode()


def test_archive_holds_the_package_and_the_rig_only(tmp_path: Path) -> None:
    package = tmp_path / "handlers"
    (package / "__pycache__").mkdir(parents=True)
    for module in ("__init__", "pre_annotation", "post_annotation"):
        (package / f"{module}.py").write_text("")
    (package / "__pycache__" / "pre_annotation.cpython-311.pyc").write_bytes(b"\0")
    (package / "stale.pyc").write_bytes(b"\0")
    with zipfile.ZipFile(BytesIO(build_archive(load_rig("human-18"), package).data)) as archive:
        names = archive.namelist()
        stamps = {info.date_time for info in archive.infolist()}
    assert names == sorted(names)
    assert names == [
        "handlers/__init__.py",
        "handlers/post_annotation.py",
        "handlers/pre_annotation.py",
        RIG_FILE,
    ]
    assert stamps == {(1980, 1, 1, 0, 0, 0)}, "timestamps must not depend on the checkout"


def test_archive_rig_file_is_the_configured_rig(task_root: Path) -> None:
    deployed = json.loads((task_root / RIG_FILE).read_text(encoding="utf-8"))
    assert deployed == load_rig("coco-person-17").to_jsonable()


def test_archive_holds_every_module_of_the_handlers_package(task_root: Path) -> None:
    expected = {p.name for p in HANDLERS_DIR.glob("*.py")}
    assert {p.name for p in (task_root / "handlers").glob("*.py")} == expected


def test_missing_handler_module_fails_before_deploy(tmp_path: Path) -> None:
    package = tmp_path / "handlers"
    package.mkdir()
    (package / "pre_annotation.py").write_text("")
    with pytest.raises(FileNotFoundError, match=r"handlers/post_annotation\.py not found"):
        build_archive(load_rig("human-18"), package)


def test_unpacked_pre_annotation_handler_answers_a_manifest_line(task_root: Path) -> None:
    event = {
        "version": "2018-10-16",
        "labelingJobArn": JOB_ARN,
        "dataObject": {"source-ref": IMAGE},
    }
    result = run_in_lambda_layout(
        task_root,
        f"""
        import handlers
        from handlers.pre_annotation import lambda_handler
        assert handlers.__file__.startswith({str(task_root)!r}), handlers.__file__
        print(json.dumps(lambda_handler({event!r}, None)))
        """,
    )
    assert result["isHumanAnnotationRequired"] is True
    assert result["taskInput"]["image_s3_uri"] == IMAGE
    assert result["taskInput"]["image_name"] == "person.jpg"


def test_unpacked_post_annotation_handler_consolidates_a_payload_from_s3(task_root: Path) -> None:
    skeleton = {"name": "person 1", "annotations": [{"label": "nose", "x": 10, "y": 20}]}
    answer = {
        "updated_annotations": json.dumps([skeleton]),
        "original_annotations": "[]",
        "image_s3_uri": IMAGE,
        "image_name": "person.jpg",
        "image_width": "640",
        "image_height": "480",
        "no_changes_needed": "false",
        "total_time_in_seconds": "12",
    }
    payload = [
        {
            "datasetObjectId": "0",
            "dataObject": {"s3Uri": IMAGE},
            "annotations": [
                {
                    "workerId": "private.eu-west-1.w1",
                    "annotationData": {"content": json.dumps(answer)},
                }
            ],
        }
    ]
    payload_key = "labeling_jobs/output/pose-test/annotations/consolidated-annotation/consolidation-request/iteration-1/t.json"
    event = {
        "version": "2018-10-16",
        "labelingJobArn": JOB_ARN,
        "labelAttributeName": "pose",
        "roleArn": "arn:aws:iam::123456789012:role/gt",
        "payload": {"s3Uri": f"s3://labels-bucket/{payload_key}"},
    }
    result = run_in_lambda_layout(
        task_root,
        f"""
        import boto3
        from moto import mock_aws
        with mock_aws():
            s3 = boto3.client("s3", region_name="eu-west-1")
            s3.create_bucket(
                Bucket="labels-bucket",
                CreateBucketConfiguration={{"LocationConstraint": "eu-west-1"}},
            )
            s3.put_object(Bucket="labels-bucket", Key={payload_key!r}, Body={json.dumps(payload)!r})
            import handlers
            from handlers.post_annotation import lambda_handler
            assert handlers.__file__.startswith({str(task_root)!r}), handlers.__file__
            print(json.dumps(lambda_handler({event!r}, None)))
        """,
    )
    (entry,) = result
    assert entry["datasetObjectId"] == "0"
    label = entry["consolidatedAnnotation"]["content"]["pose"]
    assert label["data_object_s3_uri"] == IMAGE
    (consolidated,) = label["updated_annotations"]
    assert [(a["label"], a["x"], a["y"]) for a in consolidated["annotations"]] == [("nose", 10, 20)]
