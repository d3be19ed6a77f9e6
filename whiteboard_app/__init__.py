"""whiteboard_app: practise the maths derivations of ML interviews on a whiteboard.

The core (ink, decks, recognition, maths, sessions, pipeline) knows nothing of Qt; ``whiteboard_app.ui``
is the only package that imports PySide6.
"""

__version__ = "0.1.0"
