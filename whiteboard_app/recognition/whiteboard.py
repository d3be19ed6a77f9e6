"""The "whiteboard" engine as the app builds it: the bundled recogniser (recognition/trained.py) given the
card-context verifier (recognition/form_match.py) as its hook.

The engine does not import the verifier (the verifier's typesetting uses the engine's vocabulary: they
would import each other, issue 13); this module, the registry's target for the engine, joins them.
"""

from __future__ import annotations

from whiteboard_app.recognition.trained import TrainedRecognizer

__all__ = ["create"]


def create(*, verify: bool = True, **options) -> TrainedRecognizer:
    """A :class:`TrainedRecognizer` (``options``: its constructor's, e.g. ``weights_dir``, ``top_k``,
    ``threads``) with the card-context verifier as its hook; ``verify=False``: none (the engine then
    ignores a context). Cheap: nothing loads until the first reading (or ``load()``)."""
    from whiteboard_app.recognition.form_match import CardVerifier

    options.setdefault("verifier", CardVerifier() if verify else None)
    return TrainedRecognizer(**options)
