"""Upload a folder of images to S3 concurrently, resuming where an earlier run stopped.

Resume compares each file with the object already at its key by **size and
SHA-256**. The SHA-256 of the whole file is stored in the object's metadata
(``x-amz-meta-sha256``) at upload; it is read back with one HEAD request per
object whose listed size matches. Neither of S3's own values would do: the ETag
is the MD5 of the file only for single-part uploads without SSE-KMS (a
multipart ETag is an MD5 of part MD5s, ``…-N``), and S3's ``ChecksumSHA256``
of a multipart upload is likewise a checksum of part checksums, so neither can
be compared with a local digest without knowing how the object was uploaded.

An object at the key that differs (or carries no digest, so cannot be proved
equal) is never silently replaced: the run stops before uploading anything and
names it, unless the caller allows overwriting. A file that fails to upload is
reported by name; the others still finish, and the next run uploads only the
missing ones.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError
from s3transfer.subscribers import BaseSubscriber
from tqdm import tqdm

from scripts.s3 import is_image, list_objects

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: The object metadata key holding the file's SHA-256 (sent as ``x-amz-meta-sha256``).
SHA256_METADATA = "sha256"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalImage:
    path: Path
    #: Path relative to the folder, with "/" separators: the S3 key's suffix and the image's name.
    name: str
    size: int


@dataclass(frozen=True)
class Conflict:
    image: LocalImage
    reason: str


@dataclass
class UploadPlan:
    #: Images to upload, with their SHA-256 digests.
    to_upload: list[tuple[LocalImage, str]] = field(default_factory=list)
    #: Images already in S3 with the same size and SHA-256.
    present: list[LocalImage] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def upload_bytes(self) -> int:
        return sum(image.size for image, _ in self.to_upload)


@dataclass(frozen=True)
class UploadFailure:
    image: LocalImage
    error: str


def find_images(folder: Path) -> tuple[list[LocalImage], list[str]]:
    """The images under ``folder`` (recursively, by name) and the other files' names."""
    images: list[LocalImage] = []
    others: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(folder).as_posix()
        if is_image(name):
            images.append(LocalImage(path, name, path.stat().st_size))
        else:
            others.append(name)
    return images, others


def is_utf8(name: str) -> bool:
    """False for a file name whose bytes are not UTF-8 (Python keeps them as surrogates).

    S3 keys and the manifest are UTF-8, so such a file cannot be uploaded or listed.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """A file name fit to print, its undecodable bytes written as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def plan_upload(
    client: S3Client,
    images: list[LocalImage],
    bucket: str,
    prefix: str,
    *,
    concurrency: int,
    overwrite: bool = False,
) -> UploadPlan:
    """Hash every file and compare it with what is already under ``prefix``."""
    existing = {obj.key: obj.size for obj in list_objects(client, bucket, prefix)}

    def check(image: LocalImage) -> tuple[LocalImage, str, str | None]:
        """(image, local digest, why it conflicts or None); 'same' when already uploaded."""
        digest = sha256_of(image.path)
        key = prefix + image.name
        if key not in existing:
            return image, digest, None
        if existing[key] != image.size:
            return image, digest, f"size {existing[key]} in S3, {image.size} here"
        remote = _remote_sha256(client, bucket, key)
        if remote == digest:
            return image, digest, "same"
        if remote is None:
            return image, digest, "same size, but no sha256 metadata to compare"
        return image, digest, "same size, different SHA-256"

    plan = UploadPlan()
    with (
        ThreadPoolExecutor(max_workers=concurrency) as pool,
        tqdm(total=len(images), desc="checking", unit="file", disable=None) as bar,
    ):
        for image, digest, verdict in pool.map(check, images):
            bar.update()
            if verdict is None:
                plan.to_upload.append((image, digest))
            elif verdict == "same":
                plan.present.append(image)
            elif overwrite:
                plan.to_upload.append((image, digest))
            else:
                plan.conflicts.append(Conflict(image, verdict))
    return plan


def _remote_sha256(client: S3Client, bucket: str, key: str) -> str | None:
    head = client.head_object(Bucket=bucket, Key=key)
    return head.get("Metadata", {}).get(SHA256_METADATA)


def upload(
    client: S3Client,
    items: Iterable[tuple[LocalImage, str]],
    bucket: str,
    prefix: str,
    *,
    concurrency: int,
    total_bytes: int | None = None,
) -> list[UploadFailure]:
    """Upload with boto3's transfer manager; every failure is returned, none is raised."""
    config = TransferConfig(
        max_concurrency=concurrency,
        use_threads=concurrency > 1,
        preferred_transfer_client="classic",
    )
    failures: list[UploadFailure] = []
    with (
        tqdm(total=total_bytes, desc="uploading", unit="B", unit_scale=True, disable=None) as bar,
        create_transfer_manager(client, config) as manager,
    ):
        progress = _Progress(bar.update)
        submitted = []
        for image, digest in items:
            extra: dict[str, Any] = {"Metadata": {SHA256_METADATA: digest}}
            content_type = mimetypes.guess_type(image.name)[0]
            if content_type:
                extra["ContentType"] = content_type
            future = manager.upload(str(image.path), bucket, prefix + image.name, extra, [progress])
            submitted.append((image, future))
        for image, future in submitted:
            try:
                future.result()
            except ClientError as exc:
                error = exc.response.get("Error", {})
                failures.append(
                    UploadFailure(image, f"{error.get('Code')}: {error.get('Message')}")
                )
            except Exception as exc:  # any transport or file error: report it, keep going
                failures.append(UploadFailure(image, f"{type(exc).__name__}: {exc}"))
    return failures


class _Progress(BaseSubscriber):
    """Feeds byte counts from the transfer threads into one progress bar."""

    def __init__(self, update: Callable[[int], object]) -> None:
        self._update = update
        self._lock = threading.Lock()

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        with self._lock:
            self._update(bytes_transferred)
