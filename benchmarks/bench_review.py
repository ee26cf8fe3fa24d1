"""Review selection on a seeded job: how many seeded errors it catches, how much it sends.

Run: ``python -m benchmarks review``, or ``python -m benchmarks.bench_review`` with
``--images``, ``--team``, ``--seed`` or ``--sweep`` (recall and share at other thresholds).

The job (issue 13): 500 images, each labeled by 3 workers of a team of
``--team`` (10), one of whom is careless: in 10% of the people they label they
swap a limb's left/right labels (elbow and wrist, or knee and ankle), in
another 10% they misplace one to three points by 15-40% of the person's
height. In 5% of the images one of the three workers (any of them) misses a
person. People are the COCO-17 rig's template, scaled to 35-90% of the image
height, narrower or broader by up to 15% and placed side by side;
each worker's clicks scatter around them by COCO's own per-keypoint sigmas
(the annotator spread COCO measured), so noise grows with the person's size.

The answers go through the real consolidation (:func:`consolidate_image`, the
handlers' ``build_label`` with the rig), are written as output manifest lines,
read back with ``parse_output_manifest_line``, and selected with
:func:`scripts.review_selection.select_for_review` at its defaults.

Reported: recall (seeded errors whose image is selected; also without the
random audit's catches), the share of images selected, the share of images
without a seeded error that the rules select, per error kind and per reason,
and the selection's time per line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from handlers.label import ConsolidatedLabel, build_label
from handlers.output_manifest import OutputManifestLine, parse_output_manifest_line
from handlers.rig import Rig, load_rig
from handlers.submission import WorkerAnswer, parse_answer
from scripts.review_selection import (
    Reason,
    ReviewRules,
    ReviewSelection,
    SelectedLine,
    image_key,
    select_for_review,
)

ROOT = Path(__file__).resolve().parent.parent
RIG_FILE = ROOT / "assets" / "rigs" / "coco-person-17.json"
ATTRIBUTE = "pose"
IMAGE_SIZES = ((1280, 720), (1920, 1080), (1024, 768))
#: How many people an image shows, and how often.
PEOPLE_WEIGHTS = {1: 0.5, 2: 0.3, 3: 0.2}
#: The limbs a careless worker swaps: the points below the torso joint.
LIMBS = (("elbow", "wrist"), ("knee", "ankle"))


@dataclass(frozen=True)
class Scenario:
    images: int = 500
    workers_per_image: int = 3
    team: int = 10
    swap_share: float = 0.10
    misplace_share: float = 0.10
    missed_share: float = 0.05
    seed: int = 13


@dataclass(frozen=True)
class SeededError:
    image: str
    #: ``swap``, ``misplace`` or ``missed``.
    kind: str
    worker: str
    person: int


@dataclass
class Job:
    lines: list[str]
    errors: list[SeededError]


def worker_name(n: int) -> str:
    return f"private.us-east-1.{n:026d}"


CARELESS = worker_name(0)


def generate(scenario: Scenario, rig: Rig) -> Job:
    """The seeded job's output manifest lines (real consolidation) and its seeded errors."""
    rng = random.Random(scenario.seed)
    team = [worker_name(n) for n in range(scenario.team)]
    lines, errors = [], []
    for index in range(scenario.images):
        width, height = rng.choice(IMAGE_SIZES)
        uri = f"s3://bench/images/{index:05d}.jpg"
        people = rng.choices(list(PEOPLE_WEIGHTS), weights=list(PEOPLE_WEIGHTS.values()))[0]
        truth = [_person(rig, rng, width, height, slot, people) for slot in range(people)]
        workers = rng.sample(team, scenario.workers_per_image)
        missed = None
        if rng.random() < scenario.missed_share:
            missed = (rng.randrange(len(workers)), rng.randrange(people))
            errors.append(SeededError(uri, "missed", workers[missed[0]], missed[1]))
        answers = []
        for w, worker in enumerate(workers):
            drawn = []
            for p, points in enumerate(truth):
                if missed == (w, p):
                    continue
                clicked = _clicks(rig, rng, points, width, height)
                if worker == CARELESS:
                    roll = rng.random()
                    if roll < scenario.swap_share:
                        _swap_limb(rng, clicked)
                        errors.append(SeededError(uri, "swap", worker, p))
                    elif roll < scenario.swap_share + scenario.misplace_share:
                        _misplace(rng, clicked, points, width, height)
                        errors.append(SeededError(uri, "misplace", worker, p))
                drawn.append(_skeleton(clicked))
            answers.append(_answer(worker, drawn, uri, width, height, rng, rig))
        label = consolidate_image(str(index), answers, uri, rig)
        line = {
            "source-ref": uri,
            ATTRIBUTE: label.to_jsonable(),
            f"{ATTRIBUTE}-metadata": {
                "type": "groundtruth/custom",
                "job-name": "bench-review",
                "human-annotated": "yes",
                "creation-date": "2026-01-01T00:00:00.000000",
            },
        }
        lines.append(json.dumps(line))
    return Job(lines, errors)


def consolidate_image(
    dataset_object_id: str, answers: Sequence[WorkerAnswer], uri: str, rig: Rig
) -> ConsolidatedLabel:
    """The one call into the handlers' consolidation, with the rig given explicitly."""
    return build_label(dataset_object_id, answers, data_object_s3_uri=uri, rig=rig)


Points = dict[str, tuple[float, float]]


def _person(rig: Rig, rng: random.Random, width: int, height: int, slot: int, of: int) -> Points:
    """The rig's template scaled to 35-90% of the image height, in its own slot of the width."""
    box = rig.bounding_box
    assert box is not None, "the benchmark needs a rig with a template box"
    box_w, box_h = box.right - box.left, box.bottom - box.top
    slot_w = width / of
    tall = min(rng.uniform(0.35, 0.9) * height, 0.9 * slot_w * box_h / box_w)
    scale = tall / box_h
    left = slot * slot_w + rng.uniform(0, slot_w - box_w * scale)
    top = rng.uniform(0, height - tall)
    build = rng.uniform(0.85, 1.15)  # narrower or broader than the template
    middle = (box.left + box.right) / 2
    return {
        k.label: (
            left + (middle - box.left + (k.x - middle) * build) * scale,
            top + (k.y - box.top) * scale,
        )
        for k in rig.keypoints
    }


def _scale(points: Points) -> float:
    """COCO's object scale ``s``: the square root of the keypoints' box area."""
    xs = [x for x, _ in points.values()]
    ys = [y for _, y in points.values()]
    return math.sqrt((max(xs) - min(xs)) * (max(ys) - min(ys)))


def _clicks(rig: Rig, rng: random.Random, points: Points, width: int, height: int) -> Points:
    """One worker's clicks: COCO's sigma is the annotators' spread relative to ``s``. The
    component keeps every click inside the image."""
    s = _scale(points)
    out = {}
    for label, (x, y) in points.items():
        spread = rig.sigma(label) * s / math.sqrt(2)  # per axis: E[d^2] = (sigma * s)^2
        out[label] = _inside(x + rng.gauss(0, spread), y + rng.gauss(0, spread), width, height)
    return out


def _inside(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    return (min(max(x, 0.0), width), min(max(y, 0.0), height))


def _swap_limb(rng: random.Random, clicked: Points) -> None:
    for joint in rng.choice(LIMBS):
        left, right = f"left_{joint}", f"right_{joint}"
        clicked[left], clicked[right] = clicked[right], clicked[left]


def _misplace(rng: random.Random, clicked: Points, truth: Points, width: int, height: int) -> None:
    tall = max(y for _, y in truth.values()) - min(y for _, y in truth.values())
    for label in rng.sample(sorted(clicked), rng.randint(1, 3)):
        x, y = clicked[label]
        angle = rng.uniform(0, 2 * math.pi)
        distance = rng.uniform(0.15, 0.4) * tall
        clicked[label] = _inside(
            x + distance * math.cos(angle), y + distance * math.sin(angle), width, height
        )


def _skeleton(points: Points) -> dict[str, Any]:
    """As the component submits it: whole pixels, every point visible."""
    return {
        "name": "",
        "annotations": [
            {"label": label, "x": round(x), "y": round(y), "visibility": 2}
            for label, (x, y) in points.items()
        ],
    }


def _answer(
    worker: str,
    skeletons: list[dict[str, Any]],
    uri: str,
    width: int,
    height: int,
    rng: random.Random,
    rig: Rig,
) -> WorkerAnswer:
    content = {
        "updated_annotations": json.dumps(skeletons),
        "original_annotations": "[]",
        "image_s3_uri": uri,
        "image_name": uri.rsplit("/", 1)[-1],
        "image_width": str(width),
        "image_height": str(height),
        "no_changes_needed": "false",
        "total_time_in_seconds": str(round(rng.uniform(20, 40) * max(len(skeletons), 1), 1)),
    }
    return parse_answer(json.dumps(content), worker_id=worker, rig=rig)


def read_lines(lines: Sequence[str], rig: Rig) -> list[OutputManifestLine]:
    return [
        parse_output_manifest_line(text, rig=rig, where=f"line {n}")
        for n, text in enumerate(lines, 1)
    ]


@dataclass
class Figures:
    images: int
    errors: int
    caught: int
    caught_without_audit: int
    selected: int
    #: Images without a seeded error that a rule other than the audit selected.
    false_alarms: int
    clean_images: int
    by_kind: dict[str, tuple[int, int]]
    by_reason: Counter[str]

    @property
    def recall(self) -> float:
        return self.caught / self.errors if self.errors else 1.0

    @property
    def share(self) -> float:
        return self.selected / self.images


def evaluate(selection: ReviewSelection, errors: Sequence[SeededError]) -> Figures:
    reasons = {s.key: {r.code for r in s.reasons} for s in selection.selected}
    by_rule = {key for key, codes in reasons.items() if codes - {"audit"}}
    with_errors = {e.image for e in errors}
    kinds: dict[str, list[int]] = {}
    for e in errors:
        counts = kinds.setdefault(e.kind, [0, 0])
        counts[0] += e.image in reasons
        counts[1] += 1
    by_reason: Counter[str] = Counter()
    for codes in reasons.values():
        by_reason.update(codes)
    return Figures(
        images=selection.labeled,
        errors=len(errors),
        caught=sum(e.image in reasons for e in errors),
        caught_without_audit=sum(e.image in by_rule for e in errors),
        selected=len(selection.selected),
        false_alarms=len(by_rule - with_errors),
        clean_images=selection.labeled - len(with_errors),
        by_kind={k: (v[0], v[1]) for k, v in sorted(kinds.items())},
        by_reason=by_reason,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks review", description=__doc__)
    parser.add_argument("--images", type=int, default=Scenario.images)
    parser.add_argument("--team", type=int, default=Scenario.team)
    parser.add_argument("--seed", type=int, default=Scenario.seed)
    parser.add_argument("--seeds", type=int, default=1, help="also run the next seeds")
    parser.add_argument("--sweep", action="store_true", help="recall and share at other thresholds")
    args = parser.parse_args(argv)
    if args.team < Scenario.workers_per_image:
        parser.error(f"--team: at least {Scenario.workers_per_image} workers")
    rig = load_rig(RIG_FILE)
    for seed in range(args.seed, args.seed + args.seeds):
        scenario = Scenario(images=args.images, team=args.team, seed=seed)
        start = time.perf_counter()
        job = generate(scenario, rig)
        generated = time.perf_counter() - start
        parsed = read_lines(job.lines, rig)
        start = time.perf_counter()
        selection = select_for_review(parsed, rig, ReviewRules())
        selecting = time.perf_counter() - start
        figures = evaluate(selection, job.errors)
        print(
            f"{scenario.images} images x {scenario.workers_per_image} workers of a team of "
            f"{scenario.team} (seed {seed}): {len(job.errors)} seeded errors in "
            f"{len({e.image for e in job.errors})} images; generated and consolidated in "
            f"{generated:.2f} s"
        )
        _print_figures("  defaults", figures)
        kinds = ", ".join(f"{k} {c}/{t}" for k, (c, t) in figures.by_kind.items())
        print(f"    caught by kind: {kinds}")
        shown = ", ".join(f"{code} {n}" for code, n in figures.by_reason.most_common())
        print(f"    images by reason: {shown}")
        print(
            f"    selection: {selecting * 1000 / max(len(parsed), 1):.2f} ms a line "
            f"({len(parsed)} lines in {selecting:.2f} s)"
        )
        if args.sweep:
            sweep(parsed, job.errors, rig)
    return 0


def _print_figures(title: str, f: Figures) -> None:
    print(
        f"{title}: recall {f.recall:.1%} ({f.caught}/{f.errors}; "
        f"{f.caught_without_audit / max(f.errors, 1):.1%} without the audit), "
        f"{f.share:.1%} of images selected ({f.selected}/{f.images}), "
        f"false alarms {f.false_alarms}/{f.clean_images} clean images"
    )


#: Every rule on, at its default, but the per-worker ones.
_NO_PER_WORKER = {"min_agreement": None, "min_keypoint_similarity": None, "swap_min_gain": None}


def sweep(parsed: Sequence[OutputManifestLine], errors: Sequence[SeededError], rig: Rig) -> None:
    """Recall and share as one per-worker rule changes and the others stay at their default
    (the audit and the label's own rules always on); then the label's mean pairwise OKS
    in place of the per-worker rules."""
    base = ReviewRules()
    candidates: list[tuple[str, ReviewRules]] = [
        ("no per-worker rules", replace(base, **_NO_PER_WORKER)),
    ]
    for name, values in (
        ("swap_min_gain", (None, 0.3, 0.5, 0.8, 1.0)),
        ("min_keypoint_similarity", (None, 0.1, 0.2, 0.3, 0.4, 0.5)),
        ("min_agreement", (None, 0.6, 0.7, 0.8, 0.85)),
    ):
        candidates += [(f"{name} {value}", replace(base, **{name: value})) for value in values]
    for name in _NO_PER_WORKER:
        only = {k: v for k, v in _NO_PER_WORKER.items() if k != name}
        candidates.append((f"{name} {getattr(base, name)} alone", replace(base, **only)))
    print("  sweep:")
    for title, rules in candidates:
        _print_figures(f"    {title}", evaluate(select_for_review(parsed, rig, rules), errors))
    plain = select_for_review(parsed, rig, replace(base, **_NO_PER_WORKER))
    chosen = {s.key for s in plain.selected}
    for value in (0.7, 0.8, 0.85):
        extra = [
            SelectedLine(image_key(line), line, (Reason("mean_oks", f"below {value}"),))
            for line in parsed
            if line.label is not None
            and line.label.agreement is not None
            and line.label.agreement.mean_oks is not None
            and line.label.agreement.mean_oks < value
            and image_key(line) not in chosen
        ]
        merged = ReviewSelection(plain.selected + extra, plain.lines, plain.labeled)
        _print_figures(f"    label's mean pairwise OKS < {value} instead", evaluate(merged, errors))


if __name__ == "__main__":
    raise SystemExit(main())
