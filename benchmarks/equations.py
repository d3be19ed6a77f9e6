"""Time per verdict for equations in the parameter and renamed letters (issue 11, i11eq).

Run: ``python -m benchmarks.equations``. Every step of the chains of tests/test_conditions.py ("set the
derivative to zero", rearrangements, solved forms, with one wrong step in half of them) and
tests/test_renaming.py (q for θ, t for μ, v for w) is checked through the public ``check_step`` (worker
process, card already loaded) with the chain's earlier steps as ``previous``. Writes the "equations"
section of docs/benchmarks.md: median and p95 ms per verdict, by kind, and how many verdicts are as
expected. Budget (issue 11): median <= 50 ms, p95 <= 300 ms per verdict on an idle machine.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

from benchmarks._report import machine, median, p95, write_section

ROOT = Path(__file__).resolve().parents[1]


def _chains():
    """(card, [(step, expected verdict)]) from the two test tables."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.test_conditions import CHAINS as EQ
    from tests.test_renaming import CHAINS as REN

    out = [("equations", card, list(chain)) for card, _name, chain, _words in EQ]
    out += [("renamed letters", card, [(s, v) for s, v, _ in chain]) for card, chain in REN]
    return out


def main() -> str:
    warnings.filterwarnings("ignore")
    from whiteboard_app.decks import load_deck
    from whiteboard_app.maths import check_step, worker

    worker.PARSE_TIMEOUT_S = 30.0  # measure, do not cut
    worker.CHECK_TIMEOUT_S = 30.0
    deck = load_deck()
    kinds = defaultdict(list)
    agree = n = 0
    loaded = set()
    for group, card_id, chain in _chains():
        card = deck.get(card_id)
        if card_id not in loaded:
            check_step(card, "0")
            loaded.add(card_id)
        steps = [s for s, _ in chain]
        for k, (latex, expected) in enumerate(chain):
            t0 = time.perf_counter()
            v = check_step(card, latex, steps[:k])
            ms = (time.perf_counter() - t0) * 1000
            n += 1
            agree += v.verdict == expected
            kinds["all"].append(ms)
            kinds[group].append(ms)
            kinds[f"{v.verdict} verdicts"].append(ms)
    worker.get_worker().kill()
    lines = [
        "## equations",
        "",
        f"Machine: {machine()}. Equations in the parameter and renamed letters (issue 11, i11eq): the {n} steps "
        f"of the chains in tests/test_conditions.py and tests/test_renaming.py over {len(loaded)} cards, each "
        f"checked through `check_step` with the chain's earlier steps as `previous`; {agree}/{n} verdicts as "
        "expected. Budget: median <= 50 ms, p95 <= 300 ms per verdict.",
        "",
        "| steps | n | median ms | p95 ms |",
        "|---|---|---|---|",
    ]
    for kind in (
        "all",
        "equations",
        "renamed letters",
        "correct verdicts",
        "wrong verdicts",
        "unparsed verdicts",
    ):
        xs = kinds.get(kind)
        if xs:
            lines.append(f"| {kind} | {len(xs)} | {median(xs):.1f} | {p95(xs):.1f} |")
    lines += [
        "",
        f"Load average when the run ended: {os.getloadavg()[0]:.1f} (other work shares the cores; the figures "
        "above are upper bounds for an idle machine).",
    ]
    md = "\n".join(lines)
    write_section("equations", md)
    return md


if __name__ == "__main__":
    print(main())
