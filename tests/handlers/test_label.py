"""The consolidated label: documented fields, several workers, nothing lost."""

import copy
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.label import LABEL_FIELDS, ConsolidatedLabel, build_label
from handlers.submission import parse_answer
from tests.handlers.conftest import COCO, person, submission
from tests.handlers.test_skeleton import valid_skeletons

IMAGE = "s3://pose-labeling-bucket/labeling_jobs/images/a.jpg"


def label(*contents, **kwargs):
    answers = [
        parse_answer(c, worker_id=f"private.us-east-1.W{i}", field=f"workers[{i}]", rig=COCO)
        for i, c in enumerate(contents)
    ]
    return build_label("7", answers, data_object_s3_uri=IMAGE, rig=COCO, **kwargs)


def test_single_worker_label_has_exactly_the_documented_fields():
    updated = [{"name": "p", "annotations": [{"label": "nose", "x": 10, "y": 20}]}]
    out = label(submission(updated)).to_jsonable()
    assert out == {
        "dataset_object_id": "7",
        "data_object_s3_uri": IMAGE,
        "image_file_name": "a.jpg",
        "image_s3_location": IMAGE,
        "original_annotations": [],
        "updated_annotations": [
            {"name": "p", "annotations": [{"label": "nose", "x": 10, "y": 20, "visibility": 2}]}
        ],
        "worker_id": "private.us-east-1.W0",
        "no_changes_needed": False,
        "was_modified": True,
        "total_time_in_seconds": 42,
        "rig": {"name": "coco-person-17", "fingerprint": COCO.fingerprint},
        "workers": [
            {
                "worker_id": "private.us-east-1.W0",
                "same_as_consolidated": True,
                "no_changes_needed": False,
                "was_modified": True,
                "total_time_in_seconds": 42,
                "image_width": 640,
                "image_height": 480,
            }
        ],
    }
    assert list(out)[: len(LABEL_FIELDS)] == list(LABEL_FIELDS)


def test_pre_annotation_unchanged_by_worker_is_not_modified():
    pre = [person(move={"nose": (0.4, 0.3)})]  # the component rounds to whole pixels
    worker = [person(), {"name": "", "annotations": []}]
    out = label(submission(worker, original=pre, no_changes_needed="true"))
    assert out.was_modified is False
    assert out.no_changes_needed is True
    assert out.qa_flags == []


def test_no_changes_needed_but_modified_is_flagged():
    out = label(
        submission([person(move={"nose": (30, 0)})], original=[person()], no_changes_needed="true")
    )
    assert out.was_modified is True
    assert [f.to_jsonable() for f in out.qa_flags] == [
        {
            "flag": "modified_despite_no_changes_needed",
            "message": "a worker ticked 'no changes needed' but changed the pre-annotations",
            "workers": [0],
        }
    ]


def test_three_workers_consolidate_with_agreement_and_sums():
    a, b = {"name": "a"}, {"name": "b", "at": (400, 60)}
    out = label(
        submission([person(**a), person(**b)], total_time_in_seconds="10"),
        submission([person(**b, move={"nose": (4, 0)}), person(**a)], total_time_in_seconds="20"),
        submission(
            [person(**a, move={"nose": (2, 0)})],
            total_time_in_seconds="30.5",
            no_changes_needed="true",
        ),
    )
    assert out.worker_id == ["private.us-east-1.W0", "private.us-east-1.W1", "private.us-east-1.W2"]
    assert out.total_time_in_seconds == 60.5
    assert out.no_changes_needed is False
    assert [s.name for s in out.updated_annotations] == ["a", "b"]
    assert out.updated_annotations[1].points()["nose"].x == 464  # median of 462 and 466
    assert out.agreement.workers == 3
    assert [s.workers for s in out.agreement.skeletons] == [3, 2]
    assert [f.flag for f in out.qa_flags] == [
        "drawn_by_some_workers",
        "modified_despite_no_changes_needed",
    ]
    assert out.qa_flags[0].skeleton == 1 and out.qa_flags[0].details == {"workers": 2, "of": 3}
    assert [w.was_modified for w in out.workers] == [True, True, True]


def test_unusable_worker_kept_raw_and_others_consolidated():
    broken = submission([person()])[:60]
    out = label(submission([person()]), broken, submission([person(move={"nose": (2, 2)})]))
    assert len(out.updated_annotations) == 1
    assert out.agreement.workers == 2
    assert out.workers[1].updated_annotations is None and out.workers[1].raw == broken
    assert [(e.field, e.level) for e in out.errors] == [("workers[1]", "error")]
    assert out.usable and not out.complete
    assert out.to_jsonable()["workers"][1]["updated_annotations"] is None


def test_no_usable_answer_gives_null_annotations_not_an_empty_list():
    out = label("{not json")
    assert out.updated_annotations is None
    assert not out.usable and not out.complete
    assert out.was_modified is False
    assert out.to_jsonable()["updated_annotations"] is None
    assert out.errors[0].field == "workers[0]"


def test_no_answers_at_all_is_an_error():
    out = build_label("1", [], rig=COCO, data_object_s3_uri=IMAGE)
    assert [str(e) for e in out.errors] == ["workers: no worker answer arrived for this object"]
    assert out.worker_id == [] and out.image_file_name == "a.jpg"


def test_workers_disagreeing_on_image_size_warned():
    out = label(
        submission([person()]), submission([person()], image_width="1280", image_height="960")
    )
    assert out.image_size == (640, 480)
    assert [str(e) for e in out.errors] == [
        "workers[1].image_width: image size 1280x960 differs from workers[0]'s 640x480; the latter is used for checks"
    ]


def test_label_json_round_trip_equal():
    out = label(submission([person(swap=(("left_wrist", "right_wrist"),))]), submission([person()]))
    text = json.dumps(out.to_jsonable())
    assert ConsolidatedLabel.parse(json.loads(text), COCO).to_jsonable() == out.to_jsonable()


@settings(max_examples=100, deadline=None)
@given(valid_skeletons, st.integers(1, 9))
def test_identical_workers_label_is_that_answer(value, workers):
    out = label(*[submission(copy.deepcopy(value)) for _ in range(workers)])
    expected = [s for s in value if any(k["visibility"] for k in s["annotations"])]
    assert out.to_jsonable()["updated_annotations"] == expected
    if workers > 1:
        assert all(
            s.mean_oks in (None, 1.0) or s.mean_oks > 0.9999 for s in out.agreement.skeletons
        )


def test_single_worker_copy_kept_when_it_differs_from_the_consolidated_answer():
    out = label(submission([person(), {"name": "empty", "annotations": []}]))
    worker = out.to_jsonable()["workers"][0]
    assert "same_as_consolidated" not in worker
    assert [s["name"] for s in worker["updated_annotations"]] == ["person 1", "empty"]
    assert [s["name"] for s in out.to_jsonable()["updated_annotations"]] == ["person 1"]


def test_single_worker_reference_restored_when_parsed():
    out = label(submission([person()]))
    parsed = ConsolidatedLabel.parse(json.loads(json.dumps(out.to_jsonable())), COCO)
    assert parsed.workers[0].updated_annotations == out.updated_annotations
    assert parsed.workers[0].same_as_consolidated
