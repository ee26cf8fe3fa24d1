"""S3 addresses and listings: ``s3://bucket/key`` parsing and paginated prefix listings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts.cli import UserError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Image types Ground Truth shows workers (the browser decodes them; the UI reads natural size).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, text: str, *, what: str = "S3 URI") -> S3Uri:
        if not text.startswith("s3://"):
            raise UserError(f"{what} {text!r}: expected s3://bucket/key")
        bucket, _, key = text[len("s3://") :].partition("/")
        if not bucket:
            raise UserError(f"{what} {text!r}: no bucket name")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, name: str) -> S3Uri:
        return S3Uri(self.bucket, f"{self.key}{name}")


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def list_objects(client: S3Client, bucket: str, prefix: str) -> Iterator[S3Object]:
    """Every object under ``prefix``, a page (up to 1,000 keys) at a time, in key order."""
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield S3Object(item["Key"], item["Size"])


def list_images(client: S3Client, prefix: S3Uri) -> tuple[list[str], int]:
    """The images under ``prefix`` by name (their key after the prefix), in key order, and
    how many other objects were passed over (folder markers are not counted)."""
    names: list[str] = []
    skipped = 0
    for obj in list_objects(client, prefix.bucket, prefix.key):
        name = obj.key[len(prefix.key) :]
        if is_image(name):
            names.append(name)
        elif not obj.key.endswith("/"):
            skipped += 1
    return names, skipped
