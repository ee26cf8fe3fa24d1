"""Post-annotation consolidation: throughput, peak memory, hostile answers, response size.

Run: ``python -m benchmarks consolidation`` (``python -m benchmarks.bench_consolidation
--repeat 1`` for a quicker run).

Every scenario runs in a fresh interpreter, **as deployed**: the rig comes from
``deployed_rig()`` (``POSE_LABELING_RIG_FILE`` set as the Pulumi program sets it),
validation and QA on, through ``consolidate_batch`` with the payload read from an
in-memory S3 stand-in (the one thing ``lambda_handler`` adds is the default client).

- 5,000 objects (Ground Truth's largest batch) and 1,000 (its default), one and three
  workers each, two people of 17 keypoints per answer as the component writes them:
  objects per second (best of at least ``--repeat`` runs and 1.5 s of them, a warm
  container's steady state), and peak RSS, absolute and over the loaded payload.
  Floors (issue 12): 2,500 objects/s with one worker, 500 with three, at 5,000.
- The same single-worker payload through a "validate nothing" baseline that does what
  the public example's post-annotation Lambda does, for a same-machine comparison.
- Hostile answers at and beyond the bounds of ``handlers.limits`` (one run each): peak
  RSS and time, to check that one answer cannot take the Lambda's memory.
- The response size of a 1,000-object batch of 9 workers before and after fitting.
- The cold import time of both handler modules in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Ground Truth's batches: MaxConcurrentTaskCount is 1,000 by default and at most 5,000
#: (raised by AWS Support).
MAX_BATCH = 5000
DEFAULT_BATCH = 1000
#: Issue 12's floors at MAX_BATCH, in objects per second, by workers per object.
FLOORS = {1: 2500, 3: 500}
#: The post-annotation Lambda's memory (components/annotation_lambdas.py).
LAMBDA_MEMORY_MB = 1024
RIG_FILE = "assets/rigs/coco-person-17.json"
#: The environment the Lambda runs with: the rig file inside the unpacked archive.
DEPLOYED = {"LAMBDA_TASK_ROOT": str(ROOT), "POSE_LABELING_RIG_FILE": RIG_FILE}
PAYLOAD_URI = (
    "s3://bench/labeling_jobs/output/job/annotations/consolidated-annotation/"
    "consolidation-request/iteration-1/2026-01-01_00:00:00.json"
)


class MemoryS3:
    """Just enough of an S3 client for the handler: get_object and put_object."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.objects[Bucket, Key] = Body
        return {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[Bucket, Key])}


def person(rig: Any, rng: random.Random, at: tuple[int, int], jitter: int) -> dict[str, Any]:
    return {
        "name": "",
        "annotations": [
            {
                "label": k.label,
                "x": at[0] + k.x + rng.randint(-jitter, jitter),
                "y": at[1] + k.y + rng.randint(-jitter, jitter),
                "visibility": 2,
            }
            for k in rig.keypoints
        ],
    }


def payload(rig: Any, objects: int, workers: int, seed: int = 7) -> list[dict[str, Any]]:
    """A consolidation payload shaped like Ground Truth's, answers as the component sends them."""
    rng = random.Random(seed)
    items = []
    for i in range(objects):
        image = f"s3://bench/labeling_jobs/images/{i:06d}.jpg"
        annotations = []
        for w in range(workers):
            skeletons = [person(rig, rng, (100, 80), 3), person(rig, rng, (700, 90), 3)]
            content = {
                "updated_annotations": json.dumps(skeletons),
                "original_annotations": "[]",
                "image_s3_uri": image,
                "image_name": f"{i:06d}.jpg",
                "image_width": "1280",
                "image_height": "720",
                "no_changes_needed": "false",
                "total_time_in_seconds": str(30 + w),
            }
            annotations.append(
                {
                    "workerId": f"private.us-east-1.{w:026d}",
                    "annotationData": {"content": json.dumps(content)},
                }
            )
        items.append(
            {"datasetObjectId": str(i), "dataObject": {"s3Uri": image}, "annotations": annotations}
        )
    return items


def event() -> dict[str, Any]:
    return {
        "version": "2018-10-06",
        "labelingJobArn": "arn:aws:sagemaker:us-east-1:111111111111:labeling-job/job",
        "labelAttributeName": "pose",
        "labelCategories": None,
        "roleArn": "arn:aws:iam::111111111111:role/gt",
        "outputConfig": "s3://bench/labeling_jobs/output/job/annotations",
        "payload": {"s3Uri": PAYLOAD_URI},
    }


def baseline(payload_text: str, label_attribute_name: str) -> list[dict[str, Any]]:
    """What a consolidation that validates nothing does: one worker, strings copied through."""
    out = []
    for item in json.loads(payload_text):
        annotation = item["annotations"][0]
        answer = json.loads(annotation["annotationData"]["content"])
        label = {
            "dataset_object_id": item["datasetObjectId"],
            "data_object_s3_uri": item["dataObject"]["s3Uri"],
            "image_file_name": answer["image_name"].split("?")[0],
            "image_s3_location": answer["image_s3_uri"].split("?")[0],
            "original_annotations": json.loads(answer["original_annotations"]),
            "updated_annotations": answer["updated_annotations"],
            "worker_id": annotation["workerId"],
            "no_changes_needed": json.loads(answer["no_changes_needed"]),
            "was_modified": json.dumps(answer["updated_annotations"])
            != json.dumps(answer["original_annotations"]),
            "total_time_in_seconds": answer.get("total_time_in_seconds"),
        }
        out.append(
            {
                "datasetObjectId": item["datasetObjectId"],
                "consolidatedAnnotation": {"content": {label_attribute_name: label}},
            }
        )
    return out


#: Runs go on until they add up to this many seconds (at least ``repeat`` of them), so that a
#: 0.1-second scenario is not judged on three samples of a shared machine.
MIN_SECONDS = 1.5


def best_time(run: Callable[[], Any], repeat: int) -> tuple[float, Any, float]:
    """The fastest of the runs (a warm container's steady state), its result, and the least
    CPU time of a run: the figure that depends least on what else the machine runs."""
    best, result, spent, runs, cpu = float("inf"), None, 0.0, 0, float("inf")
    while runs < repeat or (spent < MIN_SECONDS and runs < 10 * repeat):
        result = None  # the previous response is freed before the next run, as in Lambda
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        elapsed = time.perf_counter() - start
        cpu = min(cpu, time.process_time() - start_cpu)
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return best, result, cpu


def child(path: str, repeat: int, with_baseline: bool) -> dict[str, Any]:
    """Runs in a fresh interpreter, so that its peak RSS is this scenario's alone."""
    import logging

    from handlers.post_annotation import consolidate_batch
    from handlers.rig import deployed_rig

    logging.disable(logging.WARNING)  # the handler's per-batch summary is not what we measure
    rig = deployed_rig()  # as the Lambda gets it: POSE_LABELING_RIG_FILE under LAMBDA_TASK_ROOT
    text = Path(path).read_bytes()
    s3 = MemoryS3()
    bucket, key = PAYLOAD_URI.removeprefix("s3://").split("/", 1)
    s3.objects[bucket, key] = text
    rss_before = peak_rss_kb()
    seconds, response, cpu = best_time(lambda: consolidate_batch(event(), rig, s3=s3), repeat)
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "serialise": best_time(lambda: json.dumps(response), 1)[0],
        "response_bytes": len(json.dumps(response)),
        "payload_bytes": len(text),
        "rss_before_kb": rss_before,
        "rss_peak_kb": peak_rss_kb(),
        "errors": sum(
            any(e["level"] == "error" for e in label.get("errors", []))
            for label in (item["consolidatedAnnotation"]["content"]["pose"] for item in response)
        ),
    }
    if with_baseline:
        _, _, result["baseline"] = best_time(lambda: baseline(text.decode(), "pose"), repeat)
    return result


def peak_rss_kb() -> int:
    """This process's peak RSS. Linux's VmHWM, because ru_maxrss carries the parent's
    peak across fork and exec (the parent holds every generated payload)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(path: Path, repeat: int, with_baseline: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.bench_consolidation", "--child", str(path)]
    args += ["--repeat", str(repeat)] + (["--baseline"] if with_baseline else [])
    env = dict(os.environ, **DEPLOYED)
    out = subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def cold_import(module: str, runs: int) -> float:
    env = dict(os.environ, **DEPLOYED)
    code = (
        "import time; t = time.perf_counter(); import " + module + "; "
        "print(time.perf_counter() - t)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times)


def hostile_payloads(rig: Any) -> dict[str, list[dict[str, Any]]]:
    """Batches built around the most expensive answers, accepted and refused."""
    rng = random.Random(3)

    def obj(i: int, contents: list[str]) -> dict[str, Any]:
        image = f"s3://bench/labeling_jobs/images/{i:06d}.jpg"
        return {
            "datasetObjectId": str(i),
            "dataObject": {"s3Uri": image},
            "annotations": [
                {"workerId": f"private.us-east-1.{w:026d}", "annotationData": {"content": c}}
                for w, c in enumerate(contents)
            ],
        }

    def answer(skeletons: Any) -> str:
        text = skeletons if isinstance(skeletons, str) else json.dumps(skeletons)
        return json.dumps({"updated_annotations": text, "original_annotations": "[]"})

    def crowd(n: int, w: int) -> str:  # n people drawn on top of each other
        return answer([person(rig, rng, (100 + w, 80), 2) for _ in range(n)])

    broken = [{"label": "nose", "x": -1, "y": 1, "visibility": 2}] * 31_000
    deep = "[" * 20_000 + "]" * 20_000
    realistic = payload(rig, DEFAULT_BATCH, 3)
    from handlers.limits import MAX_SKELETONS_PER_IMAGE as cap

    return {
        # The answer: 1,450 overlapping skeletons (1.8 MB), once 1.14 GB.
        "1,000 x 3 workers, one object of 1,450 overlapping skeletons (refused)": [
            *realistic[:-1],
            obj(DEFAULT_BATCH - 1, [crowd(1450, 0), crowd(2, 1), crowd(2, 2)]),
        ],
        f"20 objects x 3 workers x {cap} overlapping skeletons (the bound, accepted)": [
            obj(i, [crowd(cap, w) for w in range(3)]) for i in range(20)
        ],
        "20 objects x 1 answer of 31,000 broken keypoints (1.95 MB, under the size bound)": [
            obj(i, [answer([{"name": "p", "annotations": broken}])]) for i in range(20)
        ],
        "20 objects x 1 answer nested 20,000 levels deep (refused)": [
            obj(i, [deep]) for i in range(20)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks consolidation", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--import-runs", type=int, default=9)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.repeat, args.baseline)))
        return 0

    from handlers.overflow import RESPONSE_LIMIT_BYTES
    from handlers.rig import load_rig

    rig = load_rig(ROOT / RIG_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        for objects, workers in (
            (MAX_BATCH, 1),
            (MAX_BATCH, 3),
            (DEFAULT_BATCH, 1),
            (DEFAULT_BATCH, 3),
        ):
            path = Path(tmp) / f"payload-{objects}-{workers}.json"
            path.write_text(json.dumps(payload(rig, objects, workers)))
            r = run_child(path, args.repeat, with_baseline=workers == 1)
            rate = objects / r["seconds"]
            cpu_rate = objects / r["cpu_seconds"]
            with_dumps = objects / (r["seconds"] + r["serialise"])
            floor = FLOORS[workers] if objects == MAX_BATCH else None
            verdict = (
                ""
                if floor is None
                else f" (floor {floor:,}: {'met' if rate >= floor else 'NOT MET'})"
            )
            print(
                f"{objects:>6} objects x {workers} worker(s) x 2 people x 17 keypoints "
                f"(payload {r['payload_bytes'] / 1e6:.1f} MB): {rate:,.0f} objects/s{verdict} "
                f"({r['seconds']:.2f} s; {cpu_rate:,.0f} objects per CPU-second); "
                f"{with_dumps:,.0f} objects/s counting the runtime's "
                f"json.dumps of the response ({r['response_bytes'] / 1e6:.2f} MB); "
                f"{memory(r)}"
            )
            if "baseline" in r:
                print(
                    f"{'':>6} baseline that validates nothing, same payload: "
                    f"{objects / r['baseline']:,.0f} objects per CPU-second"
                )
        for name, items in hostile_payloads(rig).items():
            path = Path(tmp) / "hostile.json"
            path.write_text(json.dumps(items))
            try:
                r = run_child(path, 1, with_baseline=False)
            except subprocess.CalledProcessError as exc:
                print(f"hostile: {name}: the batch failed: {exc.stderr.strip().splitlines()[-1]}")
                continue
            print(
                f"hostile: {name} (payload {r['payload_bytes'] / 1e6:.1f} MB): "
                f"{r['seconds']:.2f} s, {r['errors']} objects with errors; {memory(r)}"
            )

    sizes = response_sizes(rig, DEFAULT_BATCH, 9)
    print(
        f"  1000 objects x 9 workers x 2 people: response {sizes['before'] / 1e6:.1f} MB before "
        f"fitting, {sizes['after'] / 1e6:.2f} MB after (limit {RESPONSE_LIMIT_BYTES / 1e6:.2f} MB);"
        f" {sizes['moved']} labels moved fields to one {sizes['overflow'] / 1e6:.1f} MB S3 object"
    )
    for module in ("handlers.pre_annotation", "handlers.post_annotation"):
        median = cold_import(module, args.import_runs)
        print(f"cold import of {module}: {median * 1000:.0f} ms (median of {args.import_runs})")
    return 0


def memory(r: dict[str, Any]) -> str:
    peak = r["rss_peak_kb"] / 1024
    added = (r["rss_peak_kb"] - r["rss_before_kb"]) / 1024
    share = peak / LAMBDA_MEMORY_MB
    return (
        f"peak RSS {peak:.0f} MB ({share:.0%} of the Lambda's {LAMBDA_MEMORY_MB} MB; "
        f"+{added:.0f} over the loaded payload)"
    )


class _Moves(logging.Handler):
    """Reads the handler's own account of what it moved (its log line), without patching."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("response of"):
            before, moved, _ = record.args  # type: ignore[misc]
            self.found.update(before=before, moved=moved)
        elif record.msg.startswith("consolidated"):
            self.found["after"] = record.args[-1]  # type: ignore[index]


def response_sizes(rig: Any, objects: int, workers: int) -> dict[str, int]:
    from handlers import overflow
    from handlers.post_annotation import LOG, consolidate_batch

    s3 = MemoryS3()
    bucket, key = PAYLOAD_URI.removeprefix("s3://").split("/", 1)
    s3.objects[bucket, key] = json.dumps(payload(rig, objects, workers)).encode()
    moves = _Moves()
    LOG.addHandler(moves)
    LOG.propagate = False
    try:
        consolidate_batch(event(), rig, s3=s3)
    finally:
        LOG.removeHandler(moves)
        LOG.propagate = True
    overflow_bytes = sum(len(v) for (_, k), v in s3.objects.items() if overflow.OVERFLOW_DIR in k)
    return {"overflow": overflow_bytes, **moves.found}


if __name__ == "__main__":
    raise SystemExit(main())
