"""Deploy-time rendering of the worker template: values land escaped, Ground Truth's Liquid stays."""

import html
import re

import pytest
from liquid import Environment

from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.rig import Rig, load_rig

HOSTILE = 'it\'s "<img src=x onerror=alert(1)>" {{ task.input }} {% raw %}'


def attribute(rendered: str, name: str) -> str:
    match = re.search(rf'\b{name}="([^"]*)"', rendered)
    assert match, f"{name} attribute missing from the rendered template"
    return html.unescape(match.group(1))


def hostile_rig() -> Rig:
    return Rig.parse(
        {
            "name": "hostile",
            "keypoints": [{"label": HOSTILE, "x": 0, "y": 0}, {"label": "b", "x": 1, "y": 1}],
            "skeleton": [[HOSTILE, "b"]],
        }
    )


def test_rendered_template_carries_cdn_url_and_rig_attributes():
    rig = load_rig("coco-person-17")
    out = render_worker_template(
        TEMPLATE_PATH.read_text(), component_url="https://d123.cloudfront.net/c.js", rig=rig
    )
    assert '<script src="https://d123.cloudfront.net/c.js"></script>' in out
    attrs = rig.component_attributes()
    for name in ("keypointClasses", "skeletonRig", "skeletonBoundingBox"):
        assert attribute(out, name) == attrs[name]
    assert "{{ task.input.image_s3_uri | grant_read_access }}" in out


def test_hostile_labels_and_instructions_cannot_break_out_or_inject_liquid():
    out = render_worker_template(
        TEMPLATE_PATH.read_text(),
        component_url="https://cdn.example/c.js",
        rig=hostile_rig(),
        instructions=HOSTILE,
    )
    assert "<img" not in out
    assert HOSTILE not in out
    assert attribute(out, "keypointClasses").startswith('[{"label":"it\'s \\"<img')
    # Ground Truth's stage sees no Liquid that came from data: only the template's own.
    ground_truth = Environment()
    ground_truth.add_filter("grant_read_access", lambda uri: "https://signed.example/k.jpg")
    stage_two = ground_truth.from_string(out)
    rendered = stage_two.render(task={"input": {"image_s3_uri": "s3://b/k.jpg"}})
    assert HOSTILE in html.unescape(rendered)


def test_unknown_deploy_time_variable_fails_loudly():
    with pytest.raises(Exception, match="nope"):
        render_worker_template("[[ nope ]]", component_url="u", rig=load_rig("human-18"))
