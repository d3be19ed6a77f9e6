"""Exports of a saved board open again: PNG read back, PDF rasterised with pdftoppm, InkML parsed back;
the ``export`` command; ui.cli keeps PySide6 out of the other commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtGui import QImage  # noqa: E402

from tests.test_sessions_board import record_attempt  # noqa: E402
from whiteboard_app.ink.io import read_inkml  # noqa: E402
from whiteboard_app.sessions import FakeClock  # noqa: E402
from whiteboard_app.sessions.store import BoardStore  # noqa: E402
from whiteboard_app.ui.export import (  # noqa: E402
    ExportError,
    board_page,
    export_board,
    export_inkml,
    export_pdf,
    export_png,
    sheet_size,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def board():
    s = record_attempt(FakeClock(), verdicts={1: "wrong"}, think_ms=2_000, finish=False)
    s.erase_strokes([s.step(0).strokes[-1].stroke.id])  # erased ink is not exported
    s.record_correction(2, r"\sigma'(x)=\sigma(x)\,(1-\sigma(x))")
    s.finish()
    s.set_self_grade("hard")
    return s.board()


def ink_stats(img: QImage, x0: int, x1: int, y0: int, y1: int, step: int = 2) -> tuple[int, int]:
    """(dark pixels, red pixels) in a box, sampling every ``step`` px."""
    dark = red = 0
    for y in range(max(0, y0), min(img.height(), y1), step):
        for x in range(max(0, x0), min(img.width(), x1), step):
            c = img.pixelColor(x, y)
            if c.red() < 90 and c.green() < 90 and c.blue() < 90:
                dark += 1
            if c.red() - max(c.green(), c.blue()) > 60:
                red += 1
    return dark, red


def test_png_shows_the_ink_and_the_verdicts(board, tmp_path, qapp):
    path = export_png(board, tmp_path / "b.png", width=800)
    img = QImage(str(path))
    assert not img.isNull() and img.width() == 800
    assert img.height() == round(sheet_size(board, 800).height())
    ink_w = int(800 * 0.62)
    # ink in the left column, a red "wrong" label in the right column, nothing red in the ink
    dark, red = ink_stats(img, 0, ink_w, 96, img.height() - 30)
    assert dark > 200 and red == 0
    assert ink_stats(img, ink_w, 800, 96, img.height())[1] > 5


def test_pdf_opens_with_pdftoppm(board, tmp_path, qapp):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: run scripts/install-system-deps.sh")
    pdf = export_pdf(board, tmp_path / "b.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    img = QImage(str(tmp_path / "page.png"))
    assert not img.isNull()
    # A4 landscape (the sheet is wider than tall) at 60 dpi: 702 x 496 px
    assert (img.width(), img.height()) == pytest.approx((702, 496), abs=3)
    dark, red = ink_stats(img, 0, img.width(), 0, img.height(), step=1)
    assert dark > 100 and red > 0


def test_inkml_round_trip(board, tmp_path):
    path = export_inkml(board, tmp_path / "b.inkml")
    records = read_inkml(path)
    assert [r.id for r in records] == ["step-1", "step-2", "step-3"]
    assert [r.latex for r in records] == [s.latex for s in board.steps]
    assert records[2].latex == r"\sigma'(x)=\sigma(x)\,(1-\sigma(x))"  # the corrected reading
    for r, s in zip(records, board.steps, strict=True):
        assert len(r.ink) == len(s.ink)  # erased strokes left out
        assert [p.x for p in r.ink.strokes[0].points] == [p.x for p in s.ink.strokes[0].points]
        # times are session ms: the first point of a step's first stroke is its pen-down
        first = next(e for e in s.strokes if e.erased_ms is None)
        assert r.ink.strokes[0].points[0].t == pytest.approx(first.start_ms, abs=0.1)


def test_export_format_errors(board, tmp_path):
    with pytest.raises(ExportError, match="unknown export format"):
        export_board(board, tmp_path / "b.svg")
    assert len(board_page(board).steps) == 3


def _run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "whiteboard_app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {})),
    )


def test_export_command(board, tmp_path):
    path = BoardStore(tmp_path).save(board)
    r = _run_cli("export", str(path), "--format", "inkml", "-o", str(tmp_path / "out.inkml"))
    assert r.returncode == 0, r.stderr
    assert [x.latex for x in read_inkml(tmp_path / "out.inkml")] == [s.latex for s in board.steps]
    r = _run_cli("export", str(path), "--format", "png", "-o", str(tmp_path / "out.png"))
    assert r.returncode == 0, r.stderr
    assert not QImage(str(tmp_path / "out.png")).isNull()
    (tmp_path / "bad.board.json").write_text("{")
    r = _run_cli("export", str(tmp_path / "bad.board.json"), "--format", "png", "-o", str(tmp_path / "x.png"))
    assert r.returncode == 2 and "truncated JSON" in r.stderr and r.stderr.count("\n") == 1


def test_cli_commands_do_not_load_qt(tmp_path):
    code = (
        "import sys; from whiteboard_app.cli import main; rc = main(['boards', 'list', '--json']); "
        "print(int('PySide6' in sys.modules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=dict(os.environ, WHITEBOARD_DATA_DIR=str(tmp_path)),
    )
    out = r.stdout.strip().splitlines()
    assert r.returncode == 0, r.stderr
    assert json.loads("\n".join(out[:-1])) == {"boards": [], "errors": []}
    assert out[-1] == "0"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
@pytest.mark.parametrize("fmt", ["inkml", "png", "pdf"])
def test_export_never_replaces_a_device_or_fifo(board, tmp_path, fmt):
    """Issue 15 (6): as root, ``-o /dev/full`` replaced the device node. A FIFO stands in for the device
    here (the same check: not a regular file): refused with one line, left as it was, nothing left over."""
    import stat

    path = BoardStore(tmp_path / "b").save(board)
    target = tmp_path / f"out.{fmt}"
    os.mkfifo(target)
    try:
        r = _run_cli("export", str(path), "--format", fmt, "-o", str(target))
    except subprocess.TimeoutExpired:  # the old code opened the FIFO for writing and blocked
        pytest.fail("export blocked on the FIFO")
    assert r.returncode == 1 and "not a regular file" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert stat.S_ISFIFO(os.stat(target).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", target.name]


@pytest.mark.parametrize("fmt", ["inkml", "png"])
def test_a_failed_export_leaves_no_partial_file_and_keeps_the_old_one(
    board, tmp_path, qapp, monkeypatch, fmt
):
    """Issue 15 (6): on a full disk a truncated PNG and a 0-byte .inkml.tmp stayed behind. The write now
    goes to a temporary file that is removed on failure; the file already at the target is kept."""
    import errno

    import whiteboard_app.safeio as safeio

    target = tmp_path / f"old.{fmt}"
    target.write_bytes(b"the previous export")
    real_replace = os.replace

    def disk_full(src, dst):  # the data went out, then the disk refuses (ENOSPC at the last moment)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(safeio.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        export_board(board, target, fmt)
    monkeypatch.setattr(safeio.os, "replace", real_replace)
    assert target.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert export_board(board, target, fmt) == target and target.read_bytes() != b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
