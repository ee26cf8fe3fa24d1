"""The worker template object: rendered at deploy time with the CDN URL and the rig, uploaded.

These tests rely only on the documented stage-1 variables and on the component's
attribute names and ``<script src>``, never on the template's layout.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pulumi
import pytest

from components.s3_layout import TEMPLATE_KEY, TEMPLATE_PREFIX
from components.worker_template_object import (
    WorkerTemplate,
    WorkerTemplateArgs,
    WorkerTemplateSource,
)
from handlers.rig import Rig, load_rig
from tests.infra import harness

CDN_URL = "https://d111111abcdef8.cloudfront.net/infrastructure/ground_truth_templates/c.0123.js"
HOSTILE = 'it\'s "<img src=x onerror=alert(1)>" {{ task.input }}'
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def attribute(rendered: str, name: str) -> str:
    """The unescaped value of attribute ``name`` (either quote style)."""
    match = re.search(rf"""\b{name}\s*=\s*(["'])(.*?)\1""", rendered, re.IGNORECASE | re.DOTALL)
    assert match, f"{name} attribute missing from the rendered template"
    return html.unescape(match.group(2))


def script_sources(rendered: str) -> list[str]:
    return [
        html.unescape(m.group(2))
        for m in re.finditer(
            r"""<script\b[^>]*\bsrc\s*=\s*(["'])(.*?)\1""", rendered, re.IGNORECASE
        )
    ]


def run_template(rig: Rig, instructions: str = "Label every joint.") -> harness.StackRun:
    def program() -> None:
        source = WorkerTemplateSource.read(rig, instructions)
        template = WorkerTemplate(
            "worker-template",
            WorkerTemplateArgs(bucket="labels-bucket", component_url=CDN_URL, source=source),
        )
        pulumi.export("template_s3_uri", template.s3_uri)

    return harness.run(program, harness.stack_config())


@pytest.fixture(scope="module")
def coco() -> harness.StackRun:
    return run_template(load_rig("coco-person-17"))


def test_template_uploaded_under_the_template_prefix_as_html(coco: harness.StackRun) -> None:
    upload = coco.one(OBJECT, "worker-template-object").inputs
    assert upload["key"] == TEMPLATE_KEY and TEMPLATE_KEY.startswith(TEMPLATE_PREFIX)
    assert upload["bucket"] == "labels-bucket"
    assert upload["contentType"] == "text/html; charset=utf-8", "worker-template-object"


def test_template_s3_uri_names_bucket_and_key(coco: harness.StackRun) -> None:
    assert coco.exports["template_s3_uri"] == f"s3://labels-bucket/{TEMPLATE_KEY}"


def test_template_loads_the_component_from_the_cdn(coco: harness.StackRun) -> None:
    rendered = coco.one(OBJECT, "worker-template-object").inputs["content"]
    assert CDN_URL in script_sources(rendered), "worker-template-object: <script src> of the CDN"


@pytest.mark.parametrize("rig_name", ["coco-person-17", "human-18", "box-truck"])
def test_template_attributes_parse_back_to_the_rig(rig_name: str) -> None:
    rig = load_rig(rig_name)
    rendered = run_template(rig).one(OBJECT).inputs["content"]
    attributes = rig.component_attributes()
    for name in ("keypointClasses", "skeletonRig", "skeletonBoundingBox"):
        if name in attributes:
            assert json.loads(attribute(rendered, name)) == json.loads(attributes[name]), name


def test_hostile_labels_and_instructions_cannot_break_out(tmp_path: Path) -> None:
    rig = Rig.parse(
        {
            "name": "hostile",
            "keypoints": [{"label": HOSTILE, "x": 0, "y": 0}, {"label": "b", "x": 1, "y": 1}],
            "skeleton": [[HOSTILE, "b"]],
        }
    )
    rendered = run_template(rig, instructions=HOSTILE).one(OBJECT).inputs["content"]
    assert "<img" not in rendered, "markup from a label reached the page"
    assert "{{ task.input }}" not in rendered, "Liquid from a label reached Ground Truth"
    classes = json.loads(attribute(rendered, "keypointClasses"))
    assert classes[0]["label"] == HOSTILE, "the label survives escaping intact"


def test_template_that_does_not_render_fails_before_deploy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.liquid.html"
    broken.write_text("<p>[[ no_such_variable ]]</p>")
    with pytest.raises(
        pulumi.RunError, match=r"broken\.liquid\.html: the worker template does not render"
    ):
        WorkerTemplateSource.read(load_rig("human-18"), "", broken)


def test_missing_template_fails_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(
        pulumi.RunError, match=r"missing\.liquid\.html: cannot read the worker template"
    ):
        WorkerTemplateSource.read(load_rig("human-18"), "", tmp_path / "missing.liquid.html")
