"""Size bounds used for Lambda's response limit: never below what json.dumps writes."""

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.consolidation import Agreement, SkeletonAgreement
from handlers.json_size import (
    dumps,
    numbers_size_bound,
    scalar_size,
    string_size,
    strings_size,
)
from handlers.label import ConsolidatedLabel, WorkerResult, build_label
from handlers.qa import QaFlag
from handlers.skeleton import FieldError, Keypoint, Skeleton, Visibility
from handlers.submission import parse_answer
from tests.handlers.conftest import COCO, person, submission


def size(value):
    """What the Lambda runtime writes: json.dumps with its defaults."""
    return len(json.dumps(value))


# Hostile values: every Unicode category (lone surrogates, astral characters,
# control characters, quotes), numbers beyond any coordinate, non-finite floats.
hostile_text = st.text(st.characters(exclude_categories=()), max_size=40)
long_text = st.text(st.characters(exclude_categories=()), min_size=200, max_size=2000)
numbers = st.one_of(
    st.integers(-(10**40), 10**40),
    st.integers(0, 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1e-7, 1e16, 1.2345678901234567e-308, -0.0, 5e-324]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)
keypoints = st.builds(
    Keypoint,
    hostile_text | st.sampled_from(COCO.labels),
    numbers,
    numbers,
    st.sampled_from(list(Visibility)),
    st.none() | st.dictionaries(hostile_text, json_values, max_size=3),
)
skeletons = st.builds(
    Skeleton,
    hostile_text | long_text,
    st.lists(keypoints, max_size=20),
    st.none() | st.dictionaries(hostile_text, json_values, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(numbers, max_size=30))
def test_numbers_size_bound_is_never_below_json(values):
    assert numbers_size_bound(values) >= sum(size(v) for v in values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30))
def test_numbers_size_of_floats_is_exact(values):
    assert numbers_size_bound(values) == sum(size(v) for v in values)


def test_numbers_size_of_whole_pixels_counts_the_widest():
    assert numbers_size_bound([5, 120, 1000]) == 12
    assert numbers_size_bound([7, 0, 9]) == sum(size(v) for v in [7, 0, 9])


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_text | long_text, max_size=10))
def test_strings_size_is_exact(texts):
    assert strings_size(texts) == sum(size(t) for t in texts)
    for t in texts:
        assert string_size(t) == size(t)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_scalar_size_is_exact_for_any_value(value):
    assert scalar_size(value) == size(value)


@settings(max_examples=300, deadline=None)
@given(json_values | st.just([]) | st.just({}))
def test_dumps_writes_what_json_dumps_writes(value):
    assert dumps(value) == json.dumps(value)


@settings(max_examples=250, deadline=None)
@given(skeletons)
def test_skeleton_bound_is_never_below_json(skeleton):
    assert skeleton.json_size_bound() >= size(skeleton.to_jsonable())


flags = st.builds(
    QaFlag,
    st.sampled_from(["left_right_swap", "outside_image", "duplicate_skeleton"]),
    long_text | hostile_text,
    st.none() | st.integers(0, 10**30),
    st.none() | st.dictionaries(hostile_text, json_values, max_size=3),
)
errors = st.builds(
    FieldError, long_text | hostile_text, long_text, st.sampled_from(["error", "warning"])
)
agreements = st.none() | st.builds(
    Agreement,
    st.integers(0, 9),
    st.none() | numbers,
    st.lists(
        st.builds(
            SkeletonAgreement,
            st.integers(0, 9),
            st.none() | numbers,
            st.dictionaries(hostile_text, numbers, max_size=3),
            st.dictionaries(hostile_text, st.integers(0, 9), max_size=3),
        ),
        max_size=3,
    ),
)
scalars = st.none() | st.booleans() | numbers | hostile_text | long_text
workers = st.builds(
    WorkerResult,
    hostile_text,
    st.none() | st.lists(skeletons, max_size=3),
    st.booleans(),
    st.none() | st.booleans(),
    st.none() | numbers,
    st.none() | st.integers(-(10**40), 10**40),
    st.none() | st.integers(-(10**40), 10**40),
    st.none() | st.dictionaries(hostile_text, json_values, max_size=3),
    json_values,
    st.booleans(),
)
labels = st.builds(
    ConsolidatedLabel,
    dataset_object_id=hostile_text,
    data_object_s3_uri=st.none() | hostile_text,
    image_file_name=st.none() | long_text,
    image_s3_location=st.none() | hostile_text,
    original_annotations=st.lists(skeletons, max_size=2),
    updated_annotations=st.none() | st.lists(skeletons, max_size=3),
    worker_id=st.none() | hostile_text | st.lists(hostile_text, max_size=3),
    no_changes_needed=st.booleans(),
    was_modified=st.booleans(),
    total_time_in_seconds=st.none() | numbers,
    workers=st.lists(workers, max_size=3),
    agreement=agreements,
    qa_flags=st.lists(flags, max_size=3),
    errors=st.lists(errors, max_size=3),
    overflow=st.none() | st.dictionaries(hostile_text, json_values, max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(labels)
def test_label_bound_is_never_below_json(label):
    assert label.json_size_bound() >= size(label.to_jsonable())


answer_fields = st.fixed_dictionaries(
    {},
    optional={
        "updated_annotations": st.lists(json_values, max_size=3).map(json.dumps) | json_values,
        "original_annotations": st.lists(json_values, max_size=2).map(json.dumps) | json_values,
        "image_s3_uri": scalars,
        "image_name": scalars,
        "image_width": scalars,
        "image_height": scalars,
        "no_changes_needed": scalars,
        "total_time_in_seconds": scalars,
        "other": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(answer_fields, min_size=1, max_size=3))
def test_label_bound_holds_for_labels_built_from_hostile_answers(answers):
    parsed = [
        parse_answer(json.dumps(a), worker_id=f"w{i}", field=f"workers[{i}]", rig=COCO)
        for i, a in enumerate(answers)
    ]
    label = build_label("7", parsed, data_object_s3_uri="s3://b/a.jpg", rig=COCO)
    assert label.json_size_bound() >= size(label.to_jsonable())


def test_label_bound_is_close_for_whole_pixel_labels():
    people = [person(at=(100, 50)), person(at=(700, 60), occluded=("nose",))]
    answer = parse_answer(submission(people), worker_id="private.us-east-1.W0", rig=COCO)
    label = build_label("7", [answer], data_object_s3_uri="s3://b/a.jpg", rig=COCO)
    actual = size(label.to_jsonable())
    assert actual <= label.json_size_bound() <= actual * 1.05


def test_label_bound_is_exact_for_float_coordinates():
    people = [person(at=(100, 50)), person(at=(700, 60))]
    for p in people:
        for i, k in enumerate(p["annotations"]):
            k["x"] += 0.25 + i / 1000
            k["y"] /= 3
    answer = parse_answer(submission(people), worker_id="private.us-east-1.W0", rig=COCO)
    label = build_label("7", [answer], data_object_s3_uri="s3://b/a.jpg", rig=COCO)
    assert label.json_size_bound() == size(label.to_jsonable())


def test_skeleton_bound_counts_infinities_as_json_spells_them():
    s = Skeleton("p", [Keypoint("nose", math.inf, -math.inf), Keypoint("é", math.nan, 0.5)])
    assert s.json_size_bound() == size(s.to_jsonable())
