"""The layout parser's relation model trained on real handwritten layouts (``weights/structure.pth``).

mathnote-ocr's layout parser decides the structure (parent symbol and relation: right neighbour,
superscript, subscript, numerator, denominator, root content, limits) from the scores of a small
relation model (``SubsetTreeModel``) that it learnt from typeset layouts with jittered boxes. The
bundled recogniser replaces that model's weights by the same model fine-tuned on the real layouts of the
training ink (recognition/training/structure.py; command in docs/recogniser.md). Same vocabulary, same
architecture, same geometry features (relative to the median symbol height): the parser's search and
scoring are unchanged, only the relation scores it searches over are learnt from handwriting.

Measured on the training command's writer-disjoint validation layouts (docs/recogniser.md): parent
accuracy and relation accuracy of the subsets the parser scores.

Heavy imports (torch, mathnote-ocr through recognition/mathnote_compat.py) happen inside the functions.
"""

from __future__ import annotations

from pathlib import Path

#: File name of the relation model in a weights folder.
STRUCTURE_FILE = "structure.pth"


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


def install_relation_model(parser, weights_dir: str | Path) -> bool:
    """Give mathnote-ocr's layout *parser* (``MathOCR().tree_parser``) the relation model of
    ``weights_dir/structure.pth`` when that file exists; returns whether it did. The parser's own
    (bundled) model stays when the file is missing. Raises ValueError for a file that is not a relation
    model, or one whose vocabulary differs from the parser's (its symbol ids would be misread)."""
    path = Path(weights_dir) / STRUCTURE_FILE
    if not path.exists():
        return False
    model, vocab = load_relation_model(path)
    if vocab != dict(parser.symbol_vocab):
        raise ValueError(f"{path}: symbol vocabulary differs from the layout parser's")
    parser.subset_model = model
    return True
