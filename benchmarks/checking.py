"""Time per verdict over the verdict table (tests/data/verdict_table.toml), and the parse route's numbers.

Run: ``python -m benchmarks.checking``. Writes the "checking" section of docs/benchmarks.md:

- median and p95 ms per verdict through the public ``check_step`` (worker process, warm: the card
  already loaded), overall and by verdict kind, and the cold cost of loading a card into the worker;
- the parse route on the table's candidates: sympy ``parse_latex`` alone (no normaliser) vs our
  normaliser + ``parse_latex``, with antlr's default LL prediction vs SLL first (median ms per step).
"""

from __future__ import annotations

import statistics
import time
import tomllib
import warnings
from collections import defaultdict
from pathlib import Path

from benchmarks._report import machine, median, p95, write_section

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "verdict_table.toml"


def _verdicts(cases, deck):
    from whiteboard_app.maths import check_step, worker

    worker.PARSE_TIMEOUT_S = 30.0  # measure, do not cut
    worker.CHECK_TIMEOUT_S = 30.0
    w = worker.get_worker()
    cold = {}
    by_kind = defaultdict(list)
    all_ms = []
    agree = 0
    diagnosed = [0, 0]
    for c in cases:
        card = deck.get(c["card"])
        if card.id not in cold:
            t0 = time.perf_counter()
            check_step(card, "0")  # start the worker / load the card
            cold[card.id] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        v = check_step(card, c["candidate"], c.get("previous", []))
        ms = (time.perf_counter() - t0) * 1000
        all_ms.append(ms)
        by_kind[c["expected"]].append(ms)
        agree += v.verdict == c["expected"]
        if c["expected"] == "wrong" and v.verdict == "wrong":
            diagnosed[0] += v.diagnosis is not None
            diagnosed[1] += 1
    w.kill()
    return all_ms, by_kind, cold, agree, diagnosed


def _parse_routes(cases, deck):
    from sympy.parsing.latex import parse_latex

    from whiteboard_app.maths import parse as P
    from whiteboard_app.maths.latex import ParseError, clean, names_from_declarations, split_relations

    raw_ok, ours_ok = 0, 0
    sll_ms, ll_ms = [], []
    for c in cases:
        card = deck.get(c["card"])
        names = names_from_declarations(card.declarations)
        try:
            parse_latex(c["candidate"].lstrip().lstrip("="), backend="antlr", strict=True)
            raw_ok += 1
        except Exception:
            pass
        try:
            t0 = time.perf_counter()
            P.parse_step(c["candidate"], names)
            sll_ms.append((time.perf_counter() - t0) * 1000)
            ours_ok += 1
        except ParseError:
            continue
        # the same pieces with LL prediction only
        pieces, _ = split_relations(clean(c["candidate"]))
        t0 = time.perf_counter()
        for p in pieces:
            if not p.strip():
                continue
            try:
                n = P.normalise_piece(p, names)
                P._get_converter(sll=False).parse_latex(n.latex, strict=True)
            except Exception:
                pass
        ll_ms.append((time.perf_counter() - t0) * 1000)
    return raw_ok, ours_ok, sll_ms, ll_ms


def main() -> str:
    warnings.filterwarnings("ignore")
    from whiteboard_app.decks import load_deck

    cases = tomllib.loads(TABLE.read_text(encoding="utf-8"))["case"]
    deck = load_deck()
    all_ms, by_kind, cold, agree, diagnosed = _verdicts(cases, deck)
    raw_ok, ours_ok, sll_ms, ll_ms = _parse_routes(cases, deck)
    n = len(cases)
    lines = [
        "## checking",
        "",
        f"Machine: {machine()}. {n} cases from tests/data/verdict_table.toml over {len(cold)} cards; "
        f"{agree}/{n} verdicts as expected; {diagnosed[0]}/{diagnosed[1]} wrong steps get a diagnosis.",
        "",
        "Time per verdict through `check_step` (worker process, card already loaded; parse + check + IPC):",
        "",
        "| verdicts | n | median ms | p95 ms |",
        "|---|---|---|---|",
        f"| all | {n} | {median(all_ms):.1f} | {p95(all_ms):.1f} |",
    ]
    for kind in ("correct", "wrong", "unparsed", "cannot_check"):
        xs = by_kind.get(kind)
        if xs:
            lines.append(f"| {kind} | {len(xs)} | {median(xs):.1f} | {p95(xs):.1f} |")
    cold_ms = list(cold.values())
    lines += [
        "",
        f"Loading a card into the worker (parse its reference chain and mistakes; the first includes starting "
        f"the worker): median {median(cold_ms):.0f} ms, max {max(cold_ms):.0f} ms.",
        "",
        "Parse route on the same candidates (in-process):",
        "",
        "| route | parsed | median ms per step |",
        "|---|---|---|",
        f"| sympy `parse_latex` alone (antlr, strict) | {raw_ok}/{n} | - |",
        f"| normaliser + `parse_latex`, LL prediction | {ours_ok}/{n} | {statistics.median(ll_ms):.1f} |",
        f"| normaliser + `parse_latex`, SLL first (used) | {ours_ok}/{n} | {statistics.median(sll_ms):.1f} |",
        "",
        "'parsed' for sympy alone counts steps it returns something for, right or wrong (it reads `\\hat y` as "
        "hat*y and `X^T` as a power of a symbol T); see docs/parsing.md.",
    ]
    md = "\n".join(lines)
    write_section("checking", md)
    return md


if __name__ == "__main__":
    print(main())
