"""Recognisers by name, each run under a hard time limit in a worker process.

Engines (name -> "module:factory"; modules are imported lazily, in the worker process):

* ``whiteboard`` (the default): the bundled recogniser trained on real ink,
  ``whiteboard_app.recognition.whiteboard.create(**options)``: recognition/trained.py's
  ``TrainedRecognizer`` with the card-context verifier as its hook; ``trained.available() -> (bool,
  reason)`` is its cheap check (no torch import).
* ``mathnote``: mathnote-ocr 0.2.1 (:mod:`whiteboard_app.recognition.mathnote_backend`).
* ``pix2tex``: pix2tex's LatexOCR on a rendering of the ink (optional extra;
  :mod:`whiteboard_app.recognition.pix2tex_backend`).

Time limit: torch inference cannot be interrupted from another thread, so :class:`TimeLimitedRecognizer`
runs the engine in a separate process (multiprocessing "spawn": safe beside Qt's threads) that loads the
model, reports that it is ready, and then calls its ``warm_up()`` (if any); the first step waits for the
warm-up outside its time limit (issue 16: ready sooner after launch). A step that
takes longer than the limit (3 s by default) gets ``RecognitionResult(candidates=(), message="could not
read: time limit 3 s")``; the worker is killed and a new one started at once (the model loads again in
the background; the next step waits for it outside its limit). Calls to an engine's adaptation hook (``adapt``) are
replayed on the new worker so a writer's calibration survives a restart.

``get_recognizer(name, time_limit_s=None)`` gives the engine itself, in this process, without a limit
(benchmarks, tests of the engine's own behaviour).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import (
    RecognitionContext,
    RecognitionError,
    RecognitionResult,
    Recognizer,
    RecognizerUnavailable,
)

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_TIME_LIMIT_S",
    "EngineSpec",
    "TimeLimitedRecognizer",
    "available_engines",
    "engine_names",
    "get_recognizer",
    "register_engine",
]

DEFAULT_ENGINE = "whiteboard"
#: Hard limit for reading one step, s (issue 3: "3 s; then could not read, and the keyboard takes over").
DEFAULT_TIME_LIMIT_S = 3.0
#: Limit for starting a worker and loading the engine's model, s (not counted in the step's limit).
DEFAULT_LOAD_TIMEOUT_S = 180.0
MAX_INK_STROKES = 500
MAX_INK_POINTS = 50_000
"""Ink over either limit is not sent to the worker: "could not read: too much ink" at once. A written
derivation step has tens of strokes and a few thousand points; 2,000 strokes or 100,000 points took
longer than the 3 s limit just to be shipped to the worker and reranked (issue 15)."""


def ink_too_large(ink) -> str | None:
    """The reason ``ink`` (a StepInk) is over MAX_INK_STROKES / MAX_INK_POINTS, or None."""
    strokes = getattr(ink, "strokes", ())
    if len(strokes) > MAX_INK_STROKES:
        return f"too much ink ({len(strokes):,} strokes; a step may have up to {MAX_INK_STROKES:,})"
    points = sum(len(s.points) for s in strokes)
    if points > MAX_INK_POINTS:
        return f"too much ink ({points:,} points; a step may have up to {MAX_INK_POINTS:,})"
    return None


#: Optional engine methods that change its state and are forwarded to (and replayed in) the worker.
HOOKS = ("adapt", "set_adaptation")
#: Hooks that replace the engine's whole adaptation: a call makes the earlier adaptation calls moot (they
#: are not replayed after a restart).
REPLACING_HOOKS = frozenset({"set_adaptation"})


@dataclass(frozen=True)
class EngineSpec:
    """How to build an engine: ``target`` is "module:attr" (a class or factory called with the options);
    ``check`` is "module:function" returning (available, reason) cheaply, or None."""

    name: str
    target: str
    check: str | None
    description: str


_ENGINES: dict[str, EngineSpec] = {}


def register_engine(name: str, target: str, check: str | None = None, description: str = "") -> None:
    """Add (or replace) an engine by name; ``target`` and ``check`` are "module:attr" strings."""
    _ENGINES[name] = EngineSpec(name, target, check, description)


register_engine(
    "whiteboard",
    "whiteboard_app.recognition.whiteboard:create",
    "whiteboard_app.recognition.trained:available",
    "the bundled recogniser trained on real handwriting (CROHME)",
)
register_engine(
    "mathnote",
    "whiteboard_app.recognition.mathnote_backend:MathnoteRecognizer",
    "whiteboard_app.recognition.mathnote_backend:available",
    "mathnote-ocr 0.2.1 (stroke based)",
)
register_engine(
    "pix2tex",
    "whiteboard_app.recognition.pix2tex_backend:Pix2TexRecognizer",
    "whiteboard_app.recognition.pix2tex_backend:available",
    "pix2tex LatexOCR on a rendering of the ink (optional extra)",
)


def engine_names() -> list[str]:
    """Registered engine names, the default first."""
    return sorted(_ENGINES, key=lambda n: (n != DEFAULT_ENGINE, n))


def _spec(name: str) -> EngineSpec:
    try:
        return _ENGINES[name]
    except KeyError:
        raise RecognizerUnavailable(
            f"unknown recogniser {name!r}; known: {', '.join(engine_names())}"
        ) from None


def _resolve(ref: str) -> Any:
    """The object named by "module:attr" ("module:a|b|c": the first of those that exists)."""
    module, _, attrs = ref.partition(":")
    mod = importlib.import_module(module)
    for attr in attrs.split("|"):
        if hasattr(mod, attr):
            return getattr(mod, attr)
    raise AttributeError(f"{module} has none of {attrs.replace('|', ', ')}")


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_engine(name: str) -> tuple[bool, str]:
    """(available, reason) for one engine, without loading any model. Unknown names are unavailable."""
    if name not in _ENGINES:
        return False, f"unknown recogniser {name!r}"
    spec = _ENGINES[name]
    module = spec.target.partition(":")[0]
    if not _module_exists(module):
        if name == DEFAULT_ENGINE:
            return False, (
                "the bundled recogniser is not installed (module "
                f"{module} is missing); choose another engine, e.g. mathnote"
            )
        return False, f"{name}: module {module} is missing"
    if spec.check:
        mod, _, attr = spec.check.partition(":")
        try:
            fn = getattr(importlib.import_module(mod), attr, None)
        except Exception as exc:  # noqa: BLE001 - a broken engine module is "not available"
            return False, f"{name}: cannot import {mod}: {type(exc).__name__}: {exc}"
        if fn is not None:
            try:
                ok, why = fn()
            except Exception as exc:  # noqa: BLE001 - a plug-in's check may fail any way: reported as unavailable
                return False, f"{name}: availability check failed: {type(exc).__name__}: {exc}"
            return bool(ok), str(why or "")
    return True, ""


def available_engines() -> list[tuple[str, bool, str]]:
    """Every registered engine as (name, available, reason); reason is "" when available."""
    return [(n, *check_engine(n)) for n in engine_names()]


def build_engine(name: str, **options) -> Recognizer:
    """Construct engine ``name`` in THIS process (no time limit). Raises RecognizerUnavailable."""
    spec = _spec(name)
    ok, why = check_engine(name)
    if not ok:
        raise RecognizerUnavailable(why)
    try:
        factory = _resolve(spec.target)
    except (ImportError, AttributeError) as exc:
        raise RecognizerUnavailable(f"{name}: {spec.target} cannot be loaded: {exc}") from exc
    return factory(**options)


def get_recognizer(
    name: str = DEFAULT_ENGINE,
    *,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    load_timeout_s: float = DEFAULT_LOAD_TIMEOUT_S,
    context_prior: bool = True,
    **options,
) -> Recognizer:
    """The recogniser ``name`` with ``options`` for its constructor.

    By default it runs in a worker process under a hard limit of ``time_limit_s`` s per step
    (:class:`TimeLimitedRecognizer`; the worker starts and loads the model in the background now).
    ``time_limit_s=None``: the engine built in this process, without a limit. With ``context_prior``
    (default) the n-best is re-ranked by the card's context (:func:`recognition.context.rerank`)
    whenever ``recognize`` is given one. Raises :class:`RecognizerUnavailable` (unknown name, not
    installed, no weights) with the reason in words.
    """
    _spec(name)
    ok, why = check_engine(name)
    if not ok:
        raise RecognizerUnavailable(why)
    if time_limit_s is None:
        engine = build_engine(name, **options)
        if context_prior:
            from whiteboard_app.recognition.context import ContextualRecognizer

            return ContextualRecognizer(engine)
        return engine
    return TimeLimitedRecognizer(
        name, options, time_limit_s=time_limit_s, load_timeout_s=load_timeout_s, context_prior=context_prior
    )


# ───────────────────────────── the worker process ─────────────────────────────


def _worker_main(conn, name: str, options: dict, registry: dict[str, EngineSpec], lean: bool = True) -> None:
    """Body of the worker process: build the engine, then answer requests until the pipe closes.

    Requests: ("recognize", ink, context), ("classify", ink, groups), ("prepare", context) (the engine's
    ``prepare(context)`` when it has one) and ("call", method, args). Answers: ("ok", value) or
    ("error", kind, message) with kind "unavailable" | "recognition" | "lean" | "other" ("lean": building
    the engine failed, with torch's lean import in place, :mod:`recognition.lean_torch`; the parent
    tries once more without it). With ``lean``, torch (when the engine imports it) is imported without the submodules eager
    inference does not need (:mod:`recognition.lean_torch`), and those run after the engine's own
    warm-up, before the worker says it is warm.
    """
    _ENGINES.update(registry)  # engines registered at run time (tests) exist here too
    from whiteboard_app.recognition import lean_torch

    deferring = lean_torch.deferring() if lean else contextlib.nullcontext(False)
    lean_on = False
    try:
        with deferring as lean_on:
            engine = build_engine(name, **options)
            load = getattr(engine, "load", None)
            if callable(load):
                load()
        hooks = [h for h in HOOKS if callable(getattr(engine, h, None))]
        conn.send(("ok", {"hooks": hooks, "classify": callable(getattr(engine, "classify_groups", None))}))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, then the worker ends
        reply = _error_reply(exc)
        if lean_on and reply[1] == "other":  # perhaps the lean import's fault: the parent tries once without
            reply = ("error", "lean", reply[2])
        conn.send(reply)
        conn.close()
        return
    # The model is loaded: the parent knows it is ready. The warm-up (a first reading, the verifier's
    # solver and typesetter: seconds on a busy machine, issue 16) comes after that message, and the
    # parent waits for ("warm",) before its first request, outside that request's time limit.
    _warm_up(engine)
    if lean_on:
        # the rest of torch (about 0.5 s of CPU), as part of the warm-up: the first request waits for it
        # outside its time limit, so no reading can time out behind it
        lean_torch.complete()
    try:
        conn.send(("warm", None))
    except (EOFError, OSError):
        _end_worker()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            _end_worker()
        try:
            if request[0] == "recognize":
                conn.send(("ok", engine.recognize(request[1], request[2])))
            elif request[0] == "classify":
                conn.send(("ok", engine.classify_groups(request[1], request[2])))
            elif request[0] == "prepare":
                prepare = getattr(engine, "prepare", None)
                conn.send(("ok", prepare(request[1]) if callable(prepare) else None))
            elif request[0] == "call":
                conn.send(("ok", getattr(engine, request[1])(*request[2])))
            else:
                conn.send(("error", "other", f"unknown request {request[0]!r}"))
        except BaseException as exc:  # noqa: BLE001 - the worker answers every failure (even SystemExit) to its parent
            conn.send(_error_reply(exc))


def _end_worker() -> None:
    """End the worker process at once when its parent has gone (the pipe closed): nothing in it is left
    to save (the layout table's lines are single appends, read back even when one is cut), and the
    interpreter's teardown of torch is CPU spent just as the next program (or the next launch, whose
    early start looks for an idle core: ``app.spare_core``) needs it: a process that imported torch and
    mathnote-ocr took 4.4-4.8 s of CPU with a normal exit, 3.3-3.6 s with ``os._exit`` (load 9)."""
    import os

    os._exit(0)


def _warm_up(engine) -> None:
    """Call the engine's ``warm_up()`` if it has one, before the first step (outside its time limit): the
    first call of a torch model is several times slower than the next ones. Failures here are ignored
    (they show up again, reported, on the first step)."""
    warm_up = getattr(engine, "warm_up", None)
    if callable(warm_up):
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - warm-up is best effort: the first request loads instead
            pass


def _error_reply(exc: BaseException) -> tuple[str, str, str]:
    if isinstance(exc, RecognizerUnavailable):
        return ("error", "unavailable", str(exc))
    if isinstance(exc, RecognitionError):
        return ("error", "recognition", str(exc))
    tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return ("error", "other", tb)


def _raise_reply(name: str, reply) -> Any:
    if reply[0] == "ok":
        return reply[1]
    _, kind, message = reply
    if kind == "unavailable":
        raise RecognizerUnavailable(message)
    if kind == "recognition":
        raise RecognitionError(message)
    raise RecognitionError(f"{name} failed: {message}")


class TimeLimitedRecognizer:
    """A recogniser run in a worker process, killed and restarted when a step exceeds the limit.

    ``recognize`` never waits longer than ``time_limit_s`` (plus the time to load the model when the
    worker is new); past it, the result has no candidates and ``message`` "could not read: time limit
    N s". Engine errors raise :class:`RecognitionError` (:class:`RecognizerUnavailable` when the engine
    cannot load). Thread safe (calls are serialised). ``close()`` ends the worker.
    """

    def __init__(
        self,
        name: str,
        options: dict | None = None,
        *,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        load_timeout_s: float = DEFAULT_LOAD_TIMEOUT_S,
        context_prior: bool = True,
        start: bool = True,
    ):
        if time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")
        self.name = name
        self.options = dict(options or {})
        self.time_limit_s = float(time_limit_s)
        self.load_timeout_s = float(load_timeout_s)
        self.context_prior = context_prior
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._proc = None
        self._conn = None
        self._ready: dict | None = None
        self._warm = False  # the worker's ("warm",) message was received
        self._replay: list[tuple[str, tuple]] = []
        self._lean = True  # torch imported lean in the worker (recognition/lean_torch.py) until that fails
        if start:
            with self._lock:
                self._start()

    # -- process management --
    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker_main,
            args=(child, self.name, self.options, dict(_ENGINES), self._lean),
            name=f"recognizer-{self.name}",
            daemon=True,
        )
        proc.start()
        child.close()
        self._proc, self._conn, self._ready, self._warm = proc, parent, None, False

    def _stop(self, wait: bool = True) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        self._ready = None
        if conn is not None:
            conn.close()
        if proc is not None and proc.is_alive():
            proc.kill()
            if wait:
                proc.join(2.0)
            # else: reaping a killed model process takes up to a second on a busy machine, not on the
            # caller's time; multiprocessing reaps it at the next Process.start() (or at exit)

    def _ensure_ready(self, warm: bool = True) -> dict:
        """Start the worker if needed and wait (up to the load timeout) until its engine has loaded;
        with ``warm`` also until it has warmed up (before a request, so the warm-up never counts in a
        step's time limit). Returns the worker's ready message (hooks, classify)."""
        if self._proc is None:
            self._start()
            self.restarts += 1
        if self._ready is None:
            if not self._conn.poll(self.load_timeout_s):
                self._stop()
                raise RecognitionError(
                    f"{self.name}: the recogniser did not load within {self.load_timeout_s:g} s"
                )
            try:
                reply = self._conn.recv()
            except (EOFError, OSError):
                self._stop()
                raise RecognitionError(f"{self.name}: the recogniser process ended while loading") from None
            if reply[0] == "error" and reply[1] == "lean" and self._lean:
                # the engine did not build with torch imported lean: once more with a plain import
                self._stop()
                self._lean = False
                self._start()  # not counted as a restart
                return self._ensure_ready(warm)
            if reply[0] != "ok":
                self._stop()
                _raise_reply(self.name, reply)
            self._ready = reply[1]
        if warm and not self._warm:
            if not self._conn.poll(self.load_timeout_s):
                self._stop()
                raise RecognitionError(
                    f"{self.name}: the recogniser did not warm up within {self.load_timeout_s:g} s"
                )
            try:
                reply = self._conn.recv()
            except (EOFError, OSError):
                self._stop()
                raise RecognitionError(
                    f"{self.name}: the recogniser process ended while warming up"
                ) from None
            self._warm = True
            for method, args in self._replay:  # calibration etc. survives a restart
                self._conn.send(("call", method, args))
                if not self._conn.poll(self.load_timeout_s):
                    self._stop()
                    raise RecognitionError(f"{self.name}: replaying {method} timed out")
                _raise_reply(self.name, self._conn.recv())
        return self._ready

    def _request(self, request: tuple, limit_s: float) -> tuple[bool, Any]:
        """Send one request; (True, reply) or (False, None) when over the limit (the worker is killed).
        The limit counts from before sending (shipping a large ink to the worker is part of it)."""
        t0 = time.monotonic()
        self._conn.send(request)
        if not self._conn.poll(max(0.0, limit_s - (time.monotonic() - t0))):
            self._stop(wait=False)
            self._start()  # the new worker loads its model now, in the background, ready for the next step
            self.restarts += 1
            return False, None
        try:
            return True, self._conn.recv()
        except (EOFError, OSError):
            self._stop()
            raise RecognitionError(f"{self.name}: the recogniser process ended unexpectedly") from None

    def warm_up(self) -> None:
        """Block until the worker has loaded the engine (raises like ``recognize``). The engine's own
        warm-up goes on in the worker after this returns; the first reading waits for it (outside its
        time limit)."""
        with self._lock:
            self._ensure_ready(warm=False)

    def wait_until_warm(self) -> None:
        """Block until the worker has loaded and warmed up (up to the load timeout each); raises like
        ``recognize``. Callers that time a reading (``pipeline.process_step``) call this first."""
        with self._lock:
            self._ensure_ready()

    @property
    def warm(self) -> bool:
        """Whether the worker has finished its warm-up (False while it loads or warms up; a reading asked
        for now waits for it). Does not block."""
        with self._lock:
            if not self._warm and self._ready is not None and self._conn is not None and self._conn.poll(0):
                try:
                    self._ensure_ready()
                except RecognitionError:
                    return False
            return self._warm

    def recognize(self, ink: StepInk, context: RecognitionContext | None = None) -> RecognitionResult:
        """Read ``ink`` within the time limit (see the class docstring). Ink over MAX_INK_STROKES or
        MAX_INK_POINTS is refused at once ("could not read: too much ink ...")."""
        too_big = ink_too_large(ink)
        if too_big is not None:
            return RecognitionResult(ms=0.0, engine=self.name, message=f"could not read: {too_big}")
        with self._lock:
            self._ensure_ready()
            t0 = time.perf_counter()
            done, reply = self._request(("recognize", ink, context), self.time_limit_s)
            ms = (time.perf_counter() - t0) * 1000.0
            if not done:
                return RecognitionResult(
                    ms=ms, engine=self.name, message=f"could not read: time limit {self.time_limit_s:g} s"
                )
            result = _raise_reply(self.name, reply)
        if self.context_prior and context is not None:
            from whiteboard_app.recognition.context import rerank

            classify = self.classify_groups if self._ready and self._ready.get("classify") else None
            result = rerank(result, context, ink=ink, classify=classify)
        return result

    def prepare(self, context: RecognitionContext | None) -> None:
        """Let the engine get ready for steps read with ``context`` (a card just opened): its
        ``prepare(context)`` in the worker, when it has one (the bundled engine typesets the card's forms
        there in the background, so that its first step is not read beside that work; issue 16). Waits
        for the worker to load and warm up (up to the load timeout; call it from a background thread).
        Best effort: a failure is left for the first reading to report."""
        if context is None:
            return
        with self._lock:
            try:
                self._ensure_ready()
                done, reply = self._request(("prepare", context), self.load_timeout_s)
            except RecognitionError:
                return
            if done:
                try:
                    _raise_reply(self.name, reply)
                except RecognitionError:
                    pass

    def classify_groups(self, ink: StepInk, groups) -> list:
        """The engine's ``classify_groups`` (labels for given stroke groups) run in the worker, under the
        per-step time limit. Raises RecognitionError when the engine has none, fails, or is over the limit."""
        too_big = ink_too_large(ink)
        if too_big is not None:
            raise RecognitionError(f"{self.name}: {too_big}")
        with self._lock:
            if not self._ensure_ready().get("classify"):
                raise RecognitionError(f"the {self.name} recogniser cannot classify stroke groups")
            done, reply = self._request(("classify", ink, [list(g) for g in groups]), self.time_limit_s)
            if not done:
                raise RecognitionError(
                    f"{self.name}: classifying stroke groups took longer than {self.time_limit_s:g} s"
                )
            return _raise_reply(self.name, reply)

    def hooks(self) -> list[str]:
        """The optional engine methods available through this wrapper (e.g. ["adapt"])."""
        with self._lock:
            return list(self._ensure_ready(warm=False)["hooks"])

    def queue_hook(self, method: str, *args) -> None:
        """Like :meth:`call_hook` without waiting for the worker's warm-up: when it is still warming up
        the call is queued and sent once it has, before any reading (its result is not returned); after
        that it is called at once. Raises AttributeError when the engine has no such method."""
        with self._lock:
            if method not in self._ensure_ready(warm=False)["hooks"]:
                raise AttributeError(f"the {self.name} recogniser has no {method}()")
            if not self._warm:
                self._replay.append((method, args))
                return
        self.call_hook(method, *args)

    def call_hook(self, method: str, *args) -> Any:
        """Call the engine's ``method`` (one of :data:`HOOKS`) in the worker; remembered and replayed
        after a restart. Raises AttributeError when the engine has no such method."""
        with self._lock:
            if method not in self._ensure_ready()["hooks"]:
                raise AttributeError(f"the {self.name} recogniser has no {method}()")
            done, reply = self._request(("call", method, args), self.load_timeout_s)
            if not done:
                raise RecognitionError(f"{self.name}: {method} took longer than {self.load_timeout_s:g} s")
            value = _raise_reply(self.name, reply)
            if method in REPLACING_HOOKS:
                self._replay = [(m, a) for m, a in self._replay if m not in HOOKS]
            self._replay.append((method, args))
            return value

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        # Only hook names are forwarded, so hasattr(wrapper, "adapt") tells whether the engine has it.
        if attr in HOOKS:
            if attr in self.hooks():
                return lambda *args: self.call_hook(attr, *args)
        raise AttributeError(attr)

    def close(self) -> None:
        """End the worker process (a later call starts a new one)."""
        with self._lock:
            self._stop()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self._stop()
        except Exception:  # noqa: BLE001 - stopping is best effort
            pass

    def __enter__(self) -> TimeLimitedRecognizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
