"""The rig travels with the labels: each label is exported with the rig it records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO

from handlers.rig import Rig, load_rig
from tests.scripts import aws_fakes
from tests.scripts.export.helpers import (
    ALICE,
    BOB,
    RIG,
    answer,
    export,
    flat,
    labeled,
    problems,
    read_json,
    uri,
    write_manifest,
)
from tests.scripts.manifests import skeleton

HUMAN_18 = load_rig("human-18")
TRUCK = load_rig("box-truck")
TRUCK_POINTS = {"left_front_wheel": (100, 250, 2), "left_rear_wheel": (300, 250, 2)}


@pytest.fixture
def no_pulumi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No `pulumi` on PATH: the stack cannot be read unless --stack-outputs is given."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def people(tmp_path: Path, *, record_rig: bool = True, lines: int = 2) -> Path:
    return write_manifest(
        tmp_path / "output.manifest",
        [
            labeled(uri(f"{i}.jpg"), [answer(f"{i}.jpg", skeleton("p", ALICE), skeleton("q", BOB))], index=i, record_rig=record_rig)
            for i in range(lines)
        ],
    )  # fmt: skip


def trucks(tmp_path: Path, *, record_rig: bool = True, rig: Rig = TRUCK) -> Path:
    return write_manifest(
        tmp_path / "trucks.manifest",
        [
            labeled(uri(f"truck{i}.jpg"), [answer(f"truck{i}.jpg", skeleton("t", TRUCK_POINTS))], rig, index=i, record_rig=record_rig)
            for i in range(3)
        ],
    )  # fmt: skip


def test_labels_that_record_their_rig_export_without_rig_or_stack(
    tmp_path: Path, no_pulumi: None, capsys: Any
) -> None:
    manifest = people(tmp_path)

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0, capsys.readouterr().err

    coco = COCO(str(tmp_path / "out" / "coco_keypoints.json"))
    [category] = coco.loadCats(coco.getCatIds())
    assert category["rig"] == {"name": RIG.name, "fingerprint": RIG.fingerprint}
    assert [a["keypoints"] for a in coco.loadAnns(coco.getAnnIds())] == [flat(ALICE), flat(BOB)] * 2


def test_rig_option_that_disagrees_with_the_labels_stops_before_writing(
    tmp_path: Path, capsys: Any
) -> None:
    manifest = people(tmp_path)

    code = export(tmp_path, manifest, "--rig", "human-18")

    assert code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "python -m scripts.export_results: error: --rig 'human-18' (fingerprint"
        f" {HUMAN_18.fingerprint}) is not the rig the labels were made with: line 1 records"
        f" rig 'coco-person-17' (fingerprint {RIG.fingerprint}); leave --rig out to use the"
        " labels' own rig"
    )
    assert not (tmp_path / "out").exists()


def test_keypoints_not_in_the_rig_are_listed_and_exit_1_unless_allow_partial(
    tmp_path: Path, capsys: Any
) -> None:
    # Labels from before rigs were recorded, exported with the wrong rig: COCO-17's
    # nose, ear and eye are not human-18 keypoints.
    manifest = people(tmp_path, record_rig=False)

    code = export(tmp_path, manifest, "--rig", "human-18", "--max-pictures", "0")

    out, err = capsys.readouterr()
    assert code == 1
    found = problems(tmp_path / "out")
    assert [(p["line"], p["image"]) for p in found] == [(1, uri("0.jpg")), (2, uri("1.jpg"))]
    # ALICE's nose and BOB's nose: two keypoints per line.
    assert found[0]["reason"].startswith("2 keypoint(s) not exported with rig 'human-18': pose.")
    assert "unknown label \"nose\": not in rig 'human-18'" in found[0]["reason"]
    assert "keypoints not exported: 4 (see problems.jsonl)" in out
    assert "2 problems, see" in err
    # What the rig has is still exported, in its order.
    coco = read_json(tmp_path / "out" / "coco_keypoints.json")
    shoulder = 3 * HUMAN_18.index("left_shoulder")
    assert coco["annotations"][0]["keypoints"][shoulder : shoulder + 3] == [230, 90, 2]
    assert coco["annotations"][0]["num_keypoints"] == 4

    assert export(tmp_path, manifest, "--rig", "human-18", "--allow-partial") == 0


def test_box_truck_labels_are_not_exported_as_coco_17(tmp_path: Path, capsys: Any) -> None:
    assert export(tmp_path / "a", trucks(tmp_path), "--rig", "coco-person-17") == 2
    assert "is not the rig the labels were made with: line 1 records rig 'box-truck'" in (
        capsys.readouterr().err
    )

    # Older labels (no rig recorded): every line is listed, none passes quietly.
    older = trucks(tmp_path, record_rig=False)
    assert export(tmp_path / "b", older, "--rig", "coco-person-17", "--max-pictures", "0") == 1
    found = problems(tmp_path / "b" / "out")
    assert [p["line"] for p in found] == [1, 2, 3]
    assert all("not in rig 'coco-person-17'" in p["reason"] for p in found)


def test_manifest_of_two_rigs_gives_a_category_and_a_yolo_folder_each(
    tmp_path: Path, capsys: Any
) -> None:
    lines = [
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", ALICE))]),
        labeled(uri("truck.jpg"), [answer("truck.jpg", skeleton("t", TRUCK_POINTS))], TRUCK, index=1),
        labeled(uri("b.jpg"), [answer("b.jpg", skeleton("p", BOB))], index=2),
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0, capsys.readouterr().err

    coco = COCO(str(tmp_path / "out" / "coco_keypoints.json"))
    categories = coco.loadCats(coco.getCatIds())
    assert [(c["id"], c["name"], c["rig"]["name"]) for c in categories] == [
        (1, "person", "coco-person-17"),
        (2, "box-truck", "box-truck"),
    ]
    assert categories[1]["keypoints"] == list(TRUCK.labels)
    annotations = coco.loadAnns(coco.getAnnIds())
    assert [(a["image_id"], a["category_id"]) for a in annotations] == [(1, 1), (2, 2), (3, 1)]
    assert annotations[1]["keypoints"] == flat(TRUCK_POINTS, TRUCK)
    yolo = tmp_path / "out" / "yolo"
    assert (
        yolo / "coco-person-17" / "images.txt"
    ).read_text() == "./images/a.jpg\n./images/b.jpg\n"
    assert (yolo / "box-truck" / "images.txt").read_text() == "./images/truck.jpg\n"
    assert "kpt_shape: [16, 3]\n" in (yolo / "box-truck" / "data.yaml").read_text()
    assert "rigs: coco-person-17 (2 images), box-truck (1 images)" in capsys.readouterr().out


def custom_rig(tmp_path: Path) -> tuple[Path, Rig]:
    """A rig no export bundles: box-truck with one more keypoint, under its own name."""
    data = TRUCK.to_jsonable()
    data["name"] = "trailer-truck"
    data["keypoints"].append({"label": "hitch", "x": 0.5, "y": 0.9})
    path = tmp_path / "trailer-truck.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, load_rig(path)


def test_label_of_a_rig_the_export_has_no_file_for_asks_for_it(
    tmp_path: Path, no_pulumi: None, capsys: Any
) -> None:
    path, rig = custom_rig(tmp_path)
    manifest = trucks(tmp_path, rig=rig)

    assert export(tmp_path / "a", manifest) == 1
    err = capsys.readouterr().err
    assert f"line 1 records rig 'trailer-truck' (fingerprint {rig.fingerprint})" in err
    assert "which this export has no file for" in err and "pass --rig FILE" in err
    assert not (tmp_path / "a" / "out").exists()

    assert export(tmp_path / "b", manifest, "--rig", str(path), "--max-pictures", "0") == 0
    [category] = read_json(tmp_path / "b" / "out" / "coco_keypoints.json")["categories"]
    assert category["name"] == "trailer-truck" and category["keypoints"][-1] == "hitch"


def test_stack_rig_supplies_a_recorded_rig_that_is_not_bundled(tmp_path: Path, capsys: Any) -> None:
    path, rig = custom_rig(tmp_path)
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "b", rig=str(path))

    code = export(tmp_path, trucks(tmp_path, rig=rig), "--stack-outputs", str(outputs), "--max-pictures", "0")  # fmt: skip

    assert code == 0, capsys.readouterr().err
    [category] = read_json(tmp_path / "out" / "coco_keypoints.json")["categories"]
    assert category["rig"] == {"name": "trailer-truck", "fingerprint": rig.fingerprint}


def test_older_labels_without_rig_or_stack_ask_for_rig_first(
    tmp_path: Path, no_pulumi: None, capsys: Any
) -> None:
    code = export(tmp_path, people(tmp_path, record_rig=False))

    assert code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "python -m scripts.export_results: error: line 1 records no rig (labeled before labels"
        " recorded their rig): pass --rig NAME|FILE with the rig it was labeled with"
    )
    assert "cannot run `pulumi`" in line  # and why the stack's rig was no way out
    assert not (tmp_path / "out").exists()


def test_older_labels_use_the_stacks_rig(tmp_path: Path, capsys: Any) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "b", rig="coco-person-17")
    manifest = people(tmp_path, record_rig=False)

    code = export(tmp_path, manifest, "--stack-outputs", str(outputs), "--max-pictures", "0")

    assert code == 0, capsys.readouterr().err
    coco = read_json(tmp_path / "out" / "coco_keypoints.json")
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(ALICE), flat(BOB)] * 2


def test_rig_field_that_is_not_a_name_and_fingerprint_is_a_problem_line(
    tmp_path: Path, capsys: Any
) -> None:
    good = json.loads(labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))]))
    bad = json.loads(labeled(uri("b.jpg"), [answer("b.jpg", skeleton("p", BOB))], index=1))
    bad["pose"]["rig"] = "coco-person-17"
    manifest = write_manifest(tmp_path / "output.manifest", [json.dumps(good), json.dumps(bad)])

    assert export(tmp_path, manifest, "--max-pictures", "0") == 1

    [problem] = problems(tmp_path / "out")
    assert problem["line"] == 2 and problem["image"] == uri("b.jpg")
    assert problem["reason"] == (
        "line 2: pose.rig: expected {'name': …, 'fingerprint': …}, got \"coco-person-17\""
    )


def test_rig_option_that_a_later_line_disagrees_with_stops_the_export(
    tmp_path: Path, capsys: Any
) -> None:
    lines = [
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", ALICE))]),
        labeled(uri("truck.jpg"), [answer("truck.jpg", skeleton("t", TRUCK_POINTS))], TRUCK, index=1),
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    assert export(tmp_path, manifest, "--rig", "coco-person-17", "--max-pictures", "0") == 2

    err = capsys.readouterr().err
    assert "--rig 'coco-person-17'" in err and "line 2 records rig 'box-truck'" in err
    assert not (tmp_path / "out" / "coco_keypoints.json").exists()  # never half a COCO file
