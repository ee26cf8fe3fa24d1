"""The production web ACL in front of the CDN: AWS's managed rules and a per-IP rate limit.

A CloudFront web ACL must live in us-east-1 whatever the stack's region; the
resource sets that region itself (pulumi-aws 7's per-resource ``region``), so
it keeps the stack's one provider and its credentials. The rules are a pure
function so tests and the policy pack can read them without Pulumi.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

#: Where everything CloudFront-scoped lives (web ACLs, its log delivery).
CLOUDFRONT_REGION = "us-east-1"
#: Evaluated in this order; the cheap reputation list first. Known bad inputs
#: blocks request patterns of known exploits (Log4j, Java deserialization, ...).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
#: WAF counts requests per client IP over this window (seconds).
RATE_WINDOW_SECONDS = 300


def web_acl_rules(rate_limit: int) -> list[aws.wafv2.WebAclRuleArgsDict]:
    """AWS's managed rule groups, then block an IP above ``rate_limit``."""
    rules: list[aws.wafv2.WebAclRuleArgsDict] = [
        {
            "name": group,
            "priority": priority,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
            "visibility_config": {
                "cloudwatch_metrics_enabled": True,
                "metric_name": group,
                "sampled_requests_enabled": True,
            },
        }
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append(
        {
            "name": "rate-limit-per-ip",
            "priority": len(rules),
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "aggregate_key_type": "IP",
                    "limit": rate_limit,
                    "evaluation_window_sec": RATE_WINDOW_SECONDS,
                }
            },
            "visibility_config": {
                "cloudwatch_metrics_enabled": True,
                "metric_name": "rate-limit-per-ip",
                "sampled_requests_enabled": True,
            },
        }
    )
    return rules


def edge_web_acl(name: str, *, rate_limit: int, opts: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
    """The web ACL, in us-east-1 (CloudFront scope)."""
    return aws.wafv2.WebAcl(
        name,
        region=CLOUDFRONT_REGION,
        description="pose-labeling CDN: AWS managed rules and a per-IP rate limit",
        scope="CLOUDFRONT",
        default_action={"allow": {}},
        rules=web_acl_rules(rate_limit),
        visibility_config={
            "cloudwatch_metrics_enabled": True,
            "metric_name": name,
            "sampled_requests_enabled": True,
        },
        opts=opts,
    )
