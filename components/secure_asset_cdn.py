"""``SecureAssetCdn``: the private bucket, and CloudFront serving exactly one object of it.

The bucket holds everything (images, manifests, labels, the template) and is
never public: all four public-access blocks, ACLs disabled, default encryption,
versioning, TLS-only. CloudFront reaches it through Origin Access Control, and
the bucket policy lets this one distribution read one key: the labeling
component's JS. Every other key answers 403 through the CDN.

Both objects (the JS here, the worker template beside it) are written only after
every guard of the bucket is in place, and the template only after the JS and
the bucket policy that lets CloudFront read it: ``write_ready``.

With the self-hosted runner (``portal``) the component also uploads the worker
portal's files (``components.worker_portal``) beside the JS and serves them under
``/portal/*``: the bucket policy then names each of their keys and the portal's
``config.json``, which the runner writes once its API exists. A CloudFront
function answers ``/portal/`` with the portal's ``index.html``, since an S3 origin
has no index documents.

The JS is uploaded under a content-hashed key. A new build is a new URL, which
the worker template (rendered in the same ``pulumi up``) points to, so workers
get it at once without a CloudFront invalidation, and the file can be cached for
a year (``immutable``). Pulumi has no invalidation resource; an invalidation
would also leave a window where the new template meets a cached old script.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import policies
from components.access_log_bucket import (
    CLOUDFRONT_LOG_PREFIX,
    S3_ACCESS_LOG_PREFIX,
    AccessLogBucket,
    AccessLogBucketArgs,
)
from components.edge_firewall import CLOUDFRONT_REGION, edge_web_acl
from components.private_bucket import private_bucket
from components.s3_layout import PORTAL_PREFIX, component_key
from components.worker_portal import CACHE_CONTROL, INDEX_FILE, PortalBundle

COMPONENT_PATH = Path(__file__).resolve().parent.parent / "assets" / "crowd-2d-skeleton.js"

#: AWS's managed "CachingOptimized" cache policy (the same ID in every account):
#: long TTLs, gzip and brotli, no cookies, headers or query strings in the key.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
_ORIGIN_ID = "asset-bucket"
_ONE_YEAR = 31_536_000
#: Viewer-request function of the portal's behavior: ``/portal/`` is its index page.
PORTAL_INDEX_FUNCTION = f"""function handler(event) {{
  var request = event.request;
  if (request.uri.endsWith("/")) {{
    request.uri += "{INDEX_FILE}";
  }}
  return request;
}}
"""


@dataclass(frozen=True)
class ComponentBundle:
    """The labeling component's JS, read and hashed before any resource is registered."""

    path: Path
    content_hash: str

    @classmethod
    def read(cls, path: Path = COMPONENT_PATH) -> ComponentBundle:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise pulumi.RunError(
                f"{path}: cannot read the labeling component ({exc.strerror or exc});"
                " the stack serves this file to workers, so it must exist before `pulumi up`"
            ) from exc
        if not data.strip():
            raise pulumi.RunError(f"{path}: the labeling component is empty")
        return cls(path, hashlib.sha256(data).hexdigest()[:16])

    @property
    def key(self) -> str:
        return component_key(self.content_hash)


@dataclass(frozen=True)
class EdgeHardening:
    """The production profile's additions: a web ACL, and access logs for CDN and bucket."""

    #: The account, for the log bucket policy's ``aws:SourceAccount`` conditions.
    account_id: pulumi.Input[str]
    #: Requests per client IP per 5 minutes before the web ACL blocks that IP.
    waf_rate_limit: int
    #: Days the log bucket keeps a log.
    access_log_retention_days: int


@dataclass(frozen=True)
class SecureAssetCdnArgs:
    #: The component JS to serve (``ComponentBundle.read(path)``).
    component: ComponentBundle
    #: Delete the bucket even when it holds objects (every version) on destroy.
    force_destroy: bool
    #: CloudFront price class: which edge locations serve the JS.
    price_class: pulumi.Input[str]
    #: Customer-managed KMS key for the bucket's default encryption; SSE-S3 when None.
    #: The bucket depends on it, so ``pulumi destroy`` never lets the key go first.
    kms_key: aws.kms.Key | None = None
    #: ISO country codes allowed to fetch the JS; everywhere when empty.
    allowed_countries: Sequence[str] = ()
    #: WAF and access logs (production profile); none when None.
    hardening: EdgeHardening | None = None
    #: Days an overwritten or deleted version is kept; 0 keeps every version.
    noncurrent_version_days: int = 0
    #: The self-hosted runner's worker portal, served under ``/portal/``; none when None.
    portal: PortalBundle | None = None


class SecureAssetCdn(pulumi.ComponentResource):
    #: The production profile's log bucket; None without ``hardening``.
    access_log_bucket_name: pulumi.Output[str] | None
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    cdn_domain_name: pulumi.Output[str]
    component_url: pulumi.Output[str]
    #: What the worker template must wait for: the bucket's guards, its policy and the JS.
    write_ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: SecureAssetCdnArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:cdn:SecureAssetCdn", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)

        private = private_bucket(
            name,
            force_destroy=args.force_destroy,
            encryption_rule=_encryption_rule(args.kms_key.arn if args.kms_key else None),
            opts=child,
            after=args.kms_key,
        )
        bucket, public_access = private.bucket, private.public_access
        guarded = private.guard_options
        # Ground Truth needs this rule on the image bucket when jobs are created
        # through the API (only the console adds it), or image tasks fail to load.
        aws.s3.BucketCorsConfiguration(
            f"{name}-cors",
            bucket=bucket.id,
            cors_rules=[
                {
                    "allowed_methods": ["GET"],
                    "allowed_origins": ["*"],
                    "expose_headers": ["Access-Control-Allow-Origin"],
                }
            ],
            opts=guarded,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=_lifecycle_rules(args.noncurrent_version_days),
            opts=guarded,
        )

        origin_access = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description="Signed requests from the pose-labeling CDN to its private bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers",
            comment="CORS for the worker page, and security headers",
            cors_config={
                "access_control_allow_credentials": False,
                "access_control_allow_headers": {"items": ["*"]},
                "access_control_allow_methods": {"items": ["GET", "HEAD"]},
                "access_control_allow_origins": {"items": ["*"]},
                "access_control_max_age_sec": 86400,
                "origin_override": True,
            },
            security_headers_config={
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "no-referrer", "override": True},
                "strict_transport_security": {
                    "access_control_max_age_sec": 63_072_000,
                    "include_subdomains": True,
                    "override": True,
                },
            },
            opts=child,
        )
        web_acl = None
        if args.hardening:
            web_acl = edge_web_acl(
                f"{name}-waf", rate_limit=args.hardening.waf_rate_limit, opts=child
            )
        portal_behaviors = None
        if args.portal:
            portal_behaviors = [self._portal_behavior(name, headers, child)]
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            comment="pose-labeling: the labeling component's JS",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            origins=[
                {
                    "origin_id": _ORIGIN_ID,
                    "domain_name": bucket.bucket_regional_domain_name,
                    "origin_access_control_id": origin_access.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": _ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED_POLICY_ID,
                "response_headers_policy_id": headers.id,
            },
            ordered_cache_behaviors=portal_behaviors,
            restrictions={"geo_restriction": _geo_restriction(args.allowed_countries)},
            viewer_certificate={"cloudfront_default_certificate": True},
            web_acl_id=web_acl.arn if web_acl else None,
            opts=child,
        )
        key = args.component.key
        served = [key, *(args.portal.keys if args.portal else ())]
        bucket_policy = aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket=bucket.arn, cdn=distribution.arn).apply(
                lambda v: policies.asset_bucket_policy(v["bucket"], served, v["cdn"])
            ),
            # S3 rejects policy writes while the public-access block is being applied.
            opts=pulumi.ResourceOptions.merge(
                guarded, pulumi.ResourceOptions(depends_on=[public_access])
            ),
        )
        # Written once the bucket is guarded: encrypted with the stack's key, versioned,
        # TLS only. Everything else written here (the template) also waits for it.
        bucket_ready = [*private.guards, bucket_policy]
        component_object = aws.s3.BucketObjectv2(
            f"{name}-component",
            bucket=bucket.id,
            key=key,
            source=pulumi.FileAsset(str(args.component.path)),
            content_type="application/javascript; charset=utf-8",
            cache_control=f"public, max-age={_ONE_YEAR}, immutable",
            # The JS is public through CloudFront anyway; SSE-S3 spares CloudFront a
            # KMS grant when the bucket's default key is customer-managed.
            server_side_encryption="AES256",
            opts=pulumi.ResourceOptions(parent=self, depends_on=bucket_ready),
        )
        self.write_ready = [*bucket_ready, component_object]
        if args.portal:
            for portal_file in args.portal.files:
                aws.s3.BucketObjectv2(
                    f"{name}-{portal_file.key}",
                    bucket=bucket.id,
                    key=portal_file.key,
                    source=pulumi.FileAsset(str(portal_file.path)),
                    content_type=portal_file.content_type,
                    cache_control=CACHE_CONTROL,
                    server_side_encryption="AES256",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=bucket_ready),
                )

        self.access_log_bucket_name = None
        if args.hardening:
            logs = self._access_logs(
                name, args.hardening, args.force_destroy, bucket, guarded, distribution
            )
            self.access_log_bucket_name = logs.bucket_name

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.distribution_arn = distribution.arn
        self.cdn_domain_name = distribution.domain_name
        self.component_url = pulumi.Output.concat("https://", distribution.domain_name, "/", key)
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "distribution_arn": self.distribution_arn,
                "cdn_domain_name": self.cdn_domain_name,
                "component_url": self.component_url,
            }
        )

    def _portal_behavior(
        self,
        name: str,
        headers: aws.cloudfront.ResponseHeadersPolicy,
        child: pulumi.ResourceOptions,
    ) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict:
        """``/portal/*`` from the same bucket, with the same headers; ``/portal/`` is the index."""
        index = aws.cloudfront.Function(
            f"{name}-portal-index",
            runtime="cloudfront-js-2.0",
            comment="pose-labeling: /portal/ is the worker portal's index.html",
            code=PORTAL_INDEX_FUNCTION,
            publish=True,
            opts=child,
        )
        return {
            "path_pattern": f"/{PORTAL_PREFIX}*",
            "target_origin_id": _ORIGIN_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD", "OPTIONS"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            # With the files' no-cache, CloudFront keeps each for the policy's minimum TTL
            # (1 second) and then revalidates it with S3.
            "cache_policy_id": CACHING_OPTIMIZED_POLICY_ID,
            "response_headers_policy_id": headers.id,
            "function_associations": [{"event_type": "viewer-request", "function_arn": index.arn}],
        }

    def _access_logs(
        self,
        name: str,
        hardening: EdgeHardening,
        force_destroy: bool,
        bucket: aws.s3.Bucket,
        guarded: pulumi.ResourceOptions,
        distribution: aws.cloudfront.Distribution,
    ) -> AccessLogBucket:
        """CloudFront standard logs (v2) and S3 server access logs, into a log bucket.

        Standard logging v2 goes through CloudWatch's log delivery, which writes to
        a bucket with ACLs disabled; the legacy logs would need ACLs turned back on.
        """
        child = pulumi.ResourceOptions(parent=self)
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-cdn-log-source",
            # CloudFront's log delivery lives in us-east-1, like the distribution's ACL.
            region=CLOUDFRONT_REGION,
            log_type="ACCESS_LOGS",
            resource_arn=distribution.arn,
            opts=child,
        )
        logs = AccessLogBucket(
            f"{name}-logs",
            AccessLogBucketArgs(
                retention_days=hardening.access_log_retention_days,
                force_destroy=force_destroy,
                source_bucket_arn=bucket.arn,
                delivery_source_arn=source.arn,
                account_id=hardening.account_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-cdn-log-destination",
            region=CLOUDFRONT_REGION,
            output_format="w3c",
            delivery_destination_configuration={
                "destination_resource_arn": pulumi.Output.concat(
                    logs.bucket_arn, "/", CLOUDFRONT_LOG_PREFIX.rstrip("/")
                )
            },
            opts=child,
        )
        # Both wait for the log bucket's policy: otherwise the services would try to
        # write a bucket policy of their own.
        aws.cloudwatch.LogDelivery(
            f"{name}-cdn-log-delivery",
            region=CLOUDFRONT_REGION,
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs.policy]),
        )
        # An audit guard of the data bucket: protected and deleted with it, like the others.
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=bucket.id,
            target_bucket=logs.bucket_name,
            target_prefix=S3_ACCESS_LOG_PREFIX,
            opts=pulumi.ResourceOptions.merge(
                guarded, pulumi.ResourceOptions(depends_on=[logs.policy])
            ),
        )
        return logs


def _lifecycle_rules(
    noncurrent_version_days: int,
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    # Failed multi-part uploads are billed invisibly until aborted.
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }
    ]
    if noncurrent_version_days:
        rules.append(
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
            }
        )
    return rules


def _geo_restriction(
    countries: Sequence[str],
) -> aws.cloudfront.DistributionRestrictionsGeoRestrictionArgsDict:
    if not countries:
        return {"restriction_type": "none"}
    return {"restriction_type": "whitelist", "locations": sorted(countries)}


def _encryption_rule(
    kms_key_arn: pulumi.Input[str] | None,
) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgsDict:
    if kms_key_arn is None:
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    return {
        "apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms",
            "kms_master_key_id": kms_key_arn,
        },
        # One data key per bucket instead of per object: far fewer KMS calls.
        "bucket_key_enabled": True,
    }
