"""Write one benchmark's section into docs/benchmarks.md, leaving the other sections as they are.

Each benchmark owns the text between ``<!-- begin:NAME -->`` and ``<!-- end:NAME -->``.
"""

from __future__ import annotations

import datetime as _dt
import platform
import re
import statistics
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
_HEADER = (
    "# Benchmarks\n\nWritten by the benchmark commands (`make bench` runs them all); do not edit by hand.\n"
)


def machine() -> str:
    """One line naming the machine and the date, for the header of a section."""
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {_dt.date.today()}"


def median(xs):
    """Median of a non-empty sequence."""
    return statistics.median(xs)


def p95(xs):
    """95th percentile (nearest rank) of a non-empty sequence."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]


def write_section(name: str, markdown: str, path: Path = REPORT) -> None:
    """Replace (or append) the section NAME of docs/benchmarks.md with ``markdown``."""
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    block = f"<!-- begin:{name} -->\n{markdown.rstrip()}\n<!-- end:{name} -->"
    pattern = re.compile(rf"<!-- begin:{re.escape(name)} -->.*?<!-- end:{re.escape(name)} -->", re.S)
    text = (
        pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def timing_row(label: str, ms: list[float]) -> str:
    """A Markdown row ``| label | n | median ms | p95 ms |`` (ms: a non-empty list of milliseconds)."""
    return f"| {label} | {len(ms)} | {median(ms):.1f} | {p95(ms):.1f} |"


def load_note() -> str:
    """The sentence that closes a timing section: the 1-minute load average when the run ended."""
    import os

    return (
        f"Load average when the run ended: {os.getloadavg()[0]:.1f} (other work shares the cores; the figures "
        "above are upper bounds for an idle machine)."
    )


def timed_chain_steps(deck, chains):
    """Check derivation chains step by step through the public ``check_step`` (worker process) and time it.

    ``chains``: iterable of (tag, card id, [step LaTeX, ...]). Each card is loaded into the worker once,
    untimed, before its first chain; every step is then checked with the chain's earlier steps as
    ``previous``. Yields (tag, k, latex, verdict, ms) per step: k 0-based, ms the wall time of the call.
    The worker's parse and check timeouts are raised to 30 s (measure, do not cut); the caller kills the
    worker when done.
    """
    import time

    from whiteboard_app.maths import check_step, worker

    worker.PARSE_TIMEOUT_S = 30.0
    worker.CHECK_TIMEOUT_S = 30.0
    loaded: set[str] = set()
    for tag, card_id, steps in chains:
        card = deck.get(card_id)
        if card_id not in loaded:
            check_step(card, "0")
            loaded.add(card_id)
        for k, latex in enumerate(steps):
            t0 = time.perf_counter()
            v = check_step(card, latex, steps[:k])
            yield tag, k, latex, v, (time.perf_counter() - t0) * 1000


def shared_load_line() -> str:
    """The floor benchmarks' sentence on the 1-minute load average, read when called (at the end of a run)."""
    import os

    return f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on 2 cores (other sessions' work shares them)."


def floor_words(label: str, floor_ms: float, ms: float) -> str:
    """``label <= floor ms — **met** (ms ms)`` (or **NOT met**; a NaN ms is not met): one floor of a
    speed benchmark (issue 16), with the measured median."""
    return f"{label} <= {floor_ms:.0f} ms \u2014 **{'met' if ms <= floor_ms else 'NOT met'}** ({ms:.0f} ms)"


def end_floor_section(name: str, lines: list[str], floor_ms: float, ms: float) -> int:
    """Close a one-floor speed benchmark: ``lines``, a blank line, the load line and ``Floor: median <= ...``
    become section ``name`` of docs/benchmarks.md and are printed. Returns the exit status: 0 when the
    median ``ms`` meets ``floor_ms``, 1 when not (or NaN)."""
    md = "\n".join([*lines, "", shared_load_line(), f"Floor: {floor_words('median', floor_ms, ms)}."])
    write_section(name, md)
    print(md)
    return 0 if ms <= floor_ms else 1
