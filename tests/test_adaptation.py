"""Writer adaptation (recognition/adaptation.py): the nearest-writer-prototype rule on feature vectors,
its guards against bad input, and the bundled engine's replacing hook on ink the project generates."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from whiteboard_app.recognition.adaptation import (  # noqa: E402
    PRIOR_WEIGHT,
    RATIO,
    ClassifierHead,
    WriterAdaptation,
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
    ad = WriterAdaptation.fit(samples, ["b", "b", "b"], head, metric="euclidean")
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
    assert fit(samples, [r"\mathbb{R}"] * 3, head, metric="euclidean").predict(feat, lg) == [r"\mathbb{R}"]
    assert fit(samples, [r"\mathbb{R}"] * 3, head, ratio=0.3, metric="euclidean").predict(feat, lg) == ["a"]
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
    ad = WriterAdaptation.fit(samples, ["Q"] * 3, head)
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
        np.array([[5, 5, 0, 0]] * 3, dtype=np.float32), ["Q"] * 3, head, metric="euclidean"
    )
    near = Result("a", 0.6, 7.0, False, [("a", 0.6), ("b", 0.3)], None, np.array([5.2, 4.9, 0, 0]))
    far = Result("c", 0.99, 0.1, False, [("c", 0.99)], None, np.array([0, 0, 10, 0.1]))
    bare = Result("a", 0.6, 7.0, False, [("a", 0.6)])  # no features: nothing to compare
    r = ad.relabel(near)
    assert r.symbol == "Q" and r.alternatives[0][0] == "Q" and ("a", 0.6) in r.alternatives
    assert ad.relabel(far) is far and ad.relabel(bare) is bare


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
