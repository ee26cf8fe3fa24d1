"""``JobRunner``: the self-hosted runner, Ground Truth's part played by the stack itself.

For accounts Ground Truth is not open to (``runner: self-hosted``). Workers sign in
to the worker portal (served by the stack's CloudFront distribution under
``/portal/``, see ``SecureAssetCdn``) with the stack's work team's Cognito pool,
through a public app client of this component (authorization code with PKCE, no
secret: the portal is a page in the browser). The portal calls an HTTP API whose
every route needs the pool's JWT for that client; one Lambda, the task service
(``handlers.task_api``, from the same archive as the Ground Truth hooks), answers
them: it leases tasks from a DynamoDB table, renders them with the stack's worker
template and writes the answers where Ground Truth would (``docs/contracts.md``).
Its role reads the job data and the template, writes the job output and uses the
table, nothing else; the service itself refuses a signed-in user outside the
team's group (``POSE_LABELING_WORKTEAM_GROUP``).

The table holds the jobs' state, so it is protected like the buckets: without
``forceDestroy`` it is ``protect``-ed and has DynamoDB's own deletion protection,
and in production it is encrypted with the stack's key and depends on it, so a
destroy deletes it before the key is dropped. It has point-in-time recovery, and
items expire by their ``expires_at``. The portal's ``config.json`` (the API URL, the
sign-in domain and client) is written here, once the API and client exist.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import policies
from components.lambda_archive import TASK_API_MODULE, LambdaArchive
from components.lambda_function import BUILD_DIR, FunctionSpec, Observability, logged_function
from components.s3_layout import PORTAL_CONFIG_KEY, PORTAL_PREFIX
from components.worker_portal import CACHE_CONTROL

#: The task service's environment (the handler reads the same names).
TASKS_TABLE_ENV = "POSE_LABELING_TASKS_TABLE"
BUCKET_ENV = "POSE_LABELING_BUCKET"
TEMPLATE_S3_URI_ENV = "POSE_LABELING_TEMPLATE_S3_URI"
WORKTEAM_GROUP_ENV = "POSE_LABELING_WORKTEAM_GROUP"
KMS_KEY_ID_ENV = "POSE_LABELING_KMS_KEY_ID"

#: One call per worker action while the worker waits: short, and below API Gateway's
#: 30-second integration limit so the worker gets the function's own error.
TASK_SERVICE = FunctionSpec(
    handler=f"handlers.{TASK_API_MODULE}.lambda_handler",
    description="Self-hosted runner: leases, renders and accepts labeling tasks",
    purpose="task service",
    timeout=25,
    memory_size=512,
)
#: The task API (the task service's routes), by a short name used in resource names.
ROUTES = {
    "jobs": "GET /jobs",
    "next": "POST /jobs/{job}/next",
    "submit": "POST /jobs/{job}/tasks/{task}/submit",
    "release": "POST /jobs/{job}/tasks/{task}/release",
}
#: What the portal may send the API from the browser (CORS).
CORS_METHODS = ("GET", "OPTIONS", "POST")
CORS_HEADERS = ("authorization", "content-type")
#: Requests a second across all workers, and the burst above it, before API Gateway
#: answers 429: far above what people labeling can send, a ceiling for a runaway client.
THROTTLING_RATE = 50
THROTTLING_BURST = 100
#: One JSON line per request: what was asked and how it ended. Neither the token, the
#: body nor the worker's identity (the service's own logs name none either).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integrationErrorMessage",
}
#: The table's keys and expiry attribute (the service owns the item design).
PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
#: What the portal's sign-in asks Cognito for: an ID of the worker and the address.
PORTAL_OAUTH_SCOPES = ("email", "openid")
#: A worker signs in once a working day; the tokens the API checks last an hour and
#: are refreshed with the day's refresh token.
TOKEN_HOURS = 1
REFRESH_TOKEN_HOURS = 12


def hosted_ui_url(domain: str, region: str) -> str:
    """The Cognito sign-in pages of a pool whose domain prefix is ``domain``."""
    return f"https://{domain}.auth.{region}.amazoncognito.com"


def issuer_url(user_pool_id: str, region: str) -> str:
    """The ``iss`` of the pool's tokens, which the JWT authorizer checks."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


@dataclass(frozen=True)
class JobRunnerArgs:
    #: The handlers archive, built with ``TASK_API_MODULE`` among its handlers.
    archive: LambdaArchive
    #: The stack's bucket: job data, the output prefix and the portal's config.
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    #: The rendered worker template: its key (for IAM) and URI (for the service).
    template_key: pulumi.Input[str]
    template_s3_uri: pulumi.Input[str]
    #: The distribution serving the portal: its origin is the only one the API's CORS allows.
    cdn_domain_name: pulumi.Input[str]
    region: str
    #: The work team's Cognito pool, its group of members and its domain prefix.
    user_pool_id: pulumi.Input[str]
    group_name: pulumi.Input[str]
    cognito_domain: pulumi.Input[str]
    #: Logs, and in production traces and an error alarm, of the task service.
    observability: Observability
    #: Let ``pulumi destroy`` delete the table (and every job's state in it).
    force_destroy: bool
    #: The portal's config is written only after these (the bucket's guards and policy).
    after: Sequence[pulumi.Resource] = ()
    #: The stack's customer-managed KMS key (production): the table is encrypted with it.
    kms_key: aws.kms.Key | None = None
    #: Where the archive file is written for Pulumi to upload.
    build_dir: Path = BUILD_DIR


class JobRunner(pulumi.ComponentResource):
    task_api_url: pulumi.Output[str]
    worker_portal_url: pulumi.Output[str]
    tasks_table_name: pulumi.Output[str]
    tasks_table_arn: pulumi.Output[str]
    portal_client_id: pulumi.Output[str]
    portal_auth_domain: pulumi.Output[str]

    def __init__(
        self, name: str, args: JobRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pose-labeling:runner:JobRunner", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.kms_key.arn if args.kms_key else None
        portal_origin = pulumi.Output.concat("https://", args.cdn_domain_name)
        portal_url = pulumi.Output.concat(portal_origin, "/", PORTAL_PREFIX)
        auth_url = pulumi.Output.from_input(args.cognito_domain).apply(
            lambda domain: hosted_ui_url(domain, args.region)
        )

        table = self._table(name, args)
        service = logged_function(
            self,
            f"{name}-task-service",
            TASK_SERVICE,
            code=pulumi.FileArchive(str(args.archive.write(args.build_dir))),
            code_hash=args.archive.code_hash,
            environment={
                **args.archive.environment,
                TASKS_TABLE_ENV: table.name,
                BUCKET_ENV: args.bucket_name,
                TEMPLATE_S3_URI_ENV: args.template_s3_uri,
                WORKTEAM_GROUP_ENV: args.group_name,
                **({KMS_KEY_ID_ENV: kms_key_arn} if kms_key_arn else {}),
            },
            role_policy=lambda log_group_arn: pulumi.Output.all(
                log_group_arn=log_group_arn,
                table_arn=table.arn,
                bucket_arn=args.bucket_arn,
                template_key=args.template_key,
                region=args.region,
                kms_key_arn=kms_key_arn,
            ).apply(
                lambda v: policies.task_service_role_policy(**v, tracing=args.observability.tracing)
            ),
            observability=args.observability,
        )
        client = aws.cognito.UserPoolClient(
            f"{name}-portal-client",
            name=f"{pulumi.get_project()}-{pulumi.get_stack()}-worker-portal",
            user_pool_id=args.user_pool_id,
            # A page in the browser cannot keep a secret: the code flow with PKCE instead.
            generate_secret=False,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=list(PORTAL_OAUTH_SCOPES),
            supported_identity_providers=["COGNITO"],
            callback_urls=[portal_url],
            logout_urls=[portal_url],
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=TOKEN_HOURS,
            id_token_validity=TOKEN_HOURS,
            refresh_token_validity=REFRESH_TOKEN_HOURS,
            token_validity_units={
                "access_token": "hours",
                "id_token": "hours",
                "refresh_token": "hours",
            },
            opts=child,
        )
        api = self._api(name, args, service.function, client, portal_origin)

        aws.s3.BucketObjectv2(
            f"{name}-portal-config",
            bucket=args.bucket_name,
            key=PORTAL_CONFIG_KEY,
            content=pulumi.Output.all(
                api_url=api.api_endpoint,
                auth_domain=auth_url,
                client_id=client.id,
                region=args.region,
                redirect_uri=portal_url,
            ).apply(lambda v: json.dumps(v, indent=2, sort_keys=True) + "\n"),
            content_type="application/json",
            cache_control=CACHE_CONTROL,
            # Served publicly through CloudFront, like the portal's files: SSE-S3 spares
            # CloudFront a grant on the stack's key.
            server_side_encryption="AES256",
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)),
        )

        self.task_api_url = api.api_endpoint
        self.worker_portal_url = portal_url
        self.tasks_table_name = table.name
        self.tasks_table_arn = table.arn
        self.portal_client_id = client.id
        self.portal_auth_domain = auth_url
        self.register_outputs(
            {
                "task_api_url": self.task_api_url,
                "worker_portal_url": self.worker_portal_url,
                "tasks_table_name": self.tasks_table_name,
                "tasks_table_arn": self.tasks_table_arn,
                "portal_client_id": self.portal_client_id,
                "portal_auth_domain": self.portal_auth_domain,
            }
        )

    def _table(self, name: str, args: JobRunnerArgs) -> aws.dynamodb.Table:
        """Jobs, tasks and leases: keys only, no secondary index, billed per request."""
        return aws.dynamodb.Table(
            f"{name}-tasks",
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attributes=[
                {"name": PARTITION_KEY, "type": "S"},
                {"name": SORT_KEY, "type": "S"},
            ],
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption=(
                {"enabled": True, "kms_key_arn": args.kms_key.arn} if args.kms_key else None
            ),
            deletion_protection_enabled=not args.force_destroy,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=not args.force_destroy,
                # Deleted before the key it is encrypted with, like the bucket.
                depends_on=[args.kms_key] if args.kms_key else None,
            ),
        )

    def _api(
        self,
        name: str,
        args: JobRunnerArgs,
        function: aws.lambda_.Function,
        client: aws.cognito.UserPoolClient,
        portal_origin: pulumi.Output[str],
    ) -> aws.apigatewayv2.Api:
        """The HTTP API: every route behind the pool's JWT, CORS for the portal only, logged."""
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(
            f"{name}-api",
            protocol_type="HTTP",
            description="pose-labeling self-hosted runner: the worker portal's task API",
            cors_configuration={
                "allow_origins": [portal_origin],
                "allow_methods": list(CORS_METHODS),
                "allow_headers": list(CORS_HEADERS),
                "allow_credentials": False,
                "max_age": 3600,
            },
            opts=child,
        )
        authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-authorizer",
            api_id=api.id,
            name="work-team",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={
                "issuer": pulumi.Output.from_input(args.user_pool_id).apply(
                    lambda pool: issuer_url(pool, args.region)
                ),
                "audiences": [client.id],
            },
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.invoke_arn,
            payload_format_version="2.0",
            opts=child,
        )
        for route, key in ROUTES.items():
            aws.apigatewayv2.Route(
                f"{name}-route-{route}",
                api_id=api.id,
                route_key=key,
                authorization_type="JWT",
                authorizer_id=authorizer.id,
                target=pulumi.Output.concat("integrations/", integration.id),
                opts=child,
            )
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-api-logs",
            # Under /aws/vendedlogs/, API Gateway's log delivery needs one resource-policy
            # statement for all such groups instead of one per group.
            name_prefix=f"/aws/vendedlogs/{pulumi.get_project()}-{pulumi.get_stack()}-{name}-api-",
            retention_in_days=args.observability.log_retention_days,
            opts=child,
        )
        aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": json.dumps(ACCESS_LOG_FORMAT, sort_keys=True),
            },
            default_route_settings={
                "throttling_rate_limit": THROTTLING_RATE,
                "throttling_burst_limit": THROTTLING_BURST,
            },
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-api-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            # This API only, any stage and route: no other API, in any account, may call it.
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
            opts=child,
        )
        return api
