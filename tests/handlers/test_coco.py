"""COCO conversion round-trips, and pycocotools loads and evaluates what we write."""

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO as CocoApi
from pycocotools.cocoeval import COCOeval

from handlers.coco import (
    coco_annotation,
    coco_category,
    coco_keypoints,
    skeleton_from_coco,
    skeleton_from_coco_keypoints,
)
from handlers.oks import sigmas
from handlers.rig import load_rig
from handlers.skeleton import AnnotationError, Keypoint, Skeleton, Visibility, load_skeletons
from tests.handlers.conftest import COCO, person


def skeletons():
    return load_skeletons(
        [person(occluded=("left_wrist",), drop=("right_ear",)), person(at=(400, 60), name="b")],
        "annotations",
        COCO,
    )


def test_category_has_rig_order_and_one_indexed_skeleton():
    category = coco_category(COCO, name="person")
    assert category["keypoints"][:3] == ["nose", "left_eye", "right_eye"]
    assert category["skeleton"][0] == [16, 14]
    assert category["name"] == category["supercategory"] == "person"
    assert coco_category(load_rig("box-truck"))["name"] == "box-truck"


def test_annotation_fields_in_rig_order():
    s = skeletons()[0]
    ann = coco_annotation(s, COCO, annotation_id=7, image_id=3)
    assert ann["keypoints"][:3] == [162, 72, 2]
    assert ann["keypoints"][9 * 3 : 9 * 3 + 3] == [214, 236, 1]  # left_wrist occluded
    assert ann["keypoints"][4 * 3 : 4 * 3 + 3] == [0, 0, 0]  # right_ear not labeled
    assert ann["num_keypoints"] == 16
    assert ann["bbox"] == [110, 65, 104, 357]
    assert ann["area"] == 104 * 357
    assert (ann["id"], ann["image_id"], ann["category_id"], ann["iscrowd"]) == (7, 3, 1, 0)


def test_coco_round_trip_keeps_points_and_visibility():
    for s in skeletons():
        back = skeleton_from_coco_keypoints(coco_keypoints(s, COCO), COCO, name=s.name)
        assert back == s


def test_skeleton_from_coco_names_it_after_the_annotation_id():
    ann = coco_annotation(skeletons()[1], COCO, annotation_id=12, image_id=1)
    assert skeleton_from_coco(ann, COCO).name == "12"


def test_from_coco_wrong_length_names_the_rig():
    with pytest.raises(
        AnnotationError,
        match=r"keypoints: expected 51 numbers \(x, y, v per keypoint of 'coco-person-17'\), got a list of 3",
    ):
        skeleton_from_coco_keypoints([1, 2, 2], COCO)


def test_from_coco_bad_values_name_the_index():
    flat = [0] * 51
    flat[0:3] = [10, 10, 5]
    flat[3:6] = [-4, 10, 2]
    with pytest.raises(AnnotationError) as err:
        skeleton_from_coco_keypoints(flat, COCO)
    assert [str(e) for e in err.value.errors] == [
        "keypoints[2]: visibility of 'nose' must be 0, 1 or 2, got 5",
        "keypoints[3]: coordinate of 'left_eye' must be a number >= 0, got -4",
    ]


def test_to_coco_unknown_label_raises():
    with pytest.raises(
        AnnotationError, match="label 'tail' is not a keypoint of rig 'coco-person-17'"
    ):
        coco_keypoints(Skeleton("dog", [Keypoint("tail", 1, 1, Visibility.VISIBLE)]), COCO)


def test_pycocotools_loads_and_cocoeval_scores_perfect_predictions_one():
    anns = [
        coco_annotation(s, COCO, annotation_id=i + 1, image_id=1) for i, s in enumerate(skeletons())
    ]
    dataset = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        "annotations": anns,
        "categories": [coco_category(COCO, name="person")],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt = CocoApi()
        gt.dataset = dataset
        gt.createIndex()
        results = [
            {"image_id": 1, "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
            for a in anns
        ]
        dt = gt.loadRes(results)
        evaluator = COCOeval(gt, dt, iouType="keypoints")
        evaluator.params.kpt_oks_sigmas = np.array(sigmas(COCO))
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert gt.loadCats(1)[0]["keypoints"] == list(COCO.labels)
    assert evaluator.stats[0] == pytest.approx(1.0)
