"""QA flags: left/right swaps, points outside the image, duplicate skeletons."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.qa import check_skeletons
from handlers.rig import load_rig
from handlers.skeleton import load_skeletons
from tests.handlers.conftest import COCO, person

HUMAN18 = load_rig("human-18")
TRUCK = load_rig("box-truck")


def flags(*skeletons, rig=COCO, width=None, height=None):
    found = check_skeletons(load_skeletons(list(skeletons), "annotations", rig), rig, width, height)
    return [f.to_jsonable() for f in found]


@pytest.mark.parametrize("rig", [COCO, HUMAN18, TRUCK], ids=lambda r: r.name)
def test_correct_skeleton_has_no_flags(rig):
    assert flags(person(rig), rig=rig, width=1000, height=1000) == []


def test_swapped_wrists_flagged_by_crossed_lines_and_direction():
    assert flags(person(swap=(("left_wrist", "right_wrist"),))) == [
        {
            "flag": "left_right_swap",
            "skeleton": 0,
            "message": "left and right look swapped: lines left_elbow-left_wrist, right_elbow-right_wrist "
            "cross over; left_wrist/right_wrist point the opposite way to the other left/right pairs",
            "lines": [["left_elbow", "left_wrist"], ["right_elbow", "right_wrist"]],
            "pairs": [["left_wrist", "right_wrist"]],
        }
    ]


def test_swapped_arm_below_a_correct_shoulder_flagged():
    swapped = person(swap=(("left_elbow", "right_elbow"), ("left_wrist", "right_wrist")))
    [flag] = flags(swapped)
    assert flag["lines"] == [["left_shoulder", "left_elbow"], ["right_shoulder", "right_elbow"]]


def test_swapped_hips_flagged_as_reversed_cross_piece():
    assert flags(person(swap=(("left_hip", "right_hip"),))) == [
        {
            "flag": "left_right_swap",
            "skeleton": 0,
            "message": "left and right look swapped: left_hip/right_hip point the opposite way to the other left/right pairs",
            "pairs": [["left_hip", "right_hip"]],
        }
    ]


def test_swapped_knees_on_a_narrow_stance_flagged_as_reversed_pair():
    [flag] = flags(person(swap=(("left_knee", "right_knee"),)))
    assert flag["pairs"] == [["left_knee", "right_knee"]]
    assert "lines" not in flag


def test_swapped_shoulders_flagged():
    [flag] = flags(person(swap=(("left_shoulder", "right_shoulder"),)))
    assert flag["pairs"] == [["left_shoulder", "right_shoulder"]]


def test_human18_swapped_shoulders_names_both_cross_pieces():
    [flag] = flags(person(HUMAN18, swap=(("left_shoulder", "right_shoulder"),)), rig=HUMAN18)
    assert flag["pairs"] == [["left_shoulder", "right_shoulder"], ["left_hip", "right_hip"]]


def test_truck_swapped_rear_wheels_flagged():
    [flag] = flags(person(TRUCK, swap=(("left_rear_wheel", "right_rear_wheel"),)), rig=TRUCK)
    assert flag["flag"] == "left_right_swap"


def test_whole_body_mirrored_is_not_detected_documented_limit():
    everything = tuple(COCO.mirror_pairs)
    assert flags(person(swap=everything)) == []


def test_occluded_points_count_for_swap_checks():
    [flag] = flags(
        person(swap=(("left_wrist", "right_wrist"),), occluded=("left_wrist", "right_wrist"))
    )
    assert flag["flag"] == "left_right_swap"


def test_swap_check_skips_missing_points():
    assert flags(person(swap=(("left_wrist", "right_wrist"),), drop=("left_elbow",))) == []


def test_points_outside_the_image_listed():
    # The template is 124 x 387 px; at (600, 100) in a 700 x 480 image the two
    # points left of x = 100 in the template (left elbow, left wrist) stick out.
    assert flags(person(at=(600, 100)), width=700, height=480) == [
        {
            "flag": "outside_image",
            "skeleton": 0,
            "message": "2 point(s) outside the 700x480 image",
            "keypoints": ["left_elbow", "left_wrist"],
        }
    ]


def test_point_on_the_right_edge_is_inside():
    skeleton = {"name": "p", "annotations": [{"label": "nose", "x": 640, "y": 480}]}
    assert flags(skeleton, width=640, height=480) == []


def test_huge_coordinates_flagged_outside_not_crashing():
    skeleton = {
        "name": "p",
        "annotations": [
            {"label": "nose", "x": 999_999, "y": 5},
            {"label": "left_eye", "x": 4, "y": 5},
        ],
    }
    assert flags(skeleton, width=640, height=480)[0]["keypoints"] == ["nose"]


def test_no_image_size_no_outside_check():
    assert flags(person(at=(5000, 5000))) == []


def test_duplicate_skeletons_flagged_once():
    found = flags(
        person(name="a"), person(name="b", move={"nose": (1, 1)}), person(name="c", at=(500, 50))
    )
    assert found == [
        {"flag": "duplicate_skeleton", "skeleton": 1, "message": "skeletons 0 and 1 are near-identical (OKS 1.00)",
         "skeletons": [0, 1], "oks": found[0]["oks"]}
    ]  # fmt: skip
    assert found[0]["oks"] > 0.99


def test_many_copies_of_one_skeleton_flag_each_copy_once():
    found = flags(*[person(name=str(k)) for k in range(5)])
    assert [(f["skeleton"], f["skeletons"]) for f in found] == [(j, [0, j]) for j in range(1, 5)]


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(COCO.labels), st.tuples(st.integers(-6, 6), st.integers(-6, 6))
    ),
    st.floats(0.5, 3),
)
def test_correct_person_with_click_noise_is_not_flagged(noise, scale):
    # Up to 6 pixels per point on a person drawn at the rig's size, proportionally less
    # on a smaller one: the rig's eyes are 14 pixels apart, so on a half-size person
    # 6 pixels each way would really put the left eye right of the right eye (flagged).
    moved = {label: (dx * scale, dy * scale) for label, (dx, dy) in noise.items()}
    assert flags(person(scale=scale, move=moved)) == []


def test_swapped_lower_leg_found_at_the_knee():
    [flag] = flags(person(swap=(("left_knee", "right_knee"), ("left_ankle", "right_ankle"))))
    assert flag["pairs"] == [["left_knee", "right_knee"]]
