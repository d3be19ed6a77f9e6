"""recognition/fastload.py: mathnote-ocr imported without torchvision (by recognition/mathnote_compat.py)
reads images as with it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("mathnote_ocr")


def test_mathnote_loads_without_torchvision_and_leaves_no_stand_in():
    code = textwrap.dedent(
        """
        import sys
        from whiteboard_app.recognition.mathnote_compat import import_mathnote
        import_mathnote()
        from mathnote_ocr.classifier import inference
        print("torchvision" in sys.modules, type(inference._transform).__module__)
        import torchvision  # the real package is still importable afterwards
        print(hasattr(torchvision, "models"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    assert out.stdout.split() == ["False", "whiteboard_app.recognition.fastload", "True"]


def test_the_stand_in_transforms_equal_torchvisions():
    import numpy as np
    import torch
    from PIL import Image

    tv = pytest.importorskip("torchvision")
    from whiteboard_app.recognition import fastload

    rng = np.random.default_rng(3)
    for shape, mode in (((64, 48), "L"), ((20, 30, 3), "RGB")):
        arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
        img = Image.fromarray(arr, mode)
        mean, std = (0.5,) * (3 if mode == "RGB" else 1), (0.5,) * (3 if mode == "RGB" else 1)
        real = tv.transforms.Compose([tv.transforms.ToTensor(), tv.transforms.Normalize(mean, std)])(img)
        ours = fastload._Compose([fastload._ToTensor(), fastload._Normalize(mean, std)])(img)
        assert ours.dtype == real.dtype and ours.shape == real.shape
        assert torch.allclose(ours, real, atol=1e-6)
