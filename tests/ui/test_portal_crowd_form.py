"""Our crowd-form: the answer it collects from a template's controls, and its submit button."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

FORM = """<!doctype html><meta charset=utf-8><script src="/stand-in.js"></script>
<crowd-form>
  <input type="checkbox" name="no_changes_needed" checked>
  <input type="checkbox" name="flag">
  <input type="radio" name="quality" value="good">
  <input type="radio" name="quality" value="poor" checked>
  <input type="text" name="note" value="first">
  <textarea name="comment">a &lt;b&gt; "c"</textarea>
  <select name="kind"><option>one</option><option selected>two</option></select>
  <input type="text" name="skipped" value="x" disabled>
  <input type="hidden" name="note" value="last one wins">
  {button}
</crowd-form>"""


def test_portal_crowd_form_collects_every_named_control_as_strings(page, server):
    button = '<crowd-button form-action="submit">Send</crowd-button>'
    page.goto(server.add("/page/crowd-form", FORM.format(button=button)))
    page.locator("crowd-button").click()
    page.wait_for_function("() => window.crowdFormSubmissions.length === 1")
    assert page.evaluate("() => window.crowdFormSubmissions[0]") == {
        "no_changes_needed": "true",
        "flag": "false",
        "quality": "poor",
        "note": "last one wins",
        "comment": 'a <b> "c"',
        "kind": "two",
    }


def test_portal_crowd_form_a_cancelled_submit_sends_nothing(page, server):
    page.goto(server.add("/page/crowd-form-cancel", FORM.format(button="")))
    page.evaluate(
        "() => document.querySelector('crowd-form')"
        ".addEventListener('submit', (e) => e.preventDefault())"
    )
    page.evaluate("() => document.querySelector('crowd-form').submit()")
    assert page.evaluate("() => window.crowdFormSubmissions") == []


def test_portal_crowd_form_adds_a_submit_button_when_the_template_has_none(page, server):
    page.goto(server.add("/page/crowd-form-no-button", FORM.format(button="")))
    added = page.locator('crowd-form > crowd-button[form-action="submit"]')
    assert added.inner_text() == "Submit"
    added.click()
    page.wait_for_function("() => window.crowdFormSubmissions.length === 1")
    assert page.locator("crowd-button").count() == 1
