"""Just enough of IAM's evaluation to ask "may this policy do X to Y?" in tests.

Allow and Deny statements with ``Action``/``Resource`` wildcards (``*`` and
``?``, actions case-insensitive), as IAM matches them. Conditions are ignored,
which only makes ``allows`` more generous than IAM: a test that finds an access
denied here is denied in AWS too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any


def statements(policy: str | dict[str, Any]) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement(policy: str | dict[str, Any], sid: str) -> dict[str, Any]:
    matches = [s for s in statements(policy) if s.get("Sid") == sid]
    assert len(matches) == 1, (
        f"expected one statement {sid}, found {[s.get('Sid') for s in statements(policy)]}"
    )
    return matches[0]


def _glob(pattern: str, value: str, *, ignore_case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _matches(s: dict[str, Any], action: str, resource: str) -> bool:
    assert "NotAction" not in s and "NotResource" not in s, "NotAction/NotResource not modelled"
    return any(_glob(a, action, ignore_case=True) for a in as_list(s["Action"])) and any(
        _glob(r, resource, ignore_case=False) for r in as_list(s.get("Resource", "*"))
    )


def allows(policies: str | Iterable[str], action: str, resource: str) -> bool:
    """True if some Allow matches and no Deny does (conditions ignored)."""
    docs = [policies] if isinstance(policies, str) else list(policies)
    relevant = [s for doc in docs for s in statements(doc) if _matches(s, action, resource)]
    return any(s["Effect"] == "Allow" for s in relevant) and not any(
        s["Effect"] == "Deny" for s in relevant
    )


def actions(policy: str) -> set[str]:
    return {a for s in statements(policy) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
