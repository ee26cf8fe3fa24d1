"""Reading policy documents and resource properties the way the engine hands them over.

Properties arrive wrapped (a ``Mapping``/``Sequence`` proxy that raises when a
value is unknown during preview), numbers as floats, and policy documents as
JSON strings. These helpers turn all of that into plain Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

Statement = dict[str, Any]


def plain(value: Any) -> Any:
    """Proxies, mappings and sequences as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {key: plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(item) for item in value]
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def get(props: Mapping[str, Any], *path: str | int) -> Any:
    """``props[a][b]...`` or None when any step is missing (unknown values still raise)."""
    value: Any = props
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or step >= len(value):
                return None
        elif not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def document(value: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string or a mapping; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else None
    converted = plain(value)
    return converted if isinstance(converted, dict) else None


def statements(doc: Mapping[str, Any] | None) -> list[Statement]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def allows(doc: Mapping[str, Any] | None) -> Iterator[tuple[str, Statement]]:
    """Each Allow statement with a label for messages (its Sid, or its position)."""
    for i, statement in enumerate(statements(doc)):
        if statement.get("Effect") == "Allow":
            yield str(statement.get("Sid") or f"#{i}"), statement


def principals(statement: Statement) -> list[str]:
    """Every principal a statement names (``"*"`` stays ``"*"``)."""
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        return [str(p) for values in principal.values() for p in as_list(values)]
    return [str(p) for p in as_list(principal)]


def is_public(statement: Statement) -> bool:
    return "*" in principals(statement) or "NotPrincipal" in statement


#: ``report(message)`` or ``report(message, urn)``: pulumi-policy's ``ReportViolation``
#: has a default for ``urn`` that its type alias does not show.
Report = Callable[..., None]


#: Condition operators that pin a key to the values they list (``*Like`` ones only when the
#: values hold no wildcard); ``...IfExists`` and negated operators pin nothing.
PINNING_OPERATORS = ("StringEquals", "ArnEquals", "StringLike", "ArnLike")


def condition_values(statement: Statement, key: str) -> dict[str, list[str]]:
    """The values a statement's condition compares ``key`` with, by operator.

    Condition keys are case-insensitive in IAM (``AWS:SourceArn`` is ``aws:SourceArn``).
    """
    found: dict[str, list[str]] = {}
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return found
    for operator, tests in condition.items():
        if not isinstance(tests, Mapping):
            continue
        for name, values in tests.items():
            if str(name).lower() == key.lower():
                found.setdefault(str(operator), []).extend(str(v) for v in as_list(values))
    return found


def source_arns(statement: Statement) -> list[str] | None:
    """The ARNs an ``aws:SourceArn`` condition limits a grant to; None when nothing pins it.

    A grant to an AWS service without one lets that service act for anyone's
    resource (the confused deputy); a value with a wildcard pins nothing either.
    """
    values = condition_values(statement, "aws:SourceArn")
    pinned = [v for op in PINNING_OPERATORS for v in values.get(op, [])]
    if not pinned or any("*" in v or "?" in v for v in pinned):
        return None
    return pinned
