"""The Lambda-safe stage-2 renderer gives the same HTML as python-liquid, and refuses the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.rig import Rig, load_rig
from handlers.task_template import TemplateError, render_task
from scripts.preview_groundtruth import render_task as liquid_render_task

XSS = '"><img src=x onerror=alert(1)>{{ task.input.image_name }}{% raw %}'
HOSTILE = [
    "",
    "a.jpg",
    XSS,
    'it\'s "quoted" & <tagged>',
    "{{ task.input.initial_values }}",
    "{% if true %}x{% endif %}",
    "&amp; &lt; already escaped",
    "line\nbreak\ttab\r\u2028\u2029",
    "emoji 🧍 and ümlaut, RTL \u202e",
    "\x00\x01 control",
    "s3://bucket/labeling_jobs/images/a b+c%20d?x=1&y=2#frag",
    json.dumps([{"name": XSS, "annotations": [{"label": "nose", "x": 1, "y": 2}]}]),
]


def presign(uri: str) -> str:
    """A stand-in for S3's presigned URL: query string, ampersands, the URI itself."""
    return f"https://b.s3.us-east-1.amazonaws.com/{uri}?X-Amz-Expires=60&X-Amz-Signature=<sig>"


def deployed(rig: Rig, instructions: str = "Place every keypoint.") -> str:
    return render_worker_template(
        TEMPLATE_PATH.read_text(encoding="utf-8"),
        component_url="https://d111.cloudfront.net/crowd-2d-skeleton.abc.js",
        rig=rig,
        instructions=instructions,
    )


TEMPLATES = {
    "coco": deployed(load_rig("coco-person-17")),
    "hostile": deployed(
        Rig.parse(
            {
                "name": "hostile",
                "keypoints": [
                    {"label": XSS, "x": 0, "y": 0},
                    {"label": "{{ task.input.image_s3_uri }}", "x": 1, "y": 1},
                ],
                "skeleton": [[XSS, "{{ task.input.image_s3_uri }}"]],
            }
        ),
        instructions=XSS,
    ),
}


def both(template: str, task_input: dict[str, Any]) -> tuple[str, str]:
    return (
        render_task(template, task_input, presign),
        liquid_render_task(template, task_input, presign),
    )


@pytest.mark.parametrize("template", list(TEMPLATES))
@pytest.mark.parametrize("value", HOSTILE)
def test_task_template_renders_hostile_inputs_as_liquid_does(template, value):
    task_input = {"image_s3_uri": value, "image_name": value, "initial_values": value}
    ours, liquid = both(TEMPLATES[template], task_input)
    assert ours == liquid
    assert "<img src=x" not in ours  # every value escaped, in its quoted attribute


scalars = st.one_of(
    st.text(max_size=40), st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False)
)


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=60),
    st.dictionaries(st.sampled_from(["image_name", "initial_values", "other"]), scalars),
)
def test_task_template_matches_liquid_for_any_task_input(uri, others):
    ours, liquid = both(TEMPLATES["coco"], {"image_s3_uri": uri, **others})
    assert ours == liquid


@pytest.mark.parametrize("task_input", [{}, {"image_s3_uri": None}, {"image_s3_uri": 3}])
def test_task_template_grants_read_access_only_to_a_uri(task_input):
    # Liquid would sign "None" or "3": a broken image URL. The renderer says what is wrong.
    with pytest.raises(TemplateError, match=r"task\.input\.image_s3_uri: grant_read_access needs"):
        render_task(TEMPLATES["coco"], task_input, presign)


def test_task_template_fills_the_real_template_from_a_task_input():
    task_input = {
        "image_s3_uri": "s3://b/labeling_jobs/images/a.jpg",
        "image_name": "a.jpg",
        "initial_values": "[]",
    }
    html = render_task(TEMPLATES["coco"], task_input, presign)
    assert "{{" not in html and "{%" not in html
    assert (
        'imgSrc="https://b.s3.us-east-1.amazonaws.com/s3://b/labeling_jobs/images/a.jpg'
        '?X-Amz-Expires=60&amp;X-Amz-Signature=&lt;sig&gt;"' in html
    )
    assert 'imageS3Uri="s3://b/labeling_jobs/images/a.jpg"' in html
    assert 'initialValues="[]"' in html


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% if task.input.x %}y{% endif %}", "unsupported Liquid at character 0: {% if"),
        ("a {{ task.input.x | upcase }}", "unsupported Liquid filter at character 2: upcase"),
        ("{{ task.input.x | grant_read_access | escape }}", "unsupported Liquid output"),
        ("{{ task.input }}", "unsupported Liquid output at character 0: {{ task.input }}"),
        ("{{ other.thing }}", "unsupported Liquid output at character 0: {{ other.thing }}"),
        ('{{ task.input["x"] }}', "unsupported Liquid output"),
        ("{{ task.input.x", "unsupported Liquid at character 0: {{ task.input.x"),
        ("{# a comment #}", "unsupported Liquid at character 0: {# a comment"),
        ("{{- task.input.x -}}", "unsupported Liquid output"),
    ],
)
def test_task_template_refuses_other_liquid_naming_it(template, message):
    with pytest.raises(TemplateError) as caught:
        render_task(template, {"x": "1"}, presign)
    assert message in str(caught.value)


@pytest.mark.parametrize("value", [["a"], {"a": 1}])
def test_task_template_refuses_a_value_it_cannot_write(value):
    with pytest.raises(TemplateError, match=r"task.input.image_name: a (list|dict) cannot be"):
        render_task(
            TEMPLATES["coco"], {"image_s3_uri": "s3://b/a.jpg", "image_name": value}, presign
        )


def test_task_template_the_portal_swaps_the_script_the_template_loads():
    """The portal (JavaScript) replaces Ground Truth's elements with our crowd-form by URL:
    the URL it looks for is the one the template loads."""
    from scripts.preview_groundtruth import CROWD_HTML_ELEMENTS_URL

    portal = (TEMPLATE_PATH.parent / "portal" / "portal.js").read_text(encoding="utf-8")
    assert f'const GROUND_TRUTH_ELEMENTS = "{CROWD_HTML_ELEMENTS_URL}";' in portal
    assert f'<script src="{CROWD_HTML_ELEMENTS_URL}"></script>' in TEMPLATES["coco"]
