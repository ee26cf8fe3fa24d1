"""prelabel: a YOLO pose ONNX model over a folder or S3 prefix -> launch_job's pre-annotations.

The models are real ONNX files run by ONNX Runtime, built by the tests
(tests/scripts/pose_onnx.py) in the exact output layout of an Ultralytics pose
export, so every coordinate below is known to the pixel: letterbox offsets on
a non-square image, several people, overlapping boxes (NMS), low-confidence
points and points beyond the image edge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from PIL import Image, ImageDraw

from handlers.rig import load_rig
from handlers.task_input import build_task_input
from scripts import launch_job, prelabel
from scripts.aws import AwsClients
from scripts.pose_models import ModelError, yolo_pose_onnx
from scripts.pose_models.letterbox import Letterbox
from tests.scripts import aws_fakes
from tests.scripts.aws_fakes import WORKTEAM_ARN
from tests.scripts.images import make_folder
from tests.scripts.pose_onnx import (
    NUM_KEYPOINTS,
    Candidate,
    bright_spot_model,
    constant_model,
    failing_model,
    unknown_shape_model,
)

COCO = load_rig("coco-person-17").labels
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    return aws_fakes.write_stack_outputs(tmp_path / "outputs.json", "pose-bucket")


def run(capsys: Any, *argv: str, clients: AwsClients | None = None) -> tuple[int, str, str]:
    code = prelabel.main(list(argv), clients=clients)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def label_with(
    capsys: Any, source: Path | str, model: Path, outputs: Path, *extra: str, **kwargs: Any
) -> tuple[int, str, str]:
    """``prelabel SOURCE --model MODEL --stack-outputs OUTPUTS [extra]``."""
    argv = [str(source), "--model", str(model), "--stack-outputs", str(outputs), *extra]
    return run(capsys, *argv, **kwargs)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def points(skeleton: dict[str, Any]) -> dict[str, tuple[int, int, float]]:
    return {p["label"]: (p["x"], p["y"], p["confidence"]) for p in skeleton["annotations"]}


# -- letterbox --------------------------------------------------------------------


def test_letterbox_of_a_wide_image_pads_top_and_bottom() -> None:
    box = Letterbox.fit((1280, 720), (640, 640))
    assert (box.resized, box.left, box.top) == ((640, 360), 0, 140)
    assert box.to_input(640, 320) == (320, 300)
    xs, ys = box.to_image(np.array([320.0, 0.0]), np.array([300.0, 140.0]))
    assert xs.tolist() == [640, 0]
    assert ys.tolist() == [320, 0]


def test_letterbox_of_a_tall_image_pads_left_and_right_with_ultralytics_rounding() -> None:
    # 333 x 500 into 640: scale 1.28, 426.24 -> 426 wide; 214 px of padding, 107 each side.
    box = Letterbox.fit((333, 500), (640, 640))
    assert (box.resized, box.left, box.top) == ((426, 640), 107, 0)
    # An odd padding puts the extra column on the right: round(2.5 - 0.1) = 2 on the left.
    assert Letterbox.fit((635, 640), (640, 640)).left == 2


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.sampled_from([(640, 640), (320, 320), (640, 384)]),
)
def test_letterbox_fits_inside_and_inverts(w: int, h: int, size: tuple[int, int]) -> None:
    box = Letterbox.fit((w, h), size)
    rw, rh = box.resized
    assert box.left >= 0 and box.top >= 0
    assert box.left + rw <= size[0] and box.top + rh <= size[1]
    assert rw == size[0] or rh == size[1]  # one side fills the input
    x, y = box.to_input(w * 0.3, h * 0.7)
    back_x, back_y = box.to_image(np.array([x]), np.array([y]))
    assert back_x[0] == pytest.approx(w * 0.3) and back_y[0] == pytest.approx(h * 0.7)


# -- known detections through a real model ------------------------------------------


def test_people_come_back_in_image_pixels_with_low_confidence_points_left_out(
    tmp_path: Path, outputs_file: Path, capsys: Any
) -> None:
    # A 1280x720 image in a 640x640 input: scale 0.5, 140 grey rows on top.
    folder = make_folder(tmp_path / "images", ["street.png"], size=(1280, 720))
    first = [(300 + 2 * k, 200 + 10 * k, 0.95) for k in range(NUM_KEYPOINTS)]
    first[3] = (306, 230, 0.4)  # left_ear: below the 0.5 threshold
    first[16] = (332, 130, 0.9)  # right_ankle: in the grey band above the image
    first[15] = (float("nan"), 350, 0.9)  # left_ankle: a broken value, never written
    model = constant_model(
        tmp_path / "m.onnx",
        [
            Candidate(320, 320, 100, 200, 0.9, first),
            Candidate(100, 400, 40, 80, 0.6, [(100, 400, 0.8)] * NUM_KEYPOINTS),
            Candidate(500, 500, 40, 80, 0.2),  # below the person-score threshold
        ],
        input_size=(640, 640),
    )
    out = tmp_path / "pre.jsonl"

    code, stdout, err = label_with(capsys, folder, model, outputs_file, "--out", str(out))

    assert code == 0, err
    assert stdout == ""
    [line] = read_lines(out)
    assert line["image"] == "street.png"
    one, two = line["annotations"]
    assert (one["name"], one["score"], two["name"], two["score"]) == (
        "person 1",
        0.9,
        "person 2",
        0.6,
    )
    expected = {
        COCO[k]: (600 + 4 * k, 120 + 20 * k, 0.95)
        for k in range(NUM_KEYPOINTS)
        if k not in (3, 15, 16)
    }
    assert points(one) == expected
    assert [p["label"] for p in one["annotations"]] == [
        label for label in COCO if label in expected
    ]
    assert all(p["visibility"] == 2 for p in one["annotations"])
    assert points(two) == dict.fromkeys(COCO, (200, 520, 0.8))
    assert "people:     2 found, 2 written" in err
    assert (
        "keypoints:  31 kept, 1 below confidence 0.5 (left for the worker), 2 outside the image"
        in err
    )
    assert not (tmp_path / "pre.jsonl.partial").exists()


def test_overlapping_boxes_are_one_person_unless_the_iou_threshold_allows(
    tmp_path: Path, outputs_file: Path, capsys: Any
) -> None:
    folder = make_folder(tmp_path / "images", ["crowd.jpg"], size=(64, 64))
    model = constant_model(
        tmp_path / "m.onnx",
        [
            Candidate(30, 30, 20, 40, 0.7),
            Candidate(31, 30, 20, 40, 0.9),  # IoU 0.9 with the first, better scored
            Candidate(10, 10, 6, 6, 0.5),  # apart from both
            Candidate(float("nan"), 30, 20, 40, 0.95),  # broken: nobody
        ],
    )
    base = [str(folder), "--model", str(model), "--stack-outputs", str(outputs_file), "--dry-run"]

    code, stdout, err = run(capsys, *base)
    loose_code, loose, _ = run(capsys, *base, "--iou-threshold", "0.95")

    assert code == loose_code == 0
    people = json.loads(stdout)["annotations"]
    assert [(p["score"], points(p)["nose"][:2]) for p in people] == [
        (0.9, (31, 30)),
        (0.5, (10, 10)),
    ]
    assert [p["score"] for p in json.loads(loose)["annotations"]] == [0.9, 0.7, 0.5]
    assert "people:     2 found, 2 written" in err


def test_the_image_reaches_the_model_where_the_inverse_letterbox_says(
    tmp_path: Path, outputs_file: Path, capsys: Any
) -> None:
    """A model that finds the brightest pixel: a white square comes back where it is drawn,
    on a wide PNG and on a JPEG stored upright-turned with EXIF orientation 6."""
    folder = tmp_path / "images"
    folder.mkdir()
    shown = Image.new("RGB", (2400, 1200), (20, 20, 20))
    ImageDraw.Draw(shown).rectangle(
        [1784, 884, 1815, 915], fill=(255, 255, 255)
    )  # centre 1800, 900
    shown.save(folder / "wide.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter left; shown turned back right
    shown.transpose(Image.Transpose.ROTATE_90).save(folder / "turned.jpg", quality=95, exif=exif)
    model = bright_spot_model(tmp_path / "spot.onnx", (320, 320))

    code, stdout, err = label_with(capsys, folder, model, outputs_file, "--dry-run")

    assert code == 0, err
    found = {
        line["image"]: points(line["annotations"][0])["nose"]
        for line in map(json.loads, stdout.splitlines())
    }
    assert set(found) == {"wide.png", "turned.jpg"}
    for x, y, _ in found.values():  # one input pixel is 7.5 image pixels here
        assert abs(x - 1800) <= 16 and abs(y - 900) <= 16


# -- what the model is --------------------------------------------------------------


def test_dynamic_input_size_comes_from_the_option_else_metadata_else_640(tmp_path: Path) -> None:
    dynamic = constant_model(tmp_path / "d.onnx", [], input_size=("width", "height"))
    sized = constant_model(
        tmp_path / "s.onnx", [], input_size=("width", "height"), metadata={"imgsz": "[384, 512]"}
    )
    fixed = constant_model(tmp_path / "f.onnx", [], input_size=(96, 64))

    assert yolo_pose_onnx.load(dynamic).input_size == (640, 640)
    assert yolo_pose_onnx.load(dynamic, input_size=256).input_size == (256, 256)
    assert yolo_pose_onnx.load(sized).input_size == (512, 384)  # imgsz is height, width
    assert yolo_pose_onnx.load(fixed).input_size == (96, 64)
    with pytest.raises(ModelError, match=r"--input-size 320: this model's input is fixed at 96x64"):
        yolo_pose_onnx.load(fixed, input_size=320)


def test_keypoint_names_from_metadata_or_option_map_to_the_rig_by_label(
    tmp_path: Path, capsys: Any
) -> None:
    names = ["left_wheel", "right_wheel"]  # two keypoints, none of them COCO's
    truck = aws_fakes.write_stack_outputs(tmp_path / "truck.json", "b", rig="box-truck")
    folder = make_folder(tmp_path / "images", ["t.jpg"])
    model = constant_model(
        tmp_path / "m.onnx",
        [Candidate(20, 20, 10, 10, 0.9, [(5, 16, 0.9), (7, 18, 0.9)])],
        num_keypoints=2,
        metadata={"kpt_shape": "[2, 3]", "kpt_names": f"{{0: {names!r}}}"},
    )
    assert yolo_pose_onnx.load(model).keypoint_names == tuple(names)
    with pytest.raises(ModelError, match=r"--keypoint-names: 1 labels, but the model predicts 2"):
        yolo_pose_onnx.load(model, keypoint_names=["left_front_wheel"])
    unnamed = constant_model(tmp_path / "unnamed.onnx", [], num_keypoints=2)
    with pytest.raises(ModelError, match=r"predicts 2 keypoints and its metadata does not name"):
        yolo_pose_onnx.load(unnamed)

    code, stdout, _ = label_with(
        capsys,
        folder,
        model,
        truck,
        "--dry-run",
        "--keypoint-names",
        "left_front_wheel, right_rear_wheel",
    )

    assert code == 0
    people = json.loads(stdout)["annotations"]
    assert {p["label"]: (p["x"], p["y"]) for p in people[0]["annotations"]} == {
        "left_front_wheel": (5, 8),  # a 64x48 image sits 8 rows down in the 64x64 input
        "right_rear_wheel": (7, 10),
    }


def test_human_18_gets_the_twelve_shared_keypoints_and_says_which_are_not(
    tmp_path: Path, capsys: Any
) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "o.json", "b", rig="human-18")
    folder = make_folder(tmp_path / "images", ["a.jpg"])
    model = constant_model(tmp_path / "m.onnx", [Candidate(32, 32, 20, 40, 0.9)])

    code, stdout, err = label_with(capsys, folder, model, outputs, "--dry-run")

    assert code == 0
    person = json.loads(stdout)["annotations"][0]
    human = load_rig("human-18").labels
    assert [p["label"] for p in person["annotations"]] == [
        label for label in human if label in COCO
    ]
    assert len(person["annotations"]) == 12
    assert "has no nose, left_eye, right_eye, left_ear, right_ear: ignored" in err
    assert (
        "does not predict top_of_head, front_of_face, left_heel, right_heel, left_toe, right_toe"
        in err
    )


def test_a_rig_with_no_keypoint_in_common_is_refused_in_one_line(
    tmp_path: Path, capsys: Any
) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "o.json", "b", rig="box-truck")
    folder = make_folder(tmp_path / "images", ["a.jpg"])
    model = constant_model(tmp_path / "m.onnx", [Candidate(32, 32, 20, 40, 0.9)])
    out = tmp_path / "pre.jsonl"

    code, _, err = label_with(capsys, folder, model, outputs, "--out", str(out))

    assert code == 1
    assert err.count("\n") == 1
    assert "share no label with the stack's rig 'box-truck'" in err
    assert not out.exists() and not Path(f"{out}.partial").exists()


def garbage(path: Path) -> Path:
    path.write_bytes(b"this is not a protobuf \x00\xff")
    return path


def detection_model(path: Path) -> Path:  # an Ultralytics detection export: 4 + 80 classes
    return constant_model(path, [], output=np.zeros((1, 84, 8400), np.float32))


def nms_export(path: Path) -> Path:  # exported with nms=True: [1, 300, 6 + 51]
    return constant_model(path, [], output=np.zeros((1, 300, 57), np.float32))


def no_confidences(path: Path) -> Path:
    return constant_model(
        path, [], output=np.zeros((1, 39, 10), np.float32), metadata={"kpt_shape": "[17, 2]"}
    )


def wrong_at_run_time(path: Path) -> Path:  # only running it shows its 84 channels
    return unknown_shape_model(path, np.zeros((1, 84, 3), np.float32))


def two_inputs(path: Path) -> Path:
    model = onnx.load(constant_model(path, [Candidate(1, 1, 1, 1, 0.9)]))
    model.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1]))
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda p: p, "no such file"),
        (garbage, "ONNX Runtime cannot load it: INVALID_PROTOBUF"),
        (detection_model, "output is [1, 84, 8400]; expected [1, 56, N] for 17 keypoints"),
        (nms_export, "output is [1, 300, 57]; expected [1, 56, N] for 17 keypoints"),
        (no_confidences, "metadata kpt_shape is [17, 2]: keypoints without a confidence"),
        (wrong_at_run_time, "output output0 is [1, 84, 3]; expected [1, 56, N]"),
        (two_inputs, "expected one input (images [1, 3, H, W]), found 2: images, extra"),
        (failing_model, "ONNX Runtime failed to run it: "),
    ],
    ids=[
        "missing",
        "garbage",
        "detection",
        "nms-export",
        "no-confidence",
        "run-time",
        "two-inputs",
        "fails-to-run",
    ],
)
def test_an_unusable_model_is_one_line_naming_it(
    tmp_path: Path, outputs_file: Path, capsys: Any, build: Any, message: str
) -> None:
    folder = make_folder(tmp_path / "images", ["a.jpg"])
    model = build(tmp_path / "model.onnx")

    code, _, err = label_with(
        capsys, folder, model, outputs_file, "--out", str(tmp_path / "pre.jsonl")
    )

    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"python -m scripts.prelabel: error: --model {model}: "), err
    assert message in last
    assert "Traceback" not in err
    assert not (tmp_path / "pre.jsonl").exists() and not (tmp_path / "pre.jsonl.partial").exists()


def test_without_onnxruntime_it_says_how_to_install_it(
    tmp_path: Path, outputs_file: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    folder = make_folder(tmp_path / "images", ["a.jpg"])
    model = constant_model(tmp_path / "m.onnx", [])
    argv = [str(folder), "--model", str(model), "--stack-outputs", str(outputs_file), "--dry-run"]

    code, _, err = run(capsys, *argv)

    assert code == 1
    assert err.count("\n") == 1
    assert "ONNX Runtime is not installed" in err and "pip install -r requirements-dev.txt" in err


def test_the_script_starts_without_numpy_onnx_and_onnxruntime(
    tmp_path: Path, outputs_file: Path
) -> None:
    """What `pulumi up` installs is enough to start prelabel: it says what to install."""
    folder = make_folder(tmp_path / "images", ["a.jpg"])
    blocked = "import sys; sys.modules.update(numpy=None, onnx=None, onnxruntime=None); "
    run_it = "from scripts import prelabel; raise SystemExit(prelabel.main(sys.argv[1:]))"
    argv = [str(folder), "--model", "m.onnx", "--stack-outputs", str(outputs_file), "--dry-run"]

    done = subprocess.run(
        [sys.executable, "-c", blocked + run_it, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "ONNX Runtime is not installed" in done.stderr


# -- images, output, options ----------------------------------------------------------


def test_an_undecodable_image_is_listed_and_the_others_are_written(
    tmp_path: Path, outputs_file: Path, capsys: Any
) -> None:
    folder = make_folder(tmp_path / "images", ["a.jpg", "sub/c.png"])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "truncated.png").write_bytes((folder / "sub/c.png").read_bytes()[:60])
    model = constant_model(tmp_path / "m.onnx", [Candidate(32, 32, 20, 40, 0.9)])
    out = tmp_path / "pre.jsonl"

    code, _, err = label_with(capsys, folder, model, outputs_file, "--out", str(out))

    assert code == 1
    assert [line["image"] for line in read_lines(out)] == ["a.jpg", "sub/c.png"]
    assert "warning: broken.jpg: cannot decode: not an image Pillow recognises" in err
    assert "warning: truncated.png: cannot decode: " in err
    assert "images:     4 (2 could not be read, listed above: no pre-annotations)" in err
    assert "Traceback" not in err


def test_dry_run_prints_a_few_images_and_writes_nothing(
    tmp_path: Path, outputs_file: Path, capsys: Any
) -> None:
    folder = make_folder(tmp_path / "images", [f"img-{i}.jpg" for i in range(7)])
    model = constant_model(tmp_path / "m.onnx", [Candidate(32, 32, 20, 40, 0.9)])
    out = tmp_path / "pre.jsonl"

    code, stdout, err = label_with(
        capsys, folder, model, outputs_file, "--out", str(out), "--dry-run"
    )

    assert code == 0
    assert [json.loads(line)["image"] for line in stdout.splitlines()] == [
        f"img-{i}.jpg" for i in range(5)
    ]
    assert "dry run:    5 of 7 images; nothing written" in err
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_an_interrupted_run_keeps_finished_images_in_the_partial_file(
    tmp_path: Path, outputs_file: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_folder(tmp_path / "images", ["a.jpg", "b.jpg", "c.jpg"])
    model = constant_model(tmp_path / "m.onnx", [Candidate(32, 32, 20, 40, 0.9)])
    out = tmp_path / "pre.jsonl"
    out.write_text("an earlier run's file\n")
    real = prelabel.skeletons_for
    calls = []

    def interrupt_on_the_second(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(prelabel, "skeletons_for", interrupt_on_the_second)

    code, _, err = label_with(capsys, folder, model, outputs_file, "--out", str(out))

    assert code == 130
    assert out.read_text() == "an earlier run's file\n"
    assert [line["image"] for line in read_lines(Path(f"{out}.partial"))] == ["a.jpg"]
    assert f"the 1 images done so far are in {out}.partial" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--out FILE is required (or --dry-run to print a few lines)"),
        (
            ["--dry-run", "--keypoint-threshold", "1.5"],
            "argument --keypoint-threshold: expected a number from 0 to 1, got 1.5",
        ),
        (
            ["--dry-run", "--input-size", "100"],
            "argument --input-size: expected a positive multiple of 32, got 100",
        ),
        (
            ["--dry-run", "--keypoint-names", "nose,,left_eye"],
            "argument --keypoint-names: an empty label",
        ),
    ],
)
def test_bad_options_are_one_line_naming_the_option(
    tmp_path: Path, outputs_file: Path, capsys: Any, extra: list[str], message: str
) -> None:
    argv = [str(tmp_path), "--model", "m.onnx", "--stack-outputs", str(outputs_file), *extra]
    try:
        code = prelabel.main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err

    assert code == 2
    assert err.count("\n") == 1 and message in err


# -- the chain: prelabel, then launch_job --pre-annotations --------------------------


def test_prelabel_then_launch_job_matches_every_image_of_a_folder(
    tmp_path: Path, outputs_file: Path, capsys: Any
) -> None:
    folder = make_folder(tmp_path / "images", ["a.jpg", "b.png", "sub/c.jpeg"], size=(640, 480))
    (folder / "notes.txt").write_text("not an image")
    # A crowd: 30 people side by side, more than one manifest attribute holds.
    crowd = [Candidate(10 + 20 * i, 240, 16, 200, 0.99 - i / 100) for i in range(30)]
    model = constant_model(tmp_path / "m.onnx", crowd, input_size=(640, 640))
    pre = tmp_path / "pre.jsonl"

    code, _, err = label_with(capsys, folder, model, outputs_file, "--out", str(pre))
    assert code == 0, err
    assert "left out the" in err and "lowest-scored of 30 people" in err

    manifest = tmp_path / "job.manifest"
    launched = launch_job.main(
        [
            str(folder),
            "--pre-annotations",
            str(pre),
            "--stack-outputs",
            str(outputs_file),
            "--workteam-arn",
            WORKTEAM_ARN,
            "--manifest-out",
            str(manifest),
            "--dry-run",
        ]
    )

    assert launched == 0, capsys.readouterr().err
    lines = read_lines(manifest)
    assert [line["source-ref"].rsplit("/", 2)[-2:] for line in lines][-1] == ["sub", "c.jpeg"]
    assert all(line.get("annotations") for line in lines), "every image got its pre-annotations"
    people = lines[0]["annotations"]
    assert 1 < len(people) < 30
    assert [p["score"] for p in people] == [round(0.99 - i / 100, 2) for i in range(len(people))]
    assert all(0 < p["confidence"] <= 1 for s in people for p in s["annotations"])
    # ... and on through the pre-annotation Lambda to the worker's component
    shown = json.loads(build_task_input(lines[0], load_rig("coco-person-17"))["initial_values"])
    assert shown == people


def test_prelabel_then_launch_job_matches_every_image_of_an_s3_prefix(
    tmp_path: Path, s3: Any, bucket: str, capsys: Any
) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)
    local = make_folder(tmp_path / "local", ["x.jpg", "deeper/y.png"])
    for name in ["x.jpg", "deeper/y.png"]:
        s3.put_object(
            Bucket=bucket,
            Key=f"labeling_jobs/images/run 7/{name}",
            Body=(local / name).read_bytes(),
        )
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/run 7/broken.jpg", Body=b"not an image")
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/run 7/README", Body=b"text")
    model = constant_model(tmp_path / "m.onnx", [Candidate(32, 32, 20, 40, 0.9)])
    pre = tmp_path / "pre.jsonl"
    clients = AwsClients(s3=s3)

    code, _, err = run(
        capsys,
        f"s3://{bucket}/labeling_jobs/images/run 7",
        "--model",
        str(model),
        "--stack-outputs",
        str(outputs),
        "--out",
        str(pre),
        clients=clients,
    )

    assert code == 1  # broken.jpg is listed; the others are written
    assert "warning: broken.jpg: cannot decode" in err
    assert "skipping 1 objects under" in err
    assert [line["image"] for line in read_lines(pre)] == ["deeper/y.png", "x.jpg"]

    manifest = tmp_path / "job.manifest"
    launched = launch_job.main(
        [
            f"s3://{bucket}/labeling_jobs/images/run 7",
            "--pre-annotations",
            str(pre),
            "--stack-outputs",
            str(outputs),
            "--workteam-arn",
            WORKTEAM_ARN,
            "--manifest-out",
            str(manifest),
            "--dry-run",
        ],
        clients=clients,
    )

    assert launched == 0, capsys.readouterr().err
    by_uri = {line["source-ref"]: line.get("annotations") for line in read_lines(manifest)}
    assert by_uri[f"s3://{bucket}/labeling_jobs/images/run 7/broken.jpg"] is None
    assert (
        by_uri[f"s3://{bucket}/labeling_jobs/images/run 7/x.jpg"][0]["annotations"][0]["confidence"]
        == 0.9
    )
    assert by_uri[f"s3://{bucket}/labeling_jobs/images/run 7/deeper/y.png"]
