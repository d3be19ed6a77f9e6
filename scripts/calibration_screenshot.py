"""Grab docs/screenshots/calibration-1024x768.png: the calibration screen on a 1024x768 screen, part way
through (two symbols done, the third being drawn), with the bundled recogniser's live readings.

The ink is the project's own generated ink (``ink.synth``), not a person's: it goes through the screen as a
pen's would (each box's ink is taken as a sample and previewed by the recogniser, adapted to the samples
before it, on the screen's worker thread). Run under X (Xvfb) so the whole screen can be grabbed::

    xvfb-run -a -s "-screen 0 1024x768x24" env QT_QPA_PLATFORM=xcb python scripts/calibration_screenshot.py [OUT.png]

Prints what each box's preview read.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    import whiteboard_app.ui.pyside_guard  # noqa: F401
    from whiteboard_app.ink import StepInk
    from whiteboard_app.ink.page import Page
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.trained import TrainedRecognizer
    from whiteboard_app.ui.calibration_dialog import CalibrationDialog

    app = QApplication.instance() or QApplication(sys.argv[:1])
    rec = TrainedRecognizer(threads=1)
    rec.load()

    def wait(until, timeout_s=120.0):
        t0 = time.monotonic()
        while not until():
            app.processEvents()
            time.sleep(0.02)
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError("the screen did not get there in time")

    with tempfile.TemporaryDirectory() as tmp:
        dialog = CalibrationDialog(rec, tmp)
        dialog.move(10, 10)
        dialog.show()
        for label, boxes in ((r"\partial", 3), ("K", 3), (r"\nabla", 2)):
            dialog.select(label)
            for k in range(boxes):
                box = dialog.boxes[k]
                ink = synthesize(label, seed=40 + k, height_px=90).ink
                x0 = min(p.x for s in ink.strokes for p in s.points)
                y0 = min(p.y for s in ink.strokes for p in s.points)
                moved = StepInk(tuple(s.translated(60 - x0, 50 - y0) for s in ink.strokes))
                box.page_model.set_page(Page.from_steps([moved]))
                n = len(dialog.previews)
                dialog.take_sample(box)
                wait(lambda n=n: len(dialog.previews) > n)
                print(label, k + 1, "->", dialog.previews[-1].reading, dialog.previews[-1].error or "")
        wait(lambda: dialog.pool.running() == 0)
        app.processEvents()
        screen = app.primaryScreen()
        pix = screen.grabWindow(0)
        if pix.width() < 200:  # no X screen to grab (offscreen): the dialog alone
            pix = dialog.grab()
        out.parent.mkdir(parents=True, exist_ok=True)
        pix.save(str(out))
        print(f"saved {out} ({pix.width()}x{pix.height()})")
        dialog.done(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/calibration-1024x768.png")))
