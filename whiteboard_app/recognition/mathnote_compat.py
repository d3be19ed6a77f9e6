"""The one module that reaches into mathnote-ocr: every import of ``mathnote_ocr`` in whiteboard_app is here.

mathnote-ocr (https://pypi.org/project/mathnote-ocr/) has one public entry point, ``mathnote_ocr.api.MathOCR``;
the bundled recogniser (recognition/trained.py), its training (recognition/training/) and the card-context
verifier's typesetting (recognition/typeset.py) also use its internals: private names, module layouts,
object attributes, and two run-time patches of its stroke grouping. They are all listed below, so that an
upgrade of mathnote-ocr means reading this one file. Tested with mathnote-ocr :data:`TESTED_VERSION`;
another installed version gives a :class:`MathnoteVersionWarning` naming both versions, on first use
(:func:`check_version`), and an internal that moved or vanished raises :class:`MathnoteIncompatible`
(an ImportError) naming the internal and both versions.

The internals used (module: names; "private" = an underscore name):

* ``api``: ``MathOCR`` (public), ``_autocanvas`` (private: the canvas size mathnote-ocr reads strokes at);
  a ``MathOCR``'s attributes ``classifier``, ``grouper_params`` (``.stroke_model``), ``vocabulary``,
  ``tree_parser``, ``relations``.
* ``engine.stroke``: ``Stroke.from_points``, ``StrokePoint``, ``compute_bbox``; ``expression``:
  ``DetectedSymbol`` (new symbols of recognition/regroup.py's changed groups).
* ``engine.renderer``: ``render_strokes``.
* ``engine.grouper``: ``GrouperCache``, ``Partition``, ``DetectedSymbol`` (via its results),
  ``group_and_classify``, ``classify_groups``, ``_size_feat`` (private), and two patched module globals:
  ``_DEFAULTS`` (private: its class-name renames, switched off for this project's engine,
  :func:`install_engine_patches`) and ``_find_partitions_exact`` (private: its exact partition search,
  given this project's ``keep`` / best-of search for the engine's calls, :func:`best_partition`).
* ``seeding``: ``seeded``.
* ``classifier.inference``: ``SymbolClassifier`` (``classify_batch``, ``label_names``, ``canvas_size``,
  ``use_size_feat``); ``classifier.model``: ``build_model``; ``engine.checkpoint``: ``load_checkpoint``.
* ``grouper_gnn``: ``strokes.StrokeGrouperModel`` (its ``_stroke_vectors``, private; ``joined``,
  ``at_training_scale``, ``default_scale``, ``writing_height``, ``class_sizes``, ``t_grouping``),
  ``model.StrokeGNN``, ``features.compute_features_v2``.
* ``tree_parser``: ``tree_latex._sym_to_latex`` (private: class name -> LaTeX); ``inference.BARS``,
  ``MIN_BAR_ALTERNATIVE``, ``MAX_BAR_CHOICES``; ``bottomup_v2._verify_score_subset`` and
  ``_verify_score_gnn`` (private); a parser's ``_parse_labelled``, ``_make_symbols``, ``_run_subsets``,
  ``_make_subsets`` (private), ``parse_with_tree``, ``tree_strategy``, ``tta_runs``, ``gnn_model``,
  ``symbol_vocab``, ``device`` (:func:`bar_labelling`); ``tree_v2.Edge`` (the relation kinds of a parsed
  tree's nodes, :func:`fraction_edges`) and a parsed tree's ``nodes`` (id -> node: ``symbol.name``,
  ``parent_id``, ``edge_type``).
* ``latex_utils.glyphs``: ``CHAR_TO_SYMBOL``, ``_SVG_NS`` (private), ``_extract_glyphs`` (private: the
  typeset glyphs of LaTeX, for the relation model's training examples).
* The relation model (recognition/structure.py, training/structure.py): ``tree_parser.subset_model``:
  ``load_subset_model``; ``tree_parser.gen_data``: ``latex_to_tree_labels``, ``_fix_upper_lower``
  (private); ``tree_parser.subset_dataset``: ``TreeSubsetDataset``; ``tree_parser.subset_loss``:
  ``compute_loss``; ``pipeline_config``: ``get``, ``load_config``; a parser's ``subset_model`` and
  ``symbol_vocab`` (replaced by :func:`whiteboard_app.recognition.structure.install_relation_model`).
* The relation evidence refiner (the same two files): ``tree_parser.gnn.model``: ``EvidenceGNN``;
  ``tree_parser.gnn.dataset``: ``_compute_evidence_for_example`` (private), ``collate_fn``;
  ``tree_parser.subset_selection``: ``make_spatial_subsets``; ``tree_parser.geometry``: ``writing_scale``;
  ``latex_utils.collapse``: ``random_collapse``; a relation model's ``inputs``, ``forward``, ``encoding``;
  ``tree_parser.gnn.train``: ``compute_loss``; ``pipeline_config`` ``tree_parser.gnn_run``; a parser's
  ``gnn_model`` (replaced by ``install_relation_model``).
* The relation model as script-level evidence (recognition/relation_evidence.py):
  ``latex_utils.relations``: ``compute_features_from_bbox_list`` (:func:`relation_features`).

No module-level import of mathnote_ocr: each function imports what it needs (the app starts without it).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

#: The mathnote-ocr version every internal above was read from (and the tests ran with).
TESTED_VERSION = "0.2.1"
DISTRIBUTION = "mathnote-ocr"


class MathnoteVersionWarning(UserWarning):
    """The installed mathnote-ocr is not the version this module was written against."""


class MathnoteIncompatible(ImportError):
    """An internal of mathnote-ocr this project uses is missing from the installed version."""


def installed_version() -> str | None:
    """The installed mathnote-ocr's version string, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


_checked: dict[str, str | None] = {}


def check_version(*, strict: bool = False) -> str | None:
    """Compare the installed mathnote-ocr with :data:`TESTED_VERSION`; returns the installed version (None
    when not installed). A different version warns once per process (:class:`MathnoteVersionWarning`,
    naming both versions and this file), or with ``strict`` raises :class:`MathnoteIncompatible`."""
    if "v" not in _checked:
        _checked["v"] = installed_version()
        v = _checked["v"]
        if v is not None and v != TESTED_VERSION and not strict:
            warnings.warn(_version_message(v), MathnoteVersionWarning, stacklevel=2)
    v = _checked["v"]
    if strict and v is not None and v != TESTED_VERSION:
        raise MathnoteIncompatible(_version_message(v))
    return v


def _version_message(v: str | None) -> str:
    return (
        f"mathnote-ocr {v} is installed; whiteboard_app was tested with mathnote-ocr {TESTED_VERSION} "
        f"and uses its internals (listed in {__name__.replace('.', '/')}.py): pin "
        f"mathnote-ocr=={TESTED_VERSION} or check that file against the new version"
    )


def import_mathnote():
    """``mathnote_ocr.api``, imported without torchvision the first time (:func:`_first_import`)."""
    _first_import()
    return importlib.import_module("mathnote_ocr.api")


def _first_import() -> None:
    """mathnote-ocr imported without torchvision (recognition/fastload.py: torchvision pulled in
    ``torch._dynamo``, seconds of the recogniser's start; issue 16), once, before anything else of it."""
    import sys

    if "mathnote_ocr.api" in sys.modules:
        return
    from whiteboard_app.recognition.fastload import without_torchvision

    with without_torchvision():
        importlib.import_module("mathnote_ocr.api")


def _internal(module: str, name: str) -> Any:
    """``mathnote_ocr.<module>.<name>``; raises MathnoteIncompatible naming it when it moved or vanished."""
    check_version()
    try:
        _first_import()
        mod = importlib.import_module(f"mathnote_ocr.{module}")
        return getattr(mod, name)
    except (ImportError, AttributeError) as exc:
        if isinstance(exc, ImportError) and exc.name in ("mathnote_ocr", "torch"):
            raise  # not installed: the callers say so in their own words
        raise MathnoteIncompatible(
            f"mathnote_ocr.{module}.{name} is missing ({type(exc).__name__}: {exc}); "
            + _version_message(_checked.get("v"))
        ) from exc


def _module(module: str):
    check_version()
    try:
        _first_import()
        return importlib.import_module(f"mathnote_ocr.{module}")
    except ImportError as exc:
        if exc.name in ("mathnote_ocr", "torch"):
            raise
        raise MathnoteIncompatible(
            f"mathnote_ocr.{module} is missing ({exc}); " + _version_message(_checked.get("v"))
        ) from exc


# ── the public entry point and the models ────────────────────────────────────────────────
def new_ocr():
    """A ``mathnote_ocr.api.MathOCR()`` with its bundled weights (loads torch models: seconds)."""
    return _internal("api", "MathOCR")()


def symbol_classifier(run: str, device=None):
    """``SymbolClassifier(run=run, device=device or cpu)``: a classifier checkpoint path or bundled run name."""
    import torch

    cls = _internal("classifier.inference", "SymbolClassifier")
    return cls(run=run, device=device if device is not None else torch.device("cpu"))


def build_model(arch: str, n_classes: int, canvas_size: int, use_size_feat: bool):
    """mathnote-ocr's classifier network (``classifier.model.build_model``)."""
    return _internal("classifier.model", "build_model")(arch, n_classes, canvas_size, use_size_feat)


def load_checkpoint(kind: str, run: str, device=None) -> dict:
    """mathnote-ocr's checkpoint loader (``engine.checkpoint.load_checkpoint``): a dict."""
    import torch

    return _internal("engine.checkpoint", "load_checkpoint")(
        kind, run, device=device if device is not None else torch.device("cpu")
    )


def stroke_grouper_model(net, vectors, source_size: float, name: str, labels: list[str], **kw):
    """``grouper_gnn.strokes.StrokeGrouperModel(net, vectors, source_size, name, labels, **kw)``."""
    return _internal("grouper_gnn.strokes", "StrokeGrouperModel")(
        net, vectors, source_size, name, labels, **kw
    )


def joined_groups(edge_scores, strokes: set[int]):
    """``StrokeGrouperModel.joined``: the stroke groups a pair-score matrix joins."""
    return _internal("grouper_gnn.strokes", "StrokeGrouperModel").joined(edge_scores, strokes)


def stroke_gnn(**kw):
    """``grouper_gnn.model.StrokeGNN(**kw)``, the stroke grouper's network."""
    return _internal("grouper_gnn.model", "StrokeGNN")(**kw)


def compute_features_v2(strokes: list[list[dict]]):
    """``grouper_gnn.features.compute_features_v2``: (node, edge) features of point dicts {"x", "y"}."""
    return _internal("grouper_gnn.features", "compute_features_v2")(strokes)


def stroke_vectors(reader, strokes):
    """A ``StrokeGrouperModel``'s 256-d shape vector of each stroke (its private ``_stroke_vectors``)."""
    return reader._stroke_vectors(strokes)


# ── strokes and drawing ──────────────────────────────────────────────────────────────────
def to_strokes(points: Sequence[Sequence[tuple[float, float]]]) -> list:
    """mathnote-ocr ``Stroke`` objects (ids = positions) from lists of (x, y) px (empty lists skipped
    only by the caller: an empty stroke is kept)."""
    stroke = _internal("engine.stroke", "Stroke")
    point = _internal("engine.stroke", "StrokePoint")
    return [stroke.from_points([point(x, y) for x, y in s], id=i) for i, s in enumerate(points)]


def render_strokes(strokes, canvas_size: int, source_size: float):
    """``engine.renderer.render_strokes``: the strokes drawn as the classifier reads them (S x S image)."""
    return _internal("engine.renderer", "render_strokes")(
        strokes, canvas_size=canvas_size, source_size=source_size
    )


def size_feat(strokes, source_size: float) -> float:
    """The classifier's relative-size input of a stroke group (``engine.grouper._size_feat``, private)."""
    return _internal("engine.grouper", "_size_feat")(strokes, source_size)


def autocanvas(strokes, default: int = 800) -> float:
    """The canvas size mathnote-ocr reads these strokes at (``api._autocanvas``, private)."""
    return _internal("api", "_autocanvas")(strokes, default)


# ── grouping ─────────────────────────────────────────────────────────────────────────────
def grouper_cache():
    """An empty ``engine.grouper.GrouperCache`` (classification results by stroke set)."""
    return _internal("engine.grouper", "GrouperCache")()


def partition(symbols: list, prob: float | None):
    """``engine.grouper.Partition(symbols, prob=prob)``: one reading's symbols and probability."""
    return _internal("engine.grouper", "Partition")(symbols, prob=prob)


def detected_symbol(
    strokes: list, name: str, confidence: float, alternatives: list, prototype_distance: float = 0.0
):
    """A new ``expression.DetectedSymbol`` of *strokes* (mathnote-ocr ``Stroke`` objects; its box is
    theirs, ``engine.stroke.compute_bbox``) read as *name* (recognition/regroup.py's changed groups)."""
    box = _internal("engine.stroke", "compute_bbox")(strokes)
    return _internal("expression", "DetectedSymbol")(
        name=name,
        bbox=box,
        strokes=list(strokes),
        confidence=float(confidence),
        prototype_distance=float(prototype_distance),
        alternatives=list(alternatives),
    )


def group_and_classify(strokes, classifier, **kw) -> list:
    """``engine.grouper.group_and_classify`` (keyword options as there): the top partitions."""
    return _internal("engine.grouper", "group_and_classify")(strokes, classifier, **kw)


def classify_groups(strokes, groups, classifier, **kw) -> None:
    """``engine.grouper.classify_groups``: classify the stroke sets *groups* into ``kw["cache"]``."""
    _internal("engine.grouper", "classify_groups")(strokes, groups, classifier, **kw)


def seeded(seed: int):
    """``seeding.seeded(seed)``: a context in which mathnote-ocr's random choices are fixed."""
    return _internal("seeding", "seeded")(seed)


# ── names and glyphs ─────────────────────────────────────────────────────────────────────
def sym_to_latex(name: str) -> str:
    """mathnote-ocr's LaTeX of a class name (``tree_parser.tree_latex._sym_to_latex``, private)."""
    return _internal("tree_parser.tree_latex", "_sym_to_latex")(name)


def char_to_symbol() -> dict[int, str]:
    """``latex_utils.glyphs.CHAR_TO_SYMBOL``: code point -> class name of the glyphs mathnote-ocr knows."""
    return _internal("latex_utils.glyphs", "CHAR_TO_SYMBOL")


def svg_ns() -> str:
    """The SVG namespace mathnote-ocr's glyph helper reads ziamath's output in (``_SVG_NS``, private)."""
    return _internal("latex_utils.glyphs", "_SVG_NS")


# ── the layout parser's bar labellings ───────────────────────────────────────────────────
class BarLabelling:
    """What :meth:`TrainedRecognizer._parse` needs of mathnote-ocr's backtracking tree parser to compare
    the labellings of uncertain bars (fraction bar or minus) itself: ``bars`` (the two class names),
    ``min_alternative`` (an alternative's least probability to be tried), ``max_choices`` (bars tried),
    :meth:`parse` (one labelling: (latex, confidence, tree, evidence)) and :meth:`score` (the parser's
    verification score of a parsed tree, natural log)."""

    def __init__(self, parser) -> None:
        inference = _module("tree_parser.inference")
        self.bars = inference.BARS
        self.min_alternative = inference.MIN_BAR_ALTERNATIVE
        self.max_choices = inference.MAX_BAR_CHOICES
        self._subset = _internal("tree_parser.bottomup_v2", "_verify_score_subset")
        self._gnn = _internal("tree_parser.bottomup_v2", "_verify_score_gnn")
        self.parser = parser
        self._parse_labelled = parser._parse_labelled

    def parse(self, labelled, relations):
        """The parser's ``_parse_labelled(labelled, None, relations)``."""
        return self._parse_labelled(labelled, None, relations)

    def score(self, tree, labelled) -> float:
        """log of the parser's subset score (and its GNN score, when it has a GNN) of *tree*, each at
        least 1e-3, as mathnote-ocr's backtracking strategy compares labellings."""
        import math

        p = self.parser
        v2 = p._make_symbols(labelled)
        score = math.log(max(self._subset(tree, v2, p._run_subsets, p._make_subsets), 1e-3))
        gnn = getattr(p, "gnn_model", None)
        if gnn is not None:
            score += math.log(
                max(self._gnn(tree, v2, gnn, p.symbol_vocab, p.device, p._run_subsets, p._make_subsets), 1e-3)
            )
        return score


def fraction_edges() -> tuple[int, int]:
    """The edge types (``tree_parser.tree_v2.Edge.NUM``, ``.DEN``) of a fraction bar's numerator and
    denominator children in a parsed tree's nodes."""
    edge = _internal("tree_parser.tree_v2", "Edge")
    return int(edge.NUM), int(edge.DEN)


def relations(**kw):
    """``mathnote_ocr.relations.Relations(**kw)``: which relations a reading may have (``exclude``,
    ``forbid``, ``allow``), given to a ``MathOCR``'s ``relations``."""
    return _internal("relations", "Relations")(**kw)


def bar_labelling(parser) -> BarLabelling | None:
    """A :class:`BarLabelling` for *parser*, or None when its strategy is not backtracking or this
    mathnote-ocr lacks the internals (the caller then uses ``parser.parse_with_tree``)."""
    if getattr(parser, "tree_strategy", None) not in ("backtrack", "backtrack_collapse"):
        return None
    try:
        return BarLabelling(parser)
    except (ImportError, AttributeError):
        return None


# ── the engine's run-time patches of the stroke grouping ─────────────────────────────────
_RAW_NAMES: contextvars.ContextVar[bool] = contextvars.ContextVar("whiteboard_raw_names", default=False)
_patch_lock = threading.Lock()


@contextlib.contextmanager
def raw_names() -> Iterator[None]:
    """Within this context (this thread / task), the patched grouping keeps every class name as the
    classifier gives it (no renames) and uses this project's partition search
    (:func:`install_engine_patches`); elsewhere mathnote-ocr behaves as shipped."""
    token = _RAW_NAMES.set(True)
    try:
        yield
    finally:
        _RAW_NAMES.reset(token)


class _RenameTable(dict):
    """mathnote-ocr's rename table (engine.grouper._DEFAULTS) that renames nothing while
    :func:`raw_names` is active in the calling context (this project's engine), and as before otherwise
    (the plain mathnote backend in the same process)."""

    def get(self, key, default=None):
        if _RAW_NAMES.get():
            return default
        return super().get(key, default)


def install_engine_patches() -> None:
    """Install (once per process) the two patches of ``mathnote_ocr.engine.grouper`` the engine reads with:
    the rename switch (:class:`_RenameTable` over ``_DEFAULTS``: mathnote-ocr's forced renames X -> x,
    \\times -> x, \\Sigma -> \\sum are off inside :func:`raw_names`) and the partition search's ``keep``.

    The second: mathnote-ocr's exact partition search (``_find_partitions_exact``) keeps the 40 best
    partial readings per symbol count of every leftover stroke set (``keep``); ranked by the plain
    product of the groups' scores (``geometric_mean=False``, no clash rule: the stroke grouper's calls),
    the ``top_k`` best of each are all the final ``top_k`` can use, so inside :func:`raw_names`
    ``keep = top_k``: the same readings, the same probabilities (the inside / outside sums do not depend
    on ``keep``). Measured: 71 strokes 11.5 s -> 2.0 s, 70 strokes 4.4 s -> 0.18 s, 165 strokes
    1.3 s -> 0.04 s, identical readings (derivation steps 132, 120, 324). With ``top_k`` 1 the search is
    :func:`best_partition` (a plain best-of DP over the same leftover sets, the same reading), unless the
    strokes have no cover. Other callers are not affected."""
    grouper = _module("engine.grouper")
    for name in ("_DEFAULTS", "_find_partitions_exact"):
        if not hasattr(grouper, name):
            raise MathnoteIncompatible(
                f"mathnote_ocr.engine.grouper.{name} is missing; " + _version_message(_checked.get("v"))
            )
    with _patch_lock:
        if not isinstance(grouper._DEFAULTS, _RenameTable):
            grouper._DEFAULTS = _RenameTable(grouper._DEFAULTS)
        if getattr(grouper._find_partitions_exact, "_whiteboard_keep", False):
            return
        original = grouper._find_partitions_exact

        def find_partitions_exact(n, scored_groups, top_k, **kw):
            if (
                _RAW_NAMES.get()
                and kw.get("geometric_mean", True) is False
                and kw.get("clashes", True) is False
                and "keep" not in kw
            ):
                if top_k == 1 and kw.get("order") is not None:
                    found = best_partition(
                        n,
                        scored_groups,
                        order=kw["order"],
                        initial_covered=kw.get("initial_covered", frozenset()),
                        initial_symbols=kw.get("initial_symbols"),
                    )
                    if found is not None:
                        return found
                kw["keep"] = max(1, int(top_k))
            return original(n, scored_groups, top_k, **kw)

        find_partitions_exact._whiteboard_keep = True
        grouper._find_partitions_exact = find_partitions_exact


def best_partition(
    n: int, scored_groups, *, order: Sequence[int], initial_covered=frozenset(), initial_symbols=None
) -> list | None:
    """mathnote-ocr's ``_find_partitions_exact(n, scored_groups, 1, geometric_mean=False, clashes=False,
    order=order, ...)`` for its one best reading, or None when the strokes have no cover (the caller then
    asks mathnote-ocr, which leaves strokes unexplained).

    *scored_groups*: (stroke positions (frozenset of 0..n-1), score > 0, DetectedSymbol); *order*: the
    positions left to right (each leftover set is read from its leftmost stroke, as there). Returns
    ``[(probability, symbols)]``: the symbols of the highest product of scores, in reading order, after
    *initial_symbols*, each with its ``grouping_prob`` (its share of all readings, inside / outside) as
    there; probability = that product / the sum over all readings.

    Why: mathnote-ocr keeps per leftover stroke set the best partial readings of every symbol count
    (a list per count), which for one reading costs 20-40x a plain best-of DP over the same sets: a 60-stroke
    fraction (no gap for the engine's ink chunks) took 12.8 s with keep=1, this 0.6 s (dev.jsonl row 1001)."""
    from dataclasses import replace

    stroke_groups: list[list[int]] = [[] for _ in range(n)]
    for gi, (indices, _c, _s) in enumerate(scored_groups):
        for st in indices:
            stroke_groups[st].append(gi)
    masks = [sum(1 << st for st in g[0]) for g in scored_groups]
    confs = [float(g[1]) for g in scored_groups]
    best: dict[int, tuple[float, int, int] | None] = {0: (1.0, -1, 0)}  # mask -> (p, group, rest) | no cover
    inside: dict[int, float] = {0: 1.0}
    edges: dict[int, list[tuple[int, int]]] = {0: []}

    def solve(mask: int):
        if mask in best:
            return best[mask]
        first = next(i for i in order if mask >> i & 1)
        top = None
        total = 0.0
        ed = []
        for g in stroke_groups[first]:
            m = masks[g]
            if m & mask != m:
                continue
            rest = mask & ~m
            sub = solve(rest)
            total += confs[g] * inside[rest]
            ed.append((g, rest))
            if sub is not None and (top is None or sub[0] * confs[g] > top[0]):
                top = (sub[0] * confs[g], g, rest)
        best[mask], inside[mask], edges[mask] = top, total, ed
        return top

    start = sum(1 << i for i in range(n)) & ~sum(1 << i for i in initial_covered)
    if solve(start) is None:
        return None
    outside = {start: 1.0}
    for mask in sorted(edges, key=lambda m: -m.bit_count()):
        o = outside.get(mask, 0.0)
        if o:
            for g, rest in edges[mask]:
                outside[rest] = outside.get(rest, 0.0) + o * confs[g]
    z = inside[start] or 1.0
    share = [0.0] * len(scored_groups)
    for mask, ed in edges.items():
        o = outside.get(mask, 0.0)
        for g, rest in ed:
            share[g] += o * confs[g] * inside[rest] / z
    gs = []
    mask = start
    while mask:
        _p, g, mask = best[mask]
        gs.append(g)
    syms = [replace(scored_groups[g][2], grouping_prob=round(min(share[g], 1.0), 4)) for g in gs]
    return [(best[start][0] / z, list(initial_symbols or []) + syms)]


# ── the layout parser's relation model (recognition/structure.py, training/structure.py) ──────────────
def load_subset_model(checkpoint: dict, device=None):
    """``tree_parser.subset_model.load_subset_model``: the relation model of a checkpoint dict."""
    import torch

    return _internal("tree_parser.subset_model", "load_subset_model")(
        checkpoint, device=device if device is not None else torch.device("cpu")
    )


def relation_features(bboxes: list[list[float]], max_n: int):
    """``latex_utils.relations.compute_features_from_bbox_list``: the relation model's (encoding v1)
    geometry inputs of one subset of boxes [x, y, w, h]: (geometry buckets (3, max_n, max_n) long, size
    buckets (max_n, 2) long), relative to the subset's median height."""
    return _internal("latex_utils.relations", "compute_features_from_bbox_list")(bboxes, max_n)


def extract_glyphs(latex: str) -> list:
    """``latex_utils.glyphs._extract_glyphs`` (private): typeset glyphs of *latex* (name, bbox)."""
    return _internal("latex_utils.glyphs", "_extract_glyphs")(latex)


def latex_to_tree_labels(latex: str, n_glyphs: int):
    """``tree_parser.gen_data.latex_to_tree_labels``: (parent, edge type, order) labels of the glyphs."""
    return _internal("tree_parser.gen_data", "latex_to_tree_labels")(latex, n_glyphs)


def fix_upper_lower(*args, **kw):
    """``tree_parser.gen_data._fix_upper_lower`` (private), arguments passed through."""
    return _internal("tree_parser.gen_data", "_fix_upper_lower")(*args, **kw)


def tree_subset_dataset():
    """The class ``tree_parser.subset_dataset.TreeSubsetDataset``."""
    return _internal("tree_parser.subset_dataset", "TreeSubsetDataset")


def tree_subset_loss():
    """The function ``tree_parser.subset_loss.compute_loss``."""
    return _internal("tree_parser.subset_loss", "compute_loss")


def relation_model_run(default: str = "mixed_v8") -> str:
    """The relation-model run mathnote-ocr's default pipeline loads (``pipeline_config``)."""
    get = _internal("pipeline_config", "get")
    load_config = _internal("pipeline_config", "load_config")
    return str(get(load_config("default"), "tree_parser.subset_run", default))


# ── the layout parser's evidence refiner (GNN; recognition/structure.py, training/structure.py) ───────
def relation_refiner_run(default: str = "mixed_v10") -> str:
    """The evidence-refiner (GNN) run mathnote-ocr's default pipeline loads (``tree_parser.gnn_run``)."""
    get = _internal("pipeline_config", "get")
    load_config = _internal("pipeline_config", "load_config")
    return str(get(load_config("default"), "tree_parser.gnn_run", default) or default)


def evidence_gnn(config: dict, state_dict: dict | None = None):
    """``tree_parser.gnn.model.EvidenceGNN(**config)`` on the CPU, with *state_dict* loaded when given,
    in eval mode."""
    model = _internal("tree_parser.gnn.model", "EvidenceGNN")(**config)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    model.eval()
    return model


class _ReplayedSubsets:
    """A relation model whose outputs for an expression's subsets were computed in one batch: ``forward``
    hands them out one subset at a time, in order (what ``_compute_evidence_for_example`` asks for)."""

    def __init__(self, model, outputs: dict) -> None:
        self._model = model
        self._outputs = outputs
        self._next = 0
        self.encoding = getattr(model, "encoding", "v1")

    def inputs(self, *args, **kw):
        return self._model.inputs(*args, **kw)

    def forward(self, *_args):
        b = self._next
        self._next += 1
        return {k: v[b : b + 1] for k, v in self._outputs.items()}


def refiner_example(layout: dict, subset_model, symbol_vocab: dict, max_subset: int, augment: bool = False):
    """The refiner's training tensors of one layout example (``{"symbols", "tree"}``) with the evidence of
    *subset_model*: ``tree_parser.gnn.dataset._compute_evidence_for_example`` (private), its subsets
    (``subset_selection.make_spatial_subsets``) run through the model in one batch instead of one by one
    (the same outputs, several times faster). With *augment*, a random subtree is collapsed first
    (``latex_utils.collapse.random_collapse``); None when fewer than 2 symbols remain."""
    import torch

    symbols, tree = layout["symbols"], layout["tree"]
    if augment and len(symbols) > 3:
        symbols, tree = _internal("latex_utils.collapse", "random_collapse")(symbols, tree)
        if len(symbols) < 2:
            return None
    names = [s["name"] for s in symbols]
    bboxes = [s["bbox"] for s in symbols]
    subsets = _internal("tree_parser.subset_selection", "make_spatial_subsets")(bboxes, max_subset=max_subset)
    scale = None
    if getattr(subset_model, "encoding", "v1") != "v1":
        scale = _internal("tree_parser.geometry", "writing_scale")(names, bboxes)
    unk = symbol_vocab.get("<unk>", 1)
    ids = torch.zeros(len(subsets), max_subset, dtype=torch.long)
    pad = torch.ones(len(subsets), max_subset, dtype=torch.bool)
    geos, sizes = [], []
    for b, sub in enumerate(subsets):
        for i, gi in enumerate(sub):
            ids[b, i] = symbol_vocab.get(names[gi], unk)
        pad[b, : len(sub)] = False
        geo, size = subset_model.inputs(names, bboxes, sub, scale=scale, S=max_subset)
        geos.append(geo)
        sizes.append(size)
    outputs = subset_model.forward(ids, torch.stack(geos), pad, torch.stack(sizes)) if subsets else {}
    fn = _internal("tree_parser.gnn.dataset", "_compute_evidence_for_example")
    replay = _ReplayedSubsets(subset_model, outputs)
    return fn(symbols, tree, replay, symbol_vocab, max_subset, torch.device("cpu"), augment=False)


def refiner_collate():
    """The function ``tree_parser.gnn.dataset.collate_fn`` (pads a batch of refiner examples)."""
    return _internal("tree_parser.gnn.dataset", "collate_fn")


def refiner_loss():
    """The function ``tree_parser.gnn.train.compute_loss`` (parent + edge type + sibling loss)."""
    return _internal("tree_parser.gnn.train", "compute_loss")
