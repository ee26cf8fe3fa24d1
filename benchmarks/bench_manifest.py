"""Manifest creation for an S3 prefix of 100,000 images, listed from a moto server.

Run: ``python -m benchmarks manifest`` (``--objects N`` for a quicker run).

``scripts.launch_job s3://bench/labeling_jobs/images/run-1/ --dry-run`` in a fresh
interpreter: every option checked, the prefix listed page by page
(ListObjectsV2, 1,000 keys a page, over HTTP to a moto server in another
process), the manifest built and written, the request printed. Reported: total
time, the time of the listing alone (the same pages, nothing else), objects per
second, the client's CPU time (the rest of the wall time is the server
answering), and the launching process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.moto_process import moto_server

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "bench"
PREFIX = "labeling_jobs/images/run-1/"  # what the job role may read (launch_job checks)
WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/bench"


def stack_outputs(rig: dict[str, object]) -> dict[str, object]:
    """What `pulumi stack output --json` prints for a stack on the benchmark's bucket."""
    account, region = "123456789012", "us-east-1"
    return {
        "bucket_name": BUCKET,
        "template_s3_uri": f"s3://{BUCKET}/infrastructure/ground_truth_templates/t.liquid.html",
        "component_url": "https://d111111abcdef8.cloudfront.net/crowd-2d-skeleton.js",
        "cdn_domain_name": "d111111abcdef8.cloudfront.net",
        "pre_annotation_lambda_arn": f"arn:aws:lambda:{region}:{account}:function:pre",
        "post_annotation_lambda_arn": f"arn:aws:lambda:{region}:{account}:function:post",
        "ground_truth_role_arn": f"arn:aws:iam::{account}:role/ground-truth",
        "rig": rig,
        "region": region,
    }


def child(endpoint: str, work: Path) -> None:
    """Fresh interpreter: list once, then launch --dry-run; print times and memory as JSON."""
    import boto3

    from handlers.rig import load_rig
    from scripts import launch_job
    from scripts.aws import AwsClients
    from scripts.s3 import list_objects

    s3 = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 (moto accepts anything)
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    listed = sum(1 for _ in list_objects(s3, BUCKET, PREFIX))
    list_seconds = time.perf_counter() - start
    list_cpu = time.process_time() - cpu_start
    outputs = work / "outputs.json"
    outputs.write_text(json.dumps(stack_outputs(load_rig("coco-person-17").to_jsonable())))
    argv = [f"s3://{BUCKET}/{PREFIX}", "--dry-run", "--workteam-arn", WORKTEAM]
    argv += ["--stack-outputs", str(outputs), "--manifest-out", str(work / "bench.manifest")]
    start, cpu_start = time.perf_counter(), time.process_time()
    code = launch_job.main(argv, clients=AwsClients(s3=s3))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    lines = sum(1 for _ in (work / "bench.manifest").open())
    result = {
        "code": code,
        "listed": listed,
        "lines": lines,
        "list_seconds": list_seconds,
        "list_cpu": list_cpu,
        "seconds": seconds,
        "cpu": cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks manifest")
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("ENDPOINT", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    started = time.perf_counter()
    with (
        moto_server(BUCKET, PREFIX, args.objects) as endpoint,
        tempfile.TemporaryDirectory(prefix="bench-manifest-") as work,
    ):
        seeded = time.perf_counter() - started
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_manifest", "--child", endpoint, work],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"moto server in its own process, {args.objects:,} objects created in {seeded:.1f} s")
    print(
        f"listing alone: {r['listed']:,} keys in {r['list_seconds']:.2f} s"
        f" ({r['listed'] / r['list_seconds']:,.0f} keys/s; client CPU {r['list_cpu']:.2f} s)"
    )
    print(
        f"launch_job --dry-run: {r['lines']:,} manifest lines in {r['seconds']:.2f} s"
        f" ({r['lines'] / r['seconds']:,.0f} objects/s; client CPU {r['cpu']:.2f} s),"
        f" peak RSS {r['rss_mb']:.0f} MB"
    )
    return int(r["code"] != 0 or r["lines"] != args.objects)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
