"""What ``pulumi destroy`` would do to a recorded stack, step by step.

``delete_schedule`` is Pulumi's own delete scheduling (``ScheduleDeletes`` in
pkg/resource/deploy/step_generator.go) on the recorded dependency graph: a
resource depends on its parent, its provider, its ``dependencies``, its property
dependencies and its ``deletedWith`` resource (a dependency on a component is a
dependency on everything inside it). Resources are grouped into antichains
(layers of the graph counted from the resources nothing is deleted before), and
the layers run in reverse: dependents first, each layer in parallel, a layer
only after the previous one succeeded.

``destroy`` plays those steps the way the engine does:

- the preview runs every delete step first; a ``protect``-ed resource fails it,
  and ``pulumi destroy`` then stops before deleting anything;
- a ``retainOnDelete`` resource is dropped from the state but left in AWS;
- a resource ``deletedWith`` another one that is deleted in the same run is
  left for AWS to remove with it (an S3 bucket's configuration goes with it);
- a failing step (``fails``: a bucket that is not empty) fails its layer, and
  no later layer runs;
- ``--exclude-protected`` destroys only what is neither protected nor something
  a protected resource depends on, directly or not (the CLI's ``separateProtected``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from tests.infra.harness import Recorded, StackRun


def _provider_urn(reference: str) -> str:
    """``urn::id`` of a provider reference, without the id."""
    return reference.rsplit("::", 1)[0] if reference else ""


def dependencies_of(run: StackRun) -> dict[str, set[str]]:
    """URN -> URNs of everything it depends on (the edges Pulumi's delete graph has)."""
    known = {r.urn for r in run.resources}
    children: dict[str, list[str]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r.urn)

    def with_descendants(urn: str) -> set[str]:
        found = {urn}
        for child in children.get(urn, []):
            found |= with_descendants(child)
        return found

    graph: dict[str, set[str]] = {}
    for r in run.resources:
        direct = {
            r.parent,
            _provider_urn(r.provider),
            r.deleted_with,
            *r.dependencies,
            *(u for urns in r.property_dependencies.values() for u in urns),
        }
        edges: set[str] = set()
        for urn in direct & known:
            on_component = not run.by_urn(urn).custom and urn != r.parent
            edges |= with_descendants(urn) if on_component else {urn}
        graph[r.urn] = edges - {r.urn}
    return graph


def delete_schedule(run: StackRun) -> list[list[Recorded]]:
    """The steps of a full destroy, in the order they run; each step's deletes run in parallel."""
    graph = dependencies_of(run)
    condemned = {r.urn for r in run.resources}
    layers: list[list[str]] = []
    while condemned:
        layer = sorted(u for u in condemned if not graph[u] & condemned)
        assert layer, "the recorded dependency graph has a cycle"
        condemned -= set(layer)
        layers.append(layer)
    return [[run.by_urn(u) for u in layer] for layer in reversed(layers)]


def step_of(schedule: list[list[Recorded]], name: str) -> int:
    return next(i for i, step in enumerate(schedule) if any(r.name == name for r in step))


@dataclass
class Destroy:
    #: Why the preview stopped the destroy before anything was deleted, if it did.
    refused: str | None = None
    #: Custom resources whose provider delete ran, i.e. that are gone from AWS.
    deleted: list[str] = field(default_factory=list)
    #: Resources whose step failed.
    failed: list[str] = field(default_factory=list)

    def gone(self, name: str) -> bool:
        return name in self.deleted


def _kept_by_protection(run: StackRun) -> set[str]:
    graph = dependencies_of(run)
    kept: set[str] = set()
    frontier = [r.urn for r in run.resources if r.protect]
    while frontier:
        urn = frontier.pop()
        if urn not in kept:
            kept.add(urn)
            frontier.extend(graph[urn])
    return kept


def destroy(
    run: StackRun,
    *,
    fails: Collection[str] = (),
    skip_preview: bool = False,
    exclude_protected: bool = False,
) -> Destroy:
    """Play ``pulumi destroy``; ``fails`` names resources whose delete AWS rejects."""
    if exclude_protected:
        kept = _kept_by_protection(run)
        run = StackRun([r for r in run.resources if r.urn not in kept])
    schedule = delete_schedule(run)
    protected = [r.name for step in schedule for r in step if r.protect]
    if protected and not skip_preview:
        return Destroy(refused=f"unable to delete protected resources {protected}")
    condemned = {r.urn for step in schedule for r in step}
    outcome = Destroy()
    for step in schedule:
        for r in step:
            if r.protect or r.name in fails:
                outcome.failed.append(r.name)
            elif r.retain_on_delete or r.deleted_with in condemned or not r.custom:
                continue
            else:
                outcome.deleted.append(r.name)
        if outcome.failed:
            break
    return outcome
