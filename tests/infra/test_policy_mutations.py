"""Mutation tests: each weakening that would expose the bucket fails the whole pack.

The README's first promise is that CloudFront serves the labeling component's JS
and nothing else of the private bucket. Each case below takes the real stack
(``__main__.py`` under mocks, default and production profile, one run each per
session), applies one careless edit to the recorded resources, runs every rule of
the pack, and expects the named rules to report it. The unmodified stacks pass
every rule (``test_default_stack_passes_every_rule`` and its production twin in
``test_policy_pack.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra import harness
from tests.infra.harness import StackRun
from tests.infra.policy_harness import (
    all_violations,
    changed,
    edit_policy,
    pack_config,
    replaced,
    sibling,
    with_added,
    with_changed,
)

PRODUCTION_CONFIG = pack_config(harness.ROOT / "policy" / "production.json")
OTHER_ACCOUNT = "999999999999"

Weakening = Callable[[StackRun], StackRun]


def bucket_arn(run: StackRun) -> str:
    return str(run.named("assets-bucket").outputs["arn"])


def edit_grant(edit: Callable[[dict[str, Any], StackRun], object]) -> Weakening:
    """Edit the CloudFront statement of the asset bucket's policy."""

    def weaken(run: StackRun) -> StackRun:
        def mutate(props: dict[str, Any]) -> None:
            doc = json.loads(props["policy"])
            grant = next(s for s in doc["Statement"] if s["Sid"] == "CloudFrontReadsComponentOnly")
            edit(grant, run)
            props["policy"] = json.dumps(doc)

        return with_changed(run, "assets-bucket-policy", mutate)

    return weaken


def widen_to_bucket(grant: dict[str, Any], run: StackRun) -> None:
    grant["Resource"] = f"{bucket_arn(run)}/*"


def widen_to_template(grant: dict[str, Any], run: StackRun) -> None:
    template = run.named("worker-template-object").inputs["key"]
    grant["Resource"] = [grant["Resource"], f"{bucket_arn(run)}/{template}"]


def drop_source_arn(grant: dict[str, Any], run: StackRun) -> None:
    grant.pop("Condition")


def source_arn_star(grant: dict[str, Any], run: StackRun) -> None:
    grant["Condition"] = {"StringLike": {"AWS:SourceArn": "*"}}


def other_distribution(grant: dict[str, Any], run: StackRun) -> None:
    arn = f"arn:aws:cloudfront::{OTHER_ACCOUNT}:distribution/EOTHER"
    grant["Condition"] = {"StringEquals": {"AWS:SourceArn": arn}}


def cloudfront_s3_star(grant: dict[str, Any], run: StackRun) -> None:
    grant["Action"] = "s3:*"


def cross_account_s3_star(run: StackRun) -> StackRun:
    def mutate(props: dict[str, Any]) -> None:
        doc = json.loads(props["policy"])
        doc["Statement"].append(
            {
                "Sid": "PartnerAccount",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": "s3:*",
                "Resource": [bucket_arn(run), f"{bucket_arn(run)}/*"],
            }
        )
        props["policy"] = json.dumps(doc)

    return with_changed(run, "assets-bucket-policy", mutate)


def website_configuration(run: StackRun) -> StackRun:
    website = sibling(
        run,
        "assets-bucket",
        "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
        "assets-website",
        {
            "bucket": run.named("assets-bucket").outputs["bucket"],
            "indexDocument": {"suffix": "index.html"},
        },
        links={"bucket": ["assets-bucket"]},
    )
    return with_added(run, website)


def website_on_the_bucket(run: StackRun) -> StackRun:
    return with_changed(
        run, "assets-bucket", lambda p: p.update(website={"indexDocument": "index.html"})
    )


def bucket_cors_put(run: StackRun) -> StackRun:
    return with_changed(
        run, "assets-cors", lambda p: p["corsRules"][0].update(allowedMethods=["GET", "PUT"])
    )


def cdn_cors_credentials(run: StackRun) -> StackRun:
    return with_changed(
        run, "assets-headers", lambda p: p["corsConfig"].update(accessControlAllowCredentials=True)
    )


def cdn_cors_post(run: StackRun) -> StackRun:
    def mutate(props: dict[str, Any]) -> None:
        props["corsConfig"]["accessControlAllowMethods"]["items"] = ["GET", "HEAD", "POST"]

    return with_changed(run, "assets-headers", mutate)


def headers_detached(run: StackRun) -> StackRun:
    def detach(resource: harness.Recorded) -> harness.Recorded:
        clone = changed(
            resource, lambda p: p["defaultCacheBehavior"].pop("responseHeadersPolicyId")
        )
        clone.property_dependencies["defaultCacheBehavior"] = []
        return clone

    return replaced(run, "assets-distribution", detach)


def headers_emptied(run: StackRun) -> StackRun:
    return with_changed(run, "assets-headers", lambda p: p.pop("securityHeadersConfig"))


def all_methods(run: StackRun) -> StackRun:
    methods = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    return with_changed(
        run,
        "assets-distribution",
        lambda p: p["defaultCacheBehavior"].update(allowedMethods=methods),
    )


def function_url_without_auth(run: StackRun) -> StackRun:
    url = sibling(
        run,
        "lambdas-post-annotation",
        "aws:lambda/functionUrl:FunctionUrl",
        "lambdas-post-annotation-url",
        {"functionName": "post-annotation", "authorizationType": "NONE"},
        links={"functionName": ["lambdas-post-annotation"]},
    )
    return with_added(run, url)


def permission_for_anyone(run: StackRun) -> StackRun:
    permission = sibling(
        run,
        "lambdas-pre-annotation",
        "aws:lambda/permission:Permission",
        "lambdas-pre-annotation-anyone",
        {"action": "lambda:InvokeFunction", "function": "pre-annotation", "principal": "*"},
        links={"function": ["lambdas-pre-annotation"]},
    )
    return with_added(run, permission)


#: (what a careless edit does, the edit, the rules that must report it)
WEAKENINGS: list[tuple[str, Weakening, set[str]]] = [
    ("grant widened to bucket/*", edit_grant(widen_to_bucket), {"cloudfront-grant-component-only"}),
    (
        "grant widened to the template",
        edit_grant(widen_to_template),
        {"cloudfront-grant-component-only"},
    ),
    (
        "SourceArn condition removed",
        edit_grant(drop_source_arn),
        {"cloudfront-grant-component-only", "s3-bucket-policy-grants"},
    ),
    (
        "SourceArn set to *",
        edit_grant(source_arn_star),
        {"cloudfront-grant-component-only", "s3-bucket-policy-grants"},
    ),
    (
        "SourceArn of another account",
        edit_grant(other_distribution),
        {"cloudfront-grant-component-only"},
    ),
    (
        "s3:* for CloudFront",
        edit_grant(cloudfront_s3_star),
        {"cloudfront-grant-component-only", "s3-bucket-policy-grants"},
    ),
    ("cross-account Allow of s3:*", cross_account_s3_star, {"s3-bucket-policy-grants"}),
    ("website configuration resource", website_configuration, {"s3-no-website"}),
    ("website on the bucket", website_on_the_bucket, {"s3-no-website"}),
    ("S3 CORS allows PUT from any origin", bucket_cors_put, {"cors-read-only"}),
    ("CloudFront CORS sends credentials", cdn_cors_credentials, {"cors-read-only"}),
    ("CloudFront CORS allows POST", cdn_cors_post, {"cors-read-only"}),
    ("response headers policy detached", headers_detached, {"cloudfront-response-headers"}),
    ("response headers policy emptied", headers_emptied, {"cloudfront-response-headers"}),
    ("CloudFront methods beyond GET/HEAD/OPTIONS", all_methods, {"cloudfront-read-only-methods"}),
    ("Lambda function URL without auth", function_url_without_auth, {"lambda-no-public-invoke"}),
    ("Lambda permission for principal *", permission_for_anyone, {"lambda-no-public-invoke"}),
]


@pytest.fixture(params=["default", "production"])
def profile(
    request: pytest.FixtureRequest, default_stack: StackRun, production_stack: StackRun
) -> tuple[StackRun, dict[str, Any]]:
    """(the stack, the pack configuration) of one profile; the runs are session-cached."""
    if request.param == "production":
        return production_stack, PRODUCTION_CONFIG
    return default_stack, {}


@pytest.mark.parametrize(
    ("weaken", "rules"), [(w, r) for _, w, r in WEAKENINGS], ids=[n for n, _, _ in WEAKENINGS]
)
def test_weakening_fails_the_pack(
    profile: tuple[StackRun, dict[str, Any]], weaken: Weakening, rules: set[str]
) -> None:
    run, config = profile

    found = all_violations(weaken(run), config)

    assert rules <= set(found), found


# -- the self-hosted runner: its API, table and the portal's grant ------------------------


def grant_resources(edit: Callable[[list[str], StackRun], object]) -> Weakening:
    """Edit the list of keys CloudFront may read (the stack with the portal has several)."""

    def change(grant: dict[str, Any], run: StackRun) -> None:
        edit(grant["Resource"], run)

    return edit_grant(change)


def grant_portal_wildcard(resources: list[str], run: StackRun) -> None:
    resources.append(f"{bucket_arn(run)}/portal/*")


def grant_an_image(resources: list[str], run: StackRun) -> None:
    resources.append(f"{bucket_arn(run)}/labeling_jobs/images/run/a.jpg")


def route_without_auth(run: StackRun) -> StackRun:
    def mutate(props: dict[str, Any]) -> None:
        props["authorizationType"] = "NONE"
        props.pop("authorizerId")

    return with_changed(run, "runner-route-next", mutate)


def jwt_route_without_authorizer(run: StackRun) -> StackRun:
    return with_changed(run, "runner-route-submit", lambda p: p.pop("authorizerId"))


def authorizer_without_audience(run: StackRun) -> StackRun:
    return with_changed(
        run, "runner-authorizer", lambda p: p["jwtConfiguration"].update(audiences=[])
    )


def cors_any_origin(run: StackRun) -> StackRun:
    return with_changed(
        run, "runner-api", lambda p: p["corsConfiguration"].update(allowOrigins=["*"])
    )


def cors_credentials(run: StackRun) -> StackRun:
    return with_changed(
        run, "runner-api", lambda p: p["corsConfiguration"].update(allowCredentials=True)
    )


def stage_without_access_logs(run: StackRun) -> StackRun:
    def detach(resource: harness.Recorded) -> harness.Recorded:
        clone = changed(resource, lambda p: p.pop("accessLogSettings"))
        clone.property_dependencies.pop("accessLogSettings", None)
        return clone

    return replaced(run, "runner-stage", detach)


def access_logs_kept_forever(run: StackRun) -> StackRun:
    return with_changed(run, "runner-api-logs", lambda p: p.pop("retentionInDays"))


def permission_without_source(run: StackRun) -> StackRun:
    return with_changed(run, "runner-api-invoke", lambda p: p.pop("sourceArn"))


def permission_for_any_api(run: StackRun) -> StackRun:
    any_api = f"arn:aws:execute-api:{harness.REGION}:*:*/*/*"
    return with_changed(run, "runner-api-invoke", lambda p: p.update(sourceArn=any_api))


def table_without_recovery(run: StackRun) -> StackRun:
    return with_changed(
        run, "runner-tasks", lambda p: p.update(pointInTimeRecovery={"enabled": False})
    )


def task_role_on_every_table(run: StackRun) -> StackRun:
    def everywhere(doc: dict[str, Any]) -> None:
        table = next(s for s in doc["Statement"] if s["Sid"] == "UseTasksTable")
        table["Resource"] = "*"

    return with_changed(run, "runner-task-service-policy", edit_policy(everywhere))


def portal_behavior_with_post(run: StackRun) -> StackRun:
    methods = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    return with_changed(
        run,
        "assets-distribution",
        lambda p: p["orderedCacheBehaviors"][0].update(allowedMethods=methods),
    )


def portal_behavior_without_headers(run: StackRun) -> StackRun:
    return with_changed(
        run,
        "assets-distribution",
        lambda p: p["orderedCacheBehaviors"][0].pop("responseHeadersPolicyId"),
    )


RUNNER_WEAKENINGS: list[tuple[str, Weakening, set[str]]] = [
    (
        "grant widened to portal/*",
        grant_resources(grant_portal_wildcard),
        {"cloudfront-grant-component-only"},
    ),
    (
        "grant to an image beside the portal's",
        grant_resources(grant_an_image),
        {"cloudfront-grant-component-only"},
    ),
    ("grant widened to bucket/*", edit_grant(widen_to_bucket), {"cloudfront-grant-component-only"}),
    ("route without authorization", route_without_auth, {"apigateway-routes-authorized"}),
    (
        "JWT route without authorizer",
        jwt_route_without_authorizer,
        {"apigateway-routes-authorized"},
    ),
    ("JWT without audience", authorizer_without_audience, {"apigateway-routes-authorized"}),
    ("API CORS for any origin", cors_any_origin, {"apigateway-cors-named-origins"}),
    ("API CORS with credentials", cors_credentials, {"apigateway-cors-named-origins"}),
    ("stage without access logs", stage_without_access_logs, {"apigateway-access-logs"}),
    ("access logs kept forever", access_logs_kept_forever, {"apigateway-access-logs"}),
    ("invoke permission without source", permission_without_source, {"lambda-no-public-invoke"}),
    ("invoke permission for any API", permission_for_any_api, {"lambda-no-public-invoke"}),
    ("table without recovery", table_without_recovery, {"dynamodb-point-in-time-recovery"}),
    (
        "task role on every table",
        task_role_on_every_table,
        {"lambda-role-no-wildcard-resource", "iam-no-star-resource-for-data-actions"},
    ),
    ("portal accepts writes", portal_behavior_with_post, {"cloudfront-read-only-methods"}),
    ("portal without headers", portal_behavior_without_headers, {"cloudfront-response-headers"}),
]


@pytest.fixture(params=["self-hosted", "self-hosted-production"])
def runner_profile(
    request: pytest.FixtureRequest,
    self_hosted_stack: StackRun,
    self_hosted_production_stack: StackRun,
) -> tuple[StackRun, dict[str, Any]]:
    if request.param == "self-hosted-production":
        return self_hosted_production_stack, PRODUCTION_CONFIG
    return self_hosted_stack, {}


@pytest.mark.parametrize(
    ("weaken", "rules"),
    [(w, r) for _, w, r in RUNNER_WEAKENINGS],
    ids=[n for n, _, _ in RUNNER_WEAKENINGS],
)
def test_weakening_the_runner_fails_the_pack(
    runner_profile: tuple[StackRun, dict[str, Any]], weaken: Weakening, rules: set[str]
) -> None:
    run, config = runner_profile

    found = all_violations(weaken(run), config)

    assert rules <= set(found), found


def test_a_production_table_without_the_stacks_key_fails_the_pack(
    self_hosted_production_stack: StackRun,
) -> None:
    def unlink(resource: harness.Recorded) -> harness.Recorded:
        clone = changed(resource, lambda p: p.pop("serverSideEncryption"))
        clone.property_dependencies.pop("serverSideEncryption", None)
        return clone

    weakened = replaced(self_hosted_production_stack, "runner-tasks", unlink)
    found = all_violations(weakened, PRODUCTION_CONFIG)
    assert found.get("production-kms") == [
        "runner-tasks: not encrypted with the stack's customer-managed key"
        " (serverSideEncryption.kmsKeyArn) in production"
    ], found
