"""The self-hosted runner: next/submit latency with 50 workers, and what a 10,000-image job costs.

Run: ``python -m benchmarks runner``, or ``python -m benchmarks.bench_runner`` with
``--workers``, ``--images``, ``--answers`` (answers per image) or ``--cost-images``.

1. Latency. ``--workers`` (50) threads play workers against the task service in its
   local mode (the offline preview's storage: tasks in memory, files in a temporary
   folder), each calling the API adapter (``handlers.task_api.handle``) with the events
   API Gateway sends, one ``next`` then one ``submit`` after another until no task is
   left. Every call renders the real worker template through the real pre-annotation
   handler; the submit that completes an object runs the real post-annotation handler
   and writes Ground Truth's files. Reported: median and p95 of each, and requests per
   second. HTTP, the network and AWS's latency are not in these figures.
2. Cost. The same service on moto (DynamoDB and S3, in-process) labels ``--cost-images``
   images with 1 and with 3 workers per image; every DynamoDB and S3 request is counted,
   with the request units DynamoDB bills for it (item sizes by DynamoDB's rules). The
   counts per image are scaled to a 10,000-image job and priced, beside Ground Truth's
   price per labeled object. Lambda duration = the service's own time per call,
   measured here (moto's time taken out), plus an assumed AWS round trip per request.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from handlers import task_api
from handlers.rig import load_rig
from handlers.task_records import JobSpec
from handlers.task_service import TaskService
from scripts.task_local import LocalObjects, LocalTaskTable
from tests.handlers.runner_harness import answer as component_answer
from tests.handlers.runner_harness import create_table, deployed_template

RIG = load_rig("coco-person-17")
BUCKET = "pose-labeling-bench"
GROUP = "bench-workers"
REGION = "us-east-1"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012:labeling-job/"

# Prices in us-east-1 (sources in benchmarks/README.md), dollars.
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = 0.0000166667
LAMBDA_MEMORY_GB = 0.5  # the task-service Lambda's 512 MB
HTTP_API_PER_REQUEST = 1.00 / 1e6
DYNAMODB_PER_WRU = 0.625 / 1e6
DYNAMODB_PER_RRU = 0.125 / 1e6
S3_PER_PUT = 0.005 / 1000
S3_PER_GET = 0.0004 / 1000
GROUND_TRUTH_PER_OBJECT = 0.08  # the first 50,000 labeled objects of a month
#: Assumed time of one AWS request from a Lambda in the same region, seconds.
AWS_LATENCY = {"dynamodb": 0.006, "s3-get": 0.015, "s3-put": 0.025}


def spec(name: str, workers: int) -> JobSpec:
    return JobSpec(
        name=name,
        label_attribute="pose",
        workers=workers,
        time_limit=3600,
        lifetime=30 * 86400,
        manifest_uri=f"s3://{BUCKET}/labeling_jobs/manifests/{name}.manifest",
        output_path=f"s3://{BUCKET}/labeling_jobs/output/",
        title="Benchmark",
        description="Place the keypoints",
    )


def manifest(count: int) -> list[dict[str, Any]]:
    return [{"source-ref": f"s3://{BUCKET}/labeling_jobs/images/{i:06d}.jpg"} for i in range(count)]


def event(route: str, worker: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
    claims = {"sub": worker, "iss": "bench", "cognito:groups": [GROUP]}
    return {
        "version": "2.0",
        "routeKey": route,
        "pathParameters": params,
        "body": json.dumps(body),
        "requestContext": {"authorizer": {"jwt": {"claims": claims}}},
    }


def call(service: TaskService, request: dict[str, Any]) -> dict[str, Any]:
    response = task_api.handle(request, service, group=GROUP, region=REGION)
    if response["statusCode"] != 200:
        raise RuntimeError(f"{request['routeKey']}: {response['body']}")
    return json.loads(response["body"])


def label_all(service: TaskService, job: str, worker: str, timings: dict[str, list[float]]) -> int:
    """One worker's loop: next, submit, until the job has nothing left for them."""
    done = 0
    while True:
        started = time.perf_counter()
        offer = call(service, event("POST /jobs/{job}/next", worker, {}, job=job))
        timings["next"].append(time.perf_counter() - started)
        if offer["task"] is None:
            return done
        body = {"lease": offer["lease"], "answer": component_answer(offer["image_name"])}
        started = time.perf_counter()
        call(
            service,
            event(
                "POST /jobs/{job}/tasks/{task}/submit", worker, body, job=job, task=offer["task"]
            ),
        )
        timings["submit"].append(time.perf_counter() - started)
        done += 1


# ----------------------------------------------------------------- latency
def latency(workers: int, images: int, answers: int) -> None:
    template = deployed_template()
    with tempfile.TemporaryDirectory() as folder:
        objects = LocalObjects(
            Path(folder), BUCKET, lambda uri: "/images/" + uri.rsplit("/", 1)[-1]
        )
        service = TaskService(LocalTaskTable(), objects, RIG, lambda: template)
        job = "bench-latency"
        service.register(spec(job, answers), manifest(images), arn=ARN + job)
        timings: dict[str, list[float]] = {"next": [], "submit": []}
        started = time.perf_counter()
        threads = [
            threading.Thread(target=label_all, args=(service, job, f"w{i:02d}", timings))
            for i in range(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        final = service.job(job)
    print(
        f"local service, {workers} workers, {images} images x {answers} answers:"
        f" {final.status}, {final.done} labeled in {elapsed:.1f} s"
    )
    for op, values in timings.items():
        values.sort()
        p95 = values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]
        print(
            f"  {op:<6} {len(values):>6} calls  median {statistics.median(values) * 1000:7.1f} ms"
            f"  p95 {p95 * 1000:7.1f} ms  ({len(values) / elapsed:.0f}/s)"
        )


# -------------------------------------------------------------------- cost
@dataclass
class Meter:
    """AWS requests made through two clients, with DynamoDB's request units for each."""

    raw: Any  # the DynamoDB client underneath (its calls here are not counted)
    requests: Counter[str] = field(default_factory=Counter)
    rru: float = 0.0
    wru: float = 0.0
    aws_seconds: float = 0.0  # time spent inside the (moto) clients

    def dynamodb(self) -> Any:
        meter = self

        class Counted:
            exceptions = meter.raw.exceptions

            def __getattr__(self, name: str) -> Any:
                return lambda **kw: meter.dynamo_call(name, kw)

        return Counted()

    def s3(self, client: Any) -> Any:
        meter = self

        class Counted:
            exceptions = client.exceptions

            def __getattr__(self, name: str) -> Any:
                method = getattr(client, name)

                def counted(*args: Any, **kw: Any) -> Any:
                    if name in ("get_object", "put_object"):
                        meter.requests[f"s3.{name}"] += 1
                    started = time.perf_counter()
                    try:
                        return method(*args, **kw)
                    finally:
                        meter.aws_seconds += time.perf_counter() - started

                return counted

        return Counted()

    def dynamo_call(self, name: str, kw: dict[str, Any]) -> Any:
        self.requests[f"dynamodb.{name}"] += 1
        started = time.perf_counter()
        try:
            self.units(name, kw)
            return getattr(self.raw, name)(**kw)
        finally:
            self.aws_seconds += time.perf_counter() - started

    def item(self, table: str, key: dict[str, Any]) -> int:
        found = self.raw.get_item(TableName=table, Key=key).get("Item")
        return item_size(found) if found else 0

    def units(self, name: str, kw: dict[str, Any]) -> None:
        """The request units of a request, from the items as they are before it."""
        if name == "get_item":
            size = self.item(kw["TableName"], kw["Key"])
            self.rru += max(1, math.ceil(size / 4096)) * (1 if kw.get("ConsistentRead") else 0.5)
        elif name == "query":
            plain = {k: v for k, v in kw.items() if k != "FilterExpression"}
            names = plain.get("ExpressionAttributeNames") or {}
            plain["ExpressionAttributeNames"] = {
                k: v for k, v in names.items() if k in plain["KeyConditionExpression"]
            } or None
            if plain["ExpressionAttributeNames"] is None:
                del plain["ExpressionAttributeNames"]
            values = plain["ExpressionAttributeValues"]
            plain["ExpressionAttributeValues"] = {
                k: v for k, v in values.items() if k in plain["KeyConditionExpression"]
            }
            read = self.raw.query(**plain)["Items"]
            size = sum(item_size(i) for i in read)
            self.rru += max(1, math.ceil(size / 4096)) * (1 if kw.get("ConsistentRead") else 0.5)
        elif name == "put_item":
            before = self.item(kw["TableName"], {k: kw["Item"][k] for k in ("pk", "sk")})
            self.wru += max(1, math.ceil(max(before, item_size(kw["Item"])) / 1024))
        elif name == "update_item":
            before = self.item(kw["TableName"], kw["Key"])
            # The item after an update is about the size before plus what it sets.
            after = before + sum(
                value_size(v) for v in kw.get("ExpressionAttributeValues", {}).values()
            )
            self.wru += max(1, math.ceil(max(before, after) / 1024))
        elif name == "batch_write_item":
            for requests in kw["RequestItems"].values():
                for r in requests:
                    self.wru += max(1, math.ceil(item_size(r["PutRequest"]["Item"]) / 1024))
        elif name == "transact_write_items":
            for part in kw["TransactItems"]:
                ((kind, body),) = part.items()
                if kind == "Put":
                    size = item_size(body["Item"])
                else:
                    size = self.item(body["TableName"], body["Key"])
                self.wru += 2 * max(1, math.ceil(size / 1024))


def value_size(value: dict[str, Any]) -> int:
    """An attribute value's size by DynamoDB's rules (close enough for billing units)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(str(Decimal(v)).replace("-", "").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    return len(json.dumps(v))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


@dataclass
class CostRun:
    images: int
    answers: int
    meter: Meter
    api_calls: Counter[str]
    service_seconds: float  # our code's time, moto's taken out


def cost_run(images: int, answers: int) -> CostRun:
    import os

    import boto3
    from moto import mock_aws

    from handlers.task_store_aws import DynamoTaskTable, S3Objects

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto's, never a real account
        AWS_DEFAULT_REGION=REGION,
    )
    template = deployed_template()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, "tasks")
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        job = f"bench-cost-{answers}"
        TaskService(
            DynamoTaskTable(dynamodb, "tasks"), S3Objects(s3), RIG, lambda: template
        ).register(
            spec(job, answers), manifest(images), arn=ARN + job
        )  # launch_job's part: not a Lambda's
        meter = Meter(dynamodb)
        service = TaskService(
            DynamoTaskTable(meter.dynamodb(), "tasks"),
            S3Objects(meter.s3(s3)),
            RIG,
            lambda: template,
        )
        timings: dict[str, list[float]] = {"next": [], "submit": []}
        for w in range(answers):  # one worker after another: each labels every image once
            label_all(service, job, f"w{w}", timings)
        assert service.job(job).status == "Completed"
        calls = Counter({op: len(v) for op, v in timings.items()})
        total = sum(sum(v) for v in timings.values())
    return CostRun(images, answers, meter, calls, total - meter.aws_seconds)


def cost(images: int) -> None:
    target = 10_000
    print(f"cost of a {target:,}-image job, from a run of {images} images (moto, counted):")
    rows = []
    for answers in (1, 3):
        run = cost_run(images, answers)
        scale = target / images
        m = run.meter
        invocations = sum(run.api_calls.values()) * scale
        dynamo_requests = sum(v for k, v in m.requests.items() if k.startswith("dynamodb."))
        s3_gets = m.requests["s3.get_object"]
        s3_puts = m.requests["s3.put_object"]
        aws_wait = (
            dynamo_requests * AWS_LATENCY["dynamodb"]
            + s3_gets * AWS_LATENCY["s3-get"]
            + s3_puts * AWS_LATENCY["s3-put"]
        )
        seconds = (run.service_seconds + aws_wait) * scale
        gb_seconds = seconds * LAMBDA_MEMORY_GB
        prices = {
            "API Gateway": invocations * HTTP_API_PER_REQUEST,
            "Lambda requests": invocations * LAMBDA_PER_REQUEST,
            "Lambda GB-s": gb_seconds * LAMBDA_PER_GB_SECOND,
            "DynamoDB": m.rru * scale * DYNAMODB_PER_RRU + m.wru * scale * DYNAMODB_PER_WRU,
            "S3 requests": (s3_gets * S3_PER_GET + s3_puts * S3_PER_PUT) * scale,
        }
        total = sum(prices.values())
        print(
            f"  {answers} answer(s) per image: {invocations:,.0f} Lambda invocations"
            f" ({', '.join(f'{k} {v * scale:,.0f}' for k, v in sorted(run.api_calls.items()))}),"
            f" {gb_seconds:,.0f} GB-s ({seconds / invocations * 1000:.0f} ms each: "
            f"{run.service_seconds / sum(run.api_calls.values()) * 1000:.1f} ms our code,"
            f" the rest {dynamo_requests / sum(run.api_calls.values()):.1f} DynamoDB and"
            f" {(s3_gets + s3_puts) / sum(run.api_calls.values()):.1f} S3 requests each),"
            f" DynamoDB {m.rru * scale:,.0f} RRU + {m.wru * scale:,.0f} WRU"
            f" ({dynamo_requests * scale:,.0f} requests), S3 {s3_gets * scale:,.0f} GET +"
            f" {s3_puts * scale:,.0f} PUT"
        )
        print("    " + ", ".join(f"{k} ${v:.2f}" for k, v in prices.items()) + f": ${total:.2f}")
        rows.append((answers, total))
    gt = target * GROUND_TRUTH_PER_OBJECT
    print(
        f"  Ground Truth: {target:,} labeled objects x ${GROUND_TRUTH_PER_OBJECT} = ${gt:,.2f}"
        " (whatever the number of workers per object)"
    )
    for answers, total in rows:
        print(
            f"  self-hosted, {answers} answer(s) per image: ${total:.2f}"
            f" ({total / gt:.2%} of Ground Truth's)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_runner", description=__doc__)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument(
        "--answers", default="1,3", help="answers per image, one latency run each (default: 1,3)"
    )
    parser.add_argument(
        "--cost-images", type=int, default=200, help="images of the counted run (0: no cost run)"
    )
    args = parser.parse_args(argv)
    for answers in (int(a) for a in args.answers.split(",")):
        latency(args.workers, args.images // answers, answers)  # as many answers each time
    if args.cost_images:
        cost(args.cost_images)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
