"""Post-annotation (consolidation) Lambda: the workers' answers in, one label per object out.

Handler: ``handlers.post_annotation.lambda_handler``. Every data object of
the payload comes back, whatever its answers look like (a bad answer is kept
raw with an ``errors`` entry); an unreadable payload raises so Ground Truth
retries the batch. The logs hold counts and per-object error texts, never a
payload or a worker ID.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from handlers.groundtruth import (
    DatasetObject,
    PostAnnotationRequest,
    consolidation_response,
    read_payload,
    read_s3_text,
    write_s3_json,
)
from handlers.json_size import json_size, string_size
from handlers.label import ConsolidatedLabel, build_label, consolidated_json
from handlers.overflow import FitResult, fit_response, overflow_uri
from handlers.rig import Rig, load_deployed_rig
from handlers.submission import WorkerAnswer, parse_answer

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

#: Loaded once per container (None outside Lambda: structure is still checked).
RIG = load_deployed_rig()


def lambda_handler(
    event: dict[str, Any], context: Any = None, *, s3: Any = None
) -> list[dict[str, Any]]:
    request = PostAnnotationRequest.parse(event)
    with _gc_paused():
        return _consolidate_batch(request, s3)


def _consolidate_batch(request: PostAnnotationRequest, s3: Any) -> list[dict[str, Any]]:
    """Everything of a batch but the response is dropped on return, while the collector
    is still paused: it then has only the response to scan when it resumes."""
    objects = read_payload(request, s3=s3)
    name = request.label_attribute_name
    # The envelope around each label differs only by the ID: measured once.
    envelope = json_size(consolidation_response("", name, {})) - len('""') - len("{}")
    response: list[dict[str, Any]] = []
    sizes: list[int] = []
    prepared: list[Mapping[str, tuple[str, int]] | None] = []
    log = _BatchLog()
    for start in range(0, len(objects), BLOCK_OBJECTS):
        block = _consolidate_block(objects[start : start + BLOCK_OBJECTS], request, s3)
        response += [
            consolidation_response(obj.dataset_object_id, name, item)
            for obj, item in zip(block.objects, block.items, strict=True)
        ]
        sizes += [
            envelope + string_size(obj.dataset_object_id) + size
            for obj, size in zip(block.objects, block.sizes, strict=True)
        ]
        prepared += block.prepared
        for label in block.labels:
            log.add(label)
    log.write(fit_under_limit(response, request, s3, sizes, prepared))
    return response


#: Objects taken through each step of consolidation together. Each step's code then runs
#: many times in a row, which measured 15-20% faster than one object at a time (the
#: interpreter's caches stay warm), while a block's intermediates stay few.
BLOCK_OBJECTS = 64


@dataclass
class _Block:
    objects: list[DatasetObject]
    labels: list[ConsolidatedLabel]
    #: Each label as JSON values, an upper bound of its size, and texts it already has.
    items: list[dict[str, Any]]
    sizes: list[int]
    prepared: list[Mapping[str, tuple[str, int]] | None]


def _consolidate_block(
    objects: list[DatasetObject], request: PostAnnotationRequest, s3: Any
) -> _Block:
    """Parse, consolidate and convert a few objects, one step at a time for all of them."""
    answers = [_answers(obj, RIG, request, s3) for obj in objects]
    labels = [
        build_label(
            obj.dataset_object_id, a, data_object_s3_uri=obj.s3_uri, rig=RIG, errors=obj.errors
        )
        for obj, a in zip(objects, answers, strict=True)
    ]
    # A single worker's answer taken exactly as written is output as its own JSON:
    # not converted, sized from its text, and its text moved if need be.
    written = [consolidated_json(label, a) for label, a in zip(labels, answers, strict=True)]
    return _Block(
        objects,
        labels,
        [label.to_jsonable(w) for label, w in zip(labels, written, strict=True)],
        [label.json_size_bound(w) for label, w in zip(labels, written, strict=True)],
        [
            {"updated_annotations": (w.text, w.size_bound)}
            if w is not None and w.size_bound is not None
            else None
            for w in written
        ],
    )


def fit_under_limit(
    response: list[dict[str, Any]],
    request: PostAnnotationRequest,
    s3: Any = None,
    sizes: list[int] | None = None,
    prepared: Sequence[Mapping[str, tuple[str, int]] | None] | None = None,
) -> FitResult:
    """Move fields to S3 if the response would break Lambda's 6 MB limit (see overflow.py).

    ``sizes`` and ``prepared``: see :func:`handlers.overflow.fit_response`.
    """
    ids = [item["datasetObjectId"] for item in response]
    return fit_response(
        response,
        request.label_attribute_name,
        uri=overflow_uri(request.payload_s3_uri, request.output_config, ids),
        write=lambda uri, content: write_s3_json(
            uri, content, s3=s3, role_arn=request.role_arn, kms_key_id=request.kms_key_id
        ),
        sizes=sizes,
        prepared=prepared,
    )


def label_for(
    obj: DatasetObject, rig: Rig | None, request: PostAnnotationRequest, s3: Any = None
) -> ConsolidatedLabel:
    """Parse each worker's answer (reading it from S3 if stored there) and consolidate."""
    return build_label(
        obj.dataset_object_id,
        _answers(obj, rig, request, s3),
        data_object_s3_uri=obj.s3_uri,
        rig=rig,
        errors=obj.errors,
    )


def _answers(
    obj: DatasetObject, rig: Rig | None, request: PostAnnotationRequest, s3: Any
) -> list[WorkerAnswer]:
    """Each worker's answer parsed, in payload order (read from S3 if stored there)."""
    answers = []
    for i, submission in enumerate(obj.submissions):
        where = f"workers[{i}]"
        if i in obj.unreadable:
            answers.append(WorkerAnswer(submission.worker_id, None, raw=obj.unreadable[i]))
            continue
        content = submission.content
        if content is None and submission.s3_uri is not None:
            content = read_s3_text(submission.s3_uri, s3=s3, role_arn=request.role_arn)
        answers.append(parse_answer(content, worker_id=submission.worker_id, field=where, rig=rig))
    return answers


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is decoded, consolidated and sized.

    A batch allocates millions of small containers and no reference cycles; the
    collector would rescan the growing heap again and again (10-30% of the time
    measured in benchmarks/bench_consolidation.py). Reference counting still
    frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
            "errors, %s with QA flags; response %s%s bytes",
            self.objects,
            self.answers,
            self.unusable,
            self.with_errors,
            self.flagged,
            "" if fit.exact else "at most ",
            fit.size_after,
        )
        if fit.moved:
            LOG.warning(
                "response of %s%s bytes over the Lambda limit: fields of %s labels moved to %s",
                "" if fit.exact else "up to ",
                fit.size_before,
                len(fit.moved),
                fit.overflow_uri,
            )
