"""The calibration screen (ui/calibration_dialog.py): tick symbols, draw three samples of each with a
synthesised stylus, see after each sample what the recogniser now reads (off the UI thread), redo one
box, skip a symbol, Done hands every sample to the recogniser; it fits a 1024x768 screen."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from whiteboard_app.ink.synth import synthesize  # noqa: E402
from whiteboard_app.recognition.base import Candidate, RecognitionResult  # noqa: E402
from whiteboard_app.recognition.calibration import DEFAULT_CHOICE, CalibrationStore  # noqa: E402
from whiteboard_app.ui.calibration_dialog import CalibrationDialog  # noqa: E402

from .tablet import write_ink  # noqa: E402


class ShapeEngine:
    """Reads ink as the label of an adapted sample with the same stroke count, else "?"; records the
    threads it ran on and every set_adaptation call."""

    name = "shape"

    def __init__(self):
        self.known: dict[int, str] = {}
        self.threads: set[int] = set()
        self.calls: list[list[str]] = []

    def set_adaptation(self, samples):
        self.threads.add(threading.get_ident())
        self.calls.append([label for label, _s in samples])
        self.known = {len(strokes): label for label, strokes in samples}
        return len(samples)

    def recognize(self, ink, context=None):
        self.threads.add(threading.get_ident())
        return RecognitionResult((Candidate(self.known.get(len(ink.strokes), "?"), 0.0),), engine=self.name)


@pytest.fixture
def screen(qtbot, tmp_path):
    engine = ShapeEngine()
    dialog = CalibrationDialog(engine, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog, engine


def draw(box, latex: str, seed: int) -> None:
    write_ink(box.canvas, synthesize(latex, seed=seed, height_px=60).ink, dx=10, dy=10)


def test_three_samples_with_a_live_reading_after_each(qtbot, screen):
    dialog, engine = screen
    assert dialog.chosen() == list(DEFAULT_CHOICE)  # 15 ML symbols ticked, uppercase included
    assert dialog.current_label == DEFAULT_CHOICE[0] == r"\hat" and dialog.symbol.text() == "^"
    dialog.select(r"\partial")
    assert dialog.symbol.text() == "\u2202"
    for k, box in enumerate(dialog.boxes):
        draw(box, "K", seed=k)  # two strokes each in this synthesiser
        qtbot.waitUntil(lambda b=box: b.reading.text().startswith("now reads"), timeout=5000)
    first, second, third = (b.reading.text() for b in dialog.boxes)
    assert first == "now reads: ? \u2717"  # nothing learnt before the first sample
    assert second == third == "now reads: \u2202 \u2713"  # learnt from the samples before it
    assert [p.adapted for p in dialog.previews] == [0, 1, 2]
    assert threading.get_ident() not in engine.threads  # the engine never ran on the UI thread
    assert CalibrationStore(dialog.store.root).counts() == {r"\partial": 3}
    row = DEFAULT_CHOICE.index(r"\partial")
    assert dialog.choices.item(row).text().startswith("\u2202   \u2713")


def test_redo_skip_next_and_done(qtbot, screen):
    dialog, engine = screen
    box = dialog.boxes[0]
    draw(box, "x", seed=1)
    qtbot.waitUntil(lambda: box.reading.text().startswith("now reads"), timeout=5000)
    assert dialog.store.counts() == {r"\hat": 1}
    box.redo_button.click()
    assert dialog.store.counts() == {} and box.ink().is_empty
    assert box.reading.text() == "sample 1: draw here"

    dialog.skip()  # the hat unticked, on to the next chosen symbol
    assert r"\hat" not in dialog.chosen() and dialog.current_label == DEFAULT_CHOICE[1] == "K"
    dialog.next_symbol()
    dialog.next_symbol()
    assert dialog.current_label == DEFAULT_CHOICE[3] == r"\partial"
    dialog.select("K")
    draw(dialog.boxes[0], "K", seed=4)
    draw(dialog.boxes[1], "K", seed=5)
    dialog.finish()  # the second sample is still in its pause: Done takes it first
    qtbot.waitUntil(lambda: dialog.adapted is not None, timeout=5000)
    assert dialog.adapted == 2 and engine.calls[-1] == ["K", "K"]
    assert dialog.result() == dialog.DialogCode.Accepted


def test_stored_samples_come_back_and_a_symbol_can_be_redrawn(qtbot, tmp_path):
    store = CalibrationStore(tmp_path / "calibration")
    for k in range(3):
        store.add("J", synthesize("J", seed=k).ink)
    dialog = CalibrationDialog(None, tmp_path)  # no recogniser loaded: samples are only stored
    qtbot.addWidget(dialog)
    assert "J" in dialog.chosen()  # ticked because it has samples
    dialog.select("J")
    assert [b.reading.text() for b in dialog.boxes] == ["stored"] * 3
    assert all(not b.ink().is_empty for b in dialog.boxes)
    dialog.boxes[1].redo_button.click()
    draw(dialog.boxes[1], "J", seed=9)
    dialog.finish()
    assert store.counts() == {"J": 3} and dialog.result() == dialog.DialogCode.Accepted


def test_the_screen_fits_1024x768(qtbot, screen):
    dialog, _engine = screen
    assert dialog.width() <= 1000 and dialog.height() <= 700
    hint = dialog.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 740
    assert all(b.canvas.width() >= 200 and b.canvas.height() >= 150 for b in dialog.boxes)


def test_an_engine_that_fails_shows_why(qtbot, tmp_path):
    from whiteboard_app.recognition.base import RecognitionError

    class Broken(ShapeEngine):
        def recognize(self, ink, context=None):
            raise RecognitionError("the model is not loaded")

    dialog = CalibrationDialog(Broken(), tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.boxes[0]
    draw(box, "x", seed=2)
    qtbot.waitUntil(lambda: box.reading.text().startswith("could not read"), timeout=5000)
    assert "the model is not loaded" in box.reading.text()
    assert dialog.store.counts() == {r"\hat": 1}  # the sample is kept all the same


def test_sample_boxes_show_no_step_number_or_active_bar(qtbot, screen):
    from whiteboard_app.ui.canvas import ACTIVE_MARK

    dialog, _engine = screen
    box = dialog.boxes[0]
    assert not box.canvas.step_marks_shown()
    draw(box, r"\partial", seed=3)
    image = box.canvas.grab().toImage()
    # the left edge, where a derivation's canvas draws the active step's bar and the number "1"
    edge = {image.pixelColor(x, y).rgb() for x in range(0, 30) for y in range(0, image.height())}
    assert ACTIVE_MARK.rgb() not in edge
    box.canvas.set_step_marks_shown(True)
    image = box.canvas.grab().toImage()
    edge = {image.pixelColor(x, y).rgb() for x in range(0, 4) for y in range(0, image.height())}
    assert ACTIVE_MARK.rgb() in edge
