"""Every rule of the policy pack: the stack's real resources pass, a broken variant is caught.

The passing cases are the resources captured from ``__main__.py`` under mocks
(default and production stacks); each failing case changes one property of one
of them, the way a careless edit would, and checks the rule names the problem.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from policy.guardrails import POLICIES
from tests.infra import harness
from tests.infra.harness import StackRun
from tests.infra.policy_harness import (
    all_violations,
    changed,
    edit_policy,
    pack_config,
    replaced,
    rule,
    unlinked,
    violations,
    with_changed,
    without,
)

PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
FUNCTION = "aws:lambda/function:Function"


def set_path(*path: str | int, value: Any) -> Any:
    def mutate(props: dict[str, Any]) -> None:
        target: Any = props
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def drop(*path: str | int) -> Any:
    def mutate(props: dict[str, Any]) -> None:
        target: Any = props
        for step in path[:-1]:
            target = target[step]
        target.pop(path[-1], None)

    return mutate


def one_violation(name: str, target: Any, pattern: str, config: dict | None = None) -> None:
    found = violations(rule(name), target, config)
    assert found, f"{name} did not catch the change"
    assert any(re.search(pattern, m) for m in found), found


# -- the pack as a whole ---------------------------------------------------------------


def test_pack_rule_names_are_unique_and_described() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    assert all(p.description for p in POLICIES)


def test_every_rule_is_in_the_security_page_table() -> None:
    page = (harness.ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", page, flags=re.MULTILINE))
    assert documented == {p.name for p in POLICIES}


def test_pack_is_a_python_policy_pack_in_the_project_virtualenv() -> None:
    pack = yaml.safe_load((harness.ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}
    requirements = (harness.ROOT / "policy" / "requirements.txt").read_text()
    assert "pulumi-policy>=" in requirements
    main = (harness.ROOT / "policy" / "__main__.py").read_text()
    assert "EnforcementLevel.MANDATORY" in main and "PolicyPack(" in main


def test_default_stack_passes_every_rule(default_stack: harness.StackRun) -> None:
    assert all_violations(default_stack) == {}


# -- S3 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag", ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]
)
def test_s3_block_public_access_catches_a_flag_turned_off(
    default_stack: harness.StackRun, flag: str
) -> None:
    block = changed(default_stack.one(PAB), set_path(flag, value=False))
    one_violation("s3-block-public-access", block, rf"assets-public-access: {flag} must be true")


def test_s3_ownership_catches_object_writer(default_stack: harness.StackRun) -> None:
    controls = default_stack.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    broken = changed(controls, set_path("rule", "objectOwnership", value="ObjectWriter"))
    one_violation("s3-ownership-enforced", broken, r"objectOwnership is 'ObjectWriter'")


def test_s3_ownership_catches_a_public_object_acl(default_stack: harness.StackRun) -> None:
    obj = default_stack.named("assets-component")
    broken = changed(obj, set_path("acl", value="public-read"))
    one_violation("s3-ownership-enforced", broken, r"assets-component: acl is set")


def test_s3_encryption_catches_a_missing_rule(default_stack: harness.StackRun) -> None:
    sse = default_stack.named("assets-encryption")
    one_violation(
        "s3-default-encryption",
        changed(sse, set_path("rules", value=[])),
        r"no default encryption rule",
    )


def test_s3_encryption_catches_an_unknown_algorithm(default_stack: harness.StackRun) -> None:
    sse = default_stack.named("assets-encryption")
    broken = changed(
        sse,
        set_path("rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm", value="none"),
    )
    one_violation("s3-default-encryption", broken, r"rules\[0\] encrypts with 'none'")


def test_s3_versioning_catches_suspended(default_stack: harness.StackRun) -> None:
    versioning = default_stack.named("assets-versioning")
    broken = changed(versioning, set_path("versioningConfiguration", "status", value="Suspended"))
    one_violation("s3-versioning-enabled", broken, r"versioning is 'Suspended'")


def test_s3_tls_policy_catches_a_missing_tls_deny(default_stack: harness.StackRun) -> None:
    policy = default_stack.named("assets-bucket-policy")
    broken = changed(policy, edit_policy(lambda d: d["Statement"].pop(0)))
    one_violation("s3-tls-only-policy", broken, r"no statement denies s3:\* without TLS")


def test_s3_tls_policy_catches_a_deny_on_objects_only(default_stack: harness.StackRun) -> None:
    def objects_only(doc: dict) -> None:
        doc["Statement"][0]["Resource"] = doc["Statement"][0]["Resource"][1:]

    broken = changed(default_stack.named("assets-bucket-policy"), edit_policy(objects_only))
    one_violation("s3-tls-only-policy", broken, r"on both the bucket and its objects")


def test_s3_tls_policy_catches_a_public_read(default_stack: harness.StackRun) -> None:
    def public(doc: dict) -> None:
        doc["Statement"].append(
            {
                "Sid": "Public",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        )

    broken = changed(default_stack.named("assets-bucket-policy"), edit_policy(public))
    one_violation("s3-tls-only-policy", broken, r"statement Public allows anyone")


@pytest.mark.parametrize(
    "companion",
    [
        "assets-public-access",
        "assets-ownership",
        "assets-encryption",
        "assets-versioning",
        "assets-bucket-policy",
    ],
)
def test_s3_guards_catch_a_bucket_missing_a_companion(
    default_stack: harness.StackRun, companion: str
) -> None:
    one_violation(
        "s3-bucket-guards-present", without(default_stack, companion), r"assets-bucket: has no "
    )


# -- CloudFront ---------------------------------------------------------------------------


def test_cloudfront_origin_access_catches_an_origin_without_oac(
    default_stack: harness.StackRun,
) -> None:
    broken = changed(default_stack.one(DISTRIBUTION), drop("origins", 0, "originAccessControlId"))
    one_violation(
        "cloudfront-origin-access-control", broken, r"origins\[0\] has no originAccessControlId"
    )


def test_cloudfront_origin_access_catches_a_legacy_identity(
    default_stack: harness.StackRun,
) -> None:
    oai = "origin-access-identity/cloudfront/E2QWRUHAPOMQZL"
    broken = changed(
        default_stack.one(DISTRIBUTION),
        set_path("origins", 0, "s3OriginConfig", value={"originAccessIdentity": oai}),
    )
    one_violation("cloudfront-origin-access-control", broken, r"legacy origin access identity")


def test_cloudfront_origin_access_catches_unsigned_requests(
    default_stack: harness.StackRun,
) -> None:
    oac = default_stack.named("assets-oac")
    broken = changed(oac, set_path("signingBehavior", value="never"))
    one_violation("cloudfront-origin-access-control", broken, r"signingBehavior is 'never'")


def test_cloudfront_origin_access_catches_a_website_origin(default_stack: harness.StackRun) -> None:
    website = "b.s3-website-eu-west-1.amazonaws.com"
    broken = changed(
        default_stack.one(DISTRIBUTION), set_path("origins", 0, "domainName", value=website)
    )
    one_violation("cloudfront-origin-access-control", broken, r"public website")


def test_cloudfront_https_catches_allow_all(default_stack: harness.StackRun) -> None:
    broken = changed(
        default_stack.one(DISTRIBUTION),
        set_path("defaultCacheBehavior", "viewerProtocolPolicy", value="allow-all"),
    )
    one_violation("cloudfront-https-only", broken, r"viewerProtocolPolicy is 'allow-all'")


def test_cloudfront_https_catches_old_tls_with_an_own_certificate(
    default_stack: harness.StackRun,
) -> None:
    certificate = {
        "acmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
        "minimumProtocolVersion": "TLSv1",
        "sslSupportMethod": "sni-only",
    }
    broken = changed(
        default_stack.one(DISTRIBUTION), set_path("viewerCertificate", value=certificate)
    )
    one_violation("cloudfront-https-only", broken, r"minimumProtocolVersion is 'TLSv1'")


def test_cloudfront_root_object_catches_index_html(default_stack: harness.StackRun) -> None:
    broken = changed(
        default_stack.one(DISTRIBUTION), set_path("defaultRootObject", value="index.html")
    )
    one_violation("cloudfront-no-default-root-object", broken, r"defaultRootObject 'index.html'")


def test_cloudfront_geo_restriction_catches_an_empty_allow_list(
    default_stack: harness.StackRun,
) -> None:
    broken = changed(
        default_stack.one(DISTRIBUTION),
        set_path(
            "restrictions",
            "geoRestriction",
            value={"restrictionType": "whitelist", "locations": []},
        ),
    )
    one_violation("cloudfront-geo-restriction", broken, r"whitelist lists no country")


def test_cloudfront_geo_restriction_required_by_config(default_stack: harness.StackRun) -> None:
    distribution = default_stack.one(DISTRIBUTION)
    one_violation(
        "cloudfront-geo-restriction",
        distribution,
        r"required by the policy configuration",
        {"required": True},
    )
    allowed = changed(
        distribution,
        set_path(
            "restrictions",
            "geoRestriction",
            value={"restrictionType": "whitelist", "locations": ["DE"]},
        ),
    )
    assert violations(rule("cloudfront-geo-restriction"), allowed, {"required": True}) == []


# -- Lambda -------------------------------------------------------------------------------


def test_lambda_runtime_catches_an_old_python(default_stack: harness.StackRun) -> None:
    function = default_stack.named("lambdas-pre-annotation")
    one_violation(
        "lambda-supported-runtime",
        changed(function, set_path("runtime", value="python3.9")),
        r"'python3.9' is not supported",
    )


def test_lambda_log_retention_catches_a_group_without_retention(
    default_stack: harness.StackRun,
) -> None:
    broken = with_changed(default_stack, "lambdas-post-annotation-logs", drop("retentionInDays"))
    one_violation(
        "lambda-log-retention", broken, r"lambdas-post-annotation-logs: no retentionInDays"
    )


def test_lambda_log_retention_catches_a_function_logging_elsewhere(
    default_stack: harness.StackRun,
) -> None:
    broken = replaced(
        default_stack,
        "lambdas-pre-annotation",
        lambda r: unlinked(changed(r, drop("loggingConfig")), "loggingConfig"),
    )
    one_violation(
        "lambda-log-retention",
        broken,
        r"lambdas-pre-annotation: logs to a group the stack does not create",
    )


def test_lambda_role_catches_a_star_resource(default_stack: harness.StackRun) -> None:
    def star(doc: dict) -> None:
        doc["Statement"][0]["Resource"] = "*"

    broken = with_changed(default_stack, "lambdas-pre-annotation-policy", edit_policy(star))
    one_violation(
        "lambda-role-no-wildcard-resource",
        broken,
        r"gives lambdas-pre-annotation access to every resource",
    )


def test_lambda_role_catches_a_managed_policy(default_stack: harness.StackRun) -> None:
    role = default_stack.named("lambdas-post-annotation-role")
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    broken = with_changed(default_stack, role.name, set_path("managedPolicyArns", value=[arn]))
    one_violation("lambda-role-no-wildcard-resource", broken, r"has managed policies attached")


# -- IAM ----------------------------------------------------------------------------------


def test_iam_wildcard_actions_catches_s3_star(default_stack: harness.StackRun) -> None:
    def s3_star(doc: dict) -> None:
        doc["Statement"][1]["Action"] = "s3:*"

    broken = changed(default_stack.named("ground-truth-execution-policy"), edit_policy(s3_star))
    one_violation("iam-no-wildcard-actions", broken, r"allows wildcard actions \['s3:\*'\]")


def test_iam_wildcard_actions_catches_not_action(default_stack: harness.StackRun) -> None:
    def not_action(doc: dict) -> None:
        doc["Statement"][0]["NotAction"] = doc["Statement"][0].pop("Action")

    broken = changed(default_stack.named("ground-truth-execution-policy"), edit_policy(not_action))
    one_violation("iam-no-wildcard-actions", broken, r"allows NotAction")


def test_iam_star_resource_catches_get_object_everywhere(default_stack: harness.StackRun) -> None:
    def everywhere(doc: dict) -> None:
        statement = next(s for s in doc["Statement"] if s["Sid"] == "ReadJobDataAndTemplate")
        statement["Resource"] = "*"

    broken = changed(default_stack.named("ground-truth-execution-policy"), edit_policy(everywhere))
    one_violation(
        "iam-no-star-resource-for-data-actions",
        broken,
        r"ReadJobDataAndTemplate grants \['s3:GetObject'\] on every resource",
    )


@pytest.mark.parametrize(
    ("principal", "action", "pattern"),
    [
        ({"AWS": "*"}, "sts:AssumeRole", r"lets \['\*'\] assume the role"),
        ({"Service": "ec2.amazonaws.com"}, "sts:AssumeRole", r"names \['ec2.amazonaws.com'\]"),
        (
            {"Service": "lambda.amazonaws.com"},
            "sts:AssumeRoleWithWebIdentity",
            r"only sts:AssumeRole",
        ),
    ],
)
def test_iam_trust_catches_unexpected_principals(
    default_stack: harness.StackRun, principal: dict, action: str, pattern: str
) -> None:
    def trust(doc: dict) -> None:
        doc["Statement"][0]["Principal"] = principal
        doc["Statement"][0]["Action"] = action

    broken = changed(
        default_stack.named("lambdas-pre-annotation-role"), edit_policy(trust, "assumeRolePolicy")
    )
    one_violation("iam-trusted-service-principals", broken, pattern)


def test_iam_no_admin_catches_star_on_star(default_stack: harness.StackRun) -> None:
    def admin(doc: dict) -> None:
        doc["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"})

    broken = changed(default_stack.named("ground-truth-job-launcher"), edit_policy(admin))
    one_violation("iam-no-admin", broken, r"administrator access")


def test_iam_no_admin_catches_pass_role_on_any_role(default_stack: harness.StackRun) -> None:
    def any_role(doc: dict) -> None:
        doc["Statement"][0]["Resource"] = "*"

    broken = changed(default_stack.named("ground-truth-job-launcher"), edit_policy(any_role))
    one_violation("iam-no-admin", broken, r"may pass any role")


def test_iam_no_admin_catches_pass_role_to_any_service(default_stack: harness.StackRun) -> None:
    def unconditional(doc: dict) -> None:
        doc["Statement"][0].pop("Condition")

    broken = changed(default_stack.named("ground-truth-job-launcher"), edit_policy(unconditional))
    one_violation("iam-no-admin", broken, r"without an iam:PassedToService condition")


def test_iam_no_admin_catches_administrator_access(default_stack: harness.StackRun) -> None:
    role = default_stack.named("ground-truth-execution-role")
    broken = changed(
        role, set_path("managedPolicyArns", value=["arn:aws:iam::aws:policy/AdministratorAccess"])
    )
    one_violation("iam-no-admin", broken, r"attaches the AWS managed policy .*AdministratorAccess")


def test_iam_rule_lists_the_same_star_actions_as_the_stack_uses(
    default_stack: harness.StackRun,
) -> None:
    from policy.guardrails.iam import ACTIONS_WITHOUT_RESOURCE_TYPES

    starred = {
        action
        for r in default_stack.custom()
        if isinstance(r.inputs.get("policy"), str) and r.type.startswith("aws:iam/")
        for s in json.loads(r.inputs["policy"])["Statement"]
        if s["Resource"] == "*"
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert starred <= ACTIONS_WITHOUT_RESOURCE_TYPES


# -- the production profile ------------------------------------------------------------

PRODUCTION_CONFIG = pack_config(harness.ROOT / "policy" / "production.json")
PRODUCTION_RULES = [
    "production-waf",
    "production-access-logs",
    "production-kms",
    "production-alarms",
]


def test_production_stack_passes_every_rule_with_the_production_config(
    production_stack: harness.StackRun,
) -> None:
    assert all_violations(production_stack, PRODUCTION_CONFIG) == {}


def test_production_config_names_only_production_rules() -> None:
    assert sorted(PRODUCTION_CONFIG) == sorted(PRODUCTION_RULES)


@pytest.mark.parametrize("name", PRODUCTION_RULES)
def test_default_stack_fails_each_production_rule_when_production_is_required(
    default_stack: harness.StackRun, name: str
) -> None:
    assert violations(rule(name), default_stack, PRODUCTION_CONFIG[name]), name


def test_a_half_enabled_production_profile_is_caught(
    default_stack: harness.StackRun, production_stack: harness.StackRun
) -> None:
    key_only = StackRun([*default_stack.resources, production_stack.one("aws:kms/key:Key")])
    assert set(all_violations(key_only)) >= {
        "production-waf",
        "production-access-logs",
        "production-alarms",
    }


def test_production_waf_catches_a_distribution_without_web_acl(
    production_stack: harness.StackRun,
) -> None:
    broken = replaced(
        production_stack,
        "assets-distribution",
        lambda r: unlinked(changed(r, drop("webAclId")), "webAclId"),
    )
    one_violation("production-waf", broken, r"assets-distribution: no WAF web ACL")


@pytest.mark.parametrize(
    ("index", "pattern"),
    [
        (0, r"AWSManagedRulesAmazonIpReputationList is missing"),
        (1, r"AWSManagedRulesCommonRuleSet is missing"),
        (2, r"AWSManagedRulesKnownBadInputsRuleSet is missing"),
        (-1, r"no rate-based rule"),
    ],
)
def test_production_waf_catches_a_missing_rule(
    production_stack: harness.StackRun, index: int, pattern: str
) -> None:
    broken = with_changed(production_stack, "assets-waf", lambda p: p["rules"].pop(index))
    one_violation("production-waf", broken, pattern)


def test_production_waf_catches_a_regional_web_acl(production_stack: harness.StackRun) -> None:
    broken = with_changed(production_stack, "assets-waf", set_path("scope", value="REGIONAL"))
    one_violation("production-waf", broken, r"scope must be CLOUDFRONT")


def test_production_logs_catch_a_missing_cloudfront_delivery(
    production_stack: harness.StackRun,
) -> None:
    broken = without(production_stack, "assets-cdn-log-delivery")
    one_violation(
        "production-access-logs", broken, r"assets-distribution: no standard access log delivery"
    )


def test_production_logs_catch_a_bucket_without_server_access_logs(
    production_stack: harness.StackRun,
) -> None:
    broken = without(production_stack, "assets-access-logging")
    one_violation(
        "production-access-logs",
        broken,
        r"assets-bucket: no server access logging",
        PRODUCTION_CONFIG["production-access-logs"],
    )


def test_production_logs_catch_logs_kept_forever(production_stack: harness.StackRun) -> None:
    broken = with_changed(production_stack, "assets-logs-lifecycle", drop("rules", 0, "expiration"))
    one_violation("production-access-logs", broken, r"needs a lifecycle rule that expires logs")


def test_production_kms_catches_sse_s3_on_the_data_bucket(
    production_stack: harness.StackRun,
) -> None:
    sse_s3 = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    broken = replaced(
        production_stack,
        "assets-encryption",
        lambda r: unlinked(changed(r, set_path("rules", value=sse_s3)), "rules"),
    )
    one_violation("production-kms", broken, r"assets-encryption: rules\[0\] uses 'AES256'")


def test_production_alarms_catch_a_function_without_an_alarm(
    production_stack: harness.StackRun,
) -> None:
    broken = without(production_stack, "lambdas-post-annotation-errors")
    one_violation("production-alarms", broken, r"lambdas-post-annotation: no CloudWatch alarm")


def test_s3_access_log_target_catches_a_prefix_that_is_not_a_folder(
    production_stack: harness.StackRun,
) -> None:
    logging = changed(
        production_stack.named("assets-access-logging"), set_path("targetPrefix", value="logs")
    )
    one_violation("s3-access-log-target", logging, r"targetPrefix 'logs' must be a folder")


def test_s3_access_logs_catch_a_bucket_logging_to_itself(
    production_stack: harness.StackRun,
) -> None:
    data = production_stack.named("assets-bucket")

    def to_itself(resource: harness.Recorded) -> harness.Recorded:
        clone = changed(resource, lambda p: None)
        clone.property_dependencies["targetBucket"] = [data.urn]
        return clone

    broken = replaced(production_stack, "assets-access-logging", to_itself)
    one_violation("s3-access-logs-to-another-bucket", broken, r"cannot log its own access")


def test_kms_rule_catches_a_key_without_rotation(production_stack: harness.StackRun) -> None:
    key = changed(
        production_stack.one("aws:kms/key:Key"), set_path("enableKeyRotation", value=False)
    )
    one_violation("kms-key-rotation-and-policy", key, r"enableKeyRotation must be true")


def test_kms_rule_catches_a_key_policy_open_to_everyone(production_stack: harness.StackRun) -> None:
    def everyone(doc: dict) -> None:
        doc["Statement"][1]["Principal"] = {"AWS": "*"}

    policy = changed(production_stack.one("aws:kms/keyPolicy:KeyPolicy"), edit_policy(everyone))
    one_violation("kms-key-rotation-and-policy", policy, r"GroundTruthJobsUseKey allows anyone")
