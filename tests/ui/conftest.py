"""Browser fixtures: one Chromium per session, a fresh page per test, a screenshot on failure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.ui.harness import (
    REPO,
    VIEWPORT,
    PageServer,
    Skeleton,
    chromium_path,
    chromium_problem,
    launch_chromium,
    page_html,
)

ARTIFACTS = REPO / "test-artifacts"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def server() -> Iterator[PageServer]:
    s = PageServer()
    yield s
    s.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    problem = chromium_problem(chromium_path())
    if problem:
        pytest.fail(problem)
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.page_errors = errors  # type: ignore[attr-defined]
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    context.close()


@pytest.fixture
def mount(
    page: Page, server: PageServer, request: pytest.FixtureRequest
) -> Callable[..., Skeleton]:
    """Open a page with one component; returns the driver once it is ready."""

    def _mount(attrs: dict[str, Any], *, wait: bool = True, **kwargs: Any) -> Skeleton:
        path = "/page/" + re.sub(r"\W+", "_", request.node.name)
        page.goto(server.add(path, page_html(attrs, **kwargs)))
        sk = Skeleton(page)
        return sk.wait_ready() if wait else sk

    return _mount
