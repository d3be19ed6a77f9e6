"""Training the layout (tree) parser's relation model on real handwritten layouts.

mathnote-ocr's layout parser scores the spatial relations between symbols (which symbol is whose parent,
by which edge: right neighbour, superscript, subscript, numerator, denominator, root content, upper and
lower limit) with a small transformer over subsets of 3-8 neighbouring symbols (``SubsetTreeModel``). The
bundled one learnt them from typeset layouts with jittered boxes only; handwriting places scripts, fraction
parts and neighbours differently (a subscript barely lowered, a baseline drifting up, big exponents). This
module turns the training ink's real layouts into that model's training examples and fine-tunes it.

Example building (:func:`layout_example`), per expression of the training ink:

1. The ground-truth LaTeX is typeset (ziamath, through mathnote-ocr's glyph extraction) into glyphs, and
   mathnote-ocr's own LaTeX-to-tree labelling gives every glyph its (parent, edge, order), exactly as the
   bundled model's synthetic examples were made.
2. A function name typeset as letters (``l o g``) becomes one glyph when the ink has it as one symbol
   (CROHME writes \\sin, \\log ... as one symbol, and so does the classifier).
3. The ink's symbols (ground-truth stroke groups and labels) are assigned to the glyphs of the same
   name by a minimum-cost matching (Hungarian, scipy) of their centres, both layouts scaled to the unit
   square; an expression whose symbol names do not match the glyphs' one to one is left out.
4. The example keeps the glyphs' names and tree labels and takes the *ink's* boxes (normalised ink, the
   engine's reading units; the model's geometry is relative to the median symbol height).

Fine-tuning (:func:`train_structure`): from the bundled weights (same vocabulary and architecture), with
mathnote-ocr's subset sampling, random subtree collapse and light box jitter, its loss (parent, edge type,
sibling order), AdamW; the writer-disjoint validation split of the other training stages chooses the
epoch (lowest parent + edge loss). The result (``weights/structure.pth``) replaces the parser's subset
model at load time (whiteboard_app/recognition/structure.py).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from whiteboard_app.recognition.training.data import (
    FUNCTION_CLASSES,
    Expression,
    mark_fraction_bars,
)

log = logging.getLogger(__name__)

#: Function classes of the classifier (one symbol in the ink, letters in the typeset layout).
FUNCTION_NAMES = tuple(FUNCTION_CLASSES.values())
#: Ink class names that are the same symbol as another glyph name for the matching.
_SAME = {"frac_bar": "-", "ldots": "ldots", "cdot": "dot"}


def _typeset_tree(latex: str) -> tuple[list[dict], list[tuple[int, int, int]]] | None:
    """(glyphs, tree labels) of *latex* through mathnote-ocr's data generation, or None when it cannot
    typeset or label it. Glyphs: ``{"name", "bbox": [x, y, w, h]}``; labels: (parent glyph index or -1,
    edge type, sibling order) per glyph. Uses two private names of mathnote-ocr, through
    recognition/mathnote_compat.py (``extract_glyphs``, ``fix_upper_lower``)."""
    try:
        from whiteboard_app.recognition.mathnote_compat import (
            extract_glyphs,
            fix_upper_lower,
            latex_to_tree_labels,
        )

        glyphs = extract_glyphs(latex)
        if not glyphs:
            return None
        labels = latex_to_tree_labels(latex, len(glyphs))
        if labels is None:
            return None
        labels = fix_upper_lower(glyphs, labels)
    except Exception:  # noqa: BLE001 - third-party typesetting of arbitrary CROHME LaTeX: skip the row
        return None
    return [{"name": g["name"], "bbox": list(g["bbox"])} for g in glyphs], [
        (int(p), int(e), int(o)) for p, e, o in labels
    ]


def merge_function_glyphs(
    glyphs: list[dict], labels: list[tuple[int, int, int]], wanted: dict[str, int]
) -> tuple[list[dict], list[tuple[int, int, int]]]:
    """Merge the letters of function names into one glyph each (at most ``wanted[name]`` of each).

    *glyphs*/*labels* as :func:`_typeset_tree`; a run of glyphs spelling a name of *wanted* whose labels
    are equal (the typesetting's siblings of one command) becomes one glyph named after the function
    with the run's union box and the first letter's label; edges to any letter of the run point to the
    merged glyph, indices are renumbered and sibling orders made consecutive again. Returns new lists.
    """
    left = dict(wanted)
    keep: list[int] = []
    into: dict[int, int] = {}
    names: dict[int, str] = {}
    i = 0
    while i < len(glyphs):
        hit = None
        for f, n in left.items():
            run = glyphs[i : i + len(f)]
            if n > 0 and "".join(g["name"] for g in run) == f and len(set(labels[i : i + len(f)])) == 1:
                hit = f
                break
        if hit is None:
            keep.append(i)
            into[i] = i
            i += 1
            continue
        left[hit] -= 1
        keep.append(i)
        names[i] = hit
        for j in range(i, i + len(hit)):
            into[j] = i
        i += len(hit)
    new_index = {old: k for k, old in enumerate(keep)}
    out_glyphs, out_labels = [], []
    for old in keep:
        g = glyphs[old]
        if old in names:
            run = [glyphs[j]["bbox"] for j in into if into[j] == old]
            x0 = min(b[0] for b in run)
            y0 = min(b[1] for b in run)
            x1 = max(b[0] + b[2] for b in run)
            y1 = max(b[1] + b[3] for b in run)
            g = {"name": names[old], "bbox": [x0, y0, x1 - x0, y1 - y0]}
        p, e, o = labels[old]
        out_glyphs.append(dict(g))
        out_labels.append((new_index[into[p]] if p >= 0 else p, e, o))
    # consecutive sibling orders within each (parent, edge)
    groups: dict[tuple[int, int], list[int]] = {}
    for k, (p, e, _o) in enumerate(out_labels):
        groups.setdefault((p, e), []).append(k)
    final = list(out_labels)
    for members in groups.values():
        orders = sorted({out_labels[k][2] for k in members})
        rank = {o: r for r, o in enumerate(orders)}
        for k in members:
            p, e, o = out_labels[k]
            final[k] = (p, e, rank[o])
    return out_glyphs, final


def _key(name: str) -> str:
    return _SAME.get(name, name)


def _boxes(expr: Expression) -> list[list[float] | None]:
    out: list[list[float] | None] = []
    for _name, idx in expr.symbols:
        pts = [p for i in idx if 0 <= i < len(expr.strokes) for p in expr.strokes[i]]
        if not pts:
            out.append(None)
            continue
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        out.append([min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)])
    return out


def _unit_centres(boxes: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    return [((b[0] + b[2] / 2 - x0) / w, (b[1] + b[3] / 2 - y0) / h) for b in boxes]


def match_symbols(ink: Sequence[tuple[str, Sequence[float]]], glyphs: Sequence[dict]) -> list[int] | None:
    """For each glyph the index of the ink symbol it is written as, or None when the names do not pair
    up one to one. *ink*: (class name, [x, y, w, h]) per symbol; *glyphs*: ``{"name", "bbox"}``. Symbols
    of one name are paired by the least total distance of their centres (both layouts scaled to the unit
    square; Hungarian assignment, scipy.optimize.linear_sum_assignment)."""
    from collections import Counter

    from scipy.optimize import linear_sum_assignment

    if len(ink) != len(glyphs) or not glyphs:
        return None
    if Counter(_key(n) for n, _b in ink) != Counter(_key(g["name"]) for g in glyphs):
        return None
    ci = _unit_centres([b for _n, b in ink])
    cg = _unit_centres([g["bbox"] for g in glyphs])
    out: list[int] = [-1] * len(glyphs)
    for key in {_key(g["name"]) for g in glyphs}:
        gs = [k for k, g in enumerate(glyphs) if _key(g["name"]) == key]
        ss = [k for k, (n, _b) in enumerate(ink) if _key(n) == key]
        cost = [[math.dist(cg[g], ci[s]) for s in ss] for g in gs]
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            out[gs[r]] = ss[c]
    return out


def layout_example(expr: Expression, typeset: Callable[[str], tuple | None] = _typeset_tree) -> dict | None:
    """One training example of the relation model from an expression of real ink (module docstring), or
    None when it cannot be built (a symbol without a class, LaTeX the typesetting cannot label, names
    not pairing up). Returns ``{"id", "latex", "symbols": [{"name", "bbox"}], "tree": [{"parent",
    "edge_type", "order"}]}`` (mathnote-ocr's tree data format) with the ink's boxes (px of the
    normalised ink). *expr* is changed in place only by :func:`mark_fraction_bars`."""
    if not expr.symbols or any(n is None for n, _i in expr.symbols):
        return None
    if not any(n == "frac_bar" for n, _i in expr.symbols):
        mark_fraction_bars(expr)
    boxes = _boxes(expr)
    if any(b is None for b in boxes):
        return None
    made = typeset(expr.latex)
    if made is None:
        return None
    glyphs, labels = made
    wanted: dict[str, int] = {}
    for n, _i in expr.symbols:
        if n in FUNCTION_NAMES:
            wanted[n] = wanted.get(n, 0) + 1
    if wanted:
        glyphs, labels = merge_function_glyphs(glyphs, labels, wanted)
    ink = [(str(n), b) for (n, _i), b in zip(expr.symbols, boxes, strict=True) if b is not None]
    pairing = match_symbols(ink, glyphs)
    if pairing is None:
        return None
    return {
        "id": expr.id,
        "latex": expr.latex,
        "symbols": [
            {"name": g["name"], "bbox": [round(v, 2) for v in ink[s][1]]}
            for g, s in zip(glyphs, pairing, strict=True)
        ],
        "tree": [{"parent": p, "edge_type": e, "order": o} for p, e, o in labels],
    }


def write_examples(exprs: Sequence[Expression], path: Path) -> tuple[int, int]:
    """Write the layout examples of *exprs* to *path* (JSON lines); returns (written, left out)."""
    n_ok = n_bad = 0
    with open(path, "w", encoding="utf-8") as f:
        for e in exprs:
            ex = layout_example(e)
            if ex is None:
                n_bad += 1
                continue
            f.write(json.dumps(ex) + "\n")
            n_ok += 1
    return n_ok, n_bad


def base_checkpoint() -> dict:
    """mathnote-ocr's bundled relation model (``tree_subset`` run its default config loads)."""
    from whiteboard_app.recognition.mathnote_compat import load_checkpoint

    return dict(load_checkpoint("tree_subset", bundled_run()))


def bundled_run() -> str:
    """Name of the relation model run mathnote-ocr's default pipeline loads."""
    from whiteboard_app.recognition.mathnote_compat import relation_model_run

    return relation_model_run("mixed_v8")


def _adamw_cosine(model, lr: float, steps: int):
    """AdamW (weight decay 1e-4) at *lr* and a per-batch cosine decay of it to 0 over *steps* batches:
    the schedule both structure stages train with. Returns (optimizer, scheduler)."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = max(1, steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    return opt, sched


def _run_epoch(model, dl, train: bool, opt, sched, forward_loss: Callable) -> dict:
    """One pass over *dl*: ``forward_loss(batch) -> (loss, metrics)``; when *train*, a step of *opt*
    (gradients clipped to norm 1) and of *sched* per batch. Returns the metrics averaged over batches."""
    import torch

    model.train(train)
    tot: dict[str, float] = {}
    n = 0
    with torch.set_grad_enabled(train):
        for batch in dl:
            loss, metrics = forward_loss(batch)
            if train:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
            for k, v in metrics.items():
                tot[k] = tot.get(k, 0.0) + float(v)
            n += 1
    return {k: v / max(n, 1) for k, v in tot.items()}


def train_structure(
    train_path: Path,
    val_path: Path,
    out: Path,
    *,
    epochs: int = 4,
    lr: float = 1e-4,
    batch_size: int = 64,
    minutes: float = 60.0,
    seed: int = 0,
    threads: int = 1,
    log_fn: Callable[[str], None] = print,
) -> dict:
    """Fine-tune the bundled relation model on the examples of *train_path* (see :func:`write_examples`);
    the epoch with the lowest validation parent + edge loss is saved to *out* (``{"model_state_dict",
    "symbol_vocab", "config", "epoch", "metrics", "base_run"}``, what
    whiteboard_app.recognition.structure loads). Learning rate: *lr* with cosine decay to 0 over *epochs*;
    stops after the epoch that passes *minutes*. Returns a summary dict. Raises FileNotFoundError when
    an input is missing."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.mathnote_compat import load_subset_model

    TreeSubsetDataset = mc.tree_subset_dataset()  # noqa: N806 (a class)
    compute_loss = mc.tree_subset_loss()

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, threads))
    base = base_checkpoint()
    vocab = base["symbol_vocab"]
    cfg = dict(base["config"])
    max_subset = int(cfg.get("max_symbols", 8))
    from whiteboard_app.recognition.structure import with_aliases

    read_as = with_aliases(vocab)  # the names the engine's parser reads as another's (PARSER_ALIASES)
    train_ds = TreeSubsetDataset(train_path, read_as, max_subset=max_subset, augment=True)
    val_ds = TreeSubsetDataset(val_path, read_as, max_subset=max_subset, augment=False)
    if not train_ds.examples or not val_ds.examples:
        raise ValueError(
            f"structure: no layouts to train or validate on ({len(train_ds.examples)} train, "
            f"{len(val_ds.examples)} validation)"
        )
    g = torch.Generator()
    g.manual_seed(seed)
    train_dl = DataLoader(train_ds, batch_size=batch_size, shuffle=True, num_workers=0, generator=g)
    val_dl = DataLoader(val_ds, batch_size=batch_size, shuffle=False, num_workers=0)
    model = load_subset_model(base, device=torch.device("cpu"))
    opt, sched = _adamw_cosine(model, lr, epochs * len(train_dl))

    def forward_loss(batch):
        outp = model(batch["symbol_ids"], batch["geo_feats"], batch["pad_mask"], batch["size_feats"])
        return compute_loss(
            outp,
            batch["parent_targets"],
            batch["edge_targets"],
            batch["order_targets"],
            batch["pad_mask"],
            seq_targets=batch["seq_targets"],
        )

    def run(dl, train: bool) -> dict:
        return _run_epoch(model, dl, train, opt, sched, forward_loss)

    t0 = time.time()
    v0 = run(val_dl, False)
    best_loss = v0["parent_loss"] + v0["edge_loss"]
    log_fn(
        f"structure: base model on validation: parent {v0['parent_acc']:.4f} edge {v0['edge_acc']:.4f} "
        f"loss {best_loss:.4f} ({len(train_ds.examples)} train / {len(val_ds.examples)} val expressions)"
    )
    history = [{"epoch": 0, **v0}]
    best_epoch = 0
    for epoch in range(1, epochs + 1):
        te = time.time()
        tr = run(train_dl, True)
        va = run(val_dl, False)
        loss = va["parent_loss"] + va["edge_loss"]
        history.append({"epoch": epoch, **va})
        log_fn(
            f"structure: epoch {epoch}/{epochs} train parent {tr['parent_acc']:.4f} | validation parent "
            f"{va['parent_acc']:.4f} edge {va['edge_acc']:.4f} seq {va.get('seq_acc', 0):.4f} loss {loss:.4f} "
            f"({time.time() - te:.0f} s)"
        )
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
            torch.save(
                {
                    "model_state_dict": model.state_dict(),
                    "symbol_vocab": vocab,
                    "config": cfg,
                    "epoch": epoch,
                    "metrics": va,
                    "base_run": bundled_run(),
                },
                out,
            )
            log_fn(f"structure: saved epoch {epoch} -> {out}")
        if (time.time() - t0) / 60 > minutes:
            log_fn("structure: time budget reached")
            break
    return {"best_epoch": best_epoch, "best_val_loss": best_loss, "history": history}


def truth_symbols(expr: Expression) -> tuple[list[str], list[list[float]]]:
    """(class names, boxes) of an expression's ground-truth symbols, fraction bars marked as the engine
    names them; a multi-letter function without a class of its own counts as ``exp`` (a function)."""
    if not any(n == "frac_bar" for n, _i in expr.symbols):
        mark_fraction_bars(expr)
    boxes = _boxes(expr)
    names, kept = [], []
    for (name, _idx), box in zip(expr.symbols, boxes, strict=True):
        if box is None:
            continue
        names.append(name if name is not None else "exp")
        kept.append(box)
    return names, kept


def times_context_table(exprs: Sequence[Expression], min_count: int = 20) -> dict[tuple[str, str], float]:
    """Likelihood ratio cross : letter of each (left, right) neighbour kind of the symbols labelled
    ``times`` and ``x`` in *exprs*: :func:`pair_context_table` of ``("times", "x")``. What
    ``symbol_context.TIMES_CONTEXT`` holds (rounded to 2 places) for the training ink. Returns {} when
    *exprs* have no x or no \\times."""
    return pair_context_table(exprs, "times", "x", min_count)


def pair_context_table(
    exprs: Sequence[Expression], first: str, second: str, min_count: int = 20
) -> dict[tuple[str, str], float]:
    """Likelihood ratio *first* : *second* (two class names the classifier confuses, such as ``times``
    and ``x`` or ``5`` and ``s``) of each (left, right) neighbour kind of the symbols so labelled in
    *exprs* (neighbours on the line, :func:`~whiteboard_app.recognition.symbol_context.line_neighbours`;
    kinds of :func:`whiteboard_app.recognition.symbol_context.neighbour_kind`): ((first + 1) / (second +
    1)) / (all first / all second), for contexts with at least *min_count* symbols. Returns {} when
    *exprs* lack either name."""
    from collections import Counter

    from whiteboard_app.recognition.symbol_context import line_neighbours, neighbour_kind

    cnt: Counter = Counter()
    tot: Counter = Counter()
    for e in exprs:
        if not any(n == "frac_bar" for n, _i in e.symbols):
            mark_fraction_bars(e)  # as the engine names them
        boxes = _boxes(e)
        keep = [k for k, b in enumerate(boxes) if b is not None]
        kept = [boxes[k] for k in keep]
        for j, k in enumerate(keep):
            n = e.symbols[k][0]
            if n not in (first, second):
                continue
            lj, rj = line_neighbours(kept, j)
            left = e.symbols[keep[lj]][0] if lj is not None else None
            right = e.symbols[keep[rj]][0] if rj is not None else None
            cnt[(n, neighbour_kind(left), neighbour_kind(right))] += 1
            tot[n] += 1
    if not tot[first] or not tot[second]:
        return {}
    base = tot[first] / tot[second]
    out = {}
    for left, right in {(lk, rk) for (_m, lk, rk) in cnt}:
        a, b = cnt[(first, left, right)], cnt[(second, left, right)]
        if a + b >= min_count:
            out[(left, right)] = ((a + 1) / (b + 1)) / base
    return out


#: File name of the fine-tuned evidence refiner in a weights folder (recognition/structure.py).
REFINER_FILE = "structure_gnn.pth"  # = whiteboard_app.recognition.structure.REFINER_FILE


def refiner_examples(
    layout_path: Path, subset_model, symbol_vocab: dict, max_subset: int, *, copies: int = 1, max_n: int = 30
) -> list[dict]:
    """The evidence refiner's training examples of the layouts in *layout_path* (see
    :func:`write_examples`): per layout with 2 to *max_n* symbols, the relation model *subset_model*'s
    aggregated evidence and the tree targets (mathnote-ocr's GNN example tensors); *copies* - 1 further
    copies with a random subtree collapsed (mathnote-ocr's augmentation). Raises FileNotFoundError when
    the file is missing."""
    from whiteboard_app.recognition import mathnote_compat as mc

    subset_model.eval()
    out = []
    with open(layout_path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            ex = json.loads(line)
            if not 2 <= len(ex["symbols"]) <= max_n:
                continue
            for c in range(max(1, copies)):
                made = mc.refiner_example(ex, subset_model, symbol_vocab, max_subset, augment=c > 0)
                if made is not None:
                    out.append(made)
    return out


def train_refiner(
    train_path: Path,
    val_path: Path,
    relation_model: Path,
    out: Path,
    *,
    epochs: int = 6,
    lr: float = 3e-4,
    batch_size: int = 32,
    copies: int = 2,
    minutes: float = 60.0,
    seed: int = 0,
    threads: int = 1,
    log_fn: Callable[[str], None] = print,
) -> dict:
    """Fine-tune mathnote-ocr's evidence refiner (the layout parser's GNN, which turns the relation
    model's aggregated subset evidence into parent / relation / sibling scores) on real layouts.

    The bundled refiner learnt from the evidence of the bundled relation model on typeset layouts; the
    engine's parser feeds it the evidence of the relation model fine-tuned on handwriting
    (*relation_model*, ``structure.pth``), whose scores are distributed differently. Here its examples
    are that model's evidence on the training ink's layouts (:func:`refiner_examples`, *copies* per
    layout with random subtree collapse), its loss mathnote-ocr's (parent + relation + sibling cross
    entropy), AdamW at *lr* with cosine decay over *epochs*, starting from the bundled weights; the
    epoch with the lowest validation loss (layouts of writers held out, *val_path*) is saved to *out*
    (``{"model_state_dict", "config", "symbol_vocab", "epoch", "metrics", "base_run"}``). Stops after
    the epoch that passes *minutes* (from the start, evidence included). Returns a summary dict.
    Raises FileNotFoundError when an input is missing, ValueError when there are no examples."""
    import torch
    from torch.utils.data import DataLoader

    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.structure import load_relation_model

    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, threads))
    t0 = time.time()
    subset_model, vocab = load_relation_model(relation_model)
    max_subset = int(
        torch.load(relation_model, map_location="cpu", weights_only=False)["config"].get("max_symbols", 8)
    )
    run = mc.relation_refiner_run()
    base = mc.load_checkpoint("tree_gnn", run)
    if dict(base["symbol_vocab"]) != vocab:
        raise ValueError("the bundled refiner's symbol vocabulary differs from the relation model's")
    from whiteboard_app.recognition.structure import with_aliases

    read_as = with_aliases(vocab)  # as the engine's parser reads the names (PARSER_ALIASES)
    with torch.no_grad():
        train_ex = refiner_examples(train_path, subset_model, read_as, max_subset, copies=copies)
        val_ex = refiner_examples(val_path, subset_model, read_as, max_subset, copies=1)
    if not train_ex or not val_ex:
        raise ValueError(f"refiner: no examples ({len(train_ex)} train, {len(val_ex)} validation)")
    log_fn(
        f"refiner: evidence of {len(train_ex)} train / {len(val_ex)} validation examples ({time.time() - t0:.0f} s)"
    )
    collate, loss_fn = mc.refiner_collate(), mc.refiner_loss()
    g = torch.Generator()
    g.manual_seed(seed)
    train_dl = DataLoader(train_ex, batch_size=batch_size, shuffle=True, collate_fn=collate, generator=g)
    val_dl = DataLoader(val_ex, batch_size=batch_size, shuffle=False, collate_fn=collate)
    cfg = dict(base["config"])
    model = mc.evidence_gnn(cfg, base["model_state_dict"])
    opt, sched = _adamw_cosine(model, lr, epochs * len(train_dl))

    def forward_loss(b):
        o = model(b["symbol_ids"], b["size_feats"], b["edge_features"], b["pad_mask"])
        return loss_fn(o, b["gt_parent"], b["gt_edge_type"], b["gt_seq"], b["pad_mask"])

    def run_epoch(dl, train: bool) -> dict:
        return _run_epoch(model, dl, train, opt, sched, forward_loss)

    def total(m: dict) -> float:
        return m["parent_loss"] + m["edge_loss"] + m["seq_loss"]

    v0 = run_epoch(val_dl, False)
    best_loss, best_epoch = total(v0), 0
    log_fn(
        f"refiner: bundled on validation: parent {v0['parent_acc']:.4f} edge {v0['edge_acc']:.4f} loss {best_loss:.4f}"
    )
    history = [{"epoch": 0, **v0}]
    for epoch in range(1, epochs + 1):
        te = time.time()
        tr = run_epoch(train_dl, True)
        va = run_epoch(val_dl, False)
        history.append({"epoch": epoch, **va})
        log_fn(
            f"refiner: epoch {epoch}/{epochs} train parent {tr['parent_acc']:.4f} | validation parent "
            f"{va['parent_acc']:.4f} edge {va['edge_acc']:.4f} seq {va['seq_acc']:.4f} loss {total(va):.4f} "
            f"({time.time() - te:.0f} s)"
        )
        if total(va) < best_loss:
            best_loss, best_epoch = total(va), epoch
            model.eval()
            torch.save(
                {
                    "model_state_dict": model.state_dict(),
                    "config": cfg,
                    "symbol_vocab": vocab,
                    "epoch": epoch,
                    "metrics": va,
                    "base_run": run,
                },
                out,
            )
            log_fn(f"refiner: saved epoch {epoch} -> {out}")
        if (time.time() - t0) / 60 > minutes:
            log_fn("refiner: time budget reached")
            break
    return {"best_epoch": best_epoch, "best_val_loss": best_loss, "history": history}
