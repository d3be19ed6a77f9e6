"""Long fuzzing profile: tests/test_fuzz.py with 10,000 examples per target (hypothesis profile "long"),
and the counts (passing / failing / invalid examples, seconds) written to docs/benchmarks.md.

Usage: ``python -m benchmarks.fuzz [--quick]`` (``--quick``: 500 examples per target).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

from benchmarks._report import machine, write_section

_TEST = re.compile(r"^tests/test_fuzz\.py::(\w+):", re.M)


def parse_statistics(output: str) -> dict[str, tuple[int, int, int]]:
    """(passing, failing, invalid) per test from pytest's ``--hypothesis-show-statistics`` output."""
    found: dict[str, tuple[int, int, int]] = {}
    blocks = _TEST.split(output)
    for name, block in zip(blocks[1::2], blocks[2::2], strict=True):
        passing = failing = invalid = 0
        for m in re.finditer(r"(\d+) passing, (\d+) failing, and (\d+) invalid", block):
            passing += int(m.group(1))
            failing += int(m.group(2))
            invalid += int(m.group(3))
        found[name] = (passing, failing, invalid)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 examples per target instead of 10,000")
    args = parser.parse_args(argv)
    env = dict(os.environ, HYPOTHESIS_PROFILE="long", QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py",
           "--hypothesis-show-statistics"]
    if args.quick:
        cmd += ["--hypothesis-seed=0"]
        env["WHITEBOARD_FUZZ_EXAMPLES"] = "500"
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    print(proc.stdout[-4000:], proc.stderr[-2000:])
    stats = parse_statistics(proc.stdout)
    rows = "\n".join(f"| `{name}` | {p:,} | {f:,} | {i:,} |" for name, (p, f, i) in sorted(stats.items()))
    profile = "quick (500 a target)" if args.quick else "long (10,000 a target)"
    write_section("fuzz", f"""## Fuzzing (`python -m benchmarks.fuzz`)

{machine()}; profile {profile}; pytest exit {proc.returncode}; {seconds:.0f} s in all.
Every target answers with a result or its layer's own error within its time limit (see tests/test_fuzz.py).

| target | passing examples | failing | invalid |
|---|---:|---:|---:|
{rows}
""")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
