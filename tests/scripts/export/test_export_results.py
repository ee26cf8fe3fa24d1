"""export_results: COCO, summary, YOLO, pictures and review page from output manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pycocotools.coco import COCO

from handlers.overflow import fit_response
from handlers.rig import load_rig
from scripts import export_lines, export_results
from scripts.aws import AwsClients
from scripts.export_rigs import RigBook
from tests.scripts import aws_fakes
from tests.scripts.export.helpers import (
    ALICE,
    BOB,
    BUCKET,
    RIG,
    H,
    W,
    answer,
    export,
    flat,
    jpeg,
    labeled,
    problems,
    uri,
    write_manifest,
)
from tests.scripts.images import make_image
from tests.scripts.manifests import skeleton, submission


def settings(**overrides: Any) -> export_lines.Settings:
    values: dict[str, Any] = {
        "rigs": RigBook.create([], None),
        "label_attribute": None,
        "images_prefix": "labeling_jobs/images/",
        "images_dir": None,
        "yolo": False,
    }
    return export_lines.Settings(**{**values, **overrides})


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(
        tmp_path / "output.manifest",
        [
            labeled(uri("a.jpg"), [answer("a.jpg", skeleton("person 1", ALICE), skeleton("person 2", BOB), seconds=30)], index=0),
            labeled(uri("sub/b.jpg"), [answer("sub/b.jpg", seconds=10)], index=1, documented_spelling=True),
            json.dumps({"source-ref": uri("c.jpg")}),
        ],
    )  # fmt: skip


def test_export_coco_loads_in_pycocotools_with_submitted_keypoints(
    tmp_path: Path, manifest: Path, capsys: Any
) -> None:
    assert export(tmp_path, manifest, "--max-pictures", "0") == 0, capsys.readouterr().err

    coco = COCO(str(tmp_path / "out" / "coco_keypoints.json"))
    images = coco.loadImgs(coco.getImgIds())
    assert [(i["file_name"], i["width"], i["height"]) for i in images] == [
        ("a.jpg", W, H),
        ("sub/b.jpg", W, H),
    ]
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[images[0]["id"]]))
    assert [a["keypoints"] for a in annotations] == [flat(ALICE), flat(BOB)]
    assert [a["num_keypoints"] for a in annotations] == [5, 2]
    assert annotations[0]["bbox"] == [170, 40, 80, 140]
    assert annotations[0]["area"] == 80 * 140
    assert coco.getAnnIds(imgIds=[images[1]["id"]]) == []
    category = coco.loadCats(coco.getCatIds())[0]
    assert category["keypoints"] == list(RIG.labels)
    assert [16, 14] in category["skeleton"]


def test_export_reads_both_metadata_spellings(tmp_path: Path, capsys: Any) -> None:
    lines = [
        labeled(uri(f"{i}.jpg"), [answer(f"{i}.jpg", skeleton("p", BOB))], index=i, documented_spelling=i == 1)
        for i in range(2)
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    coco = json.loads((tmp_path / "out" / "coco_keypoints.json").read_text())
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(BOB), flat(BOB)]
    assert "images: 2 labeled of 2 manifest lines" in capsys.readouterr().out


def test_export_reads_and_writes_values_beyond_orjson(tmp_path: Path) -> None:
    # orjson refuses NaN and integers beyond 64 bits, which json reads and writes.
    big = 10**20
    line = labeled(
        uri("a.jpg"),
        [submission([skeleton("p", BOB)], image_s3_uri=uri("a.jpg"), width=W, height=H)],
        extra={"note": float("nan"), "count": 10**30},
    )
    # The Lambda refuses such a width; a manifest edited by hand may still hold one.
    line = line.replace(f'"image_width": {W}', f'"image_width": {big}')
    manifest = write_manifest(tmp_path / "output.manifest", [line])

    assert export(tmp_path, manifest, "--max-pictures", "0", "--no-yolo") == 0

    coco = json.loads((tmp_path / "out" / "coco_keypoints.json").read_text())
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(big, H)]
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(BOB)]


def test_export_keeps_going_past_a_bad_line_records_it_and_exits_1(
    tmp_path: Path, capsys: Any
) -> None:
    lines = [
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", BOB))]),
        '{"source-ref": "s3://b/x.jpg", "pose": ',
        labeled(uri("b.jpg"), [answer("b.jpg", skeleton("p", ALICE))], index=2),
    ]
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    code = export(tmp_path, manifest, "--max-pictures", "0")

    out, err = capsys.readouterr()
    assert code == 1
    assert "images: 2 labeled of 3 manifest lines (0 not labeled, 1 unusable)" in out
    assert "1 problems, see" in err and "--allow-partial" in err
    [problem] = problems(tmp_path / "out")
    assert problem["line"] == 2
    assert problem["image"] is None
    assert "not valid JSON" in problem["reason"]
    coco = json.loads((tmp_path / "out" / "coco_keypoints.json").read_text())
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(BOB), flat(ALICE)]

    assert export(tmp_path, manifest, "--max-pictures", "0", "--allow-partial") == 0


def test_export_summary_figures(tmp_path: Path, capsys: Any) -> None:
    pre = [skeleton("person 1", BOB)]
    moved = dict(BOB, nose=(90, 70, 2))
    lines = [
        labeled(uri("a.jpg"), [answer("a.jpg", skeleton("person 1", BOB), original=pre, no_changes_needed=True, seconds=10)]),
        labeled(uri("b.jpg"), [answer("b.jpg", skeleton("person 1", moved), original=pre, seconds=20)], index=1),
        labeled(uri("c.jpg"), [answer("c.jpg", skeleton("p", ALICE), seconds=60)], index=2),
        labeled(
            uri("d.jpg"),
            [answer("d.jpg", skeleton("p", ALICE), seconds=30), answer("d.jpg", skeleton("p", ALICE), seconds=40)],
            index=3,
        ),
        json.dumps({"source-ref": uri("e.jpg")}),
    ]  # fmt: skip
    manifest = write_manifest(tmp_path / "output.manifest", lines)

    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["lines"] == 5
    assert summary["images"] == 4
    assert summary["unlabeled"] == 1
    assert summary["skeletons"] == 4
    assert summary["keypoints"] == 2 + 2 + 5 + 5
    assert summary["occluded_keypoints"] == 2
    assert summary["labeling_time_seconds"]["mean"] == (10 + 20 + 60 + 70) / 4
    assert summary["labeling_time_seconds"]["median"] == (20 + 60) / 2
    assert summary["images_with_pre_annotations"] == 2
    assert summary["modified_pre_annotations"] == 1
    assert summary["share_modified"] == 0.5
    assert summary["agreement"]["images_with_several_workers"] == 1
    assert summary["agreement"]["mean_oks"] == pytest.approx(1.0)
    out = capsys.readouterr().out
    # 160 s in all: said in minutes, not as "0.04 h".
    assert "labeling time per image: mean 40.0 s, median 40.0 s, total 2.7 min" in out
    assert "pre-annotations modified: 1 of 2 (50%)" in out


def test_export_yolo_labels_are_normalised_in_rig_order(tmp_path: Path, manifest: Path) -> None:
    assert export(tmp_path, manifest, "--max-pictures", "0") == 0

    dataset = tmp_path / "out" / "yolo" / "coco-person-17"
    lines = (dataset / "labels" / "a.txt").read_text().splitlines()
    assert len(lines) == 2
    values = lines[1].split()
    assert values[0] == "0"
    # BOB: nose (60, 50), left_ankle (80, 280): box x 60-80, y 50-280 in a 400x300 image.
    assert [float(v) for v in values[1:5]] == pytest.approx(
        [70 / W, 165 / H, 20 / W, 230 / H], abs=1e-6
    )
    keypoints = [float(v) for v in values[5:]]
    assert len(keypoints) == 3 * 17
    assert keypoints[0:3] == pytest.approx([60 / W, 50 / H, 2], abs=1e-6)
    ankle = 3 * RIG.index("left_ankle")
    assert keypoints[ankle : ankle + 3] == pytest.approx([80 / W, 280 / H, 2], abs=1e-6)
    assert keypoints[3:6] == [0, 0, 0]
    assert (dataset / "labels" / "sub" / "b.txt").read_text() == ""
    data = (dataset / "data.yaml").read_text()
    assert "kpt_shape: [17, 3]\n" in data
    assert "flip_idx: [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]\n" in data


def close(pixel: tuple[int, ...], color: str, tolerance: int = 40) -> bool:
    expected = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_export_pictures_show_skeletons_in_rig_colours(tmp_path: Path, manifest: Path) -> None:
    images = tmp_path / "images"
    make_image(images / "a.jpg", (W, H), "#808080")
    make_image(images / "sub" / "b.jpg", (W, H), "#808080")

    assert export(tmp_path, manifest, "--images", str(images)) == 0

    picture = Image.open(tmp_path / "out" / "pictures" / "a.jpg").convert("RGB")
    assert picture.size == (W, H)
    assert close(picture.getpixel((200, 40)), RIG.keypoints[RIG.index("nose")].color or "")
    assert close(picture.getpixel((230, 90)), "#D62728")  # left_shoulder, visible
    assert close(picture.getpixel((240, 120)), "#D62728")  # the left upper arm's line
    assert close(picture.getpixel((60, 50)), RIG.keypoints[RIG.index("nose")].color or "")
    assert close(picture.getpixel((350, 250)), "#808080")  # untouched background
    assert (tmp_path / "out" / "pictures" / "sub" / "b.jpg").is_file()
    assert not (tmp_path / "out" / "pictures" / "a.jpg.jpg").exists()


def test_export_review_page_lists_flagged_first_and_escapes(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>.jpg"
    outside = {"nose": (W + 50, 10, 2)}
    lines = [
        labeled(uri("fine.jpg"), [answer("fine.jpg", skeleton("p", BOB))]),
        labeled(uri(hostile), [answer(hostile, skeleton("p", outside))], index=1),
    ]
    manifest = write_manifest(tmp_path / "output.manifest", lines)
    images = tmp_path / "images"
    make_image(images / "fine.jpg", (W, H))
    make_image(images / hostile, (W, H))

    assert export(tmp_path, manifest, "--images", str(images)) == 0

    page = (tmp_path / "out" / "review.html").read_text()
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    assert page.index("outside_image") < page.index("fine.jpg")
    assert 'href="pictures/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg"' in page


def test_export_picture_without_image_is_listed_not_fatal(
    tmp_path: Path, manifest: Path, capsys: Any
) -> None:
    folder = tmp_path / "no-such-dir"
    assert export(tmp_path, manifest, "--images", str(folder)) == 0

    err = capsys.readouterr().err
    assert f"warning: no picture of a.jpg: not in {folder}" in err
    assert f"warning: no picture of sub/b.jpg: not in {folder}" in err
    page = (tmp_path / "out" / "review.html").read_text()
    assert f"(no picture: not in {folder})" in page


def test_export_from_job_name_reads_manifest_from_s3(
    tmp_path: Path, s3: Any, bucket: str, sagemaker: Any, capsys: Any
) -> None:
    job = "pose-job-7"
    key = f"labeling_jobs/output/{job}/manifests/output/output.manifest"
    image = f"s3://{bucket}/labeling_jobs/images/a.jpg"
    done = submission([skeleton("p", BOB)], image_s3_uri=image, width=W, height=H)
    line = labeled(image, [done], attribute="body")
    s3.put_object(Bucket=bucket, Key=key, Body=(line + "\n").encode())
    s3.put_object(Bucket=bucket, Key="labeling_jobs/images/a.jpg", Body=jpeg((W, H)))
    client, stubber = sagemaker
    stubber.add_response(
        "describe_labeling_job",
        {
            "LabelingJobStatus": "Completed",
            "LabelCounters": {"TotalLabeled": 1},
            "CreationTime": "2025-03-14T09:30:00Z",
            "LastModifiedTime": "2025-03-14T10:00:00Z",
            "JobReferenceCode": "ref",
            "LabelingJobName": job,
            "LabelingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{job}",
            "LabelAttributeName": "body",
            "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/m"}}},
            "OutputConfig": {"S3OutputPath": f"s3://{bucket}/labeling_jobs/output/"},
            "RoleArn": aws_fakes.ROLE_ARN,
            "HumanTaskConfig": {
                "WorkteamArn": aws_fakes.WORKTEAM_ARN,
                "UiConfig": {"UiTemplateS3Uri": "s3://b/t"},
                "TaskTitle": "t",
                "TaskDescription": "d",
                "NumberOfHumanWorkersPerDataObject": 1,
                "TaskTimeLimitInSeconds": 60,
            },
            "LabelingJobOutput": {"OutputDatasetS3Uri": f"s3://{bucket}/{key}"},
        },
        {"LabelingJobName": job},
    )
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)

    code = export_results.main(
        [job, "--stack-outputs", str(outputs), "--out", str(tmp_path / "out")],
        clients=AwsClients(s3=s3, sagemaker=client),
    )

    assert code == 0, capsys.readouterr().err
    coco = json.loads((tmp_path / "out" / "coco_keypoints.json").read_text())
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(BOB)]
    assert (tmp_path / "out" / "pictures" / "a.jpg").is_file()  # image fetched from S3


def test_export_from_s3_uri(tmp_path: Path, s3: Any, bucket: str, capsys: Any) -> None:
    key = "somewhere/output.manifest"
    line = labeled(uri("a.jpg"), [answer("a.jpg", skeleton("p", ALICE))])
    s3.put_object(Bucket=bucket, Key=key, Body=(line + "\n").encode())
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)

    code = export_results.main(
        [f"s3://{bucket}/{key}", "--stack-outputs", str(outputs), "--out", str(tmp_path / "out"), "--max-pictures", "0"],
        clients=AwsClients(s3=s3),
    )  # fmt: skip

    assert code == 0, capsys.readouterr().err
    coco = json.loads((tmp_path / "out" / "coco_keypoints.json").read_text())
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(ALICE)]


def test_export_source_neither_file_uri_nor_job(tmp_path: Path, capsys: Any) -> None:
    code = export_results.main(["no_such/file.manifest", "--rig", "coco-person-17"])

    assert code == 2
    assert "SOURCE 'no_such/file.manifest': not a file, an s3:// URI or a labeling job name" in (
        capsys.readouterr().err
    )


def test_export_unknown_rig_is_named(tmp_path: Path, manifest: Path, capsys: Any) -> None:
    code = export_results.main([str(manifest), "--rig", "octopus"])

    assert code == 2
    assert "--rig: unknown rig 'octopus'" in capsys.readouterr().err


# -- labels whose fields the Lambda moved to an overflow file ---------------------------

OVERFLOW_KEY = (
    "labeling_jobs/output/pose-job-1/annotations/consolidated-annotation/"
    "pose-labeling-overflow/iteration-1/2026-01-05_10:00:00.json"
)


def overflowed(bucket: str) -> tuple[list[str], list[str], bytes]:
    """Three lines as written, the same lines after the Lambda's response fitting moved
    fields out of their labels, and the overflow file that holds those fields."""
    people = [skeleton("p", ALICE), skeleton("q", BOB)]
    lines = [
        labeled(uri(f"{i}.jpg"), [answer(f"{i}.jpg", *people, seconds=10 + i)], index=i)
        for i in range(3)
    ]
    data = [json.loads(line) for line in lines]
    response = [
        {"datasetObjectId": str(i), "consolidatedAnnotation": {"content": {"pose": d["pose"]}}}
        for i, d in enumerate(data)
    ]
    store: dict[str, bytes] = {}
    fit_response(
        response,
        "pose",
        uri=f"s3://{bucket}/{OVERFLOW_KEY}",
        write=lambda uri, body: store.update({uri: body}),
        budget=len(json.dumps(response)) * 2 // 3,
    )
    moved = [d["pose"]["overflow"]["fields"] for d in data]
    assert all("workers" in f for f in moved) and "updated_annotations" in moved[0]
    return lines, [json.dumps(d) for d in data], store[f"s3://{bucket}/{OVERFLOW_KEY}"]


def coco_and_summary(out: Path) -> tuple[Any, Any]:
    coco = json.loads((out / "coco_keypoints.json").read_text())
    return coco["images"], coco["annotations"], json.loads((out / "summary.json").read_text())


def test_export_restores_moved_fields_from_a_copy_beside_the_manifest(tmp_path: Path) -> None:
    written, moved, overflow = overflowed(BUCKET)
    copy = (
        tmp_path / "moved" / "pose-labeling-overflow" / "iteration-1" / "2026-01-05_10:00:00.json"
    )
    copy.parent.mkdir(parents=True)
    copy.write_bytes(overflow)
    as_written = write_manifest(tmp_path / "written.manifest", written)
    as_moved = write_manifest(tmp_path / "moved" / "output.manifest", moved)

    assert export(tmp_path / "a", as_written, "--max-pictures", "0", "--no-yolo") == 0
    assert export(tmp_path / "b", as_moved, "--max-pictures", "0", "--no-yolo") == 0

    assert coco_and_summary(tmp_path / "b" / "out") == coco_and_summary(tmp_path / "a" / "out")
    assert not (tmp_path / "b" / "out" / "problems.jsonl").exists()
    # Worker processes find the copy too.
    found = settings(overflow=export_lines.OverflowFiles(folder=copy.parents[2]))
    chunks = export_lines.process(moved, found, jobs=2, chunk_lines=1, inline_chunks=1)
    coco = json.loads((tmp_path / "a" / "out" / "coco_keypoints.json").read_text())
    bodies = [json.loads(body) for _, r in chunks for _, body in r.annotations]
    numbered = ("id", "category_id")
    assert bodies == [
        {k: v for k, v in a.items() if k not in numbered} for a in coco["annotations"]
    ]


def test_export_restores_moved_fields_from_s3(
    tmp_path: Path, s3: Any, bucket: str, capsys: Any
) -> None:
    written, moved, overflow = overflowed(bucket)
    s3.put_object(Bucket=bucket, Key=OVERFLOW_KEY, Body=overflow)
    s3.put_object(
        Bucket=bucket, Key="m/output.manifest", Body="".join(x + "\n" for x in moved).encode()
    )
    as_written = write_manifest(tmp_path / "written.manifest", written)
    outputs = aws_fakes.write_stack_outputs(tmp_path / "outputs.json", bucket)

    assert export(tmp_path / "a", as_written, "--max-pictures", "0", "--no-yolo") == 0
    code = export_results.main(
        [f"s3://{bucket}/m/output.manifest", "--stack-outputs", str(outputs), "--out", str(tmp_path / "b" / "out"), "--max-pictures", "0", "--no-yolo"],
        clients=AwsClients(s3=s3),
    )  # fmt: skip

    assert code == 0, capsys.readouterr().err
    assert coco_and_summary(tmp_path / "b" / "out") == coco_and_summary(tmp_path / "a" / "out")


def test_export_line_whose_moved_fields_cannot_be_read_is_reported(
    tmp_path: Path, capsys: Any
) -> None:
    _, moved, _ = overflowed(BUCKET)
    manifest = write_manifest(tmp_path / "output.manifest", moved)

    assert export(tmp_path, manifest, "--max-pictures", "0", "--no-yolo") == 1

    assert (
        "images: 0 labeled of 3 manifest lines (0 not labeled, 3 unusable)"
        in capsys.readouterr().out
    )
    found = problems(tmp_path / "out")
    assert [p["line"] for p in found] == [1, 2, 3]
    assert [p["image"] for p in found] == [uri(f"{i}.jpg") for i in range(3)]
    assert found[0]["reason"] == (
        f"line 1: pose: overflow: the fields moved to s3://{BUCKET}/{OVERFLOW_KEY} could not be "
        "read back: no copy beside the manifest, and no AWS credentials found"
    )


def test_export_in_worker_processes_matches_one_process(tmp_path: Path, manifest: Path) -> None:
    lines = manifest.read_text().splitlines(keepends=True)
    lines.append(lines[0].replace("a.jpg", "d.jpg"))
    found = settings(yolo=True)

    def run(jobs: int) -> list[Any]:
        results = export_lines.process(lines, found, jobs=jobs, chunk_lines=1, inline_chunks=1)
        return [
            (
                chunk,
                r.images,
                r.annotations,
                r.yolo,
                r.usable,
                r.flagged,
                r.problems,
                r.summary.to_jsonable(),
            )
            for chunk, r in results
        ]

    one, two = run(1), run(2)

    assert two == one
    assert [images for _, images, *_ in one] == [
        [f'{{"id":1,"file_name":"a.jpg","width":{W},"height":{H},"s3_uri":"{uri("a.jpg")}"}}'],
        [
            f'{{"id":2,"file_name":"sub/b.jpg","width":{W},"height":{H},"s3_uri":"{uri("sub/b.jpg")}"}}'
        ],
        [],
        [f'{{"id":4,"file_name":"d.jpg","width":{W},"height":{H},"s3_uri":"{uri("d.jpg")}"}}'],
    ]


def test_export_reads_offline_preview_manifest(tmp_path: Path, capsys: Any) -> None:
    from datetime import datetime
    from urllib.parse import quote

    from handlers import post_annotation
    from scripts.preview_groundtruth import output_manifest_line, post_annotation_event

    images = tmp_path / "sample-images"
    make_image(images / "two people.jpg", (W, H))
    source_ref = "s3://pose-labeling-preview/labeling_jobs/images/" + quote("two people.jpg")
    answer = submission([skeleton("person 1", ALICE)], image_s3_uri=source_ref, width=W, height=H)
    event = post_annotation_event(
        job_name="pose-labeling-preview",
        label_attribute="pose",
        dataset_object_id="0",
        source_ref=source_ref,
        answer=answer,
    )
    [result] = post_annotation.consolidate_batch(event, load_rig("coco-person-17"))
    line = output_manifest_line(
        {"source-ref": source_ref},
        label_attribute="pose",
        consolidated=result["consolidatedAnnotation"]["content"]["pose"],
        job_name="pose-labeling-preview",
        created=datetime(2026, 1, 1),
    )
    manifest = write_manifest(tmp_path / "output.manifest", [json.dumps(line)])

    # Labels of this version record no rig: --rig names it.
    code = export(tmp_path, manifest, "--images", str(images), "--rig", "coco-person-17")

    assert code == 0, capsys.readouterr().err
    coco = json.loads((tmp_path / "out" / "coco_keypoints.json").read_text())
    assert [a["keypoints"] for a in coco["annotations"]] == [flat(ALICE)]
    assert (tmp_path / "out" / "pictures" / "two%20people.jpg").is_file()
