"""Matching a step against the card's reference chain: which reference step a step is (by value, then by
form), which one it was written like (text similarity), the reference step a correct step of the user's own
model reduces to (new parameters at 0, per example, per component), a continuation missing its left side,
and the solution-only relations of the chain.

:class:`MatchingMixin` is one part of :class:`~whiteboard_app.maths.checker.CardChecker`."""

from __future__ import annotations

import difflib
import functools
import re
from typing import TYPE_CHECKING

from whiteboard_app.latex.tokens import (
    RELATIONS,
    ParseError,
    canonical,
    clean,
    split_relations,
)

from . import conditions as _conditions
from .check_claims import (
    StepVerdict,
    _Claim,
    _is_zero,
    _mentions,
    _summand,
)
from .evaluate import EvalError, ShapeError, contains

if TYPE_CHECKING:
    from .check_run import _Run


class MatchingMixin:
    """Matching against the reference chain (part of :class:`~whiteboard_app.maths.checker.CardChecker`)."""

    def match_reference(
        self, latex: str, claim: _Claim, solved: bool = False, wrong: bool = False
    ) -> int | None:
        """The reference step a step is equivalent to (or, when wrong, should have been): value agreement
        of the last expressions, then the form (ingredients) of the last and first expressions."""
        best = None
        last, first = claim.exprs[-1], claim.exprs[0]
        own_first = not claim.step.continues and len(claim.exprs) > 1
        for k, c in enumerate(self.ref_claims, 1):
            if c is None:
                continue
            pieces = list(c.step.trees) or list(c.exprs)
            score = 1.5 * max(self._fsim(last, r) for r in pieces)
            if claim.step.continues and c.step.continues:
                score += 0.3  # "= ..." written like a continuing reference line
            if own_first:
                score += 1.0 * self._fsim(first, self._subject(k))
            if not wrong:
                if self.same_value(last, c.exprs[-1]) or (
                    solved
                    and self.may_solve(last, c.exprs[-1])
                    and self.same_value(last, c.exprs[-1], solved=True)
                ):
                    score += 1
                elif any(self.same_value(last, x) for x in c.exprs):
                    score += 0.5
            elif len(claim.exprs) >= 2 and any(self.same_value(first, x) for x in c.exprs):
                score += 1
            if best is None or score > best[0] + 1e-9:
                best = (score, k)
        return None if best is None else best[1]

    def nearest_step(self, latex: str) -> int | None:
        """The reference step most similar in writing (1-based), None for an empty chain; a step of the form
        ``a = b = c`` is also compared link by link (``a = c``: a person writes one link)."""
        best = None
        mine = _plain_form(latex)
        for k, st in enumerate(self.card.steps, 1):
            s = max(self._sim(mine, form) for form in _relation_forms(st.latex))
            if best is None or s > best[0]:
                best = (s, k)
        return best[1] if best else None

    def _noncheckable_match(self, latex: str) -> int | None:
        """A step written like a reference step the card marks checkable = false (1-based), else None. The step
        is compared as written and in the card's names (its aliases applied: ``\\frac{\\partial F}{\\partial
        \\mathbf{x}}`` is the card's J)."""
        best = None
        mine = {_plain_form(latex)}
        try:
            mine.add(_plain_form(self.notation(latex)))
        except (ParseError, RecursionError):
            pass
        for k, st in enumerate(self.card.steps, 1):
            s = max(self._sim(m, form) for form in _relation_forms(st.latex) for m in mine)
            if best is None or s > best[0]:
                best = (s, k)
        if best is None or best[0] < 0.85 or self.card.steps[best[1] - 1].checkable:
            return None
        return best[1]

    def _subject(self, k: int):
        """The first expression of the chain that reference step k belongs to (1-based)."""
        while k > 1 and self.ref_claims[k - 1] is not None and self.ref_claims[k - 1].step.continues:
            k -= 1
        c = self.ref_claims[k - 1]
        return c.exprs[0] if c is not None else ("num", 0.0)

    @staticmethod
    def _sim(a: str, b: str) -> float:
        try:
            ca, cb = canonical(clean(a)).lstrip("="), canonical(clean(b)).lstrip("=")
        except ParseError:  # unbalanced braces: compare as written
            ca, cb = clean(a).lstrip("="), clean(b).lstrip("=")
        return difflib.SequenceMatcher(None, ca, cb).ratio()

    @staticmethod
    def _features(tree):
        """Multiset of the tree's ingredients (names, functions, transposes, sums, numbers, powers):
        a form signature that ignores layout (\\frac vs ^{-1}, order of terms)."""
        from collections import Counter

        from .trees import walk

        c = Counter()
        for _, node in walk(tree):
            k = node[0]
            if k in ("var", "call"):
                c[(k, node[1])] += 1
            elif k == "idx":
                c[("idx", node[1])] += 1
            elif k == "num" and abs(node[1]) != 1.0:
                c[("num", round(abs(node[1]), 6))] += 1
            elif k == "pow" and node[2][0] == "num":
                c[("pow", node[2][1])] += 1
            elif k in ("T", "sum", "prod", "deriv", "expect", "add"):
                c[(k,)] += 1
        return c

    @classmethod
    def _fsim(cls, a, b) -> float:
        fa, fb = cls._features(a), cls._features(b)
        inter = sum((fa & fb).values())
        return 2 * inter / max(1, sum(fa.values()) + sum(fb.values()))

    def _specialised_reference(self, latex: str, claim: _Claim, run: _Run) -> tuple[int, str] | None:
        """The reference step a correct step of the user's own model reduces to: its last expression,
        evaluated in the run with the user's new parameters at 0 (``b`` in ``\\hat{y} = \\sigma(w^Tx + b)``,
        the card's model has none), equals an expression of the reference step, or that expression's
        summand for one example (``(\\hat{y}-y)x_j`` for ``\\sum_i (p_i-y_i)x_i``; the card's per-example
        index left free), or component j of it when the step writes a component letter of the run.
        Returns (1-based step, how in words, e.g. "with b = 0, per example, component j,") or None.
        Used only to NAME the step a correct verdict reached (milestones, ``check --summary``): the verdict
        itself is judged in the user's model, so a step that holds only at b = 0 stays wrong."""
        last = claim.exprs[-1] if claim.exprs else None
        if last is None:
            return None
        base = self._base_state[0]
        scope0 = {nm: 0.0 for nm in run.fresh}
        mentioned = _mentions(last)
        comps = [x for x, b in run.comp.items() if b[2] == "component" and x in mentioned]
        per = getattr(getattr(self.card, "notation", None), "per_example", None)
        # the per-example form drops a sum over the examples only (the card's per-example index, or another
        # letter over the same range), never a sum over components or classes (\sum_k N_k = n)
        examples = (
            {x: b for x, b in base.indices.items() if b == base.indices[per]} if per in base.indices else {}
        )
        found = []
        for k, c in enumerate(self.ref_claims, 1):
            if c is None or not self.card.steps[k - 1].checkable:
                continue
            for q, x in enumerate(c.exprs):
                if _is_zero(x):
                    continue  # "E = 0" (a stationarity step): 0 says nothing about the form reached
                summand = _summand(x, examples, per) if examples else None
                for cand, each in ((x, False), (summand, True)):
                    if cand is None:
                        continue
                    comp = next(
                        (cc for cc in [None, *comps[:1]] if self._agree_component(last, cand, scope0, cc)),
                        False,
                    )
                    if comp is not False:
                        found.append((k, q, each, comp))
                        break
        if not found:
            return None
        mine = [_last_piece(latex)]
        try:
            mine.append(_last_piece(self.notation(latex)))
        except ParseError:
            pass

        def likeness(f) -> tuple:
            # several reference steps have that value (a sum and its simplified form): the one whose
            # expression is written most like the step's last expression, the later one on a tie
            k, q, _, _ = f
            ref = self.card.steps[k - 1].latex
            try:
                pieces, _ = split_relations(clean(ref))
                piece = pieces[q] if q < len(pieces) and pieces[q].strip() else ref
            except ParseError:
                piece = ref
            return (round(max(self._sim(m, piece) for m in mine), 6), k)

        k, _, each, comp = max(found, key=likeness)
        parts = (
            [f"with {', '.join(run.fresh)} = 0"]
            if run.fresh and any(nm in scope0 for nm in run.fresh)
            else []
        )
        if each:
            parts.append("per example")
        if comp:
            parts.append(f"component {comp}")
        return k, (", ".join(parts) + ",") if parts else "as written"

    def _follows(self, v: StepVerdict, claim: _Claim, run: _Run) -> None:
        """A correct step whose value is not that of the reference step it was matched with: it follows
        from the card's definitions (a derivative evaluated on its merits) or the user's own steps; say
        so, and name a reference step only when one has its value."""
        if v.reference_step is None or "holds at the solution" in (v.message or ""):
            return
        if _conditions.judged_here(v):  # hook (issue 11, i11eq): an equation judged by its solutions
            return
        last = claim.exprs[-1]
        c = self.ref_claims[v.reference_step - 1]
        if c is not None and any(self.same_value(last, x) for x in c.exprs):
            return
        for k, c in enumerate(self.ref_claims, 1):
            if c is not None and any(self.same_value(last, x) for x in c.exprs):
                v.reference_step = k
                v.message = f"matches reference step {k}"
                return
        if not (set(run.defs) | set(run.patterns)) and not any(contains(x, "deriv") for x in claim.exprs):
            return  # an ordinary rewrite on the card's names: keep the nearest reference step
        base_kinds = self._base_state[0].kinds
        if (
            not run.defs
            and not run.patterns
            and any(
                base_kinds.get(nm) == "index" and nm not in run.comp
                for x in claim.exprs
                for nm in _mentions(x)
            )
        ):
            # one example or one component in the card's index letters (the per-example form of a sum, the
            # card's i written j): its value is not that of the whole step, keep the nearest reference step
            return
        spec = self._specialised_reference(v.latex, claim, run)
        v.reference_step = None
        d = next((x for x in claim.exprs if x[0] == "deriv"), None)
        if d is not None:
            from .trees import to_latex as _tl

            try:
                f = _tl(d[1], self.names)
            except Exception:  # noqa: BLE001 - a name the printer does not know: say it in words
                f = "the expression"
            v.message = f"follows: derivative of {f}"
        else:
            v.message = "follows from your previous steps and the card's definitions"
        if spec is not None:
            # the user's own model (a bias b, one example, component j) reduces to a reference step: name it,
            # so milestones and the run's result count it (the verdict was judged in the user's model)
            k, how = spec
            v.reference_step = k
            v.message += f"; {how} it is reference step {k}"

    def _missing_left_side(self, latex: str, claim: _Claim) -> StepVerdict | None:
        """A continuation ``= EXPR`` that does not follow from the line before, but whose value is that of a
        reference step with another left side (``\\frac{d\\sigma}{dz}``): read as the person meant it,
        correct with a note to write that left side."""
        e = claim.exprs[-1]
        found = []
        for k, c in enumerate(self.ref_claims, 1):
            if c is None or not any(self.same_value(e, x) for x in c.exprs[1:]):
                continue
            if not self.same_value(self._subject(k), e):
                continue
            found.append((max(self._fsim(e, x) for x in c.exprs[1:]), k))
        for _, k in sorted(found, key=lambda t: (-t[0], t[1])):
            first = k
            while (
                first > 1
                and self.ref_claims[first - 1] is not None
                and self.ref_claims[first - 1].step.continues
            ):
                first -= 1
            raw = self.card.steps[first - 1].latex
            left = raw.split("=", 1)[0].strip() if "=" in raw else ""
            if not left or left.endswith(("<", ">", ":", "!")):
                continue
            note = f"write what this equals: {left} = …"
            return StepVerdict(
                latex,
                "correct",
                reference_step=k,
                diagnosis="missing left side",
                shape=self._shape_of(e),
                note=note,
                message=f"matches reference step {k}, missing its left side: {note}",
            )
        return None

    def _same_claim(self, u: _Claim, m: _Claim) -> bool:
        """Is the claim u the declared mistake m? (Last expressions equal, at the solution when allowed by
        :meth:`may_solve`, and the first or second-to-last expressions equal too.)"""
        solved = self.may_solve(*u.exprs, *m.exprs)
        if not self.same_value(u.exprs[-1], m.exprs[-1]) and not (
            solved and self.same_value(u.exprs[-1], m.exprs[-1], solved=True)
        ):
            return False
        if len(u.exprs) >= 2 and len(m.exprs) >= 2:
            if self.same_value(u.exprs[0], m.exprs[0]) or self.same_value(u.exprs[-2], m.exprs[-2]):
                return True
            # the mistake written with the parameter for the card's estimate (mu_k = ... for \hat{mu}_k = ...)
            first = _conditions.as_parameters(self, m.exprs[0])
            return first is not m.exprs[0] and self.same_value(u.exprs[0], first)
        return True

    def _solution_only_refs(self):
        """Reference relations a = b that hold only where the unknowns take their solutions."""
        if getattr(self, "_sol_refs", None) is None:
            out = []
            for c in self.ref_claims:
                if c is None:
                    continue
                for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
                    if r != "=":
                        continue
                    try:
                        t = [v for v in self.truth(x, y, "=") if v is not None]
                    except (EvalError, ShapeError):
                        continue
                    if t and not all(t) and self._holds_at_solution(x, y, len(self.points)):
                        out.append((x, y))
            self._sol_refs = out
        return self._sol_refs

    def _unknowns_in(self, k: int) -> set[str]:
        """The declared unknowns (keys of ``solutions``) written in reference step k (1-based)."""
        from .parse import free_names

        c = self.ref_claims[k - 1]
        if c is None:
            return set()
        names: set[str] = set()
        for t in c.exprs:
            names |= free_names(t)
        return names & set(self.solutions)

    def _ref_is_identity(self, k: int) -> bool:
        """Does every relation of reference step k (1-based) hold at every sample point?"""
        c = self.ref_claims[k - 1]
        if c is None or not c.rels:
            return False
        try:
            for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
                t = [v for v in self.truth(x, y, r) if v is not None]
                if len(t) < 3 or not all(t):
                    return False
        except (EvalError, ShapeError):
            return False
        return True

    def _imitates_identity(self, k: int, a, b) -> bool:
        """A relation ``a = b`` that holds only at the solution, written like reference step k: is step k
        an identity in a declared unknown (true for every value of it), so the written relation should be
        too? Setting an expression of step k (or a constant multiple of one) to zero is not an imitation:
        that is the "set the derivative to zero" step."""
        if not self._unknowns_in(k) or not self._ref_is_identity(k):
            return False
        if _is_zero(a) or _is_zero(b):
            other = b if _is_zero(a) else a
            if any(
                self.same_value(other, x) or self.proportional(other, x) for x in self.ref_claims[k - 1].exprs
            ):
                return False
        return True

    def _like_reference_equation(self, a, b) -> bool:
        """Is a - b a constant multiple of the residual of a solution-only reference relation? (The same
        equation rearranged; a wrong identity that merely vanishes at the solution is not.)"""
        from .trees import neg

        mine = ("add", (a, neg(b)))
        for x, y in self._solution_only_refs():
            if self.proportional(mine, ("add", (x, neg(y)))):
                return True
        return False


def _last_piece(latex: str) -> str:
    """The last expression of a step as written (after its last top-level relation sign)."""
    try:
        pieces, _ = split_relations(clean(latex))
    except ParseError:
        return latex
    return pieces[-1] if pieces and pieces[-1].strip() else latex


_BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec|mathbfit|pmb|mathcal|mathscr)\s*\{([^{}]*)\}")
_ROMAN = re.compile(r"\\(?:mathrm|operatorname|text|textrm)\s*\{([A-Za-z]*)\}")
_TRANSPOSE = re.compile(
    r"\^\s*\{?\s*(?:\\top|\\intercal|\\mathsf\s*\{\s*T\s*\}|\\mathrm\s*\{\s*T\s*\}|')\s*\}?"
)


@functools.lru_cache(maxsize=4096)
def _plain_form(latex: str) -> str:
    """A step for a loose comparison by eye: bold, arrows, calligraphic and roman type and ``\\cdot`` dropped, every
    transpose written ``^T``."""
    s = clean(latex)
    s = _BOLD.sub(r"\1", s)
    s = _ROMAN.sub(r"\1", s).replace(r"\cdot", " ")
    return _TRANSPOSE.sub("^T", s)


@functools.lru_cache(maxsize=1024)
def _relation_forms(latex: str) -> tuple[str, ...]:
    """A reference step and each relation ``a REL b`` between two of its pieces, in :func:`_plain_form`:
    ``s = A = B`` is also written ``s = A``, ``s = B`` and ``A = B`` (a person writes one link of a
    chain)."""
    s = _plain_form(latex)
    forms = [s]
    try:
        pieces, rels = split_relations(s)
    except ParseError:
        return tuple(forms)
    if len(pieces) < 3 or len(pieces) > 6:
        return tuple(forms)
    back = {v: k for k, v in reversed(list(RELATIONS.items()))}
    for a in range(len(pieces)):
        for b in range(a + 1, len(pieces)):
            between = set(rels[a:b])
            if pieces[a].strip() and pieces[b].strip() and len(between) == 1:
                forms.append(f"{pieces[a]} {back.get(rels[a], '=')} {pieces[b]}")
    return tuple(forms)
