"""What an export reads from S3 besides the manifest: images and overflow files.

An export reads an object when a local copy is missing: an image, for its size
(when the label lacks it) or its review picture; an overflow file, for the
fields the Lambda moved out of a label. With the stack's outputs it uses the
stack's region; a local manifest without them uses the default AWS credentials
and region ("when credentials allow"). A read that fails says why in a few
words, which the export puts beside the image or line it concerns. Without
credentials, the first failure is remembered: nothing is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from scripts.aws import AwsClients
from scripts.cli import UserError
from scripts.s3 import S3Uri


class S3Unreadable(Exception):
    """An object that could not be read; the message is the reason, in a few words."""


@dataclass(frozen=True)
class S3Access:
    """Whether (and in which region) an export may read S3: picklable, so that worker
    processes make their own clients."""

    enabled: bool = False
    #: None: the default region of the AWS configuration.
    region: str | None = None


NO_ACCESS = S3Access()


class S3Reader:
    """Reads objects for one process; ``clients`` (tests, or the export's own) else
    made on first use from ``access``."""

    def __init__(self, access: S3Access, clients: AwsClients | None = None) -> None:
        self.access = access
        self._clients = clients
        self._refused: str | None = None

    def read(self, uri: str) -> bytes:
        if not self.access.enabled and self._clients is None:
            raise S3Unreadable("no S3 access (no stack outputs)")
        if self._refused is not None:
            raise S3Unreadable(self._refused)
        try:
            target = S3Uri.parse(uri)
        except UserError as exc:
            raise S3Unreadable(str(exc)) from exc
        if self._clients is None:
            self._clients = AwsClients(self.access.region)
        try:
            body = self._clients.s3.get_object(Bucket=target.bucket, Key=target.key)["Body"]
            return bytes(body.read())
        except NoCredentialsError as exc:
            self._refused = "no AWS credentials found"
            raise S3Unreadable(self._refused) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "error")
            raise S3Unreadable(f"S3 {code} for {uri}") from exc
        except EndpointConnectionError as exc:
            raise S3Unreadable(f"cannot reach S3 ({exc.kwargs.get('endpoint_url')})") from exc
        except BotoCoreError as exc:
            raise S3Unreadable(f"S3: {exc}") from exc
