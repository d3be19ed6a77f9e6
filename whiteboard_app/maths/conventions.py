"""The mean-loss convention: a loss written as the mean over the examples where the card writes the sum.

Cards define an objective as a sum over the examples (``L = -\\sum_{i=1}^{n} ...``); ESL, CS229, d2l.ai,
Prince and most lecture notes write the empirical risk as the mean, ``\\mathcal{L} = \\frac{1}{N}\\sum_n ...``,
and every step after it (its gradient ``\\frac1N\\sum_n(\\sigma(w^\\top x_n) - y_n)x_n``, ``\\frac1N X^\\top(p - y)``,
its Hessian) carries the same overall factor 1/N. That factor is a convention, not a slip, so long as the run
is consistent. The rule (the *mean reading*):

- a card's definition whose value is a constant multiple of a sum over a declared example index up to its
  count (``L``, a log-likelihood ``\\ell``) is a *summed objective*; the mean reading reads each such name
  divided by the count (the evaluator's :attr:`~whiteboard_app.maths.evaluate.Evaluator.mean`), so its
  derivatives and Hessian scale the same way and nothing else does;
- a step judged wrong as written that writes a summed objective by name (or continues a step that does; a bare
  expression ``\\frac1n\\sum_i(p_i - y_i)x_i`` is no loss written as a whole)
  is judged again in the mean reading; correct there, it is correct with a note, and the run has taken the
  mean (``MEAN_NOTE`` on its verdict);
- once a step of the run is correct only in the mean reading, every later step is judged in it too: a step
  correct only for the sum (``\\nabla_w L = \\sum_i (p_i - y_i)x_i`` after ``L = \\frac1N\\sum...``) is wrong,
  the factor 1/N dropped inside the run;
- once a step of the run that mentions the objective is correct as written and wrong in the mean reading
  (the run wrote the sum), no later step is read as the mean: ``\\nabla L = \\frac1N\\sum...`` after
  ``L = -\\sum...`` stays wrong.

Only the count of the examples is a convention: a factor 1/2, 2 or 1/(N-1) on a whole step, a factor dropped
inside a sum, a sign, stay wrong in both readings.

The second convention here is a card's ``[notation] opposite_signs`` (:func:`sign_reading`): parameters a known
source writes with the opposite sign (Platt 1999: ``1/(1+\\exp(Af+B))`` for the card's ``\\sigma(As+B)``). A run whose
model step is right only with them negated is judged in that reading from then on. The functions take the checker (duck-typed: ``card``,
``ev``, ``parse``, ``_check``, ``_run_for``, ``_use``, ``_verdicts``) and cache per-card facts on it.
"""

from __future__ import annotations

import dataclasses

from whiteboard_app.latex.tokens import ParseError

from .evaluate import EvalError, ShapeError

MEAN_NOTE = "read with the loss as the mean over the examples (the 1/N convention), as your run writes it"

#: the note of a step read as the likelihood (a product) whose log the card derives: about the likelihood,
#: not the loss, so it sets no convention of scale
LIKELIHOOD_NOTE = "as the likelihood, whose log the card derives"

_SCALE_ERRORS = (ParseError, EvalError, ShapeError, RecursionError)


def summed_objectives(chk) -> dict:
    """The card's definitions that are a constant times a sum over a declared example index up to its count:
    name -> the count's tree (``{"L": ("var", "n")}`` for ``L = -\\sum_{i=1}^{n}(...)``). Cached on the checker."""
    got = getattr(chk, "_summed_objectives", None)
    if got is not None:
        return got
    uppers = {}
    per_example = getattr(getattr(chk.card, "notation", None), "per_example", None)
    for index, rng in chk.card.declarations.indices.items():
        if isinstance(rng, (list, tuple)) and len(rng) == 2 and str(rng[0]).strip() == "1":
            uppers[index] = str(rng[1]).strip()
    # a sum is over the examples only on a card that names its example index (not classes, not components)
    summed = {per_example: uppers[per_example]} if per_example in uppers else {}
    out = {}
    for name, tree in chk.ev.definitions.items():
        if name.startswith("@"):
            continue
        t = tree
        while t[0] == "mul" and len(t[1]) == 2 and t[1][0][0] == "num":
            t = t[1][1]
        if t[0] == "sum" and t[2] in summed and t[4] == ("var", summed[t[2]]) and t[3] == ("num", 1.0):
            out[name] = t[4]
            continue
        count = _squared_norm_count(chk, t, uppers)
        if count is not None:
            out[name] = count
    chk._summed_objectives = out
    return out


def _squared_norm_count(chk, t, uppers: dict):
    """For a squared norm ``\\|y - Xw\\|^2`` of a residual over the examples (the sum of its squared entries):
    the count of the examples (the bound of the example index the stacked names run over, else the rows of a
    declared n x 1 vector in it); None for anything else."""
    if not (t[0] == "pow" and t[2] == ("num", 2.0) and t[1][0] == "call" and t[1][1] == "norm"):
        return None
    from .check_claims import _mentions as mentions

    names = mentions(t)
    decl = chk.card.declarations
    for stacked, family in chk.names.stacks.items():
        if stacked in names:
            index = decl.indexed.get(family) if hasattr(decl, "indexed") else None
            if index in uppers:
                return ("var", uppers[index])
    # the rows of the residual: the declared dimension with that many (sample dimensions are distinct)
    for p in chk.points[:1]:
        try:
            v = chk.ev.value(t[1][2][0], p, {})
        except (EvalError, ShapeError, RecursionError, ValueError, TypeError):
            return None
        rows = getattr(v, "shape", (1,))[0]
        dims = [d for d, x in getattr(p, "dims", {}).items() if x == rows]
        if len(dims) == 1 and rows > 1:
            return ("var", dims[0])
    return None


def _mentions(tree, names: dict) -> bool:
    """Does the tree write a summed objective by name (``L``, its gradient, its Hessian)? A bare 1/N on an
    expression is no loss written as a whole, so no convention."""
    stack = [tree]
    while stack:
        t = stack.pop()
        if not isinstance(t, tuple) or not t:
            continue
        if not isinstance(t[0], str):  # a tuple of trees (the factors of a product, a call's arguments)
            stack.extend(t)
            continue
        if t[0] == "var" and len(t) == 2 and t[1] in names:
            return True
        stack.extend(x for x in t[1:] if isinstance(x, tuple))
    return False


def _about_scale(chk, latex: str, previous: list[str], names: dict) -> bool:
    """Does the step (or, for a continuation ``= ...``, the steps it continues) write a summed objective?"""
    for s in [latex, *reversed(previous)]:
        try:
            trees = chk.parse(s).trees
        except ParseError:
            trees = ()
        if any(_mentions(t, names) for t in trees):
            return True
        if not s.lstrip().startswith("="):
            return False
    return False


def _judge_mean(chk, latex: str, previous: list[str]):
    """The step judged in the mean reading (the run of ``previous`` too); None when it cannot be."""
    ev = chk.ev
    ev.mean = summed_objectives(chk)
    ev._memo.clear()
    try:
        return _judge_in_reading(chk, latex, previous)
    finally:
        ev.mean = None
        ev._memo.clear()


def _judge_in_reading(chk, latex: str, previous: list[str], start=None):
    """The step judged in the reading the caller has installed on ``chk`` (the run of ``previous`` built
    in it too, from the run ``start`` when given); None when the reading cannot judge it (_SCALE_ERRORS)."""
    try:
        if start is not None:
            chk._use(start)
        run = chk._run_for(previous)
        chk._use(run)
        return chk._check(latex, previous, run)
    except _SCALE_ERRORS:
        return None


def _run_scale(chk, previous: list[str], as_written: list[str], names: dict) -> tuple[str, int] | None:
    """The run's convention: ("mean", j) when its step j was correct only in the mean reading, ("sum", j) when
    its step j, about the objective, was correct as written and wrong in the mean reading; else None."""
    memo = chk.__dict__.setdefault("_scale_memo", {})
    for j in range(len(as_written)):
        pv = chk._verdicts.get((tuple(as_written[:j]), as_written[j]))
        if pv is None or pv.verdict != "correct":
            continue
        if pv.note and MEAN_NOTE in pv.note:
            return ("mean", j + 1)
        if pv.message and LIKELIHOOD_NOTE in pv.message:
            continue
        if not _about_scale(chk, previous[j], previous[:j], names):
            continue
        key = (tuple(previous[:j]), previous[j])
        if key not in memo:
            w = _judge_mean(chk, previous[j], previous[:j])
            memo[key] = w is not None and w.verdict == "wrong"
            if len(memo) > 2000:
                memo.clear()
        if memo.get(key):
            return ("sum", j + 1)
    return None


def mean_reading(chk, latex: str, previous: list[str], as_written: list[str], v):
    """The verdict with the mean-loss convention applied (module doc): ``v`` itself, or the step's verdict in
    the mean reading (with :data:`MEAN_NOTE`). ``previous`` are the earlier steps as the checker reads them,
    ``as_written`` as the user wrote them (the keys of the verdict cache)."""
    names = summed_objectives(chk)
    if not names or v.verdict not in ("wrong", "correct"):
        return v
    if v.verdict == "correct" and not any(
        pv is not None and pv.note and MEAN_NOTE in pv.note
        for j in range(len(as_written))
        for pv in [chk._verdicts.get((tuple(as_written[:j]), as_written[j]))]
    ):
        return v  # a run that has not taken the mean: nothing to re-judge (and no second reading's cost)
    if v.verdict == "wrong" and not _about_scale(chk, latex, previous, names):
        return v
    scale = _run_scale(chk, previous, as_written, names)
    if v.verdict == "correct" and (scale is None or scale[0] != "mean"):
        return v
    if scale is not None and scale[0] == "sum":
        return v
    w = _judge_mean(chk, latex, previous)
    if w is None:
        return v
    note = f"{w.note}; {MEAN_NOTE}" if w.note else MEAN_NOTE
    if v.verdict == "wrong":
        if w.verdict == "correct":
            return dataclasses.replace(w, note=note)
        return v
    if w.verdict == "wrong" and scale is not None:  # correct only for the sum, in a run that took the mean
        what = f"{w.diagnosis}: " if w.diagnosis else ""
        return dataclasses.replace(
            w,
            diagnosis=w.diagnosis or "missing factor",
            note=note,
            message=f"{what}your step {scale[1]} took the loss as the mean over the examples (1/N), and this "
            "step holds only for their sum",
        )
    return v


# ---------------------------------------------------------------- parameters of the opposite sign
#: the note of a step read with the card's ``opposite_signs`` parameters negated (Platt's convention)
SIGN_NOTE = "read with {names} of the opposite sign, as your run writes the model"

_DERIVATIVE_WRITTEN = ("\\partial", "\\nabla", "\\frac{d", "\\frac{\\mathrm{d}", "'")


def opposite_signs(chk) -> tuple[str, ...]:
    """The card's parameters that a known source writes with the opposite sign (``[notation] opposite_signs``,
    docs/deck-authoring.md): Platt (1999) writes ``P(y=1|f) = 1/(1+\\exp(Af+B))`` where the card has
    ``q_i = \\sigma(As_i + B)``, the same model with A and B negated. Empty on most cards."""
    notation = getattr(chk.card, "notation", None)
    return tuple(getattr(notation, "opposite_signs", ()) or ())


def _flipped_state(chk) -> tuple:
    """The checker's base state (names, definitions, patterns) with every ``opposite_signs`` parameter negated
    in the card's definitions (a tree substitution, once per definition, so a definition built on another is
    not negated twice). Cached on the checker."""
    got = getattr(chk, "_flipped_base", None)
    if got is not None:
        return got
    from .check_claims import _map_tree

    flip = set(opposite_signs(chk))

    def neg(node):
        if node[0] == "var" and node[1] in flip:
            return ("mul", (("num", -1.0), node))
        return node

    names, ev_names, defs, pats = chk._base_state
    fdefs = {k: _map_tree(t, neg) for k, t in defs.items()}
    fpats = {k: (params, _map_tree(t, neg)) for k, (params, t) in pats.items()}
    chk._flipped_base = (names, ev_names, fdefs, fpats)
    return chk._flipped_base


def _judge_flipped(chk, latex: str, previous: list[str]):
    """The step judged with the card's definitions in the opposite-sign reading (the run of ``previous``
    too, built in that reading); None when it cannot be."""
    ev = chk.ev
    saved, saved_run = chk._base_state, chk._run
    flipped = _flipped_state(chk)
    chk._base_state = flipped
    ev.flip = True
    ev._memo.clear()
    try:
        return _judge_in_reading(chk, latex, previous, start=chk._base_run)
    finally:
        chk._base_state = saved
        ev.flip = False
        ev._memo.clear()
        chk._use(saved_run)


def _states_model(chk, latex: str, flip: tuple[str, ...]) -> bool:
    """Does the step state the model: does it write one of the ``flip`` parameters, with no derivative?"""
    if any(d in latex for d in _DERIVATIVE_WRITTEN):
        return False
    from .check_claims import _mentions as mentions

    try:
        trees = chk.parse(latex).trees
    except ParseError:
        return False
    return any(set(mentions(t)) & set(flip) for t in trees)


def _run_signs(chk, as_written: list[str]) -> int | None:
    """The 1-based number of the run's first step judged correct only in the opposite-sign reading, or None."""
    for j in range(len(as_written)):
        pv = chk._verdicts.get((tuple(as_written[:j]), as_written[j]))
        if pv is not None and pv.verdict == "correct" and pv.note and "of the opposite sign" in pv.note:
            return j + 1
    return None


def sign_reading(chk, latex: str, previous: list[str], as_written: list[str], v):
    """The verdict with the card's opposite-sign convention applied: ``v`` itself, or the step's verdict with
    the ``opposite_signs`` parameters negated in the card's definitions.

    - a step judged wrong as written that states the model (writes one of those parameters, no derivative:
      ``p_i = \\frac{1}{1+\\exp(Af_i+B)}``) is judged again in that reading; correct there, it is correct with
      :data:`SIGN_NOTE`, and the run has taken the convention;
    - once it has, every later step is judged in that reading: a step right only in the card's signs
      (``\\frac{\\partial L}{\\partial A} = \\sum_i(p_i - t_i)f_i`` after Platt's model) is wrong, and one right
      only in the run's signs (``\\sum_i(t_i - p_i)f_i``) is correct.

    Without such a model step in the run, a gradient with the opposite sign stays the card's "sign flip"."""
    flip = opposite_signs(chk)
    if not flip or v.verdict not in ("wrong", "correct", "cannot_check"):
        return v
    first = _run_signs(chk, as_written)
    if first is None and not (v.verdict == "wrong" and _states_model(chk, latex, flip)):
        return v
    w = _judge_flipped(chk, latex, previous)
    if w is None:
        return v
    note_words = SIGN_NOTE.format(names=", ".join(flip))
    note = f"{w.note}; {note_words}" if w.note else note_words
    if w.verdict == "correct":
        return dataclasses.replace(w, note=note)
    if w.verdict == "wrong" and first is not None:
        what = f"{w.diagnosis}: " if w.diagnosis else ""
        return dataclasses.replace(
            w,
            note=note,
            message=f"{what}your step {first} wrote the model with {', '.join(flip)} of the opposite sign, and "
            "this step holds only with the card's signs",
        )
    return v
