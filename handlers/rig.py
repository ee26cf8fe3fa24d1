"""Rigs: the one definition of a skeleton that every part of pose-labeling reads.

A rig names the keypoints (in placement and COCO order), the lines between them,
where each keypoint sits in the "place whole skeleton" template box, and the OKS
sigma of each keypoint. The Pulumi program validates it and renders it into the
worker template, the Lambdas use it for validation, OKS and left/right checks, and
the scripts turn it into COCO categories. Format: ``assets/rigs/*.json`` and
``docs/contracts.md``.

Standard library only: this module ships inside the Lambda archive.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUNDLED_RIGS_DIR = Path(__file__).resolve().parent.parent / "assets" / "rigs"
DEFAULT_RIG = "coco-person-17"

#: Hex digits of :attr:`Rig.fingerprint`: 48 bits tell rigs apart; the label stays short.
FINGERPRINT_LENGTH = 12

#: Set on the Lambdas by the Pulumi program: path of the deployed rig inside the archive.
RIG_FILE_ENV = "POSE_LABELING_RIG_FILE"

#: COCO's per-keypoint OKS sigmas (``kpt_oks_sigmas`` in pycocotools), used for a
#: keypoint with one of COCO's 17 names when the rig gives no sigma of its own.
COCO_SIGMAS: Mapping[str, float] = {
    "nose": 0.026,
    "left_eye": 0.025,
    "right_eye": 0.025,
    "left_ear": 0.035,
    "right_ear": 0.035,
    "left_shoulder": 0.079,
    "right_shoulder": 0.079,
    "left_elbow": 0.072,
    "right_elbow": 0.072,
    "left_wrist": 0.062,
    "right_wrist": 0.062,
    "left_hip": 0.107,
    "right_hip": 0.107,
    "left_knee": 0.087,
    "right_knee": 0.087,
    "left_ankle": 0.089,
    "right_ankle": 0.089,
}

#: Sigma for any other keypoint without an explicit one: the mean of COCO's 17
#: sigmas (0.0669), i.e. a point about as hard to place as an average body joint.
DEFAULT_SIGMA = 0.067

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_SIDE_PREFIXES = (("left_", "right_"), ("right_", "left_"))


class RigError(ValueError):
    """A rig that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class KeypointClass:
    label: str
    x: float
    y: float
    sigma: float
    color: str | None = None
    #: The left/right counterpart, derived from ``left_``/``right_`` or given explicitly.
    mirror: str | None = None


@dataclass(frozen=True, slots=True)
class Bone:
    a: str
    b: str
    color: str | None = None


@dataclass(frozen=True, slots=True)
class BoundingBox:
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True, slots=True)
class RigIdentity:
    """Which rig made a label: written into every consolidated label as ``"rig"``."""

    name: str
    #: :attr:`Rig.fingerprint` of that rig.
    fingerprint: str

    def to_jsonable(self) -> dict[str, str]:
        return {"name": self.name, "fingerprint": self.fingerprint}

    @classmethod
    def parse(cls, obj: Any) -> RigIdentity | None:
        """The identity in a label, or None unless ``obj`` has a string name and fingerprint."""
        if not isinstance(obj, dict):
            return None
        name, fingerprint = obj.get("name"), obj.get("fingerprint")
        if not isinstance(name, str) or not isinstance(fingerprint, str):
            return None
        return cls(name, fingerprint)


@dataclass(frozen=True)
class Rig:
    name: str
    keypoints: tuple[KeypointClass, ...]
    skeleton: tuple[Bone, ...]
    bounding_box: BoundingBox | None = None
    description: str = ""
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {k.label: i for i, k in enumerate(self.keypoints)})

    # -- lookups ------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(k.label for k in self.keypoints)

    @property
    def positions(self) -> Mapping[str, int]:
        """Label -> position in rig order: :meth:`index` for loops over many keypoints."""
        return self._index

    def index(self, label: str) -> int:
        """Position of ``label`` in rig (and COCO) order; KeyError if unknown."""
        return self._index[label]

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def sigma(self, label: str) -> float:
        return self.keypoints[self._index[label]].sigma

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of the keypoint labels in order: two rigs that place, name or
        order their keypoints differently never share it, so a label records which
        rig it was made with and a reader can refuse to export it with another."""
        text = json.dumps(list(self.labels), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]

    @functools.cached_property
    def identity(self) -> RigIdentity:
        return RigIdentity(self.name, self.fingerprint)

    @property
    def mirror_pairs(self) -> tuple[tuple[str, str], ...]:
        """Each left/right pair once, in rig order of its first member."""
        pairs: list[tuple[str, str]] = []
        seen: set[str] = set()
        for k in self.keypoints:
            if k.mirror and k.label not in seen:
                pairs.append((k.label, k.mirror))
                seen.update((k.label, k.mirror))
        return tuple(pairs)

    # -- reading --------------------------------------------------------------
    @classmethod
    def parse(cls, obj: Any, source: str = "rig") -> Rig:
        """Validate a decoded rig JSON object; errors name ``source`` and the field path."""
        return _RigParser(source).rig(obj)

    # -- writing --------------------------------------------------------------
    def to_jsonable(self) -> dict[str, Any]:
        """The rig file format (explicit sigmas and mirrors included)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["keypoints"] = [
            {
                "label": k.label,
                **({"color": k.color} if k.color else {}),
                "x": k.x,
                "y": k.y,
                "sigma": k.sigma,
                **({"mirror": k.mirror} if k.mirror else {}),
            }
            for k in self.keypoints
        ]
        out["skeleton"] = [[b.a, b.b, *([b.color] if b.color else [])] for b in self.skeleton]
        if self.bounding_box:
            bb = self.bounding_box
            out["bounding_box"] = {
                "left": bb.left,
                "top": bb.top,
                "right": bb.right,
                "bottom": bb.bottom,
            }
        return out

    def component_attributes(self) -> dict[str, str]:
        """The ``crowd-2d-skeleton`` attributes for this rig, as compact JSON strings.

        ``keypointClasses`` carries ``mirror`` so the component need not guess the
        left/right pairs; the public component ignores keys it does not know.
        """
        plain = self.to_jsonable()
        classes = [{k: v for k, v in kp.items() if k != "sigma"} for kp in plain["keypoints"]]
        attrs = {
            "keypointClasses": _compact(classes),
            "skeletonRig": _compact(plain["skeleton"]),
        }
        if "bounding_box" in plain:
            attrs["skeletonBoundingBox"] = _compact(plain["bounding_box"])
        return attrs


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def bundled_rig_names() -> list[str]:
    return sorted(p.stem for p in BUNDLED_RIGS_DIR.glob("*.json"))


def load_rig(name_or_path: str | os.PathLike[str]) -> Rig:
    """A bundled rig by name (``coco-person-17``) or a rig JSON file by path."""
    text = str(name_or_path)
    path = Path(text)
    if not text.endswith(".json") and os.sep not in text and "/" not in text:
        path = BUNDLED_RIGS_DIR / f"{text}.json"
        if not path.is_file():
            choices = ", ".join(bundled_rig_names())
            raise RigError(
                f"unknown rig {text!r}: choose one of {choices}, or give a path to a rig JSON file"
            )
    return load_rig_file(path)


def load_rig_file(path: str | os.PathLike[str]) -> Rig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RigError(f"{path}: cannot read rig file: {exc.strerror or exc}") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RigError(f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    return Rig.parse(obj, source=str(path))


@functools.cache
def deployed_rig() -> Rig:
    """The rig the Pulumi program bundled with the Lambdas, read once per container.

    :data:`RIG_FILE_ENV` names the file, relative to ``LAMBDA_TASK_ROOT`` (where
    Lambda unpacks the archive). Without it the handlers cannot validate anything,
    so a missing or unreadable file raises instead of running without checks.
    Only the Lambda entry points call this; everything else is given its rig.
    """
    path = os.environ.get(RIG_FILE_ENV)
    if not path:
        raise RigError(
            f"{RIG_FILE_ENV} is not set: the Lambda needs the rig file that the Pulumi "
            "program bundles with it (redeploy the stack)"
        )
    root = Path(os.environ.get("LAMBDA_TASK_ROOT", "."))
    try:
        return load_rig_file(root / path)
    except RigError as exc:
        raise RigError(f"{RIG_FILE_ENV}={path}: {exc}") from exc


class _RigParser:
    """Walks a rig object once, naming the exact field of every problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> RigError:
        return RigError(f"{self.source}: {where}: {message}")

    def rig(self, obj: Any) -> Rig:
        if not isinstance(obj, dict):
            raise self.fail("top level", f"expected an object, got {type(obj).__name__}")
        name = obj.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", "expected a non-empty string")
        description = obj.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", "expected a string")
        raw_keypoints = obj.get("keypoints")
        if not isinstance(raw_keypoints, list) or not raw_keypoints:
            raise self.fail("keypoints", "expected a non-empty list")
        keypoints = [self.keypoint(kp, f"keypoints[{i}]") for i, kp in enumerate(raw_keypoints)]
        labels: dict[str, int] = {}
        for i, kp in enumerate(keypoints):
            if kp.label in labels:
                raise self.fail(
                    f"keypoints[{i}].label",
                    f"duplicate label {kp.label!r} (also keypoints[{labels[kp.label]}])",
                )
            labels[kp.label] = i
        keypoints = self.mirrors(keypoints, labels)
        raw_skeleton = obj.get("skeleton", [])
        if not isinstance(raw_skeleton, list):
            raise self.fail("skeleton", "expected a list of [label, label, colour?]")
        skeleton = tuple(self.bone(b, f"skeleton[{i}]", labels) for i, b in enumerate(raw_skeleton))
        box = None
        if obj.get("bounding_box") is not None:
            box = self.box(obj["bounding_box"])
        return Rig(name.strip(), tuple(keypoints), skeleton, box, description)

    def keypoint(self, obj: Any, where: str) -> KeypointClass:
        if not isinstance(obj, dict):
            raise self.fail(where, "expected an object with label, x and y")
        label = obj.get("label")
        if not isinstance(label, str) or not label.strip():
            raise self.fail(f"{where}.label", "expected a non-empty string")
        if label != label.strip():
            raise self.fail(f"{where}.label", f"{label!r} has leading or trailing spaces")
        x = self.number(obj.get("x"), f"{where}.x")
        y = self.number(obj.get("y"), f"{where}.y")
        default_sigma = COCO_SIGMAS.get(label, DEFAULT_SIGMA)
        sigma = self.number(obj.get("sigma", default_sigma), f"{where}.sigma")
        if sigma <= 0:
            raise self.fail(f"{where}.sigma", f"must be positive, got {sigma}")
        color = self.color(obj.get("color"), f"{where}.color")
        mirror = obj.get("mirror")
        if mirror is not None and (not isinstance(mirror, str) or not mirror):
            raise self.fail(f"{where}.mirror", "expected a keypoint label")
        return KeypointClass(label, x, y, sigma, color, mirror)

    def mirrors(
        self, keypoints: list[KeypointClass], labels: dict[str, int]
    ) -> list[KeypointClass]:
        """Fill in left/right counterparts and check that explicit ones agree."""
        mirror: dict[str, str] = {}
        for i, kp in enumerate(keypoints):
            if kp.mirror is None:
                continue
            if kp.mirror not in labels:
                raise self.fail(f"keypoints[{i}].mirror", f"{kp.mirror!r} is not a keypoint label")
            if kp.mirror == kp.label:
                raise self.fail(f"keypoints[{i}].mirror", "a keypoint cannot mirror itself")
            mirror[kp.label] = kp.mirror
        for label, other in list(mirror.items()):
            back = mirror.setdefault(other, label)
            if back != label:
                raise self.fail(
                    f"keypoints[{labels[other]}].mirror",
                    f"{other!r} mirrors {back!r}, but {label!r} mirrors {other!r}",
                )
        for kp in keypoints:
            if kp.label in mirror:
                continue
            for prefix, opposite in _SIDE_PREFIXES:
                if kp.label.startswith(prefix):
                    candidate = opposite + kp.label[len(prefix) :]
                    if candidate in labels and candidate not in mirror:
                        mirror[kp.label] = candidate
                        mirror[candidate] = kp.label
        return [
            KeypointClass(k.label, k.x, k.y, k.sigma, k.color, mirror.get(k.label))
            for k in keypoints
        ]

    def bone(self, obj: Any, where: str, labels: Mapping[str, int]) -> Bone:
        if not isinstance(obj, list) or len(obj) not in (2, 3):
            raise self.fail(where, "expected [label, label] or [label, label, colour]")
        for j in (0, 1):
            if not isinstance(obj[j], str):
                raise self.fail(f"{where}[{j}]", "expected a keypoint label")
            if obj[j] not in labels:
                raise self.fail(f"{where}[{j}]", f"{obj[j]!r} is not defined in keypoints")
        if obj[0] == obj[1]:
            raise self.fail(where, f"a line needs two different keypoints, got {obj[0]!r} twice")
        color = self.color(obj[2] if len(obj) == 3 else None, f"{where}[2]")
        return Bone(obj[0], obj[1], color)

    def box(self, obj: Any) -> BoundingBox:
        if not isinstance(obj, dict):
            raise self.fail("bounding_box", "expected an object with left, top, right, bottom")
        values = {
            k: self.number(obj.get(k), f"bounding_box.{k}")
            for k in ("left", "top", "right", "bottom")
        }
        if values["right"] <= values["left"] or values["bottom"] <= values["top"]:
            raise self.fail("bounding_box", "right must exceed left and bottom must exceed top")
        return BoundingBox(**values)

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"expected a number, got {json.dumps(value)}")
        if not math.isfinite(value):
            raise self.fail(where, f"expected a finite number, got {value}")
        return value

    def color(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _COLOR.fullmatch(value):
            raise self.fail(where, f"expected a colour like '#D62728', got {json.dumps(value)}")
        return value
