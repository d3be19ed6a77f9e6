"""The notations people write a derivation in, rewritten into a card's own names before a step is parsed.

A card declares the notations of its seeds and of the standard textbooks in its ``[notation]`` table
(:class:`~whiteboard_app.decks.schema.Notation`, docs/deck-authoring.md): aliases (``\\hat{y}`` for ``p``,
``\\theta`` for ``w``, ``D(P\\|Q)`` for ``D_{KL}(p\\| q)``), the index a one-example step drops and the
summands of the quantities summed over it. Rules that hold on every card are generic here. A step is
rewritten, on its tokens, in this order (docs/parsing.md, "How notations are resolved"):

1. spelling: ``\\widehat`` -> ``\\hat``, ``\\overline`` -> ``\\bar``, fonts dropped (``\\mathbf{w}`` -> ``w``),
   ``\\Pr`` / ``\\mathbb{P}`` -> ``P``;
2. the card's aliases, longest first; a key with a declared index as subscript (``z_i``) is a pattern;
   an alias never applies inside a declared opaque token (``E[s^2]``) or to the ``d`` of a derivative;
3. index notation: ``x^{(i)}`` (Ng) and ``p(x)`` for a family are ``x_i`` and ``p_x``;
4. index letters: an undeclared letter used as the index of a family or of a sum (``j``, ``k``, ``n`` for
   ``i``) is renamed to the card's index (or a bare ``\\sum_j`` gets that index's bounds);
5. components and per-example forms: a vector written with an undeclared letter as subscript (``w_j``,
   ``x_j``) is its component, and a statement about every component is the vector statement
   (``\\partial L/\\partial w_j = (\\hat{y}-y)x_j`` is ``\\nabla_w L = (\\hat{y}-y)x``); on a card with
   ``per_example``, a step without a sum that writes a family without its index (``x``, ``\\hat{y}``) is
   about one example: families get the index back and summed quantities become their summand;
6. inner products: ``w \\cdot x`` of two vectors and ``\\langle a, b\\rangle`` are ``w^T x`` and ``a^T b``.

Transposes (``^T``, ``^\\top``, ``^\\intercal``, ``'``), ``\\ln`` and ``\\log``, ``\\exp`` and ``e^x`` are read
by :mod:`whiteboard_app.maths.normalise` already. A step no rule changes is returned as written, so a card's
own steps read exactly as before. Pure Python, no Qt.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from whiteboard_app.decks.schema import Card
from whiteboard_app.latex.names import GREEK as _GREEK_CMDS
from whiteboard_app.latex.names import name_key
from whiteboard_app.latex.tokens import (
    DECORATIONS,
    FONTS_DROPPED,
    TEXT_CMDS,
    UNICODE,
    ParseError,
    canon_tokens,
    canonical,
    clean,
    join,
    tokenize,
)

from .normalise import Names, names_from_declarations
from .normalise import _group_close as _close_paren  # the ) closing a (: one helper for both modules

_DECOR_SYNONYMS = {r"\widehat": r"\hat", r"\overline": r"\bar", r"\widetilde": r"\tilde"}
_PROB_CMDS = {r"\Pr"}
#: combining accents (U+0302 hat, U+0304 macron, U+0305 overline, U+0303 tilde, U+0307 dot) as decorations
_COMBINING = {"\u0302": r"\hat", "\u0304": r"\bar", "\u0305": r"\bar", "\u0303": r"\tilde", "\u0307": r"\dot"}
#: modifier letters used as superscripts: wᵀx
_MODIFIERS = {"\u1d40": "^{T}", "\u1d57": "^{T}"}
#: a decoration written as a plain-text suffix: y_hat, x_bar, y_{hat}
_SUFFIX_DECORATIONS = {"hat": r"\hat", "bar": r"\bar", "tilde": r"\tilde"}


def _accents(latex: str) -> str:
    """Unicode letters with an accent (ŷ, μ̂, x̄, precomposed or combining) as LaTeX decorations (\\hat{y})."""
    if latex.isascii():
        return latex
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", latex):
        if ch in _COMBINING and out:
            base = out.pop()
            out.append(_COMBINING[ch] + "{" + base.strip() + "}")
        else:
            out.append(_MODIFIERS.get(ch) or UNICODE.get(ch, ch))
    return "".join(out)


_ATOM_RE = re.compile(r"^(\\[a-zA-Z]+\{[^{}]*\}|\\[a-zA-Z]+|[A-Za-z])(_\{[^{}]*\}|_[A-Za-z0-9])?$")
_MAX_TOKENS = 600


@dataclass(frozen=True)
class _Alias:
    key: tuple[str, ...]  # canonical tokens of the written form (the base, for a pattern)
    target: tuple[str, ...]  # canonical tokens in the card's names
    params: tuple[str, ...]  # pattern index letters (z_i: ("i",)), () for a plain alias
    atom: bool  # the target is one name (a subscript after the key carries over)
    family: bool  # the target is a family (p: \hat{y}_i -> p_i)
    # a unit of notation whose subscripts are declared indices (N(x_i|\mu_k,\sigma_k^2)): the positions
    # of those index letters in ``key``; any letter written there matches, and the target's subscripts
    # take the letters written (N(x_n|\mu_j,\sigma_j^2) -> \phi_{nj})
    slots: tuple[int, ...] = ()


def _script_order(tokens: list[str]) -> tuple[list[str], bool]:
    """``\\sigma^2_{ML}`` as ``\\sigma_{ML}^2`` (and ``x^T_i`` as ``x_i^T``): a name's superscript written
    before its subscript is moved after it, so aliases and names keyed by the subscript apply; the two
    orders mean the same in LaTeX's own typesetting."""
    out: list[str] = []
    changed = False
    i = 0
    n = len(tokens)
    while i < n:
        t = tokens[i]
        if (
            t == "^"
            and out
            and (
                re.fullmatch(r"[A-Za-z]", out[-1])
                or (out[-1].startswith("\\") and out[-1][1:] in _GREEK_CMDS)
            )
            and i + 1 < n
        ):
            e = _group_end(tokens, i + 1)
            if tokens[e : e + 1] == ["_"] and e + 1 < n:
                f = _group_end(tokens, e + 1)
                out += tokens[e:f] + tokens[i:e]
                changed = True
                i = f
                continue
        out.append(t)
        i += 1
    return out, changed


_MOMENT_WORDS = frozenset({"var", "cov", "bias", "corr"})


def _top_level_sum(tokens: list[str]) -> bool:
    """Has ``tokens`` a + or - outside every group (a sum of terms, not one product)?"""
    depth = 0
    for t in tokens:
        if t in ("{", "(", "["):
            depth += 1
        elif t in ("}", ")", "]"):
            depth -= 1
        elif depth == 0 and t in ("+", "-"):
            return True
    return False


#: commands that cannot stand in an argument list of names (``f(\\theta)``, ``f(\\mathbf{w}, b)``)
_NOT_ARGUMENT = frozenset({r"\frac", r"\sum", r"\prod", r"\log", r"\exp", r"\cdot", r"\times", r"\sqrt"})


def _bracket_close(tokens: list[str], i: int) -> int | None:
    """The index of the ``]`` that closes the ``[`` at ``tokens[i]``, or None."""
    j = _close_paren(tokens, i, "[", "]")
    return None if j < 0 else j


def _slot_match(a: _Alias, tokens: list[str], i: int) -> dict[str, str] | None:
    """The alias ``a`` written at ``tokens[i:]``: None when it is not; else the letters written at its
    index slots (key letter -> written letter; {} for an alias without slots). A slot takes one letter,
    and a key letter takes the same letter wherever it stands."""
    return _key_match(a.key, a.slots, tokens, i)


def _key_match(
    key: tuple[str, ...], slots_at: tuple[int, ...], tokens: list[str], i: int
) -> dict[str, str] | None:
    """``key`` (tokens) written at ``tokens[i:]`` with any one letter at its index slots ``slots_at``
    (positions in ``key``): None when it is not; else key letter -> written letter ({} without slots)."""
    k = len(key)
    got = tokens[i : i + k]
    if len(got) != k:
        return None
    if not slots_at:
        return {} if tuple(got) == key else None
    bound: dict[str, str] = {}
    slots = set(slots_at)
    for p, (want, have) in enumerate(zip(key, got, strict=True)):
        if p in slots:
            if not re.fullmatch(r"[A-Za-z]", have) or bound.setdefault(want, have) != have:
                return None
        elif want != have:
            return None
    return bound


def _index_slots(key: list[str] | tuple[str, ...], indices: dict) -> tuple[int, ...]:
    """Positions in ``key`` (tokens) of the letters of its subscript groups that are all declared index
    letters (``\\gamma(z_{ik})``: the i and the k): the index slots any written letter fills."""
    found: list[int] = []
    for p in range(len(key) - 2):
        if key[p] != "_" or key[p + 1] != "{":
            continue
        e = _group_end(list(key), p + 1)
        inner = [q for q in range(p + 2, e - 1) if key[q] != ","]
        if inner and all(key[q] in indices for q in inner):
            found += inner
    return tuple(found)


#: functions whose value's component ``f(z)_i`` is read (see ``NotationRules._function_components``)
_COMPONENT_FUNCS = ("softmax", "sigmoid", "softplus", "relu", "tanh", "exp", "log")


#: the indicator of two letters, \mathbb{1}[k = i], \mathbb{1}\{k=i\}, \mathbf{1}(k = i), and the Iverson bracket
#: [j = l] (Knuth's notation)
_INDICATOR = re.compile(
    r"(?:\\mathbb\s*\{\s*(?:1|I)\s*\}|\\mathbf\s*\{\s*1\s*\}|\\mathbb\s*1)\s*"
    r"(?:\[|\\\{|\()\s*([a-z])\s*=\s*([a-z])\s*(?:\]|\\\}|\))"
    r"|(?<![A-Za-z0-9}\\_^])\[\s*([a-z])\s*=\s*([a-z])\s*\]"
)


#: a family element as the whole argument of a call, ``(x^{(i)})``, ``(\mathbf{x}_i)`` (a cheap pre-test)
_SAMPLE_ARG = re.compile(r"\(\s*(?:\\[a-z]+\s*\{\s*)?([A-Za-z])\s*\}?\s*(?:\^\s*\{\s*\(|_)")


def _rename_subscripts(target: list[str], bound: dict[str, str]) -> list[str]:
    """``target`` with the letters of its subscript groups renamed by ``bound`` (all at once)."""
    if not bound or all(k == v for k, v in bound.items()):
        return target
    out = list(target)
    for q in range(len(out)):
        if out[q] == "_" and q + 1 < len(out):
            e = _group_end(out, q + 1)
            for r in range(q + 1, e):
                out[r] = bound.get(out[r], out[r])
    return out


def _primed_indices(tokens: list[str]) -> tuple[list[str], bool]:
    """A primed index letter inside a subscript (``\\sum_{k'=1}^{K}\\pi_{k'}\\phi_{ik'}``, Murphy PML 8.7's
    ``k'``, ``k^\\prime``) is a summation letter of its own: each primed letter becomes a lowercase letter
    the step does not use (``j``, ``l``, ``m``, ...), in every subscript. A prime outside subscripts
    (``f'(x)``, ``\\sigma'(z)``) is a derivative and stays. Returns (tokens, changed)."""
    primed: set[str] = set()
    stack: list[bool] = []  # per open brace: is it a subscript group?
    for i, t in enumerate(tokens):
        if t == "{":
            stack.append(i >= 1 and tokens[i - 1] == "_")
        elif t == "}" and stack:
            stack.pop()
        elif t == "'" and any(stack) and i >= 1 and re.fullmatch(r"[a-z]", tokens[i - 1]):
            primed.add(tokens[i - 1])
    if not primed:
        return tokens, False
    used = set(tokens)
    free = iter(c for c in "jlmrsuvpq" if c not in used)
    fresh = {p: next(free, None) for p in sorted(primed)}
    out: list[str] = []
    stack = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "{":
            stack.append(i >= 1 and tokens[i - 1] == "_")
        elif t == "}" and stack:
            stack.pop()
        f = fresh.get(t)
        if f is not None and any(stack) and tokens[i + 1 : i + 2] == ["'"]:
            out.append(f)
            i += 2
            continue
        out.append(t)
        i += 1
    return out, out != tokens


def _prep(tokens: list[str]) -> tuple[list[str], bool]:
    """Spelling rule 1 on canonical tokens: decoration synonyms, fonts dropped, ``\\Pr`` -> ``P``."""
    out: list[str] = []
    changed = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _DECOR_SYNONYMS:
            out.append(_DECOR_SYNONYMS[t])
            changed = True
            i += 1
            continue
        if t in _PROB_CMDS:
            out.append("P")
            changed = True
            i += 1
            continue
        if t == r"\mathbb" and tokens[i + 1 : i + 4] == ["{", "P", "}"]:
            out.append("P")
            changed = True
            i += 4
            continue
        if t.startswith("\\") and t[1:] in FONTS_DROPPED and i + 1 < len(tokens) and tokens[i + 1] == "{":
            depth, j = 0, i + 1
            while j < len(tokens):
                depth += tokens[j] == "{"
                depth -= tokens[j] == "}"
                if depth == 0:
                    break
                j += 1
            inner = tokens[i + 2 : j]
            out.extend(inner if len(inner) == 1 else ["{", *inner, "}"])
            changed = True
            i = j + 1
            continue
        if (
            t.startswith("\\")
            and t[1:] in TEXT_CMDS
            and tokens[i + 1 : i + 2] == ["{"]
            and i + 3 < len(tokens)
            and tokens[i + 3] == "}"
            and re.fullmatch(r"[A-Za-z]", tokens[i + 2])
        ):
            out.append(tokens[i + 2])  # \mathrm{d} or \text{x}: one letter
            changed = True
            i += 4
            continue
        out.append(t)
        i += 1
    # a decoration written as a text suffix: y_hat, y_{hat}, x_bar -> \hat{y}, \bar{x}
    dec: list[str] = []
    i = 0
    while i < len(out):
        t = out[i]
        if re.fullmatch(r"[A-Za-z]|\\[a-zA-Z]+", t) and out[i + 1 : i + 3] == ["_", "{"]:
            j = _group_end(out, i + 2)
            word = "".join(out[i + 3 : j - 1])
            if word in _SUFFIX_DECORATIONS:
                dec, t = _greek_word(dec, t)
                dec += [_SUFFIX_DECORATIONS[word], "{", t, "}"]
                changed = True
                i = j
                continue
            # y_hat read as y_{h} a t
            rest = "".join(out[i + 3 : i + 4]) + "".join(out[j : j + 2])
            if (
                out[i + 4 : i + 5] == ["}"]
                and rest in _SUFFIX_DECORATIONS
                and all(re.fullmatch(r"[a-z]", x) for x in out[j : j + 2])
                and not (j + 2 < len(out) and re.fullmatch(r"[A-Za-z]", out[j + 2]))
            ):
                dec, t = _greek_word(dec, t)
                dec += [_SUFFIX_DECORATIONS[rest], "{", t, "}"]
                changed = True
                i = j + 2
                continue
        dec.append(t)
        i += 1
    out = dec
    # a multi-letter word in a subscript written as text: p_{\text{data}} -> p_{data}
    res: list[str] = []
    i = 0
    while i < len(out):
        if (
            out[i] == "_"
            and out[i + 1 : i + 2] == ["{"]
            and i + 3 < len(out)
            and out[i + 2].startswith("\\")
            and out[i + 2][1:] in TEXT_CMDS
            and out[i + 3] == "{"
        ):
            depth, j = 0, i + 3
            while j < len(out):
                depth += out[j] == "{"
                depth -= out[j] == "}"
                if depth == 0:
                    break
                j += 1
            word = out[i + 4 : j]
            if all(re.fullmatch(r"[A-Za-z]", w) for w in word) and out[j + 1 : j + 2] == ["}"]:
                res += ["_", "{", *word, "}"]
                changed = True
                i = j + 2
                continue
        res.append(out[i])
        i += 1
    return res, changed


def _greek_word(done: list[str], last: str) -> tuple[list[str], str]:
    """``sigma_hat`` typed as letters: the letters before ``last`` that spell a Greek name with it."""
    if not re.fullmatch(r"[a-z]", last):
        return done, last
    for k in range(min(6, len(done)), 0, -1):
        letters = done[-k:]
        word = "".join(letters) + last
        if (
            all(re.fullmatch(r"[a-z]", x) for x in letters)
            and word in _GREEK_CMDS
            and not (len(done) > k and re.fullmatch(r"[A-Za-z]", done[-k - 1]))
        ):
            return done[:-k], "\\" + word
    return done, last


def _find_open(tokens: list[str], k: int) -> int:
    """Index of the ``{`` that the ``}`` at tokens[k] closes (0 when none)."""
    depth = 0
    while k >= 0:
        depth += tokens[k] == "}"
        depth -= tokens[k] == "{"
        if depth == 0:
            return k
        k -= 1
    return 0


def _tokens(latex: str) -> list[str]:
    """Canonical tokens of LaTeX (every argument braced), with the spelling rule applied."""
    return _prep(canon_tokens(tokenize(clean(latex))))[0]


def _sample_superscript(tokens: list[str], k: int) -> str | None:
    """The letter i when ``tokens[k:k + 6]`` is a sample superscript ``^ { ( i ) }`` (CS229's
    ``x^{(i)}``), else None."""
    if tokens[k : k + 3] == ["^", "{", "("] and tokens[k + 4 : k + 6] == [")", "}"]:
        letter = tokens[k + 3]
        return letter if re.fullmatch(r"[A-Za-z]", letter) else None
    return None


def _group_end(tokens: list[str], i: int) -> int:
    """Index after one argument starting at tokens[i] (a brace group or one token)."""
    if i >= len(tokens):
        return i
    if tokens[i] != "{":
        return i + 1
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j] == "{"
        depth -= tokens[j] == "}"
        if depth == 0:
            return j + 1
    return len(tokens)


_ACCENTS = (r"\hat", r"\bar", r"\tilde", r"\widehat", r"\widetilde", r"\overline", r"\check")
_NOT_ATOMS = frozenset(
    (
        r"\left",
        r"\frac",
        r"\sum",
        r"\prod",
        r"\int",
        r"\sqrt",
        r"\log",
        r"\ln",
        r"\exp",
        r"\partial",
        r"\nabla",
    )
)


def _expectation_atom_end(tokens: list[str], j: int) -> int | None:
    """Index after one random quantity written right after an expectation without brackets (``\\hat f``,
    ``\\hat{f}(x_0)``, ``X``, ``g_t``, ``\\theta_i``); None when what follows is not one (a power, a fraction, a
    bracket: those need brackets to say what is averaged)."""
    n = len(tokens)
    if j >= n:
        return None
    t = tokens[j]
    if t in _ACCENTS:
        k = _group_end(tokens, j + 1)
        if k == j + 1 or tokens[j + 1] in ("(", "[", "^", "_"):
            return None
    elif re.fullmatch(r"[A-Za-z]", t) or (
        t.startswith("\\") and t[1:] in _GREEK_CMDS and t not in _NOT_ATOMS
    ):
        k = j + 1
    else:
        return None
    if tokens[k : k + 1] == ["_"]:
        k = _group_end(tokens, k + 1)
    if tokens[k : k + 1] == ["("]:  # f(x): the function's value
        close = _close_paren(tokens, k)
        if close < 0:
            return None
        k = close + 1
    if tokens[k : k + 1] in (["^"], ["'"], ["_"]):
        return None  # E X^2: E[X^2] or (E X)^2; not read
    return k


def _bare_expectation(tokens: list[str]) -> tuple[list[str], bool]:
    """``\\mathbb{E}\\hat f`` (Hastie et al. 7.3, Bishop 3.2: an expectation of one random quantity written
    without brackets), ``\\mathbb{E}_{\\mathcal{D}}\\hat f(x_0)``, ``\\operatorname{E}X``: the argument in
    brackets, ``\\mathbb{E}[\\hat f]``. Only one quantity (with its subscript and arguments) is taken; a power or
    a product after it is not guessed at (the step stays unparsed)."""
    out: list[str] = []
    changed = False
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if t in (r"\mathbb", r"\mathrm", r"\operatorname") and tokens[i + 1 : i + 4] == ["{", "E", "}"]:
            j = i + 4
            if tokens[j : j + 1] == ["_"]:
                j = _group_end(tokens, j + 1)
            k = _expectation_atom_end(tokens, j)
            if k is not None and tokens[j : j + 1] not in (["["], ["("]):
                out += tokens[i:j] + ["["] + tokens[j:k] + ["]"]
                changed = True
                i = k
                continue
        out.append(t)
        i += 1
    return out, changed


def _strip(group: list[str]) -> list[str]:
    return group[1:-1] if len(group) >= 2 and group[0] == "{" and group[-1] == "}" else group


def _find(tokens: list[str], seq: tuple[str, ...] | list[str], start: int = 0) -> int:
    n = len(seq)
    for i in range(start, len(tokens) - n + 1):
        if tuple(tokens[i : i + n]) == tuple(seq):
            return i
    return -1


class NotationRules:
    """The rewriting rules of one card (built once per card; see the module docstring).

    ``rewrite(latex)`` returns the step in the card's names, or ``latex`` itself when no rule applies.
    Never raises: LaTeX it cannot tokenise is returned unchanged (the parser reports it).
    """

    def __init__(self, card: Card):
        self.card = card
        d = card.declarations
        self.names: Names = names_from_declarations(d)
        self.card_definitions = frozenset(k.strip() for k in d.definitions)
        nt = card.notation
        self.per_example = nt.per_example
        self.indices = dict(d.indices)
        # vector-shaped names (d x 1): their subscript with an undeclared letter is a component
        self.vectors = {name_key(k) for k, (r, c) in d.shapes.items() if c == "1" and r != "1"}
        self.families = dict(self.names.families)
        self.families.pop("delta", None)
        self.scalar_families = {f for f in self.families if f not in self.vectors}
        self.stack_only = {s for s, fam in self.names.stacks.items() if s != fam}
        # opaque declared tokens (structured keys) are protected from every rule
        self.opaque: list[tuple[str, ...]] = []
        for key in list(d.symbols) + list(d.definitions):
            try:
                toks = tuple(_tokens(key))
            except ParseError:
                continue
            if any(t in toks for t in ("(", "[", "|", r"\|")):
                self.opaque.append(toks)
        self.opaque.sort(key=len, reverse=True)
        # their index slots: E[q_i^2] is also written E[q_j^2], p(x_i|\theta) also p(x_n|\theta)
        self.opaque_slots = {key: _index_slots(key, self.indices) for key in self.opaque}
        # E[...] and \mathbb{E}[...] are one expectation: written the way the card's opaque keys are
        bb = any(t == r"\mathbb" for key in self.opaque for t in key)
        plain = any(key[:2] == ("E", "[") for key in self.opaque)
        self.expect_to = "E" if plain and not bb else ("bb" if bb and not plain else None)
        # does the card write an expectation with a subscript anywhere (E_{x~p}, E_{q(z)})? Then a written
        # subscript is meaningful and kept
        sub_e = re.compile(r"(?:\\(?:mathbb|mathrm|operatorname)\s*\{\s*E\s*\}|(?<![A-Za-z\\])E)\s*_")
        self._subscripted_expectations = any(
            sub_e.search(text)
            for text in [*d.symbols, *d.definitions, *card.notation.aliases, *(st.latex for st in card.steps)]
        )
        # the index letters the card's own steps leave free (softmax: i), preferred for a renamed free letter
        self.free_letters: dict[str, int] = {}
        for st in card.steps:
            try:
                toks = _tokens(st.latex)
            except ParseError:
                continue
            for letter, where in self._subscript_uses(toks).items():
                if letter in self.indices and r"\sum" not in where and any(w in self.families for w in where):
                    self.free_letters[letter] = self.free_letters.get(letter, 0) + 1
        # the variable of the card's gradients (\nabla_w L): a bare \nabla (Bishop's \nabla E) is taken in it
        subs: set[tuple[str, ...]] = set()
        for st in card.steps:
            try:
                toks = _tokens(st.latex)
            except ParseError:
                continue
            for q, t in enumerate(toks):
                if t != r"\nabla":
                    continue
                r = q + 1
                if toks[r : r + 1] == ["^"]:
                    r = _group_end(toks, r + 1) if toks[r + 1 : r + 2] == ["{"] else r + 2
                if toks[r : r + 1] == ["_"]:
                    e = _group_end(toks, r + 1) if toks[r + 1 : r + 2] == ["{"] else r + 2
                    subs.add(tuple(_strip(toks[r + 1 : e])))
        self.grad_var: tuple[str, ...] | None = next(iter(subs)) if len(subs) == 1 else None
        self.summands: dict[str, tuple[str, ...]] = {}
        for key, rhs in nt.summands.items():
            try:
                self.summands[name_key(key)] = ("(", *_tokens(rhs), ")")
            except ParseError:
                continue
        self.aliases: list[_Alias] = []
        implicit = {}
        if d.symbols.get("epsilon") == "positive" and not any(
            "delta" in text
            for text in [*d.symbols, *d.indexed, *d.definitions, *nt.aliases, *nt.aliases.values()]
        ):
            # the card's small positive stabiliser: Goodfellow et al. write it delta (8.7.1 batch norm,
            # Algorithms 8.4-8.7), Kingma & Ba and Ioffe & Szegedy epsilon
            implicit = {r"\delta": r"\epsilon", r"\varepsilon": r"\epsilon"}
        for key, rhs in {**implicit, **nt.aliases}.items():
            for variant in _variants(key):
                try:
                    a = self._alias(variant, rhs)
                except ParseError:
                    continue
                if a is not None and a.key != a.target:
                    self.aliases.append(a)
        self.aliases.sort(key=lambda a: (len(a.key), len(a.params)), reverse=True)
        # the keys of one-letter pattern aliases (z_i for w^T x_i): z^{(i)} is their element i too
        self._pattern_keys = {a.key[0] for a in self.aliases if a.params and len(a.key) == 1}
        self._by_first: dict[str, list[_Alias]] = {}
        for a in self.aliases:
            self._by_first.setdefault(a.key[0], []).append(a)

    # ------------------------------------------------------------------ building
    def _alias(self, key: str, rhs: str) -> _Alias | None:
        kt = _tokens(key)
        tt = _tokens(rhs)
        if not kt or not tt:
            return None
        params: tuple[str, ...] = ()
        # a pattern: base_{declared index letters}
        if len(kt) >= 3 and kt[-1] == "}" and "_" in kt:
            u = len(kt) - 1 - kt[::-1].index("_")
            sub = _strip(kt[u + 1 :])
            letters = [s for s in sub if s != ","]
            if letters and all(s in self.indices for s in letters) and _group_end(kt, u + 1) == len(kt):
                params, kt = tuple(letters), kt[:u]
        elif len(kt) == 3 and kt[1] == "_" and kt[2] in self.indices:
            params, kt = (kt[2],), kt[:1]
        joined = join(tt)
        if params and len(tt) >= 4 and tt[-(len(params) + 3) :] == ["_", "{", *params, "}"]:
            base = tt[: -(len(params) + 3)]
            if _ATOM_RE.match(join(base)) and name_key(join(base)) in self.families:
                return _Alias(tuple(kt), tuple(base), (), True, True)  # t_k -> y_k: t is y
        atom = bool(_ATOM_RE.match(joined)) and not params
        fam = atom and len(tt) == 1 and name_key(joined) in self.families
        target = tuple(tt) if atom else ("(", *tt, ")")
        slots: tuple[int, ...] = ()
        if not params and "(" in kt:
            # every letter of a subscript group of declared indices: \mathcal{N}(x_i|...), \gamma(z_{ik})
            slots = _index_slots(kt, self.indices)
        return _Alias(tuple(kt), target, params, atom, fam, slots)

    def scalar_letter_aliases(self, latex: str) -> list[tuple[str, str]]:
        """The card's aliases of one letter to a scalar expression (Bishop's precision ``\\beta`` =
        ``\\frac{1}{\\sigma^2}``) that ``latex`` writes: (letter, the card's expression) pairs. ESL and ISLR write
        the same letter for the coefficient vector, so a shape mismatch found in that reading is no slip to
        report as one. Never raises (LaTeX it cannot tokenise has none)."""
        try:
            toks = _tokens(latex)
        except ParseError:
            return []
        shaped = {name_key(k) for k in self.card.declarations.shapes}
        out = []
        for a in self.aliases:
            if a.atom or a.params or len(a.key) != 1 or a.key[0] not in toks:
                continue
            names = {t.lstrip("\\") for t in a.target if re.fullmatch(r"\\?[A-Za-z]+", t)}
            if names & shaped:
                continue
            out.append((a.key[0], join(list(a.target[1:-1]))))
        return out

    def alias_of(self, written: str) -> str | None:
        """The card name (internal key) a written name is declared an alias of (``v_t`` -> ``m_t``), or None
        when the card declares no alias for it or its alias is an expression."""
        try:
            toks = tuple(_tokens(written))
        except ParseError:
            return None
        for a in self.aliases:
            if a.key == toks and not a.params and a.atom:
                try:
                    return name_key(join(list(a.target)))
                except (ParseError, IndexError, ValueError):
                    return None
        return None

    # ------------------------------------------------------------------ helpers
    def _protected(self, tokens: list[str]) -> list[bool]:
        prot = [False] * len(tokens)
        for key in self.opaque:
            slots = self.opaque_slots.get(key, ())
            i = 0
            while i <= len(tokens) - len(key):
                if _key_match(key, slots, tokens, i) is None:
                    i += 1
                    continue
                for j in range(i, i + len(key)):
                    prot[j] = True
                i += len(key)
        # the letters of a roman word (\mathrm{NLL}, \operatorname{MSE}): an alias of one of its letters (L for
        # \ell) does not reach inside; an alias whose key writes the whole word (NLL, \mathrm{BN}_{\gamma,\beta}(x_i))
        # still applies
        keys = self.__dict__.get("_key_runs")
        if keys is None:
            keys = self._key_runs = {
                a.key[j:k]
                for a in self.aliases
                for j in range(len(a.key))
                for k in range(j + 2, len(a.key) + 1)
            }
        for i, t in enumerate(tokens):
            if t.startswith("\\") and t[1:] in TEXT_CMDS and tokens[i + 1 : i + 2] == ["{"]:
                j = i + 2
                while j < len(tokens) and re.fullmatch(r"[A-Za-z]", tokens[j]):
                    j += 1
                word = tuple(tokens[i + 2 : j])
                if j < len(tokens) and tokens[j] == "}" and len(word) >= 2 and word not in keys:
                    for q in range(i + 2, j):
                        prot[q] = True
        # the d of a derivative: \frac{d...}{d x}, \frac{d}{dx}
        for i, t in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                t == "d"
                and i >= 1
                and tokens[i - 1] == "{"
                and i >= 2
                and (tokens[i - 2] == r"\frac" or (tokens[i - 2] == "}" and nxt != "}"))
                and nxt != "_"  # d_k is a name; \frac{1}{d} divides by the name d
            ):
                prot[i] = True
        return prot

    def _name_at(self, tokens: list[str], i: int) -> tuple[str | None, int]:
        """(internal name, index after it) of a name written at tokens[i] (letter, Greek, decorated)."""
        t = tokens[i]
        if re.fullmatch(r"[A-Za-z]", t):
            return t, i + 1
        if t.startswith("\\") and t[1:] in _GREEK_CMDS:
            return t[1:], i + 1
        if t.startswith("\\") and t[1:] in DECORATIONS and i + 1 < len(tokens):
            j = _group_end(tokens, i + 1)
            try:
                return name_key(join(tokens[i:j])), j
            except ParseError:
                return None, i + 1
        return None, i + 1

    def _component_sub(self, tokens: list[str], j: int) -> bool:
        """Is the subscript group starting at tokens[j] one letter the card does not declare (a component:
        ``\\theta_j`` of a vector alias is ``w_j``)?"""
        e = _group_end(tokens, j)
        sub = _strip(tokens[j:e])
        return len(sub) == 1 and bool(re.fullmatch(r"[a-z]", sub[0])) and sub[0] not in self.names.kinds

    def _label_sub(self, tokens: list[str], j: int) -> int | None:
        """The end of the subscript group starting at tokens[j] when it is a label, not indices: a word of
        two or more letters (``\\mathrm{nt}`` after ``clean``: ``nt``) with a letter the card does not
        declare, and the name it makes with what it follows is not the card's own (``x_{new}``). Boyd
        labels his Newton step ``\\Delta x_{\\mathrm{nt}}`` (Convex Optimization, 9.5.1). None otherwise."""
        if tokens[j : j + 1] != ["_"] or j + 1 >= len(tokens) or tokens[j + 1] != "{":
            return None
        e = _group_end(tokens, j + 1)
        sub = _strip(tokens[j + 1 : e])
        if len(sub) < 2 or not all(re.fullmatch(r"[A-Za-z]", x) for x in sub):
            return None
        if all(x in self.names.kinds for x in sub):
            return None  # x_{ij} with declared indices
        written = self._written_name(tokens, j)
        if written is None or written in self.names.kinds:
            return None
        return e

    # ------------------------------------------------------------------ the passes
    def _opaque_letters(self, tokens: list[str]) -> tuple[list[str], bool]:
        """A declared opaque token written with other index letters (``E[q_j^2]`` for the card's
        ``E[q_i^2]``, ``p(x_n|\\theta)`` for ``p(x_i|\\theta)``): index letters are the writer's choice, so
        the written letter is renamed to the key's throughout the step (a free or summed index is renamed
        consistently), when the key's letter is not written in the step and the written letter is no other
        name of the card. Returns (tokens, changed)."""
        present = {t for t in tokens if re.fullmatch(r"[A-Za-z]", t)}
        rename: dict[str, str] = {}
        local = False
        for key in self.opaque:
            slots = self.opaque_slots.get(key, ())
            if not slots:
                continue
            for i in range(len(tokens) - len(key) + 1):
                bound = _key_match(key, slots, tokens, i)
                if not bound:
                    continue
                if len(set(bound.values())) != len(bound):
                    continue  # z_{nn} for z_{ik}: not the same token
                if key in self._index_free_keys and any(w != h for w, h in bound.items()):
                    # E[q_j^2] = 1 whatever j: renamed inside the token only, so E[q_j^2] + E[q_i] reads
                    tokens = (
                        tokens[:i]
                        + _rename_subscripts(list(tokens[i : i + len(key)]), {h: w for w, h in bound.items()})
                        + tokens[i + len(key) :]
                    )
                    local = True
                    continue
                for want, have in bound.items():
                    if want == have:
                        continue
                    if want in present or self.names.kinds.get(have) not in (None, "index"):
                        return tokens, False
                    if rename.setdefault(have, want) != want:
                        return tokens, False
        if not rename or len(set(rename.values())) != len(rename):
            return tokens, local
        return [rename.get(t, t) if re.fullmatch(r"[A-Za-z]", t) else t for t in tokens], True

    @functools.cached_property
    def _index_free_keys(self) -> frozenset:
        """The opaque keys with index slots whose declared value has none of its slot letters
        (``E[q_i^2] = 1``: the same for every i), so another letter may be renamed inside the token alone."""
        d = self.card.declarations
        out = set()
        for key, slots in self.opaque_slots.items():
            if not slots:
                continue
            letters = {key[q] for q in slots}
            for k, v in d.definitions.items():
                try:
                    if tuple(_tokens(k)) != key:
                        continue
                    vt = _tokens(v)
                except ParseError:
                    continue
                if not letters & set(vt):
                    out.add(key)
        return frozenset(out)

    def _function_word_at(self, tokens: list[str], i: int) -> tuple[str | None, int]:
        """The function word written at ``tokens[i]`` (``\\mathrm{softmax}``, ``\\operatorname{softmax}``,
        ``\\text{softmax}``, a bare ``softmax``) and the index after it; (None, i) when there is none."""
        if tokens[i] in (r"\mathrm", r"\operatorname", r"\text", r"\textrm") and tokens[i + 1 : i + 2] == [
            "{"
        ]:
            e = _group_end(tokens, i + 1)
            word = "".join(tokens[i + 2 : e - 1])
            return (word, e) if word in _COMPONENT_FUNCS else (None, i)
        if re.fullmatch(r"[a-z]", tokens[i]) and (i == 0 or not re.fullmatch(r"[A-Za-z]", tokens[i - 1])):
            for word in _COMPONENT_FUNCS:
                if "".join(tokens[i : i + len(word)]) == word:
                    return word, i + len(word)
        return None, i

    def _function_components(self, tokens: list[str]) -> tuple[list[str], bool]:
        """A component of a known function's value, ``\\mathrm{softmax}(z)_i``, of a family or vector name
        ``z`` of the card: the softmax as its definition ``\\frac{e^{z_i}}{\\sum_{j=1}^{K} e^{z_j}}``
        (Goodfellow et al. eq. 6.29; j a letter the step does not use, the bounds those of z's index or its
        rows), an elementwise function (sigmoid, relu, tanh, exp, log, softplus) as ``f(z_i)``.
        Returns (tokens, changed)."""
        out: list[str] = []
        changed = False
        i = 0
        n = len(tokens)
        while i < n:
            word, a = self._function_word_at(tokens, i)
            if word is None or tokens[a : a + 1] != ["("]:
                out.append(tokens[i])
                i += 1
                continue
            b = _close_paren(tokens, a)
            if b < 0 or tokens[b + 1 : b + 2] != ["_"]:
                out.append(tokens[i])
                i += 1
                continue
            e = _group_end(tokens, b + 2)
            sub = _strip(tokens[b + 2 : e])
            arg = tokens[a + 1 : b]
            try:
                name = name_key(join(arg))
            except (ParseError, IndexError, ValueError):
                name = None
            bounds = self._component_bounds(name)
            if len(sub) != 1 or not re.fullmatch(r"[A-Za-z]", sub[0]) or bounds is None:
                out.append(tokens[i])
                i += 1
                continue
            comp = [*arg, "_", "{", sub[0], "}"]
            if word != "softmax":
                out += ["\\" + word if word in ("exp", "log", "tanh") else word, "(", *comp, ")"]
            else:
                used = {t for t in tokens if re.fullmatch(r"[A-Za-z]", t)}
                free = [x for x in self.indices if x not in used and self.indices[x] == bounds]
                free += [x for x in "jlmrsuv" if x not in used and x not in self.names.kinds]
                if not free:
                    out.append(tokens[i])
                    i += 1
                    continue
                j = free[0]
                lo, hi = bounds
                other = [*arg, "_", "{", j, "}"]
                out += [
                    r"\frac",
                    "{",
                    "e",
                    "^",
                    "{",
                    *comp,
                    "}",
                    "}",
                    "{",
                    r"\sum",
                    "_",
                    "{",
                    j,
                    "=",
                    *_tokens(lo),
                ]
                out += ["}", "^", "{", *_tokens(hi), "}", "e", "^", "{", *other, "}", "}"]
            changed = True
            i = e
        return (out, True) if changed else (tokens, False)

    def _component_bounds(self, name: str | None) -> tuple[str, str] | None:
        """The range (low, high LaTeX) of the components of a family or vector name, None for another."""
        if name is None:
            return None
        if name in self.families and len(self.families[name]) == 1 and self.families[name] in self.indices:
            lo, hi = self.indices[self.families[name]]
            return str(lo), str(hi)
        if name in self.vectors:
            for k, (r, _c) in self.card.declarations.shapes.items():
                if name_key(k) == name:
                    return "1", str(r)
        return None

    def _alias_name(self, a: _Alias) -> str | None:
        """The internal name an alias's written form stands for (``\\hat{y}`` -> ``hat_y``), or None."""
        try:
            return name_key(join(list(a.key)))
        except (ParseError, IndexError, ValueError):
            return None

    def _apply_aliases(
        self,
        tokens: list[str],
        keep: frozenset = frozenset(),
        params: bool = False,
        not_count: frozenset | None = None,
    ) -> tuple[list[str], bool, bool]:
        """Rule 2. Returns (tokens, changed, per-example witness: a pattern alias written without index).
        An alias whose written name is in ``keep`` (a name the user defined) is not applied; with
        ``params``, nor is an alias to a constant (``b`` = ``0``: in the user's own definition a new
        parameter, not the card's missing bias). ``not_count``: :meth:`_other_count_letters` of the step as
        written (computed from ``tokens`` when None; a later pass sees the count's letters already renamed)."""
        if not self.aliases:
            return tokens, False, False
        prot = self._protected(tokens)
        n = len(tokens)
        # tokens inside a subscript group (x_{data}, \sum_{i=1}) take no alias; nor do letters of a word
        in_sub = [False] * n
        k = 0
        while k < n:
            if tokens[k] == "_" and k + 1 < n:
                e = _group_end(tokens, k + 1)
                b = k - 1
                if b >= 0 and tokens[b] == "}":  # \nabla^{2}_{w}: look past the superscript
                    depth = 0
                    while b >= 0:
                        depth += tokens[b] == "}"
                        depth -= tokens[b] == "{"
                        if depth == 0:
                            break
                        b -= 1
                    b = b - 2 if b >= 2 and tokens[b - 1] == "^" else k - 1
                if k == 0 or tokens[b] not in (
                    r"\nabla",
                    r"\partial",
                    r"\sum",
                    r"\prod",
                    r"\max",
                    r"\min",
                    "^",
                ):
                    for q in range(k + 1, e):
                        in_sub[q] = True  # a name's subscript (p_{data}, x_N), not \nabla_{\theta}
                k = e
                continue
            k += 1
        # a letter is part of a word (const, data) when its run of letters holds a letter that is neither a
        # declared name nor the start of an alias: UDW is a product, const is a word
        letter = [bool(re.fullmatch(r"[A-Za-z]", t)) and not prot[q] for q, t in enumerate(tokens)]
        starts = {a.key[0] for a in self.aliases}
        q = 0
        while q < n:
            if not letter[q]:
                q += 1
                continue
            e = q
            while e < n and letter[e]:
                e += 1
            if all(tokens[r] in self.names.kinds or tokens[r] in starts for r in range(q, e)):
                for r in range(q, e):
                    letter[r] = False  # a product of single-letter names: no word
            q = e
        if not_count is None:
            not_count = self._other_count_letters(tokens)
        out: list[str] = []
        changed = witness = False
        i = 0
        while i < n:
            if prot[i] or in_sub[i]:
                out.append(tokens[i])
                i += 1
                continue
            if out[-3:] in ([r"\sum", "_", "{"], [r"\prod", "_", "{"]) or out[-2:] in (
                [r"\sum", "_"],
                [r"\prod", "_"],
            ):
                out.append(tokens[i])  # the variable of a sum (\sum_{m=1}^{N}) is a dummy letter, no alias
                i += 1
                continue
            hit = None
            for a in self._by_first.get(tokens[i], ()):
                k = len(a.key)
                bound = _slot_match(a, tokens, i)
                if bound is None or any(prot[i : i + k]):
                    continue
                if k == 1 and not a.params and tokens[i] in not_count:
                    continue  # ESL's centroid m beside the count N: no second name of the count
                arity = self._family_arity_written(a, tokens, i + k)
                if (
                    keep
                    and self._alias_name(a) in keep
                    and (arity != "same" or self._written_name(tokens, i + k) in keep)
                ):
                    continue  # the user's own name (r_k defined by the user; r_{ik} stays the card's)
                if arity == "other":
                    continue  # r_k is no element of the card's two-index gamma_{ik}
                if params and not any(re.match(r"[A-Za-z\\]", t) for t in a.target):
                    continue
                if a.key == ("E",) and i + k < n and tokens[i + k] in ("[", "_"):
                    continue  # E[...] is an expectation, not the alias E
                if (i > 0 and tokens[i - 1] == ".") or (
                    i + k < n and tokens[i + k] == "." and i + k + 1 < n and letter[i + k + 1]
                ):
                    continue  # an abbreviation: s.t.
                if letter[i] and i > 0 and letter[i - 1] and (k > 1 or (i > 1 and letter[i - 2])):
                    continue  # inside a word (const, data) or a longer run of letters
                if (
                    letter[i + k - 1]
                    and i + k < n
                    and letter[i + k]
                    and (k > 1 or (i + k + 1 < n and letter[i + k + 1]))
                ):
                    continue
                if k == 1 and letter[i] and i > 0 and letter[i - 1] and i + 1 < n and letter[i + 1]:
                    continue
                # a name key must not be the start of a longer name: \beta vs \beta_1 handled below
                nxt = tokens[i + k] if i + k < n else None
                inside_decor = len(out) >= 2 and out[-1] == "{" and out[-2] in {"\\" + d for d in DECORATIONS}
                if a.params:
                    if nxt == "_":
                        j = _group_end(tokens, i + k + 1)
                        sub = _strip(tokens[i + k + 1 : j])
                        parts = _split_parts(sub, len(a.params))
                        if parts is None:
                            continue
                        hit = (_substitute(a.target, a.params, parts), j)
                    elif (
                        self.per_example
                        and len(a.params) == 1
                        and not inside_decor
                        and not (out and out[-1] in (r"\partial", "d"))
                    ):
                        hit = (_substitute(a.target, a.params, [[self.per_example]]), i + k)
                        witness = True
                    else:
                        continue
                else:
                    vector = a.atom and len(a.target) == 1 and a.target[0] in self.vectors
                    if (
                        nxt == "_"
                        and not a.family
                        and not (vector and self._component_sub(tokens, i + k + 1))
                    ):
                        label_end = self._label_sub(tokens, i + k) if a.atom else None
                        if label_end is None:
                            continue  # N -> n does not apply to N_k; \beta -> \beta_1 not to \beta_2
                        # Boyd's \Delta x_{\mathrm{nt}}: a label names the key's quantity
                        hit = (_rename_subscripts(list(a.target), bound), label_end)
                        break
                    if (inside_decor or (out and out[-1] in (r"\partial", "d"))) and not a.atom:
                        continue  # \hat{s}, \partial z: a written-out expression is no name there
                    hit = (_rename_subscripts(list(a.target), bound), i + k)
                    tgt, after = hit
                    if (
                        len(tgt) == 4
                        and tgt[:2] == ["(", "-"]
                        and tgt[3] == ")"
                        and after < n
                        and tokens[after] == "("
                    ):
                        # a negated alias written with its arguments, \mathrm{NLL}(\theta) for -\ell: the
                        # arguments name the quantity (-\ell(\theta)), they do not multiply it
                        close = _close_paren(tokens, after, "(", ")")
                        args = tokens[after + 1 : close] if close > after else None
                        if args and all(
                            re.fullmatch(r"[A-Za-z]|\\[A-Za-z]+|[{},_^0-9]", t) and t not in _NOT_ARGUMENT
                            for t in args
                        ):
                            hit = ([*tgt[:3], "(", *args, ")", ")"], close + 1)
                break
            if hit is None:
                out.append(tokens[i])
                i += 1
                continue
            out.extend(hit[0])
            i = hit[1]
            changed = True
        return out, changed, witness

    def _other_count_letters(self, tokens: list[str]) -> frozenset:
        """Single letters that the card aliases to one of its counts (a declared positive integer: ``m`` for n)
        in a step whose sums already run to that count in another alias letter (``\\sum_{i=1}^{N}`` with ``N`` = n):
        there the letter is no second name of the count (ESL's k-means centroid ``m`` in ``\\sum_{i=1}^{N}(x_i -
        m)^2``), so it takes no alias (it is read as written, an unknown name, never the count)."""
        counts = {k for k, dom in self.card.declarations.symbols.items() if dom == "positive_integer"}
        if not counts:
            return frozenset()
        target_of = {a.key[0]: a.target for a in self.aliases if len(a.key) == 1 and not a.params}
        bounds = set()
        for q, t in enumerate(tokens):
            if t == "^" and q >= 1 and tokens[q - 1] == "}" and r"\sum" in tokens[max(0, q - 8) : q]:
                b = tokens[q + 1 : q + 4]
                letter = b[1] if b[:1] == ["{"] and b[2:3] == ["}"] else b[0] if b else None
                if letter is not None and re.fullmatch(r"[A-Za-z]", letter):
                    tgt = target_of.get(letter, (letter,))
                    if len(tgt) == 1 and tgt[0] in counts:
                        bounds.add((letter, tgt[0]))
        # a bound written in another alias letter of the count (N in a step that also writes m); the card's own
        # letter as the bound (n beside N) is the same count written twice, as texts mix them
        bounds = {(b, c) for b, c in bounds if b != c}
        if not bounds:
            return frozenset()
        out = set()
        for key, tgt in target_of.items():
            if len(tgt) == 1 and tgt[0] in counts and any(c == tgt[0] and b != key for b, c in bounds):
                if key not in {b for b, _ in bounds}:
                    out.add(key)
        return frozenset(out)

    def _written_name(self, tokens: list[str], j: int) -> str | None:
        """The internal name of the name whose subscript starts at tokens[j] (``r_{ik}``: r_ik)."""
        k = j - 1
        while k > 0 and tokens[k] == "}":  # \hat{r}_{ik}: back over the decoration
            k = _find_open(tokens, k) - 1
        try:
            return name_key(join(tokens[max(k, 0) : _group_end(tokens, j + 1)]))
        except (ParseError, IndexError, ValueError):
            return None

    def _family_arity_written(self, a: _Alias, tokens: list[str], j: int) -> str | None:
        """For an alias that renames a family of several indices (``r_{ik}`` for ``\\gamma_{ik}``): "same"
        when the subscript written at tokens[j] has that many index letters, "other" when it has one
        letter (``r_k``, Murphy's r_k = sum_i r_ik, is another quantity), None otherwise."""
        if not a.family or tokens[j : j + 1] != ["_"]:
            return None
        try:
            fam = self.families.get(name_key(join(list(a.target))), "")
        except ParseError:
            return None
        if len(fam) < 2:
            return None
        e = _group_end(tokens, j + 1)
        sub = [x for x in _strip(tokens[j + 1 : e]) if x != ","]
        if not all(re.fullmatch(r"[A-Za-z]", x) for x in sub):
            return None
        return "same" if len(sub) == len(fam) else ("other" if len(sub) == 1 else None)

    _VAR = (r"\mathrm", "{", "V", "a", "r", "}", "(")

    def _constant(self, chunk: list[str]) -> bool:
        """Is ``chunk`` (tokens) a constant: a number, a name the card declares as a symbol (``d_k``), or
        ``\\sqrt``/``\\frac`` of constants? Random quantities (families, defined expectations) are not."""
        chunk = _strip(chunk)
        if not chunk:
            return False
        if all(re.fullmatch(r"[0-9.]", t) for t in chunk):
            return True
        if chunk[0] == r"\sqrt" and _group_end(chunk, 1) == len(chunk):
            return self._constant(chunk[1:])
        if chunk[0] == r"\frac":
            mid = _group_end(chunk, 1)
            return (
                _group_end(chunk, mid) == len(chunk)
                and self._constant(chunk[1:mid])
                and self._constant(chunk[mid:])
            )
        try:
            if self.names.kinds.get(name_key(join(chunk))) == "symbol":
                return True
        except (ParseError, IndexError, ValueError):
            pass
        return self._constant_terms(chunk)

    def _constant_terms(self, chunk: list[str]) -> bool:
        """Is ``chunk`` a sum, difference or product of constants, each maybe raised to a constant power
        (``n-1``, ``1-\\beta_1^t``, ``2n``)? Each factor is a number, a one-token name with its subscript, or a
        group that :meth:`_constant` accepts."""
        i, n, seen = 0, len(chunk), False
        while i < n:
            t = chunk[i]
            if t in ("+", "-"):
                i += 1
                continue
            if re.fullmatch(r"[0-9.]", t):
                j = i
                while j < n and re.fullmatch(r"[0-9.]", chunk[j]):
                    j += 1
                ok = True
            elif t == "(":
                j = _close_paren(chunk, i) + 1
                ok = j > 0 and self._constant(chunk[i + 1 : j - 1])
            elif t in (r"\sqrt", r"\frac"):
                j = _group_end(chunk, _group_end(chunk, i + 1)) if t == r"\frac" else _group_end(chunk, i + 1)
                ok = self._constant(chunk[i:j])
            elif re.fullmatch(r"[A-Za-z]|\\[A-Za-z]+", t):
                j = _group_end(chunk, i + 2) if chunk[i + 1 : i + 2] == ["_"] else i + 1
                try:
                    ok = self.names.kinds.get(name_key(join(chunk[i:j]))) == "symbol"
                except (ParseError, IndexError, ValueError):
                    ok = False
            else:
                return False
            if not ok or j <= i:
                return False
            if chunk[j : j + 1] == ["^"]:
                e = _group_end(chunk, j + 1)
                if not self._constant(_strip(chunk[j + 1 : e])):
                    return False
                j = e
            seen, i = True, j
        return seen

    def _variance_scale(self, inner: list[str], square: bool = True) -> tuple[list[str], list[str]] | None:
        """For the argument ``inner`` of a variance: (the factor c^2 as tokens, the rest X) when it is X
        over a constant (one fraction ``\\frac{X}{c}``) or a leading constant factor times X (``2X``, ``cX``,
        ``\\frac{1}{\\sqrt{d_k}}X``); None otherwise (:meth:`_scaled_variance`). Without ``square``, the factor
        c itself (an expectation: :meth:`_scaled_expectation`)."""
        if not inner:
            return None
        sq = ["^", "{", "2", "}"] if square else []
        if inner[0] == r"\frac":
            mid = _group_end(inner, 1)
            end = _group_end(inner, mid)
            if end == len(inner):  # X / c
                num = _strip(inner[1:mid])
                if num and num != ["1"] and self._constant(inner[mid:]):
                    den = ["(", *_strip(inner[mid:]), ")", *sq]
                    return [r"\frac", "{", "1", "}", "{", *den, "}"], num
                return None
            k = end
        elif inner[0] == r"\sqrt":
            k = _group_end(inner, 1)
        elif re.fullmatch(r"[0-9]", inner[0]):
            k = 1
            while k < len(inner) and re.fullmatch(r"[0-9.]", inner[k]):
                k += 1
        elif re.fullmatch(r"[A-Za-z]", inner[0]):  # a declared constant, with its subscript: c, d_k
            k = _group_end(inner, 2) if inner[1:2] == ["_"] else 1
        else:
            return None
        if (
            k < len(inner)
            and inner[k] not in ("+", "-", "^", "_")
            and self._constant(inner[:k])
            and not _top_level_sum(inner[k:])
        ):
            # c times the whole rest only: in 2X + 3 the 2 scales X alone (E[2X + 3] is not 2E[X + 3])
            return ["(", *inner[:k], ")", *sq], inner[k:]
        return None

    def _scaled_expectation(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``E[cX]`` = ``(c)E[X]`` and ``E[X/c]`` = ``\\frac{1}{(c)}E[X]`` for a constant c (linearity of
        expectation; Wasserman, All of Statistics, Theorem 3.11), so that the card's defined expectation
        (``E[\\sum_i (x_i - \\bar x)^2] = (n-1)\\sigma^2``) reaches a scaled one: ``\\mathbb{E}[\\frac{1}{n-1}\\sum_i
        (x_i - \\bar x)^2] = \\sigma^2`` is checked, not "cannot check". Only on a card that defines an
        expectation ``E[..]`` (or ``\\mathbb{E}[..]``), and only a scale that is one leading factor or one
        fraction's denominator of the whole argument."""
        openers = {k[: k.index("[") + 1] for k in self.opaque if "[" in k and k[0] in ("E", r"\mathbb")}
        openers = {o for o in openers if o in (("E", "["), (r"\mathbb", "{", "E", "}", "["))}
        if not openers:
            return tokens, False
        out: list[str] = []
        changed = False
        i = 0
        n = len(tokens)
        while i < n:
            op = next((o for o in openers if tuple(tokens[i : i + len(o)]) == o), None)
            if op is None:
                out.append(tokens[i])
                i += 1
                continue
            start = i + len(op)
            close = _bracket_close(tokens, start - 1)
            scaled = self._variance_scale(tokens[start:close], square=False) if close is not None else None
            if scaled is None:
                out.append(tokens[i])
                i += 1
                continue
            factor, rest = scaled
            out += [*factor, *op, *rest, "]"]
            changed = True
            i = close + 1
        return out, changed

    def _scaled_variance(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\mathrm{Var}(X/c)`` = ``\\frac{1}{(c)^{2}}\\mathrm{Var}(X)`` and ``\\mathrm{Var}(cX)`` =
        ``(c)^{2}\\mathrm{Var}(X)`` for a constant c (:meth:`_constant`; Var(aX + b) = a^2 Var(X):
        Wasserman, All of Statistics, Theorem 3.16), so that the card's defined variance (``\\mathrm{Var}(q^Tk)
        = d_k``) reaches a scaled one: ``\\mathrm{Var}(q^Tk/\\sqrt{d_k}) = 1`` is checked, not "cannot check".
        Only on a card that defines a variance; a scale that is not one leading factor or one fraction's
        denominator is left as written."""
        if not any(k[: len(self._VAR)] == self._VAR for k in self.opaque):
            return tokens, False
        out: list[str] = []
        changed = False
        i = 0
        n = len(tokens)
        while i < n:
            if tuple(tokens[i : i + 7]) != self._VAR:
                out.append(tokens[i])
                i += 1
                continue
            close = _close_paren(tokens, i + 6)
            inner = tokens[i + 7 : close] if close > 0 else []
            scaled = self._variance_scale(inner)
            if scaled is None:
                out.append(tokens[i])
                i += 1
                continue
            factor, rest = scaled
            out += [*factor, *self._VAR, *rest, ")"]
            changed = True
            i = close + 1
        return out, changed

    def _layer_gradients(self, tokens: list[str]) -> tuple[list[str], bool]:
        """Ng's names for gradients (deeplearning.ai: ``dz^{[2]} = a^{[2]} - y``, ``dW^{[1]} = dz^{[1]}x^T``): a
        ``d`` written right before a name with a layer superscript (``z^{(2)}`` once cleaned), where no letter,
        Greek letter or digit precedes it, is the derivative of the card's loss L with respect to that name,
        ``\\frac{\\partial L}{\\partial z^{(2)}}``. Only on a card that defines L; a product d z^{(2)} of a
        card's size d and a layer's vector is not written so."""
        if "L" not in self.card_definitions or "d" not in tokens:
            return tokens, False
        out: list[str] = []
        changed = False
        i = 0
        n = len(tokens)
        while i < n:
            t = tokens[i]
            prev = out[-1] if out else None
            if (
                t == "d"
                and i + 7 < n + 1
                and (re.fullmatch(r"[A-Za-z]", tokens[i + 1]) or tokens[i + 1][1:] in _GREEK_CMDS)
                and tokens[i + 2 : i + 5] == ["^", "{", "("]
                and (prev is None or not (re.fullmatch(r"[A-Za-z0-9]", prev) or prev[1:] in _GREEK_CMDS))
            ):
                e = _group_end(tokens, i + 3)
                if tokens[e - 2 : e] == [")", "}"]:
                    name = tokens[i + 1 : e]
                    out += [r"\frac", "{", r"\partial", "L", "}", "{", r"\partial", *name, "}"]
                    changed = True
                    i = e
                    continue
            out.append(t)
            i += 1
        return out, changed

    def _moment_brackets(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\mathrm{Var}[X]``, ``\\mathrm{Bias}[X]``, ``\\mathrm{Cov}[X, Y]`` (Bishop, Murphy: square
        brackets) as the card's ``\\mathrm{Var}(X)``; and, on a card whose expectations carry no subscript,
        the subscript of ``\\mathbb{E}_{\\mathcal{D},\\varepsilon}[..]`` (what the expectation is over:
        Hastie et al. 7.3, Bishop 3.2) dropped, as the card's expectation is over everything random."""
        out: list[str] = []
        changed = False
        n = len(tokens)
        i = 0
        while i < n:
            t = tokens[i]
            if t in (r"\mathrm", r"\operatorname") and tokens[i + 1 : i + 2] == ["{"]:
                e = _group_end(tokens, i + 1)
                word = "".join(tokens[i + 2 : e - 1])
                if word.lower() in _MOMENT_WORDS and tokens[e : e + 1] == ["["]:
                    close = _bracket_close(tokens, e)
                    if close is not None:
                        out += tokens[i:e] + ["("] + tokens[e + 1 : close] + [")"]
                        changed = True
                        i = close + 1
                        continue
            if (
                not self._subscripted_expectations
                and self.expect_to is not None
                and (
                    t == "E"
                    or (
                        t in (r"\mathbb", r"\mathrm", r"\operatorname")
                        and tokens[i + 1 : i + 4] == ["{", "E", "}"]
                    )
                )
                and not (out and out[-1] in ("{", "_", "^", "\\"))
            ):
                head = 1 if t == "E" else 4
                if tokens[i + head : i + head + 1] == ["_"]:
                    e = _group_end(tokens, i + head + 1)
                    if tokens[e : e + 1] == ["["]:
                        out += tokens[i : i + head]
                        changed = True
                        i = e
                        continue
            out.append(t)
            i += 1
        return out, changed

    def _expectation_spelling(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\mathbb{E}[..]``, ``\\operatorname{E}[..]`` and ``E[..]`` spelled as the card's opaque keys are."""
        if self.expect_to is None:
            return tokens, False
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if (
                t in (r"\mathbb", r"\mathrm", r"\operatorname")
                and tokens[i + 1 : i + 4] == ["{", "E", "}"]
                and tokens[i + 4 : i + 5] == ["["]
            ):
                out += ["E"] if self.expect_to == "E" else tokens[i : i + 4]
                changed = changed or self.expect_to == "E"
                i += 4
                continue
            if (
                t == "E"
                and tokens[i + 1 : i + 2] == ["["]
                and self.expect_to == "bb"
                and not (out and out[-1] == "{")
            ):
                out += [r"\mathbb", "{", "E", "}"]
                changed = True
                i += 1
                continue
            out.append(t)
            i += 1
        return out, changed

    def _probability_letter(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``p(D\\mid +)`` for the card's ``P(D|T)`` (Murphy writes every probability with a lower-case p): on
        a card whose opaque keys are probabilities ``P(..)``, none ``p(..)``, and where p is no name and no
        alias, a ``p(`` is ``P(``."""
        if not self._lower_p_is_probability or "p" not in tokens:
            return tokens, False
        out = list(tokens)
        changed = False
        for q, t in enumerate(tokens[:-1]):
            if t == "p" and tokens[q + 1] == "(" and not (q and tokens[q - 1] in ("_", "^", "\\")):
                out[q] = "P"
                changed = True
        return out, changed

    def _has_opaque(self, tokens: list[str]) -> bool:
        """Is one of the card's opaque keys written in ``tokens`` (``\\frac{\\partial L}{\\partial x}`` once
        ``\\mathbf{x}`` is x: the font alone made it unreadable)?"""
        if any(
            _key_match(key, self.opaque_slots.get(key, ()), tokens, i) is not None
            for key in self.opaque
            for i in range(len(tokens) - len(key) + 1)
            if tokens[i] == key[0]
        ):
            return True
        try:
            c = canonical(join(tokens))
        except ParseError:
            return False
        return any(key in c for key in self.names.opaque if key.startswith("\\frac"))

    def _roman_keys(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\mathrm{IG}(S)``, ``\\operatorname{Gain}(S)``: a word in roman type that starts one of the card's
        opaque or alias keys before its ``(`` is that key's plain word."""
        if not any(t in (r"\mathrm", r"\operatorname", r"\text", r"\textrm") for t in tokens):
            return tokens, False
        starts = [k for k in self.opaque] + [a.key for a in self.aliases]
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t in (r"\mathrm", r"\operatorname", r"\text", r"\textrm") and tokens[i + 1 : i + 2] == ["{"]:
                e = _group_end(tokens, i + 1)
                word = tokens[i + 2 : e - 1]
                if (
                    len(word) >= 2
                    and all(re.fullmatch(r"[A-Za-z]", w) for w in word)
                    and tokens[e : e + 1] == ["("]
                    and any(tuple(k[: len(word) + 1]) == (*word, "(") for k in starts)
                ):
                    out += word
                    changed = True
                    i = e
                    continue
            out.append(t)
            i += 1
        return out, changed

    def _identity_size(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``I_d``, ``\\mathbf{I}_{n}``: the identity with its size written as a subscript (a declared
        dimension or a number) is the card's I, on a card with matrices."""
        if (
            "I" not in tokens
            or not self.names.has_shapes
            or self.names.kinds.get("I") not in (None, "identity")
        ):
            return tokens, False
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            if tokens[i] == "I" and tokens[i + 1 : i + 2] == ["_"]:
                e = _group_end(tokens, i + 2)
                word = "".join(_strip(tokens[i + 2 : e]))
                if (
                    word.isdigit()
                    or self.names.kinds.get(word) == "dim"
                    or (word in self.card.declarations.sizes)
                ):
                    out.append("I")
                    changed = True
                    i = e
                    continue
            out.append(tokens[i])
            i += 1
        return out, changed

    @functools.cached_property
    def _lower_p_is_probability(self) -> bool:
        keys = [k for k in self.opaque if len(k) > 1 and k[1] == "("]
        return (
            any(k[0] == "P" for k in keys)
            and not any(k[0] == "p" for k in keys)
            and self.names.kinds.get("p") is None
            and "p" not in self._by_first
            and not any(a.key[:1] == ("p",) for a in self.aliases)
        )

    def _expectation_as_sum(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\mathbb{E}_{x \\sim p}[f]`` (or ``E_{x\\sim p}``, ``\\mathbb{E}_{p}``) for a one-index scalar family p
        is ``\\sum_{x} p(x)(f)`` (Goodfellow et al. eq. 3.50); then rule 3 reads p(x) as p_x."""
        changed = False
        i = 0
        while i < len(tokens):
            j = None
            if tokens[i : i + 4] == [r"\mathbb", "{", "E", "}"]:
                j = i + 4
            elif tokens[i] == "E" and (i == 0 or tokens[i - 1] != "{"):
                j = i + 1
            if j is None or tokens[j : j + 1] != ["_"]:
                i += 1
                continue
            e = _group_end(tokens, j + 1)
            sub = _strip(tokens[j + 1 : e])
            var, fam = None, None
            if len(sub) >= 3 and sub[1] == r"\sim" and (len(sub) == 3 or sub[3:] == ["(", sub[0], ")"]):
                var, fam = sub[0], sub[2]  # E_{z \sim q}, E_{z \sim q(z)}
            elif len(sub) == 4 and sub[1] == "(" and sub[3] == ")" and re.fullmatch(r"[A-Za-z]", sub[2]):
                var, fam = sub[2], sub[0]  # E_{q(z)}
            elif len(sub) == 1:
                fam = sub[0]
            if fam is not None and fam not in self.families:
                fam = next((a.target[0] for a in self.aliases if a.key == (fam,) and a.family), fam)
            fkey = fam[1:] if fam is not None and fam.startswith("\\") and fam[1:] in self.families else fam
            if (
                fam is None
                or fkey not in self.scalar_families
                or len(self.families[fkey]) != 1
                or tokens[e : e + 1] != ["["]
            ):
                i += 1
                continue
            depth, k = 0, e
            while k < len(tokens):
                depth += tokens[k] in ("[", "(", "{")
                depth -= tokens[k] in ("]", ")", "}")
                if depth == 0:
                    break
                k += 1
            if k >= len(tokens):
                break
            if var is None:  # E_p[log q(x)]: the letter the body evaluates the distributions at
                raw = tokens[e + 1 : k]
                var = (
                    next(
                        (
                            raw[q + 2]
                            for q in range(len(raw) - 3)
                            if raw[q] in self.scalar_families
                            and raw[q + 1] == "("
                            and raw[q + 3] == ")"
                            and re.fullmatch(r"[a-z]", raw[q + 2])
                        ),
                        None,
                    )
                    or next(  # a family at a letter the card does not declare (l_z, an alias of p(x|z))
                        (
                            raw[q + 2] if raw[q + 2] != "{" else raw[q + 3]
                            for q in range(len(raw) - 2)
                            if raw[q] in self.scalar_families
                            and raw[q + 1] == "_"
                            and (
                                re.fullmatch(r"[a-z]", raw[q + 2])
                                or (
                                    raw[q + 2] == "{"
                                    and raw[q + 4 : q + 5] == ["}"]
                                    and re.fullmatch(r"[a-z]", raw[q + 3])
                                )
                            )
                            and (raw[q + 2] if raw[q + 2] != "{" else raw[q + 3]) not in self.names.kinds
                        ),
                        self.families[fkey],
                    )
                )
            body: list[str] = []
            for q, t in enumerate(tokens[e + 1 : k]):  # a bare distribution in the body is its value at var
                nxt = tokens[e + 2 + q] if e + 2 + q < k else None
                if t in self.scalar_families and len(self.families[t]) == 1 and nxt not in ("_", "("):
                    body += [t, "(", var, ")"]
                else:
                    body.append(t)
            new = [r"\sum", "_", "{", var, "}", fam, "(", var, ")", "(", *body, ")"]
            tokens = tokens[:i] + new + tokens[k + 1 :]
            changed = True
            i += len(new)
        return tokens, changed

    def _negated_derivatives(self, tokens: list[str], keep: frozenset) -> tuple[list[str], bool]:
        """``\\frac{\\partial \\ell}{\\partial w}`` where the card aliases ``\\ell`` to ``-L`` (CS229's ell is the
        log-likelihood, the card's L its negative) is ``(-\\frac{\\partial L}{\\partial w})``: an alias to a
        negated name is no name inside a derivative, so the sign goes outside it."""
        neg = {
            a.key: a.target[2:-1]
            for a in self.aliases
            if not a.params
            and len(a.target) == 4
            and a.target[:2] == ("(", "-")
            and a.target[-1] == ")"
            and _ATOM_RE.match(a.target[2])
            and not (keep and self._alias_name(a) in keep)
        }
        if not neg or r"\frac" not in tokens:
            return tokens, False
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            if (
                tokens[i] == r"\frac"
                and tokens[i + 1 : i + 2] == ["{"]
                and tokens[i + 2 : i + 3] in ([r"\partial"], ["d"])
            ):
                num_end = _group_end(tokens, i + 1)
                key = tuple(tokens[i + 3 : num_end - 1])
                if key not in neg and "(" in key and key[-1:] == (")",):
                    # \frac{\partial\ell(\beta)}{\partial\beta} (ESL 4.21): the name written with its argument
                    k = key.index("(")
                    if k > 0 and key[:k] in neg and all(t not in ("(", ")") for t in key[k + 1 : -1]):
                        key = key[:k]
                if key in neg and tokens[num_end : num_end + 1] == ["{"]:
                    den_end = _group_end(tokens, num_end)
                    out += [
                        "(",
                        "-",
                        r"\frac",
                        "{",
                        tokens[i + 2],
                        *neg[key],
                        "}",
                        *tokens[num_end:den_end],
                        ")",
                    ]
                    changed = True
                    i = den_end
                    continue
            out.append(tokens[i])
            i += 1
        return out, changed

    def _bare_nabla(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\nabla E`` and ``\\nabla\\nabla E`` without a variable (Bishop 4.3) are the gradient and the Hessian
        in the variable of the card's own gradients (``\\nabla_w``, ``\\nabla^2_w``)."""
        if self.grad_var is None or r"\nabla" not in tokens:
            return tokens, False
        sub = ["_", "{", *self.grad_var, "}"]
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            t = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if t == r"\nabla" and nxt == r"\nabla" and tokens[i + 2 : i + 3] not in (["_"], ["^"]):
                out += [r"\nabla", "^", "{", "2", "}", *sub]
                changed = True
                i += 2
                continue
            if t == r"\nabla" and nxt == "^" and i + 2 < len(tokens):
                e = _group_end(tokens, i + 2) if tokens[i + 2] == "{" else i + 3
                if tokens[e : e + 1] != ["_"]:
                    out += tokens[i:e] + sub
                    changed = True
                    i = e
                    continue
            if t == r"\nabla" and nxt not in ("_", "^", None):
                out += [r"\nabla", *sub]
                changed = True
                i += 1
                continue
            out.append(t)
            i += 1
        return out, changed

    def _integral_as_sum(self, tokens: list[str]) -> tuple[list[str], bool]:
        """``\\int f(z)\\,dz`` (bounds dropped) on a card whose distributions are one-index families over a
        discrete variable is ``\\sum_{z} (f(z))``: the continuous notation of a derivation the card writes
        with sums (Bishop 9.4 and 10.1 write the ELBO with integrals, for a sum over z "replace the integral
        by a sum"). The integration variable must be a letter the card gives no value."""
        if not any(len(self.families[f]) == 1 for f in self.scalar_families) or r"\int" not in tokens:
            return tokens, False
        changed = False
        i = 0
        while i < len(tokens):
            if tokens[i] != r"\int":
                i += 1
                continue
            j = i + 1
            while j < len(tokens) and tokens[j] in ("_", "^"):  # bounds: \int_{-\infty}^{\infty}
                j = _group_end(tokens, j + 1) if tokens[j + 1 : j + 2] == ["{"] else j + 2
            depth, k, var = 0, j, None
            while k < len(tokens) - 1:
                t = tokens[k]
                depth += t in ("(", "[", "{")
                depth -= t in (")", "]", "}")
                if depth < 0:
                    break
                if (
                    depth == 0
                    and t == "d"
                    and re.fullmatch(r"[A-Za-z]", tokens[k + 1])
                    and self.names.kinds.get(tokens[k + 1]) in (None, "index")
                    and not (k + 2 < len(tokens) and re.fullmatch(r"[A-Za-z]", tokens[k + 2]))
                ):
                    var = tokens[k + 1]
                    break
                k += 1
            if var is None:
                i += 1
                continue
            body = [t for t in tokens[j:k] if t not in (r"\,", r"\;", r"\!")]
            if not body and k + 2 < len(tokens):  # \int dz f(z): the rest of the term
                e = k + 2
                depth = 0
                while e < len(tokens) and not (
                    depth == 0 and tokens[e] in ("+", "-", "=", "<", ">", r"\le", r"\ge")
                ):
                    depth += tokens[e] in ("(", "[", "{")
                    depth -= tokens[e] in (")", "]", "}")
                    if depth < 0:
                        break
                    e += 1
                body, end = tokens[k + 2 : e], e
            else:
                end = k + 2
            if not body:
                i += 1
                continue
            new = [r"\sum", "_", "{", var, "}", "(", *body, ")"]
            tokens = tokens[:i] + new + tokens[end:]
            changed = True
            i += len(new)
        return tokens, changed

    def _set_sums(self, tokens: list[str]) -> tuple[list[str], bool]:
        """Ioffe & Szegedy's and Goodfellow's mini-batch sums: on a card whose own aliases name the set its index
        runs over (batch norm's ``\\mu_{\\mathcal{B}}``: the examples of the card are the batch B), ``\\sum_{i \\in
        \\mathcal{B}}`` is the card's ``\\sum_i`` and ``|\\mathcal{B}|`` its count. On any other card a sum over a set
        (a mini-batch of a larger sample) is left as written (unparsed, never the full sum)."""
        if r"\in" not in tokens and "|" not in tokens:
            return tokens, False
        sets = self._batch_sets
        if not sets or len(self.indices) != 1:
            return tokens, False
        letter, (_, count) = next(iter(self.indices.items()))
        out: list[str] = []
        changed = False
        i, n = 0, len(tokens)
        while i < n:
            t = tokens[i]
            if (
                t in (r"\sum", r"\prod")
                and tokens[i + 1 : i + 3] == ["_", "{"]
                and i + 6 < n
                and re.fullmatch(r"[A-Za-z]", tokens[i + 3])
                and tokens[i + 4] == r"\in"
                and tokens[i + 5] in sets
                and tokens[i + 6] == "}"
            ):
                out += [t, "_", "{", tokens[i + 3], "}"]
                i += 7
                changed = True
                continue
            if t == "|" and i + 2 < n and tokens[i + 1] in sets and tokens[i + 2] == "|":
                out += _tokens(count)
                i += 3
                changed = True
                continue
            out.append(t)
            i += 1
        return out, changed

    @functools.cached_property
    def _batch_sets(self) -> frozenset:
        """The set letters the card's aliases write as a subscript of a card name (``\\mu_{\\mathcal{B}}``: B)."""
        out = set()
        for a in self.aliases:
            k = a.key
            if len(k) == 5 and k[1:3] == ("_", "{") and k[4] == "}" and re.fullmatch(r"[A-Z]", k[3]):
                if self.names.kinds.get(k[3]) is None:
                    out.add(k[3])
        return frozenset(out)

    def _sample_superscripts(self, tokens: list[str]) -> tuple[list[str], bool]:
        """Rule 3's ``x^{(i)} -> x_{i}`` for the card's families, done before the aliases too, so a declared
        opaque key written with Ng's sample index (``p(x^{(i)};\\theta)`` for ``p(x_i|\\theta)``) is
        recognised and protected before an alias of one of its letters (p for theta) reaches inside it."""
        if "(" not in tokens or "^" not in tokens:
            return tokens, False
        out: list[str] = []
        changed = False
        i, n = 0, len(tokens)
        while i < n:
            name, j = self._name_at(tokens, i)
            if (name in self.families or name in self._pattern_keys) and (
                k := _sample_superscript(tokens, j)
            ):
                out += tokens[i:j] + ["_", "{", k, "}"]
                i = j + 6
                changed = True
                continue
            j = max(j, i + 1)
            out += tokens[i:j]
            i = j
        return out, changed

    def indicators(self, latex: str) -> str:
        """The indicator or Iverson bracket of two index letters, ``\\mathbb{1}[k=i]``, ``[j=l]``, is the Kronecker
        delta ``\\delta_{ki}`` (Knuth 1992; Murphy's softmax Jacobian). Only when neither letter is a name of the
        card other than an index (``\\mathbb{1}[y=k]`` with y the card's label vector is left alone: a class
        label's value is not an index here). ``latex`` itself when nothing applies."""
        if "=" not in latex or ("[" not in latex and "1" not in latex):
            return latex

        def rep(m: re.Match[str]) -> str:
            a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            if any(self.names.kinds.get(x) not in (None, "index") for x in (a, b)) or a == b:
                return m.group(0)
            return rf"\delta_{{{a}{b}}}"

        return _INDICATOR.sub(rep, latex)

    def sample_functions(self, latex: str) -> str:
        """CS229's hypothesis of one sample, ``h_\\theta(x^{(i)})`` (also ``h(x_i)``, ``f_{\\mathbf w}(x^{(i)})``):
        a letter the card does not declare (no alias starts with it), with at most a one-token parameter
        subscript, applied to one element of a family of the card, is the user's per-example quantity
        ``h_{i}`` (a pattern over the example index), so ``h_\\theta(x^{(i)}) = \\sigma(\\theta^Tx^{(i)})`` defines it
        and ``\\log h_\\theta(x^{(i)})`` uses it. ``latex`` itself when nothing applies."""
        if "(" not in latex or not any(m.group(1) in self.families for m in _SAMPLE_ARG.finditer(latex)):
            return latex  # no family element as a whole argument: the common case, without tokenising
        try:
            tokens = canon_tokens(tokenize(clean(latex)))
        except (ParseError, RecursionError, IndexError, ValueError):
            return latex
        out: list[str] = []
        changed = False
        i, n = 0, len(tokens)
        while i < n:
            t = tokens[i]
            if (
                re.fullmatch(r"[A-Za-z]", t)
                and (i == 0 or tokens[i - 1] not in ("\\", "_", "^"))
                and self.names.kinds.get(t) is None
                and t not in self._by_first
                and t not in self.indices
            ):
                j = i + 1
                if tokens[j : j + 1] == ["_"]:
                    e = _group_end(tokens, j + 1)
                    sub = _strip(tokens[j + 1 : e])
                    sub = _strip(sub[1:]) if sub and sub[0].lstrip("\\") in FONTS_DROPPED else sub
                    if len(sub) != 1 or sub[0] in self.indices:
                        out.append(t)
                        i += 1
                        continue
                    j = e
                letter = self._sample_argument(tokens, j)
                if letter is not None:
                    out += [t, "_", "{", letter, "}"]
                    i = _close_paren(tokens, j) + 1
                    changed = True
                    continue
            out.append(t)
            i += 1
        return join(out) if changed else latex

    def _sample_argument(self, tokens: list[str], j: int) -> str | None:
        """The index letter when ``tokens[j:]`` is ``( x^{(i)} )`` or ``( x_{i} )`` with x a family of the card
        (bold or not) and i one letter; None otherwise."""
        if tokens[j : j + 1] != ["("]:
            return None
        k = j + 1
        if k < len(tokens) and tokens[k].lstrip("\\") in FONTS_DROPPED and tokens[k + 1 : k + 2] == ["{"]:
            e = _group_end(tokens, k + 1)
            inner = _strip(tokens[k + 1 : e])
            rest = [*inner, *tokens[e:]]
        else:
            rest = tokens[k:]
        if not rest or rest[0] not in self.families or len(self.families[rest[0]]) != 1:
            return None
        if (letter := _sample_superscript(rest, 1)) is not None and rest[7:8] == [")"]:
            return letter
        if rest[1:3] == ["_", "{"] and rest[4:6] == ["}", ")"] and re.fullmatch(r"[A-Za-z]", rest[3]):
            return rest[3]
        return None

    def _index_notation(self, tokens: list[str]) -> tuple[list[str], bool]:
        """Rule 3: x^{(i)} -> x_{i} and, with x the variable of a sum in the step, p(x) -> p_{x}."""
        tokens, changed_int = self._integral_as_sum(tokens)
        tokens, changed0 = self._expectation_as_sum(tokens)
        changed0 = changed0 or changed_int
        prot = self._protected(tokens)
        summed = {v for v, where in self._subscript_uses(tokens).items() if r"\sum" in where}
        out: list[str] = []
        changed = changed0
        i = 0
        n = len(tokens)
        while i < n:
            name, j = (None, i + 1) if prot[i] else self._name_at(tokens, i)
            if name in self.families and j < n and tokens[j] == "_":
                # x_j^{(i)} (CS229): component j of example i, x_{ij}
                e = _group_end(tokens, j + 1)
                sub = _strip(tokens[j + 1 : e])
                if (
                    len(sub) == 1
                    and re.fullmatch(r"[A-Za-z]", sub[0])
                    and (k := _sample_superscript(tokens, e))
                ):
                    out += tokens[i:j] + ["_", "{", k, sub[0], "}"]
                    i = e + 6
                    changed = True
                    continue
            if name in self.families and j < n:
                # x^{(i)}
                if k := _sample_superscript(tokens, j):
                    out += tokens[i:j] + ["_", "{", k, "}"]
                    i = j + 6
                    changed = True
                    continue
                # p(x) for a one-index scalar family, with a letter that is not a value on the card
                if (
                    name in self.scalar_families
                    and len(self.families[name]) == 1
                    and tokens[j : j + 1] == ["("]
                    and j + 2 < n
                    and tokens[j + 2] == ")"
                    and re.fullmatch(r"[A-Za-z]", tokens[j + 1])
                    and tokens[j + 1] in summed
                    and self.names.kinds.get(tokens[j + 1]) in (None, "index")
                ):
                    out += tokens[i:j] + ["_", "{", tokens[j + 1], "}"]
                    i = j + 3
                    changed = True
                    continue
            out += tokens[i:j]
            i = j
        return out, changed

    def _subscript_uses(self, tokens: list[str]) -> dict[str, set[str]]:
        """letter -> names it is a one-letter subscript of (or "\\sum" for a sum index)."""
        uses: dict[str, set[str]] = {}
        self._positions: dict[tuple[str, str], int] = {}
        n = len(tokens)
        for i in range(n):
            if tokens[i] != "_" or i == 0:
                continue
            j = _group_end(tokens, i + 1)
            sub = _strip(tokens[i + 1 : j])
            if tokens[i - 1] in (r"\sum", r"\prod"):
                if sub and re.fullmatch(r"[A-Za-z]", sub[0]) and (len(sub) == 1 or sub[1] == "="):
                    uses.setdefault(sub[0], set()).add(r"\sum")
                continue
            # the name before the subscript
            k = i - 1
            if tokens[k] == "}":
                depth, q = 0, k
                while q >= 0:
                    depth += tokens[q] == "}"
                    depth -= tokens[q] == "{"
                    if depth == 0:
                        break
                    q -= 1
                k = q - 1
            name, _ = self._name_at(tokens, k) if k >= 0 else (None, 0)
            letters = [s for s in sub if s != ","]
            if name is None or not all(re.fullmatch(r"[A-Za-z]", s) for s in letters):
                continue
            if len(letters) == 2 and self._example_component(name, letters):
                # x_{ij} (ESL): feature j of example i of a family of vectors: j is a component
                uses.setdefault(letters[0], set()).add(name)
                self._positions[(letters[0], name)] = 0
                uses.setdefault(letters[1], set()).add(name)
                self._positions[(letters[1], name)] = 1
                continue
            if len(letters) > 1 and len(self.families.get(name, "")) != len(letters):
                continue  # x_{new}: a name, not indices
            for pos, s in enumerate(letters):
                uses.setdefault(s, set()).add(name)
                self._positions[(s, name)] = pos
        return uses

    def _example_component(self, name: str, letters: list[str]) -> bool:
        """Is ``name_{ab}`` element b of example a (ESL's x_{ij}): ``name`` a one-index family of column
        vectors, a its index (or a letter the card does not declare) and b a letter the card does not
        declare?"""
        fam = self.families.get(name, "")
        if len(fam) != 1 or name not in self.vectors:
            return False
        a, b = letters
        kind_a = self.names.kinds.get(a)
        return (
            (a == fam or kind_a is None)
            and a != b
            and self.names.kinds.get(b) is None
            and b not in self.indices
        )

    def _greek_indices(self, tokens: list[str]) -> tuple[list[str], bool]:
        """A Greek letter used as an index (``\\sum_{\\tau=1}^{t}\\beta_1^{t-\\tau}g_\\tau``: Kingma & Ba, Sutton &
        Barto's time index, ``x_\\nu``) that is no name of the card: read as a Latin index letter the step does
        not use (the card's own index when free), so the index rules (:meth:`_index_letters`) and the aliases
        written with the card's index (``E[g_i]``) apply to it. (A primed index letter is :func:`_primed_indices`'.)"""
        n = len(tokens)
        found: list[str] = []
        for i in range(1, n - 1):
            if tokens[i] != "_":
                continue
            j = _group_end(tokens, i + 1)
            sub = _strip(tokens[i + 1 : j])
            g = sub[0] if sub else ""
            if not (g.startswith("\\") and g[1:] in _GREEK_CMDS) or g in found:
                continue
            summed = tokens[i - 1] in (r"\sum", r"\prod") and sub[1:2] == ["="]
            base = tokens[i - 1].lstrip("\\")
            if not (summed or (len(sub) == 1 and base in self.families)):
                continue  # \pi_\theta: a name, not an index
            if self.names.kinds.get(g[1:]) is not None or any(g in a.key for a in self.aliases):
                continue
            found.append(g)
        if not found:
            return tokens, False
        present = {t for t in tokens if re.fullmatch(r"[A-Za-z]", t)}
        free = [x for x in sorted(self.indices) if x not in present]
        free += [
            x for x in "jkslmqruv" if x not in present and x not in free and self.names.kinds.get(x) is None
        ]
        rename = dict(zip(found, free, strict=False))
        if not rename:
            return tokens, False
        return [rename.get(t, t) for t in tokens], True

    def _index_letters(self, tokens: list[str]) -> tuple[list[str], bool, set[str]]:
        """Rule 4: undeclared index letters -> the card's index. Returns (tokens, changed, component letters)."""
        uses = self._subscript_uses(tokens)
        present = {t for t in tokens if re.fullmatch(r"[A-Za-z]", t)}
        components: set[str] = set()
        rename: dict[str, str] = {}
        bare_sums: dict[str, str] = {}
        for letter, where in uses.items():
            if self.names.kinds.get(letter) is not None or letter in self.indices:
                continue
            fams = [w for w in where if w in self.families]
            if (
                fams
                and all(w in self.vectors for w in where if w != r"\sum")
                and r"\sum" not in where
                and all(w in self.vectors or w not in self.names.kinds for w in where)
            ):
                components.add(letter)
                continue
            if any(w in self.vectors for w in where) and not fams:
                components.add(letter)
                continue
            target = None
            for w in sorted(fams):
                pos = self._positions.get((letter, w), 0)
                target = self.families[w][min(pos, len(self.families[w]) - 1)]
                break
            if target is not None and r"\sum" not in where:
                same = [x for x, b in self.indices.items() if b == self.indices.get(target)]
                best = max(same, key=lambda x: (self.free_letters.get(x, 0), x == target))
                if best not in present:
                    target = best
            if target is None and r"\sum" in where and len(self.indices) >= 1:
                target = sorted(self.indices)[0] if len(self.indices) == 1 else None
            if target is None:
                continue
            if target not in present and target not in rename.values():
                rename[letter] = target
            elif r"\sum" in where:
                bare_sums[letter] = target
        bound = False
        for _ in range(4):
            hit = self._bound_declared(tokens, set(rename.values()) | set(bare_sums.values()))
            if not hit:
                break
            tokens, letter, target = hit
            bound = True
        if not rename and not bare_sums:
            return tokens, bool(bound), components
        out = [rename.get(t, t) if re.fullmatch(r"[A-Za-z]", t) else t for t in tokens]
        # bare \sum_j with a letter that keeps its name: the bounds of the index it stands for
        res: list[str] = []
        i = 0
        while i < len(out):
            if out[i] in (r"\sum", r"\prod") and out[i + 1 : i + 2] == ["_"]:
                j = _group_end(out, i + 2)
                sub = _strip(out[i + 2 : j])
                if len(sub) == 1 and sub[0] in bare_sums and out[j : j + 1] != ["^"]:
                    lo, hi = self.indices[bare_sums[sub[0]]]
                    res += [out[i], "_", "{", sub[0], "=", *_tokens(lo), "}", "^", "{", *_tokens(hi), "}"]
                    i = j
                    continue
            res.append(out[i])
            i += 1
        return res, True, components

    def _bound_declared(
        self,
        tokens: list[str],
        renamed: set[str],
        own_bound_only: bool = False,
        keep: frozenset = frozenset(),
    ):
        """``\\sum_{n=1}^{N} x_n`` with n declared as a number (Bishop): the sum's variable and the family
        subscripts written with it become the family's index (i), when i is not written in the step;
        ``renamed``: the index letters other letters of the step are about to be renamed to (rule 4), which
        n must not merge with (it then takes another free index of i's range, or is left);
        ``own_bound_only``: only a sum whose upper bound is its own letter (``\\sum_{n=1}^{n}``, an alias N of
        the card's n in the bound) whose letter subscripts only the card's own families and no name in
        ``keep`` (the user's own r_{nk} keeps its letters).
        Returns (tokens, letter, index) or None."""
        for i in range(len(tokens) - 3):
            if tokens[i] not in (r"\sum", r"\prod") or tokens[i + 1 : i + 3] != ["_", "{"]:
                continue
            letter = tokens[i + 3]
            if tokens[i + 4 : i + 5] != ["="] or self.names.kinds.get(letter) in (None, "index"):
                continue
            if own_bound_only:
                e = _group_end(tokens, i + 2)
                if tokens[e : e + 1] != ["^"] or letter not in tokens[e + 1 : _group_end(tokens, e + 1)]:
                    continue
            uses = self._subscript_uses(tokens).get(letter, set())
            if own_bound_only and (
                uses & set(keep)
                or any(w not in self.families for w in uses - {r"\sum"})
                or self._subscripts_other_name(tokens, letter)
            ):
                continue  # a name the card does not index (the user's r_{nk}) keeps the user's letters
            fams = sorted(w for w in uses if w in self.families)
            if not fams:
                continue
            target = self.families[fams[0]][0]
            if target not in self.indices:
                continue
            written = {
                tokens[q] for q in range(len(tokens)) if not (q >= 3 and tokens[q - 3] in (r"\sum", r"\prod"))
            }
            if target in written:
                continue  # i is written in the step: renaming n to i would merge two indices
            if target in renamed:
                # another letter of the step is being renamed to i (\sum_{n=1}^{N}\sum_{m=1}^{N} a_na_m,
                # Bishop 7.10): n takes a declared index of the same range that nothing else uses (j)
                free = sorted(
                    x
                    for x, rng in self.indices.items()
                    if rng == self.indices[target]
                    and x not in renamed
                    and x not in written
                    and x not in tokens
                )
                if not free:
                    continue
                target = free[0]
            out = list(tokens)
            for q in range(len(out) - 4):  # every sum over that letter
                if (
                    out[q] in (r"\sum", r"\prod")
                    and out[q + 1 : q + 4] == ["_", "{", letter]
                    and out[q + 4] == "="
                ):
                    out[q + 3] = target
            k = 0
            while k < len(out):
                if out[k] == "_" and k > 0 and out[k - 1] not in (r"\sum", r"\prod"):
                    e = _group_end(out, k + 1)
                    for q in range(k + 1, e):
                        if out[q] == letter:
                            out[q] = target
                    k = e
                    continue
                k += 1
            return out, letter, target
        return None

    def _subscripts_other_name(self, tokens: list[str], letter: str) -> bool:
        """Is ``letter`` in the subscript of a name that is not one of the card's families of that many
        indices (the user's ``r_{nk}`` on a card whose responsibilities are gamma_{ik})?"""
        for i in range(1, len(tokens)):
            if tokens[i] != "_" or tokens[i - 1] in (r"\sum", r"\prod"):
                continue
            sub = [t for t in _strip(tokens[i + 1 : _group_end(tokens, i + 1)]) if t != ","]
            if letter not in sub:
                continue
            name, _ = self._name_at(tokens, i - 1)
            if name is None or len(self.families.get(name, "")) != len(sub):
                return True
        return False

    def _einstein(self, tokens: list[str], components: set[str]) -> tuple[list[str], bool]:
        """Einstein's summation convention: a component letter written exactly twice in the step, on two
        adjacent vector factors (``w_jx_{ij}``, ``\\theta_j\\cdot x_j``) and nowhere else, is summed: their inner
        product ``(w^{\\top}x_{i})``. (A free component letter, ``\\partial L/\\partial w_j = \\dots x_{ij}``, is written
        on both sides and is left to rule 5.) Removes the letters it reads from ``components``."""
        changed = False
        for c in sorted(components):
            if sum(t == c for t in tokens) != 2:
                continue
            spots: list[tuple[int, int, int, list[str]]] = []  # (start, subscript, end, subscript kept)
            i, n = 0, len(tokens)
            while i < n:
                name, j = self._name_at(tokens, i)
                if name is not None and name in self.vectors and tokens[j : j + 1] == ["_"]:
                    e = _group_end(tokens, j + 1)
                    sub = _strip(tokens[j + 1 : e])
                    if sub == [c]:
                        spots.append((i, j, e, []))
                    elif len(sub) == 2 and sub[1] == c and self._example_component(name, sub):
                        spots.append((i, j, e, ["_", "{", sub[0], "}"]))
                i = max(j, i + 1)
            if len(spots) != 2 or tokens[spots[0][2] : spots[0][2] + 1] == ["^"]:
                continue
            (a0, a1, a2, ka), (b0, b1, b2, kb) = spots
            gap = tokens[a2:b0]
            if gap not in ([], [r"\cdot"]) or tokens[b2 : b2 + 1] == ["^"]:
                continue
            inner = ["(", *tokens[a0:a1], *ka, "^", "{", r"\top", "}", *tokens[b0:b1], *kb, ")"]
            tokens = tokens[:a0] + inner + tokens[b2:]
            components.discard(c)
            changed = True
        return tokens, changed

    def _per_example(self, tokens: list[str], components: set[str], witness: bool) -> tuple[list[str], bool]:
        """Rule 5: component subscripts dropped; a one-example step gets the example index back."""
        changed = False
        if components:
            out: list[str] = []
            i = 0
            n = len(tokens)
            ok = True
            while i < n:
                name, j = self._name_at(tokens, i)
                if name is not None and (name in self.vectors) and tokens[j : j + 1] == ["_"]:
                    e = _group_end(tokens, j + 1)
                    sub = _strip(tokens[j + 1 : e])
                    if len(sub) == 1 and sub[0] in components:
                        if tokens[e : e + 1] == ["^"]:
                            ok = False  # a power of a component is not a vector statement
                        out += tokens[i:j]
                        i = e
                        continue
                    if len(sub) == 2 and sub[1] in components and self._example_component(name, sub):
                        # x_{ij}: component j of example i -> example i
                        if tokens[e : e + 1] == ["^"]:
                            ok = False
                        out += [*tokens[i:j], "_", "{", sub[0], "}"]
                        i = e
                        continue
                out += tokens[i:j]
                i = j
            if ok:
                tokens, changed = out, True
        if not self.per_example:
            return tokens, changed
        if any(t in (r"\sum", r"\prod") for t in tokens):
            return tokens, changed
        prot = self._protected(tokens)
        bare: list[int] = []
        summed: list[int] = []
        i = 0
        n = len(tokens)
        while i < n:
            if prot[i]:
                i += 1
                continue
            name, j = self._name_at(tokens, i)
            if name is None:
                i = j
                continue
            sub = tokens[j : j + 1] == ["_"]
            if name in self.stack_only:
                return tokens, changed  # a matrix form (X^T(p - y)) is not one example
            if name in self.families and not sub and self.per_example in self.families[name]:
                bare.append(i)
                if name not in self.names.stacks:
                    witness = True
            elif name in self.summands and not sub:
                summed.append(i)
            i = j
        if bare and (components or summed):
            witness = True  # a summed quantity (scalar) next to a family written without its index
        if not witness or not (bare or summed):
            return tokens, changed
        out = []
        i = 0
        while i < n:
            if i in bare:
                name, j = self._name_at(tokens, i)
                out += tokens[i:j] + ["_", "{", self.per_example, "}"]
                i = j
                continue
            if i in summed:
                name, j = self._name_at(tokens, i)
                out += list(self.summands[name])
                i = j
                continue
            out.append(tokens[i])
            i += 1
        return out, True

    def _inner_products(self, tokens: list[str]) -> tuple[list[str], bool]:
        """Rule 6: \\langle a, b\\rangle -> (a)^T(b); u \\cdot v of two vectors -> u^T v; and a prime after a
        name that is not a function (K', \\delta_1') is a transpose on a card with shapes."""
        changed = False
        if self.names.has_shapes and "'" in tokens:
            out0: list[str] = []
            for q, t in enumerate(tokens):
                if t == "'" and q > 0:
                    k = q - 1
                    if tokens[k] == "}":
                        depth, r = 0, k
                        while r >= 0:
                            depth += tokens[r] == "}"
                            depth -= tokens[r] == "{"
                            if depth == 0:
                                break
                            r -= 1
                        k = r - 2 if r >= 2 and tokens[r - 1] == "_" else r - 1
                    name, _ = self._name_at(tokens, k) if k >= 0 else (None, 0)
                    try:
                        full = name_key(join(tokens[k:q])) if k >= 0 else None
                    except ParseError:
                        full = None
                    if full in self.names.kinds:
                        name = full
                    if (
                        name is not None
                        and self.names.kinds.get(name) in ("defined", "matrix", "family")
                        and q + 1 < len(tokens)
                        and tokens[q + 1] != "("
                        or (
                            name is not None
                            and self.names.kinds.get(name) in ("defined", "matrix", "family")
                            and q + 1 == len(tokens)
                        )
                    ):
                        out0 += ["^", "{", "T", "}"]
                        changed = True
                        continue
                out0.append(t)
            tokens = out0
        i = _find(tokens, (r"\langle",))
        while i >= 0:
            depth, j, comma = 0, i + 1, None
            while j < len(tokens) and not (tokens[j] == r"\rangle" and depth == 0):
                depth += tokens[j] in ("(", "{", "[", r"\langle")
                depth -= tokens[j] in (")", "}", "]", r"\rangle")
                if tokens[j] == "," and depth == 0 and comma is None:
                    comma = j
                j += 1
            if j >= len(tokens) or comma is None:
                break
            a, b = tokens[i + 1 : comma], tokens[comma + 1 : j]
            tokens = tokens[:i] + ["(", "(", *a, ")", "^", "{", "T", "}", "(", *b, ")", ")"] + tokens[j + 1 :]
            changed = True
            i = _find(tokens, (r"\langle",))
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if tokens[i] == r"\cdot" and out:
                left = self._vector_before(out)
                right_end = self._vector_after(tokens, i + 1)
                if left and right_end:
                    out += ["^", "{", "T", "}"]
                    out += tokens[i + 1 : right_end]
                    i = right_end
                    changed = True
                    continue
            out.append(tokens[i])
            i += 1
        return out, changed

    def _is_vector(self, name: str | None, subscripted: bool) -> bool:
        if name is None:
            return False
        if name in self.families:
            # x_i, or a bare x that is its generic example (no stacked vector of its own name)
            return name in self.vectors and (subscripted or name not in self.names.stacks)
        return name in self.vectors and not subscripted

    def _vector_before(self, out: list[str]) -> bool:
        k = len(out) - 1
        sub = False
        if out[k] == "}":
            depth, q = 0, k
            while q >= 0:
                depth += out[q] == "}"
                depth -= out[q] == "{"
                if depth == 0:
                    break
                q -= 1
            if q >= 1 and out[q - 1] == "_":
                sub, k = True, q - 2
            else:
                return False
        elif k >= 1 and out[k - 1] == "_":
            sub, k = True, k - 2
        if k < 0:
            return False
        name, _ = self._name_at(out, k)
        if k >= 1 and out[k - 1] in ("^", "_"):
            return False
        return self._is_vector(name, sub)

    def _vector_after(self, tokens: list[str], i: int) -> int | None:
        if i >= len(tokens):
            return None
        name, j = self._name_at(tokens, i)
        sub = tokens[j : j + 1] == ["_"]
        if sub:
            j = _group_end(tokens, j + 1)
        if tokens[j : j + 1] == ["^"]:
            return None
        return j if self._is_vector(name, sub) else None

    # ------------------------------------------------------------------ entry point
    def _mentions(self, tokens: list[str], keep: frozenset) -> bool:
        """Does the step write one of the names in ``keep``?"""
        i = 0
        while i < len(tokens):
            nm, j = self._name_at(tokens, i)
            if nm is not None and nm in keep:
                return True
            i = max(j, i + 1)
        return False

    def rewrite(self, latex: str, keep: frozenset = frozenset(), params: bool = False) -> str:
        """The step in the card's names (see the module docstring); ``latex`` itself when nothing applies.
        ``keep``: internal names the user defined in the run (no alias rewrites them); ``params``: the step
        is the user's own definition (an alias to a constant, the card's absent bias, is not applied). A
        step that defines a name or writes one of ``keep`` gets the spelling, alias, ``x^{(i)}`` and inner
        product rules only: the checker reads its index letters and per-example forms in the user's names."""
        try:
            accented = self.indicators(self.sample_functions(_accents(latex)))
            raw = canon_tokens(tokenize(clean(accented)))
        except (ParseError, RecursionError, IndexError, ValueError):
            return latex
        if len(raw) > _MAX_TOKENS:
            return latex
        try:
            tokens, changed = _prep(raw)
            tokens, cq = _primed_indices(tokens)
            changed = changed or cq
            tokens, co = _script_order(tokens)
            tokens, cg = self._layer_gradients(tokens)
            changed = changed or co or cg
            tokens, cb = _bare_expectation(tokens)
            changed = changed or cb
            tokens, cm = self._moment_brackets(tokens)
            tokens, c1 = self._expectation_spelling(tokens)
            c1 = c1 or cm
            tokens, cp = self._probability_letter(tokens)
            tokens, cr = self._roman_keys(tokens)
            c1 = c1 or cp or cr or (changed and self._has_opaque(tokens))
            tokens, ci = self._identity_size(tokens)
            c1 = c1 or ci
            c1 = (
                c1 or accented != latex or any(t in (r"\hat", r"\bar", r"\tilde") for t in tokens) and changed
            )
            tokens, c0 = self._negated_derivatives(tokens, keep)
            tokens, cs = self._sample_superscripts(tokens)
            tokens, cset = self._set_sums(tokens)
            c0 = c0 or cs or cset
            not_count = self._other_count_letters(tokens)
            tokens, c2, witness = self._apply_aliases(tokens, keep, params, not_count)
            c2 = c2 or c0
            for _ in range(2):  # D(P\|Q) -> D(p\|q) -> D_{KL}(p\| q)
                tokens, again, w2 = self._apply_aliases(tokens, keep, params, not_count)
                witness = witness or w2
                if not again:
                    break
            tokens, c8 = self._opaque_letters(tokens)
            tokens, c9 = self._function_components(tokens)
            tokens, cv = self._scaled_variance(tokens)
            tokens, ce = self._scaled_expectation(tokens)
            c2 = c2 or c8 or c9 or cv or ce
            tokens, c3 = self._index_notation(tokens)
            tokens, cgr = self._greek_indices(tokens)  # an index the parser cannot read, whoever defines it
            c3 = c3 or cgr
            if params or (keep and self._mentions(tokens, keep)):
                # the user's own definitions are in play: index letters, components and per-example
                # forms are read by the checker in the user's names (maths/checker.py), not rewritten here;
                # only a sum over a letter the card declares as a number (\sum_{n=1}^{N}, N the alias of n)
                # takes a free index, or the sum would run over its own bound (a name the user defined keeps
                # its letters: r_{nk})
                c4 = c5 = False
                for _ in range(4):
                    hit = self._bound_declared(tokens, set(), own_bound_only=True, keep=keep)
                    if not hit:
                        break
                    tokens, c4 = hit[0], True
            else:
                tokens, c4, components = self._index_letters(tokens)
                c4 = c4 or cgr
                if c4:
                    # an alias written with the user's index letter (E[g_k] for the card's 'E[g_i]') applies
                    # once the letter is the card's
                    tokens, _, w3 = self._apply_aliases(tokens, keep, params, not_count)
                    witness = witness or w3
                tokens, ce = self._einstein(tokens, components)
                tokens, c5 = self._per_example(tokens, components, witness)
                c5 = c5 or ce
            tokens, c6 = self._inner_products(tokens)
            tokens, c7 = self._bare_nabla(tokens)
            c6 = c6 or c7
        except (ParseError, IndexError, ValueError, KeyError, TypeError, RecursionError):
            return latex  # a step the rules cannot follow is parsed as written
        if not (c1 or c2 or c3 or c4 or c5 or c6):
            return latex  # spelling alone: the parser reads it as written
        return join(tokens)

    def render(self, latex: str, choice: dict[str, str]) -> str:
        """The card's step written in another notation: ``choice`` maps card names (LaTeX, e.g. ``p``)
        to written forms (``\\hat{y}``); a family's subscript is kept (``p_i`` -> ``\\hat{y}_i``). For
        tests and for showing the reference chain in the user's own letters."""
        tokens = canon_tokens(tokenize(clean(latex)))
        prot = self._protected(tokens)
        subs = []
        for card_name, written in choice.items():
            subs.append(
                (tuple(canon_tokens(tokenize(clean(card_name)))), canon_tokens(tokenize(clean(written))))
            )
        subs.sort(key=lambda s: len(s[0]), reverse=True)
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for key, w in subs:
                k = len(key)
                if tuple(tokens[i : i + k]) == key and not any(prot[i : i + k]):
                    nxt = tokens[i + k] if i + k < len(tokens) else None
                    prev = out[-1] if out else None
                    if prev in ("_", "^") or (nxt == "_" and key[-1] == "}"):
                        continue
                    if nxt == "_" and name_key(join(list(key))) not in self.families:
                        continue  # d -> d_{model} does not apply to d_k
                    if (
                        len(w) > 1
                        and all(re.fullmatch(r"[A-Za-z]", x) for x in w)
                        and (prev and re.fullmatch(r"[A-Za-z]", prev))
                    ):
                        w = ["{", *w, "}"]  # \frac{d{LL}}{dp}
                    out += w
                    i += k
                    break
            else:
                out.append(tokens[i])
                i += 1
        return join(out)


def _variants(key: str) -> list[str]:
    """A key and its spellings: a multi-letter word written as text (KL, \\mathrm{KL}, \\operatorname{KL}), a
    sub- and superscript in either order (D_G^* and D^*_G), \\ln for \\log."""
    out = [key]
    # a sub- and a superscript in either order: D_G^* and D^*_G
    sw = re.sub(r"_(\{[^{}]*\}|[A-Za-z0-9])\^(\{[^{}]*\}|\*|[A-Za-z0-9])", r"^\2_\1", key)
    if sw == key:
        sw = re.sub(r"\^(\{[^{}]*\}|\*|[A-Za-z0-9])_(\{[^{}]*\}|[A-Za-z0-9])", r"_\2^\1", key)
    if sw != key:
        out.append(sw)
    if r"\log" in key:  # \ln L for \log L (the parser reads \ln as \log; an alias key is matched on tokens)
        out.append(re.sub(r"\\log(?![A-Za-z])", lambda _: r"\ln", key))
    m = re.search(r"(?<![\\A-Za-z{])([A-Za-z]{2,})(?![A-Za-z}])", key)
    if m and "_" not in key[max(0, m.start() - 2) : m.start()]:
        w = m.group(1)
        for cmd in ("mathrm", "operatorname", "text"):
            out.append(key[: m.start()] + "\\" + cmd + "{" + w + "}" + key[m.end() :])
    return out


def _split_parts(sub: list[str], k: int) -> list[list[str]] | None:
    if k == 1:
        return [sub] if sub else None
    if "," in sub:
        parts, cur = [], []
        for t in sub:
            if t == ",":
                parts.append(cur)
                cur = []
            else:
                cur.append(t)
        parts.append(cur)
        return parts if len(parts) == k and all(parts) else None
    if len(sub) == k:
        return [[t] for t in sub]
    return None


def _substitute(target: tuple[str, ...], params: tuple[str, ...], parts: list[list[str]]) -> list[str]:
    m = dict(zip(params, parts, strict=True))
    out: list[str] = []
    for t in target:
        if t in m:
            p = m[t]
            out += p if len(p) == 1 else ["{", *p, "}"]
        else:
            out.append(t)
    return out


_CACHE: dict[int, tuple[Card, NotationRules]] = {}


def rules_for(card: Card) -> NotationRules:
    """The card's :class:`NotationRules` (cached per card object)."""
    hit = _CACHE.get(id(card))
    if hit is not None and hit[0] is card:
        return hit[1]
    if len(_CACHE) > 64:
        _CACHE.clear()
    r = NotationRules(card)
    _CACHE[id(card)] = (card, r)
    return r


def rewrite_step(card: Card, latex: str, keep: frozenset = frozenset(), params: bool = False) -> str:
    """A step's LaTeX in the card's own names (the checker's hook, called where a step is parsed).

    ``keep``: internal names (``hat_y``) the user defined in the run: no alias rewrites them (a name the
    user defines is theirs). ``params``: the step defines a new name of the user's (an alias to a constant,
    such as the bias ``b`` = ``0``, is left for the user's new parameter). ``latex`` is returned unchanged
    when no notation rule applies; never raises."""
    try:
        return rules_for(card).rewrite(latex, keep, params)
    except Exception:  # noqa: BLE001 - a card the rules cannot read: the step is parsed as written
        return latex


def written_forms(card: Card) -> dict[str, list[str]]:
    """For each card name an alias renames (``p``), the written forms the card declares for it
    (``["\\\\hat{y}", "\\\\mu", ...]``): the inverse of the one-name aliases, a pattern alias by its base
    (``'t_k' = 'y_k'`` gives ``y -> t``). Aliases to expressions are left out. For tests and tools."""
    out: dict[str, list[str]] = {}
    idx = set(card.declarations.indices)
    for key, rhs in card.notation.aliases.items():
        k, r = key.strip(), rhs.strip()
        m_k = re.fullmatch(r"(.+)_\{?([a-z]{1,2})\}?", k)
        m_r = re.fullmatch(r"(.+)_\{?([a-z]{1,2})\}?", r)
        if m_k and m_r and m_k.group(2) == m_r.group(2) and all(c in idx for c in m_k.group(2)):
            k, r = m_k.group(1), m_r.group(1)
        if (
            not _ATOM_RE.match(join(canon_tokens(tokenize(clean(r)))))
            or "_" in r
            and "{" not in r
            and len(r) > 3
        ):
            continue
        if not re.fullmatch(r"\\?[A-Za-z]+(\{\\?[A-Za-z]+\})?(_\{?[A-Za-z0-9]+\}?)?", k) or "(" in k:
            continue
        out.setdefault(r, []).append(k)
    return out


def render_variant(
    card: Card,
    latex: str,
    choice: dict[str, str],
    *,
    transpose: str = "T",
    ln: bool = False,
    index: dict[str, str] | None = None,
    superscript_index: bool = False,
) -> str:
    """A card step written in another notation: names by ``choice`` (card name -> written form, see
    :func:`written_forms`), transposes as ``^{T}``, ``^{\\\\top}``, ``^{\\\\intercal}`` or ``'``
    (``transpose``), ``\\\\ln`` for ``\\\\log`` (``ln``), index letters renamed (``index``: ``{"i": "j"}``)
    and family subscripts as Ng's ``x^{(i)}`` (``superscript_index``). For the notation tests."""
    r = rules_for(card)
    s = r.render(latex, dict(index or {}))
    s = r.render(s, choice) if choice else s
    toks = canon_tokens(tokenize(clean(s)))
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "^" and toks[i + 1 : i + 4] == ["{", "T", "}"] and r.names.transpose_t:
            out += (
                ["'"]
                if transpose == "'"
                else ["^", "{", {"T": "T", "top": r"\top", "intercal": r"\intercal"}.get(transpose, "T"), "}"]
            )
            i += 4
            continue
        if ln and t == r"\log" and toks[i + 1 : i + 2] != ["_"]:
            out.append(r"\ln")
            i += 1
            continue
        if (
            superscript_index
            and t == "_"
            and out
            and toks[i + 1 : i + 2] == ["{"]
            and i + 3 < len(toks)
            and toks[i + 3] == "}"
            and re.fullmatch(r"[a-z]", toks[i + 2])
            and out[-1] in r.families
            and not any(a.key[0] == out[-1] for a in r.aliases)
            and toks[i + 4 : i + 5] != ["^"]
            and not (len(out) >= 2 and out[-2] in ("_", "^", "{", r"\partial"))
        ):
            out += ["^", "{", "(", toks[i + 2], ")", "}"]
            i += 4
            continue
        out.append(t)
        i += 1
    return join(out)


def prediction_reading(card: Card, latex: str) -> tuple[str, str, str] | None:
    """Bishop's letters for a card whose target is y: Bishop (PRML 3.1, 4.3.2, 5.2) writes t for the
    target and y for the model's prediction (``y_n = \\sigma(w^T\\phi_n)``, ``\\nabla E = \\sum_n (y_n -
    t_n)\\phi_n``). On a card with a one-letter alias onto its target name (``'t' = 'y'``) and an alias of
    the prediction written with a hat (``'\\hat{y}' = 'p'``, or ``\\hat{y}`` a name of the card), returns (the step with each written y read
    as ``\\hat{y}``, the target key ``t``, the target name ``y``); None when the card has no such pair or the
    step writes no y. Never raises."""
    try:
        r = rules_for(card)
        target = key = None
        for a in r.aliases:
            if a.key == ("t",) and len(a.target) == 1 and re.fullmatch(r"[A-Za-z]", a.target[0]):
                hat = (r"\hat", "{", a.target[0], "}")
                if any(b.key == hat for b in r.aliases) or name_key(join(list(hat))) in r.names.kinds:
                    key, target = a.key[0], a.target[0]
                    break
        if key is None or target is None:
            return None
        toks = canon_tokens(tokenize(clean(latex)))
        fonts = (r"\mathbf", r"\boldsymbol", r"\bm", r"\vec", r"\mathbfit", r"\pmb")
        out: list[str] = []
        hit = False
        q = 0
        while q < len(toks):
            t = toks[q]
            if (
                t == target
                and q >= 2
                and toks[q - 1] == "{"
                and toks[q - 2] in fonts
                and toks[q + 1 : q + 2] == ["}"]
            ):
                del out[-2:]  # \mathbf{y}: the vector of predictions
                out += [r"\hat", "{", target, "}"]
                hit = True
                q += 2
                continue
            inside = (q >= 1 and toks[q - 1] in ("_", "^", "\\")) or (
                q >= 2 and toks[q - 1] == "{" and (toks[q - 2] in ("_", "^") or toks[q - 2].startswith("\\"))
            )
            if t == target and not inside:
                out += [r"\hat", "{", target, "}"]
                hit = True
            else:
                out.append(t)
            q += 1
        return (join(out), key, target) if hit else None
    except (ParseError, RecursionError, IndexError, ValueError):
        return None
