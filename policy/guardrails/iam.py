"""IAM: no wildcard actions, "*" resources only where AWS allows nothing narrower,
trust limited to the expected services, no admin and no unconditional PassRole.

AwsSolutions IAM4 (no AWS managed policies) and IAM5 (no wildcards), and more.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from . import types
from .documents import Report, allows, as_list, document, get, principals, statements

#: Actions with no resource-level permissions (Service Authorization Reference): IAM
#: only accepts ``"Resource": "*"`` for them. Everything else must name its resource.
ACTIONS_WITHOUT_RESOURCE_TYPES = frozenset(
    {
        "cloudwatch:PutMetricData",
        "sagemaker:ListLabelingJobs",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)
TRUSTED_SERVICES = ("sagemaker.amazonaws.com", "lambda.amazonaws.com")
AWS_MANAGED_POLICY = ":iam::aws:policy/"


def identity_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity-based document a resource carries, with where it sits."""
    if args.resource_type in types.IDENTITY_POLICY:
        doc = document(args.props.get("policy"))
        if doc:
            yield "policy", doc
    elif args.resource_type in types.ROLE:
        for i, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            doc = document(get(inline, "policy"))
            if doc:
                yield f"inlinePolicies[{i}]", doc


def validate_no_wildcard_actions(args: ResourceValidationArgs, report: Report) -> None:
    for where, doc in identity_documents(args):
        for sid, statement in allows(doc):
            if "NotAction" in statement:
                report(f"{args.name}: {where} {sid} allows NotAction, i.e. everything else")
            wild = sorted(a for a in as_list(statement.get("Action")) if "*" in a)
            if wild:
                report(
                    f"{args.name}: {where} {sid} allows wildcard actions {wild}; list each action"
                )


def validate_star_resources(args: ResourceValidationArgs, report: Report) -> None:
    for where, doc in identity_documents(args):
        for sid, statement in allows(doc):
            starred = "NotResource" in statement or "*" in as_list(statement.get("Resource"))
            if not starred:
                continue
            narrowable = sorted(
                a
                for a in as_list(statement.get("Action"))
                if a not in ACTIONS_WITHOUT_RESOURCE_TYPES
            )
            if narrowable:
                report(
                    f"{args.name}: {where} {sid} grants {narrowable} on every resource ('*');"
                    " name the buckets, objects, functions or keys"
                )


def validate_trusted_services(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.ROLE:
        return
    allowed = set(args.get_config().get("allowedServices") or TRUSTED_SERVICES)
    doc = document(args.props.get("assumeRolePolicy"))
    if not statements(doc):
        report(f"{args.name}: no trust policy")
    for i, statement in enumerate(statements(doc)):
        sid = statement.get("Sid") or f"#{i}"
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        others = [p for p in principals(statement) if p not in services]
        if others or not services:
            report(
                f"{args.name}: trust {sid} lets {others or principal!r} assume the role;"
                " trust services only"
            )
        untrusted = sorted(set(services) - allowed)
        if untrusted:
            report(f"{args.name}: trust {sid} names {untrusted}; expected only {sorted(allowed)}")
        if set(as_list(statement.get("Action"))) != {"sts:AssumeRole"}:
            report(
                f"{args.name}: trust {sid} allows {statement.get('Action')!r}; only sts:AssumeRole"
            )


def validate_no_admin(args: ResourceValidationArgs, report: Report) -> None:
    for where, doc in identity_documents(args):
        for sid, statement in allows(doc):
            acts = as_list(statement.get("Action"))
            resources = as_list(statement.get("Resource"))
            if "*" in acts and "*" in resources:
                report(f"{args.name}: {where} {sid} is administrator access ('*' on '*')")
            if any(a.lower() in ("iam:passrole", "iam:*") for a in acts):
                if "*" in resources:
                    report(f"{args.name}: {where} {sid} may pass any role; name the role")
                if not get(statement, "Condition", "StringEquals", "iam:PassedToService"):
                    report(
                        f"{args.name}: {where} {sid} passes a role without an"
                        " iam:PassedToService condition"
                    )
    managed: list[str] = []
    if args.resource_type in types.POLICY_ATTACHMENT:
        managed = as_list(args.props.get("policyArn"))
    elif args.resource_type in types.ROLE:
        managed = as_list(args.props.get("managedPolicyArns"))
    for arn in managed:
        if AWS_MANAGED_POLICY in str(arn):
            report(
                f"{args.name}: attaches the AWS managed policy {arn};"
                " attach a scoped policy instead"
            )


POLICIES = [
    ResourceValidationPolicy(
        name="iam-no-wildcard-actions",
        description="Identity policies list their actions: no '*' in an action, no NotAction.",
        validate=validate_no_wildcard_actions,
    ),
    ResourceValidationPolicy(
        name="iam-no-star-resource-for-data-actions",
        description="'Resource: *' only for actions that have no resource-level permissions.",
        validate=validate_star_resources,
    ),
    ResourceValidationPolicy(
        name="iam-trusted-service-principals",
        description="Roles are assumable only by the expected AWS services.",
        validate=validate_trusted_services,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedServices": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": list(TRUSTED_SERVICES),
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="iam-no-admin",
        description="No administrator statements, no PassRole on '*' or without"
        " iam:PassedToService, no AWS managed policies.",
        validate=validate_no_admin,
    ),
]
