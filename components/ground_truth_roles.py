"""``GroundTruthRoles``: the labeling job's execution role, and a policy for job launchers.

The execution role is what Ground Truth assumes to run a job: it reads the
job's images, manifest and the worker template, writes the output prefix, lists
the bucket, invokes exactly our two Lambdas, and writes its metrics and logs.
No broad managed policy and none of its name patterns are relied on.

Each Lambda's own role lives with the function in ``AnnotationLambdas`` (as a
CDK ``Function`` owns its role): this role needs the functions' ARNs, so owning
their roles here would make the two components depend on each other. All the
documents, for every role, come from ``components.policies``.

``job_launcher_policy_arn`` is a managed policy to attach to the people (or CI)
who launch jobs: ``iam:PassRole`` on this role, to SageMaker only, plus the job
and bucket actions the scripts use, and with the self-hosted runner the task
table's item actions (``launch_job`` registers a job's tasks there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies


@dataclass(frozen=True)
class GroundTruthRolesArgs:
    #: The stack's bucket (inputs, template and output all live there).
    bucket_arn: pulumi.Input[str]
    #: Key of the rendered worker template.
    template_key: pulumi.Input[str]
    #: The pre- and post-annotation Lambda ARNs: the only functions a job may invoke.
    lambda_arns: Sequence[pulumi.Input[str]]
    #: Region and account, to name the labeling jobs' log group and job ARNs exactly.
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    #: The bucket's customer-managed KMS key, when there is one.
    kms_key_arn: pulumi.Input[str] | None = None
    #: The self-hosted runner's task table, when the stack has one.
    tasks_table_arn: pulumi.Input[str] | None = None


class GroundTruthRoles(pulumi.ComponentResource):
    execution_role_arn: pulumi.Output[str]
    execution_role_name: pulumi.Output[str]
    job_launcher_policy_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: GroundTruthRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:iam:GroundTruthRoles", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-execution-role",
            description="Assumed by SageMaker Ground Truth to run pose-labeling jobs",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: policies.assume_role_policy(policies.SAGEMAKER_SERVICE, account)
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=role.id,
            policy=pulumi.Output.all(
                bucket_arn=args.bucket_arn,
                template_key=args.template_key,
                lambda_arns=pulumi.Output.all(*args.lambda_arns),
                region=args.region,
                account_id=args.account_id,
                kms_key_arn=args.kms_key_arn,
            ).apply(lambda v: policies.execution_role_policy(**v)),
            opts=child,
        )
        launcher = aws.iam.Policy(
            f"{name}-job-launcher",
            description="Launch and follow pose-labeling jobs: attach to the people who do",
            policy=pulumi.Output.all(
                bucket_arn=args.bucket_arn,
                execution_role_arn=role.arn,
                region=args.region,
                account_id=args.account_id,
                kms_key_arn=args.kms_key_arn,
                tasks_table_arn=args.tasks_table_arn,
            ).apply(lambda v: policies.job_launcher_policy(**v)),
            opts=child,
        )

        self.execution_role_arn = role.arn
        self.execution_role_name = role.name
        self.job_launcher_policy_arn = launcher.arn
        self.register_outputs(
            {
                "execution_role_arn": self.execution_role_arn,
                "execution_role_name": self.execution_role_name,
                "job_launcher_policy_arn": self.job_launcher_policy_arn,
            }
        )
