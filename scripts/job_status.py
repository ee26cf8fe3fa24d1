"""Show a labeling job's status and label counts; wait for it to finish, or stop it.

examples:
  .venv/bin/python -m scripts.job_status pose-20250314-093000-1f2e
  .venv/bin/python -m scripts.job_status pose-20250314-093000-1f2e --wait --interval 60
  .venv/bin/python -m scripts.job_status pose-20250314-093000-1f2e --stop

Prints one "key: value" line per fact (status, counts, times, the labeling
portal when the job's team is private and the stack exports it, the output
manifest once there is one, the failure reason). --wait polls with a progress
bar on stderr until the job is Completed, Failed or Stopped, and exits 1 unless
it Completed. --stop asks for confirmation (or takes --yes): a stopped job
cannot be restarted, though the labels finished so far are kept.

On a stack whose runner is self-hosted (docs/self-hosted.md) the job is read from
the stack's task table, in the same form, with how many tasks are with workers
now. Reading it also finishes what is due: a job whose task lifetime has ended
is completed, and an object whose consolidation was interrupted is consolidated.
--stop stops handing out tasks, consolidates every object with an answer, and
writes the output manifest of what is done.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tqdm import tqdm

from handlers.task_groundtruth import utc
from handlers.task_service import Conflict, NotFound, Progress, TaskService
from scripts import gt_limits, runner, stack
from scripts.aws import AwsClients
from scripts.cli import EXIT_FAILURE, ArgumentParser, UserError, run

PROG = "python -m scripts.job_status"
FINAL_STATES = ("Completed", "Failed", "Stopped")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(PROG, __doc__)
    parser.add_argument("job_name", type=gt_limits.labeling_job_name, metavar="JOB_NAME")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--wait", action="store_true", help="poll until the job ends; exit 1 unless it Completed"
    )
    action.add_argument("--stop", action="store_true", help="stop the job (asks first)")
    parser.add_argument(
        "--interval",
        type=gt_limits.duration(1, 3600),
        default=30,
        metavar="DURATION",
        help="time between polls with --wait (default: 30s)",
    )
    parser.add_argument("--yes", action="store_true", help="with --stop: do not ask")
    stack.add_arguments(parser)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: AwsClients | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: status(args, clients, sleep))


def status(
    args: argparse.Namespace, clients: AwsClients | None, sleep: Callable[[float], None]
) -> int:
    if args.yes and not args.stop:
        raise UserError("--yes only goes with --stop")
    outputs = stack.read(args)
    clients = clients or AwsClients(outputs.region)
    name = args.job_name
    portal_url = outputs.labeling_portal_url
    if runner.is_self_hosted(outputs):
        service = runner.task_service(outputs, clients)
        portal_url = outputs.worker_portal_url

        def poll() -> Mapping[str, Any]:
            return self_hosted_job(service, name)

        def stop_job() -> str:
            return _stop_self_hosted(service, name)

    else:
        ground_truth = clients

        def poll() -> Mapping[str, Any]:
            return ground_truth.sagemaker.describe_labeling_job(LabelingJobName=name)

        def stop_job() -> str:
            return _stop_in_ground_truth(ground_truth, name)

    job = poll()
    if args.stop:
        return stop(stop_job, job, assume_yes=args.yes)
    if args.wait:
        job = wait(poll, job, interval=args.interval, sleep=sleep)
    print(describe(job, portal_url=portal_url))
    return 0 if not args.wait or job["LabelingJobStatus"] == "Completed" else EXIT_FAILURE


def self_hosted_job(service: TaskService, name: str) -> dict[str, Any]:
    """A self-hosted job in the form ``describe_labeling_job`` answers, after finishing
    what is due (:meth:`TaskService.settle`)."""
    try:
        progress = service.settle(name)
    except NotFound:
        raise UserError(f"{name}: the stack's runner has no job of this name") from None
    return describe_self_hosted(progress)


def describe_self_hosted(progress: Progress) -> dict[str, Any]:
    job = progress.job
    unlabeled = job.total - job.done - job.failed
    described: dict[str, Any] = {
        "LabelingJobName": job.name,
        "LabelingJobArn": job.arn,
        "LabelingJobStatus": job.status,
        "LabelCounters": {
            "TotalLabeled": job.done,
            "HumanLabeled": job.done,
            "MachineLabeled": 0,
            "FailedNonRetryableError": job.failed,
            "Unlabeled": unlabeled,
        },
        "CreationTime": utc(job.created),
        "LastModifiedTime": utc(job.updated),
        "SelfHosted": {"leased": progress.leased, "answers_waiting": progress.answers_waiting},
    }
    if job.output_manifest:
        described["LabelingJobOutput"] = {"OutputDatasetS3Uri": job.output_manifest}
    return described


def describe(job: Mapping[str, Any], *, portal_url: str | None = None) -> str:
    """The job's facts; ``portal_url`` (the stack's workforce, or its runner's portal) is
    shown for a private team and for a self-hosted job."""
    counts = job.get("LabelCounters", {})
    lines = [
        ("job", job["LabelingJobName"]),
        ("status", job["LabelingJobStatus"]),
        ("labeled", _counts_line(counts)),
        ("created", _time(job.get("CreationTime"))),
        ("modified", _time(job.get("LastModifiedTime"))),
    ]
    if "SelfHosted" in job:
        working = job["SelfHosted"]
        lines.insert(1, ("runner", "self-hosted (the stack's own task service)"))
        lines.append(
            (
                "working",
                f"{working['leased']} images with workers now,"
                f" {working['answers_waiting']} answers waiting for more workers",
            )
        )
    team = job.get("HumanTaskConfig", {}).get("WorkteamArn", "")
    if portal_url and (gt_limits.is_private_workforce(team) or "SelfHosted" in job):
        # Every private team in the region works in the one workforce's portal; a
        # self-hosted job's workers, in the runner's.
        lines.append(("portal", portal_url))
    if job.get("FailureReason"):
        lines.append(("failure", " ".join(str(job["FailureReason"]).split())))
    output = job.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri")
    if output:
        lines.append(("output", output))
    return "\n".join(f"{key + ':':<10}{value}" for key, value in lines)


def _counts_line(counts: Mapping[str, int]) -> str:
    total = _total(counts)
    return (
        f"{counts.get('TotalLabeled', 0)} of {total}"
        f" (human {counts.get('HumanLabeled', 0)}, machine {counts.get('MachineLabeled', 0)}),"
        f" failed {counts.get('FailedNonRetryableError', 0)},"
        f" unlabeled {counts.get('Unlabeled', 0)}"
    )


def _total(counts: Mapping[str, int]) -> int:
    return (
        counts.get("TotalLabeled", 0)
        + counts.get("FailedNonRetryableError", 0)
        + counts.get("Unlabeled", 0)
    )


def _time(value: Any) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)


def wait(
    poll: Callable[[], Mapping[str, Any]],
    job: Mapping[str, Any],
    *,
    interval: float,
    sleep: Callable[[float], None],
) -> Mapping[str, Any]:
    """Poll the job until a final state (botocore has no waiter for labeling jobs)."""
    name = job["LabelingJobName"]
    with tqdm(desc=name, unit="image", disable=None, file=sys.stderr) as bar:
        while True:
            counts = job.get("LabelCounters", {})
            bar.total = _total(counts) or None
            bar.n = counts.get("TotalLabeled", 0) + counts.get("FailedNonRetryableError", 0)
            bar.set_postfix_str(job["LabelingJobStatus"])
            if job["LabelingJobStatus"] in FINAL_STATES:
                return job
            sleep(interval)
            job = poll()


def stop(stop_job: Callable[[], str], job: Mapping[str, Any], *, assume_yes: bool) -> int:
    name = job["LabelingJobName"]
    state = job["LabelingJobStatus"]
    if state in (*FINAL_STATES, "Stopping"):
        raise UserError(f"{name} is already {state}; nothing to stop")
    if not assume_yes:
        print(
            f"Stop {name} ({state}, {_counts_line(job.get('LabelCounters', {}))})?"
            " Unfinished tasks are withdrawn and the job cannot be restarted. [y/N] ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        answer = sys.stdin.readline().strip().lower() if sys.stdin else ""
        if answer not in ("y", "yes"):
            print("not stopped", file=sys.stderr)
            return EXIT_FAILURE
    print(stop_job())
    return 0


def _stop_in_ground_truth(clients: AwsClients, name: str) -> str:
    clients.sagemaker.stop_labeling_job(LabelingJobName=name)
    return f"stopping {name}: labels finished so far are written to its output"


def _stop_self_hosted(service: TaskService, name: str) -> str:
    try:
        job = service.stop(name)
    except Conflict as exc:
        raise UserError(str(exc)) from None
    return (
        f"stopped {name}: {job.done} labeled, {job.failed} failed,"
        f" {job.total - job.done - job.failed} unlabeled; output manifest: {job.output_manifest}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
