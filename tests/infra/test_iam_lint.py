"""Every policy document the stack produces, checked with parliament and for privilege.

parliament (duo-labs) lints identity policies: unknown actions, resources that
do not fit an action, risky permissions. Each accepted finding is listed here
with the reason. Trust policies and the key policy are resource policies, which
parliament does not model; the policy pack's rules check those.
"""

from __future__ import annotations

import pytest
from parliament import analyze_policy_string

from components.s3_layout import TEMPLATE_KEY
from tests.infra import harness
from tests.infra.iam import allows, as_list, statements

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
