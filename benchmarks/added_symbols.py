"""Added symbol classes (∂ ∇ ε η τ ρ δ κ ω ℓ caret tilde ‖ * ∏ D J K Q U W Z): isolated-symbol top-1.

There is no real ink of these symbols on this machine, so the test ink is *made* as the training ink is
(``whiteboard_app.recognition.training.symbol_synth``), but from writers and draws the training never used:
the writers of the training command's writer-disjoint VALIDATION split (seed 0, 10 % of writers; their real
glyphs are transformed and their style measured, and their expressions host the glyphs) and another seed
(--seed, default 20261207; the training used seed 0 and logged seed 1000). None of it is real ink: this
measures what the classifier learnt from the made ink, not real writers' ∂ or ‖ (the issue's real
hand-drawn set judges that, and is kept out of the project).

``--holdout-fonts`` draws the skeleton part only from the given fonts (e.g. ``greek`` alone: a font the
synthesis also used, but not alone), for a second reading.

Each model (the classifier before the added classes, --old, and the one shipped) reads every made symbol as
the engine draws it (``training.classifier.render_items``, mathnote-ocr's renderer and size feature); the
real symbols of the same validation writers (the old classes) are read too, to show what the added classes
cost them. One torch thread.

A checkpoint with a class prior fitted for it (``class_prior.json`` in its folder, recognition/class_prior.py)
is read with that prior added to its logits, as the engine reads it; ``--no-prior`` reads without.

Usage: ``python -m benchmarks.added_symbols [--per-class N] [--old PATH] [--new PATH] [--no-prior]``; writes
the "added_symbols" section of docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.recognition import SHARED

TRAIN = SHARED / "handwriting" / "train.jsonl.gz"
ROOT = Path(__file__).resolve().parents[1]
NEW = ROOT / "whiteboard_app" / "recognition" / "weights" / "classifier.pth"
OLD = ROOT / "whiteboard_app" / "recognition" / "weights" / "grouper_vectors.pth"
FLOOR = 0.90


def predict(path: Path, exprs, items, batch: int = 512, prior: bool = True):
    """(label names, top-1 class names) of the classifier at *path* for *items* of *exprs*. With
    *prior*, the class prior fitted for that checkpoint (``class_prior.json`` beside it,
    recognition/class_prior.py) is added to its logits, as the engine does."""
    import numpy as np
    import torch

    from whiteboard_app.recognition.class_prior import matching_prior
    from whiteboard_app.recognition.training.classifier import _to_tensor, load_base, render_items

    model, ck = load_base(str(path))
    model.eval()
    names = list(ck["label_names"])
    bias = matching_prior(path) if prior else None
    if bias is not None:
        with torch.no_grad():
            model.fc2.bias += torch.tensor(bias, dtype=model.fc2.bias.dtype)
    imgs, sizes = render_items(exprs, items, ck.get("canvas_size", 32))
    out = []
    with torch.no_grad():
        for i in range(0, len(items), batch):
            logits, _f = model(_to_tensor(imgs[i : i + batch]), torch.from_numpy(sizes[i : i + batch]))
            out += [names[j] for j in np.asarray(logits.argmax(1))]
    return names, out


def run(args) -> dict:
    import torch

    from whiteboard_app.recognition.training import symbol_synth
    from whiteboard_app.recognition.training.data import load_expressions, mark_fraction_bars, writer_split
    from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES, make_samples

    symbol_synth.WRITTEN_SKELETONS = bool(getattr(args, "written_skeletons", False))
    symbol_synth.WRITTEN_ALLOGRAPHS = bool(getattr(args, "written_allographs", False))

    torch.set_num_threads(1)
    t0 = time.time()
    exprs = load_expressions(TRAIN)
    for e in exprs:
        mark_fraction_bars(e)
    _train, val = writer_split(exprs, 0.1, 0)
    classes = list(ADDED_CLASSES)
    made = make_samples(
        val,
        classes,
        args.per_class,
        args.seed,
        fonts=args.holdout_fonts.split(",") if args.holdout_fonts else None,
    )
    mexprs = [m.expr for m in made]
    mitems = [(k, m.strokes, 0) for k, m in enumerate(made)]
    # the old classes: every real symbol of the validation writers
    ritems, rlabels = [], []
    for k, e in enumerate(val):
        for name, idx in e.symbols:
            idx = [i for i in idx if i < len(e.strokes) and e.strokes[i]]
            if name is not None and idx:
                ritems.append((k, idx, 0))
                rlabels.append(name)
    result = {
        "per_class": args.per_class,
        "seed": args.seed,
        "holdout_fonts": args.holdout_fonts,
        "prev_label": args.prev_label or args.prev,
        "validation_expressions": len(val),
        "made": len(made),
        "real_symbols": len(ritems),
        "models": {},
    }
    models = [("old", Path(args.old))] + ([("prev", Path(args.prev))] if args.prev else [])
    for tag, path in models + [("new", Path(args.new))]:
        names, pm = predict(path, mexprs, mitems, prior=not args.no_prior)
        _n, pr = predict(path, val, ritems, prior=not args.no_prior)
        known = set(names)
        per = {}
        conf: dict[str, Counter] = {}
        for m, p in zip(made, pm, strict=True):
            c = per.setdefault(m.cls, {"n": 0, "ok": 0, "real_recipe_n": 0, "real_recipe_ok": 0})
            c["n"] += 1
            c["ok"] += p == m.cls
            if m.recipe.startswith("real:"):
                c["real_recipe_n"] += 1
                c["real_recipe_ok"] += p == m.cls
            if p != m.cls:
                conf.setdefault(m.cls, Counter())[p] += 1
        real_ok = sum(p == t for p, t in zip(pr, rlabels, strict=True) if t in known)
        real_n = sum(t in known for t in rlabels)
        result["models"][tag] = {
            "path": str(path),
            "classes": len(names),
            "per_class": {
                c: {
                    **v,
                    "acc": round(v["ok"] / max(1, v["n"]), 4),
                    "confused_with": conf.get(c, Counter()).most_common(3),
                }
                for c, v in per.items()
            },
            "real_old_classes_acc": round(real_ok / max(1, real_n), 4),
            "real_old_classes_n": real_n,
        }
    result["seconds"] = round(time.time() - t0, 1)
    return result


def markdown(r: dict) -> str:
    """The report section."""
    from benchmarks._report import machine
    from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES

    old, new = r["models"]["old"], r["models"]["new"]
    prev = r["models"].get("prev")
    lines = [
        "## Added symbol classes (isolated, made ink of held-out writers)",
        "",
        f"`python -m benchmarks.added_symbols --per-class {r['per_class']} --seed {r['seed']}"
        + (f" --holdout-fonts {r['holdout_fonts']}" if r["holdout_fonts"] else "")
        + (" --prev PREV" if prev else "")
        + f"` ({machine()}, one torch thread, "
        f"{r['seconds']:.0f} s). **Made ink, not real**: each symbol is made by the training's recipes "
        "(transforms of real glyphs, stroke-font skeletons in a writer's style) from the "
        f"{r['validation_expressions']} expressions of the training data's held-out writers (never used by the "
        "synthesis of the training set) with another seed. Floor: >= 90 % top-1 for each class.",
        "",
        "| class | LaTeX | top-1 before | "
        + ("top-1 previous weights (PREV) | " if prev else "")
        + "top-1 now | of which transforms of real glyphs | most confused with (now) |",
        "|---|---|---|---|---|---|" + ("---|" if prev else ""),
    ]
    for c in ADDED_CLASSES:
        n = new["per_class"].get(c)
        o = old["per_class"].get(c)
        if n is None:
            continue
        rr = f"{n['real_recipe_ok']}/{n['real_recipe_n']}" if n["real_recipe_n"] else "-"
        cw = ", ".join(f"`{k}` {v}" for k, v in n["confused_with"]) or "-"
        flag = "" if n["acc"] >= FLOOR else " (below floor)"
        pc = prev["per_class"].get(c) if prev else None
        pcol = (f"{100 * pc['acc']:.1f} % | " if pc else "- | ") if prev else ""
        lines.append(
            f"| `{c}` | `{ADDED_CLASSES[c]}` | {100 * o['acc']:.1f} % | {pcol}{100 * n['acc']:.1f} %{flag} "
            f"| {rr} | {cw} |"
        )
    below = [c for c in ADDED_CLASSES if c in new["per_class"] and new["per_class"][c]["acc"] < FLOOR]
    lines += [
        "",
        f"Classes at or over the floor: {len(new['per_class']) - len(below)} of {len(new['per_class'])}"
        + (f" (below: {', '.join(below)})" if below else "")
        + ".",
        f"Old classes, real symbols of the same held-out writers ({new['real_old_classes_n']:,}): "
        f"{100 * old['real_old_classes_acc']:.2f} % before"
        + (f" -> {100 * prev['real_old_classes_acc']:.2f} % (PREV)" if prev else "")
        + f" -> {100 * new['real_old_classes_acc']:.2f} % now.",
    ]
    if prev:
        lines.append(f"PREV: `{r['prev_label']}`.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--holdout-fonts", default="", help="comma-separated fonts the skeletons are drawn from")
    ap.add_argument("--old", default=str(OLD), help="classifier before the added classes")
    ap.add_argument("--new", default=str(NEW), help="classifier with the added classes")
    ap.add_argument("--prev", default="", help="a third classifier to compare (e.g. the previous weights)")
    ap.add_argument("--prev-label", default="", help="what --prev is, for the report")
    ap.add_argument(
        "--no-prior",
        action="store_true",
        help="read without the class prior fitted for a checkpoint (class_prior.json beside it)",
    )
    ap.add_argument(
        "--written-skeletons",
        action="store_true",
        help="also draw symbol_synth's hand-made skeletons of written shapes (session 9)",
    )
    ap.add_argument(
        "--written-allographs",
        action="store_true",
        help="also draw symbol_synth's session-13 allographs of the weak classes (η κ K Z ∂)",
    )
    ap.add_argument("--summary", help="write the result (JSON) here")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if not TRAIN.exists():
        print(f"benchmarks.added_symbols: {TRAIN} is missing", file=sys.stderr)
        return 2
    r = run(args)
    md = markdown(r)
    print(md)
    if args.summary:
        Path(args.summary).write_text(json.dumps(r, indent=2))
    if not args.no_write:
        from benchmarks._report import write_section

        write_section("added_symbols", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
