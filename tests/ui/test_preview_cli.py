"""The preview's command line: bad options fail while parsing, naming the option."""

from __future__ import annotations

import json

import pytest
import yaml

from scripts.preview import PULUMI_YAML, build_job, finish, parse_args


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--label-attribute", "body_pose"], "--label-attribute: 'body_pose': use ASCII letters"),
        (["--label-attribute", "pose-metadata"], "must not end in '-metadata'"),
        (["--job-name", "a b"], "--job-name: 'a b': use ASCII letters"),
        (["--images", "/nonexistent"], "--images /nonexistent: not a folder"),
        (["--manifest", "m.jsonl"], "--manifest needs --images"),
        (["--port", "70000"], "--port 70000: expected 0-65535"),
    ],
)
def test_preview_rejects_bad_option(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def test_preview_unknown_rig_names_the_choices(tmp_path):
    args = parse_args(["--rig", "octopus", "--output", str(tmp_path)])
    with pytest.raises(SystemExit, match="--rig: unknown rig 'octopus': choose one of box-truck"):
        build_job(args)


def test_preview_skips_bad_manifest_lines_and_keeps_the_good_ones(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(b"")
    (images / "c.webp").write_bytes(b"")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        "\n".join(
            [
                json.dumps({"source-ref": "s3://b/k/missing.jpg"}),
                "{not json",
                json.dumps({"source": "s3://b/k/a.jpg"}),
                json.dumps({"source-ref": "s3://b/k/c.webp"}),
                json.dumps({"source-ref": "s3://b/k/a.jpg", "extra": 1}),
            ]
        )
        + "\n"
    )
    args = parse_args(
        ["--images", str(images), "--manifest", str(manifest), "--output", str(tmp_path / "o")]
    )
    job = build_job(args)
    assert job.manifest == [
        {"source-ref": "s3://pose-labeling-preview/labeling_jobs/images/a.jpg", "extra": 1}
    ]
    assert capsys.readouterr().err.splitlines() == [
        f"preview: skipped {images / 'c.webp'}: not one of .jpg, .jpeg, .png",
        f"preview: skipped {manifest}: line 1: s3://b/k/missing.jpg: no usable missing.jpg in --images",
        f"preview: skipped {manifest}: line 2: not JSON (Expecting property name enclosed in double quotes)",
        f"preview: skipped {manifest}: line 3: expected an object with a source-ref",
        f"preview: skipped {manifest}: line 4: s3://b/k/c.webp: no usable c.webp in --images",
    ]


def test_preview_manifest_without_usable_lines_stops(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"source-ref": "s3://b/k/missing.jpg"}) + "\n")
    args = parse_args(
        ["--images", str(tmp_path), "--manifest", str(manifest), "--output", str(tmp_path / "o")]
    )
    with pytest.raises(SystemExit, match=r"--manifest .*m.jsonl: no usable lines"):
        build_job(args)


def test_preview_default_samples_are_generated_deterministically(tmp_path):
    first = build_job(parse_args(["--output", str(tmp_path / "1")]))
    second = build_job(parse_args(["--output", str(tmp_path / "2")]))
    assert sorted(first.images) == ["one-person.jpg", "partly-hidden.jpg", "two-people.jpg"]
    for name in first.images:
        assert first.images[name].read_bytes() == second.images[name].read_bytes()
    lines = (tmp_path / "1" / "input.manifest").read_text().splitlines()
    assert [json.loads(x)["source-ref"].rsplit("/", 1)[-1] for x in lines] == sorted(first.images)


def test_preview_defaults_are_the_stacks(tmp_path):
    config = yaml.safe_load(PULUMI_YAML.read_text())["config"]
    args = parse_args([])
    assert args.rig == config["rig"]["default"]
    assert args.instructions == config["instructions"]["default"]


def test_preview_lists_the_files_it_cannot_use(tmp_path, capsys):
    images = tmp_path / "images"
    (images / "more").mkdir(parents=True)
    for name in ("a.jpg", "b.PNG", "c.webp", "d.gif", "e.bmp", "f.tiff"):
        (images / name).write_bytes(b"")
    job = build_job(parse_args(["--images", str(images), "--output", str(tmp_path / "out")]))
    assert sorted(job.images) == ["a.jpg", "b.PNG"]
    suffixes = ".jpg, .jpeg, .png"
    assert capsys.readouterr().err.splitlines() == [
        f"preview: skipped {images / 'c.webp'}: not one of {suffixes}",
        f"preview: skipped {images / 'd.gif'}: not one of {suffixes}",
        f"preview: skipped {images / 'e.bmp'}: not one of {suffixes}",
        f"preview: skipped {images / 'f.tiff'}: not one of {suffixes}",
        f"preview: skipped {images / 'more'}: a folder (only the images directly in --images are used)",
    ]


def test_a_second_run_keeps_the_first_runs_labels(tmp_path, capsys):
    """Each run starts its job afresh and rewrites the output manifest: the earlier run's
    job folder (labels, answers, manifest) is moved aside whole, never overwritten."""
    argv = ["--output", str(tmp_path), "--no-browser"]
    first = build_job(parse_args(argv))
    earlier = first.output_manifest
    earlier.parent.mkdir(parents=True, exist_ok=True)
    earlier.write_text('{"source-ref": "s3://preview/labeled-before.jpg"}\n')

    second = build_job(parse_args(argv))
    second.service.write_output_manifest(second.service.job(second.job_name))

    [kept] = [p for p in tmp_path.iterdir() if p.name.startswith(f"{second.job_name}.")]
    moved = kept / earlier.relative_to(tmp_path / second.job_name)
    assert moved.read_text() == '{"source-ref": "s3://preview/labeled-before.jpg"}\n'
    assert "labeled-before" not in second.output_manifest.read_text()
    assert f"the earlier run's labels of {second.job_name} are kept in {kept}" in (
        capsys.readouterr().err
    )


def test_stopping_the_preview_lists_every_image_as_ground_truth_does(tmp_path):
    job = build_job(parse_args(["--output", str(tmp_path), "--no-browser"]))

    finish(job)

    lines = [json.loads(x) for x in job.output_manifest.read_text().splitlines()]
    assert [line["source-ref"] for line in lines] == [line["source-ref"] for line in job.manifest]
    assert not any(job.label_attribute in line for line in lines)  # nobody labeled them
    assert all(f"{job.label_attribute}-metadata" in line for line in lines)
