"""The review selection: each rule on labels made by the real consolidation, the seeded
audit, the summary, and a small seeded job end to end."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from typing import Any

import pytest

from benchmarks import bench_review
from handlers.oks import oks
from handlers.output_manifest import OutputManifestLine, parse_output_manifest_line
from handlers.rig import load_rig
from handlers.skeleton import Keypoint, Skeleton
from scripts.review_selection import (
    DEFAULT_MIN_AGREEMENT,
    QA_FLAGS,
    ReviewRules,
    format_selection_summary,
    keypoint_similarities,
    select_for_review,
    summarize_selection,
    worker_agreement,
)
from tests.scripts import manifests

COCO = load_rig("coco-person-17")
WIDTH, HEIGHT = 1280, 720
#: Every rule but the random audit, so that a test sees only the rule it is about.
NO_AUDIT = ReviewRules(audit_share=0.0)

Points = dict[str, tuple[float, float, int]]


def person(
    at: tuple[float, float] = (100, 50),
    *,
    shift: float = 0,
    move: dict[str, tuple[float, float]] | None = None,
    swap: tuple[str, ...] = (),
    drop: tuple[str, ...] = (),
) -> Points:
    """The rig's template at ``at`` (a person 387 px tall), every point moved by ``shift``
    (workers never click the same pixel); ``swap`` exchanges left_X and right_X."""
    points = {k.label: (at[0] + k.x + shift, at[1] + k.y - shift, 2) for k in COCO.keypoints}
    for joint in swap:
        points[f"left_{joint}"], points[f"right_{joint}"] = (
            points[f"right_{joint}"],
            points[f"left_{joint}"],
        )
    for label, (dx, dy) in (move or {}).items():
        x, y, v = points[label]
        points[label] = (x + dx, y + dy, v)
    return {label: p for label, p in points.items() if label not in drop}


def answer(*people: Points, seconds: float = 30.0, **fields: Any) -> dict[str, str]:
    skeletons = [manifests.skeleton(f"person {i + 1}", p) for i, p in enumerate(people)]
    return manifests.submission(
        skeletons, image_s3_uri=IMAGE, width=WIDTH, height=HEIGHT, seconds=seconds, **fields
    )


IMAGE = "s3://pose-labeling-bucket/images/a.jpg"


def line_of(
    answers: list[dict[str, str]], image: str = IMAGE, index: int = 0
) -> OutputManifestLine:
    """A labeled output manifest line through the real consolidation, read back as a job
    would read it."""
    answers = [{**a, "image_s3_uri": image} for a in answers]
    text = manifests.output_line(image, answers, COCO, index=index)
    return parse_output_manifest_line(text, rig=COCO)


def three_workers(odd: Points, other: Points | None = None) -> OutputManifestLine:
    """Two careful workers and one whose first person is ``odd``; a second person is
    ``other`` when given (drawn by all three)."""
    second = (other,) if other else ()
    return line_of(
        [
            answer(person(shift=0), *second),
            answer(person(shift=2), *second),
            answer(odd, *second),
        ]
    )


def reasons(line: OutputManifestLine, rules: ReviewRules = NO_AUDIT) -> list[tuple[str, str]]:
    selection = select_for_review([line], COCO, rules)
    return [(r.code, r.message) for s in selection.selected for r in s.reasons]


def codes(line: OutputManifestLine, rules: ReviewRules = NO_AUDIT) -> list[str]:
    return [code for code, _ in reasons(line, rules)]


# -- a clean label --------------------------------------------------------------------


def test_careful_workers_are_not_selected() -> None:
    line = three_workers(person(shift=-2), person((600, 60)))
    assert codes(line) == []
    comparisons = worker_agreement(line.label, COCO)  # type: ignore[arg-type]
    assert len(comparisons) == 6  # three workers x two people
    assert min(c.oks for c in comparisons) > 0.95


def test_a_single_worker_is_judged_by_the_label_alone() -> None:
    line = line_of([answer(person(move={"left_wrist": (0, 90)}))])
    assert codes(line) == []
    assert worker_agreement(line.label, COCO) == []  # type: ignore[arg-type]


# -- each rule --------------------------------------------------------------------------


def test_rejected_keypoints_select_the_label_naming_the_field() -> None:
    bad = json.loads(answer(person())["updated_annotations"])
    bad[0]["annotations"][0]["x"] = "abc"
    line = line_of([{**answer(person()), "updated_annotations": json.dumps(bad)}])
    [(code, message)] = reasons(line)
    assert code == "label_errors"
    assert "workers[0].updated_annotations[0].annotations[0].x" in message


def test_a_label_without_a_usable_answer_is_labeled_from_scratch() -> None:
    line = line_of([{**answer(person()), "updated_annotations": "not json"}])
    [(code, message)] = reasons(line)
    assert code == "label_errors"
    assert "from scratch" in message


def test_warnings_alone_do_not_select() -> None:
    tolerated = {k: v for k, v in answer(person()).items() if k != "original_annotations"}
    line = line_of([tolerated])
    assert line.label is not None and line.label.errors
    assert all(e.level == "warning" for e in line.label.errors)
    assert codes(line) == []


def test_a_qa_flag_on_the_label_selects_it_for_that_skeleton() -> None:
    swapped = person((600, 60), swap=("knee", "ankle"))
    line = line_of([answer(person(), swapped)] * 3)
    [(code, message)] = reasons(line)
    assert code == "left_right_swap"
    assert message.startswith('skeleton 2 ("person 2"): left and right look swapped')


def test_only_the_named_qa_flags_select() -> None:
    swapped = line_of([answer(person(swap=("knee", "ankle")))])
    assert codes(swapped, replace(NO_AUDIT, qa_flags=frozenset({"outside_image"}))) == []
    assert codes(swapped, replace(NO_AUDIT, qa_flags=frozenset())) == []
    assert codes(swapped, replace(NO_AUDIT, qa_flags=frozenset({"left_right_swap"}))) == [
        "left_right_swap"
    ]


def test_unknown_qa_flags_are_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"^qa_flags: unknown flag sideways; choose from "):
        ReviewRules(qa_flags=frozenset({"sideways"}))
    with pytest.raises(ValueError, match="drawn_by_some_workers is the people_count rule"):
        ReviewRules(qa_flags=frozenset({"drawn_by_some_workers"}))
    assert set(QA_FLAGS) == {"left_right_swap", "outside_image", "duplicate_skeleton"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("min_agreement", 1.5), ("min_keypoint_similarity", -0.1), ("audit_share", 2.0)],
)
def test_thresholds_out_of_range_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: expected a number from 0 to 1, got"):
        ReviewRules(**{field: value})


def test_a_missed_person_is_a_people_count_reason_once() -> None:
    other = person((600, 60))
    line = line_of(
        [answer(person(), other), answer(person(shift=2), other), answer(person(shift=1))]
    )
    assert line.label is not None
    assert [f.flag for f in line.label.qa_flags] == ["drawn_by_some_workers"]
    [(code, message)] = reasons(line)
    assert code == "people_count"
    assert "different numbers of people (2, 2, 1)" in message


def test_one_workers_swapped_leg_is_found_though_the_median_hides_it() -> None:
    line = three_workers(person(shift=1, swap=("knee", "ankle")))
    assert line.label is not None
    assert line.label.qa_flags == []  # the consensus is right: two workers outvote one
    found = reasons(line)
    assert [c for c, _ in found] == ["worker_left_right_swap"]
    assert found[0][1] == (
        'skeleton 1 ("person 1"): one worker\'s left_knee/right_knee, left_ankle/right_ankle '
        "look swapped compared with the others'"
    )


def test_a_swapped_arm_is_one_swap_reason_not_four_far_points() -> None:
    line = three_workers(person(shift=1, swap=("elbow", "wrist")))
    assert codes(line) == ["worker_left_right_swap"]
    without_swaps = reasons(line, replace(NO_AUDIT, swap_min_gain=None))
    assert without_swaps == [
        (
            "keypoint_disagreement",
            'skeleton 1 ("person 1"): a worker placed left_elbow, right_elbow, left_wrist, '
            "right_wrist far from where the others did",
        )
    ]


def test_one_misplaced_point_is_found_though_the_skeleton_agrees_overall() -> None:
    line = three_workers(person(shift=1, move={"left_wrist": (0, 90)}))
    comparisons = worker_agreement(line.label, COCO)  # type: ignore[arg-type]
    assert min(c.oks for c in comparisons) > DEFAULT_MIN_AGREEMENT
    found = reasons(line)
    assert found == [
        (
            "keypoint_disagreement",
            'skeleton 1 ("person 1"): a worker placed left_wrist far from where the others did',
        )
    ]
    assert codes(line, replace(NO_AUDIT, min_keypoint_similarity=None)) == []


LIMB_JOINTS = ("elbow", "wrist", "knee", "ankle")


def test_a_skeleton_far_from_the_consensus_is_low_agreement() -> None:
    half = tuple(f"{side}_{joint}" for side in ("left", "right") for joint in LIMB_JOINTS)
    line = three_workers(person(shift=1, drop=half))
    found = reasons(line)
    assert [c for c, _ in found] == ["low_agreement"]
    assert "OKS 0.52 against the consensus, below 0.70" in found[0][1]
    assert codes(line, replace(NO_AUDIT, min_agreement=None)) == []


def test_no_changes_needed_with_changes_is_selected() -> None:
    original = [manifests.skeleton("person 1", person())]
    line = line_of(
        [answer(person(move={"nose": (30, 0)}), original=original, no_changes_needed=True)]
    )
    assert codes(line) == ["no_changes_but_modified"]
    assert codes(line, replace(NO_AUDIT, no_changes_but_modified=False)) == []


def test_reasons_come_in_rule_order_and_fit_the_component() -> None:
    swapped = person(swap=("knee", "ankle"))
    drawn = [manifests.skeleton("x" * 300, swapped), manifests.skeleton("b", swapped)]
    line = line_of([{**answer(no_changes_needed=True), "updated_annotations": json.dumps(drawn)}])
    selection = select_for_review([line], COCO, ReviewRules(audit_share=1.0))
    [chosen] = selection.selected
    assert [(r.code, r.skeleton) for r in chosen.reasons] == [
        ("left_right_swap", 0),
        ("left_right_swap", 1),
        ("duplicate_skeleton", 1),
        ("no_changes_but_modified", None),
        ("audit", None),
    ]
    assert chosen.reasons[0].to_jsonable() == {
        "code": "left_right_swap",
        "message": chosen.reasons[0].message,
        "skeleton": 0,
    }
    assert chosen.reasons[-1].to_jsonable() == {
        "code": "audit",
        "message": "picked at random for a quality audit",
    }
    issues = chosen.annotation_issues()
    assert all(set(i) == {"reason"} and 0 < len(i["reason"]) <= 200 for i in issues)
    assert "xxx…" in issues[0]["reason"]


# -- the audit -----------------------------------------------------------------------------


def clean_lines(n: int) -> list[OutputManifestLine]:
    one = manifests.output_line(IMAGE, [answer(person())], COCO)
    data = json.loads(one)
    out = []
    for i in range(n):
        data["source-ref"] = f"s3://pose-labeling-bucket/images/{i:04d}.jpg"
        out.append(parse_output_manifest_line(data, rig=COCO))
    return out


def audited(lines: list[OutputManifestLine], seed: int, share: float = 0.1) -> list[str]:
    rules = ReviewRules(audit_share=share, audit_seed=seed)
    return [s.key for s in select_for_review(lines, COCO, rules).selected]


def test_the_audit_picks_the_same_images_whatever_their_order() -> None:
    lines = clean_lines(300)
    first = audited(lines, seed=7)
    shuffled = lines[:]
    random.Random(1).shuffle(shuffled)  # noqa: S311 (test data)
    assert sorted(audited(shuffled, seed=7)) == sorted(first)
    assert audited(lines[:150], seed=7) == [k for k in first if k < str(lines[150].source_ref)]
    assert 15 <= len(first) <= 50  # 10% of 300, within binomial chance


def test_another_seed_audits_other_images() -> None:
    lines = clean_lines(300)
    one, other = set(audited(lines, seed=7)), set(audited(lines, seed=8))
    assert one != other
    assert len(one & other) < len(one) / 2


def test_the_audit_share_bounds() -> None:
    lines = clean_lines(20)
    assert audited(lines, seed=1, share=0.0) == []
    assert len(audited(lines, seed=1, share=1.0)) == 20


# -- what the selection reports --------------------------------------------------------


def test_unlabeled_lines_are_counted_not_selected() -> None:
    unlabeled = parse_output_manifest_line({"source-ref": "s3://b/never.jpg"}, rig=COCO)
    line = three_workers(person(shift=1, swap=("knee", "ankle")))
    selection = select_for_review([unlabeled, line], COCO, NO_AUDIT)
    assert (selection.lines, selection.labeled, len(selection.selected)) == (2, 1, 1)


def test_a_label_with_fields_left_in_s3_is_checked_and_reported() -> None:
    text = manifests.output_line(IMAGE, [answer(person())], COCO)
    data = json.loads(text)
    label = data["pose"]
    del label["workers"]
    label["overflow"] = {"s3_uri": "s3://b/overflow.json", "fields": ["workers"]}
    line = parse_output_manifest_line(data, rig=COCO)
    selection = select_for_review([line], COCO, ReviewRules(audit_share=1.0))
    assert [s.key for s in selection.selected] == [IMAGE]  # the audit still applies
    assert selection.problems == [
        f"{IMAGE}: workers moved to S3 and not restored; checked without them"
    ]


def test_the_summary_counts_each_reason_with_a_few_examples() -> None:
    swapped = person(shift=1, swap=("knee", "ankle"))
    lines = [
        line_of(
            [answer(person()), answer(person(shift=2)), answer(swapped)], image=f"s3://b/{i}.jpg"
        )
        for i in range(5)
    ]
    lines.append(
        line_of(
            [answer(person(), person((600, 60))), answer(person(shift=2)), answer(swapped)],
            image="s3://b/both.jpg",
        )
    )
    lines.append(line_of([answer(person())], image="s3://b/clean.jpg"))
    summary = summarize_selection(select_for_review(lines, COCO, NO_AUDIT), examples=2)
    assert (summary.lines, summary.labeled, summary.selected) == (7, 7, 6)
    assert [(r.code, r.lines) for r in summary.reasons] == [
        ("people_count", 1),
        ("worker_left_right_swap", 6),
    ]
    swaps = summary.reasons[1]
    assert len(swaps.examples) == 2
    assert swaps.examples[0].startswith("s3://b/0.jpg: skeleton 1")
    text = format_selection_summary(summary)
    assert text.splitlines()[0] == "6 of 7 labeled lines selected for review (85.7%)"
    assert "  worker_left_right_swap       6" in text
    assert json.loads(json.dumps(summary.to_jsonable()))["reasons"]["people_count"]["lines"] == 1


def test_keypoint_terms_add_up_to_oks() -> None:
    rng = random.Random(3)  # noqa: S311 (test data)
    for _ in range(20):
        labels = COCO.labels
        a = Skeleton(
            "a", [Keypoint(k, rng.uniform(0, 300), rng.uniform(0, 300)) for k in labels[:12]]
        )
        b = Skeleton(
            "b", [Keypoint(k, rng.uniform(0, 300), rng.uniform(0, 300)) for k in labels[3:]]
        )
        terms = keypoint_similarities(a, b, COCO)
        assert set(terms) == set(labels[3:12])
        assert math.isclose(sum(terms.values()) / len(labels), oks(a, b, COCO))


# -- end to end ------------------------------------------------------------------------------


def test_a_seeded_job_through_real_consolidation() -> None:
    scenario = bench_review.Scenario(images=60, seed=4)
    job = bench_review.generate(scenario, COCO)
    assert {e.kind for e in job.errors} == {"swap", "misplace", "missed"}
    lines = bench_review.read_lines(job.lines, COCO)
    selection = select_for_review(lines, COCO, ReviewRules())
    figures = bench_review.evaluate(selection, job.errors)
    assert figures.recall >= 0.9
    assert figures.share <= 0.3
    chosen = {s.key: {r.code for r in s.reasons} for s in selection.selected}
    for error in job.errors:
        if error.kind == "missed":
            assert "people_count" in chosen[error.image]
