"""Ground Truth's Lambda protocol: the two requests, the payload, the responses.

Shapes (see ``docs/contracts.md``): the pre-annotation event
carries one manifest line in ``dataObject``; the post-annotation event names
the label attribute and points to a payload (``payload.s3Uri``, or inline
``payload.content``) that is a JSON array of data objects, each with the
workers' ``annotations[].annotationData`` (``content``, a JSON string, or
``s3Uri``). Nothing here knows about skeletons: this module only moves JSON
between Ground Truth and the annotation model, and maps the camelCase wire
keys in exactly one place each way.

``version`` is not validated (both 2018-10-06 and 2018-10-16 occur);
``labelCategories`` may be null or absent; extra keys (``outputConfig``,
``maxHumanWorkersPerDataObject``, ``kmsKeyId`` …) are read where useful and
otherwise ignored.

boto3 is imported only when S3 must be used, so that importing a handler
stays fast (a cold start pays for boto3 only if it reads S3).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from handlers.limits import MAX_ANSWER_CHARS, keepable
from handlers.skeleton import FieldError, json_problem, show_value

LOG = logging.getLogger(__name__)

#: ``true`` makes the post-annotation Lambda read the payload as ``event["roleArn"]``
#: (sts:AssumeRole) instead of with its own role. Off by default.
ASSUME_ROLE_ENV = "POSE_LABELING_ASSUME_ROLE"

_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@\-/]+")
_S3_URI = re.compile(r"s3://([^/]+)/(.+)", re.DOTALL)
#: Bytes read at most from an answer stored in S3: past this it is over
#: MAX_ANSWER_CHARS whatever its characters (UTF-8 takes at most 4 bytes each).
MAX_ANSWER_BYTES = 4 * MAX_ANSWER_CHARS
_s3_client: Any = None


class ProtocolError(ValueError):
    """An event or payload that is not in Ground Truth's shape; names the field."""


@dataclass(frozen=True, slots=True)
class PreAnnotationRequest:
    data_object: dict[str, Any]
    version: str | None = None
    labeling_job_arn: str | None = None

    @classmethod
    def parse(cls, event: Any) -> PreAnnotationRequest:
        if not isinstance(event, dict):
            raise ProtocolError(f"event: expected an object, got {show_value(event)}")
        data_object = event.get("dataObject")
        if not isinstance(data_object, dict):
            raise ProtocolError(
                f"dataObject: expected the manifest line (an object), got {show_value(data_object)}"
            )
        return cls(data_object, event.get("version"), event.get("labelingJobArn"))


@dataclass(frozen=True, slots=True)
class PostAnnotationRequest:
    label_attribute_name: str
    payload_s3_uri: str | None = None
    #: ``payload.content`` when the payload came inline (decoded, or the raw string).
    payload_content: Any = None
    version: str | None = None
    labeling_job_arn: str | None = None
    #: None when the job has no label-category file (or was made in the console).
    label_categories: list[Any] | None = None
    role_arn: str | None = None
    #: ``s3://<S3OutputPath>/<job>/annotations``; absent from the console's test event.
    output_config: str | None = None
    kms_key_id: str | None = None
    max_workers_per_object: int | None = None

    @classmethod
    def parse(cls, event: Any) -> PostAnnotationRequest:
        if not isinstance(event, dict):
            raise ProtocolError(f"event: expected an object, got {show_value(event)}")
        name = event.get("labelAttributeName")
        if not isinstance(name, str) or not name:
            raise ProtocolError(
                f"labelAttributeName: expected the label attribute name, got {show_value(name)}"
            )
        payload = event.get("payload")
        if not isinstance(payload, dict) or not ("s3Uri" in payload or "content" in payload):
            raise ProtocolError(
                f"payload: expected an object with s3Uri or content, got {show_value(payload)}"
            )
        uri = payload.get("s3Uri")
        if uri is not None and not (isinstance(uri, str) and uri.startswith("s3://")):
            raise ProtocolError(f"payload.s3Uri: expected an s3:// URI, got {show_value(uri)}")
        categories = event.get("labelCategories")
        workers = event.get("maxHumanWorkersPerDataObject")
        return cls(
            label_attribute_name=name,
            payload_s3_uri=uri,
            payload_content=payload.get("content"),
            version=event.get("version"),
            labeling_job_arn=event.get("labelingJobArn"),
            label_categories=categories if isinstance(categories, list) else None,
            role_arn=event.get("roleArn"),
            output_config=_str_or_none(event.get("outputConfig")),
            kms_key_id=_str_or_none(event.get("kmsKeyId")),
            max_workers_per_object=workers if isinstance(workers, int) else None,
        )


@dataclass(frozen=True, slots=True)
class WorkerSubmission:
    """One entry of a data object's ``annotations``: who answered, and where the answer is."""

    worker_id: str
    #: ``annotationData.content``: the answer as a JSON string (or already an object).
    content: Any = None
    #: ``annotationData.s3Uri``: the answer stored in S3 instead.
    s3_uri: str | None = None


@dataclass(slots=True)
class DatasetObject:
    dataset_object_id: str
    s3_uri: str | None
    submissions: list[WorkerSubmission]
    #: Problems with the envelope, with field paths as in the label (``workers[1]``).
    errors: list[FieldError] = field(default_factory=list)
    #: Entries of ``annotations`` that cannot be used, by index, as the label keeps them
    #: raw (each has its entry in ``errors``).
    rejected: dict[int, Any] = field(default_factory=dict)

    def reject(self, index: int, raw: Any, message: str) -> None:
        """Leave ``workers[index]`` out of consolidation, keeping ``raw`` and saying why."""
        kept, problem = keepable(raw)
        if problem is not None:
            message += f" (as text: it {problem})"
        self.errors.append(FieldError(f"workers[{index}]", message))
        self.rejected[index] = kept


def parse_payload(value: Any) -> list[DatasetObject]:
    """The decoded payload array -> data objects. Entries without an ID are logged and skipped:
    an answer Ground Truth cannot match to an object cannot be returned."""
    if not isinstance(value, list):
        raise ProtocolError(
            f"payload: expected a JSON array of data objects, got {show_value(value)}"
        )
    objects = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("datasetObjectId"), str | int):
            LOG.error("payload[%s]: no datasetObjectId, so it cannot be answered; skipped", i)
            continue
        objects.append(_dataset_object(item))
    return objects


def _dataset_object(item: dict[str, Any]) -> DatasetObject:
    errors: list[FieldError] = []
    data_object = item.get("dataObject")
    s3_uri = data_object.get("s3Uri") if isinstance(data_object, dict) else None
    if not isinstance(s3_uri, str):
        s3_uri = None
        errors.append(
            FieldError(
                "data_object_s3_uri", "the data object has no s3Uri (a text source?)", "warning"
            )
        )
    result = DatasetObject(str(item["datasetObjectId"]), s3_uri, [], errors)
    annotations = item.get("annotations")
    if not isinstance(annotations, list):
        errors.append(
            FieldError(
                "workers", f"expected a list of worker annotations, got {show_value(annotations)}"
            )
        )
        return result
    first_answer: dict[str, int] = {}
    for j, entry in enumerate(annotations):
        worker_id = _worker_id(entry)
        result.submissions.append(WorkerSubmission(worker_id))
        data = entry.get("annotationData") if isinstance(entry, dict) else None
        if not isinstance(data, dict) or not ("content" in data or "s3Uri" in data):
            result.reject(j, entry, "no annotationData.content or annotationData.s3Uri; kept raw")
            continue
        content, uri = data.get("content"), data.get("s3Uri")
        stored = content is None and "s3Uri" in data  # the answer is in S3
        if stored and not (isinstance(uri, str) and _S3_URI.fullmatch(uri)):
            got = show_value(uri)
            result.reject(j, entry, f"annotationData.s3Uri: expected s3://bucket/key, got {got}")
            continue
        if worker_id and worker_id in first_answer:
            result.reject(
                j,
                entry,
                f"the same worker as workers[{first_answer[worker_id]}] answered again; "
                "this answer is not used, kept raw",
            )
            continue
        first_answer.setdefault(worker_id, j)
        result.submissions[j] = WorkerSubmission(worker_id, content, uri if stored else None)
    return result


def _worker_id(entry: Any) -> str:
    worker = entry.get("workerId") if isinstance(entry, dict) else None
    return worker if isinstance(worker, str) else ""


def read_payload(request: PostAnnotationRequest, *, s3: Any = None) -> list[DatasetObject]:
    """The request's data objects, from ``payload.content`` or from S3.

    An S3 error propagates (after boto3's retries) so that Ground Truth
    retries the batch instead of recording empty labels; so does a payload
    that is not valid JSON (a partial write).
    """
    if request.payload_s3_uri is not None:
        text = read_s3_text(request.payload_s3_uri, s3=s3, role_arn=request.role_arn)
        source = request.payload_s3_uri
    elif isinstance(request.payload_content, str):
        text, source = request.payload_content, "payload.content"
    else:
        return parse_payload(request.payload_content)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(
            f"{source}: the payload is not valid JSON ({json_problem(exc, text)})"
        ) from exc
    except RecursionError as exc:  # Ground Truth never nests its payload this deep
        raise ProtocolError(f"{source}: the payload is nested too deeply to read") from exc
    return parse_payload(value)


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI.fullmatch(uri)
    if not match:
        raise ProtocolError(f"expected s3://bucket/key, got {show_value(uri)}")
    return match[1], match[2]


def read_s3_text(
    uri: str, *, s3: Any = None, role_arn: str | None = None, max_bytes: int | None = None
) -> str:
    """The object's text; with ``max_bytes``, :class:`TooLarge` past that many bytes (the
    rest is not read)."""
    bucket, key = split_s3_uri(uri)
    client = s3 if s3 is not None else s3_client(role_arn)
    stream = client.get_object(Bucket=bucket, Key=key)["Body"]
    body = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
    if max_bytes is not None and len(body) > max_bytes:
        raise TooLarge(f"{uri} is over {max_bytes:,} bytes")
    return body.decode("utf-8")


class TooLarge(ValueError):
    """An S3 object larger than the caller accepts."""


def write_s3_json(
    uri: str,
    body: bytes,
    *,
    s3: Any = None,
    role_arn: str | None = None,
    kms_key_id: str | None = None,
) -> None:
    bucket, key = split_s3_uri(uri)
    client = s3 if s3 is not None else s3_client(role_arn)
    extra: dict[str, str] = {}
    if kms_key_id:  # the job encrypts its output: so must we
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", **extra)


def assume_role_enabled() -> bool:
    return os.environ.get(ASSUME_ROLE_ENV, "").strip().lower() in ("1", "true", "yes")


def s3_client(role_arn: str | None = None) -> Any:
    """The S3 client: the Lambda's own role (created once), or ``role_arn`` when enabled.

    Retries use botocore's standard mode (5 attempts, backoff), so a
    throttled or briefly failing read is retried before the handler gives up.
    """
    global _s3_client
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60
    )
    if assume_role_enabled():
        if not isinstance(role_arn, str) or not _ROLE_ARN.fullmatch(role_arn):
            raise ProtocolError(
                f"roleArn: {ASSUME_ROLE_ENV} is on but the event's roleArn {show_value(role_arn)} "
                "is not an IAM role ARN"
            )
        credentials = boto3.client("sts", config=config).assume_role(
            RoleArn=role_arn, RoleSessionName="pose-labeling-post-annotation"
        )["Credentials"]
        return boto3.client(
            "s3",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=config,
        )
    if _s3_client is None:
        _s3_client = boto3.client("s3", config=config)
    return _s3_client


def pre_annotation_response(task_input: dict[str, Any]) -> dict[str, Any]:
    """``isHumanAnnotationRequired`` spelled right and a JSON boolean (contracts §0.1-0.2)."""
    return {"taskInput": task_input, "isHumanAnnotationRequired": True}


def consolidation_response(
    dataset_object_id: str, label_attribute_name: str, label: dict[str, Any]
) -> dict[str, Any]:
    return {
        "datasetObjectId": dataset_object_id,
        "consolidatedAnnotation": {"content": {label_attribute_name: label}},
    }


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
