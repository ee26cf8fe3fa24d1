"""The self-hosted runner (issue 18) under Pulumi's mocks, for both settings of ``runner``.

The default stack (Ground Truth) has none of the runner; ``runner: self-hosted`` adds
exactly the ``JobRunner``'s resources and the portal's, linked as the task service
needs them: the authorizer to the team's pool and the portal's client, the routes to
the integration and the Lambda, API Gateway's permission to this API only, the
Lambda's environment to the table, bucket, template and group. The team is Cognito
only (no SageMaker resource: the runner is for accounts Ground Truth is closed to),
in an existing pool or one the stack creates. IAM is evaluated against the stack's
real ARNs; teardown is played with Pulumi's delete schedule.
Bad settings and portal files stop the program before the first resource, in one line.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import botocore.session
import pulumi
import pytest
from parliament import analyze_policy_string

from components import job_runner, labeling_workforce
from components.lambda_archive import RIG_FILE
from components.policies import TASK_TABLE_ACTIONS
from components.s3_layout import PORTAL_CONFIG_KEY, PORTAL_PREFIX, TEMPLATE_KEY
from components.settings import COGNITO_DOMAIN
from components.stack_outputs import StackOutputs
from handlers.rig import RIG_FILE_ENV
from policy.guardrails import POLICIES, exposure, workforce
from tests.infra import harness
from tests.infra.destroy import delete_schedule, destroy, step_of
from tests.infra.iam import allows, statement
from tests.infra.policy_harness import pack_config, violations
from tests.infra.runner_stack import (
    AUTH_DOMAIN,
    CROWD_FORM,
    PORTAL_FILES,
    SELF_HOSTED_CREATED,
    RunnerSources,
    run_self_hosted,
    stand_in_sources,
)
from tests.infra.test_labeling_workforce import (
    CLIENT_ID,
    CREATED,
    DOMAIN,
    EXISTING,
    GROUP,
    MEMBERS,
    MEMBERSHIP,
    POOL_ID,
    TEAM,
    USER,
    USER_POOL,
    WORKTEAM,
    added,
)

PACK = [*POLICIES, *workforce.POLICIES]

COMPONENT = "pose-labeling:runner:JobRunner"
API = "aws:apigatewayv2/api:Api"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE = "aws:apigatewayv2/stage:Stage"
TABLE = "aws:dynamodb/table:Table"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
CDN_FUNCTION = "aws:cloudfront/function:Function"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
#: What the self-hosted runner adds to the same stack with the Ground Truth runner.
RUNNER_RESOURCES = {
    API: 1,
    AUTHORIZER: 1,
    INTEGRATION: 1,
    ROUTE: 4,
    STAGE: 1,
    CDN_FUNCTION: 1,
    "aws:cloudwatch/logGroup:LogGroup": 2,
    CLIENT: 1,
    TABLE: 1,
    "aws:iam/role:Role": 1,
    "aws:iam/rolePolicy:RolePolicy": 1,
    FUNCTION: 1,
    PERMISSION: 1,
    # The stand-in portal's three files, the crowd-form and config.json.
    OBJECT: len(PORTAL_FILES) + 2,
}
#: The team's own Cognito resources, in whichever pool: its group, two members, their memberships.
TEAM_COGNITO = {GROUP: 1, USER: 2, MEMBERSHIP: 2}
RUNNER_OUTPUTS = (
    "task_api_url",
    "worker_portal_url",
    "tasks_table_name",
    "portal_client_id",
    "portal_auth_domain",
)


@pytest.fixture(scope="module")
def ground_truth_team() -> harness.StackRun:
    """The same team and workforce with the default runner: the baseline the runner adds to."""
    return harness.run_main(harness.stack_config(**EXISTING))


@pytest.fixture(scope="module")
def created(runner_sources: RunnerSources) -> harness.StackRun:
    """The self-hosted runner with a workforce (and pool) the stack creates."""
    return run_self_hosted(runner_sources, **SELF_HOSTED_CREATED)


@pytest.fixture(scope="module")
def ground_truth_created() -> harness.StackRun:
    """A new workforce and team with the default runner: the pool the self-hosted one keeps."""
    return harness.run_main(harness.stack_config(**CREATED))


@pytest.fixture(scope="module")
def forced_production(runner_sources: RunnerSources) -> harness.StackRun:
    return run_self_hosted(runner_sources, production=True, dataKey=True, forceDestroy=True)


def policy_of(run: harness.StackRun) -> str:
    return str(run.named("runner-task-service-policy").inputs["policy"])


def cdn_domain(run: harness.StackRun) -> str:
    return str(run.named("assets-distribution").outputs["domainName"])


# -- the default runner: nothing of it ----------------------------------------------------


def test_the_ground_truth_stack_has_none_of_the_runner(default_stack: harness.StackRun) -> None:
    types = {r.type for r in default_stack.resources}
    assert types.isdisjoint({COMPONENT, API, AUTHORIZER, ROUTE, STAGE, TABLE, CDN_FUNCTION})
    assert not [o for o in default_stack.of_type(OBJECT) if o.inputs["key"].startswith("portal/")]
    assert "orderedCacheBehaviors" not in default_stack.named("assets-distribution").inputs
    grant = statement(
        default_stack.named("assets-bucket-policy").inputs["policy"], "CloudFrontReadsComponentOnly"
    )
    component = default_stack.named("assets-component").inputs["key"]
    assert grant["Resource"] == f"{default_stack.named('assets-bucket').outputs['arn']}/{component}"
    assert default_stack.exports["runner"] == "groundtruth"
    assert not set(RUNNER_OUTPUTS) & set(default_stack.exports)


def test_a_team_with_the_ground_truth_runner_has_none_of_it_either(
    ground_truth_team: harness.StackRun,
) -> None:
    assert not ground_truth_team.of_type(CLIENT) and not ground_truth_team.of_type(TABLE)


# -- self-hosted: exactly the runner, as children of its component ----------------------


def test_self_hosted_adds_exactly_the_runner_and_the_portal_and_drops_the_sagemaker_team(
    self_hosted_stack: harness.StackRun, ground_truth_team: harness.StackRun
) -> None:
    assert added(self_hosted_stack, ground_truth_team) == {**RUNNER_RESOURCES, WORKTEAM: -1}


def test_production_adds_the_task_services_alarm_and_traces(
    self_hosted_production_stack: harness.StackRun,
) -> None:
    run = self_hosted_production_stack
    alarm = run.named("runner-task-service-errors").inputs
    assert alarm["dimensions"] == {"FunctionName": run.named("runner-task-service").outputs["name"]}
    assert alarm["metricName"] == "Errors" and alarm["alarmActions"]
    assert run.named("runner-task-service").inputs["tracingConfig"] == {"mode": "Active"}
    assert allows(policy_of(run), "xray:PutTraceSegments", "*")


def test_runner_resources_are_its_components_children_with_the_default_tags(
    self_hosted_stack: harness.StackRun,
) -> None:
    component = self_hosted_stack.one(COMPONENT)
    mine = [r for r in self_hosted_stack.custom() if r.name.startswith("runner-")]
    # All but the portal's files and its index function, which the CDN component owns.
    served_by_the_cdn = RUNNER_RESOURCES[CDN_FUNCTION] + len(PORTAL_FILES) + 1
    assert len(mine) == sum(RUNNER_RESOURCES.values()) - served_by_the_cdn
    for resource in mine:
        assert resource.parent == component.urn, resource.name
        assert not resource.provider, f"{resource.name} bypasses the stack's AWS settings"
        assert "tags" not in resource.inputs, f"{resource.name}: tags come from aws:defaultTags"


# -- the team without Ground Truth: Cognito only ---------------------------------------

SELF_HOSTED_POOLS = [("existing", {}), ("created", {USER_POOL: 1, DOMAIN: 1})]


@pytest.mark.parametrize(
    ("setup", "pool"), SELF_HOSTED_POOLS, ids=[s for s, _ in SELF_HOSTED_POOLS]
)
def test_self_hosted_has_no_sagemaker_resource_and_exactly_the_cognito_it_needs(
    setup: str,
    pool: dict[str, int],
    self_hosted_stack: harness.StackRun,
    created: harness.StackRun,
    default_stack: harness.StackRun,
) -> None:
    """What fails in an account Ground Truth is closed to is never registered."""
    run = self_hosted_stack if setup == "existing" else created
    assert [r.name for r in run.resources if r.type.startswith("aws:sagemaker/")] == []
    # The pool (only when created) and its domain, the team, the runner with its client.
    assert added(run, default_stack) == {**RUNNER_RESOURCES, **TEAM_COGNITO, **pool}


def test_the_created_pool_is_the_one_ground_truth_gets_without_the_workforce(
    created: harness.StackRun, ground_truth_created: harness.StackRun
) -> None:
    pool = created.one(USER_POOL).inputs
    assert pool == ground_truth_created.one(USER_POOL).inputs
    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool["passwordPolicy"]["minimumLength"] == 12


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_the_team_group_and_members_are_the_ground_truth_teams(
    setup: str,
    self_hosted_stack: harness.StackRun,
    created: harness.StackRun,
    ground_truth_team: harness.StackRun,
    ground_truth_created: harness.StackRun,
) -> None:
    run, same_team = (
        (self_hosted_stack, ground_truth_team)
        if setup == "existing"
        else (created, ground_truth_created)
    )

    def team(stack: harness.StackRun) -> list[tuple[str, str, str]]:
        return [f for f in stack.fingerprint() if f[0] in TEAM_COGNITO]

    assert team(run) == team(same_team)
    assert {u.inputs["username"] for u in run.of_type(USER)} == set(MEMBERS)


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_a_self_hosted_stack_exports_the_runners_portal_and_no_sagemaker_team(
    setup: str, self_hosted_stack: harness.StackRun, created: harness.StackRun
) -> None:
    run = self_hosted_stack if setup == "existing" else created
    assert not {"workteam_arn", "labeling_portal_url"} & set(run.exports)
    outputs = StackOutputs.from_mapping(json.loads(json.dumps(run.exports)))
    assert outputs.workteam_arn is None and outputs.labeling_portal_url is None
    assert outputs.worker_portal_url == f"https://{cdn_domain(run)}/portal/"


def test_two_self_hosted_stacks_in_one_account_get_their_own_sign_in_domains(
    created: harness.StackRun, runner_sources: RunnerSources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cognito prefixes are unique in a region: a second stack's pool must not ask for the first's."""
    monkeypatch.setattr(harness, "STACK", "prod")
    other = run_self_hosted(runner_sources, **SELF_HOSTED_CREATED)
    assert other.one(DOMAIN).inputs["domain"] != created.one(DOMAIN).inputs["domain"]
    assert other.exports["portal_auth_domain"] != created.exports["portal_auth_domain"]


# -- sign-in: the portal's public client, the JWT authorizer ---------------------------


def test_the_portal_client_is_public_code_with_pkce_returning_to_the_portal(
    self_hosted_stack: harness.StackRun,
) -> None:
    client = self_hosted_stack.one(CLIENT).inputs
    portal = f"https://{cdn_domain(self_hosted_stack)}/portal/"
    assert client["userPoolId"] == POOL_ID, "the team's own pool"
    assert client["generateSecret"] is False, "a page in the browser cannot keep a secret"
    assert client["allowedOauthFlowsUserPoolClient"] is True
    assert client["allowedOauthFlows"] == ["code"]
    assert client["allowedOauthScopes"] == ["email", "openid"]
    assert client["supportedIdentityProviders"] == ["COGNITO"]
    assert client["callbackUrls"] == [portal] and client["logoutUrls"] == [portal]
    assert client["explicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["preventUserExistenceErrors"] == "ENABLED"
    assert (client["accessTokenValidity"], client["refreshTokenValidity"]) == (1, 12)
    assert client["name"] == f"{harness.PROJECT}-{harness.STACK}-worker-portal"


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_the_portal_client_is_the_pools_only_app_client_and_not_ground_truths(
    setup: str, self_hosted_stack: harness.StackRun, created: harness.StackRun
) -> None:
    run = self_hosted_stack if setup == "existing" else created
    pool = POOL_ID if setup == "existing" else run.one(USER_POOL).id
    # No Ground Truth app client: the portal's is the only one the stack adds.
    client = run.one(CLIENT)
    assert client.name == "runner-portal-client"
    assert client.inputs["userPoolId"] == pool == run.one(GROUP).inputs["userPoolId"]
    assert run.exports["portal_client_id"] == client.id
    # Ground Truth's sign-in settings find their client by name (in a pool a Ground Truth
    # stack made): they must never find the portal's.
    assert not re.fullmatch(f"^{labeling_workforce.CLIENT_NAME}$", client.inputs["name"])


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_the_authorizer_checks_the_teams_pool_and_the_portal_client(
    setup: str, self_hosted_stack: harness.StackRun, created: harness.StackRun
) -> None:
    run = self_hosted_stack if setup == "existing" else created
    pool = POOL_ID if setup == "existing" else run.one("aws:cognito/userPool:UserPool").id
    authorizer = run.one(AUTHORIZER)
    client = run.one(CLIENT, "runner-portal-client")
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": f"https://cognito-idp.{harness.REGION}.amazonaws.com/{pool}",
        "audiences": [client.id],
    }
    assert client.urn in authorizer.property_dependencies["jwtConfiguration"]
    assert authorizer.inputs["apiId"] == run.one(API).id


@pytest.mark.parametrize("setup", ["existing", "created"])
def test_the_sign_in_domain_is_the_pools(
    setup: str, self_hosted_stack: harness.StackRun, created: harness.StackRun
) -> None:
    run = self_hosted_stack if setup == "existing" else created
    if setup == "existing":
        prefix = AUTH_DOMAIN
        assert not run.of_type(DOMAIN), "an existing pool's domain is not the stack's"
    else:
        domain = run.one(DOMAIN)
        prefix = domain.inputs["domain"]
        assert domain.inputs["userPoolId"] == run.one(USER_POOL).id
        # The account's ID and the stack's digest: unique per stack, a valid prefix.
        assert re.fullmatch(rf"pose-labeling-{harness.ACCOUNT}-[0-9a-f]{{8}}", prefix)
        assert COGNITO_DOMAIN.fullmatch(prefix)
    expected = f"https://{prefix}.auth.{harness.REGION}.amazoncognito.com"
    assert run.exports["portal_auth_domain"] == expected


# -- the API: every route behind the authorizer, to the one Lambda ---------------------


def test_every_route_is_the_interfaces_behind_the_jwt_authorizer(
    self_hosted_stack: harness.StackRun,
) -> None:
    run = self_hosted_stack
    authorizer, integration = run.one(AUTHORIZER), run.one(INTEGRATION)
    routes = run.of_type(ROUTE)
    assert sorted(r.inputs["routeKey"] for r in routes) == sorted(
        [
            "GET /jobs",
            "POST /jobs/{job}/next",
            "POST /jobs/{job}/tasks/{task}/submit",
            "POST /jobs/{job}/tasks/{task}/release",
        ]
    )
    for route in routes:
        assert route.inputs["authorizationType"] == "JWT", route.name
        assert route.inputs["authorizerId"] == authorizer.id, route.name
        assert route.inputs["target"] == f"integrations/{integration.id}", route.name
        assert route.property_dependencies["authorizerId"] == [authorizer.urn]
        assert route.property_dependencies["target"] == [integration.urn]
        assert route.inputs["apiId"] == run.one(API).id


def test_the_integration_proxies_to_the_task_service_with_payload_2(
    self_hosted_stack: harness.StackRun,
) -> None:
    integration = self_hosted_stack.one(INTEGRATION)
    function = self_hosted_stack.named("runner-task-service")
    assert integration.inputs == {
        "apiId": self_hosted_stack.one(API).id,
        "integrationType": "AWS_PROXY",
        "integrationMethod": "POST",
        "integrationUri": function.outputs["invokeArn"],
        "payloadFormatVersion": "2.0",
    }
    assert integration.property_dependencies["integrationUri"] == [function.urn]


def test_only_this_api_may_invoke_the_task_service(self_hosted_stack: harness.StackRun) -> None:
    permission = self_hosted_stack.one(PERMISSION)
    api = self_hosted_stack.one(API)
    function = self_hosted_stack.named("runner-task-service")
    assert permission.inputs == {
        "action": "lambda:InvokeFunction",
        "function": function.outputs["name"],
        "principal": "apigateway.amazonaws.com",
        "sourceArn": f"{api.outputs['executionArn']}/*/*",
    }
    assert permission.property_dependencies["sourceArn"] == [api.urn]


def test_cors_admits_the_portals_origin_only(self_hosted_stack: harness.StackRun) -> None:
    api = self_hosted_stack.one(API).inputs
    assert api["protocolType"] == "HTTP"
    assert api["corsConfiguration"] == {
        "allowOrigins": [f"https://{cdn_domain(self_hosted_stack)}"],
        "allowMethods": ["GET", "OPTIONS", "POST"],
        "allowHeaders": ["authorization", "content-type"],
        "allowCredentials": False,
        "maxAge": 3600,
    }


def test_the_stage_deploys_itself_logs_every_request_and_throttles(
    self_hosted_stack: harness.StackRun,
) -> None:
    stage = self_hosted_stack.one(STAGE)
    logs = self_hosted_stack.named("runner-api-logs")
    assert stage.inputs["name"] == "$default" and stage.inputs["autoDeploy"] is True
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == logs.outputs["arn"]
    assert logs.inputs["retentionInDays"] == 30
    assert logs.inputs["namePrefix"].startswith("/aws/vendedlogs/pose-labeling-test-runner-api-")
    fields = json.loads(settings["format"])
    assert {"requestId", "routeKey", "status", "integrationError"} <= set(fields)
    assert not any("claims" in value for value in fields.values()), "no worker identity logged"
    assert stage.inputs["defaultRouteSettings"] == {
        "throttlingRateLimit": job_runner.THROTTLING_RATE,
        "throttlingBurstLimit": job_runner.THROTTLING_BURST,
    }


# -- the task service --------------------------------------------------------------------


def test_the_task_service_runs_the_task_api_from_the_handlers_archive(
    self_hosted_stack: harness.StackRun,
) -> None:
    function = self_hosted_stack.named("runner-task-service").inputs
    hook = self_hosted_stack.named("lambdas-pre-annotation").inputs
    assert function["handler"] == "handlers.task_api.lambda_handler"
    assert (function["runtime"], function["architectures"]) == ("python3.13", ["arm64"])
    assert function["timeout"] < 30, "below API Gateway's integration limit"
    # One archive for the three functions, and it carries the task service's module.
    assert function["sourceCodeHash"] == hook["sourceCodeHash"]
    with zipfile.ZipFile(function["code"].path) as archive:
        names = archive.namelist()
    assert "handlers/task_api.py" in names and RIG_FILE in names


def test_the_task_services_environment_names_the_stacks_table_bucket_template_and_group(
    self_hosted_stack: harness.StackRun,
) -> None:
    run = self_hosted_stack
    function = run.named("runner-task-service")
    assert function.inputs["environment"]["variables"] == {
        RIG_FILE_ENV: RIG_FILE,
        "POSE_LABELING_TASKS_TABLE": run.one(TABLE).outputs["name"],
        "POSE_LABELING_BUCKET": run.exports["bucket_name"],
        "POSE_LABELING_TEMPLATE_S3_URI": run.exports["template_s3_uri"],
        "POSE_LABELING_WORKTEAM_GROUP": TEAM,
    }
    links = function.property_dependencies["environment"]
    assert run.one(TABLE).urn in links
    assert run.named("worker-template-object").urn in links
    assert run.one("aws:cognito/userGroup:UserGroup").urn in links


def test_in_production_the_task_service_writes_with_the_stacks_key(
    self_hosted_production_stack: harness.StackRun,
) -> None:
    run = self_hosted_production_stack
    variables = run.named("runner-task-service").inputs["environment"]["variables"]
    assert variables["POSE_LABELING_KMS_KEY_ID"] == run.named("data-key-key").outputs["arn"]


# -- IAM of the task service, on the stack's real ARNs --------------------------------


def test_the_task_service_uses_its_table_and_nothing_else_of_dynamodb(
    self_hosted_stack: harness.StackRun,
) -> None:
    policy = policy_of(self_hosted_stack)
    table = self_hosted_stack.one(TABLE).outputs["arn"]
    for action in TASK_TABLE_ACTIONS:
        assert allows(policy, action, table), action
        assert not allows(policy, action, f"{table}-other"), action
    for action in ("dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable"):
        assert not allows(policy, action, table), action
    assert not allows(policy, "dynamodb:Query", f"{table}/index/by-worker"), "no index exists"


def test_the_task_service_reads_job_inputs_and_writes_the_output_prefix_only(
    self_hosted_stack: harness.StackRun,
) -> None:
    policy = policy_of(self_hosted_stack)
    bucket = self_hosted_stack.named("assets-bucket").outputs["arn"]
    readable = [
        "labeling_jobs/images/run/a.jpg",
        "labeling_jobs/manifests/job.manifest",
        TEMPLATE_KEY,
        "labeling_jobs/output/job/manifests/output/output.manifest",
    ]
    for key in readable:
        assert allows(policy, "s3:GetObject", f"{bucket}/{key}"), key
    worker_response = "labeling_jobs/output/job/annotations/worker-response/iteration-1/0/1.json"
    assert allows(policy, "s3:PutObject", f"{bucket}/{worker_response}")
    for key in readable[:3]:
        assert not allows(policy, "s3:PutObject", f"{bucket}/{key}"), key
    component = self_hosted_stack.named("assets-component").inputs["key"]
    for key in (component, PORTAL_CONFIG_KEY, "other/thing"):
        assert not allows(policy, "s3:GetObject", f"{bucket}/{key}"), key
    for action in ("s3:DeleteObject", "s3:PutBucketPolicy", "s3:ListBucket"):
        assert not allows(policy, action, f"{bucket}/labeling_jobs/output/x"), action


def test_the_task_service_logs_to_its_own_group_and_uses_the_key_only_in_production(
    self_hosted_stack: harness.StackRun, self_hosted_production_stack: harness.StackRun
) -> None:
    own = self_hosted_stack.named("runner-task-service-logs").outputs["arn"]
    other = self_hosted_stack.named("lambdas-pre-annotation-logs").outputs["arn"]
    policy = policy_of(self_hosted_stack)
    assert allows(policy, "logs:PutLogEvents", f"{own}:log-stream:x")
    assert not allows(policy, "logs:PutLogEvents", f"{other}:log-stream:x")
    assert not any(
        a.startswith("kms:") for s in json.loads(policy)["Statement"] for a in s["Action"]
    )
    key = self_hosted_production_stack.named("data-key-key").outputs["arn"]
    production = policy_of(self_hosted_production_stack)
    grant = statement(production, "UseDataKeyThroughS3AndDynamoDB")
    assert allows(production, "kms:GenerateDataKey", key) and grant["Resource"] == key
    assert grant["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"dynamodb.{harness.REGION}.amazonaws.com",
        f"s3.{harness.REGION}.amazonaws.com",
    ]


@pytest.mark.parametrize("profile", ["self_hosted_stack", "self_hosted_production_stack"])
def test_parliament_finds_nothing_in_the_task_service_policy(
    profile: str, request: pytest.FixtureRequest
) -> None:
    run: harness.StackRun = request.getfixturevalue(profile)
    findings = analyze_policy_string(policy_of(run), include_community_auditors=True).findings
    assert findings == [], [(f.issue, f.detail) for f in findings]


def test_job_launchers_may_register_and_settle_self_hosted_jobs(
    self_hosted_stack: harness.StackRun, default_stack: harness.StackRun
) -> None:
    launcher = self_hosted_stack.named("ground-truth-job-launcher").inputs["policy"]
    table = self_hosted_stack.one(TABLE).outputs["arn"]
    # Registering (batch writes), following (queries) and stopping or settling a job,
    # which moves finished tasks (a transaction with deletes) and writes the job's output.
    for action in (
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ):
        assert allows(launcher, action, table), action
    bucket = self_hosted_stack.one("aws:s3/bucket:Bucket", "assets-bucket").outputs["arn"]
    output = f"{bucket}/labeling_jobs/output/job/manifests/output/output.manifest"
    assert allows(launcher, "s3:PutObject", output)
    assert not allows(launcher, "s3:PutObject", f"{bucket}/infrastructure/x.js")
    assert not allows(launcher, "dynamodb:DeleteTable", table)
    default = default_stack.named("ground-truth-job-launcher").inputs["policy"]
    assert "dynamodb" not in default


# -- the table -----------------------------------------------------------------------------


def test_the_table_is_keys_only_on_demand_recoverable_and_expiring(
    self_hosted_stack: harness.StackRun,
) -> None:
    table = self_hosted_stack.one(TABLE).inputs
    assert (table["hashKey"], table["rangeKey"]) == ("pk", "sk")
    assert table["attributes"] == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}]
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert not {"globalSecondaryIndexes", "localSecondaryIndexes"} & set(table)
    assert "serverSideEncryption" not in table, "DynamoDB's own key outside production"


def test_in_production_the_table_is_encrypted_with_the_stacks_key_and_outlived_by_it(
    self_hosted_production_stack: harness.StackRun,
) -> None:
    run = self_hosted_production_stack
    table, key = run.one(TABLE), run.named("data-key-key")
    assert table.inputs["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": key.outputs["arn"],
    }
    assert key.urn in table.dependencies


def test_the_table_is_protected_exactly_when_force_destroy_is_off(
    self_hosted_production_stack: harness.StackRun, forced_production: harness.StackRun
) -> None:
    kept = self_hosted_production_stack.one(TABLE)
    assert kept.protect and kept.inputs["deletionProtectionEnabled"] is True
    forced = forced_production.one(TABLE)
    assert not forced.protect and forced.inputs["deletionProtectionEnabled"] is False


def test_destroy_without_force_stops_before_deleting_anything(
    self_hosted_stack: harness.StackRun,
) -> None:
    outcome = destroy(self_hosted_stack)
    assert outcome.refused and "runner-tasks" in outcome.refused
    assert outcome.deleted == []


def test_exclude_protected_keeps_the_table_and_removes_the_service(
    self_hosted_production_stack: harness.StackRun,
) -> None:
    outcome = destroy(self_hosted_production_stack, exclude_protected=True)
    assert outcome.refused is None and outcome.failed == []
    assert not outcome.gone("runner-tasks") and not outcome.gone("data-key-key")
    for name in ("runner-task-service", "runner-api", "runner-portal-client"):
        assert outcome.gone(name), name


def test_a_forced_destroy_deletes_the_table_before_dropping_the_key(
    forced_production: harness.StackRun,
) -> None:
    schedule = delete_schedule(forced_production)
    assert step_of(schedule, "runner-tasks") < step_of(schedule, "data-key-key")
    outcome = destroy(forced_production)
    assert outcome.gone("runner-tasks") and not outcome.gone("data-key-key")


# -- the portal: its files, the behavior serving them, its config -----------------------


def test_every_portal_file_and_the_crowd_form_are_uploaded_beside_the_cdn(
    self_hosted_stack: harness.StackRun, runner_sources: RunnerSources
) -> None:
    run = self_hosted_stack
    uploads = {
        o.inputs["key"]: o
        for o in run.of_type(OBJECT)
        if o.inputs["key"].startswith("portal/") and o.inputs["key"] != PORTAL_CONFIG_KEY
    }
    expected = {f"portal/{name}": runner_sources.portal_dir / name for name in PORTAL_FILES}
    expected["portal/crowd-form.js"] = runner_sources.crowd_form
    assert sorted(uploads) == sorted(expected)
    types = {
        "portal/index.html": "text/html; charset=utf-8",
        "portal/portal.js": "application/javascript; charset=utf-8",
        "portal/styles/portal.css": "text/css; charset=utf-8",
        "portal/crowd-form.js": "application/javascript; charset=utf-8",
    }
    cdn = run.one("pose-labeling:cdn:SecureAssetCdn").urn
    guards = {run.named(g).urn for g in ("assets-encryption", "assets-bucket-policy")}
    for key, upload in uploads.items():
        assert Path(upload.inputs["source"].path) == expected[key], key
        assert upload.inputs["contentType"] == types[key], key
        assert upload.inputs["cacheControl"] == "no-cache", key
        assert upload.parent == cdn, key
        assert guards <= set(upload.dependencies), f"{key} written before the bucket's guards"
    assert expected["portal/crowd-form.js"].read_text() == CROWD_FORM


def test_cloudfront_serves_the_portal_with_the_same_headers_and_an_index(
    self_hosted_stack: harness.StackRun,
) -> None:
    distribution = self_hosted_stack.named("assets-distribution")
    (behavior,) = distribution.inputs["orderedCacheBehaviors"]
    default = distribution.inputs["defaultCacheBehavior"]
    index = self_hosted_stack.one(CDN_FUNCTION)
    assert behavior["pathPattern"] == "/portal/*"
    assert behavior["allowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["targetOriginId"] == default["targetOriginId"]
    assert behavior["responseHeadersPolicyId"] == default["responseHeadersPolicyId"]
    assert behavior["cachePolicyId"] == default["cachePolicyId"]
    assert behavior["functionAssociations"] == [
        {"eventType": "viewer-request", "functionArn": index.outputs["arn"]}
    ]
    assert index.inputs["runtime"] == "cloudfront-js-2.0" and index.inputs["publish"] is True
    assert 'request.uri += "index.html"' in index.inputs["code"]


def test_cloudfront_may_read_exactly_the_component_and_the_portal(
    self_hosted_stack: harness.StackRun,
) -> None:
    run = self_hosted_stack
    bucket = run.named("assets-bucket").outputs["arn"]
    grant = statement(
        run.named("assets-bucket-policy").inputs["policy"], "CloudFrontReadsComponentOnly"
    )
    keys = [
        run.named("assets-component").inputs["key"],
        PORTAL_CONFIG_KEY,
        "portal/crowd-form.js",
        *(f"portal/{name}" for name in PORTAL_FILES),
    ]
    assert sorted(grant["Resource"]) == sorted(f"{bucket}/{key}" for key in keys)
    assert grant["Condition"] == {
        "StringEquals": {"AWS:SourceArn": run.named("assets-distribution").outputs["arn"]}
    }


def test_the_portal_config_names_the_deployed_api_sign_in_and_client(
    self_hosted_stack: harness.StackRun,
) -> None:
    run = self_hosted_stack
    config = run.named("runner-portal-config")
    assert config.inputs["key"] == PORTAL_CONFIG_KEY
    assert config.inputs["bucket"] == run.exports["bucket_name"]
    assert json.loads(config.inputs["content"]) == {
        "api_url": run.one(API).outputs["apiEndpoint"],
        "auth_domain": f"https://{AUTH_DOMAIN}.auth.{harness.REGION}.amazoncognito.com",
        "client_id": run.one(CLIENT).id,
        "region": harness.REGION,
        "redirect_uri": f"https://{cdn_domain(run)}/portal/",
    }
    assert config.inputs["contentType"] == "application/json"
    assert config.inputs["cacheControl"] == "no-cache"
    for guard in ("assets-encryption", "assets-versioning", "assets-bucket-policy"):
        assert run.named(guard).urn in config.dependencies, f"written before {guard}"


# -- outputs ---------------------------------------------------------------------------------


def test_outputs_name_the_runners_resources_and_read_back(
    self_hosted_stack: harness.StackRun,
) -> None:
    run = self_hosted_stack
    exports = run.exports
    assert exports["runner"] == "self-hosted"
    assert exports["task_api_url"] == run.one(API).outputs["apiEndpoint"]
    assert exports["worker_portal_url"] == f"https://{cdn_domain(run)}/portal/"
    assert exports["tasks_table_name"] == run.one(TABLE).outputs["name"]
    assert exports["portal_client_id"] == run.one(CLIENT).id
    outputs = StackOutputs.from_mapping(json.loads(json.dumps(exports)))
    assert outputs.runner == "self-hosted"
    assert {name: getattr(outputs, name) for name in RUNNER_OUTPUTS} == {
        name: exports[name] for name in RUNNER_OUTPUTS
    }


def test_a_stack_without_a_runner_output_reads_back_as_ground_truth(
    default_stack: harness.StackRun,
) -> None:
    exports = {k: v for k, v in default_stack.exports.items() if k != "runner"}
    assert StackOutputs.from_mapping(exports).runner == "groundtruth"


# -- configuration and inputs: one line, before any resource -----------------------------

BAD_SETTINGS = [
    ({"runner": "sagemaker"}, r"pose-labeling:runner: 'sagemaker' is not allowed; choose one of groundtruth, self-hosted"),
    ({"workteamName": "", "workteamMembers": [], "workforceUserPoolId": "", "workforceClientId": "", "workforceAuthDomain": ""}, r"pose-labeling:runner: self-hosted signs workers in with the stack's own work team; set pose-labeling:workteamName"),
    ({"workforceAuthDomain": ""}, r"pose-labeling:workforceAuthDomain: required for the self-hosted runner with an existing workforce: .* find it with `aws cognito-idp describe-user-pool"),
    ({"workforceAuthDomain": "Pose_Team"}, r"pose-labeling:workforceAuthDomain: 'Pose_Team' is not a Cognito domain prefix"),
    ({"workforceAuthDomain": "pose-team.auth.eu-west-1.amazoncognito.com"}, r"pose-labeling:workforceAuthDomain: .* is not a Cognito domain prefix"),
    ({"runner": "groundtruth", "workforceClientId": CLIENT_ID}, r"pose-labeling:workforceAuthDomain: set, but pose-labeling:runner is groundtruth"),
    ({"workforceClientId": CLIENT_ID}, r"pose-labeling:workforceClientId: set, but pose-labeling:runner is self-hosted, which creates no SageMaker work team .*; unset it$"),
    ({"createWorkforce": True, "workforceUserPoolId": "", "workforceAuthDomain": "", "workforceClientId": CLIENT_ID}, r"pose-labeling:workforceClientId: set, but pose-labeling:runner is self-hosted"),
    ({"workforceUserPoolId": ""}, r"pose-labeling:workforceUserPoolId: required for the self-hosted runner without createWorkforce: .* find it with `aws cognito-idp list-user-pools"),
    ({"workforceUserPoolId": "AbCdEf123"}, r"pose-labeling:workforceUserPoolId: 'AbCdEf123' is not a Cognito user pool ID like eu-west-1_AbCdEf123; find it with `aws cognito-idp list-user-pools"),
    ({"workforceUserPoolId": "us-east-1_AbCdEf123"}, r"pose-labeling:workforceUserPoolId: 'us-east-1_AbCdEf123' is a user pool in us-east-1, the stack is in eu-west-1; the portal signs workers in with a pool in the stack's region"),
    ({"createWorkforce": True, "workforceUserPoolId": "", "workforceClientId": ""}, r"pose-labeling:createWorkforce: true, but pose-labeling:workforceAuthDomain names an existing workforce"),
    ({"workteamName": "", "workteamMembers": [], "workforceUserPoolId": "", "workforceClientId": "", "runner": "groundtruth"}, r"pose-labeling:workforceAuthDomain: set, but pose-labeling:workteamName is empty"),
]  # fmt: skip


def stops_before_any_resource(
    run: Any, message: str, monkeypatch: pytest.MonkeyPatch
) -> pulumi.RunError:
    registered: list[str] = []
    register = harness.RecordingMonitor.RegisterResource

    def spy(self: harness.RecordingMonitor, request: Any) -> Any:
        registered.append(request.type)
        return register(self, request)

    monkeypatch.setattr(harness.RecordingMonitor, "RegisterResource", spy)
    with pytest.raises(pulumi.RunError, match=message) as raised:
        run()
    assert "\n" not in str(raised.value)
    assert [t for t in registered if t != "pulumi:pulumi:Stack"] == []
    return raised.value


@pytest.mark.parametrize(
    ("change", "message"), BAD_SETTINGS, ids=[m[15:60] for _, m in BAD_SETTINGS]
)
def test_a_bad_runner_setting_stops_with_one_line_naming_the_key(
    change: dict[str, Any],
    message: str,
    runner_sources: RunnerSources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stops_before_any_resource(
        lambda: run_self_hosted(runner_sources, **change), message, monkeypatch
    )


def broken_sources(root: Path, breakage: str) -> RunnerSources:
    sources = stand_in_sources(root)
    if breakage == "no index":
        (sources.portal_dir / "index.html").unlink()
    elif breakage == "own config":
        (sources.portal_dir / "config.json").write_text("{}")
    elif breakage == "second crowd-form":
        (sources.portal_dir / "crowd-form.js").write_text("x")
    elif breakage == "unknown file type":
        (sources.portal_dir / "notes.md").write_text("x")
    elif breakage == "empty crowd-form":
        sources.crowd_form.write_text("  \n")
    elif breakage == "no task api":
        (sources.handlers_dir / "task_api.py").unlink()
    return sources


BAD_SOURCES = [
    ("no index", r"portal/index\.html: the worker portal's page is missing"),
    ("own config", r"portal/config\.json: remove it from the portal; the stack writes portal/config\.json itself"),
    ("second crowd-form", r"portal/crowd-form\.js: remove it from the portal; .*crowd-form\.js is uploaded as portal/crowd-form\.js"),
    ("unknown file type", r"portal/notes\.md: the portal cannot serve a \.md file; use one of \.css, \.html"),
    ("empty crowd-form", r"crowd-form\.js: the portal's crowd-form is missing or empty"),
    ("no task api", r"handlers/task_api\.py not found: the Lambda handlers must exist before the stack can be deployed"),
]  # fmt: skip


@pytest.mark.parametrize(("breakage", "message"), BAD_SOURCES, ids=[b for b, _ in BAD_SOURCES])
def test_a_bad_portal_or_a_missing_task_service_stops_with_one_line_naming_the_file(
    breakage: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = broken_sources(tmp_path, breakage)
    stops_before_any_resource(lambda: run_self_hosted(sources), message, monkeypatch)


def test_hidden_files_are_not_part_of_the_portal(tmp_path: Path) -> None:
    sources = stand_in_sources(tmp_path)
    (sources.portal_dir / ".DS_Store").write_bytes(b"\0")
    run = run_self_hosted(sources)
    keys = {o.inputs["key"] for o in run.of_type(OBJECT)}
    assert "portal/.DS_Store" not in keys and "portal/index.html" in keys


def test_the_ground_truth_runner_needs_neither_the_portal_nor_the_task_service(
    tmp_path: Path,
) -> None:
    sources = broken_sources(tmp_path, "no task api")
    (sources.portal_dir / "index.html").unlink()
    run = run_self_hosted(
        sources, runner="groundtruth", workforceAuthDomain="", workforceClientId=CLIENT_ID
    )
    assert run.exports["runner"] == "groundtruth" and not run.of_type(TABLE)


# -- the policy pack ----------------------------------------------------------------------


def every_message(run: harness.StackRun, configs: dict[str, Any] | None = None) -> list[str]:
    """Every rule of the pack (the workforce's too) on a whole stack."""
    configs = configs or {}
    return [m for p in PACK for m in violations(p, run, configs.get(p.name))]


def test_the_whole_pack_passes_the_self_hosted_stacks(
    self_hosted_stack: harness.StackRun,
    created: harness.StackRun,
    self_hosted_production_stack: harness.StackRun,
) -> None:
    assert every_message(self_hosted_stack) == []
    assert every_message(created) == []
    production = pack_config(harness.ROOT / "policy" / "production.json")
    assert every_message(self_hosted_production_stack, production) == []


def test_the_pack_and_the_stack_agree_on_the_portals_prefix() -> None:
    assert exposure.PORTAL_PREFIX == PORTAL_PREFIX


def test_the_domain_prefix_rule_is_cognitos() -> None:
    shape = botocore.session.get_session().get_service_model("cognito-idp").shape_for("DomainType")
    assert f"^{COGNITO_DOMAIN.pattern}$" == shape.metadata["pattern"]
