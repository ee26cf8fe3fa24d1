"""The whole stack from ``__main__.py``: wiring, outputs, tags, size, and run-to-run identity."""

from __future__ import annotations

import html
import json
import re

from components.s3_layout import TEMPLATE_KEY
from components.stack_outputs import OPTIONAL_OUTPUT_NAMES, OUTPUT_NAMES, StackOutputs
from handlers.rig import load_rig
from tests.infra import harness
from tests.infra.iam import allows, statement

#: What a default `pulumi up` creates. A new resource in the default stack must be
#: added here on purpose: the production options must never grow it.
DEFAULT_STACK = {
    "aws:cloudfront/distribution:Distribution": 1,
    "aws:cloudfront/originAccessControl:OriginAccessControl": 1,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": 1,
    "aws:cloudwatch/logGroup:LogGroup": 2,
    "aws:iam/policy:Policy": 1,
    "aws:iam/role:Role": 3,
    "aws:iam/rolePolicy:RolePolicy": 3,
    "aws:lambda/function:Function": 2,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketObjectv2:BucketObjectv2": 2,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
}


def test_default_stack_is_exactly_the_expected_resources(default_stack: harness.StackRun) -> None:
    assert default_stack.type_counts() == DEFAULT_STACK


def test_stack_exports_the_output_names_the_launcher_policy_and_the_runner(
    default_stack: harness.StackRun,
) -> None:
    assert tuple(default_stack.exports)[: len(OUTPUT_NAMES)] == OUTPUT_NAMES
    extra = set(default_stack.exports) - set(OUTPUT_NAMES)
    assert extra == {"job_launcher_policy_arn", "runner"} and extra <= set(OPTIONAL_OUTPUT_NAMES)
    assert default_stack.exports["runner"] == "groundtruth"


def test_outputs_read_back_as_stack_outputs(default_stack: harness.StackRun) -> None:
    outputs = StackOutputs.from_mapping(json.loads(json.dumps(default_stack.exports)))
    assert outputs.rig == load_rig("coco-person-17")
    assert outputs.region == harness.REGION


def test_outputs_name_the_stacks_resources(default_stack: harness.StackRun) -> None:
    exports = default_stack.exports
    bucket = default_stack.one("aws:s3/bucket:Bucket").outputs
    distribution = default_stack.one("aws:cloudfront/distribution:Distribution").outputs
    functions = {
        f.name: f.outputs["arn"] for f in default_stack.of_type("aws:lambda/function:Function")
    }
    role = default_stack.one("aws:iam/role:Role", "ground-truth-execution-role").outputs
    component = default_stack.one("aws:s3/bucketObjectv2:BucketObjectv2", "assets-component").inputs
    assert exports["bucket_name"] == bucket["bucket"]
    assert exports["template_s3_uri"] == f"s3://{bucket['bucket']}/{TEMPLATE_KEY}"
    assert exports["cdn_domain_name"] == distribution["domainName"]
    assert exports["component_url"] == f"https://{distribution['domainName']}/{component['key']}"
    assert exports["pre_annotation_lambda_arn"] == functions["lambdas-pre-annotation"]
    assert exports["post_annotation_lambda_arn"] == functions["lambdas-post-annotation"]
    assert exports["ground_truth_role_arn"] == role["arn"]
    assert exports["rig"] == load_rig("coco-person-17").to_jsonable(), "the whole rig object"
    assert exports["region"] == harness.REGION


def test_deployed_template_loads_the_component_from_this_cdn(
    default_stack: harness.StackRun,
) -> None:
    template = default_stack.one("aws:s3/bucketObjectv2:BucketObjectv2", "worker-template-object")
    sources = [
        html.unescape(m.group(1))
        for m in re.finditer(
            r"""<script\b[^>]*\bsrc\s*=\s*["']([^"']*)""", template.inputs["content"]
        )
    ]
    assert default_stack.exports["component_url"] in sources, template.name


def test_execution_role_invokes_this_stacks_lambdas(default_stack: harness.StackRun) -> None:
    policy = default_stack.one("aws:iam/rolePolicy:RolePolicy", "ground-truth-execution-policy")
    invoke = statement(policy.inputs["policy"], "InvokeAnnotationLambdas")
    functions = [f.outputs["arn"] for f in default_stack.of_type("aws:lambda/function:Function")]
    assert sorted(invoke["Resource"]) == sorted(functions), policy.name


def test_execution_role_reads_this_stacks_template(default_stack: harness.StackRun) -> None:
    policy = default_stack.one("aws:iam/rolePolicy:RolePolicy", "ground-truth-execution-policy")
    bucket_arn = default_stack.one("aws:s3/bucket:Bucket").outputs["arn"]
    assert allows(policy.inputs["policy"], "s3:GetObject", f"{bucket_arn}/{TEMPLATE_KEY}")


def test_post_annotation_role_reads_this_stacks_output_prefix(
    default_stack: harness.StackRun,
) -> None:
    policy = default_stack.one("aws:iam/rolePolicy:RolePolicy", "lambdas-post-annotation-policy")
    bucket_arn = default_stack.one("aws:s3/bucket:Bucket").outputs["arn"]
    assert allows(
        policy.inputs["policy"], "s3:GetObject", f"{bucket_arn}/labeling_jobs/output/j/r.json"
    )


def test_every_resource_and_invoke_uses_the_default_provider(
    default_stack: harness.StackRun,
) -> None:
    """No explicit provider: the engine's default one carries the stack's aws:* settings."""
    assert not default_stack.of_type("pulumi:providers:aws")
    for resource in default_stack.custom():
        assert not resource.provider, f"{resource.name} bypasses the stack's AWS settings"
    assert default_stack.invokes and not any(provider for _, provider in default_stack.invokes)


def test_profile_and_allowed_accounts_reach_every_resource() -> None:
    """`aws:profile` and `aws:allowedAccountIds` used to be dropped by explicit providers."""
    config = harness.stack_config(
        **{"aws:profile": "prod", "aws:allowedAccountIds": [harness.ACCOUNT]},
        production=True,
        dataKey=True,
    )
    run = harness.run_main(config)
    assert not run.of_type("pulumi:providers:aws")
    assert all(not r.provider for r in run.custom())
    assert all(not provider for _, provider in run.invokes)


def test_only_cloudfront_scoped_resources_leave_the_stack_region(
    default_stack: harness.StackRun,
) -> None:
    for resource in default_stack.custom():
        assert "region" not in resource.inputs, resource.name


def test_running_the_program_twice_gives_identical_inputs(default_stack: harness.StackRun) -> None:
    again = harness.run_main()
    assert again.fingerprint() == default_stack.fingerprint()
    assert json.dumps(again.exports, sort_keys=True) == json.dumps(
        default_stack.exports, sort_keys=True
    )


def test_other_rig_changes_the_lambda_archive_and_template(default_stack: harness.StackRun) -> None:
    other = harness.run_main(harness.stack_config(rig="human-18"))
    code = {
        f.name: f.inputs["sourceCodeHash"]
        for f in default_stack.of_type("aws:lambda/function:Function")
    }
    changed = {
        f.name: f.inputs["sourceCodeHash"] for f in other.of_type("aws:lambda/function:Function")
    }
    assert code.keys() == changed.keys() and all(code[n] != changed[n] for n in code)
    assert other.exports["rig"]["name"] == "human-18"
