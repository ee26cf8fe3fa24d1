"""Run the benchmarks: ``python -m benchmarks [NAME ...]``.

Every ``benchmarks/bench_<name>.py`` module has a ``main(argv) -> int`` that
prints its figures; with no NAME all of them run. Record the output, with the
date and the machine, in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of: {', '.join(available())}"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(available()))
    if unknown:
        parser.error(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(available())}"
        )
    cpu = platform.processor() or platform.machine()
    python = platform.python_version()
    print(f"# {datetime.now(UTC):%Y-%m-%d}, {cpu}, {os.cpu_count()} cores, Python {python}")
    status = 0
    for name in args.names or available():
        print(f"\n## {name}", flush=True)
        status |= importlib.import_module(f"benchmarks.bench_{name}").main([])
    return status


if __name__ == "__main__":
    sys.exit(main())
