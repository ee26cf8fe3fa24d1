"""Shared, session-scoped stack runs: each program runs under mocks once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra import harness
from tests.infra.runner_stack import RunnerSources, run_self_hosted, stand_in_sources


@pytest.fixture(scope="session")
def component_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small stand-in for the labeling component, so component tests need no UI build."""
    path = tmp_path_factory.mktemp("assets") / "crowd-2d-skeleton.js"
    path.write_text("customElements.get('crowd-2d-skeleton');\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def default_stack() -> harness.StackRun:
    """The whole program with Pulumi.yaml's defaults: what a first `pulumi up` deploys."""
    return harness.run_main()


ALARM_TOPIC = f"arn:aws:sns:{harness.REGION}:{harness.ACCOUNT}:pose-labeling-alarms"
#: Production as a user turns it on: the profile, its key confirmed, alarms to a topic.
PRODUCTION_CONFIG = harness.stack_config(production=True, dataKey=True, alarmTopicArn=ALARM_TOPIC)


@pytest.fixture(scope="session")
def production_stack() -> harness.StackRun:
    """The whole program with the production profile on and alarms wired to a topic."""
    return harness.run_main(PRODUCTION_CONFIG)


@pytest.fixture(scope="session")
def runner_sources(tmp_path_factory: pytest.TempPathFactory) -> RunnerSources:
    """Stand-ins for the portal and the task service (``tests/infra/runner_stack.py``)."""
    return stand_in_sources(tmp_path_factory.mktemp("runner"))


@pytest.fixture(scope="session")
def self_hosted_stack(runner_sources: RunnerSources) -> harness.StackRun:
    """``runner: self-hosted`` with a team in the account's existing workforce."""
    return run_self_hosted(runner_sources)


@pytest.fixture(scope="session")
def self_hosted_production_stack(runner_sources: RunnerSources) -> harness.StackRun:
    """The self-hosted runner in the production profile, alarms wired to a topic."""
    return run_self_hosted(runner_sources, production=True, dataKey=True, alarmTopicArn=ALARM_TOPIC)
