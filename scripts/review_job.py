"""Send a finished job's doubtful labels back for review: an adjustment job on the same stack.

SOURCE is the finished job's output, as export_results takes it: a job name, an
s3:// output manifest, or a local file. Its lines are selected by the rules of
docs/review.md (QA flags, label errors, workers disagreeing with each other or
with the consensus, "no changes needed" ticked but changed, and a seeded random
audit). Each selected image becomes one line of the review manifest,
pre-annotated with its consolidated skeletons, with a "review" key saying where
it came from (job, round, line, dataset object) and why it was selected; the
reviewer sees the reasons beside the image. The job runs on the stack SOURCE was
labeled on (template, Lambdas, work team, rig) and is named
<job>-review-<round> unless --job-name is given.

Run it again on the review job's output for a second round (round 2), and merge
every round into one result with export_results SOURCE --review REVIEW_JOB.

examples:
  # which lines, why, and the request; nothing is written to AWS
  .venv/bin/python -m scripts.review_job pose-20250314-093000-1f2e --dry-run

  # launch it: only swap flags, the agreement rules, and a 10% audit (seed 7)
  .venv/bin/python -m scripts.review_job pose-20250314-093000-1f2e \\
      --qa-flags left_right_swap --off label_errors,people_count --audit-share 0.1 --seed 7

  # a second round, on the first review job's output, reviewed by two workers
  .venv/bin/python -m scripts.review_job pose-20250314-093000-1f2e-review-1 --workers 2

  # offline: review the preview's labels in the preview, then merge
  .venv/bin/python -m scripts.review_job \\
      preview-output/pose-labeling-preview/manifests/output/output.manifest \\
      --manifest-only --manifest-out review.manifest
  make preview ARGS="--manifest review.manifest --images preview-output/sample-images \\
      --output preview-review --job-name pose-labeling-preview-review-1"
  .venv/bin/python -m scripts.export_results \\
      preview-output/pose-labeling-preview/manifests/output/output.manifest \\
      --review preview-review/pose-labeling-preview-review-1/manifests/output/output.manifest \\
      --images preview-output/sample-images

The selection (counts by reason, a few examples) and progress go to stderr;
--dry-run prints the request as JSON, a launch prints the job's name, ARN and
where to follow it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from components.s3_layout import IMAGES_PREFIX
from components.stack_outputs import StackOutputs
from handlers.output_manifest import OutputManifestLine
from handlers.rig import Rig, RigError, load_rig
from handlers.skeleton import AnnotationError
from scripts import export_lines, gt_limits, launch_job, manifest, stack
from scripts.aws import AwsClients
from scripts.cli import ArgumentParser, UsageError, UserError, run, warn
from scripts.export_rigs import RigBook, RigMismatch, RigUnknown
from scripts.export_s3 import S3Access
from scripts.job_output import Source, open_source, source_kind
from scripts.manifest import ManifestEntry
from scripts.review_key import REVIEW_KEY, ReviewKey, fit_reasons, label_job
from scripts.review_selection import (
    DEFAULT_AUDIT_SEED,
    DEFAULT_AUDIT_SHARE,
    DEFAULT_MIN_AGREEMENT,
    DEFAULT_MIN_KEYPOINT_SIMILARITY,
    DEFAULT_SWAP_MIN_GAIN,
    QA_FLAGS,
    ReviewRules,
    ReviewSelection,
    SelectedLine,
    format_selection_summary,
    select_for_review,
    summarize_selection,
)

PROG = "python -m scripts.review_job"
#: ``--off`` names: the rules, by the reason code they give (all QA flags are one rule).
RULES = (
    "label_errors",
    "qa_flags",
    "people_count",
    "worker_left_right_swap",
    "low_agreement",
    "keypoint_disagreement",
    "no_changes_but_modified",
    "audit",
)
#: The ReviewRules field each rule's threshold option sets, and its value when off.
_THRESHOLDS = {
    "worker_left_right_swap": ("swap_min_gain", "--swap-min-gain"),
    "low_agreement": ("min_agreement", "--min-agreement"),
    "keypoint_disagreement": ("min_keypoint_similarity", "--min-keypoint-similarity"),
    "audit": ("audit_share", "--audit-share"),
}
_REVIEW_SUFFIX = re.compile(r"-review-\d+$")
#: A few of the lines that could not be read are named; the rest are counted.
_NAMED = 5


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(PROG, __doc__)
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="the finished job: a job name, an s3:// output manifest, or a local file",
    )
    parser.add_argument(
        "--label-attribute",
        type=gt_limits.label_attribute_name,
        metavar="NAME",
        help="the labels' key in SOURCE (default: the job's; else the key with a -metadata"
        " companion); the review job writes its labels under the same key",
    )
    rules = parser.add_argument_group("which lines to review (docs/review.md)")
    rules.add_argument(
        "--qa-flags",
        type=_qa_flags,
        metavar="FLAG,FLAG",
        help=f"the QA flags that select a line, of {', '.join(QA_FLAGS)} (default: all)",
    )
    rules.add_argument(
        "--min-agreement",
        type=_number(1.0),
        metavar="OKS",
        help="a worker's skeleton with a lower OKS against the consensus is reviewed"
        f" (default: {DEFAULT_MIN_AGREEMENT})",
    )
    rules.add_argument(
        "--min-keypoint-similarity",
        type=_number(1.0),
        metavar="TERM",
        help="a keypoint with a lower OKS term against the consensus is reviewed"
        f" (default: {DEFAULT_MIN_KEYPOINT_SIMILARITY})",
    )
    rules.add_argument(
        "--swap-min-gain",
        type=_number(2.0),
        metavar="GAIN",
        help="a worker's left/right pair that gains this much with its labels exchanged is"
        f" taken as swapped, 0-2 (default: {DEFAULT_SWAP_MIN_GAIN})",
    )
    rules.add_argument(
        "--audit-share",
        type=_number(1.0),
        metavar="SHARE",
        help="share of the labeled images reviewed at random, 0-1"
        f" (default: {DEFAULT_AUDIT_SHARE})",
    )
    rules.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_AUDIT_SEED,
        metavar="N",
        help="the audit's seed: the same seed selects the same images (default:"
        f" {DEFAULT_AUDIT_SEED})",
    )
    rules.add_argument(
        "--off",
        type=_rule_names,
        action="extend",
        default=[],
        metavar="RULE,RULE",
        help=f"switch rules off: {', '.join(RULES)}",
    )
    rules.add_argument(
        "--examples",
        type=gt_limits.integer(0, 1000),
        default=3,
        metavar="N",
        help="examples printed for each reason (default: 3)",
    )
    launch_job.add_job_options(parser, default_job_name="<job>-review-<round>")
    out = parser.add_argument_group("the review manifest")
    out.add_argument(
        "--manifest-out",
        type=Path,
        metavar="FILE",
        help="where to write the review manifest locally (default: ./JOB_NAME.manifest)",
    )
    out.add_argument(
        "--rig",
        metavar="NAME|FILE",
        help="with --manifest-only, the rig of labels that do not record theirs (a review"
        " job always uses the stack's rig)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--manifest-only",
        action="store_true",
        help="select and write the review manifest, then stop: no stack needed, no request,"
        " nothing sent to AWS (for the offline preview)",
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="select, write the manifest locally and print the request; no job is created",
    )
    stack.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, clients: AwsClients | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: review(args, clients))


def review(args: argparse.Namespace, clients: AwsClients | None) -> int:
    rules = review_rules(args)
    kind = source_kind(args.source)
    if args.rig and not args.manifest_only:
        raise UsageError("--rig: only with --manifest-only; a review job uses the stack's rig")
    outputs = None
    if not args.manifest_only or kind != "file" or args.stack or args.stack_outputs:
        outputs = stack.read(args)
        clients = clients or AwsClients(outputs.region)
    source = open_source(
        args.source, kind, clients, label_attribute=args.label_attribute, prog=PROG, outputs=outputs
    )
    given = [_rig(args.rig)] if args.rig else []
    reading = SourceLines(source, RigBook.create(given, outputs.rig if outputs else None))
    reading.open(clients, outputs, job=not args.manifest_only)
    plan = review_plan(reading, rules)
    _progress(format_selection_summary(summarize_selection(plan.selection, args.examples)))
    reading.report()
    for warning in plan.not_sent:
        warn(PROG, warning)
    if not plan.entries:
        _progress("nothing to review: no manifest written, no job created")
        return 0
    job_name = args.job_name or plan.default_job_name()
    manifest_out: Path = args.manifest_out or Path(f"{job_name}.manifest")
    if args.manifest_only:
        manifest.write(manifest.render(plan.entries), manifest_out)
        _progress(f"review manifest of {len(plan.entries)} images written to {manifest_out}")
        return 0
    assert outputs is not None and clients is not None  # read above unless --manifest-only
    job_args = argparse.Namespace(
        **{
            **vars(args),
            "job_name": job_name,
            "label_attribute": plan.label_attribute,
            "title": args.title or f"Pose review: {outputs.rig.name}",
            "description": args.description
            or "Check the skeletons against the image; the notes beside it say why it was"
            " sent back. Correct what is wrong, or tick No changes needed.",
            "manifest_out": manifest_out,
        }
    )
    launch = launch_job.prepare(job_args, outputs, clients, plan.entries)
    if args.dry_run:
        manifest.write(launch.manifest_text, launch.manifest_path)
        print(json.dumps(launch_job.what_is_created(launch, outputs), indent=2, ensure_ascii=False))
        _progress(
            f"dry run: {len(plan.entries)} images, manifest written to {launch.manifest_path};"
            " no job created"
        )
        return 0
    launch_job.require_unused_job_name(clients, job_name, outputs)
    launch_job.submit_job(launch, outputs, clients)
    print(
        f"merge:     .venv/bin/python -m scripts.export_results {args.source} --review {job_name}"
    )
    return 0


def review_rules(args: argparse.Namespace) -> ReviewRules:
    """The rules the options ask for; a threshold given for a rule switched off is a usage
    error."""
    off = set(args.off)
    values: dict[str, object] = {"audit_seed": args.seed}
    for rule, (name, option) in _THRESHOLDS.items():
        given = getattr(args, name)
        if rule in off:
            if given is not None:
                raise UsageError(f"{option} {given}: the rule is switched off by --off {rule}")
            values[name] = 0.0 if rule == "audit" else None
        elif given is not None:
            values[name] = given
    if "qa_flags" in off:
        if args.qa_flags is not None:
            raise UsageError("--qa-flags: the rule is switched off by --off qa_flags")
        values["qa_flags"] = frozenset()
    elif args.qa_flags is not None:
        values["qa_flags"] = args.qa_flags
    for rule in ("label_errors", "people_count", "no_changes_but_modified"):
        if rule in off:
            values[rule] = False
    return replace(ReviewRules(), **values)  # type: ignore[arg-type]


@dataclass
class SourceLines:
    """SOURCE's lines, parsed for the selection: numbered as in the file, each with all its
    workers' skeletons, against one rig (the first label's; the stack's for a job)."""

    source: Source
    rigs: RigBook
    #: Lines that could not be read or have another rig: ``(line number, why)``.
    skipped: list[tuple[int, str]] = field(default_factory=list)
    rig: Rig = field(init=False)
    _rig_index: int = field(init=False, default=0)
    _parsed: Iterator[tuple[int, export_lines.ParsedLine]] = field(init=False)

    def open(self, clients: AwsClients | None, outputs: StackOutputs | None, *, job: bool) -> None:
        """Start reading, and find the rig from the first label; for a ``job`` on the
        stack, it must be the stack's."""
        settings = export_lines.Settings(
            self.rigs,
            self.source.label_attribute,
            IMAGES_PREFIX,
            None,
            yolo=False,
            overflow=export_lines.OverflowFiles(self.source.folder),
            s3=S3Access(enabled=True, region=outputs.region if outputs else None),
        )
        processor = export_lines.LineProcessor(settings, clients)
        parsed = self._parse(processor)
        head = []
        for item in parsed:
            head.append(item)
            if item[1].label is not None:
                self._rig_index = item[1].rig
                break
        if job and outputs is not None and self._rig_index != 0:
            number = head[-1][0]
            raise UserError(
                f"line {number} of {self.source.name} records rig"
                f" {self.rigs.rigs[self._rig_index].name!r}, and the stack's rig is"
                f" {outputs.rig.name!r}: a review job on this stack would show the wrong"
                " keypoints; deploy that rig, or review offline with --manifest-only"
            )
        self.rig = self.rigs.rigs[self._rig_index]
        self._parsed = itertools.chain(head, parsed)

    def _parse(
        self, processor: export_lines.LineProcessor
    ) -> Iterator[tuple[int, export_lines.ParsedLine]]:
        for number, raw in enumerate(self.source.lines, start=1):
            if not raw.strip():
                continue
            try:
                yield number, processor.parse(number, raw, workers=True)
            except (AnnotationError, RigMismatch, RigUnknown) as exc:
                self.skipped.append((number, str(exc)))

    def lines(self) -> Iterator[tuple[int, OutputManifestLine]]:
        """``(line number, line)`` of every line read with the rig."""
        for number, parsed in self._parsed:
            if parsed.label is not None and parsed.rig != self._rig_index:
                rig = self.rigs.rigs[parsed.rig].name
                self.skipped.append((number, f"line {number}: labeled with another rig, {rig!r}"))
                continue
            yield number, parsed.line

    def report(self) -> None:
        if not self.skipped:
            return
        for _, why in self.skipped[:_NAMED]:
            warn(PROG, f"not reviewed: {why}")
        if len(self.skipped) > _NAMED:
            warn(PROG, f"not reviewed: {len(self.skipped) - _NAMED} more lines (as above)")


@dataclass
class ReviewPlan:
    #: What was selected and why (each selected line's image and reasons only).
    selection: ReviewSelection
    entries: list[ManifestEntry]
    #: Selected lines that cannot be sent, one sentence each.
    not_sent: list[str]
    #: The label attribute of SOURCE's labels, which the review job's labels use too.
    label_attribute: str
    #: The job SOURCE's labels are from, without a ``-review-N`` suffix, and the round.
    base_job: str
    round: int

    def default_job_name(self) -> str:
        """``<job>-review-<round>``, the job's name cut to fit Ground Truth's 63 characters."""
        suffix = f"-review-{self.round}"
        base = re.sub(r"[^A-Za-z0-9-]+", "-", self.base_job)
        base = base[: gt_limits.JOB_NAME_MAX - len(suffix)].strip("-") or "pose"
        return base + suffix


def review_plan(reading: SourceLines, rules: ReviewRules) -> ReviewPlan:
    """The selection, and the review manifest's entries.

    Each line is selected on its own (the rules never compare lines), and a selected
    line becomes its entry at once; only the entries and the reasons are kept, so
    memory grows with what is sent, not with the labels read.
    """
    selection = ReviewSelection([], 0, 0)
    entries: list[ManifestEntry] = []
    not_sent = []
    attribute = reading.source.label_attribute
    keys: list[ReviewKey] = []
    for number, line in reading.lines():
        part = select_for_review([line], reading.rig, rules)
        selection.lines += part.lines
        selection.labeled += part.labeled
        selection.problems += part.problems
        for chosen in part.selected:
            bare = OutputManifestLine({}, line.source_ref, None, None, None)
            selection.selected.append(replace(chosen, line=bare))  # for the summary
            try:
                entry, key = review_entry(chosen, number, reading.source.name)
            except UserError as exc:
                not_sent.append(f"not sent to review: line {number}: {exc}")
                continue
            entries.append(entry)
            keys.append(key)
            attribute = attribute or line.label_attribute_name
    base = _REVIEW_SUFFIX.sub("", keys[0].job) if keys else reading.source.name
    round_ = max((k.round for k in keys), default=1)
    return ReviewPlan(selection, entries, not_sent, attribute or "label-results", base, round_)


def review_entry(
    chosen: SelectedLine, number: int, source_name: str
) -> tuple[ManifestEntry, ReviewKey]:
    """The review manifest line of one selected line, and its review key; UserError when
    it cannot be sent (no image URI, or over Ground Truth's size limits)."""
    line, label = chosen.line, chosen.line.label
    assert label is not None  # only labeled lines are selected
    image = line.source_ref or label.data_object_s3_uri
    if not isinstance(image, str) or not image.startswith("s3://"):
        raise UserError("no s3:// source-ref to send")
    try:
        previous = ReviewKey.read(line.data)
    except ValueError as exc:
        raise UserError(f"its {exc}") from None
    key = ReviewKey(
        job=label_job(line.data, line.label_attribute_name) or source_name,
        round=(previous.round if previous else 0) + 1,
        line=number,
        dataset_object_id=label.dataset_object_id,
        reasons=fit_reasons(chosen.reasons),
    )
    skeletons = [s.to_jsonable() for s in label.updated_annotations or []]
    entry = ManifestEntry(image, chosen.key, skeletons or None, {REVIEW_KEY: key.to_jsonable()})
    entry.to_line()  # checks Ground Truth's limits
    return entry, key


def _rig(name_or_path: str) -> Rig:
    try:
        return load_rig(name_or_path)
    except RigError as exc:
        raise UsageError(f"--rig: {exc}") from None


def _number(high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not 0.0 <= value <= high:
            raise argparse.ArgumentTypeError(f"must be 0 to {high:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def _qa_flags(text: str) -> frozenset[str]:
    flags = frozenset(f.strip() for f in text.split(",") if f.strip())
    try:
        ReviewRules(qa_flags=flags)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("qa_flags: ")) from None
    if not flags:
        raise argparse.ArgumentTypeError("name at least one flag (--off qa_flags for none)")
    return flags


def _rule_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RULES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown rule {', '.join(unknown) or repr(text)}; choose from {', '.join(RULES)}"
        )
    return names


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
