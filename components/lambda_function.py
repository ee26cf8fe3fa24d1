"""One Lambda function as the stack builds each of them: its role, its logs, its alarm.

Every function of the stack (the two Ground Truth hooks in ``AnnotationLambdas``,
the task service in ``JobRunner``) runs the ``handlers`` archive on the same
runtime, owns a role with one inline policy, and logs to a group the program
creates, so retention is set from the first line logged and the role needs no
``logs:CreateLogGroup``. The group is named from a prefix with a suffix CloudWatch
makes unique, so two stacks of the same name in one account and region do not
collide. In production a function is traced with X-Ray and has an alarm on its errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import policies

#: A current Python runtime (the handlers also import cleanly on 3.11, the dev version).
RUNTIME = "python3.13"
#: Graviton: the same Python, about 20% cheaper per GB-second than x86_64.
ARCHITECTURE = "arm64"
BUILD_DIR = Path(__file__).resolve().parent.parent / "build" / "lambda"


@dataclass(frozen=True)
class FunctionSpec:
    """What runs, what for, and how much time and memory it gets."""

    handler: str
    description: str
    #: What the function does, for the role's description and the alarm's text.
    purpose: str
    timeout: int
    memory_size: int


@dataclass(frozen=True)
class Observability:
    """Logs always; traces and an error alarm in production."""

    #: Days CloudWatch keeps the function's logs (one of the values Logs accepts).
    log_retention_days: int
    #: X-Ray active tracing of every invocation (production profile).
    tracing: bool = False
    #: An alarm on the function's Errors metric (production profile).
    error_alarm: bool = False
    #: What the alarm notifies (SNS topic ARNs); an alarm without actions still shows.
    alarm_actions: Sequence[pulumi.Input[str]] = field(default_factory=tuple)


@dataclass(frozen=True)
class LoggedFunction:
    role: aws.iam.Role
    function: aws.lambda_.Function


def logged_function(
    parent: pulumi.Resource,
    prefix: str,
    spec: FunctionSpec,
    *,
    code: pulumi.Archive,
    code_hash: str,
    environment: Mapping[str, pulumi.Input[str]],
    role_policy: Callable[[pulumi.Output[str]], pulumi.Output[str]],
    observability: Observability,
) -> LoggedFunction:
    """The function, its role and log group (and alarm), as children of ``parent``.

    Their names are ``prefix`` and ``<prefix>-role``, ``-logs``, ``-policy``, ``-errors``.

    ``role_policy`` turns the log group's ARN into the role's whole policy document
    (``components.policies``), so every role names exactly its own log group.
    """
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{prefix}-role",
        description=f"Runs the pose-labeling {spec.purpose} Lambda",
        assume_role_policy=policies.assume_role_policy(policies.LAMBDA_SERVICE),
        opts=child,
    )
    log_group = aws.cloudwatch.LogGroup(
        f"{prefix}-logs",
        name_prefix=f"/aws/lambda/{pulumi.get_project()}-{pulumi.get_stack()}-{prefix}-",
        retention_in_days=observability.log_retention_days,
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{prefix}-policy", role=role.id, policy=role_policy(log_group.arn), opts=child
    )
    function = aws.lambda_.Function(
        prefix,
        description=spec.description,
        role=role.arn,
        runtime=RUNTIME,
        architectures=[ARCHITECTURE],
        handler=spec.handler,
        code=code,
        source_code_hash=code_hash,
        timeout=spec.timeout,
        memory_size=spec.memory_size,
        environment={"variables": dict(environment)},
        logging_config={"log_format": "Text", "log_group": log_group.name},
        tracing_config={"mode": "Active"} if observability.tracing else None,
        # Logging must be allowed before the first invocation can log.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
    if observability.error_alarm:
        aws.cloudwatch.MetricAlarm(
            f"{prefix}-errors",
            alarm_description=f"The pose-labeling {spec.purpose} Lambda raised an error;"
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
            alarm_actions=list(observability.alarm_actions),
            opts=child,
        )
    return LoggedFunction(role, function)
