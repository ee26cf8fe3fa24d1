"""A mocked stack as a Terraform plan (``terraform show -json``), for checkov to scan.

pulumi-aws is bridged from the Terraform AWS provider, so each recorded resource
is the Terraform resource of the same name with the same arguments:
``aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock`` is
``aws_s3_bucket_public_access_block``, camelCase inputs are snake_case
attributes, a nested object is a block (a list of one object) except in the
few map-typed attributes, and a list of objects is a repeated block, which
Terraform names in the singular where Pulumi uses the plural (``rules`` is
``rule``, ``origins`` is ``origin``). References between resources (a property set from
another resource's output) become the plan's ``configuration`` expressions,
which checkov's graph checks follow.
"""

from __future__ import annotations

import re
from typing import Any

from tests.infra.harness import Recorded, StackRun

#: Where the bridged name is not the token's module and resource in snake case.
_RENAMED = {"aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object"}
#: Attributes that are maps in Terraform, not blocks.
_MAPS = frozenset({"tags", "tags_all", "dimensions", "variables"})


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_type(token: str) -> str:
    if token in _RENAMED:
        return _RENAMED[token]
    module, resource = token.split(":")[1].split("/")
    return f"aws_{module}_{snake(resource)}"


def _address_name(resource: Recorded) -> str:
    """A Terraform name: the portal's objects are named after their keys (``assets-portal/a.js``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", resource.name)


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    attributes = {}
    for key, value in values.items():
        name = snake(key)
        repeated_block = isinstance(value, list) and any(isinstance(v, dict) for v in value)
        if repeated_block and name.endswith("s"):
            name = name[:-1]
        attributes[name] = _value(value, name)
    return attributes


def _value(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value if name in _MAPS else [_attributes(value)]
    if isinstance(value, list):
        return [_attributes(v) if isinstance(v, dict) else _value(v, name) for v in value]
    if hasattr(value, "path"):  # assets and archives: checkov only needs the attribute set
        return str(value.path)
    return value


def plan(run: StackRun) -> dict[str, Any]:
    """``terraform show -json`` of a plan that creates every custom resource of ``run``."""
    resources = [r for r in run.custom() if r.type.startswith("aws:")]
    address = {r.urn: f"{terraform_type(r.type)}.{_address_name(r)}" for r in resources}
    planned, configured = [], []
    for r in resources:
        values = _attributes(r.outputs)
        planned.append(
            {
                "address": address[r.urn],
                "mode": "managed",
                "type": terraform_type(r.type),
                "name": _address_name(r),
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "values": values,
            }
        )
        expressions = {
            snake(prop): {"references": [f"{address[u]}.id", address[u]]}
            for prop, urns in r.property_dependencies.items()
            for u in urns
            if u in address
        }
        configured.append(
            {
                "address": address[r.urn],
                "mode": "managed",
                "type": terraform_type(r.type),
                "name": _address_name(r),
                "provider_config_key": "aws",
                "expressions": expressions,
            }
        )
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [
            {
                "address": p["address"],
                "mode": "managed",
                "type": p["type"],
                "name": p["name"],
                "change": {"actions": ["create"], "before": None, "after": p["values"]},
            }
            for p in planned
        ],
        "configuration": {"root_module": {"resources": configured}},
    }
