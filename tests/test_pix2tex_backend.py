"""The optional pix2tex engine (recognition/pix2tex_backend.py): rendering, the "not installed" and
"no weights / offline" paths, and its plumbing on a tiny randomly initialised checkpoint built with
pix2tex's own model code (no download)."""

from __future__ import annotations

import importlib.util
import os

import pytest

from whiteboard_app.ink import StepInk
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition import pix2tex_backend
from whiteboard_app.recognition.base import RecognizerUnavailable
from whiteboard_app.recognition.pix2tex_backend import Pix2TexRecognizer, available, render

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks PyPI at import otherwise
HAS_PIX2TEX = importlib.util.find_spec("pix2tex") is not None
needs_pix2tex = pytest.mark.skipif(not HAS_PIX2TEX, reason="the pix2tex extra is not installed")


def test_render_draws_the_ink_black_on_white_at_a_normalised_size():
    small = render(synthesize("x+1", height_px=10.0).ink, stroke_size=20.0)
    big = render(synthesize("x+1", height_px=200.0).ink, stroke_size=20.0)
    assert small.mode == "L"
    assert small.size[0] == pytest.approx(big.size[0], rel=0.08) and small.size[1] == pytest.approx(
        big.size[1], rel=0.08
    )
    assert big.size[1] < 100  # 200 px tall ink is drawn at the normalised size, not at 200 px
    pixels = list(small.getdata())
    assert min(pixels) == 0 and max(pixels) == 255
    assert 0.02 < sum(p < 128 for p in pixels) / len(pixels) < 0.5
    with pytest.raises(ValueError, match="empty"):
        render(StepInk())


def test_not_installed_says_so(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    ok, why = available()
    assert not ok and "pix2tex is not installed" in why and "whiteboard-app[pix2tex]" in why
    with pytest.raises(RecognizerUnavailable, match="pix2tex is not installed"):
        Pix2TexRecognizer()


@needs_pix2tex
def test_missing_weights_without_download_says_so(tmp_path):
    rec = Pix2TexRecognizer(checkpoint=tmp_path / "weights.pth")
    with pytest.raises(RecognizerUnavailable, match="no weights at .*needs internet"):
        rec.recognize(synthesize("x").ink)


@needs_pix2tex
def test_offline_first_use_download_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(pix2tex_backend, "default_checkpoint", lambda: tmp_path / "weights.pth")

    def offline():
        raise ConnectionError("Failed to resolve 'github.com'")

    monkeypatch.setattr(pix2tex_backend, "_download", offline)
    ok, note = available()
    assert ok and "not downloaded yet" in note
    with pytest.raises(RecognizerUnavailable, match=r"downloading them failed \(offline\?\).*github.com"):
        Pix2TexRecognizer().load()
    with pytest.raises(RecognizerUnavailable, match="needs internet"):
        Pix2TexRecognizer(allow_download=False).load()


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised pix2tex model (2.6 M parameters), built with pix2tex's own code."""
    import torch
    import yaml
    from munch import Munch
    from pix2tex.models import get_model
    from pix2tex.utils import parse_args

    base = os.path.join(os.path.dirname(importlib.util.find_spec("pix2tex").origin), "model")
    with open(os.path.join(base, "settings", "config.yaml")) as fh:
        params = yaml.safe_load(fh)
    params.update(
        dim=32,
        encoder_depth=1,
        num_layers=1,
        heads=2,
        max_seq_len=12,
        backbone_layers=[1, 1, 1],
        max_height=64,
        max_width=256,
        tokenizer=os.path.join(base, "dataset", "tokenizer.json"),
    )
    args = parse_args(Munch(params))
    args.device, args.wandb = "cpu", False
    torch.manual_seed(0)
    model = get_model(args)
    d = tmp_path_factory.mktemp("pix2tex")
    torch.save(model.state_dict(), d / "tiny.pth")
    with open(d / "tiny.yaml", "w") as fh:
        yaml.safe_dump(params, fh)
    return d / "tiny.pth", d / "tiny.yaml"


@needs_pix2tex
@pytest.mark.slow
def test_plumbing_with_a_tiny_random_checkpoint(tiny_checkpoint):
    ckpt, config = tiny_checkpoint
    rec = Pix2TexRecognizer(checkpoint=ckpt, config=config, resize=False)
    ink = synthesize(r"\frac{a}{b}", seed=3).ink
    first = rec.recognize(ink)
    again = rec.recognize(ink)
    assert first.engine == "pix2tex" and first.ms > 0
    assert first.candidates == again.candidates  # seeded: the same ink reads the same
    # our result is exactly pix2tex's own reading of our rendering
    import torch

    torch.manual_seed(rec.seed)
    direct = rec._ocr(render(ink), resize=False).strip()
    assert first.best == (direct or None)
    if direct:
        assert first.candidates[0].score == 0.0 and len(first.candidates) == 1
    else:
        assert first.message == "nothing recognised"
    assert rec.recognize(StepInk()).message == "no ink"


@needs_pix2tex
@pytest.mark.slow
def test_readings_are_not_copied_to_the_clipboard(tiny_checkpoint):
    import pix2tex.cli

    ckpt, config = tiny_checkpoint
    rec = Pix2TexRecognizer(checkpoint=ckpt, config=config, resize=False)
    rec.load()
    assert pix2tex.cli.clipboard.copy("x") is None and not hasattr(pix2tex.cli.clipboard, "paste")
