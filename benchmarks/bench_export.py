"""Export throughput and memory: output manifests of 10,000 and 100,000 lines.

Run: ``python -m benchmarks export`` (``--sizes 10000 100000``).

Each line is what the post-annotation Lambda writes for one image: one worker,
two people of 17 keypoints (about 3 KB of JSON, the consolidated skeletons and
the worker's result), built with the handlers' own ``build_label``, and the
rig the label records (so no stack and no ``--rig`` are needed). Each
size is exported by ``scripts.export_results`` in a fresh interpreter (so the
peak resident memory is that run's alone), pictures off (there are no images):
one process, then the default worker processes, without and with YOLO labels.

Reported: wall-clock lines per second (target: at least 20,000), CPU seconds
(this process and its workers: lines per CPU-second is the figure that does not
depend on what else the machine runs), and peak RSS of the main process and of
the largest worker, whose flatness across sizes shows the manifest is streamed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_LINES_PER_SECOND = 20_000
_VARIANTS = 16


def make_manifest(path: Path, lines: int, seed: int = 11) -> int:
    """Write ``lines`` output-manifest lines; returns the file's size in bytes."""
    from handlers.label import build_label
    from handlers.rig import load_rig
    from handlers.submission import parse_answer

    rig = load_rig("coco-person-17")
    rng = random.Random(seed)
    templates = []
    for _ in range(_VARIANTS):
        people = [
            {
                "name": f"person {p + 1}",
                "annotations": [
                    {
                        "label": k.label,
                        "x": 100 + 400 * p + int(k.x) + rng.randint(-5, 5),
                        "y": 80 + int(k.y) + rng.randint(-5, 5),
                        "visibility": rng.choice((2, 2, 2, 1)),
                    }
                    for k in rig.keypoints
                ],
            }
            for p in range(2)
        ]
        source = "s3://bench/labeling_jobs/images/@@NAME@@.jpg"
        answer = {
            "updated_annotations": json.dumps(people),
            "original_annotations": "[]",
            "image_s3_uri": source,
            "image_name": "@@NAME@@.jpg",
            "image_width": "1024",
            "image_height": "768",
            "no_changes_needed": "false",
            "total_time_in_seconds": str(rng.randint(20, 90)),
        }
        parsed = parse_answer(json.dumps(answer), worker_id="private.us-east-1.w1", rig=rig)
        label = build_label("@@ID@@", [parsed], data_object_s3_uri=source, rig=rig).to_jsonable()
        # As the post-annotation Lambda writes it: the rig the label was made with.
        label["rig"] = {"name": rig.name, "fingerprint": rig.fingerprint}
        templates.append(
            json.dumps(
                {
                    "source-ref": source,
                    "pose": label,
                    "pose-metadata": {
                        "type": "groundtruth/custom",
                        "job-name": "bench",
                        "human-annotated": "yes",
                        "creation-date": "2026-01-01T00:00:00.000000",
                    },
                }
            )
        )
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            line = templates[i % _VARIANTS].replace("@@NAME@@", f"{i:07d}")
            out.write(line.replace("@@ID@@", str(i)) + "\n")
    return path.stat().st_size


def child(manifest: Path, out: Path, jobs: int, yolo: bool) -> None:
    """Run in a fresh interpreter: export once, print times and memory as JSON."""
    from scripts import export_results

    baseline = _usage(resource.RUSAGE_SELF).ru_maxrss / 1024
    argv = [str(manifest), "--out", str(out), "--max-pictures", "0"]
    argv += ["--jobs", str(jobs), *([] if yolo else ["--no-yolo"])]
    start = time.perf_counter()
    cpu_start = _cpu()
    code = export_results.main(argv)
    seconds = time.perf_counter() - start
    result = {
        "code": code,
        "seconds": seconds,
        "cpu": _cpu() - cpu_start,
        "rss_mb": _usage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "worker_rss_mb": _usage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "baseline_mb": baseline,
    }
    print(json.dumps(result))


def _usage(who: int) -> resource.struct_rusage:
    return resource.getrusage(who)


def _cpu() -> float:
    own, workers = _usage(resource.RUSAGE_SELF), _usage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def measure(manifest: Path, work: Path, *, jobs: int, yolo: bool) -> dict[str, float]:
    out = work / f"out-{manifest.stem}-{jobs}-{'yolo' if yolo else 'coco'}"
    command = [sys.executable, "-m", "benchmarks.bench_export", "--child", str(manifest), str(out)]
    command += ["--jobs", str(jobs), *(["--yolo"] if yolo else [])]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks export")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", nargs=2, metavar=("MANIFEST", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--yolo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.jobs, args.yolo)
        return 0
    from scripts.export_lines import default_jobs

    jobs = default_jobs()
    print("export_results, pictures off; fresh interpreter per run")
    print(
        f"{'lines':>7} {'MB':>4} {'jobs':>4} {'yolo':>4} {'wall s':>7} {'lines/s':>8}"
        f" {'CPU s':>6} {'lines/CPU-s':>11} {'RSS MB':>7} {'worker':>6} {'imports':>7}"
    )
    status = 0
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp)
        for size in args.sizes:
            manifest = work / f"m{size}.manifest"
            megabytes = make_manifest(manifest, size) / 1e6
            for run_jobs, yolo in ((1, False), (jobs, False), (jobs, True)):
                r = measure(manifest, work, jobs=run_jobs, yolo=yolo)
                status |= int(r["code"] != 0)
                print(
                    f"{size:>7} {megabytes:>4.0f} {run_jobs:>4} {'on' if yolo else 'off':>4}"
                    f" {r['seconds']:>7.2f} {size / r['seconds']:>8,.0f} {r['cpu']:>6.1f}"
                    f" {size / r['cpu']:>11,.0f} {r['rss_mb']:>7.0f} {r['worker_rss_mb']:>6.0f}"
                    f" {r['baseline_mb']:>7.0f}",
                    flush=True,
                )
    print(f"target: {TARGET_LINES_PER_SECOND:,} lines/s wall-clock")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
