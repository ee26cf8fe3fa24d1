"""The deployer policies people attach, written from ``components.policies.deployer_policy``.

``policy/deployer-policy.json`` (default stack) and ``policy/deployer-policy-production.json``
(``production: true``) are generated, never edited by hand; a test fails when they are
out of date. Regenerate with::

    .venv/bin/python -m tests.infra.deployer_policy_files
"""

from __future__ import annotations

import json
from pathlib import Path

from components.policies import deployer_policy

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    ROOT / "policy" / "deployer-policy.json": False,
    ROOT / "policy" / "deployer-policy-production.json": True,
}


def rendered(production: bool) -> str:
    """The document as the file holds it: indented for people (IAM ignores whitespace)."""
    return json.dumps(json.loads(deployer_policy(production=production)), indent=2) + "\n"


def main() -> int:
    for path, production in FILES.items():
        path.write_text(rendered(production), encoding="utf-8")
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
