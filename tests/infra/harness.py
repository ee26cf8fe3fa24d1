"""Run Pulumi programs under mocks and keep what the engine would have received.

``run(program, config)`` executes a program (``__main__.py`` or a few component
constructions) with Pulumi's mock monitor and returns a ``StackRun``: every
resource's type, name, inputs (camelCase, as the engine and policy packs see
them), computed outputs, parent, provider, property dependencies and the options
that decide what ``pulumi destroy`` does (``protect``, ``retainOnDelete``,
``deletedWith``), plus the stack's exports and the invokes it made. Outputs are deterministic functions of the logical names, so
two runs of an unchanged program can be compared value for value.
"""

from __future__ import annotations

import copy
import hashlib
import json
import runpy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "__main__.py"
PROJECT = "pose-labeling"
STACK = "test"
REGION = "eu-west-1"
ACCOUNT = "123456789012"


@dataclass
class Recorded:
    """One registered resource, as the engine sees it."""

    urn: str
    id: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    #: The ``ignore_changes`` option, in the engine's (camelCase) property names.
    ignore_changes: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    #: URN of the resource whose deletion makes this one's delete a no-op, or "".
    deleted_with: str = ""


@dataclass
class StackRun:
    resources: list[Recorded]
    exports: dict[str, Any] = field(default_factory=dict)
    #: (token, provider reference) of every invoke the program made.
    invokes: list[tuple[str, str]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Recorded:
        """The single resource of ``type_`` (named ``name``); fails naming what exists."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, (
            f"expected one {type_}{f' named {name}' if name else ''}, found "
            f"{[r.name for r in self.of_type(type_)]}"
        )
        return found[0]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def find(self, name: str) -> Recorded | None:
        """The resource named ``name``, or None when the stack has none."""
        return next((r for r in self.resources if r.name == name), None)

    def by_urn(self, urn: str) -> Recorded:
        return next(r for r in self.resources if r.urn == urn)

    def custom(self) -> Iterator[Recorded]:
        """Cloud resources: neither components nor providers."""
        return (
            r for r in self.resources if r.custom and not r.type.startswith("pulumi:providers:")
        )

    def type_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.custom():
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))

    def fingerprint(self) -> list[tuple[str, str, str]]:
        """Every resource's identity and inputs as canonical JSON, for run-to-run comparison."""
        return sorted((r.type, r.name, canonical(r.inputs)) for r in self.resources)


def canonical(value: Any) -> str:
    """Sorted-key JSON; assets and archives become their kind and path."""

    def encode(obj: Any) -> Any:
        if isinstance(obj, pulumi.FileAsset | pulumi.FileArchive):
            return {type(obj).__name__: str(obj.path)}
        if isinstance(obj, pulumi.StringAsset):
            return {"StringAsset": obj.text}
        raise TypeError(f"cannot encode {type(obj).__name__}")

    return json.dumps(value, sort_keys=True, default=encode)


def _physical_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:10]


def portal_domain(workforce_name: str) -> str:
    """The labeling portal's domain AWS would give the workforce ``workforce_name``."""
    return f"{_physical_id(workforce_name)}.labeling.{REGION}.sagemaker.aws"


def computed_outputs(type_: str, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict]:
    """What AWS would fill in: IDs, ARNs, generated names; derived from the logical name."""
    pid = _physical_id(name)
    out: dict[str, Any] = copy.deepcopy(dict(inputs))
    if type_ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{name}-{pid}"
        out |= {
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketRegionalDomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
        }
        return bucket, out
    if type_ == "aws:cloudfront/distribution:Distribution":
        dist = f"E{pid.upper()}"
        out |= {
            "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{dist}",
            "domainName": f"d{pid}.cloudfront.net",
        }
        return dist, out
    if type_ == "aws:iam/role:Role":
        role = inputs.get("name") or f"{name}-{pid}"
        out |= {"name": role, "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}"}
        return role, out
    if type_ == "aws:iam/policy:Policy":
        policy = inputs.get("name") or f"{name}-{pid}"
        out |= {"name": policy, "arn": f"arn:aws:iam::{ACCOUNT}:policy/{policy}"}
        return out["arn"], out
    if type_ == "aws:lambda/function:Function":
        function = inputs.get("name") or f"{name}-{pid}"
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        invoke = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        out |= {"name": function, "arn": arn, "invokeArn": invoke}
        return function, out
    if type_ == "aws:apigatewayv2/api:Api":
        out |= {
            "arn": f"arn:aws:apigateway:{REGION}::/apis/{pid}",
            "apiEndpoint": f"https://{pid}.execute-api.{REGION}.amazonaws.com",
            "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{pid}",
        }
        return pid, out
    if type_ == "aws:dynamodb/table:Table":
        table = inputs.get("name") or f"{name}-{pid}"
        out |= {"name": table, "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"}
        return table, out
    if type_ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        alarm = inputs.get("name") or f"{name}-{pid}"
        out |= {"name": alarm, "arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"}
        return alarm, out
    if type_ == "aws:cloudfront/function:Function":
        function = inputs.get("name") or f"{name}-{pid}"
        out |= {"name": function, "arn": f"arn:aws:cloudfront::{ACCOUNT}:function/{function}"}
        return function, out
    if type_ == "aws:cloudwatch/logGroup:LogGroup":
        group = inputs.get("name") or f"{inputs.get('namePrefix', f'{name}-')}{pid}"
        out |= {"name": group, "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}
        return group, out
    if type_ == "aws:kms/key:Key":
        key_id = f"{pid[:8]}-0000-4000-8000-{pid}00"
        out |= {"keyId": key_id, "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"}
        return key_id, out
    if type_ == "aws:wafv2/webAcl:WebAcl":
        acl = inputs.get("name") or f"{name}-{pid}"
        arn = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/{acl}/{pid}"
        out |= {"name": acl, "arn": arn}
        return pid, out
    if type_.startswith("aws:cloudwatch/logDelivery"):
        kind = {
            "LogDeliverySource": "delivery-source",
            "LogDeliveryDestination": "delivery-destination",
        }
        delivery = inputs.get("name") or f"{name}-{pid}"
        resource = kind.get(type_.rsplit(":", 1)[1], "delivery")
        out |= {"name": delivery, "arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:{resource}:{delivery}"}
        return delivery, out
    if type_ == "aws:kms/alias:Alias":
        alias = inputs.get("name") or f"{inputs['namePrefix']}{pid}"
        out |= {"name": alias, "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"}
        return alias, out
    if type_ == "aws:s3/bucketObjectv2:BucketObjectv2":
        return str(inputs["key"]), out
    if type_ == "aws:cognito/userPool:UserPool":
        pool_id = f"{REGION}_{pid}"
        out |= {"arn": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool_id}"}
        return pool_id, out
    if type_ == "aws:sagemaker/workforce:Workforce":
        workforce = inputs["workforceName"]
        out |= {
            "arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workforce/{workforce}",
            "subdomain": portal_domain(workforce),
        }
        return workforce, out
    if type_ == "aws:sagemaker/workteam:Workteam":
        team = inputs["workteamName"]
        out |= {
            "arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/{team}",
            # A team's portal is its workforce's (without a name: the account's "default").
            "subdomain": portal_domain(inputs.get("workforceName") or "default"),
        }
        return team, out
    out.setdefault("arn", f"arn:aws:{type_.split(':')[1].split('/')[0]}:{REGION}:{ACCOUNT}:{name}")
    return f"{name}-{pid}", out


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource's inputs and answers the one invoke the stack makes."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.outputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.invokes: list[tuple[str, str]] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        if not args.custom:
            return None, dict(args.inputs)
        physical_id, outputs = computed_outputs(args.typ, args.name, args.inputs)
        self.outputs[(args.typ, args.name)] = outputs
        return physical_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        self.invokes.append((args.token, args.provider))
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/tester",
                "id": ACCOUNT,
                "userId": "AIDATESTER",
            }, []
        raise NotImplementedError(f"unexpected invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping parent, provider and property dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks
        self.records: list[Recorded] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        key = (request.type, request.name)
        self.records.append(
            Recorded(
                urn=response.urn,
                id=response.id,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                inputs=self.recording.inputs.get(key, {}),
                outputs=self.recording.outputs.get(key, {}),
                parent=request.parent,
                provider=request.provider,
                dependencies=list(request.dependencies),
                property_dependencies={
                    k: list(v.urns) for k, v in request.propertyDependencies.items()
                },
                ignore_changes=list(request.ignoreChanges),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                deleted_with=request.deletedWith,
            )
        )
        return response


def project_defaults() -> dict[str, str]:
    """Pulumi.yaml's config, encoded the way the CLI hands config to a program.

    Project keys declare a ``default``; other namespaces' keys (``aws:defaultTags``)
    give a ``value``.
    """
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    config: dict[str, str] = {}
    for key, decl in project["config"].items():
        full, value = (key, decl["value"]) if ":" in key else (f"{PROJECT}:{key}", decl["default"])
        config[full] = value if isinstance(value, str) else json.dumps(value)
    return config


def stack_config(**overrides: Any) -> dict[str, str]:
    """Defaults plus ``aws:region``; ``overrides`` by project key (``forceDestroy=True``)."""
    config = project_defaults() | {"aws:region": REGION}
    for key, value in overrides.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value if isinstance(value, str) else json.dumps(value)
    return config


def run(program: Callable[[], object], config: Mapping[str, str] | None = None) -> StackRun:
    """Run ``program`` under fresh mocks with ``config``; re-raises what the program raises."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.reset_options(project=PROJECT, stack=STACK)
    pulumi.runtime.set_all_config(dict(config or {}), [])
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def body() -> Any:
        program()
        stack = pulumi.runtime.get_root_resource()
        outputs = getattr(stack, "outputs", {})
        if not outputs:
            return None
        return pulumi.Output.all(**outputs).apply(exports.update)

    body()
    return StackRun(monitor.records, exports, mocks.invokes)


def run_main(config: Mapping[str, str] | None = None) -> StackRun:
    """The whole stack, exactly as ``pulumi up`` runs ``__main__.py``."""
    return run(lambda: runpy.run_path(str(MAIN), run_name="__main__"), config or stack_config())
