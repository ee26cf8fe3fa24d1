"""The deployer policies people attach, written from ``components.policies``.

``policy/deployer-policy.json`` (default stack) and ``policy/deployer-policy-production.json``
(``production: true``) are the two variants of the base document; the optional parts of
the stack have add-ons to attach beside one of them:
``policy/deployer-policy-workforce.json`` (``workteamName``) and
``policy/deployer-policy-self-hosted.json`` (``runner: self-hosted``, with the workforce
add-on). They are generated, never edited by hand; a test fails when one is out of date.
Regenerate with::

    .venv/bin/python -m tests.infra.deployer_policy_files
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

from components.policies import (
    deployer_policy,
    self_hosted_deployer_policy,
    workforce_deployer_policy,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policy"
FILES: dict[Path, Callable[[], str]] = {
    POLICY_DIR / "deployer-policy.json": partial(deployer_policy, production=False),
    POLICY_DIR / "deployer-policy-production.json": partial(deployer_policy, production=True),
    POLICY_DIR / "deployer-policy-workforce.json": workforce_deployer_policy,
    POLICY_DIR / "deployer-policy-self-hosted.json": self_hosted_deployer_policy,
}


def rendered(path: Path) -> str:
    """The document as the file holds it: indented for people (IAM ignores whitespace)."""
    return json.dumps(json.loads(FILES[path]()), indent=2) + "\n"


def main() -> int:
    for path in FILES:
        path.write_text(rendered(path), encoding="utf-8")
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
