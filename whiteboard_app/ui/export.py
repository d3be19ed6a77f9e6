"""Export a saved board: PNG (QImage + QPainter), PDF (QPdfWriter), InkML (ink.io).

PNG and PDF show one sheet: a header (card, date, time against target, self-grade, freezes), the ink
as on the board (drawn by the canvas's ``render_to``) and, beside each step's band, the reading
rendered as maths, its verdict (coloured) and its split time. The PDF is one A4 page, the sheet scaled
to fit. InkML holds one trace group per step with the recognised LaTeX as its ``truth`` annotation;
point times are session ms (0 = start of the attempt) so the timing survives the export.

PNG and PDF need a QApplication (``ensure_app()`` makes an offscreen one for the CLI).

Every format is written to a temporary file in the target folder and renamed over the target only when
complete (``safeio.atomic_write_path``): a failure (full disk, unwritable folder) leaves no partial
file, and a target that is not a regular file (a device such as /dev/full, a FIFO, a folder) is refused
with an ExportError, never replaced.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from whiteboard_app.ink.model import Point, StepInk
from whiteboard_app.ink.page import Page
from whiteboard_app.safeio import UnsafeFileError, atomic_write_path
from whiteboard_app.sessions import wording
from whiteboard_app.sessions.board import Board
from whiteboard_app.ui import pyside_guard  # noqa: F401  (PySide6 6.12 None refcount defect)

FORMATS = ("png", "pdf", "inkml")
SHEET_WIDTH = 1600.0
INK_FRACTION = 0.62
HEADER_H = 96.0
FOOTER_H = 30.0
_VERDICT_RGB = {
    "correct": (46, 125, 50),
    "wrong": (179, 38, 30),
    "unparsed": (110, 110, 110),
    "cannot_check": (196, 134, 0),
}


class ExportError(RuntimeError):
    """An export failed (unknown format, nothing to render, a file that cannot be written)."""


def ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app


def board_page(board: Board) -> Page:
    """The board's final ink laid out as bands, one per step index (0 .. last)."""
    n = max((s.index for s in board.steps), default=0) + 1
    inks = [StepInk()] * n
    for s in board.steps:
        inks[s.index] = s.ink
    return Page.from_steps(inks)


def _extent(page: Page) -> tuple[float, float, float, float]:
    """Page extent in canvas px, as the canvas's render_to computes it (left, top, right, bottom)."""
    from whiteboard_app.ui.canvas import BoardCanvas

    return BoardCanvas._page_extent(page)


def sheet_size(board: Board, width: float = SHEET_WIDTH) -> QSizeF:
    """Size (logical px) of the sheet ``paint_board`` draws for ``board`` at ``width``."""
    left, top, right, bottom = _extent(board_page(board))
    ink_w = width * INK_FRACTION
    return QSizeF(width, HEADER_H + ink_w * (bottom - top) / max(1.0, right - left) + FOOTER_H)


def _fmt(ms: float) -> str:
    s = int(max(0.0, ms) // 1000)
    return f"{s // 60}:{s % 60:02d}"


def paint_board(painter: QPainter, board: Board, width: float = SHEET_WIDTH) -> None:
    """Draw the sheet of ``board`` with its top-left corner at the painter's origin (logical px)."""
    from whiteboard_app.ui.canvas import BoardCanvas
    from whiteboard_app.ui.mathtext import render_pixmap
    from whiteboard_app.ui.page_model import PageModel

    page = board_page(board)
    size = sheet_size(board, width)
    painter.fillRect(QRectF(QPointF(0, 0), size), QColor("white"))
    # header
    title = board.card_title or board.card_id
    font = QFont("DejaVu Sans")
    font.setPixelSize(30)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor(20, 24, 36))
    painter.drawText(
        QRectF(24, 10, width - 48, 40), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title
    )
    font.setPixelSize(19)
    font.setBold(False)
    painter.setFont(font)
    target = f" (target {_fmt(board.target_s * 1000)})" if board.target_s else ""
    freezes = board.freezes()
    words = [
        f"{board.started_at:%Y-%m-%d %H:%M} UTC",
        f"time {_fmt(board.duration_ms)}{target}",
        f"{len(freezes)} freeze{'s' if len(freezes) != 1 else ''}",
    ]
    if board.self_grade:
        words.append(f"self-grade {board.self_grade}")
    if not board.finished:
        words.append("unfinished")
    painter.drawText(
        QRectF(24, 52, width - 48, 30),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        "   ·   ".join(words),
    )
    painter.setPen(QPen(QColor(200, 204, 214), 1.5))
    painter.drawLine(QPointF(0, HEADER_H - 4), QPointF(width, HEADER_H - 4))
    # ink, drawn by the canvas itself
    left, top, right, bottom = _extent(page)
    ink_w = width * INK_FRACTION
    scale = ink_w / max(1.0, right - left)
    ink_rect = QRectF(0, HEADER_H, ink_w, (bottom - top) * scale)
    model = PageModel(page)
    canvas = BoardCanvas(model)  # never shown; freed with the Python objects when this function returns
    canvas.render_to(painter, ink_rect)
    # readings, verdicts and splits beside each band
    col_x = ink_w + 16
    col_w = width - col_x - 16
    splits = {sp.step: sp.ms for sp in board.splits()}
    small = QFont(font)
    small.setPixelSize(16)
    for s in sorted(board.steps, key=lambda s: s.index):
        band_top, band_bottom = page.band(s.index)
        y0 = HEADER_H + (band_top - top) * scale
        y1 = HEADER_H + (band_bottom - top) * scale
        verdict = s.verdict.verdict if s.verdict else None
        painter.setFont(small)
        painter.setPen(QColor(*_VERDICT_RGB.get(verdict or "", (90, 90, 90))))
        label = f"{s.index + 1}. {wording.short_label(s.verdict)}"  # the window's words (sessions.wording)
        if s.misread:
            label += " (reading corrected)"
        if s.answer_changed:  # the maths was changed: the first verdict stands beside it
            label += f" ({s.change_words()})"
        if s.index in splits:
            label += f"   {_fmt(splits[s.index])}"
        painter.drawText(QRectF(col_x, y0 + 4, col_w, 24), Qt.AlignmentFlag.AlignLeft, label)
        if s.latex:
            pix = render_pixmap(s.latex, 22.0)
            box = QRectF(col_x, y0 + 30, col_w, max(24.0, y1 - y0 - 36))
            if pix is not None and not pix.isNull():
                k = min(1.0, box.width() / pix.width(), box.height() / pix.height())
                painter.drawPixmap(
                    QRectF(box.left(), box.top(), pix.width() * k, pix.height() * k), pix, QRectF(pix.rect())
                )
            else:
                painter.setPen(QColor(20, 24, 36))
                painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap, s.latex)
    painter.setFont(small)
    painter.setPen(QColor(150, 150, 160))
    painter.drawText(
        QRectF(24, size.height() - FOOTER_H, width - 48, FOOTER_H),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        f"whiteboard-app board {board.board_id}",
    )


def export_png(board: Board, path: str | os.PathLike[str], width: float = SHEET_WIDTH) -> Path:
    """Write the sheet of ``board`` as a PNG ``width`` px wide. Raises ExportError when it cannot be saved."""
    ensure_app()
    size = sheet_size(board, width).toSize()
    img = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(QColor("white"))
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_board(painter, board, width)
    painter.end()
    path = Path(path)
    try:
        with atomic_write_path(path) as tmp:  # temp file beside it, renamed when complete
            if not img.save(str(tmp), "PNG"):
                raise ExportError(f"{path}: cannot write the PNG")
    except UnsafeFileError as exc:
        raise ExportError(str(exc)) from exc
    return path


def export_pdf(board: Board, path: str | os.PathLike[str]) -> Path:
    """Write the sheet of ``board`` as a one-page A4 PDF (QPdfWriter, 150 dpi), scaled to fit."""
    ensure_app()
    path = Path(path)
    try:
        with atomic_write_path(path) as tmp:  # temp file beside it, renamed when complete
            _write_pdf(board, path, tmp)
    except UnsafeFileError as exc:
        raise ExportError(str(exc)) from exc
    return path


def _write_pdf(board: Board, path: Path, tmp: Path) -> None:
    writer = QPdfWriter(str(tmp))
    writer.setResolution(150)
    writer.setTitle(f"{board.card_title or board.card_id} {board.started_at:%Y-%m-%d %H:%M}")
    writer.setCreator("whiteboard-app")
    size = sheet_size(board)
    orientation = (
        QPageLayout.Orientation.Landscape
        if size.width() > size.height()
        else QPageLayout.Orientation.Portrait
    )
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            orientation,
            QMarginsF(10, 10, 10, 10),
            QPageLayout.Unit.Millimeter,
        )
    )
    painter = QPainter()
    if not painter.begin(writer):
        raise ExportError(f"{path}: cannot write the PDF")
    area = writer.pageLayout().paintRectPixels(writer.resolution())
    k = min(area.width() / size.width(), area.height() / size.height())
    painter.scale(k, k)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_board(painter, board)
    if not painter.end():
        raise ExportError(f"{path}: cannot write the PDF")
    del painter, writer  # QPdfWriter writes the file out when it is destroyed
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise ExportError(f"{path}: cannot write the PDF")


def board_records(board: Board) -> list:
    """One ``ink.io.InkRecord`` per step with ink: id "step-N", the ink with point times in session ms,
    and the step's current reading as its LaTeX."""
    from whiteboard_app.ink.io import InkRecord

    records = []
    for s in sorted(board.steps, key=lambda s: s.index):
        strokes = []
        for e in s.strokes:
            if e.erased_ms is not None:
                continue
            times = e.point_times()
            strokes.append(
                replace(
                    e.stroke,
                    points=tuple(
                        Point(p.x, p.y, round(t, 1), p.pressure)
                        for p, t in zip(e.stroke.points, times, strict=True)
                    ),
                )
            )
        if strokes:
            records.append(InkRecord(f"step-{s.index + 1}", StepInk(tuple(strokes)), s.latex))
    return records


def export_inkml(board: Board, path: str | os.PathLike[str]) -> Path:
    """Write the board's ink as InkML (one trace group per step, the reading as ``truth`` annotation).
    Raises ExportError for a board without ink."""
    from whiteboard_app.ink.io import write_inkml

    records = board_records(board)
    if not records:
        raise ExportError("the board has no ink to export")
    path = Path(path)
    try:
        write_inkml(path, records)  # atomic: safeio.atomic_write_text
    except UnsafeFileError as exc:
        raise ExportError(str(exc)) from exc
    return path


def export_board(board: Board, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Export in ``fmt`` ("png", "pdf", "inkml"; default: from the file's suffix)."""
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return {"png": export_png, "pdf": export_pdf, "inkml": export_inkml}[fmt](board, path)
