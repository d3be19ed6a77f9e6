"""Well-formedness of a written step: delimiters that pair up (:func:`check_balance`) and the typical
recogniser misreadings sympy would only call "I don't understand this" (:func:`check_structure`), each
raising :class:`~whiteboard_app.latex.tokens.MalformedError` with a message that names the 1-based column.
Both read the step with the project's one tokenizer (:func:`~whiteboard_app.latex.tokens.token_spans`).
"""

from __future__ import annotations

import re

from .tokens import (
    DECORATIONS,
    FONTS_DROPPED,
    RELATIONS,
    TEXT_CMDS,
    UNICODE,
    MalformedError,
    token_spans,
)

#: levels); beyond them antlr takes seconds, so such input is refused at once instead of timing out
MAX_STEP_CHARS = 1000
MAX_NESTING = 20
#: highest derivative order read (\frac{d^k f}{dx^k}, \nabla^k): each order nests a numeric derivative
MAX_DERIVATIVE_ORDER = 4
#: opening and closing delimiters checked by :func:`check_balance`, with their names for messages
_OPENERS = {"{": "}", "(": ")", "[": "]", r"\{": r"\}", r"\langle": r"\rangle"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_DELIM_SYNONYMS = {r"\lbrace": r"\{", r"\rbrace": r"\}", r"\lbrack": "[", r"\rbrack": "]"}
_DELIM_NAMES = {
    "{": "braces",
    "(": "parentheses",
    "[": "square brackets",
    r"\{": r"braces \{ \}",
    r"\langle": "angle brackets",
}
_SIZING = re.compile(
    r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|middle)(?![a-zA-Z])"
)


def _excerpt(s: str, start: int, end: int) -> str:
    """The written text around ``s[start:end]`` (at most ~12 characters either side), for messages."""
    a, b = max(0, start - 12), min(len(s), end + 12)
    return ("…" if a > 0 else "") + s[a:b] + ("…" if b < len(s) else "")


def check_balance(latex: str) -> None:
    """Raise :class:`MalformedError` (a :class:`ParseError`) when the braces ``{}``, parentheses ``()``,
    square brackets ``[]``, ``\\{ \\}`` or ``\\langle \\rangle`` of a written step do not pair up.

    The message names what is unbalanced and where, as a 1-based column in the step as written, with the
    text around it: ``unbalanced braces: the '{' at column 9 is never closed (in "\\frac{1}{1+e^{-z}")``.
    ``\\left(`` / ``\\right)`` count as ``(`` / ``)``; the invisible ``\\left.`` / ``\\right.`` count as
    nothing; bars ``|`` and ``\\|`` are paired by :func:`check_structure`.
    Steps longer than :data:`MAX_STEP_CHARS` or nested deeper than :data:`MAX_NESTING` are refused too.
    A half-open interval ``[0, 1)`` is accepted only next to ``\\in`` (set membership), where the step is
    ``cannot_check`` anyway. Recognisers often misread or drop one delimiter; such a step must be
    "unparsed" (see docs/parsing.md), never "wrong" or "cannot_check".
    """
    if len(latex) > MAX_STEP_CHARS:
        raise MalformedError(
            f"the step is {len(latex)} characters long; one written step has at most "
            f"{MAX_STEP_CHARS} (write it as several steps)"
        )
    # (opener, position in latex, opened by \left); "." is the invisible \left. (or \left| ...), which
    # the next \right closes whatever it is written with, and which is transparent to other delimiters
    stack: list[tuple[str, int, bool]] = []
    interval_ok = bool(re.search(r"\\in(?![a-zA-Z])", latex))
    sized = None  # "left", "right" or "big" when the previous token was \left, \right, \big...
    for t, pos in token_spans(latex):
        if _SIZING.fullmatch(t):
            sized = t[1:] if t[1:] in ("left", "right") else "big"
            continue
        kind, sized = sized, None
        t = _DELIM_SYNONYMS.get(t, t)
        if kind == "left" and t not in _OPENERS:  # \left. \left| \left\|
            stack.append((".", pos, True))
            continue
        if kind == "right" and t not in _CLOSERS:  # \right. \right| \right\|
            if stack and stack[-1][2]:
                stack.pop()  # \left. f \right|  or  \left\{ ... \right.
            continue
        if t in _OPENERS:
            stack.append((t, pos, kind == "left"))
            if len(stack) > MAX_NESTING:
                raise MalformedError(
                    f"the '{t}' at column {pos + 1} is nested more than {MAX_NESTING} levels deep"
                )
            continue
        if t not in _CLOSERS:
            continue
        if kind == "right" and stack and stack[-1][0] == ".":
            stack.pop()  # \left. ... \right)
            continue
        while stack and stack[-1][0] == ".":
            stack.pop()  # an unclosed \left. is transparent
        want = _CLOSERS[t]
        if stack and stack[-1][0] == want:
            stack.pop()
            continue
        if stack and interval_ok and {stack[-1][0], want} <= {"(", "["}:
            stack.pop()  # a half-open interval, [0, 1)
            continue
        if (
            stack
            and stack[-1][0] in ("(", "[")
            and want in ("(", "[")
            and all(o != want for o, _, _ in stack)
        ):
            o, opos, _ = stack[-1]
            raise MalformedError(
                f"mismatched brackets: the '{o}' at column {opos + 1} is closed by '{t}' at column {pos + 1} "
                f'(in "{_excerpt(latex, opos, pos + len(t))}")'
            )
        if any(o == want for o, _, _ in stack):
            # something opened inside this pair is not closed before it
            o, opos, _ = stack[-1]
            raise MalformedError(
                f"unbalanced {_DELIM_NAMES[o]}: the '{o}' at column {opos + 1} is not closed before the "
                f"'{t}' at column {pos + 1} (in \"{_excerpt(latex, opos, pos + len(t))}\")"
            )
        raise MalformedError(
            f"unbalanced {_DELIM_NAMES[want]}: the '{t}' at column {pos + 1} has no matching '{want}' "
            f'(in "{_excerpt(latex, pos, pos + len(t))}")'
        )
    stack = [e for e in stack if e[0] != "."]
    if stack:
        o, opos, _ = stack[-1]
        more = f" ({len(stack)} delimiters are left open)" if len(stack) > 1 else ""
        raise MalformedError(
            f"unbalanced {_DELIM_NAMES[o]}: the '{o}' at column {opos + 1} is never closed{more} "
            f'(in "{_excerpt(latex, opos, opos + len(o))}")'
        )


_BINOPS = {"+", "-", r"\cdot", r"\times", "/", r"\div", r"\pm", r"\mp"}
_MULOPS = {r"\cdot", r"\times", "/", r"\div"}
_REL_TOKENS = set(RELATIONS) | {r"\leq", r"\geq", r"\neq", r"\leqslant", r"\geqslant"}
_BOUNDARY_OPEN = {"{", "(", "[", r"\{", "&", "\\\\"}
_BOUNDARY_CLOSE = {"}", ")", "]", r"\}", "&", "\\\\"}
_ESCAPES_READ = {r"\{", r"\}", r"\|", "\\\\", r"\,", r"\;", r"\!", r"\:", "\\ "}
#: commands and how many brace arguments they need
_ARGS = {
    r"\frac": 2,
    r"\dfrac": 2,
    r"\tfrac": 2,
    r"\cfrac": 2,
    r"\binom": 2,
    r"\sqrt": 1,
    r"\mathbb": 1,
    **{"\\" + c: 1 for c in (*DECORATIONS, *FONTS_DROPPED, *TEXT_CMDS)},
}
_FUNCTION_CMDS = {"log", "ln", "exp", "sin", "cos", "tan", "sinh", "cosh", "tanh", "lg", "det", "tr"}
_SKIP = re.compile(r"\\(,|;|!|:| |quad|qquad|displaystyle|textstyle|nonumber|limits)$|~$")


def check_structure(latex: str) -> None:
    """Raise :class:`MalformedError` (a :class:`ParseError`) for the typical recogniser misreadings that
    sympy would only call "I don't understand this", naming what is wrong and its 1-based column in the step
    as written:

    - a superscript or subscript with nothing before or after it (``^2``, ``x^``, ``x_``, ``x^^2``), an empty
      one (``x^{}``, ``x_{}``) or one holding only a sign (``z^-1``: write ``z^{-1}``);
    - a command with an empty or missing argument: ``\\frac{}{2}`` (empty numerator), ``\\frac{1}{}``,
      ``\\frac{1}`` at the end, ``\\sqrt{}``, ``\\hat{}``, ``\\mathrm{}``; a function with no argument
      (``\\log``, ``\\log_2 + a``); empty parentheses, brackets or norm (``()``, ``[]``, ``\\|\\|``);
    - two operators in a row (``a +- b``, ``a -- b``, ``a \\cdot\\cdot b``, ``a \\cdot / b``; a sign after
      ``\\cdot``, ``\\times`` or ``/`` is fine: ``2 \\cdot -3``), an operator with nothing after it
      (``a +``, ``1/``), ``\\cdot``, ``\\times`` or ``/`` with nothing before it, a stray ``*`` (``w^*`` is
      fine) or ``.`` (``s.t.`` and decimals are fine), a number with two decimal points;
    - an absolute-value bar ``|`` or norm bar ``\\|`` without a partner at the top level (inside parentheses
      a bar may be a condition, ``p(y|x)``; ``f(x)|_{x=0}`` is an evaluation bar);
    - an escaped character the normaliser does not read (``\\%``) and a character outside ASCII that
      :data:`UNICODE` does not translate.

    Call it after :func:`check_balance` (it assumes the delimiters pair up).
    """
    toks: list[tuple[str, int]] = []
    sized = False
    for t, start in token_spans(latex):
        if _SKIP.match(t):
            continue
        if _SIZING.fullmatch(t):
            sized = True
            continue
        if not (sized and t == "."):  # \left. and \right. are invisible delimiters
            toks.append((t, start))
        sized = False
    for t, pos in toks:
        if not t.isascii() and t not in UNICODE:
            raise MalformedError(f"cannot read the character {t!r} (U+{ord(t[0]):04X}) at column {pos + 1}")
        if len(t) == 2 and t[0] == "\\" and not t[1].isalpha() and t not in _ESCAPES_READ:
            raise MalformedError(f"cannot read {t} at column {pos + 1}")
    m = re.search(r"\d*\.\d*\.\d|\d\.\.", latex)
    if m:
        raise MalformedError(
            f"cannot read the number {m.group(0)!r}... at column {m.start() + 1}: two decimal points"
        )
    n = len(toks)

    def at(k: int) -> str | None:
        return toks[k][0] if 0 <= k < n else None

    def where(k: int, j: int | None = None) -> str:
        j = k if j is None else j
        return f'column {toks[k][1] + 1} (in "{_excerpt(latex, toks[k][1], toks[j][1] + len(toks[j][0]))}")'

    def ends(k: int) -> bool:  # nothing more in this piece from token k on
        return at(k) is None or at(k) in _BOUNDARY_CLOSE or at(k) in _REL_TOKENS

    def after_group(k: int) -> int:  # the index after one TeX argument starting at token k
        if at(k) != "{":
            return k + 1
        depth, j = 0, k
        while j < n:
            depth += at(j) == "{"
            depth -= at(j) == "}"
            if depth == 0:
                return j + 1
            j += 1
        return n

    bar_open = None  # an absolute-value bar | at the top level waiting for its partner
    norm_open = None  # the same for a norm bar \|
    depth = 0
    # classify Unicode tokens by the LaTeX they stand for (columns stay those of the step as written)
    toks = [(UNICODE.get(t, t).strip() or t, pos) for t, pos in toks]
    last = n - 1
    for k, (t, _pos) in enumerate(toks):
        nxt, prev = at(k + 1), at(k - 1)
        if (
            t == "."
            and k != last
            and not (nxt or "").isdigit()
            and not (prev or "").isdigit()
            and not (latex[_pos - 1 : _pos].isalpha())
        ):  # an abbreviation such as s.t. (then read or not)
            raise MalformedError(f"a stray '.' at {where(k)}")
        if t == "*":
            if prev == "^" or (prev == "{" and at(k - 2) == "^"):
                continue  # a starred name, w^*
            if (
                prev is None
                or prev in _BOUNDARY_OPEN
                or prev in _REL_TOKENS
                or nxt is None
                or nxt in _REL_TOKENS
                or nxt in _BOUNDARY_CLOSE
                or nxt in _BINOPS
            ):
                raise MalformedError(f"a stray '*' at {where(k)}")
            continue
        if (t, nxt) in (("(", ")"), ("[", "]"), (r"\|", r"\|")):
            raise MalformedError(
                f"empty {'parentheses' if t == '(' else 'brackets' if t == '[' else 'norm'} "
                f"'{t}{nxt}' at {where(k, k + 1)}"
            )
        if t == "{" and nxt == "}" and prev not in ("^", "_") and not (prev or "").startswith("\\"):
            raise MalformedError(f"an empty group '{{}}' at {where(k, k + 1)}")
        if t == "!" and (prev is None or prev in _BOUNDARY_OPEN or prev in _REL_TOKENS or prev in _BINOPS):
            raise MalformedError(f"a stray '!' at {where(k)}")
        if t in _OPENERS:
            depth += 1
        elif t in _CLOSERS:
            depth -= 1
        if t == "|" and depth == 0:
            if bar_open is None and nxt in ("_", "^"):
                continue  # an evaluation bar f(x)|_{x=0}
            bar_open = k if bar_open is None else None
            continue
        if t == r"\|" and depth == 0:  # a norm; inside parentheses it may separate, KL(p\|q)
            norm_open = k if norm_open is None else None
            continue
        if t in ("^", "_"):
            what = "superscript" if t == "^" else "subscript"
            if ends(k + 1) or nxt in ("^", "_"):
                raise MalformedError(f"the {what} '{t}' at {where(k)} has nothing after it")
            if nxt == "{" and at(k + 2) == "}":
                raise MalformedError(f"the {what} '{t}{{}}' at {where(k, k + 2)} is empty")
            if nxt in ("+", "-") and not ends(k + 2):
                raise MalformedError(
                    f"the {what} '{t}{nxt}' at {where(k, k + 2)} holds only the sign: "
                    f"write the whole {what} in braces, e.g. {t}{{{nxt}1}}"
                )
            if prev is None or prev in _BOUNDARY_OPEN or prev in _REL_TOKENS or prev in _BINOPS:
                raise MalformedError(f"the {what} '{t}' at {where(k)} has nothing before it")
            continue
        nargs = _ARGS.get(t)
        if nargs:
            j = k + 1
            if t == r"\sqrt" and at(j) == "[":
                while j < n and at(j) != "]":
                    j += 1
                j += 1
            for q in range(nargs):
                part = ("numerator", "denominator")[q] if t == r"\frac" else "argument"
                if ends(j) and at(j) != "{":
                    raise MalformedError(f"{t} at {where(k)} is missing its {part}")
                if (
                    at(j) == "{"
                    and at(j + 1) == "}"
                    and not (t[1:] in TEXT_CMDS and toks[j + 1][1] > toks[j][1] + 1)
                ):
                    raise MalformedError(f"{t} at {where(k, j + 1)} has an empty {part}")
                j = after_group(j)
        if t[1:] in _FUNCTION_CMDS and t.startswith("\\"):
            j = k + 1
            while at(j) in ("_", "^"):
                j = after_group(j + 1)
            if ends(j) or (at(j) in _BINOPS and at(j) != "-"):
                raise MalformedError(f"{t} at {where(k)} has no argument")
        if (
            t.startswith("\\")
            and t[1:].isalpha()
            and nxt == "{"
            and at(k + 2) == "}"
            and not (t[1:] in TEXT_CMDS and toks[k + 2][1] > toks[k + 1][1] + 1)
        ):  # \text{ } is a space
            arg = "numerator" if t == r"\frac" else "argument"
            raise MalformedError(f"{t} at {where(k, k + 2)} has an empty {arg}")
        if t == r"\frac" and nxt == "{":
            j = after_group(k + 1) - 1  # the numerator's closing brace
            if at(j + 1) == "{" and at(j + 2) == "}":
                raise MalformedError(f"\\frac at {where(k, j + 2)} has an empty denominator")
            continue
        if t not in _BINOPS:
            continue
        # a sign right after ^ or _ (x^{-1}, 0^+) is part of the exponent or subscript
        signed = prev in ("^", "_") or (prev == "{" and at(k - 2) in ("^", "_"))
        if nxt in _BINOPS and not (nxt in ("+", "-") and t in _MULOPS):
            raise MalformedError(f"two operators in a row, '{t}' and '{nxt}', at {where(k, k + 1)}")
        if not signed and (nxt is None or nxt in _BOUNDARY_CLOSE or nxt in _REL_TOKENS):
            raise MalformedError(f"the '{t}' at {where(k)} has nothing after it")
        if t in _MULOPS and (prev is None or prev in _BOUNDARY_OPEN or prev in _REL_TOKENS):
            raise MalformedError(f"the '{t}' at {where(k)} has nothing before it")
    if bar_open is not None:
        raise MalformedError(f"the absolute-value bar '|' at {where(bar_open)} has no partner")
    if norm_open is not None:
        raise MalformedError(f"the norm bar '\\|' at {where(norm_open)} has no partner")
