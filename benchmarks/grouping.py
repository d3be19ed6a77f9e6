"""Stroke groups for ‖ and accents (recognition/regroup.py): made ink of held-out writers, read with and
without the regrouping pass.

The ink is composed as benchmarks.derivation_steps composes it (typeset layout, each glyph box filled with
a glyph of the writers of the training command's writer-disjoint VALIDATION split, jittered like
handwriting): real glyphs where CROHME has the class, MADE glyphs (``symbol_synth``, never real) for the
added classes (‖, the caret, the tilde), a real minus for a bar. Cases: symbols alone (an accent over one
letter, ‖), the same in expressions, and controls that must not change (``11``, ``E``, ``F``, ``=``,
``\\pi``, ``|a| + |b|`` ... of real glyphs). Each case is drawn --draws times (seeded), and every draw is
read twice by the "whiteboard" engine in the same process: the pass switched off
(``regroup.regroup`` replaced by the identity) and on. Open reading (no card context); exact match after
../shared/tools/ocr_eval.py's normalisation. One torch thread.

Real ink (:func:`real_groups_changed`): the ground-truth symbol groups of the same held-out writers' real
expressions, each read by the classifier and then passed through the pass: CROHME has no ‖ and no
accents, so every change counts against it.

Usage: ``python -m benchmarks.grouping [--draws N] [--seed S]``; writes the "grouping" section of
docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from benchmarks.recognition import load_ocr_eval

ALONE = [r"\|", r"\hat{y}", r"\hat{x}", r"\hat{\theta}", r"\bar{x}", r"\bar{y}", r"\tilde{x}", r"\hat{a}"]
IN_EXPRESSIONS = [
    r"\|w\|^2",
    r"\hat{y}_i - y_i",
    r"\bar{x} = \frac{1}{n}\sum x_i",
    r"\|x - y\|",
    r"\hat{\beta} = \bar{y} - b \bar{x}",
    r"\tilde{x}_i + 1",
    r"\hat{p}(1 - \hat{p})",
    r"\|a\| + \|b\|",
]
CONTROLS = [
    "11",
    "E",
    "F",
    "=",
    r"\pi",
    "T",
    "5",
    "i",
    r"\pm",
    "11 + 12 = 23",
    "|a| + |b|",
    "x_{11} = 1",
    "E = mc^2",
    r"F(x) = \pi",
    "l + 1",
]
GROUPS = (("alone", ALONE), ("in expressions", IN_EXPRESSIONS), ("controls", CONTROLS))


def real_groups_changed(rec, exprs) -> tuple[int, int, list]:
    """(expressions changed, expressions read, up to 10 examples) when the ground-truth symbol groups of
    real expressions (*exprs*: training.data.Expression, normalised ink), each read by the engine's
    classifier as it reads a group, go through ``regroup.engine_regroup``. CROHME has no ‖ and no accents,
    so every change is one the pass would make wrongly on that ink (were the grouper to find these groups)."""
    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.regroup import engine_regroup

    ocr = rec._load()
    changed, n, examples = 0, 0, []
    with mc.raw_names():
        for e in exprs:
            ink = [s if s else [(0.0, 0.0)] for s in e.strokes]
            ms = mc.to_strokes(ink)
            syms = [
                (name, [i for i in idx if i < len(e.strokes) and e.strokes[i]]) for name, idx in e.symbols
            ]
            syms = [(name, idx) for name, idx in syms if name and idx]
            if not syms:
                continue
            cache = mc.grouper_cache()
            source = mc.autocanvas([ms[i] for i, s in enumerate(e.strokes) if s], 800)
            mc.classify_groups(
                ms, [frozenset(idx) for _n, idx in syms], ocr.classifier, cache=cache, source_size=source
            )
            parts = []
            for _name, idx in syms:
                r = cache.get(frozenset(ms[i].id for i in idx))
                parts.append(
                    mc.detected_symbol(
                        [ms[i] for i in idx], r.symbol, r.confidence, list(r.alternatives or [])
                    )
                )
            out = engine_regroup(ocr, ocr.classifier, ms, [mc.partition(parts, prob=1.0)], cache)[0]
            n += 1
            if [s.name for s in out] != [s.name for s in parts]:
                changed += 1
                if len(examples) < 10:
                    examples.append([e.latex, " ".join(s.name for s in parts), " ".join(s.name for s in out)])
    return changed, n, examples


def run(args) -> dict:
    import torch

    from benchmarks.derivation_steps import SynthBank, compose, draw_glyphs, glyph_banks
    from whiteboard_app.ink import Point, StepInk, Stroke
    from whiteboard_app.recognition import regroup
    from whiteboard_app.recognition.trained import TrainedRecognizer

    torch.set_num_threads(1)
    ev = load_ocr_eval()
    val, train = glyph_banks()
    synth = SynthBank(val)
    rec = TrainedRecognizer()
    rec.warm_up()
    from benchmarks.derivation_steps import TRAIN
    from whiteboard_app.recognition.training.data import load_expressions, writer_split

    _train, held = writer_split(load_expressions(TRAIN), 0.1, 0)
    real = real_groups_changed(rec, held)
    print("real ground-truth groups changed:", real[:2], file=sys.stderr, flush=True)
    on = regroup.regroup
    res: dict = {}
    rng = random.Random(args.seed)
    ms_on, ms_off = [], []
    for group, cases in GROUPS:
        for latex in cases:
            row = {"n": 0, "off": 0, "on": 0, "changed": 0, "examples": []}
            for _d in range(args.draws):
                glyphs, inks, _extra = draw_glyphs(latex, val, train, rng, synth)
                if glyphs is None:
                    continue
                strokes = compose(glyphs, inks, random.Random(rng.random()))
                ink = StepInk(
                    tuple(
                        Stroke(tuple(Point(x, y, 10.0 * i) for i, (x, y) in enumerate(s)), k)
                        for k, s in enumerate(strokes)
                    )
                )
                gt = ev.normalize(latex)
                got = {}
                for tag, fn in (("off", lambda s, c, m: list(s)), ("on", on)):
                    regroup.regroup = fn
                    t0 = time.perf_counter()
                    r = rec.recognize(ink)
                    (ms_on if tag == "on" else ms_off).append((time.perf_counter() - t0) * 1000)
                    got[tag] = r.candidates[0].latex if r.candidates else ""
                    row[tag] += ev.normalize(got[tag]) == gt
                regroup.regroup = on
                row["n"] += 1
                if got["on"] != got["off"]:
                    row["changed"] += 1
                    if len(row["examples"]) < 3:
                        row["examples"].append([got["off"], got["on"]])
            res.setdefault(group, {})[latex] = row
            print(group, latex, {k: v for k, v in row.items()}, file=sys.stderr, flush=True)
    return {
        "draws": args.draws,
        "seed": args.seed,
        "results": res,
        "median_ms_off": statistics.median(ms_off) if ms_off else None,
        "median_ms_on": statistics.median(ms_on) if ms_on else None,
        "real_changed": real[0],
        "real_read": real[1],
        "real_examples": real[2],
    }


def write_report(out: dict) -> None:
    """The "grouping" section of docs/benchmarks.md."""
    from benchmarks._report import write_section

    lines = [
        "Stroke groups for ‖ and accents (`python -m benchmarks.grouping`, recognition/regroup.py): MADE ink",
        "(never real) of the held-out validation writers for ‖, the caret and the tilde, their real glyphs",
        f"for the rest (a bar is their minus); {out['draws']} draws a case (seed {out['seed']}), jittered",
        "layouts, open reading, each draw read with the pass off and on in one process (one torch thread).",
        "",
        "| case | group | exact, pass off | exact, pass on | readings changed |",
        "|---|---|---|---|---|",
    ]
    for group, rows in out["results"].items():
        tot = {"n": 0, "off": 0, "on": 0, "changed": 0}
        for latex, r in rows.items():
            case = latex.replace("\\|", "‖").replace("|", "&#124;")  # no pipe may end a table cell
            lines.append(f"| {case} | {group} | {r['off']}/{r['n']} | {r['on']}/{r['n']} | {r['changed']} |")
            for k in tot:
                tot[k] += r[k]
        lines.append(
            f"| **all** | {group} | {tot['off']}/{tot['n']} | {tot['on']}/{tot['n']} | {tot['changed']} |"
        )
    lines += [
        "",
        f"Median reading time: {out['median_ms_off']:.0f} ms off, {out['median_ms_on']:.0f} ms on.",
        "",
        f"Real ink: the ground-truth symbol groups of the {out['real_read']} expressions of the held-out",
        "validation writers (each group read by the classifier, then the pass): "
        f"{out['real_changed']} changed (CROHME has no ‖ or accents: any change would be wrong).",
    ]
    for latex, before, after in out["real_examples"]:
        lines.append(f"- `{latex}`: {before} -> {after}")
    if out.get("dev"):
        a, b = out["dev"]
        lines += [
            "",
            "CROHME dev sample (`python -m benchmarks.recognition --limit 300 --seed 1234 --engines whiteboard",
            "--timeout-s 20`; a tree without the pass, then this one; one torch thread):",
            f"exact {a['exact_pct']} -> {b['exact_pct']} %, symbol recall {a['symbol_recall_pct']} -> "
            f"{b['symbol_recall_pct']} %, median {a['median_ms']:.0f} -> {b['median_ms']:.0f} ms "
            f"(load {a['meta']['load_avg']} and {b['meta']['load_avg']}).",
        ]
    write_section("grouping", "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --report-only FILE, rewrite the report from a --json file)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--report-only", metavar="JSON", help="write the report from an earlier --json file")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument(
        "--dev",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="benchmarks.recognition --summary files (whiteboard engine) without and with the pass, for the report",
    )
    args = ap.parse_args(argv)
    if args.report_only:
        with open(args.report_only, encoding="utf-8") as f:
            write_report(json.load(f))
        return 0
    out = run(args)
    if args.dev:
        dev = []
        for path in args.dev:
            with open(path, encoding="utf-8") as f:
                summ = json.load(f)
            dev.append({**summ["engines"]["whiteboard"], "meta": summ["meta"]})
        out["dev"] = dev
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    if not args.no_write:
        write_report(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
