"""API Gateway (HTTP APIs): every route signed in, CORS for named HTTPS origins, access logs.

The self-hosted runner's task API is on the internet: a route without an
authorizer would let anyone lease and answer tasks, a wildcard CORS origin would
let any site call it with a worker's token, and a stage without access logs
would leave no record of who called it. AwsSolutions APIG1 (access logs) and
APIG4 (authorization), for HTTP APIs.
"""

from __future__ import annotations

from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import types
from .documents import Report, as_list, get
from .graph import of_type, referenced

#: Route authorization types that check the caller; ``NONE`` checks nothing.
AUTHORIZED = ("JWT", "AWS_IAM", "CUSTOM")


def validate_routes_authorized(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in types.API_ROUTE:
        kind = args.props.get("authorizationType") or "NONE"
        route = args.props.get("routeKey")
        if kind not in AUTHORIZED:
            report(
                f"{args.name}: route {route!r} has authorizationType {kind!r}; anyone could"
                " call it. Use JWT with the work team's authorizer"
            )
        elif kind in ("JWT", "CUSTOM") and not args.props.get("authorizerId"):
            report(f"{args.name}: route {route!r} is {kind} but names no authorizerId")
    elif args.resource_type in types.API_AUTHORIZER and args.props.get("authorizerType") == "JWT":
        issuer = str(get(args.props, "jwtConfiguration", "issuer") or "")
        if not issuer.startswith("https://"):
            report(f"{args.name}: the JWT issuer {issuer!r} is not an https:// URL")
        if not as_list(get(args.props, "jwtConfiguration", "audiences")):
            report(
                f"{args.name}: the JWT authorizer names no audience; a token issued to any"
                " app client of the pool would pass"
            )


def validate_cors_named_origins(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in types.HTTP_API:
        return
    cors = args.props.get("corsConfiguration")
    if not cors:
        return
    for origin in as_list(get(cors, "allowOrigins")):
        if "*" in str(origin) or not str(origin).startswith("https://"):
            report(
                f"{args.name}: CORS allows origin {origin!r}; name the portal's https://"
                " origin only, or any site could call the API with a worker's token"
            )
    if get(cors, "allowCredentials") is True:
        report(
            f"{args.name}: CORS allows credentials; the portal sends its token in the"
            " Authorization header and needs no cookies"
        )


def validate_access_logs(args: StackValidationArgs, report: Report) -> None:
    for stage in of_type(args.resources, types.API_STAGE):
        settings = stage.props.get("accessLogSettings")
        groups = referenced(stage, "accessLogSettings", types.LOG_GROUP)
        if not get(settings or {}, "format") or not groups:
            report(
                f"{stage.name}: no access logs to a log group of this stack"
                " (accessLogSettings.destinationArn and format)",
                stage.urn,
            )
        for group in groups:
            if not group.props.get("retentionInDays"):
                report(f"{group.name}: no retentionInDays; access logs would be kept forever")


POLICIES = [
    ResourceValidationPolicy(
        name="apigateway-routes-authorized",
        description="HTTP API routes need an authorizer (JWT, IAM or custom); a JWT"
        " authorizer names an https issuer and an audience.",
        validate=validate_routes_authorized,
    ),
    ResourceValidationPolicy(
        name="apigateway-cors-named-origins",
        description="An HTTP API's CORS names https:// origins only (no '*'), without credentials.",
        validate=validate_cors_named_origins,
    ),
    StackValidationPolicy(
        name="apigateway-access-logs",
        description="Every API stage writes access logs to a log group of this stack that has"
        " a retention period.",
        validate=validate_access_logs,
    ),
]
