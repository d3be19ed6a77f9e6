"""Run every benchmark, one after the other, each in its own process; each rewrites its section of
docs/benchmarks.md. ``make bench`` calls this.

Usage: ``python -m benchmarks.run_all [--only NAME ...] [--quick]``; ``--quick`` passes ``--quick`` to
benchmarks that accept it (smaller samples). Exit status 1 when any benchmark failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

# in the order they run; each is ``python -m benchmarks.<name>``
BENCHMARKS = (
    "checking",
    "recognition",
    "derivation_steps",
    "context_real",
    "paint",
    "launch",
    "board_save",
    "fuzz",
    "grill",
    "faults",
    "quit",
    "correction_kind",
    "added_symbols",
    "calibration",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--quick", action="store_true", help="smaller samples where supported")
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or BENCHMARKS:
        takes_quick = "--quick" in (Path(__file__).parent / f"{name}.py").read_text(encoding="utf-8")
        cmd = [sys.executable, "-m", f"benchmarks.{name}"] + (
            ["--quick"] if args.quick and takes_quick else []
        )
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"== {name}: exit {rc} in {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
