"""Bad input costs its own line, never the export, and nothing is written outside --out.

Also the smaller things: pictures read from S3 for a local manifest, with the reason
when they cannot be; the label attribute's default; the ignore file.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.output_manifest import DEFAULT_LABEL_ATTRIBUTE
from scripts import export_lines, export_paths, export_results, launch_job, preview
from scripts.aws import AwsClients
from scripts.export_rigs import RigBook, RigMismatch, RigUnknown
from tests.scripts import aws_fakes
from tests.scripts.export.helpers import (
    ALICE,
    BOB,
    H,
    W,
    answer,
    export,
    jpeg,
    labeled,
    problems,
    read_json,
    uri,
    write_manifest,
)
from tests.scripts.images import make_image
from tests.scripts.manifests import metadata, skeleton

REPO = Path(__file__).resolve().parents[3]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_keys_that_climb_out_are_written_under_out(tmp_path: Path) -> None:
    absolute = f"{tmp_path}/abs/x.jpg"  # a key starting with /: s3://bucket//tmp/…
    keys = {"../../../escape.jpg": "escape.jpg", f"/{absolute}": absolute.lstrip("/")}
    lines = [
        labeled(f"s3://pose-bucket/labeling_jobs/images/{key}", [answer("x.jpg", skeleton("p", BOB))], index=i)
        for i, key in enumerate(keys)
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "work" / "output.manifest", lines)
    images = tmp_path / "work" / "images"
    make_image(images / "escape.jpg", (W, H))
    make_image(images / "x.jpg", (W, H))
    before = files_under(tmp_path)

    code = export(tmp_path / "work", manifest, "--images", str(images))

    assert code == 0, problems(tmp_path / "work" / "out")
    out = tmp_path / "work" / "out"
    assert all(p.is_relative_to(out) for p in files_under(tmp_path) - before)
    coco = read_json(out / "coco_keypoints.json")
    assert [i["file_name"] for i in coco["images"]] == list(keys.values())
    dataset = out / "yolo" / "coco-person-17"
    assert (dataset / "labels" / "escape.txt").is_file()
    assert (dataset / "images.txt").read_text().splitlines() == [
        f"./images/{name}" for name in keys.values()
    ]
    assert (out / "pictures" / "escape.jpg").is_file()
    assert (out / "pictures" / absolute.lstrip("/")).is_file()
    renamed = (dataset / "renamed.tsv").read_text()
    assert "made safe from '../../../escape.jpg'" in renamed


@settings(max_examples=200, deadline=None)
@given(key=st.text(alphabet=st.sampled_from(["a", ".", "/", "\n", "\0", "é", " "]), max_size=12))
def test_safe_name_never_leaves_the_folder_nor_misleads_ultralytics(key: str) -> None:
    name = export_paths.safe_name(key)
    if name is None:
        return
    segments = name.split("/")
    assert all(s not in ("", ".", "..") for s in segments)
    assert not any(c in name for c in "\n\0")
    assert "./" not in name and not name.endswith(".")  # Ultralytics replaces every ./
    assert posixpath.normpath(f"/root/{name}").startswith("/root/")


def test_symlink_under_out_that_points_away_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    (out / "yolo" / "coco-person-17").mkdir(parents=True)
    (out / "pictures").symlink_to(outside)
    (out / "yolo" / "coco-person-17" / "labels").symlink_to(outside)
    manifest = write_manifest(
        tmp_path / "output.manifest", [labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))])]
    )
    make_image(tmp_path / "images" / "a.jpg", (W, H))

    code = export(tmp_path, manifest, "--images", str(tmp_path / "images"))

    assert code == 1
    assert list(outside.iterdir()) == []
    [problem] = problems(out)
    assert problem["reason"] == (
        f"YOLO label not written: labels/a.txt: would be written outside {out}"
    )
    assert "(no picture: OutsideOutput: a.jpg: would be written outside" in (
        (out / "review.html").read_text()
    )


def test_label_file_that_is_a_symlink_pointing_away_is_not_written_through(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    labels = tmp_path / "out" / "yolo" / "coco-person-17" / "labels"
    labels.mkdir(parents=True)
    (labels / "a.txt").symlink_to(victim)
    manifest = write_manifest(
        tmp_path / "output.manifest", [labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))])]
    )

    assert export(tmp_path, manifest, "--max-pictures", "0") == 1

    assert victim.read_text() == "keep me"
    [problem] = problems(tmp_path / "out")
    assert "labels/a.txt: would be written outside" in problem["reason"]


def test_null_array_and_non_utf8_lines_are_listed_and_the_rest_exported(
    tmp_path: Path, capsys: Any
) -> None:
    good = [labeled(uri(f"{i}.jpg"), [answer(f"{i}.jpg", skeleton("p", BOB))], index=i) for i in range(2)]  # fmt: skip
    broken = labeled(uri("x.jpg"), [answer("x.jpg", skeleton("p", ALICE))]).encode()
    broken = broken.replace(b'"name": "p"', b'"name": "p\xff"')
    assert b"\xff" in broken
    manifest = tmp_path / "output.manifest"
    manifest.write_bytes(
        b"\n".join([good[0].encode(), b"null", b"[1, 2]", broken, good[1].encode(), b""])
    )

    code = export(tmp_path, manifest, "--max-pictures", "0")

    assert code == 1
    found = problems(tmp_path / "out")
    assert [(p["line"], p["image"]) for p in found] == [(2, None), (3, None), (4, None)]
    assert found[0]["reason"] == "line 2: line: expected a JSON object, got null"
    assert found[1]["reason"] == "line 3: line: expected a JSON object, got [1, 2]"
    assert found[2]["reason"].startswith("line 4: line: not UTF-8 (byte 0xff at position ")
    coco = read_json(tmp_path / "out" / "coco_keypoints.json")
    assert [i["id"] for i in coco["images"]] == [1, 5]
    assert "images: 2 labeled of 5 manifest lines (0 not labeled, 3 unusable)" in (
        capsys.readouterr().out
    )


def test_non_utf8_line_of_an_s3_manifest_costs_only_that_line(
    tmp_path: Path, s3: Any, bucket: str
) -> None:
    good = labeled(uri("a.jpg", bucket), [answer("a.jpg", skeleton("p", BOB), bucket=bucket)])
    s3.put_object(Bucket=bucket, Key="m/output.manifest", Body=b"\xff\xfe{}\n" + good.encode())
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)

    code = export_results.main(
        [f"s3://{bucket}/m/output.manifest", "--stack-outputs", str(outputs), "--out", str(tmp_path / "out"), "--max-pictures", "0"],
        clients=AwsClients(s3=s3),
    )  # fmt: skip

    assert code == 1
    assert [p["line"] for p in problems(tmp_path / "out")] == [1]
    assert len(read_json(tmp_path / "out" / "coco_keypoints.json")["annotations"]) == 1


# Any JSON value in any field of a label: the export lists the line or exports it, never fails.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = ("updated_annotations", "workers", "qa_flags", "agreement", "errors", "rig",
           "image_file_name", "total_time_in_seconds", "overflow", "original_annotations")  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_JSON)
def test_any_value_in_a_label_field_costs_at_most_its_line(field: str, value: Any) -> None:
    line = json.loads(labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", ALICE))]))
    line["pose"][field] = value
    found = export_lines.Settings(
        RigBook.create([], None), None, "labeling_jobs/images/", None, True
    )
    processor = export_lines.LineProcessor(found)

    try:
        result = processor.chunk([(1, json.dumps(line).encode())])
    except (RigMismatch, RigUnknown):
        assert field == "rig"  # a rig the export cannot use stops it, by design
        return

    exported = bool(result.images)
    listed = [p["line"] for p in result.problems]
    assert exported or listed == [1] or result.summary.unlabeled == 1, (result, field, value)


def test_local_manifest_pictures_are_read_from_s3(
    tmp_path: Path, s3: Any, bucket: str, capsys: Any
) -> None:
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/a.jpg", Body=jpeg((W, H)))
    line = labeled(uri("a.jpg", bucket), [answer("a.jpg", skeleton("p", BOB), bucket=bucket)])
    manifest = write_manifest(tmp_path / "output.manifest", [line])

    code = export(tmp_path, manifest, "--rig", "coco-person-17", clients=AwsClients(s3=s3))

    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "pictures" / "a.jpg").is_file()


def test_pictures_that_cannot_be_read_say_why_each(
    tmp_path: Path, s3: Any, bucket: str, capsys: Any
) -> None:
    line = labeled(uri("a.jpg", bucket), [answer("a.jpg", skeleton("p", BOB), bucket=bucket)])
    manifest = write_manifest(tmp_path / "output.manifest", [line])

    assert export(tmp_path / "a", manifest) == 0  # no credentials in these tests
    assert export(tmp_path / "b", manifest, clients=AwsClients(s3=s3)) == 0  # no such key

    err = capsys.readouterr().err
    assert "warning: no picture of a.jpg: no AWS credentials found" in err
    assert f"warning: no picture of a.jpg: S3 NoSuchKey for {uri('a.jpg', bucket)}" in err
    page = (tmp_path / "b" / "out" / "review.html").read_text()
    assert "(no picture: S3 NoSuchKey for" in page


def test_ignore_file_covers_exports_and_the_preview(tmp_path: Path) -> None:
    patterns = (REPO / ".gitignore").read_text().splitlines()
    assert "export-*/" in patterns
    assert "preview-output/" in patterns


def test_label_results_is_the_default_label_attribute() -> None:
    launch = launch_job.build_parser().parse_args(
        ["images/", "--workteam-arn", aws_fakes.WORKTEAM_ARN]
    )
    assert launch.label_attribute == DEFAULT_LABEL_ATTRIBUTE == "label-results"
    assert preview.parse_args([]).label_attribute == "label-results"


def test_export_takes_label_results_among_several_labels(tmp_path: Path, capsys: Any) -> None:
    line = json.loads(
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", ALICE))], attribute="label-results")
    )
    review = json.loads(
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))], attribute="pose-review")
    )
    line.update({"pose-review": review["pose-review"], "pose-review-metadata": metadata("review")})
    manifest = write_manifest(tmp_path / "output.manifest", [json.dumps(line)])

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0, capsys.readouterr().err

    [annotation] = read_json(tmp_path / "out" / "coco_keypoints.json")["annotations"]
    assert annotation["num_keypoints"] == len(ALICE)
