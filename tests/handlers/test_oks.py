"""OKS agrees with pycocotools, and follows the documented peer-to-peer rules."""

import numpy as np
import pytest
from pycocotools.cocoeval import COCOeval

from handlers.oks import MIN_AREA, area, oks, sigma, sigmas
from handlers.rig import DEFAULT_SIGMA
from handlers.skeleton import Keypoint, Skeleton, load_skeletons
from tests.handlers.conftest import COCO, person


def skeleton(**kwargs):
    return load_skeletons([person(**kwargs)], "annotations", COCO)[0]


def test_oks_of_identical_skeletons_is_one():
    assert oks(skeleton(), skeleton(), COCO) == 1.0


def test_oks_matches_pycocotools_compute_oks():
    gt, dt = (
        skeleton(),
        skeleton(move={"nose": (4, -3), "left_wrist": (10, 2), "right_knee": (-6, 8)}),
    )
    gt_area = 5000.0
    evaluator = COCOeval(iouType="keypoints")
    evaluator.params.kpt_oks_sigmas = np.array(sigmas(COCO))
    flat = lambda s: [v for k in COCO.labels for v in (s.points()[k].x, s.points()[k].y, 2)]  # noqa: E731
    evaluator._gts[1, 1] = [{"keypoints": flat(gt), "area": gt_area, "bbox": [0, 0, 1, 1]}]
    evaluator._dts[1, 1] = [{"keypoints": flat(dt), "score": 1.0}]
    expected = evaluator.computeOks(1, 1)[0][0]
    assert oks(gt, dt, COCO, scale_area=gt_area) == pytest.approx(expected, rel=1e-9)


def test_oks_counts_keypoints_labeled_by_only_one_as_zero():
    full, partial = skeleton(), skeleton(drop=("nose",))
    assert oks(full, partial, COCO) == pytest.approx(16 / 17, rel=1e-3)


def test_oks_ignores_unlabeled_keypoints():
    a = Skeleton("a", [Keypoint("nose", 10, 10), Keypoint("left_eye", 0, 0, 0)])
    b = Skeleton("b", [Keypoint("nose", 10, 10)])
    assert oks(a, b, COCO) == 1.0


def test_oks_of_empty_skeletons_is_zero():
    assert oks(Skeleton("a", []), Skeleton("b", []), COCO) == 0.0


def test_oks_one_point_skeletons_use_min_area():
    a, b = Skeleton("a", [Keypoint("nose", 10, 10)]), Skeleton("b", [Keypoint("nose", 11, 10)])
    assert area(a) == 0.0
    assert oks(a, b, COCO) == pytest.approx(np.exp(-1 / (8 * 0.026**2 * MIN_AREA)))


def test_oks_far_apart_is_near_zero_and_never_nan():
    a, b = skeleton(at=(0, 0)), skeleton(at=(500_000, 500_000), scale=1000)
    value = oks(a, b, COCO)
    assert 0.0 <= value < 1e-6


def test_sigma_is_the_rigs_then_default():
    assert sigma("left_hip", COCO) == 0.107
    assert sigma("antenna", COCO) == DEFAULT_SIGMA
