"""Shared helpers for the maths tests: generous time limits so a busy machine cannot make them flaky
(the limits themselves are tested in tests/test_maths_worker.py), and the bundled deck."""

from __future__ import annotations

import os

import pytest

# the checker's extras (diagnosis search) get more time in tests, so a busy machine cannot change a
# diagnosis; set before the worker process starts (it inherits the environment)
os.environ.setdefault("WHITEBOARD_CHECK_BUDGET_S", "5")

from whiteboard_app.decks import load_deck
from whiteboard_app.decks.schema import Card, RefStep
from whiteboard_app.maths import worker


@pytest.fixture(autouse=True)
def _generous_limits(monkeypatch):
    monkeypatch.setattr(worker, "PARSE_TIMEOUT_S", 30.0)
    monkeypatch.setattr(worker, "CHECK_TIMEOUT_S", 30.0)


# the keys of one verdict in `check --json` (docs/user-guide.md); issue 11 added the last three.
# The CLI keeps its shape: a test that compares against this set fails when a key goes or comes.
CHECK_JSON_KEYS = frozenset(
    {
        "latex",
        "verdict",
        "reference_step",
        "diagnosis",
        "shape",
        "ms",
        "message",
        "defines",
        "skipped",
        "note",
    }
)

_deck = None


def deck():
    global _deck
    if _deck is None:
        _deck = load_deck()
    return _deck


def toy_card(steps, decl, mistakes=(), cid: str = "toy") -> Card:
    """A minimal card for checker tests: the reference chain ``steps`` (LaTeX), declarations ``decl``
    and declared ``mistakes`` (``Mistake`` objects); every other field a placeholder."""
    return Card(
        id=cid,
        title="t",
        topic="calculus",
        prompt="p",
        setup="s",
        assumptions=(),
        declarations=decl,
        steps=tuple(RefStep(s) for s in steps),
        interpretation="i",
        followups=(),
        mistakes=tuple(mistakes),
        hints=("h",),
    )


# ------------------------------------------------------------------ chain tables (user chains, textbook chains)
_checkers: dict = {}


def card_checker(card_id: str):
    """The bundled card's ``CardChecker`` (no proofs), built once per process."""
    from whiteboard_app.maths.checker import CardChecker

    if card_id not in _checkers:
        _checkers[card_id] = CardChecker(deck().get(card_id), prove=False)
    return _checkers[card_id]


def run_steps(card_id: str, steps: list[str]) -> list:
    """Each of ``steps`` checked on the bundled card after the ones before it: the ``StepVerdict`` list."""
    chk = card_checker(card_id)
    return [chk.check(s, steps[:k]) for k, s in enumerate(steps)]


def chain_table(name: str) -> list[dict]:
    """The ``[[chain]]`` entries of tests/data/<name>.toml (a table of whole derivation chains)."""
    import tomllib
    from pathlib import Path

    path = Path(__file__).parent / "data" / f"{name}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))["chain"]


def assert_every_card_and_one_wrong_step_per_variant(chains, variants, *, every_card: bool = True) -> None:
    """A per-card chain table's shape: every bundled card has a chain (``every_card`` False: every chain is
    on a bundled card), each chain a source and exactly one ``[[chain.wrong]]`` entry, so half of
    ``chain_variants(chains, stop_at_wrong=True)`` hold one wrong step, as their last, and the other half
    none."""
    cards = {ch["card"] for ch in chains}
    assert cards == set(deck().cards) if every_card else cards <= set(deck().cards)
    assert all(len(ch["wrong"]) == 1 and ch.get("source") for ch in chains)
    one_wrong = [v for v in variants if v[3] is not None]
    assert len(one_wrong) * 2 == len(variants)
    assert all(v[2].count("wrong") == 1 and v[2][-1] == "wrong" for v in one_wrong)
    assert all("wrong" not in v[2] for v in variants if v[3] is None)


def chain_variants(chains, *, stop_at_wrong: bool):
    """Each table chain as written, then once per ``[[chain.wrong]]`` entry with that one step replaced:
    tuples (chain, steps, expected verdicts, wrong step number or None, its diagnosis or None). With
    ``stop_at_wrong`` a variant ends at its wrong step (what follows a wrong step is judged against it)."""
    out = []
    for ch in chains:
        steps = list(ch["steps"])
        verdicts = list(ch.get("verdicts", ["correct"] * len(steps)))
        out.append((ch, steps, verdicts, None, None))
        for w in ch.get("wrong", []):
            st, ex = list(steps), list(verdicts)
            st[w["at"] - 1] = w["latex"]
            ex[w["at"] - 1] = "wrong"
            end = w["at"] if stop_at_wrong else len(st)
            out.append((ch, st[:end], ex[:end], w["at"], w.get("diagnosis")))
    return out


def variant_ids(variants) -> list[str]:
    """pytest ids of ``chain_variants``: card, chain name and the wrong step's number."""
    return [
        f"{v[0]['card']}-{v[0]['name'].replace(' ', '_')}" + (f"-wrong{v[3]}" if v[3] else "")
        for v in variants
    ]


def checked_chain(ch, steps, verdicts, at, diagnosis):
    """Check a variant step by step on its card, asserting each verdict (and the wrong step's diagnosis
    when the table names one); yields (step index, verdict) for further assertions."""
    chk = card_checker(ch["card"])
    for k, latex in enumerate(steps):
        v = chk.check(latex, steps[:k])
        assert v.verdict == verdicts[k], f"step {k + 1} {latex}: {v.verdict} [{v.diagnosis}] {v.message}"
        if at == k + 1 and diagnosis is not None:
            assert v.diagnosis == diagnosis, f"step {k + 1} {latex}: {v.message}"
        yield k, v


def chain_table_tests(name: str, min_chains: int = 0):
    """The two tests of a table of whole derivation chains, tests/data/<name>.toml: every card has a chain and
    every variant holds at most one wrong step (at least ``min_chains`` chains), and each variant checked step
    by step (:func:`checked_chain`). Returns (chains, variants, the table test, the step-by-step test) for a
    test module to bind to its own names, so that pytest collects them there."""
    chains = chain_table(name)
    variants = chain_variants(chains, stop_at_wrong=True)

    def test_table():
        assert len(chains) >= min_chains
        assert_every_card_and_one_wrong_step_per_variant(chains, variants)

    @pytest.mark.parametrize("ch,steps,verdicts,at,diagnosis", variants, ids=variant_ids(variants))
    def test_step_by_step(ch, steps, verdicts, at, diagnosis):
        assert len(list(checked_chain(ch, steps, verdicts, at, diagnosis))) == len(steps)

    return chains, variants, test_table, test_step_by_step
