"""Sizes of JSON values as the Lambda runtime writes them, without writing them.

The post-annotation response must stay under Lambda's 6 MB limit
(:mod:`handlers.overflow`). The runtime serialises it with ``json.dumps``'
defaults: ASCII only, ``", "`` and ``": "`` separators, ``NaN``/``Infinity``
allowed. Serialising every label just to measure it cost as much as
validating it, so the model's classes give an *upper bound* of their size
instead (``json_size_bound`` methods), built from the helpers here:

- :func:`json_size` is exact, for anything (it serialises; used for the rare
  or small parts: errors, QA flags, pass-through fields);
- :func:`string_size` is exact and cheap (the C escaper alone);
- :func:`strings_size` is exact for many strings at once: escaping works one
  character at a time, so escaping the concatenation costs one call;
- :func:`numbers_size_bound` bounds many numbers at once;
- :func:`dumps` writes a value exactly as the runtime would (for what is moved).

A worker's answer kept exactly as written is bounded from its text's length
instead (:class:`handlers.skeleton.SkeletonsJson`). ``tests/handlers/
test_json_size.py`` checks every bound against ``json.dumps`` on hostile values
(long and non-ASCII strings, huge and non-finite numbers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

# As the Lambda runtime encodes the response (default separators, ASCII only), minus
# the check for reference cycles, which labels never have (15% faster).
_ENCODER = json.JSONEncoder(check_circular=False)
#: ``Infinity`` is 5 characters longer than ``repr``'s ``inf`` (``NaN``/``nan``: same length).
_INFINITY_EXTRA = len("Infinity") - len("inf")
_INFINITIES = (math.inf, -math.inf)
_WHOLE = frozenset((int,))
_NUMBERS = frozenset((int, float))


def dumps(value: Any) -> str:
    """``value`` exactly as the Lambda runtime serialises it.

    Plain scalars and empty containers are spelled here: the encoder's own
    setup costs more than writing them (moving fields out of a large
    response writes tens of thousands of them).
    """
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if (kind is list or kind is dict) and not value:
        return "[]" if kind is list else "{}"
    return _ENCODER.encode(value)


def json_size(value: Any) -> int:
    """Exact: ``len(json.dumps(value))``."""
    return len(_ENCODER.encode(value))


def string_size(text: str) -> int:
    """Exact size of a string, quotes included. TypeError if ``text`` is not a ``str``."""
    return len(encode_basestring_ascii(text))


def strings_size(texts: Sequence[str]) -> int:
    """Exact total size of several strings, each with its quotes (TypeError unless all are str)."""
    return len(encode_basestring_ascii("".join(texts))) - 2 + 2 * len(texts)


def scalar_size(value: Any) -> int:
    """Exact size of a string, number, boolean or null (anything else is serialised)."""
    kind = type(value)
    if kind is str:
        return len(encode_basestring_ascii(value))
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if kind is int:
        return len(repr(value))
    if kind is float:
        return len(repr(value)) + (_INFINITY_EXTRA if value in _INFINITIES else 0)
    return json_size(value)


def numbers_size_bound(numbers: Sequence[Any]) -> int:
    """At least the total size of ``numbers`` (ints and floats; ValueError for anything else).

    Non-negative whole numbers (pixels, the usual case) are counted as wide as
    the largest of them, which costs two C calls instead of one ``repr`` each.
    Otherwise the size is exact: ``json`` writes ints and floats with ``repr``,
    except that infinities are spelled ``Infinity``.
    """
    if not numbers:
        return 0
    kinds = set(map(type, numbers))
    if kinds == _WHOLE and min(numbers) >= 0:
        return len(numbers) * len(repr(max(numbers)))
    if not kinds <= _NUMBERS:
        raise ValueError(f"not plain numbers: {sorted(k.__name__ for k in kinds)}")
    infinities = sum(map(numbers.count, _INFINITIES))
    return sum(map(len, map(repr, numbers))) + _INFINITY_EXTRA * infinities


def object_frame(keys: Sequence[str]) -> int:
    """Size of an object with these keys, without its values: ``{"a": , "b": }``."""
    return sum(map(string_size, keys)) + 4 * len(keys) if keys else 2


def list_size(item_sizes: Sequence[int]) -> int:
    """Size of a list whose items have these sizes: brackets and ``", "`` between items."""
    return sum(item_sizes) + 2 + 2 * max(len(item_sizes) - 1, 0)


def entry_size(key: str, value_size: int) -> int:
    """What one ``"key": value`` entry adds to an object that has other entries.

    Its ``": "`` and one ``", "`` separator come with it.
    """
    return len(encode_basestring_ascii(key)) + 2 + value_size + 2
