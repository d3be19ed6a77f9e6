"""Fine-tune mathnote-ocr's symbol classifier on real handwritten symbols.

The model is mathnote-ocr's ``SymbolCNNWithPrototypes`` (3 conv layers, 32x32 px picture plus the
symbol's relative size; 125 classes), started from its bundled ``v9_combined`` weights and trained on
the ground-truth stroke groups of real expressions, every class kept distinct (X, x and \\times stay
three classes). Each symbol is drawn exactly as mathnote's grouper draws it at reading time
(``engine.renderer.render_strokes``, the size feature ``engine.grouper._size_feat`` over the
expression's canvas), each epoch with a fresh random affine distortion of the points.

The checkpoint written is in mathnote-ocr's format (``model_state_dict``, ``label_names``,
``prototypes``, ``canvas_size``, ``use_size_feat``), so ``SymbolClassifier(run=path)`` loads it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from whiteboard_app.recognition.training.data import Expression

BASE_RUN = "v9_combined"


def _log(msg: str, log: Callable[[str], None] | None) -> None:
    if log is not None:
        log(msg)


def symbol_items(
    exprs: Sequence[Expression], label_index: dict[str, int]
) -> list[tuple[int, list[int], int]]:
    """(expression index, stroke indices, class index) of every labelled symbol whose class exists."""
    items = []
    for k, e in enumerate(exprs):
        for name, idx in e.symbols:
            if name is None or name not in label_index:
                continue
            idx = [i for i in idx if i < len(e.strokes) and e.strokes[i]]
            if idx:
                items.append((k, idx, label_index[name]))
    return items


def _distort(pts: list[list[tuple[float, float]]], rng: random.Random) -> list[list[tuple[float, float]]]:
    """A random affine distortion about the symbol's centre: rotation +-8 deg, shear +-0.15,
    x and y scale +-12 % (overall size kept within +-10 %)."""
    flat = [p for s in pts for p in s]
    cx = sum(p[0] for p in flat) / len(flat)
    cy = sum(p[1] for p in flat) / len(flat)
    a = math.radians(rng.uniform(-8, 8))
    sh = rng.uniform(-0.15, 0.15)
    s = rng.uniform(0.9, 1.1)
    sx, sy = s * rng.uniform(0.88, 1.12), s * rng.uniform(0.88, 1.12)
    ca, sa = math.cos(a), math.sin(a)
    out = []
    for st in pts:
        q = []
        for x, y in st:
            dx, dy = (x - cx) * sx, (y - cy) * sy
            dx = dx + sh * dy
            q.append((cx + ca * dx - sa * dy, cy + sa * dx + ca * dy))
        out.append(q)
    return out


def render_items(exprs: Sequence[Expression], items, canvas_size: int, rng: random.Random | None = None):
    """Draw each item as mathnote's grouper does: (uint8 images (N, S, S), size features (N,) float32).
    With *rng*, each symbol is randomly distorted first (:func:`_distort`)."""
    from whiteboard_app.recognition.mathnote_compat import render_strokes, size_feat, to_strokes

    canvas = {}
    imgs = np.empty((len(items), canvas_size, canvas_size), dtype=np.uint8)
    sizes = np.empty(len(items), dtype=np.float32)
    for n, (k, idx, _c) in enumerate(items):
        e = exprs[k]
        if k not in canvas:
            canvas[k] = float(int(max((c for s in e.strokes for p in s for c in p), default=800)))
        pts = [e.strokes[i] for i in idx]
        if rng is not None:
            pts = _distort(pts, rng)
        strokes = to_strokes(pts)
        imgs[n] = np.asarray(
            render_strokes(strokes, canvas_size=canvas_size, source_size=canvas[k]), dtype=np.uint8
        )
        sizes[n] = size_feat(strokes, canvas[k])
    return imgs, sizes


def _to_tensor(imgs: np.ndarray):
    import torch

    # torchvision ToTensor + Normalize((0.5,), (0.5,)), as mathnote's SymbolClassifier reads
    return (torch.from_numpy(imgs).float().div_(255.0).sub_(0.5).div_(0.5)).unsqueeze(1)


def load_base(base: str | Path = BASE_RUN):
    """mathnote-ocr's classifier checkpoint *base* (a bundled run name or a path): (model, checkpoint)."""
    from whiteboard_app.recognition.mathnote_compat import build_model, load_checkpoint

    ck = load_checkpoint("classifier", str(base))
    model = build_model(
        ck.get("arch", "cnn"),
        len(ck["label_names"]),
        ck.get("canvas_size", 128),
        ck.get("use_size_feat", False),
    )
    model.load_state_dict(ck["model_state_dict"])
    return model, ck


def extend_classes(model, ck: dict, new_names: Sequence[str]):
    """The model with classes *new_names* appended to its output layer (new rows: the old rows' mean plus
    noise, their bias the lowest old bias; prototypes zero until computed) and the checkpoint dict's label_names and
    prototypes extended to match. Returns (model, ck)."""
    import torch

    from whiteboard_app.recognition.mathnote_compat import build_model

    if not new_names:
        return model, ck
    old = len(ck["label_names"])
    n = old + len(new_names)
    big = build_model(ck.get("arch", "cnn"), n, ck.get("canvas_size", 128), ck.get("use_size_feat", False))
    state = model.state_dict()
    new_state = big.state_dict()
    for k, v in state.items():
        if k == "fc2.weight":  # new rows: the old rows' mean plus a little noise
            w = v.mean(0, keepdim=True) + torch.randn(n, v.shape[1]) * 0.01
            w[:old] = v
            new_state[k] = w
        elif k == "fc2.bias":  # new classes start as unlikely as the least likely old one
            b = torch.full((n,), float(v.min()))
            b[:old] = v
            new_state[k] = b
        elif k == "prototypes":
            pr = torch.zeros(n, v.shape[1])
            pr[:old] = v
            new_state[k] = pr
        else:
            new_state[k] = v
    big.load_state_dict(new_state)
    ck = dict(ck)
    ck["label_names"] = list(ck["label_names"]) + list(new_names)
    pr = torch.zeros(n, ck["prototypes"].shape[1])
    pr[:old] = ck["prototypes"].float()
    ck["prototypes"] = pr
    return big, ck


def evaluate(model, imgs: np.ndarray, sizes: np.ndarray, labels: np.ndarray, batch: int = 512) -> float:
    """Top-1 accuracy (0..1) of *model* on pre-drawn symbols."""
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            x = _to_tensor(imgs[i : i + batch])
            logits, _f = model(x, torch.from_numpy(sizes[i : i + batch]))
            correct += int((logits.argmax(1).numpy() == labels[i : i + batch]).sum())
    return correct / max(1, len(labels))


def compute_prototypes(model, imgs: np.ndarray, sizes: np.ndarray, labels: np.ndarray, old, batch: int = 512):
    """Per-class mean feature vectors (classes, 256); classes without samples keep *old*'s rows."""
    import torch

    model.eval()
    n_cls = old.shape[0]
    sums = torch.zeros_like(old)
    counts = torch.zeros(n_cls)
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            _l, f = model(_to_tensor(imgs[i : i + batch]), torch.from_numpy(sizes[i : i + batch]))
            y = torch.from_numpy(labels[i : i + batch]).long()
            sums.index_add_(0, y, f)
            counts.index_add_(0, y, torch.ones(len(y)))
    protos = old.clone()
    have = counts > 0
    protos[have] = sums[have] / counts[have, None]
    return protos


def train_classifier(
    train: Sequence[Expression],
    val: Sequence[Expression],
    out_path: str | Path,
    *,
    epochs: int = 8,
    minutes: float = 60.0,
    seed: int = 0,
    lr: float = 1e-3,
    batch_size: int = 128,
    base: str | Path = BASE_RUN,
    log: Callable[[str], None] | None = print,
    synth_per_class: int = 0,
    synth_classes: Sequence[str] | None = None,
    synth_val_per_class: int = 100,
    stop_after: int = 0,
    distill_from: str | Path | None = None,
    distill_weight: float = 1.0,
    distill_temperature: float = 2.0,
    freeze: Sequence[str] = (),
    added_cap: float = 0.0,
    cap_fraction: float = 0.1,
    added_cap_class: float | None = None,
    revive_units: int = 0,
    revive_silence: float = 0.0,
    added_margin: float = 0.0,
    added_margin_weight: float = 1.0,
) -> dict:
    """Fine-tune the classifier; write the best checkpoint (by validation accuracy) to *out_path*.

    Stops after *epochs* epochs or *minutes* of wall time, whichever is first (a cosine learning-rate
    schedule over *epochs*), or after *stop_after* epochs when that is > 0 (the schedule still over
    *epochs*: the same weights a run stopped there by its time budget writes). With *synth_per_class* > 0, that many made samples of each added class
    (``symbol_synth.ADDED_CLASSES``, or *synth_classes*; ``HARD_FACTOR`` x as many of the
    ``HARD_CLASSES``, ``HARD_REAL_SHARE`` of them transforms of real glyphs) are mixed into the real training symbols: made
    from and hosted in the *training* writers' ink only (seeded by *seed*); *synth_val_per_class* more,
    made from the validation writers' ink with another seed, are reported per epoch
    (``synth_val_acc``), while the checkpoint is still chosen by the real validation accuracy.
    With *distill_from* (a classifier checkpoint, e.g. the shipped one), every *real* training symbol
    also pays *distill_weight* x the distillation term of Hinton et al. 2015 ("Distilling the knowledge
    in a neural network", eq. 2): T^2 KL(softmax(t/T) || softmax(s/T)) between that classifier's logits
    t and the model's s over the teacher's classes (T = *distill_temperature*), so the old classes'
    probabilities on real ink (and the evidence thresholds calibrated on them) stay where the teacher
    had them while the made samples teach the added classes. The teacher's label names must be a prefix
    of the model's (ValueError otherwise).
    *freeze* names layers whose weights stay fixed (``FREEZABLE``: ``conv1 conv2 conv3 fc1``, or
    ``trunk`` for the three conv layers): with the trunk frozen the old classes' conv features cannot
    drift and only the layers after it (fc1 and the output layer) learn; the frozen layers run without
    gradients (ValueError for an unknown name). ``old-rows`` also keeps the output layer's rows of every
    class that is not an added class (*synth_classes*): with the trunk and fc1 frozen as well, the old
    classes' logits are exactly the base's and only the added classes' rows learn (the prototypes are
    then the base's: the features did not change).
    With *revive_units* N > 0 (needs ``trunk`` and ``old-rows`` frozen), the first N fc1 units that no
    real training symbol activates (:func:`dead_units`; ReLU units the base never uses) are given fresh
    input weights and learn, every other fc1 row stays the base's, and the old classes' output weights on
    those units are set to zero and kept there: the old classes' logits stay exactly the base's on every
    input, while the added classes get N hidden features of their own (a non-linear reading of the conv
    features and the size, which one output row on the base's features cannot be: η from n, Z from z).
    The revived units' prototype entries are the classes' means on the training symbols; the rest of
    the prototypes stay the base's. ValueError when fewer than N units are dead.
    With *revive_silence* W > 0 (needs *revive_units*), every *real* training symbol also pays W x the
    sum of the revived units' activations on it (an L1 penalty on ReLU outputs, averaged over the batch
    like the distillation term): the revived units learn to fire on what tells an added class from its
    look-alike and to stay silent on real ink of the old classes, so the added rows read less of them
    on real n, k, z, d ... (fewer real glyphs taken, less for the cap to lower) and the prototype entries
    of the revived units stay near zero for the old classes (the calibration's distances).
    With *added_cap* > 0, a *cap_fraction* of the training writers (``writer_split`` with seed
    *seed* + 7) is held out of the training (neither their real symbols nor made samples hosted in their
    ink) and, after it, the added classes' output biases are lowered (:func:`cap_added_bias`) until at
    most *added_cap* (a fraction, e.g. 0.001) of those writers' real symbols the old classes alone read
    right are taken by an added class (and at most *added_cap_class* by any one added class, when given);
    the biases are written into the checkpoint.
    With *added_margin* M > 0 (session 13), each training symbol also pays *added_margin_weight* x a
    hinge between the old and the added classes only: a *real* symbol (an old class y) pays
    max(0, max over added a of z_a - z_y + M), a *made* one (an added class a) max(0, max over old o of
    z_o - z_a + M) (logits z; averaged over the batch like the distillation term). With the old rows
    frozen the first term only moves the added rows and the revived units: it pushes down what they read
    on the real look-alikes that come near an added class (n for η, k for κ ...; the hard negatives pick
    themselves, the hinge is zero on symbols far from every added class), so the cap after the training
    has less to lower; the second keeps each added class M above its nearest old class on its own ink,
    so no added class can settle below the old classes (the "dying" of session 12's L1 penalty).
    Returns {"epochs", "val_acc", "val_acc_base", "history": [per-epoch dicts with loss and val_acc],
    "added_cap": the cap's report or None}.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model, ck = load_base(base)
    known = set(ck["label_names"])
    synth_val: list[Expression] = []
    cap_set: list[Expression] = []
    if added_cap > 0:
        from whiteboard_app.recognition.training.data import writer_split

        train, cap_set = writer_split(train, cap_fraction, seed + 7)
        _log(
            f"classifier: {len(cap_set)} expressions of held-out training writers kept for the added "
            f"classes' cap ({added_cap:.2%} of their real symbols)",
            log,
        )
    n_real = len(train)
    if synth_per_class > 0:
        from whiteboard_app.recognition.training.symbol_synth import (
            ADDED_CLASSES,
            HARD_CLASSES,
            HARD_FACTOR,
            HARD_REAL_SHARE,
            build_pool,
            make_samples,
        )

        classes = list(synth_classes) if synth_classes is not None else list(ADDED_CLASSES)
        pool = build_pool(train)
        easy = [c for c in classes if c not in HARD_CLASSES]
        hard = [c for c in classes if c in HARD_CLASSES]
        made = make_samples(train, easy, synth_per_class, seed, pool=pool) if easy else []
        if hard:  # the classes with real look-alikes: more samples, more of them from real glyphs
            made += make_samples(
                train, hard, HARD_FACTOR * synth_per_class, seed + 1, pool=pool, real_share=HARD_REAL_SHARE
            )
        _log(
            f"classifier: {len(made)} made samples of {len(classes)} added classes "
            f"({sum(m.recipe.startswith('real:') for m in made)} transforms of real glyphs, the rest skeletons)",
            log,
        )
        train = list(train) + [m.expr for m in made]
        if val and synth_val_per_class > 0:
            synth_val = [m.expr for m in make_samples(val, classes, synth_val_per_class, seed + 1000)]
    new = sorted({n for e in train for n, _i in e.symbols if n is not None and n not in known})
    model, ck = extend_classes(model, ck, new)
    if new:
        _log(f"classifier: new classes {' '.join(new)}", log)
    label_names = list(ck["label_names"])
    index = {n: i for i, n in enumerate(label_names)}
    canvas_size = ck.get("canvas_size", 32)
    tr_items = symbol_items(train, index)
    va_items = symbol_items(val, index)
    tr_labels = np.array([c for _k, _i, c in tr_items], dtype=np.int64)
    tr_real = np.array([k < n_real for k, _i, _c in tr_items], dtype=bool)
    teacher, n_teach = None, 0
    if distill_from is not None:
        teacher, t_ck = load_base(distill_from)
        t_names = list(t_ck["label_names"])
        if label_names[: len(t_names)] != t_names:
            raise ValueError(
                f"distillation teacher {distill_from}: its classes are not a prefix of the model's"
            )
        teacher.eval()
        n_teach = len(t_names)
        _log(
            f"classifier: distillation from {distill_from} ({n_teach} classes) on {int(tr_real.sum())} real "
            f"symbols, weight {distill_weight}, T {distill_temperature}",
            log,
        )
    va_labels = np.array([c for _k, _i, c in va_items], dtype=np.int64)
    va_imgs, va_sizes = render_items(val, va_items, canvas_size)
    base_acc = evaluate(model, va_imgs, va_sizes, va_labels) if len(va_labels) else 0.0
    sv_items = symbol_items(synth_val, index)
    sv_labels = np.array([c for _k, _i, c in sv_items], dtype=np.int64)
    sv_imgs, sv_sizes = render_items(synth_val, sv_items, canvas_size)
    _log(
        f"classifier: {len(tr_items)} train symbols, {len(va_items)} validation symbols; "
        f"base accuracy {base_acc:.4f}",
        log,
    )

    frozen = frozen_layers(freeze)
    for name, prm in model.named_parameters():
        if name.split(".")[0] in frozen:
            prm.requires_grad_(False)
    keep_rows = None  # "old-rows": the output rows of the classes that get no made samples stay as they are
    if "old-rows" in frozen:
        from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES

        added = set(synth_classes) if synth_classes is not None else set(ADDED_CLASSES)
        keep_rows = torch.tensor([i for i, n in enumerate(label_names) if n not in added], dtype=torch.long)
        kept_w = model.fc2.weight.detach()[keep_rows].clone()
        kept_b = model.fc2.bias.detach()[keep_rows].clone()
    added_mask = None
    if added_margin > 0:
        from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES

        added_set = set(synth_classes) if synth_classes is not None else set(ADDED_CLASSES)
        added_mask = torch.tensor([n in added_set for n in label_names], dtype=torch.bool)
        if not added_mask.any() or added_mask.all():
            raise ValueError("added_margin needs both old and added classes among the model's classes")
        _log(f"classifier: old/added margin {added_margin}, weight {added_margin_weight}", log)
    revived = None
    if revive_silence > 0 and revive_units <= 0:
        raise ValueError("revive_silence needs revive_units > 0")
    if revive_units > 0:
        if not ({"conv1", "conv2", "conv3", "old-rows"} <= frozen) or "fc1" in frozen:
            raise ValueError("revive_units needs --freeze trunk,old-rows (and fc1 not frozen)")
        revived = _revive(model, train, tr_items, tr_real, canvas_size, keep_rows, revive_units, seed)
        kept_w = model.fc2.weight.detach()[keep_rows].clone()  # now zero on the revived units
        kept_fc1_w = model.fc1.weight.detach().clone()
        kept_fc1_b = model.fc1.bias.detach().clone()
        fixed_units = torch.tensor(
            [i for i in range(kept_fc1_w.shape[0]) if i not in set(revived.tolist())], dtype=torch.long
        )
        _log(f"classifier: revived {len(revived)} dead fc1 units for the added classes", log)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if frozen:
        _log(
            f"classifier: frozen {' '.join(sorted(frozen))}; "
            f"{sum(p.numel() for p in trainable)} trainable parameters",
            log,
        )
    opt = torch.optim.AdamW(trainable, lr=lr, weight_decay=1e-4)
    t0 = time.monotonic()
    best = (-1.0, None)
    history = []
    steps_per_epoch = max(1, math.ceil(len(tr_items) / batch_size))
    total = steps_per_epoch * max(1, epochs)
    step = 0
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    for epoch in range(epochs):
        imgs, sizes = render_items(train, tr_items, canvas_size, rng)
        order = np.random.permutation(len(tr_items))
        model.train()
        tot_loss, n_b = 0.0, 0
        for b in range(0, len(order), batch_size):
            sel = order[b : b + batch_size]
            x = _to_tensor(imgs[sel])
            y = torch.from_numpy(tr_labels[sel])
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
            logits, feats = model(x, torch.from_numpy(sizes[sel]))
            loss = F.cross_entropy(logits, y, label_smoothing=0.05)
            real = tr_real[sel]
            if revived is not None and revive_silence > 0 and real.any():
                act = feats[torch.from_numpy(np.flatnonzero(real))][:, revived]
                loss = loss + revive_silence * act.sum(1).mean() * (len(act) / len(sel))
            if added_mask is not None:
                loss = loss + added_margin_weight * added_margin_loss(logits, y, added_mask, added_margin)
            if teacher is not None and real.any():
                ridx = torch.from_numpy(np.flatnonzero(real))
                with torch.no_grad():
                    t_logits, _tf = teacher(x[ridx], torch.from_numpy(sizes[sel][real]))
                tt = distill_temperature
                kd = F.kl_div(
                    F.log_softmax(logits[ridx, :n_teach] / tt, dim=1),
                    F.log_softmax(t_logits / tt, dim=1),
                    reduction="batchmean",
                    log_target=True,
                )
                loss = loss + distill_weight * (tt * tt) * kd * (len(ridx) / len(sel))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if keep_rows is not None:  # the step (and its weight decay) undone on the kept rows
                with torch.no_grad():
                    model.fc2.weight[keep_rows] = kept_w
                    model.fc2.bias[keep_rows] = kept_b
                    if revived is not None:  # only the revived units' fc1 rows learn
                        model.fc1.weight[fixed_units] = kept_fc1_w[fixed_units]
                        model.fc1.bias[fixed_units] = kept_fc1_b[fixed_units]
            tot_loss += float(loss.detach())
            n_b += 1
            step += 1
        acc = evaluate(model, va_imgs, va_sizes, va_labels) if len(va_labels) else 0.0
        sacc = evaluate(model, sv_imgs, sv_sizes, sv_labels) if len(sv_labels) else None
        elapsed = (time.monotonic() - t0) / 60
        history.append(
            {
                "epoch": epoch + 1,
                "loss": round(tot_loss / max(1, n_b), 4),
                "val_acc": round(acc, 4),
                "synth_val_acc": None if sacc is None else round(sacc, 4),
                "minutes": round(elapsed, 2),
            }
        )
        _log(
            f"classifier epoch {epoch + 1}: loss {tot_loss / max(1, n_b):.4f} val_acc {acc:.4f} "
            + ("" if sacc is None else f"synth_val_acc {sacc:.4f} ")
            + f"({elapsed:.1f} min)",
            log,
        )
        torch.save(
            {"epoch": epoch + 1, "model_state_dict": model.state_dict(), "label_names": label_names},
            out_path.with_name(out_path.stem + f".epoch{epoch + 1}.pt"),
        )
        if acc > best[0]:
            best = (acc, {k: v.detach().clone() for k, v in model.state_dict().items()})
            _save(model, best[1], ck, label_names, canvas_size, out_path)  # prototypes: at the end
        if elapsed > minutes:
            _log("classifier: time budget reached", log)
            break
        if 0 < stop_after <= epoch + 1:
            _log(f"classifier: stopped after epoch {epoch + 1} (--stop-after)", log)
            break
    if best[1] is not None:
        model.load_state_dict(best[1])
        if {"conv1", "conv2", "conv3", "fc1"} <= frozen:  # the features did not change: nor did they
            protos = ck["prototypes"].float()
        elif revived is not None:  # only the revived units' entries are new
            imgs, sizes = render_items(train, tr_items, canvas_size)
            means = compute_prototypes(model, imgs, sizes, tr_labels, ck["prototypes"].float())
            protos = ck["prototypes"].float().clone()
            protos[:, revived] = means[:, revived]
        else:
            imgs, sizes = render_items(train, tr_items, canvas_size)
            protos = compute_prototypes(model, imgs, sizes, tr_labels, ck["prototypes"].float())
        _save(model, best[1], ck, label_names, canvas_size, out_path, protos)
        _log("classifier: prototypes computed, checkpoint final", log)
    cap_report = None
    if best[1] is not None and cap_set:
        import shutil

        # the uncapped checkpoint kept beside it, so another cap can be tried without retraining
        shutil.copyfile(out_path, out_path.with_name(out_path.stem + ".precap.pth"))
        cap_report = cap_checkpoint(
            out_path,
            cap_set,
            added_cap,
            seed=seed,
            synth_classes=synth_classes,
            class_budget=added_cap_class,
            log=log,
        )
    return {
        "epochs": len(history),
        "val_acc": best[0],
        "val_acc_base": base_acc,
        "history": history,
        "added_cap": cap_report,
    }


def cap_added_bias(
    logits: np.ndarray,
    labels: np.ndarray,
    added: Sequence[int],
    budget: float,
    made_logits: np.ndarray | None = None,
    made_labels: np.ndarray | None = None,
    max_steps: int = 2000,
    class_budget: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Offsets (<= 0) for the added classes' logits so that they take at most *budget* of the real symbols.

    *logits* (N, C) are a classifier's outputs on real symbols of old classes (*labels* (N,)), *added*
    the column indices of the added classes. A symbol is *taken* when the old classes alone read it
    right (its label is the argmax over the old columns) but an added class's offset logit beats it.
    Greedy: while more than ``budget * N`` are taken, the added class whose next lowering frees one
    taken symbol at the least cost is lowered just enough (cost: its *made_logits* samples, (M, C) with
    *made_labels* (M,), read right before and not after; without made samples, the smallest step).
    With *class_budget*, no single added class may take more than ``class_budget * N`` either (the
    classes over it are lowered first).
    Returns (offsets (C,) float32, zero outside *added*; report dict with the counts before and after,
    the made samples' top-1 before and after, and the offsets by column). ValueError for shapes that do
    not match or an empty *added*.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"logits {logits.shape} and labels {labels.shape} do not match")
    added = np.asarray(sorted(set(int(a) for a in added)), dtype=np.int64)
    if added.size == 0:
        raise ValueError("no added classes to cap")
    n_cls = logits.shape[1]
    old_mask = np.ones(n_cls, dtype=bool)
    old_mask[added] = False
    old_cols = np.flatnonzero(old_mask)
    old_best = logits[:, old_cols].max(1)
    right = old_cols[logits[:, old_cols].argmax(1)] == labels  # the old classes alone read it right
    lg = logits[right]
    ob = old_best[right]
    off = np.zeros(n_cls)
    have_made = made_logits is not None and made_labels is not None and len(made_labels) > 0
    if have_made:
        ml = np.asarray(made_logits, dtype=np.float64)
        my = np.asarray(made_labels)

    def taken(o):
        a = lg[:, added] + o[added]
        return (a.max(1) > ob), added[a.argmax(1)]

    def made_right(o):
        return (ml + o).argmax(1) == my

    limit = int(math.floor(budget * len(labels)))
    c_limit = len(labels) if class_budget is None else int(math.floor(class_budget * len(labels)))
    is_taken, by = taken(off)
    n_before = int(is_taken.sum())
    made_before = float(made_right(off).mean()) if have_made else None
    steps = 0

    def over(is_taken, by):
        counts = np.bincount(by[is_taken], minlength=n_cls)
        return np.flatnonzero(counts > c_limit)

    while (int(is_taken.sum()) > limit or len(over(is_taken, by))) and steps < max_steps:
        steps += 1
        best_c, best_cost, best_d = -1, math.inf, 0.0
        pick = over(is_taken, by)
        for c in pick if len(pick) else np.unique(by[is_taken]):
            sel = is_taken & (by == c)
            d = float((lg[sel, c] + off[c] - ob[sel]).min()) + 1e-4  # frees its weakest taken symbol
            if have_made:
                trial = off.copy()
                trial[c] -= d
                cost = float(((ml + off).argmax(1) == my).sum() - made_right(trial).sum())
            else:
                cost = d
            if (cost, d) < (best_cost, best_d) or best_c < 0:
                best_c, best_cost, best_d = int(c), cost, d
        off[best_c] -= best_d
        is_taken, by = taken(off)
    report = {
        "real_symbols": len(labels),
        "read_right_by_old_classes": int(right.sum()),
        "taken_before": n_before,
        "taken_after": int(is_taken.sum()),
        "limit": limit,
        "class_limit": None if class_budget is None else c_limit,
        "made_top1_before": made_before,
        "made_top1_after": float(made_right(off).mean()) if have_made else None,
        "offsets": {int(c): round(float(off[c]), 4) for c in added if off[c] != 0.0},
    }
    return off.astype(np.float32), report


def added_margin_loss(logits, labels, added_mask, margin: float):
    """The old/added hinge of :func:`train_classifier` (*added_margin*), averaged over the batch.

    *logits* (B, C) float tensor, *labels* (B,) class indices, *added_mask* (C,) bool (True: an added
    class), *margin* in logit units. A symbol of an old class pays max(0, max over the added classes of
    their logit - its class's logit + margin); a symbol of an added class pays max(0, max over the old
    classes - its class's logit + margin). Returns a 0-dim tensor (0 for an empty batch)."""
    import torch

    if len(labels) == 0:
        return logits.sum() * 0.0
    own = logits.gather(1, labels[:, None])[:, 0]
    neg = torch.finfo(logits.dtype).min
    best_added = logits.masked_fill(~added_mask[None, :], neg).max(1).values
    best_old = logits.masked_fill(added_mask[None, :], neg).max(1).values
    is_added = added_mask[labels]
    rival = torch.where(is_added, best_old, best_added)
    return torch.relu(rival - own + margin).mean()


def _logits(model, imgs: np.ndarray, sizes: np.ndarray, batch: int = 512) -> np.ndarray:
    """The model's logits (N, C) on pre-drawn symbols."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(imgs), batch):
            lg, _f = model(_to_tensor(imgs[i : i + batch]), torch.from_numpy(sizes[i : i + batch]))
            out.append(lg.numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def cap_checkpoint(
    path: str | Path,
    cap_set: Sequence[Expression],
    budget: float,
    *,
    seed: int = 0,
    synth_classes: Sequence[str] | None = None,
    made_per_class: int = 60,
    class_budget: float | None = None,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Lower the added classes' output biases of the checkpoint at *path* (in place) so that at most
    *budget* of *cap_set*'s real symbols of old classes that the old classes alone read right are taken
    by an added class, and at most *class_budget* by any one (:func:`cap_added_bias`; *cap_set*:
    expressions of writers the training never saw).
    The cost of each lowering is counted on *made_per_class* made samples of each added class hosted in
    *cap_set* (seed *seed* + 2000). Returns the cap's report (with the class names of the offsets)."""
    import torch

    from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES, make_samples

    model, ck = load_base(path)
    names = list(ck["label_names"])
    index = {n: i for i, n in enumerate(names)}
    classes = [c for c in (synth_classes if synth_classes is not None else ADDED_CLASSES) if c in index]
    added = [index[c] for c in classes]
    canvas_size = ck.get("canvas_size", 32)
    items = [it for it in symbol_items(cap_set, index) if names[it[2]] not in set(classes)]
    imgs, sizes = render_items(cap_set, items, canvas_size)
    labels = np.array([c for _k, _i, c in items], dtype=np.int64)
    made = [m.expr for m in make_samples(cap_set, classes, made_per_class, seed + 2000)]
    m_items = symbol_items(made, index)
    m_items = [it for it in m_items if names[it[2]] in set(classes)]
    m_imgs, m_sizes = render_items(made, m_items, canvas_size)
    m_labels = np.array([c for _k, _i, c in m_items], dtype=np.int64)
    off, report = cap_added_bias(
        _logits(model, imgs, sizes),
        labels,
        added,
        budget,
        _logits(model, m_imgs, m_sizes),
        m_labels,
        class_budget=class_budget,
    )
    state = dict(ck["model_state_dict"])
    state["fc2.bias"] = state["fc2.bias"] + torch.from_numpy(off)
    ck = dict(ck)
    ck["model_state_dict"] = state
    tmp = Path(path).with_suffix(".tmp")
    torch.save(ck, tmp)
    tmp.replace(path)
    report["offsets"] = {names[c]: v for c, v in report["offsets"].items()}
    report["budget"] = budget
    report["class_budget"] = class_budget
    _log(
        f"classifier: added classes capped on {report['real_symbols']} real symbols of held-out training "
        f"writers: taken {report['taken_before']} -> {report['taken_after']} (limit {report['limit']}); "
        f"made top-1 {report['made_top1_before']:.3f} -> {report['made_top1_after']:.3f}; "
        f"offsets {report['offsets']}",
        log,
    )
    return report


def dead_units(model, imgs: np.ndarray, sizes: np.ndarray, batch: int = 512) -> np.ndarray:
    """Indices of the fc1 units (ReLU features) that none of the pre-drawn symbols activates, ascending."""
    import torch

    model.eval()
    alive = None
    with torch.no_grad():
        for i in range(0, len(imgs), batch):
            _l, f = model(_to_tensor(imgs[i : i + batch]), torch.from_numpy(sizes[i : i + batch]))
            a = (f > 0).any(0)
            alive = a if alive is None else alive | a
    if alive is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~alive.numpy())


def _revive(model, exprs, items, real, canvas_size: int, keep_rows, n: int, seed: int):
    """Give the first *n* fc1 units dead on the real symbols of *items* fresh input weights (PyTorch's
    default Linear init, seeded) and zero the kept output rows' (*keep_rows*) weights on them, in place.
    Returns the revived unit indices (a LongTensor). ValueError when fewer than *n* are dead."""
    import torch

    real_items = [it for it, r in zip(items, real, strict=True) if r]
    imgs, sizes = render_items(exprs, real_items, canvas_size)
    dead = dead_units(model, imgs, sizes)
    if len(dead) < n:
        raise ValueError(f"only {len(dead)} fc1 units are dead; cannot revive {n}")
    units = torch.from_numpy(dead[:n]).long()
    g = torch.Generator().manual_seed(seed + 11)
    fan_in = model.fc1.weight.shape[1]
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        model.fc1.weight[units] = (torch.rand(n, fan_in, generator=g) * 2 - 1) * bound
        model.fc1.bias[units] = (torch.rand(n, generator=g) * 2 - 1) * bound
        w = model.fc2.weight
        rows = keep_rows if keep_rows is not None else torch.arange(w.shape[0])
        w[rows[:, None], units[None, :]] = 0.0
    return units


FREEZABLE = ("conv1", "conv2", "conv3", "fc1", "old-rows")


def frozen_layers(names: Sequence[str]) -> set[str]:
    """The layer names *names* freeze (``trunk`` = conv1 conv2 conv3). ValueError for a name not in
    ``FREEZABLE`` (or ``trunk``)."""
    out: set[str] = set()
    for n in names:
        n = n.strip()
        if not n:
            continue
        if n == "trunk":
            out |= {"conv1", "conv2", "conv3"}
        elif n in FREEZABLE:
            out.add(n)
        else:
            raise ValueError(f"cannot freeze {n!r}: choose from trunk, {', '.join(FREEZABLE)}")
    return out


def _save(model, state, ck, label_names, canvas_size, out_path: Path, protos=None) -> None:
    """Write *state* in mathnote-ocr's checkpoint format; *protos* (classes, 256) replace the prototypes
    (None: the base checkpoint's, until the final save)."""
    import torch

    protos = ck["prototypes"].float() if protos is None else protos
    state = dict(state)
    state["prototypes"] = protos
    tmp = out_path.with_suffix(".tmp")
    torch.save(
        {
            "model_state_dict": state,
            "label_names": label_names,
            "prototypes": protos,
            "canvas_size": canvas_size,
            "use_size_feat": ck.get("use_size_feat", True),
            "arch": ck.get("arch", "cnn"),
        },
        tmp,
    )
    tmp.replace(out_path)
