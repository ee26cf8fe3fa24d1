"""How each worker of a job labels: how much, how fast, how well.

:func:`worker_scores` reads the parsed lines of a job's output manifest (and,
optionally, those of a review round of it) and returns one
:class:`WorkerScore` per worker, known only by Ground Truth's worker ID; rows
are plain data (:meth:`WorkerScore.to_jsonable`) and :func:`format_scores`
prints them as a short table. The columns (``docs/review.md``):

- ``images``: images the worker answered; ``median_seconds``: the median of
  their ``total_time_in_seconds``;
- ``compared``, ``mean_oks``, ``disagreeing``: where two or more workers drew
  the same person, each of this worker's skeletons against the consensus
  (:func:`scripts.review_selection.worker_agreement`): how many, their mean
  OKS, and the share the selection's agreement rules would send to review;
- ``skeletons``, ``qa_flagged``: skeletons they drew, and the share of them the
  QA checks (:func:`handlers.qa.check_skeletons`) flag when run on the
  worker's own answer (with several workers the label's flags are about the
  consensus, which hides one worker's mistakes);
- ``reviewed``, ``review_changed``: their images that came back labeled from
  a review round, and the share of those the reviewer changed. This is about
  the image: with several workers per image, every one of them shares it, and
  the agreement columns say whose skeletons were off.
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.output_manifest import OutputManifestLine
from handlers.qa import check_skeletons
from handlers.rig import Rig
from scripts.export_geometry import image_size
from scripts.review_selection import ReviewRules, disagrees, image_key, worker_agreement


@dataclass(slots=True)
class WorkerScore:
    worker_id: str
    #: Images answered, usable or not.
    images: int = 0
    #: Median seconds per image, over the answers that report a time.
    median_seconds: float | None = None
    #: Skeletons drawn, in usable answers.
    skeletons: int = 0
    #: Skeletons compared with a consensus of two or more workers.
    compared: int = 0
    #: Mean OKS of the compared skeletons against their consensus.
    mean_oks: float | None = None
    #: Share of the compared skeletons that the agreement rules would send to review.
    disagreeing: float | None = None
    #: Share of the drawn skeletons with a QA flag, checked in the worker's own answer.
    qa_flagged: float | None = None
    #: Images of theirs that came back labeled from the review round.
    reviewed: int = 0
    #: Share of the reviewed images whose label the reviewer changed.
    review_changed: float | None = None

    def to_jsonable(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "worker_id": self.worker_id,
            "images": self.images,
            "median_seconds": self.median_seconds,
            "skeletons": self.skeletons,
            "compared": self.compared,
            "mean_oks": rounded(self.mean_oks),
            "disagreeing": rounded(self.disagreeing),
            "qa_flagged": rounded(self.qa_flagged),
            "reviewed": self.reviewed,
            "review_changed": rounded(self.review_changed),
        }


@dataclass(slots=True)
class _Tally:
    images: int = 0
    seconds: array[float] = field(default_factory=lambda: array("d"))
    skeletons: int = 0
    flagged: int = 0
    oks: array[float] = field(default_factory=lambda: array("d"))
    disagreeing: int = 0
    #: Their images (usable answers) that came back labeled from review, and were changed.
    reviewed: int = 0
    changed: int = 0

    def merge(self, other: _Tally) -> None:
        self.images += other.images
        self.seconds.extend(other.seconds)
        self.skeletons += other.skeletons
        self.flagged += other.flagged
        self.oks.extend(other.oks)
        self.disagreeing += other.disagreeing
        self.reviewed += other.reviewed
        self.changed += other.changed


@dataclass(slots=True)
class WorkerTallies:
    """The running figures behind the scores, by worker: fed a line at a time (in parts
    that are then merged, as the export's worker processes do), turned into rows last.
    Plain numbers, cheap to pickle."""

    workers: dict[str, _Tally] = field(default_factory=dict)
    #: Lines that could not be scored (see :meth:`add`'s callers), left out whole.
    unscored: int = 0

    def add(
        self,
        line: OutputManifestLine,
        rig: Rig,
        rules: ReviewRules,
        outcomes: Mapping[str, bool] | None = None,
    ) -> None:
        """Count one line, labeled with ``rig``; ``outcomes`` are the review round's
        results by image (:func:`review_outcomes`). Everything that can fail is computed
        before anything is counted, so a line is counted whole or not at all."""
        label = line.label
        if label is None:
            return
        outcome = (outcomes or {}).get(image_key(line))
        width, height = image_size(label) or (None, None)
        counts = []
        for worker in label.workers:
            drawn = flagged = 0
            if worker.updated_annotations is not None:
                skeletons = [s for s in worker.updated_annotations if s.drawn]
                drawn = len(skeletons)
                # One worker whose answer is the label: the label's own QA flags are this
                # answer's, found by the same checks (no need to run them again).
                flags = (
                    label.qa_flags
                    if worker.same_as_consolidated
                    else check_skeletons(skeletons, rig, width, height)
                )
                flagged = len({f.skeleton for f in flags if f.skeleton is not None})
            counts.append((worker, drawn, flagged))
        comparisons = [
            (label.workers[c.worker].worker_id, c.oks, disagrees(c, rules))
            for c in worker_agreement(label, rig)
        ]
        for worker, drawn, flagged in counts:
            tally = self.workers.setdefault(worker.worker_id, _Tally())
            tally.images += 1
            seconds = worker.total_time_in_seconds
            # A number, unless the manifest was edited by hand.
            if isinstance(seconds, int | float) and 0 <= seconds < math.inf:
                tally.seconds.append(seconds)
            if worker.updated_annotations is None:
                continue
            tally.skeletons += drawn
            tally.flagged += flagged
            if outcome is not None:
                tally.reviewed += 1
                tally.changed += outcome
        for worker_id, score, disagreeing in comparisons:
            tally = self.workers[worker_id]
            tally.oks.append(score)
            tally.disagreeing += disagreeing

    def merge(self, other: WorkerTallies) -> None:
        self.unscored += other.unscored
        for worker_id, tally in other.workers.items():
            mine = self.workers.get(worker_id)
            if mine is None:
                self.workers[worker_id] = tally
            else:
                mine.merge(tally)

    def rows(self) -> list[WorkerScore]:
        """One row per worker, sorted by worker ID."""
        return [
            WorkerScore(
                worker_id=worker_id,
                images=t.images,
                median_seconds=statistics.median(t.seconds) if t.seconds else None,
                skeletons=t.skeletons,
                compared=len(t.oks),
                mean_oks=statistics.fmean(t.oks) if t.oks else None,
                disagreeing=t.disagreeing / len(t.oks) if t.oks else None,
                qa_flagged=t.flagged / t.skeletons if t.skeletons else None,
                reviewed=t.reviewed,
                review_changed=t.changed / t.reviewed if t.reviewed else None,
            )
            for worker_id, t in sorted(self.workers.items())
        ]


def worker_scores(
    lines: Iterable[OutputManifestLine],
    *,
    rig: Rig,
    rules: ReviewRules | None = None,
    reviewed: Iterable[OutputManifestLine] = (),
) -> list[WorkerScore]:
    """One row per worker who answered any of ``lines``, sorted by worker ID.

    ``rules`` gives the agreement thresholds (the selection's defaults if None);
    ``reviewed`` are the lines of a review round of this job, matched by image
    (:func:`~scripts.review_selection.image_key`).
    """
    rules = rules or ReviewRules()
    outcomes = review_outcomes(reviewed)
    tallies = WorkerTallies()
    for line in lines:
        tallies.add(line, rig, rules, outcomes)
    return tallies.rows()


def review_outcomes(reviewed: Iterable[OutputManifestLine]) -> dict[str, bool]:
    """Image key -> whether the reviewer changed it, for the images reviewed with a result."""
    return {
        image_key(line): line.label.was_modified
        for line in reviewed
        if line.label is not None and line.label.usable
    }


#: The table's columns: heading, and how its cells are aligned in text.
_COLUMNS = (
    ("worker", "<"),
    ("images", ">"),
    ("median s", ">"),
    ("compared", ">"),
    ("mean OKS", ">"),
    ("disagree", ">"),
    ("QA flagged", ">"),
    ("reviewed", ">"),
    ("changed", ">"),
)
COLUMN_NAMES = tuple(name for name, _ in _COLUMNS)


def score_cells(row: WorkerScore) -> list[tuple[str, str | float | None]]:
    """Each column of :data:`COLUMN_NAMES`: its text, and the value to sort it by (None:
    nothing to sort by, shown as a dash)."""
    return [
        (row.worker_id, row.worker_id),
        (str(row.images), row.images),
        (_number(row.median_seconds, "{:.1f}"), row.median_seconds),
        (str(row.compared), row.compared),
        (_number(row.mean_oks, "{:.2f}"), row.mean_oks),
        (_number(row.disagreeing, "{:.0%}"), row.disagreeing),
        (_number(row.qa_flagged, "{:.0%}"), row.qa_flagged),
        (str(row.reviewed), row.reviewed),
        (_number(row.review_changed, "{:.0%}"), row.review_changed),
    ]


def format_scores(rows: Sequence[WorkerScore], limit: int | None = None) -> str:
    """The rows, in the order given, as a plain text table (at most ``limit`` of them)."""
    shown = rows if limit is None else rows[:limit]
    cells = [list(COLUMN_NAMES)]
    cells += [[text for text, _ in score_cells(r)] for r in shown]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    out = [
        "  ".join(
            f"{cell:{align}{width}}"
            for cell, (_, align), width in zip(row, _COLUMNS, widths, strict=True)
        ).rstrip()
        for row in cells
    ]
    if len(shown) < len(rows):
        out.append(f"… and {len(rows) - len(shown)} more workers")
    return "\n".join(out)


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)
