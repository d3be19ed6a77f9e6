"""The synthetic ink generator (ink/synth.py): determinism, ground truth, layout, units, errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from whiteboard_app.ink import StepInk
from whiteboard_app.ink.synth import SynthError, SynthInk, supported_symbols, synthesize

DECKS = Path(__file__).resolve().parents[1] / "decks"


def _points(s: SynthInk):
    return [(p.x, p.y, p.t, p.pressure) for st in s.ink.strokes for p in st.points]


def _box(s: SynthInk, label: str, nth: int = 0):
    """(left, top, right, bottom) of the nth symbol with that label."""
    groups = [idx for lab, idx in s.symbols if lab == label]
    strokes = [s.ink.strokes[i] for i in groups[nth]]
    box = strokes[0].bbox
    for st in strokes[1:]:
        box = box.union(st.bbox)
    return box


def test_same_seed_same_ink_other_seed_other_ink():
    a = synthesize(r"\frac{\partial L}{\partial w} = x^T y", seed=3)
    b = synthesize(r"\frac{\partial L}{\partial w} = x^T y", seed=3)
    c = synthesize(r"\frac{\partial L}{\partial w} = x^T y", seed=4)
    assert isinstance(a.ink, StepInk)
    assert _points(a) == _points(b)
    assert _points(a) != _points(c)
    assert a.symbols == c.symbols  # the ground truth does not depend on the writer


@pytest.mark.parametrize(
    "latex, labels",
    [
        ("x^2", ["x", "2"]),
        ("a<b", ["a", r"\lt", "b"]),
        (r"a \le b", ["a", r"\leq", "b"]),
        (r"\frac{a}{b}", ["a", "-", "b"]),
        (r"\log x", [r"\log", "x"]),
        (r"\hat{\beta}", [r"\beta", r"\hat"]),
        (r"\bar{x}", ["x", r"\bar"]),
        (r"\mathbb{R}", [r"\mathbb{R}"]),
        (r"\sqrt{x}", [r"\sqrt", "x"]),
        ("f'", ["f", r"\prime"]),
        (r"X^\top", ["X", r"\top"]),
        (r"\sum_{i=1}^{n} x_i", [r"\sum", "n", "i", "=", "1", "x", "i"]),
        (r"\left( a \right)", ["(", "a", ")"]),
        (r"\|w\|", [r"\|", "w", r"\|"]),
        (r"\mathbf{x} \cdot \mathrm{y}", ["x", r"\cdot", "y"]),
    ],
)
def test_ground_truth_labels_in_writing_order(latex, labels):
    s = synthesize(latex)
    assert [lab for lab, _ in s.symbols] == labels


@pytest.mark.parametrize(
    "latex",
    [
        r"\frac{\partial L}{\partial z_i} = -y_i + \frac{e^{z_i}}{\sum_j e^{z_j}}",
        r"\hat\sigma^2 = \frac{1}{n-1}\sum_{i}(x_i-\bar{x})^2",
        "x+y=2",
    ],
)
def test_symbol_groups_partition_the_strokes(latex):
    s = synthesize(latex, seed=11)
    indices = sorted(i for _, idx in s.symbols for i in idx)
    assert indices == list(range(len(s.ink.strokes)))


def test_units_origin_and_height():
    clean = synthesize("1", jitter=0.0, origin=(100.0, 200.0), height_px=50.0)
    box = clean.ink.bbox
    assert box.height == pytest.approx(50.0, rel=0.05)
    assert box.bottom == pytest.approx(200.0, abs=1.0)  # the baseline is at origin y
    assert box.left >= 100.0 - 1.0
    bigger = synthesize("1", jitter=0.0, origin=(100.0, 200.0), height_px=100.0)
    assert bigger.ink.bbox.height == pytest.approx(2 * box.height, rel=0.05)


def test_time_is_monotonic_and_pressure_in_range():
    s = synthesize(r"\sum_{i=1}^{n} (y_i - \hat{y}_i)^2", seed=5, start_ms=1000.0)
    times = [p.t for st in s.ink.strokes for p in st.points]
    assert times[0] == pytest.approx(1000.0)
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    for a, b in zip(s.ink.strokes, s.ink.strokes[1:], strict=False):
        assert b.start_ms > a.end_ms  # a pen-up gap between strokes
    assert all(0.0 <= p.pressure <= 1.0 for st in s.ink.strokes for p in st.points)


def test_scripts_are_raised_or_lowered_and_shrunk():
    s = synthesize("x^2 y_3", jitter=0.0)
    x, two, y, three = _box(s, "x"), _box(s, "2"), _box(s, "y"), _box(s, "3")
    assert two.bottom < x.bottom - 0.2 * x.height  # superscript sits above the baseline
    assert two.height < 0.8 * 40.0  # and is smaller than a full-size digit (cap height 40 px)
    assert three.bottom > y.top + 0.5 * (y.bottom - y.top)  # subscript is lowered
    assert two.left > x.right - 2


def test_fraction_is_stacked_with_a_bar_and_sqrt_covers_its_body():
    s = synthesize(r"\frac{a+b}{c}", jitter=0.0)
    bar, a, c = _box(s, "-"), _box(s, "a"), _box(s, "c")
    assert a.bottom < bar.top and c.top > bar.bottom
    assert bar.width > _box(s, "b").right - a.left  # the bar spans the numerator
    r = synthesize(r"\sqrt{xy}", jitter=0.0)
    rad, x, y = _box(r, r"\sqrt"), _box(r, "x"), _box(r, "y")
    assert rad.left < x.left and rad.right >= y.right - 1 and rad.top < x.top


def test_every_supported_symbol_can_be_written():
    for sym in supported_symbols():
        s = synthesize(sym, seed=1)
        assert len(s.ink.strokes) >= 1, sym


def test_every_step_and_mistake_of_the_bundled_decks_can_be_written():
    latexes = []
    for path in sorted(DECKS.glob("*.toml")):
        card = tomllib.loads(path.read_text(encoding="utf-8"))
        latexes += [st["latex"] for st in card.get("steps", [])]
        latexes += [m["latex"] for m in card.get("mistakes", [])]
    assert latexes
    for k, latex in enumerate(latexes):
        assert synthesize(latex, seed=k).ink.strokes, latex


@pytest.mark.parametrize(
    "latex, fragment",
    [
        (r"\foo x", r"\\foo"),
        ("x^", "missing argument"),
        ("{x", "missing '}'"),
        ("x}", "unbalanced"),
        ("", "nothing to write"),
    ],
)
def test_unsupported_latex_is_a_clear_error(latex, fragment):
    with pytest.raises(SynthError, match=fragment):
        synthesize(latex)


def test_a_derivation_is_written_line_under_line_in_time_order():
    from whiteboard_app.ink.synth import synthesize_lines

    lines = synthesize_lines(
        [r"\sigma(z) = (1+e^{-z})^{-1}", r"= \sigma(z)(1-\sigma(z))"],
        seed=4,
        origin=(50.0, 100.0),
        height_px=30.0,
        start_ms=500.0,
        pause_ms=2000.0,
    )
    first, second = lines
    assert first.ink.bbox.bottom < second.ink.bbox.top  # the second line is below the first
    assert second.ink.strokes[0].start_ms == pytest.approx(first.ink.strokes[-1].end_ms + 2000.0)
    assert first.ink.strokes[0].start_ms == pytest.approx(500.0)
    rec = second.as_record("step-2")
    assert (
        rec.latex == r"= \sigma(z)(1-\sigma(z))" and rec.ink == second.ink and rec.symbols == second.symbols
    )
