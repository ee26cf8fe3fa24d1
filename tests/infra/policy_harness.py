"""Feed resources captured under mocks to the policy pack's rules, as the CLI would.

The Pulumi CLI hands a rule each resource's inputs (``Analyze``) or the whole
stack's outputs with parents and property dependencies (``AnalyzeStack``),
decoded from protobuf (so numbers are floats) and wrapped in a proxy that raises
on unknown values. ``resource_args`` and ``stack_args`` rebuild exactly that
from a ``StackRun``, so a rule sees here what it sees under ``pulumi preview``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policy.guardrails import POLICIES
from tests.infra.harness import Recorded, StackRun

Mutation = Callable[[dict[str, Any]], object]


def rule(name: str) -> Policy:
    found = [p for p in POLICIES if p.name == name]
    assert len(found) == 1, f"no policy named {name}"
    return found[0]


def engine_props(props: Mapping[str, Any]) -> Any:
    """``props`` as a policy sees them: protobuf numbers (floats), wrapped in the proxy."""

    def encode(obj: Any) -> Any:
        if isinstance(obj, pulumi.Asset | pulumi.Archive):
            return {"path": str(getattr(obj, "path", ""))}
        raise TypeError(type(obj).__name__)

    decoded = json.loads(json.dumps(props, default=encode), parse_int=float)
    return unknown_checking_proxy(decoded)


def _options(resource: Recorded) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or None,
    )


def resource_args(
    resource: Recorded, config: Mapping[str, Any] | None = None, props: Any = None
) -> ResourceValidationArgs:
    """What ``Analyze`` hands a rule; ``props``: ``engine_props(resource.inputs)`` if known."""
    return ResourceValidationArgs(
        resource.type,
        engine_props(resource.inputs) if props is None else props,
        resource.urn,
        resource.name,
        _options(resource),
        None,
        dict(config or {}),
    )


def stack_args(run: StackRun, config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    """The stack as ``AnalyzeStack`` builds it: outputs, parents, (property) dependencies."""
    by_urn = {
        r.urn: PolicyResource(
            r.type,
            engine_props(r.outputs or r.inputs),
            r.urn,
            r.name,
            _options(r),
            None,
            None,
            [],
            {},
        )
        for r in run.resources
    }
    for r in run.resources:
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent)
        resource.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
        resource.property_dependencies = {
            prop: [by_urn[d] for d in urns if d in by_urn]
            for prop, urns in r.property_dependencies.items()
        }
    return StackValidationArgs(list(by_urn.values()), dict(config or {}))


def violations(
    policy: Policy, target: Recorded | StackRun, config: Mapping[str, Any] | None = None
) -> list[str]:
    """Every message ``policy`` reports for one resource or for a whole stack."""
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        resources = target.resources if isinstance(target, StackRun) else [target]
        for resource in resources:
            policy.validate(resource_args(resource, config), report)
    else:
        assert isinstance(policy, StackValidationPolicy) and isinstance(target, StackRun)
        policy.validate(stack_args(target, config), report)
    return found


def pack_config(path: Path) -> dict[str, dict[str, Any]]:
    """A ``--policy-pack-config`` file: rule name to that rule's configuration."""
    return json.loads(path.read_text(encoding="utf-8"))


def all_violations(
    run: StackRun, configs: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, list[str]]:
    """The whole pack on a stack: rule name to messages, for the rules that report any.

    Each resource is converted for the engine once and shared by every rule (no rule
    changes what it is given), as the CLI does; that keeps a whole-pack run cheap.
    """
    configs = configs or {}
    inputs = [(r, engine_props(r.inputs)) for r in run.resources]
    stack = stack_args(run)
    results: dict[str, list[str]] = {}
    for policy in POLICIES:
        found: list[str] = []

        def report(message: str, urn: str | None = None, found: list[str] = found) -> None:
            found.append(message)

        config = dict(configs.get(policy.name) or {})
        if isinstance(policy, ResourceValidationPolicy):
            for resource, props in inputs:
                policy.validate(resource_args(resource, config, props), report)
        else:
            assert isinstance(policy, StackValidationPolicy)
            policy.validate(StackValidationArgs(stack.resources, config), report)
        if found:
            results[policy.name] = found
    return results


def changed(resource: Recorded, mutate: Mutation) -> Recorded:
    """A copy of ``resource`` with its inputs (and outputs) changed by ``mutate``."""
    clone = copy.deepcopy(resource)
    mutate(clone.inputs)
    if clone.outputs:
        mutate(clone.outputs)
    return clone


def unlinked(resource: Recorded, prop: str) -> Recorded:
    """A copy of ``resource`` whose ``prop`` no longer comes from another resource."""
    clone = copy.deepcopy(resource)
    clone.property_dependencies.pop(prop, None)
    return clone


def replaced(run: StackRun, name: str, change: Callable[[Recorded], Recorded]) -> StackRun:
    """A copy of the stack in which resource ``name`` is replaced by ``change(resource)``."""
    assert any(r.name == name for r in run.resources), f"no resource named {name}"
    return StackRun([change(r) if r.name == name else r for r in run.resources], run.exports)


def with_changed(run: StackRun, name: str, mutate: Mutation) -> StackRun:
    """A copy of the stack in which resource ``name``'s properties are changed by ``mutate``."""
    return replaced(run, name, lambda r: changed(r, mutate))


def without(run: StackRun, *names: str) -> StackRun:
    """A copy of the stack without the resources ``names``."""
    missing = set(names) - {r.name for r in run.resources}
    assert not missing, f"no resources named {missing}"
    return StackRun([r for r in run.resources if r.name not in names], run.exports)


def with_added(run: StackRun, resource: Recorded) -> StackRun:
    return StackRun([*run.resources, resource], run.exports)


def edit_policy(edit: Callable[[dict[str, Any]], object], prop: str = "policy") -> Mutation:
    """A mutation that edits the JSON document held in ``prop``."""

    def mutate(props: dict[str, Any]) -> None:
        doc = json.loads(props[prop])
        edit(doc)
        props[prop] = json.dumps(doc)

    return mutate


def sibling(
    run: StackRun,
    of: str,
    type_: str,
    name: str,
    inputs: dict[str, Any],
    links: Mapping[str, list[str]] | None = None,
) -> Recorded:
    """A new resource beside resource ``of`` (same parent), as if its component created it.

    ``links`` maps a property to the names of the resources it was set from, so the
    stack rules can follow it (``{"bucket": ["assets-bucket"]}``).
    """
    anchor = run.named(of)
    urn = anchor.urn.rsplit("$", 1)[0] + f"${type_}::{name}"
    return Recorded(
        urn=urn,
        id=f"{name}-id",
        type=type_,
        name=name,
        custom=True,
        inputs=copy.deepcopy(inputs),
        outputs=copy.deepcopy(inputs),
        parent=anchor.parent,
        provider=anchor.provider,
        dependencies=[],
        property_dependencies={
            prop: [run.named(n).urn for n in names] for prop, names in (links or {}).items()
        },
    )
