"""Pre-annotations from COCO keypoints and JSON Lines become the manifest's annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.rig import load_rig
from scripts import launch_job, pre_annotations
from scripts.cli import UserError
from tests.scripts import aws_fakes
from tests.scripts.images import make_folder

RIG = load_rig("coco-person-17")


def coco_file(path: Path, annotations: list[dict[str, Any]], **category: Any) -> Path:
    path.write_text(
        json.dumps(
            {
                "images": [
                    {"id": 7, "file_name": "a.jpg", "width": 64, "height": 48},
                    {"id": 8, "file_name": "sub/c.jpeg", "width": 64, "height": 48},
                ],
                "annotations": annotations,
                "categories": [
                    {
                        "id": 1,
                        "name": "person",
                        "keypoints": list(RIG.labels),
                        "skeleton": [[16, 14]],
                        **category,
                    }
                ],
            }
        )
    )
    return path


def flat(
    points: dict[str, tuple[float, float, int]], labels: list[str] | None = None
) -> list[float]:
    out: list[float] = []
    for label in labels or RIG.labels:
        out.extend(points.get(label, (0, 0, 0)))
    return out


def test_launch_pre_annotations_from_coco_go_into_manifest(tmp_path: Path, capsys: Any) -> None:
    folder = make_folder(tmp_path / "images", ["a.jpg", "b.png", "sub/c.jpeg"])
    coco = coco_file(
        tmp_path / "pred.json",
        [
            {"id": 1, "image_id": 7, "category_id": 1, "keypoints": flat({"nose": (30, 10, 2), "left_knee": (28.5, 40, 1)})},
            {"id": 2, "image_id": 7, "category_id": 1, "keypoints": flat({"right_ankle": (5, 45, 2)})},
            {"id": 3, "image_id": 8, "category_id": 1, "keypoints": flat({"left_eye": (12, 8, 2)})},
            {"id": 4, "image_id": 8, "category_id": 1, "iscrowd": 1, "keypoints": flat({})},
        ],
    )  # fmt: skip
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "bkt")

    code = launch_job.main(
        [str(folder), "--dry-run", "--workteam-arn", aws_fakes.WORKTEAM_ARN,
         "--stack-outputs", str(outputs), "--manifest-out", str(tmp_path / "m.manifest"),
         "--pre-annotations", str(coco)]
    )  # fmt: skip

    assert code == 0, capsys.readouterr().err
    lines = [json.loads(x) for x in (tmp_path / "m.manifest").read_text().splitlines()]
    assert lines == [
        {
            "source-ref": "s3://bkt/labeling_jobs/images/a.jpg",
            "annotations": [
                {
                    "name": "person 1",
                    "annotations": [
                        {"label": "nose", "x": 30, "y": 10, "visibility": 2},
                        {"label": "left_knee", "x": 28.5, "y": 40, "visibility": 1},
                    ],
                },
                {
                    "name": "person 2",
                    "annotations": [{"label": "right_ankle", "x": 5, "y": 45, "visibility": 2}],
                },
            ],
        },
        {"source-ref": "s3://bkt/labeling_jobs/images/b.png"},
        {
            "source-ref": "s3://bkt/labeling_jobs/images/sub/c.jpeg",
            "annotations": [
                {"name": "person 1", "annotations": [{"label": "left_eye", "x": 12, "y": 8, "visibility": 2}]}
            ],
        },
    ]  # fmt: skip


def test_coco_category_in_another_keypoint_order_is_remapped(tmp_path: Path) -> None:
    order = list(reversed(RIG.labels))
    coco = coco_file(
        tmp_path / "pred.json",
        [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 1,
                "keypoints": flat({"nose": (30, 10, 2)}, order),
            }
        ],
        keypoints=order,
    )

    result = pre_annotations.load(coco, RIG)

    assert result == {
        "a.jpg": [{"name": "person 1", "annotations": [{"label": "nose", "x": 30, "y": 10, "visibility": 2}]}]
    }  # fmt: skip


def test_coco_keypoint_not_in_rig_is_named(tmp_path: Path) -> None:
    coco = coco_file(tmp_path / "pred.json", [], keypoints=["nose", "tail"])

    with pytest.raises(UserError, match=r"categories\[0\]\.keypoints: tail not in the stack's rig"):
        pre_annotations.load(coco, RIG)


def test_coco_bad_visibility_names_the_annotation(tmp_path: Path) -> None:
    keypoints = flat({"nose": (30, 10, 2)})
    keypoints[2] = 5
    coco = coco_file(
        tmp_path / "pred.json", [{"id": 9, "image_id": 7, "category_id": 1, "keypoints": keypoints}]
    )

    with pytest.raises(UserError) as caught:
        pre_annotations.load(coco, RIG)

    assert "annotations[0]" in str(caught.value)
    assert "visibility of 'nose' must be 0, 1 or 2, got 5" in str(caught.value)


def test_coco_unknown_image_id_is_named(tmp_path: Path) -> None:
    coco = coco_file(
        tmp_path / "pred.json", [{"id": 1, "image_id": 99, "category_id": 1, "keypoints": flat({})}]
    )

    with pytest.raises(UserError, match=r"annotations\[0\]: image_id 99 is not in images"):
        pre_annotations.load(coco, RIG)


def test_json_lines_pre_annotations_are_validated_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "pre.jsonl"
    path.write_text(
        '{"image": "a.jpg", "annotations": [{"name": "p", "annotations": [{"label": "nose", "x": 3, "y": 4}]}]}\n'
        "\n"
        '{"image": "b.png", "annotations": []}\n'
    )

    result = pre_annotations.load(path, RIG)

    assert result == {
        "a.jpg": [
            {"name": "p", "annotations": [{"label": "nose", "x": 3, "y": 4, "visibility": 2}]}
        ],
        "b.png": [],
    }


def test_json_lines_unknown_label_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "pre.jsonl"
    path.write_text(
        '{"image": "a.jpg", "annotations": []}\n'
        '{"image": "b.png", "annotations": [{"name": "p", "annotations": [{"label": "tail", "x": 3, "y": 4}]}]}\n'
    )

    with pytest.raises(UserError) as caught:
        pre_annotations.load(path, RIG)

    message = str(caught.value)
    assert message.startswith(f"--pre-annotations {path}: line 2: ")
    assert "annotations[0].annotations[0].label" in message
    assert 'unknown label "tail"' in message


def test_json_lines_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pre.jsonl"
    path.write_text('{"image": "a.jpg", "annotations": []}\n{"image": "b.png", \n')

    with pytest.raises(UserError, match=r"line 2: not JSON"):
        pre_annotations.load(path, RIG)


def test_launch_pre_annotations_for_unknown_image_rejected(tmp_path: Path, capsys: Any) -> None:
    folder = make_folder(tmp_path / "images", ["a.jpg"])
    pre = tmp_path / "pre.jsonl"
    pre.write_text(
        '{"image": "a.jpg", "annotations": []}\n{"image": "zz.jpg", "annotations": []}\n'
    )
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "bkt")

    code = launch_job.main(
        [str(folder), "--dry-run", "--workteam-arn", aws_fakes.WORKTEAM_ARN,
         "--stack-outputs", str(outputs), "--pre-annotations", str(pre),
         "--manifest-out", str(tmp_path / "m.manifest")]
    )  # fmt: skip

    assert code == 1
    assert "1 image names match no image in the input (zz.jpg)" in capsys.readouterr().err
    assert not (tmp_path / "m.manifest").exists()
