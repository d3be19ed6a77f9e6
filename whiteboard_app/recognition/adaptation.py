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
  model's own reading (the class it predicts, its probabilities, the distance ``d_m`` to its prototype);
* a learnt **decision gate** (:class:`DecisionGate`, ``weights/calibration_gate.json``) chooses between
  the writer's label and the model's reading: a logistic regression on ten numbers of the glyph
  (:data:`GATE_FEATURES`: the distance to the nearest writer prototype, its margin to the next prototype
  of another label, ``d_m`` against it, the model's probability of its top class and of the prototype's
  class -- the latter also against what the model gave the writer's own samples of that label, so that a
  class the model reads badly in this hand is not held against it -- the model's own margin, and the
  distance in units of the writer's own spread, leave-one-out among the label's samples). It takes the
  writer's label when the odds are for it (score > threshold 0); for a label of the classifier's own
  classes the writer's label is also taken where the session-7 rule below takes it. Without the gate file, or for a result without probabilities, the session-7 rule holds: the writer's
  label when ``d_w < RATIO * d_m``.

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
91.7 % (docs/benchmarks.md, "calibration_session7"). Session 8: the decision gate, fitted on 150 seen
training writers and measured on the 26 held-out ones: blind classes 91.7 -> 95.4 % (docs/benchmarks.md,
"calibration_gate_session8"; the fit: ``python -m benchmarks.calibration --fit-gate OUT``).

Nothing here imports torch or mathnote-ocr at module level; :func:`sample_features` draws and runs the
classifier lazily. Bad input (no ink, NaN coordinates, mismatched shapes) raises ValueError, never a crash
further down.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "GATE_FEATURES",
    "GATE_FILE",
    "PRIOR_WEIGHT",
    "RATIO",
    "AdaptedClassifier",
    "ClassifierHead",
    "DecisionGate",
    "WriterAdaptation",
    "classifier_head",
    "load_gate",
    "power_features",
    "sample_features",
    "shipped_gate",
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
#: The decision gate's inputs, in order (see :meth:`WriterAdaptation.decision_features`).
GATE_FEATURES: tuple[str, ...] = (
    "log d1",
    "log d2/d1",
    "log dm/d1",
    "log p_model",
    "known * log p_label",
    "known * (log p_label - its log p on the samples)",
    "log d1/label_spread",
    "log d1/writer_spread",
    "known",
    "model margin",
)
#: The shipped gate (fitted by ``python -m benchmarks.calibration --fit-gate``).
GATE_FILE = Path(__file__).resolve().parent / "weights" / "calibration_gate.json"
#: d2 when the writer calibrated one label only (farther than any two power-transformed vectors: sqrt 2).
D2_NONE = 2.0
#: Floor of the probabilities whose logarithms the gate reads.
P_FLOOR = 1e-4
#: The model's margin (log p1 - log p2, nats) is capped here (a masked or certain class gives infinity).
MARGIN_CAP = 30.0


@dataclass(frozen=True)
class DecisionGate:
    """A logistic regression that chooses between a writer's label and the model's reading.

    ``score(X) = bias + sum_i weights[i] * (X[:, i] - mean[i]) / scale[i]`` over the ten
    :data:`GATE_FEATURES` (X: (N, 10)); the writer's label is taken where the score exceeds ``threshold``
    (0: the log-odds that the writer's label is right rather than the model's). ``spread`` is the
    leave-one-out spread used for a label with fewer than 2 samples (the median on the fitting writers).
    """

    bias: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = 0.0
    spread: float = 0.1

    def score(self, x):
        """Log-odds for the writer's label, (N, 10) -> (N,) float64. Raises ValueError for a wrong width."""
        import numpy as np

        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.weights):
            raise ValueError(f"gate inputs of shape {x.shape}, expected (N, {len(self.weights)})")
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return self.bias + z @ np.asarray(self.weights)

    def to_json(self) -> dict:
        """The gate as a JSON object (the format of :data:`GATE_FILE`)."""
        return {
            "features": list(GATE_FEATURES),
            "bias": self.bias,
            "weights": list(self.weights),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
            "spread": self.spread,
        }


def load_gate(path: str | os.PathLike) -> DecisionGate:
    """Read a :class:`DecisionGate` from a JSON file written by :meth:`DecisionGate.to_json`. Raises
    ValueError when the file cannot be read, is not such an object, names other features, or holds a
    number that is not finite (or a scale that is not positive)."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the decision gate ({exc})") from exc
    if not isinstance(obj, dict) or tuple(obj.get("features") or ()) != GATE_FEATURES:
        raise ValueError(f"{path}: not a decision gate over {len(GATE_FEATURES)} known features")
    try:
        n = len(GATE_FEATURES)
        vec = {k: tuple(float(v) for v in obj[k]) for k in ("weights", "mean", "scale")}
        gate = DecisionGate(
            float(obj["bias"]),
            vec["weights"],
            vec["mean"],
            vec["scale"],
            float(obj.get("threshold", 0.0)),
            float(obj.get("spread", 0.1)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: malformed decision gate ({exc})") from exc
    numbers = (gate.bias, gate.threshold, gate.spread, *gate.weights, *gate.mean, *gate.scale)
    if any(len(v) != n for v in vec.values()) or not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{path}: the decision gate needs {n} finite numbers per vector")
    if min(gate.scale) <= 0 or gate.spread <= 0:
        raise ValueError(f"{path}: the decision gate's scales and spread must be positive")
    return gate


_SHIPPED: list[DecisionGate | None] = []


def shipped_gate() -> DecisionGate | None:
    """The bundled gate (:data:`GATE_FILE`), read once; None when it is missing or unreadable (the
    adaptation then uses the distance-ratio rule)."""
    if not _SHIPPED:
        try:
            _SHIPPED.append(load_gate(GATE_FILE))
        except ValueError:
            _SHIPPED.append(None)
    return _SHIPPED[0]


@dataclass(frozen=True)
class ClassifierHead:
    """What the adaptation needs of a classifier: its class names (C,), its class prototypes (C, D)
    (float32 numpy array) -- the mean features of each class's training symbols -- and, when known, its
    last layer (``weight`` (C, D), ``bias`` (C,): logits = weight @ features + bias), with which the
    model's probabilities of the calibration samples are computed (:meth:`probabilities`)."""

    names: tuple[str, ...]
    prototypes: Any
    weight: Any = None
    bias: Any = None

    def probabilities(self, features):
        """The model's class probabilities (N, C) for features (N, D), or None without a last layer."""
        import numpy as np

        if self.weight is None or self.bias is None:
            return None
        logits = np.asarray(features, dtype=np.float64) @ np.asarray(self.weight, dtype=np.float64).T
        return _softmax(logits + np.asarray(self.bias, dtype=np.float64))


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
    fc = getattr(model, "fc2", None)
    weight, bias = getattr(fc, "weight", None), getattr(fc, "bias", None)
    if weight is not None and bias is not None:
        weight = np.asarray(
            weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight, np.float32
        )
        bias = np.asarray(bias.detach().cpu().numpy() if hasattr(bias, "detach") else bias, np.float32)
        if weight.shape != (len(names), arr.shape[1]) or bias.shape != (len(names),):
            weight = bias = None
    return ClassifierHead(names, arr, weight, bias)


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
    of their samples' features (K, D), each label's leave-one-out spread (K,), and the rule that chooses
    between a prototype and the model (the :class:`DecisionGate`, or the distance ratio without one).

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
        gate: DecisionGate | None = None,
        spreads=None,
        sample_logp=None,
    ) -> None:
        import numpy as np

        self.labels = tuple(labels)
        self.features = features
        self.head = head
        self.ratio = float(ratio)
        self.metric = metric
        self.gate = gate
        self._space = power_features if metric == "power" else _identity
        self._model_protos = self._space(head.prototypes)
        own = {n: i for i, n in enumerate(head.names)}
        #: the classifier's class index of each label, -1 for a label it has no class for
        self.label_class = np.array([own.get(x, -1) for x in self.labels], dtype=np.int64)
        default = gate.spread if gate is not None else 0.1
        sp = np.full(len(self.labels), np.nan) if spreads is None else np.asarray(spreads, dtype=np.float64)
        known = sp[np.isfinite(sp) & (sp > 0)]
        self.writer_spread = float(known.mean()) if known.size else default
        self.spreads = np.where(np.isfinite(sp) & (sp > 0), sp, default)
        #: mean log probability the model gave each label's own samples of its class (NaN: unknown)
        lp = np.full(len(self.labels), np.nan) if sample_logp is None else np.asarray(sample_logp, np.float64)
        self.sample_logp = lp

    @classmethod
    def fit(
        cls,
        features,
        labels: Sequence[str],
        head: ClassifierHead,
        ratio: float = RATIO,
        metric: str = METRIC,
        gate: DecisionGate | None | str = "shipped",
        sample_probs=None,
    ) -> WriterAdaptation:
        """The adaptation to samples with these *features* (N, D) and *labels* (N,): one prototype a label,
        the mean of its samples (with the model's own prototype as :data:`PRIOR_WEIGHT` samples more when
        the label is one of the classifier's classes), in the space of *metric* ("power": the means and
        every distance after :func:`power_features`; "euclidean": raw features), and each label's spread:
        the mean distance of a sample to the mean of the label's other samples (NaN under 2 samples).
        *gate*: "shipped" (:func:`shipped_gate`), a :class:`DecisionGate`, or None for the distance-ratio
        rule (*ratio*). *sample_probs* (N, C): the model's probabilities of the samples (default: from
        the head's last layer, :meth:`ClassifierHead.probabilities`); the gate compares a symbol's
        probability of a label's class with their mean log. Labels are class names of the classifier or
        any other LaTeX. Raises ValueError for mismatched or non-finite input, an unknown metric or gate."""
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
        if isinstance(gate, str):
            if gate != "shipped":
                raise ValueError(f"gate must be 'shipped', a DecisionGate or None, not {gate!r}")
            gate = shipped_gate()
        space = power_features if metric == "power" else _identity
        probs = head.probabilities(f) if sample_probs is None else np.asarray(sample_probs, dtype=np.float64)
        if probs is not None and probs.shape != (len(labels), len(head.names)):
            raise ValueError(f"sample probabilities of shape {probs.shape} do not fit {len(labels)} samples")
        f = space(f)
        protos = space(head.prototypes)
        names = list(dict.fromkeys(labels))
        if not names:
            return cls(
                (), np.zeros((0, head.prototypes.shape[1]), dtype=np.float32), head, ratio, metric, gate
            )
        at = {n: i for i, n in enumerate(names)}
        idx = np.array([at[x] for x in labels])
        own = {n: i for i, n in enumerate(head.names)}
        means, spreads, logp = [], [], []
        for i, name in enumerate(names):
            rows = f[idx == i]
            if probs is not None and name in own:
                logp.append(float(np.log(np.maximum(probs[idx == i, own[name]], P_FLOOR)).mean()))
            else:
                logp.append(float("nan"))
            if name in own:  # shrink toward the model's prototype of the class
                total = rows.sum(axis=0) + PRIOR_WEIGHT * protos[own[name]]
                means.append(total / (len(rows) + PRIOR_WEIGHT))
            else:
                means.append(rows.mean(axis=0))
            spreads.append(_loo_spread(rows))
        return cls(names, np.stack(means).astype(np.float32), head, ratio, metric, gate, spreads, logp)

    def __len__(self) -> int:
        return len(self.labels)

    def decision_features(self, features, probs):
        """The gate's inputs for symbols with these *features* (N, D) and model class probabilities
        *probs* (N, C) (a masked class has probability 0): (X (N, 9) float64 in the order of
        :data:`GATE_FEATURES`, nearest writer label index (N,), model class (N,), d1 (N,), dm (N,)).
        Distances are Euclidean in the adaptation's space; ``d1`` to the nearest writer prototype,
        ``d2`` to the nearest one of another label (:data:`D2_NONE` with one label), ``dm`` to the
        model's prototype of its top class. Needs at least one label."""
        import numpy as np

        f = self._space(np.asarray(features, dtype=np.float32))
        p = np.asarray(probs, dtype=np.float64)
        n = f.shape[0]
        rows = np.arange(n)
        d = np.sqrt(((f[:, None, :] - self.features[None, :, :]) ** 2).sum(axis=2))  # (N, K)
        order = np.argsort(d, axis=1)
        k1 = order[:, 0]
        d1 = np.maximum(d[rows, k1], 1e-6)
        d2 = d[rows, order[:, 1]] if len(self.labels) > 1 else np.full(n, D2_NONE)
        model_class = p.argmax(axis=1)
        dm = np.linalg.norm(f - self._model_protos[model_class], axis=1)
        p_model = p[rows, model_class]
        cls_k = self.label_class[k1]
        known = (cls_k >= 0).astype(np.float64)
        p_label = np.where(cls_k >= 0, p[rows, np.maximum(cls_k, 0)], 0.0)
        log_label = np.log(np.maximum(p_label, P_FLOOR))
        own_logp = self.sample_logp[k1]
        vs_samples = np.where(np.isfinite(own_logp), log_label - np.nan_to_num(own_logp), 0.0)
        top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.c_[np.zeros(n), p[:, -1]]
        with np.errstate(divide="ignore"):
            margin = np.log(np.maximum(top2[:, 1], P_FLOOR)) - np.log(top2[:, 0])
        margin = np.minimum(np.nan_to_num(margin, posinf=MARGIN_CAP), MARGIN_CAP)
        x = np.stack(
            [
                np.log(d1),
                np.log(np.maximum(d2, 1e-6) / d1),
                np.log(np.maximum(dm, 1e-6) / d1),
                np.log(np.maximum(p_model, P_FLOOR)),
                known * log_label,
                known * vs_samples,
                np.log(d1 / self.spreads[k1]),
                np.log(d1 / self.writer_spread),
                known,
                margin,
            ],
            axis=1,
        )
        return x, k1, model_class, d1, dm

    def _choose(self, feats, probs, use_gate: bool = True):
        """(writer label index or -1, d1) for features (N, D) and model probabilities (N, C); the gate
        decides when there is one and *use_gate*, else the distance ratio."""
        import numpy as np

        n = feats.shape[0]
        if not len(self.labels) or n == 0:
            return np.full(n, -1), np.full(n, np.inf)
        x, k1, model_class, d1, dm = self.decision_features(feats, probs)
        near = d1 < self.ratio * dm
        if self.gate is not None and use_gate:
            own_class = self.label_class[k1] >= 0
            agree = self.label_class[k1] == model_class
            # a label of the classifier's own classes keeps the distance rule too (its prototype is
            # shrunk toward the model's): the gate adds what it refused, it does not take it back
            take = agree | (self.gate.score(x) > self.gate.threshold) | (own_class & near)
        else:
            take = near
        return np.where(take, k1, -1), d1

    def predict(self, features, logits) -> list[str]:
        """Class names / writer labels of symbols with these *features* (N, D) and model *logits* (N, C)
        (a class masked with -inf is one the model cannot read)."""
        import numpy as np

        f = np.asarray(features, dtype=np.float32)
        probs = _softmax(np.asarray(logits, dtype=np.float64))
        model_class = probs.argmax(axis=1)
        k, _d = self._choose(f, probs)
        return [self.labels[j] if j >= 0 else self.head.names[c] for j, c in zip(k, model_class, strict=True)]

    def relabel(self, result):
        """A mathnote-ocr ``ClassificationResult`` read with the writer's labels (the same object when the
        model's reading stands; a copy with the writer's label first among the alternatives otherwise).
        The gate needs the result's ``probs`` (the batch path's); without them the distance ratio decides."""
        return self.relabel_batch([result])[0]

    def relabel_batch(self, results):
        """:meth:`relabel` of every result of a list, decided in one batch (a reading classifies hundreds
        of candidate groups: one decision per call cost about 0.8 ms each on this machine)."""
        import numpy as np

        out = list(results)
        if not len(self.labels):
            return out
        names = self.head.names
        gated, gf, gp, ratio, rf, rp = [], [], [], [], [], []
        for i, r in enumerate(out):
            feats = getattr(r, "features", None)
            if feats is None or len(feats) != self.features.shape[1]:
                continue
            probs = getattr(r, "probs", None)
            if probs is not None and len(probs) == len(names):
                p = np.asarray(probs, dtype=np.float64)
                if np.isfinite(p).all():
                    gated.append(i)
                    gf.append(feats)
                    gp.append(p)
                    continue
            if r.symbol in names:  # no probabilities: the model's reading alone, the distance ratio
                p = np.zeros(len(names))
                p[names.index(r.symbol)] = 1.0
                ratio.append(i)
                rf.append(feats)
                rp.append(p)
        for idx, fs, ps, use_gate in ((gated, gf, gp, True), (ratio, rf, rp, False)):
            if not idx:
                continue
            k, d = self._choose(np.asarray(fs, dtype=np.float32), np.stack(ps), use_gate=use_gate)
            for j, i in enumerate(idx):
                if k[j] >= 0:
                    out[i] = self._as_label(out[i], self.labels[int(k[j])], float(d[j]))
        return out

    @staticmethod
    def _as_label(result, name: str, distance: float):
        from dataclasses import replace

        conf = float(max(result.confidence, 0.9))
        alts = [(name, conf)] + [(n, c) for n, c in (result.alternatives or []) if n != name][:4]
        return replace(
            result, symbol=name, confidence=conf, prototype_distance=distance, is_ood=False, alternatives=alts
        )


def _loo_spread(rows) -> float:
    """Mean distance of each of *rows* (n, D) to the mean of the others; NaN for fewer than 2 rows."""
    import numpy as np

    n = rows.shape[0]
    if n < 2:
        return float("nan")
    total = rows.sum(axis=0)
    others = (total[None, :] - rows) / (n - 1)
    return float(np.linalg.norm(rows - others, axis=1).mean())


def _softmax(logits):
    import numpy as np

    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _identity(features):
    import numpy as np

    return np.asarray(features, dtype=np.float32)


class AdaptedClassifier:
    """A mathnote-ocr ``SymbolClassifier`` stand-in: the same results, read through a
    :class:`WriterAdaptation` (``classify_batch`` only; everything else is the base classifier's)."""

    def __init__(self, base, adaptation: WriterAdaptation) -> None:
        self._base = base
        self.adaptation = adaptation

    def __getattr__(self, item):
        return getattr(self._base, item)

    def classify_batch(self, images, size_feats=None):
        """The base classifier's results, through :meth:`WriterAdaptation.relabel_batch`."""
        return self.adaptation.relabel_batch(self._base.classify_batch(images, size_feats=size_feats))
