"""The ``review`` key of a review job's manifest line: which label is reviewed, and why.

::

    "review": {"job": "pose-20250314-093000-1f2e", "round": 1, "line": 12,
               "dataset_object_id": "11",
               "reasons": [{"code": "audit", "reason": "picked at random for a quality audit"}]}

``job``
    the job whose label is reviewed: the job name in that line's label metadata;
``round``
    1 for a review of the job's own labels, n + 1 for a review of round n's output;
``line``
    the label's line number in that job's output manifest (from 1, blank lines
    counted, as the export numbers lines);
``dataset_object_id``
    that label's ``dataset_object_id``: the check that ``line`` names the same image;
``reasons``
    why it was selected (:mod:`scripts.review_selection`): a code to count by and a
    sentence the reviewer sees.

``scripts/review_job.py`` writes it. Ground Truth copies every input key into the
output manifest unchanged, so each line of the review job's output carries it;
``scripts/review_merge.py`` reads it there, and the pre-annotation Lambda reads the
reasons (``handlers/task_input.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.limits import MAX_REVIEW_REASON_CHARS, MAX_REVIEW_REASONS
from handlers.output_manifest import METADATA_SUFFIX, LabelMetadata
from handlers.task_input import REVIEW_KEY
from scripts.review_selection import Reason

__all__ = ["REVIEW_KEY", "ReviewKey", "fit_reasons", "label_job"]


@dataclass(frozen=True, slots=True)
class ReviewKey:
    job: str
    round: int
    line: int
    dataset_object_id: str
    #: ``(code, sentence)`` pairs, as the reviewer sees them.
    reasons: tuple[tuple[str, str], ...]

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "round": self.round,
            "line": self.line,
            "dataset_object_id": self.dataset_object_id,
            "reasons": [{"code": code, "reason": text} for code, text in self.reasons],
        }

    @property
    def codes(self) -> list[str]:
        """The reason codes, each once, in order."""
        return list(dict.fromkeys(code for code, _ in self.reasons))

    @classmethod
    def read(cls, line: Mapping[str, Any]) -> ReviewKey | None:
        """The key of a manifest line (decoded); None when it has none. A key that is
        not in the shape above raises ValueError naming the field."""
        value = line.get(REVIEW_KEY)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValueError(f"{REVIEW_KEY}: expected an object, got {type(value).__name__}")
        job, round_, number = value.get("job"), value.get("round"), value.get("line")
        if not isinstance(job, str) or not job:
            raise ValueError(f"{REVIEW_KEY}.job: expected the reviewed job's name")
        if type(round_) is not int or round_ < 1:
            raise ValueError(f"{REVIEW_KEY}.round: expected a whole number from 1")
        if type(number) is not int or number < 1:
            raise ValueError(f"{REVIEW_KEY}.line: expected a line number from 1")
        reasons = []
        for i, item in enumerate(value.get("reasons") or []):
            code = item.get("code") if isinstance(item, Mapping) else None
            text = item.get("reason") if isinstance(item, Mapping) else None
            if not isinstance(code, str) or not isinstance(text, str):
                raise ValueError(f"{REVIEW_KEY}.reasons[{i}]: expected {{code, reason}} strings")
            reasons.append((code, text))
        return cls(job, round_, number, str(value.get("dataset_object_id", "")), tuple(reasons))


def fit_reasons(reasons: Sequence[Reason]) -> tuple[tuple[str, str], ...]:
    """The reasons as ``(code, sentence)`` pairs within what the pre-annotation Lambda
    accepts (:data:`~handlers.limits.MAX_REVIEW_REASONS`, each at most
    :data:`~handlers.limits.MAX_REVIEW_REASON_CHARS`). Past the limit, the reasons of
    one code are folded into its first, which says how many more there are: every
    code stays, so the merge can count the line under each."""
    pairs = [(r.code, r.message) for r in reasons]
    if len(pairs) > MAX_REVIEW_REASONS:
        by_code: dict[str, list[str]] = {}
        for code, text in pairs:
            by_code.setdefault(code, []).append(text)
        pairs = [
            (code, texts[0] + (f" (and {len(texts) - 1} more like it)" if len(texts) > 1 else ""))
            for code, texts in by_code.items()
        ]
    # Fewer codes exist than the limit (review_selection.REASON_CODES and the QA flags).
    return tuple((code, _cut(text)) for code, text in pairs[:MAX_REVIEW_REASONS])


def label_job(line: Mapping[str, Any], attribute: str | None) -> str | None:
    """The job that made the line's label: ``job-name`` (or ``job_name``) in its metadata."""
    if attribute is None:
        return None
    metadata = line.get(attribute + METADATA_SUFFIX)
    if not isinstance(metadata, Mapping):
        return None
    name = LabelMetadata.parse(metadata).job_name
    return name if isinstance(name, str) and name else None


def _cut(text: str) -> str:
    limit = MAX_REVIEW_REASON_CHARS
    return text if len(text) <= limit else text[: limit - 1] + "…"
