"""Writer adaptation (recognition/adaptation.py): the nearest-writer-prototype rule on feature vectors, the
decision gate that chooses between a writer's label and the model, their guards against bad input, and the
bundled engine's replacing hook on ink the project generates."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from whiteboard_app.recognition.adaptation import (  # noqa: E402
    GATE_FEATURES,
    PRIOR_WEIGHT,
    RATIO,
    ClassifierHead,
    DecisionGate,
    WriterAdaptation,
    load_gate,
    shipped_gate,
)


@pytest.fixture()
def head():
    # three classes whose prototypes sit on the axes of a 4-d feature space
    return ClassifierHead(("a", "b", "c"), np.eye(3, 4, dtype=np.float32) * 10.0)


def logits_for(feats, head):
    return -np.linalg.norm(feats[:, None, :] - head.prototypes[None], axis=2)


def test_a_writer_label_wins_only_near_the_writer_prototype(head):
    # the writer's "b" looks like the model's "a" shifted: samples around (8, 0, 0, 3)
    samples = np.array([[8, 0, 0, 3], [8.2, 0, 0, 2.8], [7.8, 0, 0, 3.2]], dtype=np.float32)
    ad = WriterAdaptation.fit(samples, ["b", "b", "b"], head, metric="euclidean", gate=None)
    assert ad.labels == ("b",) and ad.features.shape == (1, 4)
    # the mean of the samples, with the model's own b prototype (0, 10, 0, 0) as PRIOR_WEIGHT samples
    expected = (3 * np.array([8, 0, 0, 3]) + PRIOR_WEIGHT * np.array([0, 10, 0, 0])) / (3 + PRIOR_WEIGHT)
    assert np.allclose(ad.features[0], expected)
    feats = np.array([[8.1, 0, 0, 3.1], [10, 0, 0, 0], [0, 0, 10, 0]], dtype=np.float32)
    # near the writer's b -> b; a textbook a stays a; a c far from both stays c
    assert ad.predict(feats, logits_for(feats, head)) == ["b", "a", "c"]


def test_any_label_can_be_taught_and_the_ratio_moves_the_border(head):
    samples = np.array([[5, 5, 0, 0]] * 3, dtype=np.float32)
    # between the new label (2.1 away) and the model's a (4.9 away)
    feat = np.array([[6.5, 3.5, 0, 0]], dtype=np.float32)
    lg = logits_for(feat, head)
    fit = WriterAdaptation.fit
    ratio_fit = fit(samples, [r"\mathbb{R}"] * 3, head, metric="euclidean", gate=None)
    assert ratio_fit.predict(feat, lg) == [r"\mathbb{R}"]
    assert fit(samples, [r"\mathbb{R}"] * 3, head, ratio=0.3, metric="euclidean", gate=None).predict(
        feat, lg
    ) == ["a"]
    assert RATIO > 0


def test_no_samples_change_nothing(head):
    ad = WriterAdaptation.fit(np.zeros((0, 4), dtype=np.float32), [], head)
    feats = np.array([[0, 10, 0, 0]], dtype=np.float32)
    assert len(ad) == 0 and ad.predict(feats, logits_for(feats, head)) == ["b"]


@pytest.mark.parametrize(
    "features, labels, ratio, match",
    [
        (np.zeros((2, 4)), ["a"], 1.0, "do not fit"),
        (np.zeros((1, 5)), ["a"], 1.0, "do not fit"),
        (np.full((1, 4), np.nan), ["a"], 1.0, "not finite"),
        (np.zeros((1, 4)), ["a"], 0.0, "ratio"),
        (np.zeros((1, 4)), ["a"], float("inf"), "ratio"),
    ],
)
def test_bad_input_is_a_clear_error(head, features, labels, ratio, match):
    with pytest.raises(ValueError, match=match):
        WriterAdaptation.fit(features, labels, head, ratio=ratio)


def test_bad_metric_is_a_clear_error(head):
    with pytest.raises(ValueError, match="metric"):
        WriterAdaptation.fit(np.ones((1, 4)), ["a"], head, metric="cosine")


def test_power_metric_reads_the_shape_of_a_feature_vector_not_its_length(head):
    from whiteboard_app.recognition.adaptation import power_features

    f = np.array([[4, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    p = power_features(f)
    assert np.allclose(np.linalg.norm(p[0]), 1.0) and np.allclose(p[0], [2 / 5**0.5, 1 / 5**0.5, 0, 0])
    assert not p[1].any()  # a zero vector stays zero, no division by zero
    # the writer's samples lean toward b; a weak and a strong vector of the same shape read the same
    samples = np.array([[3, 6, 0, 0]] * 3, dtype=np.float32)
    ad = WriterAdaptation.fit(samples, ["Q"] * 3, head, gate=None)
    assert ad.metric == "power"
    feats = np.array([[0.3, 0.6, 0, 0], [30, 60, 0, 0], [10, 0, 0, 0]], dtype=np.float32)
    assert ad.predict(feats, logits_for(feats, head)) == ["Q", "Q", "a"]


def test_relabel_keeps_the_model_reading_or_puts_the_writer_label_first(head):
    from dataclasses import dataclass

    @dataclass
    class Result:  # the fields of mathnote-ocr's ClassificationResult that relabel reads
        symbol: str | None
        confidence: float
        prototype_distance: float
        is_ood: bool
        alternatives: list
        probs: object = None
        features: object = None

    ad = WriterAdaptation.fit(
        np.array([[5, 5, 0, 0]] * 3, dtype=np.float32), ["Q"] * 3, head, metric="euclidean", gate=None
    )
    near = Result("a", 0.6, 7.0, False, [("a", 0.6), ("b", 0.3)], None, np.array([5.2, 4.9, 0, 0]))
    far = Result("c", 0.99, 0.1, False, [("c", 0.99)], None, np.array([0, 0, 10, 0.1]))
    bare = Result("a", 0.6, 7.0, False, [("a", 0.6)])  # no features: nothing to compare
    r = ad.relabel(near)
    assert r.symbol == "Q" and r.alternatives[0][0] == "Q" and ("a", 0.6) in r.alternatives
    assert ad.relabel(far) is far and ad.relabel(bare) is bare


# ── the decision gate ──────────────────────────────────────────────────


def one_feature_gate(name, weight=1.0, bias=0.0, threshold=0.0, spread=0.1):
    """A gate that reads one of GATE_FEATURES: score = bias + weight * that feature."""
    w = tuple(weight if f == name else 0.0 for f in GATE_FEATURES)
    n = len(GATE_FEATURES)
    return DecisionGate(bias, w, (0.0,) * n, (1.0,) * n, threshold, spread)


def test_decision_features_read_distances_probabilities_and_spreads(head):
    # two labels: "b" (a class of the classifier) from three samples, a new label "Q" from one
    samples = np.array([[8, 0, 0, 3], [8, 0, 0, 2], [8, 0, 0, 4], [0, 0, 6, 6]], dtype=np.float32)
    ad = WriterAdaptation.fit(samples, ["b", "b", "b", "Q"], head, metric="euclidean", gate=None)
    assert ad.label_class.tolist() == [1, -1]
    # leave-one-out spread of b's samples (y = 3, 2, 4): 0, 1.5 and 1.5 from the mean of the other two
    assert np.isclose(ad.spreads[0], 1.0)
    assert np.isclose(ad.spreads[1], 0.1) and np.isclose(
        ad.writer_spread, ad.spreads[0]
    )  # one sample: default
    feats = np.array([[7, 0, 0, 3]], dtype=np.float32)
    probs = np.array([[0.7, 0.2, 0.1]])
    x, k1, model_class, d1, dm = ad.decision_features(feats, probs)
    col = dict(zip(GATE_FEATURES, x[0], strict=True))
    assert x.shape == (1, len(GATE_FEATURES)) and k1.tolist() == [0] and model_class.tolist() == [0]
    assert np.isclose(d1[0], np.linalg.norm(feats[0] - ad.features[0]))
    assert np.isclose(dm[0], np.linalg.norm(feats[0] - head.prototypes[0]))
    assert np.isclose(col["log p_model"], np.log(0.7)) and np.isclose(col["known * log p_label"], np.log(0.2))
    assert col["known"] == 1.0 and np.isclose(col["model margin"], np.log(0.7 / 0.2))
    d2 = np.linalg.norm(feats[0] - ad.features[1])
    assert np.isclose(col["log d2/d1"], np.log(d2 / d1[0]))
    # without the classifier's last layer the samples' probabilities are unknown: nothing to compare
    assert col["known * (log p_label - its log p on the samples)"] == 0.0
    # a masked class (probability 0) and a certain model do not give infinities
    x, *_ = ad.decision_features(feats, np.array([[1.0, 0.0, 0.0]]))
    assert np.isfinite(x).all()


def test_a_labels_probability_is_weighed_against_what_the_model_gave_the_writers_own_samples():
    # a classifier with a last layer (logits = weight @ f + bias): the writer's "b" looks like its "a",
    # so the model gives the writer's samples of b a low probability of b
    protos = np.eye(3, 4, dtype=np.float32) * 10.0
    weight = np.eye(3, 4, dtype=np.float32)
    head = ClassifierHead(("a", "b", "c"), protos, weight, np.zeros(3, dtype=np.float32))
    samples = np.array([[8, 1, 0, 3], [8, 1.2, 0, 2.8], [8, 0.8, 0, 3.2]], dtype=np.float32)
    probs = head.probabilities(samples)
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1.0) and (probs.argmax(1) == 0).all()
    ad = WriterAdaptation.fit(samples, ["b"] * 3, head, metric="euclidean", gate=None)
    assert np.isclose(ad.sample_logp[0], np.log(probs[:, 1]).mean())
    glyph = np.array([[8, 1, 0, 3]], dtype=np.float32)
    x, *_ = ad.decision_features(glyph, head.probabilities(glyph))
    col = dict(zip(GATE_FEATURES, x[0], strict=True))
    # the glyph's probability of b is as low as the samples' were: no evidence against the writer's b
    assert abs(col["known * (log p_label - its log p on the samples)"]) < 0.05
    assert col["known * log p_label"] < np.log(0.01)
    # given sample probabilities (e.g. masked) are used instead; a wrong shape is a clear error
    masked = np.tile([[0.98, 0.0001, 0.0199]], (3, 1))
    ad_m = WriterAdaptation.fit(samples, ["b"] * 3, head, metric="euclidean", gate=None, sample_probs=masked)
    assert np.isclose(ad_m.sample_logp[0], np.log(1e-4))
    with pytest.raises(ValueError, match="sample probabilities"):
        WriterAdaptation.fit(samples, ["b"] * 3, head, gate=None, sample_probs=masked[:2])


def test_the_gate_takes_the_writer_label_when_its_score_is_over_the_threshold(head):
    samples = np.array([[5, 5, 0, 0]] * 3, dtype=np.float32)
    feat = np.array([[6.5, 3.5, 0, 0], [6.5, 3.5, 0, 0]], dtype=np.float32)
    unsure, sure = [2.0, 1.9, 0.0], [12.0, 0.0, 0.0]  # the model reads "a" both times
    lg = np.array([unsure, sure])

    def fit(gate):
        return WriterAdaptation.fit(samples, ["Q"] * 3, head, metric="euclidean", gate=gate)

    # a gate that trusts the writer where the model is unsure: log p_model < log 0.6
    doubt = one_feature_gate("log p_model", weight=-1.0, bias=np.log(0.6))
    assert fit(doubt).predict(feat, lg) == ["Q", "a"]
    # the distance-ratio rule as a gate (take when dm > d1), and its threshold moving the border
    ratio_like = one_feature_gate("log dm/d1")
    assert fit(ratio_like).predict(feat, lg) == ["Q", "Q"]
    assert fit(one_feature_gate("log dm/d1", threshold=5.0)).predict(feat, lg) == ["a", "a"]


def test_a_label_of_the_classifiers_own_classes_keeps_the_distance_rule(head):
    # a gate that never takes the writer's label: a label with a class of its own is still taken where
    # the distance rule takes it (nearer the writer's prototype than the model's), a new label is not
    never = one_feature_gate("known", bias=-5.0)
    samples = np.array([[8, 0, 0, 3], [8.2, 0, 0, 2.8], [7.8, 0, 0, 3.2]], dtype=np.float32)
    glyph = np.array([[8.1, 0, 0, 3.1]], dtype=np.float32)
    lg = logits_for(glyph, head)  # the model reads "a"
    own = WriterAdaptation.fit(samples, ["b"] * 3, head, metric="euclidean", gate=never)
    new = WriterAdaptation.fit(samples, ["Q"] * 3, head, metric="euclidean", gate=never)
    assert own.predict(glyph, lg) == ["b"] and new.predict(glyph, lg) == ["a"]


def test_relabel_asks_the_gate_with_the_results_probabilities_else_the_ratio(head):
    from dataclasses import dataclass

    @dataclass
    class Result:
        symbol: str | None
        confidence: float
        prototype_distance: float
        is_ood: bool
        alternatives: list
        probs: object = None
        features: object = None

    never = one_feature_gate("known", bias=-1.0)  # score -1: never the writer's label
    ad = WriterAdaptation.fit(
        np.array([[5, 5, 0, 0]] * 3, dtype=np.float32), ["Q"] * 3, head, metric="euclidean", gate=never
    )
    f = np.array([5.2, 4.9, 0, 0])
    with_probs = Result("a", 0.6, 7.0, False, [("a", 0.6)], np.array([0.6, 0.3, 0.1]), f)
    without = Result("a", 0.6, 7.0, False, [("a", 0.6)], None, f)
    assert ad.relabel(with_probs) is with_probs  # the gate said no
    assert ad.relabel(without).symbol == "Q"  # no probabilities: the distance ratio (near Q) decides
    # a batch (the engine's path) decides each result as one at a time would, whatever it lacks
    bare = Result("b", 0.5, 1.0, False, [("b", 0.5)])
    batch = ad.relabel_batch([with_probs, without, bare])
    assert batch[0] is with_probs and batch[1].symbol == "Q" and batch[2] is bare
    assert ad.relabel_batch([]) == []


def test_a_gate_file_round_trips_and_bad_files_are_clear_errors(tmp_path):
    import json

    g = one_feature_gate("log d1", weight=-2.0, bias=0.5, threshold=0.25, spread=0.07)
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(g.to_json()))
    assert load_gate(path) == g
    assert np.allclose(g.score(np.ones((2, len(GATE_FEATURES)))), [-1.5, -1.5])
    with pytest.raises(ValueError, match="expected"):
        g.score(np.ones((2, 3)))
    bad = {
        "missing.json": None,
        "notjson.json": "{",
        "other.json": json.dumps({**g.to_json(), "features": ["x"]}),
        "short.json": json.dumps({**g.to_json(), "weights": [1.0]}),
        "nan.json": json.dumps({**g.to_json(), "bias": float("nan")}),
        "scale.json": json.dumps({**g.to_json(), "scale": [0.0] * len(GATE_FEATURES)}),
        "noweights.json": json.dumps({k: v for k, v in g.to_json().items() if k != "weights"}),
    }
    for name, text in bad.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(ValueError):
            load_gate(tmp_path / name)
    with pytest.raises(ValueError, match="gate must be"):
        WriterAdaptation.fit(np.ones((1, 4)), ["a"], ClassifierHead(("a",), np.ones((1, 4))), gate="best")


def test_the_shipped_gate_is_read_and_used_by_default(head):
    gate = shipped_gate()
    assert gate is not None and len(gate.weights) == len(GATE_FEATURES) and gate.spread > 0
    ad = WriterAdaptation.fit(np.array([[5, 5, 0, 0]] * 3, dtype=np.float32), ["Q"] * 3, head)
    assert ad.gate is gate


# ── the bundled engine ─────────────────────────────────────────────────


@pytest.fixture(scope="module")
def rec():
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.trained import TrainedRecognizer

    r = TrainedRecognizer()
    r.load()
    return r


def test_set_adaptation_replaces_and_teaches_a_label_from_three_samples(rec):
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.base import RecognitionError

    # \xi has no class: three samples of it teach it; set_adaptation replaces, adapt adds
    glyph = synthesize(r"\xi", seed=21, height_px=40).ink
    before = rec.recognize(glyph).best
    xi = [(r"\xi", synthesize(r"\xi", seed=s, height_px=40).ink.strokes) for s in range(3)]
    try:
        assert rec.set_adaptation(xi) == 3
        assert rec.recognize(glyph).best == r"\xi"
        assert rec.set_adaptation(xi) == 3 and rec.adapted_labels == [r"\xi"]
        feats, names = rec.sample_features(xi)
        assert feats.shape == (3, 256) and names == [r"\xi"] * 3
        # a label the classifier has a class for is stored under the class's name
        assert rec.sample_features([("K", synthesize("K").ink.strokes)])[1] == ["K_cap"]
        assert rec.set_adaptation([]) == 0 and rec.adapted_labels == []
        assert rec.recognize(glyph).best == before
        with pytest.raises(RecognitionError, match="no ink"):
            rec.set_adaptation([("K", ())])
    finally:
        rec.clear_adaptation()


def test_calibration_samples_are_drawn_at_one_scale_as_inside_a_step(rec):
    from whiteboard_app.ink.synth import synthesize

    x = [[(p.x, p.y) for p in st.points] for st in synthesize("x", seed=3, height_px=40).ink.strokes]
    two = [[(p.x, p.y) for p in st.points] for st in synthesize("2", seed=4, height_px=40).ink.strokes]

    def scaled(strokes, k):
        return [[(k * a, k * b) for a, b in s] for s in strokes]

    feats, _ = rec.sample_features([("x", x), ("2", two), ("x", scaled(x, 0.3))])
    # the small x is drawn small among the writer's other samples (normalised alone it would be the same
    # picture as the large one), and the unit of the ink does not matter
    assert not np.allclose(feats[0], feats[2], atol=1e-3)
    again, _ = rec.sample_features([("x", scaled(x, 7.0)), ("2", scaled(two, 7.0)), ("x", scaled(x, 2.1))])
    assert np.allclose(feats, again, atol=1e-4)


def test_a_classifier_without_usable_prototypes_is_refused_clearly():
    from types import SimpleNamespace

    from whiteboard_app.recognition.adaptation import classifier_head

    def clf(names, protos):
        return SimpleNamespace(label_names=names, model=SimpleNamespace(prototypes=protos))

    assert classifier_head(clf(["a", "b"], np.ones((2, 4)))).names == ("a", "b")
    for bad, match in (
        (clf([], np.ones((2, 4))), "no class names"),
        (clf(["a"], np.ones((2, 4))), "do not match"),
        (clf(["a", "b"], np.zeros((2, 4))), "never computed"),
        (SimpleNamespace(label_names=["a"]), "no class names or prototypes"),
    ):
        with pytest.raises(ValueError, match=match):
            classifier_head(bad)


def test_calibrating_a_few_symbols_leaves_the_other_symbols_reading(rec):
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.tokens import normalize_tokens

    # the user calibrates two symbols (one without a class, one with); symbols not calibrated, alone and
    # inside a step, must keep the reading they had
    others = ["x", "2", "+", "a", "y", "=", "b", "3"]
    alone = {s: synthesize(s, seed=7, height_px=40).ink for s in others}
    step = synthesize("x^2+3y=b", seed=8).ink
    before = {s: rec.recognize(ink).best for s, ink in alone.items()}
    step_before = rec.recognize(step).best
    samples = [
        (label, synthesize(label, seed=s, height_px=40).ink.strokes)
        for label in (r"\xi", r"\partial")
        for s in range(3)
    ]
    try:
        assert rec.set_adaptation(samples) == 6
        assert {s: rec.recognize(ink).best for s, ink in alone.items()} == before
        assert rec.recognize(step).best == step_before
        assert rec.recognize(synthesize(r"\xi", seed=30, height_px=40).ink).best == r"\xi"
        # and the calibrated symbol is read inside a step, among symbols not calibrated
        assert normalize_tokens(rec.recognize(synthesize(r"2\xi=y", seed=11).ink).best) == normalize_tokens(
            r"2\xi=y"
        )
    finally:
        rec.clear_adaptation()
