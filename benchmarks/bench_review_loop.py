"""The review loop's cost: selecting a review job, and an export with worker scores and a
merged review round.

Run: ``python -m benchmarks review_loop`` (``--lines 100000 --workers-lines 10000``).

Two output manifests: ``bench_export``'s (one worker, two people of 17 keypoints a
line), and ``bench_review``'s seeded job (three workers of a team of 10, 1-3 people a
line) repeated to the size asked. Each run is one ``scripts.export_results`` (or
``scripts.review_job``) in a fresh interpreter, pictures and YOLO off, as
``bench_export`` measures the export: with ``--no-worker-scores`` (the export as before
issue 13), with the scores (the default), and with the scores and a review round merged
(the review job's selection, every image confirmed by its reviewer).

Reported: wall-clock lines per second, CPU seconds (this process and its workers),
peak RSS of the main process.
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


def three_worker_manifest(path: Path, lines: int) -> None:
    """``bench_review``'s seeded job (500 images), repeated to ``lines`` lines."""
    from benchmarks import bench_review
    from handlers.rig import load_rig

    job = bench_review.generate(bench_review.Scenario(), load_rig("coco-person-17"))
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            out.write(job.lines[n % len(job.lines)] + "\n")


def review_output(manifest: Path, out: Path, job: str) -> int:
    """The output a review job of ``manifest`` would write if every reviewer confirmed
    what they were shown (real consolidation); its number of lines."""
    from handlers.label import build_label
    from handlers.rig import load_rig
    from handlers.submission import parse_answer

    rig = load_rig("coco-person-17")
    rng = random.Random(5)
    count = 0
    with manifest.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as written:
        for n, text in enumerate(lines):
            line = json.loads(text)
            shown = line.get("annotations") or []
            content = {
                "updated_annotations": json.dumps(shown),
                "original_annotations": json.dumps(shown),
                "image_s3_uri": line["source-ref"],
                "image_name": line["source-ref"].rsplit("/", 1)[-1],
                "image_width": "1920",
                "image_height": "1080",
                "no_changes_needed": "true",
                "total_time_in_seconds": str(round(rng.uniform(5, 15), 1)),
            }
            answer = parse_answer(json.dumps(content), worker_id="private.us-east-1.r", rig=rig)
            label = build_label(str(n), [answer], data_object_s3_uri=line["source-ref"], rig=rig)
            line["pose"] = label.to_jsonable()
            line["pose-metadata"] = {"type": "groundtruth/custom", "job-name": job}
            written.write(json.dumps(line) + "\n")
            count += 1
    return count


def child(module: str, argv: list[str]) -> None:
    """In a fresh interpreter: run one script, print its times and memory as JSON."""
    import importlib

    main = importlib.import_module(f"scripts.{module}").main
    usage = resource.getrusage
    start, cpu = time.perf_counter(), _cpu()
    code = main(argv)
    print(
        json.dumps(
            {
                "code": code,
                "seconds": time.perf_counter() - start,
                "cpu": _cpu() - cpu,
                "rss_mb": usage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _cpu() -> float:
    own, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def measure(module: str, argv: list[str]) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.bench_review_loop", "--child", module, "--"]
    done = subprocess.run([*command, *argv], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks review_loop")
    parser.add_argument("--lines", type=int, default=100_000, help="one-worker manifest")
    parser.add_argument("--workers-lines", type=int, default=10_000, help="three-worker one")
    parser.add_argument("--child", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.rest)
        return 0
    from benchmarks.bench_export import make_manifest
    from scripts.export_lines import default_jobs

    jobs = str(default_jobs())
    print(f"fresh interpreter per run, --jobs {jobs}, pictures and YOLO off")
    print(f"{'manifest':<26} {'run':<22} {'wall s':>7} {'lines/s':>8} {'CPU s':>6} {'RSS MB':>7}")
    with tempfile.TemporaryDirectory(prefix="bench-review-loop-") as tmp:
        work = Path(tmp)
        one, three = work / "one.manifest", work / "three.manifest"
        make_manifest(one, args.lines)
        three_worker_manifest(three, args.workers_lines)
        for manifest, size, title in (
            (one, args.lines, f"{args.lines:,} x 1 worker"),
            (three, args.workers_lines, f"{args.workers_lines:,} x 3 workers"),
        ):
            selected = work / f"{manifest.stem}-review.manifest"
            r = measure(
                "review_job",
                [str(manifest), "--manifest-only", "--manifest-out", str(selected), "--rig",
                 "coco-person-17"],
            )  # fmt: skip
            sent = sum(1 for _ in selected.open(encoding="utf-8"))
            _row(title, f"review_job ({sent:,} sent)", size, r)
            reviewed = work / f"{manifest.stem}-reviewed.manifest"
            review_output(selected, reviewed, f"{manifest.stem}-review-1")
            base = [str(manifest), "--max-pictures", "0", "--no-yolo", "--jobs", jobs]
            for run, extra in (
                ("export, no scores", ["--no-worker-scores"]),
                ("export with scores", []),
                ("export, scores, merge", ["--review", str(reviewed)]),
            ):
                out = work / f"out-{manifest.stem}-{len(extra)}"
                _row(
                    title, run, size, measure("export_results", [*base, "--out", str(out), *extra])
                )
    return 0


def _row(manifest: str, run: str, lines: int, r: dict[str, float]) -> None:
    print(
        f"{manifest:<26} {run:<22} {r['seconds']:>7.2f} {lines / r['seconds']:>8,.0f}"
        f" {r['cpu']:>6.1f} {r['rss_mb']:>7.0f}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
