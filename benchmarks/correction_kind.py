"""Reader or maths (issue 12): how often ``pipeline.correction_kind`` tells a reading fix from an answer
change, on ink the project generates (``ink.synth``) read by the default recogniser.

For every card and every declared mistake whose imitated reference step is checkable, two corrections:

- *answer change*: the mistake written as ink, then the reference step typed (the user changed the
  maths): expected "answer";
- *reading fix*: the reference step written as ink, then the reference step typed over a misreading (the
  engine's own reading when it got it wrong, else the mistake as if the engine had read that): expected
  "reading".

Prints and writes the section ``correction_kind`` of docs/benchmarks.md: accuracy per kind, the
wrong-way rates, and the time per decision (median, p95; the verifier only, not the reading).

    python -m benchmarks.correction_kind [--seeds 1] [--cards ID ...] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

from benchmarks._report import machine, median, p95, write_section


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--cards", nargs="*")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from whiteboard_app import pipeline
    from whiteboard_app.decks import load_deck
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.registry import DEFAULT_ENGINE, get_recognizer

    rec = get_recognizer(DEFAULT_ENGINE, time_limit_s=None, context_prior=False)
    classify = getattr(rec, "classify_groups", None)
    deck = load_deck()
    cards = [deck.get(c) for c in args.cards] if args.cards else list(deck)
    results = {"answer": [], "reading": []}
    times = []
    for card in cards:
        for m in card.mistakes:
            ref = card.steps[m.after_step - 1]
            if not ref.checkable:
                continue
            for seed in range(1, args.seeds + 1):
                for ink_latex, want in ((m.latex, "answer"), (ref.latex, "reading")):
                    try:
                        ink = synthesize(ink_latex, seed=seed, origin=(40.0, 80.0), height_px=32.0).ink
                    except Exception:  # noqa: BLE001 - the stroke font cannot write it: not a case
                        continue
                    r = rec.recognize(ink)
                    read = r.best if (want == "answer" or r.best != ref.latex) else m.latex
                    t0 = time.perf_counter()
                    got = pipeline.correction_kind(
                        ink, r, ref.latex, read_latex=read, first_verdict="wrong", classify=classify
                    )
                    times.append((time.perf_counter() - t0) * 1000.0)
                    results[want].append(got == want)
    n_a, n_r = len(results["answer"]), len(results["reading"])
    ok_a, ok_r = sum(results["answer"]), sum(results["reading"])
    md = (
        f"### Reader or maths (`pipeline.correction_kind`, issue 12)\n\n{machine()}; "
        f"{len(cards)} cards, every declared mistake of a checkable step, seeds 1..{args.seeds}, "
        f"ink from ink/synth.py read by the default recogniser.\n\n"
        f"| case | n | right kind | wrong way |\n|---|---|---|---|\n"
        f"| answer change (mistake ink, reference typed) | {n_a} | {100 * ok_a / max(1, n_a):.1f} % | "
        f"{100 * (n_a - ok_a) / max(1, n_a):.1f} % called a reading fix |\n"
        f"| reading fix (reference ink, reference typed) | {n_r} | {100 * ok_r / max(1, n_r):.1f} % | "
        f"{100 * (n_r - ok_r) / max(1, n_r):.1f} % called an answer change |\n\n"
        f"Decision time (form verifier only): median {median(times):.0f} ms, p95 {p95(times):.0f} ms.\n"
    )
    print(md)
    if not args.no_write:
        write_section("correction_kind", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
