"""YOLO that Ultralytics trains on from any folder.

Ultralytics is not installed (it pulls in torch). Its rules, read in its source
(``ultralytics/data/utils.py`` and ``data/base.py``, 8.x), are written out
below and the exported files are checked against them, from a working directory
other than the export's:

- ``check_det_dataset``: the dataset root is ``data.yaml``'s ``path``, a relative
  one taken from the working directory; without ``path``, the YAML file's folder.
  ``train``/``val`` are joined to the root.
- ``get_img_files``: a list file's lines that start with ``./`` have every ``./``
  replaced by the list's folder; other lines are used as written. Only files
  whose extension is in ``IMG_FORMATS`` are kept.
- ``img2label_paths``: an image's label is its path with the last ``/images/``
  replaced by ``/labels/`` and the extension by ``.txt``.
- ``kpt_oks_sigmas`` (optional) must hold ``kpt_shape[0]`` values.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.rig import load_rig
from tests.scripts.export.helpers import (
    ALICE,
    BOB,
    answer,
    export,
    labeled,
    problems,
    read_json,
    uri,
    write_manifest,
)
from tests.scripts.manifests import skeleton

IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}


def dataset_images(data_yaml: str, split: str = "train") -> tuple[dict[str, Any], list[str]]:
    """The YAML and the image paths Ultralytics trains on, by the rules above."""
    data = yaml.safe_load(Path(data_yaml).read_text(encoding="utf-8"))
    root = Path(data.get("path") or Path(data_yaml).parent)
    listed = (root / data[split]).resolve()
    images = []
    for line in listed.read_text(encoding="utf-8").strip().splitlines():
        parent = str(listed.parent) + os.sep
        images.append(line.replace("./", parent) if line.startswith("./") else line)
    return data, [i for i in images if i.rpartition(".")[-1].lower() in IMG_FORMATS]


def img2label(image: str) -> str:
    images, labels = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return labels.join(image.rsplit(images, 1)).rsplit(".", 1)[0] + ".txt"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another working directory, with an images/ folder and a list of its own that a
    dataset resolved against the working directory would pick up."""
    folder = tmp_path / "elsewhere"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "decoy.jpg").write_bytes(b"")
    (folder / "images.txt").write_text("./images/decoy.jpg\n")
    monkeypatch.chdir(folder)
    return folder


def export_to(tmp_path: Path, lines: list[str], *extra: str) -> Path:
    manifest = write_manifest(tmp_path / "export" / "output.manifest", lines)
    code = export(tmp_path / "export", manifest, "--max-pictures", "0", *extra)
    assert code == 0, problems(tmp_path / "export" / "out")
    return tmp_path / "export" / "out"


def test_dataset_resolves_to_its_own_folder_from_any_working_directory(
    tmp_path: Path, elsewhere: Path
) -> None:
    out = export_to(tmp_path, [labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))])])

    # As `yolo train data=../export/out/yolo/coco-person-17/data.yaml` would be given.
    data_yaml = os.path.relpath(out / "yolo" / "coco-person-17" / "data.yaml", elsewhere)
    data, images = dataset_images(data_yaml)

    assert "path" not in data
    dataset = (out / "yolo" / "coco-person-17").resolve()
    assert images == [str(dataset / "images" / "a.jpg")]
    assert dataset_images(data_yaml, "val")[1] == images
    assert Path(img2label(images[0])).read_text().startswith("0 ")


def test_image_lists_hold_exactly_the_exported_images(tmp_path: Path, elsewhere: Path) -> None:
    lines = [
        labeled(uri("people.jpg"), [answer("people.jpg", skeleton("p", ALICE))]),
        labeled(uri("nobody.jpg"), [answer("nobody.jpg")], index=1),  # labeled: nobody there
        json.dumps({"source-ref": uri("not-labeled.jpg")}),
    ]
    out = export_to(tmp_path, lines)

    data_yaml = out / "yolo" / "coco-person-17" / "data.yaml"
    _, images = dataset_images(str(data_yaml))

    assert [Path(i).name for i in images] == ["people.jpg", "nobody.jpg"]
    assert [Path(img2label(i)).read_text().count("\n") for i in images] == [1, 0]


def test_label_files_are_where_ultralytics_looks_for_them(tmp_path: Path, elsewhere: Path) -> None:
    # launch_job keeps paths relative to the uploaded folder, which often has images/ in it.
    keys = ["images/a.jpg", "shoot/images/day 2/b.png", "plain.jpeg"]
    lines = [
        labeled(uri(key), [answer(key, skeleton("p", ALICE), skeleton("q", BOB))], index=i)
        for i, key in enumerate(keys)
    ]
    out = export_to(tmp_path, lines)

    _, images = dataset_images(str(out / "yolo" / "coco-person-17" / "data.yaml"))

    dataset = (out / "yolo" / "coco-person-17").resolve()
    assert images == [str(dataset / "images" / key) for key in keys]
    for image in images:
        assert len(Path(img2label(image)).read_text().splitlines()) == 2, image
    assert (dataset / "images" / "labels" / "a.txt").is_file()
    assert (dataset / "images" / "shoot" / "labels" / "day 2" / "b.txt").is_file()


def test_images_that_would_share_a_label_file_get_distinct_names(
    tmp_path: Path, elsewhere: Path, capsys: Any
) -> None:
    lines = [
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", ALICE))]),
        labeled(uri("a.png"), [answer("a.png", skeleton("p", BOB), skeleton("q", BOB))], index=1),
    ]
    out = export_to(tmp_path, lines)

    dataset = out / "yolo" / "coco-person-17"
    _, images = dataset_images(str(dataset / "data.yaml"))

    assert [Path(i).name for i in images] == ["a.jpg", "a-2.png"]
    labels = [img2label(i) for i in images]
    assert len(set(labels)) == 2
    assert [len(Path(label).read_text().splitlines()) for label in labels] == [1, 2]
    assert (dataset / "renamed.tsv").read_text().splitlines() == [
        "image in this dataset\tsource-ref\twhy",
        f"images/a-2.png\t{uri('a.png')}\tits label file would be line 1's",
    ]
    assert "1 images listed under other names: see" in capsys.readouterr().err


@pytest.mark.parametrize("rig_name", ["coco-person-17", "human-18", "box-truck"])
def test_data_yaml_carries_the_rigs_sigmas_and_flips(tmp_path: Path, rig_name: str) -> None:
    rig = load_rig(rig_name)
    point = {rig.labels[0]: (10, 20, 2)}
    out = export_to(tmp_path, [labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", point))], rig)])

    data = yaml.safe_load((out / "yolo" / rig_name / "data.yaml").read_text())

    assert data["kpt_shape"] == [len(rig.keypoints), 3]
    assert data["kpt_oks_sigmas"] == [k.sigma for k in rig.keypoints]
    assert len(data["kpt_oks_sigmas"]) == data["kpt_shape"][0]
    mirrors = [rig.index(k.mirror) if k.mirror else i for i, k in enumerate(rig.keypoints)]
    assert data["flip_idx"] == mirrors
    assert data["kpt_names"] == {0: list(rig.labels)}
    assert (data["train"], data["val"]) == ("images.txt", "images.txt")


def test_image_ultralytics_would_not_read_is_listed_not_exported_to_yolo(
    tmp_path: Path,
) -> None:
    lines = [labeled(uri("clip.gif"), [answer("clip.gif", skeleton("p", BOB))])]
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    assert export(tmp_path, manifest, "--max-pictures", "0") == 1

    [problem] = problems(tmp_path / "out")
    assert problem["reason"].startswith("not in YOLO: Ultralytics reads only files named with")
    assert not (tmp_path / "out" / "yolo").exists()  # no image of the rig to train on
    assert [
        i["file_name"] for i in read_json(tmp_path / "out" / "coco_keypoints.json")["images"]
    ] == ["clip.gif"]
