"""Training the recogniser: data preparation, a tiny classifier and grouper run on project-made ink
(whiteboard_app.ink.synth), loss falling, checkpoints round-tripping, the CLI's argument errors.

No /work/shared data is used; each training run takes a few seconds.
"""

from __future__ import annotations

import gzip
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mathnote_ocr")

from whiteboard_app.ink.synth import synthesize  # noqa: E402
from whiteboard_app.recognition.training import data as D  # noqa: E402, N812 - short module alias

EXPRS = [r"x+1", r"a=b", r"y-2", r"\frac{a}{b}", r"x^{2}", r"n+3", r"z=4", r"b-a", r"1+2", r"(x)"]


def _row(latex: str, seed: int, writer: str | None) -> dict:
    s = synthesize(latex, seed=seed, height_px=30.0 + 3 * (seed % 4))
    return {
        "id": f"synth/{seed}",
        "source": "synth",
        "writer": f"synth/{writer}" if writer else None,
        "latex": latex,
        "strokes": [[[p.x, p.y] for p in st.points] for st in s.ink.strokes],
        "symbols": [{"label": lab, "strokes": list(idx)} for lab, idx in s.symbols],
    }


@pytest.fixture(autouse=True)
def _one_thread():
    """Small models train faster on one thread on a shared machine; restored afterwards. Set before each
    test, not once for the module: the training CLI sets torch's threads itself (``--threads``, default 2,
    set before it reads the data), so a CLI test would leave 2 threads to every later test of the worker:
    the distillation test took 14-28 s instead of 2-6 s after the CLI's argument-error test (2 OpenMP
    threads spinning against the other xdist worker on 2 cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [_row(e, k * len(EXPRS) + i, f"w{k}") for k in range(4) for i, e in enumerate(EXPRS)]


@pytest.fixture(scope="module")
def exprs(rows):
    out = [D.row_to_expression(r) for r in rows]
    for e in out:
        D.mark_fraction_bars(e)
    return out


@pytest.mark.parametrize(
    "label,name",
    [
        ("X", "X_cap"),
        ("x", "x"),
        ("\\times", "times"),
        ("\\Sigma", "Sigma_up"),
        ("\\sum", "sum"),
        ("\\lt", "<"),
        ("\\{", "lbrace"),
        (".", "dot"),
        ("\\sin", "sin"),
        ("\\ln", None),
        ("\\alpha", "alpha"),
        ("/", "slash"),
    ],
)
def test_labels_stay_distinct(label, name):
    assert D.label_to_name(label) == name


def test_normalise_sets_median_stroke_size_and_margin():
    strokes = [[(0, 0), (100, 0)], [(200, 0), (200, 50)], [(300, 300), (310, 330)]]
    out = D.normalise_strokes(strokes)
    sizes = sorted(
        max(max(p[0] for p in s) - min(p[0] for p in s), max(p[1] for p in s) - min(p[1] for p in s))
        for s in out
    )
    assert sizes[1] == pytest.approx(D.STROKE_SIZE)
    assert min(p[0] for s in out for p in s) == pytest.approx(D.MARGIN)
    assert min(p[1] for s in out for p in s) == pytest.approx(D.MARGIN)


def test_writer_split_is_disjoint_and_keeps_unknown_writers_in_train(rows):
    rows = rows + [_row("x+1", 999, None)]
    exprs = [D.row_to_expression(r) for r in rows]
    train, val = D.writer_split(exprs, val_fraction=0.5, seed=3)
    assert {e.writer for e in train}.isdisjoint({e.writer for e in val})
    assert any(e.writer is None for e in train) and all(e.writer is not None for e in val)
    assert len(train) + len(val) == len(exprs)


def test_fraction_bar_is_relabelled_minus_is_not(exprs):
    frac = next(e for e in exprs if "frac" in e.latex)
    minus = next(e for e in exprs if e.latex == "y-2")
    assert "frac_bar" in [n for n, _ in frac.symbols]
    assert "frac_bar" not in [n for n, _ in minus.symbols] and "-" in [n for n, _ in minus.symbols]


def test_iter_rows_reads_gzip_and_reports_bad_lines(tmp_path, rows):
    p = tmp_path / "t.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write(json.dumps(rows[0]) + "\n")
    assert len(D.load_expressions(p)) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n{not json\n")
    with pytest.raises(D.TrainingDataError, match="bad.jsonl:2"):
        D.load_expressions(bad)
    with pytest.raises(D.TrainingDataError, match="no such file"):
        D.load_expressions(tmp_path / "missing.jsonl")


def test_classifier_loss_falls_and_checkpoint_round_trips(tmp_path, exprs):
    from mathnote_ocr.classifier.inference import SymbolClassifier

    from whiteboard_app.recognition.training.classifier import render_items, symbol_items, train_classifier

    train, val = exprs[:30], exprs[30:]
    out = tmp_path / "classifier.pth"
    summary = train_classifier(train, val, out, epochs=4, seed=0, lr=2e-3, batch_size=32, log=None)
    losses = [h["loss"] for h in summary["history"]]
    assert losses[-1] < losses[0]
    assert out.exists()
    clf = SymbolClassifier(run=str(out), device=torch.device("cpu"))
    items = symbol_items(val, {n: i for i, n in enumerate(clf.label_names)})
    imgs, sizes = render_items(val, items, clf.canvas_size)
    from PIL import Image

    res = clf.classify_batch([Image.fromarray(a) for a in imgs], size_feats=list(map(float, sizes)))
    acc = sum(
        r.alternatives[0][0] == clf.label_names[c] for r, (_k, _i, c) in zip(res, items, strict=True)
    ) / len(items)
    # the saved weights are the best epoch's: they score what training reported for them
    assert acc == pytest.approx(summary["val_acc"], abs=1e-6)


def test_grouper_learns_and_checkpoint_round_trips(tmp_path, exprs):
    from whiteboard_app.recognition.training.grouper import (
        build_example,
        collate,
        load_grouper,
        loss_fn,
        make_reader,
        stroke_inputs,
        to_strokes,
        train_grouper,
    )

    out = tmp_path / "grouper.pth"
    summary = train_grouper(exprs[:30], exprs[30:], out, epochs=3, seed=0, lr=3e-3, batch_size=8, log=None)
    assert out.exists() and summary["epochs"] == 3
    reader = make_reader(None)
    labels = list(reader.vectors.label_names)
    ex = [build_example(reader, e, {n: i for i, n in enumerate(labels)}) for e in exprs[:8]]
    loaded = load_grouper(out, None)
    e = exprs[0]
    strokes = to_strokes(e.strokes)
    scores = loaded.pair_logits(strokes)
    vec, geo, edge = stroke_inputs(loaded, strokes)
    n = len(strokes)
    with torch.no_grad():
        es, _ = loaded.net(
            vec[None],
            geo[None],
            edge[None],
            torch.zeros(1, n, dtype=torch.bool),
            torch.ones(1, n, n, dtype=torch.bool),
        )
    assert torch.allclose(scores, (es[0] + es[0].T) / 2, atol=1e-5)
    # the trained pairs beat an untrained network of the same shape on the training inks
    from mathnote_ocr.grouper_gnn.model import StrokeGNN

    from whiteboard_app.recognition.training.grouper import NET_CONFIG

    torch.manual_seed(1)
    fresh = StrokeGNN(num_classes=len(labels), **NET_CONFIG).eval()
    with torch.no_grad():
        trained_loss = float(loss_fn(loaded.net, collate(ex))[0])
        fresh_loss = float(loss_fn(fresh, collate(ex))[0])
    assert trained_loss < fresh_loss


def test_cli_rejects_unknown_stage_and_missing_data(tmp_path, capsys):
    from whiteboard_app.recognition.training.cli import main

    assert (
        main(["--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"), "--stages", "nope"]) == 2
    )
    assert "unknown stage" in capsys.readouterr().err
    assert main(["--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_train_recognizer_is_registered():
    from whiteboard_app.cli import build_parser

    args = build_parser().parse_args(
        ["train-recognizer", "--data", "d.jsonl", "--out", "o", "--minutes", "5", "--seed", "7"]
    )
    assert args.minutes == 5 and args.seed == 7 and callable(args.func)


def test_extend_classes_keeps_old_outputs():
    from whiteboard_app.recognition.training.classifier import extend_classes, load_base

    model, ck = load_base()
    big, ck2 = extend_classes(model, ck, ["sin", "cos"])
    assert ck2["label_names"][-2:] == ["sin", "cos"] and len(ck2["label_names"]) == len(ck["label_names"]) + 2
    assert ck2["prototypes"].shape[0] == len(ck2["label_names"])
    torch.manual_seed(0)
    x, sf = torch.randn(6, 1, 32, 32), torch.rand(6)
    model.eval()
    big.eval()
    with torch.no_grad():
        a, _ = model(x, sf)
        b, _ = big(x, sf)
    assert torch.allclose(a, b[:, : a.shape[1]])
    assert torch.equal(a.argmax(1), b.argmax(1))  # a new class does not take over before training


def _mean_kl_to(teacher_path, student_path, exprs) -> float:
    """Mean KL(teacher || student) of the two checkpoints' softmax outputs on *exprs*' symbols."""
    from whiteboard_app.recognition.training.classifier import (
        _to_tensor,
        load_base,
        render_items,
        symbol_items,
    )

    t, ck = load_base(teacher_path)
    s, _ = load_base(student_path)
    items = symbol_items(exprs, {n: i for i, n in enumerate(ck["label_names"])})
    imgs, sizes = render_items(exprs, items, ck.get("canvas_size", 32))
    t.eval()
    s.eval()
    with torch.no_grad():
        lt, _ = t(_to_tensor(imgs), torch.from_numpy(sizes))
        ls, _ = s(_to_tensor(imgs), torch.from_numpy(sizes))
    pt = torch.log_softmax(lt, 1)
    return float((pt.exp() * (pt - torch.log_softmax(ls, 1))).sum(1).mean())


def test_distillation_keeps_the_teachers_outputs(tmp_path, exprs):
    from whiteboard_app.recognition.training.classifier import train_classifier

    teacher = tmp_path / "teacher.pth"
    train_classifier(exprs[:20], exprs[20:30], teacher, epochs=2, seed=0, lr=2e-3, batch_size=32, log=None)
    kls = {}
    for w in (0.0, 5.0):
        out = tmp_path / f"student{w}.pth"
        # a high learning rate on other writers' ink: without the term the outputs drift from the teacher's
        train_classifier(
            exprs[20:],
            exprs[:10],
            out,
            epochs=3,
            seed=1,
            lr=5e-3,
            batch_size=16,
            base=teacher,
            log=None,
            distill_from=teacher if w else None,
            distill_weight=w,
        )
        kls[w] = _mean_kl_to(teacher, out, exprs[:20])
    assert kls[5.0] < 0.7 * kls[0.0], kls


def test_distillation_teacher_must_share_the_classes(tmp_path, exprs):
    from whiteboard_app.recognition.training.classifier import _save, load_base, train_classifier

    model, ck = load_base()
    other = tmp_path / "other.pth"
    names = list(reversed(ck["label_names"]))
    _save(model, model.state_dict(), ck, names, ck.get("canvas_size", 32), other)
    with pytest.raises(ValueError, match="prefix"):
        train_classifier(exprs[:8], [], tmp_path / "c.pth", epochs=1, log=None, distill_from=other)


def test_cli_refiner_stage_writes_layouts_and_a_refiner(tmp_path, rows):
    from whiteboard_app.recognition.training.cli import main

    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:24]))
    out = tmp_path / "o"
    code = main(
        ["--data", str(path), "--out", str(out), "--stages", "refiner", "--refiner-epochs", "1"]
        + ["--refiner-copies", "1", "--val-fraction", "0.3", "--threads", "1", "--seed", "0"]
    )
    assert code == 0
    assert (out / "structure_train.jsonl").stat().st_size > 0 and (out / "structure_val.jsonl").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["refiner"]["history"]) == 2  # the bundled refiner on validation, then one epoch
    assert "refiner: evidence of" in (out / "train.log").read_text()


@pytest.fixture(scope="module")
def small_base(tmp_path_factory, exprs):
    """A classifier trained for one epoch on the first 20 expressions: the base the fine-tunes start from."""
    from whiteboard_app.recognition.training.classifier import train_classifier

    base = tmp_path_factory.mktemp("base") / "base.pth"
    train_classifier(exprs[:20], exprs[20:30], base, epochs=1, seed=0, lr=2e-3, batch_size=32, log=None)
    return base


def _fine_tune(exprs, base, out, **kw):
    from whiteboard_app.recognition.training.classifier import train_classifier

    train_classifier(
        exprs[20:], exprs[:10], out, epochs=2, seed=1, lr=5e-3, batch_size=16, base=base, log=None, **kw
    )


def test_frozen_trunk_keeps_the_conv_layers_and_trains_the_head(tmp_path, exprs, small_base):
    from whiteboard_app.recognition.training.classifier import load_base

    base = small_base
    out = tmp_path / "frozen.pth"
    _fine_tune(exprs, base, out, freeze=["trunk"])
    b, _ = load_base(base)
    f, _ = load_base(out)
    bs, fs = b.state_dict(), f.state_dict()
    for name in ("conv1.weight", "conv2.weight", "conv3.bias"):
        assert torch.equal(bs[name], fs[name]), name
    assert not torch.equal(bs["fc1.weight"], fs["fc1.weight"])
    assert not torch.equal(bs["fc2.weight"], fs["fc2.weight"])


def test_freeze_names_are_checked():
    from whiteboard_app.recognition.training.classifier import frozen_layers

    assert frozen_layers(["trunk"]) == {"conv1", "conv2", "conv3"}
    assert frozen_layers(["conv3", " fc1 ", ""]) == {"conv3", "fc1"}
    with pytest.raises(ValueError, match="cannot freeze"):
        frozen_layers(["fc2"])


def test_old_rows_keep_the_old_classes_logits(tmp_path, exprs, small_base):
    from whiteboard_app.recognition.training.classifier import load_base

    base = small_base
    out = tmp_path / "rows.pth"
    _fine_tune(exprs, base, out, freeze=["trunk", "fc1", "old-rows"], synth_classes=["partial", "nabla"])
    b, ck = load_base(base)
    f, ck2 = load_base(out)
    names = list(ck["label_names"])
    bs, fs = b.state_dict(), f.state_dict()
    assert torch.equal(bs["fc1.weight"], fs["fc1.weight"])
    learnt = [names.index("partial"), names.index("nabla")]
    kept = [i for i in range(len(names)) if i not in learnt]
    assert torch.equal(bs["fc2.weight"][kept], fs["fc2.weight"][kept])
    assert torch.equal(bs["fc2.bias"][kept], fs["fc2.bias"][kept])
    assert not torch.equal(bs["fc2.weight"][learnt], fs["fc2.weight"][learnt])
    assert torch.equal(ck["prototypes"].float(), ck2["prototypes"].float())  # features unchanged


def _with_dead_units(base, out, units):
    """A copy of the checkpoint *base* whose fc1 *units* never fire (bias far below any input)."""
    ck = torch.load(base, weights_only=False)
    state = dict(ck["model_state_dict"])
    w = state["fc1.weight"].clone()
    b = state["fc1.bias"].clone()
    w[units] = 0.0
    b[units] = -1e6
    state["fc1.weight"], state["fc1.bias"] = w, b
    ck = dict(ck)
    ck["model_state_dict"] = state
    torch.save(ck, out)
    return out


def test_revived_units_learn_while_the_old_classes_logits_stay(tmp_path, exprs, small_base):
    from whiteboard_app.recognition.training.classifier import load_base

    dead = [0, 1, 2, 40, 200]  # the first three (ascending) are revived
    base = _with_dead_units(small_base, tmp_path / "dead.pth", dead)
    out = tmp_path / "revived.pth"
    _fine_tune(
        exprs, base, out, freeze=["trunk", "old-rows"], synth_classes=["partial", "nabla"], revive_units=3
    )
    b, ck = load_base(base)
    f, ck2 = load_base(out)
    names = list(ck["label_names"])
    bs, fs = b.state_dict(), f.state_dict()
    changed = [
        i
        for i in range(bs["fc1.weight"].shape[0])
        if not torch.equal(bs["fc1.weight"][i], fs["fc1.weight"][i])
    ]
    assert changed and set(changed) <= {0, 1, 2}  # only the revived dead units learn
    learnt = [names.index("partial"), names.index("nabla")]
    kept = [i for i in range(len(names)) if i not in learnt]
    assert float(fs["fc2.weight"][kept][:, changed].abs().max()) == 0.0
    b.eval()
    f.eval()
    x, size = torch.randn(16, 1, 32, 32), torch.rand(16)
    with torch.no_grad():
        lb, fb = b(x, size)
        lf, ff = f(x, size)
    assert torch.equal(lb[:, kept], lf[:, kept])  # the old classes read exactly as before
    same = [i for i in range(fb.shape[1]) if i not in (0, 1, 2)]
    assert torch.equal(fb[:, same], ff[:, same])
    pb, pf = ck["prototypes"].float(), ck2["prototypes"].float()
    assert torch.equal(pb[:, same], pf[:, same])


def test_revive_silence_quiets_the_revived_units_on_real_symbols(tmp_path, exprs, small_base):
    from whiteboard_app.recognition.training.classifier import (
        _to_tensor,
        load_base,
        render_items,
        symbol_items,
    )

    base = _with_dead_units(small_base, tmp_path / "dead.pth", [0, 1, 2, 3])
    acts = {}
    for w in (0.0, 1.0):
        out = tmp_path / f"silence{w}.pth"
        _fine_tune(
            exprs,
            base,
            out,
            freeze=["trunk", "old-rows"],
            synth_classes=["partial", "nabla"],
            revive_units=4,
            revive_silence=w,
        )
        model, ck = load_base(out)
        index = {n: i for i, n in enumerate(ck["label_names"])}
        items = symbol_items(exprs[20:], index)
        imgs, sizes = render_items(exprs[20:], items, ck.get("canvas_size", 32))
        model.eval()
        with torch.no_grad():
            _lg, feats = model(_to_tensor(imgs), torch.from_numpy(sizes))
        acts[w] = float(feats[:, :4].sum(1).mean())
    assert acts[1.0] < acts[0.0]  # the penalty holds the revived units down on the real training symbols
    assert acts[1.0] < 0.5 * acts[0.0] or acts[1.0] < 1e-3


def test_revive_silence_needs_revived_units(tmp_path, exprs, small_base):
    with pytest.raises(ValueError, match="revive_silence needs"):
        _fine_tune(exprs, small_base, tmp_path / "s.pth", freeze=["trunk", "old-rows"], revive_silence=0.1)


def test_revive_needs_frozen_trunk_and_enough_dead_units(tmp_path, exprs, small_base):
    base = _with_dead_units(small_base, tmp_path / "dead.pth", [5])
    with pytest.raises(ValueError, match="revive_units needs"):
        _fine_tune(exprs, base, tmp_path / "a.pth", freeze=["trunk"], revive_units=1)
    with pytest.raises(ValueError, match="cannot revive"):
        _fine_tune(
            exprs,
            base,
            tmp_path / "b.pth",
            freeze=["trunk", "old-rows"],
            synth_classes=["partial"],
            revive_units=300,
        )


def test_cli_parses_freeze_and_written_skeletons():
    import argparse

    from whiteboard_app.recognition.training.cli import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    a = p.parse_args(["--data", "d", "--out", "o", "--freeze", "trunk,old-rows", "--written-skeletons"])
    assert a.freeze == "trunk,old-rows" and a.written_skeletons
    b = p.parse_args(["--data", "d", "--out", "o"])
    assert b.freeze == "" and not b.written_skeletons


def _taking_logits():
    """Real symbols of old classes 0-6 (some taken by the added classes 7-9) and made samples of 7-9."""
    import numpy as np

    rng = np.random.default_rng(0)
    lg = rng.normal(size=(1000, 10))
    y = rng.integers(0, 7, 1000)
    lg[np.arange(1000), y] += 3.0
    ml = rng.normal(size=(300, 10))
    my = rng.integers(7, 10, 300)
    ml[np.arange(300), my] += 3.0
    return lg, y, ml, my


def test_cap_added_bias_lowers_only_the_added_rows_to_the_budget():
    import numpy as np

    from whiteboard_app.recognition.training.classifier import cap_added_bias

    lg, y, ml, my = _taking_logits()
    off, rep = cap_added_bias(lg, y, [7, 8, 9], 0.002, ml, my)
    assert rep["taken_before"] > rep["limit"] == 2 and rep["taken_after"] <= 2
    assert np.all(off[:7] == 0) and np.all(off[7:] <= 0) and off[7:].min() < 0
    # the count is recomputed independently from the offsets
    old = lg[:, :7].argmax(1)
    moved = (lg + off).argmax(1)
    assert int(((old == y) & (moved >= 7)).sum()) == rep["taken_after"]
    assert rep["made_top1_after"] <= rep["made_top1_before"]
    same, rep2 = cap_added_bias(lg, y, [7, 8, 9], 0.5, ml, my)  # a loose budget: nothing to lower
    assert np.all(same == 0) and rep2["taken_after"] == rep2["taken_before"]
    # a loose total but at most 2 symbols taken by any one added class
    off3, rep3 = cap_added_bias(lg, y, [7, 8, 9], 0.5, ml, my, class_budget=0.002)
    moved = (lg + off3).argmax(1)
    per_class = np.bincount(moved[(old == y) & (moved >= 7)], minlength=10)[7:]
    assert rep3["class_limit"] == 2 and per_class.max() <= 2 and rep3["taken_after"] == per_class.sum()
    assert rep3["taken_after"] > rep["taken_after"]  # the total limit did not bind


def test_cap_added_bias_lowers_the_class_whose_made_samples_lose_least():
    import numpy as np

    from whiteboard_app.recognition.training.classifier import cap_added_bias

    lg = np.zeros((4, 4))
    y = np.array([0, 1, 0, 1])
    lg[[0, 1, 2, 3], y] = 1.0
    lg[0, 2] = 1.5  # class 2 takes symbol 0
    lg[1, 3] = 1.5  # class 3 takes symbol 1
    ml = np.zeros((4, 4))
    my = np.array([2, 2, 3, 3])
    ml[[0, 1], 2] = 0.2  # class 2's made samples barely win: lowering it costs both
    ml[[2, 3], 3] = 5.0  # class 3's win by far: lowering it by 0.5 costs nothing
    off, rep = cap_added_bias(lg, y, [2, 3], 0.25, ml, my)  # one symbol may stay taken
    assert off[2] == 0 and off[3] < -0.5 and rep["taken_after"] == 1
    assert rep["made_top1_after"] == rep["made_top1_before"] == 1.0
    with pytest.raises(ValueError):
        cap_added_bias(lg, y[:3], [2, 3], 0.1)
    with pytest.raises(ValueError):
        cap_added_bias(lg, y, [], 0.1)


def test_cap_checkpoint_writes_lowered_biases_of_the_added_rows_only(tmp_path, exprs, small_base):
    import shutil

    pytest.importorskip("HersheyFonts")  # the made samples the cap's cost is counted on
    from whiteboard_app.recognition.training.classifier import cap_checkpoint, load_base

    path = tmp_path / "capped.pth"
    shutil.copy(small_base, path)
    rep = cap_checkpoint(
        path, exprs[20:], 0.0, synth_classes=["partial", "nabla"], made_per_class=4, log=None
    )
    b, ck = load_base(small_base)
    c, _ = load_base(path)
    names = list(ck["label_names"])
    rows = [names.index("partial"), names.index("nabla")]
    kept = [i for i in range(len(names)) if i not in rows]
    bb, cb = b.state_dict()["fc2.bias"], c.state_dict()["fc2.bias"]
    assert torch.equal(bb[kept], cb[kept]) and bool((cb[rows] <= bb[rows]).all())
    assert rep["taken_after"] <= rep["limit"] == 0 and rep["budget"] == 0.0
    assert set(rep["offsets"]) <= {"partial", "nabla"}


def test_cli_parses_added_cap():
    import argparse

    from whiteboard_app.recognition.training.cli import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    a = p.parse_args(["--data", "d", "--out", "o", "--added-cap", "0.001", "--cap-fraction", "0.2"])
    assert a.added_cap == 0.001 and a.cap_fraction == 0.2
    assert p.parse_args(["--data", "d", "--out", "o"]).added_cap == 0.0


def test_added_margin_loss_is_the_old_added_hinge():
    from whiteboard_app.recognition.training.classifier import added_margin_loss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(9, 6, generator=g) * 3
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 0, 4, 2])
    added = torch.tensor([False, False, False, True, False, True])
    want = []
    for row, y in zip(logits.tolist(), labels.tolist(), strict=True):
        rivals = [v for c, v in enumerate(row) if bool(added[c]) != bool(added[y])]
        want.append(max(0.0, max(rivals) - row[y] + 1.5))
    got = added_margin_loss(logits, labels, added, 1.5)
    assert float(got) == pytest.approx(sum(want) / len(want), rel=1e-5)
    assert float(added_margin_loss(logits[:0], labels[:0], added, 1.5)) == 0.0


def test_added_margin_enters_the_training_loss_and_keeps_the_old_rows(tmp_path, exprs, small_base):
    from whiteboard_app.recognition.training.classifier import load_base, train_classifier

    # a base whose added rows come near the real symbols' own classes, so the hinge is active
    ck = torch.load(small_base, weights_only=False)
    names = list(ck["label_names"])
    learnt = [names.index("partial"), names.index("nabla")]
    state = dict(ck["model_state_dict"])
    bias = state["fc2.bias"].clone()
    bias[learnt] += 6.0
    state["fc2.bias"] = bias
    ck = dict(ck)
    ck["model_state_dict"] = state
    base = tmp_path / "near.pth"
    torch.save(ck, base)
    losses = {}
    for m in (0.0, 3.0):
        out = tmp_path / f"margin{m}.pth"
        res = train_classifier(
            exprs[20:],
            exprs[:10],
            out,
            epochs=1,
            seed=1,
            lr=5e-3,
            batch_size=16,
            base=base,
            log=None,
            freeze=["trunk", "fc1", "old-rows"],
            synth_classes=["partial", "nabla"],
            added_margin=m,
            added_margin_weight=5.0,
        )
        losses[m] = res["history"][0]["loss"]
        f, _ck = load_base(out)
        kept = [i for i in range(len(names)) if i not in learnt]
        assert torch.equal(state["fc2.weight"][kept], f.state_dict()["fc2.weight"][kept])
    assert losses[3.0] > losses[0.0] + 1.0  # the added rows sit within the margin of the real symbols


def test_cli_parses_added_margin_and_allographs():
    import argparse

    from whiteboard_app.recognition.training.cli import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    a = p.parse_args(["--data", "d", "--out", "o", "--added-margin", "1", "--written-allographs"])
    assert a.added_margin == 1.0 and a.added_margin_weight == 1.0 and a.written_allographs
    b = p.parse_args(["--data", "d", "--out", "o"])
    assert b.added_margin == 0.0 and not b.written_allographs
