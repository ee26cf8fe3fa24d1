"""The policy pack as the Pulumi CLI runs it: a gRPC analyzer started from ``policy/``.

``pulumi preview --policy-pack policy`` starts ``python -u -m pulumi.policy
<engine> policy`` in the pack's virtualenv and calls it over gRPC. This starts it
exactly so and sends it the stack's captured resources, so the pack is proven to
load, to register every rule as mandatory, and to judge real requests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policy.guardrails import POLICIES, workforce
from tests.infra import harness
from tests.infra.policy_harness import changed, pack_config, with_changed, without

MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "policy"],
        cwd=harness.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = server.stdout.readline().strip() if server.stdout else ""
        assert port.isdigit(), server.stderr.read() if server.stderr else "no port"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(json.loads(json.dumps(props, default=lambda o: {"path": str(o.path)})))
    return message


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, resource: harness.Recorded) -> list[str]:
    response = stub.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=struct(resource.inputs),
            urn=resource.urn,
            name=resource.name,
        )
    )
    return [_diagnostic(d) for d in response.diagnostics]


def _diagnostic(d: analyzer_pb2.AnalyzeDiagnostic) -> str:
    """``rule: message`` (the SDK puts the rule's description on a line before the message)."""
    return f"{d.policyName}: {d.message.split(chr(10), 1)[-1]}"


def analyze_stack(stub: analyzer_pb2_grpc.AnalyzerStub, run: harness.StackRun) -> list[str]:
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=r.type,
            properties=struct(r.outputs or r.inputs),
            urn=r.urn,
            name=r.name,
            parent=r.parent,
            dependencies=r.dependencies,
            propertyDependencies={
                k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                for k, v in r.property_dependencies.items()
            },
        )
        for r in run.resources
    ]
    response = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    return [_diagnostic(d) for d in response.diagnostics]


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, config: dict[str, dict[str, Any]]) -> None:
    stub.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    enforcementLevel=MANDATORY, properties=struct(props)
                )
                for name, props in config.items()
            }
        )
    )


def test_pack_serves_every_rule_as_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "pose-labeling-guardrails"
    assert {p.name: p.enforcementLevel for p in info.policies} == {
        p.name: MANDATORY for p in [*POLICIES, *workforce.POLICIES]
    }


def test_pack_passes_every_resource_and_the_default_stack(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, default_stack: harness.StackRun
) -> None:
    configure(analyzer, {})
    found = [m for r in default_stack.resources for m in analyze(analyzer, r)]
    assert found + analyze_stack(analyzer, default_stack) == []


def test_pack_passes_the_production_stack_with_the_production_config(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, production_stack: harness.StackRun
) -> None:
    configure(analyzer, pack_config(harness.ROOT / "policy" / "production.json"))
    found = [m for r in production_stack.resources for m in analyze(analyzer, r)]
    assert found + analyze_stack(analyzer, production_stack) == []


def test_pack_reports_a_public_bucket(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, default_stack: harness.StackRun
) -> None:
    configure(analyzer, {})
    block = default_stack.named("assets-public-access")
    broken = changed(block, lambda p: p.update(restrictPublicBuckets=False))
    assert analyze(analyzer, broken) == [
        "s3-block-public-access: assets-public-access: restrictPublicBuckets must be true;"
        " the bucket must never become public"
    ]


def test_pack_reports_a_stack_missing_versioning(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, default_stack: harness.StackRun
) -> None:
    configure(analyzer, {})
    assert analyze_stack(analyzer, without(default_stack, "assets-versioning")) == [
        "s3-bucket-guards-present: assets-bucket: has no versioning configuration"
    ]


def test_pack_reports_a_default_stack_required_to_be_production(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, default_stack: harness.StackRun
) -> None:
    configure(analyzer, pack_config(harness.ROOT / "policy" / "production.json"))
    rules = {m.split(":", 1)[0] for m in analyze_stack(analyzer, default_stack)}
    assert rules == {
        "production-waf",
        "production-access-logs",
        "production-kms",
        "production-alarms",
    }


def test_pack_reports_a_cloudfront_grant_wider_than_the_component(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, default_stack: harness.StackRun
) -> None:
    configure(analyzer, {})
    bucket = default_stack.named("assets-bucket").outputs["arn"]

    def widen(props: dict[str, Any]) -> None:
        doc = json.loads(props["policy"])
        doc["Statement"][1]["Resource"] = f"{bucket}/*"
        props["policy"] = json.dumps(doc)

    broken = with_changed(default_stack, "assets-bucket-policy", widen)
    assert analyze_stack(analyzer, broken) == [
        "cloudfront-grant-component-only: assets-bucket-policy: statement"
        f" CloudFrontReadsComponentOnly lets CloudFront read ['{bucket}/*']; it may read only the"
        " labeling component and the portal the stack uploads"
        f" ['{bucket}/{default_stack.named('assets-component').inputs['key']}']"
    ]


def test_pack_passes_the_self_hosted_production_stack_and_reports_an_open_route(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, self_hosted_production_stack: harness.StackRun
) -> None:
    run = self_hosted_production_stack
    configure(analyzer, pack_config(harness.ROOT / "policy" / "production.json"))
    found = [m for r in run.resources for m in analyze(analyzer, r)]
    assert found + analyze_stack(analyzer, run) == []

    def open_route(props: dict[str, Any]) -> None:
        props["authorizationType"] = "NONE"
        props.pop("authorizerId")

    assert analyze(analyzer, changed(run.named("runner-route-jobs"), open_route)) == [
        "apigateway-routes-authorized: runner-route-jobs: route 'GET /jobs' has"
        " authorizationType 'NONE'; anyone could call it. Use JWT with the work team's authorizer"
    ]
