"""The production profile: WAF, access logs, a customer-managed key and alarms; off by default."""

from __future__ import annotations

import json
import re

import pytest

from components.data_key import alias_prefix
from components.edge_firewall import MANAGED_RULE_GROUPS
from components.stack_outputs import StackOutputs
from tests.infra import harness
from tests.infra.conftest import ALARM_TOPIC, PRODUCTION_CONFIG
from tests.infra.iam import allows, as_list, statement, statements
from tests.infra.test_stack import DEFAULT_STACK

#: What `production: true` adds to the default stack, and nothing else.
PRODUCTION_EXTRAS = {
    "aws:cloudwatch/logDelivery:LogDelivery": 1,
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": 1,
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": 1,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 2,
    "aws:kms/alias:Alias": 1,
    "aws:kms/key:Key": 1,
    "aws:kms/keyPolicy:KeyPolicy": 1,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketLogging:BucketLogging": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:wafv2/webAcl:WebAcl": 1,
}
EDGE_TYPES = (
    "aws:wafv2/webAcl:WebAcl",
    "aws:cloudwatch/logDeliverySource:LogDeliverySource",
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
    "aws:cloudwatch/logDelivery:LogDelivery",
)


def test_production_adds_exactly_the_profile_resources(production_stack: harness.StackRun) -> None:
    expected = dict(DEFAULT_STACK)
    for type_, count in PRODUCTION_EXTRAS.items():
        expected[type_] = expected.get(type_, 0) + count
    assert production_stack.type_counts() == dict(sorted(expected.items()))


@pytest.mark.parametrize("type_", EDGE_TYPES)
def test_cloudfront_scoped_resources_are_created_in_us_east_1(
    production_stack: harness.StackRun, type_: str
) -> None:
    resource = production_stack.one(type_)
    assert resource.inputs["region"] == "us-east-1", resource.name
    assert not resource.provider, f"{resource.name} must keep the stack's provider"


def test_everything_else_stays_in_the_stack_region(production_stack: harness.StackRun) -> None:
    assert not production_stack.of_type("pulumi:providers:aws")
    for resource in production_stack.custom():
        if resource.type not in EDGE_TYPES:
            assert "region" not in resource.inputs, resource.name
            assert not resource.provider, resource.name


def test_web_acl_has_managed_rules_and_a_rate_limit(production_stack: harness.StackRun) -> None:
    acl = production_stack.one("aws:wafv2/webAcl:WebAcl").inputs
    assert acl["scope"] == "CLOUDFRONT" and acl["defaultAction"] == {"allow": {}}
    managed = [r["statement"]["managedRuleGroupStatement"] for r in acl["rules"][:-1]]
    assert [(m["vendorName"], m["name"]) for m in managed] == [
        ("AWS", g) for g in MANAGED_RULE_GROUPS
    ]
    rate = acl["rules"][-1]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rateBasedStatement"] == {
        "aggregateKeyType": "IP",
        "limit": 1000,
        "evaluationWindowSec": 300,
    }
    assert sorted(r["priority"] for r in acl["rules"]) == [0, 1, 2, 3]


def test_web_acl_blocks_known_bad_inputs(production_stack: harness.StackRun) -> None:
    """Issue 16: checkov's CKV_AWS_192 wants AWS's known-bad-inputs group too."""
    acl = production_stack.one("aws:wafv2/webAcl:WebAcl").inputs
    groups = [r["statement"].get("managedRuleGroupStatement", {}).get("name") for r in acl["rules"]]
    assert "AWSManagedRulesKnownBadInputsRuleSet" in groups


def test_distribution_sits_behind_the_web_acl(production_stack: harness.StackRun) -> None:
    acl = production_stack.one("aws:wafv2/webAcl:WebAcl")
    distribution = production_stack.one("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["webAclId"] == acl.outputs["arn"], distribution.name


def test_cloudfront_access_logs_go_to_the_log_bucket(production_stack: harness.StackRun) -> None:
    distribution = production_stack.one("aws:cloudfront/distribution:Distribution")
    source = production_stack.one("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    destination = production_stack.one(
        "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
    )
    delivery = production_stack.one("aws:cloudwatch/logDelivery:LogDelivery")
    log_bucket = production_stack.named("assets-logs-bucket").outputs
    assert source.inputs["logType"] == "ACCESS_LOGS"
    assert source.inputs["resourceArn"] == distribution.outputs["arn"]
    assert destination.inputs["deliveryDestinationConfiguration"] == {
        "destinationResourceArn": f"{log_bucket['arn']}/cloudfront"
    }
    assert delivery.inputs["deliverySourceName"] == source.outputs["name"]
    assert delivery.inputs["deliveryDestinationArn"] == destination.outputs["arn"]


def test_log_deliveries_wait_for_the_log_bucket_policy(production_stack: harness.StackRun) -> None:
    policy = production_stack.named("assets-logs-policy")
    for name in ("assets-cdn-log-delivery", "assets-access-logging"):
        assert policy.urn in production_stack.named(name).dependencies, name


def test_bucket_server_access_logs_go_to_the_log_bucket(production_stack: harness.StackRun) -> None:
    logging = production_stack.one("aws:s3/bucketLogging:BucketLogging").inputs
    assert logging["bucket"] == production_stack.named("assets-bucket").outputs["bucket"]
    assert logging["targetBucket"] == production_stack.named("assets-logs-bucket").outputs["bucket"]
    assert logging["targetPrefix"] == "s3-access/"


def test_log_bucket_expires_logs_after_the_configured_days() -> None:
    run = harness.run_main({**PRODUCTION_CONFIG, "pose-labeling:accessLogRetentionDays": "30"})
    (rule,) = run.named("assets-logs-lifecycle").inputs["rules"]
    assert rule["status"] == "Enabled" and rule["expiration"] == {"days": 30}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 1}


def test_log_bucket_is_private_versioned_and_sse_s3(production_stack: harness.StackRun) -> None:
    block = production_stack.named("assets-logs-public-access").inputs
    assert all(
        block[f] is True
        for f in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    assert production_stack.named("assets-logs-ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    assert production_stack.named("assets-logs-versioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"
    }
    (rule,) = production_stack.named("assets-logs-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}, (
        "S3 server access logging cannot write to a bucket whose default key is KMS"
    )


def test_log_bucket_policy_lets_only_the_two_log_writers_in(
    production_stack: harness.StackRun,
) -> None:
    policy = production_stack.named("assets-logs-policy").inputs["policy"]
    log_arn = production_stack.named("assets-logs-bucket").outputs["arn"]
    data_arn = production_stack.named("assets-bucket").outputs["arn"]
    source_arn = production_stack.one("aws:cloudwatch/logDeliverySource:LogDeliverySource").outputs[
        "arn"
    ]
    s3_logs = statement(policy, "S3ServerAccessLogs")
    assert s3_logs["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert s3_logs["Resource"] == f"{log_arn}/s3-access/*"
    assert s3_logs["Condition"]["ArnLike"] == {"aws:SourceArn": data_arn}
    assert s3_logs["Condition"]["StringEquals"] == {"aws:SourceAccount": harness.ACCOUNT}
    cdn_logs = statement(policy, "CloudFrontAccessLogs")
    assert cdn_logs["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert cdn_logs["Resource"] == f"{log_arn}/cloudfront/*"
    assert cdn_logs["Condition"]["ArnLike"] == {"aws:SourceArn": source_arn}
    assert statement(policy, "DenyInsecureTransport")["Effect"] == "Deny"
    assert len(statements(policy)) == 3


def test_data_bucket_is_encrypted_with_the_stack_key(production_stack: harness.StackRun) -> None:
    key_arn = production_stack.one("aws:kms/key:Key").outputs["arn"]
    (rule,) = production_stack.named("assets-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key_arn,
    }
    assert rule["bucketKeyEnabled"] is True


def test_component_js_stays_sse_s3_so_cloudfront_needs_no_key(
    production_stack: harness.StackRun,
) -> None:
    upload = production_stack.named("assets-component").inputs
    assert upload["serverSideEncryption"] == "AES256"
    policy = production_stack.one("aws:kms/keyPolicy:KeyPolicy").inputs["policy"]
    assert not any("cloudfront" in json.dumps(s.get("Principal")) for s in statements(policy))


def test_key_rotates_yearly_and_has_an_alias(production_stack: harness.StackRun) -> None:
    key = production_stack.one("aws:kms/key:Key")
    alias = production_stack.one("aws:kms/alias:Alias").inputs
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    assert alias["targetKeyId"] == key.outputs["keyId"]


def test_key_alias_is_unique_per_stack_not_fixed(production_stack: harness.StackRun) -> None:
    """A fixed alias/<project>-<stack> made two `dev` stacks in one account collide."""
    alias = production_stack.one("aws:kms/alias:Alias").inputs
    assert "name" not in alias, "a fixed name collides; KMS makes a prefix unique"
    assert alias["namePrefix"] == "alias/pose-labeling-test-"


@pytest.mark.parametrize("stack", ["team.dev", "dev", "a b+c"])
def test_key_alias_prefix_is_valid_for_any_stack_name(stack: str) -> None:
    prefix = alias_prefix("pose-labeling", stack)
    assert re.fullmatch(r"alias/[a-zA-Z0-9:/_-]+", prefix), prefix
    assert prefix.startswith("alias/pose-labeling-") and not prefix.startswith("alias/aws")


def test_key_policy_lets_ground_truth_and_the_post_lambda_use_the_key(
    production_stack: harness.StackRun,
) -> None:
    key = production_stack.one("aws:kms/key:Key").outputs
    policy = production_stack.one("aws:kms/keyPolicy:KeyPolicy").inputs
    execution = production_stack.named("ground-truth-execution-role").outputs["arn"]
    post = production_stack.named("lambdas-post-annotation-role").outputs["arn"]
    pre = production_stack.named("lambdas-pre-annotation-role").outputs["arn"]
    assert policy["keyId"] == key["keyId"]
    jobs = statement(policy["policy"], "GroundTruthJobsUseKey")
    assert jobs["Principal"] == {"AWS": execution}
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"} <= set(
        jobs["Action"]
    )
    lam = statement(policy["policy"], "PostAnnotationLambdaUsesKeyThroughS3")
    assert lam["Principal"] == {"AWS": post}
    assert lam["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{harness.REGION}.amazonaws.com"}
    }
    assert pre not in json.dumps(policy["policy"]), "the pre-annotation Lambda reads nothing"


def test_key_policy_keeps_the_account_in_charge(production_stack: harness.StackRun) -> None:
    policy = production_stack.one("aws:kms/keyPolicy:KeyPolicy").inputs["policy"]
    admin = statement(policy, "AccountAdministersKey")
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{harness.ACCOUNT}:root"}


@pytest.mark.parametrize(
    ("name", "actions"),
    [
        ("ground-truth-execution-policy", ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]),
        ("lambdas-post-annotation-policy", ["kms:Decrypt", "kms:GenerateDataKey"]),
        ("ground-truth-job-launcher", ["kms:Decrypt", "kms:GenerateDataKey"]),
    ],
)
def test_roles_that_touch_job_data_may_use_the_key(
    production_stack: harness.StackRun, name: str, actions: list[str]
) -> None:
    key_arn = production_stack.one("aws:kms/key:Key").outputs["arn"]
    policy = production_stack.named(name).inputs["policy"]
    for action in actions:
        assert allows(policy, action, key_arn), f"{name}: {action}"


def test_pre_annotation_role_gets_no_key(production_stack: harness.StackRun) -> None:
    policy = production_stack.named("lambdas-pre-annotation-policy").inputs["policy"]
    assert "kms:" not in policy


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_each_lambda_has_an_error_alarm_notifying_the_topic(
    production_stack: harness.StackRun, kind: str
) -> None:
    alarm = production_stack.named(f"lambdas-{kind}-errors").inputs
    function = production_stack.named(f"lambdas-{kind}").outputs
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert alarm["dimensions"] == {"FunctionName": function["name"]}
    assert (
        alarm["threshold"] == 1 and alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    )
    assert alarm["alarmActions"] == [ALARM_TOPIC]


def test_kms_key_id_output_is_the_key_arn_for_jobs(production_stack: harness.StackRun) -> None:
    key_arn = production_stack.one("aws:kms/key:Key").outputs["arn"]
    outputs = StackOutputs.from_mapping(json.loads(json.dumps(production_stack.exports)))
    assert outputs.kms_key_id == key_arn


def test_default_stack_exports_no_production_outputs(default_stack: harness.StackRun) -> None:
    outputs = StackOutputs.from_mapping(default_stack.exports)
    assert outputs.kms_key_id is None and outputs.access_log_bucket_name is None


def test_access_log_bucket_is_exported_in_production(production_stack: harness.StackRun) -> None:
    bucket = production_stack.named("assets-logs-bucket").outputs["bucket"]
    assert production_stack.exports["access_log_bucket_name"] == bucket


def test_allowed_countries_restrict_the_distribution() -> None:
    run = harness.run_main(harness.stack_config(allowedCountries=["FR", "DE"]))
    restriction = run.one("aws:cloudfront/distribution:Distribution").inputs["restrictions"]
    assert restriction == {
        "geoRestriction": {"restrictionType": "whitelist", "locations": ["DE", "FR"]}
    }


def test_production_program_twice_gives_identical_inputs(
    production_stack: harness.StackRun,
) -> None:
    again = harness.run_main(PRODUCTION_CONFIG)
    assert again.fingerprint() == production_stack.fingerprint()


def test_production_resources_use_star_only_for_metrics_and_traces(
    production_stack: harness.StackRun,
) -> None:
    for resource in production_stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        for s in statements(resource.inputs["policy"]):
            if "*" in as_list(s["Resource"]):
                assert set(as_list(s["Action"])) <= {
                    "cloudwatch:PutMetricData",
                    "xray:PutTelemetryRecords",
                    "xray:PutTraceSegments",
                }, resource.name


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_each_lambda_is_traced_with_x_ray_and_may_write_traces(
    production_stack: harness.StackRun, kind: str
) -> None:
    """Issue 16: checkov's CKV_AWS_50 wants active tracing, which needs the IAM to write."""
    function = production_stack.named(f"lambdas-{kind}").inputs
    assert function["tracingConfig"] == {"mode": "Active"}
    policy = production_stack.named(f"lambdas-{kind}-policy").inputs["policy"]
    for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
        assert allows(policy, action, "*"), action


def test_default_stack_is_not_traced(default_stack: harness.StackRun) -> None:
    for function in default_stack.of_type("aws:lambda/function:Function"):
        assert "tracingConfig" not in function.inputs, function.name
        policy = default_stack.named(f"{function.name}-policy").inputs["policy"]
        assert "xray:" not in policy, function.name


def test_alarms_without_a_topic_have_no_actions() -> None:
    run = harness.run_main(harness.stack_config(production=True, dataKey=True))
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs.get("alarmActions", []) == [], alarm.name
