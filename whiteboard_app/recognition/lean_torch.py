"""Import torch in the recogniser's worker without the parts eager CPU inference does not use until later
(issue 16: recogniser ready <= 2.5 s after launch).

``import torch`` was 85 % of the worker's CPU before "ready" (1.55-1.60 s of 1.82-1.89 s at load 7, one
torch thread). ``python -X importtime -c "import torch"`` (torch 2.14) shows a third of it in submodules
that ``torch/__init__.py`` imports for their API or for registrations that eager CPU inference never
consults: ``torch._meta_registrations`` (Python kernels for meta and fake tensors, with ``torch._decomp``,
``torch._prims`` and ``torch._refs``: the shape functions of ``torch.compile``/``torch.export``),
``torch.export``, the quantisation namespaces (``torch.nn.intrinsic``, ``nn.qat``, ``nn.quantizable``,
``nn.quantized``, ``torch.quantization``), ``torch.masked``, ``torch.hub``, ``torch.distributions`` and
``torch.testing``.

:func:`deferring` installs, for the duration of a block, an import hook that creates those modules but
does not run them yet: each is put in ``sys.modules`` (and as an attribute of its package) with its
``__file__``, ``__spec__``, ``__path__`` set as usual, and it runs in full the first time any other
attribute of it is read (so code that uses one, e.g. ``torch.export.export`` or
``from torch.distributions import Categorical``, gets the real module, only later). Unlike
``importlib.util.LazyLoader``, reading ``__file__`` does not run the module: ``inspect.getmodule`` reads
it from every module in ``sys.modules`` and torch calls it while it imports.

:func:`complete` then runs every module still deferred, in the order ``torch/__init__.py`` imports them:
the worker calls it after the engine's warm-up and before it tells the parent it is warm
(``registry._worker_main``; the first request waits for "warm" outside its time limit), so every reading
runs in a process that has the whole of torch, registrations included, as after a plain
``import torch``: only the order changed, and "ready" (the model loaded) comes sooner.

Safety: the recogniser's own results do not depend on it (tests/test_lean_torch.py reads the same ink
with and without it and compares the n-best); ``WHITEBOARD_LEAN_TORCH=0`` turns it off; when building the
engine fails with it on, the worker is started again without it (``registry.TimeLimitedRecognizer``), so
a torch version whose ``__init__`` needs one of these modules early still loads, only slower. Nothing
changes when torch is already imported or is never imported inside the block (engines without torch).
Measured: docs/recogniser.md "Start-up".
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["DEFERRED", "ENV_VAR", "complete", "deferred", "deferring", "enabled"]

#: The torch submodules whose execution is deferred, in the order ``torch/__init__.py`` imports them.
DEFERRED: tuple[str, ...] = (
    "torch.distributions",
    "torch.hub",
    "torch.testing",
    "torch.nn.intrinsic",
    "torch.nn.qat",
    "torch.nn.quantizable",
    "torch.nn.quantized",
    "torch.quantization",
    "torch.masked",
    "torch.export",
    "torch._meta_registrations",
)
#: Environment variable: "0" turns the deferral off (plain ``import torch``).
ENV_VAR = "WHITEBOARD_LEAN_TORCH"

_lock = threading.RLock()
_failures: dict[str, str] = {}


def enabled() -> bool:
    """Whether the deferral is on (it is unless ``WHITEBOARD_LEAN_TORCH`` is "0")."""
    return os.environ.get(ENV_VAR, "1").strip() != "0"


class _Deferred(types.ModuleType):
    """A module created but not yet run: the first read of a missing attribute runs it (``__getattr__``
    is only called for attributes the module does not have, so ``__file__``, ``__spec__`` and the like
    are read without running it)."""

    def __getattr__(self, name: str) -> Any:
        _run(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _run(module: types.ModuleType) -> None:
    """Run a deferred module's code in its own namespace (once; thread safe)."""
    with _lock:
        if type(module) is not _Deferred:
            return
        loader = module.__dict__.pop("__deferred_loader__")
        module.__class__ = types.ModuleType  # type: ignore[assignment]  # a plain module from now on
        try:
            loader.exec_module(module)
        except BaseException as exc:
            _failures[module.__name__] = f"{type(exc).__name__}: {exc}"
            raise


class _DeferringLoader(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__deferred_loader__"] = self.real
        module.__class__ = _Deferred


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _DeferringLoader(spec.loader)
        return spec


@contextlib.contextmanager
def deferring(names: Sequence[str] = DEFERRED) -> Iterator[bool]:
    """Within the block, a first ``import torch`` leaves the modules ``names`` deferred (see the module
    doc). Yields whether the hook is in place: False when turned off (``WHITEBOARD_LEAN_TORCH=0``) or
    when torch is imported already (nothing to gain)."""
    if not enabled() or "torch" in sys.modules:
        yield False
        return
    finder = _Finder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield True
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)


def deferred() -> list[str]:
    """The names of the modules still deferred (created, not yet run), in :data:`DEFERRED` order."""
    return [n for n in DEFERRED if type(sys.modules.get(n)) is _Deferred]


def complete() -> dict[str, str]:
    """Run every module still deferred, in :data:`DEFERRED` order, so that the process has all of torch.
    Returns {module name: error in words} for the ones that failed (they stay plain, empty modules; a
    failure is not raised: the engine was built and reads without them). Thread safe; cheap when none
    is left."""
    for name in deferred():
        module = sys.modules.get(name)
        if module is not None:
            try:
                _run(module)
            except Exception:  # noqa: BLE001 - recorded in _failures, returned to the caller
                pass
    return dict(_failures)
