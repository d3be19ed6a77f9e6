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

_CMD = r"\\[a-zA-Z]+"
_TOKEN_RE = re.compile(r"\\[a-zA-Z]+|\\.|\s+|.", re.S)

DECORATIONS = {
    "hat": "hat",
    "widehat": "hat",
    "bar": "bar",
    "overline": "bar",
    "tilde": "tilde",
    "widetilde": "tilde",
    "dot": "dot",
    "ddot": "ddot",
    "check": "check",
}
FONTS_DROPPED = {"mathbf", "boldsymbol", "bm", "vec", "mathbfit", "pmb", "mathsf", "mathcal", "mathscr"}
TEXT_CMDS = {"mathrm", "operatorname", "text", "textrm", "mathit", "textit", "textnormal", "textbf"}
#: words that name known functions when written as \mathrm{..}, \operatorname{..} or a bare word
FUNCTION_WORDS = {
    "softmax": "softmax",
    "sigmoid": "sigmoid",
    "relu": "relu",
    "ReLU": "relu",
    "tanh": "tanh",
    "tr": "tr",
    "trace": "tr",
    "Tr": "tr",
    "diag": "diag",
    "det": "det",
    "exp": "exp",
    "log": "log",
    "ln": "log",
    "softplus": "softplus",
    "max": "max",
    "min": "min",
    "sign": "sign",
    "sgn": "sign",
    "Var": "var",
    "var": "var",
    "Cov": "cov",
    "cov": "cov",
    "Pr": "prob",
    "KL": "kl",
}
#: commands sympy's grammar knows as functions: passed through untouched
GRAMMAR_FUNCS = {
    "log",
    "ln",
    "exp",
    "sin",
    "cos",
    "tan",
    "sinh",
    "cosh",
    "tanh",
    "arcsin",
    "arccos",
    "arctan",
    "sqrt",
    "frac",
    "binom",
    "sum",
    "prod",
    "int",
    "lim",
    "max",
    "min",
    "lg",
}
RELATIONS = {
    "=": "=",
    r"\le": "<=",
    r"\ge": ">=",
    "<": "<",
    ">": ">",
    r"\ne": "!=",
    r"\approx": "~",
    r"\propto": "propto",
    r"\equiv": "=",
    ":=": "=",
    r"\coloneqq": "=",
    r"\sim": "sim",
    r"\in": "in",
    r"\Rightarrow": "implies",
    r"\implies": "implies",
    r"\iff": "iff",
    r"\to": "to",
    r"\rightarrow": "to",
    r"\mapsto": "to",
    r"\Leftrightarrow": "iff",
    r"\lt": "<",
    r"\gt": ">",
}
UNDECIDABLE_RELATIONS = {"~", "propto", "sim", "in", "implies", "iff", "to", "!="}
UNDECIDABLE_CMDS = {
    r"\arg",
    r"\argmax",
    r"\argmin",
    r"\int",
    r"\lim",
    r"\iint",
    r"\oint",
    r"\forall",
    r"\exists",
    r"\cdots",
    r"\ldots",
    r"\dots",
    r"\vdots",
    r"\limits",
    r"\infty",
}


class ParseError(ValueError):
    """A step that cannot be read faithfully (the verdict is "unparsed", never "wrong")."""


class MalformedError(ParseError):
    """A step that is not well-formed LaTeX (unbalanced delimiters, an empty argument, two operators in a row):
    most likely a misreading by the recogniser. Always "unparsed", even when the step otherwise looks like a
    reference step the checker does not decide."""


def tokenize(s: str) -> list[str]:
    """Split LaTeX into tokens: commands, escaped characters, single characters (digits one by one)."""
    return [t for t in _TOKEN_RE.findall(s) if not t.isspace()]


def join(tokens: list[str]) -> str:
    """Join tokens back into LaTeX, with a space after a command that a letter follows."""
    out: list[str] = []
    for t in tokens:
        if out and re.fullmatch(_CMD, out[-1]) and t[:1].isalpha():
            out.append(" ")
        out.append(t)
    return "".join(out)


def _group(tokens: list[str], i: int) -> tuple[list[str], int]:
    """Read one TeX argument at tokens[i]: a brace group (without its braces) or one token."""
    if i >= len(tokens):
        raise ParseError("an argument is missing at the end")
    if tokens[i] == "{":
        depth, j = 0, i
        while j < len(tokens):
            if tokens[j] == "{":
                depth += 1
            elif tokens[j] == "}":
                depth -= 1
                if depth == 0:
                    return tokens[i + 1 : j], j + 1
            j += 1
        raise ParseError("unbalanced braces")
    if tokens[i] == "}":
        raise ParseError("an argument is missing before '}'")
    return [tokens[i]], i + 1


_CLEAN = [
    (
        re.compile(
            r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\s*"
        ),
        "",
    ),
    (re.compile(r"\\(,|;|!|:|quad|qquad|displaystyle|textstyle|nonumber|limits)(?![a-zA-Z])"), " "),
    (re.compile(r"\\(lVert|rVert|Vert)(?![a-zA-Z])"), r"\\|"),
    (re.compile(r"\\(lvert|rvert|vert|mid)(?![a-zA-Z])"), "|"),
    (re.compile(r"\\(dfrac|tfrac|cfrac)(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\(leq|leqslant)(?![a-zA-Z])"), r"\\le"),
    (re.compile(r"\\(geq|geqslant)(?![a-zA-Z])"), r"\\ge"),
    (re.compile(r"\\(neq)(?![a-zA-Z])"), r"\\ne"),
    (re.compile(r"\\(ast|star)(?![a-zA-Z])"), "*"),
    (re.compile(r"\\(lbrack)(?![a-zA-Z])"), "["),
    (re.compile(r"\\(rbrack)(?![a-zA-Z])"), "]"),
    (re.compile(r"\\(varepsilon)(?![a-zA-Z])"), r"\\epsilon"),
    (re.compile(r"\\(vartheta)(?![a-zA-Z])"), r"\\theta"),
    (re.compile(r"\\(varphi)(?![a-zA-Z])"), r"\\phi"),
    (re.compile(r"\\(mathrm|operatorname)\s*\{\s*d\s*\}"), "d"),
    (re.compile(r"\\(operatorname\*)"), r"\\operatorname"),
    (re.compile(r"\\(begin|end)\{(aligned|align\*?|split|gathered|equation\*?)\}"), " "),
    (re.compile(r"\\\\"), " "),  # a line break inside one step: the chain goes on
    (re.compile(r"&"), " "),
    (re.compile(r"\$"), ""),
    (re.compile(r"(?<![0-9])\.(?=[0-9])"), "0."),  # .99 -> 0.99
    (re.compile(r"~"), " "),
]


#: Unicode characters a recogniser or a paste may give, as LaTeX (anything else non-ASCII is unparsed)
UNICODE = {
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u00d7": r"\times ",
    "\u00b7": r"\cdot ",
    "\u22c5": r"\cdot ",
    "\u2219": r"\cdot ",
    "\u00f7": "/",
    "\u00b1": r"\pm ",
    "\u2264": r"\le ",
    "\u2265": r"\ge ",
    "\u2260": r"\ne ",
    "\u2248": r"\approx ",
    "\u221d": r"\propto ",
    "\u2202": r"\partial ",
    "\u2207": r"\nabla ",
    "\u2211": r"\sum ",
    "\u220f": r"\prod ",
    "\u221a": r"\sqrt ",
    "\u221e": r"\infty ",
    "\u2016": r"\| ",
    "\u2032": "'",
    "\u00b2": "^{2}",
    "\u00b3": "^{3}",
    "\u00b9": "^{1}",
    "\u22a4": r"\top ",
    "\u2218": r"\circ ",
    "\u2299": r"\odot ",
    "\u2208": r"\in ",
    "\u2192": r"\to ",
    "\u21d2": r"\Rightarrow ",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u2018": "'",
    "\u2019": "'",
    "\u00b5": r"\mu ",
    **{
        chr(0x3B1 + k): "\\" + g + " "
        for k, g in enumerate(
            [
                "alpha",
                "beta",
                "gamma",
                "delta",
                "epsilon",
                "zeta",
                "eta",
                "theta",
                "iota",
                "kappa",
                "lambda",
                "mu",
                "nu",
                "xi",
                "omicron",
                "pi",
                "rho",
                "varsigma",
                "sigma",
                "tau",
                "upsilon",
                "phi",
                "chi",
                "psi",
                "omega",
            ]
        )
    },
    "\u0394": r"\Delta ",
    "\u03a3": r"\Sigma ",
    "\u0398": r"\Theta ",
    "\u039b": r"\Lambda ",
    "\u03a0": r"\Pi ",
    "\u03a6": r"\Phi ",
    "\u03a8": r"\Psi ",
    "\u03a9": r"\Omega ",
    "\u0393": r"\Gamma ",
    "\u03d5": r"\phi ",
    "\u03b5": r"\epsilon ",
}
UNICODE["\u03c2"] = r"\sigma "  # final sigma
del UNICODE["\u03bf"]  # omicron is an o


def clean(s: str) -> str:
    """Spacing, sizing and synonym clean-up (``\\left``, ``\\,``, ``\\leq`` -> ``\\le``, ``\\dfrac``...);
    the Unicode characters of :data:`UNICODE` (``\u2212``, ``\u00d7``, ``\u03c3``, ``\u00b2``...) become LaTeX."""
    if not s.isascii():
        s = "".join(UNICODE.get(ch, ch) for ch in s)
    for pat, rep in _CLEAN:
        s = pat.sub(rep, s)
    return s.strip().rstrip(".,;").strip()


#: limits of one written step (the bundled cards and the verdict table stay under 300 characters and 4
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
_POS_TOKEN_RE = re.compile(r"\\[a-zA-Z]+|\\.|\s+|.", re.S)


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
    for m in _POS_TOKEN_RE.finditer(latex):
        t, pos = m.group(0), m.start()
        if t.isspace():
            continue
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
    for m in _POS_TOKEN_RE.finditer(latex):
        t = m.group(0)
        if t.isspace() or _SKIP.match(t):
            continue
        if _SIZING.fullmatch(t):
            sized = True
            continue
        if not (sized and t == "."):  # \left. and \right. are invisible delimiters
            toks.append((t, m.start()))
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

    def at(k):
        return toks[k][0] if 0 <= k < n else None

    def where(k, j=None):
        j = k if j is None else j
        return f'column {toks[k][1] + 1} (in "{_excerpt(latex, toks[k][1], toks[j][1] + len(toks[j][0]))}")'

    def ends(k):  # nothing more in this piece from token k on
        return at(k) is None or at(k) in _BOUNDARY_CLOSE or at(k) in _REL_TOKENS

    def after_group(k):  # the index after one TeX argument starting at token k
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


def canonical(s: str) -> str:
    """Canonical LaTeX for matching: cleaned, every argument of ``^ _ \\frac \\sqrt`` and decorations braced,
    no spaces. Used to match declared opaque tokens (``\\pi_\\theta(y_w|x)`` = ``\\pi_{\\theta}(y_w | x)``)."""
    toks = tokenize(clean(s))
    return join(_canon_tokens(toks))


_ONE_ARG = (
    {"^", "_", r"\sqrt"}
    | {"\\" + d for d in DECORATIONS}
    | {"\\" + f for f in FONTS_DROPPED}
    | {"\\" + t for t in TEXT_CMDS}
    | {r"\mathbb"}
)


def _canon_tokens(toks: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == r"\frac":
            a, i = _group(toks, i + 1)
            b, i = _group(toks, i)
            out += [r"\frac", "{", *_canon_tokens(a), "}", "{", *_canon_tokens(b), "}"]
            continue
        if t == r"\sqrt" and i + 1 < len(toks) and toks[i + 1] == "[":
            j = toks.index("]", i + 1) if "]" in toks[i + 1 :] else len(toks) - 1
            root = toks[i + 2 : j]
            a, i = _group(toks, j + 1)
            out += [r"\sqrt", "[", *_canon_tokens(root), "]", "{", *_canon_tokens(a), "}"]
            continue
        if t in _ONE_ARG:
            a, i = _group(toks, i + 1)
            a = _canon_tokens(a)
            # a single-token group keeps no extra braces inside: {x} stays {x}
            out += [t, "{", *a, "}"]
            continue
        if t == "{":
            a, i = _group(toks, i)
            inner = _canon_tokens(a)
            out += ["{", *inner, "}"]
            continue
        out.append(t)
        i += 1
    # drop braces around a single token that is not an argument: "{x}" -> "x"
    res: list[str] = []
    k = 0
    while k < len(out):
        if (
            out[k] == "{"
            and k + 2 < len(out)
            and out[k + 2] == "}"
            and not (res and (res[-1] in _ONE_ARG or res[-1] == r"\frac" or res[-1] == "}" or res[-1] == "]"))
        ):
            res.append(out[k + 1])
            k += 3
            continue
        res.append(out[k])
        k += 1
    return res


_BARE_SUM = re.compile(r"\\(sum|prod)_\{([a-zA-Z])\}(?!\^)")


def expand_bare_sums(c: str, indices: dict[str, tuple[str, str]]) -> str:
    """``\\sum_{i}`` without bounds -> ``\\sum_{i=lo}^{hi}`` from the declared index range (canonical LaTeX)."""

    def rep(m):
        b = indices.get(m.group(2))
        if b is None:
            return m.group(0)
        return f"\\{m.group(1)}_{{{m.group(2)}={canonical(b[0])}}}^{{{canonical(b[1])}}}"

    return _BARE_SUM.sub(rep, c)


def split_relations(s: str) -> tuple[list[str], list[str]]:
    """Split a cleaned step at top-level relation signs: (pieces, relations); ``a = b \\le c`` ->
    (["a", "b", "c"], ["=", "<="]). A leading relation gives an empty first piece."""
    toks = tokenize(s)
    pieces: list[list[str]] = [[]]
    rels: list[str] = []
    depth = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in "{([":
            depth += 1
        elif t in "})]":
            depth -= 1
        rel = None
        if depth == 0:
            if t == ":" and i + 1 < len(toks) and toks[i + 1] == "=":
                rel, i = "=", i + 1
            elif t in ("<", ">") and i + 1 < len(toks) and toks[i + 1] == "=":
                rel, i = ("<=" if t == "<" else ">="), i + 1
            elif t in RELATIONS:
                rel = RELATIONS[t]
            elif t == "=" and i + 1 < len(toks) and toks[i + 1] == "=":
                rel, i = "=", i + 1
        if rel is not None:
            rels.append(rel)
            pieces.append([])
        else:
            pieces[-1].append(t)
        i += 1
    return [join(p) for p in pieces], rels


def name_key(latex_or_name: str) -> str:
    """The internal name of a declared name written as a plain name or as LaTeX.

    ``"\\\\hat{\\\\theta}"`` and ``"hat_theta"`` -> ``hat_theta``; ``"p_{data}"`` -> ``p_data``;
    ``"\\\\pi_\\\\theta"`` -> ``pi_theta``; ``"w^*"`` -> ``w^*``; ``"\\\\mathbf{x}"`` -> ``x``.
    """
    s = latex_or_name.strip()
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*(\^\*)?", s):
        return s
    toks = _canon_tokens(tokenize(clean(s)))
    return _name_from_tokens(toks)


def _name_from_tokens(toks: list[str]) -> str:
    out = ""
    i = 0
    while i < len(toks):
        t = toks[i]
        if t[1:] in DECORATIONS and t.startswith("\\"):
            a, i = _group(toks, i + 1)
            out += DECORATIONS[t[1:]] + "_" + _name_from_tokens(a)
            continue
        if t.startswith("\\") and (t[1:] in FONTS_DROPPED or t[1:] in TEXT_CMDS):
            a, i = _group(toks, i + 1)
            out += _name_from_tokens(a)
            continue
        if t == "_":
            a, i = _group(toks, i + 1)
            out += "_" + _name_from_tokens(a)
            continue
        if t == "^":
            a, i = _group(toks, i + 1)
            out += "^" + _name_from_tokens(a)
            continue
        if t in "{}":
            i += 1
            continue
        out += t[1:] if t.startswith("\\") and t[1:].isalpha() else t
        i += 1
    return out


def is_plain_name_key(key: str) -> bool:
    """True when a declaration key is a name (letters, decorations, subscript), False for a structured
    key (parentheses, ``|``, ``\\|``, commas) that is matched literally as an opaque token."""
    c = canonical(key)
    return not re.search(r"[()|,\[\]]|\\\||\\cap|\\cup|\\mid|\\frac|\\sum|\\log", c)


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
        n.opaque[expand_bare_sums(canonical(k), d.indices)] = "@" + canonical(k)
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
    c = expand_bare_sums(canonical(piece), names.indices)
    # opaque tokens, longest first
    for key in sorted(names.opaque, key=len, reverse=True):
        if key in c:
            c = c.replace(key, " " + em.placeholder(("name", names.opaque[key])) + " ")
    toks = tokenize(c)
    for t in toks:
        if t in UNDECIDABLE_CMDS:
            raise ParseError(f"{t} cannot be checked")
    out = _convert(toks, names, em)
    latex = join(out)
    if not latex.strip():
        raise ParseError("empty expression")
    return Normalised(latex, em.table)


def _is_transpose(arg: list[str], names: Names) -> bool:
    s = join(arg)
    if s in (r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\mathbf{T}", r"\mathsf T"):
        return True
    return s == "T" and names.transpose_t


def _word(toks: list[str]) -> str | None:
    s = "".join(toks)
    return s if re.fullmatch(r"[A-Za-z]+", s) else None


def _convert(toks: list[str], names: Names, em: _Emitter) -> list[str]:
    out: list[str] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        # \frac: derivative or fraction
        if t == r"\frac":
            a, i = _group(toks, i + 1)
            b, i = _group(toks, i)
            d = _derivative(a, b, names, em)
            if d is not None:
                if d[-1] == "}" and i >= n:  # an operator d/dx with nothing after it in this piece
                    raise ParseError(
                        f"the derivative \\frac{{{join(a)}}}{{{join(b)}}} has nothing to differentiate"
                    )
                out += d
            else:
                out += [r"\frac", "{", *_convert(a, names, em), "}", "{", *_convert(b, names, em), "}"]
            continue
        if t == r"\nabla":
            order, wrt = 1, None
            while i + 1 < n and toks[i + 1] in ("^", "_"):
                g, j = _group(toks, i + 2)
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
            out += [r"\frac", "{", r"\partial", "}", "{", r"\partial", *w, "}"] * order
            continue
        if t in (r"\sum", r"\prod"):
            out.append(t)
            i += 1
            if i < n and toks[i] == "_":
                sub, i = _group(toks, i + 1)
                sup = None
                if i < n and toks[i] == "^":
                    sup, i = _group(toks, i + 1)
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
            j, depth = i, 0
            while j < n:
                tj = toks[j]
                if tj in "({[":
                    depth += 1
                elif tj in ")}]":
                    if depth == 0:
                        break
                    depth -= 1
                elif (
                    depth == 0
                    and tj in ("+", "-")
                    and j > i
                    and toks[j - 1] not in ("^", "_", r"\cdot", r"\times")
                ):
                    break
                j += 1
            body = toks[i:j]
            if not body:
                raise ParseError(f"{t} has nothing to sum")
            out += ["(", *_convert(body, names, em), ")"]
            i = j
            continue
        if t == "^":
            a, i = _group(toks, i + 1)
            if _is_transpose(a, names):
                out += ["^", "{", "\\" + _FIXED["transpose"], "}"]
            elif join(a) in ("*", r"\star"):
                raise ParseError("a starred name must be declared")
            else:
                out += ["^", "{", *_convert(a, names, em), "}"]
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
                _, i = _group(toks, i + 1)
            out += ["\\" + _FIXED["norm"], "(", *inner, ")"]
            continue
        if t == r"\odot":
            out += [r"\cdot", "\\" + _FIXED["hadamard"], r"\cdot"]
            i += 1
            continue
        if t == r"\mathbb":
            a, i = _group(toks, i + 1)
            w = join(a)
            if w == "E":
                i = _expectation(toks, i, out, names, em)
                continue
            raise ParseError(f"\\mathbb{{{w}}} cannot be checked")
        if t.startswith("\\") and t[1:] in FONTS_DROPPED:
            a, j = _group(toks, i + 1)
            toks = toks[:i] + a + toks[j:]  # splice the content in place of the font command
            n = len(toks)
            continue
        if t.startswith("\\") and t[1:] in TEXT_CMDS:
            a, j = _group(toks, i + 1)
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
            a, i = _group(toks, i + 1)
            inner = _name_from_tokens(_canon_tokens(a))
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
            if cmd in ("cdot", "times", "partial", "le", "ge", "ne", "cap", "cup", "mid", "in"):
                out.append(t)
                i += 1
                continue
            if cmd in _GREEK:
                i = _emit_name(cmd, toks, i + 1, out, names, em)
                continue
            raise ParseError(f"cannot read \\{cmd}")
        if t.isalpha():
            # a declared multi-letter name (IG, KL...) is one name, longest first
            m = re.match(r"[A-Za-z]+", "".join(toks[i:]))
            word = m.group(0) if m else t
            long = [
                w
                for w in names.kinds
                if len(w) > 1 and w.isalpha() and word.startswith(w) and w not in _GREEK
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


_GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
    "ell",
}


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
        _, i = _group(toks, i + 1)
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
            if j is not None:
                return j  # L(w), J(\mu), \ell(\mu, \sigma): a defined quantity written with its arguments
        if not is_fn:
            out.append(r"\cdot")
    return i


def _argument_list_end(toks: list[str], i: int) -> int | None:
    """``( name [, name]... )`` at tokens[i] (names: a letter or a Greek command, optionally bold or
    hatted in one token group): the index after the ``)``; None otherwise."""
    j = i + 1
    n = len(toks)
    want_name = True
    while j < n:
        t = toks[j]
        if want_name:
            if re.fullmatch(r"[A-Za-z]", t) or (t.startswith("\\") and t[1:] in _GREEK):
                want_name = False
                j += 1
                continue
            return None
        if t == ",":
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
            sub, i = _group(toks, i + 1)
        elif i + 1 < n and toks[i] == "^" and join(_group(toks, i + 1)[0]) in ("*", r"\star"):
            star = True
            _, i = _group(toks, i + 1)
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
        subname = _name_from_tokens(_canon_tokens(sub))
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
        g, j = _group(num, j + 1)
        if not join(g).isdigit():
            return None
        k = int(join(g))
        if k > MAX_DERIVATIVE_ORDER:
            raise ParseError(f"a derivative of order {k} is not checked (at most {MAX_DERIVATIVE_ORDER})")
    f = num[j:]
    # denominator: one or more "d x" / "\partial x" (with optional ^k)
    wrts: list[list[str]] = []
    p = 0
    while p < len(den):
        if den[p] not in ("d", r"\partial"):
            return None
        p += 1
        var = []
        if p < len(den) and den[p] not in ("d", r"\partial"):
            var.append(den[p])
            p += 1
            while p < len(den) and den[p] == "_":
                g, p = _group(den, p + 1)
                var += ["_", "{", *g, "}"]
        else:
            return None
        times = 1
        if p < len(den) and den[p] == "^":
            g, p = _group(den, p + 1)
            if not join(g).isdigit():
                return None
            times = int(join(g))
            if times > MAX_DERIVATIVE_ORDER:
                raise ParseError(
                    f"a derivative of order {times} is not checked (at most {MAX_DERIVATIVE_ORDER})"
                )
        wrts += [var] * times
    if len(wrts) != k:
        if len(wrts) == 1 and k > 1:
            wrts = wrts * k
        else:
            return None
    out: list[str] = []
    for w in wrts:
        cw = _convert(w, names, em)
        if len(cw) != 1:
            raise ParseError(f"cannot differentiate with respect to {join(w)!r}")
        out += [r"\frac", "{", r"\partial", "}", "{", r"\partial", cw[0], "}"]
    if f:
        out += ["(", *_convert(f, names, em), ")"]
    return out
