"""What every script shares on the command line: one-line errors and the exit codes.

A user error (a bad option, an unreadable file, an AWS refusal) is one line on
stderr naming what to fix, never a traceback; exit code 2 for bad usage, 1 for
anything that went wrong while running. Tracebacks stay for real bugs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

#: Exit codes: 0 success, 1 failure while running, 2 bad usage (argparse's own).
EXIT_FAILURE = 1
EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; its message is printed as one line."""

    exit_code = EXIT_FAILURE


class UsageError(UserError):
    """An option value that cannot work (found after parsing, e.g. against the stack)."""

    exit_code = EXIT_USAGE


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the module docstring as help and errors on one line."""

    def __init__(self, prog: str, doc: str | None) -> None:
        summary, _, details = (doc or "").strip().partition("\n")
        super().__init__(
            prog=prog,
            description=summary,
            epilog=details.strip() or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def run(prog: str, body: Callable[[], int]) -> int:
    """Run a script's body, turning user errors and AWS refusals into one line."""
    try:
        return body()
    except UserError as exc:
        return fail(prog, str(exc), exc.exit_code)
    except NoCredentialsError:
        return fail(
            prog,
            "no AWS credentials found: configure a profile (aws configure, AWS_PROFILE)"
            " or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    except NoRegionError:
        return fail(prog, "no AWS region: set AWS_REGION or the stack's region output")
    except EndpointConnectionError as exc:
        return fail(prog, f"cannot reach AWS ({exc.kwargs.get('endpoint_url')}): are you offline?")
    except ClientError as exc:
        return fail(prog, describe_client_error(exc))
    except BotoCoreError as exc:
        return fail(prog, f"AWS request failed: {exc}")
    except OSError as exc:  # a file that cannot be read or written: name it
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(prog, f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def describe_client_error(exc: ClientError) -> str:
    """``CreateLabelingJob: ValidationException: <AWS's message>`` in one line."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "Error")
    message = " ".join(str(error.get("Message", "")).split())
    return f"{exc.operation_name}: {code}: {message}".rstrip(": ")


def fail(prog: str, message: str, code: int = EXIT_FAILURE) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def warn(prog: str, message: str) -> None:
    print(f"{prog}: warning: {message}", file=sys.stderr)
