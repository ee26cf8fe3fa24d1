"""The bounds of one answer: length, nesting, and what a label may keep raw."""

import json
import math

import pytest

from handlers.limits import (
    MAX_JSON_DEPTH,
    JsonLimitError,
    keepable,
    loads_bounded,
    too_deep,
)


def nested(depth):
    return "[" * depth + "]" * depth


def test_loads_bounded_reads_up_to_the_limits():
    assert loads_bounded(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    assert loads_bounded('"' + "x" * 8 + '"', max_chars=10) == "x" * 8


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 20_000])
def test_loads_bounded_refuses_deeper_text_without_recursing(depth):
    with pytest.raises(JsonLimitError, match=f"^nested more than {MAX_JSON_DEPTH} levels deep$"):
        loads_bounded(nested(depth))


def test_loads_bounded_refuses_longer_text_before_reading_it():
    with pytest.raises(JsonLimitError, match=r"^11 characters, over the limit of 10$"):
        loads_bounded("[" * 11, max_chars=10)  # not even valid: never decoded


def test_loads_bounded_brackets_inside_strings_are_not_nesting():
    text = json.dumps(["[" * 5000 + "{" * 5000])
    assert loads_bounded(text) == ["[" * 5000 + "{" * 5000]


def test_too_deep_counts_objects_and_arrays():
    value = {"a": [{"b": [1]}]}  # 4 levels
    assert not too_deep(value, 4) and too_deep(value, 3)
    assert not too_deep("x" * 100, 0)


def test_keepable_keeps_standard_json_and_turns_the_rest_into_text():
    assert keepable({"a": [1, "b"]}) == ({"a": [1, "b"]}, None)
    assert keepable([math.nan]) == (
        "[NaN]",
        "holds NaN or Infinity, which standard JSON cannot write",
    )
    deep: list = []
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    text, reason = keepable(deep)
    assert text == json.dumps(deep) and reason == f"nests more than {MAX_JSON_DEPTH} levels deep"
