"""Stage 2 of the worker template, for the self-hosted runner: what Ground Truth does per task.

Ground Truth fills ``{{ task.input.<key> }}`` in the deployed template with the
pre-annotation Lambda's ``taskInput``, escaping every output for HTML. Our template
(``assets/worker-template.liquid.html``) uses exactly two forms, each inside a
quoted attribute::

    {{ task.input.<key> }}
    {{ task.input.<key> | grant_read_access }}

The Lambda runtime cannot import python-liquid, so this module renders exactly that
subset with the standard library and refuses anything else (another filter, a tag,
another variable) with a :class:`TemplateError` naming the construct. A test renders
the real template with many task inputs, hostile strings included, through this
module and through python-liquid (``scripts/preview_groundtruth.render_task``, the
oracle) and compares the HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

#: ``{{ ... }}`` outputs, and the openings of anything else Liquid would interpret.
_LIQUID = re.compile(r"\{\{(.*?)\}\}|\{%|\{#|\{\{", re.DOTALL)
_OUTPUT = re.compile(
    r"\s*task\.input\.(?P<key>[A-Za-z_][\w-]*)\s*(?:\|\s*(?P<filter>[A-Za-z_]\w*)\s*)?",
    re.DOTALL,
)
#: The only filter Ground Truth adds that our template uses.
GRANT_READ_ACCESS = "grant_read_access"
#: HTML escaping as Ground Truth's Liquid does it (markupsafe's, byte for byte).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


class TemplateError(ValueError):
    """The template uses Liquid this renderer does not support, or a value it cannot show."""


def render_task(
    template: str, task_input: Mapping[str, Any], grant_read_access: Callable[[str], str]
) -> str:
    """``template`` with every ``{{ task.input.<key> }}`` filled from ``task_input``, escaped.

    A key missing from ``task_input`` renders as nothing, as in Liquid. ``grant_read_access``
    turns an ``s3://`` URI into a URL the worker's browser can load.
    """
    parts: list[str] = []
    end = 0
    for match in _LIQUID.finditer(template):
        parts.append(template[end : match.start()])
        end = match.end()
        inner = match.group(1)
        if inner is None:
            raise TemplateError(
                f"unsupported Liquid at character {match.start()}: {_shown(template, match)}"
                " (only {{ task.input.<key> }} and {{ task.input.<key> | grant_read_access }})"
            )
        parts.append(_output(inner, task_input, grant_read_access, match.start()))
    parts.append(template[end:])
    return "".join(parts)


def _output(
    expression: str,
    task_input: Mapping[str, Any],
    grant_read_access: Callable[[str], str],
    position: int,
) -> str:
    match = _OUTPUT.fullmatch(expression)
    if match is None:
        raise TemplateError(
            f"unsupported Liquid output at character {position}: {{{{{expression}}}}}"
            " (only task.input.<key>, optionally | grant_read_access)"
        )
    key, filter_name = match["key"], match["filter"]
    if filter_name not in (None, GRANT_READ_ACCESS):
        raise TemplateError(
            f"unsupported Liquid filter at character {position}: {filter_name}"
            f" (only {GRANT_READ_ACCESS})"
        )
    value = task_input.get(key)
    if filter_name == GRANT_READ_ACCESS:
        if not isinstance(value, str):
            raise TemplateError(
                f"task.input.{key}: {GRANT_READ_ACCESS} needs an s3:// URI, got"
                f" {'nothing' if value is None else type(value).__name__}"
            )
        return grant_read_access(value).translate(_ESCAPES)
    return _text(key, value).translate(_ESCAPES)


def _text(key: str, value: Any) -> str:
    """A task-input value as Liquid writes it: strings as they are, None as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(
        f"task.input.{key}: a {type(value).__name__} cannot be written into the page"
        " (the template expects strings)"
    )


def _shown(template: str, match: re.Match[str]) -> str:
    return template[match.start() : match.start() + 40].split("\n", 1)[0]
