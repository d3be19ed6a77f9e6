"""Calibration with 3 samples a class, measured leave-one-writer-out on the training writers.

Protocol (issue 14 item 2). For each writer of ``../shared/handwriting/train.jsonl.gz`` (the raw writer
annotation, ``training.data.raw_writer``) and each class of which that writer wrote at least
``--samples + 1`` glyphs, ``--samples`` (3) of those glyphs, chosen at random (seeded), are the writer's
calibration samples; the writer's OTHER glyphs of the class are the test. All of a writer's eligible
classes are calibrated at once (as a user calibrating a list of symbols), and the writer's glyphs of classes
not calibrated are read too (what the calibration costs them). Nothing of another writer is used.

* Calibration samples are drawn as the calibration screen sends them: the glyph's strokes alone, normalised
  and drawn by the engine's own path (:meth:`TrainedRecognizer.sample_features` ->
  ``recognition.adaptation``).
* Test glyphs are read as the recogniser reads a symbol inside a step: the whole expression normalised, the
  glyph drawn on the expression's canvas (``training.classifier.render_items``, mathnote-ocr's renderer and
  size feature), classified by the classifier alone and then through the writer's adaptation
  (:class:`whiteboard_app.recognition.adaptation.WriterAdaptation`, the code the app runs).
* Writers: ``--writers held-out`` (default) are the training command's writer-disjoint validation split
  (seed 0, 10 %): writers in the training file whose ink the shipped weights never saw. ``--writers seen``
  samples ``--max-writers`` of the other writers (the weights were trained on their ink: "before" is then
  optimistic). Writers without an annotation (MathBrush) are skipped.
* Two decision rules read the same writers, samples and glyphs: the distance ratio (session 7: the writer's
  label when its prototype is nearer than the model's prototype of its reading) and the decision gate
  (``weights/calibration_gate.json``, or ``--gate PATH``). Two protocols: every eligible class calibrated
  (as above), and "half": a random half of them, so that common classes are left uncalibrated (a user
  calibrates a few symbols; the rest must keep the model's reading).
* Time to adapt: a real :class:`TrainedRecognizer` is given 15 symbols x 3 samples of one writer
  (``set_adaptation``: features of every sample + fitting), median of ``--timing-runs`` runs, one torch
  thread.
* ``--fit-gate OUT`` fits the decision gate (:func:`fit_gate`) on ``--writers seen`` (``--max-writers``
  of the writers the weights were trained on; never the held-out writers the benchmark reports) and writes
  it to OUT; the shipped one: ``--fit-gate whiteboard_app/recognition/weights/calibration_gate.json
  --max-writers 150``.
* ``--made`` calibrates the added ML classes (∂ ∇ ε η τ ‖ hat K ...) on MADE ink
  (``training.symbol_synth``, made in each held-out writer's hand; not real handwriting): section
  "calibration_made".

Usage: ``python -m benchmarks.calibration [--writers held-out|seen] [--samples 3] [--no-write]``; writes the
"calibration" section of docs/benchmarks.md ("calibration_seen" with ``--writers seen``). Needs ../shared (skips with a message otherwise).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.recognition import SHARED

TRAIN = SHARED / "handwriting" / "train.jsonl.gz"
FLOOR = 0.95


def _writers(exprs, which: str, max_writers: int, seed: int):
    from whiteboard_app.recognition.training.data import writer_split

    _train, val = writer_split(exprs, 0.1, 0)
    if which == "held-out":
        chosen = [e for e in val if e.writer is not None]
    else:
        seen = [e for e in _train if e.writer is not None]
        names = sorted({e.writer for e in seen})
        random.Random(seed).shuffle(names)
        keep = set(names[:max_writers])
        chosen = [e for e in seen if e.writer in keep]
    return chosen


def glyph_table(exprs, label_names):
    """Every labelled glyph of *exprs* with a class of the classifier: (expr index, stroke ids, class)."""
    from whiteboard_app.recognition.training.data import mark_fraction_bars

    index = {n: i for i, n in enumerate(label_names)}
    items = []
    for k, e in enumerate(exprs):
        mark_fraction_bars(e)
        for name, idx in e.symbols:
            if name is None or name not in index:
                continue
            idx = [i for i in idx if i < len(e.strokes) and e.strokes[i]]
            if idx:
                items.append((k, idx, index[name]))
    return items


def in_step_features(rec, exprs, items, batch: int = 512):
    """(features (N, 256), logits (N, C)) of each glyph drawn inside its expression, as in a reading."""
    import numpy as np
    import torch

    from whiteboard_app.recognition.training.classifier import _to_tensor, render_items

    clf = rec._load().classifier
    imgs, sizes = render_items(exprs, items, clf.canvas_size)
    feats, logits = [], []
    with torch.no_grad():
        for i in range(0, len(items), batch):
            lg, f = clf.model(_to_tensor(imgs[i : i + batch]), torch.from_numpy(sizes[i : i + batch]))
            feats.append(f.numpy())
            logits.append(lg.numpy())
    return np.concatenate(feats), np.concatenate(logits)


def _episodes(exprs, items, by_writer, names, samples: int, frac: float, seed: int):
    """Per writer: (writer, calibrated classes, {class: calibration glyph ids}, test glyph ids, other glyph
    ids). Each writer calibrates ``frac`` of the classes of which they wrote more than ``samples`` glyphs
    (at least one; chosen at random), ``samples`` glyphs of each chosen at random; the test is their other
    glyphs of those classes, "other" every glyph of the classes not calibrated. Seeded."""
    rng = random.Random(seed)
    out = []
    for w in sorted(by_writer):
        glyphs = by_writer[w]
        by_cls: dict[int, list[int]] = defaultdict(list)
        for n in glyphs:
            by_cls[items[n][2]].append(n)
        eligible = sorted(c for c, g in by_cls.items() if len(g) > samples)
        if not eligible:
            continue
        if frac < 1.0:
            rng.shuffle(eligible)
            eligible = sorted(eligible[: max(1, round(frac * len(eligible)))])
        cal, test = {}, []
        for c in eligible:
            g = list(by_cls[c])
            rng.shuffle(g)
            cal[c] = g[:samples]
            test += g[samples:]
        cal_set = set(eligible)
        rest = [n for n in glyphs if items[n][2] not in cal_set]
        out.append((w, eligible, cal, test, rest))
    return out


RULES = ("ratio", "gate")
#: How the classifier stands to the calibrated classes: "known" (it reads them as it does), "blind" (no
#: class for them: their rows masked, the samples under new labels), "unread" (it has the classes but
#: cannot read this writer's glyphs of them: their rows masked, in the samples' probabilities too, the
#: labels its own class names -- the case of an added ML class learnt from made ink only).
MODES = ("known", "blind", "unread")


def _mode_samples(mode: str, labels, samples_feats, head, eligible):
    """(labels, sample probabilities or None) of the calibration samples in *mode* (see :data:`MODES`)."""
    if mode == "blind":
        return [f"new:{x}" for x in labels], None
    if mode == "known":
        return list(labels), None
    probs = head.probabilities(samples_feats)
    if probs is None:
        return list(labels), None
    probs[:, eligible] = 0.0
    return list(labels), probs / probs.sum(axis=1, keepdims=True)


def run(args) -> dict:
    """Measure (see the module docstring); returns the figures as a dict."""
    import numpy as np
    import torch

    from whiteboard_app.ink import Point, Stroke
    from whiteboard_app.recognition.adaptation import (
        WriterAdaptation,
        classifier_head,
        load_gate,
        shipped_gate,
    )
    from whiteboard_app.recognition.trained import TrainedRecognizer
    from whiteboard_app.recognition.training.data import load_expressions

    torch.set_num_threads(1)
    gate = load_gate(args.gate) if args.gate else shipped_gate()
    if gate is None:
        raise SystemExit("no decision gate: weights/calibration_gate.json is missing (--fit-gate makes it)")
    exprs = _writers(load_expressions(TRAIN), args.writers, args.max_writers, args.seed)
    rec = TrainedRecognizer(threads=1)
    clf = rec._load().classifier
    names = list(clf.label_names)
    head = classifier_head(clf)
    items = glyph_table(exprs, names)
    t0 = time.perf_counter()
    feats, logits = in_step_features(rec, exprs, items)
    feat_s = time.perf_counter() - t0
    truth = np.array([c for _k, _i, c in items])

    by_writer: dict[str, list[int]] = defaultdict(list)
    for n, (k, _idx, _c) in enumerate(items):
        by_writer[exprs[k].writer].append(n)

    def sample_strokes(n):
        k, idx, _c = items[n]
        e = exprs[k]
        return tuple(Stroke(tuple(Point(x, y, t=i) for i, (x, y) in enumerate(e.strokes[j]))) for j in idx)

    # counts[(protocol, mode, part)] = [glyphs, right: model alone, right: ratio rule, right: gate]
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    per_class = defaultdict(lambda: [0, 0, 0, 0])  # class -> [test glyphs, before, ratio, gate] (known, all)
    classes_cal: list[int] = []
    writers_used = 0
    for protocol, frac in (("all", 1.0), ("half", 0.5)):
        for _w, eligible, cal, test, rest in _episodes(
            exprs, items, by_writer, names, args.samples, frac, args.seed
        ):
            if protocol == "all":
                writers_used += 1
                classes_cal.append(len(eligible))
            order = [(names[c], n) for c in eligible for n in cal[c]]
            samples_feats, labels = rec.sample_features([(lab, sample_strokes(n)) for lab, n in order])
            for mode in MODES:
                labs, sp = _mode_samples(mode, labels, samples_feats, head, eligible)
                ads = {
                    "ratio": WriterAdaptation.fit(samples_feats, labs, head, gate=None, sample_probs=sp),
                    "gate": WriterAdaptation.fit(samples_feats, labs, head, gate=gate, sample_probs=sp),
                }
                for part, ns in (("test", test), ("other", rest)):
                    if not ns:
                        continue
                    lg = logits[ns].copy()
                    if mode != "known":
                        lg[:, eligible] = -np.inf
                    want = [names[c] for c in truth[ns]]
                    ok_b = lg.argmax(1) == truth[ns]
                    oks = [ok_b] + [
                        np.array(
                            [
                                a in (t, f"new:{t}")
                                for a, t in zip(ads[r].predict(feats[ns], lg), want, strict=True)
                            ]
                        )
                        for r in RULES
                    ]
                    acc = counts[(protocol, mode, part)]
                    acc[0] += len(ns)
                    for i, ok in enumerate(oks):
                        acc[i + 1] += int(ok.sum())
                    if protocol == "all" and mode == "known" and part == "test":
                        for j, n in enumerate(ns):
                            pc = per_class[names[truth[n]]]
                            pc[0] += 1
                            for i, ok in enumerate(oks):
                                pc[i + 1] += int(ok[j])

    # time to adapt: 15 symbols x 3 samples of one writer, through the real engine
    times = []
    pool = sorted(by_writer)
    rng_t = random.Random(args.seed + 1)
    for _ in range(args.timing_runs):
        w = rng_t.choice(pool)
        ns = by_writer[w][:]
        rng_t.shuffle(ns)
        chosen = [(names[items[n][2]], sample_strokes(n)) for n in ns[:45]]
        t1 = time.perf_counter()
        rec.set_adaptation(chosen)
        times.append((time.perf_counter() - t1) * 1000.0)
    rec.clear_adaptation()

    return {
        "writers": args.writers,
        "writers_used": writers_used,
        "expressions": len(exprs),
        "glyphs": len(items),
        "samples": args.samples,
        "classes_calibrated_median": float(np.median(classes_cal)) if classes_cal else 0.0,
        "counts": {"/".join(k): v for k, v in sorted(counts.items())},
        "per_class": {k: list(v) for k, v in sorted(per_class.items())},
        "gate": args.gate or "weights/calibration_gate.json",
        "adapt_ms_median": float(np.median(times)) if times else None,
        "adapt_samples": 45,
        "feature_s": feat_s,
        "load_average": _load(),
    }


def _load() -> float | None:
    import os

    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _logistic(x, y, l2: float = 1e-2, iters: int = 50):
    """L2-regularised logistic regression by Newton's method (IRLS) on standardised inputs: (bias,
    weights (D,), mean (D,), scale (D,)). x (N, D), y (N,) in {0, 1}."""
    import numpy as np

    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    w = np.zeros(z.shape[1])
    reg = l2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        step = np.linalg.solve((z * (p * (1 - p))[:, None]).T @ z + reg, z.T @ (p - y) + reg @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), w[1:], mean, scale


def fit_gate(args):
    """Fit the decision gate on ``--writers`` (default for fitting: seen writers, never the held-out ones
    the benchmark reports): for each writer, calibrating all and half of their eligible classes
    (``--seed`` and ``--seed + 1``), both with the classifier's own classes and made blind to them,
    every glyph where the nearest writer label and the model's reading differ and one of them is right
    is a training row (y: the writer's label is right). Returns the :class:`DecisionGate`."""
    import numpy as np
    import torch

    from whiteboard_app.ink import Point, Stroke
    from whiteboard_app.recognition.adaptation import (
        DecisionGate,
        WriterAdaptation,
        _softmax,
        classifier_head,
    )
    from whiteboard_app.recognition.trained import TrainedRecognizer
    from whiteboard_app.recognition.training.data import load_expressions

    torch.set_num_threads(1)
    exprs = _writers(load_expressions(TRAIN), args.writers, args.max_writers, args.seed)
    rec = TrainedRecognizer(threads=1)
    clf = rec._load().classifier
    names = list(clf.label_names)
    head = classifier_head(clf)
    items = glyph_table(exprs, names)
    feats, logits = in_step_features(rec, exprs, items)
    truth = np.array([c for _k, _i, c in items])
    by_writer: dict[str, list[int]] = defaultdict(list)
    for n, (k, _idx, _c) in enumerate(items):
        by_writer[exprs[k].writer].append(n)

    def sample_strokes(n):
        k, idx, _c = items[n]
        e = exprs[k]
        return tuple(Stroke(tuple(Point(x, y, t=i) for i, (x, y) in enumerate(e.strokes[j]))) for j in idx)

    xs, ys, spreads = [], [], []
    for seed in (args.seed, args.seed + 1):
        for frac in (1.0, 0.5):
            for _w, eligible, cal, test, rest in _episodes(
                exprs, items, by_writer, names, args.samples, frac, seed
            ):
                order = [(names[c], n) for c in eligible for n in cal[c]]
                sf, labels = rec.sample_features([(lab, sample_strokes(n)) for lab, n in order])
                ns = test + rest
                for mode in MODES:
                    labs, sp = _mode_samples(mode, labels, sf, head, eligible)
                    ad = WriterAdaptation.fit(sf, labs, head, gate=None, sample_probs=sp)
                    spreads += [float(s) for s in ad.spreads]
                    lg = logits[ns].copy()
                    if mode != "known":
                        lg[:, eligible] = -np.inf
                    x, k1, mc, _d1, _dm = ad.decision_features(feats[ns], _softmax(lg))
                    want = [names[c] for c in truth[ns]]
                    ok_w = np.array([ad.labels[k] in (t, f"new:{t}") for k, t in zip(k1, want, strict=True)])
                    ok_m = mc == truth[ns]
                    keep = (ad.label_class[k1] != mc) & (ok_w | ok_m)
                    xs.append(x[keep])
                    ys.append(ok_w[keep].astype(np.float64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    bias, w, mean, scale = _logistic(x, y)
    print(
        f"gate fitted on {len(by_writer)} writers, {len(y)} decisions ({y.mean():.1%} for the writer's label)"
    )
    return DecisionGate(
        bias,
        tuple(float(v) for v in w),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        0.0,
        float(np.median(spreads)),
    )


def run_made(args) -> dict:
    """Calibrating the added ML classes, on MADE ink (``training.symbol_synth``; not real handwriting).

    For each held-out writer, ``--made-per-class`` glyphs of every added class are made in that writer's
    hand (their own glyphs transformed and their style measured, hosted in their own expressions, seed
    ``--seed``); ``--samples`` of each are the calibration samples (drawn alone, as the screen sends them),
    the others the test (read inside their host expression); the writer's real glyphs are the classes not
    calibrated. Read by the model alone, the distance-ratio rule and the decision gate."""
    import numpy as np
    import torch

    from whiteboard_app.ink import Point, Stroke
    from whiteboard_app.recognition.adaptation import (
        WriterAdaptation,
        classifier_head,
        load_gate,
        shipped_gate,
    )
    from whiteboard_app.recognition.trained import TrainedRecognizer
    from whiteboard_app.recognition.training.data import load_expressions
    from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES, make_samples

    torch.set_num_threads(1)
    gate = load_gate(args.gate) if args.gate else shipped_gate()
    exprs = _writers(load_expressions(TRAIN), "held-out", 0, args.seed)
    rec = TrainedRecognizer(threads=1)
    clf = rec._load().classifier
    names = list(clf.label_names)
    head = classifier_head(clf)
    classes = [c for c in ADDED_CLASSES if c in names]
    by_writer: dict[str, list] = defaultdict(list)
    for e in exprs:
        by_writer[e.writer].append(e)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # key -> [n, model, ratio, gate]
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for wi, w in enumerate(sorted(by_writer)):
        wex = by_writer[w]
        try:
            made = make_samples(wex, classes, args.made_per_class, args.seed + wi)
        except ValueError:
            continue
        by_cls: dict[str, list] = defaultdict(list)
        for m in made:
            by_cls[m.cls].append(m)
        cal, test = [], []
        for c in classes:
            ms = by_cls.get(c, [])
            if len(ms) <= args.samples:
                continue
            cal += [(c, m) for m in ms[: args.samples]]
            test += ms[args.samples :]
        if not test:
            continue
        sf, labels = rec.sample_features(
            [
                (
                    ADDED_CLASSES[c],
                    tuple(Stroke(tuple(Point(x, y) for x, y in m.expr.strokes[j])) for j in m.strokes),
                )
                for c, m in cal
            ]
        )
        titems = [(k, m.strokes, names.index(m.cls)) for k, m in enumerate(test)]
        tf, tl = in_step_features(rec, [m.expr for m in test], titems)
        real = glyph_table(wex, names)
        rf, rl = in_step_features(rec, wex, real) if real else (None, None)
        ads = {r: WriterAdaptation.fit(sf, labels, head, gate=None if r == "ratio" else gate) for r in RULES}
        for part, f, lg, truth in (
            ("test", tf, tl, [c for _k, _i, c in titems]),
            ("other", rf, rl, [c for _k, _i, c in real]),
        ):
            if f is None:
                continue
            t = np.array(truth)
            oks = [lg.argmax(1) == t] + [
                np.array(ads[r].predict(f, lg)) == np.array([names[c] for c in t]) for r in RULES
            ]
            acc = counts[part]
            acc[0] += len(t)
            for i, ok in enumerate(oks):
                acc[i + 1] += int(ok.sum())
            if part == "test":
                for j, c in enumerate(t):
                    pc = per_class[names[c]]
                    pc[0] += 1
                    for i, ok in enumerate(oks):
                        pc[i + 1] += int(ok[j])
    return {
        "writers": len(by_writer),
        "made_per_class": args.made_per_class,
        "samples": args.samples,
        "seed": args.seed,
        "counts": dict(counts),
        "per_class": dict(sorted(per_class.items())),
        "load_average": _load(),
    }


def report_made(r: dict, floor: float = FLOOR) -> str:
    """Markdown for the "calibration_made" section."""
    from benchmarks._report import machine

    load = r.get("load_average")
    lines = [
        f"MADE ink (`training.symbol_synth`, not real handwriting): for each of the {r['writers']} held-out "
        f"training writers, {r['made_per_class']} glyphs of every added class made in that writer's hand "
        f"(seed {r['seed']}); {r['samples']} of each are the calibration samples (drawn alone), the rest "
        "the test, read inside the writer's expression that hosts it; the writer's real glyphs are the "
        f"classes not calibrated. Machine: {machine()}, one torch thread"
        + (f", load average {load:.1f} at the end" if load is not None else "")
        + ".",
        "",
        "| | glyphs | model alone | distance ratio (session 7) | decision gate (shipped) |",
        "|---|---:|---:|---:|---:|",
    ]
    for part, words in (
        ("test", "added classes calibrated (made ink)"),
        ("other", "real glyphs, not calibrated"),
    ):
        n, b, ra, ga = r["counts"].get(part, [0, 0, 0, 0])
        lines.append(f"| {words} | {n} | {_pct(b, n)} | {_pct(ra, n)} | {_pct(ga, n)} |")
    lines += [
        "",
        "| class | test glyphs | model alone | distance ratio | decision gate |",
        "|---|---:|---:|---:|---:|",
    ]
    for k, (n, b, ra, ga) in r["per_class"].items():
        flag = "" if not n or ga / n >= floor else " (below the floor)"
        lines.append(f"| `{k}` | {n} | {_pct(b, n)} | {_pct(ra, n)} | {_pct(ga, n)}{flag} |")
    return "\n".join(lines)


def _pct(right: int, n: int) -> str:
    return f"{100 * right / n:.1f} %" if n else "-"


def report(r: dict, floor: float = FLOOR) -> str:
    """Markdown for docs/benchmarks.md."""
    from benchmarks._report import machine

    who = (
        "the training command's held-out writers (validation split, seed 0: in the training file, never "
        "seen by the shipped weights, nor by the decision gate's fit)"
        if r["writers"] == "held-out"
        else "a sample of the writers the shipped weights were trained on (before is optimistic)"
    )
    c = r["counts"]
    load = r.get("load_average")
    lines = [
        f"Leave-one-writer-out on {who}: {r['writers_used']} writers, {r['expressions']} expressions, "
        f"{r['glyphs']} glyphs. Each writer calibrates every class of which they wrote more than "
        f"{r['samples']} glyphs with {r['samples']} of them (median {r['classes_calibrated_median']:g} classes "
        'a writer; "half": a random half of those classes, so that common classes are left uncalibrated, '
        "as when a user calibrates a few symbols); the test is that writer's other glyphs of the class, "
        f"read as inside a step. Machine: {machine()}, one torch thread"
        + (f", load average {load:.1f} at the end" if load is not None else "")
        + ". Both rules run on the same writers, samples and glyphs (same seed).",
        "",
        "| writer calibrates | classifier | glyphs | count | model alone | distance ratio (session 7) | "
        "decision gate (shipped) |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    words = {
        "test": "calibrated classes, the writer's other glyphs",
        "other": "classes not calibrated",
    }
    for protocol in ("all", "half"):
        for mode in MODES:
            for part in ("test", "other"):
                n, b, ra, ga = c.get(f"{protocol}/{mode}/{part}", [0, 0, 0, 0])
                if not n:
                    continue
                knows = {
                    "known": "knows the classes",
                    "blind": "made blind to them",
                    "unread": "has them, cannot read them",
                }[mode]
                before = "0 %" if (mode != "known" and part == "test") else _pct(b, n)
                bold = "**" if part == "test" else ""
                lines.append(
                    f"| {'every class' if protocol == 'all' else 'half'} | {knows} | {words[part]} | {n} | "
                    f"{before} | {_pct(ra, n)} | {bold}{_pct(ga, n)}{bold} |"
                )
    kt, bt = c.get("all/known/test", [0, 0, 0, 0]), c.get("all/blind/test", [0, 0, 0, 0])
    ut = c.get("all/unread/test", [0, 0, 0, 0])
    met_k = kt[0] and kt[3] / kt[0] >= floor
    met_b = bt[0] and bt[3] / bt[0] >= floor
    met_u = ut[0] and ut[3] / ut[0] >= floor
    lines += [
        "",
        '"Made blind": the calibrated classes\' output rows are masked and the samples are given under labels '
        "the classifier has no class for (so its prototypes of those classes are not used either), as for a "
        "symbol it cannot read at all: the calibration alone must teach it, from 3 real samples. That is the "
        "case of a symbol whose shape in this writer's hand the classifier has never learnt (the added ML "
        'classes were learnt from made ink only). "Has them, cannot read them": the same masking, but the '
        "labels are the classifier's own classes (its prototypes shrink the writer's, and the model's "
        "probabilities of the samples are masked too). The decision gate is `weights/calibration_gate.json` "
        f"(`{r.get('gate')}`), fitted on other training writers (`--fit-gate`, see docs/recogniser.md).",
        "",
        f"Floor: after calibration the writer's other glyphs of the class >= {100 * floor:.0f} % top-1: "
        f"**{'met' if met_k else 'NOT met'}** for classes the classifier knows ({_pct(kt[3], kt[0])}), "
        f"**{'met' if met_b else 'NOT met'}** for classes it is blind to ({_pct(bt[3], bt[0])}), "
        f"**{'met' if met_u else 'NOT met'}** for classes it has but cannot read ({_pct(ut[3], ut[0])}). "
        f"Median time to adapt to {r['adapt_samples']} samples (15 symbols x 3; drawing + features + fit, "
        f"in the engine): {r['adapt_ms_median']:.0f} ms.",
        "",
        "Per class, every class calibrated, the classifier knowing them (classes with at least 10 test "
        "glyphs; the rest are in the totals):",
        "",
        "| class | test glyphs | before | distance ratio | decision gate |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [(k, v) for k, v in r["per_class"].items() if v[0] >= 10]
    rows.sort(key=lambda kv: (kv[1][1] / kv[1][0], kv[0]))
    for k, (n, b, ra, ga) in rows:
        lines.append(f"| `{k}` | {n} | {_pct(b, n)} | {_pct(ra, n)} | {_pct(ga, n)} |")
    worst = [k for k, (n, _b, _r, g) in r["per_class"].items() if n >= 10 and g / n < floor]
    lines += [
        "",
        f"Classes under the floor after calibration (>= 10 test glyphs): {', '.join(f'`{k}`' for k in worst) or 'none'}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--writers",
        choices=("held-out", "seen"),
        default=None,
        help="default: held-out (seen with --fit-gate)",
    )
    p.add_argument("--max-writers", type=int, default=60, help="with --writers seen: how many writers")
    p.add_argument("--samples", type=int, default=3, help="calibration samples a class")
    p.add_argument("--seed", type=int, default=20261207)
    p.add_argument("--timing-runs", type=int, default=15)
    p.add_argument(
        "--gate", type=Path, default=None, help="measure this gate file instead of the shipped one"
    )
    p.add_argument(
        "--fit-gate", type=Path, default=None, metavar="OUT", help="fit the decision gate, write it to OUT"
    )
    p.add_argument("--made", action="store_true", help="calibrate the added ML classes on made ink instead")
    p.add_argument(
        "--made-per-class", type=int, default=8, help="with --made: glyphs made a class and writer"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.writers is None:
        args.writers = "seen" if args.fit_gate else "held-out"
    if not TRAIN.exists():
        print(f"skipped: {TRAIN} is not on this machine", file=sys.stderr)
        return 0
    if args.fit_gate:
        if args.writers == "held-out":
            p.error(
                "--fit-gate fits on --writers seen: the held-out writers are the ones the benchmark reports"
            )
        gate = fit_gate(args)
        args.fit_gate.write_text(json.dumps(gate.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.fit_gate}")
        return 0
    if args.made:
        r = run_made(args)
        md = report_made(r)
        print(md)
        if args.json:
            args.json.write_text(json.dumps(r, indent=1), encoding="utf-8")
        if not args.no_write:
            from benchmarks._report import write_section

            write_section("calibration_made", md)
        return 0
    r = run(args)
    md = report(r)
    print(md)
    if args.json:
        args.json.write_text(json.dumps(r, indent=1), encoding="utf-8")
    if not args.no_write:
        from benchmarks._report import write_section

        write_section("calibration" if args.writers == "held-out" else "calibration_seen", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
