"""A moto S3 server in its own process, for the scripts' benchmarks.

The server runs apart from the program being measured, so its CPU and memory
do not count against it (on a machine with two cores, the two run side by
side). Objects can be created directly in the server's backend, which is much
faster than 100,000 PUT requests and does not change what a listing costs.

``python -m benchmarks.moto_process BUCKET PREFIX COUNT [LATENCY_MS]`` starts
the server, creates COUNT objects named PREFIX000000.jpg …, prints
``READY <port>`` and serves until its standard input closes. With LATENCY_MS,
every response waits that long first, like a request that crosses a network
to S3 (tens of milliseconds) instead of the loopback.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

ACCOUNT = "123456789012"  # moto's account for any credentials
REGION = "us-east-1"


@contextmanager
def moto_server(
    bucket: str, prefix: str = "", count: int = 0, latency_ms: float = 0
) -> Iterator[str]:
    """Yield the endpoint URL of a moto server process holding ``count`` objects."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.moto_process",
            *(bucket, prefix, str(count), str(latency_ms)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the server logs every request
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if line[:1] != ["READY"]:
            raise RuntimeError(f"moto server did not start: {line}")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def _serve(bucket: str, prefix: str, count: int, latency_ms: float) -> None:
    import threading
    import time
    from typing import Any

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.s3.models import s3_backends
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)

    def delayed(environ: Any, start_response: Any) -> Any:
        time.sleep(latency_ms / 1000)
        return app(environ, start_response)

    server = make_server(
        "127.0.0.1",
        0,
        delayed if latency_ms else app,
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backend = s3_backends[ACCOUNT]["aws"]
    backend.create_bucket(bucket, REGION)
    for i in range(count):
        backend.put_object(bucket, f"{prefix}{i:06d}.jpg", b"x")
    print(f"READY {server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
