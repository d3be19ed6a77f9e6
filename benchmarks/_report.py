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
