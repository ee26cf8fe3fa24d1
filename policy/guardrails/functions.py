"""Lambda: a supported runtime, logs kept for a set time, a role with no '*' resource,
and nobody anonymous may invoke a function: a service may, for one resource of its own.

AwsSolutions L1 (latest runtimes) and IAM5 for the functions' roles.
"""

from __future__ import annotations

from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import types
from .documents import Report, allows, as_list, document, get
from .graph import of_type, referenced, referencing
from .iam import ACTIONS_WITHOUT_RESOURCE_TYPES

#: Python runtimes without an announced end of support; review when AWS announces one
#: (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
SUPPORTED_RUNTIMES = ("python3.12", "python3.13", "python3.14")


def validate_supported_runtime(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.FUNCTION or args.props.get("packageType") == "Image":
        return
    runtime = args.props.get("runtime")
    if runtime not in SUPPORTED_RUNTIMES:
        report(
            f"{args.name}: runtime {runtime!r} is not supported here;"
            f" use one of {', '.join(SUPPORTED_RUNTIMES)}"
        )


def validate_log_retention(args: StackValidationArgs, report: Report) -> None:
    for function in of_type(args.resources, types.FUNCTION):
        groups = referenced(function, "loggingConfig", types.LOG_GROUP)
        if not groups:
            report(
                f"{function.name}: logs to a group the stack does not create, so its"
                " retention is never set; create the group and set loggingConfig.logGroup",
                function.urn,
            )
        for group in groups:
            days = group.props.get("retentionInDays")
            if not days:
                report(
                    f"{group.name}: no retentionInDays;"
                    f" logs of {function.name} would be kept forever",
                    group.urn,
                )


def _role_documents(
    resources: list[PolicyResource], role: PolicyResource
) -> list[tuple[str, dict]]:
    docs = [
        (p.name, document(p.props.get("policy")))
        for p in referencing(resources, role, "role", types.ROLE_POLICY)
    ]
    docs += [
        (f"{role.name} inlinePolicies[{i}]", document(get(inline, "policy")))
        for i, inline in enumerate(as_list(role.props.get("inlinePolicies")))
    ]
    return [(name, doc) for name, doc in docs if doc]


def validate_function_roles(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    for function in of_type(resources, types.FUNCTION):
        for role in referenced(function, "role", types.ROLE):
            for name, doc in _role_documents(resources, role):
                for sid, statement in allows(doc):
                    # Actions without resource-level permissions (X-Ray's) can only name "*".
                    if set(as_list(statement.get("Action"))) <= ACTIONS_WITHOUT_RESOURCE_TYPES:
                        continue
                    if "*" in as_list(statement.get("Resource")) or "NotResource" in statement:
                        report(
                            f"{name}: {sid} gives {function.name} access to every resource ('*')",
                            function.urn,
                        )
            attached = referencing(resources, role, "role", types.POLICY_ATTACHMENT)
            attached += as_list(role.props.get("managedPolicyArns"))
            if attached:
                report(
                    f"{role.name}: {function.name}'s role has managed policies attached;"
                    " use its own inline policy",
                    role.urn,
                )


def _pinned(source_arn: str) -> bool:
    """An ARN naming one account and one resource (``api-id/*/*`` is pinned; ``*`` is not)."""
    parts = source_arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    account, resource = parts[4], parts[5].split("/", 1)[0]
    return bool(account and resource) and not any(c in account + resource for c in "*?")


def validate_no_public_invoke(args: ResourceValidationArgs, report: Report) -> None:
    """A function URL without auth, or a permission for ``*``, lets anyone call the function.

    A permission for an AWS service (API Gateway) without a ``sourceArn`` naming one
    resource lets that service invoke the function for anyone's API, in any account.
    """
    if args.resource_type in types.FUNCTION_URL:
        auth = args.props.get("authorizationType")
        if auth != "AWS_IAM":
            report(
                f"{args.name}: authorizationType is {auth!r}; anyone on the internet could"
                " invoke the function. Use AWS_IAM"
            )
    elif args.resource_type in types.LAMBDA_PERMISSION:
        principal = str(args.props.get("principal") or "")
        if "*" in principal:
            report(
                f"{args.name}: lets principal {principal!r} invoke the function;"
                " name the service or account that calls it"
            )
        if args.props.get("functionUrlAuthType") == "NONE":
            report(f"{args.name}: opens a function URL without auth (functionUrlAuthType NONE)")
        source = str(args.props.get("sourceArn") or "")
        if principal.endswith(".amazonaws.com") and not _pinned(source):
            report(
                f"{args.name}: lets {principal} invoke the function for"
                f" {source or 'any source'}; set sourceArn to this stack's resource (its API's"
                " execution ARN), or any account's could call it"
            )


POLICIES = [
    ResourceValidationPolicy(
        name="lambda-supported-runtime",
        description="Functions run a Python runtime AWS still supports.",
        validate=validate_supported_runtime,
    ),
    ResourceValidationPolicy(
        name="lambda-no-public-invoke",
        description="No function URL without IAM auth, no invoke permission for '*', and a"
        " service's permission names its source (sourceArn of one resource).",
        validate=validate_no_public_invoke,
    ),
    StackValidationPolicy(
        name="lambda-log-retention",
        description="Every function logs to a group of this stack that has a retention period.",
        validate=validate_log_retention,
    ),
    StackValidationPolicy(
        name="lambda-role-no-wildcard-resource",
        description="A function's role grants nothing on '*' (but actions that have no"
        " resource-level permissions) and has no managed policies.",
        validate=validate_function_roles,
    ),
]
