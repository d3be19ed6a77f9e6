"""torch imported lean in the recogniser's worker (recognition/lean_torch.py, issue 16): the modules eager
inference does not need run after the engine has warmed up, the readings are the same, and an engine that
cannot be built that way is built with a plain import instead."""

from __future__ import annotations

import sys

import pytest

from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition import lean_torch
from whiteboard_app.recognition.registry import get_recognizer, register_engine

register_engine("lean-hating", "tests.fake_engines:LeanHatingEngine")
register_engine("torch-probe", "tests.fake_engines:TorchProbeEngine")


def test_an_engine_that_fails_lean_is_built_with_a_plain_import():
    rec = get_recognizer("lean-hating", context_prior=False)
    try:
        assert rec.recognize(synthesize("x+1", seed=0).ink).best.endswith("strokes")
        assert rec._lean is False and rec.restarts == 0
    finally:
        rec.close()


def test_the_deferred_modules_run_after_the_warm_up_in_the_worker():
    pytest.importorskip("torch")
    rec = get_recognizer("torch-probe", context_prior=False, time_limit_s=30.0)
    try:
        at_load, now, ops = (c.latex for c in rec.recognize(synthesize("x", seed=0).ink).candidates)
    finally:
        rec.close()
    deferred_at_load = at_load.removeprefix("at load: ").split(",")
    # deferred while the engine loaded (what makes "ready" sooner)...
    assert {"torch._meta_registrations", "torch.export"} <= set(deferred_at_load)
    # ...and all run before it said it was warm (the first request waits for that): all of torch
    assert now == "now: "
    assert ops == "meta (3,) export True"


def test_the_switch_and_an_imported_torch_leave_imports_alone(monkeypatch):
    monkeypatch.setenv(lean_torch.ENV_VAR, "0")
    assert not lean_torch.enabled()
    with lean_torch.deferring() as on:
        assert on is False
    monkeypatch.setenv(lean_torch.ENV_VAR, "1")
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch") or object())
    with lean_torch.deferring() as on:
        assert on is False  # torch is imported already: nothing to defer


def test_a_deferred_module_runs_on_first_use_and_keeps_its_file(tmp_path, monkeypatch):
    # the mechanism on a package of our own: created, not run; __file__ read without running it (as
    # inspect.getmodule does); the first other attribute runs it; complete() runs what is left
    pkg = tmp_path / "leanpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from leanpkg import slow as slow\nfrom leanpkg import other as other\n")
    (pkg / "slow.py").write_text("import leanpkg\nRAN = True\nVALUE = 42\n")
    (pkg / "other.py").write_text("RAN = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(lean_torch, "DEFERRED", ("leanpkg.slow", "leanpkg.other"))
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # deferring() only acts before torch
    with lean_torch.deferring(("leanpkg.slow", "leanpkg.other")) as on:
        import leanpkg
    try:
        assert on is True
        assert lean_torch.deferred() == ["leanpkg.slow", "leanpkg.other"]
        assert leanpkg.slow.__file__.endswith("slow.py")  # no run
        assert "RAN" not in vars(leanpkg.slow)
        assert leanpkg.slow.VALUE == 42  # first use runs it
        assert lean_torch.deferred() == ["leanpkg.other"]
        with pytest.raises(AttributeError):
            leanpkg.slow.MISSING  # noqa: B018 - a real missing attribute is still an AttributeError
        assert lean_torch.complete() == {}
        assert lean_torch.deferred() == [] and leanpkg.other.RAN is True
    finally:
        for name in ("leanpkg", "leanpkg.slow", "leanpkg.other"):
            sys.modules.pop(name, None)


def test_the_bundled_recogniser_reads_the_same_in_its_lean_worker_as_in_a_plain_process():
    # the worker imports torch lean; this test process imported it in full: the same n-best for the same ink
    from whiteboard_app.recognition.registry import DEFAULT_ENGINE, check_engine
    from whiteboard_app.recognition.whiteboard import create

    ok, why = check_engine(DEFAULT_ENGINE)
    if not ok:
        pytest.skip(why)
    inks = [synthesize(latex, seed=3).ink for latex in (r"\sigma(z)(1-\sigma(z))", r"x^{2}+1")]
    plain = create()
    plain.load()
    expected = [[(c.latex, round(c.score, 4)) for c in plain.recognize(ink).candidates] for ink in inks]
    worker = get_recognizer(DEFAULT_ENGINE, context_prior=False, time_limit_s=30.0)
    try:
        got = [[(c.latex, round(c.score, 4)) for c in worker.recognize(ink).candidates] for ink in inks]
    finally:
        worker.close()
    assert got == expected and all(expected)
