"""The Lambda deployment archive: the ``handlers`` package plus the deployed rig.

Built byte-for-byte reproducibly: entries sorted, fixed timestamps and
permissions, and stored rather than deflated, so the bytes (and the code hash
Pulumi compares) depend only on the files' contents, not on the machine, its
clock or its zlib. Unchanged code therefore never shows a diff. The handlers are
a few dozen kilobytes, so compression would save nothing that matters.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handlers.rig import RIG_FILE_ENV, Rig

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
#: Where the rig lands inside the archive (and so under ``LAMBDA_TASK_ROOT``).
RIG_FILE = "pose_labeling_rig.json"
#: The modules Ground Truth's two hooks run; each must define ``lambda_handler``.
HANDLER_MODULES = ("pre_annotation", "post_annotation")
#: The self-hosted runner's task service (API Gateway's Lambda), shipped in the same archive.
TASK_API_MODULE = "task_api"

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--


@dataclass(frozen=True)
class LambdaArchive:
    """A built archive: its bytes, and the environment the functions need to find the rig."""

    data: bytes

    @property
    def code_hash(self) -> str:
        """Base64 SHA-256 of the archive, the form Lambda's ``source_code_hash`` expects."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode("ascii")

    @property
    def environment(self) -> dict[str, str]:
        return {RIG_FILE_ENV: RIG_FILE}

    def write(self, build_dir: Path) -> Path:
        """Save under a content-addressed name, so stacks with different rigs never collide."""
        digest = hashlib.sha256(self.data).hexdigest()[:16]
        path = build_dir / f"annotation-lambdas-{digest}.zip"
        if not path.is_file() or path.read_bytes() != self.data:
            build_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.data)
        return path


def package_files(package_dir: Path = HANDLERS_DIR) -> list[Path]:
    """Every file of the package, bytecode caches and hidden files left out, in sorted order."""
    return sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
        and not any(part.startswith(".") for part in p.relative_to(package_dir).parts)
    )


def build_archive(
    rig: Rig,
    package_dir: Path | None = None,
    handler_modules: Sequence[str] = HANDLER_MODULES,
) -> LambdaArchive:
    """Zip the package (as ``<package name>/...``) and the rig; a missing handler fails here.

    ``handler_modules`` are the modules the stack's functions run (the self-hosted
    runner adds ``TASK_API_MODULE``); ``package_dir`` defaults to ``HANDLERS_DIR``.
    """
    package_dir = package_dir or HANDLERS_DIR
    missing = [m for m in handler_modules if not (package_dir / f"{m}.py").is_file()]
    if missing:
        names = ", ".join(f"{package_dir.name}/{m}.py" for m in missing)
        raise FileNotFoundError(
            f"{names} not found: the Lambda handlers must exist before the stack can be"
            " deployed (each defines lambda_handler(event, context))"
        )
    entries = [
        (f"{package_dir.name}/{p.relative_to(package_dir).as_posix()}", p.read_bytes())
        for p in package_files(package_dir)
    ]
    rig_json = json.dumps(rig.to_jsonable(), indent=2, ensure_ascii=False) + "\n"
    entries.append((RIG_FILE, rig_json.encode("utf-8")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # Unix, whatever machine builds it
            archive.writestr(info, data)
    return LambdaArchive(buffer.getvalue())
