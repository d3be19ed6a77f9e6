"""Where each glyph of a LaTeX expression goes when typeset: the layout the card's forms are compared with.

:func:`glyph_layout` typesets an expression with ziamath (the typesetter mathnote-ocr's own glyph-box helper
``latex_utils.glyphs._extract_glyphs`` uses, recognition/mathnote_compat.py; its SVG gives each glyph's ink box, its node tree each glyph's
character and role) and returns one :class:`Glyph` per visible glyph:

* ``name``: the class name in mathnote-ocr's vocabulary (the classifier's labels: ``"x"``, ``"X_cap"``,
  ``"sigma"``, ``"frac_bar"``, ``"log"``); for a glyph the vocabulary has no class for, the LaTeX a writer's
  calibration sample of it carries (``"\\hat"``, ``"\\bar"``, ``"\\tilde"``, ``"\\top"``, ``"\\|"``,
  ``"\\mathbb{R}"``, ``"\\tau"``, ``"*"``), the label :func:`whiteboard_app.recognition.vocabulary.latex_to_name`
  keeps as it is and ``name_to_latex`` returns unchanged;
* ``token``: the token an ink symbol of that class carries in the verifier: the engine's LaTeX for the
  name (``vocabulary.name_to_latex``) as :func:`whiteboard_app.recognition.tokens.normalize_tokens` writes it
  (``cdot`` -> ``"\\times"``, ``\\top`` -> ``"T"``, ``\\|`` for ``\\lVert`` too; a fraction bar is ``"-"``,
  what the engine's ``frac_bar`` class reads as); the LaTeX itself when that is several tokens
  (``\\mathbb{R}``). This is normalize_tokens' token of the step's own LaTeX except where the engine
  spells a class otherwise: ``sqrt`` (bare, mathnote-ocr's spelling), ``\\lbrace``/``\\rbrace`` for
  ``\\{``/``\\}``, ``\\bar`` for ``\\overline``, ``T`` for ``\\intercal``;
* ``box``: its ink box (x, y, w, h), y downwards, scaled so that the expression's larger side is 1;
* ``word``: for a letter of a function name the classifier reads letter by letter (``\\exp``, ``\\max``,
  ``\\arg``, ``\\ln``, ``\\det``), that command (normalize_tokens gives it as one token); else ``""``.
  ``\\sin \\cos \\tan \\log \\lim`` are classes of their own (CROHME writes them as one symbol): one glyph.

Order: reading order, the order of :func:`normalize_tokens` (an accent before its base, a fraction bar
before its numerator, a big operator's lower limit before its upper one), not necessarily left to right.

What is done so that every step a person could write typesets (ziamath 0.13 reads all of the bundled deck;
what it reads, mathnote-ocr's helper often refused: any character outside its table fails the whole step):
accents over a base (``\\hat \\widehat \\bar \\overline \\tilde \\vec \\dot \\ddot \\check \\breve``) and
``\\underbrace``, the Greek letters and operators mathnote-ocr has no class for, blackboard-bold and
calligraphic letters (``\\mathbb{E}``), bold or sans letters (their plain letter), ``\\|`` / ``\\lVert``,
``\\top`` / ``\\intercal``, ``\\mid``, ``\\cdots``, double and triple primes (two or three prime glyphs),
function words; spacing (``\\ `` ``\\quad`` ``\\,``), ``\\left.`` and font commands draw nothing.
Two rewrites before ziamath, both keeping the meaning: ``\\operatorname*{..}`` -> ``\\operatorname{..}``
(ziamath 0.13 draws the star as a glyph) and sized double bars (``\\left\\|``, ``\\Big\\Vert``) -> ``\\|``
(ziamath stretches them by repeating a piece, once to 80 times the line height). A stretched delimiter
drawn as several pieces gets the box of all of them (mathnote-ocr's helper found no ink in it).

Cost: ziamath's layout, ~20 ms a step on the shared 2-core machine with the two speed-ups of
:func:`ziamath_patches` (the same layouts; ~40 ms without), the first call also loads ziamath's font, a
few seconds; results are cached. Used by the card-context verifier (recognition/form_match.py)
and the derivation-step benchmark.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from whiteboard_app.recognition.training.data import FUNCTION_CLASSES

__all__ = ["Glyph", "LayoutError", "glyph_layout"]


class LayoutError(ValueError):
    """An expression that cannot be typeset (ziamath fails, or draws a glyph this module cannot name)."""


@dataclass(frozen=True, slots=True)
class Glyph:
    """One typeset glyph: class name (``"sigma"``, ``"frac_bar"``, ``"\\hat"``), token (``"\\sigma"``, ``"-"``,
    ``"\\hat"``), ink box (x, y, w, h), y downwards, in the typesetter's units (the expression's larger side
    is 1), and the function-name command a letter belongs to (``"\\exp"``; ``""`` for other glyphs)."""

    name: str
    token: str
    box: tuple[float, float, float, float]
    word: str = ""


# Function names that are one class of the classifier (CROHME writes them as one symbol).
_CLASS_WORDS = frozenset(FUNCTION_CLASSES.values())

# Characters ziamath draws that mathnote-ocr's table (CHAR_TO_SYMBOL) lacks or names differently, as the
# LaTeX that writes them; the class name is latex_to_name(LaTeX) unless given: (LaTeX, name or None).
_EXTRA_CHARS: dict[int, tuple[str, str | None]] = {
    0x2016: (r"\|", None),
    0x22A4: (r"\top", None),
    0x22BA: (r"\intercal", r"\top"),
    0x2113: (r"\ell", None),
    0x2A: ("*", None),
    0x2217: (r"\ast", "*"),
    0x2223: (r"\mid", "|"),
    0x22EF: (r"\cdots", "ldots"),
    0x03C6: (r"\varphi", "phi"),
    0x03D1: (r"\vartheta", None),
    0x03F1: (r"\varrho", None),
    0x03C2: (r"\varsigma", None),
    0x03D6: (r"\varpi", None),
    0x2248: (r"\approx", None),
    0x2261: (r"\equiv", None),
    0x221D: (r"\propto", None),
    0x223C: (r"\sim", None),
    0x7E: (r"\sim", None),
    0x2243: (r"\simeq", None),
    0x2245: (r"\cong", None),
    0x227B: (r"\succ", None),
    0x227A: (r"\prec", None),
    0x2AB0: (r"\succeq", None),
    0x2AAF: (r"\preceq", None),
    0x226A: (r"\ll", None),
    0x226B: (r"\gg", None),
    0x2299: (r"\odot", None),
    0x2297: (r"\otimes", None),
    0x2295: (r"\oplus", None),
    0x2218: (r"\circ", None),
    0x2219: (r"\bullet", None),
    0x2022: (r"\bullet", None),
    0x21D2: (r"\Rightarrow", None),
    0x27F9: (r"\implies", None),
    0x21D4: (r"\Leftrightarrow", None),
    0x27FA: (r"\iff", None),
    0x21A6: (r"\mapsto", None),
    0x27E8: (r"\langle", None),
    0x27E9: (r"\rangle", None),
    0x2205: (r"\emptyset", None),
    0x2286: (r"\subseteq", None),
    0x2287: (r"\supseteq", None),
    0x2283: (r"\supset", None),
    0x2209: (r"\notin", None),
    0x2216: (r"\setminus", None),
    0x00AC: (r"\neg", None),
    0x2227: (r"\land", None),
    0x2228: (r"\lor", None),
    0x22EE: (r"\vdots", None),
    0x230A: (r"\lfloor", None),
    0x230B: (r"\rfloor", None),
    0x2308: (r"\lceil", None),
    0x2309: (r"\rceil", None),
    0x210F: (r"\hbar", None),
    0x2191: (r"\uparrow", None),
    0x2193: (r"\downarrow", None),
    0x2194: (r"\leftrightarrow", None),
    0x21D0: (r"\Leftarrow", None),
    0x27F6: (r"\longrightarrow", None),
}
_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "sigma tau upsilon phi chi psi omega"
).split()
for _i, _g in enumerate(_GREEK):
    if _g == "omicron":
        continue
    _lower = 0x3B1 + _i + (1 if _i >= 17 else 0)  # U+03C2 is the final sigma
    _EXTRA_CHARS.setdefault(_lower, ("\\" + _g, None))
    if _g not in (
        "alpha",
        "beta",
        "epsilon",
        "zeta",
        "eta",
        "iota",
        "kappa",
        "mu",
        "nu",
        "rho",
        "tau",
        "chi",
    ):  # capitals that look like Latin letters are written as those letters
        _EXTRA_CHARS.setdefault(0x391 + _i + (1 if _i >= 17 else 0), ("\\" + _g.capitalize(), None))

# Over/under scripts that are accents on their base: character -> accent LaTeX (calibration labels).
_ACCENTS: dict[int, str] = {
    0x302: r"\hat",
    0x5E: r"\hat",
    0x2C6: r"\hat",
    0xAF: r"\bar",
    0x2C9: r"\bar",
    0x304: r"\bar",
    0x305: r"\bar",
    0x7E: r"\tilde",
    0x2DC: r"\tilde",
    0x303: r"\tilde",
    0x2192: r"\vec",
    0x20D7: r"\vec",
    0x2D9: r"\dot",
    0x307: r"\dot",
    0xA8: r"\ddot",
    0x308: r"\ddot",
    0x2C7: r"\check",
    0x30C: r"\check",
    0x2D8: r"\breve",
    0x306: r"\breve",
    0xB4: r"\acute",
    0x301: r"\acute",
    0x60: r"\grave",
    0x300: r"\grave",
    0x2DA: r"\mathring",
    0x30A: r"\mathring",
    0x23DF: r"\underbrace",
    0x23DE: r"\overbrace",
}
# Several primes drawn as one character: written as that many prime glyphs.
_MULTI_PRIME = {0x2033: 2, 0x2034: 3, 0x2057: 4}
_NUM_RE = re.compile(r"[-+]?\d*\.?\d+")
_NAME_DIGITS = {w: str(i) for i, w in enumerate("ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split())}
_FONT_RE = re.compile(r"^(?:MATHEMATICAL )?(.*?)(?:(SMALL|CAPITAL) ([A-Z]+)|DIGIT ([A-Z]+))$")
_STAR_OPNAME = re.compile(r"\\operatorname\s*\*")
# Sized double bars: ziamath 0.13 stretches them by repeating a piece, once to 80 times the line height
# (\left\|\prod_k J_k\right\|); a written norm bar is as tall as its content anyway.
_SIZED_NORM = re.compile(r"\\(?:left|right|[bB]igg?[lr]?)\s*(\\\||\\[lr]?Vert\b)")


def _prepare(latex: str) -> str:
    """The LaTeX as given to ziamath: only rewrites that keep the meaning (see the module docstring)."""
    return _SIZED_NORM.sub(r"\1", _STAR_OPNAME.sub(r"\\operatorname", latex))


def _symbol_extents(root, ns: str) -> dict[str, tuple[float, float, float, float, tuple[float, ...]]]:
    """Symbol id -> (min x, min y, max x, max y, viewBox) of the ink of every path it holds (a stretched
    delimiter is several paths in a group)."""
    out = {}
    for sym in root.iter(f"{{{ns}}}symbol"):
        nums = [float(v) for p in sym.iter(f"{{{ns}}}path") for v in _NUM_RE.findall(p.get("d", ""))]
        if len(nums) < 2:
            continue
        xs, ys = nums[0::2], nums[1::2]
        vb = tuple(float(v) for v in sym.get("viewBox", "0 0 0 0").split())
        out[sym.get("id")] = (min(xs), min(ys), max(xs), max(ys), vb)
    return out


def _use_box(use, extents) -> tuple[float, float, float, float] | None:
    """Ink box (x, y, w, h) of one SVG <use> of a symbol (as mathnote-ocr's _ink_bbox), None if it has no ink."""
    ext = extents.get((use.get("href") or "").lstrip("#"))
    if ext is None:
        return None
    x0, y0, x1, y1, (sx, sy, sw, sh) = ext
    if not sw or not sh:
        return None
    ux, uy = float(use.get("x", 0)), float(use.get("y", 0))
    kx, ky = float(use.get("width", 0)) / sw, float(use.get("height", 0)) / sh
    return ux + (x0 - sx) * kx, uy + (y0 - sy) * ky, (x1 - x0) * kx, (y1 - y0) * ky


def _styled_letter(ch: str) -> str | None:
    """LaTeX of a styled letter (𝐱 -> ``x``, ℝ / 𝔼 -> ``\\mathbb{R}``, ℒ -> ``\\mathcal{L}``), or None."""
    m = _FONT_RE.match(unicodedata.name(ch, ""))
    if not m:
        return None
    style, case, letter, digit = m.groups()
    if digit:
        base = _NAME_DIGITS.get(digit)
    elif style.endswith("GREEK ") or (letter and len(letter) > 1):
        g = letter.lower() if letter else ""
        g = "lambda" if g == "lamda" else g
        if g not in _GREEK:
            return None
        base = "\\" + (g.capitalize() if case == "CAPITAL" else g)
        style = style.removesuffix("GREEK ")
    else:
        base = letter.lower() if case == "SMALL" else letter
    if base is None:
        return None
    if "DOUBLE-STRUCK" in style:
        return rf"\mathbb{{{base}}}"
    if "SCRIPT" in style or "CALLIGRAPHIC" in style:
        return rf"\mathcal{{{base}}}"
    if "FRAKTUR" in style or "BLACK-LETTER" in style:
        return rf"\mathfrak{{{base}}}"
    if style.strip() and not any(s in style for s in ("BOLD", "ITALIC", "SANS-SERIF", "MONOSPACE")):
        return None
    return base


def _char_latex(ch: str) -> tuple[str, str]:
    """(class name, LaTeX) of one drawn character that is not an accent. Raises LayoutError."""
    from whiteboard_app.recognition.mathnote_compat import char_to_symbol, sym_to_latex
    from whiteboard_app.recognition.vocabulary import latex_to_name

    code = ord(ch)
    table = char_to_symbol()
    if code in table:
        name = table[code]
        return name, sym_to_latex(name)
    if code in _EXTRA_CHARS:
        tex, name = _EXTRA_CHARS[code]
        return name or latex_to_name(tex), tex
    tex = _styled_letter(ch)
    if tex is None:
        raise LayoutError(f"no class or LaTeX for the glyph U+{code:04X} {unicodedata.name(ch, '?')}")
    return latex_to_name(tex), tex


@lru_cache(maxsize=512)
def _token(name: str) -> str:
    """The token of a class name as the verifier keys an ink symbol's label (form_match.ink_symbols):
    normalize_tokens of the engine's LaTeX for the class (vocabulary.name_to_latex), the LaTeX itself when
    that is several tokens (``\\mathbb{R}``)."""
    from whiteboard_app.recognition.tokens import normalize_tokens
    from whiteboard_app.recognition.vocabulary import name_to_latex

    tex = name_to_latex(name)
    toks = normalize_tokens(tex)
    return toks[0] if len(toks) == 1 else tex


def _kind(node) -> str:
    return type(node).__name__


def _children(node) -> list:
    return list(getattr(node, "nodes", None) or [])


def _single_glyph(node):
    """The one Glyph node drawn by *node* (an operator holding one glyph), else None."""
    while _kind(node) != "Glyph":
        kids = _children(node)
        if len(kids) != 1:
            return None
        node = kids[0]
    return node


# ── ziamath 0.13's layout, the same results at half the cost (issue 18, and the card-open typesetting) ──
#
# Two costs of ziamath 0.13 that change nothing in its results, measured on the deck's 366 steps (CPU, load
# 9: 13.1 s -> 6.7 s, every layout identical, glyph for glyph and box for box):
#
# * every ``mrow`` lays out its children twice: once without stretchy operators, to measure the height
#   the stretchy ones must reach (``Mrow._get_height_nostretch``), then for real. Inside that measuring
#   pass the nested rows measured again, so the work doubled with each level of nesting. In the
#   measuring pass only the children's heights are read, and a stretchy operator's own height is left
#   out there, so the height a nested row would stretch its operators to cannot change it: that nested
#   measurement is skipped (the row's inherited height, or 0, is passed on instead).
# * ``styles.parse_style`` copied the parent node's style with ``dataclasses.asdict`` (a deep, recursive
#   copy) for every node, only to look up five of its fields: the same lookups on a shallow mapping.
#
# Installed the first time something is typeset, for ziamath 0.13 only (another version is left alone);
# tests/test_typeset.py compares the layouts with and without them.
ZIAMATH_PATCHED_VERSION = "0.13"
_patch_lock = threading.Lock()
_originals: dict[str, object] = {}


def _fast_height_nostretch(self, line, **kwargs):
    if kwargs.get("nostretch"):
        return kwargs.get("rowymin", 0.0), kwargs.get("rowymax", 0.0)
    return _originals["height"](self, line, **kwargs)  # type: ignore[operator]


def _fast_parse_style(element, parent_style=None):
    """ziamath 0.13's ``styles.parse_style`` with the parent's fields read directly (no ``asdict``)."""
    from collections import ChainMap

    from ziamath import styles
    from ziamath.config import config

    if parent_style is None:
        return _originals["style"](element)  # type: ignore[operator]
    params = ChainMap(element.attrib, vars(parent_style))
    args = {
        "mathcolor": params.get("mathcolor", config.math.color),
        "mathbackground": params.get("mathbackground", config.math.background),
        "mathsize": params.get("mathsize", ""),
        "scriptlevel": int(params.get("scriptlevel", 0)),
        "mathvariant": styles.parse_variant(
            element.attrib.get("mathvariant", config.math.variant), parent_style.mathvariant
        ),
        "displaystyle": styles.parse_displaystyle(params),
    }
    css = params.get("style", "")
    for cssparam in css.split(";") if css else ():
        if not cssparam:
            continue
        key, val = cssparam.split(":")
        key, val = key.strip().lower(), val.strip()
        if key == "background":
            args["mathbackground"] = val
        elif key == "color":
            args["mathcolor"] = val
    return styles.MathStyle(**args)


def ziamath_patches(on: bool = True) -> bool:
    """Install (``on``) or take out the two ziamath 0.13 speed-ups above; returns whether they are in.
    Does nothing (False) for another ziamath version."""
    import ziamath
    import ziamath.nodes.mfrac as mfrac
    import ziamath.nodes.mnode as mnode
    from ziamath import styles
    from ziamath.nodes.mrow import Mrow

    with _patch_lock:
        if getattr(ziamath, "__version__", "") != ZIAMATH_PATCHED_VERSION:
            return False
        if not _originals:
            _originals["height"] = Mrow._get_height_nostretch
            _originals["style"] = styles.parse_style
        style = _fast_parse_style if on else _originals["style"]
        Mrow._get_height_nostretch = _fast_height_nostretch if on else _originals["height"]  # type: ignore[method-assign]
        mnode.parse_style = mfrac.parse_style = style  # type: ignore[assignment]
        return on


class _Typeset:
    """One expression's SVG boxes matched to its node tree, read out in reading order."""

    def __init__(self, latex: str):
        import xml.etree.ElementTree as ET

        import ziamath as zm

        if not _originals:
            ziamath_patches()

        from whiteboard_app.recognition.mathnote_compat import svg_ns

        ns = svg_ns()

        self.latex = latex
        try:
            math = zm.Math.fromlatex(_prepare(latex))
            root = ET.fromstring(math.svg())
        except Exception as exc:  # the typesetter's own failure
            raise LayoutError(f"cannot typeset {latex!r}: {type(exc).__name__}: {exc}") from exc
        self.node = math.node
        uses = list(root.iter(f"{{{ns}}}use"))
        rects = list(root.iter(f"{{{ns}}}rect"))
        self.boxes: dict[int, tuple[float, float, float, float] | None] = {}
        glyphs, lines = [], []
        self._collect(math.node, glyphs, lines)
        if len(glyphs) != len(uses) or len(lines) != len(rects):
            raise LayoutError(
                f"cannot typeset {latex!r}: the typesetter drew {len(uses)} glyphs and "
                f"{len(rects)} lines for {len(glyphs)} and {len(lines)} nodes"
            )
        extents = _symbol_extents(root, ns)
        for node, use in zip(glyphs, uses, strict=True):
            self.boxes[id(node)] = _use_box(use, extents)
        for node, rect in zip(lines, rects, strict=True):
            x, y, w, h = (float(rect.get(k, 0)) for k in ("x", "y", "width", "height"))
            self.boxes[id(node)] = (x, y, w, h) if h >= 0.01 and w >= 0.01 else None
        self.words = {m.group(1) for m in re.finditer(r"\\([a-zA-Z]+)", latex)}

    def _collect(self, node, glyphs: list, lines: list) -> None:
        kind = _kind(node)
        if kind == "Glyph":
            if ord(node.char) > 32:
                glyphs.append(node)
        elif kind == "HLine":
            lines.append(node)
        for c in _children(node):
            self._collect(c, glyphs, lines)

    # ── reading order ─────────────────────────────────────────────────
    def read(self) -> list[tuple[str, str, tuple[float, float, float, float], str]]:
        """(name, LaTeX, raw box, word) per glyph in reading order."""
        out: list = []
        self._read(self.node, out)
        return out

    def _emit(self, node, name: str, tex: str, out: list, word: str = "") -> None:
        box = self.boxes.get(id(node))
        if box is not None and box[2] >= 0.01:
            out.append((name, tex, box, word))

    def _glyph(self, node, out: list) -> None:
        ch = node.char
        box = self.boxes.get(id(node))
        if box is None:
            if unicodedata.category(ch) in ("Zs", "Cf", "Cc") or ch in "\u2009\u200a\u200b\xa0":
                return
            raise LayoutError(f"cannot typeset {self.latex!r}: the glyph U+{ord(ch):04X} has no ink")
        if box[2] < 0.01:
            return
        if ord(ch) in _MULTI_PRIME:
            n = _MULTI_PRIME[ord(ch)]
            x, y, w, h = box
            for k in range(n):
                out.append(("prime", r"\prime", (x + k * w / n, y, w / n, h), ""))
            return
        try:
            name, tex = _char_latex(ch)
        except LayoutError as exc:
            raise LayoutError(f"cannot typeset {self.latex!r}: {exc}") from None
        out.append((name, tex, box, ""))

    def _accent(self, script):
        """(node, LaTeX) when an over/under script is an accent or a line over its base, else None."""
        if _kind(script) == "HLine":
            return script, None
        g = _single_glyph(script)
        if g is not None and ord(g.char) in _ACCENTS:
            return g, _ACCENTS[ord(g.char)]
        return None

    def _read(self, node, out: list) -> None:
        kind = _kind(node)
        kids = _children(node)
        if kind == "Glyph":
            self._glyph(node, out)
        elif kind == "HLine":  # a line outside a fraction, root, over or under: drawn as a bar
            self._emit(node, "frac_bar", "-", out)
        elif kind == "Mfrac" and len(kids) == 3 and _kind(kids[2]) == "HLine":
            self._emit(kids[2], "frac_bar", "-", out)
            self._read(kids[0], out)
            self._read(kids[1], out)
        elif kind in ("Msqrt", "Mroot"):
            self._root(node, kids, out)
        elif kind in ("Mover", "Munder") and len(kids) == 2 and (acc := self._accent(kids[1])):
            anode, tex = acc
            if tex is None:  # \overline, \underline
                tex = r"\overline" if kind == "Mover" else r"\underline"
                name = r"\bar" if kind == "Mover" else tex
            else:
                name = tex
            self._emit(anode, name, tex, out)
            self._read(kids[0], out)
        elif kind == "Munderover" and len(kids) == 3:
            for k in (0, 2, 1):  # base, lower limit, upper limit (ziamath keeps base, over, under)
                self._read(kids[k], out)
        elif kind in ("Midentifier", "Moperator") and self._word(node, kids, out):
            pass
        else:
            for c in kids:
                self._read(c, out)

    def _root(self, node, kids, out: list) -> None:
        radical = next((c for c in kids if _kind(c) == "Glyph" and ord(c.char) == 0x221A), None)
        line = next((c for c in kids if _kind(c) == "HLine"), None)
        if radical is None:
            for c in kids:
                self._read(c, out)
            return
        rb, lb = self.boxes.get(id(radical)), self.boxes.get(id(line)) if line is not None else None
        if rb is not None and lb is not None:  # the radical's overline belongs to it (mathnote-ocr merges)
            x0, y0 = min(rb[0], lb[0]), min(rb[1], lb[1])
            x1, y1 = max(rb[0] + rb[2], lb[0] + lb[2]), max(rb[1] + rb[3], lb[1] + lb[3])
            self.boxes[id(radical)] = (x0, y0, x1 - x0, y1 - y0)
        self._glyph(radical, out)
        for c in kids:  # the index (\sqrt[3]), then the radicand
            if c is not radical and c is not line:
                self._read(c, out)

    def _word(self, node, kids, out: list) -> bool:
        """A function name (\\log, \\exp, \\max ...) drawn as one node of letters: True when handled."""
        letters = [c for c in kids if _kind(c) == "Glyph" and self.boxes.get(id(c)) is not None]
        text = "".join(c.char for c in letters)
        if len(letters) < 2 or not text.isascii() or not text.isalpha() or text not in self.words:
            return False
        if text in _CLASS_WORDS:
            bs = [self.boxes[id(c)] for c in letters]
            x0, y0 = min(b[0] for b in bs), min(b[1] for b in bs)
            x1, y1 = max(b[0] + b[2] for b in bs), max(b[1] + b[3] for b in bs)
            out.append((text, "\\" + text, (x0, y0, x1 - x0, y1 - y0), ""))
            return True
        for c in letters:
            name, tex = _char_latex(c.char)
            self._emit(c, name, tex, out, word="\\" + text)
        return True


@lru_cache(maxsize=2048)
def glyph_layout(latex: str) -> tuple[Glyph, ...]:
    """The glyphs of *latex* as typeset, in reading order (see the module docstring).

    Boxes are (x, y, w, h), y downwards, the expression's top-left ink at (0, 0) and its larger side 1.
    Raises :class:`LayoutError` when the expression cannot be typeset or draws nothing. Cached in memory
    and on disk (``whiteboard_app.cache``: a launch that finds the layout there imports neither ziamath
    nor mathnote-ocr; a few ms the first time, plus seconds for those imports).
    """
    from whiteboard_app.recognition.layout_cache import cached_layout

    return cached_layout(latex, _glyph_layout, glyph=Glyph, error=LayoutError)


def _glyph_layout(latex: str) -> tuple[Glyph, ...]:
    """:func:`glyph_layout` without the caches."""
    ts = _Typeset(latex)
    raw = ts.read()
    if not raw:
        raise LayoutError(f"cannot typeset {latex!r}: nothing is drawn")
    x0 = min(b[0] for _n, _t, b, _w in raw)
    y0 = min(b[1] for _n, _t, b, _w in raw)
    x1 = max(b[0] + b[2] for _n, _t, b, _w in raw)
    y1 = max(b[1] + b[3] for _n, _t, b, _w in raw)
    ref = max(x1 - x0, y1 - y0, 1.0)
    return tuple(
        Glyph(
            name,
            _token(name),
            (
                round((b[0] - x0) / ref, 6),
                round((b[1] - y0) / ref, 6),
                round(b[2] / ref, 6),
                round(b[3] / ref, 6),
            ),
            word,
        )
        for name, tex, b, word in raw
    )
