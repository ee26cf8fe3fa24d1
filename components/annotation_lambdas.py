"""``AnnotationLambdas``: Ground Truth's pre- and post-annotation functions, with their logs.

Both run the ``handlers`` package from one reproducible archive
(``components.lambda_archive``) that also carries the deployed rig; the
functions find it through ``POSE_LABELING_RIG_FILE``. Each function owns its
role and a log group the program creates, so retention is set from the first
line logged and the roles need no ``logs:CreateLogGroup``. The log groups are
named from a prefix with a suffix CloudWatch makes unique, so two stacks of the
same name in one account and region do not collide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import policies
from components.lambda_archive import LambdaArchive

#: A current Python runtime (the handlers also import cleanly on 3.11, the dev version).
RUNTIME = "python3.13"
#: Graviton: the same Python, about 20% cheaper per GB-second than x86_64.
ARCHITECTURE = "arm64"
BUILD_DIR = Path(__file__).resolve().parent.parent / "build" / "lambda"


@dataclass(frozen=True)
class HookSpec:
    """One Ground Truth hook: what runs, and how much time and memory it gets."""

    kind: str
    handler: str
    description: str
    timeout: int
    memory_size: int
    #: Reads Ground Truth's consolidation request from the job output prefix.
    reads_job_output: bool


#: Per data object, synchronously while the worker waits: fast, small.
PRE_ANNOTATION = HookSpec(
    kind="pre-annotation",
    handler="handlers.pre_annotation.lambda_handler",
    description="Ground Truth pre-annotation: manifest line to the template's taskInput",
    timeout=30,
    memory_size=256,
    reads_job_output=False,
)
#: A whole batch per call (payload read from S3, OKS across workers): more time and
#: memory, which on Lambda also means proportionally more CPU.
POST_ANNOTATION = HookSpec(
    kind="post-annotation",
    handler="handlers.post_annotation.lambda_handler",
    description="Ground Truth post-annotation: consolidates a batch of worker skeletons",
    timeout=300,
    memory_size=1024,
    reads_job_output=True,
)


@dataclass(frozen=True)
class AnnotationLambdasArgs:
    #: The built handlers archive (``build_archive(rig)``).
    archive: LambdaArchive
    #: The stack's bucket; the post-annotation role reads its job output prefix.
    bucket_arn: pulumi.Input[str]
    #: Region of the bucket, for the KMS ``kms:ViaService`` condition.
    region: pulumi.Input[str]
    #: Days CloudWatch keeps the functions' logs (one of the values Logs accepts).
    log_retention_days: int
    #: Where the archive file is written for Pulumi to upload.
    build_dir: Path = BUILD_DIR
    #: The bucket's customer-managed KMS key, when there is one.
    kms_key_arn: pulumi.Input[str] | None = None
    #: Alarm on each function's Errors metric (production profile).
    error_alarms: bool = False
    #: X-Ray active tracing of every invocation (production profile).
    tracing: bool = False
    #: What the alarms notify (SNS topic ARNs); an alarm without actions still shows.
    alarm_actions: Sequence[pulumi.Input[str]] = ()


class AnnotationLambdas(pulumi.ComponentResource):
    pre_annotation_arn: pulumi.Output[str]
    post_annotation_arn: pulumi.Output[str]
    pre_annotation_role_arn: pulumi.Output[str]
    post_annotation_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AnnotationLambdasArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:lambda:AnnotationLambdas", name, {}, opts)
        code = pulumi.FileArchive(str(args.archive.write(args.build_dir)))
        functions: dict[str, aws.lambda_.Function] = {}
        roles: dict[str, aws.iam.Role] = {}
        for hook in (PRE_ANNOTATION, POST_ANNOTATION):
            roles[hook.kind], functions[hook.kind] = self._hook(name, hook, args, code)

        self.pre_annotation_arn = functions[PRE_ANNOTATION.kind].arn
        self.post_annotation_arn = functions[POST_ANNOTATION.kind].arn
        self.pre_annotation_role_arn = roles[PRE_ANNOTATION.kind].arn
        self.post_annotation_role_arn = roles[POST_ANNOTATION.kind].arn
        self.register_outputs(
            {
                "pre_annotation_arn": self.pre_annotation_arn,
                "post_annotation_arn": self.post_annotation_arn,
                "pre_annotation_role_arn": self.pre_annotation_role_arn,
                "post_annotation_role_arn": self.post_annotation_role_arn,
            }
        )

    def _hook(
        self, name: str, hook: HookSpec, args: AnnotationLambdasArgs, code: pulumi.Archive
    ) -> tuple[aws.iam.Role, aws.lambda_.Function]:
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{name}-{hook.kind}"
        role = aws.iam.Role(
            f"{prefix}-role",
            description=f"Runs the pose-labeling {hook.kind} Lambda",
            assume_role_policy=policies.assume_role_policy(policies.LAMBDA_SERVICE),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{prefix}-logs",
            name_prefix=f"/aws/lambda/{pulumi.get_project()}-{pulumi.get_stack()}-{prefix}-",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        reads = hook.reads_job_output
        role_policy = aws.iam.RolePolicy(
            f"{prefix}-policy",
            role=role.id,
            policy=pulumi.Output.all(
                log_group_arn=log_group.arn,
                bucket_arn=args.bucket_arn if reads else None,
                region=args.region if reads else None,
                kms_key_arn=args.kms_key_arn if reads else None,
            ).apply(lambda v: policies.lambda_role_policy(**v, tracing=args.tracing)),
            opts=child,
        )
        function = aws.lambda_.Function(
            prefix,
            description=hook.description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=hook.handler,
            code=code,
            source_code_hash=args.archive.code_hash,
            timeout=hook.timeout,
            memory_size=hook.memory_size,
            environment={"variables": args.archive.environment},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tracing_config={"mode": "Active"} if args.tracing else None,
            # Logging must be allowed before the first invocation can log.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        if args.error_alarms:
            aws.cloudwatch.MetricAlarm(
                f"{prefix}-errors",
                alarm_description=f"The pose-labeling {hook.kind} Lambda raised an error;"
                " the job's objects may be failing (see the function's logs)",
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": function.name},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=list(args.alarm_actions),
                opts=child,
            )
        return role, function
