"""The figures of an export, gathered one manifest line at a time.

Counts and running sums only, so memory does not grow with the manifest; the
one exception is the labeling times (8 bytes per image, in an ``array``),
which the median needs.
"""

from __future__ import annotations

import statistics
from array import array
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from handlers.label import ConsolidatedLabel
from handlers.skeleton import Visibility


@dataclass
class Summary:
    lines: int = 0
    #: Lines with a consolidated label that has skeletons (or an empty list: nobody there).
    images: int = 0
    #: Lines without a label (never labeled, or the job stopped first).
    unlabeled: int = 0
    #: Lines with a label but no usable answer, or that could not be read at all.
    unusable: int = 0
    skeletons: int = 0
    keypoints: int = 0
    occluded: int = 0
    times: array[float] = field(default_factory=lambda: array("d"))
    with_pre_annotations: int = 0
    modified_pre_annotations: int = 0
    modified: int = 0
    flagged_images: int = 0
    images_with_errors: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    multi_worker_images: int = 0
    _oks_sum: float = 0.0
    _oks_count: int = 0
    low_agreement_images: int = 0
    #: Images left out of COCO and YOLO: no size in the label, none found in the image.
    without_size: int = 0
    #: Labeled images per rig (by rig name).
    rigs: Counter[str] = field(default_factory=Counter)
    #: Keypoints the export could not write (not in the rig, or unreadable).
    keypoints_dropped: int = 0
    #: Keypoints outside the image, moved onto its edge.
    clamped: int = 0

    #: Mean OKS below this between workers marks an image as low agreement.
    LOW_AGREEMENT = 0.5

    def add(self, label: ConsolidatedLabel, rig: str) -> None:
        """Count one usable label, exported with the rig named ``rig``."""
        self.images += 1
        self.rigs[rig] += 1
        skeletons = label.updated_annotations or []
        self.skeletons += len(skeletons)
        visibility = [k.visibility for skeleton in skeletons for k in skeleton.keypoints]
        self.keypoints += len(visibility) - visibility.count(Visibility.NOT_LABELED)
        self.occluded += visibility.count(Visibility.OCCLUDED)
        if label.total_time_in_seconds is not None:
            self.times.append(float(label.total_time_in_seconds))
        if label.original_annotations:
            self.with_pre_annotations += 1
            self.modified_pre_annotations += label.was_modified
        self.modified += label.was_modified
        for flag in label.qa_flags:
            self.flags[str(flag.flag)] += 1
        has_errors = any(e.level == "error" for e in label.errors)
        self.images_with_errors += has_errors
        self.flagged_images += bool(label.qa_flags) or has_errors
        if label.agreement is not None and label.agreement.workers > 1:
            self.multi_worker_images += 1
            if label.agreement.mean_oks is not None:
                self._oks_sum += label.agreement.mean_oks
                self._oks_count += 1
                self.low_agreement_images += label.agreement.mean_oks < self.LOW_AGREEMENT

    def merge(self, other: Summary) -> None:
        """Add the figures of another part of the same manifest (a worker's chunk)."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, array):
                mine.extend(theirs)
            elif isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, f.name, mine + theirs)

    @property
    def mean_oks(self) -> float | None:
        return self._oks_sum / self._oks_count if self._oks_count else None

    def to_jsonable(self) -> dict[str, Any]:
        times = list(self.times)
        return {
            "lines": self.lines,
            "images": self.images,
            "unlabeled": self.unlabeled,
            "unusable": self.unusable,
            "skeletons": self.skeletons,
            "keypoints": self.keypoints,
            "occluded_keypoints": self.occluded,
            "labeling_time_seconds": {
                "images_timed": len(times),
                "mean": statistics.fmean(times) if times else None,
                "median": statistics.median(times) if times else None,
                "total": sum(times),
            },
            "images_with_pre_annotations": self.with_pre_annotations,
            "modified_pre_annotations": self.modified_pre_annotations,
            "share_modified": _share(self.modified_pre_annotations, self.with_pre_annotations),
            "flagged_images": self.flagged_images,
            "images_with_errors": self.images_with_errors,
            "qa_flags": dict(sorted(self.flags.items())),
            "agreement": {
                "images_with_several_workers": self.multi_worker_images,
                "mean_oks": self.mean_oks,
                "images_below_oks_0.5": self.low_agreement_images,
            },
            "images_without_size": self.without_size,
            "images_per_rig": dict(self.rigs),
            "keypoints_not_exported": self.keypoints_dropped,
            "keypoints_moved_onto_image_edge": self.clamped,
        }

    def lines_of_text(self) -> list[str]:
        data = self.to_jsonable()
        time = data["labeling_time_seconds"]
        out = [
            f"images: {self.images} labeled of {self.lines} manifest lines"
            f" ({self.unlabeled} not labeled, {self.unusable} unusable)",
            f"skeletons: {self.skeletons}, keypoints: {self.keypoints} ({self.occluded} occluded)",
        ]
        if self.rigs:
            out.append("rigs: " + ", ".join(f"{n} ({c} images)" for n, c in self.rigs.items()))
        if time["images_timed"]:
            out.append(
                f"labeling time per image: mean {time['mean']:.1f} s,"
                f" median {time['median']:.1f} s, total {duration(time['total'])}"
            )
        if self.with_pre_annotations:
            out.append(
                f"pre-annotations modified: {self.modified_pre_annotations} of"
                f" {self.with_pre_annotations} ({data['share_modified']:.0%})"
            )
        flags = ", ".join(f"{name} {count}" for name, count in data["qa_flags"].items())
        out.append(
            f"flagged images: {self.flagged_images}"
            + (f" ({flags})" if flags else "")
            + (f"; {self.images_with_errors} with errors" if self.images_with_errors else "")
        )
        if self.clamped:
            out.append(f"keypoints outside the image moved onto its edge: {self.clamped}")
        if self.keypoints_dropped:
            out.append(f"keypoints not exported: {self.keypoints_dropped} (see problems.jsonl)")
        if self.without_size:
            out.append(
                f"images left out of COCO and YOLO, size unknown: {self.without_size}"
                " (see problems.jsonl)"
            )
        if self.multi_worker_images:
            mean = self.mean_oks
            oks = f"mean OKS {mean:.3f}" if mean is not None else "no OKS (no shared skeleton)"
            out.append(
                f"agreement: {self.multi_worker_images} images with several workers, {oks};"
                f" {self.low_agreement_images} below OKS {self.LOW_AGREEMENT}"
            )
        return out


def duration(seconds: float) -> str:
    """A time in the unit that fits it: ``45 s``, ``12.5 min``, ``3.20 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
