"""A per-class logit prior for the symbol classifier (issue 14: the added classes' prior correction).

The classifier was trained on a class mix that is neither the mix a card step has nor the mix its made
ink of the added classes (∂ ∇ η κ ... K Z) comes in: a per-class additive correction ``b`` of its logits,
``softmax(z + b)``, moves its decision boundaries between look-alike classes without retraining. This is
the logit adjustment of Menon et al., "Long-tail learning via logit adjustment" (ICLR 2021), eq. 7, with
``b`` *fitted* on the training writers' symbols (``training/class_prior.py``) rather than set to the log
ratio of two class priors. None is bundled: the one fitted for the shipped classifier lifted one added
class over the 90 % floor at a cost to real glyphs (docs/benchmarks.md, "added_symbols_prior").

The correction lives beside the weights as ``class_prior.json``::

    {"version": 1, "label_names": [... the classifier's classes, in order ...],
     "bias": [... one float per class ...], "classifier_sha256": "<hex of classifier.pth>", ...}

and is applied once when the engine loads its classifier (:func:`apply_class_prior`: added to the bias of
the classifier's output layer, so every reading, its probabilities and the alternatives see it). A file
whose version, class names or classifier hash do not match the classifier is *not* applied (a warning
names why): a retrained classifier never picks up a stale correction.

Nothing here imports torch at module level.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "PRIOR_FILE",
    "PRIOR_VERSION",
    "ClassPriorError",
    "apply_class_prior",
    "file_sha256",
    "load_class_prior",
    "matching_prior",
    "write_class_prior",
]

#: The correction's file name in a weights folder.
PRIOR_FILE = "class_prior.json"
#: The file format's version; a file of another version is not applied.
PRIOR_VERSION = 1


class ClassPriorError(ValueError):
    """A class-prior file that cannot be used with the classifier (unreadable, other version, other
    classes or another classifier's)."""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the file at *path* (the classifier checkpoint a correction was fitted for).
    Raises OSError when it cannot be read."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_class_prior(
    path: str | Path,
    label_names: Sequence[str],
    bias: Sequence[float],
    *,
    classifier_sha256: str,
    meta: dict[str, Any] | None = None,
) -> None:
    """Write a correction (one logit offset per class of *label_names*, in order) to *path* as JSON.
    *meta* (how it was fitted) is stored under ``"fit"``. Raises ClassPriorError when the lengths differ
    or an offset is not a finite number."""
    names = [str(n) for n in label_names]
    b = [float(x) for x in bias]
    if len(names) != len(b):
        raise ClassPriorError(f"{len(b)} offsets for {len(names)} classes")
    if not all(math.isfinite(x) for x in b):
        raise ClassPriorError("a class offset is not a finite number")
    doc = {
        "version": PRIOR_VERSION,
        "label_names": names,
        "bias": [round(x, 6) for x in b],
        "classifier_sha256": classifier_sha256,
        "fit": meta or {},
    }
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load_class_prior(
    path: str | Path, label_names: Sequence[str], classifier_sha256: str | None = None
) -> list[float]:
    """The per-class logit offsets stored at *path* for a classifier with classes *label_names* (in
    order): a list of ``len(label_names)`` floats. With *classifier_sha256*, the file must have been
    fitted for that classifier file. Raises ClassPriorError when the file is unreadable, of another
    version, for other classes or another classifier, or holds a value that is not a finite number."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClassPriorError(f"{path}: cannot be read ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("version") != PRIOR_VERSION:
        got = doc.get("version") if isinstance(doc, dict) else None
        raise ClassPriorError(f"{path}: version {got!r}, expected {PRIOR_VERSION}")
    names, bias = doc.get("label_names"), doc.get("bias")
    if not isinstance(names, list) or not isinstance(bias, list) or len(names) != len(bias):
        raise ClassPriorError(f"{path}: label_names and bias must be lists of one length")
    if names != list(label_names):
        raise ClassPriorError(
            f"{path}: fitted for {len(names)} classes that are not the classifier's {len(label_names)}"
        )
    if classifier_sha256 is not None and doc.get("classifier_sha256") != classifier_sha256:
        raise ClassPriorError(f"{path}: fitted for another classifier.pth (hash differs)")
    try:
        out = [float(x) for x in bias]
    except (TypeError, ValueError) as exc:
        raise ClassPriorError(f"{path}: a class offset is not a number") from exc
    if not all(math.isfinite(x) for x in out):
        raise ClassPriorError(f"{path}: a class offset is not a finite number")
    return out


def matching_prior(classifier_file: str | Path) -> list[float] | None:
    """The correction stored beside the checkpoint *classifier_file* (``class_prior.json`` in its folder)
    when it was fitted for that very file, else None (no file, or fitted for another classifier: e.g.
    ``grouper_vectors.pth`` beside the shipped classifier). Raises ClassPriorError for a file that is
    unreadable or of another version, and OSError when the checkpoint cannot be read."""
    import torch

    path = Path(classifier_file).with_name(PRIOR_FILE)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClassPriorError(f"{path}: cannot be read ({exc})") from exc
    sha = file_sha256(classifier_file)
    if not isinstance(doc, dict) or doc.get("classifier_sha256") != sha:
        return None
    ck = torch.load(classifier_file, map_location="cpu", weights_only=False)
    return load_class_prior(path, list(ck["label_names"]), sha)


def apply_class_prior(classifier: Any, weights_dir: str | Path, classifier_file: str | Path) -> bool:
    """Add the correction in *weights_dir*/``class_prior.json`` to *classifier*'s output-layer bias (a
    mathnote-ocr ``SymbolClassifier``: ``label_names`` and ``model.fc2``), in place. Returns True when
    applied; False when there is no such file, or (with a warning) when it does not fit this classifier
    (:class:`ClassPriorError`'s reasons; *classifier_file* is the checkpoint whose hash it must name)."""
    path = Path(weights_dir) / PRIOR_FILE
    if not path.exists():
        return False
    try:
        bias = load_class_prior(path, list(classifier.label_names), file_sha256(classifier_file))
    except (ClassPriorError, OSError) as exc:
        warnings.warn(f"class prior not applied: {exc}", RuntimeWarning, stacklevel=2)
        return False
    import torch

    fc = classifier.model.fc2
    with torch.no_grad():
        fc.bias += torch.tensor(bias, dtype=fc.bias.dtype, device=fc.bias.device)
    return True
