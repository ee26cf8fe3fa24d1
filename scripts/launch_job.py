"""Launch a pose-labeling job on the deployed stack: in Ground Truth, or in the stack's own runner.

Images come from a local folder (uploaded concurrently, resumable: files already
in S3 with the same size and SHA-256 are skipped) or from an existing S3 prefix
(listed, nothing uploaded: the way to label 100k+ images; in the stack's bucket it
must be under labeling_jobs/images/, manifests/ or output/, what the job's role
may read). Every option is checked against Ground Truth's limits before anything
is uploaded. The input manifest is written locally and to
s3://BUCKET/labeling_jobs/manifests/.

examples:
  # 1. check everything and print the request, without calling AWS; the work team
  #    is the stack's own (workteamName) when --workteam-arn is not given
  .venv/bin/python -m scripts.launch_job example-images --dry-run

  # 2. upload a folder and launch, two workers per image, tasks of up to 15 minutes
  .venv/bin/python -m scripts.launch_job example-images --workers 2 --time-limit 15m \\
      --workteam-arn arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pose

  # 3. label images already in S3, starting from a model's predictions
  .venv/bin/python -m scripts.launch_job s3://my-bucket/datasets/run-42/ \\
      --pre-annotations predictions.coco.json --job-name run-42-review \\
      --workteam-arn arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pose

On a stack whose runner is self-hosted (docs/self-hosted.md), the same request
is registered in the stack's task table instead (the job and one task per
manifest line) and the stack's work team labels it in the stack's worker portal;
--workteam-arn does not apply there.

Prints the job name, its ARN, and where to follow it (console, worker portal,
job_status). Progress goes to stderr; --dry-run prints the request as JSON (on a
self-hosted stack, the job it would register).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from components.s3_layout import IMAGES_PREFIX, MANIFESTS_PREFIX, OUTPUT_PREFIX
from components.stack_outputs import StackOutputs
from handlers.output_manifest import DEFAULT_LABEL_ATTRIBUTE
from handlers.task_groundtruth import job_arn
from handlers.task_service import Conflict
from scripts import gt_limits, manifest, pre_annotations, runner, stack, upload
from scripts.aws import DEFAULT_CONCURRENCY, AwsClients
from scripts.cli import ArgumentParser, UsageError, UserError, run, warn
from scripts.manifest import ManifestEntry
from scripts.s3 import S3Uri, list_images

PROG = "python -m scripts.launch_job"
DEFAULT_KEYWORDS = ["pose", "keypoints", "skeleton"]
DEFAULT_TIME_LIMIT = 3600


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(PROG, __doc__)
    parser.add_argument(
        "images",
        metavar="FOLDER|S3_PREFIX",
        help="a local folder of .jpg/.jpeg/.png images, or s3://bucket/prefix/ holding them",
    )
    job = add_job_options(parser)
    job.add_argument(
        "--label-attribute",
        type=gt_limits.label_attribute_name,
        default=DEFAULT_LABEL_ATTRIBUTE,
        metavar="NAME",
        help=f"key of the labels in the output manifest (default: {DEFAULT_LABEL_ATTRIBUTE})",
    )
    data = parser.add_argument_group("the data")
    data.add_argument(
        "--pre-annotations",
        type=Path,
        metavar="FILE",
        help="skeletons to start from: a COCO keypoints JSON file, or JSON Lines of"
        ' {"image": NAME, "annotations": [...]}; NAME is the path relative to the folder or prefix',
    )
    data.add_argument(
        "--images-prefix",
        default=IMAGES_PREFIX,
        metavar="PREFIX",
        help="where a folder's images go in the stack's bucket; the job's role reads only"
        f" under {IMAGES_PREFIX}, {MANIFESTS_PREFIX} and {OUTPUT_PREFIX}"
        f" (default: {IMAGES_PREFIX})",
    )
    data.add_argument(
        "--overwrite",
        action="store_true",
        help="replace objects at the image keys that differ from the local files",
    )
    data.add_argument(
        "--concurrency",
        type=gt_limits.integer(1, 64),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"parallel uploads and checks, 1-64 (default: {DEFAULT_CONCURRENCY})",
    )
    data.add_argument(
        "--manifest-out",
        type=Path,
        metavar="FILE",
        help="where to write the manifest locally (default: ./JOB_NAME.manifest)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything, write the manifest locally and print the request;"
        " no upload and no job (an S3 prefix is still listed, read-only)",
    )
    stack.add_arguments(parser)
    return parser


def add_job_options(
    parser: ArgumentParser, default_job_name: str = "pose-YYYYMMDD-HHMMSS-xxxx"
) -> argparse._ArgumentGroup:
    """``--workteam-arn`` and the job's options (name, title, workers, limits, tags), shared
    with ``review_job``; returns the "the job" group for more."""
    parser.add_argument(
        "--workteam-arn",
        type=gt_limits.workteam_arn,
        metavar="ARN",
        help="the private (or vendor) work team that labels the images"
        " (default: the stack's workteam_arn output, when it created a team)",
    )
    job = parser.add_argument_group("the job")
    job.add_argument(
        "--job-name",
        type=gt_limits.labeling_job_name,
        metavar="NAME",
        help="1-63 letters, digits, hyphens; unique in the account and region for ever"
        f" (default: {default_job_name})",
    )
    job.add_argument(
        "--title",
        type=gt_limits.task_title,
        metavar="TEXT",
        help="task title shown to workers, 1-128 characters",
    )
    job.add_argument(
        "--description",
        type=gt_limits.task_description,
        metavar="TEXT",
        help="one-line task description, 1-255 characters",
    )
    job.add_argument(
        "--keywords",
        type=gt_limits.task_keywords,
        default=DEFAULT_KEYWORDS,
        metavar="K1,K2",
        help="1-5 comma-separated keywords: letters, digits, single spaces"
        f" (default: {','.join(DEFAULT_KEYWORDS)})",
    )
    job.add_argument(
        "--workers",
        type=gt_limits.integer(*gt_limits.WORKERS),
        default=1,
        metavar="N",
        help="workers per image, 1-9; several are consolidated with agreement figures (default: 1)",
    )
    job.add_argument(
        "--time-limit",
        type=gt_limits.duration(*gt_limits.TASK_TIME_LIMIT),
        default=DEFAULT_TIME_LIMIT,
        metavar="DURATION",
        help="time a worker has for one image, 30s to 8h (default: 1h)",
    )
    job.add_argument(
        "--task-lifetime",
        type=gt_limits.duration(*gt_limits.TASK_LIFETIME),
        metavar="DURATION",
        help="how long an image waits for workers, 60s to 30d (12h for Mechanical Turk);"
        " default: Ground Truth's",
    )
    job.add_argument(
        "--max-concurrent-tasks",
        type=gt_limits.integer(*gt_limits.MAX_CONCURRENT_TASKS),
        metavar="N",
        help="images out with workers at once (batch size), 1-5000; default: Ground Truth's 1000",
    )
    job.add_argument(
        "--tag",
        type=gt_limits.tag,
        action="append",
        default=[],
        dest="tags",
        metavar="KEY=VALUE",
        help="tag the job (repeatable, up to 50)",
    )
    return job


@dataclass(frozen=True)
class Launch:
    """Everything decided before the first upload."""

    job_name: str
    request: dict[str, Any]
    entries: list[ManifestEntry]
    #: The manifest's text (rendering it checks every line against Ground Truth's limits).
    manifest_text: str
    manifest_uri: S3Uri
    manifest_path: Path
    #: Local images to upload (empty when labeling an S3 prefix).
    local_images: list[upload.LocalImage]
    images_uri: S3Uri | None


def main(argv: Sequence[str] | None = None, *, clients: AwsClients | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: launch(args, clients))


def launch(args: argparse.Namespace, clients: AwsClients | None) -> int:
    outputs = stack.read(args)
    clients = clients or AwsClients(outputs.region, concurrency=args.concurrency)
    plan = prepare(args, outputs, clients)
    if args.dry_run:
        manifest.write(plan.manifest_text, plan.manifest_path)
        print(json.dumps(what_is_created(plan, outputs), indent=2, ensure_ascii=False))
        _progress(
            f"dry run: {len(plan.entries)} images, manifest written to {plan.manifest_path};"
            " nothing uploaded, no job created"
        )
        return 0
    if args.job_name:
        require_unused_job_name(clients, plan.job_name, outputs)
    if plan.local_images and plan.images_uri is not None:
        _upload_images(args, clients, plan.local_images, plan.images_uri)
    submit_job(plan, outputs, clients)
    return 0


def submit_job(plan: Launch, outputs: StackOutputs, clients: AwsClients) -> str:
    """The last steps of every launch, once the images are in S3: write the manifest
    (locally and to S3), create the job with the stack's runner, print where to follow
    it; its ARN."""
    manifest.write(plan.manifest_text, plan.manifest_path)
    clients.s3.put_object(
        Bucket=plan.manifest_uri.bucket,
        Key=plan.manifest_uri.key,
        Body=plan.manifest_text.encode("utf-8"),
        ContentType="application/jsonlines",
    )
    arn = create_job(plan, outputs, clients)
    _report(plan, arn, outputs)
    return arn


def create_job(plan: Launch, outputs: StackOutputs, clients: AwsClients) -> str:
    """Create the planned job with the stack's runner; its ARN.

    Ground Truth: ``CreateLabelingJob`` with the request. Self-hosted: the job and one
    task per line of the manifest (as uploaded) registered in the stack's task table.
    """
    if not runner.is_self_hosted(outputs):
        response = clients.sagemaker.create_labeling_job(**plan.request)
        return str(response["LabelingJobArn"])
    arn = job_arn(
        plan.job_name,
        region=outputs.region,
        account=runner.account_of(outputs.ground_truth_role_arn),
    )
    lines = [json.loads(line) for line in plan.manifest_text.splitlines()]
    service = runner.task_service(outputs, clients)
    try:
        service.register(runner.job_spec(plan.request), lines, arn=arn)
    except Conflict as exc:
        raise UsageError(f"--job-name {plan.job_name}: {exc}") from None
    return arn


def what_is_created(plan: Launch, outputs: StackOutputs) -> dict[str, Any]:
    """What --dry-run prints: the request, or on a self-hosted stack the job it registers."""
    if not runner.is_self_hosted(outputs):
        return plan.request
    return {
        "runner": outputs.runner,
        "table": outputs.tasks_table_name,
        "job": asdict(runner.job_spec(plan.request)),
        "tasks": len(plan.entries),
        "workers": "the stack's work team, in its worker portal",
    }


def prepare(
    args: argparse.Namespace,
    outputs: StackOutputs,
    clients: AwsClients,
    entries: list[ManifestEntry] | None = None,
) -> Launch:
    """Check every option and input, and build the request; nothing is written to AWS.

    The images are those of ``args.images`` (a folder or an S3 prefix, with
    ``--pre-annotations``), or, when given, the manifest ``entries`` (images already
    in S3: a review job's lines).
    """
    job_name = args.job_name or generate_job_name()
    if runner.is_self_hosted(outputs):
        _check_self_hosted(args, outputs)
    workteam_arn = _workteam_arn(args.workteam_arn, outputs)
    _check_workteam(workteam_arn, outputs.region, args.task_lifetime)
    if len(args.tags) > gt_limits.TAGS_MAX:
        raise UsageError(f"--tag: at most {gt_limits.TAGS_MAX} tags, got {len(args.tags)}")
    if args.max_concurrent_tasks and (
        args.max_concurrent_tasks > gt_limits.MAX_CONCURRENT_TASKS_DEFAULT_QUOTA
    ):
        warn(
            PROG,
            f"--max-concurrent-tasks {args.max_concurrent_tasks}: above"
            f" {gt_limits.MAX_CONCURRENT_TASKS_DEFAULT_QUOTA} needs a quota increase from AWS"
            " Support, or the job fails to start",
        )
    title = _checked(
        "--title", gt_limits.task_title, args.title or f"Pose labeling: {outputs.rig.name}"
    )
    description = _checked(
        "--description",
        gt_limits.task_description,
        args.description
        or f"Place the {len(outputs.rig.keypoints)} keypoints of the {outputs.rig.name}"
        " skeleton on each instance in the image; mark hidden points as occluded.",
    )
    kms_key_id = outputs.kms_key_id
    if kms_key_id:
        _checked("stack output kms_key_id", gt_limits.kms_key_id, kms_key_id)
    local_images: list[upload.LocalImage] = []
    images_uri = None
    if entries is None:
        images_prefix = _checked_prefix("--images-prefix", args.images_prefix)
        _require_readable_by_jobs("--images-prefix", S3Uri(outputs.bucket_name, images_prefix))
        pre = (
            pre_annotations.load(args.pre_annotations, outputs.rig)
            if args.pre_annotations
            else None
        )
        refs, local_images, images_uri = _find_images(args.images, images_prefix, outputs, clients)
        entries = _entries(refs, pre, args.pre_annotations)
    if len(entries) > gt_limits.DATASET_OBJECTS_QUOTA:
        warn(
            PROG,
            f"{len(entries):,} images: Ground Truth's default quota is"
            f" {gt_limits.DATASET_OBJECTS_QUOTA:,} objects per labeling job; raise it in"
            " Service Quotas first, or split the images over several jobs",
        )
    manifest_uri = S3Uri(outputs.bucket_name, f"{MANIFESTS_PREFIX}{job_name}.manifest")
    request = build_request(
        job_name=job_name,
        label_attribute=args.label_attribute,
        manifest_uri=manifest_uri,
        output_uri=S3Uri(outputs.bucket_name, OUTPUT_PREFIX),
        kms_key_id=kms_key_id,
        role_arn=outputs.ground_truth_role_arn,
        workteam_arn=workteam_arn,
        template_s3_uri=outputs.template_s3_uri,
        pre_annotation_lambda_arn=outputs.pre_annotation_lambda_arn,
        post_annotation_lambda_arn=outputs.post_annotation_lambda_arn,
        title=title,
        description=description,
        keywords=args.keywords,
        workers=args.workers,
        time_limit=args.time_limit,
        task_lifetime=args.task_lifetime,
        max_concurrent_tasks=args.max_concurrent_tasks,
        tags=args.tags,
    )
    return Launch(
        job_name=job_name,
        request=request,
        entries=entries,
        manifest_text=manifest.render(entries),
        manifest_uri=manifest_uri,
        manifest_path=args.manifest_out or Path(f"{job_name}.manifest"),
        local_images=local_images,
        images_uri=images_uri,
    )


def _find_images(
    source: str, images_prefix: str, outputs: StackOutputs, clients: AwsClients
) -> tuple[list[tuple[str, str]], list[upload.LocalImage], S3Uri | None]:
    """(image name, S3 URI) of every image; for a folder, also its files and their prefix."""
    if source.startswith("s3://"):
        prefix_uri = S3Uri.parse(source, what="S3_PREFIX")
        if prefix_uri.key:
            prefix_uri = S3Uri(prefix_uri.bucket, _checked_prefix("S3_PREFIX", prefix_uri.key))
        if prefix_uri.bucket == outputs.bucket_name:
            _require_readable_by_jobs("S3_PREFIX", prefix_uri)
        else:
            warn(
                PROG,
                f"{source} is outside the stack's bucket {outputs.bucket_name}: the job's role"
                " can read only that bucket, so grant it read access and add CORS (GET from any"
                " origin) to this bucket, or tasks fail to load their images",
            )
        names, skipped = list_images(clients.s3, prefix_uri)
        if skipped:
            warn(
                PROG, f"skipping {skipped} objects under {prefix_uri} that are not .jpg/.jpeg/.png"
            )
        if not names:
            raise UserError(f"no .jpg, .jpeg or .png objects under {prefix_uri}")
        return [(name, str(prefix_uri.join(name))) for name in names], [], None
    folder = Path(source)
    if not folder.is_dir():
        raise UsageError(f"FOLDER {source!r}: not a directory (or give an s3:// prefix)")
    local_images, others = upload.find_images(folder)
    if not local_images:
        raise UserError(f"no .jpg, .jpeg or .png images in {folder}")
    undecodable = [upload.shown(i.name) for i in local_images if not upload.is_utf8(i.name)]
    if undecodable:
        raise UserError(
            f"{folder}: {len(undecodable)} image file names are not valid UTF-8"
            f" ({_some(undecodable)}); S3 keys and the manifest are UTF-8, so rename them"
            " (convmv -f latin1 -t utf8 -r --notest FOLDER, for example)"
        )
    if others:
        shown = _some([upload.shown(name) for name in others], 3)
        warn(PROG, f"skipping {len(others)} files that are not .jpg/.jpeg/.png: {shown}")
    images_uri = S3Uri(outputs.bucket_name, images_prefix)
    refs = [(image.name, str(images_uri.join(image.name))) for image in local_images]
    return refs, local_images, images_uri


def build_request(
    *,
    job_name: str,
    label_attribute: str,
    manifest_uri: S3Uri,
    output_uri: S3Uri,
    kms_key_id: str | None,
    role_arn: str,
    workteam_arn: str,
    template_s3_uri: str,
    pre_annotation_lambda_arn: str,
    post_annotation_lambda_arn: str,
    title: str,
    description: str,
    keywords: list[str],
    workers: int,
    time_limit: int,
    task_lifetime: int | None,
    max_concurrent_tasks: int | None,
    tags: list[tuple[str, str]],
) -> dict[str, Any]:
    """The ``create_labeling_job`` keyword arguments (optional ones only when set)."""
    human: dict[str, Any] = {
        "WorkteamArn": workteam_arn,
        "UiConfig": {"UiTemplateS3Uri": template_s3_uri},
        "PreHumanTaskLambdaArn": pre_annotation_lambda_arn,
        "TaskKeywords": keywords,
        "TaskTitle": title,
        "TaskDescription": description,
        "NumberOfHumanWorkersPerDataObject": workers,
        "TaskTimeLimitInSeconds": time_limit,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": post_annotation_lambda_arn
        },
    }
    if task_lifetime is not None:
        human["TaskAvailabilityLifetimeInSeconds"] = task_lifetime
    if max_concurrent_tasks is not None:
        human["MaxConcurrentTaskCount"] = max_concurrent_tasks
    output: dict[str, Any] = {"S3OutputPath": str(output_uri)}
    if kms_key_id:
        output["KmsKeyId"] = kms_key_id
    request: dict[str, Any] = {
        "LabelingJobName": job_name,
        "LabelAttributeName": label_attribute,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": str(manifest_uri)}}},
        "OutputConfig": output,
        "RoleArn": role_arn,
        "HumanTaskConfig": human,
    }
    if tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in tags]
    return request


def generate_job_name(now: datetime | None = None) -> str:
    """``pose-20250314-093000-1f2e``: sortable, and unique even for two launches in a second."""
    now = now or datetime.now(UTC)
    return f"pose-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _checked(option: str, check: Any, value: str) -> Any:
    try:
        return check(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{option}: {exc}") from None


#: What the job's execution role may read in the stack's bucket (``components/policies.py``
#: grants these prefixes and the template): images anywhere else fail only once the job runs.
READABLE_BY_JOBS = (IMAGES_PREFIX, MANIFESTS_PREFIX, OUTPUT_PREFIX)


def _checked_prefix(option: str, prefix: str) -> str:
    """``prefix`` ending in '/'; UsageError for an empty, '.' or '..' folder or non-UTF-8.

    S3 would store '..' as it is, but a browser resolves it in the image URLs Ground
    Truth signs, which then match no key.
    """
    folders = prefix.removesuffix("/").split("/")
    if not upload.is_utf8(prefix) or any(f in ("", ".", "..") for f in folders):
        raise UsageError(
            f"{option} {upload.shown(prefix)!r}: expected a key prefix like {IMAGES_PREFIX}"
            " (UTF-8 folder names, no '.', '..' or empty folders)"
        )
    return prefix if prefix.endswith("/") else prefix + "/"


def _require_readable_by_jobs(option: str, prefix: S3Uri) -> None:
    if not prefix.key.startswith(READABLE_BY_JOBS):
        raise UsageError(
            f"{option} {prefix}: the job's role may read only {', '.join(READABLE_BY_JOBS)}"
            f" in the stack's bucket; put the images under {IMAGES_PREFIX}"
        )


def _workteam_arn(option: str | None, outputs: StackOutputs) -> str:
    """``--workteam-arn``, or else the team the stack created."""
    if option:
        return option
    if outputs.workteam_arn:
        return str(
            _checked("stack output workteam_arn", gt_limits.workteam_arn, outputs.workteam_arn)
        )
    raise UsageError(
        "--workteam-arn: no work team given and the stack has none; pass --workteam-arn ARN,"
        " or give the stack a team (pulumi config set workteamName NAME, see"
        " docs/workforce.md) and run pulumi up"
    )


def _check_self_hosted(args: argparse.Namespace, outputs: StackOutputs) -> None:
    """What does not apply when the stack runs its jobs itself."""
    if args.workteam_arn:
        raise UsageError(
            "--workteam-arn: this stack runs its jobs itself (runner self-hosted); its workers"
            " are the stack's own work team, so leave the option out"
        )
    if args.max_concurrent_tasks:
        warn(
            PROG,
            "--max-concurrent-tasks: Ground Truth's batch size; the self-hosted runner hands"
            " out every task from the start, so it is not used",
        )


def _check_workteam(arn: str, region: str, task_lifetime: int | None) -> None:
    team_region = gt_limits.workteam_region(arn)
    if team_region != region:
        raise UsageError(
            f"--workteam-arn: the work team is in {team_region or 'no region'}, the stack in"
            f" {region}; Ground Truth needs both in the same region"
        )
    high = gt_limits.TASK_LIFETIME_PUBLIC[1]
    if gt_limits.is_public_workforce(arn) and task_lifetime is not None and task_lifetime > high:
        raise UsageError(
            f"--task-lifetime: at most {gt_limits.describe_seconds(high)} for the Mechanical Turk"
            f" workforce, got {task_lifetime} s"
        )


def _some(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (", …" if len(names) > limit else "")


def _entries(
    refs: list[tuple[str, str]],
    pre: dict[str, list[dict[str, Any]]] | None,
    pre_path: Path | None,
) -> list[ManifestEntry]:
    pre = dict(pre or {})
    entries = [ManifestEntry(uri, name, pre.pop(name, None)) for name, uri in refs]
    if pre:
        unknown = sorted(pre)
        raise UserError(
            f"--pre-annotations {pre_path}: {len(unknown)} image names match no image in the"
            f" input ({_some(unknown)}); names are paths relative to the folder or prefix"
        )
    return entries


def require_unused_job_name(clients: AwsClients, job_name: str, outputs: StackOutputs) -> None:
    """Fail before uploading when the name is taken (names can never be reused)."""
    if runner.is_self_hosted(outputs):
        job = runner.task_service(outputs, clients).tasks.get_job(job_name)
        if job is not None and job.status != "Initializing":  # Initializing: finish it
            raise UsageError(
                f"--job-name {job_name}: the stack's runner has a job with this name"
                f" ({job.status}), and names cannot be reused"
            )
        return
    try:
        clients.sagemaker.describe_labeling_job(LabelingJobName=job_name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFound":
            return
        raise
    raise UsageError(
        f"--job-name {job_name}: a labeling job with this name already exists, and names"
        " cannot be reused (they are unique per account and region, ignoring case)"
    )


def _upload_images(
    args: argparse.Namespace,
    clients: AwsClients,
    images: list[upload.LocalImage],
    images_uri: S3Uri,
) -> None:
    plan = upload.plan_upload(
        clients.s3,
        images,
        images_uri.bucket,
        images_uri.key,
        concurrency=args.concurrency,
        overwrite=args.overwrite,
    )
    if plan.conflicts:
        shown = "; ".join(f"{c.image.name} ({c.reason})" for c in plan.conflicts[:3])
        more = f" and {len(plan.conflicts) - 3} more" if len(plan.conflicts) > 3 else ""
        raise UserError(
            f"{len(plan.conflicts)} images differ from the objects already at their keys in"
            f" {images_uri}: {shown}{more}. Nothing was uploaded; choose another"
            " --images-prefix, or pass --overwrite to replace them"
        )
    _progress(
        f"{len(plan.present)} images already in {images_uri},"
        f" uploading {len(plan.to_upload)} ({plan.upload_bytes:,} bytes)"
    )
    failures = upload.upload(
        clients.s3,
        plan.to_upload,
        images_uri.bucket,
        images_uri.key,
        concurrency=args.concurrency,
        total_bytes=plan.upload_bytes,
    )
    if failures:
        for failure in failures:
            _progress(f"{PROG}: failed to upload {failure.image.name}: {failure.error}")
        raise UserError(
            f"{len(failures)} of {len(plan.to_upload)} uploads failed (listed above); no job"
            " was created. Run the same command again to upload only what is missing"
        )


def _report(plan: Launch, arn: str, outputs: StackOutputs) -> None:
    if runner.is_self_hosted(outputs):
        print(f"job name:  {plan.job_name}")
        print(f"job ARN:   {arn} (registered with the stack's own runner)")
        print(f"manifest:  {plan.manifest_uri} ({len(plan.entries)} images)")
        print(f"local:     {plan.manifest_path}")
        print(f"workers:   sign in at {outputs.worker_portal_url or 'the worker portal'}")
        print(f"follow:    python -m scripts.job_status {plan.job_name} --wait")
        return
    region = outputs.region
    workteam_arn = plan.request["HumanTaskConfig"]["WorkteamArn"]
    team = workteam_arn.rsplit("/", 1)[-1]
    console = (
        f"https://{region}.console.aws.amazon.com/sagemaker/groundtruth?region={region}"
        f"#/labeling-jobs/details/{plan.job_name}"
    )
    print(f"job name:  {plan.job_name}")
    print(f"job ARN:   {arn}")
    print(f"manifest:  {plan.manifest_uri} ({len(plan.entries)} images)")
    print(f"local:     {plan.manifest_path}")
    print(f"console:   {console}")
    if outputs.labeling_portal_url and gt_limits.is_private_workforce(workteam_arn):
        # Every private team in the region shares the workforce's portal.
        print(f"workers:   sign in at {outputs.labeling_portal_url}")
    else:
        print(
            "workers:   sign in at the work team's portal, shown by"
            f" aws sagemaker describe-workteam --region {region} --workteam-name {team}"
            " --query Workteam.SubDomain --output text"
        )
    print(f"follow:    .venv/bin/python -m scripts.job_status {plan.job_name} --wait")


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
