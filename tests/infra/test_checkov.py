"""checkov on the default and production stacks, and both with the self-hosted runner:
every failing check fixed or skipped here.

The stacks captured under mocks are written as Terraform plans
(``tests/infra/terraform_plan.py``) and scanned with checkov's ``terraform_plan``
framework, in one run of checkov from its own virtualenv (``make checkov``).
Every check a stack fails must be in ``SKIPPED`` with the reason, and every
skip must still be needed, so the list stays true.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra import harness
from tests.infra.terraform_plan import plan

CHECKOV = harness.ROOT / ".venv-checkov" / "bin" / "checkov"

#: Fails in both stacks, on purpose.
BOTH = {
    "CKV_AWS_86": "CloudFront access logs: checkov reads only the legacy logging_config, which"
    " needs ACLs on the log bucket; production delivers standard logs (v2) through CloudWatch"
    " log delivery instead (test_production.py)",
    "CKV_AWS_174": "TLS 1.2 minimum needs a custom certificate; the component is served from the"
    " distribution's own *.cloudfront.net name, whose certificate CloudFront fixes",
    "CKV2_AWS_42": "custom SSL certificate: as CKV_AWS_174, there is no domain of our own",
    "CKV_AWS_259": "HSTS preload only means something for a domain submitted to the browsers'"
    " preload list; cloudfront.net is AWS's. Max-age, subdomains and override are set",
    "CKV_AWS_305": "no default root object on purpose: the CDN serves one hashed key, and the"
    " policy pack's cloudfront-no-default-root-object requires none",
    "CKV_AWS_310": "origin failover needs a second origin; the CDN serves one immutable object"
    " from the stack's own bucket",
    "CKV_AWS_374": "geo restriction is a choice: allowedCountries turns it on; workforces may be"
    " anywhere",
    "CKV2_AWS_47": "AWSManagedRulesAnonymousIpList blocks VPN and hosting-provider addresses,"
    " which private workforces often work from; the Log4j rule group (known bad inputs) is on"
    " in production",
    "CKV_AWS_115": "a reserved concurrency would throttle Ground Truth's calls; Ground Truth sets"
    " the pace (MaxConcurrentTaskCount), and the task API's stage throttles the self-hosted"
    " runner's calls",
    "CKV_AWS_116": "Ground Truth (and API Gateway, for the task service) invokes the Lambdas"
    " synchronously and sees every failure; a dead-letter queue only receives asynchronous events",
    "CKV_AWS_117": "the Lambdas reach only S3, DynamoDB and CloudWatch, through AWS endpoints; a"
    " VPC would add NAT or endpoints and cost without protecting anything more",
    "CKV_AWS_173": "the environment holds names (the rig file, the task table, bucket, template,"
    " group and key), no secret",
    "CKV_AWS_272": "the code is built and deployed by the same `pulumi up` from this repository,"
    " with its hash pinned (sourceCodeHash); there is no signing profile to trust",
    "CKV_AWS_158": "the Lambdas log counts and error texts, never payloads or worker IDs, and the"
    " task API's access logs no token, body or worker (docs/security.md); CloudWatch's own"
    " encryption at rest covers them",
    "CKV_AWS_144": "cross-region replication doubles storage for labels that can be exported"
    " again; versioning guards against loss",
    "CKV_AWS_145": "the default stack and the log bucket use SSE-S3: S3 server access logging"
    " cannot write to a bucket whose default key is KMS; production encrypts the data bucket"
    " with the stack's key (passes there)",
    "CKV2_AWS_62": "nothing consumes bucket events; Ground Truth reads the manifests it is given",
}
#: Fails in the default stack only: the production profile meets it.
DEFAULT_ONLY = {
    "CKV_AWS_18": "S3 server access logs are in the production profile",
    "CKV_AWS_50": "X-Ray tracing is in the production profile",
    "CKV_AWS_68": "the WAF web ACL is in the production profile",
}
#: Fails in production only.
PRODUCTION_ONLY = {
    "CKV2_AWS_31": "full WAF request logging needs a Firehose or an aws-waf-logs- bucket;"
    " the web ACL keeps sampled requests and metrics, and CloudFront's access logs record"
    " every request",
}
#: Fails with the self-hosted runner outside production: the production profile meets it.
SELF_HOSTED_ONLY = {
    "CKV_AWS_119": "the task table uses DynamoDB's own encryption at rest outside production;"
    " production encrypts it with the stack's key (passes there)",
}
SKIPPED = {
    "default": BOTH | DEFAULT_ONLY,
    "production": BOTH | PRODUCTION_ONLY,
    "self-hosted": BOTH | DEFAULT_ONLY | SELF_HOSTED_ONLY,
    "self-hosted-production": BOTH | PRODUCTION_ONLY,
}
STACKS = tuple(SKIPPED)


@pytest.fixture(scope="module")
def failures(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[tuple[str, str]]]:
    """(check, resource) pairs checkov fails, per stack: one checkov run for every plan."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make checkov` (`make test` does)"
    folder = tmp_path_factory.mktemp("plans")
    files = {}
    for name in STACKS:
        run = request.getfixturevalue(f"{name.replace('-', '_')}_stack")
        files[name] = folder / f"{name}.json"
        files[name].write_text(json.dumps(plan(run), default=str), encoding="utf-8")
    args = [str(CHECKOV), "--framework", "terraform_plan", "--quiet", "--compact"]
    args += ["--skip-download", "--output", "json"]
    for path in files.values():
        args += ["--file", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip(), done.stderr[-2000:]
    report: Any = json.loads(done.stdout)
    scan = (report if isinstance(report, list) else [report])[0]
    assert scan["summary"]["passed"] > 0, "checkov passed nothing: the plans were not read"
    found: dict[str, set[tuple[str, str]]] = {name: set() for name in files}
    for failed in scan["results"]["failed_checks"]:
        stack = Path(failed["file_path"]).stem
        found[stack].add((failed["check_id"], failed["resource"]))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_failing_check_is_skipped_with_a_reason(
    failures: dict[str, set[tuple[str, str]]], stack: str
) -> None:
    unexplained = sorted((c, r) for c, r in failures[stack] if c not in SKIPPED[stack])
    assert not unexplained, f"{stack}: fix these in the stack or skip them with a reason"


@pytest.mark.parametrize("stack", STACKS)
def test_every_skip_is_still_needed(failures: dict[str, set[tuple[str, str]]], stack: str) -> None:
    failing = {check for check, _ in failures[stack]}
    assert set(SKIPPED[stack]) <= failing, f"{stack}: no longer fails, drop the skip"


def test_production_meets_x_ray_and_the_log4j_rules(
    failures: dict[str, set[tuple[str, str]]],
) -> None:
    """Issue 16: the production profile passes CKV_AWS_50 and CKV_AWS_192."""
    failing = {check for check, _ in failures["production"]}
    assert failing.isdisjoint({"CKV_AWS_50", "CKV_AWS_192", "CKV_AWS_68", "CKV_AWS_18"})


def test_the_runner_passes_authorization_access_logs_recovery_and_invoke_scoping(
    failures: dict[str, set[tuple[str, str]]],
) -> None:
    """Issue 18: routes authorized, stage logged, table recoverable, permission scoped."""
    for stack in ("self-hosted", "self-hosted-production"):
        failing = {check for check, _ in failures[stack]}
        assert failing.isdisjoint({"CKV_AWS_309", "CKV_AWS_76", "CKV_AWS_28", "CKV_AWS_364"})
    assert ("CKV_AWS_119", "aws_dynamodb_table.runner_tasks") not in failures[
        "self-hosted-production"
    ]
