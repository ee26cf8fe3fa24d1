"""KMS: customer-managed keys rotate, and no key policy trusts everyone (AwsSolutions KMS5)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from . import types
from .documents import Report, allows, document, is_public


def validate_key(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in types.KMS_KEY and args.props.get("enableKeyRotation") is not True:
        report(f"{args.name}: enableKeyRotation must be true")
    if args.resource_type in types.KMS_KEY | types.KMS_KEY_POLICY:
        for sid, statement in allows(document(args.props.get("policy"))):
            if is_public(statement):
                report(f"{args.name}: key policy {sid} allows anyone ('*') to use the key")


POLICIES = [
    ResourceValidationPolicy(
        name="kms-key-rotation-and-policy",
        description="Customer-managed keys rotate yearly; key policies name their principals.",
        validate=validate_key,
    ),
]
