"""The bundled default recogniser ("whiteboard"): mathnote-ocr's pipeline with weights trained on real ink.

Architecture (details and numbers in docs/recogniser.md):

1. The step's ink is normalised as in training (:func:`whiteboard_app.recognition.training.data.normalise_strokes`:
   median stroke size 24 px, top-left ink at (40, 40) px).
2. Stroke grouping: mathnote-ocr's ``StrokeGNN`` ("pairs" kind) trained on the ground-truth symbol groups of
   real expressions (``weights/grouper.pth``) gives every stroke pair's log-odds of forming one symbol;
   mathnote-ocr's exact search reads the ``top_k`` most probable partitions.
3. Symbol classification: mathnote-ocr's 3-layer CNN fine-tuned on real handwritten symbols
   (``weights/classifier.pth``), every class kept distinct: mathnote-ocr's forced renames
   (X -> x, \\times -> x, \\Sigma -> \\sum ...) are switched off for this engine
   (:func:`~whiteboard_app.recognition.mathnote_compat.install_engine_patches`).
4. Layout: mathnote-ocr's tree parser turns each partition into LaTeX, its relation model and evidence
   refiner replaced by ones fine-tuned on real layouts (``weights/structure.pth``, ``structure_gnn.pth``;
   recognition/structure.py) and the labels of
   decimal points, x / \\times, digits or letters, round brackets and bars and \\lim decided by their neighbours
   first (recognition/symbol_context.py), and before them every ambiguous label by its line neighbours'
   classes (recognition/label_context.py);
   the candidates are ranked by grouping probability x parse confidence (score = its natural log).

Long steps (:data:`CHUNK_FROM_STROKES` strokes and more) are grouped chunk by chunk (:func:`ink_chunks`:
cuts only through horizontal gaps no stroke spans) and their layout parse compares the uncertain bars'
labellings only within a time budget (:data:`LABEL_SEARCH_BUDGET_MS`), so that they are read within the
app's 3 s limit; the exact partition search keeps only the partial readings its top_k can use, and for one
reading is a plain best-of search (the same readings; :mod:`~whiteboard_app.recognition.mathnote_compat`'s
``install_engine_patches`` and ``best_partition``).
5. Writer adaptation (:meth:`TrainedRecognizer.adapt`): calibration samples become prototypes in the
   classifier's 256-d feature space; a learnt decision gate (``recognition.adaptation.DecisionGate``) reads a
   candidate symbol near a writer prototype as the writer's label or keeps the model's reading (how symbols
   CROHME lacks, such as \\eta or \\partial, are learned). Source of the prototype idea: Snell et al.,
   "Prototypical Networks for Few-shot Learning", 2017.

Every use of mathnote-ocr goes through recognition/mathnote_compat.py (its internals, one file; a version
check). The card-context verifier is the engine's hook (``verifier``), not an import: the app builds the
engine with it (recognition/whiteboard.py).

Heavy imports (torch, mathnote_ocr) happen on first use; constructing the engine is cheap.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from whiteboard_app.ink import StepInk, Stroke
from whiteboard_app.recognition.base import (
    Candidate,
    ContextVerifier,
    RecognitionContext,
    RecognitionError,
    RecognitionResult,
    RecognizerUnavailable,
    SymbolAlternatives,
)
from whiteboard_app.recognition.mathnote_compat import best_partition  # noqa: F401 - re-exported
from whiteboard_app.recognition.vocabulary import (
    function_words,
    latex_to_name,
    name_to_latex,
)

ENGINE_NAME = "whiteboard"
CLASSIFIER_FILE = "classifier.pth"
GROUPER_FILE = "grouper.pth"
# the classifier whose stroke vectors the grouper was trained on, when it is not CLASSIFIER_FILE (the
# classifier was fine-tuned again after the grouper: added classes; docs/recogniser.md)
GROUPER_VECTORS_FILE = "grouper_vectors.pth"
# A further partition is parsed only if at least this share as probable as the best one ...
MIN_SHARE = 0.02
# ... and while the reading so far took less than this (ms); the best partition is always parsed.
EXTRA_PARSE_BUDGET_MS = 600.0

# Long steps. Measured on the 448 composed derivation steps (benchmarks/derivation_steps.py --samples 2 --both, open reading,
# 1 torch thread, 2-core machine): the chunked grouping read the 90 steps of 40+ strokes with 1035 token
# edits instead of 1768 (exact 5 either way; the stroke grouper reads long lines worse than short ones),
# but the 184 steps of 21-39 strokes worse (1047 edits instead of 1014, exact 13 instead of 17): hence 40.
# Chunks of at most 14, 20 or 24 strokes read alike (1035/1035/1032 edits). Real handwriting
# (../shared/handwriting/dev.jsonl, the 36 expressions of 40+ strokes): exact 0 -> 1, token edits
# 914 -> 774, symbols 901 -> 1011 of 1201, median 861 -> 485 ms.
#: Steps with at least this many strokes are grouped in chunks of the ink (:func:`ink_chunks`) ...
CHUNK_FROM_STROKES = 40
#: ... of at most this many strokes each (where the ink allows a cut).
CHUNK_MAX_STROKES = 20
#: The layout parser's bar labellings (fraction bar or minus, :meth:`TrainedRecognizer._parse`) after the
#: first are parsed only while the reading is expected to end before this (ms since the reading began):
#: the app's limit is 3 s, and a card-context reading still fits its forms after this (recognition/context.py).
#: With it the longest composed step (165 strokes) read in 2.5 s instead of 7-13 s; no reading of the 90
#: steps of 40+ strokes changed (the same readings as with an unlimited search).
LABEL_SEARCH_BUDGET_MS = 2200.0


def default_weights_dir() -> Path:
    """The package's bundled weights folder (whiteboard_app/recognition/weights)."""
    return Path(str(resources.files("whiteboard_app.recognition") / "weights"))


def available(weights_dir: str | Path | None = None) -> tuple[bool, str]:
    """(available, reason) without loading the model: torch and mathnote-ocr importable and the weights
    present. The reason is "" when available, else in words."""
    import importlib.util

    for mod in ("torch", "mathnote_ocr"):
        if importlib.util.find_spec(mod) is None:
            return False, f"the '{ENGINE_NAME}' engine needs {mod}, which is not installed"
    clf = (Path(weights_dir) if weights_dir is not None else default_weights_dir()) / CLASSIFIER_FILE
    if not clf.exists():
        return False, f"the '{ENGINE_NAME}' engine has no weights ({clf} is missing)"
    return True, ""


class TrainedRecognizer:
    """The "whiteboard" engine. Implements the :class:`~whiteboard_app.recognition.base.Recognizer` protocol.

    Options: ``weights_dir`` (folder with classifier.pth and grouper.pth; default: the bundled one),
    ``top_k`` (partitions read, = n-best size before de-duplication), ``threads`` (torch threads; 1 is
    the default because these small models run up to 15x slower with 2 threads on a busy 2-core machine).
    ``verifier``: the card-context verifier hook (:class:`~whiteboard_app.recognition.base.ContextVerifier`;
    the app's engine gets recognition/form_match.py's ``CardVerifier`` from
    :func:`whiteboard_app.recognition.whiteboard.create`); without one, ``recognize`` ignores its context.
    Raises :class:`RecognizerUnavailable` on first use when torch/mathnote-ocr or the weights are missing.
    """

    name = ENGINE_NAME

    def __init__(
        self,
        weights_dir: str | Path | None = None,
        top_k: int = 3,
        threads: int = 1,
        verifier: ContextVerifier | None = None,
    ) -> None:
        self.weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        self.top_k = max(1, int(top_k))
        self.threads = threads
        self.verifier = verifier
        self._ocr = None
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()  # detection swaps the classifier: one reading at a time
        self._writer: dict[str, list] = {}  # class name -> list of feature vectors (np arrays, 256)
        self._adaptation = None  # recognition.adaptation.AdaptedClassifier over _writer, built on first use
        self.load_ms: float | None = None

    # ── loading ───────────────────────────────────────────────────────
    def load(self) -> None:
        """Load the model now (otherwise the first reading does). Raises RecognizerUnavailable."""
        self._load()

    def _load(self):
        if self._ocr is not None:
            return self._ocr
        with self._lock:
            if self._ocr is not None:
                return self._ocr
            t0 = time.perf_counter()
            clf = self.weights_dir / CLASSIFIER_FILE
            grp = self.weights_dir / GROUPER_FILE
            if not clf.exists():
                raise RecognizerUnavailable(
                    f"the '{ENGINE_NAME}' engine has no weights: {clf} is missing "
                    "(train them with `whiteboard-app train-recognizer`)"
                )
            from whiteboard_app.recognition import mathnote_compat as mc

            try:
                import torch

                mc.install_engine_patches()
                ocr = mc.new_ocr()
            except mc.MathnoteIncompatible as exc:
                raise RecognizerUnavailable(f"the '{ENGINE_NAME}' engine cannot run: {exc}") from exc
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise RecognizerUnavailable(
                    f"the '{ENGINE_NAME}' engine needs torch and mathnote-ocr, which are not installed ({exc.name})"
                ) from exc
            if self.threads:
                torch.set_num_threads(self.threads)
            ocr.classifier = mc.symbol_classifier(str(clf))
            from whiteboard_app.recognition.class_prior import apply_class_prior

            # issue 14: the per-class logit prior (class_prior.json), when one was fitted for this clf
            apply_class_prior(ocr.classifier, self.weights_dir, clf)
            from whiteboard_app.recognition.structure import install_relation_model

            install_relation_model(ocr.tree_parser, self.weights_dir)  # layout relations of real ink
            ocr.relations = mc.relations(allow=placed_part)  # a part lies over its bar or in its root
            if grp.exists():
                from whiteboard_app.recognition.training.grouper import load_grouper

                ck = torch.load(grp, map_location="cpu", weights_only=False)  # read once (issue 16)
                model = load_grouper(grp, self._grouper_classifier(grp, clf, ck), checkpoint=ck)
                # no second reading at the size the confident symbols suggest: the ink is already
                # normalised to the training size, and it would double the grouping time
                model.class_sizes = {}
                ocr.grouper_params.stroke_model = model
            self._ocr = ocr
            self.load_ms = (time.perf_counter() - t0) * 1000.0
            return ocr

    @staticmethod
    def _grouper_classifier(grp: Path, clf: Path, checkpoint: dict | None = None) -> str | None:
        """The classifier whose stroke vectors the grouper ``grp`` was trained on: None (mathnote's
        bundled one), ``grouper_vectors.pth`` beside it, else ``clf``. ``checkpoint``: ``grp`` already
        loaded (else it is read here)."""
        import torch

        ck = checkpoint if checkpoint is not None else torch.load(grp, map_location="cpu", weights_only=False)
        if ck.get("classifier") != "own":
            return None
        vectors = grp.with_name(GROUPER_VECTORS_FILE)
        return str(vectors if vectors.exists() else clf)

    def warm_up(self) -> None:
        """Load the model and read one small generated step (and classify two of its groups), so that
        the first real step is read at full speed: the first calls of a torch model are several times
        slower than the next ones. Raises like :meth:`recognize`."""
        from whiteboard_app.ink.synth import synthesize

        self._load()
        ink = synthesize(r"\frac{a+1}{b} = x^{2}", seed=0).ink
        result = self.recognize(ink)
        if result.symbols:
            self.classify_groups(ink, [s.stroke_ids for s in result.symbols[:2]])
        if self.verifier is not None:
            self.verifier.warm_up(None)  # the card-context verifier (long steps are verified in this process)

    def prepare(self, context: RecognitionContext | None) -> None:
        """Get ready for steps read with ``context`` (a card just opened): the verifier typesets the
        context's forms in a background thread (:meth:`ContextVerifier.warm_in_background`), so that the
        first long step is verified and no step is read beside that work. Returns at once; no verifier
        or no context: nothing to do."""
        if self.verifier is not None and context is not None and context.expected:
            if not self.verifier.is_warm(context):
                self.verifier.warm_in_background(context)

    # ── writer adaptation ────────────────────────────────────────────
    def adapt(self, samples: Sequence[tuple[str, Sequence[Stroke]]]) -> int:
        """Add writer samples: each sample is (label in LaTeX, the strokes of one symbol drawn alone).

        Any label is accepted, including symbols the classifier has no class for (``\\eta``, ``\\hat``,
        ``\\mathbb{R}``); from then on a symbol whose features lie near the writer's prototype of a label
        is read with that label when the decision gate (``recognition.adaptation.DecisionGate``) prefers
        it to the model's reading. Returns the number of samples added. Raises RecognitionError for a
        sample without ink.
        """
        feats, names = self.sample_features(samples)
        for name, f in zip(names, feats, strict=True):
            self._writer.setdefault(name, []).append(f)
        self._adaptation = None
        return len(names)

    def set_adaptation(self, samples: Sequence[tuple[str, Sequence[Stroke]]]) -> int:
        """Replace the writer adaptation by exactly these samples (the calibration screen's live preview
        and its Done: idempotent, unlike :meth:`adapt`). Returns the number of samples; raises like adapt."""
        feats, names = self.sample_features(samples)
        writer: dict[str, list] = {}
        for name, f in zip(names, feats, strict=True):
            writer.setdefault(name, []).append(f)
        self._writer = writer
        self._adaptation = None
        return len(names)

    def sample_features(self, samples: Sequence[tuple[str, Sequence[Stroke]]]) -> tuple[object, list[str]]:
        """(features (N, 256) numpy array, class names (N,)) of calibration samples drawn alone; a label
        the classifier has a class for becomes that class's name. Raises RecognitionError for bad samples."""
        from whiteboard_app.recognition.adaptation import sample_features

        ocr = self._load()
        try:
            feats, labels = sample_features(ocr.classifier, list(samples))
        except ValueError as exc:
            raise RecognitionError(str(exc)) from exc
        names = []
        for label in labels:
            name = latex_to_name(label)
            names.append(name if name in ocr.classifier.label_names else label)
        return feats, names

    def clear_adaptation(self) -> None:
        """Forget every writer prototype."""
        self._writer = {}
        self._adaptation = None

    @property
    def adapted_labels(self) -> list[str]:
        """LaTeX of the labels that have writer prototypes."""
        return sorted(name_to_latex(n) for n in self._writer)

    def _adapted_classifier(self, ocr):
        """The classifier read through the writer's adaptation (recognition/adaptation.py), or itself."""
        if not self._writer:
            return ocr.classifier
        if self._adaptation is None:
            import numpy as np

            from whiteboard_app.recognition.adaptation import (
                AdaptedClassifier,
                WriterAdaptation,
                classifier_head,
            )

            labels = [n for n, fs in self._writer.items() for _ in fs]
            feats = np.stack([f for fs in self._writer.values() for f in fs])
            try:
                head = classifier_head(ocr.classifier)
                adapted = AdaptedClassifier(ocr.classifier, WriterAdaptation.fit(feats, labels, head))
            except ValueError:  # a classifier without prototypes (or of another width) cannot adapt
                self._writer = {}
                return ocr.classifier
            self._adaptation = adapted
        return self._adaptation

    # ── reading ───────────────────────────────────────────────────────
    def recognize(self, ink: StepInk, context: RecognitionContext | None = None) -> RecognitionResult:
        """Read one step's ink: n-best candidates (best first, score = log of grouping x parse
        confidence) and per-symbol alternatives of the best reading (stroke ids are the ink's).
        With a *context* whose forms are typeset (:func:`~whiteboard_app.recognition.form_match.warm_up`;
        otherwise that starts in the background) and at least :data:`VERIFY_FIRST_STROKES` strokes, the
        best grouping is first
        fitted to the card's forms (recognition/form_match.py, the same rule as the context prior); a
        form the ink supports is returned as the reading (``result.verified``) without the layout parse,
        which costs most on long steps. Otherwise the context is not used here (re-ranking is
        recognition/context.py's job). Empty ink gives a result with no candidates. Raises
        RecognitionError if the engine fails."""
        t0 = time.perf_counter()
        strokes = [s for s in ink.strokes if s.points]
        if not strokes:
            return RecognitionResult((), (), 0.0, ENGINE_NAME, "no ink")
        ocr = self._load()
        from whiteboard_app.recognition import mathnote_compat as mc
        from whiteboard_app.recognition.training.data import normalise_strokes

        norm = normalise_strokes([[(p.x, p.y) for p in s.points] for s in strokes])
        mstrokes = mc.to_strokes(norm)
        ids = [s.id for s in strokes]
        verify = None
        warm = False
        verifier = self.verifier
        if verifier is not None and context is not None and context.expected:
            warm = verifier.is_warm(context)
            if not warm:  # typesetting the card's forms takes seconds: not inside this step
                verifier.warm_in_background(context)
        fitted: dict = {}  # the verifier's fits, by the symbols they were made for (RecognitionResult.fits)
        if warm and len(strokes) >= VERIFY_FIRST_STROKES:

            def verify(detected):
                try:
                    syms = _symbol_alternatives(detected, ids)
                    classify = lambda ink_, groups: self._classify(ocr, ink_, groups)  # noqa: E731
                    with_fits = getattr(verifier, "verify_fits", None)
                    if not callable(with_fits):
                        return verifier.verify(ink, syms, context, classify)
                    form, fits = with_fits(ink, syms, context, classify)
                    fitted[tuple(syms)] = tuple(fits)
                    return form
                except Exception:  # noqa: BLE001 - the verifier is optional: parse as without context
                    return None

        with self._read_lock:
            readings, verified = self._detect(ocr, mstrokes, verify)
        if verified is not None:
            ms = (time.perf_counter() - t0) * 1000.0
            return RecognitionResult(
                (Candidate(verified.latex, math.log(max(readings[0][1], 1e-12))),),
                tuple(_symbol_alternatives(readings[0][2], ids)),
                ms,
                ENGINE_NAME,
                None,
                verified.latex,
            )
        cands: list[Candidate] = []
        seen = set()
        for latex, conf, _syms in readings:
            latex = latex.strip()
            if not latex or latex in seen:
                continue
            seen.add(latex)
            cands.append(Candidate(latex, math.log(max(conf, 1e-12))))
        symbols = _symbol_alternatives(readings[0][2], ids) if readings else []
        ms = (time.perf_counter() - t0) * 1000.0
        return RecognitionResult(
            tuple(cands),
            tuple(symbols),
            ms,
            ENGINE_NAME,
            None if cands else "nothing read",
            fits=fitted.get(tuple(symbols)),  # the fits of these symbols, when the verifier made them
        )

    def classify_groups(
        self, ink: StepInk, groups: Sequence[Sequence[int]]
    ) -> list[tuple[tuple[str, float], ...]]:
        """The classifier's labels for given stroke groups of *ink* (the card-context verifier's forced
        grouping, recognition/form_match.py): for each group of stroke ids, (label LaTeX, probability)
        pairs, best first (up to 5). The ink is normalised as for :meth:`recognize`, so sizes are
        comparable. Unknown stroke ids are ignored; an empty group gets ``()``. Raises RecognitionError
        if the engine fails."""
        ocr = self._load()
        with self._read_lock:
            return self._classify(ocr, ink, groups)

    def _classify(
        self, ocr, ink: StepInk, groups: Sequence[Sequence[int]]
    ) -> list[tuple[tuple[str, float], ...]]:
        """:meth:`classify_groups` for a caller that holds the reading lock."""
        strokes = [s for s in ink.strokes if s.points]
        if not strokes or not groups:
            return [() for _ in groups]
        from whiteboard_app.recognition import mathnote_compat as mc
        from whiteboard_app.recognition.training.data import normalise_strokes

        norm = normalise_strokes([[(p.x, p.y) for p in s.points] for s in strokes])
        mstrokes = mc.to_strokes(norm)
        pos = {s.id: i for i, s in enumerate(strokes)}
        sets = [frozenset(pos[i] for i in g if i in pos) for g in groups]
        todo = [g for g in {g for g in sets if g}]
        cache = mc.grouper_cache()
        try:
            with mc.raw_names():
                mc.classify_groups(
                    mstrokes,
                    todo,
                    self._adapted_classifier(ocr),
                    cache=cache,
                    source_size=mc.autocanvas(mstrokes, 800),
                )
        except Exception as exc:  # the engine's own failures
            raise RecognitionError(f"{ENGINE_NAME} engine failed: {type(exc).__name__}: {exc}") from exc
        out = []
        for g in sets:
            r = cache.get(g) if g else None
            if r is None:
                out.append(())
                continue
            labels = [(name_to_latex(r.symbol), float(r.confidence))]
            for n, c in r.alternatives or []:
                if n is not None and n != r.symbol and len(labels) < 5:
                    labels.append((name_to_latex(n), float(c)))
            out.append(tuple(labels))
        return out

    def partitions_for(self, n_strokes: int) -> int:
        """Partitions read (each costs one layout parse): ``top_k`` up to 12 strokes, at most 2 up to
        24 strokes, 1 beyond (keeps long steps inside the time limit)."""
        if n_strokes <= 12:
            return self.top_k
        return min(self.top_k, 2) if n_strokes <= 24 else 1

    def _detect(self, ocr, mstrokes, verify=None) -> tuple[list[tuple[str, float, list]], object]:
        """(readings, verified form or None). Readings as (latex, confidence, symbols), best first:
        mathnote-ocr's grouping (top partitions) then its layout parser on each, like ``MathOCR._read``
        but parsing a further partition only while it is at least :data:`MIN_SHARE` as probable as the
        best and the reading is under :data:`EXTRA_PARSE_BUDGET_MS` (each parse is the costly part).
        ``verify(symbols)``, when given, is asked first about the best partition's symbols; a form it
        returns ends the reading there: readings then hold that partition only (latex "")."""
        from whiteboard_app.recognition import mathnote_compat as mc
        from whiteboard_app.recognition.label_context import relabel
        from whiteboard_app.recognition.regroup import engine_regroup
        from whiteboard_app.recognition.symbol_context import in_context, rewrite_reading

        t0 = time.perf_counter()
        try:
            with mc.raw_names(), mc.seeded(0):
                classifier = self._adapted_classifier(ocr)
                if len(mstrokes) >= CHUNK_FROM_STROKES and ocr.grouper_params.stroke_model is not None:
                    partitions = self._group_chunked(ocr, classifier, mstrokes)
                else:
                    partitions = mc.group_and_classify(
                        mstrokes,
                        classifier,
                        params=ocr.grouper_params,
                        cache=mc.grouper_cache(),
                        source_size=mc.autocanvas(mstrokes, 800),
                        top_k=self.partitions_for(len(mstrokes)),
                        vocabulary=ocr.vocabulary,
                    )
                # ‖ and accents get their own groups where the classifier reads them so (regroup.py)
                partitions = engine_regroup(ocr, classifier, mstrokes, partitions)
                partitions = [  # function names spelt out, then labels decided by neighbours (label_context.py,
                    # symbol_context.py)
                    mc.partition(in_context(relabel(spell_functions(list(p)))), prob=getattr(p, "prob", None))
                    for p in partitions
                    if p
                ]
                if not partitions:
                    return [], None
                if verify is not None:
                    best = max(partitions, key=lambda p: getattr(p, "prob", None) or 0.0)
                    detected = sorted(best, key=lambda s: s.bbox.x)
                    form = verify(detected)
                    if form is not None:
                        return [("", getattr(best, "prob", None) or 1.0, detected)], form
                best_prob = max((getattr(p, "prob", None) or 0.0) for p in partitions)
                out = []
                for k, part in enumerate(partitions):
                    prob = getattr(part, "prob", None)
                    if k > 0 and (
                        (prob is not None and prob < MIN_SHARE * best_prob)
                        or (time.perf_counter() - t0) * 1000 > EXTRA_PARSE_BUDGET_MS
                    ):
                        break
                    detected = sorted(part, key=lambda s: s.bbox.x)
                    # a caret, tilde or bar above one symbol is parsed as that symbol's accent (accents.py);
                    # a root's index is left out of the parse and written in after it (root_index.py)
                    latex, parse_conf = self._parse_with_root_indices(ocr, detected, t0)
                    conf = (prob if prob is not None else 1.0) * float(parse_conf)
                    # scripts the layout left on the line, commas read as brackets: symbol_context.py
                    out.append((rewrite_reading(function_words(latex or "")), conf, detected))
        except RecognitionError:
            raise
        except Exception as exc:  # the engine's own failures become "could not read"
            raise RecognitionError(f"{ENGINE_NAME} engine failed: {type(exc).__name__}: {exc}") from exc
        out.sort(key=lambda r: -r[1])
        return out, None

    @staticmethod
    def _group_chunked(ocr, classifier, mstrokes) -> list:
        """The grouping of a long step (:data:`CHUNK_FROM_STROKES` strokes or more): mathnote-ocr's
        ``group_and_classify`` on each chunk of :func:`ink_chunks`, every chunk at the whole line's writing
        size (the stroke grouper's ``default_scale`` of all strokes, as the whole line would be read) and
        the whole line's canvas size; its best partition per chunk, concatenated (probability: their
        product). One partition in a list (a long step is read with one partition anyway,
        :meth:`partitions_for`).

        Why: the stroke grouper's exact search and the geometric candidate enumeration grow faster than
        the line (fractions and scripts multiply the leftover stroke sets): on the 36 composed
        derivation steps of 57-165 strokes it took 0.2-15 s of the 3 s limit. Chunks of at most
        :data:`CHUNK_MAX_STROKES` keep it near linear."""
        from whiteboard_app.recognition import mathnote_compat as mc

        params = ocr.grouper_params
        scale = params.stroke_model.default_scale(mstrokes)
        source_size = mc.autocanvas(mstrokes, 800)
        cache = mc.grouper_cache()
        symbols: list = []
        prob = 1.0
        for chunk in ink_chunks([(s.bbox.x, s.bbox.x + s.bbox.w) for s in mstrokes]):
            parts = mc.group_and_classify(
                [mstrokes[i] for i in chunk],
                classifier,
                params=params,
                cache=cache,
                source_size=source_size,
                top_k=1,
                vocabulary=ocr.vocabulary,
                scale=scale,
            )
            best = parts[0] if parts else []
            symbols.extend(best)
            p = getattr(best, "prob", None)
            prob *= p if p is not None else 1.0
        return [mc.partition(symbols, prob=prob)] if symbols else []

    @classmethod
    def _parse_with_root_indices(cls, ocr, detected, t0: float) -> tuple[str, float]:
        """:meth:`_parse` of one partition's symbols (sorted by x, accents merged first), the indices
        of its roots (recognition/root_index.py) left out of the layout parse and written into its
        LaTeX; the symbols are parsed with their indices, as before, when the indices cannot be
        written in (roots with different indices, or the parse lost a root)."""
        from whiteboard_app.recognition.accents import merge_accents
        from whiteboard_app.recognition.root_index import insert_root_indices, split_root_indices

        rest, per_root = split_root_indices(detected)
        if per_root:
            idx = [" ".join(name_to_latex(s.name) for s in syms) for syms in per_root]
            if len(set(i for i in idx if i)) == 1 and (len(idx) == 1 or all(idx)):
                latex, conf = cls._parse(ocr, merge_accents(rest), t0)
                with_index = insert_root_indices(latex or "", idx)
                if with_index is not None:
                    return with_index, conf
        return cls._parse(ocr, merge_accents(detected), t0)

    @staticmethod
    def _parse(ocr, detected, t0: float) -> tuple[str, float]:
        """(latex, parse confidence) of one partition's symbols (sorted by x): mathnote-ocr's
        ``TreeParser.parse_with_tree``, whose backtracking strategy reads every labelling of the uncertain
        bars (fraction bar or minus, up to ``MAX_BAR_CHOICES`` of them: up to 8 parses) and re-parses the
        winner. Here the same search, except that (1) the winner's parse is reused (the parser reads
        each labelling once, without jitter, when its ``tta_runs`` is 1, as the bundled one's is: the
        re-parse gave the same tree), and (2) the labellings are parsed most probable first (the
        classifier's) and a further one only while the reading is expected to end within
        :data:`LABEL_SEARCH_BUDGET_MS` of *t0* (``time.perf_counter()`` at the reading's start; the
        estimate: the labellings' measured cost so far). A parse costs ~0.5 s at 50 symbols and ~1.2 s
        at 150 (1 torch thread), a labelling's scoring another 0.3-0.6 parses: a 67-stroke step with 2
        uncertain bars took 3.6 s to parse, a 165-stroke one 7 s. Short steps parse all labellings as
        before. Falls back to ``parse_with_tree`` for other strategies or parser versions (the refined
        Edmonds search of recognition/structure.py); there, the fraction bars the tree left without a
        numerator or a denominator (:func:`bars_without_both_parts`) are read as minus signs in one
        more parse."""
        import itertools
        from dataclasses import replace

        parser = ocr.tree_parser
        relations = ocr.relations
        from whiteboard_app.recognition.mathnote_compat import bar_labelling

        search = bar_labelling(parser)
        if search is None or len(detected) <= 1:
            latex, conf, tree, _ev = parser.parse_with_tree(detected, None, relations=relations)
            syms = detected
            halves = bars_without_both_parts(tree)
            if halves and len(detected) > 1:  # a fraction bar with nothing above or below: a minus
                syms = list(detected)
                for i in halves:
                    syms[i] = replace(detected[i], name="-")
                latex, conf = _parse_as_labelled(parser, syms, relations)
            if relations and ROOT_WITHOUT_CONTENT.search(latex or ""):
                # the placement rule (placed_part) left a root empty: read without it
                latex, conf = _parse_as_labelled(parser, syms, None, keep_labels=syms is not detected)
            return latex, conf
        bars, min_alt, max_choices = search.bars, search.min_alternative, search.max_choices
        choices = []
        for i, sym in enumerate(detected):
            if sym.name not in bars:
                continue
            probs = dict(sym.alternatives or [])
            other = next(n for n in bars if n != sym.name)
            p_own, p_other = probs.get(sym.name, sym.confidence), probs.get(other, 0.0)
            if p_other >= min_alt:
                choices.append((i, [(sym.name, max(p_own, 1e-6)), (other, p_other)]))
        if not choices:
            latex, conf, _tree, _ev = search.parse(detected, relations)
            return latex, conf
        choices = sorted(choices, key=lambda c: -c[1][1][1])[:max_choices]
        labellings = []  # (log p, product order, symbols)
        for k, combo in enumerate(itertools.product(*(opts for _i, opts in choices))):
            labelled = list(detected)
            log_p = 0.0
            for (i, _opts), (name, p) in zip(choices, combo, strict=True):
                if name != detected[i].name:
                    labelled[i] = replace(detected[i], name=name)
                log_p += math.log(p)
            labellings.append((log_p, k, labelled))
        labellings.sort(key=lambda t: (-t[0], t[1]))
        runs, parser.tta_runs = parser.tta_runs, 1
        best = None  # (score, -product order, parse, symbols)
        try:
            cost = 0.0
            for n, (log_p, k, labelled) in enumerate(labellings):
                t1 = time.perf_counter()
                if n > 0 and (t1 - t0) * 1000 + cost > LABEL_SEARCH_BUDGET_MS:
                    break
                parsed = search.parse(labelled, relations)
                if n == 0 and (
                    (time.perf_counter() - t0) * 1000 + 2.2 * (time.perf_counter() - t1) * 1000
                    > LABEL_SEARCH_BUDGET_MS
                ):
                    best = (0.0, 0, parsed, labelled)  # no time to compare with another labelling
                    break
                score = log_p + search.score(parsed[2], labelled)
                if best is None or (score, -k) > best[:2]:
                    best = (score, -k, parsed, labelled)
                cost = max(cost, (time.perf_counter() - t1) * 1000)
        finally:
            parser.tta_runs = runs
        parsed = best[2] if runs == 1 else search.parse(best[3], relations)
        return parsed[0], parsed[1]


#: A root the layout parser wrote without content (mathnote-ocr writes its bare class name).
ROOT_WITHOUT_CONTENT = re.compile(r"(?<![\\a-zA-Z])sqrt(?![a-zA-Z])")


def _parse_as_labelled(parser, symbols, relations, keep_labels: bool = True) -> tuple[str, float]:
    """(latex, confidence) of mathnote-ocr's ``parse_with_tree`` of *symbols*; with *keep_labels* their
    labels are kept: the parser's promotion of minus signs to fraction bars is off for this parse (a bar
    just read as a minus, :func:`bars_without_both_parts`, would be made a bar again)."""
    promote = parser.promote
    parser.promote = promote and not keep_labels
    try:
        latex, conf, _tree, _ev = parser.parse_with_tree(symbols, None, relations=relations)
    finally:
        parser.promote = promote
    return latex, conf


#: A fraction's part or a root's content has its horizontal centre within its bar's or root's extent,
#: widened by this share of that extent on each side.
PART_MARGIN = 0.3


def placed_part(child: tuple, parent: tuple, relation: str) -> bool:
    """Whether *child* may be the *relation* ("num", "den", "sqrt"; others are always allowed) of
    *parent*, each a (class name, (x0, y0, x1, y1)) pair as mathnote-ocr's ``Relations(allow=...)``
    passes them: its horizontal centre lies over the parent's extent (:data:`PART_MARGIN`)."""
    if relation not in ("num", "den", "sqrt"):
        return True
    x0, _y0, x1, _y1 = parent[1]
    cx = (child[1][0] + child[1][2]) / 2
    m = PART_MARGIN * (x1 - x0)
    return x0 - m <= cx <= x1 + m


def bars_without_both_parts(tree) -> list[int]:
    """The symbol ids (positions in the parsed symbols) of the fraction bars of a parsed *tree*
    (mathnote-ocr's ``Tree``: ``nodes`` id -> node) that lack a numerator or a denominator child.

    Why: with the refined Edmonds tree search (recognition/structure.py) the layout parser keeps the
    classifier's bar labels (it only promotes a minus to a fraction bar when the relation model sees both
    parts), so a minus or a root's bar the classifier took for a fraction bar was read ``\\frac{}{...}`` or
    ``\\frac{...}{}``: never a fraction a writer means. :meth:`TrainedRecognizer._parse` reads such bars
    again as minus signs. A tree without ``nodes`` gives []."""
    from whiteboard_app.recognition.mathnote_compat import fraction_edges

    nodes = getattr(tree, "nodes", None)
    if not nodes:
        return []
    num, den = fraction_edges()
    parts: dict[int, set[int]] = {}
    for node in nodes.values():
        if node.edge_type in (num, den):
            parts.setdefault(node.parent_id, set()).add(int(node.edge_type))
    return sorted(
        i
        for i, node in nodes.items()
        if i >= 0 and getattr(node.symbol, "name", None) == "frac_bar" and parts.get(i, set()) != {num, den}
    )


def ink_chunks(
    extents: Sequence[tuple[float, float]], max_strokes: int = CHUNK_MAX_STROKES
) -> list[list[int]]:
    """Cut a line of ink into chunks read one by one (:data:`CHUNK_FROM_STROKES`).

    *extents*: each stroke's horizontal extent (x0, x1), any unit, x0 <= x1. Returns the stroke
    positions (indices into *extents*) in chunks, left to right, each chunk sorted by x0 (ties: by
    position); every stroke is in exactly one chunk. A cut goes only through a horizontal gap that no
    stroke's extent spans (strokes overlapping in x, such as the bars of "=" or a fraction's bar and its
    numerator, stay together); a chunk of more than *max_strokes* strokes is cut at its widest gap (ties:
    the one nearest its middle) and both sides again, until no chunk is over *max_strokes* or it has
    no gap left (then it stays longer). Raises ValueError if *max_strokes* < 1.
    """
    if max_strokes < 1:
        raise ValueError(f"max_strokes must be at least 1, got {max_strokes}")
    order = sorted(range(len(extents)), key=lambda i: (extents[i][0], i))
    gaps: dict[int, float] = {}  # k -> width of the gap before order[k] (all before it end left of it)
    reach = -math.inf
    for k, i in enumerate(order):
        x0, x1 = extents[i]
        if k and x0 > reach:
            gaps[k] = x0 - reach
        reach = max(reach, x1)

    def split(lo: int, hi: int) -> list[list[int]]:
        inside = [k for k in gaps if lo < k < hi]
        if hi - lo <= max_strokes or not inside:
            return [order[lo:hi]]
        k = max(inside, key=lambda k: (gaps[k], -abs(2 * k - lo - hi)))
        return split(lo, k) + split(k, hi)

    return split(0, len(order)) if order else []


def _symbol_alternatives(detected, ids: Sequence[int]) -> list[SymbolAlternatives]:
    """mathnote-ocr DetectedSymbols as per-symbol alternatives (label LaTeX, probability; up to 5), with
    the ink's stroke ids (``ids[k]`` is the id of normalised stroke k)."""
    out = []
    for sym in detected:
        labels = [(name_to_latex(sym.name), float(sym.confidence))]
        for n, c in sym.alternatives or []:
            if n is not None and n != sym.name and len(labels) < 5:
                labels.append((name_to_latex(n), float(c)))
        out.append(SymbolAlternatives(tuple(sorted(ids[st.id] for st in sym.strokes)), tuple(labels)))
    return out


#: Steps with at least this many strokes are fitted to the card's forms before the layout parse.
VERIFY_FIRST_STROKES = 16


# Function names written as letters (CROHME writes \sin as one symbol of three letters; the classifier
# reads letters one by one and often takes o for 0, s for 5, l for 1 or |, g for 9).
FUNCTION_NAMES = ("sin", "cos", "tan", "log", "lim", "exp", "max", "min", "det", "ln")
_LETTER_LOOKALIKES = {
    "o": {"0", "O_cap"},
    "s": {"5", "S_cap"},
    "l": {"1", "|", "I_cap"},
    "g": {"9", "q"},
    "c": {"C_cap", "("},
    "i": {"j", "1"},
    "n": {"h"},
    "x": {"X_cap", "times"},
    "t": {"+"},
    "m": {"M_cap"},
    "a": {"alpha"},
    "e": {"E_cap"},
    "p": {"P_cap"},
    "d": {"a"},
}
MIN_LETTER_PROB = 0.02
MIN_FUNCTION_GEOMEAN = 0.08


def _letter_prob(sym, letter: str) -> float:
    """The classifier's probability that *sym* is *letter* (0 when not among its alternatives)."""
    probs = dict(sym.alternatives or [])
    if sym.name == letter:
        return max(float(sym.confidence), probs.get(letter, 0.0))
    return float(probs.get(letter, 0.0))


def _same_line(run) -> bool:
    """Symbols side by side on one line: vertical centres within half the tallest symbol's height, and
    gaps between neighbours under the tallest symbol's height."""
    h = max(max(s.bbox.h, 1.0) for s in run)
    cy = [s.bbox.y + s.bbox.h / 2 for s in run]
    if max(cy) - min(cy) > 0.5 * h:
        return False
    return all(b.bbox.x - (a.bbox.x + a.bbox.w) < h for a, b in zip(run, run[1:], strict=False))


def spell_functions(symbols: list) -> list:
    """Relabel runs of symbols that spell a function name (:data:`FUNCTION_NAMES`) as its letters.

    A run qualifies when its symbols lie side by side on one line, every letter is among the symbol's
    classifier alternatives with probability >= MIN_LETTER_PROB, the geometric mean of those probabilities
    is >= MIN_FUNCTION_GEOMEAN, and at least half of the symbols are already read as the letter or as a
    look-alike (0 for o, 5 for s, 1 for l ...). *symbols*: mathnote-ocr DetectedSymbols; a new list is
    returned, the input is not changed.
    """
    from dataclasses import replace

    syms = sorted(symbols, key=lambda s: s.bbox.x)
    i = 0
    while i < len(syms):
        done = False
        for f in sorted(FUNCTION_NAMES, key=len, reverse=True):
            run = syms[i : i + len(f)]
            if len(run) < len(f) or "".join(s.name for s in run) == f:
                continue
            probs = [_letter_prob(s, c) for s, c in zip(run, f, strict=True)]
            if min(probs) < MIN_LETTER_PROB:
                continue
            if math.exp(sum(math.log(p) for p in probs) / len(f)) < MIN_FUNCTION_GEOMEAN:
                continue
            agree = sum(
                s.name == c or s.name in _LETTER_LOOKALIKES.get(c, ()) for s, c in zip(run, f, strict=True)
            )
            if 2 * agree < len(f) or not _same_line(run):
                continue
            syms[i : i + len(f)] = [
                replace(s, name=c, confidence=p) for s, c, p in zip(run, f, probs, strict=True)
            ]
            i += len(f)
            done = True
            break
        if not done:
            i += 1
    return syms
