"""One definition of a left/right swap: the worker's live warning and the reviewer's QA flag agree.

Every case of ``swap_cases.json`` goes through the post-annotation QA (``handlers.qa``)
and through the labeling component in Chromium (all cases in one page); both must give
the case's expected verdict, and the component's warning must carry the QA's message.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from handlers.qa import SWAP_RULES_FILE, check_skeletons
from handlers.rig import load_rig
from handlers.skeleton import load_skeletons
from tests.ui.harness import COMPONENT_JS, READY_PROBE, attributes, rig_attributes
from tests.ui.swap_cases import SwapCase, load_cases

CASES = load_cases()


def qa_flag(case: SwapCase) -> dict | None:
    rig = load_rig(case.rig)
    flags = check_skeletons(load_skeletons([case.skeleton], "skeletons", rig), rig)
    swaps = [f.to_jsonable() for f in flags if f.flag == "left_right_swap"]
    assert len(swaps) <= 1
    return swaps[0] if swaps else None


def verdict(flag: dict | None) -> dict | None:
    return (
        None if flag is None else {"lines": flag.get("lines", []), "pairs": flag.get("pairs", [])}
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_qa_gives_the_expected_verdict(case):
    assert verdict(qa_flag(case)) == case.expect


def test_cases_cover_every_swap_test_and_every_bundled_rig():
    tests_seen = set()
    for case in CASES:
        if case.expect is None:
            continue
        if case.expect["lines"]:
            tests_seen.add("crossed lines")
        lines = {frozenset((b.a, b.b)) for b in load_rig(case.rig).skeleton}
        for pair in case.expect["pairs"]:
            tests_seen.add("reversed cross-piece" if frozenset(pair) in lines else "reversed pair")
    assert tests_seen == {"crossed lines", "reversed cross-piece", "reversed pair"}
    assert {c.rig for c in CASES} == {"coco-person-17", "human-18", "box-truck"}
    assert any(c.expect is None for c in CASES) and any(c.expect for c in CASES)


def test_component_thresholds_are_the_shared_file():
    line = re.search(r"^\s*const SWAP_RULES = (\{.*\});$", COMPONENT_JS.read_text(), re.M)
    assert line, "assets/crowd-2d-skeleton.js has no one-line SWAP_RULES"
    shared = json.loads(SWAP_RULES_FILE.read_text())
    del shared["about"]
    assert json.loads(line.group(1)) == shared


@pytest.mark.browser
def test_component_gives_the_qa_verdict_on_every_case(page, server):
    by_rig: dict[str, list[SwapCase]] = defaultdict(list)
    for case in CASES:
        by_rig[case.rig].append(case)
    elements = "".join(
        f"<crowd-2d-skeleton {attributes(rig_attributes(rig, initialValues=json.dumps([c.skeleton for c in cases])))}>"
        "</crowd-2d-skeleton>"
        for rig, cases in by_rig.items()
    )
    page.goto(
        server.add(
            "/page/swap-parity",
            f"<!doctype html><head>{READY_PROBE}</head><body>{elements}"
            "<script src='/assets/crowd-2d-skeleton.js'></script></body>",
        )
    )
    page.wait_for_function(
        f"() => skeletonEvents.filter(([t]) => t === 'ready' || t === 'error').length === {len(by_rig)}"
    )
    shown = page.evaluate(
        """() => [...document.querySelectorAll('crowd-2d-skeleton')].flatMap((e) => {
          const state = e.state;
          if (state.errors.length || state.warnings.some((w) => w.includes('outside the image'))) throw new Error(String([...state.errors, ...state.warnings]));
          return state.skeletons.map((s) => ({name: s.name, swap: s.swap,
            warning: state.warnings.find((w) => w.startsWith(s.name + ': ')) ?? null}));
        })"""
    )
    component = {s["name"]: s for s in shown}
    assert set(component) == {c.name for c in CASES}
    disagree = []
    for case in CASES:
        flag = qa_flag(case)
        got = component[case.name]
        same_message = (flag is None and got["warning"] is None) or (
            flag is not None
            and got["warning"] is not None
            and got["warning"].startswith(f"{case.name}: {flag['message']} (")
        )
        if got["swap"] != case.expect or verdict(flag) != case.expect or not same_message:
            disagree.append((case.name, got, flag))
    assert disagree == []
