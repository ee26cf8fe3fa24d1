"""Cognito, for a labeling workforce's user pool: invited workers only, strong passwords.

A private workforce's pool holds the identities that can open labeling tasks, so
no one may sign themselves up (the portal's sign-in page is public), and
passwords meet AwsSolutions COG1: at least 8 characters with upper case, digits
and symbols. Both apply to any user pool the stack creates; a pool that is only
referenced by ID (an existing workforce) is not a resource here and is not checked.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from .documents import Report, get

USER_POOL = frozenset({"aws:cognito/userPool:UserPool"})
#: AwsSolutions COG1's floor.
PASSWORD_MIN_LENGTH = 8
PASSWORD_CLASSES = ("requireUppercase", "requireNumbers", "requireSymbols")


def validate_admin_only_sign_up(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in USER_POOL:
        return
    if get(args.props, "adminCreateUserConfig", "allowAdminCreateUserOnly") is not True:
        report(
            f"{args.name}: adminCreateUserConfig.allowAdminCreateUserOnly must be true;"
            " otherwise anyone who finds the sign-in page can create an account"
        )


def validate_password_policy(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in USER_POOL:
        return
    length = get(args.props, "passwordPolicy", "minimumLength")
    if length is None or length < PASSWORD_MIN_LENGTH:
        report(
            f"{args.name}: passwordPolicy.minimumLength must be at least"
            f" {PASSWORD_MIN_LENGTH}, got {length}"
        )
    missing = [c for c in PASSWORD_CLASSES if get(args.props, "passwordPolicy", c) is not True]
    if missing:
        report(f"{args.name}: passwordPolicy must set {', '.join(missing)} to true")


POLICIES = [
    ResourceValidationPolicy(
        name="cognito-invited-users-only",
        description="Workforce user pools let only administrators create users (no self sign-up).",
        validate=validate_admin_only_sign_up,
    ),
    ResourceValidationPolicy(
        name="cognito-password-policy",
        description="User pool passwords: at least 8 characters, upper case, digits, symbols.",
        validate=validate_password_policy,
    ),
]
