"""Recognition benchmark on real handwriting: the bundled "whiteboard" engine vs the shipped mathnote-ocr.

Data: ../shared/handwriting/dev.jsonl (CROHME 2014/2016 test sets, writers never seen in training; see its
README). Both engines read the same expressions in the same process, one after the other.

Scoring is ../shared/tools/ocr_eval.py's (imported from that file by path, not copied): both sides normalised
with its ``normalize``; exact match, <= 1 and <= 2 token errors (Levenshtein over normalised tokens), and
symbol recall (a ground-truth symbol counts when the engine returns exactly its strokes as one symbol with
the same normalised label; multi-letter function symbols such as \\sin are left out, as ocr_eval does).
mathnote-ocr is fed the ink as ocr_eval feeds it (median stroke size 24 px, margin 40 px, top_k 1); the
whiteboard engine gets the raw device ink as a StepInk and normalises it itself.

Latency: wall time per expression after three warm-up readings, median and p95 by stroke count; each
reading has the app's time limit (--timeout-s, default 3 s; over it counts as "could not read", wrong, and
its latency is recorded as the limit). Model load time and RSS (resident memory, MB) after each engine's
load; the process's peak RSS at the end.

Usage: ``python -m benchmarks.recognition [--limit N] [--seed S] [--engines whiteboard,mathnote] [--quick]``
(``--quick``: 150 expressions). Writes the "recognition" section of docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV = SHARED / "handwriting" / "dev.jsonl"
OCR_EVAL = SHARED / "tools" / "ocr_eval.py"
BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 10**6))


def load_ocr_eval(path: Path = OCR_EVAL):
    """The reference scoring module, imported from its file."""
    spec = importlib.util.spec_from_file_location("ocr_eval", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["ocr_eval"] = mod
    spec.loader.exec_module(mod)
    return mod


def load_rows(path: Path, limit: int, seed: int) -> list[dict]:
    """The rows of *path*; with *limit*, a fixed random subset (ocr_eval's sampling, sorted by id)."""
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    if limit and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
        rows.sort(key=lambda r: r["id"])
    return rows


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _Timeout(BaseException):
    pass


def _alarm(_sig, _frm):
    raise _Timeout()


class WhiteboardEngine:
    """The bundled engine through the project's Recognizer protocol."""

    name = "whiteboard"

    def __init__(self, top_k: int = 3, weights_dir: str | None = None):
        from whiteboard_app.recognition.trained import TrainedRecognizer

        t0 = time.perf_counter()
        self.rec = TrainedRecognizer(weights_dir=weights_dir, top_k=top_k)
        self.rec._load()
        self.load_s = time.perf_counter() - t0

    def read(self, strokes):
        from whiteboard_app.ink import Point, StepInk, Stroke

        idx = [i for i, s in enumerate(strokes) if s]
        ink = StepInk(
            tuple(
                Stroke(tuple(Point(float(p[0]), float(p[1])) for p in strokes[i]), id=10_000 + i) for i in idx
            )
        )
        res = self.rec.recognize(ink)
        syms = [(sorted(i - 10_000 for i in s.stroke_ids), s.labels[0][0]) for s in res.symbols]
        return res.best or "", [c.latex for c in res.candidates], syms


class MathnoteEngine:
    """mathnote-ocr as shipped (bundled weights, its own renames), fed as ocr_eval feeds it."""

    name = "mathnote"

    def __init__(self, ev):
        t0 = time.perf_counter()
        from whiteboard_app.recognition.mathnote_compat import new_ocr, sym_to_latex

        self.ocr = new_ocr()
        self.to_latex = sym_to_latex
        self.ev = ev
        self.load_s = time.perf_counter() - t0

    def read(self, strokes):
        ink = self.ev.prepare_ink(strokes, 24.0, 40.0)
        expr = self.ocr.detect(ink, top_k=1)
        syms = [(sorted(st.id for st in s.strokes), self.to_latex(s.name)) for s in expr.symbols.values()]
        return expr.latex or "", [expr.latex], syms


def score_one(ev, row, latex, nbest, syms):
    """Per-expression scores: token edit distance, n-best hit, symbol counts (gt, recognised)."""
    gt = ev.normalize(row["latex"])
    ed = ev.edit_distance(gt, ev.normalize(latex))
    hit = any(ev.normalize(x) == gt for x in nbest)
    # mathnote-ocr ids skip empty strokes; map them back to positions in the row
    det = {}
    for ids, lab in syms:
        det[tuple(ids)] = lab
    n_gt = n_rec = 0
    for g in row.get("symbols", []):
        lab = ev.normalize(g["label"])
        if len(lab) != 1 or lab[0] in ev._FUNC_TOKENS:
            continue
        n_gt += 1
        got = det.get(tuple(sorted(g["strokes"])))
        if got is not None and ev.normalize(got) == lab:
            n_rec += 1
    return {"ed": ed, "nbest_hit": hit, "sym_gt": n_gt, "sym_rec": n_rec}


def run_engine(eng, rows, ev, timeout_s: float, out_f=None, verbose=False) -> dict:
    non_empty = [r for r in rows if sum(1 for s in r["strokes"] if s)]
    for r in sorted(non_empty, key=lambda r: len(r["strokes"]))[:3]:  # warm-up, not timed
        eng.read(_dense(r["strokes"]) if eng.name == "mathnote" else r["strokes"])
    res = []
    signal.signal(signal.SIGALRM, _alarm)
    for r in rows:
        strokes = _dense(r["strokes"]) if eng.name == "mathnote" else r["strokes"]
        t0 = time.perf_counter()
        c0 = time.process_time()
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        err = None
        try:
            latex, nbest, syms = eng.read(strokes)
            if eng.name == "mathnote":
                pos = [i for i, s in enumerate(r["strokes"]) if s]
                syms = [([pos[i] for i in ids], lab) for ids, lab in syms]
        except _Timeout:
            latex, nbest, syms, err = "", [], [], "timeout"
        except Exception as exc:  # noqa: BLE001 - counted as a miss, reported
            latex, nbest, syms, err = "", [], [], f"{type(exc).__name__}: {exc}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        dt = min(time.perf_counter() - t0, timeout_s)
        cpu = time.process_time() - c0
        item = {
            "id": r["id"],
            "n_strokes": len(r["strokes"]),
            "truth": r["latex"],
            "pred": latex,
            "ms": dt * 1000,
            "cpu_ms": cpu * 1000,
            "error": err,
            **score_one(ev, r, latex, nbest, syms),
        }
        res.append(item)
        if out_f:
            out_f.write(json.dumps({"engine": eng.name, **item}) + "\n")
        if verbose:
            print(
                f"{eng.name} [{len(res)}/{len(rows)}] {dt * 1000:.0f} ms ed={item['ed']} {r['latex']!r} -> {latex!r}",
                file=sys.stderr,
            )
    return summarize(res)


def _dense(strokes):
    return [s for s in strokes if s]


def summarize(res: list[dict]) -> dict:
    n = len(res)

    def pct(k):
        return round(100.0 * k / max(1, n), 1)

    lat = [x["ms"] for x in res]
    by = {}
    for lo, hi in BUCKETS:
        sel = [x["ms"] for x in res if lo <= x["n_strokes"] <= hi]
        if sel:
            by[f"{lo}-{hi if hi < 10**6 else 'max'}"] = {
                "n": len(sel),
                "median_ms": round(statistics.median(sel), 1),
                "p95_ms": round(_p95(sel), 1),
            }
    small = [x["ms"] for x in res if x["n_strokes"] <= 20]
    small_cpu = [x["cpu_ms"] for x in res if x["n_strokes"] <= 20]
    sg = sum(x["sym_gt"] for x in res)
    return {
        "n": n,
        "exact_pct": pct(sum(x["ed"] == 0 for x in res)),
        "le1_pct": pct(sum(x["ed"] <= 1 for x in res)),
        "le2_pct": pct(sum(x["ed"] <= 2 for x in res)),
        "nbest_pct": pct(sum(x["nbest_hit"] for x in res)),
        "symbol_recall_pct": round(100.0 * sum(x["sym_rec"] for x in res) / max(1, sg), 1),
        "median_ms": round(statistics.median(lat), 1),
        "p95_ms": round(_p95(lat), 1),
        "median_ms_le20": round(statistics.median(small), 1) if small else None,
        "median_cpu_ms_le20": round(statistics.median(small_cpu), 1) if small_cpu else None,
        "timeouts": sum(x["error"] == "timeout" for x in res),
        "errors": sum(bool(x["error"]) and x["error"] != "timeout" for x in res),
        "by_strokes": by,
    }


def _p95(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]


def markdown(summ: dict, args, rows) -> str:
    from benchmarks._report import machine

    names = list(summ)
    lines = [
        f"## Recognition on real handwriting (dev.jsonl, {len(rows)} expressions)",
        "",
        f"{machine()}. Same expressions{' (random subset, seed ' + str(args.seed) + ')' if args.limit else ''}; "
        f"time limit {args.timeout_s:g} s per step; scoring normalised as ../shared/tools/ocr_eval.py. "
        "`python -m benchmarks.recognition" + (f" --limit {args.limit}" if args.limit else "") + "`.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    rowsdef = [
        ("exact match", "exact_pct", "%"),
        ("<= 1 token error", "le1_pct", "%"),
        ("<= 2 token errors", "le2_pct", "%"),
        ("truth in n-best", "nbest_pct", "%"),
        ("symbol recall", "symbol_recall_pct", "%"),
        ("median latency, <= 20 strokes", "median_ms_le20", " ms"),
        ("median CPU time, <= 20 strokes", "median_cpu_ms_le20", " ms"),
        ("median latency, all", "median_ms", " ms"),
        ("p95 latency, all", "p95_ms", " ms"),
        ("timeouts (> limit)", "timeouts", ""),
        ("errors", "errors", ""),
        ("load time", "load_s", " s"),
        ("RSS after load", "rss_after_load_mb", " MB"),
        ("peak RSS after its run", "peak_rss_mb", " MB"),
    ]
    for title, key, unit in rowsdef:
        lines.append(f"| {title} | " + " | ".join(f"{summ[n].get(key)}{unit}" for n in names) + " |")
    if len(names) == 2 and summ[names[1]]["exact_pct"]:
        a, b = summ[names[0]], summ[names[1]]
        lines += [
            "",
            f"Ratio {names[0]}/{names[1]}: exact match x{a['exact_pct'] / b['exact_pct']:.1f}, "
            f"median latency (<= 20 strokes) x{(a['median_ms_le20'] or 0) / max(1e-9, b['median_ms_le20'] or 0):.2f}.",
        ]
    lines += [
        "",
        "Latency by stroke count (median / p95 ms):",
        "",
        "| strokes | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for lo, hi in BUCKETS:
        key = f"{lo}-{hi if hi < 10**6 else 'max'}"
        cells = []
        for n in names:
            b = summ[n]["by_strokes"].get(key)
            cells.append(f"{b['median_ms']} / {b['p95_ms']} (n={b['n']})" if b else "-")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    how = (
        "Engines run one after the other in one process (RSS and peak RSS are cumulative: the later engine's "
        "include the earlier one's)."
        if not args.from_summaries
        else "Each engine ran in its own process at the same time, on the same rows."
    )
    lines += [
        "",
        how + " "
        f"Latency is wall time on a 2-core machine shared with other jobs (load average {args.load_avg}); "
        "the CPU time is the process's own (one torch thread), what a reading costs on an idle core.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEV))
    ap.add_argument("--limit", type=int, default=0, help="random subset of N expressions (0: all)")
    ap.add_argument("--quick", action="store_true", help="150 expressions")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--engines", default="whiteboard,mathnote")
    ap.add_argument("--timeout-s", type=float, default=3.0)
    ap.add_argument("--top-k", type=int, default=3, help="whiteboard engine partitions read")
    ap.add_argument("--weights-dir", help="evaluate these whiteboard weights instead of the bundled ones")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: fastest for these small models)"
    )
    ap.add_argument("--out", help="per-expression results (JSON lines)")
    ap.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--summary", help="also write the summary (JSON) here")
    ap.add_argument(
        "--from-summaries",
        nargs="+",
        metavar="JSON",
        help="write the section from summaries of earlier runs on the same rows (engines run as "
        "parallel processes, e.g. one per engine) instead of running",
    )
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.quick and not args.limit:
        args.limit = 150
    if args.from_summaries:
        summ, meta = {}, {}
        for f in args.from_summaries:
            d = json.loads(Path(f).read_text())
            summ.update(d["engines"])
            meta = d["meta"]
        args.limit, args.seed, args.timeout_s, args.load_avg = (
            meta["limit"],
            meta["seed"],
            meta["timeout_s"],
            meta["load_avg"],
        )
        from benchmarks._report import write_section

        write_section("recognition", markdown(summ, args, range(meta["n_rows"])))
        return 0
    if not Path(args.data).exists() or not OCR_EVAL.exists():
        print(f"benchmarks.recognition: needs {args.data} and {OCR_EVAL}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    import os

    ev = load_ocr_eval()
    args.load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = load_rows(Path(args.data), args.limit, args.seed)
    out_f = open(args.out, "w", encoding="utf-8") if args.out else None
    summ = {}
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        eng = WhiteboardEngine(args.top_k, args.weights_dir) if name == "whiteboard" else MathnoteEngine(ev)
        loaded = rss_mb()
        s = run_engine(eng, rows, ev, args.timeout_s, out_f, args.verbose)
        s.update(load_s=round(eng.load_s, 2), rss_after_load_mb=loaded, peak_rss_mb=rss_mb())
        summ[name] = s
        args.load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(json.dumps({name: s}, indent=1), flush=True)
    if out_f:
        out_f.close()
    if args.summary:
        meta = {
            "limit": args.limit,
            "seed": args.seed,
            "timeout_s": args.timeout_s,
            "load_avg": args.load_avg,
            "n_rows": len(rows),
        }
        Path(args.summary).write_text(json.dumps({"meta": meta, "engines": summ}, indent=1))
    if not args.no_write:
        from benchmarks._report import write_section

        write_section("recognition", markdown(summ, args, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
