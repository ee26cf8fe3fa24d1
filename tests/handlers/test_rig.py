"""The rig model: bundled rigs load, and every kind of broken rig is named precisely."""

import json

import pytest

from handlers.rig import (
    COCO_SIGMAS,
    DEFAULT_SIGMA,
    RIG_FILE_ENV,
    Rig,
    RigError,
    RigIdentity,
    bundled_rig_names,
    deployed_rig,
    load_rig,
)

COCO_ORDER = list(COCO_SIGMAS)


def minimal(**overrides):
    rig = {
        "name": "tiny",
        "keypoints": [
            {"label": "left_hand", "x": 0, "y": 0},
            {"label": "right_hand", "x": 10, "y": 0},
            {"label": "head", "x": 5, "y": -5},
        ],
        "skeleton": [["left_hand", "head"], ["right_hand", "head", "#00f"]],
    }
    rig.update(overrides)
    return rig


def test_bundled_rigs_are_the_three_documented_ones():
    assert bundled_rig_names() == ["box-truck", "coco-person-17", "human-18"]
    for name in bundled_rig_names():
        rig = load_rig(name)
        assert rig.name == name
        assert rig.bounding_box is not None


def test_coco_rig_has_coco_order_sigmas_and_skeleton():
    rig = load_rig("coco-person-17")
    assert list(rig.labels) == COCO_ORDER
    assert [k.sigma for k in rig.keypoints] == list(COCO_SIGMAS.values())
    one_indexed = [[rig.index(b.a) + 1, rig.index(b.b) + 1] for b in rig.skeleton]
    assert one_indexed == [
        [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
        [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
    ]  # fmt: skip


def test_bundled_human_rigs_draw_left_red_and_right_blue():
    for name in ("coco-person-17", "human-18"):
        for bone in load_rig(name).skeleton:
            if bone.a.startswith("left_") and bone.b.startswith("left_"):
                assert bone.color == "#D62728", bone
            elif bone.a.startswith("right_") and bone.b.startswith("right_"):
                assert bone.color == "#1F77B4", bone


def test_human18_is_the_published_eighteen_point_body():
    rig = load_rig("human-18")
    assert len(rig.keypoints) == 18
    assert {"top_of_head", "front_of_face", "left_heel", "right_toe"} <= set(rig.labels)
    assert not any("eye" in label or "ear" in label for label in rig.labels)


def test_mirror_pairs_derive_from_side_prefixes():
    rig = Rig.parse(minimal())
    assert rig.mirror_pairs == (("left_hand", "right_hand"),)
    assert rig.keypoints[2].mirror is None


def test_explicit_mirror_pairs_unprefixed_labels():
    obj = minimal()
    obj["keypoints"] += [{"label": "port", "x": 1, "y": 1, "mirror": "starboard"},
                         {"label": "starboard", "x": 2, "y": 1}]  # fmt: skip
    rig = Rig.parse(obj)
    assert ("port", "starboard") in rig.mirror_pairs
    assert rig.keypoints[rig.index("starboard")].mirror == "port"


def test_sigma_defaults_coco_for_coco_labels_and_documented_default_otherwise():
    keypoints = [{"label": "nose", "x": 0, "y": 0}, {"label": "antenna", "x": 0, "y": 1}]
    rig = Rig.parse(minimal(keypoints=keypoints, skeleton=[]))
    assert rig.sigma("nose") == 0.026
    assert rig.sigma("antenna") == DEFAULT_SIGMA


def test_fingerprint_depends_on_the_labels_and_their_order_only():
    rig = Rig.parse(minimal())
    recoloured = Rig.parse(minimal(name="other", skeleton=[]))
    reordered = minimal()
    reordered["keypoints"] = list(reversed(reordered["keypoints"]))
    renamed = minimal()
    renamed["keypoints"][2] = {"label": "neck", "x": 5, "y": -5}
    renamed["skeleton"] = []
    assert len(rig.fingerprint) == 12
    assert rig.fingerprint == recoloured.fingerprint
    assert rig.fingerprint != Rig.parse(reordered).fingerprint
    assert rig.fingerprint != Rig.parse(renamed).fingerprint
    fingerprints = {load_rig(name).fingerprint for name in bundled_rig_names()}
    assert len(fingerprints) == len(bundled_rig_names())


def test_component_attributes_round_trip_to_the_rig():
    rig = load_rig("coco-person-17")
    attrs = rig.component_attributes()
    classes = json.loads(attrs["keypointClasses"])
    assert [c["label"] for c in classes] == COCO_ORDER
    assert classes[1]["mirror"] == "right_eye"
    assert json.loads(attrs["skeletonRig"])[0] == ["left_ankle", "left_knee", "#D62728"]
    assert json.loads(attrs["skeletonBoundingBox"]) == {
        "left": 0,
        "top": 0,
        "right": 124,
        "bottom": 387,
    }
    assert Rig.parse(rig.to_jsonable()) == rig


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "name: expected a non-empty string"),
        ({"keypoints": []}, "keypoints: expected a non-empty list"),
        ({"keypoints": [{"label": "a", "x": 0, "y": 0}, {"label": "a", "x": 1, "y": 1}]},
         "keypoints[1].label: duplicate label 'a' (also keypoints[0])"),
        ({"keypoints": [{"label": "a", "x": "1", "y": 0}]}, 'keypoints[0].x: expected a number, got "1"'),
        ({"keypoints": [{"label": "a", "x": 0, "y": 0, "sigma": 0}]}, "keypoints[0].sigma: must be positive"),
        ({"keypoints": [{"label": "a", "x": 0, "y": 0, "color": "red;x"}]}, "keypoints[0].color: expected a colour"),
        ({"skeleton": [["left_hand", "lft_knee"]]}, "skeleton[0][1]: 'lft_knee' is not defined in keypoints"),
        ({"skeleton": [["head", "head"]]}, "skeleton[0]: a line needs two different keypoints"),
        ({"skeleton": [["head"]]}, "skeleton[0]: expected [label, label]"),
        ({"bounding_box": {"left": 5, "top": 0, "right": 1, "bottom": 9}}, "bounding_box: right must exceed left"),
    ],
)  # fmt: skip
def test_invalid_rig_names_the_field(change, message):
    with pytest.raises(RigError) as err:
        Rig.parse(minimal(**change), source="my-rig.json")
    assert str(err.value).startswith("my-rig.json: ")
    assert message in str(err.value)


def test_unknown_bundled_rig_lists_the_choices():
    with pytest.raises(
        RigError,
        match=r"unknown rig 'coco-person-18': choose one of box-truck, coco-person-17, human-18",
    ):
        load_rig("coco-person-18")


def test_malformed_rig_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "x",\n  "keypoints": [,]\n}\n')
    with pytest.raises(RigError, match=r"bad\.json: line 3 column 17"):
        load_rig(str(path))


@pytest.fixture
def no_cached_rig():
    deployed_rig.cache_clear()
    yield
    deployed_rig.cache_clear()


def test_deployed_rig_comes_from_the_environment_once(tmp_path, monkeypatch, no_cached_rig):
    (tmp_path / "rig.json").write_text(json.dumps(minimal()))
    monkeypatch.setenv(RIG_FILE_ENV, "rig.json")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    assert deployed_rig().name == "tiny"
    (tmp_path / "rig.json").unlink()
    assert deployed_rig().name == "tiny"  # read once per container


def test_deployed_rig_missing_variable_fails_naming_it(monkeypatch, no_cached_rig):
    monkeypatch.delenv(RIG_FILE_ENV, raising=False)
    with pytest.raises(RigError, match=rf"^{RIG_FILE_ENV} is not set: the Lambda needs the rig"):
        deployed_rig()


def test_deployed_rig_unreadable_file_fails_naming_variable_and_file(
    tmp_path, monkeypatch, no_cached_rig
):
    monkeypatch.setenv(RIG_FILE_ENV, "rigs/gone.json")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    with pytest.raises(
        RigError, match=rf"^{RIG_FILE_ENV}=rigs/gone.json: .*gone\.json: cannot read rig file"
    ):
        deployed_rig()


def test_identity_is_name_and_fingerprint_and_reads_back():
    rig = Rig.parse(minimal())
    written = rig.identity.to_jsonable()
    assert written == {"name": "tiny", "fingerprint": rig.fingerprint}
    assert RigIdentity.parse(written) == rig.identity
    assert RigIdentity.parse(None) is None
    assert RigIdentity.parse({"name": "tiny"}) is None
