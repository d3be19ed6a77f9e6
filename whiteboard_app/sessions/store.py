"""BoardStore: boards on disk, written atomically, one writer per board; Autosaver: every stroke end
journalled at once (an append per stroke, fsync'd by the writer thread), the board saved off the UI thread.

Atomic write (``safeio.atomic_write_bytes``: unique temp file in the same folder, fsync, os.replace,
folder fsync): at every instant the board file is either the previous complete version or the new
complete version, so a crash or ``kill -9`` in the middle of a save loses nothing saved before.

Stroke journal (the write-ahead log of editors and databases, e.g. SQLite's WAL): next to each board
``<name>.board.json`` lives ``.<name>.board.json.journal``, append-only, one JSON line per change:
``{"seq": n, "head": <board without steps>, "steps": [<every step changed since the last line>]}``.
``Autosaver.submit`` writes that line before it returns (into the OS's cache: from then on no kill or
crash of the program can lose it), the writer thread fsyncs it at once (against power cuts) and later
saves the whole board. A successful save of the snapshot of line ``n`` drops lines 1..n from the journal (the fold).
Loading a board replays its journal over it (the last line naming a step wins; a line cut off by a
kill is ignored), so every reader sees the recovered board; ``recover()`` writes those recoveries
into the board files at start. Correctness of the replay: the board file always holds at least every
change before the journal's first line, and every change after it is in the journal.

One writer per board: a process that saves a board holds an OS lock on ``.<name>.board.json.lock``
(``safeio.FileLock``; freed by the OS when the process dies, so a crash leaves no stale lock). A second
instance that wants to resume a board locked by a live one gets a copy with a new board id, saved
to a new file (``adopt``): the two never write the same file.

A file that does not load (corrupt, truncated, future version, foreign JSON, too large, not a regular
file) is never overwritten or moved: listing reports it as a :class:`BoardError` and goes on with the
others, and a save whose target is such a file goes to a fresh name instead.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whiteboard_app.safeio import (
    FileLock,
    atomic_write_bytes,
    bounded_json_loads,
    fsync_dir,
    open_regular,
    read_regular,
)
from whiteboard_app.sessions.board import Board, BoardError, StepRecord, _step_json

__all__ = ["Autosaver", "BoardEntry", "BoardListing", "BoardStore", "atomic_write_bytes"]

logger = logging.getLogger(__name__)

SUFFIX = ".board.json"
JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"
MAX_BOARD_BYTES = 64 * 1024 * 1024
"""A board file larger than this is refused (an hour of dense writing is a few MB)."""
MAX_JOURNAL_BYTES = 256 * 1024 * 1024
JOURNAL_COMPACT_BYTES = 1024 * 1024
"""A journal longer than this is rewritten without its folded lines even while strokes keep coming."""

_fsync_dir = fsync_dir  # the name used before safeio existed


_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(json_text: str) -> bytes:
    """UTF-8 of JSON text; a lone surrogate (legal in JSON strings, not in UTF-8) is written as its
    ``\\uXXXX`` escape, which JSON reads back as the same character."""
    try:
        return json_text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text).encode("utf-8")


def journal_path(path: Path) -> Path:
    """The stroke journal of the board file ``path``."""
    return path.with_name(f".{path.name}{JOURNAL_SUFFIX}")


def lock_path(path: Path) -> Path:
    """The lock file of the board file ``path``."""
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


def _board_of_journal(jpath: Path) -> Path:
    return jpath.with_name(jpath.name[1:].removesuffix(JOURNAL_SUFFIX))


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def replay_journal(path: Path, board: Board | None, data: bytes) -> Board | None:
    """``board`` (the board file's content, or None when there is none yet) with the journal lines in
    ``data`` applied in order (see the module doc). A last line cut off by a kill, and anything after
    a line that does not parse, is ignored. Raises BoardError when the result is not a valid board."""
    head = None
    steps: dict[int, dict[str, Any]] = {}
    if board is not None:
        doc = board.to_dict()
        steps = {s["index"]: s for s in doc.pop("steps")}
        head = doc
    applied = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = bounded_json_loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("head"), dict):
                raise ValueError("not a journal line")
            new_steps = {s["index"]: s for s in obj.get("steps") or []}
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            break  # a torn write at the end (killed mid-append)
        head = obj["head"]
        steps.update(new_steps)
        applied += 1
    if head is None or not applied:
        return board
    doc = dict(head)
    doc["steps"] = [steps[k] for k in sorted(steps)]
    return Board.from_dict(doc, path)


class _Journal:
    """The open journal of one board: appends (fsync'd), folds after saves. Thread safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.seq = 0
        self._ends: list[tuple[int, int]] = []  # (seq, file offset after that line), in order
        self._last_steps: dict[int, StepRecord] = {}
        self._dirty = False

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644
            )
            size = os.fstat(self._fd).st_size
            self._ends = [(self.seq, size)] if size else []
        return self._fd

    def append(self, board: Board, sync: bool = True) -> int:
        """Write the changes of ``board`` since the last append as one line (and fsync it when ``sync``);
        returns its seq. Once ``os.write`` returned the line survives a kill of this process (it is in the
        OS's cache); the fsync makes it survive a power cut too."""
        with self._lock:
            changed = [s for s in board.steps if self._last_steps.get(s.index) is not s]
            head = json.dumps(board.head_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            self.seq += 1
            line = _utf8(
                f'{{"seq":{self.seq},"head":{head},"steps":['
                + ",".join(_step_json(s) for s in changed)
                + "]}\n"
            )
            fd = self._open()
            os.write(fd, line)
            self._dirty = True
            if sync:
                self._sync(fd)
            end = os.lseek(fd, 0, os.SEEK_END)
            self._ends.append((self.seq, end))
            self._last_steps = {s.index: s for s in board.steps}
            return self.seq

    def _sync(self, fd: int) -> None:
        (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(fd)
        self._dirty = False

    def sync(self) -> None:
        """fsync the lines written since the last sync (no-op when there are none)."""
        with self._lock:
            if self._fd is not None and self._dirty:
                self._sync(self._fd)

    def fold(self, seq: int) -> None:
        """The board file now holds every change up to line ``seq``: drop those lines."""
        with self._lock:
            if self._fd is None:
                return
            if seq >= self.seq:
                os.ftruncate(self._fd, 0)
                os.fsync(self._fd)
                self._ends = []
                return
            cut = max((end for s, end in self._ends if s <= seq), default=0)
            if cut < JOURNAL_COMPACT_BYTES:
                return
            with open(self.path, "rb") as f:
                f.seek(cut)
                rest = f.read()
            atomic_write_bytes(self.path, rest)
            os.close(self._fd)
            self._fd = None
            self._open()
            self._ends = [(s, end - cut) for s, end in self._ends if s > seq]

    def close(self, remove: bool = False) -> None:
        """Close the file; remove it when ``remove`` or when it is empty (everything folded)."""
        with self._lock:
            empty = False
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    empty = os.fstat(self._fd).st_size == 0
                os.close(self._fd)
                self._fd = None
            if remove or empty:
                with contextlib.suppress(OSError):
                    self.path.unlink()


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
    """True when the first KiB of a board file written by this program says it is finished (and no
    journal holds later changes)."""
    if journal_path(path).exists():
        return False
    try:
        with open_regular(path) as f:
            head = f.read(1024)
    except OSError:
        return False
    return _FINISHED_RE.match(head) is not None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "card"


class BoardStore:
    """The boards in folder ``root`` (created if missing), one ``*.board.json`` file per attempt.

    ``save(board) -> Path`` writes atomically to ``path_for(board)`` (the same file for every save of
    one attempt; this store then holds that board's lock); ``journal(board) -> seq`` appends the
    board's changes to its stroke journal; ``load(path)`` raises BoardError(path, reason) and replays
    the journal; ``list()`` returns a BoardListing; ``unfinished()`` the attempts to offer back on
    launch; ``adopt(path, board)`` resumes a board (or gives a copy when another instance holds it);
    ``recover()`` folds the journals left by a crash; ``discard(path)`` sets one aside; ``close()``
    releases the locks.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._paths: dict[str, Path] = {}  # board_id -> file this store writes it to
        self._locks: dict[Path, FileLock] = {}  # board file -> its lock, held by this store
        self._journals: dict[str, _Journal] = {}  # board_id -> its open journal
        self._lock = threading.RLock()
        self.remove_stale_temp_files()

    def remove_stale_temp_files(self, older_than_s: float = 3600.0) -> int:
        """Delete temporary files left by saves that were killed midway (``.<name>.board.json.<pid>.<tid>
        .tmp``: the board file itself was never touched by such a save): at once when the process
        ``pid`` is gone, else when older than ``older_than_s``. Returns how many were removed."""
        n = 0
        for p in self.root.glob(f".*{SUFFIX}*.tmp"):
            try:
                parts = p.name.rsplit(".", 3)  # [..., pid, tid, "tmp"]
                pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else 0
                dead = pid != os.getpid() and not _pid_alive(pid)
                if dead or time.time() - p.stat().st_mtime > older_than_s:
                    p.unlink()
                    n += 1
            except OSError:
                pass
        return n

    # ----------------------------------------------------------------------------- one writer
    def _claim(self, path: Path) -> bool:
        """Take the lock of board file ``path`` for this store; False when another holder has it."""
        with self._lock:
            if path in self._locks:
                return True
            lock = FileLock(lock_path(path))
            try:
                ok = lock.acquire()
            except OSError:
                return True  # a folder without locks (read-only media): saving fails on its own anyway
            if ok:
                self._locks[path] = lock
            return ok

    def is_locked_elsewhere(self, path: str | os.PathLike[str]) -> bool:
        """Whether another live process (or another store) holds the lock of board file ``path``."""
        path = Path(path)
        with self._lock:
            if path in self._locks:
                return False
        lock = FileLock(lock_path(path))
        try:
            if lock.acquire():
                lock.release()
                return False
        except OSError:
            return False
        return True

    def release(self, board_id: str) -> None:
        """Stop writing ``board_id``: close its journal (kept if not folded) and release its lock."""
        with self._lock:
            j = self._journals.pop(board_id, None)
            path = self._paths.pop(board_id, None)
            lock = self._locks.pop(path, None) if path is not None else None
        if j is not None:
            j.close()
        if lock is not None:
            lock.release()

    def close(self) -> None:
        """Close every journal and release every lock this store holds."""
        for bid in list(self._paths):
            self.release(bid)
        with self._lock:
            locks, self._locks = list(self._locks.values()), {}
        for lock in locks:
            lock.release()

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
            taken = set(self._paths.values())
            while True:
                if path not in taken and self._claim(path):
                    if not path.exists() and not journal_path(path).exists():
                        break
                    try:  # the file of this same attempt (e.g. resumed after a crash): ours to overwrite
                        if self.load(path).board_id == board.board_id:
                            break
                    except BoardError:
                        pass  # corrupt or foreign: never overwrite it
                    self._locks.pop(path).release()
                path = path.with_name(path.name.removesuffix(SUFFIX) + f"-{n}{SUFFIX}")
                n += 1
            self._paths[board.board_id] = path
            return path

    def save(self, board: Board, journal_seq: int | None = None) -> Path:
        """Write ``board`` atomically and return its path; with ``journal_seq`` (the seq ``journal``
        returned for this snapshot) the journal lines up to it are folded away. Raises
        BoardError(path, reason) when the disk refuses (the previous version of the file stays intact)."""
        path = self._target(board)
        data = _utf8(board.dumps())
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise BoardError(path, f"cannot save: {exc.strerror or exc}") from exc
        if journal_seq is not None:
            with self._lock:
                j = self._journals.get(board.board_id)
            if j is not None:
                try:
                    j.fold(journal_seq)
                except OSError:
                    logger.exception("folding the stroke journal of %s", path)
        return path

    def journal(self, board: Board, sync: bool = True) -> int:
        """Append ``board``'s changes since the last call to its stroke journal before returning (fsync'd
        too when ``sync``; else call ``sync_journal`` soon); returns the line's seq (give it to ``save``).
        Raises BoardError when the disk refuses."""
        path = self._target(board)
        with self._lock:
            j = self._journals.get(board.board_id)
            if j is None:
                j = self._journals[board.board_id] = _Journal(journal_path(path))
        try:
            return j.append(board, sync)
        except OSError as exc:
            raise BoardError(path, f"cannot write the stroke journal: {exc.strerror or exc}") from exc

    def sync_journal(self, board_id: str) -> None:
        """fsync the journal lines of ``board_id`` written without ``sync``. Raises BoardError."""
        with self._lock:
            j = self._journals.get(board_id)
            path = self._paths.get(board_id)
        if j is not None:
            try:
                j.sync()
            except OSError as exc:
                raise BoardError(path, f"cannot write the stroke journal: {exc.strerror or exc}") from exc

    def adopt(self, path: str | os.PathLike[str], board: Board) -> Board:
        """Resume ``board`` loaded from ``path``: further saves go to ``path`` and this store holds its
        lock. When another instance holds that lock (it is writing the board now), returns a copy of
        the board with a new board id, which is saved to a new file: the two never overwrite each
        other. Returns the board to resume (``board`` itself, or the copy)."""
        path = Path(path)
        if not self._claim(path):
            copy = replace(board, board_id=uuid.uuid4().hex)
            logger.warning("%s is open in another instance; resuming a copy as board %s", path, copy.board_id)
            return copy
        with self._lock:
            self._paths[board.board_id] = path
        return board

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Board:
        """Read a board file (any known format version) and replay its stroke journal, if any. Raises
        BoardError(path, reason) when it is missing, unreadable, not a regular file, larger than
        MAX_BOARD_BYTES, corrupt, truncated, foreign or from a future version. Never writes."""
        path = Path(path)
        jpath = journal_path(path)
        try:
            try:
                data = read_regular(path, MAX_BOARD_BYTES)
                board = Board.loads(data, path)
            except FileNotFoundError:
                if not jpath.exists():
                    raise
                board = None
            if jpath.exists():
                with contextlib.suppress(FileNotFoundError):
                    board = replay_journal(path, board, read_regular(jpath, MAX_JOURNAL_BYTES))
            if board is None:  # no board file (a missing journal re-raised above)
                raise BoardError(path, "only an empty stroke journal")
            return board
        except BoardError:
            raise
        except FileNotFoundError as exc:
            raise BoardError(path, "no such file") from exc
        except OSError as exc:
            raise BoardError(path, f"cannot read: {exc.strerror or exc}") from exc
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError, OverflowError) as exc:
            raise BoardError(path, f"unreadable board ({type(exc).__name__}: {exc})") from exc

    def files(self) -> Iterator[Path]:
        """Board files in the store, and boards that so far exist only as a stroke journal (temporary
        files of a save in progress, locks and journals themselves are skipped)."""
        seen = set()
        for p in self.root.glob(f"*{SUFFIX}"):
            if not p.name.startswith("."):
                seen.add(p)
        for j in self.root.glob(f".*{SUFFIX}{JOURNAL_SUFFIX}"):
            seen.add(_board_of_journal(j))
        yield from sorted(seen)

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

    def misreadings(self) -> builtins.list[tuple[str, str]]:
        """(read, corrected) LaTeX of every corrected recogniser reading on every saved board
        (``Board.misreadings``), file by file. Fast over a long history: a file without a correction
        (no ``"before"`` key in it) is not parsed. Files that do not load are skipped (``list()``
        reports them)."""
        out: list[tuple[str, str]] = []
        for p in self.files():
            try:
                if not journal_path(p).exists():
                    data = read_regular(p, MAX_BOARD_BYTES)
                    if b'"before"' not in data:
                        continue
                out.extend(self.load(p).misreadings())
            except (OSError, BoardError):
                continue
        return out

    def unfinished(self) -> builtins.list[BoardEntry]:
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

    def recover(self) -> builtins.list[Path]:
        """Fold the stroke journals left by a crash into their board files (each board not locked by a
        live instance: loaded with its journal, saved atomically, journal removed). Boards that do not
        load are left untouched. Returns the recovered board files."""
        done = []
        for j in sorted(self.root.glob(f".*{SUFFIX}{JOURNAL_SUFFIX}")):
            path = _board_of_journal(j)
            with self._lock:
                if path in self._paths.values():
                    continue  # ours, open
                if not self._claim(path):
                    continue  # another live instance writes it
            try:
                board = self.load(path)
                atomic_write_bytes(path, _utf8(board.dumps()))
                j.unlink()
                fsync_dir(self.root)
                done.append(path)
            except (BoardError, OSError) as exc:
                logger.warning("could not recover %s: %s", path, exc)
            finally:
                with self._lock:
                    lock = self._locks.pop(path, None)
                if lock is not None:
                    lock.release()
        for lp in self.root.glob(f".*{SUFFIX}{LOCK_SUFFIX}"):  # left by a killed instance: free now
            if lp.with_name(lp.name[1:].removesuffix(LOCK_SUFFIX)) in self._locks:
                continue
            stale = FileLock(lp)
            with contextlib.suppress(OSError):
                if stale.acquire():
                    stale.release()
        return done

    def delete(self, path: str | os.PathLike[str]) -> None:
        """Remove a board for good (the user asked): its file and its stroke journal (else the journal
        would bring it back); this store stops writing it. Raises OSError (FileNotFoundError when
        neither exists)."""
        path = Path(path)
        with self._lock:
            mine = [bid for bid, p in self._paths.items() if p == path]
        for bid in mine:
            self.release(bid)
        jpath = journal_path(path)
        had_journal = jpath.exists()
        with contextlib.suppress(FileNotFoundError):
            jpath.unlink()
        try:
            path.unlink()
        except FileNotFoundError:
            if not had_journal:
                raise
        fsync_dir(self.root)

    def discard(self, path: str | os.PathLike[str]) -> Path:
        """Set an unfinished board aside (the user declined to continue it): moved to
        ``<root>/discarded/`` with its journal folded in, never deleted. Returns the new path."""
        path = Path(path)
        dest_dir = self.root / "discarded"
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / path.name
        jpath = journal_path(path)
        if jpath.exists():
            try:
                atomic_write_bytes(dest, _utf8(self.load(path).dumps()))
            except BoardError:
                os.replace(jpath, dest_dir / jpath.name)
            else:
                jpath.unlink()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            os.replace(path, dest)
        fsync_dir(self.root)
        return dest


class Autosaver:
    """Journals every submitted board snapshot at once and saves the newest one on a background thread
    (stdlib ``threading``; the core has no Qt event loop).

    Call ``submit(board)`` on every stroke end (``Session.subscribe`` does it): it appends the changes
    to the board's stroke journal with one ``os.write`` before it returns (well under a millisecond: from
    then on a kill or crash of the program cannot lose the change, so a kill loses at most the stroke in
    progress, at any writing speed), then queues the snapshot; the writer thread fsyncs the journal at
    once (so that a power cut loses at most the last few milliseconds) and then saves. The writer thread saves the newest snapshot; submissions arriving while
    a write runs are coalesced into one next write of the newest snapshot (the debounce), with at least
    ``min_interval_ms`` between the start of two writes (0: write as soon as the previous write ended);
    each save folds the journal lines it covers. ``flush()`` waits until everything submitted is in
    the board file; ``close()`` flushes, stops and releases the store's locks.

    ``on_saved(path)`` and ``on_error(BoardError)`` are called ON THE WRITER THREAD (or in ``submit``
    for a journal error; a Qt window must forward them with a queued signal). After a failed save the
    next submission tries again (it holds everything the failed snapshot held).
    """

    def __init__(
        self,
        store: BoardStore,
        *,
        min_interval_ms: float = 0.0,
        on_saved: Callable[[Path], None] | None = None,
        on_error: Callable[[BoardError], None] | None = None,
        journal: bool = True,
    ) -> None:
        self.store = store
        self.min_interval_s = max(0.0, min_interval_ms) / 1000.0
        self.on_saved = on_saved
        self.on_error = on_error
        self.journal = journal
        self.last_error: BoardError | None = None
        self.last_path: Path | None = None
        self.saves = 0
        self._cond = threading.Condition()
        self._pending: tuple[Board, int | None] | None = None
        self._writing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="board-autosave", daemon=True)
        self._thread.start()

    def submit(self, board: Board) -> None:
        """Journal ``board`` (an immutable snapshot) durably, then queue it to be saved; a newer
        submission replaces it in the queue. A journal that cannot be written is reported through
        ``on_error`` (the full save is still tried)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("autosaver is closed")
        seq = None
        if self.journal:
            try:
                seq = self.store.journal(board, sync=False)
            except BoardError as exc:
                self.last_error = exc
                if self.on_error:
                    self.on_error(exc)
        with self._cond:
            self._pending = (board, seq)
            self._cond.notify_all()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every submitted snapshot is written (or failed); True if idle within ``timeout`` s."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._writing, timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop the writer thread and release the store's board locks. Returns whether the
        flush finished in time."""
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if done:
            self.store.close()
        return done

    def _run(self) -> None:
        last_start = 0.0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None and self._closed:
                    return
                wait = last_start + self.min_interval_s - time.monotonic()
                if wait > 0 and not self._closed:
                    self._cond.wait(wait)  # more submissions may arrive: they replace _pending
                assert self._pending is not None  # wait_for: a submission, or closed (returned above)
                (board, seq), self._pending = self._pending, None
                self._writing = True
            last_start = time.monotonic()
            try:
                if seq is not None:
                    self.store.sync_journal(board.board_id)
                path = self.store.save(board, journal_seq=seq)
                self.last_path, self.last_error = path, None
                self.saves += 1
                if self.on_saved:
                    self.on_saved(path)
            except BoardError as exc:
                self.last_error = exc  # the next submission (a newer snapshot) tries again
                if self.on_error:
                    self.on_error(exc)
            except Exception:  # a bug must not stop autosave; the journal still holds it
                logger.exception("autosave of board %s failed", board.board_id)
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()
