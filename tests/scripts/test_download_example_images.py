"""download_example_images against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts import download_example_images as download

FILES = {"one.jpg": b"\xff\xd8first image\xff\xd9", "two.jpg": b"\xff\xd8second image\xff\xd9"}


class Server:
    """Serves FILES; ``fail_first`` paths answer 503 once; every request is counted."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.fail_first: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                name = self.path.lstrip("/")
                if name in outer.fail_first:
                    outer.fail_first.discard(name)
                    self.send_error(503, "busy")
                    return
                if name not in FILES:
                    self.send_error(404, "not here")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(FILES[name])))
                self.end_headers()
                self.wfile.write(FILES[name])

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()


@pytest.fixture(autouse=True)
def fresh(server: Server) -> None:
    server.requests.clear()
    server.fail_first.clear()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def catalog(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as stream:
        stream.write("# test catalogue\n")
        writer = csv.DictWriter(stream, fieldnames=[*download.COLUMNS, "source_page"])
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def row(name: str, url: str, md5: str | None = None, size: int | None = None) -> dict[str, str]:
    body = FILES.get(name, b"")
    return {
        "file_name": name,
        "url": url,
        "md5": md5 or hashlib.md5(body, usedforsecurity=False).hexdigest(),
        "size": str(len(body) if size is None else size),
        "license": "https://creativecommons.org/licenses/by/2.0/",
        "author": "A. [Photographer]",
        "author_url": "https://www.flickr.com/people/someone/",
        "title": "Match *day*",
        "source_page": "https://www.flickr.com/photos/someone/1",
    }


def run(tmp_path: Path, rows: list[dict[str, str]], *extra: str) -> tuple[int, list[float]]:
    sleeps: list[float] = []
    code = download.main(
        [
            "--csv",
            str(catalog(tmp_path / "images.csv", rows)),
            "--out",
            str(tmp_path / "out"),
            *extra,
        ],
        sleep=sleeps.append,
    )
    return code, sleeps


def test_download_verifies_and_writes_attribution(
    server: Server, tmp_path: Path, capsys: Any
) -> None:
    code, _ = run(
        tmp_path, [row("one.jpg", f"{server.url}/one.jpg"), row("two.jpg", f"{server.url}/two.jpg")]
    )

    assert code == 0
    assert (tmp_path / "out" / "one.jpg").read_bytes() == FILES["one.jpg"]
    assert (tmp_path / "out" / "two.jpg").read_bytes() == FILES["two.jpg"]
    assert capsys.readouterr().out.splitlines() == [
        f"downloaded  one.jpg ({len(FILES['one.jpg'])} bytes)",
        f"downloaded  two.jpg ({len(FILES['two.jpg'])} bytes)",
    ]
    attribution = (tmp_path / "out" / "ATTRIBUTION.md").read_text()
    assert (
        "- `one.jpg`: “Match \\*day\\*” by [A. \\[Photographer\\]](<https://www.flickr.com/people/someone/>),"
        " licensed under [CC BY 2.0](<https://creativecommons.org/licenses/by/2.0/>),"
        " [source](<https://www.flickr.com/photos/someone/1>)"
    ) in attribution


def test_download_resumes_skipping_verified_files(
    server: Server, tmp_path: Path, capsys: Any
) -> None:
    rows = [row("one.jpg", f"{server.url}/one.jpg"), row("two.jpg", f"{server.url}/two.jpg")]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "one.jpg").write_bytes(FILES["one.jpg"])
    (tmp_path / "out" / "two.jpg").write_bytes(b"truncated")

    code, _ = run(tmp_path, rows)

    assert code == 0
    assert server.requests == ["/two.jpg"]
    assert (tmp_path / "out" / "two.jpg").read_bytes() == FILES["two.jpg"]
    assert capsys.readouterr().out.splitlines()[0] == "present     one.jpg"


def test_download_wrong_md5_is_not_kept(server: Server, tmp_path: Path, capsys: Any) -> None:
    rows = [
        row("one.jpg", f"{server.url}/one.jpg", md5="0" * 32),
        row("two.jpg", f"{server.url}/two.jpg"),
    ]

    code, _ = run(tmp_path, rows)

    err = capsys.readouterr().err
    actual = hashlib.md5(FILES["one.jpg"], usedforsecurity=False).hexdigest()
    assert code == 1
    assert f"one.jpg: MD5 {actual} does not match {'0' * 32}; file not kept" in err
    assert "1 of 2 images failed (one.jpg)" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ATTRIBUTION.md", "two.jpg"]
    assert "one.jpg" not in (tmp_path / "out" / "ATTRIBUTION.md").read_text()


def test_download_retries_server_errors_with_backoff(server: Server, tmp_path: Path) -> None:
    server.fail_first.add("one.jpg")

    code, sleeps = run(tmp_path, [row("one.jpg", f"{server.url}/one.jpg")])

    assert code == 0
    assert server.requests == ["/one.jpg", "/one.jpg"]
    assert len(sleeps) == 1 and 1 <= sleeps[0] <= 1.5


def test_download_does_not_retry_not_found(server: Server, tmp_path: Path, capsys: Any) -> None:
    code, sleeps = run(
        tmp_path,
        [row("one.jpg", f"{server.url}/one.jpg"), row("gone.jpg", f"{server.url}/gone.jpg")],
    )

    assert code == 1
    assert server.requests == ["/one.jpg", "/gone.jpg"]
    assert sleeps == []
    assert "gone.jpg: HTTP 404" in capsys.readouterr().err


def test_download_unreachable_host_says_offline(tmp_path: Path, capsys: Any) -> None:
    url = f"http://127.0.0.1:{closed_port()}/one.jpg"

    code, sleeps = run(tmp_path, [row("one.jpg", url), row("two.jpg", url)], "--retries", "2")

    err = capsys.readouterr().err
    assert code == 1
    assert len(sleeps) == 2  # the first image's retries only; the second is not attempted
    assert err.count("\n") == 1
    assert err.startswith(
        "python -m scripts.download_example_images: error: cannot reach 127.0.0.1:"
    )
    assert "are you offline?" in err


def test_download_unreachable_host_after_a_success_is_one_failure(
    server: Server, tmp_path: Path, capsys: Any
) -> None:
    rows = [
        row("one.jpg", f"{server.url}/one.jpg"),
        row("two.jpg", f"http://127.0.0.1:{closed_port()}/two.jpg"),
    ]

    code, _ = run(tmp_path, rows, "--retries", "0")

    assert code == 1
    assert (tmp_path / "out" / "one.jpg").exists()
    assert "two.jpg: cannot reach 127.0.0.1" in capsys.readouterr().err


def test_catalog_rejects_path_in_file_name(tmp_path: Path, capsys: Any) -> None:
    code, _ = run(tmp_path, [row("../escape.jpg", "http://127.0.0.1/x.jpg")])

    assert code == 1
    assert "image 1: file_name '../escape.jpg' must be a plain file name" in capsys.readouterr().err


def test_catalog_rejects_other_url_schemes(tmp_path: Path, capsys: Any) -> None:
    code, _ = run(tmp_path, [row("one.jpg", "file:///etc/passwd")])

    assert code == 1
    assert "url 'file:///etc/passwd' must start with https:// or http://" in capsys.readouterr().err


def test_bundled_catalog_lists_the_ten_example_images() -> None:
    images = download.read_catalog(download.DEFAULT_CSV)

    assert len(images) == 10
    assert all(i.license == "https://creativecommons.org/licenses/by/2.0/" for i in images)
    assert all(i.author and i.author_url and i.size for i in images)
