"""Download the example images: ten sports photos from Open Images (Flickr, CC BY 2.0).

The list (scripts/example_images.csv) is the published workflow's example set,
with each image's URL, MD5, size, licence and author. Every file is checked
against its MD5; files already downloaded and verified are skipped, so running
again resumes. ATTRIBUTION.md, written beside the images, credits each author
as the licence requires.

examples:
  .venv/bin/python -m scripts.download_example_images
  .venv/bin/python -m scripts.download_example_images --out example-images --timeout 60 --retries 5
  .venv/bin/python -m scripts.launch_job example-images --dry-run --workteam-arn ARN

CSV columns: file_name,url,md5,size,license,author,author_url,title,source_page
(md5 in hex; size in bytes, optional; lines starting with # are comments).
Prints one line per image to stdout; exits 1 when any image could not be fetched.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import random
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from scripts import gt_limits
from scripts.cli import EXIT_FAILURE, ArgumentParser, UserError, run

PROG = "python -m scripts.download_example_images"
DEFAULT_CSV = Path(__file__).with_name("example_images.csv")
DEFAULT_OUT = Path("example-images")
ATTRIBUTION = "ATTRIBUTION.md"
COLUMNS = ("file_name", "url", "md5", "size", "license", "author", "author_url", "title")
USER_AGENT = "pose-labeling/0.1 (download_example_images)"
_MD5 = re.compile(r"[0-9a-f]{32}")
_CHUNK = 1 << 16
#: Retried: the server or the network may do better next time.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ExampleImage:
    file_name: str
    url: str
    md5: str
    size: int | None
    license: str
    author: str
    author_url: str
    title: str
    source_page: str


class Unreachable(Exception):
    """The host could not be reached at all (DNS, refused, no route): maybe offline."""


class DownloadFailed(Exception):
    pass


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(PROG, __doc__)
    parser.add_argument(
        "--csv",
        type=Path,
        default=DEFAULT_CSV,
        metavar="FILE",
        help="the list of images (default: scripts/example_images.csv)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"where the images and {ATTRIBUTION} go (default: {DEFAULT_OUT}/)",
    )
    parser.add_argument(
        "--timeout",
        type=gt_limits.integer(1, 600),
        default=30,
        metavar="SECONDS",
        help="give up on a connection or read after this long (default: 30)",
    )
    parser.add_argument(
        "--retries",
        type=gt_limits.integer(0, 10),
        default=3,
        metavar="N",
        help="retries per image after a network error or 5xx, with backoff (default: 3)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: download_all(args, sleep))


def download_all(args: argparse.Namespace, sleep: Callable[[float], None]) -> int:
    images = read_catalog(args.csv)
    args.out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    fetched = 0
    for image in images:
        target = args.out / image.file_name
        if target.is_file() and md5_of(target) == image.md5:
            print(f"present     {image.file_name}")
            continue
        try:
            size = fetch(image, target, timeout=args.timeout, retries=args.retries, sleep=sleep)
        except Unreachable as exc:
            if fetched == 0:
                # Nothing has come through yet: most likely no network, so say that once
                # rather than waiting through every image's retries.
                raise UserError(
                    f"cannot reach {exc}; are you offline? The example images are optional:"
                    " launch_job and the offline preview work with any folder of images"
                ) from None
            failed.append(image.file_name)
            print(f"{PROG}: {image.file_name}: cannot reach {exc}", file=sys.stderr)
        except DownloadFailed as exc:
            failed.append(image.file_name)
            print(f"{PROG}: {image.file_name}: {exc}", file=sys.stderr)
        else:
            fetched += 1
            print(f"downloaded  {image.file_name} ({size:,} bytes)")
    write_attribution(args.out, [i for i in images if (args.out / i.file_name).is_file()])
    if failed:
        print(
            f"{PROG}: error: {len(failed)} of {len(images)} images failed ({', '.join(failed)});"
            " run again to retry them",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return 0


def read_catalog(path: Path) -> list[ExampleImage]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--csv {path}: cannot read: {exc.strerror or exc}") from None
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    reader = csv.DictReader(lines)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"--csv {path}: missing columns {', '.join(missing)}")
    images = []
    names: set[str] = set()
    for number, row in enumerate(reader, start=1):
        where = f"--csv {path}: image {number}"
        name = (row["file_name"] or "").strip()
        if not name or Path(name).name != name or name.startswith(".") or "\\" in name:
            raise UserError(f"{where}: file_name {name!r} must be a plain file name")
        if name in names:
            raise UserError(f"{where}: file_name {name!r} appears twice")
        names.add(name)
        url = (row["url"] or "").strip()
        if not url.startswith(("https://", "http://")):
            raise UserError(f"{where}: url {url!r} must start with https:// or http://")
        md5 = (row["md5"] or "").strip().lower()
        if not _MD5.fullmatch(md5):
            raise UserError(f"{where}: md5 {md5!r} must be 32 hex digits")
        size_text = (row["size"] or "").strip()
        if size_text and not size_text.isdigit():
            raise UserError(f"{where}: size {size_text!r} must be a number of bytes")
        images.append(
            ExampleImage(
                file_name=name,
                url=url,
                md5=md5,
                size=int(size_text) if size_text else None,
                license=(row["license"] or "").strip(),
                author=(row["author"] or "").strip(),
                author_url=(row["author_url"] or "").strip(),
                title=(row["title"] or "").strip(),
                source_page=(row.get("source_page") or "").strip(),
            )
        )
    if not images:
        raise UserError(f"--csv {path}: no images listed")
    return images


def fetch(
    image: ExampleImage,
    target: Path,
    *,
    timeout: float,
    retries: int,
    sleep: Callable[[float], None],
) -> int:
    """Download to ``target`` through a ``.part`` file; the MD5 must match before it is kept."""
    partial = target.with_name(target.name + ".part")
    for attempt in range(retries + 1):
        try:
            digest, size = _download(image.url, partial, timeout=timeout)
        except _Transient as exc:
            partial.unlink(missing_ok=True)
            if attempt == retries:
                if exc.unreachable:
                    raise Unreachable(f"{_host(image.url)} ({exc})") from None
                raise DownloadFailed(f"{exc} (after {retries + 1} attempts)") from None
            sleep(_backoff(attempt))
            continue
        if image.size is not None and size != image.size:
            partial.unlink(missing_ok=True)
            raise DownloadFailed(f"got {size:,} bytes, expected {image.size:,}; file not kept")
        if digest != image.md5:
            partial.unlink(missing_ok=True)
            raise DownloadFailed(f"MD5 {digest} does not match {image.md5}; file not kept")
        partial.replace(target)
        return size
    raise AssertionError("unreachable")  # the loop returns or raises


class _Transient(Exception):
    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _download(url: str, partial: Path, *, timeout: float) -> tuple[str, int]:
    # read_catalog admits only http(s) URLs, so no file: or custom scheme reaches here.
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,  # noqa: S310
            partial.open("wb") as out,
        ):
            expected = response.headers.get("Content-Length")
            total = int(expected) if expected and expected.isdigit() else None
            with tqdm(
                total=total, desc=partial.stem, unit="B", unit_scale=True, disable=None, leave=False
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
            if total is not None and size < total:
                raise _Transient(f"connection closed after {size:,} of {total:,} bytes")
    except urllib.error.HTTPError as exc:
        if exc.code in _RETRY_STATUS:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadFailed(f"HTTP {exc.code} {exc.reason} from {url}") from None
    except urllib.error.URLError as exc:
        # DNS failure, refused connection, no route, connect timeout: the host is out of reach.
        unreachable = isinstance(exc.reason, OSError)
        raise _Transient(str(exc.reason), unreachable=unreachable) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from None
    return digest.hexdigest(), size


def _backoff(attempt: int) -> float:
    """1 s, 2 s, 4 s … plus up to 0.5 s of jitter, so retries do not arrive in step."""
    return float(2**attempt) + random.uniform(0, 0.5)  # noqa: S311 (jitter, not security)


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|])")
_CC_LICENSE = re.compile(r"creativecommons\.org/licenses/([a-z-]+)/([0-9.]+)")


def write_attribution(out: Path, images: list[ExampleImage]) -> None:
    lines = [
        "# Image credits",
        "",
        "Downloaded by `python -m scripts.download_example_images` from the list in"
        " `scripts/example_images.csv`.",
        "",
    ]
    for image in images:
        title = _md(image.title) or "untitled"
        author = (
            f"[{_md(image.author)}](<{image.author_url}>)"
            if image.author_url
            else _md(image.author)
        )
        source = f", [source](<{image.source_page}>)" if image.source_page else ""
        lines.append(
            f"- `{image.file_name}`: “{title}” by {author},"
            f" licensed under [{_license_name(image.license)}](<{image.license}>){source}"
        )
    (out / ATTRIBUTION).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _md(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _license_name(url: str) -> str:
    match = _CC_LICENSE.search(url)
    return f"CC {match.group(1).upper()} {match.group(2)}" if match else url


if __name__ == "__main__":
    raise SystemExit(main())
