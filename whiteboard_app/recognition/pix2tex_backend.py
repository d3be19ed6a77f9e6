"""The ``pix2tex`` engine (optional extra ``whiteboard-app[pix2tex]``): LatexOCR on a rendering of the ink.

pix2tex 0.1.4 (LaTeX-OCR by Lukas Blecher, MIT licence; https://github.com/lukas-blecher/LaTeX-OCR) is an
image-to-LaTeX model (ViT/ResNet encoder + transformer decoder) trained on rendered, printed formulas.
It ships no weights: pix2tex downloads them from its GitHub releases on first use into its own package
folder (``pix2tex/model/checkpoints/weights.pth`` and ``image_resizer.pth``). On a machine without
internet that download fails and this engine says so (:class:`RecognizerUnavailable`); it is a design
comparison, not the default (handwriting is not what it was trained on).

The ink is rasterised by :func:`render` (our own, with PIL): scaled so that the median stroke size is
``stroke_size`` px, drawn black on white with round joins, ``line_width`` px wide, with a margin.
pix2tex gives one reading (no n-best): it becomes a single candidate with score 0.0. Its decoder
samples with a temperature; we seed torch before each call so that the same ink reads the same.

Importing pix2tex takes 10-15 s (transformers, albumentations, pandas); it happens on first use.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import statistics
import threading
import time
from pathlib import Path

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import (
    Candidate,
    RecognitionContext,
    RecognitionError,
    RecognitionResult,
    RecognizerUnavailable,
)

__all__ = ["Pix2TexRecognizer", "available", "default_checkpoint", "render"]

NOT_INSTALLED = (
    "pix2tex is not installed; install the optional extra: "
    "pip install 'whiteboard-app[pix2tex]' (pix2tex==0.1.4)"
)


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec("pix2tex")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def default_checkpoint() -> Path | None:
    """Where pix2tex keeps its downloaded weights, or None when pix2tex is not installed (no import)."""
    base = _package_dir()
    return None if base is None else base / "model" / "checkpoints" / "weights.pth"


def available() -> tuple[bool, str]:
    """(installed?, note). Cheap: pix2tex is not imported. When the weights are not downloaded yet the
    engine is still available (it downloads them on first use, which needs internet); the note says so."""
    ckpt = default_checkpoint()
    if ckpt is None:
        return False, NOT_INSTALLED
    if not ckpt.exists():
        return True, "pix2tex's weights are not downloaded yet: first use downloads them (needs internet)"
    return True, ""


def render(ink: StepInk, stroke_size: float = 20.0, line_width: int = 3, margin: int = 12):
    """The ink as a PIL ``L`` image (black ink on white), scaled so that the median stroke size (the
    larger side of each stroke's bounding box) is ``stroke_size`` px. Raises ValueError for empty ink."""
    from PIL import Image, ImageDraw

    if ink.is_empty:
        raise ValueError("nothing to render: the ink is empty")
    box = ink.bbox
    sizes = [v for v in (max(s.bbox.width, s.bbox.height) for s in ink.strokes) if v > 0]
    scale = stroke_size / statistics.median(sizes) if sizes else 1.0
    w = int(box.width * scale) + 2 * margin + 1
    h = int(box.height * scale) + 2 * margin + 1
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    for s in ink.strokes:
        pts = [((p.x - box.left) * scale + margin, (p.y - box.top) * scale + margin) for p in s.points]
        if len(pts) == 1 or all(q == pts[0] for q in pts):
            x, y = pts[0]
            r = max(1.0, line_width / 2)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
        else:
            draw.line(pts, fill=0, width=line_width, joint="curve")
    return img


class _NoClipboard:
    """Stands in for pandas' clipboard module inside pix2tex.cli."""

    @staticmethod
    def copy(_text: str) -> None:
        return None


def _download() -> None:
    """pix2tex's own first-use download of its weights (into its package folder)."""
    from pix2tex.model.checkpoints.get_latest_checkpoint import download_checkpoints

    download_checkpoints()


class Pix2TexRecognizer:
    """pix2tex's LatexOCR as a :class:`~whiteboard_app.recognition.base.Recognizer`.

    ``checkpoint`` / ``config``: a weights file and pix2tex settings YAML (default: pix2tex's own, the
    weights downloaded on first use when ``allow_download``; the download gives up after
    ``download_timeout_s`` s without an answer). ``resize``: use pix2tex's image-resizer model when its
    weights are present. Raises :class:`RecognizerUnavailable` when pix2tex is not installed or has no
    weights (saying which), :class:`RecognitionError` when it fails on an ink.
    """

    name = "pix2tex"

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        config: str | os.PathLike | None = None,
        *,
        allow_download: bool = True,
        download_timeout_s: float = 30.0,
        resize: bool = True,
        stroke_size: float = 20.0,
        line_width: int = 3,
        seed: int = 0,
    ):
        if default_checkpoint() is None:
            raise RecognizerUnavailable(NOT_INSTALLED)
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.config = Path(config) if config else None
        self.allow_download = allow_download
        self.download_timeout_s = download_timeout_s
        self.resize = resize
        self.stroke_size = stroke_size
        self.line_width = line_width
        self.seed = seed
        self._ocr = None
        self._lock = threading.Lock()
        self.load_ms: float | None = None

    def _weights(self) -> Path:
        ckpt = self.checkpoint or default_checkpoint()
        if ckpt.exists():
            return ckpt
        if self.checkpoint is not None or not self.allow_download:
            raise RecognizerUnavailable(
                f"pix2tex has no weights at {ckpt}: they come from pix2tex's first-use download, which "
                "needs internet (or pass checkpoint=...)"
            )
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(self.download_timeout_s)
        try:
            _download()
        except Exception as exc:  # any network failure means "no weights here"
            raise RecognizerUnavailable(
                "pix2tex's weights are not on this machine and downloading them failed (offline?): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            socket.setdefaulttimeout(old)
        if not ckpt.exists():
            raise RecognizerUnavailable(f"pix2tex's download did not produce {ckpt}")
        return ckpt

    def load(self) -> None:
        """Import pix2tex and load its model now (otherwise on the first ``recognize``)."""
        with self._lock:
            if self._ocr is not None:
                return
            t0 = time.perf_counter()
            ckpt = self._weights()
            os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import
            try:
                import pix2tex.cli as pix2tex_cli
                from munch import Munch
                from pix2tex.cli import LatexOCR
            except ImportError as exc:
                raise RecognizerUnavailable(f"pix2tex cannot be imported: {exc}") from exc
            # LatexOCR copies every reading to the system clipboard (pandas' clipboard, which may even
            # start a Qt application): not something a recogniser should do.
            pix2tex_cli.clipboard = _NoClipboard()
            args = Munch(
                config=str(self.config) if self.config else "settings/config.yaml",
                checkpoint=str(ckpt),
                no_cuda=True,
                no_resize=not self.resize,
            )
            root = logging.getLogger()
            level = root.level
            try:
                self._ocr = LatexOCR(args)
            except Exception as exc:  # a broken checkpoint is "no usable weights"
                raise RecognizerUnavailable(
                    f"pix2tex cannot load {ckpt}: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                root.setLevel(level)  # LatexOCR silences the root logger; undo that
            self.load_ms = (time.perf_counter() - t0) * 1000.0

    def recognize(self, ink: StepInk, context: RecognitionContext | None = None) -> RecognitionResult:
        """Render ``ink`` and read it with pix2tex (one candidate, score 0.0); the context is not used."""
        t0 = time.perf_counter()
        if ink.is_empty:
            return RecognitionResult(engine=self.name, message="no ink")
        self.load()
        img = render(ink, self.stroke_size, self.line_width)
        try:
            import torch

            torch.manual_seed(self.seed)
            latex = self._ocr(img, resize=self.resize)
        except Exception as exc:  # any engine failure is "could not read"
            raise RecognitionError(f"pix2tex failed: {type(exc).__name__}: {exc}") from exc
        ms = (time.perf_counter() - t0) * 1000.0
        latex = (latex or "").strip()
        if not latex:
            return RecognitionResult(engine=self.name, ms=ms, message="nothing recognised")
        return RecognitionResult((Candidate(latex, 0.0),), (), ms, self.name)
