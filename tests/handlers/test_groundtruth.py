"""Ground Truth's wire protocol: requests, payload envelope, S3 access, responses."""

import json

import pytest

from handlers import groundtruth
from handlers.groundtruth import (
    ASSUME_ROLE_ENV,
    PostAnnotationRequest,
    ProtocolError,
    TooLarge,
    consolidation_response,
    parse_payload,
    pre_annotation_response,
    read_s3_text,
    s3_client,
    write_s3_json,
)
from tests.handlers.conftest import BUCKET, event_file


def test_request_reads_the_documented_and_the_real_world_keys():
    event = event_file("pose.post-annotation.event.json") | {
        "kmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/k"
    }
    request = PostAnnotationRequest.parse(event)
    assert request.label_attribute_name == "pose"
    assert request.payload_s3_uri.endswith(
        "consolidation-request/iteration-1/2026-01-05_10:00:00.json"
    )
    assert request.label_categories is None
    assert (
        request.output_config
        == "s3://pose-labeling-bucket/labeling_jobs/output/pose-job-1/annotations"
    )
    assert request.max_workers_per_object == 3
    assert request.kms_key_id.endswith(":key/k")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "payload: expected an object with s3Uri or content, got null"),
        ({}, "payload: expected an object with s3Uri or content, got {}"),
        (
            {"s3Uri": "https://bucket/key"},
            'payload.s3Uri: expected an s3:// URI, got "https://bucket/key"',
        ),
    ],
)
def test_request_bad_payload_reference(payload, message):
    event = {"labelAttributeName": "pose", "payload": payload}
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PostAnnotationRequest.parse(event)


def test_payload_envelope_problems_become_errors_not_crashes():
    [first, second] = parse_payload([
        {"datasetObjectId": 7, "dataObject": {"content": "some text"}, "annotations": "nope"},
        {"datasetObjectId": "8", "dataObject": {"s3Uri": "s3://b/a.jpg"},
         "annotations": [{"workerId": "w", "annotationData": {"content": "{}"}}, "junk"]},
    ])  # fmt: skip
    assert first.dataset_object_id == "7" and first.s3_uri is None and first.submissions == []
    assert [str(e) for e in first.errors] == [
        "data_object_s3_uri: the data object has no s3Uri (a text source?)",
        'workers: expected a list of worker annotations, got "nope"',
    ]
    assert [s.worker_id for s in second.submissions] == ["w", ""]
    assert second.rejected == {1: "junk"}


def test_responses_have_ground_truths_keys():
    assert pre_annotation_response({"a": 1}) == {
        "taskInput": {"a": 1},
        "isHumanAnnotationRequired": True,
    }
    assert consolidation_response("3", "pose", {"x": 1}) == {
        "datasetObjectId": "3",
        "consolidatedAnnotation": {"content": {"pose": {"x": 1}}},
    }


def test_default_client_retries_and_is_created_once(aws, monkeypatch):
    monkeypatch.delenv(ASSUME_ROLE_ENV, raising=False)
    client = s3_client("arn:aws:iam::111111111111:role/ignored")
    assert client is s3_client()
    assert client.meta.config.retries == {"total_max_attempts": 5, "mode": "standard"}


def test_assume_role_client_uses_the_job_roles_credentials(aws, monkeypatch):
    monkeypatch.setenv(ASSUME_ROLE_ENV, "true")
    client = s3_client("arn:aws:iam::111111111111:role/pose-labeling-ground-truth")
    assert client.meta.config.retries["mode"] == "standard"
    assert client._get_credentials().access_key != "testing"
    assert groundtruth._s3_client is None  # never cached: credentials expire


def test_write_uses_the_jobs_kms_key(s3):
    import boto3

    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    uri = f"s3://{BUCKET}/labeling_jobs/output/x.json"
    write_s3_json(uri, b"{}", s3=s3, kms_key_id=key)
    head = s3.head_object(Bucket=BUCKET, Key="labeling_jobs/output/x.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key)
    assert json.loads(read_s3_text(uri, s3=s3)) == {}


def test_bad_s3_uri_named():
    with pytest.raises(ProtocolError, match='expected s3://bucket/key, got "s3://bucket-only"'):
        read_s3_text("s3://bucket-only", s3=object())


def test_read_with_a_byte_limit_stops_past_it(s3):
    uri = f"s3://{BUCKET}/labeling_jobs/output/answer.json"
    write_s3_json(uri, b'"0123456789"', s3=s3)
    assert read_s3_text(uri, s3=s3, max_bytes=12) == '"0123456789"'
    with pytest.raises(TooLarge, match=r"answer\.json is over 11 bytes"):
        read_s3_text(uri, s3=s3, max_bytes=11)
