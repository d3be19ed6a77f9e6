"""Letter-case evidence from where a glyph sits on its line (issue 13, session 10).

The classifier reads a letter's shape; for pairs whose capital is the small letter drawn larger (x/X, c/C,
s/S, ...) or whose capital differs from the small letter mostly by where it sits (p/P and y/Y: the small
letter hangs below the baseline, the capital does not), the case shows in the glyph's position on its
line: a capital reaches the cap height, a small x only the x-height, a small p descends. This module
measures that position against the line the other glyphs write and weighs it as a likelihood ratio.

* **Line metrics of a token** (``typeset``): the token's typeset top and bottom relative to the baseline,
  in typeset x-heights (an ``x`` spans 0 to 1, an ``M`` 0 to ~1.4, a ``p`` -0.45 to 1). Used to read off the
  form's typeset layout which glyphs share a baseline (:func:`line_mates`: the same script level, the
  same baseline within :data:`BASE_TOL` x-heights, a similar scale): the numerator and the denominator
  of a fraction, a subscript and its base, are different lines.
* **Handwritten profile of a token** (``profile``): where real handwriting writes that token against
  the line (medians over the training split's writers): digits and capitals are written taller than
  TeX draws them, a ``t`` shorter.
* **The line in the ink** (:func:`line_positions`): each line mate (a letter, digit, Greek letter or, since
  session 13, a bracket of the form on the glyph's line; up to :data:`MATES` nearest in x) predicts, from its ink box and its
  handwritten profile, the baseline and the x-height; the medians are the line's. The glyph's own top and
  bottom are then measured against that line, in x-heights: ``(top, bottom)``, y upwards from the
  baseline. The glyph itself never takes part in its line's estimate, so the measurement is the same
  whatever the form says the glyph is.
* **The likelihood ratio** (:func:`position_llr`): ``ln p(top, bottom | token) - ln p(top, bottom |
  other)``, each a two-dimensional normal (per token, from the training split's glyphs measured the same
  way, else per family: small letters without ascenders, with ascenders, with descenders, capitals,
  digits), a bivariate Student t (:data:`DOF`) so that a glyph sitting where neither case is written
  gives little evidence either way; none for a line measured by fewer than :data:`MIN_MATES` mates.

The tables are ``weights/case_position.json``, written by ``scripts/calibrate_evidence.py positions`` from
the training split's writers (never the calibration writers nor dev): the data's own symbols (labels and
stroke groups) fitted to the typeset truth. ``form_match`` keeps each matched glyph's ``(top, bottom)``
on its fit (``FormMatch.glyph_ink``) and ``form_match.favour`` adds this ratio, weighted by the
``case_pos`` threshold, in place of the written-height term. Pure Python, no heavy imports.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BASE_TOL",
    "MATES",
    "BRACKETS",
    "DOF",
    "MIN_MATES",
    "family",
    "line_mates",
    "line_positions",
    "position_llr",
    "position_model",
]

#: Glyphs share a line when their typeset baselines lie within this many (typeset) x-heights.
BASE_TOL = 0.3
#: Glyphs share a line only when their typeset scales (x-heights) differ by less than this factor.
SCALE_TOL = 1.35
#: At most this many line mates (nearest by typeset x-centre) measure the line around a glyph.
MATES = 4
#: A token's extent (top - bottom, x-heights) below this is too flat to measure a line by (a dot, a bar).
MIN_EXTENT = 0.5
#: Degrees of freedom of each token's bivariate Student t density: heavy tails, so that a glyph that sits
#: where neither case is written (a stray stroke, a misfit box, a line measured from one odd mate) gives
#: little evidence either way, where a normal's tails would give an unbounded ratio.
DOF = 4.0
#: Position evidence is given only for a glyph whose line at least this many mates measure (one mate's
#: own size error would be the glyph's).
MIN_MATES = 2
#: A token's own model is used when it has at least this many training glyphs, else its family's.
MIN_COUNT = 30

Box = tuple[float, float, float, float]  # (x, y, w, h), y downwards, top-left corner
Metrics = dict[str, tuple[float, float]]  # token -> (top, bottom) over the baseline, in x-heights

_ASCENDERS = frozenset("bdfhklt")
_DESCENDERS = frozenset("gjpqy")
#: Brackets typeset at base size are line mates too (session 13), but only where the letters, digits and
#: Greek letters on the line are fewer than :data:`MIN_MATES`, and only for glyphs outside the bracket (a
#: bracket is written to the size of what it encloses): in ``P(A)`` the P's line has one letter mate, A,
#: and the opening bracket makes it two. A bracket grown around a fraction or a tall group has a larger
#: typeset scale than the glyph's line and is no mate (:data:`SCALE_TOL`).
BRACKETS = frozenset("()[]")
_OPENING = frozenset("([")


def family(token: str) -> str:
    """The position family of a token: ``small`` (a small Latin letter within the x-height), ``ascender``,
    ``descender``, ``capital``, ``digit``, ``greek``, ``bracket`` (:data:`BRACKETS`) or ``other``."""
    if token in BRACKETS:
        return "bracket"
    if len(token) == 1 and token.isascii():
        if token.isdigit():
            return "digit"
        if token.isalpha():
            if token.isupper():
                return "capital"
            if token in _ASCENDERS:
                return "ascender"
            if token in _DESCENDERS:
                return "descender"
            return "small"
    if token.startswith("\\") and token[1:].isalpha():
        return "greek"
    return "other"


@functools.lru_cache(maxsize=1)
def position_model() -> dict:
    """``weights/case_position.json`` as {"typeset": Metrics, "profile": Metrics, "tokens": {token:
    (mean top, mean bottom, sd top, sd bottom, correlation, count)}, "families": {family: same}}; empty
    tables when the file is missing or unreadable (then no position evidence is given). Read once per
    process."""
    path = Path(__file__).resolve().parent / "weights" / "case_position.json"
    empty: dict = {"typeset": {}, "profile": {}, "tokens": {}, "families": {}}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            "typeset": {k: (float(v[0]), float(v[1])) for k, v in raw["typeset"].items()},
            "profile": {k: (float(v[0]), float(v[1])) for k, v in raw["profile"].items()},
            "tokens": {k: tuple(float(x) for x in v) for k, v in raw["tokens"].items()},
            "families": {k: tuple(float(x) for x in v) for k, v in raw["families"].items()},
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return empty


def _typeset_line(box: Box, metrics: tuple[float, float]) -> tuple[float, float] | None:
    """(baseline y, x-height) of a typeset glyph box of a token with ``metrics``; None when too flat."""
    top, bottom = metrics
    if top - bottom < MIN_EXTENT or box[3] <= 0:
        return None
    xh = box[3] / (top - bottom)
    return box[1] + box[3] + bottom * xh, xh


def line_mates(
    tokens: Sequence[str],
    gboxes: Sequence[Box],
    levels: Sequence[int],
    typeset: Metrics,
    want: Sequence[bool] | None = None,
) -> list:
    """For each glyph, the indices of its line mates (nearest first by typeset x-centre, at most
    :data:`MATES`): other glyphs whose token has typeset metrics, at the same script level, whose typeset
    baseline lies within :data:`BASE_TOL` of the glyph's x-height and whose scale is within
    :data:`SCALE_TOL`. ``gboxes``: the form's typeset glyph boxes (x, y, w, h, y downwards), one per
    token; ``levels``: script levels (``form_match.glyph_levels``); ``want``: only these glyphs' mates
    (the others get none). A glyph without metrics has none."""
    lines = [
        _typeset_line(b, typeset[t]) if t in typeset else None for t, b in zip(tokens, gboxes, strict=True)
    ]
    out: list[list[int]] = []
    for k, lk in enumerate(lines):
        if lk is None or (want is not None and not want[k]):
            out.append([])
            continue
        base, xh = lk
        cx = gboxes[k][0] + gboxes[k][2] / 2
        cand = [
            j
            for j, lj in enumerate(lines)
            if j != k
            and lj is not None
            and levels[j] == levels[k]
            and abs(lj[0] - base) <= BASE_TOL * xh
            and 1 / SCALE_TOL <= lj[1] / xh <= SCALE_TOL
        ]
        plain = [j for j in cand if tokens[j] not in BRACKETS]
        if len(plain) > MATES:
            plain = heapq.nsmallest(MATES, plain, key=lambda j: abs(gboxes[j][0] + gboxes[j][2] / 2 - cx))
        else:
            plain.sort(key=lambda j: abs(gboxes[j][0] + gboxes[j][2] / 2 - cx))
        if len(plain) < MIN_MATES:
            plain += sorted(
                (j for j in cand if tokens[j] in BRACKETS and _outside(tokens[j], gboxes[j], cx)),
                key=lambda j: abs(gboxes[j][0] + gboxes[j][2] / 2 - cx),
            )[: MIN_MATES - len(plain)]
        out.append(plain)
    return out


def _outside(bracket: str, box: Box, cx: float) -> bool:
    """Whether a glyph centred at typeset x ``cx`` lies outside ``bracket`` (left of an opening one, right
    of a closing one): a bracket is written to the size of what it encloses, so it measures the line of
    the glyphs around it, not of those inside it."""
    mid = box[0] + box[2] / 2
    return cx < mid if bracket in _OPENING else cx > mid


@functools.lru_cache(maxsize=4096)
def _model_mates(tokens: tuple, gboxes: tuple, levels: tuple, want: tuple | None) -> list:
    """:func:`line_mates` with :func:`position_model`'s typeset metrics, cached (a card's forms are fitted
    to every step written for it, several ways each)."""
    return line_mates(tokens, gboxes, levels, position_model()["typeset"], want)


def _median(v: list[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def line_positions(
    tokens: Sequence[str],
    gboxes: Sequence[Box],
    levels: Sequence[int],
    iboxes: Sequence[Box],
    *,
    typeset: Metrics | None = None,
    profile: Metrics | None = None,
    want: Sequence[bool] | None = None,
) -> list[tuple[float, float, int] | None]:
    """Where each glyph's ink sits on the line its mates write: ``(top, bottom, mates)``: its ink box's top
    and bottom over the ink's baseline, in the ink's x-heights (y upwards; a small x about (1, 0), an X
    about (1.4, 0), a p about (1, -0.5)), and how many mates measured the line; None when the glyph has no
    line mate with a handwritten profile.

    ``tokens``, ``gboxes``, ``levels``: the form's tokens, typeset boxes and script levels of the matched
    glyphs; ``iboxes``: the ink symbols matched to them (x, y, w, h, y downwards, any units shared by all);
    ``typeset``/``profile``: token metrics (default :func:`position_model`'s); ``want``: measure only these
    glyphs (the others are still line mates). Each mate predicts the baseline and x-height from its ink box
    and profile (``x-height = ink height / (top - bottom)``), the medians over the mates are the line's."""
    model = position_model() if typeset is None or profile is None else None
    typeset = typeset if typeset is not None else model["typeset"]  # type: ignore[index]
    profile = profile if profile is not None else model["profile"]  # type: ignore[index]
    if not (len(tokens) == len(gboxes) == len(levels) == len(iboxes)):
        raise ValueError("line_positions needs one box and level per token")
    out: list[tuple[float, float, int] | None] = [None] * len(tokens)
    if not typeset or not profile:
        return out
    if model is not None:  # the shipped tables: a form's mates are the same at every fit of it
        mates = _model_mates(
            tuple(tokens), tuple(map(tuple, gboxes)), tuple(levels), None if want is None else tuple(want)
        )
    else:
        mates = line_mates(tokens, gboxes, levels, typeset, want)
    for k, ms in enumerate(mates):
        bases, xhs = [], []
        for j in ms:
            prof = profile.get(tokens[j])
            if prof is None or prof[0] - prof[1] < MIN_EXTENT:
                continue
            _x, y, _w, h = iboxes[j]
            if h <= 0:
                continue
            xh = h / (prof[0] - prof[1])
            xhs.append(xh)
            bases.append(y + h + prof[1] * xh)
        if not xhs:
            continue
        base, xh = _median(bases), _median(xhs)
        if xh <= 0:
            continue
        _x, y, _w, h = iboxes[k]
        out[k] = ((base - y) / xh, (base - y - h) / xh, len(xhs))
    return out


def _params(token: str) -> tuple[float, ...] | None:
    model = position_model()
    got = model["tokens"].get(token)
    if got is not None and got[5] >= MIN_COUNT:
        return got
    return model["families"].get(family(token))


def _log_density(pos: Sequence[float], p: tuple[float, ...]) -> float:
    """ln of the bivariate Student t density (:data:`DOF` degrees of freedom; centre, scales and correlation
    ``p``) at ``pos`` (top, bottom). Constants common to all tokens are left out: only differences are used."""
    mt, mb, st, sb, rho = p[:5]
    rho = max(-0.95, min(0.95, rho))
    zt, zb = (pos[0] - mt) / st, (pos[1] - mb) / sb
    q = (zt * zt - 2 * rho * zt * zb + zb * zb) / (1 - rho * rho)
    return -(DOF + 2) / 2 * math.log1p(q / DOF) - math.log(st * sb * math.sqrt(1 - rho * rho))


def position_llr(pos: Sequence[float] | None, token: str, other: str) -> float | None:
    """``ln p(pos | token) - ln p(pos | other)`` in nats (positive: the glyph sits where ``token`` is
    written), ``pos`` as :func:`line_positions` gives it; None when ``pos`` is None, was measured by fewer
    than :data:`MIN_MATES` line mates, or either token has no model (neither its own nor its family's)."""
    if pos is None or (len(pos) > 2 and pos[2] < MIN_MATES):
        return None
    a, b = _params(token), _params(other)
    if a is None or b is None:
        return None
    return _log_density(pos, a) - _log_density(pos, b)
