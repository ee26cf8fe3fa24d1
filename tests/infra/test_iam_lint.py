"""Every policy document the stack produces, and the deployer's, checked with parliament.

parliament (duo-labs) lints identity policies: unknown actions, resources that
do not fit an action, risky permissions. Each accepted finding is listed here
with the reason. Trust policies and the key policy are resource policies, which
parliament does not model; the policy pack's rules check those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from components.policies import (
    deployer_policy,
    self_hosted_deployer_policy,
    workforce_deployer_policy,
)
from components.s3_layout import TEMPLATE_KEY
from tests.infra import harness
from tests.infra.deployer_policy_files import FILES, rendered
from tests.infra.iam import actions, allows, as_list, statements

#: (resource, parliament issue) pairs we accept, and why.
ACCEPTED = {
    # Passing the execution role to SageMaker is what the launcher policy is for; it
    # names that one role and carries an iam:PassedToService condition.
    ("ground-truth-job-launcher", "PERMISSIONS_MANAGEMENT_ACTIONS"),
}
IDENTITY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")


def identity_policies(run: harness.StackRun) -> list[tuple[str, str]]:
    return [(r.name, r.inputs["policy"]) for t in IDENTITY_TYPES for r in run.of_type(t)]


@pytest.fixture(scope="module", params=["default", "production"])
def stack(request: pytest.FixtureRequest) -> harness.StackRun:
    return request.getfixturevalue(f"{request.param}_stack")


def test_parliament_finds_nothing_but_the_accepted_findings(stack: harness.StackRun) -> None:
    findings = {
        (name, finding.issue): finding.detail
        for name, policy in identity_policies(stack)
        for finding in analyze_policy_string(policy, include_community_auditors=True).findings
    }
    assert set(findings) <= ACCEPTED, findings


def test_every_identity_policy_is_linted(stack: harness.StackRun) -> None:
    names = {name for name, _ in identity_policies(stack)}
    assert names == {
        "ground-truth-execution-policy",
        "ground-truth-job-launcher",
        "lambdas-pre-annotation-policy",
        "lambdas-post-annotation-policy",
    }


def test_star_resource_only_where_aws_allows_nothing_narrower(stack: harness.StackRun) -> None:
    from policy.guardrails.iam import ACTIONS_WITHOUT_RESOURCE_TYPES

    for name, policy in identity_policies(stack):
        for s in statements(policy):
            if "*" in as_list(s["Resource"]):
                assert set(as_list(s["Action"])) <= ACTIONS_WITHOUT_RESOURCE_TYPES, name


def test_execution_role_privileges_are_exactly_the_job_needs(stack: harness.StackRun) -> None:
    policy = stack.named("ground-truth-execution-policy").inputs["policy"]
    bucket = stack.named("assets-bucket").outputs["arn"]
    functions = [f.outputs["arn"] for f in stack.of_type("aws:lambda/function:Function")]
    readable = [
        "labeling_jobs/images/a.jpg",
        "labeling_jobs/manifests/m",
        "labeling_jobs/output/j/x",
        TEMPLATE_KEY,
    ]
    for key in readable:
        assert allows(policy, "s3:GetObject", f"{bucket}/{key}"), key
    component = stack.named("assets-component").inputs["key"]
    for key in (component, "other/thing", "labeling_jobs"):
        assert not allows(policy, "s3:GetObject", f"{bucket}/{key}"), key
    assert allows(policy, "s3:PutObject", f"{bucket}/labeling_jobs/output/j/x")
    for key in [*readable[:2], TEMPLATE_KEY, component]:
        assert not allows(policy, "s3:PutObject", f"{bucket}/{key}"), key
    for arn in functions:
        assert allows(policy, "lambda:InvokeFunction", arn)
    assert not allows(policy, "lambda:InvokeFunction", functions[0] + "-other")
    for action in (
        "s3:DeleteObject",
        "s3:PutBucketPolicy",
        "iam:PassRole",
        "lambda:UpdateFunctionCode",
    ):
        for resource in (bucket, f"{bucket}/labeling_jobs/output/j/x", *functions):
            assert not allows(policy, action, resource), (action, resource)


# -- the deployer policies people attach (policy/deployer-policy*.json) -----------------

#: Managing IAM and bucket policies is what deploying this stack is; every grant names
#: the stack's own roles, policy and buckets by their name patterns.
DEPLOYER_ACCEPTED = {
    "PERMISSIONS_MANAGEMENT_ACTIONS",
    # The job launcher policy is the stack's own managed policy: `pulumi up` versions it.
    "PRIVILEGE_ESCALATION:CreateNewPolicyVersion",
    # Deploying the Lambdas means updating their code; only the stack's two functions.
    "PRIVILEGE_ESCALATION:EditExistingLambdaFunctionWithRole",
}
#: IAM's limit for a managed policy, whitespace not counted.
MANAGED_POLICY_LIMIT = 6144


@pytest.mark.parametrize("path", sorted(FILES), ids=lambda p: p.name)
def test_deployer_policy_files_are_up_to_date(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == rendered(path), (
        f"{path.name} is out of date: run `.venv/bin/python -m tests.infra.deployer_policy_files`"
    )


@pytest.mark.parametrize("production", [False, True])
def test_parliament_finds_nothing_in_the_deployer_policy_but_the_accepted(
    production: bool,
) -> None:
    findings = {
        f"{f.issue}:{f.location['type']}" if f.issue == "PRIVILEGE_ESCALATION" else f.issue
        for f in analyze_policy_string(
            deployer_policy(production=production), include_community_auditors=True
        ).findings
    }
    assert findings <= DEPLOYER_ACCEPTED, findings


def test_production_deployer_policy_fits_a_managed_policy() -> None:
    compact = "".join(deployer_policy(production=True).split())
    assert len(compact) <= MANAGED_POLICY_LIMIT, len(compact)


def test_deployer_policy_star_only_for_actions_without_resources() -> None:
    for s in statements(deployer_policy(production=True)):
        if "*" in as_list(s["Resource"]):
            assert set(as_list(s["Action"])) == {
                "cloudfront:CreateOriginAccessControl",
                "kms:CreateKey",
                "kms:ListAliases",
                "logs:DescribeLogGroups",
            }, s["Sid"]


#: (type, action the deployer needs on it, how its ARN is read from the recorded outputs)
DEPLOYED = [
    ("aws:s3/bucket:Bucket", "s3:PutBucketPolicy", lambda o: o["arn"]),
    ("aws:s3/bucket:Bucket", "s3:DeleteObjectVersion", lambda o: o["arn"] + "/any/key"),
    ("aws:iam/role:Role", "iam:PutRolePolicy", lambda o: o["arn"]),
    ("aws:iam/policy:Policy", "iam:CreatePolicyVersion", lambda o: o["arn"]),
    ("aws:lambda/function:Function", "lambda:UpdateFunctionCode", lambda o: o["arn"]),
    ("aws:cloudwatch/logGroup:LogGroup", "logs:PutRetentionPolicy", lambda o: o["arn"]),
    (
        "aws:cloudfront/distribution:Distribution",
        "cloudfront:UpdateDistribution",
        lambda o: o["arn"],
    ),
    ("aws:wafv2/webAcl:WebAcl", "wafv2:UpdateWebACL", lambda o: o["arn"]),
    ("aws:kms/key:Key", "kms:PutKeyPolicy", lambda o: o["arn"]),
    ("aws:kms/alias:Alias", "kms:DeleteAlias", lambda o: o["arn"]),
    (
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",
        "logs:PutDeliverySource",
        lambda o: o["arn"],
    ),
]


@pytest.mark.parametrize(("type_", "action", "arn"), DEPLOYED, ids=[d[1] for d in DEPLOYED])
def test_deployer_policy_covers_what_the_stack_names(
    production_stack: harness.StackRun, type_: str, action: str, arn: Any
) -> None:
    """The grants follow the stack's resource names: rename one and this fails."""
    policy = deployer_policy(production=True)
    resources = production_stack.of_type(type_)
    assert resources, type_
    for resource in resources:
        assert allows(policy, action, arn(resource.outputs)), (resource.name, action)


def test_default_deployer_policy_grants_nothing_of_the_production_profile() -> None:
    services = {a.split(":")[0] for a in actions(deployer_policy(production=False))}
    assert services.isdisjoint({"wafv2", "kms", "cloudwatch"}), services


# -- the deployer's add-ons: the workforce and the self-hosted runner -------------------

#: Pulumi reads every app client back (DescribeUserPoolClient returns a client's secret):
#: the workforce's clients are the stack's own, in its team's pool.
ADD_ON_ACCEPTED = DEPLOYER_ACCEPTED | {"CREDENTIALS_EXPOSURE"}
ADD_ONS = {"workforce": workforce_deployer_policy, "self-hosted": self_hosted_deployer_policy}
#: The actions each add-on grants on "*": none of them names a resource IAM could check.
ADD_ON_UNSCOPED = {
    "workforce": {"cognito-idp:CreateUserPool", "cognito-idp:DescribeUserPoolDomain"},
    "self-hosted": {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    },
}


@pytest.mark.parametrize("add_on", sorted(ADD_ONS))
def test_parliament_finds_nothing_in_an_add_on_but_the_accepted(add_on: str) -> None:
    findings = {
        f"{f.issue}:{f.location['type']}" if f.issue == "PRIVILEGE_ESCALATION" else f.issue
        for f in analyze_policy_string(ADD_ONS[add_on](), include_community_auditors=True).findings
    }
    assert findings <= ADD_ON_ACCEPTED, findings


@pytest.mark.parametrize("add_on", sorted(ADD_ONS))
def test_an_add_on_fits_a_managed_policy_and_stars_only_unscoped_actions(add_on: str) -> None:
    document = ADD_ONS[add_on]()
    assert len("".join(document.split())) <= MANAGED_POLICY_LIMIT
    starred = {
        a for s in statements(document) if "*" in as_list(s["Resource"]) for a in s["Action"]
    }
    assert starred == ADD_ON_UNSCOPED[add_on]


#: (resource name, action the deployer needs on it, how its ARN is read from its outputs)
SELF_HOSTED_DEPLOYED = [
    ("runner-tasks", "dynamodb:UpdateContinuousBackups", lambda o: o["arn"]),
    ("runner-tasks", "dynamodb:UpdateTimeToLive", lambda o: o["arn"]),
    ("runner-api", "apigateway:PATCH", lambda o: o["arn"]),
    ("runner-api", "apigateway:POST", lambda o: o["arn"] + "/routes"),
    ("runner-task-service-role", "iam:PutRolePolicy", lambda o: o["arn"]),
    ("runner-task-service-role", "iam:PassRole", lambda o: o["arn"]),
    ("runner-task-service", "lambda:AddPermission", lambda o: o["arn"]),
    ("runner-task-service", "lambda:UpdateFunctionCode", lambda o: o["arn"]),
    ("runner-api-logs", "logs:PutRetentionPolicy", lambda o: o["arn"]),
    ("runner-task-service-errors", "cloudwatch:PutMetricAlarm", lambda o: o["arn"]),
    ("assets-portal-index", "cloudfront:PublishFunction", lambda o: o["arn"]),
    ("data-key-key", "kms:CreateGrant", lambda o: o["arn"]),
]


@pytest.mark.parametrize(
    ("name", "action", "arn"),
    SELF_HOSTED_DEPLOYED,
    ids=[f"{n}-{a}" for n, a, _ in SELF_HOSTED_DEPLOYED],
)
def test_the_self_hosted_add_on_covers_what_the_runner_names(
    self_hosted_production_stack: harness.StackRun, name: str, action: str, arn: Any
) -> None:
    """The grants follow the runner's resource names: rename one and this fails."""
    resource = self_hosted_production_stack.named(name)
    assert allows(self_hosted_deployer_policy(), action, arn(resource.outputs)), (name, action)


def test_the_workforce_add_on_covers_the_pool_workforce_and_team() -> None:
    from tests.infra.test_labeling_workforce import CREATED

    run = harness.run_main(harness.stack_config(**CREATED))
    policy = workforce_deployer_policy()
    pool = run.one("aws:cognito/userPool:UserPool").outputs["arn"]
    for action in ("cognito-idp:CreateUserPoolClient", "cognito-idp:AdminCreateUser"):
        assert allows(policy, action, pool), action
    assert allows(
        policy,
        "sagemaker:CreateWorkforce",
        run.one("aws:sagemaker/workforce:Workforce").outputs["arn"],
    )
    assert allows(
        policy,
        "sagemaker:UpdateWorkteam",
        run.one("aws:sagemaker/workteam:Workteam").outputs["arn"],
    )


def test_the_base_deployer_policies_grant_nothing_of_the_add_ons() -> None:
    for production in (False, True):
        services = {a.split(":")[0] for a in actions(deployer_policy(production=production))}
        assert services.isdisjoint({"cognito-idp", "sagemaker", "dynamodb", "apigateway"})
