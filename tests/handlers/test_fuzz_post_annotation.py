"""Fuzzing the post-annotation Lambda: whatever the payload holds, no answer fails the batch.

A mutator (seeded, so a failure repeats) breaks real event shapes at every level: the
payload's envelope, the worker's answer text, and the skeletons text inside it, with
hostile values (NaN, huge numbers, nesting 20,000 levels deep, 150 skeletons, the same
worker twice, malformed S3 URIs, truncated and oversized texts). For every variant the
handler either raises ``ProtocolError`` for an unreadable payload, or returns every data
object of the payload, in order, as standard JSON, without an object that fell back to
"could not be consolidated" (that fallback exists for bugs; the fuzzer must find none).
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import handlers.post_annotation as post
from handlers.groundtruth import ProtocolError
from handlers.label import LABEL_FIELDS, ConsolidatedLabel
from handlers.limits import MAX_ANSWER_CHARS
from tests.handlers.conftest import BUCKET, COCO, event_file, person

VARIANTS = 500
#: Stands for a value too deep to build in Python: replaced in the text once encoded.
DEEP = "@@deep@@"
SEED_PAYLOADS = [
    event_file("pose.post-annotation.payload.json"),
    event_file("gt-recipe.sample_annotation_consolidation_payload.json"),
]
HOSTILE: list[Any] = [
    None, True, 0, -1, 10**400, 1e308, -1e308, float("nan"), float("inf"), -0.0,
    "", "null", "[]", "{}", "true", "1e999", "\ud800", "<script>", "s3://bucket", "s3://b/",
    f"s3://{BUCKET}/missing/answer.json", "x" * 1000, [], {}, [None], {"": None}, DEEP,
    [person(move={"nose": (k % 5, 0)}) for k in range(150)],
]  # fmt: skip


def slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a decoded JSON value."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        else:
            continue
        for key, child in children:
            found.append((item, key))
            stack.append(child)
    return found


def deep_text(rng: random.Random) -> str:
    depth = rng.choice([21, 900, 20_000])
    return "[" * depth + "]" * depth


def encode(value: Any, rng: random.Random) -> str:
    """JSON text of ``value`` (NaN allowed, as json writes it), deep markers expanded."""
    text = json.dumps(value)
    while f'"{DEEP}"' in text:
        text = text.replace(f'"{DEEP}"', deep_text(rng), 1)
    return text


def mutate_value(value: Any, rng: random.Random) -> Any:
    """A decoded value with one node replaced, removed or duplicated."""
    places = slots(value)
    if not places:
        return rng.choice(HOSTILE)
    container, key = rng.choice(places)
    move = rng.random()
    if move < 0.6:
        container[key] = copy.deepcopy(rng.choice(HOSTILE))
    elif move < 0.8 and isinstance(container, dict):
        del container[key]
    elif isinstance(container, list):
        container.append(copy.deepcopy(container[key]))  # e.g. the same worker twice
    else:
        container[key] = copy.deepcopy(rng.choice(HOSTILE))
    return value


def mutate_text(text: str, rng: random.Random, level: int = 0) -> str:
    """A JSON text (an answer, or the skeletons in one) broken at its own level or below."""
    move = rng.random()
    if move < 0.15:
        return text[: rng.randrange(len(text) + 1)]
    if move < 0.25:
        return rng.choice(["null", "[]", "{}", "1e999", "NaN", deep_text(rng), text + "}"])
    if move < 0.27:
        return text + " " * (MAX_ANSWER_CHARS + 1 - len(text))  # valid, too long
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text[::-1]
    inner = [
        (c, k) for c, k in slots(value) if k == "updated_annotations" and isinstance(c[k], str)
    ]
    if level == 0 and inner and rng.random() < 0.7:
        container, key = rng.choice(inner)
        container[key] = mutate_text(container[key], rng, level + 1)
    elif level == 1 and isinstance(value, list) and value and rng.random() < 0.2:
        value = value * rng.choice([2, 51, 150])  # copies of the same people, up to a crowd
    else:
        value = mutate_value(value, rng)
    return encode(value, rng)


def variant(rng: random.Random) -> str:
    """A payload text: a real payload with one to three things broken."""
    payload = copy.deepcopy(SEED_PAYLOADS[0] if rng.random() < 0.8 else SEED_PAYLOADS[1])
    for _ in range(rng.randint(1, 3)):
        answers = [(c, k) for c, k in slots(payload) if k == "content" and isinstance(c[k], str)]
        if answers and rng.random() < 0.7:
            container, key = rng.choice(answers)
            container[key] = mutate_text(container[key], rng)
        else:
            payload = mutate_value(payload, rng)
    return encode(payload, rng)


def expected_ids(text: str) -> list[str] | None:
    """The datasetObjectIds a response must hold, or None for an unreadable payload."""
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, list):
        return None
    return [
        str(item["datasetObjectId"])
        for item in payload
        if isinstance(item, dict) and isinstance(item.get("datasetObjectId"), str | int)
    ]


def test_fuzzed_payloads_return_every_object_as_standard_json(s3: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(post.LOG, "disabled", True)  # tens of thousands of error lines
    rng = random.Random(20261201)  # noqa: S311 (repeatable, not a secret)
    event = event_file("pose.post-annotation.event.json")
    raised = 0
    for n in range(VARIANTS):
        text = variant(rng)
        event["payload"] = {"content": text}
        expected = expected_ids(text)
        try:
            response = post.consolidate_batch(event, COCO, s3=s3)
        except ProtocolError:
            assert expected is None, f"variant {n}: a readable payload raised"
            raised += 1
            continue
        assert expected is not None, f"variant {n}: an unreadable payload was answered"
        assert [item["datasetObjectId"] for item in response] == expected, f"variant {n}"
        for item in json.loads(json.dumps(response, allow_nan=False)):  # standard JSON
            label = item["consolidatedAnnotation"]["content"]["pose"]
            assert set(LABEL_FIELDS) | {"rig", "workers"} <= set(label), f"variant {n}"
            messages = [e["message"] for e in label.get("errors", [])]
            assert not any("could not be consolidated" in m for m in messages), (n, messages)
            ConsolidatedLabel.parse(label, COCO)  # and it reads back
    assert raised < VARIANTS // 10  # the fuzzer mostly reaches the answers, not the envelope
