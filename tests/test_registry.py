"""The recogniser registry and its hard time limit (recognition/registry.py), with fake engines."""

from __future__ import annotations

import time

import pytest

from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition import registry
from whiteboard_app.recognition.base import RecognitionError, RecognizerUnavailable
from whiteboard_app.recognition.registry import (
    DEFAULT_ENGINE,
    TimeLimitedRecognizer,
    available_engines,
    check_engine,
    get_recognizer,
    register_engine,
)

register_engine("counting", "tests.fake_engines:CountingEngine")
register_engine("failing", "tests.fake_engines:FailingEngine")
register_engine("replacing", "tests.fake_engines:ReplacingEngine")
register_engine("noweights", "tests.fake_engines:NoWeightsEngine")
register_engine("ghost", "whiteboard_app.recognition.no_such_module:Ghost")

ONE = synthesize("1").ink  # 1 stroke
TWO = synthesize("x").ink  # 2 strokes
THREE = synthesize("x1").ink  # 3 strokes
MANY = synthesize("x+y=2").ink  # 8 strokes


def test_default_engine_and_listing():
    assert DEFAULT_ENGINE == "whiteboard"
    listing = {name: (ok, why) for name, ok, why in available_engines()}
    assert {"whiteboard", "mathnote", "pix2tex"} <= set(listing)
    assert registry.engine_names()[0] == "whiteboard"
    assert listing["mathnote"] == (True, "")  # installed in the dev environment
    for ok, why in listing.values():
        assert ok or why  # an unavailable engine always says why


def test_unknown_and_missing_engines_say_so():
    with pytest.raises(RecognizerUnavailable, match="unknown recogniser 'nope'.*mathnote"):
        get_recognizer("nope")
    ok, why = check_engine("ghost")
    assert not ok and "no_such_module is missing" in why
    with pytest.raises(RecognizerUnavailable, match="missing"):
        get_recognizer("ghost")


def test_missing_bundled_recogniser_is_a_clear_message(monkeypatch):
    monkeypatch.setattr(registry, "_module_exists", lambda module: False)
    ok, why = check_engine("whiteboard")
    assert not ok and "bundled recogniser is not installed" in why
    with pytest.raises(RecognizerUnavailable, match="bundled recogniser is not installed"):
        get_recognizer()


def test_in_process_engine_without_limit():
    engine = get_recognizer("counting", time_limit_s=None)
    assert not isinstance(engine, TimeLimitedRecognizer)
    assert engine.recognize(TWO).best == "2 strokes"


def test_slow_step_is_cut_at_the_limit_and_the_worker_restarts():
    with get_recognizer("counting", time_limit_s=0.5, slow_from=5, delay_s=60.0) as rec:
        first = rec.recognize(TWO)
        assert first.best == "2 strokes"
        pid_before = first.candidates[1].latex
        t0 = time.perf_counter()
        slow = rec.recognize(MANY)
        elapsed = time.perf_counter() - t0
        assert slow.candidates == () and slow.best is None
        assert slow.message == "could not read: time limit 0.5 s"
        assert elapsed < 3.0  # not the 60 s the engine would take
        after = rec.recognize(THREE)  # a new worker reads the next step
        assert after.best == "3 strokes"
        assert after.candidates[1].latex != pid_before
        assert rec.restarts == 1


def test_adaptation_hook_is_forwarded_and_survives_a_restart():
    with get_recognizer("counting", time_limit_s=0.5, slow_from=5) as rec:
        assert hasattr(rec, "adapt")
        assert rec.adapt([("\\eta", TWO), ("\\rho", ONE)]) == 2
        assert rec.recognize(ONE).best == "1 strokes +\\eta +\\rho"
        assert rec.recognize(MANY).message.startswith("could not read")
        assert rec.recognize(ONE).best == "1 strokes +\\eta +\\rho"


def test_a_replacing_adaptation_is_the_only_one_replayed_after_a_restart():
    with get_recognizer("replacing", time_limit_s=0.5, slow_from=5) as rec:
        assert rec.adapt([("\\eta", TWO)]) == 1
        assert rec.set_adaptation([("K", ONE)]) == 1
        assert rec.set_adaptation([("K", ONE), ("D", TWO)]) == 2
        assert rec.adapt([("Q", ONE)]) == 3
        assert rec.recognize(ONE).best == "1 strokes +K +D +Q"
        assert [m for m, _a in rec._replay] == ["set_adaptation", "adapt"]
        assert rec.recognize(MANY).message.startswith("could not read")  # the worker is restarted
        assert rec.recognize(ONE).best == "1 strokes +K +D +Q"


def test_engine_errors_become_recognition_errors_and_a_dead_worker_is_replaced():
    with get_recognizer("failing", time_limit_s=2.0) as rec:
        with pytest.raises(RecognitionError, match="cannot read this"):
            rec.recognize(ONE)
        with pytest.raises(RecognitionError, match="ValueError: engine bug"):
            rec.recognize(TWO)
        with pytest.raises(RecognitionError, match="ended unexpectedly"):
            rec.recognize(THREE)
        assert rec.recognize(MANY).best == "ok"
        assert not hasattr(rec, "adapt")  # the engine has no adaptation hook


def test_engine_without_weights_is_unavailable_on_first_use():
    rec = get_recognizer("noweights", time_limit_s=1.0)
    try:
        with pytest.raises(RecognizerUnavailable, match="no weights found"):
            rec.recognize(ONE)
    finally:
        rec.close()


def test_time_limit_must_be_positive():
    with pytest.raises(ValueError):
        TimeLimitedRecognizer("counting", time_limit_s=0)


def test_warm_up_runs_before_the_first_step_outside_its_limit():
    register_engine("warming", "tests.fake_engines:WarmingEngine")
    with get_recognizer("warming", time_limit_s=0.5) as rec:
        result = rec.recognize(ONE)
        assert result.best == "1 strokes +warm"
        assert result.ms < 500


def test_ready_before_warm_up_and_a_queued_hook_reaches_the_first_reading():
    with get_recognizer("counting", time_limit_s=2.0) as rec:
        rec.warm_up()  # loaded: ready for a step (the warm-up may still be going on in the worker)
        rec.queue_hook("adapt", [("\\eta", TWO)])
        assert rec.recognize(ONE).best == "1 strokes +\\eta"  # after the warm-up and the queued call
        assert rec.warm
        rec.queue_hook("adapt", [("\\rho", ONE)])  # warm now: called at once
        assert rec.recognize(ONE).best == "1 strokes +\\eta +\\rho"
