"""The production profile: WAF, access logs, a customer-managed key and error alarms.

These rules apply when the stack is in production: when the policy configuration
says ``production: true`` (``policy/production.json``), or as soon as the stack has
any production resource (a web ACL, a KMS key, a log delivery, bucket logging, an
alarm), so a half-enabled profile cannot pass. AwsSolutions CFR2 (WAF), CFR3 and
S1 (logging) for our resource types.
"""

from __future__ import annotations

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import types
from .documents import Report, as_list, get
from .graph import of_type, referenced, referencing

PRODUCTION_MARKERS = (
    types.WEB_ACL | types.KMS_KEY | types.LOG_DELIVERY | types.BUCKET_LOGGING | types.METRIC_ALARM
)
REQUIRED_MANAGED_RULES = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
CONFIG = PolicyConfigSchema(properties={"production": {"type": "boolean", "default": False}})


def in_production(args: StackValidationArgs) -> bool:
    if args.get_config().get("production", False):
        return True
    return bool(of_type(args.resources, PRODUCTION_MARKERS))


def log_buckets(resources: list[PolicyResource]) -> list[PolicyResource]:
    """Buckets that receive server access logs: they hold logs, not labels."""
    return [
        target
        for logging in of_type(resources, types.BUCKET_LOGGING)
        for target in referenced(logging, "targetBucket", types.BUCKET)
    ]


def data_buckets(resources: list[PolicyResource]) -> list[PolicyResource]:
    logs = log_buckets(resources)
    return [b for b in of_type(resources, types.BUCKET) if not any(b is log for log in logs)]


def validate_waf(args: StackValidationArgs, report: Report) -> None:
    if not in_production(args):
        return
    for distribution in of_type(args.resources, types.DISTRIBUTION):
        acls = referenced(distribution, "webAclId", types.WEB_ACL)
        if not acls:
            report(
                f"{distribution.name}: no WAF web ACL (webAclId) in production", distribution.urn
            )
        for acl in acls:
            if acl.props.get("scope") != "CLOUDFRONT":
                report(f"{acl.name}: scope must be CLOUDFRONT (created in us-east-1)", acl.urn)
            rules = as_list(acl.props.get("rules"))
            managed = {get(r, "statement", "managedRuleGroupStatement", "name") for r in rules}
            for name in REQUIRED_MANAGED_RULES:
                if name not in managed:
                    report(f"{acl.name}: the AWS managed rule group {name} is missing", acl.urn)
            if not any(get(r, "statement", "rateBasedStatement") for r in rules):
                report(f"{acl.name}: no rate-based rule limits requests per client IP", acl.urn)


def validate_access_logs(args: StackValidationArgs, report: Report) -> None:
    if not in_production(args):
        return
    resources = list(args.resources)
    for distribution in of_type(resources, types.DISTRIBUTION):
        sources = [
            s
            for s in referencing(resources, distribution, "resourceArn", types.LOG_DELIVERY_SOURCE)
            if s.props.get("logType") == "ACCESS_LOGS"
        ]
        delivered = [
            d
            for s in sources
            for d in referencing(resources, s, "deliverySourceName", types.LOG_DELIVERY)
        ]
        if not delivered:
            report(
                f"{distribution.name}: no standard access log delivery in production",
                distribution.urn,
            )
    for bucket in data_buckets(resources):
        if not referencing(resources, bucket, "bucket", types.BUCKET_LOGGING):
            report(f"{bucket.name}: no server access logging in production", bucket.urn)
    for log_bucket in log_buckets(resources):
        lifecycles = referencing(resources, log_bucket, "bucket", types.LIFECYCLE)
        expiring = [
            rule
            for lifecycle in lifecycles
            for rule in as_list(lifecycle.props.get("rules"))
            if get(rule, "status") == "Enabled" and get(rule, "expiration", "days")
        ]
        if not expiring:
            report(
                f"{log_bucket.name}: the log bucket needs a lifecycle rule that expires logs",
                log_bucket.urn,
            )


def validate_kms(args: StackValidationArgs, report: Report) -> None:
    if not in_production(args):
        return
    resources = list(args.resources)
    for table in of_type(resources, types.TABLE):
        encryption = table.props.get("serverSideEncryption") or {}
        if get(encryption, "enabled") is not True or not referenced(
            table, "serverSideEncryption", types.KMS_KEY
        ):
            report(
                f"{table.name}: not encrypted with the stack's customer-managed key"
                " (serverSideEncryption.kmsKeyArn) in production",
                table.urn,
            )
    for bucket in data_buckets(resources):
        for config in referencing(resources, bucket, "bucket", types.ENCRYPTION):
            for i, rule in enumerate(as_list(config.props.get("rules"))):
                algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
                if algorithm != "aws:kms":
                    report(
                        f"{config.name}: rules[{i}] uses {algorithm!r};"
                        " production uses the stack's KMS key",
                        config.urn,
                    )
            if not referenced(config, "rules", types.KMS_KEY):
                report(
                    f"{config.name}: the default key is not a customer-managed key of this stack",
                    config.urn,
                )


def validate_alarms(args: StackValidationArgs, report: Report) -> None:
    if not in_production(args):
        return
    resources = list(args.resources)
    for function in of_type(resources, types.FUNCTION):
        alarms = [
            a
            for a in referencing(resources, function, "dimensions", types.METRIC_ALARM)
            if a.props.get("namespace") == "AWS/Lambda" and a.props.get("metricName") == "Errors"
        ]
        if not alarms:
            report(
                f"{function.name}: no CloudWatch alarm on its Errors metric in production",
                function.urn,
            )


POLICIES = [
    StackValidationPolicy(
        name="production-waf",
        description="In production, the distribution has a CLOUDFRONT web ACL with AWS's common"
        " and IP-reputation rules and a rate limit.",
        validate=validate_waf,
        config_schema=CONFIG,
    ),
    StackValidationPolicy(
        name="production-access-logs",
        description="In production, CloudFront standard logs and S3 server access logs go to a"
        " log bucket whose logs expire.",
        validate=validate_access_logs,
        config_schema=CONFIG,
    ),
    StackValidationPolicy(
        name="production-kms",
        description="In production, data buckets and tables are encrypted with the stack's"
        " customer-managed key.",
        validate=validate_kms,
        config_schema=CONFIG,
    ),
    StackValidationPolicy(
        name="production-alarms",
        description="In production, every function has an alarm on its errors.",
        validate=validate_alarms,
        config_schema=CONFIG,
    ),
]
