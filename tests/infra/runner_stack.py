"""The whole program with ``runner: self-hosted``, from stand-in portal and task-service files.

The portal's files and the task service's handler come from the other half of
issue 18 (``assets/portal/``, ``assets/crowd-form.js``, ``handlers/task_api.py``).
The infrastructure tests do not depend on them: ``stand_in_sources`` writes a
small portal (a page, a script, a stylesheet in a folder, the crowd-form) and a
copy of the ``handlers`` package with a stand-in ``task_api`` when the real one
is not there, and ``run_self_hosted`` runs ``__main__.py`` reading those instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from components import lambda_archive, worker_portal
from tests.infra import harness
from tests.infra.test_labeling_workforce import CREATED, EXISTING

#: The existing workforce's pool domain prefix (``workforceAuthDomain``).
AUTH_DOMAIN = "pose-team-labelers"
SELF_HOSTED = {"runner": "self-hosted"}
#: A team in an existing Cognito user pool, labeling through the stack's own runner: the
#: pool and its domain prefix, no Ground Truth app client (there is no SageMaker team).
SELF_HOSTED_EXISTING = {
    **EXISTING,
    **SELF_HOSTED,
    "workforceClientId": "",
    "workforceAuthDomain": AUTH_DOMAIN,
}
#: A new Cognito user pool (``createWorkforce``) and team, labeling through the stack's
#: own runner.
SELF_HOSTED_CREATED = {
    **CREATED,
    **SELF_HOSTED,
    "workforceUserPoolId": "",
    "workforceClientId": "",
    "workforceAuthDomain": "",
}
#: The stand-in portal, relative to its folder; the crowd-form is uploaded beside it.
PORTAL_FILES = {
    "index.html": "<!doctype html><title>Worker portal</title><script src='portal.js'></script>\n",
    "portal.js": "fetch('config.json');\n",
    "styles/portal.css": "body { margin: 0; }\n",
}
CROWD_FORM = "customElements.get('crowd-form');\n"


@dataclass(frozen=True)
class RunnerSources:
    portal_dir: Path
    crowd_form: Path
    handlers_dir: Path


def stand_in_sources(root: Path) -> RunnerSources:
    portal = root / "portal"
    for name, text in PORTAL_FILES.items():
        (portal / name).parent.mkdir(parents=True, exist_ok=True)
        (portal / name).write_text(text, encoding="utf-8")
    crowd_form = root / "crowd-form.js"
    crowd_form.write_text(CROWD_FORM, encoding="utf-8")
    handlers = root / "handlers"
    shutil.copytree(
        lambda_archive.HANDLERS_DIR, handlers, ignore=shutil.ignore_patterns("__pycache__")
    )
    task_api = handlers / f"{lambda_archive.TASK_API_MODULE}.py"
    if not task_api.exists():
        task_api.write_text("def lambda_handler(event, context):\n    return {}\n")
    return RunnerSources(portal, crowd_form, handlers)


def run_self_hosted(sources: RunnerSources, **overrides: object) -> harness.StackRun:
    """``__main__.py`` with ``runner: self-hosted`` (and ``overrides``), on ``sources``."""
    config: Mapping[str, str] = harness.stack_config(**{**SELF_HOSTED_EXISTING, **overrides})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worker_portal, "PORTAL_DIR", sources.portal_dir)
        patch.setattr(worker_portal, "CROWD_FORM_PATH", sources.crowd_form)
        patch.setattr(lambda_archive, "HANDLERS_DIR", sources.handlers_dir)
        return harness.run_main(config)
