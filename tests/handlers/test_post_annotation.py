"""The post-annotation Lambda end to end: moto S3, real event shapes, every object returned."""

import copy
import json
import logging

import botocore.exceptions
import pytest

import handlers.post_annotation as post
from handlers.groundtruth import ASSUME_ROLE_ENV, ProtocolError, parse_payload
from handlers.label import LABEL_FIELDS, build_label
from handlers.limits import MAX_ANSWER_CHARS, MAX_SKELETONS_PER_IMAGE
from handlers.overflow import OVERFLOW_DIR, RESPONSE_LIMIT_BYTES, restore_overflow
from handlers.pre_annotation import pre_annotate
from handlers.submission import parse_answer
from tests.handlers.conftest import BUCKET, COCO, event_file, person, submission

POSE_EVENT = "pose.post-annotation.event.json"
POSE_PAYLOAD = "pose.post-annotation.payload.json"
W0 = "private.us-east-1.CYUQXZT3LFXJIUFCZMZ6HC2KFM"
IMAGE = f"s3://{BUCKET}/labeling_jobs/images/a.jpg"


def put(s3, uri, body):
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3.put_object(
        Bucket=bucket, Key=key, Body=body if isinstance(body, bytes) else json.dumps(body).encode()
    )


def run(s3, event=None, payload=None):
    event = event or event_file(POSE_EVENT)
    put(s3, event["payload"]["s3Uri"], event_file(POSE_PAYLOAD) if payload is None else payload)
    return post.consolidate_batch(event, COCO, s3=s3)


def labels(response, name="pose"):
    return {
        item["datasetObjectId"]: item["consolidatedAnnotation"]["content"][name]
        for item in response
    }


def obj(dataset_object_id, *contents, workers=None):
    return {
        "datasetObjectId": dataset_object_id,
        "dataObject": {"s3Uri": IMAGE},
        "annotations": [
            {
                "workerId": (workers or [f"private.us-east-1.W{i}" for i in range(len(contents))])[
                    i
                ],
                "annotationData": {"content": c},
            }
            for i, c in enumerate(contents)
        ],
    }


def errors(label):
    return [(e["field"], e["message"]) for e in label.get("errors", []) if e["level"] == "error"]


# -- the realistic batch ---------------------------------------------------------


def test_post_every_object_returned_once_in_payload_order(s3):
    response = run(s3)
    assert [item["datasetObjectId"] for item in response] == ["0", "1", "2"]
    for label in labels(response).values():
        assert list(label)[: len(LABEL_FIELDS)] == list(LABEL_FIELDS)


def test_post_single_worker_keeps_occluded_point(s3):
    label = labels(run(s3))["0"]
    wrist = next(
        k for k in label["updated_annotations"][0]["annotations"] if k["label"] == "left_wrist"
    )
    assert wrist["visibility"] == 1
    assert label["worker_id"] == W0
    assert label["workers"][0]["same_as_consolidated"] is True
    assert (label["workers"][0]["image_width"], label["workers"][0]["image_height"]) == (800, 600)
    assert label["total_time_in_seconds"] == 37
    assert "agreement" not in label and "errors" not in label and "qa_flags" not in label


def test_post_three_workers_partial_skeleton_and_one_workers_swap_outvoted(s3):
    label = labels(run(s3))["1"]
    assert len(label["worker_id"]) == 3 and label["total_time_in_seconds"] == 155
    assert [s["name"] for s in label["updated_annotations"]] == ["person 1", "person 2"]
    agreement = label["agreement"]
    assert agreement["workers"] == 3
    assert [s["workers"] for s in agreement["skeletons"]] == [3, 2]
    alice = agreement["skeletons"][0]
    # One worker clicked alice's wrists on the wrong sides: the median keeps the
    # majority's points, and the spread shows the disagreement.
    assert alice["keypoint_spread"]["left_wrist"] > 40 > alice["keypoint_spread"]["nose"]
    assert label["qa_flags"] == [
        {
            "flag": "drawn_by_some_workers",
            "skeleton": 1,
            "message": "only 2 of 3 workers drew this skeleton",
            "workers": 2,
            "of": 3,
        }
    ]
    assert "same_as_consolidated" not in label["workers"][0]


def test_post_truncated_answer_comes_back_raw_with_error(s3):
    label = labels(run(s3))["2"]
    raw = event_file(POSE_PAYLOAD)[2]["annotations"][0]["annotationData"]["content"]
    assert label["updated_annotations"] is None
    assert label["workers"][0]["raw"] == raw
    assert errors(label) == [
        (
            "workers[0]",
            "the answer is not valid JSON (Unterminated string starting at character 24 of 180)",
        )
    ]


# -- event variants -------------------------------------------------------------


@pytest.mark.parametrize("version", ["2018-10-06", "2018-10-16"])
def test_post_both_event_versions(s3, version):
    event = event_file(POSE_EVENT) | {"version": version}
    assert len(run(s3, event)) == 3


@pytest.mark.parametrize(
    "categories", [None, "absent", [{"label": "person"}]], ids=["null", "absent", "list"]
)
def test_post_label_categories_null_absent_or_given(s3, categories):
    event = event_file(POSE_EVENT)
    if categories == "absent":
        del event["labelCategories"]
    else:
        event["labelCategories"] = categories
    assert len(run(s3, event)) == 3


def test_post_console_event_with_literal_account_id_role(s3, monkeypatch):
    monkeypatch.delenv(ASSUME_ROLE_ENV, raising=False)
    event = event_file("lambda-console.sagemaker-ground-truth-annotation-consolidation.json")
    s3.create_bucket(Bucket="sagemakerexample")
    payload = [obj("0", submission([person()]))]
    response = run(s3, event, payload)
    assert (
        labels(response, "example-attribute")["0"]["updated_annotations"][0]["name"] == "person 1"
    )


def test_post_assume_role_on_rejects_the_console_role_arn(s3, monkeypatch):
    monkeypatch.setenv(ASSUME_ROLE_ENV, "true")
    event = event_file("lambda-console.sagemaker-ground-truth-annotation-consolidation.json")
    with pytest.raises(
        ProtocolError,
        match=r"roleArn: POSE_LABELING_ASSUME_ROLE is on but the event's roleArn \"aws:aws:iam::\{\{account_id\}\}:role/sagemaker-role\" is not an IAM role ARN",
    ):
        post.consolidate_batch(event, COCO)


def test_post_assume_role_on_reads_payload_as_the_job_role(s3, monkeypatch):
    monkeypatch.setenv(ASSUME_ROLE_ENV, "true")
    event = event_file(POSE_EVENT)
    put(s3, event["payload"]["s3Uri"], [obj("0", submission([person()]))])
    assert [item["datasetObjectId"] for item in post.consolidate_batch(event, COCO)] == ["0"]


def test_post_inline_payload_content(s3):
    event = event_file(POSE_EVENT) | {
        "payload": {"content": json.dumps([obj("5", submission([person()]))])}
    }
    assert list(labels(post.consolidate_batch(event, COCO))) == ["5"]


def test_post_answer_stored_in_s3_is_read(s3):
    answer_uri = (
        f"s3://{BUCKET}/labeling_jobs/output/job/annotations/worker-response/iteration-1/0/a.json"
    )
    put(s3, answer_uri, submission([person(name="from s3")]).encode())
    payload = [
        {
            "datasetObjectId": "0",
            "dataObject": {"s3Uri": IMAGE},
            "annotations": [{"workerId": W0, "annotationData": {"s3Uri": answer_uri}}],
        }
    ]
    assert labels(run(s3, payload=payload))["0"]["updated_annotations"][0]["name"] == "from s3"


# -- nothing lost ------------------------------------------------------------------


def test_post_real_bounding_box_payload_objects_returned_with_error(s3):
    event = event_file("gt-recipe.annotation_consolidation_test_event.json")
    s3.create_bucket(Bucket="test-bucket")
    response = run(s3, event, event_file("gt-recipe.sample_annotation_consolidation_payload.json"))
    out = labels(response, "test-label-attribute")
    assert list(out) == ["0", "2"]
    for label in out.values():
        assert label["updated_annotations"] is None
        assert label["workers"][0]["raw"].startswith('{"annotatedResult":{"boundingBoxes"')
        assert errors(label) == [
            ("workers[0].updated_annotations", 'missing: this is not a pose-labeling answer (it has "annotatedResult"); '
             "is the job using this project's worker template?")
        ]  # fmt: skip


BAD = {
    "wrong type": (
        submission(json.dumps({"name": "p"})),
        [("workers[0].updated_annotations", 'expected a list of skeletons, got {"name": "p"}')],
    ),
    "not a JSON string": (
        submission("[{oops"),
        [("workers[0].updated_annotations", "not valid JSON (Expecting property name enclosed in double quotes at character 2 of 6)")],
    ),
    "unknown label": (
        submission([{"name": "p", "annotations": [{"label": "nose", "x": 1, "y": 1}, {"label": "lft_knee", "x": 5, "y": 5}]}]),
        [("workers[0].updated_annotations[0].annotations[1].label", "unknown label \"lft_knee\": not in rig 'coco-person-17'; keypoint left out")],
    ),
    "huge coordinate": (
        submission([{"name": "p", "annotations": [{"label": "nose", "x": 1e300, "y": 1}, {"label": "left_eye", "x": 5, "y": 5}]}]),
        [("workers[0].updated_annotations[0].annotations[0].x", "1e+300 is beyond 1000000 pixels; keypoint left out")],
    ),
    "infinite coordinate": (
        submission('[{"name": "p", "annotations": [{"label": "nose", "x": 1e999, "y": 1}]}]'),
        [("workers[0].updated_annotations[0].annotations[0].x", "expected a finite number, got Infinity; keypoint left out")],
    ),
    "hostile label": (
        submission([{"name": "<script>alert(1)</script>", "annotations": [{"label": "<img src=x onerror=alert(1)>", "x": 1, "y": 1}]}]),
        [("workers[0].updated_annotations[0].annotations[0].label", "unknown label \"<img src=x onerror=alert(1)>\": not in rig 'coco-person-17'; keypoint left out")],
    ),
    "truncated answer": (
        submission([person()])[:40],
        [("workers[0]", "the answer is not valid JSON (Unterminated string starting at character 24 of 40)")],
    ),
}  # fmt: skip


def test_post_bad_answers_each_exact_error_and_the_batch_intact(s3):
    payload = [obj("good-1", submission([person()]))]
    payload += [obj(name, content) for name, (content, _) in BAD.items()]
    payload += [obj("good-2", submission([person(at=(300, 50))]))]
    out = labels(run(s3, payload=payload))
    assert list(out) == ["good-1", *BAD, "good-2"]
    for name, (content, expected) in BAD.items():
        assert errors(out[name]) == expected, name
        assert out[name]["workers"][0]["raw"] == content, name
    for good in ("good-1", "good-2"):
        assert (
            "errors" not in out[good]
            and len(out[good]["updated_annotations"][0]["annotations"]) == 17
        )
    # The hostile skeleton lost its only point, so the consolidated answer has
    # no skeleton; the worker's copy keeps the name, as data.
    assert out["hostile label"]["updated_annotations"] == []
    assert (
        out["hostile label"]["workers"][0]["updated_annotations"][0]["name"]
        == "<script>alert(1)</script>"
    )


def test_post_point_far_outside_the_image_flagged(s3):
    far = person(move={"nose": (900_000, 0)})
    label = labels(run(s3, payload=[obj("0", submission([far]))]))["0"]
    assert label["qa_flags"][0] == {
        "flag": "outside_image",
        "skeleton": 0,
        "message": "1 point(s) outside the 640x480 image",
        "keypoints": ["nose"],
    }


def test_post_swapped_limbs_of_a_single_worker_flagged(s3):
    swapped = person(swap=(("left_knee", "right_knee"), ("left_ankle", "right_ankle")))
    label = labels(run(s3, payload=[obj("0", submission([swapped]))]))["0"]
    assert [f["flag"] for f in label["qa_flags"]] == ["left_right_swap"]
    assert ["left_knee", "right_knee"] in label["qa_flags"][0]["pairs"]


def test_post_annotation_entry_without_answer_kept_raw(s3):
    payload = [
        {
            "datasetObjectId": "0",
            "dataObject": {"s3Uri": IMAGE},
            "annotations": [{"workerId": W0, "annotationData": {}}],
        }
    ]
    label = labels(run(s3, payload=payload))["0"]
    assert label["workers"][0] | {} == {
        **label["workers"][0],
        "raw": {"workerId": W0, "annotationData": {}},
    }
    assert errors(label) == [
        ("workers[0]", "no annotationData.content or annotationData.s3Uri; kept raw")
    ]


def test_post_empty_payload_list(s3):
    assert run(s3, payload=[]) == []


def test_post_payload_entry_without_id_skipped_and_logged(s3, caplog):
    with caplog.at_level(logging.ERROR):
        response = run(s3, payload=[{"annotations": []}, obj("1", submission([person()]))])
    assert [item["datasetObjectId"] for item in response] == ["1"]
    assert "payload[0]: no datasetObjectId, so it cannot be answered; skipped" in caplog.text


def test_post_unreadable_payload_raises_so_ground_truth_retries(s3):
    event = event_file(POSE_EVENT)
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchKey"):
        post.consolidate_batch(event, COCO, s3=s3)


def test_post_truncated_payload_file_raises(s3):
    text = json.dumps(event_file(POSE_PAYLOAD))[:500].encode()
    with pytest.raises(
        ProtocolError,
        match=r"the payload is not valid JSON \(Unterminated string starting at character \d+ of 500\)",
    ):
        run(s3, payload=text)


def test_post_payload_not_a_list_raises(s3):
    with pytest.raises(
        ProtocolError,
        match=r'payload: expected a JSON array of data objects, got \{"datasetObjectId": "0"',
    ):
        run(s3, payload={"datasetObjectId": "0"})


def test_post_event_without_label_attribute_raises():
    event = event_file(POSE_EVENT)
    del event["labelAttributeName"]
    with pytest.raises(
        ProtocolError, match="labelAttributeName: expected the label attribute name, got null"
    ):
        post.consolidate_batch(event, COCO)


# -- one hostile or broken answer never fails the batch ---------------------------------


def hostile_batch(s3, *bad_objects):
    """A good object, the bad ones, a good object: every one comes back, as standard JSON."""
    payload = [obj("good-1", submission([person()])), *bad_objects]
    payload.append(obj("good-2", submission([person(at=(300, 50))])))
    response = run(s3, payload=json.dumps(payload).encode())
    json.dumps(response, allow_nan=False)  # standard JSON, or this raises
    out = labels(response)
    assert list(out) == [o["datasetObjectId"] for o in payload]
    for good in ("good-1", "good-2"):
        assert "errors" not in out[good] and out[good]["updated_annotations"]
    return out


def test_post_answer_nested_20000_deep_is_its_objects_error(s3):
    deep = "[" * 20_000 + "]" * 20_000  # 40 KB: RecursionError in json before the bound
    deep_skeletons = submission("[" * 5_000 + "]" * 5_000)
    out = hostile_batch(s3, obj("deep", deep), obj("deep-skeletons", deep_skeletons))
    assert errors(out["deep"]) == [
        ("workers[0]", "the answer is nested more than 20 levels deep; not read, kept raw")
    ]  # fmt: skip
    assert out["deep"]["workers"][0]["raw"] == deep
    assert errors(out["deep-skeletons"]) == [
        (
            "workers[0].updated_annotations",
            "nested more than 20 levels deep; not read",
        )
    ]
    assert out["deep-skeletons"]["workers"][0]["raw"] == deep_skeletons


def test_post_answer_over_the_size_limit_is_not_read_and_kept(s3):
    content = submission([person()]) + " " * MAX_ANSWER_CHARS  # valid JSON, too long
    out = hostile_batch(s3, obj("long", content))
    assert errors(out["long"]) == [
        ("workers[0]", f"the answer is {len(content):,} characters, over the limit of 2,000,000; not read, kept raw")
    ]  # fmt: skip
    assert out["long"]["workers"][0]["raw"] == content


def test_post_too_many_skeletons_in_one_answer_is_an_error_and_the_answer_kept(s3):
    # The answer: 1,450 overlapping skeletons once peaked at 1.14 GB in the
    # duplicate check, on every retry.
    crowd = submission([person(move={"nose": (k % 7, 0)}) for k in range(1450)])
    out = hostile_batch(s3, obj("crowd", crowd, submission([person()])))
    assert errors(out["crowd"]) == [
        ("workers[0].updated_annotations", "1450 skeletons, over the limit of 100 per image; not read")
    ]  # fmt: skip
    assert out["crowd"]["workers"][0]["raw"] == crowd
    assert out["crowd"]["workers"][0]["updated_annotations"] is None
    assert len(out["crowd"]["updated_annotations"]) == 1  # the other worker's answer is used


def test_post_overlapping_skeletons_at_the_limit_flagged_once_each(s3):
    crowd = submission([person(move={"nose": (k % 7, 0)}) for k in range(MAX_SKELETONS_PER_IMAGE)])
    label = hostile_batch(s3, obj("crowd", crowd))["crowd"]
    duplicates = [f for f in label["qa_flags"] if f["flag"] == "duplicate_skeleton"]
    assert [f["skeleton"] for f in duplicates] == list(range(1, MAX_SKELETONS_PER_IMAGE))
    assert {tuple(f["skeletons"]) for f in duplicates} == {(0, j) for j in range(1, 100)}


def test_post_malformed_or_missing_answer_s3_uri_is_its_objects_error(s3):
    def stored(uri):
        return {
            "datasetObjectId": str(uri),
            "dataObject": {"s3Uri": IMAGE},
            "annotations": [{"workerId": W0, "annotationData": {"s3Uri": uri}}],
        }

    missing = f"s3://{BUCKET}/labeling_jobs/output/job/worker-response/gone.json"
    out = hostile_batch(s3, stored("s3://bucket"), stored(5), stored(missing))
    assert errors(out["s3://bucket"]) == [
        ("workers[0]", 'annotationData.s3Uri: expected s3://bucket/key, got "s3://bucket"')
    ]
    assert errors(out["5"]) == [
        ("workers[0]", "annotationData.s3Uri: expected s3://bucket/key, got 5")
    ]
    assert errors(out[missing]) == [("workers[0]", "the answer file does not exist")]
    assert out["5"]["workers"][0]["raw"] == {"workerId": W0, "annotationData": {"s3Uri": 5}}
    assert out[missing]["workers"][0]["raw"] == missing


def test_post_nan_in_a_kept_entry_never_reaches_the_response(s3):
    # json.loads reads NaN in the payload; the label keeps such entries as their text.
    broken = {"workerId": W0, "annotationData": {"contents": float("nan")}}
    decoded = {
        "workerId": W0,
        "annotationData": {"content": {"updated_annotations": "[]", "n": float("nan")}},
    }
    out = hostile_batch(
        s3,
        {"datasetObjectId": "entry", "dataObject": {"s3Uri": IMAGE}, "annotations": [broken]},
        {"datasetObjectId": "object", "dataObject": {"s3Uri": IMAGE}, "annotations": [decoded]},
    )
    assert (
        out["entry"]["workers"][0]["raw"]
        == '{"workerId": "' + W0 + '", "annotationData": {"contents": NaN}}'
    )
    assert errors(out["entry"]) == [
        (
            "workers[0]",
            "no annotationData.content or annotationData.s3Uri; kept raw (as text: it holds NaN or Infinity, which standard JSON cannot write)",
        )
    ]
    assert out["object"]["workers"][0]["raw"] == '{"updated_annotations": "[]", "n": NaN}'
    assert errors(out["object"]) == [
        ("workers[0]", "the answer holds NaN or Infinity, which standard JSON cannot write; kept as text")
    ]  # fmt: skip


def test_post_null_answer_and_same_worker_twice_are_errors(s3):
    twice = obj(
        "twice", submission([person()]), submission([person(at=(300, 50))]), workers=[W0, W0]
    )
    out = hostile_batch(s3, obj("null", "null"), twice)
    assert errors(out["null"]) == [("workers[0]", "expected the answer object, got null")]
    assert out["null"]["workers"][0]["raw"] == "null"
    assert errors(out["twice"]) == [
        (
            "workers[1]",
            "the same worker as workers[0] answered again; this answer is not used, kept raw",
        )
    ]
    assert len(out["twice"]["updated_annotations"]) == 1 and "agreement" not in out["twice"]
    assert (
        out["twice"]["workers"][1]["raw"]["annotationData"]["content"]
        == twice["annotations"][1]["annotationData"]["content"]
    )


def test_post_many_broken_keypoints_listed_up_to_the_limit(s3):
    broken = [{"name": "p", "annotations": [{"label": "nose", "x": -1, "y": 1}] * 300}]
    label = hostile_batch(s3, obj("broken", submission(broken)))["broken"]
    assert len(label["errors"]) == 101
    assert label["errors"][-1] == {
        "field": "workers[0]",
        "message": "200 more problems not listed",
        "level": "error",
    }


def test_post_an_object_that_cannot_be_consolidated_is_its_own_error(s3, monkeypatch, caplog):
    # A bug must cost its object, not the batch Ground Truth would retry forever.
    parse = post.parse_answer

    def parse_failing_on_marked(content, **kwargs):
        if "MARK" in content:
            raise KeyError("a bug")
        return parse(content, **kwargs)

    monkeypatch.setattr(post, "parse_answer", parse_failing_on_marked)
    marked = submission([person(name="MARK")])
    out = hostile_batch(s3, obj("bug", marked))
    assert errors(out["bug"]) == [
        ("workers", "this object could not be consolidated (KeyError: a bug in the Lambda, please report it); every answer is kept raw")
    ]  # fmt: skip
    assert out["bug"]["workers"][0]["raw"] == marked and out["bug"]["updated_annotations"] is None
    assert "object bug: could not be consolidated (KeyError)" in caplog.text
    assert "MARK" not in caplog.text


def test_post_every_label_names_the_rig_it_was_made_with(s3):
    for label in labels(run(s3)).values():
        assert label["rig"] == {"name": "coco-person-17", "fingerprint": COCO.fingerprint}


# -- round trip, logs, size -----------------------------------------------------------


def test_pre_then_unchanged_worker_then_post_is_not_modified(s3):
    task = pre_annotate(event_file("pose.pre-annotation.event.json"), COCO)["taskInput"]
    # The component shows initial_values, the worker confirms, the component
    # submits them back as whole pixels (356.4 -> 356).
    shown = json.loads(task["initial_values"])
    submitted = copy.deepcopy(shown)
    for skeleton in submitted:
        for k in skeleton["annotations"]:
            k["x"], k["y"] = round(k["x"]), round(k["y"])
    content = submission(submitted, original=task["initial_values"], no_changes_needed="true")
    label = labels(run(s3, payload=[obj("0", content)]))["0"]
    assert label["was_modified"] is False
    assert label["no_changes_needed"] is True
    assert label["original_annotations"] == shown


def test_post_logs_counts_and_errors_never_payloads_or_worker_ids(s3, caplog):
    with caplog.at_level(logging.INFO, logger="handlers"):
        run(s3)
    assert (
        "consolidated 3 objects from 5 answers: 1 unusable answers, 1 objects with errors, 1 with QA flags"
        in caplog.text
    )
    assert "object 2: workers[0]: the answer is not valid JSON" in caplog.text
    assert "private.us-east-1" not in caplog.text
    assert "updated_annotations" not in caplog.text


def roomy_labels(payload):
    """Each object's label as a response without a size limit would hold it."""
    out = {}
    for o in parse_payload(payload):
        answers = [
            parse_answer(s.content, rig=COCO, worker_id=s.worker_id, field=f"workers[{i}]")
            for i, s in enumerate(o.submissions)
        ]
        label = build_label(
            o.dataset_object_id, answers, rig=COCO, data_object_s3_uri=o.s3_uri, errors=o.errors
        )
        out[o.dataset_object_id] = label.to_jsonable()
    return out


def batch(objects, workers):
    people = [{"at": (100, 50), "name": "a"}, {"at": (700, 60), "name": "b"}]
    return [
        obj(
            str(i),
            *[
                submission([person(**p, move={"nose": (w, 0)}) for p in people])
                for w in range(workers)
            ],
        )
        for i in range(objects)
    ]


def test_post_realistic_batch_over_6mb_moves_worker_copies_to_s3(s3):
    event = event_file(POSE_EVENT)
    payload = batch(700, 3)  # about 6.6 MB of labels
    response = run(s3, event, payload)
    size = len(json.dumps(response))
    assert size <= RESPONSE_LIMIT_BYTES
    overflow_key = (
        "labeling_jobs/output/pose-job-1/annotations/consolidated-annotation/"
        + OVERFLOW_DIR
        + "/iteration-1/2026-01-05_10:00:00.json"
    )
    stored = s3.get_object(Bucket=BUCKET, Key=overflow_key)["Body"].read().decode()
    out = labels(response)
    moved = [label for label in out.values() if "overflow" in label]
    assert moved and all(label["overflow"]["fields"] == ["workers"] for label in moved)
    assert all("updated_annotations" in label for label in out.values())
    # Restoring gives back exactly the labels a roomy response would have held.
    expected = roomy_labels(payload)
    cache: dict = {}
    for label in moved:
        assert (
            restore_overflow(label, lambda uri: stored, cache)
            == expected[label["dataset_object_id"]]
        )


def test_post_single_worker_batch_over_6mb_moves_answers_as_written(s3):
    event = event_file(POSE_EVENT)
    people = [person(at=(100, 50), name="a"), person(at=(700, 60), name="b")]
    text = json.dumps(people, separators=(",", ":"))  # as the component writes it
    payload = [obj(str(i), submission(text)) for i in range(2500)]
    response = run(s3, event, payload)
    assert len(json.dumps(response)) <= RESPONSE_LIMIT_BYTES
    out = labels(response)
    moved = [label for label in out.values() if "updated_annotations" not in label]
    assert moved and all("updated_annotations" in label["overflow"]["fields"] for label in moved)
    overflow_key = (
        "labeling_jobs/output/pose-job-1/annotations/consolidated-annotation/"
        + OVERFLOW_DIR
        + "/iteration-1/2026-01-05_10:00:00.json"
    )
    stored = s3.get_object(Bucket=BUCKET, Key=overflow_key)["Body"].read().decode()
    # Restored, the labels are exactly those a roomy response would have held.
    expected = roomy_labels(payload)
    cache: dict = {}
    for dataset_object_id, label in out.items():
        assert restore_overflow(label, lambda uri: stored, cache) == expected[dataset_object_id]
