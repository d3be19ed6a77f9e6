"""Shared test setup.

With WHITEBOARD_BLOCK_QT=1 (scripts/test-core-without-qt.sh) PySide6 cannot be imported, which is how
CI proves that the core runs in an environment without Qt; tests that need Qt live in tests/ui/ and are
skipped there.
"""

from __future__ import annotations

import atexit
import importlib.abc
import os
import shutil
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One OpenMP thread in each test process and the processes it starts (torch reads this at import): the
# machine's 2 cores already run 2 pytest-xdist workers, and torch's default of a thread per core made a
# worker's 2 threads spin against the other worker (tests/test_training.py's distillation: 2-6 s alone,
# 14-28 s with 2 threads under xdist). The recogniser sets its own threads (trained.py, 1 by default).
os.environ.setdefault("OMP_NUM_THREADS", "1")
# derived tables (whiteboard_app/cache.py) go to a scratch folder, never the user's cache folder
os.environ.setdefault("WHITEBOARD_CACHE_DIR", tempfile.mkdtemp(prefix="whiteboard-test-cache-"))

# Each pytest process (each pytest-xdist worker too) keeps the per-user files of the program and of the
# child processes it starts in a folder of its own: native QSettings (XDG_CONFIG_HOME) and platformdirs'
# data folder (XDG_DATA_HOME) are never the developer's, and two workers never write one settings file.
_OWN_HOME = tempfile.mkdtemp(prefix="whiteboard-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_OWN_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_OWN_HOME, "data")
atexit.register(shutil.rmtree, _OWN_HOME, ignore_errors=True)


class _BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "PySide6" or fullname.startswith(("PySide6.", "shiboken6", "pytestqt")):
            raise ImportError(f"{fullname} is blocked: core-only test run (WHITEBOARD_BLOCK_QT=1)")
        return None


try:  # hypothesis profiles: "ci" (default, quick) and "long" (benchmarks/fuzz.py, 10,000 examples each)
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile(
        "long",
        max_examples=int(os.environ.get("WHITEBOARD_FUZZ_EXAMPLES", "10000")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    _profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    settings.load_profile("long" if os.environ.get("WHITEBOARD_FUZZ_EXAMPLES") else _profile)
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass


class _MathnoteWithoutTorchvision(importlib.abc.MetaPathFinder):
    """The first ``import mathnote_ocr`` of a test process (a test module's ``from mathnote_ocr.bbox import
    BBox``, ``pytest.importorskip("mathnote_ocr")``) runs the package the way the app imports it
    (recognition/mathnote_compat.py): with recognition/fastload.py's stand-in for the two torchvision
    transforms. Imported plainly, torchvision imports its models and ops and those ``torch._dynamo``:
    ~4 s of CPU at collection in each pytest-xdist worker, for nothing a test uses (tests/test_fastload.py
    imports the real torchvision itself to compare)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "mathnote_ocr":
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or "torchvision" in sys.modules:
            return spec
        real = spec.loader

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return real.create_module(spec)

            def exec_module(self, module):
                from whiteboard_app.recognition.fastload import without_torchvision

                with without_torchvision():
                    real.exec_module(module)

        spec.loader = _Loader()
        return spec


sys.meta_path.insert(0, _MathnoteWithoutTorchvision())

if os.environ.get("WHITEBOARD_BLOCK_QT") == "1":
    sys.meta_path.insert(0, _BlockQt())
    collect_ignore = ["ui"]
