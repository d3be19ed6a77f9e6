"""The layout parser's relation model trained on real handwritten layouts (``weights/structure.pth``).

mathnote-ocr's layout parser decides the structure (parent symbol and relation: right neighbour,
superscript, subscript, numerator, denominator, root content, limits) from the scores of a small
relation model (``SubsetTreeModel``) that it learnt from typeset layouts with jittered boxes. The
bundled recogniser replaces that model's weights by the same model fine-tuned on the real layouts of the
training ink (recognition/training/structure.py; command in docs/recogniser.md). Same vocabulary, same
architecture, same geometry features (relative to the median symbol height): the parser's search and
scoring are unchanged, only the relation scores it searches over are learnt from handwriting.

The parser then refines the relation model's aggregated evidence with a small graph network (mathnote-ocr's
``EvidenceGNN``) into the parent / relation / sibling scores its tree search reads. The bundled refiner
learnt from the bundled relation model's evidence on typeset layouts; ``weights/structure_gnn.pth`` is
that refiner fine-tuned on the evidence the fine-tuned relation model gives on the training ink's real
layouts (recognition/training/structure.py, ``train_refiner``), loaded beside it.

Measured on the training command's writer-disjoint validation layouts (docs/recogniser.md): parent
accuracy and relation accuracy of the subsets the parser scores.

Heavy imports (torch, mathnote-ocr through recognition/mathnote_compat.py) happen inside the functions.
"""

from __future__ import annotations

import re
from pathlib import Path

#: File name of the relation model in a weights folder.
STRUCTURE_FILE = "structure.pth"
#: File name of the layout parser's evidence refiner (GNN) fine-tuned on that model's evidence.
REFINER_FILE = "structure_gnn.pth"
#: Symbols the parser's vocabulary lacks, read as a symbol it has that takes the same relations. The
#: function classes (recognition/training/data.py) are one symbol in the engine but unknown (``<unk>``)
#: to the parser, so it cannot tell that \\lim takes its limit below as \\sum does (132 of 136 \\lim
#: of the training ink have one; recognition/symbol_context.py). The names stay as they are: only the
#: relation model and the refiner see the alias's id.
PARSER_ALIASES = {"lim": "sum"}
#: An accented symbol (recognition/accents.py names it ``\\hat{y}``, ``\\bar{X}``, ``\\tilde{\\theta}``)
#: is read by the parser as its base (the base keeps its box: the layout is the one without the accent).
ACCENT_NAME = re.compile(r"^\\(?:hat|bar|tilde)\{(.+)\}$")


class ParserVocab(dict):
    """The parser's symbol vocabulary (name -> id) that reads an accented name (:data:`ACCENT_NAME`) as
    its base's name (``\\hat{y}`` as ``y``, ``\\bar{X}`` as ``X_cap``) when it lacks the name itself. Only
    ``get`` changes: mathnote-ocr's parser looks names up with ``symbol_vocab.get(name, <unk id>)``."""

    _by_latex: dict[str, str] | None = None

    def get(self, key, default=None):
        if key in self:
            return self[key]
        m = ACCENT_NAME.match(key) if isinstance(key, str) else None
        if m is None:
            return default
        if self._by_latex is None:  # the names' LaTeX (mathnote-ocr's table: X_cap -> X, theta -> \theta)
            from whiteboard_app.recognition.mathnote_compat import sym_to_latex

            self._by_latex = {sym_to_latex(n): n for n in sorted(self) if not n.startswith("<")}
        base = self._by_latex.get(m.group(1))
        return self[base] if base is not None else default


#: The parser's tree search when the fine-tuned refiner is installed: the refiner's parent / relation
#: scores, then the best spanning tree (Edmonds). mathnote-ocr's default ("backtrack": a bottom-up beam
#: search over the relation model's evidence, the refiner only choosing among the final beams) read 400
#: held-out training expressions (writers the training never saw) 39.5 % exact with the fine-tuned
#: refiner, this 41.2 %, with 147 instead of 162 wrong structure skeletons, in less time
#: (docs/recogniser.md, "Layout relations learnt from real handwriting").
REFINED_TREE_STRATEGY = "edmonds"


def load_relation_model(path: str | Path):
    """(model, symbol vocabulary) of a relation-model checkpoint written by
    :func:`whiteboard_app.recognition.training.structure.train_structure`. Raises FileNotFoundError
    when *path* is missing and ValueError when it is not such a checkpoint."""
    import torch

    from whiteboard_app.recognition.mathnote_compat import load_subset_model

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no relation model at {path}")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or not {"model_state_dict", "symbol_vocab", "config"} <= set(ck):
        raise ValueError(
            f"{path} is not a relation-model checkpoint (model_state_dict, symbol_vocab, config)"
        )
    return load_subset_model(ck, device=torch.device("cpu")), dict(ck["symbol_vocab"])


def load_refiner(path: str | Path):
    """(refiner model, symbol vocabulary) of an evidence-refiner checkpoint written by
    :func:`whiteboard_app.recognition.training.structure.train_refiner`. Raises FileNotFoundError when
    *path* is missing and ValueError when it is not such a checkpoint."""
    import torch

    from whiteboard_app.recognition.mathnote_compat import evidence_gnn

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no evidence refiner at {path}")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or not {"model_state_dict", "symbol_vocab", "config"} <= set(ck):
        raise ValueError(
            f"{path} is not an evidence-refiner checkpoint (model_state_dict, symbol_vocab, config)"
        )
    return evidence_gnn(dict(ck["config"]), ck["model_state_dict"]), dict(ck["symbol_vocab"])


def install_relation_model(parser, weights_dir: str | Path) -> bool:
    """Give mathnote-ocr's layout *parser* (``MathOCR().tree_parser``) the relation model of
    ``weights_dir/structure.pth`` when that file exists, and with it the evidence refiner of
    ``weights_dir/structure_gnn.pth`` when that exists too and the parser has a refiner (``gnn_model``;
    the parser's tree search then becomes :data:`REFINED_TREE_STRATEGY`), and the parser's vocabulary
    the :data:`PARSER_ALIASES`; returns whether it installed the relation model. The parser's own (bundled) models stay when the
    files are missing (a refiner is never installed without its relation model: it learnt that model's
    evidence). Raises ValueError for a file that is not such a model, or one whose vocabulary differs
    from the parser's (its symbol ids would be misread)."""
    path = Path(weights_dir) / STRUCTURE_FILE
    if not path.exists():
        return False
    model, vocab = load_relation_model(path)
    if with_aliases(vocab) != with_aliases(dict(parser.symbol_vocab)):
        raise ValueError(f"{path}: symbol vocabulary differs from the layout parser's")
    refiner_path = Path(weights_dir) / REFINER_FILE
    refiner = None
    if refiner_path.exists() and getattr(parser, "gnn_model", None) is not None:
        refiner, rvocab = load_refiner(refiner_path)
        if rvocab != vocab:
            raise ValueError(f"{refiner_path}: symbol vocabulary differs from the layout parser's")
    parser.subset_model = model
    if refiner is not None:
        parser.gnn_model = refiner
        parser.tree_strategy = REFINED_TREE_STRATEGY
    parser.symbol_vocab = ParserVocab(with_aliases(vocab))
    return True


def with_aliases(vocab: dict[str, int], aliases: dict[str, str] | None = None) -> dict[str, int]:
    """*vocab* (symbol name -> id) with each name of *aliases* (default :data:`PARSER_ALIASES`) that it
    lacks given the id of its alias (when *vocab* has the alias). A new dict; *vocab* is not changed."""
    out = dict(vocab)
    for name, alias in (PARSER_ALIASES if aliases is None else aliases).items():
        if name not in out and alias in out:
            out[name] = out[alias]
    return out
