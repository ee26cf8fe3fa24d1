"""S3: public access blocked, ACLs off, encryption, versioning, TLS-only policy, access logs.

AwsSolutions S1 (server access logs), S2 (public access), S10 (TLS only) and
more: versioning and ownership are checked for every bucket, not just data ones.
"""

from __future__ import annotations

from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import types
from .documents import (
    Report,
    allows,
    as_list,
    document,
    get,
    is_public,
    principals,
    source_arns,
    statements,
)
from .graph import of_type, referencing

PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def validate_public_access_block(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.PUBLIC_ACCESS_BLOCK:
        return
    for flag in PUBLIC_ACCESS_FLAGS:
        if args.props.get(flag) is not True:
            report(f"{args.name}: {flag} must be true; the bucket must never become public")


def validate_ownership_enforced(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in types.OWNERSHIP:
        ownership = get(args.props, "rule", "objectOwnership")
        if ownership != "BucketOwnerEnforced":
            report(
                f"{args.name}: objectOwnership is {ownership!r}; use BucketOwnerEnforced so"
                " ACLs are disabled and the bucket owner owns every object"
            )
    elif args.resource_type in types.BUCKET_ACL:
        report(f"{args.name}: bucket ACLs are not allowed; access is granted by policy only")
    elif args.resource_type in types.BUCKET | types.OBJECT:
        for prop in ("acl", "grants"):
            if get(args.props, prop):
                report(f"{args.name}: {prop} is set; ACLs are disabled, grant access by policy")


def validate_default_encryption(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.ENCRYPTION:
        return
    rules = as_list(args.props.get("rules"))
    if not rules:
        report(f"{args.name}: no default encryption rule")
    for i, rule in enumerate(rules):
        algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if algorithm not in ENCRYPTION_ALGORITHMS:
            report(
                f"{args.name}: rules[{i}] encrypts with {algorithm!r}; use one of"
                f" {', '.join(ENCRYPTION_ALGORITHMS)}"
            )


def validate_versioning_enabled(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.VERSIONING:
        return
    status = get(args.props, "versioningConfiguration", "status")
    if status != "Enabled":
        report(f"{args.name}: versioning is {status!r}; it must be Enabled so no label is lost")


def validate_tls_only_policy(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.BUCKET_POLICY:
        return
    doc = document(args.props.get("policy"))
    tls_denies = [
        s
        for s in statements(doc)
        if s.get("Effect") == "Deny"
        and is_public(s)
        and {"s3:*", "*"} & set(as_list(s.get("Action")))
        and get(s, "Condition", "Bool", "aws:SecureTransport") in ("false", False)
    ]
    resources = {r for s in tls_denies for r in as_list(s.get("Resource"))}
    covers_objects = any(r.endswith("/*") for r in resources)
    covers_bucket = any("/" not in r.split(":::")[-1] for r in resources)  # arn:aws:s3:::name
    if not (covers_objects and covers_bucket):
        report(
            f"{args.name}: no statement denies s3:* without TLS (aws:SecureTransport false)"
            " on both the bucket and its objects"
        )
    for s in statements(doc):
        if s.get("Effect") == "Allow" and is_public(s):
            report(
                f"{args.name}: statement {s.get('Sid', '?')} allows anyone ('*');"
                " the bucket is private"
            )


def validate_bucket_policy_grants(args: ResourceValidationArgs, report: Report) -> None:
    """What a bucket policy may allow: named actions, to AWS services, for one source each.

    People, roles and other accounts get access through IAM policies in this
    account, never through the bucket policy; a service grant without a pinned
    ``aws:SourceArn`` lets the service act for anyone's resource.
    """
    if args.resource_type not in types.BUCKET_POLICY:
        return
    for sid, statement in allows(document(args.props.get("policy"))):
        where = f"{args.name}: statement {sid}"
        for negated in ("NotPrincipal", "NotAction", "NotResource"):
            if negated in statement:
                report(f"{where} uses {negated}, which allows everything it does not name")
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        others = [p for p in principals(statement) if p not in services]
        if others:
            report(
                f"{where} allows {others}; a bucket policy here grants to AWS services only"
                " (people and roles get access through IAM in this account)"
            )
        wild = sorted(a for a in as_list(statement.get("Action")) if "*" in a)
        if wild:
            report(f"{where} allows wildcard actions {wild}; list each action")
        if services and source_arns(statement) is None:
            report(
                f"{where} lets {services} act without an aws:SourceArn condition naming one"
                " resource; any account's resource of that service could use the grant"
            )


def validate_no_website(args: ResourceValidationArgs, report: Report) -> None:
    website = args.resource_type in types.WEBSITE or (
        args.resource_type in types.BUCKET and get(args.props, "website")
    )
    if website:
        report(
            f"{args.name}: website hosting serves the bucket at a public HTTP endpoint;"
            " the bucket is private and CloudFront serves one key through OAC"
        )


def validate_access_log_target(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.BUCKET_LOGGING:
        return
    if not args.props.get("targetBucket"):
        report(f"{args.name}: server access logging has no target bucket")
    prefix = args.props.get("targetPrefix") or ""
    if not prefix.endswith("/"):
        report(f"{args.name}: targetPrefix {prefix!r} must be a folder ending in '/'")


#: What every bucket must have next to it, and how the rule names it.
COMPANIONS = (
    (types.PUBLIC_ACCESS_BLOCK, "public access block"),
    (types.OWNERSHIP, "ownership controls"),
    (types.ENCRYPTION, "default encryption configuration"),
    (types.VERSIONING, "versioning configuration"),
    (types.BUCKET_POLICY, "bucket policy (TLS only)"),
)


def validate_bucket_companions(args: StackValidationArgs, report: Report) -> None:
    for bucket in of_type(args.resources, types.BUCKET):
        for companion, what in COMPANIONS:
            if not referencing(args.resources, bucket, "bucket", companion):
                report(f"{bucket.name}: has no {what}", bucket.urn)


def validate_log_target_is_another_bucket(args: StackValidationArgs, report: Report) -> None:
    for logging in of_type(args.resources, types.BUCKET_LOGGING):
        sources = logging.property_dependencies.get("bucket", [])
        targets = [
            t
            for t in logging.property_dependencies.get("targetBucket", [])
            if t.resource_type in types.BUCKET
        ]
        if not targets:
            report(f"{logging.name}: access logs must go to a bucket of this stack", logging.urn)
        elif any(t is s for t in targets for s in sources):
            report(f"{logging.name}: a bucket cannot log its own access", logging.urn)


POLICIES = [
    ResourceValidationPolicy(
        name="s3-block-public-access",
        description="Every public access block sets all four flags.",
        validate=validate_public_access_block,
    ),
    ResourceValidationPolicy(
        name="s3-ownership-enforced",
        description="ACLs are disabled (BucketOwnerEnforced); no bucket or object ACLs.",
        validate=validate_ownership_enforced,
    ),
    ResourceValidationPolicy(
        name="s3-default-encryption",
        description="Default encryption uses SSE-S3 or SSE-KMS.",
        validate=validate_default_encryption,
    ),
    ResourceValidationPolicy(
        name="s3-versioning-enabled",
        description="Versioning is enabled, so an overwrite or delete can be undone.",
        validate=validate_versioning_enabled,
    ),
    ResourceValidationPolicy(
        name="s3-tls-only-policy",
        description="Bucket policies deny requests without TLS and allow nothing to '*'.",
        validate=validate_tls_only_policy,
    ),
    ResourceValidationPolicy(
        name="s3-bucket-policy-grants",
        description="Bucket policies allow listed actions to AWS services only, each pinned"
        " to a source ARN: no other account, no role, no wildcard action.",
        validate=validate_bucket_policy_grants,
    ),
    ResourceValidationPolicy(
        name="s3-no-website",
        description="No bucket is configured for static website hosting.",
        validate=validate_no_website,
    ),
    ResourceValidationPolicy(
        name="s3-access-log-target",
        description="Server access logs, when enabled, go to a folder of a log bucket.",
        validate=validate_access_log_target,
    ),
    StackValidationPolicy(
        name="s3-bucket-guards-present",
        description="Every bucket has a public access block, ownership controls, encryption,"
        " versioning and a bucket policy.",
        validate=validate_bucket_companions,
    ),
    StackValidationPolicy(
        name="s3-access-logs-to-another-bucket",
        description="Server access logs go to a different bucket of the same stack.",
        validate=validate_log_target_is_another_bucket,
    ),
]
