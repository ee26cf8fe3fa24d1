"""Input manifests: one JSON line per image, within Ground Truth's size limits.

A line is ``{"source-ref": "s3://…", "annotations": [<skeleton>, …]}``
(``annotations`` only when there are pre-annotations), the format in
docs/contracts.md that the pre-annotation Lambda reads; a review job's lines add a
``review`` key (:mod:`scripts.review_key`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import gt_limits
from scripts.cli import UserError


@dataclass(frozen=True)
class ManifestEntry:
    source_ref: str
    #: The image's name relative to the folder or prefix (how pre-annotations refer to it).
    name: str
    annotations: Sequence[dict[str, Any]] | None = None
    #: More keys of the line (a review job's ``review``), each within the attribute limit.
    extra: Mapping[str, Any] | None = None

    def to_line(self) -> str:
        """The manifest line, or UserError naming the image when it breaks a limit."""
        line: dict[str, Any] = {"source-ref": self.source_ref}
        if self.annotations:
            self._check_attribute("pre-annotations", list(self.annotations))
            line["annotations"] = self.annotations
        for key, value in (self.extra or {}).items():
            self._check_attribute(key, value)
            line[key] = value
        text = _compact(line)
        if len(text) > gt_limits.MANIFEST_LINE_MAX:
            raise UserError(
                f"manifest line for {self.name}: {len(text):,} characters;"
                f" Ground Truth allows {gt_limits.MANIFEST_LINE_MAX:,}"
            )
        return text

    def _check_attribute(self, what: str, value: Any) -> None:
        size = len(_compact(value))
        if size > gt_limits.MANIFEST_ATTRIBUTE_MAX:
            raise UserError(
                f"{what} for {self.name}: {size:,} characters of JSON;"
                f" Ground Truth allows {gt_limits.MANIFEST_ATTRIBUTE_MAX:,} per attribute"
            )


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(entries: Iterable[ManifestEntry]) -> str:
    return "".join(entry.to_line() + "\n" for entry in entries)


def write(text: str, path: Path) -> None:
    """Write atomically, so an interrupted run never leaves half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
