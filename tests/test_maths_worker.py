"""The checker's worker process: time limits (a parse or check that takes too long becomes unparsed /
cannot_check and the worker is killed and restarted), thread safety, and the public API on real cards."""

from __future__ import annotations

import threading

import pytest

from tests._maths_support import CHECK_JSON_KEYS, _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.maths import check_derivation, check_step, compare, near_misses, warm_up, worker


@pytest.fixture
def own_worker(monkeypatch):
    """A separate worker process, so killing it leaves the shared one alone."""
    w = worker.CheckerWorker()
    monkeypatch.setattr(worker, "_worker", w)
    yield w
    w.kill()


def test_time_limits_kill_and_restart_the_worker(own_worker, monkeypatch):
    card = deck().get("sigmoid-derivative")
    assert own_worker.request(card, ("sleep", 0.0, 0.0), 30.0, 30.0) is None
    first = own_worker._proc.pid
    with pytest.raises(worker.WorkerTimeout, match="^parse"):
        own_worker.request(card, ("sleep", 10.0, 0.0), 0.3, 30.0)
    assert own_worker._proc is None  # killed
    with pytest.raises(worker.WorkerTimeout, match="^check"):
        own_worker.request(card, ("sleep", 0.0, 10.0), 30.0, 0.3)
    assert own_worker.request(card, ("sleep", 0.0, 0.0), 30.0, 30.0) is None
    assert own_worker._proc.pid != first and own_worker.restarts == 2

    # through check_step: a parse timeout reads "unparsed", a check timeout "cannot_check"
    class Stuck:
        last_setup_ms = 0.0
        phase = "parse"

        def request(self, *a):
            raise worker.WorkerTimeout(f"{self.phase}: no answer within 1.0 s")

    stuck = Stuck()
    monkeypatch.setattr(worker, "_worker", stuck)
    v = check_step(card, r"\frac{d\sigma}{dz} = \frac{e^{-z}}{(1+e^{-z})^2}")
    assert v.verdict == "unparsed" and "time limit" in v.message
    stuck.phase = "check"
    v = check_step(card, r"= \sigma(z)(1-\sigma(z))")
    assert v.verdict == "cannot_check" and "time limit" in v.message
    assert v.reference_step == 5  # the nearest reference step, for self-comparison


def test_concurrent_callers_get_the_same_answers():
    card = deck().get("ols-closed-form")
    steps = [r"\hat w = (X^TX)^{-1}X^Ty", r"\nabla_w L = 2X^T(y - Xw)", r"X^TX\hat w = Xy", r"\hat w = \foo"]
    expected = [check_step(card, s).verdict for s in steps]
    assert expected == ["correct", "wrong", "wrong", "unparsed"]
    results: dict[int, list[str]] = {}

    def run(k):
        results[k] = [check_step(card, s).verdict for s in steps]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(results[k] == expected for k in range(4))


def test_check_derivation_follows_the_users_own_steps():
    card = deck().get("sigmoid-derivative")
    vs = check_derivation(
        card,
        [
            r"\sigma(z) = (1+e^{-z})^{-1}",
            r"\frac{d\sigma}{dz} = (1+e^{-z})^{-2}e^{-z}",
            r"= \frac{1}{1+e^{-z}}\cdot\frac{e^{-z}}{1+e^{-z}}",
            r"= \sigma(z)(1+\sigma(z))",
        ],
    )
    assert [v.verdict for v in vs] == ["correct", "correct", "correct", "wrong"]
    assert vs[0].reference_step == 1 and vs[1].reference_step in (2, 3) and vs[2].reference_step == 4
    assert vs[3].diagnosis == "sign flip"
    assert all(v.ms >= 0 for v in vs)
    assert set(vs[0].to_json()) == CHECK_JSON_KEYS


def test_compare_and_near_misses_through_the_worker():
    card = deck().get("gaussian-mle")
    assert compare(card, r"\hat\mu", r"\frac1n\sum_i x_i").equivalent is True
    c = compare(card, r"\frac1n\sum_i (x_i-\bar x)^2", r"\frac{1}{n-1}\sum_i (x_i-\bar x)^2")
    assert (c.equivalent, c.diagnosis) == (False, "n vs n-1")
    assert compare(card, r"\hat\mu", r"\text{}").equivalent is None
    misses = near_misses(card)
    assert len(misses) >= 5
    for latex, _diag in misses[:5]:
        assert check_step(card, latex, []).verdict in ("wrong", "cannot_check")


def test_warm_up_starts_the_worker_and_loads_the_card(own_worker):
    assert own_worker._proc is None
    assert warm_up() is True and own_worker._proc.is_alive()
    card = deck().get("gaussian-mle")
    assert warm_up(card) is True
    assert worker._fingerprint(card) in own_worker._cards
