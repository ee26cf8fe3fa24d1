"""The skeleton model: parsing, validation with field paths, serialisation, comparison."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.skeleton import (
    MAX_COORDINATE,
    AnnotationError,
    FieldError,
    Keypoint,
    Skeleton,
    Visibility,
    decode_json_list,
    load_skeletons,
    parse_skeletons,
    same_annotations,
    skeletons_to_jsonable,
)
from tests.handlers.conftest import COCO, person


def one(annotations, **skeleton):
    return [{"name": "p", "annotations": annotations, **skeleton}]


def problems(value, rig=COCO, field="updated_annotations"):
    _, errors = parse_skeletons(value, field, rig)
    return [(e.field, e.message, e.level) for e in errors]


def test_parse_valid_skeleton_has_no_errors():
    skeletons, errors = parse_skeletons([person()], "annotations", COCO)
    assert errors == []
    assert len(skeletons) == 1
    assert skeletons[0].keypoints[0] == Keypoint("nose", 162, 72, Visibility.VISIBLE)
    assert len(skeletons[0].keypoints) == 17


def test_parse_missing_visibility_means_visible():
    skeletons, errors = parse_skeletons(one([{"label": "nose", "x": 1, "y": 2}]), "u", COCO)
    assert errors == []
    assert skeletons[0].keypoints[0].visibility is Visibility.VISIBLE


def test_parse_occluded_and_not_labeled_visibility_kept():
    skeletons, _ = parse_skeletons(
        one(
            [
                {"label": "nose", "x": 1, "y": 2, "visibility": 1},
                {"label": "left_eye", "x": 0, "y": 0, "visibility": 0},
            ]
        ),
        "u",
        COCO,
    )
    assert [k.visibility for k in skeletons[0].keypoints] == [
        Visibility.OCCLUDED,
        Visibility.NOT_LABELED,
    ]
    assert skeletons[0].num_labeled == 1
    assert list(skeletons[0].points()) == ["nose"]


def test_parse_extra_keys_pass_through_to_json():
    value = one(
        [{"label": "nose", "x": 1, "y": 2, "score": 0.9}], annotation_options={"editable": False}
    )
    skeletons, errors = parse_skeletons(value, "u", COCO)
    assert errors == []
    assert skeletons_to_jsonable(skeletons) == [
        {
            "name": "p",
            "annotations": [{"label": "nose", "x": 1, "y": 2, "visibility": 2, "score": 0.9}],
            "annotation_options": {"editable": False},
        }
    ]


@pytest.mark.parametrize("value", [math.nan, math.inf, [1, {"deep": -math.inf}]])
def test_parse_pass_through_value_json_cannot_write_is_left_out_with_error(value):
    # json.loads accepts NaN and Infinity; written back, they would make the output unreadable.
    data = one([{"label": "nose", "x": 1, "y": 2, "score": value, "keep": 1}], options=value)
    skeletons, errors = parse_skeletons(data, "u", COCO)
    assert [(e.field, e.level) for e in errors] == [
        ("u[0].options", "error"),
        ("u[0].annotations[0].score", "error"),
    ]
    assert errors[0].message == (
        "the value holds NaN or Infinity, which standard JSON cannot write; left out"
    )
    assert skeletons_to_jsonable(skeletons) == [
        {
            "name": "p",
            "annotations": [{"label": "nose", "x": 1, "y": 2, "visibility": 2, "keep": 1}],
        }
    ]


def test_parse_unknown_label_names_the_field_path():
    value = [person(), one([{"label": "nose", "x": 1, "y": 1}] * 0 + [
        {"label": "nose", "x": 1, "y": 1}, {"label": "left_eye", "x": 1, "y": 1},
        {"label": "right_eye", "x": 1, "y": 1}, {"label": "lft_knee", "x": 1, "y": 1}])[0]]  # fmt: skip
    assert problems(value) == [
        ("updated_annotations[1].annotations[3].label",
         "unknown label \"lft_knee\": not in rig 'coco-person-17'; keypoint left out", "error"),
    ]  # fmt: skip


def test_parse_duplicate_label_in_one_skeleton_rejected():
    value = one([{"label": "nose", "x": 1, "y": 1}, {"label": "nose", "x": 5, "y": 5}])
    skeletons, _ = parse_skeletons(value, "u", COCO)
    assert skeletons[0].keypoints == [Keypoint("nose", 1, 1)]
    assert problems(value) == [
        (
            "updated_annotations[0].annotations[1].label",
            'duplicate label "nose" (also annotations[0]); left out',
            "error",
        )
    ]


@pytest.mark.parametrize(
    ("keypoint", "field", "message"),
    [
        ({"label": "nose", "x": -1, "y": 2}, "x", "negative coordinate -1; keypoint left out"),
        ({"label": "nose", "x": 1, "y": float("nan")}, "y", "expected a finite number, got NaN; keypoint left out"),
        ({"label": "nose", "x": float("inf"), "y": 1}, "x", "expected a finite number, got Infinity; keypoint left out"),
        ({"label": "nose", "x": 1e300, "y": 1}, "x", "1e+300 is beyond 1000000 pixels; keypoint left out"),
        ({"label": "nose", "x": 10**30, "y": 1}, "x", "1000000000000000000000000000000 is beyond 1000000 pixels; keypoint left out"),
        ({"label": "nose", "x": True, "y": 1}, "x", "expected a number, got true; keypoint left out"),
        ({"label": "nose", "x": None, "y": 1}, "x", "expected a number, got null; keypoint left out"),
        ({"label": "nose", "y": 1}, "x", "expected a number, missing; keypoint left out"),
        ({"label": "nose", "x": [1], "y": 1}, "x", "expected a number, got [1]; keypoint left out"),
        ({"label": "nose", "x": "abc", "y": 1}, "x", 'expected a number, got "abc"; keypoint left out'),
        ({"label": 3, "x": 1, "y": 1}, "label", "expected a non-empty string, got 3; keypoint left out"),
        ({"label": "", "x": 1, "y": 1}, "label", 'expected a non-empty string, got ""; keypoint left out'),
        ({"label": "nose", "x": 1, "y": 1, "visibility": 3}, "visibility", "expected 0, 1 or 2 (COCO visibility), got 3; keypoint left out"),
        ({"label": "nose", "x": 1, "y": 1, "visibility": True}, "visibility", "expected 0, 1 or 2 (COCO visibility), got true; keypoint left out"),
    ],
)  # fmt: skip
def test_parse_bad_keypoint_rejected_with_exact_error(keypoint, field, message):
    value = one([{"label": "left_eye", "x": 1, "y": 1}, keypoint])
    skeletons, errors = parse_skeletons(value, "updated_annotations", COCO)
    assert [(e.field, e.message, e.level) for e in errors] == [
        (f"updated_annotations[0].annotations[1].{field}", message, "error")
    ]
    assert [k.label for k in skeletons[0].keypoints] == ["left_eye"]


@pytest.mark.parametrize(
    ("keypoint", "field", "message", "parsed"),
    [
        ({"label": "nose", "x": "12", "y": 1}, "x", 'number given as a string "12"; read as 12', Keypoint("nose", 12, 1)),
        ({"label": "nose", "x": 1, "y": "2.5"}, "y", 'number given as a string "2.5"; read as 2.5', Keypoint("nose", 1, 2.5)),
        ({"label": "nose", "x": 1, "y": 1, "visibility": "1"}, "visibility", '"1" read as 1', Keypoint("nose", 1, 1, Visibility.OCCLUDED)),
    ],
)  # fmt: skip
def test_parse_unambiguous_strings_tolerated_with_warning(keypoint, field, message, parsed):
    skeletons, errors = parse_skeletons(one([keypoint]), "u", COCO)
    assert [(e.field, e.message, e.level) for e in errors] == [
        (f"u[0].annotations[0].{field}", message, "warning")
    ]
    assert skeletons[0].keypoints == [parsed]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"name": "p"}, [("u[0].annotations", "expected a list of keypoints, missing; skeleton left out", "error")]),
        ({"name": "p", "annotations": "[]"}, [("u[0].annotations", 'expected a list of keypoints, got "[]"; skeleton left out', "error")]),
        ("person", [("u[0]", 'expected a skeleton object, got "person"', "error")]),
        ({"name": None, "annotations": []}, [("u[0].name", "null read as an empty name", "warning")]),
        ({"name": 7, "annotations": []}, [("u[0].name", "number read as the name '7'", "warning")]),
        ({"name": ["x"], "annotations": []}, [("u[0].name", 'expected a string, got ["x"]; name left empty', "error")]),
    ],
)  # fmt: skip
def test_parse_bad_skeleton_reports_field(value, expected):
    assert problems([value], field="u") == expected


def test_parse_pass_through_value_nested_too_deep_is_left_out_with_error():
    deep: list = [1]
    for _ in range(30):
        deep = [deep]
    skeletons, errors = parse_skeletons(
        one([{"label": "nose", "x": 1, "y": 2}], deep=deep), "u", COCO
    )
    assert skeletons[0].extra is None
    assert [(e.field, e.message) for e in errors] == [
        ("u[0].deep", "the value nests more than 20 levels deep; left out")
    ]


def test_parse_not_a_list_is_an_error():
    assert problems({"name": "p"}, field="u") == [
        ("u", 'expected a list of skeletons, got {"name": "p"}', "error")
    ]


def test_parse_hostile_strings_kept_as_text_and_cut_short_in_messages():
    hostile = '<img src=x onerror="alert(1)">' * 10
    skeletons, errors = parse_skeletons(
        [{"name": hostile, "annotations": [{"label": hostile, "x": 1, "y": 1}]}], "u", COCO
    )
    assert skeletons[0].name == hostile
    assert len(errors) == 1
    assert errors[0].message.startswith('unknown label "<img src=x onerror=\\"alert(1)\\">')
    assert len(errors[0].message) < 130


def test_load_skeletons_raises_with_context_and_every_error():
    value = one([{"label": "nose", "x": -1, "y": 1}, {"label": "elbow", "x": 1, "y": 1}])
    with pytest.raises(AnnotationError) as err:
        load_skeletons(value, "annotations", COCO, context="dataset object s3://b/a.jpg")
    assert str(err.value) == (
        "dataset object s3://b/a.jpg: annotations[0].annotations[0].x: negative coordinate -1; keypoint left out; "
        "annotations[0].annotations[1].label: unknown label \"elbow\": not in rig 'coco-person-17'; keypoint left out"
    )
    assert len(err.value.errors) == 2


def test_load_skeletons_warnings_do_not_raise():
    assert (
        load_skeletons(one([{"label": "nose", "x": "1", "y": 1}]), "u", COCO)[0].keypoints[0].x == 1
    )


@pytest.mark.parametrize(
    ("text", "expected", "message"),
    [
        ('[{"name": "a", "annotations": []}]', [{"name": "a", "annotations": []}], None),
        ("", [], "'' read as no annotations ([])"),
        ("null", [], "'null' read as no annotations ([])"),
    ],
)
def test_decode_json_list_empty_forms_of_the_public_component(text, expected, message):
    errors: list[FieldError] = []
    assert decode_json_list(text, "original_annotations", errors, empty_means_none=True) == expected
    assert [e.message for e in errors] == ([message] if message else [])


def test_decode_json_list_truncated_json_names_the_position():
    errors: list[FieldError] = []
    assert decode_json_list('[{"name": "a", "annot', "updated_annotations", errors) is None
    assert [str(e) for e in errors] == [
        "updated_annotations: not valid JSON (Unterminated string starting at character 15 of 21)"
    ]


def test_decode_json_list_integer_beyond_python_digit_limit_is_an_error_not_a_crash():
    errors: list[FieldError] = []
    text = '[{"name": "a", "annotations": [{"label": "nose", "x": ' + "9" * 5000 + ', "y": 1}]}]'
    assert decode_json_list(text, "u", errors) is None
    assert errors[0].message.startswith("not valid JSON (Exceeds the limit (4300 digits)")


def test_same_annotations_ignores_order_empty_skeletons_and_rounding():
    a = load_skeletons([person(name="a"), person(name="b", at=(400, 50))], "a", COCO)
    b = load_skeletons(
        [
            {"name": "", "annotations": []},
            {
                "name": "b",
                "annotations": list(reversed(person(name="b", at=(400, 50))["annotations"])),
            },
            person(name="a", move={"nose": (0.4, -0.5)}),
        ],
        "b",
        COCO,
    )
    assert same_annotations(a, b)


@pytest.mark.parametrize(
    "change",
    [
        {"move": {"nose": (1, 0)}},
        {"name": "someone else"},
        {"drop": ("nose",)},
        {"occluded": ("nose",)},
    ],
)
def test_same_annotations_sees_real_changes(change):
    original = load_skeletons([person()], "o", COCO)
    updated = load_skeletons([person(**change)], "u", COCO)
    assert not same_annotations(original, updated)


def test_skeleton_bbox_covers_labeled_points_only():
    s = Skeleton(
        "p",
        [
            Keypoint("a", 10, 20),
            Keypoint("b", 30, 60, Visibility.OCCLUDED),
            Keypoint("c", 500, 500, Visibility.NOT_LABELED),
        ],
    )
    assert s.bbox() == (10, 20, 20, 40)
    assert Skeleton("p", []).bbox() is None


# -- properties -----------------------------------------------------------------

coordinates = st.one_of(st.integers(0, 5000), st.floats(0, 5000, allow_nan=False))
keypoint_lists = st.lists(st.sampled_from(COCO.labels), unique=True, max_size=17).flatmap(
    lambda labels: st.tuples(*[
        st.fixed_dictionaries({"label": st.just(label), "x": coordinates, "y": coordinates,
                               "visibility": st.sampled_from([0, 1, 2])})
        for label in labels
    ]).map(list)
)  # fmt: skip
valid_skeletons = st.lists(
    st.fixed_dictionaries({"name": st.text(max_size=20), "annotations": keypoint_lists}), max_size=4
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["label", "x", "y", "visibility", "name", "annotations", "other"]), inner, max_size=5),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(valid_skeletons)
def test_parse_then_serialise_round_trips_valid_skeletons(value):
    skeletons, errors = parse_skeletons(json.loads(json.dumps(value)), "u", COCO)
    assert errors == []
    assert skeletons_to_jsonable(skeletons) == value


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_any_json_never_raises_and_keeps_only_valid_points(value):
    skeletons, errors = parse_skeletons(value, "u", COCO)
    for e in errors:
        assert e.field.startswith("u")
    for s in skeletons:
        assert isinstance(s.name, str)
        labels = [k.label for k in s.keypoints]
        assert len(labels) == len(set(labels))
        for k in s.keypoints:
            assert k.label in COCO
            assert math.isfinite(k.x) and 0 <= k.x <= MAX_COORDINATE
            assert math.isfinite(k.y) and 0 <= k.y <= MAX_COORDINATE
            assert k.visibility in (0, 1, 2)
    json.dumps(skeletons_to_jsonable(skeletons), allow_nan=False)
