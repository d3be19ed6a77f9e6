"""Long fuzzing profile: tests/test_fuzz.py with 10,000 examples per target (hypothesis profile "long"),
and the counts (passing / failing / invalid examples, seconds per target, why hypothesis stopped)
written to docs/benchmarks.md.

Usage: ``python -m benchmarks.fuzz [--quick] [--examples N] [--seed S] [--only NAME ...] [--log FILE]``.
``--quick``: 500 examples per target, seed 0. ``--examples``: examples per target (default
``$WHITEBOARD_FUZZ_EXAMPLES`` or 10,000). ``--only``: run only the targets whose names contain one of
these words (``-k`` of pytest); the section then names only those. ``--log``: pytest's whole output
(with hypothesis's statistics and any falsifying example) is also written to FILE.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._report import machine, write_section

_TEST = re.compile(r"^tests/test_fuzz\.py::(\w+):", re.M)


def parse_statistics(output: str) -> dict[str, dict]:
    """Per test, from pytest's ``--hypothesis-show-statistics`` output: ``passing``, ``failing``,
    ``invalid`` (example counts summed over hypothesis's phases), ``seconds`` (the phases' wall time, s)
    and ``stopped`` (hypothesis's reason for stopping, e.g. ``settings.max_examples=10000``)."""
    found: dict[str, dict] = {}
    blocks = _TEST.split(output)
    for name, block in zip(blocks[1::2], blocks[2::2], strict=True):
        row = {"passing": 0, "failing": 0, "invalid": 0, "seconds": 0.0, "stopped": ""}
        for m in re.finditer(r"(\d+) passing, (\d+) failing, and (\d+) invalid", block):
            row["passing"] += int(m.group(1))
            row["failing"] += int(m.group(2))
            row["invalid"] += int(m.group(3))
        for m in re.finditer(r"during \w+ phase \(([\d.]+) seconds\)", block):
            row["seconds"] += float(m.group(1))
        stop = re.search(r"Stopped because (.+)", block)
        row["stopped"] = stop.group(1).strip() if stop else ""
        found[name] = row
    return found


def failed_tests(output: str) -> list[str]:
    """Names of the tests pytest reports as FAILED (``-rf`` summary lines)."""
    return sorted(set(re.findall(r"^FAILED tests/test_fuzz\.py::(\w+)", output, re.M)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 examples per target instead of 10,000")
    parser.add_argument(
        "--examples",
        type=int,
        default=int(os.environ.get("WHITEBOARD_FUZZ_EXAMPLES", "10000")),
        help="examples per target (default $WHITEBOARD_FUZZ_EXAMPLES or 10,000)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="hypothesis seed (default: a random one, recorded)"
    )
    parser.add_argument("--only", nargs="*", default=None, help="run only targets whose names contain these")
    parser.add_argument("--log", type=Path, default=None, help="also write pytest's whole output here")
    args = parser.parse_args(argv)
    examples = 500 if args.quick else args.examples
    seed = 0 if args.quick and args.seed is None else args.seed
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    env = dict(
        os.environ,
        HYPOTHESIS_PROFILE="long",
        QT_QPA_PLATFORM="offscreen",
        WHITEBOARD_FUZZ_EXAMPLES=str(examples),
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rf",
        "-p",
        "no:cacheprovider",
        "tests/test_fuzz.py",
        "--hypothesis-show-statistics",
        f"--hypothesis-seed={seed}",
    ]
    if args.only:
        cmd += ["-k", " or ".join(args.only)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        args.log.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}", encoding="utf-8")
    print(proc.stdout[-4000:], proc.stderr[-2000:])
    stats = parse_statistics(proc.stdout)
    rows = "\n".join(
        f"| `{name}` | {r['passing']:,} | {r['failing']:,} | {r['invalid']:,} | {r['seconds']:,.1f} | {r['stopped']} |"
        for name, r in sorted(stats.items())
    )
    failed = failed_tests(proc.stdout)
    verdict = (
        "Every target answered with a result or its layer's own error within its time limit "
        "(see tests/test_fuzz.py)."
        if proc.returncode == 0 and not failed
        else "Failed: "
        + (", ".join(f"`{n}`" for n in failed) or "see the log")
        + " (the falsifying example is in pytest's output)."
    )
    only = f"; targets matching {', '.join(args.only)} only" if args.only else ""
    write_section(
        "fuzz",
        f"""## Fuzzing (`python -m benchmarks.fuzz`)

{machine()}; {examples:,} examples a target (hypothesis profile "long"), seed {seed}{only};
pytest exit {proc.returncode}; {seconds:,.0f} s in all.
{verdict}

| target | passing examples | failing | invalid | seconds | stopped because |
|---|---:|---:|---:|---:|---|
{rows}
""",
    )
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
