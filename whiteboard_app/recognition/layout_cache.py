"""The on-disk table of typeset glyph layouts (``typeset.glyph_layout``; ``whiteboard_app.cache``).

Its stamp hashes the sources of the modules whose code decides a layout (typeset, the tokens of
context.normalize_tokens, trained's class names, the training data's class tables) and the versions of
ziamath and mathnote-ocr. A layout error is kept too (as its message), so an expression that cannot be
typeset fails at once on the next launch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from whiteboard_app.cache import DiskTable, source_stamp

_MODULES = (
    "whiteboard_app.recognition.typeset",
    "whiteboard_app.recognition.tokens",
    "whiteboard_app.recognition.vocabulary",
    "whiteboard_app.recognition.mathnote_compat",
    "whiteboard_app.latex.tokens",
    "whiteboard_app.recognition.training.data",
)


@lru_cache(maxsize=1)
def _table() -> DiskTable:
    return DiskTable("glyph-layouts", source_stamp(_MODULES, ("ziamath", "mathnote-ocr")))


def cached_layout(
    latex: str,
    compute: Callable[[str], tuple[Any, ...]],
    *,
    glyph: Callable[..., Any],
    error: type[Exception],
) -> tuple[Any, ...]:
    """``compute(latex)`` (a tuple of glyphs made by ``glyph(name, token, box, word)``, e.g.
    ``typeset.Glyph``), read from the disk table when it is there and stored in it otherwise. Raises
    ``error`` (``typeset.LayoutError``) as ``compute`` does, a stored error too. The glyph class and the
    error are passed in so that this module does not import typeset (which imports it: no cycle)."""
    Glyph, LayoutError = glyph, error  # noqa: N806 (classes)
    table = _table()
    hit = table.get(latex)
    if isinstance(hit, dict) and "error" in hit:
        raise LayoutError(str(hit["error"]))
    if isinstance(hit, list):
        try:
            return tuple(
                Glyph(str(n), str(t), (float(b[0]), float(b[1]), float(b[2]), float(b[3])), str(w))
                for n, t, b, w in hit
            )
        except (TypeError, ValueError, IndexError):
            pass  # a damaged entry: computed again
    try:
        layout = compute(latex)
    except LayoutError as exc:
        table.put(latex, {"error": str(exc)})
        raise
    table.put(latex, [[g.name, g.token, list(g.box), g.word] for g in layout])
    return layout
