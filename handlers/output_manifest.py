"""Reading Ground Truth's output manifest: one JSON line per input object.

A labeled line keeps the input line's keys and adds two::

    {"source-ref": "s3://b/a.jpg",
     "<label attribute>": {<the consolidated annotation>},
     "<label attribute>-metadata": {"type": "groundtruth/custom", "job-name": "…",
                                    "human-annotated": "yes", "creation-date": "…"}}

Real outputs spell the metadata ``job-name``/``creation-date`` and
``groundtruth/custom``; AWS's documentation spells it ``job_name``/
``creation_date`` and ``groundTruth/custom``. Both are read. A line for an
object that was never labeled has no label attribute: it is returned with
``label`` None, not treated as an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.label import ConsolidatedLabel
from handlers.rig import Rig
from handlers.skeleton import AnnotationError, FieldError, json_problem

METADATA_SUFFIX = "-metadata"
#: The label attribute when a job names none: the name the published workflow uses,
#: which downstream readers written for it look for. Scripts default to it.
DEFAULT_LABEL_ATTRIBUTE = "label-results"


@dataclass(slots=True)
class LabelMetadata:
    """``<label attribute>-metadata``, written by Ground Truth (never by the Lambda)."""

    type: str | None = None
    job_name: str | None = None
    human_annotated: bool | None = None
    creation_date: str | None = None
    #: Everything Ground Truth wrote, as written (``worker-response-ref`` …).
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, obj: Mapping[str, Any]) -> LabelMetadata:
        def either(*keys: str) -> Any:
            return next((obj[k] for k in keys if k in obj), None)

        human = either("human-annotated", "human_annotated")
        return cls(
            type=either("type"),
            job_name=either("job-name", "job_name"),
            human_annotated=None if human is None else str(human).lower() in ("yes", "true"),
            creation_date=either("creation-date", "creation_date"),
            raw=dict(obj),
        )

    @property
    def is_custom(self) -> bool:
        """Written by a custom workflow (``groundtruth/custom`` in either spelling)."""
        return (self.type or "").lower() == "groundtruth/custom"


@dataclass(slots=True)
class OutputManifestLine:
    #: The whole decoded line.
    data: dict[str, Any]
    source_ref: str | None
    label_attribute_name: str | None
    #: None when the line carries no label (an object that was not labeled).
    label: ConsolidatedLabel | None
    metadata: LabelMetadata | None


def label_attribute_names(line: Mapping[str, Any]) -> list[str]:
    """Keys ``K`` of the line that have a ``K-metadata`` companion (in line order)."""
    return [
        k
        for k in line
        if not k.endswith(METADATA_SUFFIX) and isinstance(line.get(k + METADATA_SUFFIX), dict)
    ]


def parse_output_manifest_line(
    line: str | Mapping[str, Any],
    *,
    rig: Rig,
    label_attribute_name: str | None = None,
    where: str = "output manifest line",
) -> OutputManifestLine:
    """Decode one line; raises :class:`AnnotationError` naming ``where`` if it is unusable.

    Without ``label_attribute_name``, the line's only ``K``/``K-metadata``
    pair is used; a line with several (chained jobs) needs the name.
    """
    if isinstance(line, str):
        try:
            data = json.loads(line)
        except ValueError as exc:
            problem = f"not valid JSON ({json_problem(exc, line)})"
            raise AnnotationError([FieldError("line", problem)], where) from exc
    else:
        data = dict(line)
    if not isinstance(data, dict):
        raise AnnotationError([FieldError("line", "expected a JSON object")], where)
    source_ref = data.get("source-ref")
    name = label_attribute_name
    if name is None:
        names = label_attribute_names(data)
        if len(names) > 1:
            raise AnnotationError(
                [
                    FieldError(
                        "line", f"several label attributes ({', '.join(names)}); say which one"
                    )
                ],
                where,
            )
        name = names[0] if names else None
    if name is None or name not in data:
        return OutputManifestLine(data, source_ref, name, None, None)
    metadata_obj = data.get(name + METADATA_SUFFIX)
    metadata = LabelMetadata.parse(metadata_obj) if isinstance(metadata_obj, dict) else None
    try:
        label = ConsolidatedLabel.parse(data[name], rig, field=name)
    except ValueError as exc:
        raise AnnotationError([FieldError(name, str(exc))], where) from exc
    return OutputManifestLine(data, source_ref, name, label, metadata)
