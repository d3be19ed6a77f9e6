"""recognition.typeset.glyph_layout: every step of the bundled deck typesets, glyphs carry the engine's
class names (or the calibration label for symbols without a class), tokens agree with
context.normalize_tokens, and boxes sit where typesetting puts them."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

pytest.importorskip("mathnote_ocr")
pytest.importorskip("ziamath")

from whiteboard_app.decks import load_deck
from whiteboard_app.recognition.calibration import CALIBRATION_SYMBOLS
from whiteboard_app.recognition.context import normalize_tokens
from whiteboard_app.recognition.trained import latex_to_name, name_to_latex
from whiteboard_app.recognition.typeset import Glyph, LayoutError, glyph_layout

#: Deck steps that cannot be typeset, with the reason (none at present: keep the reason when adding one).
NOT_TYPESETTABLE: dict[str, str] = {}

#: Class names of mathnote-ocr's classifier vocabulary (the names that are not LaTeX of their own).
_FUNCTION_CLASSES = {"sin", "cos", "tan", "log", "lim"}


@cache
def _deck_steps() -> tuple[str, ...]:
    """The deck's steps and mistakes, each once; loaded once per process (each part's fixture and
    several tests ask: loading and validating the deck 60 times was ~40 % of this file's CPU)."""
    deck = load_deck()
    out = []
    for card in sorted(deck.cards.values(), key=lambda c: c.id):
        out += [s.latex for s in card.steps] + [m.latex for m in card.mistakes]
    return tuple(dict.fromkeys(out))


#: The deck's steps are laid out and checked in this many parts, each a test of its own: ziamath takes
#: 20-40 s of CPU for the ~370 steps, and as parts pytest-xdist shares them between its workers (a
#: module-scoped fixture of all layouts ran on one worker, or on both when the tests were split).
DECK_PARTS = 12


@pytest.fixture(params=range(DECK_PARTS), ids=lambda k: f"part{k}")
def deck_layouts(request, monkeypatch) -> dict[str, tuple[Glyph, ...]]:
    """Layouts of one part of the deck's steps (every DECK_PARTS-th step from the part's index on).

    The on-disk layout table (whiteboard_app.cache) is switched off here: it rewrites its whole file on
    each new entry, seconds for hundreds of layouts, and tests/test_cache.py tests it. glyph_layout's
    in-memory cache still serves the part's four tests."""
    monkeypatch.setenv("WHITEBOARD_CACHE_DIR", "off")
    out = {}
    for latex in _deck_steps()[request.param :: DECK_PARTS]:
        if latex in NOT_TYPESETTABLE:
            continue
        out[latex] = glyph_layout(latex)
    return out


def _glyph_tokens(glyphs) -> list[str]:
    """Tokens of a layout in normalize_tokens' terms: a fraction bar stands for \\frac, the letters of a
    function word read letter by letter (\\exp) for that one command."""
    out: list[str] = []
    last_word = ""
    for g in glyphs:
        if g.word:
            if g.word != last_word:
                out.append(g.word)
        else:
            out.append(r"\frac" if g.name == "frac_bar" else g.token)
        last_word = g.word
    return out


def _visible(latex: str) -> list[str]:
    return [t for t in normalize_tokens(latex) if t not in ("^", "_")]


def _cx(g: Glyph) -> float:
    return g.box[0] + g.box[2] / 2


def test_the_deck_parts_cover_every_step_once():
    steps = _deck_steps()
    assert len(steps) > 250  # the bundled deck: reference steps and declared mistakes
    parts = [steps[k::DECK_PARTS] for k in range(DECK_PARTS)]
    assert sorted(s for part in parts for s in part) == sorted(steps)
    for latex in NOT_TYPESETTABLE:
        with pytest.raises(LayoutError):
            glyph_layout(latex)


def test_every_deck_step_typesets_or_is_listed(deck_layouts):
    assert deck_layouts
    for latex, glyphs in deck_layouts.items():  # the fixture raised LayoutError for any other step
        assert glyphs, latex


#: Classes the engine labels otherwise than the steps' LaTeX (trained.name_to_latex): glyph token -> the
#: step's token. Tokens follow the engine's labels, which the verifier compares them with.
ENGINE_SPELLINGS = {"sqrt": r"\sqrt", r"\lbrace": r"\{", r"\rbrace": r"\}"}


def test_deck_tokens_agree_with_normalize_tokens(deck_layouts):
    for latex, glyphs in deck_layouts.items():
        got = [ENGINE_SPELLINGS.get(t, t) for t in _glyph_tokens(glyphs)]
        assert Counter(got) == Counter(_visible(latex)), latex


def test_tokens_are_the_verifiers_keys_of_the_engines_labels(deck_layouts):
    """An ink symbol read as a glyph's class carries exactly the glyph's token in form_match."""
    from whiteboard_app.ink import Point, StepInk, Stroke
    from whiteboard_app.recognition.base import SymbolAlternatives
    from whiteboard_app.recognition.form_match import ink_symbols

    glyphs = {g.name: g for gl in deck_layouts.values() for g in gl}
    glyphs.update({g.name: g for g in glyph_layout(r"\{\sqrt{x}\}\cdot X^\top \mathbb{R} \hat{a}")})
    stroke = Stroke((Point(0.0, 0.0), Point(5.0, 5.0)))
    ink = StepInk((stroke,))
    for name, g in glyphs.items():
        (sym,) = ink_symbols(ink, [SymbolAlternatives((stroke.id,), ((name_to_latex(name), 1.0),))])
        assert list(sym.probs) == [g.token], name


def test_deck_boxes_are_sane(deck_layouts):
    for latex, glyphs in deck_layouts.items():
        xs0 = min(g.box[0] for g in glyphs)
        ys0 = min(g.box[1] for g in glyphs)
        assert xs0 == 0 and ys0 == 0, latex
        extent = max(max(g.box[0] + g.box[2] for g in glyphs), max(g.box[1] + g.box[3] for g in glyphs))
        assert extent == pytest.approx(1.0, abs=1e-5), latex
        for g in glyphs:
            x, y, w, h = g.box
            assert w > 0 and h > 0 and x + w <= 1 + 1e-5 and y + h <= 1 + 1e-5, (latex, g)
        # main-line relation signs run left to right, and what is read before one lies left of it
        eqs = [i for i, g in enumerate(glyphs) if g.name in ("=", "leq", "geq")]
        if not eqs:
            continue
        tallest = max(glyphs[i].box[2] for i in eqs)
        main = [i for i in eqs if glyphs[i].box[2] > 0.85 * tallest]
        centres = [_cx(glyphs[i]) for i in main]
        assert centres == sorted(centres), latex
        prev = 0
        for i in main:
            assert all(_cx(g) < glyphs[i].box[0] for g in glyphs[prev:i]), (latex, glyphs[i])
            prev = i + 1


def test_deck_names_are_engine_classes_or_their_own_latex(deck_layouts):
    from mathnote_ocr.latex_utils.glyphs import CHAR_TO_SYMBOL

    classes = set(CHAR_TO_SYMBOL.values()) | {"frac_bar"} | _FUNCTION_CLASSES
    names = {g.name for glyphs in deck_layouts.values() for g in glyphs}
    for name in names:
        if name not in classes:  # a symbol without a class: its calibration label, kept by the engine
            assert latex_to_name(name) == name and name_to_latex(name) == name, name


def test_the_deck_needs_symbols_beyond_the_classifiers_vocabulary():
    """What the deck needs beyond the classifier's vocabulary is known and labelled as calibration does
    (the names of those glyphs in each part are checked above)."""
    from mathnote_ocr.latex_utils.glyphs import CHAR_TO_SYMBOL

    classes = set(CHAR_TO_SYMBOL.values()) | {"frac_bar"} | _FUNCTION_CLASSES
    needed = {r"\hat": r"\hat{", r"\bar": r"\bar{", r"\|": r"\|"}
    for name, command in needed.items():
        assert name not in classes, name
        step = next(s for s in _deck_steps() if command in s)  # the deck writes it...
        assert name in {g.name for g in glyph_layout(step)}, step  # ...and it is typeset as its label


# (LaTeX, names in reading order, tokens in reading order)
CONSTRUCTS = [
    (r"\hat{x}_i", [r"\hat", "x", "i"], [r"\hat", "x", "i"]),
    (r"\bar{f}", [r"\bar", "f"], [r"\bar", "f"]),
    (r"\tilde{x}", [r"\tilde", "x"], [r"\tilde", "x"]),
    (r"\overline{x}", [r"\bar", "x"], [r"\bar", "x"]),
    (r"x\sim y", ["x", r"\sim", "y"], ["x", r"\sim", "y"]),
    (r"X^\top y", ["X_cap", r"\top", "y"], ["X", "T", "y"]),
    (r"X^T y", ["X_cap", "T_cap", "y"], ["X", "T", "y"]),
    (r"\mathbb{E}[x]", [r"\mathbb{E}", "[", "x", "]"], [r"\mathbb{E}", "[", "x", "]"]),
    (r"w \in \mathbb{R}^d", ["w", "in", r"\mathbb{R}", "d"], ["w", r"\in", r"\mathbb{R}", "d"]),
    (r"\text{if } x", ["i", "f", "x"], ["i", "f", "x"]),
    (r"\mathrm{Var}(x)", ["V_cap", "a", "r", "(", "x", ")"], ["V", "a", "r", "(", "x", ")"]),
    (r"\operatorname{tr}(A)", ["t", "r", "(", "A_cap", ")"], ["t", "r", "(", "A", ")"]),
    (
        r"\operatorname*{arg\,max}_w f",
        ["a", "r", "g", "m", "a", "x", "w", "f"],
        ["a", "r", "g", "m", "a", "x", "w", "f"],
    ),
    (r"\|w\|^2", [r"\|", "w", r"\|", "2"], [r"\|", "w", r"\|", "2"]),
    (r"\lVert w\rVert", [r"\|", "w", r"\|"], [r"\|", "w", r"\|"]),
    (r"\left\| w \right\|", [r"\|", "w", r"\|"], [r"\|", "w", r"\|"]),
    (r"\log x", ["log", "x"], [r"\log", "x"]),
    (r"\sin\theta", ["sin", "theta"], [r"\sin", r"\theta"]),
    (r"\exp(x)", ["e", "x", "p", "(", "x", ")"], ["e", "x", "p", "(", "x", ")"]),
    (r"\left. f\right|_{0}", ["f", "|", "0"], ["f", "|", "0"]),
    (r"a\ b\quad c\,d", ["a", "b", "c", "d"], ["a", "b", "c", "d"]),
    (r"a\cdot b", ["a", "cdot", "b"], ["a", r"\times", "b"]),
    (r"a\times b", ["a", "times", "b"], ["a", r"\times", "b"]),
    (r"\nabla_w \partial", ["nabla", "w", "partial"], [r"\nabla", "w", r"\partial"]),
    (r"f'(x)", ["f", "prime", "(", "x", ")"], ["f", r"\prime", "(", "x", ")"]),
    (r"f''", ["f", "prime", "prime"], ["f", r"\prime", r"\prime"]),
    (r"\eta\rho\tau", [r"\eta", r"\rho", r"\tau"], [r"\eta", r"\rho", r"\tau"]),
    (r"a*b", ["a", "*", "b"], ["a", "*", "b"]),
    (r"\ell", [r"\ell"], [r"\ell"]),
    (r"\varphi\epsilon\varepsilon", ["phi", "epsilon", "epsilon"], [r"\phi", r"\epsilon", r"\epsilon"]),
    (r"\frac{a}{b}", ["frac_bar", "a", "b"], ["-", "a", "b"]),
    (r"\sqrt{x}", ["sqrt", "x"], ["sqrt", "x"]),
    (r"\sum_{i=1}^{n} x", ["sum", "i", "=", "1", "n", "x"], [r"\sum", "i", "=", "1", "n", "x"]),
    (r"\{a\}", ["lbrace", "a", "rbrace"], [r"\lbrace", "a", r"\rbrace"]),
    (r"a \le b \ne c", ["a", "leq", "b", "neq", "c"], ["a", r"\leq", "b", r"\neq", "c"]),
]


@pytest.mark.parametrize(("latex", "names", "tokens"), CONSTRUCTS, ids=[c[0] for c in CONSTRUCTS])
def test_constructs(latex, names, tokens):
    glyphs = glyph_layout(latex)
    assert [g.name for g in glyphs] == names
    assert [g.token for g in glyphs] == tokens


def test_function_words_without_a_class_are_letters_marked_with_their_command():
    glyphs = glyph_layout(r"\arg\max_w p")
    assert [(g.name, g.word) for g in glyphs[:6]] == [
        ("a", r"\arg"),
        ("r", r"\arg"),
        ("g", r"\arg"),
        ("m", r"\max"),
        ("a", r"\max"),
        ("x", r"\max"),
    ]
    assert [g.word for g in glyphs[6:]] == ["", ""]
    assert _glyph_tokens(glyphs) == _visible(r"\arg\max_w p") == [r"\arg", r"\max", "w", "p"]
    xs = [_cx(g) for g in glyphs[:6]]
    assert xs == sorted(xs)


def test_flat_expression_runs_left_to_right():
    glyphs = glyph_layout(r"a + 2b - c = \alpha")
    xs = [g.box[0] for g in glyphs]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_accent_sits_over_its_base():
    for latex in (r"\hat{y}", r"\bar{x}", r"\tilde{x}", r"\hat{\theta}"):
        acc, base = glyph_layout(latex)
        assert acc.box[1] + acc.box[3] <= base.box[1] + 0.2 * base.box[3], latex  # above
        assert acc.box[0] < _cx(base) < acc.box[0] + acc.box[2], latex  # over the middle


def test_fraction_bar_spans_numerator_and_denominator():
    bar, *rest = glyph_layout(r"\frac{a+b}{c}")
    num, den = rest[:3], rest[3:]
    assert bar.name == "frac_bar"
    for g in num:
        assert g.box[1] + g.box[3] <= bar.box[1] and bar.box[0] <= g.box[0]
        assert g.box[0] + g.box[2] <= bar.box[0] + bar.box[2]
    assert den[0].box[1] >= bar.box[1] + bar.box[3]


def test_script_is_right_of_and_above_its_base():
    base, sup = glyph_layout("x^2")
    assert sup.box[0] >= base.box[0] + 0.8 * base.box[2]
    assert sup.box[1] < base.box[1] and sup.box[3] < base.box[3]


def test_radical_covers_its_radicand():
    rad, x = glyph_layout(r"\sqrt{x}")
    assert rad.box[0] < x.box[0] and x.box[0] + x.box[2] <= rad.box[0] + rad.box[2] + 1e-6
    assert rad.box[1] <= x.box[1]


@pytest.mark.parametrize(
    ("label", "example"),
    [
        (r"\partial", r"\partial f"),
        (r"\hat", r"\hat{x}"),
        (r"\eta", r"\eta"),
        (r"\rho", r"\rho"),
        (r"\tau", r"\tau"),
        ("*", "a*b"),
        (r"\|", r"\|x\|"),
        (r"\mathbb{R}", r"\mathbb{R}^n"),
        ("E", "E[x]"),
    ],
)
def test_calibration_labels_name_their_glyphs(label, example):
    """A writer's calibration sample of each default symbol has the class name a typeset glyph carries.
    (\\bar and \\top are not calibration symbols: drawn alone they are a minus and a T.)"""
    assert label in {lab for lab, _desc in CALIBRATION_SYMBOLS}
    assert latex_to_name(label) in {g.name for g in glyph_layout(example)}


@pytest.mark.parametrize("latex", ["", "   ", r"\frac{", r"\heartsuit"])
def test_what_cannot_be_typeset_raises_layout_error(latex):
    with pytest.raises(LayoutError):
        glyph_layout(latex)


def test_layout_is_cached():
    a = glyph_layout(r"\hat{w} = (X^TX)^{-1}X^Ty")
    assert glyph_layout(r"\hat{w} = (X^TX)^{-1}X^Ty") is a


#: Nested rows with stretchy fences, accents and roots over them: where ziamath's speed-ups could show.
_STRETCHY = [
    r"\left(\frac{a}{b}\right)^{2}",
    r"\hat{\left(x+\frac{1}{2}\right)}",
    r"\overline{\left[\frac{x_i}{\sum_{j} e^{z_j}}\right]}",
    r"\sqrt{\frac{\left(x-\mu\right)^2}{2\sigma^2}}",
    r"\frac{\partial}{\partial w}\left(\frac{1}{1+e^{-\left(w^\top x+b\right)}}\right)",
    r"\left.\frac{d}{dx}\left(\frac{\left(x+1\right)^{2}}{\left|x\right|}\right)\right|_{x=0}",
    r"\widehat{\left(a+b\right)}+\left\|\left(\frac{w}{2}\right)\right\|^2",
    r"\log\left(\prod_{n=1}^{N}\left(\frac{e^{\theta_n}}{\left(1+e^{\theta_n}\right)}\right)\right)",
]


def test_the_ziamath_speed_ups_leave_every_layout_as_it_was(monkeypatch):
    # recognition.typeset.ziamath_patches: the same glyphs and boxes with and without them
    from whiteboard_app.recognition import typeset

    monkeypatch.setenv("WHITEBOARD_CACHE_DIR", "off")
    typeset._glyph_layout("x")  # font loaded, patches installed
    try:
        if not typeset.ziamath_patches(True):
            pytest.skip("another ziamath version: the speed-ups are not installed")
        fast = [typeset._glyph_layout(latex) for latex in _STRETCHY]
        typeset.ziamath_patches(False)
        plain = [typeset._glyph_layout(latex) for latex in _STRETCHY]
    finally:
        typeset.ziamath_patches(True)
    assert fast == plain
