"""The policy pack's Cognito rules: the stack's workforce passes, a weakened user pool is caught."""

from __future__ import annotations

from typing import Any

import pytest

from policy.guardrails import POLICIES, workforce
from tests.infra import harness
from tests.infra.policy_harness import changed, pack_config, violations
from tests.infra.test_labeling_workforce import CREATED, EXISTING, USER_POOL
from tests.infra.test_policy_pack_server import analyze, analyzer, configure

__all__ = ["analyzer"]  # the gRPC pack server fixture, used below

PACK = [*POLICIES, *workforce.POLICIES]
RULES = {p.name: p for p in workforce.POLICIES}


@pytest.fixture(scope="module")
def created() -> harness.StackRun:
    return harness.run_main(harness.stack_config(**CREATED))


def all_messages(run: harness.StackRun, configs: dict[str, Any] | None = None) -> list[str]:
    configs = configs or {}
    return [m for p in PACK for m in violations(p, run, configs.get(p.name))]


def test_pack_rule_names_stay_unique_with_the_workforce_rules() -> None:
    names = [p.name for p in PACK]
    assert len(names) == len(set(names))
    assert all(p.description for p in workforce.POLICIES)


@pytest.mark.parametrize("setup", [EXISTING, CREATED], ids=["existing", "created"])
def test_the_whole_pack_passes_both_workforce_setups(setup: dict[str, Any]) -> None:
    assert all_messages(harness.run_main(harness.stack_config(**setup))) == []


def test_the_production_pack_passes_a_production_stack_with_a_new_workforce() -> None:
    run = harness.run_main(harness.stack_config(**CREATED, production=True, dataKey=True))
    configs = pack_config(harness.ROOT / "policy" / "production.json")
    assert all_messages(run, configs) == []


def weakened(run: harness.StackRun, **config: Any) -> harness.Recorded:
    def mutate(props: dict[str, Any]) -> None:
        for path, value in config.items():
            section, key = path.split("__")
            if value is None:
                props.get(section, {}).pop(key, None)
            else:
                props.setdefault(section, {})[key] = value

    return changed(run.one(USER_POOL), mutate)


@pytest.mark.parametrize("value", [False, None], ids=["false", "absent"])
def test_a_pool_open_to_self_sign_up_is_reported(created: harness.StackRun, value: Any) -> None:
    pool = weakened(created, adminCreateUserConfig__allowAdminCreateUserOnly=value)
    assert violations(RULES["cognito-invited-users-only"], pool) == [
        "workforce-user-pool: adminCreateUserConfig.allowAdminCreateUserOnly must be true;"
        " otherwise anyone who finds the sign-in page can create an account"
    ]


def test_a_short_password_minimum_is_reported(created: harness.StackRun) -> None:
    pool = weakened(created, passwordPolicy__minimumLength=6)
    assert violations(RULES["cognito-password-policy"], pool) == [
        "workforce-user-pool: passwordPolicy.minimumLength must be at least 8, got 6.0"
    ]


def test_a_password_without_symbols_or_digits_is_reported(created: harness.StackRun) -> None:
    pool = weakened(
        created, passwordPolicy__requireSymbols=False, passwordPolicy__requireNumbers=None
    )
    assert violations(RULES["cognito-password-policy"], pool) == [
        "workforce-user-pool: passwordPolicy must set requireNumbers, requireSymbols to true"
    ]


def test_a_pool_without_a_password_policy_is_reported(created: harness.StackRun) -> None:
    def mutate(props: dict[str, Any]) -> None:
        props.pop("passwordPolicy")

    found = violations(RULES["cognito-password-policy"], changed(created.one(USER_POOL), mutate))
    assert (
        found[0] == "workforce-user-pool: passwordPolicy.minimumLength must be at least 8, got None"
    )


def test_the_served_pack_judges_the_workforce_pool(
    analyzer: Any, created: harness.StackRun
) -> None:
    configure(analyzer, {})
    pool = created.one(USER_POOL)
    assert analyze(analyzer, pool) == []
    open_pool = weakened(created, adminCreateUserConfig__allowAdminCreateUserOnly=False)
    assert analyze(analyzer, open_pool) == [
        "cognito-invited-users-only: workforce-user-pool: adminCreateUserConfig"
        ".allowAdminCreateUserOnly must be true; otherwise anyone who finds the sign-in page"
        " can create an account"
    ]
