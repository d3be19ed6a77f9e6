"""The LaTeX normaliser: hand-written step LaTeX -> LaTeX that sympy's ``parse_latex`` reads faithfully.

Driven by a card's declarations (:class:`Names`). It handles what whiteboard steps look like (``\\hat y``,
``\\bar x`` braced or not, ``\\frac1n``, ``\\sqrt n``, ``^T``/``^\\top``/``'``, ``\\left``/``\\right``,
``\\cdot``, bare ``\\sum_i``, ``\\|v\\|^2``, declared opaque tokens such as ``\\pi_\\theta(y_w|x)``, a
leading ``=``, chains ``a = b = c`` and inequalities) and replaces every name by a placeholder command
``\\vvNAME`` so that sympy's grammar reads it as exactly one symbol; :class:`Normalised` keeps the table
from placeholders back to names. See docs/parsing.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whiteboard_app.decks.schema import Declarations
from whiteboard_app.latex.names import GREEK, is_plain_name_key, name_from_tokens, name_key
from whiteboard_app.latex.tokens import (
    DECORATIONS,
    FONTS_DROPPED,
    FUNCTION_WORDS,
    GRAMMAR_FUNCS,
    TEXT_CMDS,
    UNDECIDABLE_CMDS,
    ParseError,
    canon_tokens,
    canonical,
    expand_bare_sums,
    group,
    join,
    sum_body_end,
    tokenize,
)
from whiteboard_app.latex.wellformed import MAX_DERIVATIVE_ORDER


@dataclass
class Names:
    """What the names on a card are; built from :class:`Declarations` by :func:`names_from_declarations`.

    ``kinds`` maps an internal name to ``"symbol" | "matrix" | "family" | "function" | "defined" |
    "index" | "dim"``; ``families`` maps a family name to its index letters; ``opaque`` maps the
    canonical LaTeX of structured keys to their internal names (longest first when replacing).
    """

    kinds: dict[str, str] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    opaque: dict[str, str] = field(default_factory=dict)
    indices: dict[str, tuple[str, str]] = field(default_factory=dict)
    pattern_defs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    transpose_t: bool = True
    has_shapes: bool = False
    stacks: dict[str, str] = field(default_factory=dict)

    def kind(self, name: str) -> str | None:
        """The kind of an internal name, None when undeclared."""
        return self.kinds.get(name)


def names_from_declarations(d: Declarations) -> Names:
    """Build the name table of a card (internal names from plain or LaTeX keys, see :func:`name_key`)."""
    n = Names()
    n.indices = dict(d.indices)
    n.has_shapes = bool(d.shapes)
    for idx in d.indices:
        n.kinds[name_key(idx)] = "index"
    for k in d.symbols:
        n.kinds[name_key(k)] = "symbol"
    for k in d.sizes:
        n.kinds.setdefault(name_key(k), "dim")
    for shp in d.shapes.values():
        for dim in shp:
            if not dim.isdigit():
                n.kinds.setdefault(dim, "dim")
    for k in d.shapes:
        n.kinds[name_key(k)] = "matrix"
    for k, idx in d.indexed.items():
        n.families[name_key(k)] = idx
        n.kinds[name_key(k)] = "family"
    for k, fn in d.functions.items():
        n.functions[name_key(k)] = fn
        n.kinds[name_key(k)] = "function"
    for k in d.solutions:
        n.kinds.setdefault(name_key(k), "symbol")
    for k in list(d.symbols) + list(d.definitions):
        if is_plain_name_key(k):
            continue
        key = expand_bare_sums(canonical(k), d.indices)
        for twin in _expectation_twins(key):  # E[g] is also written \mathbb{E}[g], and the other way
            n.opaque.setdefault(twin, "@" + canonical(k))
        n.opaque[key] = "@" + canonical(k)
        n.kinds["@" + canonical(k)] = "defined" if k in d.definitions else "symbol"
    for k in d.definitions:
        if not is_plain_name_key(k):
            continue
        name = name_key(k)
        base, _, sub = name.rpartition("_")
        if sub and all(c in d.indices for c in sub) and base not in n.kinds or base in n.families:
            if sub and all(c in d.indices for c in sub):
                n.pattern_defs[base] = tuple(sub)
                n.families.setdefault(base, sub)
                n.kinds[base] = "family"
                continue
        n.kinds[name] = "defined"
    for k in d.stacks:
        n.stacks[name_key(k)] = name_key(d.stacks[k])
        if name_key(k) not in n.kinds:
            n.kinds[name_key(k)] = "matrix"
    if d.stacks:
        n.has_shapes = True
    if "T" in n.kinds:
        n.transpose_t = False
    # opaque tokens in one spelling of the transpose and without doubled parentheses (see _opaque_form)
    n.opaque = {_opaque_form(k, n.transpose_t): v for k, v in n.opaque.items()}
    if n.has_shapes and "I" not in n.kinds:
        n.kinds["I"] = "identity"
    if "delta" not in n.kinds and "delta" not in n.families:
        n.families["delta"] = "kron"
        n.kinds["delta"] = "kron"
    return n


@dataclass
class Normalised:
    """A piece of a step in parse-ready LaTeX plus the placeholder table.

    ``table`` maps a placeholder (``vva``) to ``("name", name)`` or ``("idx", family, [sub LaTeX...])``
    or ``("func", function)`` or ``("marker", "transpose"|"hadamard"|"norm"|"expect")``.
    """

    latex: str
    table: dict[str, tuple]


_FIXED = {"transpose": "vvtr", "hadamard": "vvhad", "norm": "vvnorm", "expect": "vvexpect"}


class _Emitter:
    def __init__(self, names: Names):
        self.names = names
        self.table: dict[str, tuple] = {v: ("marker", k) for k, v in _FIXED.items()}
        self.by_entry: dict[tuple, str] = {}

    def placeholder(self, entry: tuple) -> str:
        """The ``\\vv...q`` command standing for a name, an indexed element, a function or a marker."""
        key = (entry[0], entry[1], tuple(entry[2])) if entry[0] == "idx" else entry
        if key in self.by_entry:
            return "\\" + self.by_entry[key]
        k = len(self.by_entry)
        letters = ""
        while True:
            letters = chr(ord("a") + k % 26) + letters
            k = k // 26 - 1
            if k < 0:
                break
        ph = "vv" + letters + "q"
        self.by_entry[key] = ph
        self.table[ph] = entry
        return "\\" + ph


def normalise_piece(piece: str, names: Names, em: _Emitter | None = None) -> Normalised:
    """Turn one relation-free piece of a step into parse-ready LaTeX (see the module docstring).

    Raises :class:`ParseError` for constructs that cannot be read faithfully.
    """
    em = em or _Emitter(names)
    c = _opaque_form(expand_bare_sums(canonical(piece), names.indices), names.transpose_t)
    # opaque tokens, longest first
    for key in sorted(names.opaque, key=len, reverse=True):
        if key in c:
            c = c.replace(key, " " + em.placeholder(("name", names.opaque[key])) + " ")
    toks = _greek_sum_indices(tokenize(c), names)
    for t in toks:
        if t in UNDECIDABLE_CMDS:
            raise ParseError(f"{t} cannot be checked")
    out = _convert(toks, names, em)
    latex = join(out)
    if not latex.strip():
        raise ParseError("empty expression")
    return Normalised(latex, em.table)


def _greek_sum_indices(toks: list[str], names: Names) -> list[str]:
    """A sum or product over a Greek letter that is no name of the card (``\\sum_{\\tau=1}^{t}\\beta^{t-\\tau}g_\\tau``,
    Goodfellow et al. 8.5) with the letter renamed, through the piece, to a Latin index letter the piece does
    not use: the card's one index when free, else the first unused letter that is no name of the card."""
    greek = set()
    for q, t in enumerate(toks[:-3]):
        if t in (r"\sum", r"\prod") and toks[q + 1] == "_":
            v = toks[q + 3] if toks[q + 2] == "{" else toks[q + 2]
            if v.startswith("\\") and v[1:] in GREEK and v[1:] not in names.kinds:
                greek.add(v)
    if not greek:
        return toks
    used = {t for t in toks if len(t) == 1 and t.isalpha()}
    pool = [x for x in names.indices if len(names.indices) == 1] + list("jklmrsuvabcpqgh")
    out = toks
    for g in sorted(greek):
        letter = next(
            (x for x in pool if x not in used and (x in names.indices or x not in names.kinds)), None
        )
        if letter is None:
            return toks
        used.add(letter)
        out = [letter if t == g else t for t in out]
    return out


def _group_close(toks: list[str], i: int, opener: str = "(", closer: str = ")") -> int:
    """Index of the ``)`` closing the ``(`` at toks[i] (or of ``closer`` closing ``opener``: ``]`` and ``[``);
    -1 when it does not close."""
    depth = 0
    for j in range(i, len(toks)):
        depth += toks[j] == opener
        depth -= toks[j] == closer
        if depth == 0:
            return j
    return -1


def _group_open(toks: list[str], k: int) -> int:
    """Index of the ``(`` that the ``)`` at toks[k] closes; -1 when it does not open (the twin of
    :func:`_group_close`)."""
    depth = 0
    while k >= 0:
        depth += toks[k] == ")"
        depth -= toks[k] == "("
        if depth == 0:
            return k
        k -= 1
    return -1


def _dot_of_groups(toks: list[str], i: int, out: list[str], names: Names, em: _Emitter) -> bool:
    """``(a)\\cdot(b)``: a written dot between two parenthesised factors is emitted as the call
    ``inner(a, b)`` (the evaluator takes the inner product of two columns of one size, the ordinary product
    otherwise: ``(y-Xw)\\cdot(y-Xw)`` is the residual's squared norm). Only a plain group on the left
    (not a function's argument list ``f(x)``, not a power's base) and a group on the right that no power
    or subscript follows; ``out`` is changed only when True is returned."""
    if not out or out[-1] != ")" or i + 1 >= len(toks) or toks[i + 1] != "(":
        return False
    close = _group_close(toks, i + 1)
    if close < 0 or toks[close + 1 : close + 2] in (["^"], ["_"], ["'"]):
        return False
    k = _group_open(out, len(out) - 1)
    if k < 0:
        return False
    before = out[k - 1] if k >= 1 else ""
    if before and (before[-1:].isalnum() or before in ("}", ")", "'", "]") or before.startswith("\\vv")):
        return False
    left = out[k + 1 : -1]
    right = _convert(toks[i + 2 : close], names, em)
    del out[k:]
    out += [em.placeholder(("func", "inner")), "(", *left, ",", *right, ")"]
    return True


def _group_end_at(toks: list[str], i: int) -> int:
    """Index after the argument (a brace group or one token) starting at ``toks[i]``."""
    return group(toks, i)[1]


def _component_of_group(toks: list[str], i: int, out: list[str], names: Names, em: _Emitter) -> bool:
    """``(a)_k``, ``\\mathrm{softmax}(Wx + b)_k``: a one-letter index subscript after a closing parenthesis is
    component k of the group's (or the call's) value, emitted as the call ``component(value, k)`` (1-based;
    the evaluator takes element k of a column or a row). Only for a letter that is an index of the step
    (declared, a sum's variable or a component letter); ``out`` is changed only when True is returned."""
    sub, _ = group(toks, i + 1)
    if len(sub) != 1 or names.kinds.get(sub[0]) != "index":
        return False
    k = _group_open(out, len(out) - 1)
    if k < 0:
        return False
    if k >= 1 and out[k - 1].startswith("\\vv"):
        entry = em.table.get(out[k - 1][1:])
        if entry is None or not (
            entry[0] == "func" or (entry[0] == "name" and names.kinds.get(entry[1]) == "function")
        ):
            return False  # a name with its argument list, f(x)_k: not a component of a value
        k -= 1
    elif k >= 1 and (out[k - 1][-1:].isalnum() or out[k - 1] in ("}", "'")):
        return False
    expr = out[k:]
    del out[k:]
    out += [em.placeholder(("func", "component")), "(", *expr, ",", *_convert(sub, names, em), ")"]
    return True


def _is_transpose(arg: list[str], names: Names) -> bool:
    s = join(arg)
    if s in (r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\mathbf{T}", r"\mathsf T"):
        return True
    return s == "T" and names.transpose_t


def _word(toks: list[str]) -> str | None:
    s = "".join(toks)
    return s if re.fullmatch(r"[A-Za-z]+", s) else None


def _convert(toks: list[str], names: Names, em: _Emitter) -> list[str]:
    toks = _expand_partials(toks)
    out: list[str] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        # \frac: derivative or fraction
        if t == r"\frac":
            a, i = group(toks, i + 1)
            b, i = group(toks, i)
            d = _derivative(a, b, names, em)
            if d is not None:
                if (
                    d[-1] == "}" and d[-2] != "\\" + _FIXED["transpose"] and i >= n
                ):  # an operator d/dx with nothing after it in this piece
                    raise ParseError(
                        f"the derivative \\frac{{{join(a)}}}{{{join(b)}}} has nothing to differentiate"
                    )
                out += d
            else:
                out += [r"\frac", "{", *_convert(a, names, em), "}", "{", *_convert(b, names, em), "}"]
            continue
        if t == r"\nabla":
            emitted, i = _nabla(toks, i, names, em)
            out += emitted
            continue
        if t in (r"\sum", r"\prod"):
            out.append(t)
            i += 1
            if i < n and toks[i] == "_":
                sub, i = group(toks, i + 1)
                sup = None
                if i < n and toks[i] == "^":
                    sup, i = group(toks, i + 1)
                if "=" in sub:
                    k = sub.index("=")
                    var, lo = sub[:k], sub[k + 1 :]
                    if not lo:
                        raise ParseError(f"{t}_{{{join(sub)}}} has no lower bound after '='")
                else:
                    var, lo = sub, None
                vname = join(var)
                if not re.fullmatch(r"[a-zA-Z]", vname):
                    raise ParseError(f"cannot read the sum index {vname!r}")
                if lo is None or sup is None:
                    bounds = names.indices.get(vname)
                    if bounds is None and len(names.indices) == 1:
                        # any letter for the card's one index (\sum_k x_k where the card says i)
                        bounds = next(iter(names.indices.values()))
                    if bounds is None:
                        raise ParseError(
                            f"the sum over {vname} has no bounds and {vname} is not a declared index"
                        )
                    lo = lo if lo is not None else tokenize(bounds[0])
                    sup = sup if sup is not None else tokenize(bounds[1])
                out += [
                    "_",
                    "{",
                    vname,
                    "=",
                    *_convert(lo, names, em),
                    "}",
                    "^",
                    "{",
                    *_convert(sup, names, em),
                    "}",
                ]
            else:
                raise ParseError(f"{t} needs its index, e.g. {t}_i")
            # the body runs to the next top-level + or - (as in sympy's grammar); giving it explicit
            # parentheses keeps the result and makes antlr's prediction an order of magnitude faster
            j = sum_body_end(toks, i)
            body = toks[i:j]
            if not body:
                raise ParseError(f"{t} has nothing to sum")
            out += ["(", *_convert(body, names, em), ")"]
            i = j
            continue
        if t == "^":
            a, i = group(toks, i + 1)
            if _is_transpose(a, names):
                out += ["^", "{", "\\" + _FIXED["transpose"], "}"]
            elif join(a) in ("*", r"\star"):
                raise ParseError("a starred name must be declared")
            else:
                out += ["^", "{", *_convert(a, names, em), "}"]
            continue
        if t == "_" and out and out[-1] == ")" and _component_of_group(toks, i, out, names, em):
            i = _group_end_at(toks, i + 1)
            continue
        if t == "'":
            prev = out[-1] if out else ""
            if names.has_shapes and (prev in (")", "]") or _is_matrix_ph(prev, em, names)):
                out += ["^", "{", "\\" + _FIXED["transpose"], "}"]
                i += 1
                continue
            entry = em.table.get(prev[1:]) if prev.startswith("\\") else None
            is_fn = entry is not None and (
                entry[0] == "func"
                or (entry[0] == "name" and names.kinds.get(entry[1]) in ("function", "defined"))
            )
            if prev == r"\cdot" and len(out) >= 2:  # L'(w): the name was followed by a product sign
                entry = em.table.get(out[-2][1:]) if out[-2].startswith("\\") else None
                is_fn = entry is not None and entry[0] == "name" and names.kinds.get(entry[1]) == "defined"
                if is_fn:
                    out.pop()
                    prev = out[-1]
            if is_fn and i + 1 < n and toks[i + 1] == "(":
                # f'(z) -> d/dz f(z) for a single-name argument
                depth, j = 0, i + 1
                while j < n:
                    depth += toks[j] == "("
                    depth -= toks[j] == ")"
                    if depth == 0:
                        break
                    j += 1
                arg = _convert(toks[i + 2 : j], names, em)
                if len(arg) != 1:
                    raise ParseError("f'(...) is read only at a single variable, e.g. f'(z)")
                out.pop()
                if entry[0] == "name" and names.kinds.get(entry[1]) == "defined":  # L'(w): dL/dw
                    out += [r"\frac", "{", r"\partial", "}", "{", r"\partial", arg[0], "}", "(", prev, ")"]
                else:
                    out += [
                        r"\frac",
                        "{",
                        r"\partial",
                        "}",
                        "{",
                        r"\partial",
                        arg[0],
                        "}",
                        "(",
                        prev,
                        "(",
                        arg[0],
                        ")",
                        ")",
                    ]
                i = j + 1
                continue
            raise ParseError("a prime (') is read as a transpose only after a matrix or vector")
        if t == r"\|":
            j = i + 1
            depth = 0
            while j < n and not (toks[j] == r"\|" and depth == 0):
                depth += toks[j] in "{([" and 1 or 0
                depth -= toks[j] in "})]" and 1 or 0
                j += 1
            if j >= n:
                raise ParseError(r"unmatched \|")
            inner = _convert(toks[i + 1 : j], names, em)
            i = j + 1
            if i < n and toks[i] == "_":
                _, i = group(toks, i + 1)
            out += ["\\" + _FIXED["norm"], "(", *inner, ")"]
            continue
        if t == r"\odot":
            out += [r"\cdot", "\\" + _FIXED["hadamard"], r"\cdot"]
            i += 1
            continue
        if t == r"\mathbb":
            a, i = group(toks, i + 1)
            w = join(a)
            if w == "E":
                i = _expectation(toks, i, out, names, em)
                continue
            raise ParseError(f"\\mathbb{{{w}}} cannot be checked")
        if t.startswith("\\") and t[1:] in FONTS_DROPPED:
            a, j = group(toks, i + 1)
            toks = toks[:i] + a + toks[j:]  # splice the content in place of the font command
            n = len(toks)
            continue
        if t.startswith("\\") and t[1:] in TEXT_CMDS:
            a, j = group(toks, i + 1)
            if not a and t[1:] in ("text", "textrm", "textnormal"):  # \text{ }: a space
                i = j
                continue
            w = _word(a)
            if w is None:
                raise ParseError(f"cannot read \\{t[1:]}{{{join(a)}}}")
            if len(w) == 1:
                toks = toks[:i] + [w] + toks[j:]
                n = len(toks)
                continue
            i = j
            if w in FUNCTION_WORDS and w not in names.kinds:
                out.append(em.placeholder(("func", FUNCTION_WORDS[w])))
                continue
            i = _emit_name(w, toks, i, out, names, em)
            continue
        if t.startswith("\\") and t[1:] in DECORATIONS:
            a, i = group(toks, i + 1)
            inner = name_from_tokens(canon_tokens(a))
            i = _emit_name(DECORATIONS[t[1:]] + "_" + inner, toks, i, out, names, em)
            continue
        if t.startswith("\\vv") and t[1:] in em.table:
            i = _emit_name(None, toks, i + 1, out, names, em, ph=t)
            continue
        if t.startswith("\\") and t[1:].isalpha():
            cmd = t[1:]
            if cmd in names.kinds or cmd in names.families or cmd in names.functions:
                i = _emit_name(cmd, toks, i + 1, out, names, em)
                continue
            if cmd in GRAMMAR_FUNCS:
                if cmd == "log" and i + 1 < n and toks[i + 1] == "_":
                    # \log_2 x -> \log_{2}(x) is left to the grammar, which wants parentheses
                    pass
                out.append(t)
                i += 1
                continue
            if cmd in FUNCTION_WORDS:
                out.append(em.placeholder(("func", FUNCTION_WORDS[cmd])))
                i += 1
                continue
            if cmd == "cdot" and _dot_of_groups(toks, i, out, names, em):
                i = _group_close(toks, i + 1) + 1
                continue
            if cmd in ("cdot", "times", "partial", "le", "ge", "ne", "cap", "cup", "mid", "in"):
                out.append(t)
                i += 1
                continue
            if cmd in GREEK:
                i = _emit_name(cmd, toks, i + 1, out, names, em)
                continue
            raise ParseError(f"cannot read \\{cmd}")
        if t.isalpha():
            # a declared multi-letter name (IG, KL...) is one name, longest first
            m = re.match(r"[A-Za-z]+", "".join(toks[i:]))
            word = m.group(0) if m else t
            long = [
                w for w in names.kinds if len(w) > 1 and w.isalpha() and word.startswith(w) and w not in GREEK
            ]
            if long:
                w = max(long, key=len)
                i = _emit_name(w, toks, i + len(w), out, names, em)
                continue
            # bare function words: log(x), exp(x), softmax(z), E[x]
            word = m.group(0) if m else t
            for w in sorted(FUNCTION_WORDS, key=len, reverse=True):
                if (
                    word.startswith(w)
                    and len(w) > 1
                    and i + len(w) < n
                    and toks[i + len(w)] in ("(", "[", "^", "_")
                    and w not in names.kinds
                    and not all(ch in names.kinds for ch in w)
                ):
                    fn = FUNCTION_WORDS[w]
                    out.append(
                        "\\" + fn
                        if fn in ("log", "exp", "tanh", "max", "min")
                        else em.placeholder(("func", fn))
                    )
                    i += len(w)
                    break
            else:
                if t == "E" and i + 1 < n and toks[i + 1] in ("[", "_") and "E" not in names.kinds:
                    i = _expectation(toks, i + 1, out, names, em)
                    continue
                if t == "P" and i + 1 < n and toks[i + 1] == "(" and "P" not in names.kinds:
                    out.append(em.placeholder(("func", "prob")))  # an undeclared probability P(...)
                    i += 1
                    continue
                i = _emit_name(t, toks, i + 1, out, names, em)
            continue
        out.append(t)
        i += 1
    return out


def _is_matrix_ph(tok: str, em: _Emitter, names: Names) -> bool:
    e = em.table.get(tok[1:]) if tok.startswith("\\") else None
    if e is None:
        return False
    if e[0] == "name":
        return names.kinds.get(e[1]) == "matrix"
    if e[0] == "idx":
        return True
    return False


def _expectation(toks: list[str], i: int, out: list[str], names: Names, em: _Emitter) -> int:
    """\\mathbb{E}_{q}[...] / E[...] -> \\vvexpect(...)."""
    n = len(toks)
    if i < n and toks[i] == "_":
        _, i = group(toks, i + 1)
    if i >= n or toks[i] not in ("[", "("):
        raise ParseError("an expectation needs its argument in brackets")
    close = "]" if toks[i] == "[" else ")"
    depth, j = 0, i
    while j < n:
        if toks[j] in "([{":
            depth += 1
        elif toks[j] in ")]}":
            depth -= 1
            if depth == 0:
                break
        j += 1
    if j >= n or toks[j] != close:
        raise ParseError("unbalanced brackets in an expectation")
    out += ["\\" + _FIXED["expect"], "(", *_convert(toks[i + 1 : j], names, em), ")"]
    return j + 1


def _emit_name(
    base: str | None,
    toks: list[str],
    i: int,
    out: list[str],
    names: Names,
    em: _Emitter,
    ph: str | None = None,
) -> int:
    """Emit a name (with its subscript / star) starting after its base token; return the next index.

    A name that is not a function followed by ``(`` is a product: ``n(a-b)^2`` is n times (a-b)^2, so an
    explicit ``\\cdot`` is inserted (sympy's grammar would read a call n(...) and square it)."""
    start = len(out)
    i = _emit_name_inner(base, toks, i, out, names, em, ph)
    if i < len(toks) and toks[i] == "(" and len(out) > start:
        entry = em.table.get(out[-1][1:]) if out[-1].startswith("\\") else None
        is_fn = entry is not None and (
            entry[0] == "func" or (entry[0] == "name" and names.kinds.get(entry[1]) == "function")
        )
        if not is_fn and entry is not None and entry[0] == "name" and names.kinds.get(entry[1]) == "defined":
            j = _argument_list_end(toks, i)
            if j is not None and toks[j : j + 1] not in (["^"], ["'"]):
                # L(w), J(\mu), \ell(\mu, \sigma): a defined quantity written with its arguments; not
                # \delta_2(a)^T, a product with a transposed (or raised) group
                return j
        if not is_fn:
            out.append(r"\cdot")
    return i


def _nabla(toks: list[str], i: int, names: Names, em: _Emitter) -> tuple[list[str], int]:
    r"""``\nabla^k_x`` at ``toks[i]`` as the operator ``\frac{\partial}{\partial x}`` (k times): the
    emitted tokens and the index after what was read. The operator takes the rest of the piece, or, when
    its operand is one function or defined name followed by more factors (:func:`_operand_end`), that
    operand only, in parentheses. Raises :class:`ParseError` without a variable, an operand, or for an
    order above ``MAX_DERIVATIVE_ORDER``."""
    n = len(toks)
    order, wrt = 1, None
    while i + 1 < n and toks[i + 1] in ("^", "_"):
        g, j = group(toks, i + 2)
        if toks[i + 1] == "^":
            order = int(join(g)) if join(g).isdigit() else 1
            if order > MAX_DERIVATIVE_ORDER:
                raise ParseError(
                    f"a derivative of order {order} is not checked (at most {MAX_DERIVATIVE_ORDER})"
                )
        else:
            wrt = g
        i = j - 1
    i += 1
    if wrt is None:
        raise ParseError(r"\nabla needs the variable, e.g. \nabla_w")
    if i >= n:
        raise ParseError(f"\\nabla_{{{join(wrt)}}} has nothing to differentiate")
    w = _convert(wrt, names, em)
    op = [r"\frac", "{", r"\partial", "}", "{", r"\partial", *w, "}"] * order
    e = _operand_end(toks, i, names, em)
    if e is None:
        return op, i
    # \nabla^2 f(w)v: the operator applies to the function f(w) only, the rest multiplies
    return ["(", *op, *_convert(toks[i:e], names, em), ")"], e


def _operand_end(toks: list[str], i: int, names: Names, em: _Emitter) -> int | None:
    r"""Where the operand of ``\nabla`` starting at ``toks[i]`` ends when it is one function written
    with its argument list or one defined name (``f(w)``, ``L(\mathbf{w})``, ``\ell``) and more factors
    follow (``\nabla^2 f(w)v`` is the Hessian times v, not the Hessian of ``f(w)v``); None when the
    operator takes the rest of the piece as before (``\nabla_w w^Tx``, ``\nabla_w Xw``, ``\nabla_w L``)."""
    n = len(toks)
    if i >= n:
        return None
    t = toks[i]
    j = i + 1
    entry = em.table.get(t[1:]) if t.startswith("\\") else None
    if (
        entry is not None
        and entry[0] == "name"
        and (str(entry[1]).startswith("@") or names.kinds.get(str(entry[1])) in ("defined", "function"))
    ):
        # a declared or user-defined token with its arguments (f(w) after the user's f(w) = ...)
        return j if j < n and toks[j] not in ("^", "'", "_", "!") else None
    if t.startswith("\\") and t[1:] in (*FONTS_DROPPED, *DECORATIONS) and j < n and toks[j] == "{":
        try:
            g, j = group(toks, j)
        except ParseError:
            return None
        base = g[0] if len(g) == 1 else ""
        key = (DECORATIONS[t[1:]] + "_" + base) if t[1:] in DECORATIONS else base
    elif re.fullmatch(r"[A-Za-z]", t) or (t.startswith("\\") and t[1:] in GREEK):
        base = t.lstrip("\\")
        key = base
    else:
        return None
    if not re.fullmatch(r"[A-Za-z]+", base.lstrip("\\")):
        return None
    if j < n and toks[j] == "_":
        try:
            g, j = group(toks, j + 1)
        except ParseError:
            return None
        key = key + "_" + join(g)
    args = False
    if j < n and toks[j] == "(":
        e = _argument_list_end(toks, j)
        if e is None:
            return None
        j, args = e, True
    if j >= n or toks[j] in ("^", "'", "_", "!"):
        return None
    if not args and names.kinds.get(key) not in ("defined", "function"):
        return None
    return j


def _argument_list_end(toks: list[str], i: int) -> int | None:
    """``( name [, name]... )`` at tokens[i] (names: a letter or a Greek command, optionally bold or
    hatted in one token group): the index after the ``)``; None otherwise."""
    j = i + 1
    n = len(toks)
    want_name = True
    while j < n:
        t = toks[j]
        if want_name:
            if t.startswith("\\") and t[1:] in FONTS_DROPPED and j + 1 < n and toks[j + 1] == "{":
                # L(\mathbf{w}), J(\boldsymbol{\theta}): a bold name, read as the name itself
                try:
                    g, j2 = group(toks, j + 1)
                except ParseError:
                    return None
                if len(g) != 1:
                    return None
                t, skip = g[0], j2 - j
            else:
                skip = 1
            if re.fullmatch(r"[A-Za-z]", t) or (t.startswith("\\") and t[1:] in GREEK):
                want_name = False
                j += skip
                # \ell(\mu, \sigma^2), J(w_{1}, w_{2}): a power or a subscript on the name
                while j < n and toks[j] in ("^", "_"):
                    try:
                        g, j2 = group(toks, j + 1)
                    except ParseError:
                        return None
                    if toks[j] == "^" and not join(g).isdigit():
                        return None
                    j = j2
                continue
            return None
        if t in (",", ";", "|"):  # \ell(\mu, \sigma^2), \ell(\mu;\sigma^2) (read as \ell(\mu|\sigma^2))
            want_name = True
            j += 1
            continue
        if t == ")":
            return j + 1
        return None
    return None


def _emit_name_inner(
    base: str | None,
    toks: list[str],
    i: int,
    out: list[str],
    names: Names,
    em: _Emitter,
    ph: str | None = None,
) -> int:
    n = len(toks)
    sub = None
    star = False
    # name^* (a starred name) and subscripts, in either order
    for _ in range(2):
        if i < n and toks[i] == "_" and sub is None:
            sub, i = group(toks, i + 1)
        elif i + 1 < n and toks[i] == "^" and join(group(toks, i + 1)[0]) in ("*", r"\star"):
            star = True
            _, i = group(toks, i + 1)
    if ph is not None:
        entry = em.table[ph[1:]]
        base = entry[1] if entry[0] == "name" else None
        if base is None or sub is None:
            out.append(ph)
            if sub is not None:
                raise ParseError("a subscript on this token cannot be read")
            return i
    assert base is not None
    full = base
    if sub is not None:
        subname = name_from_tokens(canon_tokens(sub))
        full = f"{base}_{subname}"
    if star:
        full += "^*"
    kinds = names.kinds
    if full in kinds and kinds[full] != "family":
        out.append(em.placeholder(("name", full)))
        return i
    if sub is not None and (base in names.families) and not star:
        idx = names.families[base]
        pieces = _split_sub(sub, 2 if idx == "kron" else len(idx))
        out.append(em.placeholder(("idx", base, pieces)))
        return i
    if (
        sub is not None
        and not star
        and kinds.get(base) in ("matrix", "defined")
        and _component_sub(sub, names)
    ):
        # a component of a declared vector or matrix: w_j, w_{3}, A_{jk}
        if "," in sub:
            pieces = _split_sub(sub, 2)
        elif all(t.isdigit() for t in sub) or len(sub) == 1:
            pieces = [join(sub)]
        else:
            pieces = list(sub)
        out.append(em.placeholder(("idx", base, pieces)))
        return i
    if star and base + "^*" in kinds:
        out.append(em.placeholder(("name", base + "^*")))
        if sub is not None:
            raise ParseError(f"cannot read the subscript of {base}^*")
        return i
    # undeclared: keep as a name; validation reports it ("unknown name")
    out.append(em.placeholder(("name", full)))
    return i


def _component_sub(sub: list[str], names: Names) -> bool:
    """A subscript that reads as component indices: index letters (declared, or component letters of the
    run) and digits, one or two of them (``j``, ``3``, ``jk``, ``j,k``)."""
    parts = [t for t in sub if t != ","]
    if parts and all(t.isdigit() for t in parts):
        return True
    return 1 <= len(parts) <= 2 and all(t.isdigit() or names.kinds.get(t) == "index" for t in parts)


def _split_sub(sub: list[str], k: int) -> list[str]:
    """Split a subscript into k index expressions: "ik" -> ["i", "k"], "i,k" -> ["i","k"], "i+1" -> ["i+1"]."""
    if k == 1:
        return [join(sub)]
    if "," in sub:
        parts, cur = [], []
        for t in sub:
            if t == ",":
                parts.append(join(cur))
                cur = []
            else:
                cur.append(t)
        parts.append(join(cur))
        if len(parts) == k:
            return parts
    if len(sub) == k:
        return list(sub)
    raise ParseError(f"cannot split the subscript {join(sub)!r} into {k} indices")


#: a transpose written as a superscript
_TRANSPOSE_MARKS = ("T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}")


def _derivative(num: list[str], den: list[str], names: Names, em: _Emitter) -> list[str] | None:
    """``\\frac{d f}{d x}``, ``\\frac{\\partial^2 f}{\\partial x^2}``, ``\\frac{d}{dx}`` -> nested
    ``\\frac{\\partial}{\\partial X}`` operators (then ``(f)``); None when not a derivative."""
    if not num or num[0] not in ("d", r"\partial"):
        return None
    if not den or den[0] not in ("d", r"\partial"):
        return None
    k = 1
    j = 1
    if j < len(num) and num[j] == "^":
        g, j = group(num, j + 1)
        if not join(g).isdigit():
            return None
        k = int(join(g))
        if k > MAX_DERIVATIVE_ORDER:
            raise ParseError(f"a derivative of order {k} is not checked (at most {MAX_DERIVATIVE_ORDER})")
    f = num[j:]
    den = _unbold(den)  # \frac{\mathrm{d}L}{\mathrm{d}\boldsymbol{w}}: the variable w
    # denominator: one or more "d x" / "\partial x" (with optional ^k)
    wrts: list[list[str]] = []
    p = 0
    groups = 0
    transposed = False
    while p < len(den):
        if den[p] not in ("d", r"\partial"):
            return None
        p += 1
        groups += 1
        var = []
        if p < len(den) and den[p] == "(" and ")" in den[p:]:  # \partial(\sigma^2)
            close = p + den[p:].index(")")
            inner = den[p + 1 : close]
            den = den[:p] + inner + den[close + 1 :]
        if p < len(den) and den[p] not in ("d", r"\partial"):
            var.append(den[p])
            p += 1
            while p < len(den) and den[p] == "_":
                g, p = group(den, p + 1)
                var += ["_", "{", *g, "}"]
        else:
            return None
        times = 1
        if p < len(den) and den[p] == "^" and join(group(den, p + 1)[0]) in _TRANSPOSE_MARKS:
            # \partial w^T (Magnus & Neudecker; Murphy 7.8): the Hessian d^2L/dw dw^T is the matrix of second
            # partials; a first derivative by w^T is the transposed gradient
            transposed = True
            p = group(den, p + 1)[1]
        if p < len(den) and den[p] == "^":
            g, p = group(den, p + 1)
            if not join(g).isdigit():
                return None
            times = int(join(g))
            if times > MAX_DERIVATIVE_ORDER:
                raise ParseError(
                    f"a derivative of order {times} is not checked (at most {MAX_DERIVATIVE_ORDER})"
                )
        wrts += [var] * times
    out: list[str] = []
    if len(wrts) != k:
        if len(wrts) == 1 and k > 1:
            wrts = wrts * k
        elif k == 1 and groups == 1:
            # \frac{\partial \ell}{\partial \sigma^2}: with respect to a power s^m of one name; by the
            # chain rule d f / d(s^m) = (d f / d s) / (m s^(m-1))
            m = len(wrts)
            cw = _convert(wrts[0], names, em)
            if len(cw) != 1:
                raise ParseError(f"cannot differentiate with respect to {join(wrts[0])!r}^{m}")
            out += [r"\frac", "{", "1", "}", "{", str(m), cw[0], "^", "{", str(m - 1), "}", "}"]
            wrts = wrts[:1]
        else:
            return None
    for w in wrts:
        cw = _convert(w, names, em)
        if len(cw) != 1:
            raise ParseError(f"cannot differentiate with respect to {join(w)!r}")
        out += [r"\frac", "{", r"\partial", "}", "{", r"\partial", cw[0], "}"]
    if transposed and k == 1:
        if not f:
            return None  # an operator d/dw^T: not read
        out = ["(", *out, "(", *_convert(f, names, em), ")", ")", "^", "{", "\\" + _FIXED["transpose"], "}"]
        return out
    if f:
        # \frac{\partial L}{\partial a}\frac{\partial a}{\partial z}, \frac{\partial L}{\partial z}W_1: a derivative
        # with its own numerator is one factor (in parentheses), never an operator on the factors after it
        out = ["(", *out, "(", *_convert(f, names, em), ")", ")"]
    return out


def _unbold(toks: list[str]) -> list[str]:
    """``toks`` with every font wrapper (``\\boldsymbol{w}``, ``\\mathbf{x}``) replaced by its argument."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.startswith("\\") and t[1:] in FONTS_DROPPED and i + 1 < len(toks) and toks[i + 1] == "{":
            g, i = group(toks, i + 1)
            out += _unbold(g)
            continue
        out.append(t)
        i += 1
    return out


def _partial_parts(toks: list[str], i: int) -> tuple[list[str], str, int]:
    """The subscript (variable) of ``\\partial_x`` at ``toks[i]``, with a font wrapper dropped
    (``\\partial_{\\mathbf{w}}``), its order (``\\partial_x^2``: ``"2"``) and the index after it."""
    wrt, j = group(toks, i + 2)
    if len(wrt) > 1 and wrt[0].startswith("\\") and wrt[0][1:] in FONTS_DROPPED and wrt[1] == "{":
        inner, k = group(wrt, 1)
        wrt = inner + wrt[k:]
    order = "1"
    if j < len(toks) and toks[j] == "^":
        g, j2 = group(toks, j + 1)
        if join(g).isdigit():
            order, j = join(g), j2
    return wrt, order, j


def _partial_end(toks: list[str], i: int) -> int:
    return _partial_parts(toks, i)[2]


def _partial_operator(toks: list[str], i: int) -> list[str]:
    """``\\partial_x^k`` at ``toks[i]`` as the tokens of ``\\frac{\\partial^k}{\\partial x^k}`` (physics
    notation for the partial derivative operator; Arfken, Mathematical Methods, 1.6)."""
    wrt, order, _ = _partial_parts(toks, i)
    if not wrt:
        raise ParseError(r"\partial_ needs the variable, e.g. \partial_\theta")
    if order == "1":
        return [r"\frac", "{", r"\partial", "}", "{", r"\partial", *wrt, "}"]
    return [
        r"\frac",
        "{",
        r"\partial",
        "^",
        "{",
        order,
        "}",
        "}",
        "{",
        r"\partial",
        *wrt,
        "^",
        "{",
        order,
        "}",
        "}",
    ]


_TRANSPOSE_SPELLINGS = (r"^{\intercal}", r"^{\mathsf{T}}", r"^{\mathrm{T}}", r"^{\mathbf{T}}")


def _opaque_form(c: str, transpose_t: bool) -> str:
    r"""Canonical LaTeX ``c`` with the same meaning in the one spelling opaque tokens are matched in: every
    transpose ``^{\top}`` (``^{\intercal}``, ``^{\mathsf{T}}``, and ``^{T}`` where T is no name of the
    card) and doubled parentheses ``((a))`` as ``(a)`` (an alias expands in parentheses: ``q\cdot k``
    is ``(q^{T}k)``, so ``\mathrm{Var}(q\cdot k)`` matches the card's ``\mathrm{Var}(q^Tk)``)."""
    for sp in _TRANSPOSE_SPELLINGS:
        c = c.replace(sp, r"^{\top}")
    if transpose_t:
        c = c.replace("^{T}", r"^{\top}")
    if "((" not in c and "[(" not in c:
        return c
    match: dict[int, int] = {}
    stack: list[int] = []
    for k, ch in enumerate(c):
        if ch in "([":
            stack.append(k)
        elif ch in ")]" and stack:
            match[stack.pop()] = k
    # ((a)) -> (a) and [(a)] -> [a] (E[q\cdot k] is E[(q^{T}k)] after the alias)
    drop = {
        k + 1
        for k, e in match.items()
        if c[k] in "([" and c[k + 1 : k + 2] == "(" and match.get(k + 1) == e - 1 and c[e] in ")]"
    }
    drop |= {match[k] for k in drop}
    return "".join(ch for k, ch in enumerate(c) if k not in drop)


_BARE_E = re.compile(r"(?<![A-Za-z\\{])E\[")


def _expectation_twins(key: str) -> list[str]:
    r"""The other spellings of an opaque token's expectations: ``E[x]`` and ``\mathbb{E}[x]``."""
    out = []
    if _BARE_E.search(key):
        out.append(_BARE_E.sub(r"\\mathbb{E}[", key))
    if r"\mathbb{E}[" in key:
        out.append(key.replace(r"\mathbb{E}[", "E["))
    return out


def _expand_partials(toks: list[str]) -> list[str]:
    """Physics-style ``\\partial_\\theta f``, ``\\partial_{z_i} L``, ``\\partial_B^2 L`` as the operator
    ``\\frac{\\partial^k}{\\partial x^k}`` in front of the rest of the piece."""
    if r"\partial" not in toks:
        return toks
    i = 0
    while i < len(toks):
        if toks[i] == r"\partial" and i + 1 < len(toks) and toks[i + 1] == "_":
            toks = toks[:i] + _partial_operator(toks, i) + toks[_partial_end(toks, i) :]
        i += 1
    return toks
