"""Hostile or broken input: nothing executes, nothing is silently dropped, errors are shown."""

from __future__ import annotations

import json

import pytest

from components.worker_template import TEMPLATE_PATH, render_worker_template
from handlers.rig import Rig, load_rig
from handlers.task_input import build_task_input
from scripts.preview_groundtruth import CROWD_HTML_ELEMENTS_URL, render_task
from tests.ui.harness import PERSON, READY_PROBE, Skeleton, rig_attributes

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.pwned=(window.pwned||0)+1">'


def hostile_rig() -> Rig:
    return Rig.parse(
        {
            "name": "hostile",
            "keypoints": [
                {"label": XSS, "x": 0, "y": 0},
                {"label": "left_hand", "x": 10, "y": 20},
                {"label": "right_hand", "x": 30, "y": 20},
            ],
            "skeleton": [[XSS, "left_hand"], [XSS, "right_hand", "#00f"]],
            "bounding_box": {"left": 0, "top": 0, "right": 40, "bottom": 40},
        }
    )


def test_xss_in_label_name_issues_and_instructions_does_not_execute(page, server):
    initial = [{"name": XSS, "annotations": [{"label": XSS, "x": 100, "y": 100}]}]
    deployed = render_worker_template(
        TEMPLATE_PATH.read_text(),
        component_url="/assets/crowd-2d-skeleton.js",
        rig=hostile_rig(),
        instructions=XSS,
    ).replace(CROWD_HTML_ELEMENTS_URL, "/stand-in.js")
    task_input = {
        "image_s3_uri": "s3://b/labeling_jobs/images/test.jpg",
        "image_name": XSS,
        "initial_values": json.dumps(initial),
    }
    html = render_task(deployed, task_input, lambda uri: "/img/test.jpg")
    probe = (
        "<script>window.skeletonEvents=[];"
        "document.addEventListener('crowd-2d-skeleton:ready',e=>skeletonEvents.push(['ready',e.detail]));</script>"
    )
    page.goto(server.add("/page/xss", probe + html))
    sk = Skeleton(page).wait_ready()
    sk.el.evaluate("(e, v) => e.setAttribute('annotationIssues', v)", json.dumps([{"reason": XSS}]))
    page.mouse.move(300, 300)  # the cursor hint shows the next label
    sk.click(*PERSON[1])
    sk.el.locator("details.help summary").click()
    sk.el.locator("details.instr summary").click()
    sk.button("submit").click()  # incomplete: the confirmation names the skeleton
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.pwned") is None
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0  # light DOM
    assert sk.el.evaluate("e => e.shadowRoot.querySelectorAll('img').length") == 1  # only the image
    assert XSS in sk.el.locator(".issues").inner_text()
    assert XSS in sk.el.locator(".cards").inner_text()
    assert XSS in page.locator("[slot=instructions]").inner_text()
    assert XSS in sk.el.locator(".confirm").inner_text()


def test_xss_in_review_reasons_from_the_lambda_through_the_template_stays_text(page, server):
    # A review line's reasons reach the page only through the pre-annotation Lambda's
    # annotation_issues and the template's escaped annotationIssues attribute.
    breakout = '" onmouseover="window.pwned=1" x="'
    reasons = [XSS, breakout, "{{ task.input.image_s3_uri }} {% raw %}"]
    data_object = {
        "source-ref": "s3://b/labeling_jobs/images/test.jpg",
        "review": {"reasons": [{"code": "audit", "reason": r} for r in reasons]},
    }
    deployed = render_worker_template(
        TEMPLATE_PATH.read_text(),
        component_url="/assets/crowd-2d-skeleton.js",
        rig=load_rig("coco-person-17"),
        instructions="Label each person.",
    ).replace(CROWD_HTML_ELEMENTS_URL, "/stand-in.js")
    task_input = build_task_input(data_object, load_rig("coco-person-17"))
    html = render_task(deployed, task_input, lambda uri: "/img/test.jpg")
    page.goto(server.add("/page/xss-review", READY_PROBE + html))
    sk = Skeleton(page).wait_ready()
    sk.el.hover()
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.pwned") is None
    assert sk.el.get_attribute("onmouseover") is None
    assert sk.el.locator(".issues li").all_inner_texts() == reasons


MALFORMED = {
    "classes not JSON": ({"keypointClasses": "[{label: nose}]"}, "keypointClasses: not valid JSON"),
    "classes missing": ({"keypointClasses": ""}, "keypointClasses: missing"),
    "second class bad x": (
        {
            "keypointClasses": json.dumps(
                [{"label": "a", "x": 1, "y": 1}, {"label": "b", "x": "12", "y": 1}]
            )
        },
        'keypointClasses[1].x: expected a number, got "12"',
    ),
    "duplicate label": (
        {
            "keypointClasses": json.dumps(
                [{"label": "a", "x": 1, "y": 1}, {"label": "a", "x": 2, "y": 1}]
            )
        },
        "keypointClasses[1].label: duplicate label",
    ),
    "rig names unknown label": (
        {"skeletonRig": json.dumps([["nose", "left_eye"], ["nose", "elbow"]])},
        'skeletonRig[1][1]: "elbow" is not a label in keypointClasses',
    ),
    "rig colour not a colour": (
        {"skeletonRig": json.dumps([["nose", "left_eye", "javascript:alert(1)"]])},
        "skeletonRig[0][2]: expected a CSS colour",
    ),
    "box inverted": (
        {"skeletonBoundingBox": '{"right": -1, "bottom": 5}'},
        "skeletonBoundingBox: right must exceed left",
    ),
    "second skeleton bad coordinate": (
        {
            "initialValues": json.dumps(
                [{"annotations": []}, {"annotations": [{"label": "nose", "x": None, "y": 3}]}]
            )
        },
        "initialValues[1].annotations[0].x: expected a number, got null",
    ),
    "visibility out of range": (
        {
            "initialValues": json.dumps(
                [{"annotations": [{"label": "nose", "x": 1, "y": 3, "visibility": 5}]}]
            )
        },
        "initialValues[0].annotations[0].visibility: expected 0, 1 or 2",
    ),
    "unique colours bad": (
        {"uniqueSkeletonColors": '["red", 3]'},
        "uniqueSkeletonColors[1]: expected a non-empty string",
    ),
    "issues bad": (
        {"annotationIssues": '[{"why": 1}]'},
        "annotationIssues[0].reason: expected a non-empty string",
    ),
    "image missing": ({"imgSrc": ""}, "imgSrc: missing"),
    "image does not load": (
        {"imgSrc": "/img/nothing.jpg"},
        "imgSrc: the image could not be loaded from /img/nothing.jpg",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_attribute_shows_an_error_in_the_component(mount, page, case):
    attrs, message = MALFORMED[case]
    sk = mount(rig_attributes(**attrs), wait=False)
    page.wait_for_function("() => skeletonEvents.some(([t]) => t === 'error')")
    error = sk.el.locator(".error")
    assert error.is_visible()
    assert message in error.inner_text()
    assert sk.button("submit").is_disabled()
    assert page.page_errors == []  # reported in the component, never thrown into the page


def test_rig_creator_null_line_colour_is_accepted(mount):
    # The public rig creator exports pairs as [a, b, null]; the public component rejected them.
    sk = mount(
        rig_attributes(skeletonRig=json.dumps([["nose", "left_eye", None], ["nose", "right_eye"]]))
    )
    assert sk.state["errors"] == []


def test_float_preannotation_coordinates_are_accepted(mount):
    initial = [{"name": "a", "annotations": [{"label": "nose", "x": 100.6, "y": 50.2}]}]
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    assert sk.value[0]["annotations"][0] == {"label": "nose", "x": 101, "y": 50, "visibility": 2}


def test_unknown_preannotation_labels_are_reported_and_kept(mount):
    initial = [
        {
            "name": "a",
            "annotations": [{"label": "nose", "x": 10, "y": 10}, {"label": "tail", "x": 5, "y": 5}],
        }
    ]
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    warning = sk.el.locator(".warn").inner_text()
    assert 'initialValues[0].annotations[1].label: "tail" is not a keypoint of this rig' in warning
    submission = sk.submit(confirm=True)
    kept = json.loads(submission["updated_annotations"])[0]["annotations"]
    assert {"label": "tail", "x": 5, "y": 5} in kept


def test_preannotated_points_outside_the_image_are_clamped_with_a_warning(mount):
    initial = [{"annotations": [{"label": "nose", "x": 2600, "y": -3}]}]
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    assert sk.value[0]["annotations"][0]["x"] == 2399
    assert sk.value[0]["annotations"][0]["y"] == 0
    assert (
        "1 pre-annotated keypoint(s) lay outside the image" in sk.el.locator(".warn").inner_text()
    )


def test_hotkeys_typed_into_another_input_do_nothing(mount, page):
    sk = mount(rig_attributes(), extra='<input id="other" aria-label="comment">')
    sk.click(*PERSON[0])
    before = sk.state
    other = page.locator("#other")
    other.click()
    page.keyboard.type("bnvmfzcx,.wasdo 1")
    page.keyboard.press("Backspace")
    page.keyboard.press("Delete")
    page.keyboard.press("Control+z")
    assert other.input_value().startswith("bnvmfzcx,.wasdo")
    after = sk.state
    assert after["skeletons"] == before["skeletons"]
    assert after["zoom"] == before["zoom"] and after["mode"] == before["mode"]


def test_hotkeys_work_when_nothing_else_has_focus(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    page.evaluate("() => { document.activeElement.blur(); }")
    assert page.evaluate("() => document.activeElement === document.body")
    page.keyboard.press("Delete")
    assert sk.value == []


def test_modified_keys_are_ignored(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    zoom = sk.state["zoom"]
    for key in ("Control+c", "Alt+x", "Meta+v", "Control+Delete", "Shift+N"):
        page.keyboard.press(key)
    state = sk.state
    assert state["zoom"] == zoom and state["mode"] == "place"
    assert len(sk.value[0]["annotations"]) == 1
    assert state["skeletons"][0]["skipped"] == []


def test_hotkeys_still_work_after_ticking_no_changes_needed(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.el.locator("input[name=no-changes]").check()  # focus is now on the checkbox
    sk.press("Control+z")
    assert sk.value == []


def test_preannotated_visibility_zero_counts_as_not_in_image(mount):
    initial = [
        {
            "annotations": [
                {"label": "nose", "x": 10, "y": 10},
                {"label": "left_eye", "x": 0, "y": 0, "visibility": 0},
            ]
        }
    ]
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    assert sk.state["skeletons"][0]["skipped"] == ["left_eye"]
    assert [p["label"] for p in sk.value[0]["annotations"]] == ["nose"]
    assert sk.state["cursor"]["label"] == "right_eye"  # the next click skips past it
