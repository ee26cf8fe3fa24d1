"""Building the self-hosted runner's task service for tests: on moto (DynamoDB, S3) or locally."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.rig import Rig, load_rig
from handlers.task_records import Identity, JobSpec
from handlers.task_service import TaskService
from handlers.task_store_aws import DynamoTaskTable, S3Objects
from scripts.task_local import LocalObjects, LocalTaskTable

REGION = "us-east-1"
TABLE = "pose-labeling-tasks"
BUCKET = "pose-labeling-bucket"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012:labeling-job/"
COCO = load_rig("coco-person-17")
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass
class Clock:
    """The service's clock, moved by the test."""

    now: float = START
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class Serialized:
    """A DynamoDB client whose requests run one at a time.

    DynamoDB applies each request (a conditional write, a transaction) atomically;
    moto checks a condition and then writes, and another thread can slip in
    between. Serializing the requests gives moto DynamoDB's atomicity; the
    interleaving of *requests* from many workers, where the service's own races
    would be, is left to the threads.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


def create_table(client: Any, name: str = TABLE) -> None:
    """The table as the stack creates it: ``pk``/``sk`` strings, on demand, no index."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def deployed_template(rig: Rig = COCO) -> str:
    return render_worker_template(
        TEMPLATE_PATH.read_text(encoding="utf-8"),
        component_url="https://d111.cloudfront.net/crowd-2d-skeleton.abc.js",
        rig=rig,
        instructions="Place every keypoint.",
    )


def aws_service(clock: Clock, rig: Rig = COCO) -> TaskService:
    """The service on moto (inside the ``aws`` fixture): a fresh table and bucket."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_table(dynamodb)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    template = deployed_template(rig)
    return TaskService(
        DynamoTaskTable(Serialized(dynamodb), TABLE),
        S3Objects(s3),
        rig,
        lambda: template,
        clock,
    )


def local_service(clock: Clock, root: Path, rig: Rig = COCO) -> TaskService:
    template = deployed_template(rig)
    objects = LocalObjects(root, BUCKET, lambda uri: "/images/" + uri.rsplit("/", 1)[-1])
    return TaskService(LocalTaskTable(), objects, rig, lambda: template, clock)


def spec(name: str = "pose-job", *, workers: int = 1, **changes: Any) -> JobSpec:
    values: dict[str, Any] = {
        "name": name,
        "label_attribute": "pose",
        "workers": workers,
        "time_limit": 300,
        "lifetime": 86_400,
        "manifest_uri": f"s3://{BUCKET}/labeling_jobs/manifests/{name}.manifest",
        "output_path": f"s3://{BUCKET}/labeling_jobs/output/",
        "title": "Pose labeling",
        "description": "Place the keypoints",
    }
    values.update(changes)
    return JobSpec(**values)


def manifest(count: int) -> list[dict[str, Any]]:
    return [
        {"source-ref": f"s3://{BUCKET}/labeling_jobs/images/img-{i:03d}.jpg", "n": i}
        for i in range(count)
    ]


def worker(name: str) -> Identity:
    return Identity(
        f"private.{REGION}.{name}",
        {"identityProviderType": "Cognito", "issuer": "https://cognito", "sub": name},
    )


def answer(image: str = "a.jpg", x: int = 100) -> dict[str, str]:
    """A submission as the component writes it into the form (every value a string)."""
    person = {
        "name": "person 1",
        "annotations": [
            {"label": k.label, "x": x + k.x, "y": 50 + k.y, "visibility": 2} for k in COCO.keypoints
        ],
    }
    return {
        "updated_annotations": json.dumps([person]),
        "original_annotations": "[]",
        "image_s3_uri": f"s3://{BUCKET}/labeling_jobs/images/{image}",
        "image_name": image,
        "image_width": "640",
        "image_height": "480",
        "no_changes_needed": "false",
        "total_time_in_seconds": "12",
    }
