"""Load and validate card files (TOML, one card per file) into :class:`~whiteboard_app.decks.schema.Card`.

tomllib gives no line numbers for values, so :class:`_Lines` finds the line of a field by scanning the
file text (the ``[[steps]]`` header of the N-th step, then the key under it; the entry of an inline
table or array). Every problem is a :class:`DeckError` naming file, line and field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import whiteboard_app
from whiteboard_app.safeio import read_regular

from .schema import (
    CONSTRAINT_KINDS,
    DOMAINS,
    FUNCTIONS,
    MILESTONES,
    QUESTION_KINDS,
    SCHEMA_VERSION,
    TOPICS,
    Card,
    Deck,
    DeckError,
    Declarations,
    Followup,
    Mistake,
    Notation,
    Question,
    RefStep,
    Targets,
)

#: A parsed TOML table (tomllib's values: str, int, float, bool, datetimes, lists and tables).
Doc = dict[str, Any]
#: Where a value sits in a card: keys and array indices from the top, e.g. ("steps", 2, "latex").
FieldPath = tuple[str | int, ...]

_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_CARD_BYTES = 1024 * 1024
"""A card file larger than this is refused (the bundled cards are a few KB)."""
MAX_SIZE = 100
"""Largest value of a declared size (``sizes = {n = 5}``) or integer shape dimension: the checker samples
matrices of these sizes at several points (n = 40,000 asked for 11.9 GiB)."""
MAX_INDEX_SPAN = 1000
"""Largest span of an index with two integer bounds (``indices = {i = ["1", "1000"]}``)."""
MAX_STEPS = 100
"""Most reference steps (or mistakes) on one card."""
_PLAIN_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*('|\^\*)?")


def name_problem(name: str) -> str | None:
    """Why a declared name cannot be read by the checker, or None. A name is a plain name (``mu``,
    ``hat_theta``, ``y_w``, ``w^*``) or LaTeX whose braces and brackets balance and whose every
    ``_`` / ``^`` has an argument (``p_{data}``, ``\\hat{\\mu}``, ``\\pi_\\theta(y_w|x)``)."""
    s = name.strip()
    if not s:
        return "is empty"
    if _PLAIN_NAME_RE.fullmatch(s):
        return None
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in s):
        return "holds a control character"
    if "\\" not in s and "{" not in s and not re.search(r"[()|,\[\]]", s):
        # meant as a plain name: letters, digits and single underscores between them
        if s.endswith(("_", "^")) or "__" in s or s[0] in "_^0123456789":
            return f"{s!r} is not a name (letters and digits with '_' between them, e.g. y_w)"
    depth = {"{": 0, "(": 0, "[": 0}
    close = {"}": "{", ")": "(", "]": "["}
    prev = ""
    for k, c in enumerate(s):
        if c in depth and prev != "\\":
            depth[c] += 1
        elif c in close and prev != "\\":
            depth[close[c]] -= 1
            if depth[close[c]] < 0:
                return f"{s!r}: unbalanced {c!r}"
        if c in "_^" and prev != "\\":
            nxt = s[k + 1 :].lstrip()
            if not nxt or nxt[0] in "_^})]|," or nxt.startswith("{}"):
                return f"{s!r}: '{c}' has no argument"
        prev = c if prev != "\\" else ""
    if any(depth.values()):
        return f"{s!r}: unbalanced brackets"
    if s.endswith("\\"):
        return f"{s!r} ends with a backslash"
    return None


_DIM_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*|[1-9][0-9]*)$")


def bundled_deck_dir() -> Path:
    """The folder of the bundled deck (``whiteboard_app/bundled/decks``, a symlink to top-level ``decks/``)."""
    return Path(whiteboard_app.__file__).parent / "bundled" / "decks"


class _Lines:
    """Find the 1-based line of a field path like ``("steps", 3, "latex")`` in a TOML file's text."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def _find(self, pattern: re.Pattern[str], start: int = 0, stop: int | None = None) -> int | None:
        stop = len(self.lines) if stop is None else stop
        for i in range(start, stop):
            if pattern.search(self.lines[i]):
                return i
        return None

    def _section(self, name: str, nth: int | None) -> tuple[int, int] | None:
        """Line range [start, stop) of table ``[name]`` or of the nth (1-based) ``[[name]]``."""
        if nth is None:
            pat = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]\s*(#.*)?$")
            i = self._find(pat)
        else:
            pat = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]\s*(#.*)?$")
            i, count = None, 0
            for j, line in enumerate(self.lines):
                if pat.search(line):
                    count += 1
                    if count == nth:
                        i = j
                        break
        if i is None:
            return None
        end = self._find(re.compile(r"^\s*\["), i + 1)
        return i, (len(self.lines) if end is None else end)

    def _key(self, key: str, start: int, stop: int) -> int | None:
        return self._find(re.compile(rf'^\s*("?){re.escape(key)}\1\s*='), start, stop)

    def _entry(self, key_line: int, entry: str | int, stop: int) -> int:
        """Line of an entry inside the value starting at key_line (inline table key or nth array item)."""
        if isinstance(entry, str):
            pat = re.compile(rf'(^|[{{,\s])("?){re.escape(entry)}\2\s*=')
            for i in range(key_line, stop):
                text = self.lines[i] if i != key_line else self.lines[i].split("=", 1)[-1]
                if pat.search(text):
                    return i
            return key_line
        # array item (1-based): items on following lines, one per line, when the array spans lines
        rest = self.lines[key_line].split("=", 1)[-1].strip()
        if rest.startswith("[") and not rest.rstrip(",").endswith("]"):
            count = 0
            for i in range(key_line + 1, stop):
                s = self.lines[i].strip()
                if s.startswith(("]",)):
                    break
                if s and not s.startswith("#"):
                    count += 1
                    if count == entry:
                        return i
        return key_line

    def line_of(self, path: FieldPath) -> int:
        """Best line for the field path; 0 when nothing in the file matches."""
        if not path:
            return 0
        head, rest = path[0], list(path[1:])
        start, stop, in_section = 0, len(self.lines), False
        top_stop = self._find(re.compile(r"^\s*\["))
        if rest and isinstance(rest[0], int) and head in ("steps", "mistakes", "followups", "questions"):
            sec = self._section(head, rest[0])
            rest.pop(0)
            if sec is None:
                return 0
            start, stop = sec
            in_section = True
            if not rest:
                return start + 1
            head = rest.pop(0)
        elif head in ("declarations", "targets", "notation"):
            sec = self._section(head, None)
            if sec is not None:
                if not rest:
                    return sec[0] + 1
                start, stop = sec
                in_section = True
                head = rest.pop(0)
            else:
                # maybe an inline table at top level: declarations = {...}
                i = self._key(head, 0, top_stop or len(self.lines))
                return 0 if i is None else i + 1
        else:
            stop = top_stop if top_stop is not None else len(self.lines)
        i = self._key(str(head), start, stop)
        if i is None:
            return start + 1 if in_section else 0
        if rest:
            return self._entry(i, rest[0], stop) + 1
        return i + 1


def _fmt(path: FieldPath) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


class _Validator:
    """Validates one parsed TOML document; collects every problem (``errors``) rather than stopping."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _Lines(text)
        self.errors: list[DeckError] = []

    def err(self, field: FieldPath, message: str) -> None:
        self.errors.append(DeckError(self.path, self.lines.line_of(field), _fmt(field), message))

    def want(
        self,
        doc: Doc,
        key: str,
        typ: type | tuple[type, ...],
        field: FieldPath,
        required: bool = True,
        default: Any = None,
    ) -> Any:
        if key not in doc:
            if required:
                self.err(field, "is missing")
            return default
        value = doc[key]
        if typ is int and isinstance(value, bool):
            self.err(field, "must be an integer")
            return default
        if not isinstance(value, typ):
            name = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            self.err(field, f"must be a {_TYPE_WORDS.get(name, name)}, not {type(value).__name__}")
            return default
        return value

    def text(self, doc: Doc, key: str, field: FieldPath, required: bool = True, default: str = "") -> str:
        value = self.want(doc, key, str, field, required, default)
        if required and isinstance(value, str) and not value.strip():
            self.err(field, "must not be empty")
        return value if isinstance(value, str) else default

    def strings(
        self, doc: Doc, key: str, field: FieldPath, lo: int = 0, hi: int | None = None
    ) -> tuple[str, ...]:
        value = self.want(doc, key, list, field, required=lo > 0, default=[])
        out = []
        for k, item in enumerate(value, 1):
            if not isinstance(item, str) or not item.strip():
                self.err(field + (k,), "must be a non-empty string")
            else:
                out.append(item)
        self.count(doc, key, field, len(value), lo, hi, "entries")
        return tuple(out)

    def count(self, doc: Doc, key: str, field: FieldPath, n: int, lo: int, hi: int | None, noun: str) -> None:
        """Report ``field`` when ``doc`` has ``key`` and its ``n`` entries are outside ``lo..hi`` (no upper
        bound when ``hi`` is None): "needs 2-5 mistakes, has 6", "needs at least 2 steps, has 1"."""
        if key in doc and (n < lo or (hi is not None and n > hi)):
            want = f"{lo}-{hi}" if hi is not None else f"at least {lo}"
            self.err(field, f"needs {want} {noun}, has {n}")

    def table(
        self,
        doc: Doc,
        key: str,
        field: FieldPath,
        allowed: Iterable[str] | None = None,
        required: bool = False,
    ) -> Doc:
        """The table ``doc[key]`` ({} when it is absent or not a table; both reported as ``want`` does);
        with ``allowed``, every other key in it is reported as an unknown field."""
        t = self.want(doc, key, dict, field, required=required, default={})
        t = t if isinstance(t, dict) else {}
        if allowed is not None:
            self.unknown_keys(t, allowed, field)
        return t

    def tables(self, raw: list[Any], key: str, allowed: Iterable[str]) -> Iterator[tuple[FieldPath, Doc]]:
        """The entries of an array of tables ``[[key]]``, in order, as (field, table), field being
        ``(key, k)`` with k 1-based; an entry that is not a table is reported and skipped, and unknown keys
        of each table are reported before it is yielded."""
        for k, item in enumerate(raw, 1):
            f: FieldPath = (key, k)
            if not isinstance(item, dict):
                self.err(f, f"must be a table ([[{key}]])")
                continue
            self.unknown_keys(item, allowed, f)
            yield f, item

    def unknown_keys(self, doc: Doc, allowed: Iterable[str], field: FieldPath) -> None:
        for key in doc:
            if key not in allowed:
                self.err(field + (key,), f"unknown field (allowed: {', '.join(sorted(allowed))})")


_TYPE_WORDS = {"str": "string", "list": "list", "dict": "table", "int": "integer", "bool": "boolean"}
_TOP_KEYS = (
    "schema_version",
    "id",
    "title",
    "topic",
    "prompt",
    "setup",
    "assumptions",
    "interpretation",
    "hints",
    "targets",
    "declarations",
    "notation",
    "steps",
    "mistakes",
    "followups",
    "questions",
)
_DECL_KEYS = (
    "symbols",
    "indexed",
    "indices",
    "shapes",
    "sizes",
    "functions",
    "definitions",
    "constraints",
    "unknowns",
    "solutions",
    "stacks",
)


def _declarations(v: _Validator, doc: Doc) -> Declarations:
    f: FieldPath = ("declarations",)
    d = v.table(doc, "declarations", f, _DECL_KEYS, required=True)

    def table(key: str) -> Doc:
        return v.table(d, key, f + (key,))

    def named(key: str) -> Iterator[tuple[str, Any, FieldPath]]:
        """(name, value, field) of each entry of ``declarations.<key>`` whose name the checker can read;
        an unreadable name is reported (see name_problem) and skipped."""
        for name, value in table(key).items():
            if problem := name_problem(name):
                v.err(f + (key, name), problem)
            else:
                yield name, value, f + (key, name)

    symbols = {}
    # a plain name (mu, hat_theta, y_w), a LaTeX name (\\hat{\\mu}, p_{data}) or an opaque token
    # (\\pi_\\theta(y_w|x)); see docs/deck-authoring.md
    for name, dom, fk in named("symbols"):
        if dom not in DOMAINS:
            v.err(fk, f"unknown domain {dom!r} (one of: {', '.join(DOMAINS)})")
        else:
            symbols[name] = dom
    indices = {}
    for name, bounds in table("indices").items():
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(isinstance(b, (str, int)) and not isinstance(b, bool) for b in bounds)
        ):
            v.err(f + ("indices", name), 'must be a pair of bounds like ["1", "n"]')
        elif not re.fullmatch(r"[A-Za-z]", name):
            v.err(f + ("indices", name), "an index is one letter")
        elif all(str(b).lstrip("-").isdigit() and len(str(b)) < 10 for b in bounds) and not (
            0 <= int(bounds[1]) - int(bounds[0]) < MAX_INDEX_SPAN
        ):
            v.err(f + ("indices", name), f"the bounds must span 1..{MAX_INDEX_SPAN} values")
        else:
            indices[name] = (str(bounds[0]), str(bounds[1]))
    indexed = {}
    for name, idx, fk in named("indexed"):
        if not isinstance(idx, str) or not idx or not all(c.isalpha() for c in idx):
            v.err(fk, 'must name its index letters, e.g. "i" or "ij"')
            continue
        missing = [c for c in idx if c not in indices]
        if missing:
            v.err(fk, f"index {missing[0]!r} is not declared in declarations.indices")
        indexed[name] = idx
    sizes = {}
    for name, n in table("sizes").items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            v.err(f + ("sizes", name), "must be a positive integer")
        elif n > MAX_SIZE:
            v.err(
                f + ("sizes", name), f"must be at most {MAX_SIZE} (the checker samples matrices of this size)"
            )
        elif not _PLAIN_NAME_RE.fullmatch(name) or "'" in name or "^" in name:
            v.err(f + ("sizes", name), f"{name!r} is not a dimension name (letters and digits, e.g. d_k)")
        else:
            sizes[name] = n
    shapes = {}
    for name, shape, fk in named("shapes"):
        ok = isinstance(shape, list) and len(shape) == 2
        ok = ok and all(
            (isinstance(s, int) and not isinstance(s, bool) and 0 < s <= MAX_SIZE)
            or (
                isinstance(s, str)
                and _DIM_RE.match(s)
                and (not s.isdigit() or len(s) < 4 and int(s) <= MAX_SIZE)
            )
            for s in shape
        )
        if not ok:
            v.err(fk, 'must be [rows, cols] of dimension names or integers, e.g. ["n", "d"]')
        else:
            shapes[name] = (str(shape[0]), str(shape[1]))
    functions = {}
    for name, fn, fk in named("functions"):
        if fn not in FUNCTIONS:
            v.err(fk, f"unknown function {fn!r} (one of: {', '.join(FUNCTIONS)})")
        elif name in symbols or name in shapes or name in indexed:
            v.err(fk, "a function and a symbol cannot share a name on one card")
        else:
            functions[name] = fn
    definitions = {}
    for lhs, rhs in table("definitions").items():
        if not isinstance(rhs, str) or not rhs.strip() or not lhs.strip():
            v.err(f + ("definitions", lhs), "must map LaTeX to non-empty LaTeX")
        elif problem := name_problem(lhs):
            v.err(f + ("definitions", lhs), problem)
        else:
            definitions[lhs] = rhs
    constraints = []
    declared = set(symbols) | set(shapes) | set(indexed)
    for k, c in enumerate(v.strings(d, "constraints", f + ("constraints",)), 1):
        kind, _, name = c.partition(":")
        if kind not in CONSTRAINT_KINDS:
            v.err(
                f + ("constraints", k), f"unknown constraint {kind!r} (one of: {', '.join(CONSTRAINT_KINDS)})"
            )
        elif name not in declared:
            v.err(f + ("constraints", k), f"constrains {name!r}, which is not declared")
        else:
            constraints.append(c)
    solutions = {}
    for name, rhs in table("solutions").items():
        if not isinstance(rhs, str) or not rhs.strip():
            v.err(f + ("solutions", name), "must map a declared name to non-empty LaTeX")
        elif problem := name_problem(name):
            v.err(f + ("solutions", name), problem)
        else:
            solutions[name] = rhs
    stacks = {}
    family_keys = set(indexed) | {k.split("_")[0].lstrip("\\") for k in table("definitions")}
    for name, fam in table("stacks").items():
        if not isinstance(fam, str) or fam not in family_keys:
            v.err(
                f + ("stacks", name),
                "must name an indexed family (declarations.indexed or a definitions pattern)",
            )
        else:
            stacks[name] = fam
    unknowns = v.strings(d, "unknowns", f + ("unknowns",))
    for dim in {s for shp in shapes.values() for s in shp}:
        if not dim.isdigit() and dim not in sizes and symbols.get(dim) not in ("positive_integer", None):
            v.err(f + ("shapes",), f"dimension {dim!r} is declared with a domain other than positive_integer")
    return Declarations(
        symbols=symbols,
        indexed=indexed,
        indices=indices,
        shapes=shapes,
        sizes=sizes,
        functions=functions,
        definitions=definitions,
        constraints=tuple(constraints),
        unknowns=tuple(unknowns),
        solutions=solutions,
        stacks=stacks,
    )


_NOTATION_KEYS = ("aliases", "per_example", "summands", "opposite_signs")
#: names an alias may not redefine: Euler's e, pi, the identity I, the transpose T
_RESERVED = {"e", "pi", "I", "T"}


def _notation(v: _Validator, doc: Doc, decl: Declarations) -> Notation:
    """The optional ``[notation]`` table (see docs/deck-authoring.md): aliases, per_example, summands,
    opposite_signs."""
    if "notation" not in doc:
        return Notation()
    f: FieldPath = ("notation",)
    t = v.table(doc, "notation", f, _NOTATION_KEYS)
    from whiteboard_app.latex import ParseError, canonical, check_balance, name_key

    declared = {
        name_key(k)
        for k in (
            *decl.symbols,
            *decl.indexed,
            *decl.shapes,
            *decl.functions,
            *decl.indices,
            *decl.stacks,
            *decl.sizes,
        )
    }
    declared |= {name_key(k) for k in decl.definitions if "(" not in k and "[" not in k}
    opaque = {canonical(k) for k in (*decl.definitions, *decl.symbols)}

    def latex_ok(field: FieldPath, text: str) -> bool:
        try:
            check_balance(text)
        except ParseError as exc:
            v.err(field, f"is not well-formed LaTeX: {exc}")
            return False
        return True

    aliases = {}
    for key, rhs in v.table(t, "aliases", f + ("aliases",)).items():
        fk = f + ("aliases", key)
        if not isinstance(rhs, str) or not rhs.strip() or not key.strip():
            v.err(fk, "must map written LaTeX to non-empty LaTeX in the card's names")
            continue
        if not (latex_ok(fk, key) and latex_ok(fk, rhs)):
            continue
        try:
            nk = name_key(key)
        except ParseError:
            nk = key
        try:
            spelling = canonical(key) == canonical(rhs)
        except ParseError:
            spelling = False
        if nk in _RESERVED:
            v.err(fk, f"{key!r} is reserved (e, \\pi, I and T keep their meaning)")
        elif spelling and (nk in declared or canonical(key) in opaque):
            continue  # a spelling the reader already reads as that name (KL(p\|q) is D_{KL}(p\|q)): nothing to do
        elif nk in declared or canonical(key) in opaque:
            v.err(fk, f"{key!r} is declared on this card; an alias cannot change what a declared name means")
        elif re.search(r"=|<|>|\\(le|ge|leq|geq|approx)(?![a-zA-Z])", key):
            v.err(fk, "an alias is a name or a unit of notation, not a relation")
        elif key.strip() == rhs.strip():
            v.err(fk, "maps to itself")
        else:
            aliases[key] = rhs
    per_example = v.want(t, "per_example", str, f + ("per_example",), required=False, default=None)
    if per_example is not None and per_example not in decl.indices:
        v.err(f + ("per_example",), f"{per_example!r} is not a declared index (declarations.indices)")
        per_example = None
    summands = {}
    for key, rhs in v.table(t, "summands", f + ("summands",)).items():
        fk = f + ("summands", key)
        if not isinstance(rhs, str) or not rhs.strip():
            v.err(fk, "must map a defined quantity to the LaTeX of its summand")
        elif "per_example" not in t:
            v.err(fk, "summands need notation.per_example (the index a one-example step drops)")
        elif key not in decl.definitions:
            v.err(fk, f"{key!r} is not a key of declarations.definitions")
        elif latex_ok(fk, rhs):
            summands[key] = rhs
    opposite = []
    for k, name in enumerate(v.strings(t, "opposite_signs", f + ("opposite_signs",)), 1):
        if decl.symbols.get(name) != "real":
            v.err(f + ("opposite_signs", k), f"{name!r} is not a declared real symbol (declarations.symbols)")
        else:
            opposite.append(name)
    return Notation(
        aliases=aliases, per_example=per_example, summands=summands, opposite_signs=tuple(opposite)
    )


def _card_from_doc(path: Path, text: str, doc: Doc) -> tuple[Card | None, list[DeckError]]:
    v = _Validator(path, text)
    v.unknown_keys(doc, _TOP_KEYS, ())
    version = v.want(doc, "schema_version", int, ("schema_version",))
    if version is not None and version != SCHEMA_VERSION:
        v.err(
            ("schema_version",), f"unsupported schema version {version} (this program reads {SCHEMA_VERSION})"
        )
    cid = v.text(doc, "id", ("id",))
    if cid and not _ID_RE.match(cid):
        v.err(("id",), f"{cid!r} is not kebab-case (lower-case letters, digits, hyphens)")
    elif cid and path.suffix == ".toml" and path.stem != cid:
        v.err(("id",), f"{cid!r} does not match the file name {path.name!r}")
    title = v.text(doc, "title", ("title",))
    topic = v.text(doc, "topic", ("topic",))
    if topic and topic not in TOPICS:
        v.err(("topic",), f"unknown topic {topic!r} (one of: {', '.join(TOPICS)})")
    prompt = v.text(doc, "prompt", ("prompt",))
    setup = v.text(doc, "setup", ("setup",))
    assumptions = v.strings(doc, "assumptions", ("assumptions",))
    if "assumptions" not in doc:
        v.err(("assumptions",), "is missing (an empty list is allowed)")
    interpretation = v.text(doc, "interpretation", ("interpretation",))
    hints = v.strings(doc, "hints", ("hints",), 1, 4)

    t = v.table(doc, "targets", ("targets",), ("cold_s", "practised_s"))
    cold = v.want(t, "cold_s", int, ("targets", "cold_s"), required=False, default=300)
    prac = v.want(t, "practised_s", int, ("targets", "practised_s"), required=False, default=180)
    for key, val in (("cold_s", cold), ("practised_s", prac)):
        if isinstance(val, int) and val <= 0:
            v.err(("targets", key), "must be a positive number of seconds")
    if isinstance(cold, int) and isinstance(prac, int) and prac > cold:
        v.err(("targets", "practised_s"), "must not exceed cold_s")
    targets = Targets(cold_s=cold or 300, practised_s=prac or 180)

    declarations = _declarations(v, doc)
    notation = _notation(v, doc, declarations)

    steps = []
    raw_steps = v.want(doc, "steps", list, ("steps",), default=[])
    for f, s in v.tables(raw_steps, "steps", ("latex", "say", "rule", "checkable", "milestone")):
        latex = v.text(s, "latex", f + ("latex",))
        say = v.text(s, "say", f + ("say",))
        rule = v.text(s, "rule", f + ("rule",))
        checkable = v.want(s, "checkable", bool, f + ("checkable",), required=False, default=True)
        milestone = v.want(s, "milestone", str, f + ("milestone",), required=False, default=None)
        if milestone is not None and milestone not in MILESTONES:
            v.err(f + ("milestone",), f"unknown milestone {milestone!r} (one of: {', '.join(MILESTONES)})")
            milestone = None
        if f[1] == 1 and latex.lstrip().startswith("="):
            v.err(f + ("latex",), "the first step cannot continue a previous line (leading '=')")
        steps.append(RefStep(latex=latex, say=say, rule=rule, checkable=bool(checkable), milestone=milestone))
    v.count(doc, "steps", ("steps",), len(raw_steps), 2, None, "steps")
    if len(raw_steps) > MAX_STEPS:
        v.err(("steps",), f"has {len(raw_steps)} steps; a card may have at most {MAX_STEPS}")
    marked = [k for k, st in enumerate(steps, 1) if st.milestone]
    if marked and not any(st.milestone == "result" for st in steps):
        v.err(
            ("steps", marked[-1], "milestone"),
            'a card that marks milestones must mark its result (milestone = "result" on the answer step)',
        )

    mistakes = []
    raw = v.want(doc, "mistakes", list, ("mistakes",), default=[])
    for f, m in v.tables(raw, "mistakes", ("latex", "after_step", "diagnosis", "explanation")):
        latex = v.text(m, "latex", f + ("latex",))
        diagnosis = v.text(m, "diagnosis", f + ("diagnosis",))
        explanation = v.text(m, "explanation", f + ("explanation",))
        after = v.want(m, "after_step", int, f + ("after_step",), default=0)
        if isinstance(after, int) and "after_step" in m and not 1 <= after <= max(1, len(steps)):
            v.err(f + ("after_step",), f"must be a step number 1..{len(steps)}, not {after}")
        if any(latex.strip() == st.latex.strip() for st in steps):
            v.err(f + ("latex",), "is identical to a reference step")
        mistakes.append(
            Mistake(latex=latex, diagnosis=diagnosis, after_step=after or 0, explanation=explanation)
        )
    v.count(doc, "mistakes", ("mistakes",), len(raw), 2, 5, "mistakes")

    followups = []
    raw = v.want(doc, "followups", list, ("followups",), default=[])
    for f, q in v.tables(raw, "followups", ("question", "answer", "key_points")):
        followups.append(
            Followup(
                question=v.text(q, "question", f + ("question",)),
                answer=v.text(q, "answer", f + ("answer",)),
                key_points=v.strings(q, "key_points", f + ("key_points",), 2, 5),
            )
        )
    v.count(doc, "followups", ("followups",), len(raw), 2, 4, "follow-ups")

    questions = _questions(v, doc)

    if v.errors:
        return None, v.errors
    card = Card(
        id=cid,
        title=title,
        topic=topic,
        prompt=prompt,
        setup=setup,
        assumptions=assumptions,
        declarations=declarations,
        steps=tuple(steps),
        interpretation=interpretation,
        followups=tuple(followups),
        mistakes=tuple(mistakes),
        hints=hints,
        targets=targets,
        notation=notation,
        source_path=path,
        schema_version=version,
        questions=questions,
    )
    return card, []


class _NestedValidator(_Validator):
    """Reports into a parent validator under a field prefix (a question's own ``declarations``)."""

    def __init__(self, parent: _Validator, prefix: FieldPath):
        self.path, self.lines, self.errors, self.prefix = parent.path, parent.lines, parent.errors, prefix

    def err(self, field: FieldPath, message: str) -> None:
        super().err(self.prefix + tuple(field), message)


_QUESTION_KEYS = (
    "id",
    "prompt",
    "kind",
    "answer",
    "key_points",
    "accept",
    "reject",
    "time_s",
    "declarations",
)
MAX_QUESTIONS = 12
QUESTION_TIME_S = (15, 120)


def _questions(v: _Validator, doc: Doc) -> tuple[Question, ...]:
    """The optional ``[[questions]]`` (grill questions, docs/deck-authoring.md); problems go to ``v``."""
    out: list[Question] = []
    raw = v.want(doc, "questions", list, ("questions",), required=False, default=[])
    seen: set[str] = set()
    for f, q in v.tables(raw, "questions", _QUESTION_KEYS):
        qid = v.text(q, "id", f + ("id",))
        if qid and not _ID_RE.match(qid):
            v.err(f + ("id",), f"{qid!r} is not kebab-case (lower-case letters, digits, hyphens)")
        elif qid in seen:
            v.err(f + ("id",), f"duplicate question id {qid!r} on this card")
        seen.add(qid)
        prompt = v.text(q, "prompt", f + ("prompt",))
        kind = v.text(q, "kind", f + ("kind",))
        if kind and kind not in QUESTION_KINDS:
            v.err(f + ("kind",), f"unknown kind {kind!r} (one of: {', '.join(QUESTION_KINDS)})")
        answer = v.text(q, "answer", f + ("answer",))
        words = kind == "words"
        key_points = v.strings(q, "key_points", f + ("key_points",), 2 if words else 0, 5)
        accept = v.strings(q, "accept", f + ("accept",), 0 if words else 1, 8)
        reject = v.strings(q, "reject", f + ("reject",), 0 if words else 1, 8)
        if words:
            for key in ("accept", "reject", "declarations"):
                if key in q:
                    v.err(f + (key,), "only a maths question has it (a word answer is self-graded)")
        time_s = v.want(q, "time_s", int, f + ("time_s",), required=False, default=45)
        lo, hi = QUESTION_TIME_S
        if isinstance(time_s, int) and not lo <= time_s <= hi:
            v.err(f + ("time_s",), f"must be {lo}-{hi} seconds, not {time_s}")
        decl = None
        if "declarations" in q and not words:
            decl = _declarations(_NestedValidator(v, f), {"declarations": q["declarations"]})
        out.append(
            Question(
                id=qid,
                prompt=prompt,
                kind=kind,
                answer=answer,
                key_points=key_points,
                accept=accept,
                reject=reject,
                time_s=time_s if isinstance(time_s, int) else 45,
                declarations=decl,
            )
        )
    if len(raw) > MAX_QUESTIONS:
        v.err(("questions",), f"needs at most {MAX_QUESTIONS} questions, has {len(raw)}")
    return tuple(out)


def card_errors(path: Path | str) -> tuple[Card | None, list[DeckError]]:
    """Read and validate one card file; return (card or None, every problem found)."""
    path = Path(path)
    try:
        raw = read_regular(path, MAX_CARD_BYTES)  # a FIFO or /dev/zero is refused, never read
    except OSError as exc:
        return None, [DeckError(path, 0, "", f"cannot read the file: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [DeckError(path, line, "", "is not UTF-8 text")]
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(m.group(1)) if m else 0
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        return None, [DeckError(path, line, "", f"invalid TOML: {msg}")]
    except RecursionError:
        return None, [DeckError(path, 0, "", "invalid TOML: nested too deeply")]
    try:
        return _card_from_doc(path, text, doc)
    except RecursionError:  # pragma: no cover - tomllib refuses deeper documents first
        return None, [DeckError(path, 0, "", "nested too deeply")]


def load_card(path: Path | str) -> Card:
    """Load one card file; raise the first :class:`DeckError` found (file, line, field)."""
    card, errors = card_errors(path)
    if errors:
        raise errors[0]
    assert card is not None
    return card


def _expand(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        out.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return out


def deck_errors(paths: Iterable[Path | str] | None = None) -> tuple[Deck, list[DeckError]]:
    """Load every card it can from files/folders (bundled deck when None); return the deck and all problems.

    Duplicate card ids across files are errors (the second file is named).
    """
    files = _expand([bundled_deck_dir()] if paths is None else paths)
    deck = Deck()
    errors: list[DeckError] = []
    for f in files:
        card, errs = card_errors(f)
        errors.extend(errs)
        if card is None:
            continue
        if card.id in deck.cards:
            first = deck.cards[card.id].source_path
            errors.append(
                DeckError(
                    f, _Lines(f.read_text("utf-8")).line_of(("id",)), "id", f"duplicate id, also in {first}"
                )
            )
            continue
        deck.cards[card.id] = card
    return deck, errors


def load_deck(paths: Iterable[Path | str] | None = None) -> Deck:
    """Load a deck from card files or folders of them (the bundled deck when ``paths`` is None).

    Raises the first :class:`DeckError` when any card is malformed.
    """
    deck, errors = deck_errors(paths)
    if errors:
        raise errors[0]
    return deck
