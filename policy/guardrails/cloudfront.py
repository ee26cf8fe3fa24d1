"""CloudFront: OAC to a private bucket, HTTPS only, no default root object, geo restriction.

AwsSolutions CFR1 (geo restriction, optional here: see ``required``), CFR4 (TLS),
CFR5/CFR6/CFR7 (origin access). WAF and logging (CFR2, CFR3) are production
rules, in ``production.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from . import types
from .documents import Report, as_list, get

HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
#: With a certificate of your own, CloudFront can refuse old TLS; these are the floors.
MODERN_TLS = ("TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")


def _is_s3_origin(origin: Any) -> bool:
    domain = str(get(origin, "domainName") or "")
    return ".s3." in domain or domain.endswith(".s3.amazonaws.com") or "s3-website" in domain


def validate_origin_access(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in types.ORIGIN_ACCESS_IDENTITY:
        report(f"{args.name}: origin access identities are legacy; use an origin access control")
    elif args.resource_type in types.ORIGIN_ACCESS_CONTROL:
        expected = {
            "originAccessControlOriginType": "s3",
            "signingBehavior": "always",
            "signingProtocol": "sigv4",
        }
        for prop, value in expected.items():
            if args.props.get(prop) != value:
                report(f"{args.name}: {prop} is {args.props.get(prop)!r}; expected {value!r}")
    elif args.resource_type in types.DISTRIBUTION:
        for i, origin in enumerate(as_list(args.props.get("origins"))):
            if not _is_s3_origin(origin):
                continue
            where = f"{args.name}: origins[{i}]"
            if "s3-website" in str(get(origin, "domainName")) or get(origin, "customOriginConfig"):
                report(
                    f"{where} reaches S3 as a public website;"
                    " use the bucket's REST endpoint and OAC"
                )
            if get(origin, "s3OriginConfig", "originAccessIdentity"):
                report(
                    f"{where} uses a legacy origin access identity; use an origin access control"
                )
            if not get(origin, "originAccessControlId"):
                report(
                    f"{where} has no originAccessControlId; CloudFront must sign its requests (OAC)"
                )


def cache_behaviors(props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A distribution's cache behaviors, each with where it sits (for messages)."""
    return [("defaultCacheBehavior", props.get("defaultCacheBehavior"))] + [
        (f"orderedCacheBehaviors[{i}]", b)
        for i, b in enumerate(as_list(props.get("orderedCacheBehaviors")))
    ]


def validate_https_only(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.DISTRIBUTION:
        return
    for where, behavior in cache_behaviors(args.props):
        policy = get(behavior, "viewerProtocolPolicy") if behavior else None
        if policy not in HTTPS_VIEWER_POLICIES:
            report(
                f"{args.name}: {where}.viewerProtocolPolicy is {policy!r}; use redirect-to-https"
            )
    for i, origin in enumerate(as_list(args.props.get("origins"))):
        protocol = get(origin, "customOriginConfig", "originProtocolPolicy")
        if protocol is not None and protocol != "https-only":
            report(f"{args.name}: origins[{i}] is reached over {protocol!r}; use https-only")
    certificate = args.props.get("viewerCertificate") or {}
    own_certificate = get(certificate, "acmCertificateArn") or get(certificate, "iamCertificateId")
    minimum = get(certificate, "minimumProtocolVersion")
    # The *.cloudfront.net certificate cannot be given a floor; a certificate of your own can.
    if own_certificate and minimum not in MODERN_TLS:
        report(f"{args.name}: minimumProtocolVersion is {minimum!r}; use TLSv1.2_2021 or newer")


def validate_no_default_root_object(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.DISTRIBUTION:
        return
    if args.props.get("defaultRootObject") and any(
        _is_s3_origin(o) for o in as_list(args.props.get("origins"))
    ):
        report(
            f"{args.name}: defaultRootObject {args.props['defaultRootObject']!r} would serve a"
            " file of the private bucket at '/'; CloudFront serves one known key only"
        )


def validate_geo_restriction(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.DISTRIBUTION:
        return
    restriction = get(args.props, "restrictions", "geoRestriction") or {}
    kind = get(restriction, "restrictionType")
    locations = as_list(get(restriction, "locations"))
    if kind in ("whitelist", "blacklist") and not locations:
        report(f"{args.name}: geo restriction {kind} lists no country")
    elif kind not in ("none", "whitelist", "blacklist"):
        report(f"{args.name}: geo restriction type {kind!r} is not none, whitelist or blacklist")
    elif kind == "none" and args.get_config().get("required", False):
        report(f"{args.name}: geo restriction is required by the policy configuration")


POLICIES = [
    ResourceValidationPolicy(
        name="cloudfront-origin-access-control",
        description="S3 origins are reached through an origin access control that signs"
        " every request (no OAI, no public website origin).",
        validate=validate_origin_access,
    ),
    ResourceValidationPolicy(
        name="cloudfront-https-only",
        description="Viewers and origins use HTTPS; own certificates refuse TLS below 1.2.",
        validate=validate_https_only,
    ),
    ResourceValidationPolicy(
        name="cloudfront-no-default-root-object",
        description="No default root object on a distribution in front of a private bucket.",
        validate=validate_no_default_root_object,
    ),
    ResourceValidationPolicy(
        name="cloudfront-geo-restriction",
        description="A geo restriction, when set, names countries; optional unless"
        " `required` is configured.",
        validate=validate_geo_restriction,
        config_schema=PolicyConfigSchema(
            properties={"required": {"type": "boolean", "default": False}}
        ),
    ),
]
