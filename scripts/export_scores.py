"""The worker scores of an export, as summary.json, review.html and stdout show them.

The export's line processors tally each line's workers as they read it
(:class:`scripts.worker_scores.WorkerTallies`, in the worker processes, against
each label's own rig); the parent merges the tallies in :attr:`Scores.tallies`
and turns them into rows at the end. Every labeled line counts, usable or not
(the workers answered it). With review rounds merged, the first round's results
are the review outcomes: that round judged the workers' own labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scripts.review_merge import ReviewedLine
from scripts.worker_scores import WorkerScore, WorkerTallies, format_scores

#: Workers shown on stdout, most disagreeing first (all of them: summary.json, review.html).
STDOUT_ROWS = 10


def review_outcomes(first_round: Iterable[ReviewedLine]) -> dict[str, bool]:
    """Image -> whether the reviewer changed it, for the first round's lines that came back
    labeled: :func:`scripts.worker_scores.review_outcomes` from the merge's own reading
    of them (the same image key, ``source-ref``, without parsing every label again)."""
    return {line.image: line.changed for line in first_round if line.raw and line.image}


@dataclass
class Scores:
    tallies: WorkerTallies = field(default_factory=WorkerTallies)

    def rows(self) -> list[WorkerScore]:
        return self.tallies.rows()

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "workers": [row.to_jsonable() for row in self.rows()],
            "lines_not_scored": self.tallies.unscored,
        }

    def lines_of_text(self) -> list[str]:
        rows = self.rows()
        if not rows:
            return []
        # The workers to look at first: the most disagreeing, then the most changed by review.
        ordered = sorted(rows, key=lambda r: (-(r.disagreeing or 0.0), -(r.review_changed or 0.0)))
        out = [f"workers ({len(rows)}, most disagreeing first):"]
        out += format_scores(ordered, STDOUT_ROWS).splitlines()
        if self.tallies.unscored:
            out.append(f"({self.tallies.unscored} labeled lines could not be scored)")
        return out
