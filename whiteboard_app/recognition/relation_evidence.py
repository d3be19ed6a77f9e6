"""Script-level evidence from the layout relation model learnt on real handwriting (issue 13, item 2).

The card-context verifier (recognition/form_match.py) takes one of the card's forms only when the ink
supports it on its own terms. Its script rule is geometric (the ink's vertical offset from the previous
glyph against the form's, ``SCRIPT_OFFSET`` / ``script``); this module asks the layout parser's relation
model instead (``weights/structure.pth``, mathnote-ocr's ``SubsetTreeModel`` fine-tuned on the real layouts
of the whole training split, recognition/structure.py, docs/recogniser.md "Layout relations learnt from
real handwriting"): for each script edge a form claims (glyph *c* is the superscript or the subscript of
glyph *p*), how likely the written boxes of the ink symbols the form's fit assigned to *c*, *p* and their
neighbours make that relation against the swapped one.

* :func:`script_edges` (at fit time, cheap, no model): the form's script edges read off its typeset layout
  and the ink boxes its fit assigned, as a :data:`RelationInk` record that form_match keeps on the fit
  (``FormMatch.relation_ink``).
* :func:`edge_log_probs` (the model): per edge, ``log p(relation | child, parent)`` over the model's 8
  relation types (mathnote-ocr's ``Edge``: numerator 0, denominator 1, superscript 2, subscript 3, root
  content 4, upper limit 5, lower limit 6, match 7), from one subset of at most 8 symbols (the child, its
  parent and the child's nearest matched neighbours, by centre distance), the model's own input encoding
  (its geometry is relative to the subset's median symbol height, so the boxes' units do not matter).
* :func:`relation_llr`: the form's log-likelihood ratio, the least over its script edges of
  ``log p(form's relation) - log p(swapped relation)`` (superscript <-> subscript), in nats; None for a
  form without script edges or when the model cannot be loaded. A form that says "subscript" where the ink
  says "superscript" with confidence gets a clearly negative value.

form_match's evidence rule refuses a form whose :func:`relation_llr` is below minus the ``relation_llr``
threshold of ``weights/evidence.json`` (absent: the rule is off). Cost: one batched forward of the small
relation model per form with script edges (about 1-3 ms on one torch thread), cached per (names, boxes,
edges): a script swap of a form is fitted to the same ink symbols and reuses its edges' probabilities.
Heavy imports (torch, mathnote-ocr) happen inside the functions.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "EDGE_SUB",
    "EDGE_SUP",
    "RelationInk",
    "edge_log_probs",
    "form_tree",
    "relation_llr",
    "script_edges",
    "typeset_tree",
]

#: mathnote-ocr's relation (edge) type of a superscript and of a subscript (``tree_v2.Edge``).
EDGE_SUP = 2
EDGE_SUB = 3
#: The swapped relation of each script relation.
SWAPPED = {EDGE_SUP: EDGE_SUB, EDGE_SUB: EDGE_SUP}
#: Symbols per subset the model reads (its ``max_symbols``; the parser's subsets are 3-8 symbols).
MAX_SUBSET = 8
#: A form's script edge: (child index, parent index, relation type) into :data:`RelationInk`'s lists.
Edge = tuple[int, int, int]
#: What a fit keeps for this evidence: (class names of the matched glyphs in mathnote-ocr's vocabulary,
#: their ink boxes (x, y, w, h) in canvas px, y downwards, the form's script edges among them).
RelationInk = tuple[tuple[str, ...], tuple[tuple[float, float, float, float], ...], tuple[Edge, ...]]


def script_edges(
    items: Sequence[tuple[int, tuple[float, float, float, float]]],
    glyphs: Sequence,
    latex: str,
    params: tuple[float, float, float, float],
) -> RelationInk | tuple[()]:
    """The form's script edges over the ink symbols its fit matched, or ``()`` when it has none.

    ``items``: (glyph index, the matched ink symbol's box in form_match's common frame (centre u, centre v,
    w, h: u and w in mean advances, v and h in median heights)); ``glyphs``: the form's typeset glyphs
    (``typeset.Glyph``: name, token, box), reading order; ``latex``: the form; ``params``: the fit's frame
    (left edge px, mean advance px, median centre y px, median height px), to put the boxes back in
    canvas px.

    The edges are the form's own tree as the relation model learnt it (:func:`form_tree`: every glyph of
    a script has the script's base as parent, ``x`` of ``x_i^2``, ``e`` for each of ``- x`` in
    ``e^{-x}``, ``)`` of ``(a+b)^2``); kept are the superscript and subscript edges whose child and parent
    glyphs both have an ink symbol."""
    if not items:
        return ()
    tree = form_tree(latex, tuple(str(g.name) for g in glyphs))
    if not tree:
        return ()
    x0, adv, cy0, mh = params
    order = sorted(items, key=lambda t: t[0])
    at = {j: k for k, (j, _b) in enumerate(order)}
    edges = tuple((at[c], at[p], e) for c, p, e in tree if c in at and p in at)
    if not edges:
        return ()
    names = tuple(str(glyphs[j].name) for j, _b in order)
    boxes = tuple(
        (float(u - w / 2) * adv + x0, float(v - h / 2) * mh + cy0, float(w) * adv, float(h) * mh)
        for _j, (u, v, w, h) in order
    )
    return names, boxes, edges


#: Names the relation model's typesetting gives a glyph the form's layout names otherwise.
_SAME_NAME = {"frac_bar": "-"}


@functools.lru_cache(maxsize=2048)
def typeset_tree(latex: str) -> tuple[tuple[dict, ...], tuple[tuple[int, int, int], ...]] | None:
    """(glyphs, tree labels) of the form ``latex`` through mathnote-ocr's typesetting and labelling
    (``training.structure._typeset_tree``: glyphs ``{"name", "bbox"}``, labels (parent, edge type, order) per
    glyph), or None when it cannot be typeset or labelled. Cached per LaTeX: :func:`form_tree` is asked for
    one form with several glyph namings (a function name as letters, as one glyph, mixed), and the
    typesetting costs 0.1-0.6 s for a long form (ziamath), so ``form_match.warm_up`` runs it when a card
    opens (session 13: on the composed derivation steps' longest card it was 53 of the 67 s its fits took,
    inside the readings' time limit)."""
    from whiteboard_app.recognition.training.structure import _typeset_tree

    got = _typeset_tree(latex)
    return None if got is None else (tuple(got[0]), tuple(got[1]))


@functools.lru_cache(maxsize=2048)
def form_tree(latex: str, names: tuple[str, ...]) -> tuple[Edge, ...]:
    """The script edges of the form ``latex`` as (child glyph index, parent glyph index, :data:`EDGE_SUP` or
    :data:`EDGE_SUB`), indices into the form's glyphs whose class names are ``names`` (form_match's layout,
    ``typeset.glyph_layout`` or its letters of function names). The tree is mathnote-ocr's own labelling of
    the LaTeX (``latex_to_tree_labels`` on its typeset glyphs, with ``_fix_upper_lower``: the labels the
    relation model was trained on, recognition/training/structure.py), its glyphs aligned with ``names`` by
    their names (difflib; a function name the model's typesetting spells in letters matches nothing). Empty
    when the form cannot be typeset or labelled that way. Cached."""
    import difflib

    got = typeset_tree(latex)
    if got is None:
        return ()
    tglyphs, labels = got
    tnames = [_SAME_NAME.get(g["name"], g["name"]) for g in tglyphs]
    mine = [_SAME_NAME.get(n, n) for n in names]
    to_mine: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, tnames, mine, autojunk=False).get_matching_blocks():
        for d in range(block.size):
            to_mine[block.a + d] = block.b + d
    out = []
    for c, (p, e, _o) in enumerate(labels):
        if int(e) in SWAPPED and c in to_mine and p in to_mine:
            out.append((to_mine[c], to_mine[p], int(e)))
    return tuple(out)


_MODEL: tuple | None = None
_MODEL_LOCK = threading.Lock()


def _model():
    """(relation model, vocabulary as the parser reads it) of the bundled ``weights/structure.pth``, loaded
    once; ``False`` when it cannot be loaded (no file, no torch, no mathnote-ocr)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            try:
                from whiteboard_app.recognition.structure import (
                    STRUCTURE_FILE,
                    ParserVocab,
                    load_relation_model,
                    with_aliases,
                )

                path = Path(__file__).resolve().parent / "weights" / STRUCTURE_FILE
                model, vocab = load_relation_model(path)
                model.eval()
                _MODEL = (model, ParserVocab(with_aliases(vocab)))
            except (ImportError, OSError, ValueError, RuntimeError):
                _MODEL = (False, None)
        return _MODEL


def _subset(boxes: Sequence[tuple[float, float, float, float]], child: int, parent: int) -> list[int]:
    """The child, its parent, then the child's nearest other symbols (centre distance over the child's
    height), at most :data:`MAX_SUBSET` in all."""
    cx, cy, _w, ch = boxes[child]
    cx, cy = cx + boxes[child][2] / 2, cy + ch / 2
    scale = max(ch, 1e-6)
    rest = sorted(
        (k for k in range(len(boxes)) if k not in (child, parent)),
        key=lambda k: math.hypot(
            (boxes[k][0] + boxes[k][2] / 2 - cx) / scale, (boxes[k][1] + boxes[k][3] / 2 - cy) / scale
        ),
    )
    return [child, parent, *rest[: MAX_SUBSET - 2]]


@functools.lru_cache(maxsize=4096)
def _edge_log_probs_cached(
    names: tuple[str, ...],
    boxes: tuple[tuple[float, float, float, float], ...],
    pairs: tuple[tuple[int, int], ...],
) -> tuple[tuple[float, ...], ...] | None:
    model, vocab = _model()
    if model is False:
        return None
    import torch

    from whiteboard_app.recognition.mathnote_compat import relation_features

    unk = vocab.get("<unk>", 1)
    n = len(pairs)
    ids = torch.zeros(n, MAX_SUBSET, dtype=torch.long)
    pad = torch.ones(n, MAX_SUBSET, dtype=torch.bool)
    geos, sizes = [], []
    for b, (c, p) in enumerate(pairs):
        sub = _subset(boxes, c, p)
        for i, k in enumerate(sub):
            ids[b, i] = vocab.get(names[k], unk)
        pad[b, : len(sub)] = False
        geo, size = relation_features([list(boxes[k]) for k in sub], MAX_SUBSET)
        geos.append(geo)
        sizes.append(size)
    with torch.no_grad():
        out = model.forward(ids, torch.stack(geos), pad, torch.stack(sizes))
        logp = torch.log_softmax(out["edge_type_scores"][:, 0, 1, :], dim=-1)  # child 0, parent 1
    return tuple(tuple(float(v) for v in row) for row in logp.tolist())


def edge_log_probs(
    names: Sequence[str],
    boxes: Sequence[tuple[float, float, float, float]],
    pairs: Sequence[tuple[int, int]],
) -> list[tuple[float, ...]] | None:
    """Per (child, parent) pair of indices into ``names``/``boxes``: the relation model's log-probabilities
    (natural log) of the 8 relation types of the child to that parent (index :data:`EDGE_SUP`,
    :data:`EDGE_SUB`, ...), given the symbols' class names (mathnote-ocr's vocabulary: ``"x"``, ``"X_cap"``,
    ``"2"``; unknown names are read as ``<unk>``) and their boxes (x, y, w, h; any unit, y downwards).
    None when the model cannot be loaded; an empty list for no pairs. Raises ValueError for an index out
    of range or a pair of one symbol with itself. Cached (4,096 calls)."""
    if len(names) != len(boxes):
        raise ValueError(f"{len(names)} names for {len(boxes)} boxes")
    for c, p in pairs:
        if not (0 <= c < len(boxes) and 0 <= p < len(boxes)) or c == p:
            raise ValueError(f"bad (child, parent) pair {(c, p)} for {len(boxes)} symbols")
    if not pairs:
        return []
    got = _edge_log_probs_cached(
        tuple(names),
        tuple(tuple(round(float(v), 3) for v in b) for b in boxes),
        tuple((int(c), int(p)) for c, p in pairs),
    )
    return None if got is None else list(got)


def relation_llr(relation_ink: RelationInk | tuple[()]) -> float | None:
    """The form's script evidence: the least, over its script edges, of ``log p(the form's relation) -
    log p(the swapped relation)`` (superscript <-> subscript) under the relation model
    (:func:`edge_log_probs`), in nats; positive: the ink favours the form's relations. None for a form
    without script edges (``relation_ink`` empty, as :func:`script_edges` gives it) or when the model
    cannot be loaded."""
    if not relation_ink:
        return None
    names, boxes, edges = relation_ink
    logp = edge_log_probs(names, boxes, [(c, p) for c, p, _e in edges])
    if not logp:
        return None
    return min(lp[e] - lp[SWAPPED[e]] for lp, (_c, _p, e) in zip(logp, edges, strict=True))
