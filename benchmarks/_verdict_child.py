"""The measured program of benchmarks/verdict_time.py, run by path with ``PYTHONPATH`` set to the tree
under test: the bundled recogniser in its worker process (loaded and warmed up first, as the window has
it by the time a step is written), then for every reference step of the card, written as generated ink
(``ink.synth``), the window's job after the writing pause (``practice_view._read_job``: build the
context, then ``pipeline.process_step``: read, rerank, parse, check), timed. The card is prepared first
as the window does when it opens (``pipeline.prepare``). One JSON line per step on stdout.

Usage: ``python benchmarks/_verdict_child.py CARD_ID``.
"""

from __future__ import annotations

import json
import sys
import time


def main(card_id: str) -> None:
    from whiteboard_app import pipeline
    from whiteboard_app.decks import deck_errors
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.registry import get_recognizer

    deck, _ = deck_errors(None)
    card = deck.get(card_id)
    rec = get_recognizer("whiteboard")
    try:
        rec.warm_up()
        pipeline.prepare(card)
        rec.recognize(synthesize("x+1", seed=1).ink)  # past the worker's warm-up, as a waiting user is
        previous: list[str] = []
        for k, step in enumerate(card.steps):
            ink = synthesize(step.latex, seed=10 + k).ink
            t0 = time.perf_counter()
            context = pipeline.build_context(card, previous)
            t1 = time.perf_counter()
            res = pipeline.process_step(ink, rec, card, previous, context)
            t2 = time.perf_counter()
            row = {
                "card": card_id,
                "step": k + 1,
                "strokes": len(ink.strokes),
                "context_ms": (t1 - t0) * 1000.0,
                "total_ms": (t2 - t0) * 1000.0,
                "reading_ms": float(res.recognition.ms),
                "read": res.latex,
                "verdict": getattr(res.verdict, "verdict", None),
            }
            print(json.dumps(row), flush=True)
            previous.append(res.latex or step.latex)
    finally:
        rec.close()


if __name__ == "__main__":
    main(sys.argv[1])
