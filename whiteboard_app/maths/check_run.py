"""The user's run: what the earlier steps of a derivation established (issue 11 items 1-4). A step
``NAME = EXPR`` defines the user's own name (or re-defines a card name for the user's model, with at most one
new parameter such as a bias), later steps are parsed in the run's context (their names, component letters
``w_j``, per-example forms) and evaluated with the run's definitions.

:class:`RunMixin` is one part of :class:`~whiteboard_app.maths.checker.CardChecker`."""

from __future__ import annotations

import dataclasses
import re
import zlib
from dataclasses import dataclass, field

import numpy as np

from whiteboard_app.latex.names import GREEK as _GREEK
from whiteboard_app.latex.names import name_key
from whiteboard_app.latex.tokens import (
    ParseError,
    canonical,
    clean,
    expand_bare_sums,
    split_relations,
)

from . import renaming as _renaming
from .check_claims import (
    StepVerdict,
    _Claim,
    _map_tree,
    _mentions,
    _summand,
    _vars,
    _walk,
)
from .evaluate import EvalError, ShapeError
from .normalise import Names
from .notation import _accents, rewrite_step, rules_for
from .parse import ParsedStep, free_names, parse_piece, parse_step
from .trees import name_latex


@dataclass
class _UserName:
    """A name the user introduced with a step ``NAME = EXPR``: its internal key, the left side as written,
    its definition (a tree; a pattern ``z_i`` has index letters ``params``), the user's step (1-based) that
    defined it, and whether it is per example (its definition reads a family's generic element ``x``)."""

    key: str
    written: str
    tree: tuple
    params: tuple = ()
    step: int = 0
    per_example: bool = False
    alias: str | None = None
    alias_tree: tuple | None = None  # an element of a card family it equals (y-hat = sigma(w^T x + b) is p_i)


@dataclass
class _Run:
    """What the user's earlier steps of one run established: the name table with their own names,
    definitions and patterns, card names they re-defined for their own model (``rename``: card name ->
    internal name), new parameters introduced in definitions (``fresh``, real scalars), component index
    letters (``comp``: letter -> (lo, hi) LaTeX bounds, ``w_j``), and the claims of the steps in order
    (None for a step that cannot be read). ``sig`` is hashable and names the context in caches."""

    names: Names
    defs: dict = field(default_factory=dict)
    patterns: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    rename: dict = field(default_factory=dict)
    fresh: tuple = ()
    comp: dict = field(default_factory=dict)
    claims: tuple = ()
    names_sig: tuple = ()
    letters: tuple = ()  # hook (issue 11, i11eq): (written name, card LaTeX) bindings, maths/renaming.py

    @property
    def sig(self) -> tuple:
        return (
            self.names_sig,
            tuple(sorted(self.defs.items())),
            tuple(sorted(self.patterns.items())),
            tuple(sorted(self.rename.items())),
        )

    @property
    def touch(self) -> frozenset:
        """Every name whose value depends on the run (user names, renamed card names, new parameters,
        component letters, pattern families)."""
        return frozenset(self.defs) | frozenset(self.patterns) | frozenset(self.fresh) | frozenset(self.comp)


#: a leading "let" (\text{let}, \mathrm{let}, let) before a definition NAME = EXPR
_LET = re.compile(
    r"(?i)^\s*(?:\\(?:text|textrm|mathrm|textnormal)\s*\{\s*(?:let|define|where)\s*\}|let(?![A-Za-z]))(?:\s|\\[ ,;:!]|\\q?quad(?![A-Za-z])|~)*"
)


#: the left side of a definition (canonical LaTeX): a letter or Greek name, optionally decorated, with an
#: optional subscript and an optional layer label ^{(1)} / ^{[1]}
_NAME_LHS = re.compile(
    r"(?:\\(?P<dec>hat|bar|tilde|widehat|overline|widetilde|dot|check|mathbf|boldsymbol|bm|vec|mathcal|mathrm)"
    r"\{(?P<inner>[A-Za-z]|\\[A-Za-z]+)\}|(?P<plain>[A-Za-z]|\\[A-Za-z]+))"
    r"(?:_\{(?P<sub>[A-Za-z0-9,]+)\}|_(?P<sub1>[A-Za-z0-9]))?"
    r"(?P<sup>\^\{[(\[][A-Za-z0-9]+[)\]]\})?(?P<star>\^\{\*\})?"
)


#: an expectation written as E[...] / \mathbb{E}[...] / \operatorname{E}[...]
# the names of a small positive constant added for numerical stability (Goodfellow et al. write delta)
_STABILISERS = ("epsilon", "varepsilon", "delta")
_EXPECTATION = re.compile(r"(?<![A-Za-z\\])E\s*(?:_\{[^{}]*\}\s*)?\[|\\(?:mathbb|operatorname|mathrm)\{E\}")


class RunMixin:
    """The user's run (part of :class:`~whiteboard_app.maths.checker.CardChecker`)."""

    def _set_run_values(self, run: _Run, points) -> None:
        """Give the run's new parameters (real, in [-2, 2]) and component letters (in their range) a value at
        every point, the same at a point whatever the run (deterministic per card, name and point)."""
        for q, p in enumerate(points):
            for nm in run.fresh:
                p.values[nm] = float(
                    np.random.default_rng(zlib.crc32(f"{self.card.id}:{nm}".encode()) + q).uniform(-2.0, 2.0)
                )
            for letter, (lo, hi, _role) in run.comp.items():
                try:
                    a, b = self.ev._int_of(lo, p), self.ev._int_of(hi, p)
                except EvalError:
                    continue
                p.values[letter] = float(a + (zlib.crc32(f"{letter}:{q}".encode()) % max(1, b - a + 1)))

    def _use(self, run: _Run) -> None:
        """Make the run the context of evaluation (names, definitions, patterns, parameter values)."""
        self._run = run
        if run is self._base_run:
            self.names, self.ev.names, self.ev.definitions, self.ev.patterns = self._base_state
            self._ctx, self._touch = (), frozenset()
            return
        base_names, _, base_defs, base_pats = self._base_state
        self.names = self.ev.names = run.names
        self.ev.definitions = {**base_defs, **run.defs}
        self.ev.patterns = {**base_pats, **run.patterns}
        sig = run.sig
        if sig not in self._ctx_ids:
            if len(self._ctx_ids) > 5000:
                self._ctx_ids.clear()
                self._cache.clear()
            self._ctx_ids[sig] = len(self._ctx_ids) + 1
        # a small id stands for the run's context in the value cache (hashing the trees at every lookup
        # would cost more than the lookup saves)
        self._ctx, self._touch = (self._ctx_ids[sig],), run.touch
        self._set_run_values(run, self.points)
        if self._dense is not None:
            self._set_run_values(run, self._dense)

    def _run_for(self, previous) -> _Run:
        """The run established by the user's previous steps (cached by the steps, extended one at a time)."""
        # the mean-loss reading (maths/conventions.py) defines the user's names in it: runs of its own
        # and so does the opposite-sign reading (conventions.sign_reading)
        runs = self._runs if self.ev.mean is None else self.__dict__.setdefault("_mean_runs", {})
        if self.ev.flip:
            runs = self.__dict__.setdefault("_flip_runs" if self.ev.mean is None else "_flip_mean_runs", {})
        key = tuple(previous)
        k = len(key)
        while k > 0 and key[:k] not in runs:
            k -= 1
        run = runs.get(key[:k], self._base_run) if k else self._base_run
        if len(runs) > 2000:
            runs.clear()
        for j in range(k, len(key)):
            run = self._extend(run, key[j], j + 1)
            runs[key[: j + 1]] = run
        return run

    def _extend(self, run: _Run, latex: str, pos: int) -> _Run:
        """The run after one more step of the user's: its claim, and the name it defines if it does."""
        self._use(run)
        try:
            ps, dinfo = self._parse_run(run, latex)
        except (ParseError, RecursionError):
            return dataclasses.replace(run, claims=run.claims + (None,))
        ps, dinfo = self._reading(run, ps, dinfo)
        if ps.undecidable:
            return dataclasses.replace(run, claims=run.claims + (None,))
        claim = self._claim(ps, run.claims[-1] if run.claims else None)
        new = run
        if dinfo is not None:
            try:
                new, _, _ = self._define(run, ps, dinfo, pos)
            except (EvalError, ShapeError, RecursionError):
                new = None
            new = new or run
        elif dinfo is None and ps.names is not run.names:
            new = _with_step_names(run, ps)
        new = _renaming.extend(self, run, new, latex)  # hook (issue 11, i11eq): keep a new binding
        return dataclasses.replace(new, claims=run.claims + (claim,))

    def _component_letters(self, text: str, names: Names) -> dict:
        """Subscript letters that no declaration knows, read as component indices (``w_j``, ``x_j``) with
        the range of the vector they index: (lo, hi) LaTeX bounds."""
        out = {}
        try:
            c = canonical(text)
        except ParseError:
            return out
        d = self.card.declarations
        for m in re.finditer(r"(\\[A-Za-z]+|[A-Za-z])(?:\{[^{}]*\})?_\{([A-Za-z](?:,?[A-Za-z])?)\}", c):
            base = m.group(1).lstrip("\\")
            for letter in m.group(2).replace(",", ""):
                if letter in names.kinds or letter in out or letter in ("e",):
                    continue
                bounds = None
                shp = d.shapes.get(base)
                if (
                    base in names.families
                    and len(names.families[base]) == 1
                    and (shp is None or self._example_letter(letter, c, names))
                ):
                    b = names.indices.get(names.families[base])
                    bounds = (b[0], b[1], "example") if b else None
                elif shp is not None and base not in d.indexed:
                    bounds = (
                        ("1", shp[0] if shp[1] == "1" else shp[1], "component")
                        if "1" in shp
                        else ("1", shp[0], "component")
                    )
                elif shp is not None:
                    bounds = ("1", shp[0], "component")
                if bounds is None:
                    sizes = [nm for nm, kd in names.kinds.items() if kd == "dim"]
                    bounds = ("1", sizes[0], "component") if sizes else None
                if bounds is not None:
                    out[letter] = bounds
        return out

    def _example_letter(self, letter: str, c: str, names: Names) -> bool:
        """Is an undeclared subscript letter used as an example index in the step (on a family of scalars,
        ``y_s``), so that ``x_s`` is example s too, not component s?"""
        d = self.card.declarations
        for m in re.finditer(r"(\\[A-Za-z]+|[A-Za-z])_\{" + letter + r"\}", c):
            base = m.group(1).lstrip("\\")
            if base in names.families and base not in d.shapes and len(names.families[base]) == 1:
                return True
        return False

    def _definition_lhs(self, text: str, names: Names, run: _Run) -> dict | None:
        """Is the step ``NAME = EXPR`` (``:=``, ``\\text{let}``) with a left side the card does not declare?
        Returns what it defines: kind ``new`` (a new name), ``pattern`` (``z_i`` over a declared index),
        ``user`` (a name the run already defined), ``card`` (a name the card defines), or None."""
        try:
            pieces, rels = split_relations(clean(text))
        except ParseError:
            return None
        if not rels or rels[0] != "=" or not pieces[0].strip() or len(pieces) < 2:
            return None
        lhs = pieces[0].strip()
        try:
            whole = expand_bare_sums(canonical(lhs), names.indices)
        except ParseError:
            return None
        if any(key in whole for key in names.opaque):
            return None  # a structured name the card declares (D_{KL}(p\|q), P(D|T))
        call = re.fullmatch(
            r"(.+?)\(\s*((?:\\?[A-Za-z]+)(?:\s*,\s*\\?[A-Za-z]+)*)\s*\)", lhs
        )  # \ell(w), L(\theta)
        base_lhs = call.group(1).strip() if call else lhs
        try:
            c = canonical(base_lhs)
        except ParseError:
            return None
        # bold and vector fonts name the same letter (\hat{\mathbf{y}} is hat_y)
        c = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|pmb|mathbfit)\{([^{}]*)\}", r"\1", c)
        m = _NAME_LHS.fullmatch(c)
        if m is None:
            return None
        word = m.group("inner") or m.group("plain")
        if word.startswith("\\") and word[1:] not in _GREEK:
            return None
        sub = m.group("sub") or m.group("sub1")
        info = {"written": lhs, "rhs": pieces[1], "opaque": None}
        if m.group("sup"):
            info.update(kind="new", key="@" + c, opaque=c)
            return (
                None
                if ("@" + c) in names.kinds and ("@" + c) not in run.users
                else info | ({"kind": "user"} if ("@" + c) in run.users else {})
            )
        key = name_key(base_lhs)
        if call:
            info["opaque"] = canonical(lhs)
        letter = name_key(word)
        if (m.group("dec") or m.group("star")) and letter in self.solutions and key not in names.kinds:
            # \hat{w}, w^* for an unknown the card solves for: a claim about its solution, not a new name
            return info | {"kind": "solution", "key": key, "base": letter}
        declared = self.card.declarations
        if names.kinds.get(key) == "kron" and key not in declared.indexed and key not in declared.symbols:
            return info | {"kind": "new", "key": key}  # delta is the Kronecker delta only until defined
        if key in ("e", "pi", "I") or names.kinds.get(key) in ("function", "index", "dim", "identity"):
            return None
        if key in run.users:
            return info | {"kind": "user", "key": key}
        if key in run.rename:
            return info | {"kind": "user", "key": run.rename[key]}
        kind = names.kinds.get(key)
        if kind == "defined" and key in self._base_state[2]:
            return None if call and len(pieces) < 2 else info | {"kind": "card", "key": key}
        if kind is not None:
            return None  # a claim about a declared symbol, matrix or family
        if sub is not None and "," not in sub:
            base = key[: len(key) - len(sub) - 1]
            if (
                names.kinds.get(base) in ("defined", "symbol")
                and base not in run.users
                and sub.isalpha()
                and all(ch in names.indices for ch in sub)
                and base not in self.card.declarations.shapes
            ):
                # \ell_i on a card that defines \ell: the user's per-example term, a name of its own whose
                # index is the free (or summed) i
                return info | {"kind": "new", "key": key}
            if (
                rules_for(self.card).alias_of(base_lhs) is None
                and names.kinds.get(base) in ("symbol", "dim", "defined")
                and base not in run.users
                and base not in names.families
                and base not in self.card.declarations.shapes
                and not any(ch in names.indices for ch in sub)
                and (any(ch.isupper() for ch in sub) or names.kinds.get(base) != "defined")
            ):
                # a scalar of the card with a label that is no index (Prince's m_h, Jurafsky & Martin's
                # L_{CE}): the user's own name, not an element of the scalar
                return info | {"kind": "new", "key": key}
            if base in names.kinds and not (
                base in run.users and run.users[base].params and len(run.users[base].params) != len(sub)
            ):
                return None  # an element or component of a declared name
            if base in run.users:
                if run.users[base].params and len(run.users[base].params) != len(sub):
                    # Murphy's r_k = sum_i r_ik after the user's r_ik: another quantity, a name of its own
                    return info | {"kind": "new", "key": key}
                return None
            if sub.isalpha() and all(ch in names.indices for ch in sub):
                return info | {"kind": "pattern", "key": base, "params": tuple(sub)}
        return info | {"kind": "new", "key": key}

    def _parse_run(self, run: _Run, latex: str):
        """Parse a step in the run's context: its own names, component letters and, for a definition, the
        name it defines and new parameters on its right side. Returns (ParsedStep with trees rewritten
        into internal names, definition info or None); the ParsedStep carries ``names``, ``names_sig`` and
        ``comp`` for the run after it. Cached by (step, context). Raises ParseError."""
        latex = _renaming.apply(self, run, latex)  # hook (issue 11, i11eq): the run's renamed letters
        ckey = (latex, run.names_sig, tuple(sorted(run.users)), tuple(sorted(run.rename.items())))
        hit = self._run_parsed.get(ckey)
        if hit is not None:
            if isinstance(hit, ParseError):
                raise hit
            return hit
        if len(self._run_parsed) > 5000:
            self._run_parsed.clear()
        try:
            out = self._parse_run_uncached(run, latex)
        except ParseError as exc:
            self._run_parsed[ckey] = exc
            raise
        except RecursionError:
            exc = ParseError("the expression is nested too deeply")
            self._run_parsed[ckey] = exc
            raise exc from None
        self._run_parsed[ckey] = out
        return out

    def notation(self, latex: str, keep: frozenset = frozenset(), params: bool = False) -> str:
        """The hook for the card's declared notations (issue 11 item 2, :mod:`whiteboard_app.maths.notation`):
        rewrite a user's step into the card's names before it is parsed. ``keep`` are the internal names the
        user defined in this run (and the one this step defines): the user's own definition of a name wins
        over an alias. ``params``: the step defines a new name (an alias to a constant such as the bias
        ``b`` = ``0`` is left to be the user's new parameter)."""
        return rewrite_step(self.card, latex, keep, params)

    def _parse_written(self, text: str) -> ParsedStep:
        """Parse a step already in the card's names with the card's name table (cached); raises ParseError."""
        key = (text, ())
        r = self._parsed.get(key)
        if r is None:
            try:
                r = parse_step(text, self.names)
            except ParseError as exc:
                r = exc
            except RecursionError:
                r = ParseError("the expression is nested too deeply")
            self._parsed[key] = r
        if isinstance(r, ParseError):
            raise r
        return r

    def _raw_examples(self, text: str, names: Names) -> tuple:
        """Undeclared letters the step as written uses as the index of one example (``y_s``, ``x_s``), not
        bound by a sum: a notation rewrite may rename them to the card's index, but a relation that does
        not hold for every example is still a condition on that example."""
        try:
            c = canonical(text)
        except ParseError:
            return ()
        bound = set(re.findall(r"\\(?:sum|prod)_\{?([A-Za-z])", c))
        return tuple(
            x for x, b in self._component_letters(text, names).items() if b[2] == "example" and x not in bound
        )

    @staticmethod
    def _one_name(latex: str) -> bool:
        """Is ``latex`` (a rewritten left side) one name, possibly subscripted (``p_{i}``), not an
        expression (``(-L)``, ``(w^{T}x_{i})``)?"""
        t = latex.strip()
        try:
            c = canonical(t)
        except ParseError:
            return False
        c = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|pmb|mathbfit)\{([^{}]*)\}", r"\1", c)
        call = re.fullmatch(r"(.+?)\(\s*((?:\\?[A-Za-z]+)(?:\s*,\s*\\?[A-Za-z]+)*)\s*\)", c)  # \sigma(z)
        return _NAME_LHS.fullmatch(call.group(1) if call else c) is not None

    @staticmethod
    def _claimable(latex: str) -> bool:
        """Can ``NAME = EXPR`` with ``NAME`` rewritten to ``latex`` by a card alias also be read as a claim
        about the card's quantity: one name (``p_{i}``) or a derivative or Hessian of the card's
        (``H`` for ``\\nabla^2_w L``: ``H = \\sum_i p_i(1-p_i)x_i^Tx_i`` is a wrong Hessian, not a new name)?"""
        if RunMixin._one_name(latex):
            return True
        t = latex.strip()
        while t.startswith("(") and t.endswith(")"):
            t = t[1:-1].strip()
        return t.startswith(("\\nabla", "\\frac{\\partial", "\\frac{d", "\\partial"))

    @staticmethod
    def _card_quantity(latex: str, names: Names) -> bool:
        """Is ``latex`` (a rewritten left side, maybe in parentheses) a structured name the card defines
        (``H(Y|R)``, ``D_{KL}(p\\|q)``)? ``H_R = ...`` with the alias H_R -> H(Y|R) is then also a claim
        about the card's entropy, judged as such unless it reduces to it (see :meth:`_reading`)."""
        t = latex.strip()
        while t.startswith("(") and t.endswith(")"):
            t = t[1:-1].strip()
        try:
            return canonical(t) in names.opaque
        except ParseError:
            return False

    def _parse_run_uncached(self, run: _Run, latex: str, rewritten: bool = False):
        text = _LET.sub("", latex, count=1) if _LET.match(latex) else latex
        explicit = text is not latex or bool(
            re.search(r":=|\\coloneqq|\\triangleq", text)
        )  # let, :=: always a definition
        if not rewritten:
            text = _accents(text)  # ŷ is \hat{y} for the user's definitions too
            # CS229's h_\theta(x^{(i)}): the user's quantity of one example, h_{i}
            text = rules_for(self.card).indicators(rules_for(self.card).sample_functions(text))
        names = run.names
        adds: list[tuple] = []
        dinfo = self._definition_lhs(text, names, run)
        raw_examples = () if rewritten else self._raw_examples(text, names)
        if not rewritten:
            # the card's notations: a name the user defined in the run is theirs (no alias rewrites it)
            # ... except, inside an expectation (which only the card's opaque keys can evaluate), a name that is
            # the card's alias of a card quantity and was defined as just that quantity (v_t := m_t on the
            # Adam card): E[v_t] is the card's E[m_t]
            same: frozenset = frozenset()
            if _EXPECTATION.search(text):
                rules = rules_for(self.card)
                same = frozenset(
                    u.key
                    for u in run.users.values()
                    if u.alias is not None and rules.alias_of(u.written) == u.alias
                )
            keep = (
                (
                    frozenset(run.users)
                    | frozenset(run.rename)
                    | frozenset(run.rename.values())
                    | frozenset(run.fresh)
                    | frozenset(k for u in run.users.values() for k in _written_keys(u.written))
                )
                - same
                - frozenset(k for u in run.users.values() if u.key in same for k in _written_keys(u.written))
            )
            if dinfo is not None and dinfo["kind"] in ("new", "pattern"):
                lhs_r = self.notation(dinfo["written"], keep)
                alias_text = (
                    self.notation(text, keep)
                    if (
                        not explicit
                        and lhs_r != dinfo["written"]
                        and (self._claimable(lhs_r) or self._card_quantity(lhs_r, names))
                    )
                    else None
                )
                mine = {dinfo["key"], *_written_keys(dinfo["written"])}
                own = self.notation(text, keep | mine, params=True)
                if alias_text is not None:
                    # NAME is another notation for a card name (\hat{y} for p): both readings are parsed;
                    # _reading picks one (the user's definition only when it reduces to the card's)
                    try:
                        alt = self._parse_run_uncached(run, alias_text, rewritten=True)
                    except (ParseError, RecursionError):
                        alt = None
                    try:
                        ps, dinfo = self._parse_run_uncached(run, own, rewritten=True)
                    except (ParseError, RecursionError):
                        if alt is None:
                            raise
                        object.__setattr__(alt[0], "raw_examples", _renamed_away(raw_examples, alias_text))
                        return alt
                    if alt is not None:
                        object.__setattr__(ps, "alias", alt)
                        object.__setattr__(alt[0], "raw_examples", _renamed_away(raw_examples, alias_text))
                    object.__setattr__(ps, "raw_examples", _renamed_away(raw_examples, own))
                    return ps, dinfo
                text = own
            else:
                text = self.notation(
                    text, keep | (frozenset([dinfo["key"]]) if dinfo is not None else frozenset())
                )
                dinfo = self._definition_lhs(text, names, run) if dinfo is None else dinfo
        comp = self._component_letters(text, names)
        if comp or (dinfo is not None and dinfo["kind"] in ("new", "pattern")):
            names = _copy_names(names)
        for letter, bounds in comp.items():
            names.kinds[letter] = "index"
            names.indices[letter] = bounds[:2]
            adds.append(("comp", letter, bounds))
        fresh: list[str] = []
        pre_parsed = None
        if dinfo is not None and dinfo["kind"] in ("new", "pattern"):
            key = dinfo["key"]
            if dinfo["kind"] == "pattern":
                names.kinds[key] = "family"
                names.families[key] = "".join(dinfo["params"])
                names.pattern_defs[key] = dinfo["params"]
                adds.append(("pattern", key, dinfo["params"]))
            else:
                names.kinds[key] = "defined"
                names.families.pop(key, None)  # delta defined by the user is no longer the Kronecker delta
                adds.append(("name", key))
            if dinfo["opaque"]:
                names.opaque[expand_bare_sums(dinfo["opaque"], names.indices)] = key
                adds.append(("opaque", dinfo["opaque"], key))
            # new parameters on the right side (a bias b): real scalars from here on (looked for only when
            # the step does not read without them: a second parse costs ~20 ms)
            try:
                pieces, _ = split_relations(clean(text))
                pre_parsed = parse_step(text, names)
                pieces = []
            except ParseError as exc:
                if not str(exc).startswith("unknown name"):
                    pieces = []
            for piece in pieces[1:]:
                try:
                    tree = parse_piece(piece, names)
                except ParseError:
                    continue
                for nm in sorted(free_names(tree)):
                    if (
                        nm not in names.kinds
                        and re.fullmatch(r"[A-Za-z]+", nm)
                        and nm not in fresh
                        and nm != key
                    ):
                        fresh.append(nm)
            if len(fresh) > 1:  # one new parameter (a bias) is a model; several are undeclared names
                raise ParseError(
                    f"unknown names {', '.join(repr(x) for x in fresh)}: they are not declared on "
                    "this card (a definition may introduce at most one new parameter)"
                )
            for nm in fresh:
                names.kinds[nm] = "symbol"
                adds.append(("fresh", nm))
        elif dinfo is not None and dinfo["kind"] == "solution":
            names = _copy_names(names)
            names.kinds[dinfo["key"]] = "defined"
            adds.append(("name", dinfo["key"]))
        elif dinfo is not None and dinfo["opaque"] and dinfo["kind"] == "card":
            names = _copy_names(names)
            names.opaque[expand_bare_sums(dinfo["opaque"], names.indices)] = dinfo["key"]
            adds.append(("opaque", dinfo["opaque"], dinfo["key"]))
        names_sig = run.names_sig + tuple(adds)
        pkey = (text, names_sig)
        r = self._parsed.get(pkey) if names_sig else None
        if r is None and pre_parsed is not None and not fresh:
            r = self._parsed[pkey] = pre_parsed
        if r is None:
            r = parse_step(text, names) if names_sig else self._parse_written(text)
            if names_sig:
                self._parsed[pkey] = r
        # rewrite: the user's own version of a card name, a family written without its index (the generic
        # example x_i), a component of a family's vector element (x_j)
        per_example = self._per_example(r.trees, names, run)
        comp_all = {**run.comp, **comp}
        trees = tuple(self._rewrite(t, names, run, comp_all, per_example) for t in r.trees)
        ps = dataclasses.replace(r, trees=trees)
        through = _chain_through_family(r.trees, names)
        if through is not None:
            # dL/dp dp/dz with p a family written without its index: read per component it would be
            # dL/dp_k dp_k/dz_k, which drops the sum over k of the vector chain rule; not judged
            ps = dataclasses.replace(
                ps,
                undecidable_reason=f"a chain rule through the vector {through}, which this card has only "
                f"component by component: write it with the index and the sum",
            )
        object.__setattr__(ps, "names", names)
        object.__setattr__(ps, "names_sig", names_sig)
        object.__setattr__(ps, "comp", comp_all)
        object.__setattr__(ps, "fresh", tuple(fresh))
        object.__setattr__(ps, "per_example", per_example)
        # example letters of the step as written that the notation renamed away (y_s -> y_i)
        object.__setattr__(ps, "raw_examples", _renamed_away(raw_examples, text))
        return ps, dinfo

    def _defined_lhs(self, claim) -> bool:
        """Is the claim's first expression a quantity the card or the run defines (p_k, L)?"""
        if not claim.exprs:
            return False
        e = claim.exprs[0]
        if e[0] == "deriv":
            return True  # a derivative (of anything): a claim for every example, judged as such
        nm = e[1] if e[0] in ("var", "idx") and isinstance(e[1], str) else None
        return nm is not None and (nm in self.ev.definitions or nm in self.ev.patterns)

    def _reading(self, run: _Run, ps: ParsedStep, dinfo):
        """Of the two readings of ``ALIAS = EXPR`` (the alias a card notation for a card name, e.g. \\hat{y}
        for p): the user's definition of their own name when its right side is the card's quantity with
        the new parameters at 0 (their own model, e.g. with a bias), else a claim about the card's name,
        judged as such (so a declared mistake written in the card's notation stays wrong)."""
        alt = getattr(ps, "alias", None)
        if alt is None or dinfo is None or len(ps.trees) < 2 or not alt[0].trees:
            return ps, dinfo
        aps, adinfo = alt
        self._use(run)
        scope0 = {nm: 0.0 for nm in tuple(run.fresh) + tuple(getattr(ps, "fresh", ()))}
        try:
            trial = _with_step_names(run, ps, fresh=_fresh_after(run, ps))
            self._use(trial)
            target = {nm for nm in _mentions(aps.trees[0]) if self._base_state[0].kinds.get(nm) != "index"}
            lhs = aps.trees[0]
            if (
                len(aps.trees) > 1
                and lhs[0] == "var"
                and self._base_state[0].kinds.get(lhs[1]) == "symbol"
                and lhs[1] in set(_mentions(aps.trees[1]))
            ):
                agree = True  # u = 1 + e^{-z} with u another name for the variable z: not an equation in z
            else:
                agree = self._agree_scoped(ps.trees[1], aps.trees[0], scope0)
            if not agree and self.solutions and target & set(self.solutions):
                # a name for the solution (\alpha = 1/\sqrt{d_k} with \alpha the card's c): at the solution
                agree = self._agree_solved(ps.trees[1], aps.trees[0], scope0)
        except (EvalError, ShapeError, RecursionError):
            agree = False
        finally:
            self._use(run)
        return (ps, dinfo) if agree else (aps, adinfo)

    def _per_example(self, trees, names: Names, run: _Run) -> bool:
        """Does a step speak of one generic example: a family written without its index (``x`` for x_i,
        not a stacked vector) or a name the user defined per example?"""
        for t in trees:
            for nm in _mentions(t):
                fam = names.families.get(nm)
                if (
                    fam
                    and len(fam) == 1
                    and nm not in names.stacks
                    and names.kinds.get(nm) == "family"
                    and (("var", nm) in _vars(t))
                ):
                    return True
                u = run.users.get(nm)
                if u is not None and u.per_example:
                    return True
        return False

    def _rewrite(self, t, names: Names, run: _Run, comp: dict, per_example: bool):
        d = self.card.declarations

        def f(node):
            if node[0] == "deriv" and node[2][0] == "var" and node[2][1] in run.users:
                u = run.users[node[2][1]]
                if u.alias is not None:
                    return ("deriv", _map_tree(node[1], f), ("var", u.alias))
                if u.alias_tree is not None:
                    return ("deriv", _map_tree(node[1], f), u.alias_tree)
                fn = node[1]
                defs = {**self._base_state[2], **run.defs}
                if fn[0] == "var" and fn[1] in defs and u.tree != ("var", fn[1]):
                    # d/du of a defined quantity whose definition contains u's expression (Delta = r_w - r_l
                    # in L = -log sigma(r_w - r_l)): u stands for that subexpression
                    body = defs[fn[1]]
                    if body != u.tree and u.tree in {n for _, n in _walk(body)}:

                        def put(n, t=u.tree, k=u.key):
                            return ("var", k) if n == t else n

                        return ("deriv", _map_tree(body, put), node[2])
            if node[0] == "var":
                nm = node[1]
                if nm in run.rename:
                    return ("var", run.rename[nm])
                fam = names.families.get(nm)
                if (
                    fam
                    and len(fam) == 1
                    and names.kinds.get(nm) == "family"
                    and (nm not in names.stacks or per_example)
                ):
                    return ("idx", nm, (("var", fam),))
            elif (
                node[0] == "idx"
                and len(node[2]) == 1
                and node[2][0][0] == "var"
                and node[2][0][1] in comp
                and comp[node[2][0][1]][2] == "component"
            ):
                fam = names.families.get(node[1])
                shp = d.shapes.get(node[1])
                if fam and len(fam) == 1 and shp is not None and "1" in shp:
                    return ("idx", node[1], (("var", fam), node[2][0]))
            elif node[0] == "idx" and len(node[2]) == 1 and _example_component(node[2][0], comp):
                # ESL's x_{ij} (parsed as the product index i*j): component j of example i of a family of
                # column vectors
                fam = names.families.get(node[1])
                shp = d.shapes.get(node[1])
                if fam and len(fam) == 1 and shp is not None and shp[1] == "1":
                    return ("idx", node[1], node[2][0][1])
            return node

        return _map_tree(t, f)

    def _define(self, run: _Run, ps: ParsedStep, dinfo: dict, pos: int):
        """Accept the definition of a step ``NAME = EXPR``: (run after it or None, problem or None,
        diagnosis or None). A new name must not appear on its own right side and its right side must
        evaluate (shapes consistent); a card name may be re-defined for the user's own model only when it
        reduces to the card's definition (or its summand, per example) with the new parameters at 0."""
        key, kind = dinfo["key"], dinfo["kind"]
        if kind == "user":
            return None, None, None
        if kind == "solution":  # the user's name for the card's solution: judged as a claim about it
            users = dict(run.users)
            users[key] = _UserName(key, dinfo["written"], self.solutions[dinfo["base"]], (), pos, False)
            new = _with_step_names(
                run, ps, users=users, defs={**run.defs, key: self.solutions[dinfo["base"]]}
            )
            return new, None, None
        rhs = ps.trees[1]
        written = dinfo["written"]
        if kind in ("new", "pattern"):
            if key in _mentions(rhs):
                return (
                    None,
                    f"circular definition: {written} appears on its own right side",
                    "circular definition",
                )
            users = dict(run.users)
            users[key] = _UserName(key, written, rhs, dinfo.get("params", ()), pos, ps.per_example)
            new = _with_step_names(run, ps, users=users, fresh=_fresh_after(run, ps))
            if kind == "pattern":
                new.patterns = {**run.patterns, key: (dinfo["params"], rhs)}
            else:
                new.defs = {**run.defs, key: rhs}
            self._use(new)
            try:
                self.values(rhs)  # ShapeError / EvalError: the definition is not accepted
            except ShapeError:
                # Q = -[y\log\hat{y} + (1-y)\log(1-\hat{y})] (Jurafsky & Martin's L_CE): the labels and
                # predictions written without their index are one example's, not the stacked vectors
                one = self._one_example(rhs, ps.names)
                if one is None:
                    raise
                self._use(run)
                ps1 = dataclasses.replace(ps, trees=(ps.trees[0], one, *ps.trees[2:]))
                for attr, val in vars(ps).items():
                    if attr not in {f.name for f in dataclasses.fields(ps)}:
                        object.__setattr__(ps1, attr, val)
                object.__setattr__(ps1, "per_example", True)
                out = self._define(run, ps1, dinfo, pos)
                if out[0] is not None:
                    out[0]._ps = ps1  # the step as read (per example), for its claim
                return out
            if kind == "new":
                # another name for a card quantity (u = W_1x + b_1 is the card's z): derivatives with respect
                # to u are taken with respect to that quantity, which the card's definitions depend on
                base_names = self._base_state[0]
                for nm, kd in base_names.kinds.items():
                    if (
                        kd in ("defined", "symbol", "matrix")
                        and nm != key
                        and self.same_value(("var", nm), rhs)
                    ):
                        users[key].alias = nm
                        break
                else:
                    # the generic element of a card family of one index (micrograd's y-hat = sigma(w^T x + b) for
                    # the card's p_i): derivatives with respect to it are taken with respect to that element
                    for nm, fam in base_names.families.items():
                        if len(fam) != 1 or base_names.kinds.get(nm) != "family" or nm in base_names.stacks:
                            continue
                        elem = ("idx", nm, (("var", fam),))
                        try:
                            if self.same_value(elem, rhs):
                                users[key].alias_tree = elem
                                break
                        except (EvalError, ShapeError):
                            continue
            return new, None, None
        # kind == "card": the user's own version of a card name
        target = self._base_state[2].get(key)
        if target is None:
            return None, None, None
        summand = _summand(target, self.names.indices)
        if self.ev.mean and key in self.ev.mean:  # the mean-loss reading: the card's sum over the count
            target = ("mul", (("pow", self.ev.mean[key], ("num", -1.0)), target))
        lhs_tree = ("var", key)
        if ps.trees and self.same_value(lhs_tree, rhs):
            return None, None, None  # the card's own value: an ordinary step
        fresh = _fresh_after(run, ps)
        scope0 = {nm: 0.0 for nm in fresh}
        how = None
        zeroed: tuple[str, ...] = ()
        for cand, word in ((target, ""), (summand, " per example")):
            if cand is None:
                continue
            if self._agree_scoped(rhs, cand, scope0):
                how = word
                break
        if how is None:
            # Goodfellow et al. 8.7.1 (sigma = sqrt(delta + 1/m sum ...)): the card's name with the card's
            # small positive stabiliser added inside it, where the card's definition of the name has none
            stab = self._stabilisers(rhs, target)
            if stab and self._agree_scoped(rhs, target, {**scope0, **{nm: 0.0 for nm in stab}}):
                how = " with " + ", ".join(name_latex(nm) for nm in stab) + " inside it"
                zeroed = stab
        if how is None:
            return None, None, None
        internal = "@" + canonical(written if not dinfo["opaque"] else written.split("(")[0])
        users = dict(run.users)
        users[internal] = _UserName(internal, written, rhs, (), pos, ps.per_example)
        new = _with_step_names(
            run,
            ps,
            users=users,
            fresh=fresh,
            defs={**run.defs, internal: rhs},
            rename={**run.rename, key: internal},
        )
        new._how = how  # shown in the message
        new._zeroed = zeroed
        return new, None, None

    def _stabilisers(self, rhs, target) -> tuple[str, ...]:
        """The card's small positive constants (a declared ``positive`` epsilon or delta: the numerical
        stabiliser of batch norm, Adam, RMSProp) that ``rhs`` writes and the card's ``target`` does not
        depend on, even through the card's definitions."""
        d = self.card.declarations
        cands = [nm for nm in _STABILISERS if d.symbols.get(nm) == "positive"]
        if not cands:
            return ()
        defs = self._base_state[2]
        seen: set[str] = set()
        todo = list(free_names(target))
        while todo:
            nm = todo.pop()
            if nm in seen:
                continue
            seen.add(nm)
            if nm in defs:
                todo.extend(free_names(defs[nm]))
        return tuple(nm for nm in cands if nm in free_names(rhs) and nm not in seen)

    def _one_example(self, tree, names: Names):
        """``tree`` with every one-index family that has a stacked vector of its own name (y, p) and is written
        without its index read as its generic example (y_i), or None when there is none."""
        hit: set[str] = set()

        def f(node):
            if node[0] == "var" and node[1] in names.stacks and len(names.families.get(node[1], "")) == 1:
                hit.add(node[1])
                return ("idx", node[1], (("var", names.families[node[1]]),))
            return node

        out = _map_tree(tree, f)
        # two of them (labels and predictions, y and p): one stacked vector next to another vector (r = y - w)
        # is a shape error to report, not one example
        return out if len(hit) >= 2 else None

    def _as_definition(self, v: StepVerdict, dinfo: dict, run: _Run, claim: _Claim) -> None:
        """Turn a correct verdict on ``NAME = EXPR`` into "defines NAME" (the reference step only when the
        right side is the value of an expression of that step)."""
        written = dinfo["written"]
        v.defines = written
        rhs = claim.exprs[1] if len(claim.exprs) > 1 else claim.exprs[-1]
        k = None
        same = [
            kk
            for kk, c in enumerate(self.ref_claims, 1)
            if c is not None and any(self.same_value(rhs, x) for x in c.exprs)
        ]
        if same:  # several reference steps have that value: the one written most like the step
            k = max(same, key=lambda kk: (self._sim(v.latex, self.card.steps[kk - 1].latex), -kk))
        states = False
        if k is None and dinfo["kind"] == "card":
            # the user's own version of a card name: the reference step that states that name
            for kk, c in enumerate(self.ref_claims, 1):
                if c is not None and c.exprs and c.exprs[0] == ("var", dinfo["key"]) and not c.step.continues:
                    k, states = kk, True
                    break
        if k is None and run.fresh:
            # the user's model with a new parameter (a bias): the reference step it reduces to at 0
            scope0 = {nm: 0.0 for nm in run.fresh}
            for kk, c in enumerate(self.ref_claims, 1):
                if c is not None and any(self._safe_agree(rhs, x, scope0) for x in c.exprs):
                    k = kk
                    break
        v.reference_step = k
        words = f"defines {written}"
        how = getattr(run, "_how", None)
        if dinfo["kind"] == "card":
            at0 = [*run.fresh, *(name_latex(nm) for nm in getattr(run, "_zeroed", ()))]
            words = f"defines {written} for your model{how or ''} (it reduces to the card's {written}" + (
                " with " + ", ".join(at0) + " = 0)" if at0 else ")"
            )
            words += "; later steps use yours"
        fresh = getattr(claim.step, "fresh", ())
        if fresh:
            words += (
                "; "
                + ", ".join(fresh)
                + (
                    " is a new parameter (a real number)"
                    if len(fresh) == 1
                    else " are new parameters (real numbers)"
                )
            )
        if k is not None:
            words += (
                f"; the card's {written} is reference step {k}"
                if states
                else f"; its value is that of reference step {k}"
            )
        v.message = words


def _example_component(index, comp: dict) -> bool:
    """Is a parsed index the product of two letters ``a b`` whose second is a component letter of the step
    (``x_{ij}``: example i, component j)?"""
    if index[0] != "mul" or len(index[1]) != 2:
        return False
    a, b = index[1]
    return (
        a[0] == "var"
        and b[0] == "var"
        and isinstance(b[1], str)
        and b[1] in comp
        and comp[b[1]][2] == "component"
        and a[1] != b[1]
    )


def _with_step_names(run, ps: ParsedStep, **changes):
    """``run`` carrying the parsed step's name state (its names, their signature, the component letters)
    and ``changes`` (other fields of the run)."""
    return dataclasses.replace(run, names=ps.names, names_sig=ps.names_sig, comp=ps.comp, **changes)


def _fresh_after(run, ps: ParsedStep) -> tuple:
    """The run's fresh names followed by the step's new ones (order kept, no repeats)."""
    return run.fresh + tuple(x for x in ps.fresh if x not in run.fresh)


def _copy_names(n: Names) -> Names:
    return dataclasses.replace(
        n,
        kinds=dict(n.kinds),
        families=dict(n.families),
        functions=dict(n.functions),
        opaque=dict(n.opaque),
        indices=dict(n.indices),
        pattern_defs=dict(n.pattern_defs),
        stacks=dict(n.stacks),
    )


def _written_keys(written: str) -> tuple:
    """The names a user's written left side goes by in the notation rules: as written (``a^{(1)}``) and
    without a letter subscript (``\\hat{y}_k``: ``hat_y``; a numbered name ``N_1`` keeps its number, so the
    card's alias of ``N`` still applies to a bare ``N``)."""
    out = []
    for w in (written.strip(), re.sub(r"_(?:\{[^{}0-9]*\}|[A-Za-z])\s*$", "", written.strip())):
        try:
            out.append(name_key(w))
        except (ParseError, IndexError, ValueError):
            continue
    return tuple(out)


def _chain_through_family(trees, names: Names) -> str | None:
    """The family (one index, no stacked vector, written without its index) a product of derivatives
    passes through (``\\frac{\\partial L}{\\partial p}\\frac{\\partial p}{\\partial z}``), else None."""

    def bare(t) -> str | None:
        if t[0] != "var":
            return None
        nm = t[1]
        fam = names.families.get(nm)
        ok = fam and len(fam) == 1 and names.kinds.get(nm) == "family" and nm not in names.stacks
        return nm if ok else None

    for t in trees:
        for _, node in _walk(t):
            if node[0] != "mul":
                continue
            ds = [f for f in node[1] if isinstance(f, tuple) and f and f[0] == "deriv"]
            wrts = {bare(d[2]) for d in ds} - {None}
            tops = {bare(d[1]) for d in ds} - {None}
            both = wrts & tops
            if both:
                return sorted(both)[0]
    return None


def _renamed_away(letters, text: str) -> tuple:
    """The letters (example indices of a step as written) that no longer occur in its rewritten text."""
    present = set(re.findall(r"[A-Za-z]+", text))
    return tuple(x for x in letters if x not in present)
