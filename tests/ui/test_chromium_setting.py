"""One setting picks the browser for the UI tests and benchmarks: CHROMIUM."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.ui.harness import DEFAULT_CHROMIUM, REPO, chromium_path, chromium_problem


def test_chromium_defaults_to_debians_package(monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)
    assert chromium_path() == DEFAULT_CHROMIUM == "/usr/bin/chromium"


def test_chromium_environment_variable_is_honoured(monkeypatch, tmp_path):
    chrome = tmp_path / "chrome"
    chrome.write_text("#!/bin/sh\n")
    monkeypatch.setenv("CHROMIUM", str(chrome))
    assert chromium_path() == str(chrome)
    assert chromium_problem(chromium_path()) == (
        f"CHROMIUM={chrome} is not an executable file: run `make chromium` for Debian's package,"
        " or set CHROMIUM to a Chromium or Chrome binary (docs/development.md#chromium)"
    )
    chrome.chmod(0o755)
    assert chromium_problem(chromium_path()) is None


@pytest.mark.parametrize("given", [[], ["CHROMIUM=/opt/chrome/chrome"]])
def test_makefile_exports_its_chromium_to_the_test_and_bench_commands(given):
    # A throw-away target added on stdin prints what every recipe's environment holds.
    out = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "show-chromium", *given],
        input="show-chromium:\n\t@echo $$CHROMIUM\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "CHROMIUM"},
        check=True,
    )
    expected = given[0].split("=", 1)[1] if given else "/usr/bin/chromium"
    assert out.stdout.strip() == expected
