"""Worker scores on a small hand-built job and its review round, consolidated for real."""

from __future__ import annotations

import json

from handlers.label import build_label
from handlers.output_manifest import OutputManifestLine, parse_output_manifest_line
from handlers.qa import check_skeletons
from handlers.submission import parse_answer
from scripts.worker_scores import WorkerScore, format_scores, worker_scores
from tests.scripts import manifests
from tests.scripts.test_review_selection import COCO, HEIGHT, WIDTH, Points, person


def image(n: int) -> str:
    return f"s3://pose-labeling-bucket/images/{n}.jpg"


def answer(
    uri: str,
    *people: Points,
    seconds: float,
    original: list[dict[str, object]] | None = None,
) -> dict[str, str]:
    skeletons = [manifests.skeleton(f"person {i + 1}", p) for i, p in enumerate(people)]
    return manifests.submission(
        skeletons, image_s3_uri=uri, width=WIDTH, height=HEIGHT, seconds=seconds, original=original
    )


def labeled(uri: str, answers: list[tuple[str, dict[str, str]]]) -> OutputManifestLine:
    """An output manifest line for ``uri`` from named workers' answers (real consolidation)."""
    parsed = [
        parse_answer(json.dumps(a), worker_id=worker, field=f"workers[{i}]", rig=COCO)
        for i, (worker, a) in enumerate(answers)
    ]
    label = build_label(uri.rsplit("/", 1)[-1], parsed, data_object_s3_uri=uri, rig=COCO)
    line = {
        "source-ref": uri,
        "pose": label.to_jsonable(),
        "pose-metadata": manifests.metadata("j"),
    }
    return parse_output_manifest_line(json.dumps(line), rig=COCO)


def reviewed(round_one: OutputManifestLine, points: Points | None) -> OutputManifestLine:
    """The review round's line: the reviewer saw the consolidated label and left it
    (``points`` None) or redrew it as ``points``."""
    assert round_one.label is not None and round_one.label.updated_annotations is not None
    shown = [s.to_jsonable() for s in round_one.label.updated_annotations]
    uri = str(round_one.source_ref)
    if points is None:
        a = manifests.submission(
            shown, image_s3_uri=uri, width=WIDTH, height=HEIGHT, original=shown, seconds=5
        )
    else:
        a = answer(uri, points, seconds=5, original=shown)
    return labeled(uri, [("private.us-east-1.reviewer", a)])


ALICE, BOB, CAROL, DAVE = (
    f"private.us-east-1.{name}" for name in ("alice", "bob", "carol", "dave")
)
SWAPPED_LEG = person(shift=1, swap=("knee", "ankle"))


def job() -> list[OutputManifestLine]:
    extra = person((600, 60))
    return [
        labeled(
            image(1),
            [
                (ALICE, answer(image(1), SWAPPED_LEG, seconds=40)),
                (BOB, answer(image(1), person(shift=2), extra, seconds=20)),
                (CAROL, answer(image(1), person(), seconds=30)),
            ],
        ),
        labeled(
            image(2),
            [
                (ALICE, answer(image(2), person(), seconds=60)),
                (BOB, answer(image(2), person(shift=2), seconds=10)),
            ],
        ),
        labeled(image(3), [(CAROL, answer(image(3), SWAPPED_LEG, seconds=50))]),
        labeled(
            image(4),
            [(DAVE, {**answer(image(4), person(), seconds=5), "updated_annotations": "oops"})],
        ),
    ]


def by_worker(rows: list[WorkerScore]) -> dict[str, WorkerScore]:
    return {r.worker_id: r for r in rows}


def test_counts_times_and_agreement_per_worker() -> None:
    rows = worker_scores(job(), rig=COCO)
    assert [r.worker_id for r in rows] == sorted([ALICE, BOB, CAROL, DAVE])
    alice, bob, carol, dave = (by_worker(rows)[w] for w in (ALICE, BOB, CAROL, DAVE))
    assert (alice.images, bob.images, carol.images, dave.images) == (2, 2, 2, 1)
    assert (alice.median_seconds, bob.median_seconds, carol.median_seconds) == (50, 15, 40)
    assert dave.median_seconds == 5  # an unusable answer still took the worker's time
    # Bob's extra person was drawn by nobody else: nothing to compare it with.
    assert (alice.skeletons, bob.skeletons, carol.skeletons, dave.skeletons) == (2, 3, 2, 0)
    assert (alice.compared, bob.compared, carol.compared, dave.compared) == (2, 2, 1, 0)
    assert alice.disagreeing == 0.5  # the swapped leg, outvoted in the label itself
    assert bob.disagreeing == 0.0 and carol.disagreeing == 0.0
    assert alice.mean_oks is not None and bob.mean_oks is not None
    assert alice.mean_oks < bob.mean_oks - 0.05
    assert dave.mean_oks is None and dave.disagreeing is None


def test_qa_flags_are_counted_on_each_workers_own_skeletons() -> None:
    rows = by_worker(worker_scores(job(), rig=COCO))
    # Image 1's label is clean (the median is right), yet Alice's own leg is swapped.
    first = job()[0].label
    assert first is not None and all(f.flag != "left_right_swap" for f in first.qa_flags)
    assert rows[ALICE].qa_flagged == 0.5
    assert rows[CAROL].qa_flagged == 0.5  # image 3, where she labeled alone
    assert rows[BOB].qa_flagged == 0.0
    assert rows[DAVE].qa_flagged is None


def test_review_changes_follow_the_workers_images() -> None:
    lines = job()
    review_round = [
        reviewed(lines[0], person(shift=1)),  # the reviewer moved points
        reviewed(lines[2], None),  # left as it was
        parse_output_manifest_line({"source-ref": image(4)}, rig=COCO),  # came back unlabeled
    ]
    assert review_round[0].label is not None and review_round[0].label.was_modified
    assert review_round[1].label is not None and not review_round[1].label.was_modified
    rows = by_worker(worker_scores(lines, rig=COCO, reviewed=review_round))
    assert (rows[ALICE].reviewed, rows[ALICE].review_changed) == (1, 1.0)
    assert (rows[BOB].reviewed, rows[BOB].review_changed) == (1, 1.0)
    assert (rows[CAROL].reviewed, rows[CAROL].review_changed) == (2, 0.5)
    assert (rows[DAVE].reviewed, rows[DAVE].review_changed) == (0, None)
    without = by_worker(worker_scores(lines, rig=COCO))
    assert (without[CAROL].reviewed, without[CAROL].review_changed) == (0, None)


def test_rows_as_json_and_as_a_table() -> None:
    rows = worker_scores(job(), rig=COCO)
    data = json.loads(json.dumps([r.to_jsonable() for r in rows]))
    assert data[0] == {
        "worker_id": ALICE,
        "images": 2,
        "median_seconds": 50,
        "skeletons": 2,
        "compared": 2,
        "mean_oks": round(rows[0].mean_oks or 0, 4),
        "disagreeing": 0.5,
        "qa_flagged": 0.5,
        "reviewed": 0,
        "review_changed": None,
    }
    table = format_scores(rows).splitlines()
    assert table[0].split() == [
        "worker", "images", "median", "s", "compared", "mean", "OKS", "disagree", "QA",
        "flagged", "reviewed", "changed",
    ]  # fmt: skip
    assert table[1].split()[:7] == [
        ALICE,
        "2",
        "50.0",
        "2",
        f"{rows[0].mean_oks:.2f}",
        "50%",
        "50%",
    ]
    assert table[4].split() == [DAVE, "1", "5.0", "0", "-", "-", "-", "0", "-"]
    short = format_scores(rows, limit=2).splitlines()
    assert len(short) == 4 and short[-1] == "… and 2 more workers"


def test_an_empty_job_has_no_rows() -> None:
    assert (
        worker_scores([parse_output_manifest_line({"source-ref": image(9)}, rig=COCO)], rig=COCO)
        == []
    )
    assert len(format_scores([]).splitlines()) == 1  # the header


def test_a_lone_workers_qa_flags_are_the_labels_own() -> None:
    # Scores take a lone worker's flags from the label (found by the same checks on the
    # same skeletons) instead of running the checks again: the same skeletons flagged.
    label = job()[2].label
    assert label is not None
    [worker] = label.workers
    assert worker.same_as_consolidated and worker.updated_annotations is not None
    again = check_skeletons(worker.updated_annotations, COCO, WIDTH, HEIGHT)
    flagged = {f.skeleton for f in again if f.skeleton is not None}
    assert flagged == {f.skeleton for f in label.qa_flags if f.skeleton is not None} == {0}
