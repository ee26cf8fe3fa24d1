"""SecureAssetCdn alone: a private bucket, and CloudFront reading exactly one key of it."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from components.s3_layout import TEMPLATE_PREFIX
from components.secure_asset_cdn import (
    CACHING_OPTIMIZED_POLICY_ID,
    ComponentBundle,
    SecureAssetCdn,
    SecureAssetCdnArgs,
)
from tests.infra import harness
from tests.infra.iam import allows, as_list, statement, statements


def run_cdn(component_js: Path, *, with_key: bool = False, **overrides: object) -> harness.StackRun:
    def program() -> None:
        args = {
            "component": ComponentBundle.read(component_js),
            "force_destroy": False,
            "price_class": "PriceClass_100",
            "kms_key": aws.kms.Key("data-key", enable_key_rotation=True) if with_key else None,
            **overrides,
        }
        cdn = SecureAssetCdn("assets", SecureAssetCdnArgs(**args))  # type: ignore[arg-type]
        pulumi.export("component_url", cdn.component_url)
        pulumi.export("bucket_name", cdn.bucket_name)

    return harness.run(program, harness.stack_config())


@pytest.fixture(scope="module")
def cdn(component_js: Path) -> harness.StackRun:
    return run_cdn(component_js)


@pytest.fixture(scope="module")
def bucket_policy(cdn: harness.StackRun) -> str:
    return cdn.one("aws:s3/bucketPolicy:BucketPolicy", "assets-bucket-policy").inputs["policy"]


def test_bucket_public_access_block_sets_all_four_flags(cdn: harness.StackRun) -> None:
    block = cdn.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block.get(flag) is True, f"assets-public-access: {flag} must be true"


def test_bucket_ownership_enforced_so_acls_are_off(cdn: harness.StackRun) -> None:
    controls = cdn.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert controls["rule"] == {"objectOwnership": "BucketOwnerEnforced"}, "assets-ownership"


def test_bucket_default_encryption_is_sse_s3_without_a_key(cdn: harness.StackRun) -> None:
    sse = cdn.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    ], "assets-encryption"


def test_bucket_default_encryption_uses_the_kms_key_when_given(component_js: Path) -> None:
    run = run_cdn(component_js, with_key=True)
    key = run.one("aws:kms/key:Key")
    sse = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.outputs["arn"],
    }, "assets-encryption"
    assert rule["bucketKeyEnabled"] is True, "assets-encryption: bucket key saves KMS calls"


def test_bucket_versioning_enabled(cdn: harness.StackRun) -> None:
    versioning = cdn.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}, "assets-versioning"


def test_bucket_cors_is_the_rule_ground_truth_requires(cdn: harness.StackRun) -> None:
    cors = cdn.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs
    assert cors["corsRules"] == [
        {
            "allowedMethods": ["GET"],
            "allowedOrigins": ["*"],
            "exposeHeaders": ["Access-Control-Allow-Origin"],
        }
    ], "assets-cors"


def test_bucket_keeps_every_old_version_unless_told(cdn: harness.StackRun) -> None:
    (rule,) = cdn.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs[
        "rules"
    ]
    assert rule["id"] == "abort-incomplete-uploads" and "noncurrentVersionExpiration" not in rule


def test_old_versions_expire_after_the_configured_days() -> None:
    run = harness.run_main(harness.stack_config(noncurrentVersionDays=90))
    rules = run.named("assets-lifecycle").inputs["rules"]
    expiring = [r for r in rules if "noncurrentVersionExpiration" in r]
    assert [r["noncurrentVersionExpiration"] for r in expiring] == [{"noncurrentDays": 90}]
    assert expiring[0]["status"] == "Enabled" and expiring[0]["filter"] == {"prefix": ""}


def test_bucket_force_destroy_follows_the_argument(
    component_js: Path, cdn: harness.StackRun
) -> None:
    assert cdn.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is False, "assets-bucket"
    forced = run_cdn(component_js, force_destroy=True)
    assert forced.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is True, "assets-bucket"


def test_bucket_policy_denies_requests_without_tls(
    cdn: harness.StackRun, bucket_policy: str
) -> None:
    bucket_arn = cdn.one("aws:s3/bucket:Bucket").outputs["arn"]
    deny = statement(bucket_policy, "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert sorted(as_list(deny["Resource"])) == [bucket_arn, f"{bucket_arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_policy_lets_only_this_distribution_read_only_the_component(
    cdn: harness.StackRun, bucket_policy: str
) -> None:
    bucket_arn = cdn.one("aws:s3/bucket:Bucket").outputs["arn"]
    distribution_arn = cdn.one("aws:cloudfront/distribution:Distribution").outputs["arn"]
    key = cdn.one("aws:s3/bucketObjectv2:BucketObjectv2", "assets-component").inputs["key"]
    read = statement(bucket_policy, "CloudFrontReadsComponentOnly")
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == f"{bucket_arn}/{key}", "exactly one object ARN"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    assert len(statements(bucket_policy)) == 2, "no other statement in the bucket policy"


def test_bucket_policy_keeps_every_other_key_private(
    cdn: harness.StackRun, bucket_policy: str
) -> None:
    bucket_arn = cdn.one("aws:s3/bucket:Bucket").outputs["arn"]
    for key in ("labeling_jobs/images/a.jpg", f"{TEMPLATE_PREFIX}pose-skeleton.liquid.html"):
        assert not allows(bucket_policy, "s3:GetObject", f"{bucket_arn}/{key}"), key
    assert not allows(bucket_policy, "s3:ListBucket", bucket_arn)


def test_distribution_reaches_the_bucket_through_origin_access_control(
    cdn: harness.StackRun,
) -> None:
    distribution = cdn.one("aws:cloudfront/distribution:Distribution").inputs
    oac = cdn.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    bucket = cdn.one("aws:s3/bucket:Bucket").outputs
    (origin,) = distribution["origins"]
    assert origin["originAccessControlId"] == oac.id, "assets-distribution: OAC"
    assert "s3OriginConfig" not in origin, "assets-distribution: no legacy origin access identity"
    assert "customOriginConfig" not in origin, "assets-distribution: not a public website origin"
    assert origin["domainName"] == bucket["bucketRegionalDomainName"]


def test_origin_access_control_signs_every_request(cdn: harness.StackRun) -> None:
    oac = cdn.one("aws:cloudfront/originAccessControl:OriginAccessControl").inputs
    assert oac["originAccessControlOriginType"] == "s3", "assets-oac"
    assert oac["signingBehavior"] == "always", "assets-oac"
    assert oac["signingProtocol"] == "sigv4", "assets-oac"


def test_distribution_redirects_http_to_https(cdn: harness.StackRun) -> None:
    behavior = cdn.one("aws:cloudfront/distribution:Distribution").inputs["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https", "assets-distribution"
    assert behavior["allowedMethods"] == ["GET", "HEAD"], "assets-distribution: read-only"


def test_distribution_compresses_and_speaks_http2_and_3(cdn: harness.StackRun) -> None:
    distribution = cdn.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["defaultCacheBehavior"]["compress"] is True, "assets-distribution"
    assert distribution["httpVersion"] == "http2and3", "assets-distribution"
    assert distribution["priceClass"] == "PriceClass_100", "assets-distribution"


def test_distribution_uses_caching_optimized_and_the_headers_policy(cdn: harness.StackRun) -> None:
    behavior = cdn.one("aws:cloudfront/distribution:Distribution").inputs["defaultCacheBehavior"]
    headers = cdn.one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "assets-headers"
    )
    assert behavior["cachePolicyId"] == CACHING_OPTIMIZED_POLICY_ID, "assets-distribution"
    assert behavior["responseHeadersPolicyId"] == headers.id, "assets-distribution"


def test_distribution_has_no_default_root_object(cdn: harness.StackRun) -> None:
    distribution = cdn.one("aws:cloudfront/distribution:Distribution").inputs
    assert not distribution.get("defaultRootObject"), "assets-distribution"


def test_response_headers_allow_get_from_any_origin(cdn: harness.StackRun) -> None:
    cors = cdn.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs[
        "corsConfig"
    ]
    assert cors["accessControlAllowOrigins"] == {"items": ["*"]}, "assets-headers"
    assert cors["accessControlAllowMethods"] == {"items": ["GET", "HEAD"]}, "assets-headers"
    assert cors["accessControlAllowCredentials"] is False, "assets-headers"


def test_response_headers_set_security_headers(cdn: harness.StackRun) -> None:
    security = cdn.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs[
        "securityHeadersConfig"
    ]
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
    assert security["contentTypeOptions"]["override"] is True, "X-Content-Type-Options: nosniff"
    assert security["frameOptions"]["frameOption"] == "DENY"
    assert security["referrerPolicy"]["referrerPolicy"] == "no-referrer"


def test_component_uploaded_as_javascript_under_its_content_hash(
    cdn: harness.StackRun, component_js: Path
) -> None:
    upload = cdn.one("aws:s3/bucketObjectv2:BucketObjectv2", "assets-component").inputs
    bundle = ComponentBundle.read(component_js)
    assert upload["key"] == f"{TEMPLATE_PREFIX}crowd-2d-skeleton.{bundle.content_hash}.js"
    assert upload["contentType"] == "application/javascript; charset=utf-8", "assets-component"
    assert "immutable" in upload["cacheControl"], "assets-component: a hashed key never changes"
    assert Path(upload["source"].path) == component_js


def test_component_key_changes_when_the_js_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.js"
    path.write_text("let a = 1;\n")
    before = ComponentBundle.read(path).key
    path.write_text("let a = 2;\n")
    assert ComponentBundle.read(path).key != before


def test_component_url_is_the_cdn_domain_and_the_hashed_key(cdn: harness.StackRun) -> None:
    domain = cdn.one("aws:cloudfront/distribution:Distribution").outputs["domainName"]
    key = cdn.one("aws:s3/bucketObjectv2:BucketObjectv2", "assets-component").inputs["key"]
    assert cdn.exports["component_url"] == f"https://{domain}/{key}"


def test_missing_component_js_fails_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "crowd-2d-skeleton.js"
    with pytest.raises(pulumi.RunError, match=r"crowd-2d-skeleton\.js: cannot read the labeling"):
        ComponentBundle.read(missing)


def test_every_child_is_parented_to_the_component(cdn: harness.StackRun) -> None:
    component = cdn.one("pose-labeling:cdn:SecureAssetCdn")
    for resource in cdn.custom():
        if resource.type == "aws:kms/key:Key":
            continue
        assert resource.parent == component.urn, f"{resource.name} is not a child of assets"
