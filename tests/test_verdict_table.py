"""The verdict table: (card, candidate as scribbled, expected verdict) cases from tests/data/verdict_table.toml.

Over 300 cases on most cards, many in the sloppy hand-written forms (``\\hat y``, ``\\bar x`` unbraced,
``\\frac1n``, ``^T``/``^\\top``/``'``, ``\\left``/``\\right``, ``\\cdot``, bare ``\\sum_i``, ``\\|v\\|^2``,
``E[...]``, ``p(y|x)``, ``\\pi_\\theta(y_w|x)``, a leading ``=``, chains, inequalities), about half of them
wrong steps. Every case must come out as expected: the verdict, the reference step of a correct step (one
of a list where two steps are fair matches) and the diagnosis where the table gives one.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.maths import check_step

TABLE = Path(__file__).parent / "data" / "verdict_table.toml"
CASES = tomllib.loads(TABLE.read_text(encoding="utf-8"))["case"]


def test_table_is_big_and_balanced():
    counts = Counter(c["expected"] for c in CASES)
    assert len(CASES) >= 150
    assert counts["wrong"] >= 0.48 * len(CASES)
    assert len({c["card"] for c in CASES}) >= 20


@pytest.mark.parametrize("case", CASES, ids=[f"{k:03d}-{c['card']}" for k, c in enumerate(CASES)])
def test_verdict(case):
    card = deck().get(case["card"])
    v = check_step(card, case["candidate"], case.get("previous", []))
    assert v.verdict == case["expected"], f"{case['candidate']}: {v.verdict} ({v.diagnosis}; {v.message})"
    if case["expected"] == "correct" and "ref" in case:
        refs = case["ref"] if isinstance(case["ref"], list) else [case["ref"]]
        assert v.reference_step in refs
    if "diagnosis" in case:
        assert v.diagnosis == case["diagnosis"]
    if v.verdict == "cannot_check":
        assert v.reference_step is not None  # the window shows it for self-comparison
