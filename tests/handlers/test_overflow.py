"""Fitting the response under Lambda's limit: exact sizes, staged moves, lossless restore."""

import json

import pytest

from handlers.overflow import ResponseTooLarge, fit_response, overflow_uri, restore_overflow

URI = "s3://b/job/annotations/consolidated-annotation/pose-labeling-overflow/iteration-1/t.json"


def response(n=20, worker_bytes=2000):
    out = []
    for i in range(n):
        label = {
            "dataset_object_id": str(i),
            "original_annotations": [],
            "updated_annotations": [
                {"name": "é" * 10, "annotations": [{"label": "nose", "x": i, "y": 1.5}]}
            ],
            "worker_id": "w",
            "workers": [{"worker_id": "w", "raw": "x" * worker_bytes}],
        }
        out.append(
            {"datasetObjectId": str(i), "consolidatedAnnotation": {"content": {"pose": label}}}
        )
    return out


def fit(items, budget):
    store = {}
    result = fit_response(
        items, "pose", uri=URI, write=lambda uri, body: store.update({uri: body}), budget=budget
    )
    return result, store


def test_fit_under_budget_changes_nothing_and_writes_nothing():
    items = response()
    before = json.dumps(items)
    result, store = fit(items, budget=10**6)
    assert json.dumps(items) == before and store == {}
    assert result.size_before == result.size_after == len(before)


def test_fit_moves_worker_copies_of_the_largest_labels_first():
    items = response()
    items[3]["consolidatedAnnotation"]["content"]["pose"]["workers"][0]["raw"] *= 5
    result, _ = fit(items, budget=len(json.dumps(items)) - 9000)
    assert result.moved == ("3",)
    label = items[3]["consolidatedAnnotation"]["content"]["pose"]
    assert label["overflow"] == {"s3_uri": URI, "fields": ["workers"]}
    assert result.size_after == len(json.dumps(items)) <= len(json.dumps(items)) + 1


@pytest.mark.parametrize("budget", [30_000, 9_000, 6_100], ids=["workers", "annotations", "all"])
def test_fit_sizes_are_exact_at_every_stage(budget):
    items = response()
    original = json.loads(json.dumps(items))
    result, store = fit(items, budget=budget)
    assert result.size_after == len(json.dumps(items)) <= budget
    content = json.loads(store[URI])
    cache = {}
    for before, after in zip(original, items, strict=True):
        label = after["consolidatedAnnotation"]["content"]["pose"]
        restored = restore_overflow(label, lambda uri: store[uri].decode(), cache)
        assert restored == before["consolidatedAnnotation"]["content"]["pose"]
    assert set(content) == set(result.moved)


def test_fit_last_stage_keeps_only_id_and_reference():
    items = response()
    fit(items, budget=6_100)
    labels = [item["consolidatedAnnotation"]["content"]["pose"] for item in items]
    assert any(set(label) == {"dataset_object_id", "overflow"} for label in labels)
    assert all("dataset_object_id" in label for label in labels)


def test_fit_uses_the_callers_measured_sizes():
    items = response()
    sizes = [len(json.dumps(item)) for item in items]
    result, _ = fit(items, budget=10**6)
    assert fit_response(items, "pose", uri=URI, write=None, sizes=sizes) == result


def test_fit_refuses_a_response_that_is_not_standard_json():
    items = response()
    items[0]["consolidatedAnnotation"]["content"]["pose"]["worker_id"] = float("nan")
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        fit(items, budget=10**6)


def test_fit_without_a_place_to_write_raises():
    with pytest.raises(ResponseTooLarge, match="names no S3 location"):
        fit_response(response(), "pose", uri=None, write=None, budget=100)


def test_fit_impossible_budget_raises():
    with pytest.raises(ResponseTooLarge, match="even with every movable field moved to S3"):
        fit(response(), budget=100)


def test_overflow_uri_beside_the_payload():
    payload = "s3://b/out/job/annotations/consolidated-annotation/consolidation-request/iteration-2/t.json"
    assert (
        overflow_uri(payload, None, [])
        == "s3://b/out/job/annotations/consolidated-annotation/pose-labeling-overflow/iteration-2/t.json"
    )
    assert (
        overflow_uri("s3://b/x/worker_response/0/t.json", None, [])
        == "s3://b/x/worker_response/0/pose-labeling-overflow/t.json"
    )


def test_overflow_uri_under_output_config_is_deterministic():
    first = overflow_uri(None, "s3://b/out/job/annotations", ["1", "2"])
    assert first == overflow_uri(None, "s3://b/out/job/annotations/", ["1", "2"])
    assert first.startswith(
        "s3://b/out/job/annotations/consolidated-annotation/pose-labeling-overflow/"
    )
    assert first != overflow_uri(None, "s3://b/out/job/annotations", ["1", "3"])
    assert overflow_uri(None, None, ["1"]) is None


def test_restore_without_overflow_is_identity():
    label = {"dataset_object_id": "1"}
    assert restore_overflow(label, lambda uri: "{}") is label
