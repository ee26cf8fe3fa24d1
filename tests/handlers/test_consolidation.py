"""Several workers become one answer: matching by OKS, medians, majority, agreement."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.consolidation import MATCH_MIN_OKS, consolidate, median
from handlers.skeleton import Visibility, load_skeletons, skeletons_to_jsonable
from tests.handlers.conftest import COCO, person
from tests.handlers.test_skeleton import valid_skeletons


def answer(*skeletons):
    return load_skeletons(list(skeletons), "annotations", COCO)


ALICE = {"at": (100, 50), "name": "alice"}
BOB = {"at": (400, 60), "name": "bob"}


def test_single_worker_answer_returned_as_drawn_without_empty_skeletons():
    drawn = answer(person(**ALICE), {"name": "", "annotations": []}, person(**BOB))
    result = consolidate([drawn], COCO)
    assert result.skeletons == [drawn[0], drawn[2]]
    assert result.agreement is None
    assert result.members == [[(0, 0)], [(0, 2)]]


def test_workers_listing_people_in_different_orders_are_matched():
    result = consolidate(
        [
            answer(person(**ALICE), person(**BOB)),
            answer(person(**BOB, move={"nose": (2, 0)}), person(**ALICE, move={"nose": (0, 2)})),
            answer(person(**ALICE), person(**BOB)),
        ],
        COCO,
    )
    assert [s.name for s in result.skeletons] == ["alice", "bob"]
    assert result.members == [[(0, 0), (1, 1), (2, 0)], [(0, 1), (1, 0), (2, 1)]]
    assert result.agreement.workers == 3
    assert all(s.workers == 3 and s.mean_oks > 0.99 for s in result.agreement.skeletons)


def test_median_per_keypoint_ignores_one_outlier():
    result = consolidate(
        [
            answer(person(**ALICE, move={"nose": (1, 0)})),
            answer(person(**ALICE, move={"nose": (90, 40)})),
            answer(person(**ALICE, move={"nose": (3, 0)})),
        ],
        COCO,
    )
    nose = result.skeletons[0].points()["nose"]
    assert (nose.x, nose.y) == (165, 72)
    spread = result.agreement.skeletons[0].keypoint_spread
    assert spread["nose"] == pytest.approx(55.3, abs=0.01)
    assert spread["left_eye"] == 0.0


def test_visibility_by_majority_and_ties_go_to_visible():
    three = consolidate(
        [answer(person(occluded=("nose",))), answer(person(occluded=("nose",))), answer(person())],
        COCO,
    )
    assert three.skeletons[0].points()["nose"].visibility is Visibility.OCCLUDED
    two = consolidate([answer(person(occluded=("nose",))), answer(person())], COCO)
    assert two.skeletons[0].points()["nose"].visibility is Visibility.VISIBLE


def test_keypoint_placed_by_some_workers_uses_those_and_is_reported():
    result = consolidate(
        [answer(person(drop=("left_ear",))), answer(person()), answer(person(drop=("left_ear",)))],
        COCO,
    )
    assert "left_ear" in result.skeletons[0].points()
    assert result.agreement.skeletons[0].keypoint_workers == {"left_ear": 1}
    assert result.skeletons[0].keypoints[-1].label == "left_ear"  # after the first worker's points


def test_partial_worker_set_skeleton_drawn_by_some_workers():
    result = consolidate(
        [
            answer(person(**ALICE), person(**BOB)),
            answer(person(**ALICE)),
            answer(person(**BOB), person(**ALICE)),
        ],
        COCO,
    )
    assert [
        (s.name, a.workers)
        for s, a in zip(result.skeletons, result.agreement.skeletons, strict=True)
    ] == [
        ("alice", 3),
        ("bob", 2),
    ]


def test_skeleton_far_from_every_other_starts_its_own_group():
    carol = person(at=(900, 600), name="carol")
    result = consolidate([answer(person(**ALICE)), answer(person(**ALICE), carol)], COCO)
    assert [s.name for s in result.skeletons] == ["alice", "carol"]
    assert result.agreement.skeletons[1].workers == 1
    assert result.agreement.skeletons[1].mean_oks is None
    assert result.agreement.mean_oks == 1.0


def test_poor_match_below_threshold_is_not_merged():
    far = person(**ALICE, move={k.label: (60, 0) for k in COCO.keypoints})
    result = consolidate([answer(person(**ALICE)), answer(far)], COCO)
    assert len(result.skeletons) == 2, f"OKS below {MATCH_MIN_OKS} means different people"


def test_name_by_majority():
    result = consolidate(
        [answer(person(name="a")), answer(person(name="b")), answer(person(name="b"))], COCO
    )
    assert result.skeletons[0].name == "b"


@pytest.mark.parametrize(
    ("values", "expected"),
    [([3], 3), ([1, 5, 3], 3), ([2, 4], 3), ([2, 3], 2.5), ([2.0, 4], 3.0), ([7, 7], 7)],
)
def test_median(values, expected):
    result = median(values)
    assert result == expected and type(result) is type(expected)


@settings(max_examples=150, deadline=None)
@given(valid_skeletons, st.integers(1, 9))
def test_identical_workers_consolidate_to_that_answer(value, workers):
    drawn = load_skeletons(value, "annotations", COCO)
    result = consolidate([copy.deepcopy(drawn) for _ in range(workers)], COCO)
    expected = [s for s in drawn if s.num_labeled]
    assert skeletons_to_jsonable(result.skeletons) == skeletons_to_jsonable(expected)
