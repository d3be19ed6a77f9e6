"""Training ink for the added symbol classes (recognition/training/symbol_synth.py), on project-made ink only
(whiteboard_app.ink.synth hosts the glyphs; no /work/shared data)."""

from __future__ import annotations

import math
import random

import pytest

pytest.importorskip("HersheyFonts")

from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.training import data as D  # noqa: N812 - short module aliases
from whiteboard_app.recognition.training import symbol_synth as S  # noqa: N812 - short module aliases

HOSTS = [r"x+1=2", r"3a-b", r"n+6=z", r"k+u", r"|w|", r"v+3", r"(y)+1"]


def _expr(latex: str, seed: int, writer: str) -> D.Expression:
    s = synthesize(latex, seed=seed, height_px=30.0)
    row = {
        "id": f"synth/{seed}",
        "source": "synth",
        "writer": f"synth/{writer}",
        "latex": latex,
        "strokes": [[[p.x, p.y] for p in st.points] for st in s.ink.strokes],
        "symbols": [{"label": lab, "strokes": list(idx)} for lab, idx in s.symbols],
    }
    return D.row_to_expression(row)


@pytest.fixture(scope="module")
def exprs() -> list[D.Expression]:
    return [_expr(e, 10 * w + i, f"w{w}") for w in range(3) for i, e in enumerate(HOSTS)]


@pytest.mark.parametrize("cls", sorted({c for c, fonts in S.FONT_GLYPHS.items() if fonts}))
def test_every_font_skeleton_has_ink(cls):
    for font, ch in S.FONT_GLYPHS[cls]:
        strokes = S.font_glyph(font, ch)
        assert strokes and all(len(s) >= 2 for s in strokes)
    glyph, recipe = S.skeleton_glyph(cls, random.Random(1))
    top, bottom = S.GLYPH_BOX[cls]
    x0, y0, x1, y1 = S.bbox(glyph)
    assert y0 == pytest.approx(top) and y1 == pytest.approx(bottom)
    assert recipe.startswith(("font:", "skeleton"))


def test_every_added_class_has_a_recipe_and_a_box():
    for cls in S.ADDED_CLASSES:
        assert cls in S.GLYPH_BOX and cls in S.ASPECT
        assert S.FONT_GLYPHS.get(cls) or S._hand_skeleton(cls, random.Random(0)) is not None
    # no alias is also a class: an alias is read through the class of the same shape
    assert not set(S.SHAPE_ALIASES) & set(S.ADDED_CLASSES.values())


def test_make_samples_is_deterministic_and_labels_the_made_glyph(exprs):
    classes = list(S.ADDED_CLASSES)
    a = S.make_samples(exprs, classes, 2, seed=5)
    b = S.make_samples(exprs, classes, 2, seed=5)
    c = S.make_samples(exprs, classes, 2, seed=6)
    assert [m.expr.strokes for m in a] == [m.expr.strokes for m in b]
    assert [m.expr.strokes for m in a] != [m.expr.strokes for m in c]
    assert sorted({m.cls for m in a}) == sorted(classes)
    for m in a:
        assert m.expr.symbols == [(m.cls, m.strokes)]
        glyph = [m.expr.strokes[i] for i in m.strokes]
        assert glyph and all(len(s) >= 1 for s in glyph)
        # the made glyph's strokes come last; every coordinate is positive (the canvas is the largest one)
        assert min(m.strokes) == len(m.expr.strokes) - len(m.strokes)
        assert all(x > 0 and y > 0 for s in m.expr.strokes for x, y in s)


def test_implant_scales_to_the_target_and_removes_it(exprs):
    host = next(e for e in exprs if any(n == "2" for n, _i in e.symbols))
    j = next(k for k, (n, _i) in enumerate(host.symbols) if n == "2")
    target = [host.strokes[i] for i in host.symbols[j][1]]
    tx0, ty0, tx1, ty1 = S.bbox(target)
    glyph, _r = S.skeleton_glyph("D_cap", random.Random(3))
    e = S.implant(host, j, glyph, "D_cap")
    assert all(e.strokes[i] == [] for i in host.symbols[j][1])  # the digit is gone
    gx0, gy0, gx1, gy1 = S.bbox([e.strokes[i] for i in e.symbols[0][1]])
    # a capital drawn where a digit stood: the same height, the same baseline (the host is not shifted:
    # its ink already lies below y = 1)
    assert (gy1 - gy0) == pytest.approx(ty1 - ty0, rel=0.02)
    assert gy1 == pytest.approx(ty1, abs=0.5)
    assert gx0 == pytest.approx(tx0, abs=0.5)


def test_transforms_use_the_writers_own_glyphs(exprs):
    pool = S.build_pool(exprs)
    rng = random.Random(0)
    assert S.writer_key(exprs[0], 0) == "w0"  # the writer without the source prefix
    assert "6" in pool.by_writer["w0"] or "3" in pool.by_writer["w0"]
    made = S.transform_glyph("epsilon", "w0", pool, rng)
    assert made is not None and made[1] == "real:3 mirrored"
    three = pool.by_writer["w0"]["3"]
    # the writer's own 3, mirrored left to right and fitted to epsilon's box (not yet stylised)
    top, bottom = S.GLYPH_BOX["epsilon"]
    assert any(S.fit_box(S.mirror_x(t), top, bottom) == made[0] for t in three)
    assert not any(S.fit_box(t, top, bottom) == made[0] for t in three)
    assert S.transform_glyph("\\eta", "nobody", pool, rng) is None


def test_eta_from_n_reaches_below_the_baseline(exprs):
    pool = S.build_pool(exprs)
    made = S.transform_glyph("\\eta", "w0", pool, random.Random(0))
    assert made is not None
    top, bottom = S.GLYPH_BOX["\\eta"]
    _x0, y0, _x1, y1 = S.bbox(made[0])
    assert y1 > 0.2 and y0 == pytest.approx(top)


def test_measured_slant_follows_the_writer():
    def expr(lean: float) -> D.Expression:
        strokes = [[(10 + lean * (30 - t), 10 + t) for t in range(0, 31, 3)] for _ in range(3)]
        strokes = [[(x + 20 * k, y) for x, y in s] for k, s in enumerate(strokes)]
        return D.Expression("e", "111", "w", strokes, [("1", [k]) for k in range(3)])

    assert S.measure_style([expr(0.3)]).slant == pytest.approx(0.3, abs=0.02)
    assert S.measure_style([expr(-0.2)]).slant == pytest.approx(-0.2, abs=0.02)
    assert S.measure_style([]).slant == 0.0


def test_stylise_resamples_at_the_writers_pen_spacing():
    glyph = [[(0.0, -1.0), (0.0, 0.0)], [(0.0, -1.0), (0.6, -0.5), (0.0, 0.0)]]
    out = S.stylise(glyph, S.WriterStyle(slant=0.0, step=0.05, tremor=0.0), random.Random(2), skeleton=True)
    gaps = [math.hypot(b[0] - a[0], b[1] - a[1]) for s in out for a, b in zip(s, s[1:], strict=False)]
    assert 0.02 < sorted(gaps)[len(gaps) // 2] < 0.12
    assert sum(len(s) for s in out) > 20


def test_bad_input_is_a_clear_error(exprs):
    with pytest.raises(ValueError, match="unknown added class"):
        S.make_samples(exprs, ["\\notaclass"], 1, 0)
    with pytest.raises(ValueError, match="no expression"):
        S.make_samples([D.Expression("e", "", None, [[(1.0, 1.0)]], [(",", [0])])], ["D_cap"], 1, 0)
    with pytest.raises(ValueError):
        S.bbox([[]])


def test_classifier_training_mixes_in_made_classes(exprs, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.training.classifier import train_classifier

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path / "clf.pth"
        res = train_classifier(
            exprs[:14],
            exprs[14:],
            out,
            epochs=1,
            minutes=5,
            seed=0,
            log=None,
            synth_per_class=4,
            synth_classes=["\\eta", "D_cap"],
            synth_val_per_class=2,
        )
    finally:
        torch.set_num_threads(n)
    ck = torch.load(out, map_location="cpu", weights_only=False)
    assert "\\eta" in ck["label_names"] and "D_cap" in ck["label_names"]
    assert ck["model_state_dict"]["fc2.weight"].shape[0] == len(ck["label_names"])
    assert res["history"][0]["synth_val_acc"] is not None
    assert (tmp_path / "clf.epoch1.pt").exists()


# ── the recipes of the classes with real look-alikes (η/n, κ/k, U/u, Z/z/2, caret/v, J/j) ──
LOOKALIKE_HOSTS = [r"k<7", r"u+7", r"k-u", r"j+7<2"]


@pytest.fixture(scope="module")
def lookalikes() -> list[D.Expression]:
    return [_expr(e, 100 + 10 * w + i, f"w{w}") for w in range(3) for i, e in enumerate(LOOKALIKE_HOSTS)]


def test_clip_above_splits_strokes_at_the_cut():
    stroke = [
        (0.0, 0.0),
        (0.0, -0.3),
        (0.0, -1.0),
        (0.5, -0.2),
        (0.6, -0.1),
        (1.0, -1.0),
        (1.0, 0.0),
        (1.0, 0.1),
    ]
    out = S._clip_above([stroke], -0.5)
    # three pieces below the cut; the points above it are gone
    assert out == [[(0.0, 0.0), (0.0, -0.3)], [(0.5, -0.2), (0.6, -0.1)], [(1.0, 0.0), (1.0, 0.1)]]
    assert S._clip_above([[(0.0, -2.0), (1.0, -2.0)]], -1.0) == []


def test_kappa_from_k_has_no_ascender(lookalikes):
    pool = S.build_pool(lookalikes)
    made = [S.transform_glyph("\\kappa", "w0", pool, random.Random(s)) for s in range(6)]
    made = [m for m in made if m is not None]
    assert made and all(m[1] == "real:k without ascender" for m in made)
    k = S.fit_box(pool.by_writer["w0"]["k"][0], -1.05, 0.0)
    # every point of the made κ comes from the k's part below x-height (up to the fitting's scale)
    assert all(p[1] >= -0.62 - 0.06 - 1e-9 for s in S._clip_above(k, -0.68) for p in s)
    for glyph, _r in made:
        top, bottom = S.GLYPH_BOX["\\kappa"]
        assert S.bbox(glyph)[1] == pytest.approx(top) and S.bbox(glyph)[3] == pytest.approx(bottom)
        assert sum(len(s) for s in glyph) < sum(len(s) for s in k)  # the ascender's points are gone


def test_u_made_capital_loses_its_stem():
    # a u: down, round, up to the top right, then down the stem to the baseline
    u = [[(0.0, -0.6), (0.0, -0.2), (0.2, 0.0), (0.4, -0.1), (0.5, -0.6), (0.5, -0.3), (0.52, 0.0)]]
    body = S._without_tail(u)
    assert body == [u[0][:5]]
    assert S._is_cup(body)
    assert not S._is_cup(u)  # ends at the baseline: not a cup
    assert not S._is_cup([[(0.0, -0.6), (0.1, 0.0), (0.15, -0.6)]])  # ends too close: a // or v
    assert not S._is_cup(body + body)  # one stroke only


def test_caret_and_z_from_real_strokes(lookalikes):
    pool = S.build_pool(lookalikes)
    carets = {m[1] for s in range(12) if (m := S.transform_glyph("\\hat", "w1", pool, random.Random(s)))}
    assert "real:< turned a quarter" in carets
    # a < turned a quarter is a ^: its vertex on top, both ends below it
    lt = pool.by_writer["w1"]["<"][0]
    up = S._turned_quarter(lt, clockwise=True)
    pts = [p for s in up for p in s]
    apex = min(pts, key=lambda p: p[1])
    ends = [up[0][0], up[-1][-1]]
    assert all(e[1] > apex[1] for e in ends)
    zs = [S.transform_glyph("Z_cap", "w2", pool, random.Random(s)) for s in range(30)]
    recipes = {z[1] for z in zs if z is not None}
    assert "real:7 with its bar as a foot" in recipes
    for glyph, recipe in (z for z in zs if z is not None):
        if recipe == "real:7 with its bar as a foot":
            top, bottom = S.GLYPH_BOX["Z_cap"]
            feet = glyph[-1]  # the copied bar lies along the bottom
            assert min(p[1] for p in feet) > top + 0.6 * (bottom - top)


def test_hard_classes_are_added_classes():
    assert set(S.HARD_CLASSES) <= set(S.ADDED_CLASSES)
    assert S.HARD_FACTOR >= 1 and 0.0 <= S.HARD_REAL_SHARE <= 1.0


def test_font_skeletons_are_drawn_in_a_hands_strokes():
    # Hershey draws W as four lines and doubles ∂'s line to thicken it: a hand writes each in one stroke
    assert len(S.font_glyph("futural", "W")) == 1
    assert len(S.font_glyph("mathlow", "m")) == 1
    assert len(S.font_glyph("futural", "K")) == 3  # lines that only cross stay apart
    assert len(S.font_glyph("mathlow", "y")) == 2  # ‖: two bars, neither a thickening of the other
    a, b, c = [(0, 0), (1, 0)], [(2, 1), (1, 0)], [(5, 5), (6, 6)]
    assert S.chain_strokes([a, b, c]) == [[(0, 0), (1, 0), (2, 1)], c]
    line = [(0.0, 0.0), (10.0, 0.0)]
    twin = [(1.0, 1.0), (9.0, 1.0)]
    apart = [(0.0, 5.0), (10.0, 5.0)]
    assert S.drop_thickening([line, twin, apart]) == [line, apart]


def test_a_line_ending_where_a_longer_one_does_is_not_a_thickening():
    # a D's stem ends where its bowl does: only its ends lie on the bowl, so it stays (it was dropped when
    # only a stroke's vertices were compared, and the D skeleton was drawn as a bowl without a stem)
    stem = [(0.0, 0.0), (0.0, 20.0)]
    bowl = [(0.0, 0.0), (8.0, 2.0), (12.0, 10.0), (8.0, 18.0), (0.0, 20.0)]
    assert S.drop_thickening([stem, bowl]) == [stem, bowl]
    lifted = S.font_glyph("futural", "D", chain=False)
    assert len(lifted) == 2
    xs = sorted({round(p[0]) for p in min(lifted, key=len)})
    assert len(xs) == 1  # one of the two strokes is the vertical stem
    whole = S.font_glyph("futural", "D")
    assert len(whole) == 1 and sum(len(s) for s in whole) == sum(len(s) for s in lifted) - 1


def test_d_skeletons_are_drawn_in_one_stroke_or_as_stem_and_bowl():
    rng = random.Random(3)
    counts = {len(S.skeleton_glyph("D_cap", rng)[0]) for _ in range(40)}
    assert counts == {1, 2}


def test_omega_has_a_one_stroke_skeleton():
    g = S._hand_skeleton("omega", random.Random(0))
    assert g is not None and len(g) == 1
    pts = g[0]
    assert pts[0][0] < 0.5 < pts[-1][0]  # from top left to top right, symmetric about the middle
    assert all(
        p[0] == pytest.approx(1.0 - q[0]) and p[1] == q[1] for p, q in zip(pts, reversed(pts), strict=True)
    )
    bottoms = [k for k in range(1, len(pts) - 1) if pts[k][1] > max(pts[k - 1][1], pts[k + 1][1])]
    assert len(bottoms) == 2  # two bowls (y down)


def test_classifier_stop_after_ends_early_on_the_full_schedule(exprs, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.training.classifier import train_classifier

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = train_classifier(
            exprs[:14], exprs[14:], tmp_path / "c.pth", epochs=3, stop_after=1, minutes=5, seed=0, log=None
        )
    finally:
        torch.set_num_threads(n)
    assert res["epochs"] == 1 and (tmp_path / "c.epoch1.pt").exists()
    assert not (tmp_path / "c.epoch2.pt").exists()


WRITTEN = [
    "\\rho",
    "omega",
    "partial",
    "\\tau",
    "\\eta",
    "\\kappa",
    "Z_cap",
    "U_cap",
    "J_cap",
    "\\hat",
]


@pytest.mark.parametrize("cls", WRITTEN)
def test_written_skeletons_are_offered_and_fill_the_box(cls, monkeypatch):
    rng = random.Random(7)
    off = {S.skeleton_glyph(cls, random.Random(k))[1] for k in range(40)}
    assert "skeleton:written" not in off  # off by default: the made-ink benchmarks keep their recipes
    monkeypatch.setattr(S, "WRITTEN_SKELETONS", True)
    recipes = set()
    for _ in range(60):
        glyph, recipe = S.skeleton_glyph(cls, rng)
        recipes.add(recipe)
        top, bottom = S.GLYPH_BOX[cls]
        x0, y0, x1, y1 = S.bbox(glyph)
        assert y0 == pytest.approx(top) and y1 == pytest.approx(bottom)
        assert x1 > x0 and all(len(s) >= 2 for s in glyph)
    assert "skeleton:written" in recipes
    assert S._written_skeleton("prod", random.Random(0)) is None


def test_no_written_ell_and_z_comes_open_closed_and_crossed():
    # session 10: the looped l a written ℓ was is a real l as well (a CROHME writer's l read as ℓ on dev)
    assert all(S._written_skeleton("\\ell", random.Random(k)) is None for k in range(20))
    shapes = [S._written_skeleton("Z_cap", random.Random(k)) for k in range(200)]
    n_strokes = [len(z) for z in shapes]
    # one stroke, one with its bar, the foot apart (two), the foot apart with its bar (three)
    assert set(n_strokes) == {1, 2, 3}
    crossed = sum(any(abs(s[0][1] - 0.5) < 0.1 and abs(s[-1][1] - 0.5) < 0.15 for s in z) for z in shapes)
    assert 0.6 < crossed / len(shapes) < 0.8


def test_written_rho_is_a_bowl_on_a_stem_from_its_foot():
    g = S._written_skeleton("\\rho", random.Random(2))
    assert g is not None and len(g) == 1
    pts = g[0]
    x0, y0, x1, y1 = S.bbox(g)
    assert pts[0][1] == pytest.approx(y1)  # starts at the stem's foot
    bowl = [p for p in pts if p[1] < y0 + 0.7 * (y1 - y0)]
    assert max(p[0] for p in bowl) > x0 + 0.5 * (x1 - x0)  # the bowl reaches right of the stem


def test_written_omega_and_eta_shapes():
    om = S._written_skeleton("omega", random.Random(4))
    assert om is not None and len(om) == 1
    pts = om[0]
    bottoms = [k for k in range(1, len(pts) - 1) if pts[k][1] > max(pts[k - 1][1], pts[k + 1][1])]
    assert len(bottoms) == 2 and pts[0][1] < 0.1 and pts[-1][1] < 0.1  # a rounded w, ends at the top
    eta = S._written_skeleton("\\eta", random.Random(4))
    assert eta is not None
    left_foot = max(p[1] for p in eta[0] if p[0] < 0.2)
    assert eta[0][-1][1] > left_foot + 0.25  # the right leg goes below the left one


ALLOGRAPHS = ["\\eta", "\\kappa", "K_cap", "Z_cap", "partial"]


@pytest.mark.parametrize("cls", ALLOGRAPHS)
def test_allograph_skeletons_are_offered_only_when_on_and_fill_the_box(cls, monkeypatch):
    off = {S.skeleton_glyph(cls, random.Random(k))[1] for k in range(40)}
    assert "skeleton:allograph" not in off  # off by default: the made-ink benchmarks keep their recipes
    monkeypatch.setattr(S, "WRITTEN_ALLOGRAPHS", True)
    rng = random.Random(3)
    recipes = set()
    for _ in range(60):
        glyph, recipe = S.skeleton_glyph(cls, rng)
        recipes.add(recipe)
        top, bottom = S.GLYPH_BOX[cls]
        x0, y0, x1, y1 = S.bbox(glyph)
        assert y0 == pytest.approx(top) and y1 == pytest.approx(bottom)
        assert x1 > x0 and all(len(s) >= 2 for s in glyph)
    assert "skeleton:allograph" in recipes
    assert S._allograph_skeleton("omega", random.Random(0)) is None


def test_allograph_shapes_differ_from_their_lookalikes_as_hands_make_them():
    for k in range(30):
        eta = S._allograph_skeleton("\\eta", random.Random(k))
        assert eta is not None and len(eta) == 1
        left_foot = max(p[1] for p in eta[0] if p[0] < 0.2)
        assert max(p[1] for p in eta[0]) > left_foot + 0.25  # the right leg well below the left one
        big_k = S._allograph_skeleton("K_cap", random.Random(k))
        assert big_k is not None and len(big_k) in (2, 3)
        stem_top = min(p[1] for p in big_k[0])
        arm_top = min(p[1] for s in big_k[1:] for p in s)
        assert arm_top < stem_top + 0.1  # a K's arm reaches the stem's top (a k's stops at x-height)
        part = S._allograph_skeleton("partial", random.Random(k))
        assert part is not None
        pts = [p for s in part for p in s]
        assert pts[-1][1] < 0.2 and pts[-1][0] < 0.3  # the stem ends curled to the left at the top
    kappas = [S._allograph_skeleton("\\kappa", random.Random(k)) for k in range(60)]
    assert {len(g) for g in kappas if g} == {1, 2}  # one stroke and stem + arms
    zs = [S._allograph_skeleton("Z_cap", random.Random(k)) for k in range(200)]
    crossed = sum(len(z) == 2 for z in zs if z)
    assert 0.35 < crossed / len(zs) < 0.65  # with and without the crossbar
