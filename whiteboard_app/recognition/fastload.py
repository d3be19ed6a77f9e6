"""Import mathnote-ocr without torchvision (issue 16: the recogniser's start-up).

mathnote-ocr's ``classifier.inference`` imports ``torchvision`` for two transforms only (``ToTensor`` and
``Normalize((0.5,), (0.5,))`` of a grey symbol image). Importing torchvision imports its models and ops,
and those import ``torch._dynamo``: measured on the shared 2-core machine, 3.5-10 s of the recogniser
worker's start (``python -X importtime``: torchvision 4.2 s of mathnote_ocr.api's 4.3 s beyond torch).

:func:`without_torchvision` lets recognition/mathnote_compat.py import ``mathnote_ocr.api`` with a
stand-in ``torchvision`` module that has just those transforms (the same arithmetic, checked against torchvision in tests/test_fastload.py), then takes
the stand-in out of ``sys.modules`` again, so a later ``import torchvision`` anywhere in the process
(pix2tex, training) gets the real package. When torchvision is already imported nothing is replaced.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

__all__ = ["linear_sum_assignment", "without_torchvision"]

_lock = threading.Lock()


class _ToTensor:
    """torchvision.transforms.ToTensor for what mathnote-ocr gives it: a PIL image or an (H, W[, C])
    uint8 array -> float32 tensor (C, H, W) in [0, 1]."""

    def __call__(self, pic: Any):
        import numpy as np
        import torch

        arr = np.asarray(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        t = torch.from_numpy(np.array(arr.transpose(2, 0, 1), copy=True))
        return t.float().div(255.0) if arr.dtype == np.uint8 else t.float()


class _Normalize:
    """torchvision.transforms.Normalize: (x - mean) / std per channel."""

    def __init__(self, mean, std) -> None:
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, t):
        import torch

        mean = torch.tensor(self.mean, dtype=t.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=t.dtype).view(-1, 1, 1)
        return (t - mean) / std


class _Compose:
    """torchvision.transforms.Compose: apply the transforms in order."""

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, x):
        for f in self.transforms:
            x = f(x)
        return x


def _stand_in() -> tuple[types.ModuleType, types.ModuleType]:
    tv = types.ModuleType("torchvision")
    tr = types.ModuleType("torchvision.transforms")
    tr.ToTensor = _ToTensor  # type: ignore[attr-defined]
    tr.Normalize = _Normalize  # type: ignore[attr-defined]
    tr.Compose = _Compose  # type: ignore[attr-defined]
    tv.transforms = tr  # type: ignore[attr-defined]
    return tv, tr


@contextlib.contextmanager
def without_torchvision() -> Iterator[None]:
    """Within the block, ``import torchvision`` gets the stand-in with the two transforms (unless the real
    package is loaded already); after it, the stand-in is out of ``sys.modules`` again. mathnote-ocr is
    imported this way by recognition/mathnote_compat.py (the one module that imports it)."""
    with _lock:
        if "torchvision" in sys.modules:
            yield
            return
        tv, tr = _stand_in()
        sys.modules["torchvision"], sys.modules["torchvision.transforms"] = tv, tr
        try:
            yield
        finally:
            for name in ("torchvision", "torchvision.transforms"):
                if sys.modules.get(name) in (tv, tr):
                    del sys.modules[name]


_lsap: Any = None


def linear_sum_assignment(cost):
    """``scipy.optimize.linear_sum_assignment(cost)`` (the Hungarian method, scipy's own compiled
    solver) without importing ``scipy.optimize``: that package's ``__init__`` imports all of its solvers
    (3-5 s on the shared machine, issue 16) before the one compiled module this needs. The module file
    is loaded by itself; when it cannot be (another scipy layout), the plain import is used. Returns
    (row indices, column indices) as scipy does; raises ValueError for a bad matrix as scipy does."""
    global _lsap
    if _lsap is None:
        with _lock:
            if _lsap is None:
                _lsap = _load_lsap()
    return _lsap(cost)


def _load_lsap():
    import importlib.machinery
    import importlib.util
    from pathlib import Path

    if "scipy.optimize" not in sys.modules:
        try:
            spec = importlib.util.find_spec("scipy")
            folder = Path(spec.origin).parent / "optimize" if spec and spec.origin else None
            suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
            files = [f for f in folder.glob("_lsap*") if f.name.endswith(suffixes)] if folder else []
            if files:
                name = "scipy.optimize._lsap"
                loader = importlib.machinery.ExtensionFileLoader(name, str(files[0]))
                module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
                loader.exec_module(module)
                return module.linear_sum_assignment
        except (ImportError, OSError, AttributeError):
            pass
    from scipy.optimize import linear_sum_assignment as plain

    return plain
