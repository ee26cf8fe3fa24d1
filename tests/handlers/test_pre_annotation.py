"""The pre-annotation Lambda: manifest line in, taskInput out; bad lines fail loudly."""

import importlib
import json

import pytest

import handlers.pre_annotation as pre
from handlers.groundtruth import ProtocolError
from handlers.rig import RIG_FILE_ENV, RigError, deployed_rig
from handlers.skeleton import AnnotationError
from tests.handlers.conftest import COCO, event_file, person

IMAGE = "s3://pose-labeling-bucket/labeling_jobs/images/a%20b.jpg"


def handle(data_object):
    return pre.pre_annotate({"version": "2018-10-16", "dataObject": data_object}, COCO)


@pytest.mark.parametrize(
    "name",
    [
        "gt-recipe.pre_human_task_test_event.json",
        "lambda-console.sagemaker-ground-truth-pre-human.json",
    ],
)
def test_pre_real_events_without_pre_annotations(name):
    event = event_file(name)
    result = pre.pre_annotate(event, COCO)
    source = event["dataObject"]["source-ref"]
    assert result == {
        "taskInput": {
            "image_s3_uri": source,
            "image_name": source.rsplit("/", 1)[-1],
            "initial_values": "[]",
        },
        "isHumanAnnotationRequired": True,
    }
    assert json.dumps(result).count('"isHumanAnnotationRequired": true') == 1


def test_pre_pose_event_pre_annotations_normalised():
    task = pre.pre_annotate(event_file("pose.pre-annotation.event.json"), COCO)["taskInput"]
    skeletons = json.loads(task["initial_values"])
    assert [s["name"] for s in skeletons] == ["person 1", "person 2"]
    assert skeletons[0]["annotations"][0] == {"label": "nose", "x": 182.4, "y": 82, "visibility": 2}
    assert skeletons[1]["annotations"] == [{"label": "nose", "x": 582, "y": 92, "visibility": 2}]
    assert task["image_name"] == "pair.jpg"


@pytest.mark.parametrize(
    "data_object",
    [
        {"source-ref": IMAGE, "annotations": [person()]},
        {"source-ref": IMAGE, "annotations": json.dumps([person()])},
        {"source-ref": IMAGE, "initial_values": json.dumps([person()])},
    ],
    ids=["annotations-list", "annotations-string", "initial_values"],
)
def test_pre_annotation_forms_give_the_same_task_input(data_object):
    task = handle(data_object)["taskInput"]
    assert json.loads(task["initial_values"]) == [person()]
    # S3 keys in a manifest are written raw: "%20" is part of this key, not a space.
    assert task["image_name"] == "a%20b.jpg"


@pytest.mark.parametrize("value", ["", "null", "[]", []])
def test_pre_empty_pre_annotations(value):
    assert (
        handle({"source-ref": IMAGE, "initial_values": value})["taskInput"]["initial_values"]
        == "[]"
    )


@pytest.mark.parametrize(
    ("data_object", "message"),
    [
        ({"source": "a sentence to label"}, "dataset object: source-ref: expected the s3:// URI of an image, the line has source"),
        ({"source-ref": "https://example.com/a.jpg"}, 'dataset object: source-ref: expected the s3:// URI of an image, got "https://example.com/a.jpg"'),
        ({"source-ref": "s3://bucket"}, 'dataset object: source-ref: expected the s3:// URI of an image, got "s3://bucket"'),
        ({"source-ref": "s3://bucket/images/"}, 'dataset object: source-ref: expected the s3:// URI of an image, got "s3://bucket/images/"'),
        ({"source-ref": IMAGE, "annotations": [{"name": "p", "annotations": [{"label": "nose", "x": 1, "y": 1}, {"label": "lft_knee", "x": 2, "y": 2}]}]},
         f"dataset object {IMAGE}: annotations[0].annotations[1].label: unknown label \"lft_knee\": not in rig 'coco-person-17'; keypoint left out"),
        ({"source-ref": IMAGE, "annotations": [{"name": "p", "annotations": [{"label": "nose", "x": -3, "y": 1}]}]},
         f"dataset object {IMAGE}: annotations[0].annotations[0].x: negative coordinate -3; keypoint left out"),
        ({"source-ref": IMAGE, "initial_values": '[{"name": "p", "annot'},
         f"dataset object {IMAGE}: initial_values: not valid JSON (Unterminated string starting at character 15 of 21)"),
        ({"source-ref": IMAGE, "annotations": {"name": "p"}},
         f'dataset object {IMAGE}: annotations: expected a list of skeletons, got {{"name": "p"}}'),
        ({"source-ref": IMAGE, "initial_values": "[" * 5000 + "]" * 5000},
         f"dataset object {IMAGE}: initial_values: nested more than 20 levels deep; not read"),
        ({"source-ref": IMAGE, "annotations": [person()] * 101},
         f"dataset object {IMAGE}: annotations: 101 skeletons, over the limit of 100 per image"),
        ({"source-ref": IMAGE, "annotations": [], "initial_values": "[]"},
         f"dataset object {IMAGE}: annotations: both annotations and initial_values are given; keep one"),
    ],
    ids=["text-source", "not-s3", "bucket-only", "folder", "unknown-label", "negative", "truncated", "not-a-list", "deep", "crowd", "both-keys"],
)  # fmt: skip
def test_pre_bad_line_fails_naming_field_and_object(data_object, message, caplog):
    with pytest.raises(AnnotationError) as err:
        handle(data_object)
    assert str(err.value) == message
    assert f"pre-annotation rejected: {message}" in caplog.text


def review(*reasons: str, **extra):
    return {
        "job": "pose-job",
        "round": 1,
        "line": 3,
        "dataset_object_id": "2",
        "reasons": [{"code": "audit", "reason": r} for r in reasons],
        **extra,
    }


def test_review_line_gives_its_reasons_as_annotation_issues():
    hostile = '</crowd-2d-skeleton><script>alert(1)</script> {{ task.input }} "quoted"'
    data_object = {
        "source-ref": IMAGE,
        "annotations": [person()],
        "review": review("picked at random for a quality audit", hostile),
    }
    task = handle(data_object)["taskInput"]
    # Passed on as written: the template's escaped attribute is what keeps it text.
    assert json.loads(task["annotation_issues"]) == [
        {"reason": "picked at random for a quality audit"},
        {"reason": hostile},
    ]
    assert json.loads(task["initial_values"]) == [person()]


def test_a_line_without_review_has_no_annotation_issues():
    assert "annotation_issues" not in handle({"source-ref": IMAGE})["taskInput"]
    assert (
        handle({"source-ref": IMAGE, "review": review()})["taskInput"]["annotation_issues"] == "[]"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("audit", 'review: expected an object with reasons, got "audit"'),
        ({"job": "j"}, "review.reasons: expected a list of {code, reason} objects, got null"),
        (review(*["x"] * 21), "review.reasons: 21 reasons, over the limit of 20"),
        ({"reasons": ["look again"]}, 'review.reasons[0]: expected {code, reason}, got "look again"'),
        (review("ok", " "), 'review.reasons[1].reason: expected a non-empty string, got " "'),
        ({"reasons": [{"code": "audit"}]}, "review.reasons[0].reason: expected a non-empty string, got null"),
        (review("x" * 501), "review.reasons[0].reason: 501 characters, over the limit of 500"),
    ],
    ids=["not-object", "no-reasons", "too-many", "not-an-object", "blank", "missing", "too-long"],
)  # fmt: skip
def test_bad_review_reasons_fail_naming_the_field(value, message):
    with pytest.raises(AnnotationError) as err:
        handle({"source-ref": IMAGE, "review": value})
    assert str(err.value) == f"dataset object {IMAGE}: {message}"


def test_pre_event_without_data_object_fails():
    with pytest.raises(
        ProtocolError, match="dataObject: expected the manifest line \\(an object\\), got null"
    ):
        pre.pre_annotate({"version": "2018-10-06"}, COCO)


@pytest.fixture
def deployed(tmp_path, monkeypatch):
    """A deployment whose rig knows only an antenna, as Lambda's environment names it."""
    rig = {"name": "mast", "keypoints": [{"label": "antenna", "x": 0, "y": 0}]}
    (tmp_path / "rig.json").write_text(json.dumps(rig))
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv(RIG_FILE_ENV, "rig.json")
    deployed_rig.cache_clear()
    yield
    deployed_rig.cache_clear()


def test_pre_lambda_handler_checks_against_the_deployed_rig(deployed):
    event = {"version": "2018-10-16", "dataObject": {"source-ref": IMAGE}}
    line = {"name": "p", "annotations": [{"label": "antenna", "x": 1, "y": 1}]}
    event["dataObject"]["annotations"] = [line]
    assert json.loads(pre.lambda_handler(event, None)["taskInput"]["initial_values"]) == [
        {"name": "p", "annotations": [{"label": "antenna", "x": 1, "y": 1, "visibility": 2}]}
    ]
    line["annotations"][0]["label"] = "nose"
    with pytest.raises(AnnotationError, match="unknown label \"nose\": not in rig 'mast'"):
        pre.lambda_handler(event, None)


def test_pre_lambda_handler_without_a_deployed_rig_fails_loudly(monkeypatch):
    monkeypatch.delenv(RIG_FILE_ENV, raising=False)
    deployed_rig.cache_clear()
    with pytest.raises(RigError, match=f"{RIG_FILE_ENV} is not set"):
        pre.lambda_handler({"version": "2018-10-16", "dataObject": {"source-ref": IMAGE}}, None)


def test_no_handler_module_reads_the_deployment_at_import(monkeypatch):
    import handlers.post_annotation

    monkeypatch.delenv(RIG_FILE_ENV, raising=False)
    deployed_rig.cache_clear()
    for module in (pre, handlers.post_annotation):
        importlib.reload(module)  # would raise, or fill the cache, if it read the rig
    assert deployed_rig.cache_info().currsize == 0
