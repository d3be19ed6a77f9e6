"""On-disk cache of derived tables: results that cost seconds to compute, depend only on the program's
code and a card, and are the same on every launch (issue 16: a faster start).

What is kept (each a :class:`DiskTable`, one JSON file):

* the typeset glyph layouts of the cards' forms (``recognition.typeset.glyph_layout``: ziamath and
  mathnote-ocr imports and ~40 ms a form; a card has 20-40 forms);
* a card's generated near misses (``maths.near_misses``: the checker's process and sympy, seconds on a
  cold start), used by the recogniser's context (``pipeline.build_context``).

Where: ``$WHITEBOARD_CACHE_DIR`` if set (``off`` switches the cache off), else ``<data folder>/cache``
when ``$WHITEBOARD_DATA_DIR`` moves the data folder, else platformdirs' user cache folder
(``~/.cache/whiteboard-app`` on Linux). Deleting the folder is always safe.

A table's file name carries a *stamp*, a hash of the source files of the modules that compute it and
of the library versions it depends on (:func:`source_stamp`), so a changed program never reads an old
table. Files are written atomically (a temporary file, then ``os.replace``); a table that cannot be read
is treated as empty and one that cannot be written is skipped: the cache costs time at worst, never a
result.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ENV_VAR = "WHITEBOARD_CACHE_DIR"
APP_NAME = "whiteboard-app"

__all__ = ["DiskTable", "cache_dir", "source_stamp"]


def cache_dir(create: bool = True) -> Path | None:
    """The cache folder (see the module docstring), created when ``create``; None when the cache is
    off (``WHITEBOARD_CACHE_DIR=off``) or the folder cannot be created."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env.lower() == "off":
        return None
    if env:
        path = Path(env).expanduser()
    elif os.environ.get("WHITEBOARD_DATA_DIR", "").strip():
        path = Path(os.environ["WHITEBOARD_DATA_DIR"].strip()).expanduser() / "cache"
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
    return path


def source_stamp(modules: Iterable[str], distributions: Iterable[str] = ()) -> str:
    """A 16-hex-digit hash of the source files of ``modules`` (dotted names, found without importing
    them; a package counts with every ``.py`` file under its folder) and the installed versions of
    ``distributions`` (PyPI names; "missing" when not installed)."""
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = getattr(spec, "origin", None)
        h.update(name.encode())
        if not origin or not os.path.exists(origin):
            continue
        files = [Path(origin)]
        if spec is not None and spec.submodule_search_locations:  # a package: all of its code
            files = sorted(Path(origin).parent.rglob("*.py"))
        for f in files:
            h.update(str(f.name).encode())
            h.update(f.read_bytes())
    for dist in distributions:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "missing"
        h.update(f"{dist}={version}".encode())
    return h.hexdigest()[:16]


class DiskTable:
    """A table ``key (str) -> JSON value`` kept in ``<cache dir>/<name>-<stamp>.json``.

    ``get`` reads the file once (lazily); ``put`` adds a value and writes the file again (merged with
    what another process may have written meanwhile). Thread safe. With the cache off every ``get`` is a
    miss and ``put`` does nothing.
    """

    def __init__(self, name: str, stamp: str) -> None:
        self.name, self.stamp = name, stamp
        self._data: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        """The table's file, or None when the cache is off."""
        folder = cache_dir()
        return folder / f"{self.name}-{self.stamp}.json" if folder is not None else None

    def _read(self, path: Path | None) -> dict[str, Any]:
        if path is None:
            return {}
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None."""
        with self._lock:
            if self._data is None:
                self._data = self._read(self.path)
            return self._data.get(key)

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) under ``key`` and write the table; write errors are
        ignored (the next launch computes the value again)."""
        with self._lock:
            if self._data is None:
                self._data = self._read(self.path)
            if self._data.get(key) == value:
                return
            self._data[key] = value
            path = self.path
            if path is None:
                return
            merged = {**self._read(path), **self._data}
            self._data = merged
            fd, tmp = tempfile.mkstemp(prefix=f".{self.name}-", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(merged, fh, ensure_ascii=False, separators=(",", ":"))
                os.replace(tmp, path)
            except (OSError, TypeError, ValueError):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
