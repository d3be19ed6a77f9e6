"""ui.workers: QRunnable workers with result/error signals and a cancel flag; the StepReader reads a
step after a writing pause and drops results for ink that changed meanwhile."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from whiteboard_app.ui.workers import StepReader, Worker, WorkerPool  # noqa: E402


def test_worker_result_arrives_on_the_gui_thread(qtbot):
    pool = WorkerPool()
    got = []
    w = Worker(lambda a, b: a + b, 2, 3)
    w.signals.result.connect(lambda v: got.append((v, threading.current_thread() is threading.main_thread())))
    with qtbot.waitSignal(w.signals.finished, timeout=5000):
        pool.submit(w)
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    assert got == [(5, True)]


def test_worker_error_is_reported_in_words(qtbot):
    pool = WorkerPool()

    def boom():
        raise ValueError("sympy ran out of patience")

    w = Worker(boom)
    with qtbot.waitSignal(w.signals.error, timeout=5000) as sig:
        pool.submit(w)
    assert sig.args == ["ValueError: sympy ran out of patience"]


def test_a_cancelled_worker_delivers_nothing(qtbot):
    pool = WorkerPool()
    gate = threading.Event()
    results = []
    w = Worker(lambda: gate.wait(5) and "late")
    w.signals.result.connect(results.append)
    pool.submit(w)
    w.cancel()
    gate.set()
    assert pool.wait(5000)
    qtbot.wait(50)
    assert results == [] and w.cancelled


class _Steps:
    """A tiny step store for the reader: a signature per step that tests change."""

    def __init__(self):
        self.sig = {0: ("a",)}

    def signature(self, k):
        return self.sig[k]


class _FakeTimer:
    """A pause timer the test fires by hand (StepReader's ``timer_factory``): no wall-clock race."""

    def __init__(self, parent=None):
        self._active = False
        self.starts: list[int] = []
        self._slots = []
        self.timeout = self

    def connect(self, slot):  # timer.timeout.connect(slot)
        self._slots.append(slot)

    def start(self, ms):
        self.starts.append(ms)
        self._active = True

    def stop(self):
        self._active = False

    def isActive(self):
        return self._active

    def fire(self):
        assert self._active, "fired a timer that is not running"
        self._active = False
        for slot in self._slots:
            slot()


def _fake_timers():
    made: list[_FakeTimer] = []

    def factory(parent):
        made.append(_FakeTimer(parent))
        return made[-1]

    return made, factory


def test_reader_waits_for_the_pause_then_delivers(qtbot):
    steps = _Steps()
    calls = []
    timers, factory = _fake_timers()
    reader = StepReader(
        lambda k: lambda: calls.append(k) or f"read {k}", steps.signature, pause_ms=150, timer_factory=factory
    )
    reader.ink_changed(0)
    reader.ink_changed(0)  # more ink inside the pause: the pause starts again, on the same timer
    assert len(timers) == 1 and timers[0].starts == [150, 150]
    assert calls == [] and reader.pending(0)
    with qtbot.waitSignal(reader.result_ready, timeout=3000) as sig:
        timers[0].fire()  # the pause ends
    assert sig.args == [0, "read 0"]
    assert calls == [0]  # one read for two changes inside the pause
    assert not reader.pending(0)


def test_reader_reads_at_once_when_the_step_ends(qtbot):
    steps = _Steps()
    reader = StepReader(lambda k: lambda: "now", steps.signature, pause_ms=60_000)
    with qtbot.waitSignal(reader.result_ready, timeout=3000) as sig:
        reader.step_ended(0)
    assert sig.args == [0, "now"]


def test_stale_result_is_dropped(qtbot):
    steps = _Steps()
    gate = threading.Event()
    delivered = []
    reader = StepReader(lambda k: lambda: gate.wait(5) and "old reading", steps.signature, pause_ms=10)
    reader.result_ready.connect(lambda k, v: delivered.append(v))
    reader.read_now(0)
    steps.sig[0] = ("a", "b")  # the user wrote another stroke while the recogniser ran
    with qtbot.waitSignal(reader.stale_dropped, timeout=5000) as sig:
        gate.set()
    assert sig.args == [0]
    qtbot.wait(20)
    assert delivered == []


def test_a_newer_read_cancels_the_older_one(qtbot):
    steps = _Steps()
    gate = threading.Event()
    answers = iter(["first", "second"])
    delivered = []

    def job(k):
        value = next(answers)
        return lambda: gate.wait(5) and value

    reader = StepReader(job, steps.signature, pause_ms=10)
    reader.result_ready.connect(lambda k, v: delivered.append(v))
    reader.read_now(0)
    reader.read_now(0)
    gate.set()
    qtbot.waitUntil(lambda: bool(delivered), timeout=5000)
    reader.pool.wait(5000)
    qtbot.wait(30)
    assert delivered == ["second"]


def test_reader_error_is_emitted_with_the_step(qtbot):
    steps = _Steps()

    def job(k):
        def run():
            raise RuntimeError("engine crashed")

        return run

    reader = StepReader(job, steps.signature, pause_ms=10)
    with qtbot.waitSignal(reader.failed, timeout=5000) as sig:
        reader.read_now(0)
    assert sig.args[0] == 0 and "engine crashed" in sig.args[1]


def test_no_job_means_no_work(qtbot):
    steps = _Steps()
    reader = StepReader(lambda k: None, steps.signature, pause_ms=10)
    assert reader.read_now(0) is None
    assert not reader.pending(0)


def test_pen_activity_postpones_the_read(qtbot):
    steps = _Steps()
    calls = []
    timers, factory = _fake_timers()
    reader = StepReader(
        lambda k: lambda: calls.append(k) or "r", steps.signature, pause_ms=150, timer_factory=factory
    )
    reader.ink_changed(0)
    for _ in range(4):  # the pen keeps moving: every move restarts the waiting pause
        reader.postpone()
    assert timers[0].starts == [150] * 5
    assert calls == [] and reader.pending(0)
    with qtbot.waitSignal(reader.result_ready, timeout=3000):
        timers[0].fire()
    assert calls == [0]


def test_postpone_leaves_a_step_that_is_not_waiting_alone(qtbot):
    steps = _Steps()
    timers, factory = _fake_timers()
    reader = StepReader(lambda k: lambda: "r", steps.signature, pause_ms=150, timer_factory=factory)
    reader.ink_changed(0)
    with qtbot.waitSignal(reader.result_ready, timeout=3000):
        timers[0].fire()
    reader.postpone()  # the pause of step 0 is over: moving the pen must not read it again
    assert timers[0].starts == [150] and not reader.pending(0)


def test_a_read_follows_its_step_when_steps_shift(qtbot):
    """A step was split above the one being read: the result lands on the step's new index; a read of a
    step that a merge removed delivers nothing."""
    steps = _Steps()
    steps.sig = {0: ("a",), 1: ("b",), 2: ("c",)}
    gate = threading.Event()
    delivered = []
    reader = StepReader(lambda k: lambda k=k: gate.wait(5) and f"read of {k}", steps.signature, pause_ms=10)
    reader.result_ready.connect(lambda k, v: delivered.append((k, v)))
    reader.read_now(1)
    reader.read_now(2)
    steps.sig = {0: ("a",), 1: ("a2",), 2: ("b",), 3: ("c",)}  # step 0 split: b and c moved down
    reader.shift(1, 1)
    assert reader.pending(2) and reader.pending(3) and not reader.pending(1)
    gate.set()
    qtbot.waitUntil(lambda: len(delivered) == 2, timeout=5000)
    assert sorted(delivered) == [(2, "read of 1"), (3, "read of 2")]

    gate.clear()
    delivered.clear()
    reader.read_now(2)
    reader.shift(3, -1)  # step 2 merged away; step 3 moves up
    assert not reader.pending(2)
    gate.set()
    reader.pool.wait(5000)
    qtbot.wait(30)
    assert delivered == []


def test_a_reader_deleted_while_its_step_is_read_takes_the_late_result_quietly(qtbot):
    import shiboken6
    from PySide6.QtCore import QObject

    release = threading.Event()
    parent = QObject()
    pool = WorkerPool()
    reader = StepReader(
        job=lambda step: lambda: release.wait(5) and "read",
        current_signature=lambda s: 1,
        pause_ms=10,
        pool=pool,
        parent=parent,
    )
    errors = []
    reader.failed.connect(lambda step, msg: errors.append(msg))
    assert reader.read_now(0) is not None
    shiboken6.delete(parent)  # the view goes away (its reader with it) while the step is being read
    assert not shiboken6.isValid(reader)
    release.set()
    assert pool.wait(5000)
    qtbot.wait(50)  # the late result is delivered on the GUI thread: no "Signal source has been deleted"
    assert errors == []
