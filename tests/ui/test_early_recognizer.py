"""The recogniser's worker started first thing at launch (issue 16: recogniser ready <= 2.5 s after launch):
``app.start_recognizer_early`` spawns it before Qt and the window load, and the window's loader takes
that very worker instead of starting another one."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from whiteboard_app.app import (
    EarlyRecognizer,
    build_window,
    parse_args,
    recognizer_factory,
    start_recognizer_early,
)
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.registry import TimeLimitedRecognizer, register_engine

register_engine("counting", "tests.fake_engines:CountingEngine")


@pytest.fixture(autouse=True)
def _free_core(monkeypatch):
    """The machine has a core to spare (the early start's condition), whatever the test machine's load."""
    import whiteboard_app.app as app

    monkeypatch.setattr(app, "spare_core", lambda since=None: True)


def _args(tmp_path, *extra: str):
    return parse_args(["--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data"), *extra])


def test_the_worker_starts_before_the_window_and_the_window_uses_it(qtbot, tmp_path):
    early = start_recognizer_early(_args(tmp_path, "--engine", "counting"))
    assert isinstance(early, EarlyRecognizer) and early.engine == "counting"
    worker = early._recognizer
    assert isinstance(worker, TimeLimitedRecognizer) and worker._proc.is_alive()  # spawned already
    window, services, _settings = build_window(_args(tmp_path, "--engine", "counting"), early)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: not window.recognizers.loading, timeout=60_000)
        assert window.recognizers.recognizer is worker  # the same worker process: not a second one
        assert worker.restarts == 0
        result = worker.recognize(synthesize("x+1", seed=1).ink)
        assert result.best and result.best.endswith("strokes")
        assert early.take("counting") is None  # handed over once
    finally:
        window.close()
        window.recognizers.close()
        services.close()


def test_a_second_look_starts_the_worker_when_the_first_found_the_cores_busy(tmp_path, monkeypatch):
    # the first look (the launch's first ~0.1 s) saw a program still ending; the second, over the
    # settings' reading, finds a core free: the worker is started then, still before the window
    import whiteboard_app.app as app

    looks = []
    monkeypatch.setattr(app, "spare_core", lambda since=None: looks.append(since) or len(looks) > 1)
    early = start_recognizer_early(_args(tmp_path, "--engine", "counting"))
    try:
        assert early is not None and early.engine == "counting"
        assert looks[0] is None and looks[1] is not None  # the second look measures from the first's end
    finally:
        early.close()


def test_the_settings_engine_is_started_when_no_engine_is_given(tmp_path, monkeypatch):
    # the default engine's worker is spawned before the settings are read (no Qt import first); when the
    # settings name another engine, that one is closed and the settings' engine started
    from whiteboard_app.recognition import registry
    from whiteboard_app.ui.settings_dialog import AppSettings, open_settings

    register_engine("other-counting", "tests.fake_engines:CountingEngine")
    monkeypatch.setattr(registry, "DEFAULT_ENGINE", "other-counting")
    spawned = []
    real = registry.get_recognizer
    monkeypatch.setattr(registry, "get_recognizer", lambda name: spawned.append(real(name)) or spawned[-1])
    AppSettings(open_settings(tmp_path / "s.ini")).set("recognizer/engine", "counting")
    early = start_recognizer_early(_args(tmp_path))
    try:
        assert early is not None and early.engine == "counting"
        assert [r.name for r in spawned] == ["other-counting", "counting"]
        assert spawned[0]._proc is None  # the default engine's worker was closed
        assert early._recognizer is spawned[1]
    finally:
        early.close()
    assert early.take("counting") is None  # closed: nothing left to take


def test_with_the_default_engine_in_the_settings_one_worker_is_started(tmp_path, monkeypatch):
    from whiteboard_app.recognition import registry
    from whiteboard_app.ui.settings_dialog import AppSettings, open_settings

    monkeypatch.setattr(registry, "DEFAULT_ENGINE", "counting")
    spawned = []
    real = registry.get_recognizer
    monkeypatch.setattr(registry, "get_recognizer", lambda name: spawned.append(real(name)) or spawned[-1])
    AppSettings(open_settings(tmp_path / "s.ini")).set("recognizer/engine", "counting")
    early = start_recognizer_early(_args(tmp_path))
    try:
        assert early is not None and early.engine == "counting" and len(spawned) == 1
    finally:
        early.close()


def test_no_early_worker_without_a_recogniser_or_for_an_unknown_engine(tmp_path):
    assert start_recognizer_early(_args(tmp_path, "--no-recognizer")) is None
    # unknown engine: nothing started here; the window's loader reports the reason in words
    assert start_recognizer_early(_args(tmp_path, "--engine", "no-such-engine")) is None


def test_a_worker_for_another_engine_is_closed_not_used(tmp_path):
    early = start_recognizer_early(_args(tmp_path, "--engine", "counting"))
    worker = early._recognizer
    proc = worker._proc
    assert early.take("mathnote") is None
    proc.join(5)
    assert not proc.is_alive()  # ended, not left running beside the one the window starts


def test_the_loader_falls_back_to_a_new_worker_when_the_early_one_was_taken(tmp_path):
    early = EarlyRecognizer("counting", None)
    rec = recognizer_factory("counting", None, early)()
    try:
        assert isinstance(rec, TimeLimitedRecognizer)
        assert rec.recognize(synthesize("x", seed=0).ink).best
    finally:
        rec.close()


def test_no_early_worker_when_no_core_is_free(tmp_path, monkeypatch):
    import whiteboard_app.app as app

    monkeypatch.setattr(app, "spare_core", lambda since=None: False)
    # the window then starts the worker itself once it is shown (RecognizerService.start_soon)
    assert start_recognizer_early(_args(tmp_path, "--engine", "counting")) is None


@pytest.mark.parametrize(
    ("cpus", "others", "spare"),
    [(2, 0.0, True), (2, 0.4, True), (2, 0.7, False), (2, 1.9, False), (1, 0.0, False), (4, 2.4, True)],
)
def test_a_core_is_spare_when_the_other_processes_leave_one(monkeypatch, cpus, others, spare):
    # the instant measure (issue 16): the other processes' CPU use since launch, not the load average
    import os

    import whiteboard_app.app as app

    monkeypatch.undo()  # the real spare_core, not the autouse fixture's stand-in
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))  # lagging figure: not used
    # 0.1 s of wall time in which this process used 0.1 s of CPU and the others `others` cores' worth
    since = (100.0, 50.0, 2.0)
    monkeypatch.setattr(app, "cpu_sample", lambda: (100.1, 50.1 + 0.1 * others, 2.1))
    assert app.others_busy(since, app.cpu_sample()) == pytest.approx(others)
    assert app.spare_core(since) is spare


def test_the_measure_waits_for_its_shortest_span(monkeypatch):
    import time

    import whiteboard_app.app as app

    monkeypatch.undo()
    now = app.cpu_sample()
    if now is None:
        pytest.skip("no /proc/stat here")
    app.spare_core(now)
    assert time.perf_counter() - now[0] >= app.MIN_SAMPLE_S  # measured over at least that span
    later = app.cpu_sample()
    assert later[0] > now[0] and later[1] >= now[1] and later[2] >= now[2]  # real, increasing figures
    assert app.others_busy(now, now) == 0.0


@pytest.mark.parametrize(
    ("cpus", "load", "spare"),
    [(2, 0.3, True), (2, 1.0, True), (2, 1.4, False), (2, 7.5, False), (1, 0.0, False), (4, 2.5, True)],
)
def test_without_cpu_times_a_core_is_spare_when_the_load_leaves_one(monkeypatch, cpus, load, spare):
    import os

    import whiteboard_app.app as app

    monkeypatch.undo()
    monkeypatch.setattr(app, "cpu_sample", lambda: None)
    monkeypatch.setattr(app, "LAUNCH_SAMPLE", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert app.spare_core() is spare


def test_without_a_load_figure_two_cpus_count_as_a_spare_core(monkeypatch):
    import os

    import whiteboard_app.app as app

    monkeypatch.undo()

    def no_load():
        raise OSError("no load average here")

    monkeypatch.setattr(app, "cpu_sample", lambda: None)
    monkeypatch.setattr(app, "LAUNCH_SAMPLE", None)
    monkeypatch.setattr(os, "getloadavg", no_load)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert app.spare_core() is True
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert app.spare_core() is False


def test_a_recogniser_loaded_after_the_card_opened_is_prepared_for_that_card(qtbot):
    # issue 16: the card opened while the recogniser was loading; once it has loaded, its worker gets the
    # card's context to typeset the forms for its verifier before the first step rather than beside it
    import threading

    from whiteboard_app.decks import bundled_deck_dir, load_card
    from whiteboard_app.sessions.clock import FakeClock
    from whiteboard_app.ui.practice_view import PracticeServices, PracticeView

    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    got = threading.Event()

    class Preparing:
        name = "preparing"
        contexts: list = []

        def recognize(self, ink, context=None):
            raise AssertionError("no step written")

        def prepare(self, context):
            self.contexts.append(context)
            got.set()

    box: dict = {"rec": None}
    services = PracticeServices(
        recognizer=lambda: box["rec"],
        pause_ms=30,
        clock=FakeClock(),
        check=lambda *a: None,
        near_misses=False,
    )
    view = PracticeView(card, services)
    qtbot.addWidget(view)
    rec = box["rec"] = Preparing()
    view.read_waiting_steps()  # what the main window calls when the recogniser has loaded
    qtbot.waitUntil(got.is_set, timeout=15_000)
    (context,) = rec.contexts
    assert {latex for latex, kind in context.expected if kind == "reference"} == {s.latex for s in card.steps}
