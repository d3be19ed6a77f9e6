"""Paint time per new stroke segment with 5,000 strokes on the board (floor: median < 4 ms).

A ``BoardCanvas`` (offscreen) holds a page of 50 steps x 100 handwriting-like strokes (about 24 points
each). For every new pen sample we time, in one go, the QTabletEvent's delivery (input adapter, pen
tool, painting the new segment into the cached board) and the repaint Qt then does
(``QApplication.processEvents``), i.e. what one sample costs the event loop. Two views: scale 1 (a few
bands visible) and zoom-to-fit (all 5,000 strokes visible). For comparison, the same run times a full
repaint of the widget and a full re-render of the cached board from the model (what a naive canvas would
do per point), the commit at pen-up (undo command, model signals, region repaint), and stroke-eraser
moves across written lines.

Usage: ``python -m benchmarks.paint [--quick]`` (offscreen); writes the "paint" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication

from benchmarks._report import machine, median, p95, write_section
from whiteboard_app.ink.model import StepInk, Stroke
from whiteboard_app.ink.page import Page
from whiteboard_app.ui.canvas import BoardCanvas
from whiteboard_app.ui.page_model import PageModel

N_STEPS, PER_STEP, POINTS = 50, 100, 24


def handwriting_page(rng: random.Random) -> Page:
    """50 steps of 100 strokes, each step two lines of small curly strokes (~24 points, 10-30 px) in its
    own band (180 px apart)."""
    steps = []
    t = 0.0
    for k in range(N_STEPS):
        strokes = []
        for j in range(PER_STEP):
            cx, cy = (
                20 + (j % 50) * 22 + rng.uniform(-3, 3),
                180 * k + 30 + 40 * (j // 50) + rng.uniform(-4, 4),
            )
            r, phase = rng.uniform(5, 14), rng.uniform(0, 6.28)
            pts = []
            for i in range(POINTS):
                a = phase + 5.0 * i / POINTS
                pts.append(
                    (
                        cx + r * math.cos(a) + i * 0.6,
                        cy + r * 0.7 * math.sin(1.3 * a),
                        t,
                        rng.uniform(0.3, 0.9),
                    )
                )
                t += 8
            strokes.append(Stroke.from_xy(pts))
        steps.append(StepInk(tuple(strokes)))
    return Page.from_steps(steps)


DEVICE = QPointingDevice(
    "bench stylus",
    777,
    QInputDevice.DeviceType.Stylus,
    QPointingDevice.PointerType.Pen,
    QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
    1,
    2,
)


def tablet(canvas, kind, x, y, pressure):
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletMove else Qt.MouseButton.LeftButton
    ev = QTabletEvent(
        kind,
        DEVICE,
        QPointF(x, y),
        QPointF(x, y),
        pressure,
        0,
        0,
        0,
        0,
        0,
        Qt.KeyboardModifier.NoModifier,
        button,
        buttons,
    )
    QApplication.sendEvent(canvas, ev)


def time_segments(
    app, canvas, strokes: int, rng: random.Random
) -> tuple[list[float], list[float], list[int]]:
    """Write ``strokes`` strokes of 30 samples; return per-segment ms, per-commit ms, repainted areas."""
    seg_ms, commit_ms, areas = [], [], []
    w, h = canvas.width(), canvas.height()
    for _ in range(strokes):
        x, y = rng.uniform(100, w - 200), rng.uniform(100, h - 100)
        tablet(canvas, QEvent.Type.TabletPress, x, y, 0.5)
        app.processEvents()
        for i in range(30):
            x += 3 + rng.uniform(-1, 1)
            y += 2 * math.sin(i / 3)
            t0 = time.perf_counter()
            tablet(canvas, QEvent.Type.TabletMove, x, y, 0.4 + 0.02 * i)
            app.processEvents()
            seg_ms.append((time.perf_counter() - t0) * 1000)
            r = canvas.last_paint_rect
            areas.append(r.width() * r.height())
        t0 = time.perf_counter()
        tablet(canvas, QEvent.Type.TabletRelease, x, y, 0.0)
        app.processEvents()
        commit_ms.append((time.perf_counter() - t0) * 1000)
    return seg_ms, commit_ms, areas


def time_eraser(app, canvas, sweeps: int, rng: random.Random) -> tuple[list[float], int]:
    """Sweep the stroke eraser across written lines; return per-move ms and the strokes erased."""
    canvas.set_tool("eraser")
    before = canvas.model.page.stroke_count
    ms = []
    for _ in range(sweeps):
        # a vertical sweep through the first two bands' ink, where the strokes are
        x = rng.uniform(60, 900)
        y0, y1 = canvas.canvas_to_view(0, 20)[1], canvas.canvas_to_view(0, 260)[1]
        tablet(canvas, QEvent.Type.TabletPress, x, y0, 0.5)
        for i in range(1, 21):
            t0 = time.perf_counter()
            tablet(canvas, QEvent.Type.TabletMove, x + i % 2, y0 + (y1 - y0) * i / 20, 0.5)
            app.processEvents()
            ms.append((time.perf_counter() - t0) * 1000)
        tablet(canvas, QEvent.Type.TabletRelease, x, y1, 0.0)
        app.processEvents()
    canvas.set_tool("pen")
    return ms, before - canvas.model.page.stroke_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer strokes written")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    rng = random.Random(7)
    page = handwriting_page(rng)
    assert page.stroke_count == N_STEPS * PER_STEP
    model = PageModel(page)
    canvas = BoardCanvas(model)
    canvas.resize(1400, 1000)
    canvas.show()
    app.processEvents()
    canvas.set_stylus_only(True)
    n = 10 if args.quick else 40
    rows = []
    for label, fit in (
        ("scale 1 (about 6 bands, 600 strokes in view)", False),
        ("zoom to fit (all 5,000 strokes in view)", True),
    ):
        if fit:
            canvas.zoom_to_fit()
            app.processEvents()
        seg, commit, areas = time_segments(app, canvas, n, rng)
        full = []
        render = []
        for _ in range(5 if args.quick else 10):
            t0 = time.perf_counter()
            canvas.repaint()
            full.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            canvas._full_render()
            app.processEvents()
            render.append((time.perf_counter() - t0) * 1000)
        rows.append((label, seg, commit, areas, full, render))
        print(
            f"{label}: segment median {median(seg):.3f} ms p95 {p95(seg):.3f} ms; commit median {median(commit):.2f} ms;"
            f" full repaint {median(full):.2f} ms; full re-render {median(render):.1f} ms",
            flush=True,
        )
    canvas.zoom_by(1.0 / canvas.scale())
    canvas.pan_by(36 - canvas.view_offset()[0], 16 - canvas.view_offset()[1])
    app.processEvents()
    eraser_ms, erased = time_eraser(app, canvas, 5 if args.quick else 15, rng)
    print(
        f"eraser: move median {median(eraser_ms):.3f} ms p95 {p95(eraser_ms):.3f} ms, {erased} strokes erased",
        flush=True,
    )
    total_area = canvas.width() * canvas.height()
    lines = [
        "## Paint: time per new stroke segment (board canvas)",
        "",
        f"{machine()}; offscreen Qt, canvas 1400x1000 px, {page.stroke_count} strokes on the board "
        f"({N_STEPS} steps x {PER_STEP} strokes x {POINTS} points), {n} strokes of 30 samples written per view. "
        "Segment = QTabletEvent delivery + the repaint it causes; floor: median < 4 ms.",
        "",
        "| view | segment median | segment p95 | repainted area per segment (median) | pen-up commit median "
        "| full widget repaint from the cache (median) | full re-render from the model (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, seg, commit, areas, full, render in rows:
        lines.append(
            f"| {label} | {median(seg):.3f} ms | {p95(seg):.3f} ms | {median(areas)} px "
            f"({100 * median(areas) / total_area:.3f} % of the board) | {median(commit):.2f} ms "
            f"| {median(full):.2f} ms | {median(render):.1f} ms |"
        )
    worst = max(median(r[1]) for r in rows)
    lines += [
        "",
        f"Stroke eraser at scale 1 on the same board: {len(eraser_ms)} moves, median "
        f"{median(eraser_ms):.3f} ms, p95 {p95(eraser_ms):.3f} ms ({erased} strokes erased; candidates come "
        "from cached stroke and step boxes, not a scan of every point).",
    ]
    ratio = min(median(r[5]) / median(r[1]) for r in rows)
    lines += [
        "",
        f"Floor (median < 4 ms): {'met' if worst < 4 else 'NOT met'} (worst median {worst:.3f} ms). "
        "A naive canvas re-rendering the board per sample would pay the last column per point: "
        f"at least {ratio:.0f} x the incremental segment cost measured in the same run.",
    ]
    write_section("paint", "\n".join(lines))
    canvas.close()
    return 0 if worst < 4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
