"""AnnotationLambdas alone: runtime, architecture, handlers, logs, code hash and roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.annotation_lambdas import AnnotationLambdas, AnnotationLambdasArgs
from components.lambda_archive import RIG_FILE, build_archive
from handlers.rig import RIG_FILE_ENV, load_rig
from tests.infra import harness
from tests.infra.iam import allows, statements

BUCKET = "arn:aws:s3:::labels-bucket"
KMS_KEY = f"arn:aws:kms:{harness.REGION}:{harness.ACCOUNT}:key/test-key"
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def stand_in_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal ``handlers`` package: this component does not care what the hooks do."""
    package = tmp_path_factory.mktemp("pkg") / "handlers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module in ("pre_annotation", "post_annotation"):
        (package / f"{module}.py").write_text(
            "def lambda_handler(event, context):\n    return {}\n"
        )
    return package


def run_lambdas(package: Path, build_dir: Path, **overrides: object) -> harness.StackRun:
    def program() -> None:
        args = {
            "archive": build_archive(load_rig("human-18"), package),
            "bucket_arn": BUCKET,
            "region": harness.REGION,
            "log_retention_days": 14,
            "build_dir": build_dir,
            **overrides,
        }
        AnnotationLambdas("lambdas", AnnotationLambdasArgs(**args))  # type: ignore[arg-type]

    return harness.run(program, harness.stack_config())


@pytest.fixture(scope="module")
def lambdas(stand_in_package: Path, tmp_path_factory: pytest.TempPathFactory) -> harness.StackRun:
    return run_lambdas(stand_in_package, tmp_path_factory.mktemp("build"))


def role_policy(run: harness.StackRun, kind: str) -> str:
    return run.one("aws:iam/rolePolicy:RolePolicy", f"lambdas-{kind}-policy").inputs["policy"]


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_function_runs_a_current_python_on_arm64(lambdas: harness.StackRun, kind: str) -> None:
    function = lambdas.one(FUNCTION, f"lambdas-{kind}").inputs
    assert function["runtime"] == "python3.13", f"lambdas-{kind}"
    assert function["architectures"] == ["arm64"], f"lambdas-{kind}"


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_function_handler_is_the_hook_module(lambdas: harness.StackRun, kind: str) -> None:
    function = lambdas.one(FUNCTION, f"lambdas-{kind}").inputs
    assert function["handler"] == f"handlers.{kind.replace('-', '_')}.lambda_handler"


def test_post_annotation_gets_time_and_memory_for_a_batch(lambdas: harness.StackRun) -> None:
    pre = lambdas.one(FUNCTION, "lambdas-pre-annotation").inputs
    post = lambdas.one(FUNCTION, "lambdas-post-annotation").inputs
    assert pre["timeout"] == 30 and pre["memorySize"] == 256, "lambdas-pre-annotation"
    assert post["timeout"] == 300 and post["memorySize"] == 1024, "lambdas-post-annotation"


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_function_logs_to_a_group_the_program_creates_with_retention(
    lambdas: harness.StackRun, kind: str
) -> None:
    group = lambdas.one("aws:cloudwatch/logGroup:LogGroup", f"lambdas-{kind}-logs")
    function = lambdas.one(FUNCTION, f"lambdas-{kind}").inputs
    assert group.inputs["retentionInDays"] == 14, group.name
    assert function["loggingConfig"]["logGroup"] == group.outputs["name"], f"lambdas-{kind}"
    assert group.outputs["name"].startswith(f"/aws/lambda/pose-labeling-test-lambdas-{kind}-")


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_log_group_name_is_unique_so_stacks_of_one_name_do_not_collide(
    lambdas: harness.StackRun, kind: str
) -> None:
    """A fixed /aws/lambda/<project>-<stack>-... name failed for a second `dev` stack."""
    group = lambdas.one("aws:cloudwatch/logGroup:LogGroup", f"lambdas-{kind}-logs").inputs
    assert "name" not in group
    assert group["namePrefix"] == f"/aws/lambda/pose-labeling-test-lambdas-{kind}-"


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_function_code_is_the_archive_with_its_hash(
    lambdas: harness.StackRun, stand_in_package: Path, kind: str
) -> None:
    archive = build_archive(load_rig("human-18"), stand_in_package)
    function = lambdas.one(FUNCTION, f"lambdas-{kind}").inputs
    assert function["sourceCodeHash"] == archive.code_hash, f"lambdas-{kind}"
    assert Path(function["code"].path).read_bytes() == archive.data, f"lambdas-{kind}"


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_function_finds_the_rig_in_its_archive(lambdas: harness.StackRun, kind: str) -> None:
    function = lambdas.one(FUNCTION, f"lambdas-{kind}").inputs
    assert function["environment"] == {"variables": {RIG_FILE_ENV: RIG_FILE}}, f"lambdas-{kind}"


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_function_waits_for_its_logging_permission(lambdas: harness.StackRun, kind: str) -> None:
    function = lambdas.one(FUNCTION, f"lambdas-{kind}")
    policy = lambdas.one("aws:iam/rolePolicy:RolePolicy", f"lambdas-{kind}-policy")
    assert policy.urn in function.dependencies, f"{function.name} must depend on {policy.name}"


@pytest.mark.parametrize("kind", ["pre-annotation", "post-annotation"])
def test_lambda_role_is_trusted_by_lambda_only(lambdas: harness.StackRun, kind: str) -> None:
    role = lambdas.one("aws:iam/role:Role", f"lambdas-{kind}-role")
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}, role.name
    function = lambdas.one(FUNCTION, f"lambdas-{kind}").inputs
    assert function["role"] == role.outputs["arn"], f"lambdas-{kind} runs as its own role"


def test_pre_annotation_role_only_writes_its_own_logs(lambdas: harness.StackRun) -> None:
    group = lambdas.one("aws:cloudwatch/logGroup:LogGroup", "lambdas-pre-annotation-logs")
    (only,) = statements(role_policy(lambdas, "pre-annotation"))
    assert sorted(only["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert only["Resource"] == f"{group.outputs['arn']}:*"


def test_post_annotation_role_reads_only_the_output_prefix(lambdas: harness.StackRun) -> None:
    policy = role_policy(lambdas, "post-annotation")
    request = "labeling_jobs/output/job/annotations/consolidated-annotation/consolidation-request/iteration-1/t.json"
    assert allows(policy, "s3:GetObject", f"{BUCKET}/{request}")
    for key in ("labeling_jobs/images/a.jpg", "labeling_jobs/manifests/m", "x"):
        assert not allows(policy, "s3:GetObject", f"{BUCKET}/{key}"), key
    assert not allows(policy, "s3:PutObject", f"{BUCKET}/{request}")


def test_post_annotation_role_writes_only_overflow_files(lambdas: harness.StackRun) -> None:
    policy = role_policy(lambdas, "post-annotation")
    job = f"{BUCKET}/labeling_jobs/output/pose-1/annotations/consolidated-annotation"
    assert allows(policy, "s3:PutObject", f"{job}/pose-labeling-overflow/iteration-1/t.json")
    for key in (
        "labeling_jobs/output/pose-1/manifests/output/output.manifest",
        "labeling_jobs/images/a.jpg",
    ):
        assert not allows(policy, "s3:PutObject", f"{BUCKET}/{key}"), key
    assert not allows(
        role_policy(lambdas, "pre-annotation"), "s3:PutObject", f"{job}/pose-labeling-overflow/x"
    )


def test_post_annotation_role_decrypts_through_s3_when_the_bucket_has_a_key(
    stand_in_package: Path, tmp_path: Path
) -> None:
    run = run_lambdas(stand_in_package, tmp_path, kms_key_arn=KMS_KEY)
    post = role_policy(run, "post-annotation")
    decrypt = [s for s in statements(post) if "kms:Decrypt" in s["Action"]]
    assert [s["Resource"] for s in decrypt] == [KMS_KEY]
    assert sorted(decrypt[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert decrypt[0]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{harness.REGION}.amazonaws.com"}
    }
    assert "kms:" not in role_policy(run, "pre-annotation"), "the pre hook reads nothing"
