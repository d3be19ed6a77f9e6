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
* Time to adapt: a real :class:`TrainedRecognizer` is given 15 symbols x 3 samples of one writer
  (``set_adaptation``: features of every sample + fitting), median of ``--timing-runs`` runs, one torch
  thread.

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


def run(args) -> dict:
    """Measure (see the module docstring); returns the figures as a dict."""
    import numpy as np
    import torch

    from whiteboard_app.ink import Point, Stroke
    from whiteboard_app.recognition.adaptation import WriterAdaptation, classifier_head
    from whiteboard_app.recognition.trained import TrainedRecognizer
    from whiteboard_app.recognition.training.data import load_expressions

    torch.set_num_threads(1)
    exprs = _writers(load_expressions(TRAIN), args.writers, args.max_writers, args.seed)
    rec = TrainedRecognizer(threads=1)
    clf = rec._load().classifier
    names = list(clf.label_names)
    head = classifier_head(clf)
    items = glyph_table(exprs, names)
    t0 = time.perf_counter()
    feats, logits = in_step_features(rec, exprs, items)
    feat_s = time.perf_counter() - t0

    by_writer: dict[str, list[int]] = defaultdict(list)
    for n, (k, _idx, _c) in enumerate(items):
        by_writer[exprs[k].writer].append(n)
    rng = random.Random(args.seed)

    def sample_strokes(n):
        k, idx, _c = items[n]
        e = exprs[k]
        return tuple(Stroke(tuple(Point(x, y, t=i) for i, (x, y) in enumerate(e.strokes[j]))) for j in idx)

    per_class = defaultdict(lambda: [0, 0, 0])  # class -> [test glyphs, right before, right after]
    other = [0, 0, 0]  # glyphs of classes the writer did not calibrate: [n, right before, right after]
    # the same with the calibrated classes' output rows masked: as if the classifier had no such class
    hidden = [0, 0, 0]
    hidden_other = [0, 0, 0]
    writers_used, classes_cal = 0, []
    for w in sorted(by_writer):
        glyphs = by_writer[w]
        by_cls: dict[int, list[int]] = defaultdict(list)
        for n in glyphs:
            by_cls[items[n][2]].append(n)
        eligible = sorted(c for c, g in by_cls.items() if len(g) > args.samples)
        if not eligible:
            continue
        writers_used += 1
        cal, test = [], []
        for c in eligible:
            g = list(by_cls[c])
            rng.shuffle(g)
            cal += [(names[c], sample_strokes(n)) for n in g[: args.samples]]
            test += g[args.samples :]
        classes_cal.append(len(eligible))
        cal_set = set(eligible)
        samples_feats, labels = rec.sample_features(cal)
        adaptation = WriterAdaptation.fit(samples_feats, labels, head)
        # blind: labels the classifier has no class for (no prior from its prototypes either)
        blind = WriterAdaptation.fit(samples_feats, [f"new:{x}" for x in labels], head)
        rest = [n for n in glyphs if items[n][2] not in cal_set]
        for ns, acc in ((test, hidden), (rest, hidden_other)):
            if not ns:
                continue
            masked = logits[ns].copy()
            masked[:, eligible] = -np.inf
            after = blind.predict(feats[ns], masked)
            acc[0] += len(ns)
            acc[1] += int((masked.argmax(1) == np.array([items[n][2] for n in ns])).sum())
            acc[2] += sum(
                a in (names[items[n][2]], f"new:{names[items[n][2]]}") for a, n in zip(after, ns, strict=True)
            )
        for ns, is_test in ((test, True), (rest, False)):
            if not ns:
                continue
            before = logits[ns].argmax(1)
            after = adaptation.predict(feats[ns], logits[ns])
            for j, n in enumerate(ns):
                c = items[n][2]
                ok_b, ok_a = int(before[j] == c), int(after[j] == names[c])
                if is_test:
                    pc = per_class[names[c]]
                    pc[0] += 1
                    pc[1] += ok_b
                    pc[2] += ok_a
                else:
                    other[0] += 1
                    other[1] += ok_b
                    other[2] += ok_a

    # time to adapt: 15 symbols x 3 samples of one writer, through the real engine
    times = []
    pool = [w for w in sorted(by_writer)]
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

    n_test = sum(v[0] for v in per_class.values())
    right_b = sum(v[1] for v in per_class.values())
    right_a = sum(v[2] for v in per_class.values())
    return {
        "writers": args.writers,
        "writers_used": writers_used,
        "expressions": len(exprs),
        "glyphs": len(items),
        "samples": args.samples,
        "classes_calibrated_median": float(np.median(classes_cal)) if classes_cal else 0.0,
        "test_glyphs": n_test,
        "top1_before": right_b / max(1, n_test),
        "top1_after": right_a / max(1, n_test),
        "other_glyphs": other[0],
        "other_before": other[1] / max(1, other[0]),
        "other_after": other[2] / max(1, other[0]),
        "per_class": {k: list(v) for k, v in sorted(per_class.items())},
        "hidden_after": hidden[2] / max(1, hidden[0]),
        "hidden_other_before": hidden_other[1] / max(1, hidden_other[0]),
        "hidden_other_after": hidden_other[2] / max(1, hidden_other[0]),
        "adapt_ms_median": float(np.median(times)) if times else None,
        "adapt_samples": 45,
        "feature_s": feat_s,
    }


def report(r: dict, floor: float = FLOOR) -> str:
    """Markdown for docs/benchmarks.md."""
    from benchmarks._report import machine

    who = (
        "the training command's held-out writers (validation split, seed 0: in the training file, never "
        "seen by the shipped weights)"
        if r["writers"] == "held-out"
        else "a sample of the writers the shipped weights were trained on (before is optimistic)"
    )
    lines = [
        f"Leave-one-writer-out on {who}: {r['writers_used']} writers, {r['expressions']} expressions, "
        f"{r['glyphs']} glyphs. Each writer calibrates every class of which they wrote more than "
        f"{r['samples']} glyphs with {r['samples']} of them (median {r['classes_calibrated_median']:g} classes "
        "a writer); the test is that writer's other glyphs of the class, read as inside a step. "
        f"Machine: {machine()}, one torch thread.",
        "",
        "| | glyphs | top-1 before | top-1 after |",
        "|---|---:|---:|---:|",
        f"| calibrated classes, the writer's other glyphs | {r['test_glyphs']} | "
        f"{100 * r['top1_before']:.1f} % | **{100 * r['top1_after']:.1f} %** |",
        f"| classes the writer did not calibrate | {r['other_glyphs']} | {100 * r['other_before']:.1f} % | "
        f"{100 * r['other_after']:.1f} % |",
        f"| calibrated classes, classifier made blind to them | {r['test_glyphs']} | 0 % | "
        f"**{100 * r['hidden_after']:.1f} %** |",
        f"| ... and the classes not calibrated | {r['other_glyphs']} | {100 * r['hidden_other_before']:.1f} % | "
        f"{100 * r['hidden_other_after']:.1f} % |",
        "",
        '"Made blind": the calibrated classes\' output rows are masked and the samples are given under labels '
        "the classifier has no class for (so its prototypes of those classes are not used either), as for a "
        "symbol it cannot read at all: the calibration alone must teach it, from 3 real samples. That is the "
        "case of a symbol whose shape in this writer's hand the classifier has never learnt (the added ML "
        "classes were learnt from made ink only); the first row shows what calibrating a symbol the "
        "classifier already reads adds.",
        "",
        f"Floor: after calibration the writer's other glyphs of the class >= {100 * floor:.0f} % top-1: "
        f"**{'met' if r['top1_after'] >= floor else 'NOT met'}** for classes the classifier knows "
        f"({100 * r['top1_after']:.1f} % over all test glyphs; per class below), "
        f"**{'met' if r['hidden_after'] >= floor else 'NOT met'}** for classes it is blind to "
        f"({100 * r['hidden_after']:.1f} %). Median time to adapt to "
        f"{r['adapt_samples']} samples (15 symbols x 3; drawing + features + fit, in the engine): "
        f"{r['adapt_ms_median']:.0f} ms.",
        "",
        "Per class (classes with at least 10 test glyphs; the rest are in the totals):",
        "",
        "| class | test glyphs | before | after |",
        "|---|---:|---:|---:|",
    ]
    rows = [(k, v) for k, v in r["per_class"].items() if v[0] >= 10]
    rows.sort(key=lambda kv: (kv[1][1] / kv[1][0], kv[0]))
    for k, (n, b, a) in rows:
        lines.append(f"| `{k}` | {n} | {100 * b / n:.1f} % | {100 * a / n:.1f} % |")
    worst = [k for k, (n, _b, a) in r["per_class"].items() if n >= 10 and a / n < floor]
    lines += [
        "",
        f"Classes under the floor after calibration (>= 10 test glyphs): {', '.join(f'`{k}`' for k in worst) or 'none'}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--writers", choices=("held-out", "seen"), default="held-out")
    p.add_argument("--max-writers", type=int, default=60, help="with --writers seen: how many writers")
    p.add_argument("--samples", type=int, default=3, help="calibration samples a class")
    p.add_argument("--seed", type=int, default=20261207)
    p.add_argument("--timing-runs", type=int, default=15)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    args = p.parse_args(argv)
    if not TRAIN.exists():
        print(f"skipped: {TRAIN} is not on this machine", file=sys.stderr)
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
