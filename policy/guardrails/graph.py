"""Following references between resources in a stack validation.

A property that was set from another resource's output lists that resource in
``property_dependencies``; that link is known even during a first preview,
when the referenced names and ARNs are not, so rules follow links, not values.
"""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import PolicyResource


def of_type(resources: Iterable[PolicyResource], types: frozenset[str]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def referenced(resource: PolicyResource, prop: str, types: frozenset[str]) -> list[PolicyResource]:
    """The resources of ``types`` that ``resource.<prop>`` was set from."""
    return [r for r in resource.property_dependencies.get(prop, []) if r.resource_type in types]


def referencing(
    resources: Iterable[PolicyResource], target: PolicyResource, prop: str, types: frozenset[str]
) -> list[PolicyResource]:
    """The resources of ``types`` whose ``<prop>`` was set from ``target``."""
    return [
        r
        for r in resources
        if r.resource_type in types
        and any(d is target for d in r.property_dependencies.get(prop, []))
    ]
