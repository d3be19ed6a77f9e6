"""The project's one LaTeX tokenizer, and the vocabulary and clean-up that need only it.

Every part of whiteboard_app that splits LaTeX into tokens uses :func:`tokenize` (or :func:`token_spans`
when it needs the columns): the maths normaliser and step splitter (:mod:`whiteboard_app.maths`), the
card loader's checks (:mod:`whiteboard_app.decks.loader`), the synthetic handwriting (:mod:`whiteboard_app.ink.synth`)
and the recogniser's token comparisons. A token is a command (``\\frac``), an escaped character
(``\\{``, ``\\,``) or one character (digits one by one); whitespace separates tokens and is no token.

Also here: the errors a reading raises (:class:`ParseError`, :class:`MalformedError`), the LaTeX
vocabulary the normaliser and the checks share (decorations, fonts, function words, relations), the
clean-up of spacing and synonyms (:func:`clean`), canonical LaTeX for matching (:func:`canonical`) and
the split of a step at its relation signs (:func:`split_relations`). Pure Python, standard library only: a
leaf of the import layers (pyproject.toml), importable by ink, decks, maths and recognition.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

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
    "sig": "sigmoid",  # Prince, Understanding Deep Learning: sig[z]
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
    r"\leftarrow": "=",  # an assignment (Ioffe & Szegedy's Algorithm 1, pseudocode): read like :=
    r"\gets": "=",
    r"\propto": "propto",
    r"\equiv": "=",
    ":=": "=",
    r"\coloneqq": "=",
    r"\triangleq": "=",  # a definition (Kingma & Ba, Boyd & Vandenberghe): read like :=
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
    """Split LaTeX into tokens: commands, escaped characters, single characters (digits one by one);
    whitespace is dropped. ``tokenize(r"\\frac{a}{2b}")`` -> ``["\\frac", "{", "a", "}", "{", "2", "b", "}"]``."""
    return [t for t in _TOKEN_RE.findall(s) if not t.isspace()]


def token_spans(s: str) -> Iterator[tuple[str, int]]:
    """The tokens of :func:`tokenize` with their 0-based start column in ``s`` (for messages that point at
    the step as written): ``(token, column)`` pairs, whitespace skipped."""
    for m in _TOKEN_RE.finditer(s):
        t = m.group(0)
        if not t.isspace():
            yield t, m.start()


def join(tokens: list[str]) -> str:
    """Join tokens back into LaTeX, with a space after a command that a letter follows."""
    out: list[str] = []
    for t in tokens:
        if out and re.fullmatch(_CMD, out[-1]) and t[:1].isalpha():
            out.append(" ")
        out.append(t)
    return "".join(out)


def group(tokens: list[str], i: int) -> tuple[list[str], int]:
    """Read one TeX argument at tokens[i]: (a brace group without its braces, or one token; the index
    after it). Raises :class:`ParseError` when the argument is missing or its braces do not close."""
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
    (re.compile(r"\\(?:[,;!:]|(?:quad|qquad|displaystyle|textstyle|nonumber|limits)(?![a-zA-Z]))"), " "),
    (re.compile(r"\\(lVert|rVert|Vert|parallel)(?![a-zA-Z])"), r"\\|"),
    # the Hadamard product written \circ (Horn & Johnson, Magnus & Neudecker); not a degree sign ^\circ
    (re.compile(r"(?<!\^)(?<!\^\{)\\circ(?![a-zA-Z])"), r"\\odot"),
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
    # \operatorname*{argmax}_w, \mathrm{arg\,min}: the undecidable \arg\max / \arg\min
    (re.compile(r"\\(?:operatorname\*?|mathrm|text)\s*\{\s*arg\s*(min|max)\s*\}"), r"\\arg\\\1"),
    (re.compile(r"\\(operatorname\*)"), r"\\operatorname"),
    # the complement of an event: A^{\mathsf{c}}, A^\complement -> A^{c}
    (
        re.compile(
            r"\^\s*(?:\{\s*\\(?:mathsf|mathrm|text|textsf)\s*\{\s*c\s*\}\s*\}|\\(?:mathsf|mathrm|text|textsf)\s*\{\s*c\s*\}"
            r"|\{\s*\\complement\s*\}|\\complement(?![a-zA-Z]))"
        ),
        "^{c}",
    ),
    # a font or text command as a superscript without braces: X^\mathsf{T} -> X^{\mathsf{T}}
    (re.compile(r"\^\s*(\\(?:mathsf|mathrm|text|textsf|textrm|mathbf|mathit)\s*\{[^{}]*\})"), r"^{\1}"),
    # a word in roman type as a subscript: \pi_{\mathrm{ref}}, D_{\mathrm{KL}}, p_\text{data} -> \pi_{ref}
    (
        re.compile(
            r"_\s*(\{\s*)?\\(?:mathrm|text|textrm|textnormal|operatorname|mathit|textit|mathsf|textsf)"
            r"\s*\{\s*([A-Za-z]{2,})\s*\}(?(1)\s*\})"
        ),
        r"_{\2}",
    ),
    # a word in roman type as a superscript: \mu_k^{\mathrm{new}} (MML 11.3) -> \mu_k^{new}
    (
        re.compile(
            r"\^\s*\{\s*\\(?:mathrm|text|textrm|textnormal|operatorname|mathit|textit)\s*\{\s*([A-Za-z]{2,})\s*\}\s*\}"
        ),
        r"^{\1}",
    ),
    # a font command as an unbraced subscript: \mu_\mathcal{B} (Ioffe & Szegedy) -> \mu_{\mathcal{B}}
    (re.compile(r"_\s*(\\(?:mathcal|mathbf|boldsymbol|mathsf|mathit|mathscr)\s*\{[^{}]*\})"), r"_{\1}"),
    # a layer and a transpose in one superscript: \mathbf{W}^{(2)\top} -> (\mathbf{W}^{(2)})^{\top}
    (
        re.compile(
            r"((?:\\(?:mathbf|boldsymbol|bm)\s*\{\s*\\?[A-Za-z]+\s*\})|\\?[A-Za-z]+)"
            r"\^\s*\{\s*\(\s*([A-Za-z0-9+\-]+)\s*\)\s*(\\top|\\intercal)\s*\}"
        ),
        r"(\1^{(\2)})^{\3}",
    ),
    # the moment operators in any font: \operatorname{Var}, \text{Var}, Var(, \mathbb{V} -> \mathrm{Var}
    (
        re.compile(r"\\(?:operatorname|text|textrm|textnormal|mathrm|mathsf)\s*\{\s*(Var|Cov|Bias)\s*\}"),
        r"\\mathrm{\1}",
    ),
    (re.compile(r"(?<![A-Za-z\\{])(Var|Cov|Bias)(?=\s*[(\[])"), r"\\mathrm{\1}"),
    (re.compile(r"\\mathbb\s*\{\s*V\s*\}\s*(?:\\mathrm\s*\{\s*ar\s*\}\s*)?"), r"\\mathrm{Var}"),
    # a double sum over two indices in one: \sum_{i,j} -> \sum_{i}\sum_{j}, \sum_{i,j=1}^{n} likewise
    (
        re.compile(
            r"\\sum_\{\s*([a-zA-Z])\s*,\s*([a-zA-Z])\s*=\s*([^{}=]+)\}\s*\^\s*(\{[^{}]*\}|[A-Za-z0-9])"
        ),
        r"\\sum_{\1=\3}^\4\\sum_{\2=\3}^\4",
    ),
    (re.compile(r"\\sum_\{\s*([a-zA-Z])\s*,\s*([a-zA-Z])\s*\}"), r"\\sum_{\1}\\sum_{\2}"),
    # a parameter after a semicolon, p(x;\theta), \mathcal{N}(x;\mu,\sigma^2): read as p(x|\theta)
    (re.compile(r"(?<=[A-Za-z}])\(((?:[^();|]|\^\{\([^(){}]*\)\})*?);([^();|]*)\)"), r"(\1|\2)"),
    # a prime written as a command: f^\prime(z), f^{\prime}(z) -> f'(z)
    (re.compile(r"\^\s*(?:\{\s*\\prime\s*\}|\\prime(?![a-zA-Z]))"), "'"),
    # the trace as a word in roman type: \operatorname{tr}(A), \mathrm{Tr}(A) -> \tr(A) (one token, so no
    # alias of a letter t or r reaches inside it)
    (re.compile(r"\\(?:operatorname|mathrm|text|textrm)\s*\{\s*(?:tr|Tr|trace)\s*\}"), r"\\tr "),
    # the KL divergence as a word: \mathrm{KL}(p\|q), \operatorname{KL}(p\|q), KL(p\|q) -> D_{KL}(p\|q)
    (
        re.compile(r"(?<![A-Za-z_{\\])(?:\\(?:mathrm|operatorname|text|textrm)\s*\{\s*KL\s*\}|KL)\s*(?=\()"),
        "D_{KL}",
    ),
    # Murphy's blackboard entropy and divergence: \mathbb{H}(p,q) -> H(p,q), \mathbb{KL}(p\|q) -> D_{KL}(p\|q)
    (re.compile(r"\\mathbb\s*\{\s*H\s*\}\s*(?=[(\[])"), "H"),
    (re.compile(r"\\mathbb\s*\{\s*KL\s*\}\s*(?=\()"), "D_{KL}"),
    # Rafailov et al.'s \mathbb{D}_{\mathrm{KL}}[p\|q]: D_{KL}
    (re.compile(r"\\mathbb\s*\{\s*D\s*\}\s*(?=_)"), "D"),
    # a layer in brackets and a transpose in one superscript (Ng's a^{[1]T}, W^{[2]T}): (a^{(1)})^{T}
    (
        re.compile(
            r"((?:\\(?:mathbf|boldsymbol|bm)\s*\{\s*\\?[A-Za-z]+\s*\})|\\?[A-Za-z]+)"
            r"\^\s*\{\s*\[\s*([A-Za-z0-9+\-]+)\s*\]\s*(T|\\top|\\intercal)\s*\}"
        ),
        r"(\1^{(\2)})^{\3}",
    ),
    # a layer written in brackets (Ng's z^{[2]}, W^{[1]}) is the parenthesised superscript z^{(2)}
    (re.compile(r"\^\s*\{\s*\[\s*([A-Za-z0-9+\-]+)\s*\]\s*\}"), r"^{(\1)}"),
    # probability written \Pr(A) or \mathbb{P}(A): P(A)
    (re.compile(r"\\Pr(?![a-zA-Z])\s*"), "P"),
    (re.compile(r"\\mathbb\s*\{\s*P\s*\}\s*"), "P"),
    (re.compile(r"\\(begin|end)\{(aligned|align\*?|split|gathered|equation\*?)\}"), " "),
    (re.compile(r"\\\\"), " "),  # a line break inside one step: the chain goes on
    (re.compile(r"\\ "), " "),  # a control space "\ "
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


@functools.lru_cache(maxsize=8192)
def _over_as_frac(s: str) -> str:
    """Plain TeX's ``{a \\over b}`` as ``\\frac{a}{b}`` (inside the innermost braces around it; an ``\\over``
    outside braces is left for the parser to report)."""
    for _ in range(8):
        m = re.search(r"\\over(?![a-zA-Z])", s)
        if m is None:
            return s
        depth, a = 0, m.start() - 1
        while a >= 0:
            depth += s[a] == "}"
            depth -= s[a] == "{"
            if depth < 0:
                break
            a -= 1
        depth, b = 0, m.end()
        while b < len(s):
            depth += s[b] == "{"
            depth -= s[b] == "}"
            if depth < 0:
                break
            b += 1
        if a < 0 or b >= len(s):
            return s
        s = (
            s[:a]
            + r"\frac{"
            + s[a + 1 : m.start()].strip()
            + "}{"
            + s[m.end() : b].strip()
            + "}"
            + s[b + 1 :]
        )
    return s


def clean(s: str) -> str:
    """Spacing, sizing and synonym clean-up (``\\left``, ``\\,``, ``\\leq`` -> ``\\le``, ``\\dfrac``...);
    the Unicode characters of :data:`UNICODE` (``\u2212``, ``\u00d7``, ``\u03c3``, ``\u00b2``...) become LaTeX."""
    if not s.isascii():
        s = "".join(UNICODE.get(ch, ch) for ch in s)
    for pat, rep in _CLEAN:
        s = pat.sub(rep, s)
    s = s.strip().rstrip(".,;").strip()
    if r"\over" in s:
        s = _over_as_frac(s)
    if r"\{" in s or r"\lbrace" in s:
        s = _braces_as_brackets(s)
    if "^" in s and ("Bias" in s or "Var" in s):
        s = _power_after_argument(s)
    if "[" in s:
        s = _function_brackets(s)
    return _interval_as_inequalities(s) if r"\in" in s else s


#: a known function written before square brackets: Prince (Understanding Deep Learning) writes every function's
#: argument in brackets, ``\mathrm{sig}[z]``, ``\exp[-z]``, ``\log[1 + \exp[z]]``, ``\mathrm{softmax}[\mathbf z]``
_FUNCTION_HEAD = re.compile(
    r"(?:\\(?:exp|log|ln|tanh)|\\(?:mathrm|operatorname|text)\{(?:sig|sigmoid|softmax|relu|ReLU|softplus|tanh|exp|log)\})"
    r"\s*\["
)


def _function_brackets(s: str) -> str:
    """The square brackets around a known function's argument as parentheses (Prince's convention, see
    :data:`_FUNCTION_HEAD`); an unclosed bracket is left as written (the balance check reports it)."""
    chars = list(s)
    for m in _FUNCTION_HEAD.finditer(s):
        open_at = m.end() - 1
        depth = 0
        for j in range(open_at, len(s)):
            depth += s[j] == "["
            depth -= s[j] == "]"
            if depth == 0:
                chars[open_at], chars[j] = "(", ")"
                break
    return "".join(chars)


_SET_BRACE = re.compile(r"\\\{|\\lbrace(?![a-zA-Z])|\\\}|\\rbrace(?![a-zA-Z])")


def _braces_as_brackets(s: str) -> str:
    """Braces written as brackets (Bishop 7.8: ``a_n\\{t_n(w^Tx_n + b) - 1\\}``, ``\\exp\\{-\\frac{1}{2}...\\}``) as
    parentheses; a set (``\\{0, 1\\}``, ``\\{x : ...\\}``: a comma, colon or bar at its top level) or an
    indicator of a relation (``1\\{c^{(i)} = j\\}``) is left as written (it is not read)."""
    marks = list(_SET_BRACE.finditer(s))
    out, last, stack = [], 0, []
    pairs = []
    for m in marks:
        if m.group(0) in (r"\{", r"\lbrace"):
            stack.append(m)
        elif stack:
            pairs.append((stack.pop(), m))
    keep = set()
    for a, b in pairs:
        inner = s[a.end() : b.start()]
        depth, is_set = 0, False
        for ch in inner:
            depth += ch in "([{"
            depth -= ch in ")]}"
            if depth == 0 and ch in ",:|":
                is_set = True
                break
        if not is_set and not re.search(r"=|<|>|\\(?:le|ge|ne|in|mid)(?![a-zA-Z])", inner):
            keep |= {a.start(), b.start()}
    for m in marks:
        if m.start() in keep:
            out.append(s[last : m.start()])
            out.append("(" if m.group(0) in (r"\{", r"\lbrace") else ")")
            last = m.end()
    out.append(s[last:])
    return "".join(out)


_MOMENT_POWER = re.compile(r"\\mathrm\{(Var|Bias|Cov)\}\s*\^\s*(\{\s*2\s*\}|2)\s*(?=[(\[])")


def _power_after_argument(s: str) -> str:
    """``\\mathrm{Bias}^2(\\hat f)`` (ESL 7.3 writes ``Bias^2(\\hat f(x_0))``) as ``\\mathrm{Bias}(\\hat f)^{2}``: the
    square of the operator's value, the order the cards and the parser read."""
    for _ in range(4):
        m = _MOMENT_POWER.search(s)
        if m is None:
            return s
        open_at = m.end()
        depth = 0
        for j in range(open_at, len(s)):
            depth += s[j] in "(["
            depth -= s[j] in ")]"
            if depth == 0:
                break
        else:
            return s
        s = s[: m.start()] + rf"\mathrm{{{m.group(1)}}}" + s[open_at : j + 1] + "^{2}" + s[j + 1 :]
    return s


_IN = re.compile(r"\\in(?![a-zA-Z])")
_OPEN = {"(": ")", "[": "]", "{": "}"}


def _top_level(s: str) -> list[int]:
    """Depth (of (), [], {}) before each character of s; -1 where the nesting is broken."""
    depth, out = 0, []
    for ch in s:
        out.append(depth)
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return [-1] * len(s)
    return out


def _interval_as_inequalities(s: str) -> str:
    """A step ``X \\in [A, B]`` (``(A, B)`` open) or ``X \\in A \\pm B`` as the double inequality
    ``A \\le X \\le B`` (``A - (B) \\le X \\le A + (B)``), the form confidence intervals are checked in
    (Wasserman, All of Statistics, 6.3). Anything else is returned unchanged."""
    m = _IN.search(s)
    if m is None:
        return s
    depth = _top_level(s)
    if depth[m.start()] != 0 or len(_IN.findall(s)) != 1:
        return s
    left, right = s[: m.start()].strip(), s[m.end() :].strip()
    if not left or not right or re.search(r"=|\\le|\\ge|<|>|\\ne", left + right):
        return s
    rd = _top_level(right)
    if right[0] in "([" and right[-1] in ")]" and rd[-1] == 1 and all(d >= 1 for d in rd[1:]):
        inner = right[1:-1]
        cuts = [k for k, d in enumerate(_top_level(inner)) if d == 0 and inner[k] == ","]
        if len(cuts) == 1:
            a, b = inner[: cuts[0]].strip(), inner[cuts[0] + 1 :].strip()
            lo = r"\le" if right[0] == "[" else "<"
            hi = r"\le" if right[-1] == "]" else "<"
            if a and b:
                return f"{a} {lo} {left} {hi} {b}"
        return s
    pm = [k.start() for k in re.finditer(r"\\pm(?![a-zA-Z])", right) if rd[k.start()] == 0]
    if len(pm) == 1:
        a, b = right[: pm[0]].strip(), right[pm[0] + 3 :].strip()
        if a and b:
            return rf"{a} - ({b}) \le {left} \le {a} + ({b})"
    return s


#: limits of one written step (the bundled cards and the verdict table stay under 300 characters and 4


def canonical(s: str) -> str:
    """Canonical LaTeX for matching: cleaned, every argument of ``^ _ \\frac \\sqrt`` and decorations braced,
    no spaces. Used to match declared opaque tokens (``\\pi_\\theta(y_w|x)`` = ``\\pi_{\\theta}(y_w | x)``)."""
    toks = tokenize(clean(s))
    return join(canon_tokens(toks))


_ONE_ARG = (
    {"^", "_", r"\sqrt"}
    | {"\\" + d for d in DECORATIONS}
    | {"\\" + f for f in FONTS_DROPPED}
    | {"\\" + t for t in TEXT_CMDS}
    | {r"\mathbb"}
)


def canon_tokens(toks: list[str]) -> list[str]:
    """Tokens in canonical form (see :func:`canonical`): every argument of ``^ _ \\sqrt``, ``\\frac``,
    decorations and fonts braced, braces around a single token that is no argument dropped. Raises
    :class:`ParseError` on unbalanced braces."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == r"\frac":
            a, i = group(toks, i + 1)
            b, i = group(toks, i)
            out += [r"\frac", "{", *canon_tokens(a), "}", "{", *canon_tokens(b), "}"]
            continue
        if t == r"\sqrt" and i + 1 < len(toks) and toks[i + 1] == "[":
            j = toks.index("]", i + 1) if "]" in toks[i + 1 :] else len(toks) - 1
            root = toks[i + 2 : j]
            a, i = group(toks, j + 1)
            out += [r"\sqrt", "[", *canon_tokens(root), "]", "{", *canon_tokens(a), "}"]
            continue
        if t in _ONE_ARG:
            a, i = group(toks, i + 1)
            a = canon_tokens(a)
            # a single-token group keeps no extra braces inside: {x} stays {x}
            out += [t, "{", *a, "}"]
            continue
        if t == "{":
            a, i = group(toks, i)
            inner = canon_tokens(a)
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


def sum_body_end(toks: list[str], i: int) -> int:
    """Where the body of a sum that starts at toks[i] ends: at the next top-level ``+`` or ``-`` (as in
    sympy's grammar; not inside a norm ``\\|x_i - \\mu\\|`` or ``|x_i - \\mu|``) or at a closing bracket
    of the enclosing group."""
    j, depth, n = i, 0, len(toks)
    bars: list[str] = []  # open norm / absolute-value bars at depth 0: |x_i - mu| is one factor
    while j < n:
        tj = toks[j]
        if tj in "({[":
            depth += 1
        elif tj in ")}]":
            if depth == 0:
                return j
            depth -= 1
        elif depth == 0 and tj in (r"\|", "|"):
            if bars and bars[-1] == tj:
                bars.pop()
            else:
                bars.append(tj)
        elif (
            depth == 0
            and not bars
            and tj in ("+", "-")
            and j > i
            and toks[j - 1] not in ("^", "_", r"\cdot", r"\times")
        ):
            return j
        j += 1
    return j


def _subscript_letters(toks: list[str]) -> list[str]:
    """The single letters written in subscripts of ``toks`` (``x_{i}``, ``W_{ij}``), in order, with repeats."""
    out: list[str] = []
    for k, t in enumerate(toks[:-1]):
        if t == "_":
            try:
                g, _ = group(toks, k + 1)
            except ParseError:
                continue
            out += [c for c in g if re.fullmatch(r"[a-zA-Z]", c)]
    return out


def scope_sums(c: str, indices: dict[str, tuple[str, str]]) -> str:
    """Read a sum the way people write it on a whiteboard (canonical LaTeX in, canonical LaTeX out).

    - ``\\sum x_{i}`` without an index gets the one declared index its body is subscripted by
      (``\\sum_{i} x_{i}``); with none or several it is left as written (and is reported later).
    - The body of ``\\sum_{i} x_{i}\\log\\theta + (1-x_{i})\\log(1-\\theta)`` runs on over the terms that
      follow it while they use the sum's index in a subscript and hold no sum or product of their own:
      the index would be free there otherwise, so the writer meant the sum of the whole expression
      (``\\sum_{i}(x_{i}\\log\\theta + (1-x_{i})\\log(1-\\theta))``). A term without the index
      (``\\sum_{i}(x_{i}-\\mu)^{2} - n(\\bar{x}-\\mu)^{2}``) ends the sum as before. Running on is
      only done where both readings agree, when the sum starts its term (``\\sum_i a_i - b_i`` is
      ``\\sum_i a_i - \\sum_i b_i`` either way).

    Raises :class:`ParseError` when the readings differ: a sign or factor before the sum
    (``-\\sum_i a_i + b_i`` is ``-\\sum_i (a_i + b_i)`` or ``-\\sum_i a_i + \\sum_i b_i``).
    """
    if r"\sum" not in c and r"\prod" not in c:
        return c
    out, changed = _scope_sum_tokens(tokenize(c), indices)
    return join(out) if changed else c


def _primed_index(sub: list[str]) -> str | None:
    """The letter of a primed sum index (``c'``, ``c''``, ``c^{\\prime}``), or None."""
    if len(sub) >= 2 and re.fullmatch(r"[a-zA-Z]", sub[0]):
        rest = sub[1:]
        if all(x == "'" for x in rest) or rest == ["^", "{", r"\prime", "}"] or rest == ["^", r"\prime"]:
            return sub[0]
    return None


def _fresh_index(toks: list[str], indices: dict[str, tuple[str, str]]) -> str:
    """An index letter not used in ``toks``: a declared index first (it has bounds), else another letter."""
    used = set(toks)
    for v in [*indices, *"jklmpqrstuvabcdefgh"]:
        if v not in used:
            return v
    raise ParseError("no free letter for a primed sum index")


def _unprime(body: list[str], letter: str, fresh: str) -> list[str]:
    """``body`` with the primed index ``letter'`` in its subscripts replaced by ``fresh``."""
    out: list[str] = []
    k, m = 0, len(body)
    primes = (["'", "'"], ["'"], ["^", "{", r"\prime", "}"], ["^", r"\prime"])
    while k < m:
        if body[k] == "_" and k + 1 < m:
            if body[k + 1] == "{":
                try:
                    g, k2 = group(body, k + 1)
                except ParseError:
                    out.append(body[k])
                    k += 1
                    continue
                g2: list[str] = []
                q = 0
                while q < len(g):
                    hit = next((p for p in primes if g[q] == letter and g[q + 1 : q + 1 + len(p)] == p), None)
                    if hit is not None:
                        g2.append(fresh)
                        q += 1 + len(hit)
                    else:
                        g2.append(g[q])
                        q += 1
                if g == [letter] and body[k2 : k2 + 1] == ["'"]:  # canonical z_{c}' for z_{c'}
                    g2, k2 = [fresh], k2 + 1
                out += ["_", "{", *g2, "}"]
                k = k2
                continue
        out.append(body[k])
        k += 1
    return out


# tokens after which a sum starts its own term (so running its body on changes nothing else)
_TERM_STARTS = frozenset(
    {"(", "{", "[", "+", "=", "<", ">", ",", r"\le", r"\ge", r"\leq", r"\geq", r"\approx"}
)


def _scope_sum_tokens(toks: list[str], indices: dict[str, tuple[str, str]]) -> tuple[list[str], bool]:
    """:func:`scope_sums` on tokens: (new tokens, whether anything changed)."""
    out: list[str] = []
    i, n = 0, len(toks)
    changed = False
    while i < n:
        t = toks[i]
        if t not in (r"\sum", r"\prod"):
            out.append(t)
            i += 1
            continue
        j = i + 1
        head: list[str] = [t]
        var: str | None = None
        try:
            if j < n and toks[j] == "_":
                sub, j2 = group(toks, j + 1)
                primed = _primed_index(sub)
                if primed is not None:  # \sum_{c'} e^{z_{c'}}: a fresh letter for the primed index
                    fresh = _fresh_index(toks, indices)
                    end = sum_body_end(toks, j2)
                    body = _unprime(toks[j2:end], sub[0], fresh)
                    toks = toks[:j] + ["_", "{", fresh, "}"] + body + toks[end:]
                    n = len(toks)
                    sub, j2 = [fresh], j + 4
                    changed = True
                head += toks[j:j2]
                j = j2
                if sub and re.fullmatch(r"[a-zA-Z]", sub[0]) and (len(sub) == 1 or sub[1] == "="):
                    var = sub[0]
            if j < n and toks[j] == "^":
                _, j2 = group(toks, j + 1)
                head += toks[j:j2]
                j = j2
        except ParseError:  # malformed: left for the reader to report
            out.append(t)
            i += 1
            continue
        end = sum_body_end(toks, j)
        if len(head) == 1 or head[1] != "_":
            found = sorted({v for v in _subscript_letters(toks[j:end]) if v in indices})
            if len(found) == 1:
                var = found[0]
                head = [t, "_", "{", var, "}", *head[1:]]
                changed = True
        extended = False
        if var is not None:
            while end < n and toks[end] in ("+", "-"):
                k = sum_body_end(toks, end + 1)
                term = toks[end + 1 : k]
                if not term or r"\sum" in term or r"\prod" in term or var not in _subscript_letters(term):
                    break
                if out and out[-1] not in _TERM_STARTS:
                    # -\sum_i a_i + b_i: "the sum of a_i + b_i, negated" and "each term summed with its
                    # own sign" differ; neither reading may be guessed (a sign error could hide in it)
                    raise ParseError(
                        f"unclear where {t}_{{{var}}} ends: is '{join(term)}' part of it? With "
                        f"'{out[-1]}' in front of {t} the two readings differ: put brackets around "
                        f"what {t}_{{{var}}} adds up"
                    )
                end, extended = k, True
        body, inner = _scope_sum_tokens(toks[j:end], indices)
        if extended:
            body = ["(", *body, ")"]
        changed = changed or extended or inner
        out += head + body
        i = end
    return out, changed


def expand_bare_sums(c: str, indices: dict[str, tuple[str, str]]) -> str:
    """``\\sum_{i}`` without bounds -> ``\\sum_{i=lo}^{hi}`` from the declared index range (canonical LaTeX);
    first :func:`scope_sums` (an index left out, a body that runs on over the terms using the index)."""
    c = scope_sums(c, indices)

    def rep(m: re.Match[str]) -> str:
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
