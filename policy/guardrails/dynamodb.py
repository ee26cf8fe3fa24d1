"""DynamoDB: tables can be restored to any second of the last 35 days (AwsSolutions DDB3).

The self-hosted runner's table holds every job's tasks, leases and progress; point-in-time
recovery undoes a bad write or a deleted item. Encryption with the stack's own key is a
production rule (``production-kms``, in ``production.py``); every table is encrypted at
rest by DynamoDB whatever the profile.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from . import types
from .documents import Report, get


def validate_point_in_time_recovery(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.TABLE:
        return
    if get(args.props, "pointInTimeRecovery", "enabled") is not True:
        report(
            f"{args.name}: pointInTimeRecovery is off; a bad write or a deleted item could"
            " not be undone"
        )


POLICIES = [
    ResourceValidationPolicy(
        name="dynamodb-point-in-time-recovery",
        description="Tables have point-in-time recovery.",
        validate=validate_point_in_time_recovery,
    ),
]
