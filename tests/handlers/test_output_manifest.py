"""Reading output-manifest lines: our labels, both metadata spellings, unlabeled and foreign lines."""

import json
from pathlib import Path

import pytest

from handlers.label import LABEL_FIELDS, ConsolidatedLabel, build_label
from handlers.output_manifest import label_attribute_names, parse_output_manifest_line
from handlers.skeleton import AnnotationError
from handlers.submission import parse_answer
from tests.handlers.conftest import COCO, person, submission

EVENTS = Path(__file__).resolve().parent.parent / "events"


def our_label():
    answer = parse_answer(
        submission([person(occluded=("nose",))]), worker_id="private.us-east-1.A", rig=COCO
    )
    return build_label(
        "3",
        [answer],
        data_object_s3_uri="s3://pose-labeling-bucket/labeling_jobs/images/a.jpg",
        rig=COCO,
    )


def line(metadata, label=None):
    return json.dumps(
        {
            "source-ref": "s3://pose-labeling-bucket/labeling_jobs/images/a.jpg",
            "pose": our_label().to_jsonable() if label is None else label,
            "pose-metadata": metadata,
        }
    )


REAL = {
    "type": "groundtruth/custom",
    "job-name": "pose-job",
    "human-annotated": "yes",
    "creation-date": "2021-08-23T22:41:12.546000",
}
DOCS = {
    "type": "groundTruth/custom",
    "job_name": "pose-job",
    "human-annotated": "yes",
    "creation_date": "2021-08-23T22:41:12.546000",
}


@pytest.mark.parametrize("metadata", [REAL, DOCS], ids=["real-spelling", "docs-spelling"])
def test_line_metadata_both_spellings(metadata):
    parsed = parse_output_manifest_line(line(metadata), rig=COCO)
    assert parsed.label_attribute_name == "pose"
    assert parsed.metadata.job_name == "pose-job"
    assert parsed.metadata.creation_date == "2021-08-23T22:41:12.546000"
    assert parsed.metadata.human_annotated is True
    assert parsed.metadata.is_custom


def test_line_label_round_trips_through_json():
    label = our_label()
    parsed = parse_output_manifest_line(line(REAL), rig=COCO).label
    assert parsed.to_jsonable() == label.to_jsonable()
    assert parsed.updated_annotations[0].keypoints[0].visibility == 1
    assert parsed.image_size == (640, 480)
    assert parsed.usable


def test_line_without_label_attribute_is_tolerated():
    parsed = parse_output_manifest_line('{"source-ref": "s3://b/unlabeled.jpg"}', rig=COCO)
    assert parsed.source_ref == "s3://b/unlabeled.jpg"
    assert parsed.label is None and parsed.metadata is None and parsed.label_attribute_name is None


def test_line_with_two_label_attributes_needs_a_name():
    data = json.loads(line(REAL))
    data["pose-review"], data["pose-review-metadata"] = data["pose"], REAL
    with pytest.raises(
        AnnotationError,
        match=r"line 4: line: several label attributes \(pose, pose-review\); say which one",
    ):
        parse_output_manifest_line(json.dumps(data), rig=COCO, where="line 4")
    assert (
        parse_output_manifest_line(
            data, rig=COCO, label_attribute_name="pose-review"
        ).label_attribute_name
        == "pose-review"
    )


def test_line_truncated_json_names_the_line():
    with pytest.raises(
        AnnotationError,
        match=r"^output.manifest:7: line: not valid JSON \(.* at character 80 of 80\)$",
    ):
        parse_output_manifest_line(line(REAL)[:80], rig=COCO, where="output.manifest:7")


def test_line_label_missing_keys_is_a_warning_not_a_crash():
    parsed = parse_output_manifest_line(line(REAL, label={}), rig=COCO)
    assert not parsed.label.usable
    assert [str(e) for e in parsed.label.errors] == [
        "pose: missing keys: " + ", ".join(LABEL_FIELDS)
    ]


def test_line_label_moved_to_overflow_reports_no_missing_keys():
    label = our_label().to_jsonable()
    moved = {"workers", "updated_annotations"}
    label = {k: v for k, v in label.items() if k not in moved}
    label["overflow"] = {"s3_uri": "s3://b/x.json", "fields": sorted(moved)}
    parsed = parse_output_manifest_line(line(REAL, label=label), rig=COCO).label
    assert parsed.errors == [] and parsed.overflow["fields"] == ["updated_annotations", "workers"]


def test_real_bounding_box_manifest_finds_its_label_attribute():
    first = (EVENTS / "sm-examples.yolov5.sample_output.manifest").read_text().splitlines()[0]
    parsed = parse_output_manifest_line(first, rig=COCO)
    assert parsed.label_attribute_name == "category"
    assert parsed.metadata.job_name == "labeling-job/ground-truth-od-demo-1662974840"
    assert parsed.metadata.type == "groundtruth/object-detection" and not parsed.metadata.is_custom
    assert not parsed.label.usable


def test_real_classification_manifest_label_is_not_ours():
    first = (EVENTS / "sm-examples.ic_data.output.manifest").read_text().splitlines()[0]
    assert label_attribute_names(json.loads(first)) == ["birds-open-images-clone"]
    with pytest.raises(AnnotationError, match="expected a consolidated annotation object, got int"):
        parse_output_manifest_line(first, rig=COCO, where="ic_data:1")


def test_label_parse_rejects_non_object():
    with pytest.raises(
        ValueError, match="label: expected a consolidated annotation object, got list"
    ):
        ConsolidatedLabel.parse([], COCO)


def test_label_records_its_rig_and_older_labels_read_without_one():
    label = our_label().to_jsonable()
    assert label["rig"] == {"name": "coco-person-17", "fingerprint": COCO.fingerprint}
    assert ConsolidatedLabel.parse(label, COCO).rig == COCO.identity
    older = {k: v for k, v in label.items() if k != "rig"}
    parsed = ConsolidatedLabel.parse(older, COCO)
    assert parsed.rig is None and parsed.errors == []
    broken = ConsolidatedLabel.parse(label | {"rig": "coco"}, COCO)
    assert broken.rig is None
    assert [str(e) for e in broken.errors] == [
        "label.rig: expected {name, fingerprint} strings; ignored"
    ]
