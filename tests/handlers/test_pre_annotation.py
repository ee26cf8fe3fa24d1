"""The pre-annotation Lambda: manifest line in, taskInput out; bad lines fail loudly."""

import importlib
import json

import pytest

import handlers.pre_annotation as pre
from handlers.groundtruth import ProtocolError
from handlers.rig import RIG_FILE_ENV
from handlers.skeleton import AnnotationError
from tests.handlers.conftest import COCO, event_file, person

IMAGE = "s3://pose-labeling-bucket/labeling_jobs/images/a%20b.jpg"


@pytest.fixture(autouse=True)
def deployed_rig(monkeypatch):
    monkeypatch.setattr(pre, "RIG", COCO)


def handle(data_object):
    return pre.lambda_handler({"version": "2018-10-16", "dataObject": data_object})


@pytest.mark.parametrize(
    "name",
    [
        "gt-recipe.pre_human_task_test_event.json",
        "lambda-console.sagemaker-ground-truth-pre-human.json",
    ],
)
def test_pre_real_events_without_pre_annotations(name):
    event = event_file(name)
    result = pre.lambda_handler(event, None)
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
    task = pre.lambda_handler(event_file("pose.pre-annotation.event.json"))["taskInput"]
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
    assert task["image_name"] == "a b.jpg"


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
        ({"source-ref": IMAGE, "annotations": [{"name": "p", "annotations": [{"label": "nose", "x": 1, "y": 1}, {"label": "lft_knee", "x": 2, "y": 2}]}]},
         f"dataset object {IMAGE}: annotations[0].annotations[1].label: unknown label \"lft_knee\": not in rig 'coco-person-17'; keypoint left out"),
        ({"source-ref": IMAGE, "annotations": [{"name": "p", "annotations": [{"label": "nose", "x": -3, "y": 1}]}]},
         f"dataset object {IMAGE}: annotations[0].annotations[0].x: negative coordinate -3; keypoint left out"),
        ({"source-ref": IMAGE, "initial_values": '[{"name": "p", "annot'},
         f"dataset object {IMAGE}: initial_values: not valid JSON (Unterminated string starting at character 15 of 21)"),
        ({"source-ref": IMAGE, "annotations": {"name": "p"}},
         f'dataset object {IMAGE}: annotations: expected a list of skeletons, got {{"name": "p"}}'),
        ({"source-ref": IMAGE, "annotations": [], "initial_values": "[]"},
         f"dataset object {IMAGE}: annotations: both annotations and initial_values are given; keep one"),
    ],
    ids=["text-source", "not-s3", "unknown-label", "negative", "truncated", "not-a-list", "both-keys"],
)  # fmt: skip
def test_pre_bad_line_fails_naming_field_and_object(data_object, message, caplog):
    with pytest.raises(AnnotationError) as err:
        handle(data_object)
    assert str(err.value) == message
    assert f"pre-annotation rejected: {message}" in caplog.text


def test_pre_event_without_data_object_fails():
    with pytest.raises(
        ProtocolError, match="dataObject: expected the manifest line \\(an object\\), got null"
    ):
        pre.lambda_handler({"version": "2018-10-06"})


def test_pre_without_rig_checks_structure_only(monkeypatch):
    monkeypatch.setattr(pre, "RIG", None)
    line = {
        "source-ref": IMAGE,
        "annotations": [{"name": "p", "annotations": [{"label": "antenna", "x": 1, "y": 1}]}],
    }
    assert (
        json.loads(handle(line)["taskInput"]["initial_values"])[0]["annotations"][0]["label"]
        == "antenna"
    )


def test_pre_rig_is_loaded_once_at_import_from_the_environment(monkeypatch, tmp_path):
    (tmp_path / "rig.json").write_text(json.dumps(COCO.to_jsonable() | {"name": "deployed"}))
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv(RIG_FILE_ENV, "rig.json")
    try:
        module = importlib.reload(pre)
        assert module.RIG.name == "deployed"
    finally:
        monkeypatch.delenv(RIG_FILE_ENV)
        importlib.reload(pre)
