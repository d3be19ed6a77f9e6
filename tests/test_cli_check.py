"""``whiteboard-app check`` and ``compare``: output shapes, exit codes (the CLI is a stable interface)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests._maths_support import CHECK_JSON_KEYS, _generous_limits  # noqa: F401 (autouse fixture)
from whiteboard_app.cli import main


def test_check_json_through_the_real_entry_point():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "whiteboard_app",
            "check",
            "sigmoid-derivative",
            r"\frac{d\sigma}{dz} = \frac{e^{-z}}{(1+e^{-z})^2}",
            r"= \sigma(z)(1+\sigma(z))",
            r"= \hat q",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **__import__("os").environ,
            "WHITEBOARD_CHECK_TIMEOUT_S": "30",
            "WHITEBOARD_PARSE_TIMEOUT_S": "30",
        },
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [set(v) for v in out] == [CHECK_JSON_KEYS] * 3
    assert [v["verdict"] for v in out] == ["correct", "wrong", "unparsed"]
    assert out[0]["reference_step"] == 3 and out[1]["diagnosis"] == "sign flip"
    assert all(isinstance(v["ms"], float) for v in out)


def test_compare_json(capsys):
    assert (
        main(["compare", "gaussian-mle", r"\hat\sigma^2", r"\frac{1}{n-1}\sum_i (x_i-\bar x)^2", "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"equivalent": False, "diagnosis": "n vs n-1"}
    assert main(["compare", "gaussian-mle", r"\hat\mu", r"\bar x", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"equivalent": True, "diagnosis": None}


def test_check_text_output(capsys):
    assert main(["check", "ols-closed-form", r"\hat w = (X^TX)^{-1}X^Ty", r"\hat w = X^Ty(X^TX)^{-1}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1. correct (reference step 6)")
    assert out[1].startswith("2. wrong") and "wrong multiplication order" in out[1]


def test_unknown_card_and_bad_arguments_exit_2(capsys):
    assert main(["check", "no-such-card", "x"]) == 2
    assert "unknown card 'no-such-card'" in capsys.readouterr().err
    r = subprocess.run(
        [sys.executable, "-m", "whiteboard_app", "compare", "sigmoid-derivative", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "error" in r.stderr


def test_check_summary_judges_the_run(capsys):
    """``check --json --summary``: the steps as ``check --json`` prints them, and the run (issue 12)."""
    assert (
        main(
            [
                "check",
                "softmax-cross-entropy-gradient",
                r"\frac{\partial L}{\partial z_i} = p_i - y_i",
                "--json",
                "--summary",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"steps", "run"}
    assert out["steps"][0]["verdict"] == "correct" and out["steps"][0]["reference_step"] == 5
    run = out["run"]
    assert set(run) == {
        "complete",
        "reached_goal",
        "missing_milestones",
        "jumps",
        "answer_changes",
        "hints",
        "reveals",
    }
    assert run["reached_goal"] is True and run["complete"] is False
    assert "show the chain rule step (reference step 4)" in [m["label"] for m in run["missing_milestones"]]
    assert run["jumps"][0]["step"] == 1 and (run["answer_changes"], run["hints"], run["reveals"]) == (0, 0, 0)
    # the plain words say the same
    assert (
        main(
            [
                "check",
                "sigmoid-derivative",
                r"\sigma(z) = (1+e^{-z})^{-1}",
                r"\frac{d\sigma}{dz} = -(1+e^{-z})^{-2} \cdot (-e^{-z})",
                r"= \sigma(z)(1-\sigma(z))",
                "--summary",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "run: Derivation complete"
