"""``whiteboard-app train-recognizer``: train the bundled recogniser's weights on real ink.

Example (reproduces the shipped weights; see docs/recogniser.md)::

    whiteboard-app train-recognizer --data ../shared/handwriting/train.jsonl.gz \\
        --out runs/recognizer --minutes 60 --seed 0

Writes ``classifier.pth`` (symbol classifier), ``grouper.pth`` (stroke grouper), ``structure.pth`` (layout relations),
``structure_gnn.pth`` (the layout parser's evidence refiner, from that relation model's evidence) and
``train.log`` under --out; copy the .pth files to whiteboard_app/recognition/weights/ to ship them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

STAGES = ("classifier", "grouper", "structure", "refiner")


def register(subparsers) -> None:
    """Add the ``train-recognizer`` subcommand to *subparsers*."""
    p = subparsers.add_parser(
        "train-recognizer",
        help="train the bundled recogniser on real ink (CPU)",
        description=__doc__.splitlines()[0],
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options (shared with ``python -m whiteboard_app.recognition.training.cli``)."""
    p.add_argument(
        "--data", required=True, help="training JSON lines (.jsonl or .jsonl.gz) with symbol groups"
    )
    p.add_argument("--out", required=True, help="output directory for checkpoints and the log")
    p.add_argument("--minutes", type=float, default=60.0, help="wall-time budget of each stage (minutes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--classifier-epochs", type=int, default=8)
    p.add_argument("--classifier-lr", type=float, default=1e-3)
    p.add_argument(
        "--stop-after",
        type=int,
        default=0,
        help="stop the classifier after this many epochs, its learning-rate schedule still over "
        "--classifier-epochs (0: run them all)",
    )
    p.add_argument(
        "--base-classifier",
        default="v9_combined",
        help="classifier checkpoint to start from: mathnote-ocr's bundled run name or a .pth path",
    )
    p.add_argument(
        "--synth-per-class",
        type=int,
        default=0,
        help="made samples of each added class (symbol_synth.ADDED_CLASSES) mixed into the classifier's "
        "training symbols, from the training writers' ink (0: none)",
    )
    p.add_argument(
        "--distill-from",
        default=None,
        help="classifier checkpoint whose outputs on the real training symbols the classifier keeps "
        "(a distillation term, e.g. the shipped classifier.pth; default: none)",
    )
    p.add_argument("--distill-weight", type=float, default=1.0, help="weight of the distillation term")
    p.add_argument(
        "--distill-temperature", type=float, default=2.0, help="softmax temperature of distillation"
    )
    p.add_argument(
        "--freeze",
        default="",
        help="comma-separated classifier layers kept fixed: trunk (conv1-conv3), conv1, conv2, conv3, fc1, old-rows "
        "(the output rows of the classes that are not added classes; default: none; e.g. --freeze trunk trains "
        "fc1 and the output layer only)",
    )
    p.add_argument(
        "--written-skeletons",
        action="store_true",
        help="made ink also from symbol_synth's hand-made skeletons of written shapes (session 9)",
    )
    p.add_argument(
        "--written-allographs",
        action="store_true",
        help="made ink also from symbol_synth's session-13 allographs of the weak classes (η κ K Z ∂)",
    )
    p.add_argument(
        "--added-cap",
        type=float,
        default=0.0,
        help="hold out --cap-fraction of the training writers and, after training, lower the added classes' "
        "output biases until at most this fraction of those writers' real symbols is taken by an added "
        "class (e.g. 0.001; 0: no cap)",
    )
    p.add_argument(
        "--added-cap-class",
        type=float,
        default=None,
        help="with --added-cap: at most this fraction taken by any one added class (default: no such limit)",
    )
    p.add_argument(
        "--revive-units",
        type=int,
        default=0,
        help="with --freeze trunk,old-rows: this many fc1 units the base never uses learn as the added "
        "classes' own features (the old classes' logits stay the base's; default 0)",
    )
    p.add_argument(
        "--revive-silence",
        type=float,
        default=0.0,
        help="with --revive-units: weight of an L1 penalty on the revived units' activations on real "
        "training symbols (they learn to stay silent on real ink of the old classes; default 0: none)",
    )
    p.add_argument(
        "--added-margin",
        type=float,
        default=0.0,
        help="hinge margin (logits) between the old and the added classes: a real symbol's class at least "
        "this far above every added class, a made symbol's added class above every old class "
        "(default 0: no hinge)",
    )
    p.add_argument(
        "--added-margin-weight",
        type=float,
        default=1.0,
        help="weight of the --added-margin hinge (default 1)",
    )
    p.add_argument(
        "--cap-fraction", type=float, default=0.1, help="share of training writers held out for --added-cap"
    )
    p.add_argument(
        "--grouper-vectors",
        choices=("bundled", "own"),
        default="own",
        help="stroke vectors of the grouper: mathnote's bundled classifier or the one trained here",
    )
    p.add_argument("--grouper-epochs", type=int, default=12)
    p.add_argument("--structure-epochs", type=int, default=4, help="epochs of the layout relation model")
    p.add_argument("--structure-lr", type=float, default=1e-4)
    p.add_argument("--refiner-epochs", type=int, default=6, help="epochs of the layout evidence refiner")
    p.add_argument("--refiner-lr", type=float, default=3e-4)
    p.add_argument(
        "--refiner-copies",
        type=int,
        default=2,
        help="examples per layout (the further ones: a subtree collapsed)",
    )
    p.add_argument(
        "--relation-model",
        help="structure.pth whose evidence the refiner learns from (default: --out's, else the bundled one)",
    )
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of writers held out for validation")
    p.add_argument("--limit", type=int, default=0, help="use only the first N expressions (0: all)")
    p.add_argument("--threads", type=int, default=2, help="torch threads")


def run(args: argparse.Namespace) -> int:
    """Run the stages; returns 0, or 2 with a one-line message for bad arguments or data."""
    from whiteboard_app.recognition.training.data import (
        TrainingDataError,
        load_expressions,
        mark_fraction_bars,
        writer_split,
    )

    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = [s for s in stages if s not in STAGES]
    if bad:
        print(
            f"whiteboard-app: error: unknown stage(s) {', '.join(bad)} (choose from {', '.join(STAGES)})",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_f = open(out / "train.log", "a", encoding="utf-8")

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log_f.write(line + "\n")
        log_f.flush()

    import torch

    torch.set_num_threads(max(1, args.threads))
    try:
        exprs = load_expressions(args.data, args.limit)
    except TrainingDataError as exc:
        print(f"whiteboard-app: error: {exc}", file=sys.stderr)
        return 2
    for e in exprs:
        mark_fraction_bars(e)
    train, val = writer_split(exprs, args.val_fraction, args.seed)
    log(
        f"data {args.data}: {len(exprs)} expressions, {len(train)} train / {len(val)} validation "
        f"(writer-disjoint, seed {args.seed})"
    )
    summary = {"args": {k: v for k, v in vars(args).items() if k != "func"}}
    if "classifier" in stages:
        from whiteboard_app.recognition.training import symbol_synth
        from whiteboard_app.recognition.training.classifier import train_classifier

        symbol_synth.WRITTEN_SKELETONS = bool(args.written_skeletons)
        symbol_synth.WRITTEN_ALLOGRAPHS = bool(args.written_allographs)

        summary["classifier"] = train_classifier(
            train,
            val,
            out / "classifier.pth",
            epochs=args.classifier_epochs,
            minutes=args.minutes,
            seed=args.seed,
            log=log,
            lr=args.classifier_lr,
            base=args.base_classifier,
            synth_per_class=args.synth_per_class,
            stop_after=args.stop_after,
            distill_from=args.distill_from,
            distill_weight=args.distill_weight,
            distill_temperature=args.distill_temperature,
            freeze=[n for n in args.freeze.split(",") if n.strip()],
            added_cap=args.added_cap,
            cap_fraction=args.cap_fraction,
            added_cap_class=args.added_cap_class,
            revive_units=args.revive_units,
            revive_silence=args.revive_silence,
            added_margin=args.added_margin,
            added_margin_weight=args.added_margin_weight,
        )
    if "grouper" in stages:
        if args.grouper_vectors == "own" and not (out / "classifier.pth").exists():
            print(
                f"whiteboard-app: error: {out / 'classifier.pth'} is missing: train the classifier stage first "
                "or use --grouper-vectors bundled",
                file=sys.stderr,
            )
            return 2
        from whiteboard_app.recognition.training.grouper import train_grouper

        clf = out / "classifier.pth"
        summary["grouper"] = train_grouper(
            train,
            val,
            out / "grouper.pth",
            epochs=args.grouper_epochs,
            minutes=args.minutes,
            seed=args.seed,
            log=log,
            classifier=str(clf) if args.grouper_vectors == "own" else None,
        )
    if "structure" in stages:
        from whiteboard_app.recognition.training.structure import train_structure, write_examples

        made = {}
        for part, exs in (("train", train), ("val", val)):
            made[part] = write_examples(exs, out / f"structure_{part}.jsonl")
            log(
                f"structure: {part} layouts {made[part][0]} ({made[part][1]} left out: unmatched names or LaTeX)"
            )
        summary["structure"] = train_structure(
            out / "structure_train.jsonl",
            out / "structure_val.jsonl",
            out / "structure.pth",
            epochs=args.structure_epochs,
            lr=args.structure_lr,
            minutes=args.minutes,
            seed=args.seed,
            threads=args.threads,
            log_fn=log,
        )
        summary["structure"]["examples"] = made
    if "refiner" in stages:
        summary["refiner"] = _train_refiner(args, out, train, val, log)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    log(f"done: {out}")
    log_f.close()
    return 0


def _train_refiner(args: argparse.Namespace, out: Path, train: list, val: list, log) -> dict:
    """The ``refiner`` stage: layout examples (written by the structure stage, else here) and the
    evidence refiner fine-tuned on the evidence of ``--relation-model`` (default: --out's structure.pth,
    else the bundled weights')."""
    from importlib import resources

    from whiteboard_app.recognition.structure import STRUCTURE_FILE
    from whiteboard_app.recognition.training.structure import REFINER_FILE, train_refiner, write_examples

    for part, exs in (("train", train), ("val", val)):
        path = out / f"structure_{part}.jsonl"
        if not path.exists():
            n_ok, n_bad = write_examples(exs, path)
            log(f"refiner: {part} layouts {n_ok} ({n_bad} left out: unmatched names or LaTeX)")
    relation = Path(args.relation_model) if args.relation_model else out / STRUCTURE_FILE
    if not relation.exists():
        relation = Path(str(resources.files("whiteboard_app.recognition") / "weights")) / STRUCTURE_FILE
    log(f"refiner: evidence of {relation}")
    return train_refiner(
        out / "structure_train.jsonl",
        out / "structure_val.jsonl",
        relation,
        out / REFINER_FILE,
        epochs=args.refiner_epochs,
        lr=args.refiner_lr,
        copies=args.refiner_copies,
        minutes=args.minutes,
        seed=args.seed,
        threads=args.threads,
        log_fn=log,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m whiteboard_app.recognition.training.cli``."""
    p = argparse.ArgumentParser(prog="train-recognizer", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
