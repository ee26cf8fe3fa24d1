"""The worker scores of an export: :func:`scripts.worker_scores.worker_scores` over SOURCE.

The export proper leaves each worker's own skeletons unread (it writes the
consolidated ones), and the scores need them, so SOURCE is read a second time,
here, with every worker's answer. Only labels of the export's main rig (the first
label's) are scored: scores compare skeletons with the rig's OKS sigmas and
left/right pairs. Lines the export could not read are skipped (it has listed them
in problems.jsonl). With review rounds merged, the first round's labels are the
``reviewed`` lines: that round judged the workers' own labels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from handlers.output_manifest import OutputManifestLine
from handlers.rig import Rig
from scripts import export_lines
from scripts.aws import AwsClients
from scripts.worker_scores import WorkerScore, format_scores, worker_scores

#: Workers shown on stdout, most disagreeing first (all of them: summary.json, review.html).
STDOUT_ROWS = 10


@dataclass
class Scores:
    rig: Rig
    rows: list[WorkerScore]
    #: Labels of another rig than :attr:`rig`, not scored.
    other_rig: int = 0

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "rig": self.rig.name,
            "labels_of_other_rigs": self.other_rig,
            "workers": [row.to_jsonable() for row in self.rows],
        }

    def lines_of_text(self) -> list[str]:
        if not self.rows:
            return []
        # The workers to look at first: the most disagreeing, then the most changed by review.
        ordered = sorted(
            self.rows, key=lambda r: (-(r.disagreeing or 0.0), -(r.review_changed or 0.0))
        )
        out = [f"workers ({len(self.rows)}, most disagreeing first):"]
        out += format_scores(ordered, STDOUT_ROWS).splitlines()
        if self.other_rig:
            out.append(f"({self.other_rig} labels of other rigs than {self.rig.name} not scored)")
        return out


def score_workers(
    lines: Iterable[bytes],
    settings: export_lines.Settings,
    *,
    reviewed: Iterable[bytes] = (),
    clients: AwsClients | None = None,
) -> Scores | None:
    """Scores of the workers of ``lines`` (SOURCE read again), for the labels of the first
    label's rig; ``reviewed`` are the first review round's lines that came back labeled.
    None when no line has a label that can be read."""
    processor = export_lines.LineProcessor(settings, clients)

    def parsed(raws: Iterable[bytes]) -> Iterator[export_lines.ParsedLine]:
        for number, raw in enumerate(raws, start=1):
            if not raw.strip():
                continue
            try:
                line = processor.parse(number, raw, workers=True)
            except Exception:  # noqa: S112 - the export has listed it in problems.jsonl
                continue
            if line.label is not None:
                yield line

    labels = parsed(lines)
    first = next(labels, None)
    if first is None:
        return None
    scores = Scores(settings.rigs.rigs[first.rig], [])

    def of_the_rig(found: Iterable[export_lines.ParsedLine]) -> Iterator[OutputManifestLine]:
        for line in found:
            if line.rig == first.rig:
                yield line.line
            else:
                scores.other_rig += 1

    review_round = [line.line for line in parsed(reviewed) if line.rig == first.rig]
    scores.rows = worker_scores(
        of_the_rig(itertools.chain([first], labels)), rig=scores.rig, reviewed=review_round
    )
    return scores
