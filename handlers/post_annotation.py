"""Post-annotation (consolidation) Lambda: the workers' answers in, one label per object out.

Handler: ``handlers.post_annotation.lambda_handler``, which runs
:func:`consolidate_batch` with the rig deployed beside it. Every data object of
the payload comes back, whatever its answers look like: a bad answer is kept raw
with an ``errors`` entry (see :mod:`handlers.limits` for the bounds an answer
must keep), because Ground Truth retries a failed batch and it would fail again.
What does raise, so that Ground Truth retries: an unreadable event or payload,
and S3 failures other than an answer file that does not exist. The logs hold
counts and per-object error texts, never a payload or a worker ID.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from handlers.groundtruth import (
    MAX_ANSWER_BYTES,
    DatasetObject,
    PostAnnotationRequest,
    TooLarge,
    consolidation_response,
    read_payload,
    read_s3_text,
    write_s3_json,
)
from handlers.label import ConsolidatedLabel, build_label
from handlers.limits import keepable
from handlers.overflow import FitResult, fit_response, json_size, overflow_uri
from handlers.rig import Rig, deployed_rig
from handlers.skeleton import FieldError
from handlers.submission import WorkerAnswer, parse_answer

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)


def lambda_handler(event: dict[str, Any], context: Any = None) -> list[dict[str, Any]]:
    return consolidate_batch(event, deployed_rig())


def consolidate_batch(event: dict[str, Any], rig: Rig, *, s3: Any = None) -> list[dict[str, Any]]:
    """The response to one consolidation event: a label for every data object of its payload.

    ``s3`` is a boto3 S3 client (default: the Lambda's own) for the payload, answers
    stored in S3 and the overflow file.
    """
    request = PostAnnotationRequest.parse(event)
    name = request.label_attribute_name
    response: list[dict[str, Any]] = []
    sizes: list[int] = []
    log = _BatchLog()
    for obj in read_payload(request, s3=s3):
        contents = _answer_contents(obj, request, s3)
        label, item, size = _consolidate_object(obj, contents, rig, name)
        response.append(item)
        sizes.append(size)
        log.add(label)
    fit = fit_response(
        response,
        name,
        uri=overflow_uri(
            request.payload_s3_uri,
            request.output_config,
            [item["datasetObjectId"] for item in response],
        ),
        write=lambda uri, content: write_s3_json(
            uri, content, s3=s3, role_arn=request.role_arn, kms_key_id=request.kms_key_id
        ),
        sizes=sizes,
    )
    log.write(fit)
    return response


def _answer_contents(obj: DatasetObject, request: PostAnnotationRequest, s3: Any) -> list[Any]:
    """Each worker's ``annotationData.content``, read from S3 where the answer is stored.

    An answer file that does not exist, or is too large to read, becomes that
    answer's error; any other S3 failure raises, so that Ground Truth retries.
    """
    contents = []
    for i, submission in enumerate(obj.submissions):
        content = submission.content
        if submission.s3_uri is not None and i not in obj.rejected:
            try:
                content = read_s3_text(
                    submission.s3_uri, s3=s3, role_arn=request.role_arn, max_bytes=MAX_ANSWER_BYTES
                )
            except TooLarge as exc:
                obj.reject(i, submission.s3_uri, f"the answer is not read: {exc}")
            except Exception as exc:
                if _error_code(exc) != "NoSuchKey":
                    raise
                obj.reject(i, submission.s3_uri, "the answer file does not exist")
        contents.append(content)
    return contents


def _error_code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ``ClientError`` (without importing botocore)."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return error.get("Code") if isinstance(error, dict) else None


def _consolidate_object(
    obj: DatasetObject, contents: list[Any], rig: Rig, label_attribute_name: str
) -> tuple[ConsolidatedLabel, dict[str, Any], int]:
    """The object's label, its response item and the item's size.

    Whatever goes wrong here is that object's error, never the batch's: the
    answers were parsed with bounds (:mod:`handlers.limits`) so nothing should,
    but a bug that fails the batch would fail every retry of it too.
    """
    try:
        answers = [
            WorkerAnswer(submission.worker_id, None, raw=obj.rejected[i])
            if i in obj.rejected
            else parse_answer(
                contents[i], rig=rig, worker_id=submission.worker_id, field=f"workers[{i}]"
            )
            for i, submission in enumerate(obj.submissions)
        ]
        label = build_label(
            obj.dataset_object_id,
            answers,
            rig=rig,
            data_object_s3_uri=obj.s3_uri,
            errors=obj.errors,
        )
        item = consolidation_response(
            obj.dataset_object_id, label_attribute_name, label.to_jsonable()
        )
        return label, item, json_size(item)
    except Exception as exc:
        failure = type(exc).__name__
        LOG.error(
            "object %s: could not be consolidated (%s); its answers are kept raw\n%s",
            obj.dataset_object_id,
            failure,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
    obj.errors.append(
        FieldError(
            "workers",
            f"this object could not be consolidated ({failure}: a bug in the Lambda, "
            "please report it); every answer is kept raw",
        )
    )
    for i, content in enumerate(contents):
        obj.rejected.setdefault(i, keepable(content)[0])
    answers = [
        WorkerAnswer(s.worker_id, None, raw=obj.rejected[i]) for i, s in enumerate(obj.submissions)
    ]
    label = build_label(
        obj.dataset_object_id, answers, rig=rig, data_object_s3_uri=obj.s3_uri, errors=obj.errors
    )
    item = consolidation_response(obj.dataset_object_id, label_attribute_name, label.to_jsonable())
    return label, item, json_size(item)


@dataclass
class _BatchLog:
    """The batch's log lines: counts gathered one label at a time (labels are not kept)."""

    objects: int = 0
    answers: int = 0
    unusable: int = 0
    with_errors: int = 0
    flagged: int = 0

    def add(self, label: ConsolidatedLabel) -> None:
        self.objects += 1
        self.answers += len(label.workers)
        self.unusable += sum(1 for w in label.workers if w.updated_annotations is None)
        self.flagged += bool(label.qa_flags)
        rejected = [e for e in label.errors if e.level == "error"]
        if rejected:
            self.with_errors += 1
            for e in rejected[:20]:
                LOG.error("object %s: %s", label.dataset_object_id, e)

    def write(self, fit: FitResult) -> None:
        LOG.info(
            "consolidated %s objects from %s answers: %s unusable answers, %s objects with "
            "errors, %s with QA flags; response %s bytes",
            self.objects,
            self.answers,
            self.unusable,
            self.with_errors,
            self.flagged,
            fit.size_after,
        )
        if fit.moved:
            LOG.warning(
                "response of %s bytes over the Lambda limit: fields of %s labels moved to %s",
                fit.size_before,
                len(fit.moved),
                fit.overflow_uri,
            )
