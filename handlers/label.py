"""The consolidated annotation: the label written for one image (docs/contracts.md).

Always these keys (the published workflow's fields, as parsed values):
``dataset_object_id, data_object_s3_uri, image_file_name, image_s3_location,
original_annotations, updated_annotations, worker_id, no_changes_needed,
was_modified, total_time_in_seconds``; then ``rig`` (``{"name", "fingerprint"}``
of the rig the label was made with; absent from labels made before it was
added), ``workers`` (each worker's own result), and where they apply
``agreement``, ``qa_flags``, ``errors``, and
``overflow`` (fields moved to S3 to fit Lambda's response limit, see
:mod:`handlers.overflow`). With several workers, ``worker_id`` is the list of
their IDs, ``no_changes_needed`` is true only if every worker said so and
``total_time_in_seconds`` is the sum of their times. ``updated_annotations``
is null when no worker's answer could be used: never an empty list that
would read as "nobody in this image". A worker whose answer *is* the
consolidated answer (one worker, no empty skeletons) is written as
``"same_as_consolidated": true`` instead of a second copy of the skeletons:
that halves single-worker labels (Lambda's 6 MB response limit), and
:meth:`ConsolidatedLabel.parse` puts the copy back.

:func:`build_label` makes one from parsed worker answers;
:meth:`ConsolidatedLabel.parse` reads one back (from an output manifest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.consolidation import Agreement, consolidate
from handlers.qa import QaFlag, check_skeletons
from handlers.rig import Rig, RigIdentity
from handlers.skeleton import FieldError, Skeleton, parse_skeletons, same_annotations, show_value
from handlers.submission import WorkerAnswer

#: The keys every consolidated annotation has, in output order.
LABEL_FIELDS = (
    "dataset_object_id",
    "data_object_s3_uri",
    "image_file_name",
    "image_s3_location",
    "original_annotations",
    "updated_annotations",
    "worker_id",
    "no_changes_needed",
    "was_modified",
    "total_time_in_seconds",
)


@dataclass(slots=True)
class WorkerResult:
    """One worker's own answer, as kept under ``workers`` in the label."""

    worker_id: str
    #: None when the answer could not be used (then ``raw`` holds it).
    updated_annotations: list[Skeleton] | None
    no_changes_needed: bool = False
    was_modified: bool | None = None
    total_time_in_seconds: float | None = None
    image_width: int | None = None
    image_height: int | None = None
    other_fields: dict[str, Any] | None = None
    raw: Any = None
    #: The answer is exactly the consolidated ``updated_annotations`` (one worker, no
    #: empty skeletons): the JSON then says so instead of repeating the skeletons.
    same_as_consolidated: bool = False

    def to_jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {"worker_id": self.worker_id}
        if self.same_as_consolidated:
            out["same_as_consolidated"] = True
        else:
            out["updated_annotations"] = _skeletons_jsonable(self.updated_annotations)
        out.update(
            {
                "no_changes_needed": self.no_changes_needed,
                "was_modified": self.was_modified,
                "total_time_in_seconds": self.total_time_in_seconds,
                "image_width": self.image_width,
                "image_height": self.image_height,
            }
        )
        if self.other_fields:
            out["other_fields"] = self.other_fields
        if self.raw is not None:
            out["raw"] = self.raw
        return out

    @classmethod
    def parse(cls, obj: Any, field: str, rig: Rig, errors: list[FieldError]) -> WorkerResult:
        if not isinstance(obj, dict):
            errors.append(FieldError(field, "expected a worker object"))
            return cls("", None, raw=obj)
        updated = None
        if obj.get("updated_annotations") is not None:
            updated, problems = parse_skeletons(
                obj["updated_annotations"], f"{field}.updated_annotations", rig
            )
            errors.extend(problems)
        return cls(
            str(obj.get("worker_id", "")),
            updated,
            bool(obj.get("no_changes_needed")),
            obj.get("was_modified"),
            obj.get("total_time_in_seconds"),
            obj.get("image_width"),
            obj.get("image_height"),
            obj.get("other_fields"),
            obj.get("raw"),
            obj.get("same_as_consolidated") is True,
        )


@dataclass(slots=True)
class ConsolidatedLabel:
    dataset_object_id: str
    data_object_s3_uri: str | None
    image_file_name: str | None
    image_s3_location: str | None
    original_annotations: list[Skeleton]
    #: The consolidated skeletons; None when no worker answer could be used.
    updated_annotations: list[Skeleton] | None
    #: One worker: their ID; several: the list, in ``workers`` order.
    worker_id: str | list[str] | None
    no_changes_needed: bool
    was_modified: bool
    total_time_in_seconds: float | None
    workers: list[WorkerResult] = field(default_factory=list)
    agreement: Agreement | None = None
    qa_flags: list[QaFlag] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    #: The rig the label was made with; None on labels made before labels carried it.
    rig: RigIdentity | None = None
    #: ``{"s3_uri": …, "fields": […]}`` when fields were moved to S3.
    overflow: dict[str, Any] | None = None

    @property
    def usable(self) -> bool:
        """Whether the label has consolidated skeletons to train on."""
        return self.updated_annotations is not None

    @property
    def complete(self) -> bool:
        """Usable, and nothing was rejected on the way (no ``error``-level entry in ``errors``).

        An incomplete label may lack keypoints or whole skeletons that a worker
        drew: check it before training on it.
        """
        return self.usable and not any(e.level == "error" for e in self.errors)

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(width, height)`` as the first worker who reported both saw it."""
        for w in self.workers:
            if w.image_width and w.image_height:
                return (w.image_width, w.image_height)
        return None

    def to_jsonable(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataset_object_id": self.dataset_object_id,
            "data_object_s3_uri": self.data_object_s3_uri,
            "image_file_name": self.image_file_name,
            "image_s3_location": self.image_s3_location,
            "original_annotations": _skeletons_jsonable(self.original_annotations),
            "updated_annotations": _skeletons_jsonable(self.updated_annotations),
            "worker_id": self.worker_id,
            "no_changes_needed": self.no_changes_needed,
            "was_modified": self.was_modified,
            "total_time_in_seconds": self.total_time_in_seconds,
        }
        if self.rig is not None:
            out["rig"] = self.rig.to_jsonable()
        out["workers"] = [w.to_jsonable() for w in self.workers]
        if self.agreement is not None:
            out["agreement"] = self.agreement.to_jsonable()
        if self.qa_flags:
            out["qa_flags"] = [f.to_jsonable() for f in self.qa_flags]
        if self.errors:
            out["errors"] = [e.to_jsonable() for e in self.errors]
        if self.overflow:
            out["overflow"] = self.overflow
        return out

    @classmethod
    def parse(cls, obj: Any, rig: Rig, field: str = "label") -> ConsolidatedLabel:
        """Read a label back; problems found on the way are added to its ``errors``."""
        if not isinstance(obj, dict):
            raise ValueError(
                f"{field}: expected a consolidated annotation object, got {type(obj).__name__}"
            )
        errors = [FieldError.parse(e) for e in obj.get("errors") or []]
        moved = set((obj.get("overflow") or {}).get("fields") or ())
        missing = [k for k in LABEL_FIELDS if k not in obj and k not in moved]
        if missing:
            errors.append(FieldError(field, f"missing keys: {', '.join(missing)}", "warning"))

        def skeletons(key: str) -> list[Skeleton] | None:
            if obj.get(key) is None:
                return None
            parsed, problems = parse_skeletons(obj[key], f"{field}.{key}", rig)
            errors.extend(problems)
            return parsed

        workers_obj = obj.get("workers")
        workers = [
            WorkerResult.parse(w, f"{field}.workers[{i}]", rig, errors)
            for i, w in enumerate(workers_obj if isinstance(workers_obj, list) else [])
        ]
        updated = skeletons("updated_annotations")
        for w in workers:
            if w.same_as_consolidated:
                w.updated_annotations = updated
        total = obj.get("total_time_in_seconds")
        identity = RigIdentity.parse(obj.get("rig"))
        if identity is None and obj.get("rig") is not None:
            errors.append(
                FieldError(
                    f"{field}.rig", "expected {name, fingerprint} strings; ignored", "warning"
                )
            )
        return cls(
            dataset_object_id=str(obj.get("dataset_object_id", "")),
            data_object_s3_uri=obj.get("data_object_s3_uri"),
            image_file_name=obj.get("image_file_name"),
            image_s3_location=obj.get("image_s3_location"),
            original_annotations=skeletons("original_annotations") or [],
            updated_annotations=updated,
            worker_id=obj.get("worker_id"),
            no_changes_needed=obj.get("no_changes_needed") is True,
            was_modified=obj.get("was_modified") is True,
            total_time_in_seconds=total if isinstance(total, int | float) else None,
            workers=workers,
            agreement=Agreement.parse(obj.get("agreement")),
            qa_flags=[QaFlag.parse(f) for f in obj.get("qa_flags") or []],
            errors=errors,
            rig=identity,
            overflow=obj.get("overflow"),
        )


def build_label(
    dataset_object_id: str,
    answers: Sequence[WorkerAnswer],
    *,
    rig: Rig,
    data_object_s3_uri: str | None = None,
    errors: Sequence[FieldError] = (),
) -> ConsolidatedLabel:
    """Consolidate the parsed answers of the workers for one data object.

    ``answers`` are in payload order (``workers[i]`` is ``answers[i]``), usable
    or not; ``errors`` are problems found before parsing (the envelope).
    """
    all_errors = list(errors)
    for a in answers:
        all_errors.extend(a.errors)
    usable = [a for a in answers if a.updated_annotations is not None]
    original = _original(answers, all_errors)
    updated: list[Skeleton] | None = None
    agreement = None
    flags: list[QaFlag] = []
    if usable:
        result = consolidate([a.updated_annotations or [] for a in usable], rig)
        updated, agreement = result.skeletons, result.agreement
    elif not answers:
        all_errors.append(FieldError("workers", "no worker answer arrived for this object"))

    width, height = _image_size(answers, all_errors)
    workers = []
    modified_but_no_changes = []
    for i, a in enumerate(answers):
        was_modified = None
        if a.updated_annotations is not None:
            was_modified = _modified(original, a.updated_annotations)
            if a.no_changes_needed and was_modified:
                modified_but_no_changes.append(i)
        workers.append(
            WorkerResult(
                a.worker_id,
                a.updated_annotations,
                a.no_changes_needed,
                was_modified,
                a.total_time_in_seconds,
                a.image_width,
                a.image_height,
                a.other_fields,
                a.raw,
                same_as_consolidated=updated is not None
                and len(usable) == 1
                and a.updated_annotations is not None
                and len(a.updated_annotations) == len(updated),
            )
        )
    if updated is not None:
        flags = check_skeletons(updated, rig, width, height)
        if agreement is not None:
            for i, s in enumerate(agreement.skeletons):
                if s.workers < agreement.workers:
                    flags.append(
                        QaFlag(
                            "drawn_by_some_workers",
                            f"only {s.workers} of {agreement.workers} workers drew this skeleton",
                            i,
                            {"workers": s.workers, "of": agreement.workers},
                        )
                    )
    if modified_but_no_changes:
        flags.append(
            QaFlag(
                "modified_despite_no_changes_needed",
                "a worker ticked 'no changes needed' but changed the pre-annotations",
                None,
                {"workers": modified_but_no_changes},
            )
        )
    if updated is None:
        was_modified = False
    elif len(usable) == 1:  # the consolidated answer is that worker's: no need to compare again
        was_modified = next(w.was_modified for w in workers if w.was_modified is not None)
    else:
        was_modified = _modified(original, updated)
    times = [a.total_time_in_seconds for a in answers if a.total_time_in_seconds is not None]
    location = data_object_s3_uri
    for i, a in enumerate(answers):
        if a.image_s3_uri is None or not a.image_s3_uri.startswith("s3://"):
            continue
        if location is None:
            location = a.image_s3_uri
        elif a.image_s3_uri != location:
            all_errors.append(
                FieldError(
                    f"workers[{i}].image_s3_uri",
                    f"the worker labeled {show_value(a.image_s3_uri)}, not this data object "
                    f"({show_value(location)}); check the template's image_s3_uri",
                    "warning",
                )
            )
    name = (
        location.rsplit("/", 1)[-1]
        if location
        else next((a.image_name for a in answers if a.image_name), None)
    )
    return ConsolidatedLabel(
        dataset_object_id=dataset_object_id,
        data_object_s3_uri=data_object_s3_uri,
        image_file_name=name,
        image_s3_location=location,
        original_annotations=original,
        updated_annotations=updated,
        worker_id=answers[0].worker_id if len(answers) == 1 else [a.worker_id for a in answers],
        no_changes_needed=bool(usable) and all(a.no_changes_needed for a in usable),
        was_modified=was_modified,
        total_time_in_seconds=sum(times) if times else None,
        workers=workers,
        agreement=agreement,
        qa_flags=flags,
        errors=all_errors,
        rig=rig.identity,
    )


def _modified(original: list[Skeleton], updated: list[Skeleton]) -> bool:
    if not original:
        return any(s.drawn for s in updated)
    return not same_annotations(original, updated)


def _original(answers: Sequence[WorkerAnswer], errors: list[FieldError]) -> list[Skeleton]:
    """The pre-annotations, as the first worker who echoed them readably saw them."""
    seen = [
        (i, a.original_annotations)
        for i, a in enumerate(answers)
        if a.original_annotations is not None
    ]
    if not seen:
        return []
    first_index, first = seen[0]
    for i, other in seen[1:]:
        if not same_annotations(first, other):
            errors.append(
                FieldError(
                    f"workers[{i}].original_annotations",
                    f"differs from workers[{first_index}].original_annotations; the latter is used",
                    "warning",
                )
            )
    return first


def _image_size(
    answers: Sequence[WorkerAnswer], errors: list[FieldError]
) -> tuple[int | None, int | None]:
    sizes = [
        (i, (a.image_width, a.image_height))
        for i, a in enumerate(answers)
        if a.image_width and a.image_height
    ]
    if not sizes:
        return None, None
    first_index, first = sizes[0]
    for i, size in sizes[1:]:
        if size != first:
            errors.append(
                FieldError(
                    f"workers[{i}].image_width",
                    f"image size {size[0]}x{size[1]} differs from workers[{first_index}]'s "
                    f"{first[0]}x{first[1]}; the latter is used for checks",
                    "warning",
                )
            )
    return first


def _skeletons_jsonable(skeletons: list[Skeleton] | None) -> list[dict[str, Any]] | None:
    return None if skeletons is None else [s.to_jsonable() for s in skeletons]
