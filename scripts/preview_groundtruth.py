"""Ground Truth's side of one labeling task, emulated locally for the offline preview.

Three things Ground Truth does that the preview must do the same way:

* stage 2 of the worker template: Liquid with ``task.input`` = the pre-annotation
  Lambda's ``taskInput``, autoescape on, and Ground Truth's extra filters
  (``grant_read_access``, ``to_json``, ``skip_autoescape``; ``escape`` is built in);
* the post-annotation (consolidation) Lambda event for a worker's answer, with the
  payload inline (``payload.content``) instead of in S3;
* the output-manifest line: the input line's keys, then ``<label>`` and
  ``<label>-metadata`` as Ground Truth writes them.

Shapes: ``docs/contracts.md`` (task input, post-annotation request and response,
output manifest).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from liquid import Environment
from markupsafe import Markup

#: The template loads AWS's elements from here; offline, a stand-in replaces it.
CROWD_HTML_ELEMENTS_URL = "https://assets.crowd.aws/crowd-html-elements.js"
ACCOUNT = "123456789012"
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


def pre_annotation_event(manifest_line: Mapping[str, Any], job_name: str) -> dict[str, Any]:
    return {
        "version": "2018-10-16",
        "labelingJobArn": job_arn(job_name),
        "dataObject": dict(manifest_line),
    }


def post_annotation_event(
    *,
    job_name: str,
    label_attribute: str,
    dataset_object_id: str,
    source_ref: str,
    answer: Mapping[str, Any],
) -> dict[str, Any]:
    """The consolidation request for one object answered by one worker, payload inline."""
    payload = [
        {
            "datasetObjectId": dataset_object_id,
            "dataObject": {"s3Uri": source_ref},
            "annotations": [
                {
                    "workerId": WORKER_ID,
                    # Ground Truth stores the form's answer as a JSON string.
                    "annotationData": {"content": json.dumps(answer)},
                }
            ],
        }
    ]
    return {
        "version": "2018-10-06",
        "labelingJobArn": job_arn(job_name),
        "labelCategories": None,
        "labelAttributeName": label_attribute,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/pose-labeling-preview",
        "outputConfig": f"s3://pose-labeling-preview/output/{job_name}/annotations",
        "maxHumanWorkersPerDataObject": 1,
        "payload": {"content": json.dumps(payload)},
    }


def output_manifest_line(
    input_line: Mapping[str, Any],
    *,
    label_attribute: str,
    consolidated: Any,
    job_name: str,
    created: datetime,
) -> dict[str, Any]:
    """The input line's keys unchanged, then the label and its metadata."""
    line = dict(input_line)
    line[label_attribute] = consolidated
    line[f"{label_attribute}-metadata"] = {
        "type": "groundtruth/custom",
        "job-name": job_name,
        "human-annotated": "yes",
        "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    }
    return line


def job_arn(job_name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"
