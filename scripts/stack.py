"""Read the deployed stack's outputs: ``pulumi stack output --json`` or a file with the same JSON.

Every script takes ``--stack NAME`` (default: the currently selected stack) or
``--stack-outputs FILE``; the file form is how tests feed outputs and how a
machine without the Pulumi CLI runs the scripts
(``pulumi stack output --json > outputs.json`` on one that has it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from components.stack_outputs import StackOutputs
from scripts.cli import UserError

PULUMI_TIMEOUT_SECONDS = 120


class StackOutputsError(UserError):
    """The outputs could not be read; the message says which source failed and how."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stack outputs")
    source = group.add_mutually_exclusive_group()
    source.add_argument(
        "--stack",
        metavar="NAME",
        help="Pulumi stack to read outputs from (default: the selected stack)",
    )
    source.add_argument(
        "--stack-outputs",
        metavar="FILE",
        type=Path,
        help="read the outputs from FILE, the JSON printed by `pulumi stack output --json`",
    )


def read(args: argparse.Namespace, *, pulumi: str = "pulumi") -> StackOutputs:
    """The outputs named by ``--stack-outputs`` or, failing that, ``--stack``."""
    if args.stack_outputs is not None:
        return from_file(args.stack_outputs)
    return from_pulumi(args.stack, pulumi=pulumi)


def from_file(path: Path) -> StackOutputs:
    where = f"--stack-outputs {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StackOutputsError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StackOutputsError(
            f"{where}: not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from exc
    return parse(values, source=where)


def from_pulumi(stack: str | None, *, pulumi: str = "pulumi") -> StackOutputs:
    command = [pulumi, "stack", "output", "--json", *(["--stack", stack] if stack else [])]
    shown = " ".join(command[1:])
    executable = shutil.which(pulumi)
    if executable is None:
        raise StackOutputsError(
            f"cannot run `{pulumi}`: not found on PATH. Install the Pulumi CLI, or pass"
            f" --stack-outputs FILE with the JSON of `pulumi stack output --json`"
        )
    try:
        done = subprocess.run(
            [executable, *command[1:]],
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackOutputsError(
            f"`pulumi {shown}` did not answer within {PULUMI_TIMEOUT_SECONDS} s"
        ) from exc
    if done.returncode != 0:
        stderr = done.stderr.strip() or "(no message on stderr)"
        raise StackOutputsError(f"`pulumi {shown}` failed (exit {done.returncode}): {stderr}")
    try:
        values = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        head = done.stdout.strip()[:120] or "(nothing)"
        raise StackOutputsError(
            f"`pulumi {shown}` printed something that is not JSON: {head!r}"
        ) from exc
    return parse(values, source=f"`pulumi {shown}`")


def parse(values: Any, *, source: str) -> StackOutputs:
    if not isinstance(values, dict):
        raise StackOutputsError(
            f"{source}: expected a JSON object of outputs, got {type(values).__name__}"
        )
    try:
        return StackOutputs.from_mapping(values, source=source)
    except ValueError as exc:
        raise StackOutputsError(str(exc)) from exc
