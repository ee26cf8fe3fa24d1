"""The self-hosted runner's worker portal: its files, read and checked before any resource.

Every file under ``assets/portal/`` and our ``crowd-form`` (``assets/crowd-form.js``)
is uploaded to the bucket under ``portal/`` and served by the stack's CloudFront
distribution under ``/portal/*``. The stack also writes ``portal/config.json`` (the
API URL, the sign-in domain and client) once the API exists, so the portal must not
bring a file of that name.

Every portal object is sent with ``Cache-Control: no-cache``: browsers and CloudFront
revalidate each file with S3 (a conditional request, 304 when unchanged), so the
files keep their plain names, the page can name them as it likes, and a ``pulumi up``
reaches workers on their next page load. The portal is a few small files, so the
revalidation costs nothing that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.s3_layout import PORTAL_CONFIG_KEY, PORTAL_PREFIX

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
#: The portal page and the scripts it loads (the task service's half of issue 18).
PORTAL_DIR = ASSETS_DIR / "portal"
#: Our complete ``crowd-form``, which the rendered worker template submits through.
CROWD_FORM_PATH = ASSETS_DIR / "crowd-form.js"
#: The page CloudFront answers ``/portal/`` with.
INDEX_FILE = "index.html"
CACHE_CONTROL = "no-cache"
#: What each kind of file is served as. Fixed here rather than taken from ``mimetypes``,
#: whose answers change with the Python version and the machine's /etc/mime.types, which
#: would show a diff whenever someone else deploys.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


@dataclass(frozen=True)
class PortalFile:
    path: Path
    #: Where it lands in the bucket (and so its URL under the distribution).
    key: str
    content_type: str


@dataclass(frozen=True)
class PortalBundle:
    """The portal's files, each with its key and content type, in key order."""

    files: tuple[PortalFile, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key CloudFront may read for the portal: the files and the stack's config."""
        return (*(f.key for f in self.files), PORTAL_CONFIG_KEY)

    @classmethod
    def read(cls, portal_dir: Path | None = None, crowd_form: Path | None = None) -> PortalBundle:
        """Check the portal before deploying; a problem is one line naming the file."""
        portal_dir = portal_dir or PORTAL_DIR
        crowd_form = crowd_form or CROWD_FORM_PATH
        if not (portal_dir / INDEX_FILE).is_file():
            raise pulumi.RunError(
                f"{portal_dir / INDEX_FILE}: the worker portal's page is missing; the"
                " self-hosted runner serves it to workers, so it must exist before `pulumi up`"
            )
        if not crowd_form.is_file() or not crowd_form.read_bytes().strip():
            raise pulumi.RunError(
                f"{crowd_form}: the portal's crowd-form is missing or empty; the worker"
                " template submits through it"
            )
        sources = {
            f"{PORTAL_PREFIX}{p.relative_to(portal_dir).as_posix()}": p for p in _files(portal_dir)
        }
        if PORTAL_CONFIG_KEY in sources:
            raise pulumi.RunError(
                f"{sources[PORTAL_CONFIG_KEY]}: remove it from the portal; the stack writes"
                f" {PORTAL_CONFIG_KEY} itself, with the deployed API and sign-in settings"
            )
        crowd_form_key = f"{PORTAL_PREFIX}{crowd_form.name}"
        if crowd_form_key in sources:
            raise pulumi.RunError(
                f"{sources[crowd_form_key]}: remove it from the portal; {crowd_form} is"
                f" uploaded as {crowd_form_key}"
            )
        sources[crowd_form_key] = crowd_form
        return cls(
            tuple(PortalFile(p, key, _content_type(p)) for key, p in sorted(sources.items()))
        )


def _files(portal_dir: Path) -> list[Path]:
    """Every file of the portal, hidden files (an editor's or the OS's) left out."""
    return [
        p
        for p in portal_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(portal_dir).parts)
    ]


def _content_type(path: Path) -> str:
    try:
        return CONTENT_TYPES[path.suffix.lower()]
    except KeyError:
        raise pulumi.RunError(
            f"{path}: the portal cannot serve a {path.suffix or 'extension-less'} file; use one"
            f" of {', '.join(sorted(CONTENT_TYPES))}"
        ) from None
