"""AWS for the scripts' tests: S3 on a real HTTP moto server, SageMaker under Stubber.

Shared by ``tests/scripts`` and ``tests/e2e`` (each has a conftest that turns
these into fixtures). Clients carry explicit fake credentials, so no test can
reach a real account whatever the environment holds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from handlers.rig import load_rig

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
WORKTEAM_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/pose-team"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pose-labeling-ground-truth"
PRE_LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pose-labeling-pre-annotation"
POST_LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pose-labeling-post-annotation"


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port); yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str, *, pool: int = 16) -> Any:
    return boto3.session.Session().client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        config=Config(max_pool_connections=pool, retries={"mode": "standard", "max_attempts": 2}),
        **CREDENTIALS,
    )


def new_bucket(s3: Any) -> str:
    name = f"pose-labeling-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def sagemaker_client() -> tuple[Any, Stubber]:
    """A SageMaker client whose requests are validated by botocore, then answered by the stub."""
    client = boto3.session.Session().client("sagemaker", region_name=REGION, **CREDENTIALS)
    return client, Stubber(client)


def stack_outputs(bucket: str, *, rig: str = "coco-person-17", **extra: Any) -> dict[str, Any]:
    """The JSON ``pulumi stack output --json`` prints for a deployed stack on ``bucket``."""
    return {
        "bucket_name": bucket,
        "template_s3_uri": f"s3://{bucket}/infrastructure/ground_truth_templates/pose.liquid.html",
        "component_url": "https://d111111abcdef8.cloudfront.net/crowd-2d-skeleton.js",
        "cdn_domain_name": "d111111abcdef8.cloudfront.net",
        "pre_annotation_lambda_arn": PRE_LAMBDA_ARN,
        "post_annotation_lambda_arn": POST_LAMBDA_ARN,
        "ground_truth_role_arn": ROLE_ARN,
        "rig": load_rig(rig).to_jsonable(),
        "region": REGION,
        **extra,
    }


def write_stack_outputs(path: Path, bucket: str, **extra: Any) -> Path:
    path.write_text(json.dumps(stack_outputs(bucket, **extra)), encoding="utf-8")
    return path


def object_keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


class RequestLog:
    """Records every operation a client is asked to make, with its parameters."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-parameter-build.*.*", self._record)

    def _record(self, params: Any, model: Any, **kwargs: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def keys(self, operation: str) -> list[str]:
        """The ``Key`` of every ``operation`` call, sorted."""
        return sorted(params["Key"] for name, params in self.calls if name == operation)


def labeling_job_description(
    job: str, output_manifest: str, *, attribute: str = "label-results", status: str = "Completed"
) -> dict[str, Any]:
    """A ``describe_labeling_job`` response (valid in botocore's model) of a finished job
    whose output manifest is ``output_manifest`` (an s3:// URI)."""
    return {
        "LabelingJobStatus": status,
        "LabelCounters": {"TotalLabeled": 1},
        "CreationTime": "2025-03-14T09:30:00Z",
        "LastModifiedTime": "2025-03-14T10:00:00Z",
        "JobReferenceCode": "ref",
        "LabelingJobName": job,
        "LabelingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job}",
        "LabelAttributeName": attribute,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/m"}}},
        "OutputConfig": {"S3OutputPath": output_manifest.rsplit("/", 4)[0] + "/"},
        "RoleArn": ROLE_ARN,
        "HumanTaskConfig": {
            "WorkteamArn": WORKTEAM_ARN,
            "UiConfig": {"UiTemplateS3Uri": "s3://b/t"},
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 60,
        },
        "LabelingJobOutput": {"OutputDatasetS3Uri": output_manifest},
    }


def create_labeling_job_request(
    bucket: str,
    job: str,
    *,
    attribute: str = "label-results",
    title: str = "Pose labeling: coco-person-17",
    description: str = "Place the 17 keypoints of the coco-person-17 skeleton on each"
    " instance in the image; mark hidden points as occluded.",
    **human: Any,
) -> dict[str, Any]:
    """The CreateLabelingJob request a launch makes with the default options, written out
    in full against the stack outputs of :func:`stack_outputs`; ``human`` overrides or
    adds ``HumanTaskConfig`` members."""
    return {
        "LabelingJobName": job,
        "LabelAttributeName": attribute,
        "InputConfig": {
            "DataSource": {
                "S3DataSource": {
                    "ManifestS3Uri": f"s3://{bucket}/labeling_jobs/manifests/{job}.manifest"
                }
            }
        },
        "OutputConfig": {"S3OutputPath": f"s3://{bucket}/labeling_jobs/output/"},
        "RoleArn": ROLE_ARN,
        "HumanTaskConfig": {
            "WorkteamArn": WORKTEAM_ARN,
            "UiConfig": {
                "UiTemplateS3Uri": f"s3://{bucket}/infrastructure/ground_truth_templates/pose.liquid.html"
            },
            "PreHumanTaskLambdaArn": PRE_LAMBDA_ARN,
            "TaskKeywords": ["pose", "keypoints", "skeleton"],
            "TaskTitle": title,
            "TaskDescription": description,
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 3600,
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": POST_LAMBDA_ARN},
            **human,
        },
    }
