"""COCO that every consumer accepts: sizes, categories, boxes, points outside the image.

pycocotools runs for real (``COCO``, ``loadRes``, ``COCOeval``). FiftyOne and
Ultralytics are not installed (they pull in torch and MongoDB); their rules are
checked on the files instead, each named where it is used.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from handlers.rig import load_rig
from scripts.aws import AwsClients
from scripts.export_geometry import MIN_BOX_FRACTION
from tests.scripts.export.helpers import (
    ALICE,
    BOB,
    RIG,
    H,
    W,
    answer,
    export,
    flat,
    jpeg,
    labeled,
    problems,
    read_json,
    uri,
    write_manifest,
)
from tests.scripts.images import make_image
from tests.scripts.manifests import skeleton


def without_size(line: str, width: Any = None, height: Any = None) -> str:
    """The line with the size its worker reported replaced (None: not reported)."""
    data = json.loads(line)
    for worker in data["pose"]["workers"]:
        worker["image_width"], worker["image_height"] = width, height
    return json.dumps(data)


def assert_sizes_are_whole_numbers(coco: dict[str, Any]) -> None:
    """FiftyOne's COCO importer refuses a whole file over one image whose width or height
    is null, and Ultralytics' COCO converter divides by them: both must be numbers."""
    for image in coco["images"]:
        assert isinstance(image["width"], int) and image["width"] > 0, image
        assert isinstance(image["height"], int) and image["height"] > 0, image


def test_image_size_missing_from_the_label_is_read_from_s3(
    tmp_path: Path, s3: Any, bucket: str, capsys: Any
) -> None:
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/a.jpg", Body=jpeg((640, 480)))
    line = labeled(uri("a.jpg", bucket), [answer("a.jpg", skeleton("p", BOB), bucket=bucket)])
    manifest = write_manifest(tmp_path / "output.manifest", [without_size(line)])

    code = export(tmp_path, manifest, "--max-pictures", "0", clients=AwsClients(s3=s3))

    assert code == 0, capsys.readouterr().err
    coco = read_json(tmp_path / "out" / "coco_keypoints.json")
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(640, 480)]
    assert_sizes_are_whole_numbers(coco)


def test_image_whose_size_cannot_be_found_is_left_out_and_listed(
    tmp_path: Path, s3: Any, bucket: str, capsys: Any
) -> None:
    lines = [
        labeled(uri("a.jpg", bucket), [answer("a.jpg", skeleton("p", BOB), bucket=bucket)]),
        without_size(labeled(uri("gone.jpg", bucket), [answer("gone.jpg", skeleton("p", ALICE), bucket=bucket)], index=1)),
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    code = export(tmp_path, manifest, "--max-pictures", "0", clients=AwsClients(s3=s3))

    assert code == 1
    out = tmp_path / "out"
    coco = read_json(out / "coco_keypoints.json")
    assert [i["file_name"] for i in coco["images"]] == ["a.jpg"]
    assert [a["image_id"] for a in coco["annotations"]] == [1]
    assert_sizes_are_whole_numbers(coco)
    assert (out / "yolo" / "coco-person-17" / "images.txt").read_text() == "./images/a.jpg\n"
    assert not (out / "yolo" / "coco-person-17" / "labels" / "gone.txt").exists()
    assert problems(out) == [
        {
            "line": 2,
            "image": uri("gone.jpg", bucket),
            "reason": f"image size unknown (S3 NoSuchKey for {uri('gone.jpg', bucket)}): left"
            " out of COCO and YOLO",
        }
    ]
    assert "1 images left out of COCO and YOLO: their size is unknown" in capsys.readouterr().err


def test_label_size_that_is_not_numbers_is_read_from_the_image(tmp_path: Path, capsys: Any) -> None:
    line = labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))])
    manifest = write_manifest(tmp_path / "output.manifest", [without_size(line, "wide", "tall")])
    make_image(tmp_path / "images" / "a.jpg", (W, H))

    code = export(tmp_path, manifest, "--images", str(tmp_path / "images"))

    assert code == 0, capsys.readouterr().err
    coco = read_json(tmp_path / "out" / "coco_keypoints.json")
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(W, H)]


@pytest.mark.parametrize(
    ("rig_name", "category"),
    [("coco-person-17", "person"), ("human-18", "person"), ("box-truck", "box-truck")],
)
def test_category_of_the_human_rigs_is_person_with_the_rig_kept(
    tmp_path: Path, rig_name: str, category: str
) -> None:
    rig = load_rig(rig_name)
    first = rig.labels[2]
    line = labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", {first: (10, 20, 2)}))], rig)
    manifest = write_manifest(tmp_path / "output.manifest", [line])

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    [entry] = read_json(tmp_path / "out" / "coco_keypoints.json")["categories"]
    assert (entry["name"], entry["supercategory"]) == (category, category)
    assert entry["rig"] == {"name": rig_name, "fingerprint": rig.fingerprint}
    data = (tmp_path / "out" / "yolo" / rig_name / "data.yaml").read_text()
    assert f'names:\n  0: "{category}"\n' in data


def evaluate(ground_truth: Path, results: list[dict[str, Any]]) -> COCOeval:
    coco = COCO(str(ground_truth))
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        evaluation = COCOeval(coco, coco.loadRes(results), "keypoints")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def test_single_point_skeleton_gets_a_box_that_cocoeval_and_ultralytics_use(
    tmp_path: Path,
) -> None:
    width, height = 1000, 800
    one_point = {"left_shoulder": (500, 400, 2)}
    level = {"left_shoulder": (300, 200, 2), "right_shoulder": (360, 200, 2)}  # zero height
    people = [skeleton("p", ALICE), skeleton("q", one_point), skeleton("r", level)]
    line = labeled(uri("a.jpg"), [answer("a.jpg", *people, size=(width, height))])
    manifest = write_manifest(tmp_path / "output.manifest", [line])

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    ground_truth = tmp_path / "out" / "coco_keypoints.json"
    annotations = read_json(ground_truth)["annotations"]
    side = MIN_BOX_FRACTION * width  # 20 pixels
    assert annotations[1]["bbox"] == [500 - side / 2, 400 - side / 2, side, side]
    assert annotations[1]["area"] == side * side
    assert annotations[2]["bbox"] == [300, 200 - side / 2, 60, side]
    # Detections one pixel off every labeled point: with a zero area, COCOeval's OKS
    # divides by (nearly) nothing and scores them 0; with the box's area they match.
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "keypoints": [v + 1 if i % 3 == 0 and a["keypoints"][i + 2] else v for i, v in enumerate(a["keypoints"])],
            "score": 1.0,
        }
        for a in annotations
    ]  # fmt: skip
    evaluation = evaluate(ground_truth, results)
    assert evaluation.stats[1] == pytest.approx(1.0)  # AP at OKS 0.5
    # Ultralytics drops a box of 2 pixels or less once the image is scaled to 640.
    rows = (tmp_path / "out" / "yolo" / "coco-person-17" / "labels" / "a.txt").read_text()
    for row in rows.splitlines():
        box_width, box_height = (float(v) for v in row.split()[3:5])
        scale = 640 / max(width, height)
        assert box_width * width * scale > 2 and box_height * height * scale > 2


def test_points_outside_the_image_are_treated_alike_in_coco_and_yolo(
    tmp_path: Path, capsys: Any
) -> None:
    outside = {"nose": (W + 50, 10, 2), "left_ankle": (80, H + 20, 2), "left_hip": (100, 150, 1)}
    line = labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", outside))])
    manifest = write_manifest(tmp_path / "output.manifest", [line])

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    [annotation] = read_json(tmp_path / "out" / "coco_keypoints.json")["annotations"]
    inside = {"nose": (W, 10, 2), "left_ankle": (80, H, 2), "left_hip": (100, 150, 1)}
    assert annotation["keypoints"] == flat(inside)
    assert annotation["bbox"] == [80, 10, W - 80, H - 10]
    [row] = (
        (tmp_path / "out" / "yolo" / "coco-person-17" / "labels" / "a.txt").read_text().splitlines()
    )
    values = [float(v) for v in row.split()[1:]]
    # Ultralytics' label check: every coordinate within [0, 1] (it tolerates 1%).
    assert all(0 <= v <= 1 for i, v in enumerate(values[4:]) if i % 3 != 2)
    center_x, center_y, box_width, box_height = values[:4]
    x, y = (center_x - box_width / 2) * W, (center_y - box_height / 2) * H
    assert [x, y, box_width * W, box_height * H] == pytest.approx(annotation["bbox"], rel=1e-5)
    yolo_points = [
        value * (W if i % 3 == 0 else H if i % 3 == 1 else 1) for i, value in enumerate(values[4:])
    ]
    assert yolo_points == pytest.approx(annotation["keypoints"], rel=1e-5)
    assert "keypoints outside the image moved onto its edge: 2" in capsys.readouterr().out
    assert read_json(tmp_path / "out" / "summary.json")["keypoints_moved_onto_image_edge"] == 2


def test_coco_file_round_trips_through_pycocotools_against_itself(tmp_path: Path) -> None:
    lines = [
        labeled(uri(f"{i}.jpg"), [answer(f"{i}.jpg", skeleton("p", ALICE), skeleton("q", BOB))], index=i)
        for i in range(3)
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "output.manifest", lines)
    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    ground_truth = tmp_path / "out" / "coco_keypoints.json"
    annotations = read_json(ground_truth)["annotations"]
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in annotations
    ]
    assert evaluate(ground_truth, results).stats[0] == pytest.approx(1.0)
    assert [a["keypoints"] for a in annotations] == [flat(ALICE), flat(BOB)] * 3
    assert RIG.name == read_json(ground_truth)["categories"][0]["rig"]["name"]
