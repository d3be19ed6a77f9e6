"""Background work for the window: QRunnable workers on a QThreadPool with result / error signals and a
cancel flag, and the per-step reader that runs recognition + checking after a pause in writing.

The canvas never waits: recognition and sympy run in the pool; the result comes back as a queued signal
on the GUI thread. A result for ink whose signature has changed since the work started is dropped
(``StepReader``). Pattern after Hand-TeX ``worker_thread.py`` and Anki ``aqt/operations``: errors are
emitted in words, never swallowed.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Hashable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

#: Writing pause after which a step is read, ms (issue 4: "after a pause in writing (~600 ms)").
DEFAULT_PAUSE_MS = 600


class WorkerSignals(QObject):
    """Signals of one :class:`Worker`, emitted from the pool thread, delivered queued on the GUI thread.

    ``result(object)`` the function's return value; ``error(str)`` the exception in words;
    ``finished()`` always last (also after a cancel).
    """

    result = Signal(object)
    error = Signal(str)
    finished = Signal()


class Worker(QRunnable):
    """Run ``fn(*args, **kwargs)`` on a pool thread.

    ``cancel()`` sets a flag: a cancelled worker that has not started does not run ``fn``, and one that
    has finished ``fn`` emits no result or error (only ``finished``). ``tag`` is free data for the caller
    (e.g. the ink signature the work was started for).
    """

    def __init__(
        self, fn: Callable[..., Any], *args: Any, tag: Hashable | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs, self.tag = fn, args, kwargs, tag
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self.setAutoDelete(False)  # the Python side keeps the wrapper (and its signals) alive

    def cancel(self) -> None:
        """Ask the worker not to deliver a result (thread-safe)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """True once ``cancel()`` was called."""
        return self._cancel.is_set()

    def run(self) -> None:  # runs on a pool thread
        try:
            if self.cancelled:
                return
            try:
                value = self.fn(*self.args, **self.kwargs)
            except Exception as exc:  # noqa: BLE001 - reported through the error signal
                if not self.cancelled:
                    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                    _emit(self.signals.error, detail)
                return
            if not self.cancelled:
                _emit(self.signals.result, value)
        finally:
            _emit(self.signals.finished)


def _emit(signal, *args: Any) -> None:
    """Emit ``signal`` unless its object is gone (the window closed, or the program is quitting while a
    worker still ran): nobody is left to tell, which is not an error."""
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


class WorkerPool(QObject):
    """A thin owner of running workers on a QThreadPool (the global one unless given).

    Keeps each worker referenced until it has finished, so its signals object outlives the thread.
    """

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._running: set[Worker] = set()

    def submit(
        self,
        worker: Worker,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Worker:
        """Connect the callbacks and start ``worker``; returns it (so the caller may cancel it)."""
        if on_result is not None:
            worker.signals.result.connect(on_result)
        if on_error is not None:
            worker.signals.error.connect(on_error)
        self._running.add(worker)
        worker.signals.finished.connect(lambda w=worker: self._running.discard(w))
        self.pool.start(worker)
        return worker

    def running(self) -> int:
        """Number of submitted workers that have not finished."""
        return len(self._running)

    def cancel_all(self) -> None:
        """Cancel every running worker (they deliver nothing)."""
        for w in list(self._running):
            w.cancel()

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the pool is idle (tests and shutdown only)."""
        return self.pool.waitForDone(msecs)


def _single_shot_timer(parent: QObject) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    return timer


class StepReader(QObject):
    """Schedules reading + checking of steps after a writing pause, and drops stale results.

    ``ink_changed(step, signature)`` (re)starts the pause timer of that step; after ``pause_ms`` (or at
    once on ``step_ended(step, signature)``) ``job(step)`` is called on the GUI thread to get the
    function to run in the pool (or None to skip), and its result is emitted as ``result_ready(step,
    value)`` only when ``current_signature(step)`` still equals the signature the work started for;
    otherwise ``stale_dropped(step)`` is emitted. Errors are emitted as ``failed(step, message)``.

    ``timer_factory(parent)`` makes the pause timers (default: a single-shot :class:`QTimer`); tests pass
    a fake with the same ``start(ms)``, ``stop()``, ``isActive()`` and ``timeout.connect`` so that they
    fire the pause themselves instead of racing the wall clock.
    """

    result_ready = Signal(int, object)
    stale_dropped = Signal(int)
    failed = Signal(int, str)
    started = Signal(int)

    def __init__(
        self,
        job: Callable[[int], Callable[[], Any] | None],
        current_signature: Callable[[int], Hashable],
        pause_ms: int = DEFAULT_PAUSE_MS,
        pool: WorkerPool | None = None,
        parent: QObject | None = None,
        timer_factory: Callable[[QObject], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._job = job
        self._timer_factory = timer_factory or _single_shot_timer
        self._signature = current_signature
        self.pause_ms = int(pause_ms)
        self.pool = pool or WorkerPool(parent=self)
        self._timers: dict[int, QTimer] = {}
        self._inflight: dict[int, Worker] = {}

    def ink_changed(self, step: int) -> None:
        """The ink of ``step`` changed: read it after the writing pause (restarts the pause)."""
        timer = self._timers.get(step)
        if timer is None:
            timer = self._timer_factory(self)
            timer.timeout.connect(lambda s=step: self.read_now(s))
            self._timers[step] = timer
        timer.start(self.pause_ms)

    def postpone(self) -> None:
        """The pen is moving (or just went down): restart every waiting pause, so that no step is read
        in the middle of a stroke."""
        for timer in self._timers.values():
            if timer.isActive():
                timer.start(self.pause_ms)

    def step_ended(self, step: int) -> None:
        """The writer moved on: read ``step`` now."""
        self.read_now(step)

    def pending(self, step: int) -> bool:
        """True while a read of ``step`` is waiting for the pause or running."""
        timer = self._timers.get(step)
        return (timer is not None and timer.isActive()) or step in self._inflight

    def read_now(self, step: int) -> Worker | None:
        """Start reading ``step`` at once (cancels an earlier read of the same step)."""
        timer = self._timers.get(step)
        if timer is not None:
            timer.stop()
        fn = self._job(step)
        if fn is None:
            return None
        old = self._inflight.pop(step, None)
        if old is not None:
            old.cancel()
        worker = Worker(fn, tag=self._signature(step))
        self._inflight[step] = worker
        self.started.emit(step)
        worker.signals.result.connect(lambda value, w=worker: self._done(w, value))
        worker.signals.error.connect(lambda msg, w=worker: self._error(w, msg))
        self.pool.submit(worker)
        return worker

    def shift(self, from_step: int, delta: int) -> None:
        """Steps >= ``from_step`` moved by ``delta`` places (a step split or merged): their waiting pauses
        and reads in flight follow them. With delta < 0 the ``-delta`` steps before ``from_step`` are
        gone: their pauses stop and their reads are cancelled."""
        waiting = sorted(k for k, t in self._timers.items() if t.isActive())
        for t in self._timers.values():
            t.stop()
        inflight, self._inflight = self._inflight, {}
        for k, w in inflight.items():
            if k >= from_step:
                self._inflight[k + delta] = w
            elif delta < 0 and k >= from_step + delta:
                w.cancel()
            else:
                self._inflight[k] = w
        for k in waiting:
            if k >= from_step:
                self.ink_changed(k + delta)
            elif not (delta < 0 and k >= from_step + delta):
                self.ink_changed(k)

    def _release(self, worker: Worker) -> int | None:
        """The step ``worker`` is reading now (steps may have moved since it started), after forgetting
        it; None when it was cancelled or replaced."""
        step = next((k for k, w in self._inflight.items() if w is worker), None)
        if step is not None:
            del self._inflight[step]
        return None if worker.cancelled else step

    def _done(self, worker: Worker, value: Any) -> None:
        if not shiboken6.isValid(self):  # the view (and this reader) went away while the step was read
            return
        step = self._release(worker)
        if step is None:
            return
        if self._signature(step) != worker.tag:
            self.stale_dropped.emit(step)
            return
        self.result_ready.emit(step, value)

    def _error(self, worker: Worker, message: str) -> None:
        if not shiboken6.isValid(self):
            return
        step = self._release(worker)
        if step is not None:
            self.failed.emit(step, message)

    def cancel(self, step: int) -> None:
        """Forget ``step``'s waiting pause and read in flight (its result is known already)."""
        timer = self._timers.get(step)
        if timer is not None:
            timer.stop()
        worker = self._inflight.pop(step, None)
        if worker is not None:
            worker.cancel()

    def cancel_all(self) -> None:
        """Stop every pause timer and cancel every read in flight (e.g. leaving the card)."""
        for timer in self._timers.values():
            timer.stop()
        for worker in self._inflight.values():
            worker.cancel()
        self._inflight.clear()
