"""The baseline every bucket of the stack gets: private, ACLs off, encrypted, versioned.

A function rather than a component: the resources stay children of the component
that owns the bucket, so their names (and the policy pack's "every bucket has all
its companions" rule) do not depend on who calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class PrivateBucket:
    bucket: aws.s3.Bucket
    #: Bucket policies must wait for it, or S3 rejects them as possibly public.
    public_access: aws.s3.BucketPublicAccessBlock


def private_bucket(
    name: str,
    *,
    force_destroy: bool,
    encryption_rule: Any,
    opts: pulumi.ResourceOptions,
) -> PrivateBucket:
    """``{name}-bucket`` with its public-access block, ownership, encryption and versioning."""
    bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=force_destroy, opts=opts)
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id, rules=[encryption_rule], opts=opts
    )
    aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=opts,
    )
    return PrivateBucket(bucket, public_access)
