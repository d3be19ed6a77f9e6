"""Fake recognisers for the registry and CLI tests (importable by the registry's worker process).

They read the synthetic ink's stroke count as an instruction, so a test can steer them through the
ink it sends: see each class.
"""

from __future__ import annotations

import os
import time

from whiteboard_app.recognition.base import (
    Candidate,
    RecognitionError,
    RecognitionResult,
    RecognizerUnavailable,
)


class CountingEngine:
    """Reads every ink as "n strokes" (n = its stroke count); sleeps ``delay_s`` when n >= ``slow_from``;
    ``adapt(samples)`` appends the samples' labels to every reading ("3 strokes +a+b")."""

    name = "counting"

    def __init__(self, slow_from: int = 10**9, delay_s: float = 60.0):
        self.slow_from = slow_from
        self.delay_s = delay_s
        self.adapted: list[str] = []
        self.pid = os.getpid()

    def recognize(self, ink, context=None):
        n = len(ink.strokes)
        if n >= self.slow_from:
            time.sleep(self.delay_s)
        suffix = "".join(f" +{label}" for label in self.adapted)
        return RecognitionResult(
            (Candidate(f"{n} strokes{suffix}", 0.0), Candidate(f"pid {self.pid}", -1.0)), engine=self.name
        )

    def adapt(self, samples):
        self.adapted.extend(label for label, _ink in samples)
        return len(self.adapted)


class ReplacingEngine(CountingEngine):
    """A CountingEngine that also has the replacing hook: ``set_adaptation(samples)`` makes the labels
    exactly these samples' labels."""

    name = "replacing"

    def set_adaptation(self, samples):
        self.adapted = [label for label, _ink in samples]
        return len(self.adapted)


class FailingEngine:
    """1 stroke: RecognitionError; 2 strokes: ValueError; 3 strokes: the process dies; else reads "ok"."""

    name = "failing"

    def recognize(self, ink, context=None):
        n = len(ink.strokes)
        if n == 1:
            raise RecognitionError("cannot read this")
        if n == 2:
            raise ValueError("engine bug")
        if n == 3:
            os._exit(3)
        return RecognitionResult((Candidate("ok", 0.0),), engine=self.name)


class NoWeightsEngine:
    """Cannot load: no weights."""

    name = "noweights"

    def __init__(self):
        raise RecognizerUnavailable("noweights: no weights found in /nowhere")


class ScriptedEngine:
    """Answers from a JSON file named by the environment variable WHITEBOARD_FAKE_SCRIPT:
    {"<stroke count>": [[latex, score], ...]}; an ink with an unscripted count reads nothing."""

    name = "scripted"

    def __init__(self):
        import json

        with open(os.environ["WHITEBOARD_FAKE_SCRIPT"], encoding="utf-8") as fh:
            self.script = json.load(fh)

    def recognize(self, ink, context=None):
        rows = self.script.get(str(len(ink.strokes)), [])
        return RecognitionResult(
            tuple(Candidate(latex, score) for latex, score in rows),
            engine=self.name,
            ms=1.0,
            message=None if rows else "nothing recognised",
        )


class SlowCounting(CountingEngine):
    """CountingEngine that takes 60 s for inks of 5 strokes or more."""

    def __init__(self):
        super().__init__(slow_from=5, delay_s=60.0)


class WarmingEngine(CountingEngine):
    """CountingEngine whose ``warm_up()`` takes 1.5 s and is recorded in its readings ("+warm")."""

    def warm_up(self):
        time.sleep(1.5)
        self.adapted.append("warm")


class PreparingEngine(CountingEngine):
    """CountingEngine with ``prepare(context)``: its readings name the forms it was prepared for
    ("+prepared:2" after a context of two forms), in the worker process."""

    def prepare(self, context):
        self.adapted.append(f"prepared:{len(context.expected)}")


class LeanHatingEngine(CountingEngine):
    """CountingEngine that cannot be built while torch's lean import is in place in its worker
    (recognition/lean_torch.py): stands for a torch whose ``__init__`` needs a deferred module early."""

    def __init__(self):
        import sys

        from whiteboard_app.recognition import lean_torch

        if any(isinstance(f, lean_torch._Finder) for f in sys.meta_path):
            raise RuntimeError("needs torch imported in full")
        super().__init__()


class TorchProbeEngine:
    """Imports torch in ``load()`` (as a real engine does, in its worker) and reads every ink as the torch
    modules still deferred then and now (recognition/lean_torch.py), and a meta-tensor op's result."""

    name = "torch-probe"

    def load(self):
        import torch  # noqa: F401 - the import under test

        from whiteboard_app.recognition import lean_torch

        self.at_load = lean_torch.deferred()

    def recognize(self, ink, context=None):
        import torch

        from whiteboard_app.recognition import lean_torch

        meta = torch.empty(2, 3, device="meta").sum(0).shape
        exported = callable(getattr(torch.export, "export", None))
        return RecognitionResult(
            (
                Candidate("at load: " + ",".join(self.at_load), 0.0),
                Candidate("now: " + ",".join(lean_torch.deferred()), -1.0),
                Candidate(f"meta {tuple(meta)} export {exported}", -2.0),
            ),
            engine=self.name,
        )
