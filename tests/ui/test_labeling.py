"""What a worker does with the component: place, skip, occlude, drag, undo, zoom, pan, submit."""

from __future__ import annotations

import json

import pytest

from tests.ui.harness import PERSON, rig_attributes

pytestmark = pytest.mark.browser

COCO = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip


def updated(submission: dict[str, str]) -> list[dict]:
    return json.loads(submission["updated_annotations"])


def assert_within_one_pixel(point: dict, clicked: tuple[float, float]) -> None:
    assert abs(point["x"] - clicked[0]) <= 1 and abs(point["y"] - clicked[1]) <= 1, (point, clicked)


def test_full_person_takes_17_clicks_and_submit(mount):
    sk = mount(rig_attributes())
    clicked = [sk.click(x, y) for x, y in PERSON]
    submission = sk.submit()
    [person] = updated(submission)
    assert [p["label"] for p in person["annotations"]] == COCO
    for point, where in zip(person["annotations"], clicked, strict=True):
        assert point["visibility"] == 2
        assert isinstance(point["x"], int) and isinstance(point["y"], int)
        assert_within_one_pixel(point, where)


def test_click_after_last_keypoint_starts_next_person(mount):
    sk = mount(rig_attributes())
    for x, y in PERSON:
        sk.click(x, y)
    sk.click(400, 400)
    people = sk.value
    assert [len(p["annotations"]) for p in people] == [17, 1]
    assert people[1]["annotations"][0]["label"] == "nose"


def test_skip_key_leaves_keypoint_out_and_advances(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.press("n")  # left_eye is not in the image
    sk.click(*PERSON[2])
    labels = [p["label"] for p in sk.value[0]["annotations"]]
    assert labels == ["nose", "right_eye"]
    assert sk.state["skeletons"][0]["skipped"] == ["left_eye"]


def test_shift_click_places_occluded_and_o_toggles_it(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.click(*PERSON[1], shift=True)
    assert [p["visibility"] for p in sk.value[0]["annotations"]] == [2, 1]
    sk.press("o")  # the point just placed is selected
    assert [p["visibility"] for p in sk.value[0]["annotations"]] == [2, 2]


def test_drag_moves_keypoint_to_release_point(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.click(*PERSON[1])
    start = tuple(round(c) for c in sk.to_client(*PERSON[0]))
    end = (start[0] + 60, start[1] + 45)
    grabbed = sk.to_image(*start)
    sk.drag(start, end)
    released = sk.to_image(*end)
    nose = sk.value[0]["annotations"][0]
    # The grab offset (marker centre to press point) is kept, so the point moves by the drag.
    expected = (PERSON[0][0] + released[0] - grabbed[0], PERSON[0][1] + released[1] - grabbed[1])
    assert_within_one_pixel(nose, expected)
    assert len(sk.value[0]["annotations"]) == 2  # a drag places nothing


def test_drag_on_empty_image_pans_and_places_nothing(mount):
    sk = mount(rig_attributes())
    before = sk.img_rect()
    sk.drag((300, 300), (380, 340))
    after = sk.img_rect()
    assert sk.value == []
    assert after["left"] - before["left"] == pytest.approx(80, abs=1)
    assert after["top"] - before["top"] == pytest.approx(40, abs=1)


def test_long_press_without_movement_still_places(mount, page):
    sk = mount(rig_attributes())
    cx, cy = (round(c) for c in sk.to_client(*PERSON[0]))
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.wait_for_timeout(600)  # the public component turned this into a pan
    page.mouse.up()
    assert len(sk.value[0]["annotations"]) == 1


def test_zoom_and_pan_then_click_lands_on_the_image_coordinate(mount, page):
    sk = mount(rig_attributes())
    page.mouse.move(500, 400)
    under = sk.to_image(500, 400)
    page.mouse.wheel(0, -600)
    page.wait_for_function("() => true")
    after = sk.to_image(500, 400)
    assert sk.state["zoom"] > 1.0
    assert after == pytest.approx(under, abs=0.5)  # zoom keeps the point under the cursor
    sk.press("c")
    page.keyboard.down(" ")
    sk.drag((500, 400), (420, 350))
    page.keyboard.up(" ")
    sk.drag((500, 400), (540, 430), button="right")
    sk.drag((500, 400), (520, 380), button="middle")
    assert sk.value == []  # pans placed nothing
    page.mouse.click(611, 377)
    clicked = sk.to_image(611, 377)
    [nose] = sk.value[0]["annotations"]
    assert_within_one_pixel(nose, clicked)


def test_points_are_clamped_to_the_image(mount, page):
    sk = mount(rig_attributes())
    rect = sk.img_rect()
    page.mouse.click(rect["left"] - 4, rect["top"] - 4)
    [nose] = sk.value[0]["annotations"]
    assert (nose["x"], nose["y"]) == (0, 0)


def test_whole_skeleton_placed_by_one_drag(mount, page):
    sk = mount(rig_attributes())
    sk.press("v")
    a = tuple(round(c) for c in sk.to_client(1000, 300))
    b = tuple(round(c) for c in sk.to_client(1400, 1500))
    sk.drag(b, a)  # up-left works as well as down-right
    [person] = sk.value
    assert [p["label"] for p in person["annotations"]] == COCO
    x0, y0 = sk.to_image(*a)
    x1, y1 = sk.to_image(*b)
    for p in person["annotations"]:
        assert x0 - 1 <= p["x"] <= x1 + 1 and y0 - 1 <= p["y"] <= y1 + 1, p
    # nose sits at (62, 22) of the 124x387 template box
    nose = person["annotations"][0]
    assert nose["x"] == pytest.approx(x0 + 62 / 124 * (x1 - x0), abs=1)
    assert nose["y"] == pytest.approx(y0 + 22 / 387 * (y1 - y0), abs=1)
    assert sk.state["mode"] == "place"


def test_arrow_keys_nudge_selected_point(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    before = sk.value[0]["annotations"][0]
    sk.press("ArrowRight", "ArrowRight", "Shift+ArrowDown")
    after = sk.value[0]["annotations"][0]
    assert (after["x"] - before["x"], after["y"] - before["y"]) == (2, 10)


def test_delete_removes_point_and_next_click_places_it_again(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.click(*PERSON[1])
    sk.press("Delete")
    assert [p["label"] for p in sk.value[0]["annotations"]] == ["nose"]
    sk.click(1500, 1000)
    assert sk.value[0]["annotations"][1]["label"] == "left_eye"


def test_shift_delete_removes_whole_skeleton(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.press("Shift+Delete")
    assert sk.value == []


def test_mirror_key_swaps_left_and_right_labels(mount):
    sk = mount(rig_attributes())
    for x, y in PERSON[:3]:
        sk.click(x, y)
    sk.press("f")
    points = {p["label"]: (p["x"], p["y"]) for p in sk.value[0]["annotations"]}
    assert points["left_eye"] == pytest.approx(PERSON[2], abs=1)
    assert points["right_eye"] == pytest.approx(PERSON[1], abs=1)
    assert points["nose"] == pytest.approx(PERSON[0], abs=1)


def test_swapped_pair_raises_a_live_warning(mount):
    sk = mount(rig_attributes())
    swapped = list(PERSON)
    swapped[9], swapped[10] = swapped[10], swapped[9]  # left_wrist <-> right_wrist
    for x, y in swapped:
        sk.click(x, y)
    warnings = sk.el.locator(".warn li").all_inner_texts()
    assert warnings == [
        "person 1: left and right look swapped: lines left_elbow-left_wrist, right_elbow-right_wrist"
        " cross over; left_wrist/right_wrist point the opposite way to the other left/right pairs"
        " (select a keypoint and press G to swap it with its counterpart, or F to mirror the whole skeleton)"
    ]
    sk.press("Escape")
    sk.el.locator(".card [data-act=row]", has_text="left_wrist").click()  # selects the placed point
    sk.press("g")
    assert sk.el.locator(".warn li").count() == 0


def test_hide_show_keypoint_skeleton_and_all(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.click(*PERSON[1])
    sk.el.locator("[data-act=hideKeypoint]").first.click()
    assert sk.state["skeletons"][0]["hiddenLabels"] == ["nose"]
    sk.press("h")
    assert sk.state["skeletons"][0]["hidden"] is True
    sk.press("m")
    assert sk.state["hideAll"] is True
    assert len(sk.value[0]["annotations"]) == 2  # hidden points are still submitted


def test_next_keypoint_name_follows_the_cursor(mount, page):
    sk = mount(rig_attributes())
    hint = sk.el.locator(".hint")
    page.mouse.move(400, 300)
    assert hint.inner_text().startswith("nose")
    sk.click(*PERSON[0])
    page.mouse.move(420, 320)
    assert hint.inner_text().startswith("left_eye 2/17")
    box = hint.bounding_box()
    assert box and 420 < box["x"] < 460 and 320 < box["y"] < 360


def test_unique_skeleton_colors_give_each_person_its_own(mount):
    sk = mount(rig_attributes(uniqueSkeletonColors="true"))
    sk.click(*PERSON[0])
    sk.press("b")
    sk.click(400, 400)
    colors = [s["color"] for s in sk.state["skeletons"]]
    assert len(set(colors)) == 2 and None not in colors


@pytest.mark.parametrize("undo_key,redo_key", [("Control+z", "Control+Shift+z"), (",", ".")])
def test_undo_and_redo_cover_every_operation(mount, page, undo_key, redo_key):
    sk = mount(rig_attributes())

    def snapshot():
        state = sk.state
        return {"skeletons": state["skeletons"], "hideAll": state["hideAll"]}

    steps = [
        lambda: sk.click(*PERSON[0]),
        lambda: sk.click(*PERSON[1], shift=True),
        lambda: sk.press("n"),
        lambda: sk.click(*PERSON[3]),
        lambda: sk.drag(tuple(round(c) for c in sk.to_client(*PERSON[3])), (700, 500)),
        lambda: sk.press("ArrowLeft"),
        lambda: sk.press("o"),
        lambda: sk.press("f"),
        lambda: sk.press("h"),
        lambda: sk.press("m"),
        lambda: sk.press("m"),
        lambda: sk.press("Delete"),
        lambda: (sk.press("v"), sk.drag((200, 150), (320, 500))),
        lambda: (
            sk.el.locator("input[data-act=rename]").last.fill("runner"),
            sk.el.locator("input[data-act=rename]").last.press("Enter"),
            sk.el.evaluate("e => e.shadowRoot.activeElement?.blur()"),
        ),
        lambda: sk.el.locator("[data-act=hideKeypoint]").last.click(),
        lambda: sk.press("Shift+Delete"),
    ]
    states = [snapshot()]
    for step in steps:
        step()
        states.append(snapshot())
        assert states[-1] != states[-2], f"step {len(states) - 1} changed nothing"
    for expected in reversed(states[:-1]):
        sk.press(undo_key)
        assert snapshot() == expected
    for expected in states[1:]:
        sk.press(redo_key)
        assert snapshot() == expected


def test_ctrl_y_redoes(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.press("Control+z")
    assert sk.value == []
    sk.press("Control+y")
    assert len(sk.value) == 1


def test_marker_keeps_its_screen_size_when_zooming(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])

    def marker_width() -> int:
        # Count the marker's opaque pixels on the overlay canvas along its row.
        return sk.el.evaluate(
            """(e, [x, y]) => {
              const c = e.shadowRoot.querySelector('canvas'); const r = c.getBoundingClientRect();
              const i = e.shadowRoot.querySelector('img').getBoundingClientRect();
              const k = c.width / r.width;
              const sx = Math.round((i.left - r.left + x * i.width / 2400) * k);
              const sy = Math.round((i.top - r.top + y * i.height / 1600) * k);
              const row = c.getContext('2d').getImageData(sx - 40, sy, 81, 1).data;
              let n = 0; for (let j = 3; j < row.length; j += 4) if (row[j] > 128) n++;
              return n; }""",
            list(PERSON[0]),
        )

    sk.press("Escape")
    page.evaluate("() => new Promise(requestAnimationFrame)")
    before = marker_width()
    page.mouse.move(*sk.to_client(*PERSON[0]))
    sk.press("c", "c", "c")
    page.evaluate("() => new Promise(requestAnimationFrame)")
    assert sk.state["zoom"] > 0.7
    assert marker_width() == pytest.approx(before, abs=1)


def test_drag_keypoint_then_fresh_click_still_places_next(mount):
    """No 'click on a marker' trap: selecting a point never blocks placing the next one."""
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    sk.click(*PERSON[0])  # click on the nose marker: selects it
    assert sk.state["selection"] == {"skel": 1, "label": "nose"}
    sk.click(*PERSON[1])
    assert [p["label"] for p in sk.value[0]["annotations"]] == ["nose", "left_eye"]


def test_settings_are_stored_under_a_namespaced_key(mount, page):
    sk = mount(rig_attributes())
    sk.el.locator("details.settings summary").click()
    sk.el.locator("input[name=radius]").fill("9")
    keys = page.evaluate("() => Object.keys(localStorage)")
    assert keys == ["crowd-2d-skeleton:settings:v1"]
    assert (
        json.loads(page.evaluate("() => localStorage.getItem('crowd-2d-skeleton:settings:v1')"))[
            "radius"
        ]
        == 9
    )


def test_every_control_has_an_accessible_name(mount):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    unnamed = sk.el.evaluate(
        """e => [...e.shadowRoot.querySelectorAll('button, input, summary, [tabindex]')]
          .filter(b => !(b.getAttribute('aria-label') || b.textContent.trim() || b.closest('label')))
          .map(b => b.outerHTML)"""
    )
    assert unnamed == []
    assert sk.el.locator(".stage").get_attribute("tabindex") == "0"


def test_toolbar_works_from_the_keyboard(mount, page):
    sk = mount(rig_attributes())
    sk.click(*PERSON[0])
    undo = sk.button("undo")
    undo.focus()
    page.keyboard.press("Enter")
    assert sk.value == []


def test_shift_drag_moves_the_whole_skeleton(mount, page):
    sk = mount(rig_attributes())
    for x, y in PERSON[:3]:
        sk.click(x, y)
    before = sk.value[0]["annotations"]
    start = tuple(round(c) for c in sk.to_client(*PERSON[0]))
    grabbed = sk.to_image(*start)
    page.keyboard.down("Shift")
    sk.drag(start, (start[0] - 80, start[1] + 30))
    page.keyboard.up("Shift")
    released = sk.to_image(start[0] - 80, start[1] + 30)
    dx, dy = released[0] - grabbed[0], released[1] - grabbed[1]
    after = sk.value[0]["annotations"]
    assert len(after) == 3
    for a, b in zip(before, after, strict=True):
        assert b["x"] - a["x"] == pytest.approx(dx, abs=1.5)
        assert b["y"] - a["y"] == pytest.approx(dy, abs=1.5)
