"""Safe file input and output shared by every layer (stdlib only, no Qt): the one atomic write, bounded
reads of regular files only, bounded JSON, advisory file locks and terminal-safe text.

Atomic write (the classic recipe, as in Rnote's and most editors' save paths): write to a temporary
file with a unique name in the same folder, flush and ``os.fsync`` it, ``os.replace`` it over the
target (atomic on POSIX and Windows), then fsync the folder so the rename itself survives a power cut.
At every instant the target is either its previous complete content or the new complete content; the
temporary file is removed when anything fails. A target that exists and is not a regular file (a
device such as /dev/full, a FIFO, a folder) is refused, never replaced.

Reads (``read_regular``, ``open_regular``) open the file without blocking (a FIFO cannot hang the
reader), accept only regular files (``/dev/zero``, FIFOs, sockets and folders are refused) and stop at
a size limit, so a hostile or odd file costs at most that many bytes of memory. ``read_gzip_bounded``
bounds the *decompressed* size too (a gzip bomb stops at the limit).

Every refusal raises :class:`UnsafeFileError`, an ``OSError`` whose ``strerror`` is the reason in
words, so callers that already turn ``OSError`` into their own clean error need no new branch.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import stat
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FileLock",
    "UnsafeFileError",
    "atomic_write_bytes",
    "atomic_write_path",
    "atomic_write_text",
    "bounded_json_loads",
    "escape_terminal",
    "fsync_dir",
    "open_regular",
    "read_gzip_bounded",
    "read_regular",
    "refuse_non_regular_target",
    "temp_name",
]

MiB = 1024 * 1024
MAX_INT_DIGITS = 30
"""Integers longer than this in a JSON document are refused (no field of ours needs more; Python's own
limit of 4,300 digits raises a ValueError that is not a JSONDecodeError)."""


class UnsafeFileError(OSError):
    """A file refused before or while reading it (not a regular file, over a size limit, a gzip bomb),
    or a target that must not be replaced. ``strerror`` holds the reason; ``filename`` the path."""

    def __init__(self, path: str | os.PathLike[str], reason: str, code: int = errno.EINVAL) -> None:
        super().__init__(code, reason, os.fspath(path))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


# ─────────────────────────────────────────── writing ───────────────────────────────────────────


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """fsync a folder so a rename in it is durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(path: Path) -> Path:
    """The unique temporary sibling of ``path`` used by an atomic write: ``.<name>.<pid>.<thread>.tmp``
    (hidden, in the same folder so that the rename stays on one file system)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def refuse_non_regular_target(path: str | os.PathLike[str]) -> None:
    """Raise UnsafeFileError when ``path`` exists and is not a regular file (a symlink is followed: a
    link to a regular file is allowed, a link to a device is not)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnsafeFileError(path, f"cannot inspect the target ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise UnsafeFileError(path, f"the target is {kind}; it is never replaced", errno.EEXIST)


@contextlib.contextmanager
def atomic_write_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Context manager for writers that need a file name (Qt's image writer, gzip): yields the temporary
    path to write; on a clean exit it is fsync'd and renamed over ``path`` and the folder fsync'd; on
    any exception (or when the writer left no file) the temporary file is removed and ``path`` keeps
    its old content. Raises UnsafeFileError when ``path`` is not a regular file, OSError from the disk."""
    path = Path(path)
    refuse_non_regular_target(path)
    tmp = temp_name(path)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)  # FileNotFoundError when the writer wrote nothing
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        refuse_non_regular_target(path)  # it may have appeared meanwhile
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module doc). Raises OSError (UnsafeFileError for a
    target that is not a regular file); the old file, if any, is left as it was."""
    with atomic_write_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """``atomic_write_bytes`` of ``text`` encoded (UTF-8 by default)."""
    atomic_write_bytes(path, text.encode(encoding))


# ─────────────────────────────────────────── reading ───────────────────────────────────────────


def open_regular(path: str | os.PathLike[str], max_bytes: int | None = None) -> IO[bytes]:
    """Open ``path`` for binary reading if it is a regular file (opened with O_NONBLOCK so that a FIFO
    never blocks, then checked with fstat on the open descriptor: no race with a swapped file). Raises
    FileNotFoundError, UnsafeFileError (not a regular file; larger than ``max_bytes``), OSError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
            raise UnsafeFileError(path, f"is {kind}")
        if max_bytes is not None and st.st_size > max_bytes:
            raise UnsafeFileError(
                path, f"is too large ({st.st_size:,} bytes; the limit is {max_bytes:,})", errno.EFBIG
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` (a file that grows while read is
    refused too). Raises like ``open_regular``."""
    with open_regular(path, max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFileError(path, f"is too large (more than {max_bytes:,} bytes)", errno.EFBIG)
    return data


def read_gzip_bounded(path: str | os.PathLike[str], data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip ``data`` (read from ``path``, named in errors) to at most ``max_bytes``; a gzip
    bomb raises UnsafeFileError as soon as its output passes the limit. Corrupt data raises OSError."""
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
            while True:
                chunk = g.read(min(MiB, max_bytes + 1 - out.tell()) or 1)
                if not chunk:
                    break
                out.write(chunk)
                if out.tell() > max_bytes:
                    raise UnsafeFileError(path, f"decompresses to more than {max_bytes:,} bytes", errno.EFBIG)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise OSError(errno.EINVAL, f"corrupt gzip data ({exc})", os.fspath(path)) from exc
    return out.getvalue()


def _bounded_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits):,} digits (the limit is {MAX_INT_DIGITS})")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > 400:
        raise ValueError(f"a number written with {len(text):,} digits")
    return float(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def bounded_json_loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses what the stdlib would turn into another exception or a huge object:
    integers over MAX_INT_DIGITS digits, NaN/Infinity, nesting too deep for the parser's recursion.
    Every problem raises ``ValueError`` (a ``json.JSONDecodeError`` for syntax) with the reason."""
    try:
        return json.loads(
            text, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant
        )
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


# ─────────────────────────────────────────── locks ───────────────────────────────────────────


class FileLock:
    """An advisory, non-blocking, exclusive OS lock on the file ``path`` (created if missing), held by
    this process until ``release()`` or its death (the OS frees it on SIGKILL: no stale locks).

    POSIX: ``fcntl.flock`` on an open descriptor (two FileLocks on one path conflict even inside one
    process); Windows: ``msvcrt.locking`` on the first byte. The holder's pid is written into the file
    for messages (``holder()``). Source of the recipe: the flock(2) man page; Qt's QLockFile does the
    same with a pid file, for the Qt layer.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free; True when held (also when already held by this object), False when
        another holder has it. Raises OSError when the lock file cannot be created."""
        if self._fd is not None:
            return True
        for _attempt in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
                    import msvcrt

                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                else:
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            # the holder before us may have removed the file between our open and our lock: then we
            # hold a lock on a dead inode; try again on the current file
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same or sys.platform == "win32":
                break
            os.close(fd)
        else:  # pragma: no cover - 20 removals in a row
            return False
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self, remove: bool = True) -> None:
        """Give the lock up; the lock file is removed first (while still held, so that no other holder
        loses it: a waiter that opened the old file notices the swap and retries)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            if remove and sys.platform != "win32":
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            os.close(fd)  # closing the descriptor drops a flock / msvcrt lock

    def holder(self) -> int | None:
        """The pid written by the current or last holder, if readable."""
        try:
            return int(self.path.read_text().strip() or "0") or None
        except (OSError, ValueError):
            return None

    def __enter__(self) -> FileLock:
        if not self.acquire():
            raise BlockingIOError(errno.EWOULDBLOCK, "locked by another process", os.fspath(self.path))
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.release()


# ─────────────────────────────────────────── terminal ───────────────────────────────────────────


def escape_terminal(text: object) -> str:
    """``str(text)`` safe to print on a terminal: control characters (C0 except none, DEL, C1, which
    can clear or recolour a terminal) become ``\\xNN``/``\\uNNNN`` escapes, and so do lone surrogates
    (which cannot be encoded and would raise UnicodeEncodeError on print)."""
    s = str(text)
    out = []
    for ch in s:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o < 0xE000 or o in (
            0x2028,
            0x2029,
            0x200E,
            0x200F,
            0x202A,
            0x202B,
            0x202C,
            0x202D,
            0x202E,
            0x2066,
            0x2067,
            0x2068,
            0x2069,
        ):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)
