"""Train mathnote-ocr's stroke grouper (``grouper_gnn.StrokeGNN``, "pairs" kind) on real stroke groups.

For every pair of strokes in an expression the network predicts the log-odds that they belong to one
symbol; mathnote-ocr's exact search then reads the most probable partitions
(``engine.grouper._group_by_strokes``). Inputs are what ``grouper_gnn.strokes.StrokeGrouperModel``
computes at reading time: each stroke's 256-d shape vector from a symbol classifier (the stroke drawn
alone), the v2 node and edge features in the writing's scale (``grouper_gnn.features.compute_features_v2``),
the ink first brought to the model's writing height (``StrokeGrouperModel.at_training_scale``).

Targets come from the ground-truth symbol groups: 1 for a pair in one symbol, 0 across symbols; pairs
inside a multi-letter function symbol (``\\sin``: its letters are not separated in the data) and pairs
touching a stroke of no symbol are masked. The loss is unweighted binary cross-entropy (so the
log-odds stay calibrated for the search) plus 0.5 x the per-stroke label cross-entropy.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from whiteboard_app.recognition.training.data import Expression

WRITING_HEIGHT = 22.0  # px: the typical stroke height the model reads at (mathnote's default)
SOURCE_SIZE = 800.0  # px: canvas size the stroke vectors are drawn against (mathnote's default)
NET_CONFIG = {
    "d_render": 64,
    "d_geo": 32,
    "n_geo_feats": 12,
    "d_edge": 12,
    "n_heads": 4,
    "n_layers": 4,
    "dropout": 0.1,
    "stroke_emb": 256,
}


def _log(msg: str, log: Callable[[str], None] | None) -> None:
    if log is not None:
        log(msg)


def make_reader(classifier: str | None, net=None, labels: list[str] | None = None):
    """A ``StrokeGrouperModel`` around *net* whose stroke vectors come from *classifier* (a checkpoint
    path, or None for mathnote-ocr's bundled ``v9_combined``)."""
    from whiteboard_app.recognition.mathnote_compat import stroke_grouper_model, symbol_classifier

    vectors = symbol_classifier(classifier or "v9_combined")
    model = stroke_grouper_model(
        net,
        vectors,
        SOURCE_SIZE,
        "whiteboard",
        labels or list(vectors.label_names),
        features="v2",
        kind="pairs",
    )
    model.writing_height = WRITING_HEIGHT
    return model


def to_strokes(points: Sequence[Sequence[tuple[float, float]]]):
    """mathnote-ocr Stroke objects (ids = positions) from lists of (x, y) px."""
    from whiteboard_app.recognition.mathnote_compat import to_strokes as compat_to_strokes

    return compat_to_strokes(points)


def stroke_inputs(reader, strokes) -> tuple:
    """(vectors (n, 256), node (n, 12), edge (n, n, 12)) float32 tensors for mathnote Stroke objects,
    exactly as ``StrokeGrouperModel.encode`` builds them."""
    from whiteboard_app.recognition.mathnote_compat import compute_features_v2, stroke_vectors

    strokes = reader.at_training_scale(strokes)
    st = [[{"x": p.x, "y": p.y} for p in s.points] for s in strokes]
    geo, edge = compute_features_v2(st)
    return stroke_vectors(reader, strokes), geo, edge


def build_example(reader, e: Expression, label_index: dict[str, int]):
    """One training example, or None when the expression has fewer than 2 non-empty strokes:
    dict(vec, geo, edge, pair (n, n) float with -1 masked, label (n,) long with -100 masked)."""
    import torch

    keep = [i for i, s in enumerate(e.strokes) if s]
    if len(keep) < 2:
        return None
    pos = {i: k for k, i in enumerate(keep)}
    n = len(keep)
    vec, geo, edge = stroke_inputs(reader, to_strokes([e.strokes[i] for i in keep]))
    group = [-1] * n
    label = [-100] * n
    func = [False] * n
    for g, (name, idx) in enumerate(e.symbols):
        for i in idx:
            if i in pos:
                group[pos[i]] = g
                if name is None:
                    func[pos[i]] = True
                elif name in label_index:
                    label[pos[i]] = label_index[name]
    pair = torch.zeros(n, n)
    for a in range(n):
        for b in range(n):
            if group[a] < 0 or group[b] < 0 or (func[a] and func[b]):
                pair[a, b] = -1.0
            elif group[a] == group[b]:
                pair[a, b] = 1.0
    return {
        "vec": vec,
        "geo": geo,
        "edge": edge,
        "pair": pair,
        "label": torch.tensor(label, dtype=torch.long),
        "groups": [frozenset(pos[i] for i in idx if i in pos) for name, idx in e.symbols if name is not None],
    }


def collate(batch):
    """Pad a list of examples to the longest: (vec, geo, edge, pad_mask, pair, label)."""
    import torch

    B = len(batch)  # noqa: N806 - tensor shape names (batch, length)
    N = max(x["vec"].shape[0] for x in batch)  # noqa: N806
    vec = torch.zeros(B, N, batch[0]["vec"].shape[1])
    geo = torch.zeros(B, N, batch[0]["geo"].shape[1])
    edge = torch.zeros(B, N, N, batch[0]["edge"].shape[2])
    pad = torch.ones(B, N, dtype=torch.bool)
    pair = torch.full((B, N, N), -1.0)
    label = torch.full((B, N), -100, dtype=torch.long)
    for k, x in enumerate(batch):
        n = x["vec"].shape[0]
        vec[k, :n] = x["vec"]
        geo[k, :n] = x["geo"]
        edge[k, :n, :n] = x["edge"]
        pad[k, :n] = False
        pair[k, :n, :n] = x["pair"]
        label[k, :n] = x["label"]
    eye = torch.eye(N, dtype=torch.bool)[None]
    pair = pair.masked_fill(eye, -1.0)
    return vec, geo, edge, pad, pair, label


def loss_fn(net, batch):
    """(loss, number of pairs correct, number of pairs) for a collated batch."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention

    vec, geo, edge, pad, pair, label = batch
    adj = torch.ones(pad.shape[0], pad.shape[1], pad.shape[1], dtype=torch.bool)
    es, nl = net(vec, geo, edge, pad, adj)
    m = pair >= 0
    el = F.binary_cross_entropy_with_logits(es[m], pair[m]) if m.any() else es.sum() * 0
    nm = label >= 0
    nlos = F.cross_entropy(nl[nm], label[nm]) if nm.any() else nl.sum() * 0
    correct = int(((es[m] > 0).float() == pair[m]).sum())
    return el + 0.5 * nlos, correct, int(m.sum())


def segmentation_recall(net, examples) -> float:
    """Share of ground-truth symbols (not function names) that the pairs' own grouping
    (``StrokeGrouperModel.joined``) reproduces exactly."""
    import torch

    from whiteboard_app.recognition.mathnote_compat import joined_groups

    net.eval()
    hit = tot = 0
    with torch.no_grad():
        for x in examples:
            n = x["vec"].shape[0]
            es, _nl = net(
                x["vec"][None],
                x["geo"][None],
                x["edge"][None],
                torch.zeros(1, n, dtype=torch.bool),
                torch.ones(1, n, n, dtype=torch.bool),
            )
            s = (es[0] + es[0].T) / 2
            got = set(joined_groups(s, set(range(n))))
            for g in x["groups"]:
                if g:
                    tot += 1
                    hit += g in got
    return hit / max(1, tot)


def class_sizes(reader, exprs: Sequence[Expression], limit: int = 3000) -> dict[str, float]:
    """Each class's median size (max of box width and height, px) at the model's writing height."""
    sizes: dict[str, list[float]] = {}
    for e in exprs[:limit]:
        keep = [i for i, s in enumerate(e.strokes) if s]
        if len(keep) < 3:
            continue
        strokes = reader.at_training_scale(to_strokes([e.strokes[i] for i in keep]))
        pos = {i: k for k, i in enumerate(keep)}
        for name, idx in e.symbols:
            pts = [p for i in idx if i in pos for p in strokes[pos[i]].points]
            if name and pts:
                w = max(p.x for p in pts) - min(p.x for p in pts)
                h = max(p.y for p in pts) - min(p.y for p in pts)
                sizes.setdefault(name, []).append(max(w, h))
    return {k: float(statistics.median(v)) for k, v in sizes.items() if len(v) >= 5}


def train_grouper(
    train: Sequence[Expression],
    val: Sequence[Expression],
    out_path: str | Path,
    *,
    epochs: int = 12,
    minutes: float = 60.0,
    seed: int = 0,
    lr: float = 1e-3,
    batch_size: int = 16,
    classifier: str | None = None,
    max_strokes: int = 80,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Train the stroke grouper; write the best checkpoint (by validation segmentation recall) to
    *out_path*. *classifier*: the checkpoint whose shape vectors describe each stroke (None: mathnote's
    bundled v9_combined). Returns {"epochs", "val_seg_recall", "history"}."""
    import torch

    from whiteboard_app.recognition.mathnote_compat import stroke_gnn

    random.seed(seed)
    torch.manual_seed(seed)
    reader = make_reader(classifier)
    labels = list(reader.vectors.label_names)
    index = {n: i for i, n in enumerate(labels)}
    t0 = time.monotonic()
    tr = [
        x
        for e in train
        if len(e.strokes) <= max_strokes and (x := build_example(reader, e, index)) is not None
    ]
    va = [x for e in val if (x := build_example(reader, e, index)) is not None]
    _log(
        f"grouper: {len(tr)} train / {len(va)} validation expressions prepared "
        f"({(time.monotonic() - t0) / 60:.1f} min)",
        log,
    )
    net = stroke_gnn(num_classes=len(labels), **NET_CONFIG)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    total = max(1, epochs * math.ceil(len(tr) / batch_size))
    step = 0
    best = -1.0
    history = []
    sizes = class_sizes(reader, train)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    for epoch in range(epochs):
        # batches of similar length (less padding), in random order
        order = sorted(range(len(tr)), key=lambda i: (tr[i]["vec"].shape[0], random.random()))
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        random.shuffle(batches)
        net.train()
        tot, nb = 0.0, 0
        for b in batches:
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
            loss, _c, _n = loss_fn(net, collate([tr[i] for i in b]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            tot += float(loss.detach())
            nb += 1
            step += 1
        rec = segmentation_recall(net, va)
        elapsed = (time.monotonic() - t0) / 60
        history.append(
            {
                "epoch": epoch + 1,
                "loss": round(tot / max(1, nb), 4),
                "val_seg_recall": round(rec, 4),
                "minutes": round(elapsed, 2),
            }
        )
        _log(
            f"grouper epoch {epoch + 1}: loss {tot / max(1, nb):.4f} val segmentation recall {rec:.4f} "
            f"({elapsed:.1f} min)",
            log,
        )
        if rec > best:
            best = rec
            save_grouper(net, labels, out_path, classifier, sizes)
        if elapsed > minutes:
            _log("grouper: time budget reached", log)
            break
    return {"epochs": len(history), "val_seg_recall": best, "history": history}


def save_grouper(
    net, labels: list[str], out_path: Path, classifier: str | None, sizes: dict[str, float]
) -> None:
    """Write the checkpoint in mathnote-ocr's grouper_gnn format (plus which classifier it reads)."""
    import torch

    tmp = out_path.with_suffix(".tmp")
    torch.save(
        {
            "model_state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
            "label_vocab": {n: i for i, n in enumerate(labels)},
            "config": dict(NET_CONFIG),
            "kind": "pairs",
            "features": "v2",
            "classifier": "bundled" if classifier is None else "own",
            "source_size": SOURCE_SIZE,
            "writing_height": WRITING_HEIGHT,
            "class_sizes": sizes,
            "calibration": {"grouping": 1.0, "labels": 1.0},
        },
        tmp,
    )
    tmp.replace(out_path)


def load_grouper(path: str | Path, classifier: str | None):
    """A ready ``StrokeGrouperModel`` from a checkpoint written by :func:`save_grouper`; its stroke
    vectors come from *classifier* (path; None: mathnote's bundled v9_combined)."""
    import torch

    from whiteboard_app.recognition.mathnote_compat import stroke_gnn

    ck = torch.load(path, map_location="cpu", weights_only=False)
    labels = [n for n, _i in sorted(ck["label_vocab"].items(), key=lambda kv: kv[1])]
    net = stroke_gnn(num_classes=len(labels), **ck["config"])
    net.load_state_dict(ck["model_state_dict"])
    net.eval()
    reader = make_reader(classifier, net, labels)
    reader.writing_height = float(ck.get("writing_height", WRITING_HEIGHT))
    reader.class_sizes = dict(ck.get("class_sizes") or {})
    cal = ck.get("calibration") or {}
    reader.t_grouping = float(cal.get("grouping", 1.0))
    return reader
