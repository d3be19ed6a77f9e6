"""The recogniser's symbol vocabulary: class names <-> LaTeX (a leaf module: no other recognition module).

Class names are mathnote-ocr's (the classifier's labels: ``x``, ``X_cap``, ``sigma``, ``frac_bar``,
``sin``); the CROHME label table and the function-name classes are
:data:`whiteboard_app.recognition.training.data.CROHME_TO_NAME` and ``FUNCTION_CLASSES``. A writer's
calibration label the classifier has no class for (``\\eta``, ``\\hat``) is its own name and LaTeX.
Used by the engine (recognition/trained.py), the accent merge (accents.py) and the verifier's typesetting
(typeset.py), none of which needs the others for it.
"""

from __future__ import annotations

import re

__all__ = ["function_words", "latex_to_name", "name_to_latex"]

_FUNCTION_WORD = re.compile(r"(?<![\\a-zA-Z])(sin|cos|tan|log|lim)(?![a-zA-Z])")


def name_to_latex(name: str) -> str:
    """LaTeX of a class name (mathnote-ocr's names: ``X_cap`` -> ``X``, ``sin`` -> ``\\sin``; a writer
    label is its own LaTeX). Needs mathnote-ocr (its name table, via recognition/mathnote_compat.py)."""
    from whiteboard_app.recognition.mathnote_compat import sym_to_latex

    return _FUNCTION_WORD.sub(r"\\\1", sym_to_latex(name))


def function_words(latex: str) -> str:
    """The layout parser writes a function-name symbol as a bare word (``sin x``): make it a command
    (``\\sin x``). Words already commands are left alone."""
    return _FUNCTION_WORD.sub(r"\\\1", latex)


def latex_to_name(label: str) -> str:
    """Class name for a calibration label given in LaTeX (``X`` -> ``X_cap``, ``\\partial`` -> ``partial``);
    a label the classifier has no class for stays as it is (its own LaTeX)."""
    from whiteboard_app.recognition.training.data import CROHME_TO_NAME, FUNCTION_CLASSES

    return FUNCTION_CLASSES.get(label) or CROHME_TO_NAME.get(label, label)
