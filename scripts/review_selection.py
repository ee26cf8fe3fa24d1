"""Which labels of a finished job to send back for review, and why.

:func:`select_for_review` reads the parsed lines of a job's output manifest
(:func:`handlers.output_manifest.parse_output_manifest_line`) and returns the
lines to review, each with its :class:`Reason` list: a short code to count by
and a sentence for the reviewer (the component's ``annotationIssues``, see
:meth:`SelectedLine.annotation_issues`). The rules, each switched in
:class:`ReviewRules` (defaults and why: ``docs/review.md``):

``label_errors``
    something in the workers' answers was rejected (an ``error``-level entry in
    the label's ``errors``), or no answer could be used at all.
QA flags (each flag is its own code: ``left_right_swap``, ``outside_image``, ``duplicate_skeleton``)
    a QA flag on the consolidated skeletons (all, or only those named).
``people_count``
    the workers drew different numbers of people (a missed or an extra person).

With several workers, the consensus is a per-keypoint median: one careless
worker among three is outvoted, so their mistake is not in the label and no QA
flag shows it. Three rules compare each worker's skeletons with the consensus
skeleton they were matched to (:func:`worker_agreement`):

``worker_left_right_swap``
    a left/right pair of the worker matches the consensus better with its two
    labels exchanged (by :data:`DEFAULT_SWAP_MIN_GAIN` in OKS terms).
``low_agreement``
    a worker's skeleton agrees poorly with the consensus skeleton it was
    matched to (its OKS below :data:`DEFAULT_MIN_AGREEMENT`).
``keypoint_disagreement``
    a worker placed a keypoint far from the consensus (that keypoint's OKS term
    below :data:`DEFAULT_MIN_KEYPOINT_SIMILARITY`): one misplaced point barely
    moves a 17-point OKS, but is an error all the same.
``no_changes_but_modified``
    a worker ticked "no changes needed" and still changed the pre-annotations.
``audit``
    a random share of the labeled images (:data:`DEFAULT_AUDIT_SHARE`), drawn
    from a hash of the seed and the image, so a rerun picks the same images
    whatever the order of the lines.

The label's mean OKS (``agreement.mean_oks``, the mean over every pair of
workers) is not used: with three workers one bad worker lowers it by only
two thirds of their own drop, averaged again over the image's people, so a
threshold that catches them sends most clean images too. The per-worker
comparisons are computed here from the label's ``workers`` and consolidated
skeletons, with the consolidation's OKS (:mod:`handlers.oks`).

Labels whose fields were moved to S3 (``overflow``) must be restored first
(:func:`handlers.overflow.restore_overflow`); a label that still has
``overflow`` is checked on what it holds and reported in
:attr:`ReviewSelection.problems`.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from handlers.assignment import min_cost_assignment
from handlers.consolidation import MATCH_MIN_OKS
from handlers.label import ConsolidatedLabel
from handlers.oks import DEFAULT_SCALE, MIN_AREA, area, oks, points, scales
from handlers.output_manifest import OutputManifestLine
from handlers.qa import Flag
from handlers.rig import Rig
from handlers.skeleton import Skeleton

# The thresholds were chosen with the seeded benchmark, benchmarks/bench_review.py
# (figures and the sweep behind them: benchmarks/README.md and docs/review.md).

#: A worker's skeleton with a lower OKS against its consensus skeleton is reviewed.
#: Careful workers (click noise of COCO's sigmas) scored 0.81 and more in the
#: benchmark; 0.7 leaves room for harder images. It catches a skeleton that leaves out
#: many points the others placed, which the keypoint rule does not see.
DEFAULT_MIN_AGREEMENT = 0.7
#: A keypoint whose OKS term against the consensus is lower is reviewed: about three
#: COCO sigmas away (a hip 17% of the person's height off, a nose 4%). In the
#: benchmark 0.3 catches nearly every misplaced point; 0.4 doubles the false alarms.
DEFAULT_MIN_KEYPOINT_SIMILARITY = 0.3
#: A worker's left/right pair is taken as swapped when exchanging its two labels raises
#: their two OKS terms against the consensus by at least this much (out of 2). A
#: swapped pair gains 0.8 or more unless it is too narrow to tell apart; click noise
#: moves both points alike and gains about nothing.
DEFAULT_SWAP_MIN_GAIN = 0.5
#: Share of the labeled images reviewed at random, whatever their flags.
DEFAULT_AUDIT_SHARE = 0.05
DEFAULT_AUDIT_SEED = 0

#: Every reason code, in the order a line's reasons are listed.
REASON_CODES = (
    "label_errors",
    "left_right_swap",
    "outside_image",
    "duplicate_skeleton",
    "people_count",
    "worker_left_right_swap",
    "low_agreement",
    "keypoint_disagreement",
    "no_changes_but_modified",
    "audit",
)

#: QA flags that are their own rules here, computed from the per-worker data.
_FLAGS_WITH_OWN_RULE = {
    "drawn_by_some_workers": "people_count",
    "modified_despite_no_changes_needed": "no_changes_but_modified",
}
#: The QA flags the QA rule selects on (the others are covered by their own rule).
QA_FLAGS: tuple[str, ...] = tuple(f for f in get_args(Flag) if f not in _FLAGS_WITH_OWN_RULE)

#: A reviewer's note is cut to this many characters (a worker's error text can be long).
_MESSAGE_LIMIT = 200
_NAME_LIMIT = 40


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """Which rules select a line, with their thresholds; None or False switches a rule off."""

    label_errors: bool = True
    #: QA flags that select a line (from :data:`QA_FLAGS`); None: every one of them.
    qa_flags: frozenset[str] | None = None
    people_count: bool = True
    #: How much better a worker's left/right pair must match the consensus with its labels
    #: exchanged to be taken as swapped (needs a rig).
    swap_min_gain: float | None = DEFAULT_SWAP_MIN_GAIN
    #: Lowest OKS of a worker's skeleton against the consensus that is not reviewed.
    min_agreement: float | None = DEFAULT_MIN_AGREEMENT
    #: Lowest OKS term of one keypoint against the consensus that is not reviewed.
    min_keypoint_similarity: float | None = DEFAULT_MIN_KEYPOINT_SIMILARITY
    no_changes_but_modified: bool = True
    #: Share of the labeled images drawn at random, in [0, 1].
    audit_share: float = DEFAULT_AUDIT_SHARE
    audit_seed: int = DEFAULT_AUDIT_SEED

    def __post_init__(self) -> None:
        if self.qa_flags is not None:
            unknown = sorted(set(self.qa_flags) - set(QA_FLAGS))
            if unknown:
                own = [
                    f"{f} is the {_FLAGS_WITH_OWN_RULE[f]} rule"
                    for f in unknown
                    if f in _FLAGS_WITH_OWN_RULE
                ]
                hint = f" ({'; '.join(own)})" if own else ""
                raise ValueError(
                    f"qa_flags: unknown flag {', '.join(unknown)}{hint}; "
                    f"choose from {', '.join(QA_FLAGS)}"
                )
        for name, top in (
            ("min_agreement", 1.0),
            ("min_keypoint_similarity", 1.0),
            ("swap_min_gain", 2.0),
            ("audit_share", 1.0),
        ):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= top:
                raise ValueError(f"{name}: expected a number from 0 to {top:g}, got {value}")


@dataclass(frozen=True, slots=True)
class Reason:
    #: One of :data:`REASON_CODES` (or a QA flag this module does not know yet).
    code: str
    #: A sentence for the reviewer.
    message: str
    #: Index of the consolidated skeleton it is about, or None for the whole image.
    skeleton: int | None = None

    def to_jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.skeleton is not None:
            out["skeleton"] = self.skeleton
        return out


@dataclass(frozen=True, slots=True)
class SelectedLine:
    #: The image's key across rounds (:func:`image_key`).
    key: str
    line: OutputManifestLine
    reasons: tuple[Reason, ...]

    def annotation_issues(self) -> list[dict[str, str]]:
        """The reasons as the labeling component's ``annotationIssues`` value."""
        return [{"reason": r.message} for r in self.reasons]


@dataclass(slots=True)
class ReviewSelection:
    #: The selected lines, in manifest order.
    selected: list[SelectedLine]
    #: Lines read, and those of them that carry a label (only these can be selected).
    lines: int
    labeled: int
    #: Lines that could not be fully checked, one sentence each, naming the image.
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WorkerSkeletonAgreement:
    """One worker's skeleton against the consolidated skeleton it was matched to."""

    #: Index in the label's ``workers``.
    worker: int
    #: Index in that worker's ``updated_annotations``.
    skeleton: int
    #: Index in the label's consolidated ``updated_annotations``.
    consensus: int
    #: Workers whose skeletons were matched to that consolidated skeleton (at least 2).
    workers: int
    oks: float
    #: Keypoint label -> its OKS term, for the keypoints both skeletons placed.
    keypoints: dict[str, float]
    #: ``(left, right) -> gain`` for the rig's left/right pairs that match the consensus
    #: better with their labels exchanged (:func:`swap_gains`).
    swap_gains: dict[tuple[str, str], float] = field(default_factory=dict)

    def swapped_by(self, min_gain: float) -> list[tuple[str, str]]:
        """The pairs taken as swapped at this threshold."""
        return [pair for pair, gain in self.swap_gains.items() if gain >= min_gain]


def select_for_review(
    lines: Iterable[OutputManifestLine], rig: Rig, rules: ReviewRules | None = None
) -> ReviewSelection:
    """The lines to review, in the order given, with their reasons.

    ``rig`` is the job's rig: its left/right pairs and OKS sigmas.
    """
    rules = rules or ReviewRules()
    selection = ReviewSelection([], 0, 0)
    for line in lines:
        selection.lines += 1
        label = line.label
        if label is None:
            continue
        selection.labeled += 1
        key = image_key(line)
        if label.overflow:
            moved = ", ".join(label.overflow.get("fields") or ["some fields"])
            selection.problems.append(
                f"{key}: {moved} moved to S3 and not restored; checked without them"
            )
        reasons = review_reasons(label, key, rules, rig)
        if reasons:
            selection.selected.append(SelectedLine(key, line, tuple(reasons)))
    return selection


def image_key(line: OutputManifestLine) -> str:
    """What names an image in every round: its ``source-ref`` (or the label's S3 URI,
    or its dataset object ID)."""
    if line.source_ref:
        return str(line.source_ref)
    label = line.label
    if label is not None and label.data_object_s3_uri:
        return label.data_object_s3_uri
    return label.dataset_object_id if label is not None else ""


def audit_draw(seed: int, key: str) -> float:
    """A number in [0, 1) fixed by the seed and the image: the audit takes those below
    its share, so each image's fate does not depend on the others or their order."""
    digest = hashlib.sha256(f"{seed}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def review_reasons(
    label: ConsolidatedLabel, key: str, rules: ReviewRules, rig: Rig
) -> list[Reason]:
    """Every reason to review one label (none: it is not selected), in rule order (the
    QA flags in the label's order)."""
    reasons: list[Reason] = []
    consensus = label.updated_annotations or []
    usable = [(i, w) for i, w in enumerate(label.workers) if w.updated_annotations is not None]
    if rules.label_errors:
        reasons.extend(_error_reasons(label))
    if rules.qa_flags is None or rules.qa_flags:
        reasons.extend(_qa_reasons(label, consensus, rules.qa_flags))
    if rules.people_count:
        counts = [sum(1 for s in w.updated_annotations or [] if s.drawn) for _, w in usable]
        if len(set(counts)) > 1:
            shown = ", ".join(map(str, counts))
            reasons.append(
                Reason(
                    "people_count",
                    f"the workers drew different numbers of people ({shown}): "
                    "look for a missed or an extra person",
                )
            )
    if any(
        threshold is not None
        for threshold in (rules.swap_min_gain, rules.min_agreement, rules.min_keypoint_similarity)
    ):
        reasons.extend(_agreement_reasons(worker_agreement(label, rig), consensus, rules))
    if rules.no_changes_but_modified and any(
        w.no_changes_needed and w.was_modified for _, w in usable
    ):
        reasons.append(
            Reason(
                "no_changes_but_modified",
                "a worker ticked 'no changes needed' but changed the pre-annotations",
            )
        )
    if rules.audit_share and audit_draw(rules.audit_seed, key) < rules.audit_share:
        reasons.append(Reason("audit", "picked at random for a quality audit"))
    return reasons


def worker_agreement(label: ConsolidatedLabel, rig: Rig) -> list[WorkerSkeletonAgreement]:
    """Each worker's skeletons against the consolidated ones, where two or more workers
    drew that person (so there is a consensus to compare with).

    Each worker's drawn skeletons are matched one to one to the consolidated ones by
    OKS, with the consolidation's own cut-off (:data:`~handlers.consolidation.MATCH_MIN_OKS`).
    Nothing with fewer than two usable workers: one worker's answer is the label.
    """
    consensus = label.updated_annotations
    usable = [(i, w) for i, w in enumerate(label.workers) if w.updated_annotations is not None]
    if not consensus or len(usable) < 2:
        return []
    matches: list[tuple[int, int, int, float, Skeleton]] = []
    for i, worker in usable:
        drawn = [(j, s) for j, s in enumerate(worker.updated_annotations or []) if s.drawn]
        if not drawn:
            continue
        scores = [[oks(s, c, rig) for c in consensus] for _, s in drawn]
        for row, col in min_cost_assignment([[1.0 - x for x in r] for r in scores]):
            if scores[row][col] >= MATCH_MIN_OKS:
                j, skeleton = drawn[row]
                matches.append((i, j, col, scores[row][col], skeleton))
    drawn_by = Counter(col for _, _, col, _, _ in matches)
    return [
        WorkerSkeletonAgreement(
            i,
            j,
            col,
            drawn_by[col],
            score,
            keypoint_similarities(s, consensus[col], rig),
            swap_gains(s, consensus[col], rig),
        )
        for i, j, col, score, s in matches
        if drawn_by[col] >= 2
    ]


def keypoint_similarities(a: Skeleton, b: Skeleton, rig: Rig) -> dict[str, float]:
    """Each keypoint's term of :func:`handlers.oks.oks` (label -> similarity in [0, 1]),
    for the keypoints placed in both: their sum over the keypoints placed in either is
    that OKS."""
    pa, pb = points(a), points(b)
    inv_area = _inverse_area(a, b)
    table = scales(rig)
    out = {}
    for label, p in pa.items():
        q = pb.get(label)
        if q is not None:
            out[label] = _term(p, q, table.get(label, DEFAULT_SCALE), inv_area)
    return out


def swap_gains(worker: Skeleton, consensus: Skeleton, rig: Rig) -> dict[tuple[str, str], float]:
    """For the rig's left/right pairs that match the consensus better with their labels
    exchanged: how much their two OKS terms gain (out of 2). A worker who clicked one side
    for the other gains much; click noise moves both ways alike and gains about nothing,
    as does a pair too narrow to tell apart (a person in profile)."""
    pw, pc = points(worker), points(consensus)
    inv_area = _inverse_area(worker, consensus)
    table = scales(rig)
    found: dict[tuple[str, str], float] = {}
    for left, right in rig.mirror_pairs:
        if not (left in pw and right in pw and left in pc and right in pc):
            continue
        scale_left, scale_right = table.get(left, DEFAULT_SCALE), table.get(right, DEFAULT_SCALE)
        as_drawn = _term(pw[left], pc[left], scale_left, inv_area) + _term(
            pw[right], pc[right], scale_right, inv_area
        )
        exchanged = _term(pw[left], pc[right], scale_right, inv_area) + _term(
            pw[right], pc[left], scale_left, inv_area
        )
        if exchanged > as_drawn:
            found[left, right] = exchanged - as_drawn
    return found


def _inverse_area(a: Skeleton, b: Skeleton) -> float:
    """``1 / s²`` as :func:`handlers.oks.oks` takes it: the mean of the two boxes' areas."""
    return 1.0 / max((area(a) + area(b)) / 2.0, MIN_AREA)


def _term(p: tuple[float, float], q: tuple[float, float], scale: float, inv_area: float) -> float:
    """One keypoint's OKS term: ``exp(-d² / (2 s² κ²))`` with ``scale = 1 / (2 κ²)``."""
    d2 = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2
    return math.exp(-d2 * scale * inv_area)


def disagrees(comparison: WorkerSkeletonAgreement, rules: ReviewRules) -> bool:
    """Whether the agreement rules would send this worker's skeleton to review."""
    if rules.min_agreement is not None and comparison.oks < rules.min_agreement:
        return True
    if rules.swap_min_gain is not None and comparison.swapped_by(rules.swap_min_gain):
        return True
    threshold = rules.min_keypoint_similarity
    return threshold is not None and any(v < threshold for v in comparison.keypoints.values())


def _error_reasons(label: ConsolidatedLabel) -> list[Reason]:
    if label.updated_annotations is None:
        return [Reason("label_errors", "no worker's answer could be used: label it from scratch")]
    rejected = [e for e in label.errors if e.level == "error"]
    if not rejected:
        return []
    more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
    return [
        Reason(
            "label_errors",
            _cut(f"part of a worker's answer was rejected{more}: {rejected[0]}"),
        )
    ]


def _qa_reasons(
    label: ConsolidatedLabel, consensus: Sequence[Skeleton], wanted: frozenset[str] | None
) -> list[Reason]:
    reasons = []
    for f in label.qa_flags:
        if f.flag in _FLAGS_WITH_OWN_RULE or (wanted is not None and f.flag not in wanted):
            continue
        reasons.append(Reason(f.flag, _cut(_about(f.skeleton, consensus) + f.message), f.skeleton))
    return reasons


def _agreement_reasons(
    comparisons: Sequence[WorkerSkeletonAgreement],
    consensus: Sequence[Skeleton],
    rules: ReviewRules,
) -> list[Reason]:
    swapped: dict[int, list[str]] = {}
    lowest: dict[int, float] = {}
    far: dict[int, list[str]] = {}
    for c in comparisons:
        explained: set[str] = set()  # a swapped pair's points are far, and said so once
        if rules.swap_min_gain is not None:
            pairs = c.swapped_by(rules.swap_min_gain)
            if pairs:
                shown = swapped.setdefault(c.consensus, [])
                shown.extend(f"{a}/{b}" for a, b in pairs if f"{a}/{b}" not in shown)
                explained.update(label for pair in pairs for label in pair)
        if rules.min_agreement is not None and c.oks < rules.min_agreement:
            lowest[c.consensus] = min(c.oks, lowest.get(c.consensus, 1.0))
        threshold = rules.min_keypoint_similarity
        if threshold is not None:
            labels = far.setdefault(c.consensus, [])
            labels.extend(
                k
                for k, v in c.keypoints.items()
                if v < threshold and k not in explained and k not in labels
            )
    reasons = [
        Reason(
            "worker_left_right_swap",
            _cut(
                f"{_about(k, consensus)}one worker's {', '.join(pairs)} look swapped "
                "compared with the others'"
            ),
            k,
        )
        for k, pairs in sorted(swapped.items())
    ]
    for k in sorted(lowest):
        reasons.append(
            Reason(
                "low_agreement",
                f"{_about(k, consensus)}one worker's skeleton differs from the others' "
                # Rounded down, so that a score just below the threshold never reads as it.
                f"(OKS {math.floor(lowest[k] * 100) / 100:.2f} against the consensus, "
                f"below {rules.min_agreement:.2f})",
                k,
            )
        )
    for k in sorted(far):
        if far[k]:
            reasons.append(
                Reason(
                    "keypoint_disagreement",
                    _cut(
                        f"{_about(k, consensus)}a worker placed {', '.join(far[k])} "
                        "far from where the others did"
                    ),
                    k,
                )
            )
    return reasons


def _about(index: int | None, consensus: Sequence[Skeleton]) -> str:
    """``skeleton 2 ("alice"): `` for a reviewer (1-based, as counted on screen)."""
    if index is None:
        return ""
    name = consensus[index].name.strip() if index < len(consensus) else ""
    if len(name) > _NAME_LIMIT:
        name = name[: _NAME_LIMIT - 1] + "…"
    return f'skeleton {index + 1} ("{name}"): ' if name else f"skeleton {index + 1}: "


def _cut(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True, slots=True)
class ReasonCount:
    code: str
    #: Selected lines with this reason (a line with several reasons counts under each).
    lines: int
    #: A few ``"<image key>: <message>"`` examples, in manifest order.
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SelectionSummary:
    lines: int
    labeled: int
    selected: int
    #: In :data:`REASON_CODES` order, then any other code; only reasons that occurred.
    reasons: tuple[ReasonCount, ...]
    problems: tuple[str, ...]

    @property
    def share(self) -> float | None:
        """Share of the labeled lines selected."""
        return self.selected / self.labeled if self.labeled else None

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "labeled": self.labeled,
            "selected": self.selected,
            "share": None if self.share is None else round(self.share, 4),
            "reasons": {
                r.code: {"lines": r.lines, "examples": list(r.examples)} for r in self.reasons
            },
            "problems": list(self.problems),
        }


def summarize_selection(selection: ReviewSelection, examples: int = 3) -> SelectionSummary:
    """Counts by reason and the first few examples of each: what ``--dry-run`` prints."""
    counts: Counter[str] = Counter()
    shown: dict[str, list[str]] = {}
    for chosen in selection.selected:
        codes = set()
        for r in chosen.reasons:
            if r.code in codes:  # two skeletons with the same reason: one line
                continue
            codes.add(r.code)
            counts[r.code] += 1
            few = shown.setdefault(r.code, [])
            if len(few) < examples:
                few.append(f"{chosen.key}: {r.message}")
    order = {code: i for i, code in enumerate(REASON_CODES)}
    codes_seen = sorted(counts, key=lambda c: (order.get(c, len(order)), c))
    return SelectionSummary(
        selection.lines,
        selection.labeled,
        len(selection.selected),
        tuple(ReasonCount(c, counts[c], tuple(shown[c])) for c in codes_seen),
        tuple(selection.problems),
    )


def format_selection_summary(summary: SelectionSummary) -> str:
    """A few lines of text: the totals, then each reason with its count and examples."""
    share = "" if summary.share is None else f" ({summary.share:.1%})"
    unlabeled = summary.lines - summary.labeled
    out = [
        f"{summary.selected} of {summary.labeled} labeled lines selected for review{share}"
        + (f"; {unlabeled} lines without a label skipped" if unlabeled else "")
    ]
    width = max((len(r.code) for r in summary.reasons), default=0)
    for r in summary.reasons:
        out.append(f"  {r.code:<{width}}  {r.lines:>6}")
        out.extend(f"      {example}" for example in r.examples)
    out.extend(f"  not fully checked: {p}" for p in summary.problems)
    return "\n".join(out)
