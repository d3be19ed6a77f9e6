"""What the checker's parts share: the verdict types (:class:`StepVerdict`, :class:`Comparison`), a claim (a
parsed step with the subject of a continuation resolved) and small helpers on expression trees (map, the
names a tree mentions, the per-example summand of a sum)."""

from __future__ import annotations

from dataclasses import dataclass

from .parse import ParsedStep


@dataclass
class StepVerdict:
    """The verdict on one step. ``reference_step`` is 1-based (None when no reference step applies);
    ``shape`` names the step's shape (``"(d x 1)"``) or a shape error; ``ms`` is the time taken."""

    latex: str
    verdict: str
    reference_step: int | None = None
    diagnosis: str | None = None
    shape: str | None = None
    ms: float = 0.0
    message: str | None = None
    defines: str | None = None
    skipped: list[int] | None = None
    note: str | None = None

    def to_json(self) -> dict:
        """The CLI's dict: latex, verdict, reference_step, diagnosis, shape, ms, message, and (issue 11)
        ``defines`` (the name a step ``NAME = EXPR`` introduces, as written, else null), ``skipped`` (the
        1-based reference steps passed over since the user's previous step, else null) and ``note`` (a hint
        on a correct step, e.g. a continuation missing its left side, else null)."""
        return {
            "latex": self.latex,
            "verdict": self.verdict,
            "reference_step": self.reference_step,
            "diagnosis": self.diagnosis,
            "shape": self.shape,
            "ms": round(float(self.ms), 2),
            "message": self.message,
            "defines": self.defines,
            "skipped": list(self.skipped) if self.skipped else None,
            "note": self.note,
        }


@dataclass
class Comparison:
    """Result of :func:`compare`: equivalent True/False, or None when it cannot be decided."""

    equivalent: bool | None
    diagnosis: str | None = None
    message: str | None = None

    def to_json(self) -> dict:
        """The CLI's dict: exactly ``{"equivalent", "diagnosis"}``."""
        return {"equivalent": self.equivalent, "diagnosis": self.diagnosis}


INEQ = {"<", "<=", ">", ">="}


@dataclass
class _Claim:
    """A parsed step with the subject of a continuation resolved: exprs[k] rel[k] exprs[k+1]."""

    exprs: list
    rels: list[str]
    step: ParsedStep


def _map_tree(t, f):
    """Apply f to every node top-down; where f returns a different node it replaces the subtree."""
    t2 = f(t)
    if t2 is not t:
        return t2
    k = t[0]
    if k in ("add", "mul"):
        return (k, tuple(_map_tree(a, f) for a in t[1]))
    if k in ("call", "idx"):
        return (k, t[1], tuple(_map_tree(a, f) for a in t[2]))
    if k in ("pow", "deriv"):
        return (k, _map_tree(t[1], f), _map_tree(t[2], f))
    if k in ("T", "expect"):
        return (k, _map_tree(t[1], f))
    if k in ("sum", "prod"):
        return (k, _map_tree(t[1], f), t[2], _map_tree(t[3], f), _map_tree(t[4], f))
    return t


def _mentions(t) -> set[str]:
    """Names a tree refers to: variables and indexed families (bound or not)."""
    from .trees import walk

    out = set()
    for _, node in walk(t):
        if node[0] in ("var", "idx"):
            out.add(node[1])
    return out


def _walk(t):
    from .trees import walk

    return walk(t)


def _vars(t) -> set:
    """The ("var", name) nodes of a tree."""
    from .trees import walk

    return {node for _, node in walk(t) if node[0] == "var"}


def _is_zero(t) -> bool:
    return t == ("num", 0.0)


def _summand(t, indices: dict, letter: str | None = None):
    """The tree with every sum over a declared index replaced by its body (the index left free): the
    per-example form of a sum over examples. With ``letter`` (the card's per-example index), the summed
    index is renamed to it. None when the tree has no such sum."""
    found = []

    def f(node):
        if node[0] == "sum" and node[2] in indices:
            found.append(node[2])
            body = _map_tree(node[1], f)
            if letter is not None and node[2] != letter:
                old = ("var", node[2])

                def ren(n, old=old):
                    return ("var", letter) if n == old else n

                body = _map_tree(body, ren)
            return body
        return node

    out = _map_tree(t, f)
    return out if found else None
