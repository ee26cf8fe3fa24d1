"""Element lifecycle, loading styles, compatibility with public templates, and the submission contract."""

from __future__ import annotations

import json

import pytest

from handlers.submission import SUBMISSION_FIELDS
from tests.ui.harness import PERSON, READY_PROBE, REPO, Skeleton, attributes, rig_attributes

pytestmark = pytest.mark.browser

#: The worker-submission contract, as the post-annotation Lambda reads it.
CONTRACT_FIELDS = set(SUBMISSION_FIELDS)


def test_submission_fields_match_the_contract_exactly(mount):
    sk = mount(rig_attributes())
    for x, y in PERSON:
        sk.click(x, y)
    submission = sk.submit()
    assert list(submission) == list(SUBMISSION_FIELDS)  # the form's inputs, in order
    assert sk.el.evaluate("e => Object.keys(e.submission)") == list(SUBMISSION_FIELDS)
    assert all(isinstance(v, str) for v in submission.values())
    assert submission["image_s3_uri"] == "s3://pose-bucket/labeling_jobs/images/test.jpg"
    assert submission["image_name"] == "test.jpg"
    assert (submission["image_width"], submission["image_height"]) == ("2400", "1600")
    assert submission["original_annotations"] == "[]"
    assert submission["no_changes_needed"] == "false"
    assert int(submission["total_time_in_seconds"]) >= 0
    [person] = json.loads(submission["updated_annotations"])
    assert set(person) == {"name", "annotations"}
    assert all(set(p) == {"label", "x", "y", "visibility"} for p in person["annotations"])


def test_submitting_twice_writes_no_duplicate_inputs(mount, page):
    sk = mount(rig_attributes())
    for x, y in PERSON:
        sk.click(x, y)
    sk.submit()
    sk.click(300, 300)
    second = sk.submit(confirm=True)
    names = page.evaluate(
        "() => [...document.querySelectorAll('crowd-form input')].map(i => i.name)"
    )
    assert sorted(names) == sorted(CONTRACT_FIELDS)
    assert len(json.loads(second["updated_annotations"])) == 2


def test_missing_keypoints_ask_for_confirmation_before_submit(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.press("n")
    sk.button("submit").click()
    confirm = sk.el.locator(".confirm")
    assert confirm.is_visible()
    assert (
        "person 1: 15 missing (right_eye, left_ear, right_ear, left_shoulder, …)"
        in confirm.inner_text()
    )
    sk.button("cancelSubmit").click()
    assert page.evaluate("() => window.crowdFormSubmissions.length") == 0
    sk.button("submit").click()
    sk.button("confirmSubmit").click()
    assert page.evaluate("() => window.crowdFormSubmissions.length") == 1


def test_form_submit_from_outside_is_held_for_confirmation(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    page.evaluate("() => document.querySelector('crowd-form').submit()")
    assert sk.el.locator(".confirm").is_visible()
    assert page.evaluate("() => window.crowdFormSubmissions.length") == 0


def test_unchanged_preannotations_submit_no_changes_needed(mount):
    initial = [
        {"name": "runner", "annotations": [{"label": "nose", "x": 1200.4, "y": 300}, {"label": "left_eye", "x": 1232, "y": 288, "visibility": 1}]},
        {"name": "walker", "annotations": [{"label": "nose", "x": 400, "y": 500}], "annotation_options": {"editable": True}},
    ]  # fmt: skip
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    sk.el.locator("input[name=no-changes]").check()
    submission = sk.submit(confirm=True)
    assert submission["no_changes_needed"] == "true"
    assert json.loads(submission["original_annotations"]) == json.loads(
        submission["updated_annotations"]
    )
    original = json.loads(submission["original_annotations"])
    assert original[0]["annotations"][0] == {"label": "nose", "x": 1200, "y": 300, "visibility": 2}
    assert original[0]["annotations"][1]["visibility"] == 1
    assert original[1]["annotation_options"] == {"editable": True}  # extra keys pass through


def test_moved_preannotation_changes_updated_but_not_original(mount):
    initial = [{"name": "runner", "annotations": [{"label": "nose", "x": 1200, "y": 300}]}]
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    start = tuple(round(c) for c in sk.to_client(1200, 300))
    sk.drag(start, (start[0] + 50, start[1]))
    submission = sk.submit(confirm=True)
    assert submission["no_changes_needed"] == "false"
    assert json.loads(submission["original_annotations"])[0]["annotations"][0]["x"] == 1200
    assert json.loads(submission["updated_annotations"])[0]["annotations"][0]["x"] > 1250


def test_plain_form_receives_the_fields(mount, page):
    sk = mount(
        rig_attributes(),
        wrapper="form",
        extra="""<script>window.formFields = null;
        document.addEventListener('submit', (e) => { e.preventDefault();
          window.formFields = Object.fromEntries(new FormData(e.target)); });</script>""",
    )
    for x, y in PERSON:
        sk.click(x, y)
    sk.button("submit").click()
    fields = page.wait_for_function("() => window.formFields").json_value()
    assert set(fields) == CONTRACT_FIELDS


def test_create_element_does_not_throw_and_setup_happens_on_connect(page, server):
    page.goto(
        server.add(
            "/page/empty",
            f"<!doctype html><head>{READY_PROBE}</head><body><script src='/assets/crowd-2d-skeleton.js'></script>",
        )
    )
    page.evaluate(
        """(attrs) => { const el = document.createElement('crowd-2d-skeleton');
          for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
          document.body.append(el); }""",
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in rig_attributes().items()},
    )
    sk = Skeleton(page).wait_ready()
    sk.click(*PERSON[0])
    assert len(sk.value) == 1
    assert page.page_errors == []


def component_listeners(cdp, script_ids: set[str], target: str) -> list[str]:
    """Event types of the listeners on `target` that the component's script added."""
    handle = cdp.send("Runtime.evaluate", {"expression": target})
    listeners = cdp.send(
        "DOMDebugger.getEventListeners", {"objectId": handle["result"]["objectId"]}
    )
    return sorted(
        item["type"] for item in listeners["listeners"] if item.get("scriptId") in script_ids
    )


def test_removing_the_element_removes_its_document_and_window_listeners(page, server):
    page.goto(
        server.add(
            "/page/listeners",
            f"<!doctype html><head>{READY_PROBE}</head><body><script src='/assets/crowd-2d-skeleton.js'></script>",
        )
    )
    cdp = page.context.new_cdp_session(page)
    script_ids: set[str] = set()
    cdp.on(
        "Debugger.scriptParsed",
        lambda e: (
            script_ids.add(e["scriptId"]) if e["url"].endswith("/crowd-2d-skeleton.js") else None
        ),
    )
    cdp.send("Debugger.enable")  # replays scriptParsed for the scripts already loaded
    assert script_ids
    page.evaluate(
        """(attrs) => { const el = document.createElement('crowd-2d-skeleton');
          for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
          document.body.append(el); }""",
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in rig_attributes().items()},
    )
    Skeleton(page).wait_ready()
    assert component_listeners(cdp, script_ids, "document") == ["keydown", "keyup"]
    assert component_listeners(cdp, script_ids, "window") == ["blur"]
    page.evaluate("() => document.querySelector('crowd-2d-skeleton').remove()")
    assert component_listeners(cdp, script_ids, "document") == []
    assert component_listeners(cdp, script_ids, "window") == []


def public_readme_template(attrs: dict) -> str:
    """A template written for the public component: its README's shape, unchanged."""
    loader = """<script>
  async function load(){
    const response = await fetch("/assets/crowd-2d-skeleton.js");
    const code = await response.text();
    let script = document.createElement('script');
    script.type = "module";
    script.text = code;
    document.head.appendChild(script);
  }
  load();
</script>"""
    return f"""<script src="/stand-in.js"></script>{READY_PROBE}
{loader}
<crowd-form id="crowd-form">
  <crowd-button form-action="submit" style="display: none;"></crowd-button>
  <crowd-2d-skeleton {attributes(attrs)}>
    <div slot="instructions"><p>Annotations instructions can go here!</p></div>
  </crowd-2d-skeleton>
</crowd-form>"""


def test_public_component_template_works_unchanged(page, server):
    attrs = rig_attributes()
    del attrs["imageS3Uri"]
    attrs["imgSrc"] = "/img/test.jpg?X-Amz-Signature=abc&X-Amz-Expires=3600"
    attrs["keypointClasses"] = json.dumps(
        [{"id": f"id-{i}", **c} for i, c in enumerate(json.loads(attrs["keypointClasses"]))]
    )
    attrs["initialValues"] = ""
    page.goto(server.add("/page/public", public_readme_template(attrs)))
    sk = Skeleton(page).wait_ready()
    for x, y in PERSON:
        sk.click(x, y)
    submission = sk.submit()
    assert set(submission) == CONTRACT_FIELDS
    assert submission["image_name"] == "test.jpg"  # no presigned query string
    assert "?" not in submission["image_s3_uri"]
    assert len(json.loads(submission["updated_annotations"])[0]["annotations"]) == 17
    assert page.page_errors == []


def test_presigned_s3_url_maps_back_to_the_s3_uri(mount):
    sk = mount(rig_attributes(), wait=False)
    uri = sk.el.evaluate(
        """e => { e.removeAttribute('imageS3Uri');
          e.setAttribute('imgSrc', 'https://my-bucket.s3.us-east-1.amazonaws.com/labeling_jobs/images/a%20b.jpg?X-Amz-Signature=x');
          return e.submission.image_s3_uri; }"""
    )
    assert uri == "s3://my-bucket/labeling_jobs/images/a b.jpg"


def test_loading_the_script_twice_is_harmless(mount, page):
    sk = mount(rig_attributes())
    page.add_script_tag(url="/assets/crowd-2d-skeleton.js")
    sk.click(*PERSON[0])
    assert len(sk.value) == 1
    assert page.page_errors == []


def test_new_reviewer_notes_keep_the_workers_labels(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.el.evaluate(
        "e => e.setAttribute('annotationIssues', JSON.stringify([{reason: 'left knee missed'}]))"
    )
    sk.page.wait_for_function(
        "() => document.querySelector('crowd-2d-skeleton').shadowRoot.querySelector('.issues').textContent"
    )
    assert "left knee missed" in sk.el.locator(".issues").inner_text()
    assert len(sk.value[0]["annotations"]) == 1


def test_documented_key_table_matches_the_component(mount):
    sk = mount(rig_attributes())
    shown = sk.el.evaluate(
        "e => [...e.shadowRoot.querySelectorAll('.keys tr')].map(r => [...r.cells].map(c => c.textContent))"
    )
    doc = (REPO / "docs" / "labeling-ui.md").read_text()
    section = doc[doc.index("## Keys and mouse") : doc.index("## Attributes")]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| key or action")
    ]
    assert rows == shown


def test_image_key_with_a_percent_sign_submits_without_image_name(mount, page):
    # Without imageName the name comes from the S3 key, which is raw text: "100%.jpg"
    # is not URL-encoded and must not be decoded (decoding it threw, and Submit did nothing).
    sk = mount(rig_attributes(imageS3Uri="s3://pose-bucket/labeling_jobs/images/100%.jpg"))
    for x, y in PERSON:
        sk.click(x, y)
    sk.button("submit").click()
    page.wait_for_function("() => window.crowdFormSubmissions.length === 1", timeout=3000)
    submission = page.evaluate("() => window.crowdFormSubmissions[0]")
    assert submission["image_name"] == "100%.jpg"
    assert submission["image_s3_uri"] == "s3://pose-bucket/labeling_jobs/images/100%.jpg"


def test_submitting_no_skeletons_over_preannotations_asks_first(mount, page):
    initial = [{"name": "runner", "annotations": [{"label": "nose", "x": 1200, "y": 300}]}]
    sk = mount(rig_attributes(initialValues=json.dumps(initial)))
    sk.el.locator("[data-act=deleteSkeleton]").click()
    assert sk.value == []
    sk.button("submit").click()
    confirm = sk.el.locator(".confirm")
    assert confirm.is_visible()
    assert "This submits no skeletons and removes the 1 this task started with." in (
        confirm.inner_text()
    )
    assert page.evaluate("() => window.crowdFormSubmissions.length") == 0
    sk.button("confirmSubmit").click()
    page.wait_for_function("() => window.crowdFormSubmissions.length === 1")
    assert page.evaluate("() => window.crowdFormSubmissions[0].updated_annotations") == "[]"


def test_submitting_no_skeletons_on_an_empty_task_needs_no_confirmation(mount, page):
    sk = mount(rig_attributes())
    assert sk.submit()["updated_annotations"] == "[]"


def test_a_submission_that_cannot_be_written_is_held_and_says_why(mount, page):
    sk = mount(rig_attributes())  # no skeletons: Submit asks nothing first
    # Fault injection: reading the answer fails (as decoding "100%.jpg" once did).
    sk.el.evaluate(
        "e => Object.defineProperty(e, 'submission', {get() { throw new Error('boom'); }})"
    )
    sk.button("submit").click()
    assert sk.el.locator(".status2").inner_text() == "Submit failed: boom. Please report this task."
    page.evaluate("() => document.querySelector('crowd-form').submit()")  # from outside too
    assert page.evaluate("() => window.crowdFormSubmissions.length") == 0
    assert page.evaluate("() => document.querySelectorAll('crowd-form input').length") == 0
