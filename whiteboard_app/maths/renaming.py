"""Consistent renaming of a card's parameter (issue 11): ``L(q) = q^k(1-q)^{n-k}`` with q for θ.

When a step of a run uses a name the card does not declare (the parse fails with "unknown name 'q'"),
the run binds that name to one of the card's parameters (a declared real, positive or probability
symbol, or a vector the card solves or differentiates for) when exactly one parameter fits:

- the name is the argument of a card function ``L(q)``, ``\\ell(q)``, ``J(\\beta)`` (a name the card
  defines) and exactly one parameter that function depends on is not written in the step; or
- substituting it by that parameter (one not otherwise used in the step) makes the step correct as it
  stands (every relation holds as an identity, or as an equation in the parameter judged like the
  card's own, :mod:`whiteboard_app.maths.conditions`), and substituting any other unused parameter
  makes a step that cannot be judged at all (it does not parse or evaluate). Two parameters that fit,
  or another one that gives a wrong step (u for A or B): no binding.

The binding is run-level, like the user's own definitions: the step and every later step of the run are
read with the name replaced, and the step that introduced it carries the note "reading q as θ" (the JSON
``note``). A binding found through a function argument does not depend on the step being right, so a
sign error written with the renamed letter is still judged (wrong); a binding found by substitution is
made only when the step is then correct, so a wrong step with an unknown letter stays "unparsed", never
correct.

The hooks in :class:`~whiteboard_app.maths.checker.CardChecker`: :func:`apply` at the start of
``_parse_run``, :func:`extend` in ``_extend`` (the run after the step keeps the binding) and
:func:`annotate` in ``check`` (the note).
"""

from __future__ import annotations

import re

from .evaluate import EvalError, ShapeError

_UNKNOWN = re.compile(r"unknown names? '(\\?[A-Za-z]+)'")
_CONTINUOUS = ("real", "positive", "probability", "nonnegative", "negative", "unit_interval")
_MEMO = "_renaming_memo"
_BUSY = "_renaming_busy"


def _pattern(name: str) -> re.Pattern:
    """A LaTeX name as a token: ``\\beta`` not ``\\betaX``; a letter not inside a command or a word."""
    if name.startswith("\\"):
        return re.compile(re.escape(name) + r"(?![A-Za-z])")
    return re.compile(r"(?:(?<![\\A-Za-z])|(?<=[{\s]d))" + re.escape(name) + r"(?![A-Za-z])")


_TOKEN = re.compile(r"\\(?:text|mathrm|operatorname|textrm|mathit)\s*\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z]+")


def substitute(latex: str, mapping: dict, known: frozenset = frozenset()) -> str:
    """Replace each written name (key) by the card's LaTeX for it (value), as whole tokens. A letter is
    also replaced inside a run of letters made only of single-letter names (``Xv`` is X times v, ``dq``
    the d of a derivative): ``known`` are the single letters that are names."""
    if not mapping:
        return latex

    def one(m):
        tok = m.group(0)
        if tok.startswith("\\"):
            return (mapping[tok] + " ") if tok in mapping else tok
        if tok in mapping:
            return mapping[tok]
        if any(ch in mapping for ch in tok) and all(ch in known or ch in mapping or ch in "dT" for ch in tok):
            return "".join((" " + mapping[ch] + " ") if ch in mapping else ch for ch in tok)
        return tok

    return _TOKEN.sub(one, latex)


def _used(chk, text: str, lx: str) -> bool:
    """Does the step write the card name ``lx`` (``\\theta``, ``w`` in ``Xw``, ``p_{g}`` as ``p_g``)?"""
    from whiteboard_app.latex.tokens import ParseError, canonical

    if lx.startswith("\\"):
        return _pattern(lx).search(text) is not None
    if len(lx) == 1:
        known = _known(chk)
        return any(
            tok == lx or (lx in tok and all(ch in known or ch in "dT" for ch in tok))
            for tok in _TOKEN.findall(text)
            if not tok.startswith("\\")
        )
    try:
        return canonical(lx) in canonical(text)
    except ParseError:
        return lx in text


def _known(chk) -> frozenset:
    return frozenset(k for k in chk.names.kinds if len(k) == 1 and k.isalpha()) | {"e"}


def parameters(chk) -> dict[str, str]:
    """The card's parameters a user may rename: internal name -> LaTeX (``theta`` -> ``\\theta``)."""
    got = chk.__dict__.get("_renaming_params")
    if got is not None:
        return got
    from . import conditions
    from .trees import name_latex

    base = chk._base_state[0]
    d = chk.card.declarations
    out = {}
    for nm, dom in d.symbols.items():
        key = chk.ev._key(nm)
        if dom in _CONTINUOUS and base.kinds.get(key) == "symbol" and key not in base.families:
            out[key] = name_latex(key)
    try:
        for p in conditions.info(chk).params:
            if base.kinds.get(p) in ("symbol", "matrix"):
                out.setdefault(p, name_latex(p))
    except (EvalError, ShapeError):
        pass
    chk.__dict__["_renaming_params"] = out
    return out


def _depends(chk, name: str, seen=None) -> set[str]:
    from .trees import walk

    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    defs = chk._base_state[2]
    pats = chk._base_state[3]
    tree = defs.get(name)
    if tree is None and name in pats:
        tree = pats[name][1]
    if tree is None:
        return set()
    out = set()
    for _, node in walk(tree):
        if node[0] in ("var", "idx"):
            out.add(node[1])
            out |= _depends(chk, node[1], seen)
    return out


def _letters(run) -> dict:
    return dict(getattr(run, "letters", ()) or ())


def _key(run, text: str) -> tuple:
    return (
        text,
        run.names_sig,
        tuple(sorted(run.users)),
        tuple(sorted(run.rename.items())),
        getattr(run, "letters", ()),
    )


def apply(chk, run, latex: str) -> str:
    """The step as the run reads it: the run's bindings applied, and a new binding if this step makes one
    (remembered for :func:`extend` and :func:`annotate`)."""
    letters = _letters(run)
    text = substitute(latex, letters, _known(chk)) if letters else latex
    if chk.__dict__.get(_BUSY):
        return text
    memo = chk.__dict__.setdefault(_MEMO, {})
    if len(memo) > 2000:
        memo.clear()
    key = _key(run, text)
    if key not in memo:
        chk.__dict__[_BUSY] = True
        try:
            memo[key] = _find(chk, run, text)
        except (EvalError, ShapeError, RecursionError):
            memo[key] = None
        finally:
            chk.__dict__[_BUSY] = False
    new = memo[key]
    return substitute(text, {new[0]: new[1]}, _known(chk)) if new else text


def _new_binding(chk, run, latex: str):
    letters = _letters(run)
    text = substitute(latex, letters, _known(chk)) if letters else latex
    return chk.__dict__.get(_MEMO, {}).get(_key(run, text))


def extend(chk, run, new, latex: str):
    """The run after the step ``latex``: with the binding it made, if any."""
    import dataclasses

    b = _new_binding(chk, run, latex)
    if not b:
        return new
    return dataclasses.replace(new, letters=tuple(getattr(new, "letters", ()) or ()) + ((b[0], b[1]),))


def annotate(chk, run, latex: str, v) -> None:
    """Add "reading q as θ" to the verdict of the step that made a binding."""
    b = _new_binding(chk, run, latex)
    if not b or v.verdict == "unparsed":
        return
    from .conditions import shown

    words = f"reading {shown(b[0])} as {shown(b[1])}"
    v.note = f"{v.note}; {words}" if v.note else words
    v.message = f"{v.message}; {words}" if v.message else words


def _find(chk, run, text: str):
    """(written name, card LaTeX) for this step's unknown name when exactly one parameter fits, else None."""
    from whiteboard_app.latex.tokens import ParseError

    try:
        chk._parse_run(run, text)
        return None
    except ParseError as exc:
        m = _UNKNOWN.search(str(exc))
    except RecursionError:
        return None
    if m is None:
        return None
    name = m.group(1)
    if name in _letters(run).values():
        return None
    params = parameters(chk)
    free = {p: lx for p, lx in params.items() if not _used(chk, text, lx)}
    if not free:
        return None
    got = _by_argument(chk, text, name, free)
    if got is not None:
        return got or None
    return _by_substitution(chk, run, text, name, free)


def _by_argument(chk, text: str, name: str, free: dict):
    """A card function's argument (L(q), \\ell(q), J(\\beta)): (name, LaTeX) when the function depends on
    exactly one free parameter, () when on several (ambiguous), None when no card function takes it."""
    for fm in re.finditer(r"(\\?[A-Za-z]+)\s*\(\s*" + re.escape(name) + r"\s*\)", text):
        fkey = chk.ev._key(fm.group(1))
        if fkey not in chk._base_state[2] and fkey not in chk._base_state[3]:
            continue
        deps = _depends(chk, fkey)
        fits = [p for p in free if p in deps]
        if len(fits) == 1:
            return (name, free[fits[0]])
        if len(fits) > 1:
            return _AMBIGUOUS
    return None


_AMBIGUOUS = ()


def _by_substitution(chk, run, text: str, name: str, free: dict):
    """The one free parameter that makes the step correct, when no other one makes it a step that can be
    judged at all (u for A or B in d q_i / d u = q_i(1-q_i): right for B, the missing factor for A, so
    no binding)."""
    fits = []
    for p, lx in free.items():
        got = _holds(chk, run, substitute(text, {name: lx}, _known(chk)))
        if got is False:
            return None
        if got:
            fits.append(p)
            if len(fits) > 1:
                return None
    return (name, free[fits[0]]) if len(fits) == 1 else None


def _holds(chk, run, text: str) -> bool | None:
    """Does the step, read with the card's names, hold (each relation an identity or an equation in a
    parameter judged correct)? True, False (it can be judged and does not hold) or None (it cannot be
    read, has no relation, or does not evaluate: shapes, undefined values)."""
    from whiteboard_app.latex.tokens import ParseError

    try:
        ps, dinfo = chk._parse_run(run, text)
    except (ParseError, RecursionError):
        return None
    if ps.undecidable or (dinfo is not None and dinfo["kind"] not in ("card",)):
        return None
    claim = chk._claim(ps, run.claims[-1] if run.claims else None)
    if not claim.rels:
        return None
    prev = run.claims[-1] if run.claims else None
    try:
        for a, r, b in zip(claim.exprs, claim.rels, claim.exprs[1:], strict=False):
            ok, _ = chk._pair_ok(a, b, r, prev)
            if not ok:
                return False
    except (EvalError, ShapeError, RecursionError):
        return None
    return True
