"""Card context on real human layouts: does the context ever turn a right reading into a wrong form?

Data: ../shared/handwriting/dev.jsonl (CROHME 2014/2016 test writers, never seen in training; measured
only: nothing here is trained or tuned on it). ``--data calibration`` reads the writer-disjoint
calibration split of ../shared/handwriting/train.jsonl.gz instead (the training command's validation
writers, seed 0, 10 %: the recogniser's weights never saw them), the split the verifier's evidence
thresholds were calibrated on (recognition/evidence.py).

For each expression an ad-hoc card context is built the way the app builds one for a card: the true
expression plus about 8 near misses in the writer's own notation, made from the true LaTeX by
:func:`near_misses` (a general generator for arbitrary LaTeX: sign flip, subscript <-> superscript swap,
letter case swap, sin <-> cos, changed digit, changed letter, dropped term, added term; one edit each).
Two conditions:

* A: truth ("reference") + near misses ("near_miss"): the user wrote a step the card knows;
* B: near misses only (the truth is absent): the user wrote a correct step in a notation the card
  does not have. Any reading equal to a near miss is the context turning the ink into a wrong form.

Each is read as the app reads (as benchmarks/derivation_steps.py does): ``recognize(ink, context)``
(steps of ``VERIFY_FIRST_STROKES``+ strokes are fitted to the forms before the layout parse), then
``rerank(result, context, ink=ink, classify=engine.classify_groups)``. The open reading is
``recognize(ink)``; it does not depend on the context, so it is cached on disk (``--cache``) and a later
run only redoes the context stages. Scored with ../shared/tools/ocr_eval.py's normalisation.

Reported per condition: exact, "reading became a wrong form" (the reading is one of the near misses),
"correct open reading turned into a wrong form" (of the open readings that were exact), by stroke count
and by the kind of near miss snapped to, and which stage made the change: the engine's own check
("engine": ``result.verified``), the n-best prior or its "supported by the ink" forms ("prior"), or the
verifier inside ``rerank`` ("verifier").

Usage: ``python -m benchmarks.context_real [--limit N] [--seed S] [--data dev|calibration] [--cache FILE]
[--out FILE.jsonl] [--label TEXT] [--no-write]``; writes the "context_real" section of docs/benchmarks.md
(dev only) unless --no-write.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import re
import signal
import sys
import time
from pathlib import Path

from benchmarks.recognition import DEV, OCR_EVAL, ROOT, SHARED, _alarm, _Timeout, load_ocr_eval, load_rows

TRAIN = SHARED / "handwriting" / "train.jsonl.gz"
CACHE_DIR = ROOT / "runs" / "context_real"
BUCKETS = ((1, 15), (16, 39), (40, 10**6))
KINDS = ("sign", "script", "case", "trig", "digit", "letter", "drop", "add")

_TOK = re.compile(r"\\[a-zA-Z]+|\\.|\S")
_OPEN = {"{": "}", "(": ")", "[": "]"}
_RELATIONS = {
    "=",
    "<",
    ">",
    "\\lt",
    "\\gt",
    "\\leq",
    "\\geq",
    "\\le",
    "\\ge",
    "\\neq",
    "\\ne",
    "\\rightarrow",
    "\\to",
    ",",
}
_TRIG = {"\\sin": "\\cos", "\\cos": "\\sin", "\\tan": "\\sin"}


def tokens(latex: str) -> list[str]:
    """Raw LaTeX tokens (commands, single characters; braces kept)."""
    return _TOK.findall(latex)


def join(toks: list[str]) -> str:
    """Tokens back to LaTeX (a space after a command word followed by a letter)."""
    out = ""
    for t in toks:
        if out and re.search(r"\\[a-zA-Z]+$", out) and t[:1].isalpha():
            out += " "
        out += t
    return out


def _depths(toks: list[str]) -> list[int]:
    d, out = 0, []
    for t in toks:
        if t in _OPEN.values():
            d = max(0, d - 1)
        out.append(d)
        if t in _OPEN:
            d += 1
    return out


def _candidates(latex: str) -> list[tuple[str, str]]:
    """Every one-edit near miss of *latex* as (LaTeX, kind); see the module docstring."""
    toks = tokens(latex)
    out: list[tuple[str, str]] = []

    def put(i: int, new: list[str], kind: str, j: int | None = None) -> None:
        out.append((join(toks[:i] + new + toks[(i + 1) if j is None else j :]), kind))

    depth = _depths(toks)
    for i, t in enumerate(toks):
        prev = toks[i - 1] if i else ""
        if t in ("+", "-"):
            put(i, ["-" if t == "+" else "+"], "sign")
        elif t in ("^", "_"):
            put(i, ["_" if t == "^" else "^"], "script")
        elif t in _TRIG:
            put(i, [_TRIG[t]], "trig")
        elif len(t) == 1 and t.isdigit():
            put(i, [str((int(t) + 1) % 10)], "digit")
        elif len(t) == 1 and t.isascii() and t.isalpha() and not prev.startswith("\\begin"):
            if t.lower() != t.upper():
                put(i, [t.swapcase()], "case")
            base = "a" if t.islower() else "A"
            k = ord(t) - ord(base)
            put(i, [chr(ord(base) + (k + 1) % 26)], "letter")
        if t in ("+", "-") and i > 0 and toks[i - 1] not in _RELATIONS and toks[i - 1] not in _OPEN:
            j = i + 1
            while j < len(toks) and not (
                depth[j] == depth[i] and (toks[j] in ("+", "-") or toks[j] in _RELATIONS)
            ):
                if depth[j] < depth[i]:
                    break
                j += 1
            if j - i > 1:
                put(i, [], "drop", j)
    # an added term: at the end of the first side (before a relation at depth 0), or at the end
    rel = next((i for i, t in enumerate(toks) if depth[i] == 0 and t in _RELATIONS - {","}), len(toks))
    out.append((join(toks[:rel] + ["+", "1"] + toks[rel:]), "add"))
    return out


def near_misses(latex: str, rng: random.Random, n: int = 8, normalize=None) -> list[tuple[str, str]]:
    """About *n* one-edit near misses of *latex* (LaTeX, kind), as varied in kind as the expression allows:
    kinds are drawn round-robin in random order, each kind's edits in random order. With ``normalize``
    (a LaTeX -> token list function) near misses equal to the truth or to each other are dropped."""
    by_kind: dict[str, list[str]] = {}
    for lat, kind in _candidates(latex):
        by_kind.setdefault(kind, []).append(lat)
    for lats in by_kind.values():
        rng.shuffle(lats)
    kinds = list(by_kind)
    rng.shuffle(kinds)
    seen = {tuple(normalize(latex)) if normalize else latex}
    out: list[tuple[str, str]] = []
    while len(out) < n and any(by_kind.values()):
        for kind in kinds:
            if len(out) >= n:
                break
            while by_kind[kind]:
                lat = by_kind[kind].pop()
                key = tuple(normalize(lat)) if normalize else lat
                if key not in seen:
                    seen.add(key)
                    out.append((lat, kind))
                    break
    return out


def calibration_rows(limit: int, seed: int) -> list[dict]:
    """Rows of the training file's calibration split (writers of the training command's validation split,
    seed 0, 10 %); with *limit*, a seeded random subset sorted by id."""
    from whiteboard_app.recognition.training.data import iter_rows, raw_writer

    rows = []
    for row in iter_rows(TRAIN):
        w = raw_writer(row)
        if w is None:
            continue
        h = hashlib.sha256(f"0:{w}".encode()).digest()
        if h[0] / 256.0 < 0.1:
            rows.append(row)
    if limit and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
        rows.sort(key=lambda r: r["id"])
    return rows


def step_ink(row: dict):
    """The row's strokes as a StepInk with stroke ids 1..n (stable, so cached results stay valid)."""
    from whiteboard_app.ink import Point, StepInk, Stroke

    return StepInk(
        tuple(
            Stroke(tuple(Point(float(x), float(y)) for x, y, *_ in s), id=k + 1)
            for k, s in enumerate(row["strokes"])
            if s
        )
    )


def read(rec, ink, ctx, timeout_s: float):
    """(result, ms): ``rec.recognize(ink, ctx)`` under the app's time limit, counted in the process's CPU time
    (``ITIMER_PROF``: on this shared machine wall time depends on the other jobs; one torch thread, so CPU
    time is what a reading costs on an idle core); over it or on a failure, an empty result ("could not
    read")."""
    from whiteboard_app.recognition.base import RecognitionResult

    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_PROF, timeout_s)
    try:
        result = rec.recognize(ink, ctx)
    except _Timeout:
        result = RecognitionResult()
    except Exception as exc:  # noqa: BLE001 - a failure reads nothing
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        result = RecognitionResult()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return result, (time.perf_counter() - t0) * 1000


def _stage(rc, rr, ctx) -> str | None:
    """Which stage changed the engine's open reading into the context reading (module docstring)."""
    from whiteboard_app.recognition.context import score_candidates

    if rc.verified:
        return "engine"
    if (rr.best or "") == (rc.best or ""):
        return None
    scored = score_candidates(rc.candidates, ctx, symbols=rc.symbols)
    return "prior" if scored and scored[0].latex == rr.best else "verifier"


def run(rows: list[dict], rec, ev, seed: int, cache: dict, timeout_s: float, out_f=None, log_every: int = 20):
    """Per-expression records (see the module docstring); fills *cache* (id -> open result)."""
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import rerank
    from whiteboard_app.recognition.form_match import warm_up
    from whiteboard_app.recognition.trained import VERIFY_FIRST_STROKES

    res = []
    t_start = time.perf_counter()
    for n, row in enumerate(rows, 1):
        truth = row["latex"]
        tn = tuple(ev.normalize(truth))
        rng = random.Random(f"{seed}:{row['id']}")
        nms = near_misses(truth, rng, normalize=ev.normalize)
        nm_norm = {tuple(ev.normalize(lat)): kind for lat, kind in nms}
        ink = step_ink(row)
        n_strokes = len(ink.strokes)
        if row["id"] in cache:
            r = cache[row["id"]]
        else:
            r, _ms = read(rec, ink, None, timeout_s)
            cache[row["id"]] = r
        o = tuple(ev.normalize(r.best or ""))
        item = {
            "id": row["id"],
            "n_strokes": n_strokes,
            "truth": truth,
            "open": r.best or "",
            "open_ok": o == tn,
            "near_misses": nms,
        }
        for cond in ("A", "B"):
            ctx = RecognitionContext(
                (((truth, "reference"),) if cond == "A" else ())
                + tuple((lat, "near_miss") for lat, _k in nms)
            )
            warm_up(ctx)
            t0 = time.perf_counter()
            if n_strokes >= VERIFY_FIRST_STROKES:
                rc, _ms = read(rec, ink, ctx, timeout_s)
            else:
                rc = r  # below VERIFY_FIRST_STROKES the engine does not use the context
            try:
                rr = rerank(rc, ctx, ink=ink, classify=rec.classify_groups)
            except Exception as exc:  # noqa: BLE001 - counted as the engine's reading
                print(f"{row['id']}: rerank {type(exc).__name__}: {exc}", file=sys.stderr)
                rr = rc
            ms = (time.perf_counter() - t0) * 1000
            c = tuple(ev.normalize(rr.best or ""))
            wrong = nm_norm.get(c)
            item[cond] = {
                "read": rr.best or "",
                "ok": c == tn,
                "wrong_kind": wrong,
                "changed": c != o,
                "stage": _stage(rc, rr, ctx),
                "ms": round(ms, 1),
            }
        res.append(item)
        if out_f:
            out_f.write(json.dumps(item) + "\n")
            out_f.flush()
        if log_every and n % log_every == 0:
            s = summarise(res)
            print(
                f"{n}/{len(rows)} {time.perf_counter() - t_start:.0f}s open {s['open_exact']}% "
                f"A {s['A']['exact']}% wrong {s['A']['wrong']}% | B exact {s['B']['exact']}% wrong "
                f"{s['B']['wrong']}% right->wrong {s['B']['right_to_wrong']}/{s['open_ok']}",
                flush=True,
            )
    return res


def _pct(k: int, n: int) -> float:
    return round(100.0 * k / max(1, n), 1)


def summarise(res: list[dict]) -> dict:
    """Figures of both conditions (module docstring)."""
    out = {
        "n": len(res),
        "open_ok": sum(x["open_ok"] for x in res),
        "open_unread": sum(not x["open"] for x in res),
        "open_exact": _pct(sum(x["open_ok"] for x in res), len(res)),
    }
    for cond in ("A", "B"):
        xs = [x[cond] for x in res]
        wrong = [x for x in res if x[cond]["wrong_kind"]]
        turned = [x for x in res if x["open_ok"] and x[cond]["wrong_kind"]]
        became = [x for x in wrong if x[cond].get("changed", x[cond]["read"] != x["open"])]
        d = {
            "exact": _pct(sum(c["ok"] for c in xs), len(xs)),
            "exact_n": sum(c["ok"] for c in xs),
            "wrong": _pct(len(wrong), len(xs)),
            "wrong_n": len(wrong),
            "became": _pct(len(became), len(xs)),
            "became_n": len(became),
            "unread": sum(not c["read"] for c in xs),
            "right_to_wrong": len(turned),
            "right_to_wrong_pct": _pct(len(turned), out["open_ok"]),
            "wrong_by_kind": {k: sum(x[cond]["wrong_kind"] == k for x in wrong) for k in KINDS},
            "wrong_by_stage": {
                s: sum(x[cond]["stage"] == s for x in wrong) for s in ("engine", "prior", "verifier")
            },
            "turned_examples": [(x["truth"], x[cond]["read"]) for x in turned[:8]],
            "median_ms": sorted(c["ms"] for c in xs)[len(xs) // 2] if xs else None,
        }
        by = {}
        for lo, hi in BUCKETS:
            sel = [x for x in res if lo <= x["n_strokes"] <= hi]
            by[f"{lo}-{hi if hi < 10**6 else ''}".rstrip("-") + ("+" if hi >= 10**6 else "")] = {
                "n": len(sel),
                "open": _pct(sum(x["open_ok"] for x in sel), len(sel)),
                "exact": _pct(sum(x[cond]["ok"] for x in sel), len(sel)),
                "wrong": _pct(sum(bool(x[cond]["wrong_kind"]) for x in sel), len(sel)),
            }
        d["by_strokes"] = by
        out[cond] = d
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=200, help="expressions (0: all)")
    ap.add_argument("--seed", type=int, default=1234, help="sample and near-miss seed")
    ap.add_argument("--data", choices=("dev", "calibration"), default="dev")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout-s", type=float, default=3.0)
    ap.add_argument("--cache", help="open readings cache (pickle); default runs/context_real/<data>-open.pkl")
    ap.add_argument("--out", help="per-expression records (JSON lines)")
    ap.add_argument("--label", default="", help="what this run measures (for the report)")
    ap.add_argument(
        "--baseline",
        help="per-expression records (--out) of an earlier run on the same sample, reported beside this one",
    )
    ap.add_argument("--baseline-label", default="before", help="what the baseline run measured")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if not OCR_EVAL.exists() or not (DEV if args.data == "dev" else TRAIN).exists():
        print(
            "benchmarks.context_real: needs ../shared/handwriting and ../shared/tools/ocr_eval.py",
            file=sys.stderr,
        )
        return 2
    import torch

    from whiteboard_app.recognition.whiteboard import create

    torch.set_num_threads(args.threads)
    signal.signal(signal.SIGPROF, _alarm)
    ev = load_ocr_eval()
    rows = (
        load_rows(DEV, args.limit, args.seed)
        if args.data == "dev"
        else calibration_rows(args.limit, args.seed)
    )
    cache_path = Path(args.cache) if args.cache else CACHE_DIR / f"{args.data}-open.pkl"
    cache: dict = {}
    if cache_path.exists():
        with open(cache_path, "rb") as f:
            cache = pickle.load(f)
    rec = create()  # the engine with the card-context verifier as its hook, as the app builds it
    rec.load()
    out_f = open(args.out, "w", encoding="utf-8") if args.out else None
    t0 = time.perf_counter()
    try:
        res = run(rows, rec, ev, args.seed, cache, args.timeout_s, out_f)
    finally:
        if out_f:
            out_f.close()
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        with open(cache_path, "wb") as f:
            pickle.dump(cache, f)
    summary = summarise(res)
    summary["minutes"] = round((time.perf_counter() - t0) / 60, 1)
    print(json.dumps(summary, indent=1))
    if not args.no_write and args.data == "dev":
        before = None
        if args.baseline:
            recs = [json.loads(line) for line in open(args.baseline, encoding="utf-8") if line.strip()]
            before = summarise(recs)
        write_report(args, summary, before)
    return 0


def _table(summary: dict) -> list[str]:
    a, b = summary["A"], summary["B"]
    return [
        "| | open reading | A: truth + near misses | B: near misses only |",
        "|---|---|---|---|",
        f"| exact | {summary['open_exact']} % | {a['exact']} % | {b['exact']} % |",
        f"| reading is a wrong form | - | {a['wrong']} % ({a['wrong_n']}) | {b['wrong']} % ({b['wrong_n']}) |",
        f"| ... and the context made it (the open reading was another) | - | {a['became']} % ({a['became_n']}) | "
        f"{b['became']} % ({b['became_n']}) |",
        f"| correct open reading turned into a wrong form | - | {a['right_to_wrong']} of {summary['open_ok']} | "
        f"{b['right_to_wrong']} of {summary['open_ok']} ({b['right_to_wrong_pct']} %) |",
        f"| nothing read (over the 3 s limit) | {summary.get('open_unread', '-')} | {a['unread']} | {b['unread']} |",
    ]


def write_report(args, summary: dict, before: dict | None = None, extra: list[str] = ()) -> None:
    """The "context_real" section of docs/benchmarks.md (with ``before``, an earlier run's figures, and
    ``extra`` lines of text before the floors)."""
    from benchmarks._report import machine, write_section

    a, b = summary["A"], summary["B"]
    md = [
        f"## Card context on real human layouts (dev.jsonl, {summary['n']} expressions)",
        "",
        f"{machine()}. `python -m benchmarks.context_real --limit {args.limit} --seed {args.seed}` "
        f"({summary['minutes']} min; open readings from the cache). {args.label}".rstrip(),
        "",
        "Each expression's context: the truth and about 8 near misses in the writer's notation (sign flip, "
        "subscript/superscript swap, case swap, sin/cos, digit, letter, dropped/added term); A = truth + "
        "near misses, B = near misses only. Read as the app does: `recognize(ink, context)` then "
        "`rerank(result, context, ink=ink, classify=...)`.",
        "",
        *_table(summary),
        "",
    ]
    if before is not None:
        md += [
            f"{args.baseline_label}:",
            "",
            *_table(before),
            "",
            "Wrong forms by stage then (A / B): "
            + ", ".join(
                f"{s} {before['A']['wrong_by_stage'][s]} / {before['B']['wrong_by_stage'][s]}"
                for s in ("engine", "prior", "verifier")
            )
            + "; by kind (B): "
            + ", ".join(f"{k} {before['B']['wrong_by_kind'][k]}" for k in KINDS)
            + ".",
            "",
        ]
    md += [
        "By stroke count (exact open / A / B; wrong form A / B):",
        "",
        "| strokes | n | open | A exact | B exact | A wrong form | B wrong form |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, v in a["by_strokes"].items():
        vb = b["by_strokes"][k]
        md.append(
            f"| {k} | {v['n']} | {v['open']} % | {v['exact']} % | {vb['exact']} % | {v['wrong']} % | "
            f"{vb['wrong']} % |"
        )
    md += [
        "",
        "Wrong forms by kind (A / B): "
        + ", ".join(f"{k} {a['wrong_by_kind'][k]} / {b['wrong_by_kind'][k]}" for k in KINDS)
        + ".",
        "By stage (A / B): "
        + ", ".join(
            f"{s} {a['wrong_by_stage'][s]} / {b['wrong_by_stage'][s]}"
            for s in ("engine", "prior", "verifier")
        )
        + ".",
        "",
        *extra,
        "Floors (issue 13): B wrong form <= 2 %, correct open reading turned wrong <= 1 %; A exact >= 65 %.",
    ]
    write_section("context_real", "\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
