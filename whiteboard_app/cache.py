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
table. A table's file is append-only JSON lines (a new entry costs one appended line, not a rewrite of
the table); a line that cannot be read is skipped and a file that cannot be written is left alone: the
cache costs time at worst, never a result.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
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
    """A table ``key (str) -> JSON value`` kept in ``<cache dir>/<name>-<stamp>.jsonl``.

    The file is append-only JSON lines, one ``[key, value]`` a line (each written as a newline and the
    record, so that a line cut by a crash never swallows the next one): ``put`` appends one line with a
    single ``O_APPEND`` write (so a put costs the same however large the table is, and two processes
    appending at once keep both entries), and ``get`` reads the file once (lazily; the last line of a
    key wins; a damaged or cut line is skipped). Thread safe. With the cache off every ``get`` is a
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
        return folder / f"{self.name}-{self.stamp}.jsonl" if folder is not None else None

    def _read(self, path: Path | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if path is None:
            return data
        try:
            with open(path, "rb") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # a line cut by a crash, or damaged: that entry is computed again
                    if isinstance(record, list) and len(record) == 2 and isinstance(record[0], str):
                        data[record[0]] = record[1]
        except OSError:
            return {}
        return data

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None."""
        with self._lock:
            if self._data is None:
                self._data = self._read(self.path)
            return self._data.get(key)

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) under ``key``: one line appended to the table's file.
        Errors (a value JSON cannot write, a folder that cannot be written) are ignored: the next
        launch computes the value again."""
        with self._lock:
            if self._data is None:
                self._data = self._read(self.path)
            if self._data.get(key) == value:
                return
            self._data[key] = value
            path = self.path
            if path is None:
                return
            try:
                # each record starts a line of its own: after a line cut by a crash it is still read
                line = "\n" + json.dumps([key, value], ensure_ascii=False, separators=(",", ":"))
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except (OSError, TypeError, ValueError):
                return
            try:
                os.write(fd, line.encode("utf-8"))  # one write: an appended line is never interleaved
            except OSError:
                pass
            finally:
                os.close(fd)
