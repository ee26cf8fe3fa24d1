"""The baseline every bucket of the stack gets: private, ACLs off, encrypted, versioned.

A function rather than a component: the resources stay children of the component
that owns the bucket, so their names (and the policy pack's "every bucket has all
its companions" rule) do not depend on who calls it.

What ``pulumi destroy`` does to a bucket is decided here, for every bucket alike:

- Without ``force_destroy`` the bucket and every guard (public-access block,
  ownership, encryption, versioning, and the policy, CORS, lifecycle and logging
  the owner adds with ``guard_options``) are ``protect``-ed: ``pulumi destroy``
  stops in its preview, before deleting anything, instead of failing with
  ``BucketNotEmpty`` half-way through; ``pulumi destroy --exclude-protected``
  removes the rest of the stack and keeps the bucket guarded.
- Every guard is ``deleted_with`` the bucket: Pulumi never deletes it on its
  own, so even a destroy that skips its preview cannot leave labels in an
  unguarded bucket. S3 removes a bucket's configuration together with the bucket.
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
    #: The guards created here; objects written to the bucket wait for them.
    guards: tuple[pulumi.Resource, ...]
    #: Options for the owner's own guards (policy, CORS, lifecycle, logging).
    guard_options: pulumi.ResourceOptions


def private_bucket(
    name: str,
    *,
    force_destroy: bool,
    encryption_rule: Any,
    opts: pulumi.ResourceOptions,
    after: pulumi.Resource | None = None,
) -> PrivateBucket:
    """``{name}-bucket`` with its public-access block, ownership, encryption and versioning.

    ``after`` is a resource the bucket must outlive on destroy (its KMS key):
    the bucket depends on it, so Pulumi deletes the bucket first.
    """
    bucket = aws.s3.Bucket(
        f"{name}-bucket",
        force_destroy=force_destroy,
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                protect=not force_destroy, depends_on=[after] if after else None
            ),
        ),
    )
    guarded = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(protect=not force_destroy, deleted_with=bucket)
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=guarded,
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=guarded,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id, rules=[encryption_rule], opts=guarded
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=guarded,
    )
    return PrivateBucket(
        bucket,
        public_access,
        guards=(public_access, ownership, encryption, versioning),
        guard_options=guarded,
    )
