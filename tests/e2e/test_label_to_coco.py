"""Offline end to end: launch → pre-annotation → worker answers → post-annotation → export.

Everything AWS does is played here from its documented contracts: S3 is a moto
server over HTTP, job creation and description go through botocore's Stubber,
the two Lambdas are the real handlers, and the consolidation payload and the
output manifest are written where and as Ground Truth writes them. The export
must give back, in a COCO file pycocotools reads, the very keypoints the
workers submitted, and pictures that show them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from PIL import Image
from pycocotools.coco import COCO

import handlers.post_annotation
from handlers import pre_annotation
from handlers.rig import load_rig
from scripts import export_results, launch_job
from scripts.aws import AwsClients
from tests.scripts import aws_fakes
from tests.scripts.images import make_image

RIG = load_rig("coco-person-17")
JOB = "pose-e2e-1"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{JOB}"
ATTRIBUTE = "label-results"  # launch_job's default
W, H = 320, 240

#: What the workers place, per image: skeleton name -> label -> (x, y, visibility).
PLACED: dict[str, dict[str, dict[str, tuple[int, int, int]]]] = {
    "court/a.jpg": {
        "person 1": {
            "nose": (160, 30, 2),
            "left_shoulder": (185, 70, 2),
            "left_elbow": (200, 110, 2),
            "right_shoulder": (135, 70, 1),
            "left_hip": (178, 140, 2),
            "right_hip": (142, 140, 2),
        },
        "person 2": {"nose": (40, 40, 2), "left_ankle": (60, 220, 2)},
    },
    "b.png": {"person 1": {"nose": (100, 60, 2), "right_wrist": (60, 150, 2)}},
}
#: b.png starts from a model's guess (COCO pre-annotations) that the worker corrects.
PRE_ANNOTATED = {"nose": (90, 50, 2), "right_wrist": (60, 150, 2)}


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return aws_fakes.s3_client(moto_endpoint)


def component_skeletons(placed: dict[str, dict[str, tuple[int, int, int]]]) -> list[dict[str, Any]]:
    """Skeletons serialised as the component does: rig order, whole pixels."""
    return [
        {
            "name": name,
            "annotations": [
                {
                    "label": label,
                    "x": points[label][0],
                    "y": points[label][1],
                    "visibility": points[label][2],
                }
                for label in RIG.labels
                if label in points
            ],
        }
        for name, points in placed.items()
    ]


def component_submission(task_input: dict[str, Any], name: str, seconds: int) -> dict[str, str]:
    """The crowd-form fields the component writes on submit (docs/contracts.md): all strings."""
    original = json.loads(task_input["initial_values"])
    compact = {"separators": (",", ":")}
    return {
        "updated_annotations": json.dumps(component_skeletons(PLACED[name]), **compact),
        "original_annotations": json.dumps(original, **compact),
        "image_s3_uri": task_input["image_s3_uri"],
        "image_name": task_input["image_name"],
        "image_width": str(W),
        "image_height": str(H),
        "no_changes_needed": "false",
        "total_time_in_seconds": str(seconds),
    }


def coco_pre_annotations(path: Path) -> Path:
    flat: list[int] = []
    for label in RIG.labels:
        flat.extend(PRE_ANNOTATED.get(label, (0, 0, 0)))
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "b.png", "width": W, "height": H}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": flat}],
                "categories": [{"id": 1, "name": "person", "keypoints": list(RIG.labels)}],
            }
        )
    )
    return path


def described(bucket: str, request: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "LabelingJobStatus": "Completed",
        "LabelCounters": {"TotalLabeled": 2, "HumanLabeled": 2, "Unlabeled": 0},
        "CreationTime": "2025-03-14T09:30:00Z",
        "LastModifiedTime": "2025-03-14T11:00:00Z",
        "JobReferenceCode": "ref",
        "LabelingJobArn": JOB_ARN,
        **{k: request[k] for k in ("LabelingJobName", "LabelAttributeName", "InputConfig", "OutputConfig", "RoleArn", "HumanTaskConfig")},
        **extra,
    }  # fmt: skip


def test_labels_from_launch_to_coco_and_pictures(tmp_path: Path, s3: Any, capsys: Any) -> None:
    bucket = aws_fakes.new_bucket(s3)
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)
    folder = tmp_path / "images"
    make_image(folder / "court" / "a.jpg", (W, H), "#808080")
    make_image(folder / "b.png", (W, H), "#808080")
    sagemaker, _ = aws_fakes.sagemaker_client()  # a Stubber per step below
    clients = AwsClients(s3=s3, sagemaker=sagemaker)

    # 1. Launch: images and manifest to S3, the job request validated by botocore.
    with Stubber(sagemaker) as stub:
        launch_args = [
            str(folder), "--job-name", JOB, "--workers", "2", "--workteam-arn", aws_fakes.WORKTEAM_ARN,
            "--stack-outputs", str(outputs), "--manifest-out", str(tmp_path / "input.manifest"),
            "--pre-annotations", str(coco_pre_annotations(tmp_path / "model.json")),
        ]  # fmt: skip
        assert launch_job.main([*launch_args, "--dry-run"]) == 0
        request = json.loads(capsys.readouterr().out)
        stub.add_client_error(
            "describe_labeling_job", "ResourceNotFound", expected_params={"LabelingJobName": JOB}
        )
        stub.add_response(
            "create_labeling_job", {"LabelingJobArn": JOB_ARN}, expected_params=request
        )
        assert launch_job.main(launch_args, clients=clients) == 0, capsys.readouterr().err
        stub.assert_no_pending_responses()
    assert request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 2
    manifest_uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    manifest_key = manifest_uri.removeprefix(f"s3://{bucket}/")
    input_lines = [
        json.loads(line)
        for line in s3.get_object(Bucket=bucket, Key=manifest_key)["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    assert [line["source-ref"] for line in input_lines] == [
        f"s3://{bucket}/labeling_jobs/images/b.png",
        f"s3://{bucket}/labeling_jobs/images/court/a.jpg",
    ]

    # 2. Ground Truth sends each line to the pre-annotation Lambda; two workers answer each task.
    payload = []
    for index, line in enumerate(input_lines):
        # The Lambdas get the rig that `pulumi up` bundled; here the stack's rig is passed.
        response = pre_annotation.pre_annotate(
            {"version": "2018-10-16", "labelingJobArn": JOB_ARN, "dataObject": line}, RIG
        )
        assert response["isHumanAnnotationRequired"] is True
        task_input = response["taskInput"]
        name = line["source-ref"].split("/labeling_jobs/images/")[1]
        payload.append(
            {
                "datasetObjectId": str(index),
                "dataObject": {"s3Uri": line["source-ref"]},
                "annotations": [
                    {
                        "workerId": f"private.us-east-1.worker{w}",
                        "annotationData": {
                            "content": json.dumps(
                                component_submission(task_input, name, 20 + 10 * w)
                            )
                        },
                    }
                    for w in range(2)
                ],
            }
        )
    b_task = json.loads(payload[0]["annotations"][0]["annotationData"]["content"])
    assert json.loads(b_task["original_annotations"])[0]["annotations"][0] == {
        "label": "nose", "x": 90, "y": 50, "visibility": 2
    }  # fmt: skip

    # 3. Ground Truth writes the consolidation request to S3 and calls the post Lambda.
    output = f"s3://{bucket}/labeling_jobs/output/{JOB}"
    request_key = f"labeling_jobs/output/{JOB}/annotations/consolidated-annotation/consolidation-request/iteration-1/2025-03-14_10:00:00.json"
    s3.put_object(Bucket=bucket, Key=request_key, Body=json.dumps(payload).encode())
    consolidated = handlers.post_annotation.consolidate_batch(
        {
            "version": "2018-10-06",
            "labelingJobArn": JOB_ARN,
            "labelCategories": None,
            "labelAttributeName": ATTRIBUTE,
            "roleArn": aws_fakes.ROLE_ARN,
            "outputConfig": f"{output}/annotations",
            "maxHumanWorkersPerDataObject": 2,
            "payload": {"s3Uri": f"s3://{bucket}/{request_key}"},
        },
        RIG,
        s3=s3,
    )
    assert [item["datasetObjectId"] for item in consolidated] == ["0", "1"]

    # 4. Ground Truth merges each answer into its input line: the output manifest.
    by_id = {
        item["datasetObjectId"]: item["consolidatedAnnotation"]["content"] for item in consolidated
    }
    output_lines = [
        json.dumps(
            {
                **line,
                **by_id[str(index)],
                f"{ATTRIBUTE}-metadata": {
                    "type": "groundtruth/custom",
                    "job-name": JOB,
                    "human-annotated": "yes",
                    "creation-date": "2025-03-14T10:00:05.123456",
                },
            }
        )
        for index, line in enumerate(input_lines)
    ]
    output_key = f"labeling_jobs/output/{JOB}/manifests/output/output.manifest"
    s3.put_object(
        Bucket=bucket, Key=output_key, Body="".join(x + "\n" for x in output_lines).encode()
    )

    # 5. Export from the job's name.
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_labeling_job",
            described(
                bucket,
                request,
                LabelingJobOutput={"OutputDatasetS3Uri": f"s3://{bucket}/{output_key}"},
            ),
            {"LabelingJobName": JOB},
        )
        out = tmp_path / "export"
        code = export_results.main(
            [JOB, "--stack-outputs", str(outputs), "--out", str(out)], clients=clients
        )
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr

    coco = COCO(str(out / "coco_keypoints.json"))
    images = {image["file_name"]: image for image in coco.loadImgs(coco.getImgIds())}
    assert sorted(images) == ["b.png", "court/a.jpg"]
    for name, placed in PLACED.items():
        assert (images[name]["width"], images[name]["height"]) == (W, H)
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[images[name]["id"]]))
        expected = []
        for points in placed.values():
            flat: list[float] = []
            for label in RIG.labels:
                flat.extend(points.get(label, (0, 0, 0)))
            expected.append(flat)
        assert sorted(a["keypoints"] for a in annotations) == sorted(expected), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 2 and summary["skeletons"] == 3
    assert summary["modified_pre_annotations"] == 1 and summary["share_modified"] == 1.0
    assert summary["agreement"]["images_with_several_workers"] == 2
    assert summary["agreement"]["mean_oks"] == pytest.approx(1.0)
    assert summary["labeling_time_seconds"]["mean"] == 50  # 20 + 30 seconds per image
    assert "images: 2 labeled of 2 manifest lines" in stdout

    # 6. The pictures (images fetched from S3) show the skeletons in the rig's colours.
    picture = Image.open(out / "pictures" / "court" / "a.jpg").convert("RGB")
    nose = RIG.keypoints[RIG.index("nose")].color or ""
    for (x, y), color in [
        ((160, 30), nose),
        ((185, 70), "#D62728"),
        ((40, 40), nose),
        ((142, 140), "#1F77B4"),
    ]:
        assert _close(picture.getpixel((x, y)), color), (x, y, picture.getpixel((x, y)), color)
    assert _close(picture.getpixel((300, 20)), "#808080")
    assert (out / "pictures" / "b.jpg").is_file()
    assert "court/a.jpg" in (out / "review.html").read_text()
    yolo = (out / "yolo" / "coco-person-17" / "labels" / "court" / "a.txt").read_text().splitlines()
    assert len(yolo) == 2


def _close(pixel: Any, color: str, tolerance: int = 40) -> bool:
    expected = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))
