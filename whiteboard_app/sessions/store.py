"""BoardStore: boards on disk, written atomically; Autosaver: save on every stroke end, off the UI thread.

Atomic write (the classic recipe, as in Rnote's and most editors' save paths): write the JSON to a
temporary file in the same folder, flush and ``os.fsync`` it, ``os.replace`` it over the board file
(atomic on POSIX and Windows), then fsync the folder so the rename itself survives a power cut. At
every instant the board file is either the previous complete version or the new complete version,
so a crash or ``kill -9`` in the middle of a save loses nothing that was saved before.

A file that does not load (corrupt, truncated, future version, foreign JSON) is never overwritten or
moved: listing reports it as a :class:`BoardError` and goes on with the others, and a save whose
target is such a file goes to a fresh name instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whiteboard_app.sessions.board import Board, BoardError

SUFFIX = ".board.json"


def _fsync_dir(folder: Path) -> None:
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, os.replace, fsync the
    folder. Raises OSError (the old file, if any, is left as it was; the temp file is removed)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """A board found on disk: its path and the loaded board."""

    path: Path
    board: Board


@dataclass(slots=True)
class BoardListing:
    """The result of listing a store: boards that load (newest first) and errors for those that do not."""

    boards: list[BoardEntry] = field(default_factory=list)
    errors: list[BoardError] = field(default_factory=list)


_FINISHED_RE = re.compile(rb'^\{"format":"whiteboard-board","version":\d+,[^\[]*?"finished_ms":-?\d')


def _head_says_finished(path: Path) -> bool:
    """True when the first KiB of a board file written by this program says it is finished."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return False
    return _FINISHED_RE.match(head) is not None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "card"


class BoardStore:
    """The boards in folder ``root`` (created if missing), one ``*.board.json`` file per attempt.

    ``save(board) -> Path`` writes atomically to ``path_for(board)`` (the same file for every save of
    one attempt); ``load(path)`` raises BoardError(path, reason); ``list()`` returns a BoardListing;
    ``unfinished()`` the attempts to offer back on launch; ``discard(path)`` sets one aside.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._paths: dict[str, Path] = {}  # board_id -> file this store writes it to
        self._lock = threading.Lock()
        self.remove_stale_temp_files()

    def remove_stale_temp_files(self, older_than_s: float = 3600.0) -> int:
        """Delete temporary files left by saves that were killed midway (``.<name>.board.json.<pid>.<tid>
        .tmp``, older than ``older_than_s``; the board file itself was never touched by such a save).
        Returns how many were removed."""
        import time

        n = 0
        for p in self.root.glob(f".*{SUFFIX}.*.tmp"):
            try:
                if time.time() - p.stat().st_mtime > older_than_s:
                    p.unlink()
                    n += 1
            except OSError:
                pass
        return n

    def path_for(self, board: Board) -> Path:
        """The file of ``board``: ``<root>/<UTC start>_<card id>_<board id[:8]>.board.json``, or the
        name chosen earlier for it (see save)."""
        with self._lock:
            known = self._paths.get(board.board_id)
        if known is not None:
            return known
        stamp = board.started_at.strftime("%Y%m%d-%H%M%S")
        return self.root / f"{stamp}_{_safe(board.card_id)}_{board.board_id[:8]}{SUFFIX}"

    def _target(self, board: Board) -> Path:
        with self._lock:
            known = self._paths.get(board.board_id)
        if known is not None:
            return known
        path = self.path_for(board)
        n = 1
        while path.exists():
            try:  # the file of this same attempt (e.g. resumed after a crash): ours to overwrite
                if self.load(path).board_id == board.board_id:
                    break
            except BoardError:
                pass  # corrupt or foreign: never overwrite it
            path = path.with_name(path.name.removesuffix(SUFFIX) + f"-{n}{SUFFIX}")
            n += 1
        with self._lock:
            self._paths[board.board_id] = path
        return path

    def save(self, board: Board) -> Path:
        """Write ``board`` atomically and return its path. Raises BoardError(path, reason) when the disk
        refuses (the previous version of the file stays intact)."""
        path = self._target(board)
        data = board.dumps().encode("utf-8")
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise BoardError(path, f"cannot save: {exc.strerror or exc}") from exc
        return path

    def adopt(self, path: str | os.PathLike[str], board: Board) -> None:
        """Make further saves of ``board`` go to ``path`` (a board loaded from there and resumed)."""
        with self._lock:
            self._paths[board.board_id] = Path(path)

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Board:
        """Read a board file (any known format version). Raises BoardError(path, reason) when it is
        missing, unreadable, corrupt, truncated, foreign or from a future version. Never writes."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise BoardError(path, "no such file") from exc
        except OSError as exc:
            raise BoardError(path, f"cannot read: {exc.strerror or exc}") from exc
        return Board.loads(data, path)

    def files(self) -> Iterator[Path]:
        """Board files in the store (temporary files of a save in progress are skipped)."""
        for p in sorted(self.root.glob(f"*{SUFFIX}")):
            if p.is_file() and not p.name.startswith("."):
                yield p

    def list(self) -> BoardListing:
        """Every board that loads (newest start first) and a BoardError for every file that does not."""
        out = BoardListing()
        for p in self.files():
            try:
                out.boards.append(BoardEntry(p, self.load(p)))
            except BoardError as exc:
                out.errors.append(exc)
        out.boards.sort(key=lambda e: e.board.started_at, reverse=True)
        return out

    def misreadings(self) -> list[tuple[str, str]]:
        """(read, corrected) LaTeX of every corrected recogniser reading on every saved board
        (``Board.misreadings``), file by file. Fast over a long history: a file without a correction
        (no ``"before"`` key in it) is not parsed. Files that do not load are skipped (``list()``
        reports them)."""
        out: list[tuple[str, str]] = []
        for p in self.files():
            try:
                data = p.read_bytes()
                if b'"before"' not in data:
                    continue
                out.extend(Board.loads(data, p).misreadings())
            except (OSError, BoardError):
                continue
        return out

    def unfinished(self) -> list[BoardEntry]:
        """Boards never declared finished (the window offers them back on launch), newest first.

        Fast at launch: a file whose first KiB already says it is finished is not loaded in full (the
        current writer puts ``finished_ms`` before the steps). Files that do not load are skipped here
        (``list()`` reports them)."""
        out = []
        for p in self.files():
            if _head_says_finished(p):
                continue
            try:
                board = self.load(p)
            except BoardError:
                continue
            if not board.finished:
                out.append(BoardEntry(p, board))
        out.sort(key=lambda e: e.board.started_at, reverse=True)
        return out

    def discard(self, path: str | os.PathLike[str]) -> Path:
        """Set an unfinished board aside (the user declined to continue it): moved to
        ``<root>/discarded/``, never deleted. Returns the new path."""
        path = Path(path)
        dest_dir = self.root / "discarded"
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / path.name
        os.replace(path, dest)
        _fsync_dir(self.root)
        return dest


class Autosaver:
    """Saves the latest submitted board snapshot on a background thread (stdlib ``threading``; the core
    has no Qt event loop).

    Call ``submit(board)`` on every stroke end (``Session.subscribe`` does it): it returns at once. The
    writer thread saves the newest snapshot; submissions arriving while a write runs are coalesced into
    one next write of the newest snapshot (the debounce), with at least ``min_interval_ms`` between the
    start of two writes (0: write as soon as the previous write ended). With strokes ending slower than
    a write takes (a save is a few ms; a hand stroke is > 100 ms) a kill loses at most the stroke in
    progress. ``flush()`` waits until everything submitted is on disk; ``close()`` flushes and stops.

    ``on_saved(path)`` and ``on_error(BoardError)`` are called ON THE WRITER THREAD (a Qt window must
    forward them with a queued signal). After a failed save the next submission tries again (it holds
    everything the failed snapshot held).
    """

    def __init__(self, store: BoardStore, *, min_interval_ms: float = 0.0,
                 on_saved: Callable[[Path], None] | None = None,
                 on_error: Callable[[BoardError], None] | None = None) -> None:
        self.store = store
        self.min_interval_s = max(0.0, min_interval_ms) / 1000.0
        self.on_saved = on_saved
        self.on_error = on_error
        self.last_error: BoardError | None = None
        self.last_path: Path | None = None
        self.saves = 0
        self._cond = threading.Condition()
        self._pending: Board | None = None
        self._writing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="board-autosave", daemon=True)
        self._thread.start()

    def submit(self, board: Board) -> None:
        """Queue ``board`` (an immutable snapshot) to be saved; a newer submission replaces it."""
        with self._cond:
            if self._closed:
                raise RuntimeError("autosaver is closed")
            self._pending = board
            self._cond.notify_all()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every submitted snapshot is written (or failed); True if idle within ``timeout`` s."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._writing, timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop the writer thread. Returns whether the flush finished in time."""
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return done

    def _run(self) -> None:
        import time

        last_start = 0.0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None and self._closed:
                    return
                wait = last_start + self.min_interval_s - time.monotonic()
                if wait > 0 and not self._closed:
                    self._cond.wait(wait)  # more submissions may arrive: they replace _pending
                board, self._pending = self._pending, None
                self._writing = True
            last_start = time.monotonic()
            try:
                path = self.store.save(board)
                self.last_path, self.last_error = path, None
                self.saves += 1
                if self.on_saved:
                    self.on_saved(path)
            except BoardError as exc:
                self.last_error = exc  # the next submission (a newer snapshot) tries again
                if self.on_error:
                    self.on_error(exc)
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()
