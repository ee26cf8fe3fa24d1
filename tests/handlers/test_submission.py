"""One worker's answer: the contract's strings, what is tolerated, what is rejected."""

import json

import pytest

from handlers.submission import parse_answer, s3_uri_from_url
from tests.handlers.conftest import COCO, person, submission


def messages(answer):
    return [(e.field, e.message, e.level) for e in answer.errors]


def test_answer_per_contract_parses_without_errors():
    answer = parse_answer(
        submission([person()]), worker_id="private.us-east-1.A", field="workers[0]", rig=COCO
    )
    assert answer.errors == []
    assert answer.usable
    assert len(answer.updated_annotations[0].keypoints) == 17
    assert answer.original_annotations == []
    assert (answer.image_s3_uri, answer.image_name) == (
        "s3://pose-labeling-bucket/labeling_jobs/images/a.jpg",
        "a.jpg",
    )
    assert (answer.image_width, answer.image_height) == (640, 480)
    assert answer.no_changes_needed is False
    assert answer.total_time_in_seconds == 42
    assert answer.raw is None and answer.other_fields is None


def test_answer_values_already_decoded_are_used_with_warnings():
    content = json.dumps({
        "updated_annotations": [person()], "original_annotations": [], "image_width": 640,
        "image_height": 480, "no_changes_needed": True, "total_time_in_seconds": 12.5,
    })  # fmt: skip
    answer = parse_answer(content, rig=COCO)
    assert answer.usable and answer.no_changes_needed and answer.total_time_in_seconds == 12.5
    assert messages(answer) == [
        (
            "workers[0].updated_annotations",
            "expected a JSON string, got a list; used as is",
            "warning",
        ),
        (
            "workers[0].original_annotations",
            "expected a JSON string, got a list; used as is",
            "warning",
        ),
        ("workers[0].image_width", "expected a string, got a number; used as is", "warning"),
        ("workers[0].image_height", "expected a string, got a number; used as is", "warning"),
        ("workers[0].no_changes_needed", "expected a string, got a boolean; used as is", "warning"),
        (
            "workers[0].total_time_in_seconds",
            "expected a string, got a number; used as is",
            "warning",
        ),
    ]


@pytest.mark.parametrize("original", ["", "null"])
def test_answer_public_component_empty_original_read_as_none(original):
    answer = parse_answer(submission([person()], original=original), rig=COCO)
    assert answer.original_annotations == []
    assert messages(answer) == [
        ("workers[0].original_annotations", f"{original!r} read as no annotations ([])", "warning")
    ]


def test_answer_presigned_image_uri_becomes_s3_uri_and_name_loses_query():
    url = "https://bucket.s3.us-east-1.amazonaws.com/labeling_jobs/images/a%20b.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"
    answer = parse_answer(
        submission([person()], image_s3_uri=url, image_name="a%20b.jpg?X-Amz-Signature=abc"),
        rig=COCO,
    )
    assert answer.image_s3_uri == "s3://bucket/labeling_jobs/images/a b.jpg"
    assert answer.image_name == "a b.jpg"
    assert messages(answer) == [
        ("workers[0].image_s3_uri", "an HTTPS (presigned) URL; read as its s3:// URI", "warning"),
        ("workers[0].image_name", "query string removed", "warning"),
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://my.bucket.s3.amazonaws.com/k/a.jpg?x=1", "s3://my.bucket/k/a.jpg"),
        ("https://b.s3-eu-west-1.amazonaws.com/a.jpg", "s3://b/a.jpg"),
        ("https://s3.us-west-2.amazonaws.com/b/k/a.jpg", "s3://b/k/a.jpg"),
        ("https://b.s3.dualstack.us-east-1.amazonaws.com/a.jpg", "s3://b/a.jpg"),
        ("https://example.com/a.jpg", None),
        ("https://s3.amazonaws.com/b", None),
    ],
)
def test_s3_uri_from_url(url, expected):
    assert s3_uri_from_url(url) == expected


def test_answer_non_s3_url_loses_only_its_query_string():
    answer = parse_answer(
        submission([person()], image_s3_uri="https://cdn.example.com/a.jpg?sig=1"), rig=COCO
    )
    assert answer.image_s3_uri == "https://cdn.example.com/a.jpg"


@pytest.mark.parametrize(
    ("value", "flag", "message"),
    [
        ("true", True, None),
        ("True", True, ('"True" read as true', "warning")),
        ("on", True, ('"on" read as true', "warning")),
        (None, False, ("missing; read as false", "warning")),
        ("maybe", False, ('expected "true" or "false", got "maybe"; read as false', "error")),
        (1, False, ('expected "true" or "false", got 1; read as false', "error")),
    ],
)
def test_answer_no_changes_needed_forms(value, flag, message):
    answer = parse_answer(submission([person()], no_changes_needed=value), rig=COCO)
    assert answer.no_changes_needed is flag
    expected = [("workers[0].no_changes_needed", *message)] if message else []
    assert messages(answer) == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("image_width", "wide", 'expected a whole number of pixels from 1 to 1000000, got "wide"; ignored'),
        ("image_width", "640.5", 'expected a whole number of pixels from 1 to 1000000, got "640.5"; ignored'),
        ("image_height", "0", 'expected a whole number of pixels from 1 to 1000000, got "0"; ignored'),
        # Finite, whole and positive, and no image ever was this wide: once read as a
        # 309-digit number of pixels, without an error.
        ("image_width", "1e308", 'expected a whole number of pixels from 1 to 1000000, got "1e308"; ignored'),
        ("image_height", "9" * 12, f'expected a whole number of pixels from 1 to 1000000, got "{"9" * 12}"; ignored'),
        ("total_time_in_seconds", "-3", 'expected a number of seconds, got "-3"; ignored'),
        ("total_time_in_seconds", "NaN", 'expected a number of seconds, got "NaN"; ignored'),
    ],
)  # fmt: skip
def test_answer_bad_numbers_ignored_with_error(key, value, message):
    answer = parse_answer(submission([person()], **{key: value}), rig=COCO)
    assert getattr(answer, key) is None
    assert messages(answer) == [(f"workers[0].{key}", message, "error")]
    assert answer.usable and answer.raw is not None


def test_answer_truncated_json_is_unusable_and_kept_raw():
    content = submission([person()])[:100]
    answer = parse_answer(content, field="workers[2]", rig=COCO)
    assert not answer.usable
    assert answer.raw == content
    assert messages(answer) == [
        (
            "workers[2]",
            "the answer is not valid JSON (Unterminated string starting at character 24 of 100)",
            "error",
        )
    ]


def test_answer_truncated_updated_annotations_is_unusable_and_kept_raw():
    content = submission(json.dumps([person()])[:50])
    answer = parse_answer(content, rig=COCO)
    assert not answer.usable and answer.raw == content
    assert messages(answer)[0][0] == "workers[0].updated_annotations"
    assert messages(answer)[0][1].startswith("not valid JSON (")


def test_answer_foreign_bounding_box_answer_is_explained():
    content = json.dumps(
        {
            "annotatedResult": {
                "boundingBoxes": [],
                "inputImageProperties": {"height": 1, "width": 1},
            }
        }
    )
    answer = parse_answer(content, rig=COCO)
    assert not answer.usable and answer.raw == content
    assert messages(answer)[0] == (
        "workers[0].updated_annotations",
        'missing: this is not a pose-labeling answer (it has "annotatedResult"); '
        "is the job using this project's worker template?",
        "error",
    )


def test_answer_not_an_object():
    answer = parse_answer("[1, 2]", rig=COCO)
    assert not answer.usable
    assert messages(answer) == [("workers[0]", "expected the answer object, got [1, 2]", "error")]


def test_answer_bad_keypoint_keeps_the_rest_and_the_raw_answer():
    updated = [
        person(name="a"),
        {
            "name": "b",
            "annotations": [{"label": "nose", "x": 5, "y": 5}, {"label": "tail", "x": 1, "y": 1}],
        },
    ]
    content = submission(updated)
    answer = parse_answer(content, field="workers[1]", rig=COCO)
    assert [len(s.keypoints) for s in answer.updated_annotations] == [17, 1]
    assert messages(answer) == [
        (
            "workers[1].updated_annotations[1].annotations[1].label",
            "unknown label \"tail\": not in rig 'coco-person-17'; keypoint left out",
            "error",
        )
    ]
    assert answer.raw == content


def test_answer_extra_template_fields_pass_through():
    answer = parse_answer(submission([person()], comment="hard image"), rig=COCO)
    assert answer.other_fields == {"comment": "hard image"}
    assert answer.errors == []
