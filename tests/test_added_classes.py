"""The shipped classifier's added classes (docs/recogniser.md, "Added classes") and how the engine loads
its weights: the grouper keeps the stroke vectors it was trained on (grouper_vectors.pth)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mathnote_ocr")

from whiteboard_app.recognition.trained import (  # noqa: E402
    GROUPER_VECTORS_FILE,
    TrainedRecognizer,
    default_weights_dir,
    latex_to_name,
    name_to_latex,
)
from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES, SHAPE_ALIASES  # noqa: E402


def test_grouper_reads_the_vectors_it_was_trained_on(tmp_path):
    grp, clf = tmp_path / "grouper.pth", tmp_path / "classifier.pth"
    torch.save({"classifier": "own"}, grp)
    assert TrainedRecognizer._grouper_classifier(grp, clf) == str(clf)
    torch.save({}, tmp_path / GROUPER_VECTORS_FILE)
    assert TrainedRecognizer._grouper_classifier(grp, clf) == str(tmp_path / GROUPER_VECTORS_FILE)
    torch.save({"classifier": "bundled"}, grp)
    assert TrainedRecognizer._grouper_classifier(grp, clf) is None


def test_shipped_classifier_has_every_added_class_and_keeps_the_old_ones():
    weights = default_weights_dir()
    ck = torch.load(weights / "classifier.pth", map_location="cpu", weights_only=False)
    old = torch.load(weights / GROUPER_VECTORS_FILE, map_location="cpu", weights_only=False)
    names = ck["label_names"]
    assert names[: len(old["label_names"])] == old["label_names"]  # old classes keep their rows
    assert set(ADDED_CLASSES) <= set(names)
    assert ck["model_state_dict"]["fc2.weight"].shape[0] == len(names) == ck["prototypes"].shape[0]
    # every added class has a computed prototype (writer adaptation compares with it)
    for c in ADDED_CLASSES:
        assert float(ck["prototypes"][names.index(c)].abs().sum()) > 0


@pytest.mark.parametrize("cls", sorted(ADDED_CLASSES))
def test_added_class_latex_round_trips(cls):
    latex = ADDED_CLASSES[cls]
    assert name_to_latex(cls) == latex
    assert latex_to_name(latex) == cls  # a calibration label names the same class


def test_aliases_name_existing_classes():
    names = torch.load(default_weights_dir() / "classifier.pth", map_location="cpu", weights_only=False)[
        "label_names"
    ]
    for alias, shape in SHAPE_ALIASES.items():
        assert latex_to_name(shape) in names  # written as a class the classifier has
        assert alias not in ADDED_CLASSES.values()
