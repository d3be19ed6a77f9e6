"""Composition root of the window: settings, services, main window (``whiteboard-app-gui``, and
``whiteboard-app`` with no arguments).

Startup order keeps the first window fast (benchmarks/launch.py): Qt, the settings and the bundled deck
(TOML only) load first and the window is shown at once; the recogniser (torch, weights) loads in a
worker with a busy indicator in the status bar, and steps written meanwhile are read once it is ready.
Any failure (bad deck, no recogniser, a history that cannot be opened) is shown in words in the window.

Options (for scripts and tests; a person just runs the program):
  --settings FILE           use an INI settings file instead of the native store
  --data-dir DIR            data folder for boards and history (else the setting, else platformdirs)
  --engine NAME             recogniser engine for this run
  --no-recognizer           do not load a recogniser (keyboard only)
  --deck PATH...            card files or folders instead of the bundled deck
  --screenshot-script DIR   run the scripted session of scripts/screenshots.sh, save PNGs into DIR, quit
  --launch-probe            print "window-shown" on stdout when the window is up, then quit (benchmark)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

T0 = time.perf_counter()


def cpu_sample() -> tuple[float, float, float] | None:
    """(wall s, busy CPU s of the whole machine, CPU s of this process) now, or None where the machine's
    CPU times cannot be read (not Linux). Busy = all but idle and iowait in ``/proc/stat``'s first line
    (all CPUs summed, in clock ticks: ``os.sysconf("SC_CLK_TCK")``, 100 a second); this process's from
    ``time.process_time`` (all its threads)."""
    import os

    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        ticks = [int(x) for x in fields[1:9]]
        busy = sum(ticks) - ticks[3] - ticks[4]  # user nice system [idle iowait] irq softirq steal
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.perf_counter(), busy / hz, time.process_time()


#: The machine's CPU times when this module was imported (first thing at launch): :func:`spare_core`
#: measures the other processes' use of the CPUs from here to its call, while this process does the
#: launch's first work, rather than from the lagging 1-minute load average.
LAUNCH_SAMPLE = cpu_sample()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command-line options of the window (see the module doc); argparse exits 2 on bad ones."""
    p = argparse.ArgumentParser(
        prog="whiteboard-app-gui", description="Practise ML derivations on a whiteboard."
    )
    p.add_argument("--settings", type=Path, default=None)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--engine", default=None)
    p.add_argument("--no-recognizer", action="store_true")
    p.add_argument("--deck", nargs="+", type=Path, default=None)
    p.add_argument("--screenshot-script", type=Path, default=None, metavar="DIR")
    p.add_argument("--launch-probe", action="store_true")
    return p.parse_args(list(argv))


def _deck(paths):
    """(deck, error text or None): every card that loads, and the problems in words."""
    from whiteboard_app.decks import deck_errors

    try:
        deck, errors = deck_errors(paths)
    except Exception as exc:  # noqa: BLE001 - shown in the window
        from whiteboard_app.decks import Deck

        return Deck(), f"The deck could not be loaded: {exc}"
    if not errors:
        return deck, None
    lines = [str(e) for e in errors[:5]] + ([f"... and {len(errors) - 5} more"] if len(errors) > 5 else [])
    return deck, "Some cards could not be loaded and are left out:\n" + "\n".join(lines)


class Services:
    """The non-Qt services of a run of the program: data folder, board store with autosave, history and
    scheduler (when the sessions layer provides them). Each failure is kept as words in ``problems``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.problems: list[str] = []
        self.store = self.autosaver = self.history = self.scheduler = self.plan = None
        self.instance_lock = None
        self.second_instance = False
        try:
            from whiteboard_app.safeio import FileLock

            lock = FileLock(Path(data_dir) / ".instance.lock")
            if lock.acquire():
                self.instance_lock = lock
            else:
                self.second_instance = True
                self.problems.append(
                    f"Another whiteboard-app window (process {lock.holder() or '?'}) is using the data folder "
                    f"{data_dir}. This window saves its new runs as separate boards and does not offer the "
                    "other window's unfinished boards."
                )
        except OSError as exc:
            self.problems.append(f"The data folder {data_dir} cannot be locked ({exc}).")
        try:
            from whiteboard_app.paths import boards_dir
            from whiteboard_app.sessions.store import Autosaver, BoardStore

            self.store = BoardStore(boards_dir(data_dir))
            if not self.second_instance:
                self.store.recover()  # stroke journals left by a crash, folded into their boards
            self.autosaver = Autosaver(self.store, on_error=lambda err: self.problems.append(str(err)))
        except Exception as exc:  # noqa: BLE001 - the program runs without saving, the problem shown
            self.problems.append(f"Boards will not be saved: {exc}")
        try:
            from whiteboard_app.paths import history_path
            from whiteboard_app.sessions.history import History
            from whiteboard_app.sessions.scheduler import DrillPlan, Scheduler

            self.history = History.open_or_move_aside(history_path(data_dir))
            if self.history.moved_aside is not None:
                self.problems.append(
                    f"The practice history could not be read ({self.history.broken_reason}); it was moved "
                    f"to {self.history.moved_aside} and a new one was started. Boards are kept and can be "
                    "indexed again."
                )
            self.scheduler = Scheduler(self.history)
            self.plan = DrillPlan()
        except Exception as exc:  # noqa: BLE001 - the program runs without a schedule, the problem shown
            self.history = self.scheduler = self.plan = None
            self.problems.append(
                f"The practice history could not be opened ({exc}); runs will not be scheduled."
            )

    # -- hooks for the window ---------------------------------------------------------------------
    def on_session(self, session) -> None:
        """Autosave every change of a new session's board."""
        if self.autosaver is None:
            return
        saver = self.autosaver
        session.subscribe(lambda kind, step: saver.submit(session.board()))

    def on_graded(self, card_id: str, grade: str, session) -> None:
        """Save the finished board, then rate the run (self-grade lowered by verdicts and time:
        ``scheduler.rating_for_board``), schedule the card with FSRS and index the attempt."""
        board = session.board()
        path = self.store.save(board) if self.store is not None else None
        if self.scheduler is not None:
            rating, _due = self.scheduler.record_board(board)
            self.history.record_attempt(board, path, rating=int(rating))

    def on_ungraded(self, card_id: str, session) -> None:
        """A finished run left without a grade (the user went back to the deck or closed the window):
        save it and record it with the run's suggested rating (``scheduler.suggested_rating``: the grade
        its verdicts, help, derivation and time allow), self-grade left empty ("ungraded")."""
        board = session.board()
        path = self.store.save(board) if self.store is not None else None
        if self.scheduler is not None:
            from datetime import UTC, timedelta

            from whiteboard_app.sessions.scheduler import suggested_rating

            rating = suggested_rating(board)
            when = board.started_at.astimezone(UTC) + timedelta(milliseconds=board.duration_ms)
            self.scheduler.record(card_id, rating, when, board.board_id)
            self.history.record_attempt(board, path, rating=int(rating))

    def grade_preview(self, card_id: str) -> dict[str, str]:
        """When each grade would make the card due again, in words ("10 min", "3 d"), by grade name."""
        if self.scheduler is None:
            return {}
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        out = {}
        for rating, due in self.scheduler.preview(card_id, now).items():
            s = max(0.0, (due - now).total_seconds())
            out[rating.name.lower()] = (
                f"{round(s / 60)} min"
                if s < 3600
                else f"{round(s / 3600)} h"
                if s < 86_400
                else f"{round(s / 86_400)} d"
            )
        return out

    def stats(self, card_id: str):
        """Due instant (aware datetime from the scheduler, so that a card due in 10 minutes is not "due"
        yet), best and last time of a card for the deck browser (empty when no history)."""
        from whiteboard_app.ui.deck_browser import CardStats

        if self.history is None:
            return CardStats()
        due = self.scheduler.due_date(card_id)
        st = self.history.card_stats(card_id)
        return CardStats(due, st.best_ms, st.last_ms, st.attempts)

    def queue(self, deck) -> list[tuple[str, str]]:
        """Today's drill from the scheduler's drill plan: (card id, "due" | "new" | "cycle")."""
        if self.scheduler is None:
            return []
        from datetime import UTC, datetime

        ids = sorted(deck.cards)
        targets = {cid: (c.targets.cold_s, c.targets.practised_s) for cid, c in deck.cards.items()}
        return [
            (q.card_id, q.reason) for q in self.plan.queue(self.scheduler, ids, datetime.now(UTC), targets)
        ]

    def target_s(self, card, settings) -> float:
        """The run's target: the settings' override, else the drill plan (the card's cold target until a
        week after its first practice, then its practised target)."""
        if settings.override_targets or self.scheduler is None:
            return settings.target_s(card, False)
        from datetime import UTC, datetime

        return self.plan.target_s(
            self.scheduler,
            card.id,
            datetime.now(UTC),
            {card.id: (card.targets.cold_s, card.targets.practised_s)},
        )

    def corrections(self) -> list[tuple[str, str]]:
        """(read, corrected) LaTeX of every recogniser reading the user corrected, over every saved board
        (the run in progress included: its autosave is flushed first), newest board first. The
        calibration dialog offers the symbols missed in them (``recognition.calibration.plan``). Boards
        that do not load are skipped (the history window reports them); no store: none."""
        if self.store is None:
            return []
        if self.autosaver is not None:
            self.autosaver.flush(timeout=2.0)
        try:
            return self.store.misreadings()
        except OSError:
            return []

    def unfinished(self) -> list:
        """Unfinished boards to offer back (newest first); none without a store, and none in a second
        window on the same data folder (they belong to the first one)."""
        if self.store is None or self.second_instance:
            return []
        return [e for e in self.store.unfinished() if not self.store.is_locked_elsewhere(e.path)]

    def adopt(self, path, board):
        """Further autosaves of a resumed ``board`` go to its old file ``path``; returns the board to
        resume: ``board``, or a copy with a new id when another instance is writing that file."""
        if self.store is not None:
            return self.store.adopt(path, board)
        return board

    def discard(self, path) -> None:
        """Move an unfinished board the user does not want back out of the store (``discarded/``)."""
        if self.store is not None:
            self.store.discard(path)

    def list_boards(self):
        """The store's BoardListing (boards that load, newest first, and errors for those that do not)."""
        from whiteboard_app.sessions.store import BoardListing

        return self.store.list() if self.store is not None else BoardListing()

    def delete_board(self, path) -> None:
        """Remove a saved board file (the board browser asked the user first). Raises OSError."""
        if self.autosaver is not None:
            self.autosaver.flush(timeout=2.0)
        if self.store is not None:
            self.store.delete(path)  # with its stroke journal, which would otherwise bring it back
        else:
            Path(path).unlink()

    def load_board(self, path):
        """Read a saved board; raises BoardError(path, reason)."""
        from whiteboard_app.sessions.store import BoardStore

        return BoardStore.load(path)

    def close(self) -> None:
        """Flush the autosave and close the history database."""
        if self.autosaver is not None:
            self.autosaver.close()
        closer = getattr(self.history, "close", None)
        if callable(closer):
            closer()
        if self.instance_lock is not None:
            self.instance_lock.release()
            self.instance_lock = None


class _Queued:
    """A registry recogniser seen through its ``queue_hook``: ``adapt(samples)`` is queued while the
    worker warms up (``calibration.apply`` needs only ``adapt``)."""

    def __init__(self, rec) -> None:
        self._rec = rec
        if "adapt" in rec.hooks():
            self.adapt = lambda samples: rec.queue_hook("adapt", samples)


class EarlyRecognizer:
    """The recogniser's worker process started first thing at launch (:func:`start_recognizer_early`),
    before Qt and the window are imported and built: its model loads (torch's import, ~2 s of CPU) on
    the second core while this process builds the window (issue 16: recogniser ready <= 2.5 s after
    launch). :meth:`take` hands it to the window's loader once; unclaimed, :meth:`close` ends it."""

    def __init__(self, engine: str, recognizer) -> None:
        self.engine = engine
        self._recognizer = recognizer

    def take(self, engine: str):
        """The early recogniser when it is for ``engine`` (then it is no longer held here), else None
        (a recogniser for another engine is closed)."""
        rec, self._recognizer = self._recognizer, None
        if rec is not None and engine != self.engine:
            _close_quietly(rec)
            return None
        return rec

    def close(self) -> None:
        """End the early worker if nobody took it."""
        rec, self._recognizer = self._recognizer, None
        _close_quietly(rec)


def _close_quietly(rec) -> None:
    closer = getattr(rec, "close", None)
    if callable(closer):
        try:
            closer()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


#: The shortest span :func:`spare_core` measures over, s (``/proc/stat`` counts in 10 ms ticks).
MIN_SAMPLE_S = 0.05
#: At most this many cores' worth of CPU used by other processes leaves a core to spare (of 2: the window
#: takes one, the worker most of the other).
OTHERS_MAX = 0.5


def others_busy(since: tuple[float, float, float], now: tuple[float, float, float]) -> float:
    """Cores' worth of CPU the OTHER processes used between two :func:`cpu_sample` results: the machine's
    busy CPU time minus this process's own, over the wall time between them (0 when no time passed)."""
    wall = now[0] - since[0]
    if wall <= 0:
        return 0.0
    return max(0.0, ((now[1] - since[1]) - (now[2] - since[2])) / wall)


def spare_core(since: tuple[float, float, float] | None = None) -> bool:
    """Whether this machine has a core to spare now for a second process: at least 2 CPUs this process
    may run on (``os.sched_getaffinity``), and the other processes' use of the CPUs from ``since`` (a
    :func:`cpu_sample`, by default the one taken when this module was imported at launch) to now leaves
    at least one core beside this process's: their number - 1 - :func:`others_busy` >= OTHERS_MAX
    (2 CPUs: the others use at most half a core). Measured over at least MIN_SAMPLE_S (it waits for the
    rest when called sooner). Where the CPU times cannot be read: their number minus the 1-minute load
    average (``os.getloadavg``, which lags a minute behind) at least 1; with no load figure either, 2
    CPUs are enough."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return False
    since = since or LAUNCH_SAMPLE
    if since is not None:
        wait = MIN_SAMPLE_S - (time.perf_counter() - since[0])
        if wait > 0:
            time.sleep(wait)
        now = cpu_sample()
        if now is not None:
            return cpus - 1 - others_busy(since, now) >= OTHERS_MAX
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows, or no load figure
        return True
    return cpus - load >= 1.0


def start_recognizer_early(args: argparse.Namespace) -> EarlyRecognizer | None:
    """Start the recogniser the window will use (``--engine``, else the settings' engine) in its worker
    process now, before the window's imports, when a core is free (:func:`spare_core`): the worker is a
    separate process, so the model's import and loading run on the other core while this one builds the
    window (a thread would hold the GIL the window needs). Without a spare core the two would share one
    and the window would appear later (measured at load 7 on 2 cores: window usable 2.6 s instead of
    1.5 s, recogniser ready only 0.4 s sooner): then None, and the window starts the worker once it is
    shown. None also with ``--no-recognizer``, or when the engine cannot start here (the window's loader
    then tries again and reports why, in words).

    Two looks at the CPUs: over the launch's first work (options, the registry's import), and, when that
    one found no core free, once more over the settings' reading (which imports Qt, 0.2-0.35 s, work the
    window needs next anyway): a program that was ending as this one started (the previous launch's
    worker, say) keeps a core busy only for a moment. With a core free at the first look, the engine
    named by ``--engine``, else the default engine, is spawned before the settings are read; when the
    settings name another engine, that worker is closed and the settings' engine started instead."""
    if args.no_recognizer:
        return None
    try:
        from whiteboard_app.recognition.registry import DEFAULT_ENGINE, get_recognizer
    except Exception:  # noqa: BLE001 - the window's loader starts it again and shows the reason
        return None
    mark = cpu_sample()
    early = _early(args.engine or DEFAULT_ENGINE, get_recognizer) if spare_core() else None
    if early is not None and args.engine:
        return early
    engine = args.engine
    if not engine:
        try:
            from whiteboard_app.ui.settings_dialog import AppSettings, open_settings

            engine = AppSettings(open_settings(args.settings)).engine
        except Exception:  # noqa: BLE001 - the window reads the settings again and shows the problem
            return early
    else:
        try:  # the second look's work: the window imports it next
            import whiteboard_app.ui.settings_dialog  # noqa: F401
        except Exception:  # noqa: BLE001 - the window imports it again and shows the problem
            return None
    if early is not None:
        if early.engine == engine:
            return early
        early.close()  # a core was free: the settings' engine instead
        return _early(engine, get_recognizer)
    if mark is None or not spare_core(mark):
        return None
    return _early(engine, get_recognizer)


def _early(engine: str, get_recognizer) -> EarlyRecognizer | None:
    try:
        return EarlyRecognizer(engine, get_recognizer(engine))
    except Exception:  # noqa: BLE001 - the window's loader starts it again and shows the reason
        return None


def recognizer_factory(engine: str, data_dir: Path | None = None, early: EarlyRecognizer | None = None):
    """A function that builds and warms up the recogniser ``engine`` (the worker ``early`` started at
    launch when it is for that engine) and gives it the writer's stored calibration samples
    (``<data_dir>/calibration``) when it can adapt. Runs on a background thread."""

    def build():
        from whiteboard_app.recognition.registry import get_recognizer

        rec = early.take(engine) if early is not None else None
        if rec is None:
            rec = get_recognizer(engine)
        warm = getattr(rec, "warm_up", None)
        if callable(warm):
            warm()
        if data_dir is not None and (Path(data_dir) / "calibration").exists():
            from whiteboard_app.recognition.calibration import CalibrationStore, apply

            try:
                # queued while the worker warms up, so the writer's samples do not delay "ready"
                apply(
                    _Queued(rec) if hasattr(rec, "queue_hook") else rec,
                    CalibrationStore(Path(data_dir) / "calibration"),
                )
            except Exception:  # noqa: BLE001 - an engine without weights still loads; calibration is extra
                pass
        return rec

    return build


def build_window(args: argparse.Namespace, early: EarlyRecognizer | None = None):
    """Settings, services and the main window (shown by the caller). Returns (window, services, settings).
    ``early``: the recogniser started at launch (:func:`start_recognizer_early`), used when it is for the
    engine the window loads (else closed)."""
    from whiteboard_app.paths import user_data_dir
    from whiteboard_app.ui.main_window import AppContext, MainWindow, RecognizerService
    from whiteboard_app.ui.settings_dialog import AppSettings, open_settings

    settings = AppSettings(open_settings(args.settings))
    problems: list[str] = []
    try:
        data_dir = user_data_dir(args.data_dir or settings.data_folder or None)
    except OSError as exc:
        problems.append(
            f"The data folder {args.data_dir or settings.data_folder} cannot be used ({exc}); "
            "using the default one."
        )
        data_dir = user_data_dir(None)
    # the recogniser's worker process was started at launch (``early``); the thread that waits for it
    # starts at the event loop's first turn, right after the window is shown: started here, its imports
    # competed with building the window for the GIL (benchmarks/launch.py, issue 16)
    recognizers = RecognizerService()
    engine = args.engine or settings.engine
    if args.no_recognizer:
        recognizers.status = "no recogniser (keyboard only)"
        if early is not None:
            early.close()
    else:
        recognizers.start_soon(engine, recognizer_factory(engine, data_dir, early))
    services = Services(data_dir)
    deck, deck_error = _deck(args.deck)
    errors = [e for e in [deck_error, *problems, *services.problems] if e]

    def open_settings_dialog(parent) -> bool:
        from whiteboard_app.recognition.registry import available_engines
        from whiteboard_app.ui.settings_dialog import SettingsDialog

        try:
            engines = available_engines()
        except Exception:  # noqa: BLE001 - no engine list keeps the settings usable
            engines = []
        before = settings.engine
        dialog = SettingsDialog(settings, engines, parent, data_dir=str(data_dir))
        if not dialog.exec():
            return False
        window.context.pause_ms = settings.pause_ms
        window.context.pressure_gamma = settings.pressure_gamma
        window.context.stylus_only = settings.stylus_only
        if settings.engine != before and not args.no_recognizer:
            recognizers.start(settings.engine, recognizer_factory(settings.engine, data_dir))
            window._recognizer_changed()
        return True

    def open_calibration(parent, recognizer) -> None:
        from whiteboard_app.ui.calibration_dialog import CalibrationDialog

        CalibrationDialog(recognizer, data_dir, parent, corrections=services.corrections()).exec()

    context = AppContext(
        deck=deck,
        deck_error="\n".join(errors) or None,
        stats=services.stats,
        target_s=lambda card: services.target_s(card, settings),
        on_session=services.on_session,
        on_graded=services.on_graded,
        on_ungraded=services.on_ungraded,
        grade_preview=services.grade_preview,
        pause_ms=settings.pause_ms,
        pressure_gamma=settings.pressure_gamma,
        stylus_only=settings.stylus_only,
        settings_dialog=open_settings_dialog,
        calibration_dialog=open_calibration,
        unfinished=services.unfinished,
        adopt=services.adopt,
        discard=services.discard,
        history=services.history,
        load_board=services.load_board,
        queue=lambda: services.queue(deck),
        list_boards=services.list_boards if services.store is not None else None,
        delete_board=services.delete_board,
        boards_folder=services.store.root if services.store is not None else None,
    )
    window = MainWindow(context, recognizers)
    window._recognizer_changed()
    return window, services, settings


def install_excepthook(window) -> None:
    """A bug in a Qt slot is shown in words in the window's banner (the traceback goes to stderr, for a
    bug report) and the window keeps running."""
    import traceback

    def hook(exc_type, exc, tb) -> None:
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        try:
            window.show_error(
                f"Something went wrong ({exc_type.__name__}: {exc}). Your board is autosaved; "
                "the details are on the terminal."
            )
        except Exception:  # noqa: BLE001 - the window itself may be gone
            pass

    sys.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Start the window; returns the exit status (0; 2 for bad options)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    # first thing: the recogniser's worker loads its model on the other core while Qt and the window load
    early = start_recognizer_early(args)
    from whiteboard_app.ui.application import run

    return run(args, lambda a: build_window(a, early), install_excepthook, T0)


if __name__ == "__main__":
    sys.exit(main())
