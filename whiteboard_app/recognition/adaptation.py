"""Writer adaptation of the symbol classifier from a few calibration samples a class (no Qt).

A calibration sample is one symbol drawn alone (the calibration screen's boxes). It is drawn as a symbol
inside a step is (:func:`sample_features`: all samples at one scale, on a step's canvas) and its
*features* are the classifier's 256-d layer before the class scores (mathnote-ocr's
``SymbolCNNWithPrototypes``; the space its class prototypes live in), power-transformed
(:func:`power_features`). The adaptation keeps, for each label the writer calibrated, the mean of the
writer's samples there (the writer's prototype; for a label the classifier has a class for, the model's own
prototype counts as :data:`PRIOR_WEIGHT` more samples, a shrinkage prior); a symbol read later is compared
with them:

* nearest writer prototype ``d_w`` (Euclidean after the transform, over every calibrated label), and the
  distance ``d_m`` to the model's own prototype of the class it predicts;
* when ``d_w < RATIO * d_m`` the symbol takes the writer's label, otherwise the model's reading stands.

This is prototypical few-shot classification (Snell, Swersky and Zemel, "Prototypical Networks for Few-shot
Learning", NeurIPS 2017) with the model's prototypes as the competing classes; any label works, also one
the classifier has no class for (``\\mathbb{R}``, ``\\bar``), and it needs no training step: adapting to
15 symbols x 3 samples is one batch of the classifier (docs/benchmarks.md, "calibration").
The rule and :data:`RATIO` were chosen leave-one-writer-out on the held-out training writers
(``benchmarks/calibration.py``; the writers it reports on, so its figure for them is a little optimistic;
the run on other training writers, section "calibration_seen", read the same 95.9 %): the class mean beat
the nearest single sample, a small fine-tune of the last layer (with the model's prototypes as replay)
took more of the writer's other classes than it gained, RATIO 1.0 balanced the calibrated classes against the others (0.8-1.2 measured), the prior weight 1 read
the known classes 0.6 points better than none or 3, and adding distorted copies of the samples (as in
training) changed nothing. Session 7: drawing the samples at one scale on a step's canvas (instead of each
normalised alone) lifted the classes the classifier is blind to from 84.3 to 90.0 %, the power transform to
91.7 % (docs/benchmarks.md, "calibration_session7").

Nothing here imports torch or mathnote-ocr at module level; :func:`sample_features` draws and runs the
classifier lazily. Bad input (no ink, NaN coordinates, mismatched shapes) raises ValueError, never a crash
further down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PRIOR_WEIGHT",
    "RATIO",
    "AdaptedClassifier",
    "ClassifierHead",
    "WriterAdaptation",
    "classifier_head",
    "power_features",
    "sample_features",
]

#: A symbol takes a writer label when its nearest writer sample is closer than this share of its distance
#: to the model's prototype of the class it predicts (chosen on the seen training writers; see module doc).
RATIO = 1.0
#: A label with a class of its own: the model's prototype of that class counts as this many writer samples.
PRIOR_WEIGHT = 1.0
#: Feature vectors of this many dimensions (mathnote-ocr's SymbolCNN fc1).
FEATURE_DIM = 256
#: Canvas (px) a calibration sample is drawn on: the median canvas of a normalised training expression
#: (max coordinate, 280 px over the training split's 9,686 expressions); 300 and 500 read the same.
STEP_CANVAS = 280.0
#: Distances between features: "power" (:func:`power_features` first) or "euclidean" (raw features).
METRIC = "power"


@dataclass(frozen=True)
class ClassifierHead:
    """What the adaptation needs of a classifier: its class names (C,), its class prototypes (C, D)
    (float32 numpy array) -- the mean features of each class's training symbols."""

    names: tuple[str, ...]
    prototypes: Any


def classifier_head(classifier) -> ClassifierHead:
    """The :class:`ClassifierHead` of a mathnote-ocr ``SymbolClassifier`` (its ``label_names`` and its
    model's ``prototypes`` buffer; any classifier of that interface, e.g. a retrained classifier.pth).
    Raises ValueError when it has no names or prototypes, or they do not match or were never computed."""
    import numpy as np

    names = tuple(getattr(classifier, "label_names", ()) or ())
    model = getattr(classifier, "model", None)
    protos = getattr(model, "prototypes", None)
    if not names or protos is None:
        raise ValueError("the classifier has no class names or prototypes to adapt")
    arr = protos.detach().cpu().numpy() if hasattr(protos, "detach") else np.asarray(protos)
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != len(names):
        raise ValueError(f"prototypes of shape {arr.shape} do not match {len(names)} class names")
    if not np.isfinite(arr).all() or not arr.any():
        raise ValueError("the classifier's prototypes were never computed")
    return ClassifierHead(names, arr)


def _finite_points(strokes) -> list[list[tuple[float, float]]]:
    out = []
    for s in strokes:
        pts = []
        for p in getattr(s, "points", s):
            x, y = (p.x, p.y) if hasattr(p, "x") else (p[0], p[1])
            x, y = float(x), float(y)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError("a calibration sample has a point that is not a finite number")
            pts.append((x, y))
        if pts:
            out.append(pts)
    return out


def _stroke_size(stroke: Sequence[tuple[float, float]]) -> float:
    xs = [p[0] for p in stroke]
    ys = [p[1] for p in stroke]
    return max(max(xs) - min(xs), max(ys) - min(ys))


def sample_features(classifier, samples: Sequence[tuple[str, Sequence]]) -> tuple[Any, list[str]]:
    """Features of calibration samples drawn alone: (array (N, D) float32, labels (N,)).

    Each sample is (label, strokes); strokes are ``whiteboard_app.ink.Stroke`` objects or sequences of
    (x, y) points in any unit (the same unit for all the samples of one call). The samples are drawn as a
    symbol inside a step is: all of them scaled by ONE factor, so that the median stroke size over all
    their strokes is a step's (``training.data.STROKE_SIZE``, 24 px: a step is normalised by its own
    median stroke), each placed at the margin, and drawn with mathnote-ocr's renderer and size feature on
    a step's canvas (:data:`STEP_CANVAS`), then classified in one batch. A sample normalised alone (its
    own strokes at 24 px, on its own canvas) is drawn larger and fuller than the same glyph inside a
    step: prototypes made that way read the writer's other glyphs 84.3 % right instead of 90.0 %
    (blind classes, docs/benchmarks.md "calibration"). Raises ValueError for a sample without ink or with
    a non-finite coordinate, or for an empty label.
    """
    import statistics

    import numpy as np

    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.training.data import MARGIN, STROKE_SIZE

    glyphs, labels = [], []
    for label, strokes in samples:
        if not isinstance(label, str) or not label.strip():
            raise ValueError("a calibration sample needs a label")
        pts = _finite_points(strokes)
        if not pts:
            raise ValueError(f"the calibration sample of {label!r} has no ink")
        glyphs.append(pts)
        labels.append(label)
    if not glyphs:
        return np.zeros((0, FEATURE_DIM), dtype=np.float32), []
    sizes_all = [z for g in glyphs for s in g if (z := _stroke_size(s)) > 0]
    scale = STROKE_SIZE / statistics.median(sizes_all) if sizes_all else 1.0
    images, sizes = [], []
    for pts in glyphs:
        mx = min(p[0] for s in pts for p in s)
        my = min(p[1] for s in pts for p in s)
        norm = [[((x - mx) * scale + MARGIN, (y - my) * scale + MARGIN) for x, y in s] for s in pts]
        ms = mc.to_strokes(norm)
        canvas = max(STEP_CANVAS, float(int(max(c for s in norm for p in s for c in p))))
        images.append(mc.render_strokes(ms, canvas_size=classifier.canvas_size, source_size=canvas))
        sizes.append(mc.size_feat(ms, canvas))
    results = classifier.classify_batch(images, size_feats=sizes if classifier.use_size_feat else None)
    feats = np.stack([np.asarray(r.features, dtype=np.float32) for r in results])
    return feats, labels


def power_features(features):
    """The power transform of few-shot learning on ReLU features (Hu, Gripon and Pateux, "Leveraging
    the Feature Distribution in Transfer-based Few-Shot Learning", ICANN 2021, sec. 3.2, beta = 0.5):
    sqrt of each (non-negative) feature, then each vector scaled to unit length. (N, D) -> (N, D) float32;
    a zero vector stays zero."""
    import numpy as np

    f = np.sqrt(np.maximum(np.asarray(features, dtype=np.float32), 0.0))
    norm = np.linalg.norm(f, axis=-1, keepdims=True)
    return (f / np.where(norm > 0, norm, 1.0)).astype(np.float32)


class WriterAdaptation:
    """One writer's calibration in feature space: the writer's prototypes, one a label (K,), as the means
    of their samples' features (K, D).

    Build it with :meth:`fit`; :meth:`predict` reads feature vectors (for the benchmark),
    :meth:`relabel` a classifier result (for the engine). Immutable once built.
    """

    def __init__(
        self,
        labels: Sequence[str],
        features,
        head: ClassifierHead,
        ratio: float = RATIO,
        metric: str = METRIC,
    ) -> None:
        self.labels = tuple(labels)
        self.features = features
        self.head = head
        self.ratio = float(ratio)
        self.metric = metric
        self._space = power_features if metric == "power" else _identity
        self._model_protos = self._space(head.prototypes)

    @classmethod
    def fit(
        cls,
        features,
        labels: Sequence[str],
        head: ClassifierHead,
        ratio: float = RATIO,
        metric: str = METRIC,
    ) -> WriterAdaptation:
        """The adaptation to samples with these *features* (N, D) and *labels* (N,): one prototype a label,
        the mean of its samples (with the model's own prototype as :data:`PRIOR_WEIGHT` samples more when
        the label is one of the classifier's classes), in the space of *metric* ("power": the means and
        every distance after :func:`power_features`; "euclidean": raw features). Labels are class names
        of the classifier or any other LaTeX. Raises ValueError for mismatched or non-finite input or an
        unknown metric."""
        import numpy as np

        f = np.asarray(features, dtype=np.float32)
        if (
            f.ndim != 2
            or f.shape[0] != len(labels)
            or (len(labels) and f.shape[1] != head.prototypes.shape[1])
        ):
            raise ValueError(
                f"features of shape {f.shape} do not fit {len(labels)} labels of "
                f"{head.prototypes.shape[1]}-d features"
            )
        if not np.isfinite(f).all():
            raise ValueError("calibration features are not finite")
        if not (ratio > 0 and math.isfinite(ratio)):
            raise ValueError(f"ratio must be a positive number, not {ratio!r}")
        if metric not in ("power", "euclidean"):
            raise ValueError(f"metric must be 'power' or 'euclidean', not {metric!r}")
        space = power_features if metric == "power" else _identity
        f = space(f)
        protos = space(head.prototypes)
        names = list(dict.fromkeys(labels))
        if not names:
            return cls((), np.zeros((0, head.prototypes.shape[1]), dtype=np.float32), head, ratio, metric)
        at = {n: i for i, n in enumerate(names)}
        idx = np.array([at[x] for x in labels])
        own = {n: i for i, n in enumerate(head.names)}
        means = []
        for i, name in enumerate(names):
            rows = f[idx == i]
            if name in own:  # shrink toward the model's prototype of the class
                total = rows.sum(axis=0) + PRIOR_WEIGHT * protos[own[name]]
                means.append(total / (len(rows) + PRIOR_WEIGHT))
            else:
                means.append(rows.mean(axis=0))
        return cls(names, np.stack(means).astype(np.float32), head, ratio, metric)

    def __len__(self) -> int:
        return len(self.labels)

    def _nearest(self, feats, model_class):
        """(writer label index or -1, its distance) for features (N, D), given the model's predicted
        class indices (N,)."""
        import numpy as np

        n = feats.shape[0]
        if not len(self.labels) or n == 0:
            return np.full(n, -1), np.full(n, np.inf)
        feats = self._space(feats)
        d = np.sqrt(((feats[:, None, :] - self.features[None, :, :]) ** 2).sum(axis=2))  # (N, K)
        k = d.argmin(axis=1)
        dk = d[np.arange(n), k]
        dm = np.linalg.norm(feats - self._model_protos[model_class], axis=1)
        return np.where(dk < self.ratio * dm, k, -1), dk

    def predict(self, features, logits) -> list[str]:
        """Class names / writer labels of symbols with these *features* (N, D) and model *logits* (N, C)."""
        import numpy as np

        f = np.asarray(features, dtype=np.float32)
        model_class = np.asarray(logits).argmax(axis=1)
        k, _d = self._nearest(f, model_class)
        return [self.labels[j] if j >= 0 else self.head.names[c] for j, c in zip(k, model_class, strict=True)]

    def relabel(self, result):
        """A mathnote-ocr ``ClassificationResult`` read with the writer's labels (the same object when the
        model's reading stands; a copy with the writer's label first among the alternatives otherwise)."""
        from dataclasses import replace

        import numpy as np

        feats = getattr(result, "features", None)
        if feats is None or not len(self.labels):
            return result
        f = np.asarray(feats, dtype=np.float32)[None, :]
        names = self.head.names
        model_class = names.index(result.symbol) if result.symbol in names else _argmax(result, names)
        if model_class < 0:
            return result
        k, d = self._nearest(f, np.array([model_class]))
        if k[0] < 0:
            return result
        name = self.labels[int(k[0])]
        conf = float(max(result.confidence, 0.9))
        alts = [(name, conf)] + [(n, c) for n, c in (result.alternatives or []) if n != name][:4]
        return replace(
            result,
            symbol=name,
            confidence=conf,
            prototype_distance=float(d[0]),
            is_ood=False,
            alternatives=alts,
        )


def _identity(features):
    import numpy as np

    return np.asarray(features, dtype=np.float32)


def _argmax(result, names) -> int:
    probs = getattr(result, "probs", None)
    if probs is None or len(probs) != len(names):
        return -1
    import numpy as np

    return int(np.asarray(probs).argmax())


class AdaptedClassifier:
    """A mathnote-ocr ``SymbolClassifier`` stand-in: the same results, read through a
    :class:`WriterAdaptation` (``classify_batch`` only; everything else is the base classifier's)."""

    def __init__(self, base, adaptation: WriterAdaptation) -> None:
        self._base = base
        self.adaptation = adaptation

    def __getattr__(self, item):
        return getattr(self._base, item)

    def classify_batch(self, images, size_feats=None):
        """The base classifier's results, each through :meth:`WriterAdaptation.relabel`."""
        return [self.adaptation.relabel(r) for r in self._base.classify_batch(images, size_feats=size_feats)]
