"""export_results --review: the rounds merged into one result, with provenance and scores.

The job is ``tests/scripts/review_lines.small_job``; its review manifest is written
by the real ``review_job`` and each review job's output line is made by the real
consolidation from a reviewer's answer (``review_output``), as Ground Truth writes it:
the input line's keys (the review key among them), then the label.
"""

from __future__ import annotations

import copy
import html
import json
from pathlib import Path
from typing import Any

import pytest

from scripts import export_lines, export_results, review_job
from scripts.export_rigs import RigBook
from scripts.worker_scores import WorkerTallies, worker_scores
from tests.scripts.export.helpers import problems, read_json
from tests.scripts.review_lines import (
    COCO,
    JOB,
    answer,
    image,
    labeled,
    parse,
    person,
    review_output,
    small_job,
)

FIRST = f"{JOB}-review-1"
SECOND = f"{JOB}-review-2"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "output.manifest"
    path.write_text("".join(line + "\n" for line in small_job()), encoding="utf-8")
    return path


def review_manifest(source: Path, out: Path) -> list[dict[str, Any]]:
    argv = [str(source), "--manifest-only", "--manifest-out", str(out), "--off", "audit"]
    assert review_job.main(argv) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def moved_nose(skeletons: list[dict[str, Any]], dx: float = 30) -> list[dict[str, Any]]:
    changed = copy.deepcopy(skeletons)
    nose = next(p for p in changed[0]["annotations"] if p["label"] == "nose")
    nose["x"] += dx
    return changed


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def first_round(source: Path, tmp_path: Path, *, second_unlabeled: bool = False) -> Path:
    """Round one: b.jpg (line 3) corrected, d.jpg (line 6) confirmed, or left unlabeled."""
    b, d = review_manifest(source, tmp_path / "review-1.manifest")
    lines = [
        review_output(b, moved_nose(b["annotations"]), job=FIRST, index=0),
        review_output(d, None if second_unlabeled else d["annotations"], job=FIRST, index=1),
    ]
    return write(tmp_path / "review-1-output.manifest", lines)


def export(tmp_path: Path, source: Path, *reviews: Path, extra: tuple[str, ...] = ()) -> int:
    argv = [str(source), "--out", str(tmp_path / "out"), "--max-pictures", "0", "--allow-partial"]
    for review in reviews:
        argv += ["--review", str(review)]
    return export_results.main([*argv, *extra])


def exported(tmp_path: Path) -> dict[str, Any]:
    """COCO images by name with their provenance and keypoints (every annotation of one)."""
    coco = read_json(tmp_path / "out" / "coco_keypoints.json")
    found = {}
    for entry in coco["images"]:
        annotations = [a for a in coco["annotations"] if a["image_id"] == entry["id"]]
        assert all(a["provenance"] == entry["provenance"] for a in annotations)
        found[entry["file_name"]] = (entry["provenance"], [a["keypoints"] for a in annotations])
    return found


def keypoints(skeletons: list[dict[str, Any]]) -> list[list[float]]:
    out = []
    for skeleton in skeletons:
        points = {p["label"]: p for p in skeleton["annotations"]}
        flat: list[float] = []
        for label in COCO.labels:
            p = points.get(label)
            flat += [p["x"], p["y"], p.get("visibility", 2)] if p else [0, 0, 0]
        out.append(flat)
    return out


def test_a_reviewed_label_replaces_the_original_with_its_provenance(
    source: Path, tmp_path: Path, capsys: Any
) -> None:
    reviewed = first_round(source, tmp_path)
    b, d = [json.loads(x) for x in (tmp_path / "review-1.manifest").read_text().splitlines()]

    assert export(tmp_path, source, reviewed) == 0

    out = capsys.readouterr().out
    found = exported(tmp_path)
    assert list(found) == ["a.jpg", "b.jpg", "d.jpg"]  # every labeled line, once
    assert found["a.jpg"][0] == {"job": JOB, "round": 0, "changed": False}
    assert found["b.jpg"] == (
        {"job": FIRST, "round": 1, "changed": True},
        keypoints(moved_nose(b["annotations"])),
    )
    assert found["d.jpg"] == (
        {"job": FIRST, "round": 1, "changed": False},
        keypoints(d["annotations"]),
    )
    review = read_json(tmp_path / "out" / "summary.json")["review"]
    assert review == {
        "rounds": [
            {
                "round": 1,
                "jobs": [FIRST],
                "sent": 2,
                "labeled": 2,
                "changed": 1,
                "unlabeled": 0,
                "labels_exported": 2,
                "by_reason": {
                    "people_count": {"sent": 1, "labeled": 1, "changed": 0},
                    "worker_left_right_swap": {"sent": 1, "labeled": 1, "changed": 1},
                },
            }
        ],
        "problems": 0,
    }
    assert (
        f"review round 1 ({FIRST}): 2 lines sent, 2 came back labeled, 1 changed by the"
        " reviewer, 0 unlabeled (label before kept); 2 of its labels exported" in out
    )
    assert "  worker_left_right_swap       1        1        1" in out
    # The original's own problem (line 5 is not JSON) is still listed; nothing else is.
    assert [p["line"] for p in problems(tmp_path / "out")] == [5]


def test_a_review_that_came_back_unlabeled_keeps_the_original_and_is_listed(
    source: Path, tmp_path: Path, capsys: Any
) -> None:
    reviewed = first_round(source, tmp_path, second_unlabeled=True)
    original_d = keypoints(json.loads(small_job()[5])["label-results"]["updated_annotations"])

    assert export(tmp_path, source, reviewed) == 0

    found = exported(tmp_path)
    assert found["d.jpg"] == ({"job": JOB, "round": 0, "changed": False}, original_d)
    assert found["b.jpg"][0]["round"] == 1
    listed = [p for p in problems(tmp_path / "out") if p["line"] == 6]
    assert listed == [
        {
            "line": 6,
            "image": image("d.jpg"),
            "reason": f"sent to review in {FIRST} (round 1, --review {reviewed} line 2) and came"
            f" back unlabeled: the label of {JOB} is kept",
        }
    ]
    round_one = read_json(tmp_path / "out" / "summary.json")["review"]["rounds"][0]
    assert (round_one["labeled"], round_one["unlabeled"], round_one["labels_exported"]) == (1, 1, 1)
    # Without --allow-partial the export says so in its exit status.
    argv = [str(source), "--out", str(tmp_path / "strict"), "--max-pictures", "0"]
    assert export_results.main([*argv, "--review", str(reviewed)]) == 1
    assert "problems, see" in capsys.readouterr().err


def test_two_rounds_the_second_reviewing_the_first(source: Path, tmp_path: Path) -> None:
    first = first_round(source, tmp_path)
    argv = [str(first), "--manifest-only", "--manifest-out", str(tmp_path / "review-2.manifest")]
    assert review_job.main([*argv, "--audit-share", "1"]) == 0  # round two looks at both again
    b, _ = [json.loads(x) for x in (tmp_path / "review-2.manifest").read_text().splitlines()]
    assert (b["review"]["job"], b["review"]["round"], b["review"]["line"]) == (FIRST, 2, 1)
    second = write(
        tmp_path / "review-2-output.manifest",
        [review_output(b, moved_nose(b["annotations"], -5), job=SECOND, index=0)],
    )  # d.jpg: the second round's job stopped before anyone reviewed it

    assert export(tmp_path, source, second, first) == 0  # in any order

    found = exported(tmp_path)
    assert found["b.jpg"] == (
        {"job": SECOND, "round": 2, "changed": True},
        keypoints(moved_nose(b["annotations"], -5)),
    )
    assert found["d.jpg"][0] == {"job": FIRST, "round": 1, "changed": False}
    rounds = read_json(tmp_path / "out" / "summary.json")["review"]["rounds"]
    assert [(r["round"], r["sent"], r["labeled"], r["labels_exported"]) for r in rounds] == [
        (1, 2, 2, 1),
        (2, 1, 1, 1),
    ]


def test_review_lines_that_match_nothing_change_nothing_and_are_listed(
    source: Path, tmp_path: Path
) -> None:
    b, d = review_manifest(source, tmp_path / "review-1.manifest")
    other_job = {**b, "review": {**b["review"], "job": "another-job"}}
    other_object = {**d, "review": {**d["review"], "dataset_object_id": "7"}}
    past_the_end = {**d, "review": {**d["review"], "line": 40}}
    no_key = {k: v for k, v in b.items() if k != "review"}
    lines = [
        review_output(other_job, moved_nose(b["annotations"]), job=FIRST, index=0),
        review_output(other_object, moved_nose(d["annotations"]), job=FIRST, index=1),
        review_output(past_the_end, d["annotations"], job=FIRST, index=2),
        review_output(no_key, moved_nose(b["annotations"]), job=FIRST, index=3),
    ]
    reviewed = write(tmp_path / "review-1-output.manifest", lines)

    assert export(tmp_path, source, reviewed) == 0

    found = exported(tmp_path)
    assert [p["round"] for p, _ in found.values()] == [0, 0, 0]  # all three originals kept
    reasons = [p["reason"] for p in problems(tmp_path / "out") if p["line"] != 5]
    where = f"--review {reviewed} line"
    assert reasons == [
        f"{where} 4: no review key: not a line of a review job; not merged",
        f"{where} 1 reviews another-job, dataset object 1, but the label it names is {JOB}'s,"
        " dataset object 1: not merged",
        f"{where} 2 reviews {JOB}, dataset object 7, but the label it names is {JOB}'s,"
        " dataset object 3: not merged",
        f"{where} 3 reviews line 40 of {JOB}, which SOURCE does not have: not merged",
    ]


def test_a_missing_round_stops_the_export_before_it_writes(
    source: Path, tmp_path: Path, capsys: Any
) -> None:
    b = review_manifest(source, tmp_path / "review-1.manifest")[0]
    third = {**b, "review": {**b["review"], "round": 3}}
    reviewed = write(
        tmp_path / "r.manifest", [review_output(third, b["annotations"], job="x", index=0)]
    )
    first = first_round(source, tmp_path)

    assert export(tmp_path, source, first, reviewed) == 2

    assert "--review: rounds 1, 3 given, round 2 missing: each round reviews the one before" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


def test_worker_scores_in_summary_review_page_and_stdout(
    source: Path, tmp_path: Path, capsys: Any
) -> None:
    reviewed = first_round(source, tmp_path)
    argv = [str(source), "--out", str(tmp_path / "out"), "--allow-partial"]

    assert export_results.main([*argv, "--review", str(reviewed)]) == 0

    out = capsys.readouterr().out
    scores = read_json(tmp_path / "out" / "summary.json")["worker_scores"]
    rows = {row["worker_id"]: row for row in scores["workers"]}
    assert scores["lines_not_scored"] == 0
    assert sorted(rows) == [f"private.us-east-1.worker{i}" for i in range(3)]
    # worker2 swapped b.jpg's knees and ankles and drew one person in d.jpg.
    careless = rows["private.us-east-1.worker2"]
    assert (careless["images"], careless["skeletons"], careless["compared"]) == (3, 3, 3)
    assert careless["disagreeing"] == pytest.approx(1 / 3, abs=1e-4)
    assert (careless["reviewed"], careless["review_changed"]) == (2, 0.5)  # b changed, d not
    assert rows["private.us-east-1.worker0"]["disagreeing"] == 0.0
    lines = out.splitlines()
    at = lines.index("workers (3, most disagreeing first):")
    assert lines[at + 1].split()[:2] == ["worker", "images"]
    assert lines[at + 2].startswith("private.us-east-1.worker2 ")
    page = (tmp_path / "out" / "review.html").read_text()
    assert '<table class="sortable">' in page
    assert '<td data-value="0.333' in page  # disagreeing, sorted by its value


def test_worker_ids_are_escaped_on_the_review_page(tmp_path: Path) -> None:
    a = image("a.jpg")
    line = json.loads(labeled(a, [answer(a, person())], index=0))
    hostile = '<img src=x onerror="alert(1)">'
    line["label-results"]["workers"][0]["worker_id"] = hostile
    source = write(tmp_path / "o.manifest", [json.dumps(line)])

    assert export_results.main([str(source), "--out", str(tmp_path / "out")]) == 0

    page = (tmp_path / "out" / "review.html").read_text()
    assert hostile not in page
    assert f'<td data-value="{html.escape(hostile)}">{html.escape(hostile)}</td>' in page


def test_the_same_label_reviewed_twice_in_a_round_uses_the_first(
    source: Path, tmp_path: Path
) -> None:
    b = review_manifest(source, tmp_path / "review-1.manifest")[0]
    one = write(
        tmp_path / "one.manifest",
        [review_output(b, moved_nose(b["annotations"]), job=FIRST, index=0)],
    )
    other = write(
        tmp_path / "other.manifest",
        [review_output(b, b["annotations"], job="pose-job-1-again", index=0)],
    )

    assert export(tmp_path, source, one, other) == 0

    assert exported(tmp_path)["b.jpg"][0] == {"job": FIRST, "round": 1, "changed": True}
    [listed] = [p for p in problems(tmp_path / "out") if p["line"] == 3]
    assert listed["reason"] == (
        f"--review {other} line 1 reviews the same label as --review {one} line 1 in round 1:"
        " not merged (the first is used)"
    )


def test_scores_from_worker_processes_equal_worker_scores_over_the_lines() -> None:
    lines = small_job()
    settings = export_lines.Settings(
        RigBook.create([], None), None, "labeling_jobs/images/", None, yolo=False,
        scores=export_lines.ScoreSettings(),
    )  # fmt: skip
    tallies = WorkerTallies()
    raws = [line.encode() for line in lines]
    for _, result in export_lines.process(raws, settings, jobs=2, chunk_lines=1, inline_chunks=1):
        tallies.merge(result.workers)

    readable = [parse(line) for line in lines if line.startswith('{"')]
    assert tallies.rows() == worker_scores(readable, rig=COCO)
    assert len(tallies.rows()) == 3


def test_worker_times_edited_by_hand_are_left_out_and_scores_can_be_switched_off(
    tmp_path: Path,
) -> None:
    a, b = image("a.jpg"), image("b.jpg")
    odd = json.loads(labeled(a, [answer(a, person(), seconds=30)], index=0))
    odd["label-results"]["workers"][0]["total_time_in_seconds"] = "a minute"
    plain = labeled(b, [answer(b, person(), seconds=20)], index=1)
    source = write(tmp_path / "o.manifest", [json.dumps(odd), plain])
    argv = [str(source), "--max-pictures", "0"]

    assert export_results.main([*argv, "--out", str(tmp_path / "out")]) == 0

    summary = read_json(tmp_path / "out" / "summary.json")
    [row] = summary["worker_scores"]["workers"]
    assert (row["images"], row["median_seconds"]) == (2, 20)
    assert export_results.main([*argv, "--out", str(tmp_path / "plain"), "--no-worker-scores"]) == 0
    assert "worker_scores" not in read_json(tmp_path / "plain" / "summary.json")
