"""Which rig each label is exported with.

The post-annotation Lambda writes the rig into every consolidated label:
``"rig": {"name": "coco-person-17", "fingerprint": "<12 hex>"}``, the
fingerprint being :attr:`handlers.rig.Rig.fingerprint` (a hash of the keypoint
labels in order). The export looks the fingerprint up:

- with ``--rig`` (one or more): among those rigs only. A label made with
  another rig stops the export with one line naming both, since exporting it
  with the wrong rig would drop or misplace keypoints;
- without: the stack's rig (when the stack was read), then the bundled rigs.
  A fingerprint none of them has stops the export, asking for ``--rig FILE``.

Labels from before the Lambda recorded rigs have no ``rig`` key: they use the
one ``--rig``, else the stack's rig, else the export stops asking for ``--rig``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from handlers.rig import Rig, bundled_rig_names, load_rig
from handlers.skeleton import AnnotationError, FieldError, show_value
from scripts.cli import UsageError, UserError

#: The key of the rig in a consolidated label.
RIG_KEY = "rig"


class RigMismatch(UsageError):
    """``--rig`` is not the rig the labels were made with."""


class RigUnknown(UserError):
    """A label's rig (or, for an older label, any rig) that the export has no file for."""


class RecordedRig(NamedTuple):
    """The ``rig`` of a label (a tuple: made for every line, and cheap to hash)."""

    name: str
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.name!r} (fingerprint {self.fingerprint})"


def recorded_rig(label: Any, field: str) -> RecordedRig | None:
    """The rig a consolidated label records; None for a label from before rigs were
    recorded. A ``rig`` that is not ``{"name": str, "fingerprint": str}`` is an
    :class:`AnnotationError` naming ``field``."""
    if not isinstance(label, Mapping) or label.get(RIG_KEY) is None:
        return None
    value = label[RIG_KEY]
    if isinstance(value, Mapping):
        name, fingerprint = value.get("name"), value.get("fingerprint")
        if isinstance(name, str) and isinstance(fingerprint, str) and fingerprint:
            return RecordedRig(name, fingerprint)
    problem = f"expected {{'name': …, 'fingerprint': …}}, got {show_value(value)}"
    raise AnnotationError([FieldError(f"{field}.{RIG_KEY}", problem)])


@dataclass(frozen=True)
class RigBook:
    """The rigs an export may use, and the rule that picks one per label (module doc).

    :meth:`choose` answers with a position in :attr:`rigs`, the same in every
    process (worker processes get a pickled copy), so a worker's choice travels
    back as a small number.
    """

    #: The ``--rig`` values, in order.
    given: tuple[Rig, ...] = ()
    #: The deployed stack's rig, when the stack's outputs were read.
    stack: Rig | None = None
    bundled: tuple[Rig, ...] = ()
    #: ``given``, then ``stack``, then ``bundled``.
    rigs: tuple[Rig, ...] = field(init=False)
    _fingerprints: tuple[str, ...] = field(init=False, repr=False)
    #: Choices made, by recorded rig.
    _chosen: dict[RecordedRig, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        rigs = (*self.given, *((self.stack,) if self.stack else ()), *self.bundled)
        object.__setattr__(self, "rigs", rigs)
        # A fingerprint is a hash: computed once per rig, not once per label.
        object.__setattr__(self, "_fingerprints", tuple(r.fingerprint for r in rigs))

    @classmethod
    def create(cls, given: Sequence[Rig], stack: Rig | None) -> RigBook:
        return cls(tuple(given), stack, tuple(load_rig(n) for n in bundled_rig_names()))

    def fingerprint(self, index: int) -> str:
        return self._fingerprints[index]

    def choose(self, recorded: RecordedRig | None, where: str) -> int:
        """The position in :attr:`rigs` of the rig to export a label with; ``where``
        (``line 12``) names the label in errors."""
        if recorded is None:
            return self._for_older_label(where)
        chosen = self._chosen.get(recorded)
        if chosen is None:
            chosen = self._chosen[recorded] = self._for_recorded(recorded, where)
        return chosen

    def _for_recorded(self, recorded: RecordedRig, where: str) -> int:
        given = range(len(self.given))
        if given:
            found = self._match(recorded, given)
            if found is None:
                shown = ", ".join(self._show(i) for i in given)
                raise RigMismatch(
                    f"--rig {shown} is not the rig the labels were made with: {where} records"
                    f" rig {recorded}; leave --rig out to use the labels' own rig"
                )
            return found
        others = range(len(self.given), len(self.rigs))
        found = self._match(recorded, others)
        if found is None:
            known = ", ".join(self._show(i) for i in others)
            raise RigUnknown(
                f"{where} records rig {recorded}, which this export has no file for"
                f" (it knows {known}): pass --rig FILE with that rig's JSON file"
            )
        return found

    def _for_older_label(self, where: str) -> int:
        if len(self.given) == 1:
            return 0
        if self.given:
            raise RigUnknown(
                f"{where} records no rig (labeled before labels recorded their rig), and"
                " several --rig were given: export such labels with exactly one --rig"
            )
        if self.stack is not None:
            return 0
        raise RigUnknown(
            f"{where} records no rig (labeled before labels recorded their rig): pass"
            " --rig NAME|FILE with the rig it was labeled with"
        )

    def _match(self, recorded: RecordedRig, candidates: range) -> int | None:
        """A rig with the recorded fingerprint, one also of that name first."""
        same = [i for i in candidates if self._fingerprints[i] == recorded.fingerprint]
        named = [i for i in same if self.rigs[i].name == recorded.name]
        return next(iter(named or same), None)

    def _show(self, index: int) -> str:
        return f"{self.rigs[index].name!r} (fingerprint {self._fingerprints[index]})"
