"""The README's first promise: CloudFront serves the labeling component's JS, nothing else.

(With the self-hosted runner, also the worker portal's files, under ``portal/``.)
The bucket holds every image, manifest and label. What would expose them through
the CDN or around it: a CloudFront grant wider than those keys or not
pinned to this stack's distribution, write methods on the distribution, CORS that
lets other sites write or send credentials, a response headers policy detached or
emptied, and website hosting on the bucket (``s3-no-website``, in ``s3.py``).
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
from .cloudfront import cache_behaviors
from .documents import Report, allows, as_list, document, get, principals, source_arns
from .graph import of_type, referenced, referencing

CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
#: What CloudFront may do in the bucket: read the objects it serves.
CLOUDFRONT_ACTIONS = ["s3:GetObject"]
#: Where the stack writes the self-hosted runner's worker portal (``components/s3_layout.py``).
PORTAL_PREFIX = "portal/"
#: Methods a distribution may accept; anything else is forwarded to the bucket as a write.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Methods S3's CORS may allow other sites (S3 answers preflight OPTIONS by itself).
S3_CORS_METHODS = frozenset({"GET", "HEAD"})
#: Security headers the response headers policy sets, overriding whatever the origin sends.
SECURITY_HEADERS = (
    "contentTypeOptions",
    "frameOptions",
    "referrerPolicy",
    "strictTransportSecurity",
)


def _served_objects(
    resources: list[PolicyResource], bucket: PolicyResource, distribution: PolicyResource
) -> list[str]:
    """ARNs of the objects the stack uploads to ``bucket`` for the distribution to serve.

    The CDN component creates the distribution and the objects it serves side by
    side (the component JS, the portal's files); the portal's ``config.json``, which
    needs the runner's API first, is the runner's, under the portal's prefix. The
    bucket's other objects (the worker template) belong to other components.
    """
    return [
        f"{bucket.props['arn']}/{obj.props['key']}"
        for obj in referencing(resources, bucket, "bucket", types.OBJECT)
        if obj.parent is distribution.parent or str(obj.props["key"]).startswith(PORTAL_PREFIX)
    ]


def validate_component_grant(args: StackValidationArgs, report: Report) -> None:
    """CloudFront's grant in a bucket policy: GetObject, on the component's key, for this CDN."""
    resources = list(args.resources)
    for policy in of_type(resources, types.BUCKET_POLICY):
        grants = [
            (sid, statement)
            for sid, statement in allows(document(policy.props.get("policy")))
            if CLOUDFRONT_SERVICE in principals(statement)
        ]
        if not grants:
            continue
        distributions: dict[str, PolicyResource] = {}
        served: set[str] = set()
        for bucket in referenced(policy, "bucket", types.BUCKET):
            for distribution in referencing(resources, bucket, "origins", types.DISTRIBUTION):
                distributions[str(distribution.props.get("arn"))] = distribution
                served.update(_served_objects(resources, bucket, distribution))
        for sid, statement in grants:
            where = f"{policy.name}: statement {sid}"
            actions = as_list(statement.get("Action"))
            if actions != CLOUDFRONT_ACTIONS or "NotAction" in statement:
                report(
                    f"{where} lets CloudFront {actions or 'NotAction'}; it may only"
                    f" {CLOUDFRONT_ACTIONS[0]}",
                    policy.urn,
                )
            wider = sorted(set(as_list(statement.get("Resource"))) - served)
            if wider or "NotResource" in statement:
                report(
                    f"{where} lets CloudFront read {wider or 'NotResource'}; it may read only the"
                    " labeling component and the portal the stack uploads"
                    f" {sorted(served) or '(none uploaded beside the CDN)'}",
                    policy.urn,
                )
            sources = source_arns(statement)
            if sources is None:
                report(
                    f"{where}: no aws:SourceArn condition names this stack's distribution,"
                    " so any CloudFront distribution, in any account, could read through it",
                    policy.urn,
                )
            elif set(sources) - set(distributions):
                report(
                    f"{where}: aws:SourceArn {sorted(set(sources) - set(distributions))} is not"
                    " a distribution of this stack serving the bucket",
                    policy.urn,
                )


def validate_read_only_methods(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.DISTRIBUTION:
        return
    for where, behavior in cache_behaviors(args.props):
        methods = {str(m).upper() for m in as_list(get(behavior, "allowedMethods"))}
        extra = sorted(methods - READ_ONLY_METHODS)
        if extra:
            report(
                f"{args.name}: {where}.allowedMethods includes {extra}; CloudFront would"
                " forward them to the bucket with its own signature. Use GET, HEAD, OPTIONS"
            )


def validate_cors(args: ResourceValidationArgs, report: Report) -> None:
    """Other sites may read, never write or send credentials (S3 and CloudFront CORS)."""
    if args.resource_type in types.BUCKET_CORS | types.BUCKET:
        for i, rule in enumerate(as_list(args.props.get("corsRules"))):
            methods = {str(m).upper() for m in as_list(get(rule, "allowedMethods"))}
            writes = sorted(methods - S3_CORS_METHODS)
            if writes:
                origins = as_list(get(rule, "allowedOrigins"))
                report(
                    f"{args.name}: corsRules[{i}] lets pages of {origins} send {writes};"
                    " other sites may only GET or HEAD"
                )
    elif args.resource_type in types.RESPONSE_HEADERS_POLICY:
        cors = args.props.get("corsConfig")
        if not cors:
            return
        methods = {str(m).upper() for m in as_list(get(cors, "accessControlAllowMethods", "items"))}
        extra = sorted(methods - READ_ONLY_METHODS)
        if extra:
            report(
                f"{args.name}: corsConfig allows {extra}; other sites may only"
                " GET, HEAD and OPTIONS"
            )
        if get(cors, "accessControlAllowCredentials") is not False:
            origins = as_list(get(cors, "accessControlAllowOrigins", "items"))
            report(
                f"{args.name}: corsConfig lets pages of {origins} send credentials;"
                " set accessControlAllowCredentials to false (the JS needs none)"
            )


def validate_response_headers(args: StackValidationArgs, report: Report) -> None:
    """Every behavior has this stack's response headers policy, and it sets the headers."""
    for distribution in of_type(args.resources, types.DISTRIBUTION):
        for where, behavior in cache_behaviors(distribution.props):
            if not get(behavior, "responseHeadersPolicyId"):
                report(
                    f"{distribution.name}: {where} has no response headers policy; the JS"
                    " would go out without its CORS and security headers",
                    distribution.urn,
                )
        policies = [
            policy
            for prop in ("defaultCacheBehavior", "orderedCacheBehaviors")
            for policy in referenced(distribution, prop, types.RESPONSE_HEADERS_POLICY)
        ]
        if not policies:
            report(
                f"{distribution.name}: uses no response headers policy of this stack",
                distribution.urn,
            )
        for policy in policies:
            config = policy.props.get("securityHeadersConfig") or {}
            missing = [h for h in SECURITY_HEADERS if get(config, h, "override") is not True]
            if missing:
                report(
                    f"{policy.name}: securityHeadersConfig does not set (override) {missing}",
                    policy.urn,
                )


POLICIES = [
    StackValidationPolicy(
        name="cloudfront-grant-component-only",
        description="A bucket policy lets CloudFront s3:GetObject only the keys the stack"
        " uploads for it (the labeling component, the worker portal), for this stack's"
        " distribution (aws:SourceArn).",
        validate=validate_component_grant,
    ),
    ResourceValidationPolicy(
        name="cloudfront-read-only-methods",
        description="Distributions accept GET, HEAD and OPTIONS only.",
        validate=validate_read_only_methods,
    ),
    ResourceValidationPolicy(
        name="cors-read-only",
        description="CORS (S3 and CloudFront) lets other sites read only, without credentials.",
        validate=validate_cors,
    ),
    StackValidationPolicy(
        name="cloudfront-response-headers",
        description="Every cache behavior uses a response headers policy of this stack that"
        " sets nosniff, frame options, referrer policy and HSTS.",
        validate=validate_response_headers,
    ),
]
