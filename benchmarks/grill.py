"""Grill mode: time to judge a maths answer, and how the deck's forms are judged.

Run: ``python -m benchmarks.grill``. Writes the "grill" section of docs/benchmarks.md: over every maths
grill question of the bundled deck and every one of its forms (the answer, the ``accept`` forms, the
``reject`` forms), the verdict and the time of ``sessions.grill.check_answer`` through the public
``maths.compare`` (worker process). Cold: the first answer to a question (its card is loaded into the
worker); warm: the next ones. Medians and p95 in ms; the verdict counts say how many forms were judged as
the deck says (accept/answer -> correct, reject -> wrong).
"""

from __future__ import annotations

import time

from benchmarks._report import machine, median, p95, write_section


def main() -> str:
    from whiteboard_app.decks import load_deck
    from whiteboard_app.maths import worker
    from whiteboard_app.sessions.grill import check_answer, grill_items

    worker.get_worker()  # start the process outside the measurement
    items = [it for it in grill_items(load_deck()) if it.kind == "maths"]
    cold, warm, agree, total = [], [], 0, 0
    for it in items:
        forms = [(f, "correct") for f in (it.question.answer, *it.question.accept)]
        forms += [(f, "wrong") for f in it.question.reject]
        for k, (form, want) in enumerate(forms):
            t0 = time.perf_counter()
            v = check_answer(it, form)
            ms = (time.perf_counter() - t0) * 1000.0
            (cold if k == 0 else warm).append(ms)
            total += 1
            agree += v.verdict == want
    md = "\n".join(
        [
            "## Grill: judging a maths answer (`python -m benchmarks.grill`)",
            "",
            f"{machine()}. {len(items)} maths questions, {total} forms (answer + accept + reject) through "
            "`sessions.grill.check_answer` -> `maths.compare` in the worker process.",
            "",
            "| | n | median ms | p95 ms |",
            "|---|---|---|---|",
            f"| first answer to a question (loads its card) | {len(cold)} | {median(cold):.0f} | {p95(cold):.0f} |",
            f"| next answers (warm) | {len(warm)} | {median(warm):.0f} | {p95(warm):.0f} |",
            "",
            f"Forms judged as the deck says: {agree} of {total}.",
        ]
    )
    write_section("grill", md)
    return md


if __name__ == "__main__":
    print(main())
