"""Time per verdict over the verdict table (tests/data/verdict_table.toml), and the parse route's numbers.

Run: ``python -m benchmarks.checking``. Writes the "checking" section of docs/benchmarks.md:

- median and p95 ms per verdict through the public ``check_step`` (worker process, warm: the card
  already loaded), overall and by verdict kind, and the cold cost of loading a card into the worker;
- the parse route on the table's candidates: sympy ``parse_latex`` alone (no normaliser) vs our
  normaliser + ``parse_latex``, with antlr's default LL prediction vs SLL first (median ms per step);
- (issue 11) steps in other notations: every step of the chains of tests/data/user_chains_table.toml and
  tests/data/textbook_chains.toml and tests/data/notation_chains_2.toml, _3.toml, _4.toml and _5.toml
  (the user's own names, components, per-example forms), checked in order with the chain's earlier steps
  as ``previous``, by kind (definitions, derivative steps, the rest), and a derivation after a step that
  is refused (a derivative of order 1000).
"""

from __future__ import annotations

import statistics
import time
import tomllib
import warnings
from collections import defaultdict
from pathlib import Path

from benchmarks._report import load_note, machine, median, timed_chain_steps, timing_row, write_section

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "verdict_table.toml"
CHAINS = Path(__file__).resolve().parents[1] / "tests" / "data" / "user_chains_table.toml"
TEXTBOOK = Path(__file__).resolve().parents[1] / "tests" / "data" / "textbook_chains.toml"
NOTATION2 = Path(__file__).resolve().parents[1] / "tests" / "data" / "notation_chains_2.toml"
NOTATION3 = Path(__file__).resolve().parents[1] / "tests" / "data" / "notation_chains_3.toml"
NOTATION4 = Path(__file__).resolve().parents[1] / "tests" / "data" / "notation_chains_4.toml"
NOTATION5 = Path(__file__).resolve().parents[1] / "tests" / "data" / "notation_chains_5.toml"
NOTATION6 = Path(__file__).resolve().parents[1] / "tests" / "data" / "notation_chains_6.toml"
_DERIV = ("\\frac{d", "\\frac{\\partial", "\\nabla", "'(", "\\frac{d^", "\\partial^")


def _chain_variants(path: Path = CHAINS, stop_at_wrong: bool = False):
    out = []
    for ch in tomllib.loads(path.read_text(encoding="utf-8"))["chain"]:
        verdicts = list(ch.get("verdicts", ["correct"] * len(ch["steps"])))
        out.append((ch["card"], list(ch["steps"]), verdicts))
        for w in ch.get("wrong", []):
            st, ex = list(ch["steps"]), list(verdicts)
            st[w["at"] - 1] = w["latex"]
            ex[w["at"] - 1] = "wrong"
            if stop_at_wrong:  # the textbook table stops a wrong variant at its wrong step
                st, ex = st[: w["at"]], ex[: w["at"]]
            out.append((ch["card"], st, ex))
    return out


def _chains(deck):
    """ms per verdict for every step of the user chains (warm worker), by kind; and agreement."""
    from whiteboard_app.maths import check_derivation, check_step, worker

    kinds = defaultdict(list)
    agree = n = 0
    variants = [(("user", ex), card_id, st) for card_id, st, ex in _chain_variants()]
    variants += [
        (("textbook", ex), card_id, st) for card_id, st, ex in _chain_variants(TEXTBOOK, stop_at_wrong=True)
    ]
    variants += [
        (("notation2", ex), card_id, st) for card_id, st, ex in _chain_variants(NOTATION2, stop_at_wrong=True)
    ]
    variants += [
        (("notation3", ex), card_id, st) for card_id, st, ex in _chain_variants(NOTATION3, stop_at_wrong=True)
    ]
    variants += [
        (("notation4", ex), card_id, st) for card_id, st, ex in _chain_variants(NOTATION4, stop_at_wrong=True)
    ]
    variants += [
        (("notation5", ex), card_id, st) for card_id, st, ex in _chain_variants(NOTATION5, stop_at_wrong=True)
    ]
    variants += [
        (("notation6", ex), card_id, st) for card_id, st, ex in _chain_variants(NOTATION6, stop_at_wrong=True)
    ]
    tb_agree = tb_n = 0
    for (table, expected), k, latex, v, ms in timed_chain_steps(deck, variants):
        if table in ("textbook", "notation2", "notation3", "notation4", "notation5", "notation6"):
            tb_n += 1
            tb_agree += v.verdict == expected[k]
            kinds[f"{table} chains"].append(ms)
            continue
        n += 1
        agree += v.verdict == expected[k]
        kinds["all"].append(ms)
        if v.defines:
            kinds["definitions"].append(ms)
        elif any(t in latex for t in _DERIV):
            kinds["derivative steps"].append(ms)
        else:
            kinds["other steps"].append(ms)
    card = deck.get("sigmoid-derivative")
    check_step(card, "0")
    t0 = time.perf_counter()
    vs = check_derivation(
        card,
        [
            r"\frac{d^{1000}\sigma}{dz^{1000}}",
            r"\sigma(z) = (1+e^{-z})^{-1}",
            r"\frac{d\sigma}{dz} = \frac{e^{-z}}{(1+e^{-z})^2}",
            r"= \sigma(z)(1-\sigma(z))",
        ],
    )
    after_slow = ((time.perf_counter() - t0) * 1000, [v.verdict for v in vs])
    worker.get_worker().kill()
    return kinds, agree, n, after_slow, (tb_agree, tb_n)


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

    from whiteboard_app.latex import ParseError, clean, split_relations
    from whiteboard_app.maths import parse as P  # noqa: N812 - P. marks the parser's internals
    from whiteboard_app.maths.normalise import names_from_declarations

    raw_ok, ours_ok = 0, 0
    sll_ms, ll_ms = [], []
    for c in cases:
        card = deck.get(c["card"])
        names = names_from_declarations(card.declarations)
        try:
            parse_latex(c["candidate"].lstrip().lstrip("="), backend="antlr", strict=True)
            raw_ok += 1
        except Exception:  # noqa: BLE001 - any failure of sympy's parser counts as not parsed
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
            except Exception:  # noqa: BLE001 - any failure of sympy's parser counts as not parsed
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
    kinds, c_agree, c_n, after_slow, (tb_agree, tb_n) = _chains(deck)
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
        timing_row("all", all_ms),
    ]
    for kind in ("correct", "wrong", "unparsed", "cannot_check"):
        xs = by_kind.get(kind)
        if xs:
            lines.append(timing_row(kind, xs))
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
        "",
        f"Steps in other notations (issue 11): the {c_n} steps of tests/data/user_chains_table.toml (whole chains "
        "that define their own names, half with one wrong step), each checked through `check_step` with the "
        f"chain's earlier steps as `previous`; {c_agree}/{c_n} verdicts as expected. Budget: median <= 50 ms, "
        "p95 <= 300 ms per verdict.",
        "",
        "| steps | n | median ms | p95 ms |",
        "|---|---|---|---|",
    ]
    for kind in ("all", "definitions", "derivative steps", "other steps"):
        xs = kinds.get(kind)
        if xs:
            lines.append(timing_row(kind, xs))
    xs = kinds.get("textbook chains")
    if xs:
        lines += [
            "",
            f"Textbook notations (issue 11, sessions 6-8): the {tb_n} steps of tests/data/textbook_chains.toml "
            "(every card's derivation as Bishop, ESL, Goodfellow et al., CS229 or a candidate writes it) and "
            "tests/data/notation_chains_2.toml (Strang/Boyd matrix style, physics-style partials, \\Pr, "
            "\\operatorname{Var}, roman subscripts, other index letters) and tests/data/notation_chains_3.toml "
            "(CS229 x^{(i)}, Ng's z^{[l]}, Murphy, ESL, Bishop, Boyd conventions) and tests/data/notation_chains_4.toml "
            "(MML numerator layout, Prince, d2l.ai, Shalev-Shwartz & Ben-David, ESL x_{ij}, Jurafsky & Martin, "
            "Rafailov et al., Iverson brackets) and tests/data/notation_chains_5.toml (numerator layout with "
            "Jacobians, differentials, CS231n, Bishop, Murphy, the papers' own forms) and tests/data/notation_chains_6.toml "
            "(ESL, SSBD, MML, d2l.ai, CS229, Prince, Bishop & Bishop 2024, MIT 6.036, Wasserman; the mean loss 1/N, "
            "Greek and primed indices, expectations without brackets), each chain once as written and once up "
            f"to one wrong step; {tb_agree}/{tb_n} verdicts as expected.",
            "",
            "| steps | n | median ms | p95 ms |",
            "|---|---|---|---|",
            timing_row("textbook chains", xs),
        ]
        if kinds.get("notation2 chains"):
            lines.append(timing_row("notation chains, second round", kinds["notation2 chains"]))
        if kinds.get("notation3 chains"):
            lines.append(timing_row("notation chains, third round", kinds["notation3 chains"]))
        if kinds.get("notation4 chains"):
            lines.append(timing_row("notation chains, fourth round", kinds["notation4 chains"]))
        if kinds.get("notation5 chains"):
            lines.append(timing_row("notation chains, fifth round", kinds["notation5 chains"]))
        if kinds.get("notation6 chains"):
            lines.append(timing_row("notation chains, sixth round", kinds["notation6 chains"]))
    lines += [
        "",
        f"A derivation of 4 steps after `\\frac{{d^{{1000}}\\sigma}}{{dz^{{1000}}}}` (refused at once: "
        f"order above 4): {after_slow[0]:.0f} ms in all, verdicts {', '.join(after_slow[1])}.",
        "",
        load_note(),
    ]
    md = "\n".join(lines)
    write_section("checking", md)
    return md


if __name__ == "__main__":
    print(main())
