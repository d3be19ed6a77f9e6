"""Cost of reading steps written in other notations (tests/data/notation_table.toml).

Run: ``python -m benchmarks.notation`` (one torch thread is irrelevant here: no torch). Writes the
"notation" section of docs/benchmarks.md:

- the rewrite alone (:func:`whiteboard_app.maths.notation.rewrite_step`), median and p95 ms per step;
- the whole verdict in-process (:class:`~whiteboard_app.maths.checker.CardChecker`, warm: card loaded), for
  the table's steps, median and p95 ms, and the share of cases judged as the table expects.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from benchmarks._report import machine, median, p95, write_section

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "notation_table.toml"


def main() -> str:
    from whiteboard_app.decks import load_deck
    from whiteboard_app.maths.checker import CardChecker
    from whiteboard_app.maths.notation import NotationRules

    deck = load_deck()
    cases = tomllib.loads(TABLE.read_text(encoding="utf-8"))["case"]
    rules = {c.id: NotationRules(c) for c in deck}
    rewrite_ms = []
    for c in cases:
        r = rules[c["card"]]
        t0 = time.perf_counter()
        r.rewrite(c["candidate"])
        rewrite_ms.append((time.perf_counter() - t0) * 1000)
    checkers = {}
    verdict_ms = []
    agree = 0
    for c in cases:
        card = deck.get(c["card"])
        chk = checkers.get(card.id) or checkers.setdefault(card.id, CardChecker(card))
        t0 = time.perf_counter()
        v = chk.check(c["candidate"], c.get("previous", []))
        verdict_ms.append((time.perf_counter() - t0) * 1000)
        agree += v.verdict == c["expected"]
    md = (
        "## Notations (steps written in other notations)\n\n"
        f"{machine()}\n\n"
        f"Over the {len(cases)} steps of tests/data/notation_table.toml ({len({c['card'] for c in cases})} cards; the cards' aliases, other\n"
        "transposes, \\ln, index letters, x^{(i)}, per-example, component and inner-product forms):\n\n"
        "| measure | median ms | p95 ms |\n|---|---|---|\n"
        f"| rewrite into the card's names (notation.py) | {median(rewrite_ms):.3f} | {p95(rewrite_ms):.3f} |\n"
        f"| whole verdict, in-process, warm card | {median(verdict_ms):.1f} | {p95(verdict_ms):.1f} |\n\n"
        f"Verdicts as the table expects: {agree}/{len(cases)} ({100 * agree / len(cases):.1f} %).\n"
    )
    write_section("notation", md)
    return md


if __name__ == "__main__":
    print(main())
