"""Ground Truth's side of a task in python-liquid: the oracle the stage-2 renderer is tested on.

The offline preview and the self-hosted runner render stage 2 of the worker template
with :mod:`handlers.task_template` (the Lambda runtime has no python-liquid).
:func:`render_task` here does it as Ground Truth does, with python-liquid: autoescape
on, ``task.input`` = the pre-annotation Lambda's ``taskInput``, and Ground Truth's
extra filters (``grant_read_access``, ``to_json``, ``skip_autoescape``; ``escape`` is
built in). Tests render the real template through both and compare, and the UI tests
use it to build task pages.

The events and the output line come from :mod:`handlers.task_groundtruth`; the
two helpers below keep the one-worker, inline-payload form some tests build.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from liquid import Environment
from markupsafe import Markup

from handlers.task_groundtruth import (
    PREVIEW_ACCOUNT,
    job_arn,
    output_manifest_line,
    output_prefix,
    payload_entry,
)
from handlers.task_groundtruth import post_annotation_event as _post_annotation_event

__all__ = [
    "CROWD_HTML_ELEMENTS_URL",
    "output_manifest_line",
    "post_annotation_event",
    "render_task",
]

#: The template loads AWS's elements from here; the portal and the preview load ours.
CROWD_HTML_ELEMENTS_URL = "https://assets.crowd.aws/crowd-html-elements.js"
REGION = "us-east-1"
WORKER_ID = f"private.{REGION}.preview-worker"


def ground_truth_environment(grant_read_access: Callable[[str], str]) -> Environment:
    """A Liquid environment that renders a worker template as Ground Truth does."""
    env = Environment(autoescape=True)
    env.add_filter("grant_read_access", grant_read_access)
    env.add_filter("to_json", lambda value: json.dumps(value))
    env.add_filter("skip_autoescape", lambda value: Markup(str(value)))  # noqa: S704 - GT's documented filter
    return env


def render_task(
    template: str, task_input: Mapping[str, Any], grant_read_access: Callable[[str], str]
) -> str:
    """Stage 2: the deploy-time-rendered template filled for one task."""
    env = ground_truth_environment(grant_read_access)
    return env.from_string(template).render(task={"input": dict(task_input)})


def post_annotation_event(
    *,
    job_name: str,
    label_attribute: str,
    dataset_object_id: str,
    source_ref: str,
    answer: Mapping[str, Any],
) -> dict[str, Any]:
    """The consolidation request for one object answered by one worker, payload inline."""
    return _post_annotation_event(
        arn=job_arn(job_name, region=REGION, account=PREVIEW_ACCOUNT),
        label_attribute=label_attribute,
        output_prefix=output_prefix("s3://pose-labeling-preview/output/", job_name),
        max_workers=1,
        payload=[payload_entry(dataset_object_id, source_ref, [(WORKER_ID, json.dumps(answer))])],
    )
