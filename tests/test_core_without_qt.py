"""The core runs where Qt cannot be imported.

One child process with PySide6 (and shiboken6, pytest-qt) made unimportable imports every core module and
runs each headless command once: ``decks list``, ``decks validate``, ``check``, ``compare``, ``grill answer``, ``recognize``
on synthesised ink with the bundled recogniser, ``boards list`` and one pipeline pass (ink -> recogniser ->
check). A Qt import sneaking into the core, even a lazy one reached by a command, fails it. import-linter
(pyproject.toml) proves the same statically for every import; this proves it at run time.

This replaces re-running the whole core suite with Qt blocked (issue 18: 212 s of CI for the same proof).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Runs in the child. Prints one JSON object: what was imported and each command's exit code and output.
_CHILD = textwrap.dedent(
    r"""
    import contextlib, importlib, importlib.abc, io, json, pkgutil, sys

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "PySide6" or fullname.startswith(("PySide6.", "shiboken6", "pytestqt")):
                raise ImportError(f"{fullname} is blocked: core-only run")
            return None

    sys.meta_path.insert(0, BlockQt())
    import whiteboard_app

    CORE = ("ink", "decks", "maths", "recognition", "sessions", "pipeline", "commands", "paths")
    imported = []
    for info in pkgutil.walk_packages(whiteboard_app.__path__, "whiteboard_app."):
        top = info.name.split(".")[1]
        if top not in CORE or ".pix2tex" in info.name:
            continue
        importlib.import_module(info.name)
        imported.append(info.name)

    from whiteboard_app import cli
    from whiteboard_app.ink.io import InkRecord, write_jsonl
    from whiteboard_app.ink.synth import synthesize

    ink_path = sys.argv[1] + "/ink.jsonl"
    write_jsonl(ink_path, [InkRecord("step-0", synthesize("x+1", seed=0).ink, "x+1", None)])

    def run(*argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            try:
                code = cli.main(list(argv))
            except SystemExit as exc:
                code = exc.code
        return {"argv": list(argv), "code": code or 0, "out": out.getvalue()}

    runs = [
        run("decks", "list", "--json"),
        run("decks", "validate"),
        run("check", "sigmoid-derivative", r"\sigma(z) = \frac{1}{1+e^{-z}}", "--json"),
        run("compare", "sigmoid-derivative", r"\sigma(z)(1-\sigma(z))", r"\sigma(z)-\sigma(z)^2", "--json"),
        run("recognize", "--ink", ink_path, "--json"),
        run("boards", "list", "--json"),
        run("grill", "answer", "sigmoid-derivative/derivative-in-terms-of-sigma", r"\sigma-\sigma^2", "--json"),
    ]

    from whiteboard_app import pipeline
    from whiteboard_app.decks import bundled_deck_dir, load_card
    from whiteboard_app.recognition.registry import get_recognizer
    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    ink = synthesize(r"\sigma(z)", seed=1).ink
    rec = get_recognizer("whiteboard", time_limit_s=None)
    outcome = pipeline.process_step(ink, rec, card)
    qt_loaded = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6")))
    print(json.dumps({"imported": imported, "runs": runs, "pipeline": outcome.verdict.verdict,
                      "qt_loaded": qt_loaded}))
    """
)


@pytest.fixture(scope="module")
def child(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("core")
    env = {**os.environ, "WHITEBOARD_DATA_DIR": str(tmp / "data"), "PYTHONPATH": str(ROOT)}
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_core_module_imports_without_qt(child):
    names = set(child["imported"])
    for package in ("ink", "decks", "maths", "recognition", "sessions"):
        assert any(n.startswith(f"whiteboard_app.{package}.") for n in names), package
    assert "whiteboard_app.pipeline" in names
    assert "whiteboard_app.recognition.trained" in names
    assert child["qt_loaded"] == []


def test_each_headless_command_runs_without_qt(child):
    by_cmd = {tuple(r["argv"][:2]): r for r in child["runs"]}
    for r in child["runs"]:
        assert r["code"] == 0, r
    decks = json.loads(by_cmd[("decks", "list")]["out"])
    assert any(c["id"] == "sigmoid-derivative" for c in decks)
    check = json.loads(by_cmd[("check", "sigmoid-derivative")]["out"])
    assert check[0]["verdict"] == "correct", check
    compare = json.loads(by_cmd[("compare", "sigmoid-derivative")]["out"])
    assert compare["equivalent"] is True
    grill = json.loads(by_cmd[("grill", "answer")]["out"])
    assert (grill[0] if isinstance(grill, list) else grill)["verdict"] == "correct", grill
    reading = json.loads(by_cmd[("recognize", "--ink")]["out"].splitlines()[0])
    assert reading["candidates"], reading


def test_a_pipeline_pass_runs_without_qt(child):
    assert child["pipeline"] in {"correct", "wrong", "unparsed", "cannot_check"}
