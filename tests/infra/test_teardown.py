"""What `pulumi destroy` does to the stack: labels are never lost, never left unguarded.

Each test plays Pulumi's delete schedule on the stack's recorded dependency graph
and options (``tests/infra/destroy.py``), as the engine would on real AWS.
"""

from __future__ import annotations

import pytest

from tests.infra import harness
from tests.infra.conftest import PRODUCTION_CONFIG
from tests.infra.destroy import delete_schedule, destroy, step_of
from tests.infra.harness import Recorded, StackRun

BUCKETS = ("assets-bucket", "assets-logs-bucket")
#: What keeps a bucket private, encrypted, versioned and TLS-only, per bucket.
GUARDS = {
    "assets-bucket": (
        "assets-public-access",
        "assets-ownership",
        "assets-encryption",
        "assets-versioning",
        "assets-bucket-policy",
        "assets-cors",
        "assets-lifecycle",
        "assets-access-logging",
    ),
    "assets-logs-bucket": (
        "assets-logs-public-access",
        "assets-logs-ownership",
        "assets-logs-encryption",
        "assets-logs-versioning",
        "assets-logs-policy",
        "assets-logs-lifecycle",
    ),
}


@pytest.fixture(scope="module")
def forced_production() -> StackRun:
    """Production with forceDestroy: the one case where `pulumi destroy` deletes the data."""
    return harness.run_main({**PRODUCTION_CONFIG, "pose-labeling:forceDestroy": "true"})


# -- the helper reproduces Pulumi's schedule -------------------------------------------


def _resource(name: str, *deps: str) -> Recorded:
    return Recorded(
        urn=name,
        id=name,
        type="t:m:R",
        name=name,
        custom=True,
        inputs={},
        outputs={},
        parent="",
        provider="",
        dependencies=list(deps),
        property_dependencies={},
    )


def test_schedule_is_pulumis_antichains_counted_from_the_roots() -> None:
    """a -> b -> c and d -> c: Pulumi deletes a, then b with d, then c (ScheduleDeletes)."""
    run = StackRun([_resource("c"), _resource("b", "c"), _resource("a", "b"), _resource("d", "c")])
    assert [sorted(r.name for r in step) for step in delete_schedule(run)] == [
        ["a"],
        ["b", "d"],
        ["c"],
    ]


# -- forceDestroy off: nothing is deleted, nothing is unguarded ------------------------


@pytest.mark.parametrize("stack", ["default", "production"])
def test_destroy_without_force_stops_before_deleting_anything(
    request: pytest.FixtureRequest, stack: str
) -> None:
    run = request.getfixturevalue(f"{stack}_stack")
    outcome = destroy(run)
    assert outcome.refused and "assets-bucket" in outcome.refused
    assert outcome.deleted == []


@pytest.mark.parametrize("stack", ["default", "production"])
def test_a_destroy_that_fails_at_a_bucket_leaves_every_guard_in_place(
    request: pytest.FixtureRequest, stack: str
) -> None:
    """Even `--skip-preview`, where the bucket fails with BucketNotEmpty, strips no guard."""
    run = request.getfixturevalue(f"{stack}_stack")
    outcome = destroy(run, fails=BUCKETS, skip_preview=True)
    for bucket in (b for b in BUCKETS if run.find(b)):
        for guard in (g for g in GUARDS[bucket] if run.find(g)):
            assert not outcome.gone(guard), f"{guard} deleted while {bucket} holds data"
    assert outcome.failed, "the destroy must stop at a bucket or one of its guards"


@pytest.mark.parametrize("stack", ["default", "production"])
def test_exclude_protected_removes_the_rest_and_keeps_buckets_guarded(
    request: pytest.FixtureRequest, stack: str
) -> None:
    """`pulumi destroy --exclude-protected`: the way to keep the labels in their bucket."""
    run = request.getfixturevalue(f"{stack}_stack")
    outcome = destroy(run, exclude_protected=True)
    assert outcome.refused is None and outcome.failed == []
    for bucket in (b for b in BUCKETS if run.find(b)):
        assert not outcome.gone(bucket)
        for guard in (g for g in GUARDS[bucket] if run.find(g)):
            assert not outcome.gone(guard), guard
    assert outcome.gone("lambdas-post-annotation") and outcome.gone("worker-template-object")
    assert not outcome.gone("data-key-key")


def test_buckets_and_guards_are_protected_exactly_when_force_destroy_is_off(
    production_stack: StackRun, forced_production: StackRun
) -> None:
    for bucket in BUCKETS:
        for name in (bucket, *GUARDS[bucket]):
            assert production_stack.named(name).protect, name
            assert not forced_production.named(name).protect, name


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_guard_is_deleted_with_its_bucket(production_stack: StackRun, bucket: str) -> None:
    urn = production_stack.named(bucket).urn
    for guard in GUARDS[bucket]:
        assert production_stack.named(guard).deleted_with == urn, guard


# -- forceDestroy on: the key outlives the bucket, and is never deleted by Pulumi ------


def test_data_bucket_is_deleted_before_its_key(forced_production: StackRun) -> None:
    """They used to share a step: the key's deletion was scheduled while the bucket failed."""
    schedule = delete_schedule(forced_production)
    assert step_of(schedule, "assets-bucket") < step_of(schedule, "data-key-key")


def test_forced_destroy_deletes_the_bucket_but_never_the_key(forced_production: StackRun) -> None:
    outcome = destroy(forced_production)
    assert outcome.refused is None and outcome.failed == []
    assert outcome.gone("assets-bucket") and outcome.gone("assets-logs-bucket")
    for kept in ("data-key-key", "data-key-alias", "data-key-policy"):
        assert not outcome.gone(kept), f"{kept} must stay until a person deletes it"


def test_a_forced_destroy_failing_at_the_bucket_keeps_key_and_guards(
    forced_production: StackRun,
) -> None:
    """Late writes can make even a forced delete fail: the key must not be gone by then."""
    outcome = destroy(forced_production, fails=["assets-bucket"])
    assert not outcome.gone("data-key-key")
    for guard in GUARDS["assets-bucket"]:
        assert not outcome.gone(guard), guard


@pytest.mark.parametrize("name", ["data-key-key", "data-key-alias", "data-key-policy"])
def test_key_alias_and_key_policy_are_retained_on_delete(
    production_stack: StackRun, name: str
) -> None:
    assert production_stack.named(name).retain_on_delete, name


# -- writes wait for the guards ----------------------------------------------------------


@pytest.mark.parametrize("obj", ["assets-component", "worker-template-object"])
def test_objects_are_written_after_the_buckets_encryption_versioning_and_policy(
    production_stack: StackRun, obj: str
) -> None:
    dependencies = set(production_stack.named(obj).dependencies)
    for guard in ("assets-encryption", "assets-versioning", "assets-bucket-policy"):
        assert production_stack.named(guard).urn in dependencies, f"{obj} before {guard}"


def test_template_is_written_after_the_component_it_points_to(
    production_stack: StackRun,
) -> None:
    template = production_stack.named("worker-template-object")
    assert production_stack.named("assets-component").urn in template.dependencies
