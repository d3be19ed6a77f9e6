"""benchmarks/calibration.py's own parts that need no shared ink: the writer episodes, the gate's fit
(logistic regression) and the report (the measurement itself needs ../shared and runs as a benchmark)."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from benchmarks import calibration as bench  # noqa: E402


def test_logistic_regression_finds_the_side_of_a_known_boundary():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)))).astype(float)
    bias, w, mean, scale = bench._logistic(x, y)
    # back in the inputs' units the weights are close to the ones the labels were drawn with
    assert np.allclose(w / scale, [2.0, -1.0], atol=0.25) and abs(bias - (w / scale) @ mean - 0.5) < 0.2


def test_episodes_split_each_writers_classes_into_samples_tests_and_others():
    # one writer: class 0 written 6 times, class 1 five times, class 2 twice (too few to calibrate)
    items = [(0, [0], 0)] * 6 + [(0, [0], 1)] * 5 + [(0, [0], 2)] * 2
    by_writer = {"w": list(range(len(items)))}
    ((w, eligible, cal, test, rest),) = bench._episodes(None, items, by_writer, None, 3, 1.0, 1)
    assert w == "w" and eligible == [0, 1]
    assert all(len(v) == 3 for v in cal.values()) and len(test) == 3 + 2 and sorted(rest) == [11, 12]
    used = [n for v in cal.values() for n in v] + test
    assert sorted(used) == list(range(11))  # every glyph once: a sample or a test, never both
    ((_w, half, _cal, _test, rest_half),) = bench._episodes(None, items, by_writer, None, 3, 0.5, 1)
    assert len(half) == 1 and len(rest_half) == 2 + (6 if half == [1] else 5)
    assert bench._episodes(None, items, by_writer, None, 3, 1.0, 1) == bench._episodes(
        None, items, by_writer, None, 3, 1.0, 1
    )  # seeded


def test_the_report_shows_both_rules_and_says_whether_the_floor_is_met():
    counts = {
        "all/known/test": [100, 90, 95, 97],
        "all/known/other": [50, 40, 39, 40],
        "all/blind/test": [100, 0, 91, 94],
        "all/blind/other": [50, 44, 42, 43],
        "all/unread/test": [100, 0, 92, 96],
        "half/blind/other": [80, 75, 73, 74],
    }
    r = {
        "writers": "held-out",
        "writers_used": 3,
        "expressions": 30,
        "glyphs": 400,
        "samples": 3,
        "classes_calibrated_median": 5.0,
        "counts": counts,
        "per_class": {"a": [20, 18, 19, 20], "b": [12, 6, 10, 11]},
        "gate": "weights/calibration_gate.json",
        "adapt_ms_median": 80.0,
        "adapt_samples": 45,
        "load_average": 3.0,
    }
    md = bench.report(r)
    assert "**97.0 %**" in md and "**94.0 %**" in md and "91.0 %" in md
    assert "**met** for classes the classifier knows (97.0 %)" in md
    assert "**NOT met** for classes it is blind to (94.0 %)" in md
    assert "**met** for classes it has but cannot read (96.0 %)" in md and "**96.0 %**" in md
    assert (
        "load average 3.0" in md
        and "`b`" in md
        and "under the floor after calibration (>= 10 test glyphs): `b`" in md
    )
