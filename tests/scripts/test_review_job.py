"""review_job: the selection becomes a review manifest and an adjustment job on the stack.

The source is a small job made by the real consolidation (``tests/scripts/review_lines``).
S3 is a moto server; describe_labeling_job and create_labeling_job go through botocore's
Stubber, so each request is validated against the SageMaker service model and compared
with the exact request written out here. Every manifest line is also fed to the real
pre-annotation step, as Ground Truth would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from handlers.task_input import build_task_input
from scripts import review_job
from scripts.aws import AwsClients
from scripts.review_key import fit_reasons
from scripts.review_selection import Reason, ReviewSelection
from tests.scripts import aws_fakes
from tests.scripts.aws_fakes import WORKTEAM_ARN, create_labeling_job_request
from tests.scripts.review_lines import (
    ATTRIBUTE,
    COCO,
    JOB,
    answer,
    image,
    labeled,
    parse,
    person,
    small_job,
)

SWAP = (
    'skeleton 1 ("person 1"): one worker\'s left_knee/right_knee, left_ankle/right_ankle'
    " look swapped compared with the others'"
)
MISSED = (
    "the workers drew different numbers of people (2, 2, 1): look for a missed or an extra person"
)


@pytest.fixture
def source(tmp_path: Path, bucket: str) -> Path:
    path = tmp_path / "output.manifest"
    path.write_text("".join(line + "\n" for line in small_job(bucket)), encoding="utf-8")
    return path


@pytest.fixture
def outputs(tmp_path: Path, bucket: str) -> Path:
    return aws_fakes.write_stack_outputs(
        tmp_path / "outputs.json", bucket, workteam_arn=WORKTEAM_ARN
    )


def expected_request(bucket: str, job: str, **human: Any) -> dict[str, Any]:
    return create_labeling_job_request(
        bucket,
        job,
        attribute=ATTRIBUTE,
        title="Pose review: coco-person-17",
        description="Check the skeletons against the image; the notes beside it say why it"
        " was sent back. Correct what is wrong, or tick No changes needed.",
        **human,
    )


def expect_launch(stubber: Stubber, request: dict[str, Any]) -> None:
    name = request["LabelingJobName"]
    stubber.add_client_error(
        "describe_labeling_job",
        service_error_code="ResourceNotFound",
        service_message=f"Could not find labeling job {name}",
        expected_params={"LabelingJobName": name},
    )
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{name}"
    stubber.add_response("create_labeling_job", {"LabelingJobArn": arn}, request)


def read_manifest(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def skeletons_of(line: str) -> list[dict[str, Any]]:
    label = parse(line).label
    assert label is not None and label.updated_annotations is not None
    return [s.to_jsonable() for s in label.updated_annotations]


def review_lines_of(lines: list[str], bucket: str) -> list[dict[str, Any]]:
    """What the review manifest must hold for small_job: lines 3 and 6, in order."""
    return [
        {
            "source-ref": image("b.jpg", bucket),
            "annotations": skeletons_of(lines[2]),
            "review": {
                "job": JOB,
                "round": 1,
                "line": 3,
                "dataset_object_id": "1",
                "reasons": [{"code": "worker_left_right_swap", "reason": SWAP}],
            },
        },
        {
            "source-ref": image("d.jpg", bucket),
            "annotations": skeletons_of(lines[5]),
            "review": {
                "job": JOB,
                "round": 1,
                "line": 6,
                "dataset_object_id": "3",
                "reasons": [{"code": "people_count", "reason": MISSED}],
            },
        },
    ]


def test_launch_writes_the_review_manifest_and_creates_the_job(
    source: Path, outputs: Path, tmp_path: Path, s3: Any, bucket: str, sagemaker: Any, capsys: Any
) -> None:
    client, stubber = sagemaker
    review_name = f"{JOB}-review-1"
    expect_launch(stubber, expected_request(bucket, review_name))
    local = tmp_path / "review.manifest"
    argv = [str(source), "--stack-outputs", str(outputs), "--manifest-out", str(local)]

    code = review_job.main([*argv, "--off", "audit"], clients=AwsClients(s3=s3, sagemaker=client))

    out, err = capsys.readouterr()
    assert code == 0, err
    key = f"labeling_jobs/manifests/{review_name}.manifest"
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert read_manifest(text) == review_lines_of(small_job(bucket), bucket)
    assert local.read_text() == text
    assert "2 of 3 labeled lines selected for review (66.7%); 1 lines without a label" in err
    assert "warning: not reviewed: line 5: line: not valid JSON" in err
    assert f"job name:  {review_name}" in out
    assert (
        f"merge:     .venv/bin/python -m scripts.export_results {source} --review {review_name}"
        in out
    )


def test_every_review_line_passes_the_pre_annotation_step_with_its_reasons(
    source: Path, tmp_path: Path, bucket: str
) -> None:
    out = tmp_path / "review.manifest"
    argv = [str(source), "--manifest-only", "--manifest-out", str(out), "--off", "audit"]
    assert review_job.main(argv) == 0

    for line in read_manifest(out.read_text()):
        task = build_task_input(line, COCO)
        reasons = [{"reason": r["reason"]} for r in line["review"]["reasons"]]
        assert json.loads(task["annotation_issues"]) == reasons
        assert json.loads(task["initial_values"]) == line["annotations"]


def test_job_name_source_and_options_reach_the_request(
    outputs: Path, tmp_path: Path, s3: Any, bucket: str, sagemaker: Any, capsys: Any
) -> None:
    key = f"labeling_jobs/output/{JOB}/manifests/output/output.manifest"
    lines = small_job(bucket)
    s3.put_object(Bucket=bucket, Key=key, Body="".join(x + "\n" for x in lines).encode())
    client, stubber = sagemaker
    stubber.add_response(
        "describe_labeling_job",
        aws_fakes.labeling_job_description(JOB, f"s3://{bucket}/{key}", attribute=ATTRIBUTE),
        {"LabelingJobName": JOB},
    )
    request = expected_request(bucket, "second-look", NumberOfHumanWorkersPerDataObject=2)
    request["HumanTaskConfig"]["TaskTitle"] = "Look again"
    request["Tags"] = [{"Key": "team", "Value": "pose"}]
    expect_launch(stubber, request)

    code = review_job.main(
        [JOB, "--stack-outputs", str(outputs), "--job-name", "second-look", "--workers", "2",
         "--title", "Look again", "--tag", "team=pose", "--qa-flags", "left_right_swap",
         "--off", "people_count,audit", "--manifest-out", str(tmp_path / "r.manifest")],
        clients=AwsClients(s3=s3, sagemaker=client),
    )  # fmt: skip

    assert code == 0, capsys.readouterr().err
    sent = read_manifest((tmp_path / "r.manifest").read_text())
    assert [line["review"]["line"] for line in sent] == [3]  # people_count was switched off


def test_dry_run_prints_selection_and_request_and_creates_nothing(
    source: Path, outputs: Path, tmp_path: Path, bucket: str, capsys: Any
) -> None:
    out = tmp_path / "review.manifest"
    argv = [str(source), "--stack-outputs", str(outputs), "--manifest-out", str(out)]

    code = review_job.main([*argv, "--dry-run", "--off", "audit"])  # no clients: no AWS call

    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(stdout) == expected_request(bucket, f"{JOB}-review-1")
    assert f"  worker_left_right_swap       1\n      {image('b.jpg', bucket)}: {SWAP}" in err
    assert f"  people_count                 1\n      {image('d.jpg', bucket)}: {MISSED}" in err
    assert "no job created" in err
    assert read_manifest(out.read_text()) == review_lines_of(small_job(bucket), bucket)


def test_audit_is_seeded_and_off_switches_rules(source: Path, tmp_path: Path) -> None:
    def selected(*options: str) -> list[tuple[int, list[str]]]:
        out = tmp_path / "r.manifest"
        out.unlink(missing_ok=True)
        assert (
            review_job.main([str(source), "--manifest-only", "--manifest-out", str(out), *options])
            == 0
        )
        if not out.exists():
            return []
        return [
            (x["review"]["line"], [r["code"] for r in x["review"]["reasons"]])
            for x in read_manifest(out.read_text())
        ]

    everything = selected("--audit-share", "1")
    assert everything == [
        (1, ["audit"]),
        (3, ["worker_left_right_swap", "audit"]),
        (6, ["people_count", "audit"]),
    ]
    assert selected("--audit-share", "0.5", "--seed", "3") == selected(
        "--audit-share", "0.5", "--seed", "3"
    )
    assert selected("--off", "audit,people_count,worker_left_right_swap") == []
    assert selected("--off", "audit", "--swap-min-gain", "2") == [(6, ["people_count"])]
    assert selected("--off", "audit", "--off", "people_count") == [(3, ["worker_left_right_swap"])]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--audit-share", "1.5"], "argument --audit-share: must be 0 to 1, got 1.5"),
        (["--min-agreement", "high"], "argument --min-agreement: expected a number, got 'high'"),
        (["--qa-flags", "drawn_by_some_workers"], "argument --qa-flags: unknown flag drawn_by_some_workers (drawn_by_some_workers is the people_count rule)"),
        (["--off", "audits"], "argument --off: unknown rule audits; choose from label_errors"),
        (["--off", "audit", "--audit-share", "0.2"], "--audit-share 0.2: the rule is switched off by --off audit"),
        (["--off", "qa_flags", "--qa-flags", "outside_image"], "--qa-flags: the rule is switched off by --off qa_flags"),
        (["--rig", "human-18"], "--rig: only with --manifest-only; a review job uses the stack's rig"),
        (["--manifest-only", "--dry-run"], "argument --dry-run: not allowed with argument --manifest-only"),
    ],
    ids=["share", "not-a-number", "own-rule", "unknown-rule", "off-and-share", "off-and-flags", "rig", "both-modes"],
)  # fmt: skip
def test_bad_options_are_one_line_and_exit_code_2(
    source: Path, outputs: Path, options: list[str], message: str, capsys: Any
) -> None:
    try:
        code = review_job.main([str(source), "--stack-outputs", str(outputs), *options])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_second_round_reviews_the_review_jobs_output(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round one's output: its lines keep the review key, and carry the reviewer's label.
    first = f"{JOB}-review-1"
    b = image("b.jpg")
    key = {"job": JOB, "round": 1, "line": 3, "dataset_object_id": "1", "reasons": []}
    reviewed = labeled(
        b, [answer(b, person(swap=("wrist",)))], index=0, job=first, extra={"review": key}
    )
    path = tmp_path / "review-1.manifest"
    path.write_text(reviewed + "\n")
    out = tmp_path / "r.manifest"

    code = review_job.main(
        [str(path), "--manifest-only", "--manifest-out", str(out), "--off", "audit"]
    )

    assert code == 0, capsys.readouterr().err
    [line] = read_manifest(out.read_text())
    assert line["review"]["job"] == first
    assert line["review"]["round"] == 2
    assert line["review"]["line"] == 1
    assert [r["code"] for r in line["review"]["reasons"]] == ["left_right_swap"]
    assert line["annotations"] == skeletons_of(reviewed)
    # The default name (and manifest) counts rounds from the original job's name.
    monkeypatch.chdir(tmp_path)
    assert review_job.main([str(path), "--manifest-only", "--off", "audit"]) == 0
    assert (tmp_path / f"{JOB}-review-2.manifest").read_text() == out.read_text()


def test_default_job_name_fits_ground_truths_63_characters() -> None:
    def name(base: str, round_: int) -> str:
        plan = review_job.ReviewPlan(ReviewSelection([], 0, 0), [], [], ATTRIBUTE, base, round_)
        return plan.default_job_name()

    assert name("a" * 61 + "-b", 12) == "a" * 53 + "-review-12"
    assert len(name("a" * 61 + "-b", 12)) == 63
    assert name("my_export.v2", 1) == "my-export-v2-review-1"


def test_many_reasons_are_folded_by_kind_so_every_kind_is_kept() -> None:
    reasons = [Reason("keypoint_disagreement", f"skeleton {i}: far") for i in range(30)]
    reasons.append(Reason("audit", "picked at random for a quality audit"))
    assert fit_reasons(reasons) == (
        ("keypoint_disagreement", "skeleton 0: far (and 29 more like it)"),
        ("audit", "picked at random for a quality audit"),
    )
    assert len(fit_reasons(reasons[:20])) == 20


def test_nothing_selected_writes_nothing(source: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "r.manifest"
    argv = [str(source), "--manifest-only", "--manifest-out", str(out)]
    assert review_job.main([*argv, "--off", "audit,people_count,worker_left_right_swap"]) == 0
    assert "nothing to review: no manifest written, no job created" in capsys.readouterr().err
    assert not out.exists()


def test_labels_of_another_rig_than_the_stacks_stop_the_job(
    source: Path, tmp_path: Path, bucket: str, capsys: Any
) -> None:
    outputs = aws_fakes.write_stack_outputs(tmp_path / "o.json", bucket, rig="human-18")
    code = review_job.main([str(source), "--stack-outputs", str(outputs), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 1
    assert "line 1 of output records rig 'coco-person-17', and the stack's rig is 'human-18'" in err
