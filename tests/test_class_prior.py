"""The symbol classifier's per-class logit prior (recognition/class_prior.py, training/class_prior.py)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from whiteboard_app.recognition.class_prior import (
    PRIOR_FILE,
    ClassPriorError,
    file_sha256,
    load_class_prior,
    write_class_prior,
)
from whiteboard_app.recognition.training.class_prior import fit_prior

NAMES = ["n", "k", "\\eta", "\\kappa"]


def test_written_prior_loads_back_for_its_classifier(tmp_path):
    clf = tmp_path / "classifier.pth"
    clf.write_bytes(b"weights")
    path = tmp_path / PRIOR_FILE
    write_class_prior(path, NAMES, [0.0, 0.0, 1.5, -0.5], classifier_sha256=file_sha256(clf), meta={"x": 1})
    assert load_class_prior(path, NAMES, file_sha256(clf)) == [0.0, 0.0, 1.5, -0.5]
    assert json.loads(path.read_text())["fit"] == {"x": 1}


def test_prior_for_other_classes_or_classifier_or_version_is_refused(tmp_path):
    clf = tmp_path / "classifier.pth"
    clf.write_bytes(b"weights")
    path = tmp_path / PRIOR_FILE
    write_class_prior(path, NAMES, [0.0, 0.0, 1.0, 1.0], classifier_sha256=file_sha256(clf))
    with pytest.raises(ClassPriorError, match="classes"):
        load_class_prior(path, NAMES + ["extra"])
    with pytest.raises(ClassPriorError, match="classes"):
        load_class_prior(path, list(reversed(NAMES)))
    clf.write_bytes(b"retrained weights")
    with pytest.raises(ClassPriorError, match="another classifier"):
        load_class_prior(path, NAMES, file_sha256(clf))
    doc = json.loads(path.read_text())
    doc["version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ClassPriorError, match="version"):
        load_class_prior(path, NAMES)
    path.write_text("{not json")
    with pytest.raises(ClassPriorError, match="cannot be read"):
        load_class_prior(path, NAMES)


def test_bad_offsets_are_refused(tmp_path):
    with pytest.raises(ClassPriorError):
        write_class_prior(tmp_path / "p.json", NAMES, [0.0, 1.0], classifier_sha256="x")
    with pytest.raises(ClassPriorError):
        write_class_prior(tmp_path / "p.json", NAMES, [0.0, float("nan"), 0.0, 0.0], classifier_sha256="x")
    doc = {"version": 1, "label_names": NAMES, "bias": [0, "a", 0, 0], "classifier_sha256": "x"}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(ClassPriorError, match="not a number"):
        load_class_prior(tmp_path / "p.json", NAMES)


def _toy(seed=0):
    """Logits of a toy classifier: classes 0, 1 real (many samples); 2, 3 added, each leaning toward its
    look-alike (2 ~ 0, 3 ~ 1) by a margin the prior can undo."""
    rng = np.random.default_rng(seed)
    real_y = rng.integers(0, 2, 2000)
    real = rng.normal(0, 1, (2000, 4))
    real[np.arange(2000), real_y] += 6.0
    real[:, 2] += np.where(real_y == 0, 1.0, -3.0)
    real[:, 3] += np.where(real_y == 1, 1.0, -3.0)
    made_y = np.repeat([2, 3], 200)
    made = rng.normal(0, 1, (400, 4))
    made[np.arange(400), made_y] += 3.0
    made[np.arange(400), made_y - 2] += 3.5  # the look-alike still wins most of the time
    return real, real_y, made, made_y


def test_fit_lifts_the_added_classes_within_the_real_budget():
    real, real_y, made, made_y = _toy()
    acc = lambda z, y, b, c: float(((z + b).argmax(1) == y)[y == c].mean())  # noqa: E731
    b0 = np.zeros(4)
    b = fit_prior(real, real_y, made, made_y, [2, 3], budget=0.01, cap=0.95, step=0.25)
    assert b[0] == b[1] == 0.0  # only the added classes move
    assert b[2] > 0 and b[3] > 0
    for c in (2, 3):
        assert acc(made, made_y, b, c) > acc(made, made_y, b0, c) + 0.2
    err0 = float(((real + b0).argmax(1) != real_y).mean())
    err = float(((real + b).argmax(1) != real_y).mean())
    assert err <= err0 + 0.01 + 1e-9
    # no budget: no real symbol may be lost, so the offsets stay smaller
    tight = fit_prior(real, real_y, made, made_y, [2, 3], budget=0.0, step=0.25)
    assert float(((real + tight).argmax(1) != real_y).mean()) <= err0 + 1e-12
    assert tight.sum() <= b.sum()


def test_fit_rejects_bad_input():
    real, real_y, made, made_y = _toy()
    with pytest.raises(ValueError):
        fit_prior(real[:, :3], real_y, made, made_y, [2, 3])
    with pytest.raises(ValueError):
        fit_prior(real, real_y[:-1], made, made_y, [2, 3])
    with pytest.raises(ValueError):
        fit_prior(real, real_y, made, made_y, [2, 3], budget=-0.1)
    with pytest.raises(ValueError):
        fit_prior(real, real_y, made[made_y == 2], made_y[made_y == 2], [2, 3])


torch = pytest.importorskip("torch")


class _Clf:
    """A stand-in for mathnote-ocr's SymbolClassifier: label names and a model with an fc2 layer."""

    def __init__(self) -> None:
        self.label_names = list(NAMES)
        self.model = torch.nn.Module()
        self.model.fc2 = torch.nn.Linear(3, 4)
        with torch.no_grad():
            self.model.fc2.bias.zero_()


def test_engine_applies_a_matching_prior_once_and_warns_on_a_stale_one(tmp_path):
    from whiteboard_app.recognition.class_prior import apply_class_prior

    clf_file = tmp_path / "classifier.pth"
    clf_file.write_bytes(b"weights")
    clf = _Clf()
    assert apply_class_prior(clf, tmp_path, clf_file) is False  # no file: nothing to do
    write_class_prior(
        tmp_path / PRIOR_FILE, NAMES, [0.0, 0.0, 2.0, 1.0], classifier_sha256=file_sha256(clf_file)
    )
    assert apply_class_prior(clf, tmp_path, clf_file) is True
    assert clf.model.fc2.bias.tolist() == [0.0, 0.0, 2.0, 1.0]
    clf_file.write_bytes(b"retrained")
    fresh = _Clf()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert apply_class_prior(fresh, tmp_path, clf_file) is False
    assert any("class prior not applied" in str(w.message) for w in caught)
    assert fresh.model.fc2.bias.tolist() == [0.0] * 4


def test_lift_only_never_lowers_a_class():
    real, real_y, made, made_y = _toy(1)
    made[made_y == 3, 3] += 6.0  # class 3 is read easily on made ink ...
    real[real_y == 1, 3] += 4.5  # ... and takes some real 1s: lowering it would buy real accuracy
    both = fit_prior(real, real_y, made, made_y, [2, 3], budget=0.0, step=0.5, lift_only=False)
    lift = fit_prior(real, real_y, made, made_y, [2, 3], budget=0.0, step=0.5)
    assert (lift >= 0).all()
    assert both.min() < 0  # the two-way search does take the free lowering


def test_shipped_prior_fits_the_shipped_classifier():
    """A class_prior.json in the bundled weights was fitted for the bundled classifier.pth (a retrained
    classifier needs the prior re-fitted: the engine would otherwise skip it with a warning), and moves
    only added classes, upwards."""
    from whiteboard_app.recognition.trained import CLASSIFIER_FILE, default_weights_dir
    from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES

    weights = default_weights_dir()
    if not (weights / PRIOR_FILE).exists():
        pytest.skip("no class prior shipped")
    clf = weights / CLASSIFIER_FILE
    names = torch.load(clf, map_location="cpu", weights_only=False)["label_names"]
    bias = load_class_prior(weights / PRIOR_FILE, names, file_sha256(clf))
    for name, b in zip(names, bias, strict=True):
        assert b == 0.0 or (name in ADDED_CLASSES and b > 0)


def test_engine_loads_the_prior_beside_its_weights(tmp_path):
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.trained import CLASSIFIER_FILE, TrainedRecognizer, default_weights_dir

    src = default_weights_dir()
    for f in src.iterdir():
        if f.is_file() and f.name != PRIOR_FILE:
            (tmp_path / f.name).symlink_to(f)
    clf = tmp_path / CLASSIFIER_FILE
    ck = torch.load(clf, map_location="cpu", weights_only=False)
    names = list(ck["label_names"])
    bias = [0.0] * len(names)
    bias[names.index("omega")] = 1.5
    write_class_prior(tmp_path / PRIOR_FILE, names, bias, classifier_sha256=file_sha256(clf))
    ocr = TrainedRecognizer(weights_dir=tmp_path)._load()
    moved = ocr.classifier.model.fc2.bias.detach() - ck["model_state_dict"]["fc2.bias"]
    assert moved[names.index("omega")].item() == pytest.approx(1.5)
    assert float(moved.abs().sum()) == pytest.approx(1.5)
