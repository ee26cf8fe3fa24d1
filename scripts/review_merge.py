"""Merging review rounds into an export: a reviewed label replaces the one it reviews.

``export_results SOURCE --review R1 [--review R2 ...]``: each ``--review`` is the
output of a review job (``scripts/review_job.py``), whose every line carries the
``review`` key (``scripts/review_key.py``) naming the label it reviews: job, round,
line number, dataset object. Round 1 reviews SOURCE's labels, round n + 1 reviews
round n's output; several files may make up one round.

For each line of SOURCE, in order (the export streams them through :meth:`ReviewMerge.lines`):

- a review that came back labeled replaces the label it reviews, and a later
  round's review of that review replaces it in turn;
- a review that came back unlabeled (the job stopped, the task expired) keeps the
  label it reviews, and is listed in ``problems.jsonl``;
- a review line that matches nothing (another job, another dataset object at that
  line, a line number past the end, no review key) changes nothing and is listed;
  so is a second review of the same line in one round (the first is used).

Nothing is dropped: every line of SOURCE is exported once, with the label of the
last round that returned one. Matching is by the review key's job, line and
dataset object, never by the image's name. The review files are read whole before
the export starts: their lines that came back labeled are kept in memory (a few KB
each), the others only counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.skeleton import AnnotationError
from scripts import export_lines
from scripts.cli import UsageError
from scripts.export_lines import Merged
from scripts.job_output import Source
from scripts.review_key import ReviewKey, label_job
from scripts.review_selection import REASON_CODES

#: ``(reviewed job, reviewed line)``: how a round above the first finds the line it reviews.
_Target = tuple[str, int]


@dataclass(slots=True)
class ReviewedLine:
    """One line of a review job's output."""

    #: The ``--review`` it is in, and its line number there.
    file: str
    number: int
    key: ReviewKey
    #: The review job (the label's metadata), and its label's dataset object.
    job: str
    dataset_object_id: str | None
    image: str | None
    #: The line as read, when it came back labeled; None when it did not.
    raw: bytes | None
    #: Whether the reviewer changed what they were shown (the label's ``was_modified``).
    changed: bool

    @property
    def where(self) -> str:
        return f"--review {self.file} line {self.number}"


@dataclass(slots=True)
class Tally:
    """What one round did to the lines it reviewed, in all and by selection reason."""

    jobs: set[str] = field(default_factory=set)
    sent: Counter[str] = field(default_factory=Counter)
    labeled: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    #: Lines of this round whose label is the one exported (no later round replaced it).
    exported: int = 0

    def add(self, line: ReviewedLine) -> None:
        self.jobs.add(line.job)
        for code in ["*", *line.key.codes]:  # "*": every line, once
            self.sent[code] += 1
            if line.raw is not None:
                self.labeled[code] += 1
                self.changed[code] += line.changed

    def to_jsonable(self, round_: int) -> dict[str, Any]:
        order = {code: i for i, code in enumerate(REASON_CODES)}
        codes = sorted((c for c in self.sent if c != "*"), key=lambda c: (order.get(c, 99), c))
        return {
            "round": round_,
            "jobs": sorted(self.jobs),
            "sent": self.sent["*"],
            "labeled": self.labeled["*"],
            "changed": self.changed["*"],
            "unlabeled": self.sent["*"] - self.labeled["*"],
            "labels_exported": self.exported,
            "by_reason": {
                c: {"sent": self.sent[c], "labeled": self.labeled[c], "changed": self.changed[c]}
                for c in codes
            },
        }


@dataclass
class ReviewMerge:
    #: Lines of the first round given, by the line of SOURCE they review.
    first: dict[int, list[ReviewedLine]]
    #: Lines of the later rounds, by round and the line they review.
    later: dict[int, dict[_Target, list[ReviewedLine]]]
    first_round: int
    #: Records for problems.jsonl, in the order found.
    problems: list[dict[str, Any]] = field(default_factory=list)
    tallies: dict[int, Tally] = field(default_factory=dict)

    @classmethod
    def load(cls, sources: Iterable[tuple[str, Source]]) -> ReviewMerge:
        """Read every ``(--review value, opened source)``; their rounds must follow on
        from one another (UsageError naming the gap)."""
        problems: list[dict[str, Any]] = []
        found: list[ReviewedLine] = []
        for given, source in sources:
            found.extend(_read(given, source, problems))
        rounds = sorted({line.key.round for line in found})
        if rounds and rounds != list(range(rounds[0], rounds[-1] + 1)):
            missing = sorted(set(range(rounds[0], rounds[-1])) - set(rounds))
            raise UsageError(
                f"--review: rounds {', '.join(map(str, rounds))} given, round"
                f" {', '.join(map(str, missing))} missing: each round reviews the one before"
            )
        merge = cls({}, {}, rounds[0] if rounds else 1, problems)
        for line in found:
            if line.key.round == merge.first_round:
                merge.first.setdefault(line.key.line, []).append(line)
            else:
                target = (line.key.job, line.key.line)
                merge.later.setdefault(line.key.round, {}).setdefault(target, []).append(line)
            merge.tallies.setdefault(line.key.round, Tally())
        return merge

    def first_round_lines(self) -> list[ReviewedLine]:
        """The lines of the first round given (read before the export starts)."""
        return [line for lines in self.first.values() for line in lines]

    def lines(
        self, original: Iterable[bytes], label_attribute: str | None, source_name: str
    ) -> Iterator[bytes | Merged]:
        """SOURCE's lines, each with its last review that came back labeled, if any."""
        for number, raw in enumerate(original, start=1):
            reviews = self.first.pop(number, None)
            if reviews is None:
                yield raw
                continue
            reviewed = self._merge(number, raw, reviews, label_attribute, source_name)
            yield raw if reviewed is None else Merged(raw, reviewed)

    def finish(self) -> None:
        """List the review lines that matched no line (once every line has been read)."""
        for number, reviews in sorted(self.first.items()):
            for line in reviews:
                self._problem(
                    None,
                    line.image,
                    f"{line.where} reviews line {number} of {line.key.job}, which SOURCE does"
                    " not have: not merged",
                )
        for round_, targets in sorted(self.later.items()):
            for (job, number), reviews in targets.items():
                for line in reviews:
                    self._problem(
                        None,
                        line.image,
                        f"{line.where} reviews line {number} of {job}, which no --review of"
                        f" round {round_ - 1} returned labeled: not merged",
                    )
        self.first.clear()
        self.later.clear()

    def _merge(
        self,
        number: int,
        raw: bytes,
        reviews: list[ReviewedLine],
        attribute: str | None,
        source_name: str,
    ) -> bytes | None:
        try:
            data = export_lines.decode(raw, f"line {number}")
            name = export_lines.label_attribute(data, attribute)
        except AnnotationError:
            name, data = None, {}
        label = data.get(name) if name else None
        if not isinstance(label, Mapping):
            for line in reviews:
                self._problem(
                    number,
                    line.image,
                    f"{line.where} reviews line {number}, which has no label"
                    " that can be read: not merged",
                )
            return None
        job = label_job(data, name) or source_name
        image = _image(data)
        chosen = self._one(number, image, reviews, job, str(label.get("dataset_object_id")))
        exported: ReviewedLine | None = None
        while chosen is not None:
            self.tallies[chosen.key.round].add(chosen)
            if chosen.raw is None:
                self._problem(
                    number,
                    image,
                    f"sent to review in {chosen.job} (round {chosen.key.round}, {chosen.where})"
                    f" and came back unlabeled: the label of {chosen.key.job} is kept",
                )
                break
            exported = chosen
            following = self.later.get(chosen.key.round + 1, {}).pop(
                (chosen.job, chosen.number), []
            )
            chosen = self._one(number, image, following, chosen.job, chosen.dataset_object_id)
        if exported is None or exported.raw is None:
            return None
        self.tallies[exported.key.round].exported += 1
        return exported.raw

    def _one(
        self,
        number: int,
        image: str | None,
        reviews: list[ReviewedLine],
        job: str,
        dataset_object_id: str | None,
    ) -> ReviewedLine | None:
        """The review of the label ``job`` wrote for ``dataset_object_id``; the others
        are listed."""
        chosen = None
        for line in reviews:
            if line.key.job != job or line.key.dataset_object_id != dataset_object_id:
                self._problem(
                    number,
                    image,
                    f"{line.where} reviews {line.key.job}, dataset object"
                    f" {line.key.dataset_object_id}, but the label it names is {job}'s, dataset"
                    f" object {dataset_object_id}: not merged",
                )
            elif chosen is not None:
                self._problem(
                    number,
                    image,
                    f"{line.where} reviews the same label as {chosen.where} in round"
                    f" {line.key.round}: not merged (the first is used)",
                )
            else:
                chosen = line
        return chosen

    def _problem(self, number: int | None, image: str | None, reason: str) -> None:
        self.problems.append({"line": number, "image": image, "reason": reason})

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "rounds": [self.tallies[r].to_jsonable(r) for r in sorted(self.tallies)],
            "problems": len(self.problems),
        }

    def lines_of_text(self) -> list[str]:
        out = []
        for round_ in sorted(self.tallies):
            t = self.tallies[round_].to_jsonable(round_)
            out.append(
                f"review round {round_} ({', '.join(t['jobs'])}): {t['sent']} lines sent,"
                f" {t['labeled']} came back labeled, {t['changed']} changed by the reviewer,"
                f" {t['unlabeled']} unlabeled (label before kept); {t['labels_exported']}"
                " of its labels exported"
            )
            if t["by_reason"]:
                width = max(len(c) for c in t["by_reason"])
                out.append(f"  {'reason':<{width}}  {'sent':>6}  {'labeled':>7}  {'changed':>7}")
                for code, n in t["by_reason"].items():
                    out.append(
                        f"  {code:<{width}}  {n['sent']:>6}  {n['labeled']:>7}  {n['changed']:>7}"
                    )
        return out


def _read(given: str, source: Source, problems: list[dict[str, Any]]) -> list[ReviewedLine]:
    """The review lines of one ``--review``; a line that cannot be one is a problem record."""
    found = []
    jobs = []
    for number, raw in enumerate(source.lines, start=1):
        if not raw.strip():
            continue
        where = f"--review {given} line {number}"
        data: dict[str, Any] = {}
        try:
            data = export_lines.decode(raw, where)
            key = ReviewKey.read(data)
            if key is None:
                raise ValueError("no review key: not a line of a review job")
            name = export_lines.label_attribute(data, source.label_attribute)
        except ValueError as exc:  # AnnotationError is one
            reason = str(exc) if str(exc).startswith(where) else f"{where}: {exc}"
            reason += "; not merged"
            problems.append({"line": None, "image": _image(data), "reason": reason})
            continue
        label = data.get(name) if name else None
        if not isinstance(label, Mapping):
            label = {}
        # A label whose skeletons were moved to an overflow file is restored by the export.
        labeled = label.get("updated_annotations") is not None or bool(label.get("overflow"))
        job = label_job(data, name)
        jobs.append(job)
        found.append(
            ReviewedLine(
                file=given,
                number=number,
                key=key,
                job=job or "",
                dataset_object_id=str(label["dataset_object_id"])
                if "dataset_object_id" in label
                else None,
                image=_image(data),
                raw=raw if labeled else None,
                changed=labeled and label.get("was_modified") is True,
            )
        )
    # An unlabeled line has no label metadata: it is from the job its labeled lines name.
    job_of_file = next((j for j in jobs if j), source.name)
    for line in found:
        line.job = line.job or job_of_file
    return found


def _image(data: Mapping[str, Any]) -> str | None:
    value = data.get("source-ref")
    return value if isinstance(value, str) else None
