"""Folder upload: 500 small images to a moto server, concurrently versus one at a time.

Run: ``python -m benchmarks upload`` (``--images N``, ``--concurrency N``).

The images (about 20 KB JPEGs) are uploaded by ``scripts.upload.upload`` (boto3's
transfer manager, SHA-256 in the metadata) to a moto S3 server in another
process, once with ``--concurrency`` threads and once with one, each into a
fresh prefix; the order alternates over ``--repeat`` rounds and the best time
of each is kept. This runs twice: with the loopback as it is (each request
costs only the server's CPU), and with ``--latency-ms`` added to every response
(a request's round trip to S3 over a network). Also timed: the resume check
(``plan_upload``: hash every file, list the prefix, HEAD the objects of equal
size) on an uploaded prefix.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.moto_process import moto_server

BUCKET = "bench-upload"


def make_images(folder: Path, count: int) -> list[Any]:
    from PIL import Image

    from scripts.upload import find_images, sha256_of

    for i in range(count):
        # Noise-free gradients compress to ~20 KB at this size; each file is different.
        image = Image.linear_gradient("L").resize((320, 240)).convert("RGB")
        image.putpixel((i % 320, i // 320 % 240), (255, 0, 0))
        image.save(folder / f"img-{i:04d}.jpg", quality=95)
    images, _ = find_images(folder)
    return [(image, sha256_of(image.path)) for image in images]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks upload")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        items = make_images(Path(tmp), args.images)
        total = sum(image.size for image, _ in items)
        print(f"{args.images} images, {total / 1e6:.1f} MB, moto server in its own process")
        for latency in (0, args.latency_ms):
            print(f"{'loopback' if not latency else f'{latency:.0f} ms added per request'}:")
            status = run(items, args.concurrency, args.repeat, latency)
            if status:
                return status
    return 0


def run(items: list[Any], concurrency: int, repeat: int, latency_ms: float) -> int:
    import boto3
    from botocore.config import Config

    from scripts.upload import plan_upload, upload

    with moto_server(BUCKET, latency_ms=latency_ms) as endpoint:
        s3 = boto3.session.Session().client(
            "s3",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 (moto accepts anything)
            config=Config(max_pool_connections=concurrency),
        )
        best = {1: float("inf"), concurrency: float("inf")}
        for round_ in range(repeat):
            order = [1, concurrency] if round_ % 2 == 0 else [concurrency, 1]
            for threads in order:
                prefix = f"r{round_}-c{threads}/"
                start = time.perf_counter()
                failures = upload(s3, items, BUCKET, prefix, concurrency=threads)
                best[threads] = min(best[threads], time.perf_counter() - start)
                if failures:
                    print(f"{len(failures)} uploads failed: {failures[0].error}")
                    return 1
        start = time.perf_counter()
        plan = plan_upload(
            s3, [image for image, _ in items], BUCKET, "r0-c1/", concurrency=concurrency
        )
        check = time.perf_counter() - start
    for threads, seconds in best.items():
        print(f"  {threads:>2} at a time: {seconds:.2f} s ({len(items) / seconds:,.0f} images/s)")
    print(f"  ratio: {best[1] / best[concurrency]:.1f}x faster with {concurrency}")
    print(
        f"  resume check of an uploaded prefix: {check:.2f} s,"
        f" {len(plan.present)} already there, {len(plan.to_upload)} to upload"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
