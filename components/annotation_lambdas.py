"""``AnnotationLambdas``: Ground Truth's pre- and post-annotation functions, with their logs.

Both run the ``handlers`` package from one reproducible archive
(``components.lambda_archive``) that also carries the deployed rig; the
functions find it through ``POSE_LABELING_RIG_FILE``. Each function owns its
role and a log group the program creates (``components.lambda_function``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components import policies
from components.lambda_archive import LambdaArchive
from components.lambda_function import (
    BUILD_DIR,
    FunctionSpec,
    LoggedFunction,
    Observability,
    logged_function,
)


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
        pre = self._hook(name, PRE_ANNOTATION, args, code)
        post = self._hook(name, POST_ANNOTATION, args, code)

        self.pre_annotation_arn = pre.function.arn
        self.post_annotation_arn = post.function.arn
        self.pre_annotation_role_arn = pre.role.arn
        self.post_annotation_role_arn = post.role.arn
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
    ) -> LoggedFunction:
        reads = hook.reads_job_output
        return logged_function(
            self,
            f"{name}-{hook.kind}",
            FunctionSpec(
                handler=hook.handler,
                description=hook.description,
                purpose=hook.kind,
                timeout=hook.timeout,
                memory_size=hook.memory_size,
            ),
            code=code,
            code_hash=args.archive.code_hash,
            environment=args.archive.environment,
            role_policy=lambda log_group_arn: pulumi.Output.all(
                log_group_arn=log_group_arn,
                bucket_arn=args.bucket_arn if reads else None,
                region=args.region if reads else None,
                kms_key_arn=args.kms_key_arn if reads else None,
            ).apply(lambda v: policies.lambda_role_policy(**v, tracing=args.tracing)),
            observability=Observability(
                log_retention_days=args.log_retention_days,
                tracing=args.tracing,
                error_alarm=args.error_alarms,
                alarm_actions=tuple(args.alarm_actions),
            ),
        )
