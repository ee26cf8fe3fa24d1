"""GroundTruthRoles alone: the execution role's trust and permissions, and the launcher policy."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.ground_truth_roles import GroundTruthRoles, GroundTruthRolesArgs
from components.s3_layout import TEMPLATE_KEY
from tests.infra import harness
from tests.infra.iam import actions, allows, as_list, statement, statements

BUCKET = "arn:aws:s3:::labels-bucket"
PRE = f"arn:aws:lambda:{harness.REGION}:{harness.ACCOUNT}:function:pre-annotation-1"
POST = f"arn:aws:lambda:{harness.REGION}:{harness.ACCOUNT}:function:post-annotation-1"
KMS_KEY = f"arn:aws:kms:{harness.REGION}:{harness.ACCOUNT}:key/test-key"


def run_roles(**overrides: object) -> harness.StackRun:
    def program() -> None:
        args = {
            "bucket_arn": BUCKET,
            "template_key": TEMPLATE_KEY,
            "lambda_arns": [PRE, POST],
            "region": harness.REGION,
            "account_id": harness.ACCOUNT,
            **overrides,
        }
        roles = GroundTruthRoles("ground-truth", GroundTruthRolesArgs(**args))  # type: ignore[arg-type]
        pulumi.export("role_arn", roles.execution_role_arn)

    return harness.run(program, harness.stack_config())


@pytest.fixture(scope="module")
def roles() -> harness.StackRun:
    return run_roles()


@pytest.fixture(scope="module")
def execution_policy(roles: harness.StackRun) -> str:
    return roles.one("aws:iam/rolePolicy:RolePolicy", "ground-truth-execution-policy").inputs[
        "policy"
    ]


@pytest.fixture(scope="module")
def launcher_policy(roles: harness.StackRun) -> str:
    return roles.one("aws:iam/policy:Policy", "ground-truth-job-launcher").inputs["policy"]


def test_execution_role_is_trusted_by_sagemaker_only(roles: harness.StackRun) -> None:
    role = roles.one("aws:iam/role:Role", "ground-truth-execution-role")
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}, role.name
    assert trust["Action"] == "sts:AssumeRole" and trust["Effect"] == "Allow", role.name


def test_execution_role_is_assumed_only_on_behalf_of_this_account(
    roles: harness.StackRun,
) -> None:
    """Confused-deputy guard: SageMaker may use the role for this account's jobs only."""
    role = roles.one("aws:iam/role:Role", "ground-truth-execution-role")
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": harness.ACCOUNT}}


def test_execution_policy_is_attached_to_the_execution_role(roles: harness.StackRun) -> None:
    role = roles.one("aws:iam/role:Role", "ground-truth-execution-role")
    policy = roles.one("aws:iam/rolePolicy:RolePolicy", "ground-truth-execution-policy")
    assert policy.inputs["role"] == role.id, policy.name


@pytest.mark.parametrize(
    "key",
    [
        "labeling_jobs/images/a.jpg",
        "labeling_jobs/manifests/job.manifest",
        TEMPLATE_KEY,
        "labeling_jobs/output/job/annotations/worker-response/iteration-1/0/t.json",
    ],
)
def test_execution_role_reads_job_data_and_the_template(execution_policy: str, key: str) -> None:
    assert allows(execution_policy, "s3:GetObject", f"{BUCKET}/{key}"), key


@pytest.mark.parametrize(
    "resource",
    [
        f"{BUCKET}/infrastructure/ground_truth_templates/other.html",
        f"{BUCKET}/infrastructure/ground_truth_templates/crowd-2d-skeleton.abc.js",
        f"{BUCKET}/secrets.txt",
        "arn:aws:s3:::another-bucket/labeling_jobs/images/a.jpg",
    ],
)
def test_execution_role_reads_nothing_else(execution_policy: str, resource: str) -> None:
    assert not allows(execution_policy, "s3:GetObject", resource), resource


def test_execution_role_writes_only_the_output_prefix(execution_policy: str) -> None:
    assert allows(execution_policy, "s3:PutObject", f"{BUCKET}/labeling_jobs/output/job/x.json")
    for key in ("labeling_jobs/images/a.jpg", "labeling_jobs/manifests/m", TEMPLATE_KEY, "x"):
        assert not allows(execution_policy, "s3:PutObject", f"{BUCKET}/{key}"), key
    assert not any(a.startswith("s3:Delete") for a in actions(execution_policy))


def test_execution_role_lists_and_locates_only_its_bucket(execution_policy: str) -> None:
    located = statement(execution_policy, "LocateAndListJobBucket")
    assert sorted(as_list(located["Action"])) == ["s3:GetBucketLocation", "s3:ListBucket"]
    assert located["Resource"] == BUCKET
    assert not allows(execution_policy, "s3:ListBucket", "arn:aws:s3:::another-bucket")


def test_execution_role_invokes_exactly_the_two_lambdas(execution_policy: str) -> None:
    invoke = statement(execution_policy, "InvokeAnnotationLambdas")
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert sorted(invoke["Resource"]) == sorted([PRE, POST])
    other = f"arn:aws:lambda:{harness.REGION}:{harness.ACCOUNT}:function:SageMakerOther"
    assert not allows(execution_policy, "lambda:InvokeFunction", other)


def test_execution_role_has_no_wildcard_action(execution_policy: str) -> None:
    assert not [a for a in actions(execution_policy) if "*" in a]


def test_execution_role_with_kms_key_has_no_wildcard_action() -> None:
    policy = run_roles(kms_key_arn=KMS_KEY).one("aws:iam/rolePolicy:RolePolicy").inputs["policy"]
    assert not [a for a in actions(policy) if "*" in a]


def test_execution_role_star_resource_only_for_put_metric_data(execution_policy: str) -> None:
    starred = [s for s in statements(execution_policy) if "*" in as_list(s["Resource"])]
    assert [s["Action"] for s in starred] == ["cloudwatch:PutMetricData"]


def test_execution_role_logs_only_to_the_labeling_jobs_log_group(execution_policy: str) -> None:
    group = f"arn:aws:logs:{harness.REGION}:{harness.ACCOUNT}:log-group:/aws/sagemaker/LabelingJobs"
    assert allows(execution_policy, "logs:PutLogEvents", f"{group}:log-stream:job-1")
    other = f"arn:aws:logs:{harness.REGION}:{harness.ACCOUNT}:log-group:/aws/lambda/x:log-stream:y"
    assert not allows(execution_policy, "logs:PutLogEvents", other)


def test_execution_role_has_no_kms_grant_without_a_key(execution_policy: str) -> None:
    assert not any(a.startswith("kms:") for a in actions(execution_policy))


def test_execution_role_uses_the_kms_key_when_given() -> None:
    run = run_roles(kms_key_arn=KMS_KEY)
    policy = run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"]
    for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:DescribeKey"):
        assert allows(policy, action, KMS_KEY), action
    assert not allows(
        policy, "kms:Decrypt", f"arn:aws:kms:{harness.REGION}:{harness.ACCOUNT}:key/other"
    )


def test_job_launcher_may_pass_the_role_to_sagemaker_only(
    roles: harness.StackRun, launcher_policy: str
) -> None:
    role_arn = roles.one("aws:iam/role:Role").outputs["arn"]
    passing = statement(launcher_policy, "PassExecutionRoleToGroundTruth")
    assert passing["Action"] == "iam:PassRole" and passing["Resource"] == role_arn
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_job_launcher_uploads_images_and_manifests_only(launcher_policy: str) -> None:
    for key in ("labeling_jobs/images/a.jpg", "labeling_jobs/manifests/m.manifest"):
        assert allows(launcher_policy, "s3:PutObject", f"{BUCKET}/{key}"), key
    for key in ("labeling_jobs/output/j/x", TEMPLATE_KEY):
        assert not allows(launcher_policy, "s3:PutObject", f"{BUCKET}/{key}"), key


def test_job_launcher_runs_jobs_in_this_account_and_region(launcher_policy: str) -> None:
    job = f"arn:aws:sagemaker:{harness.REGION}:{harness.ACCOUNT}:labeling-job/pose-1"
    assert allows(launcher_policy, "sagemaker:CreateLabelingJob", job)
    elsewhere = f"arn:aws:sagemaker:us-west-2:{harness.ACCOUNT}:labeling-job/pose-1"
    assert not allows(launcher_policy, "sagemaker:CreateLabelingJob", elsewhere)


def test_policies_are_sorted_compact_json(execution_policy: str) -> None:
    doc = json.loads(execution_policy)
    assert execution_policy == json.dumps(doc, sort_keys=True, separators=(",", ":"))
