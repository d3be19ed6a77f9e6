"""One step's panel beside the board: the reading rendered as maths, the verdict in words, the n-best
list to pick from, an editable LaTeX field (a correction re-runs only parse + check), and the hint and
reveal-reference buttons.

The panel displays a :class:`~whiteboard_app.ui.practice_model.PracticeModel` step and never changes
the model itself: user actions are emitted as signals (``reading_edited``, ``candidate_picked``,
``hint_requested``, ``reveal_requested``, ``reread_requested``) for the practice view to turn into commands.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.sessions import wording
from whiteboard_app.ui.chips import CandidateChips
from whiteboard_app.ui.mathtext import render_pixmap
from whiteboard_app.ui.practice_model import CHECKING, DONE, EMPTY, READING, WAITING, PracticeModel, StepState
from whiteboard_app.ui.prose import prose_html

# verdict -> (colour of the chip, symbol)
VERDICT_STYLE = {
    "correct": ("#1b7f3b", "\u2713"),
    "wrong": ("#b3261e", "\u2717"),
    "unparsed": ("#8a6d00", "?"),
    "cannot_check": ("#3c5a99", "\u2248"),
}

#: A step that defines a name of the user's own and states no reference step (wording.DEFINITION):
#: neutral, not the green of progress
DEFINITION_STYLE = ("#4a5a6a", "\u2254")


def chip_style(kind: str | None, headline: str) -> tuple[str, str]:
    """(colour, symbol) of a verdict ``kind`` shown with ``headline`` (:func:`verdict_words`): the
    neutral DEFINITION_STYLE for a definition, else VERDICT_STYLE's, grey and no symbol for no verdict."""
    if kind == "correct" and headline == wording.DEFINITION:
        return DEFINITION_STYLE
    return VERDICT_STYLE.get(kind or "", ("#666666", ""))


def _short(message: str | None, limit: int = 200) -> str:
    """The first line of ``message``, at most ``limit`` characters (a checker's message may carry a
    whole multi-line exception text)."""
    return wording.first_line(message, limit)


def verdict_words(state: StepState, reference_latex: str | None = None) -> tuple[str, str]:
    """(headline, detail) in words for a step's state, e.g. ("correct", "matches reference step 3").

    The words come from :mod:`whiteboard_app.sessions.wording` (shared with the review and the export).
    headline is e.g. "correct", "wrong", "could not read", "unknown name ‘x’", "cannot check" or a
    status while the verdict is unknown ("reading...", "checking...", "waiting for a pause", "").
    Raises nothing.
    """
    if state.error:
        head, _, rest = state.error.partition(": ")
        if head in ("could not read", "cannot check"):
            return head, _short(wording.plain_reason(rest) or rest)
        return "could not read", _short(state.error)
    if state.status == READING:
        return "reading\u2026", ""
    if state.status == CHECKING:
        return "checking\u2026", ""
    v = state.verdict
    if v is None:
        return ("waiting for a pause" if state.status == WAITING else ""), ""
    w = wording.describe_verdict(v, n_candidates=len(state.candidates), latex=state.latex or "")
    return w.headline, _short(w.detail, 240)


class MathLabel(QLabel):
    """A label showing rendered maths that never widens its column: a pixmap wider than the label is
    scaled down to its width (aspect kept); the full-size one is kept for when the label grows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_maths(self, pixmap: QPixmap | None) -> None:
        """Show ``pixmap`` (None: back to text); see the class doc."""
        self._full = pixmap
        self._fit()

    def full_pixmap(self) -> QPixmap | None:
        """The pixmap at its rendered size (tests)."""
        return self._full

    def _fit(self) -> None:
        pix = self._full
        if pix is None:
            return
        w = max(1, self.width())
        if pix.width() > w:
            pix = pix.scaledToWidth(w, Qt.TransformationMode.SmoothTransformation)
        super().setPixmap(pix)
        self.setMinimumHeight(min(pix.height(), self._full.height()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._full is not None and (self.pixmap().width() != min(self._full.width(), self.width())):
            self._fit()

    def setText(self, text: str) -> None:
        self._full = None
        super().setText(text)


class StepPanel(QFrame):
    """The panel of step ``index`` of ``model``; refreshes itself on ``model.step_changed(index)``."""

    reading_edited = Signal(int, str)
    next_requested = Signal(int)  # Enter on a step whose box holds its checked reading: go on writing
    candidate_picked = Signal(int, str)
    hint_requested = Signal(int)
    reveal_requested = Signal(int)
    reread_requested = Signal(int)
    activated = Signal(int)

    def __init__(self, model: PracticeModel, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.index = model, index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("StepPanel")
        self._active = False
        self.set_active(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        self.title = QLabel(f"<b>Step {index + 1}</b>")
        self.source = QLabel()
        self.source.setObjectName("readingSource")
        self.source.setStyleSheet("color: #666;")
        self.chip = QLabel()
        self.chip.setObjectName("verdictChip")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.source)
        head.addStretch(1)
        head.addWidget(self.chip)

        self.rendered = MathLabel()
        self.rendered.setObjectName("reading")
        self.rendered.setMinimumHeight(34)
        self.rendered.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.detail.setObjectName("verdictDetail")
        # the run's word on this step ("correct, but unsupported: show the chain rule step ..."),
        # set by the practice view from sessions/run.py
        self.run_note = QLabel()
        self.run_note.setObjectName("runNote")
        self.run_note.setWordWrap(True)
        self.run_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.run_note.setStyleSheet("color: #8a6d00; font-weight: bold;")
        self.run_note.setVisible(False)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.reference_caption = QLabel()
        self.reference_caption.setObjectName("referenceCaption")
        self.reference_caption.setStyleSheet("color: #3c5a99;")
        self.reference_caption.setWordWrap(True)
        self.reference = MathLabel()
        self.reference.setObjectName("reference")
        self.reference.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.hint.setObjectName("hint")

        self.candidates_caption = QLabel("Readings (tap to use):")
        self.candidates_caption.setObjectName("candidatesCaption")
        self.candidates_caption.setStyleSheet("color: #555;")
        self.candidates = CandidateChips()  # the n-best list as rendered one-tap chips, no raw scores
        self.candidates.setToolTip("Other readings of this step (n-best): tap one to use it")
        self.candidates.activated.connect(self._picked)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("LaTeX of this step (type or correct, Enter to check)")
        self.edit.returnPressed.connect(self._edited)
        self.hint_button = QPushButton("Hint")
        self.hint_button.clicked.connect(lambda: self.hint_requested.emit(self.index))
        self.reveal_button = QPushButton("Reveal reference")
        self.reveal_button.clicked.connect(lambda: self.reveal_requested.emit(self.index))
        self.reread_button = QPushButton("Read again")
        self.reread_button.setToolTip(
            "Read this step's ink again (e.g. after the recogniser ran out of time)"
        )
        self.reread_button.clicked.connect(lambda: self.reread_requested.emit(self.index))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reread_button)
        buttons.addWidget(self.hint_button)
        buttons.addWidget(self.reveal_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.rendered)
        layout.addWidget(self.detail)
        layout.addWidget(self.run_note)
        layout.addWidget(self.reference_caption)
        layout.addWidget(self.reference)
        layout.addWidget(self.hint)
        layout.addWidget(self.candidates_caption)
        layout.addWidget(self.candidates)
        layout.addWidget(self.edit)
        layout.addLayout(buttons)

        model.step_changed.connect(self._on_step_changed)
        self.refresh()

    def set_active(self, on: bool) -> None:
        """Frame the panel of the step being written on the board (the board's active step)."""
        self._active = bool(on)
        border = "2px solid #4a7bd0" if on else "1px solid #d0d0d0"
        self.setStyleSheet(f"#StepPanel {{ background: white; border: {border}; border-radius: 3px; }}")

    def set_run_note(self, text: str | None) -> None:
        """Show the run's note on this step (None or "" hides it)."""
        self.run_note.setText(text or "")
        self.run_note.setVisible(bool(text))

    @property
    def active(self) -> bool:
        """True while the panel is framed as the board's active step."""
        return self._active

    def mousePressEvent(self, event) -> None:
        self.activated.emit(self.index)  # a click on the panel shows its step on the board
        super().mousePressEvent(event)

    # --- model -> widgets ----------------------------------------------------------------------------
    def _on_step_changed(self, i: int) -> None:
        if i == self.index:
            self.refresh()

    def refresh(self) -> None:
        """Show the model's current state of this step."""
        if self.index >= len(self.model):
            return
        state = self.model.step(self.index)
        ref = self.model.reference_for(self.index)
        empty = (
            ""
            if state.status == EMPTY
            else ("(no reading)" if state.status == DONE else "(nothing read yet)")
        )
        self._show_maths(self.rendered, state.latex, empty=empty)

        headline, detail = verdict_words(state)
        kind = state.verdict.verdict if (state.verdict is not None and not state.error) else None
        if state.error:
            kind = "unparsed"
        colour, symbol = chip_style(kind, headline)
        self.chip.setText(f"{symbol} {headline}".strip())
        self.chip.setStyleSheet(
            f"color: white; background: {colour}; border-radius: 4px; padding: 1px 6px;" if headline else ""
        )
        self.chip.setVisible(bool(headline))
        self.detail.setText(prose_html(detail))  # a mistake's explanation carries maths
        self.detail.setVisible(bool(detail))
        self.detail.setStyleSheet(f"color: {colour};")

        show_ref = ref is not None and (state.reference_shown or kind == "cannot_check")
        if show_ref:
            self._show_maths(self.reference, ref.latex, empty="")
            self.reference.setToolTip(f"reference: {ref.latex}  ({ref.rule})")
            number = list(self.model.card.steps).index(ref) + 1
            self.reference_caption.setText(
                f"Reference step {number}" + (f" ({ref.rule})" if ref.rule else "") + ":"
            )
        self.reference.setVisible(show_ref)
        self.reference_caption.setVisible(show_ref)
        source = (
            {"typed": "\u00b7 typed", "pick": "\u00b7 picked"}.get(state.source, "") if state.latex else ""
        )
        if source and not state.ink.is_empty and state.change == "reading":
            source += " (reading fixed)"
        if state.change_words:  # the maths was changed: the first verdict stays on the record
            source = f"\u00b7 {state.change_words}"
        self.source.setText(source)

        all_hints = (
            self.model.hints_for(self.index)
            if hasattr(self.model, "hints_for")
            else list(getattr(self.model.card, "hints", []))
        )
        hints = all_hints[: state.hints_shown]
        self.hint.setText("<br>".join(f"<b>Hint {k + 1}:</b> {prose_html(h)}" for k, h in enumerate(hints)))
        self.hint.setVisible(bool(hints))
        self.hint_button.setEnabled(state.hints_shown < len(all_hints))
        self.reveal_button.setEnabled(ref is not None and not state.reference_shown)

        unread = (
            state.status not in (READING, CHECKING)
            and not state.ink.is_empty
            and (bool(state.error) or (state.latex is None and kind == "unparsed"))
        )
        self.reread_button.setVisible(unread)
        several = len({c for c, _ in state.candidates}) > 1
        self.candidates.set_candidates([c for c, _ in state.candidates] if several else [], state.latex)
        self.candidates.setVisible(several)
        self.candidates_caption.setVisible(several)

        if not self.edit.hasFocus() or self.edit.text() == "":
            self.edit.setText(state.latex or "")
            self.edit.setCursorPosition(0)

    def _show_maths(self, label: MathLabel, latex: str | None, empty: str) -> None:
        pix = render_pixmap(latex) if latex else None
        if pix is not None:
            label.set_maths(pix)
            label.setToolTip(latex)
        else:
            label.clear()
            label.setText(latex or empty)

    # --- widgets -> signals --------------------------------------------------------------------------
    def _picked(self, row: int) -> None:
        latex = self.candidates.itemData(row)
        if latex:
            self.candidate_picked.emit(self.index, latex)

    def _edited(self) -> None:
        text = self.edit.text().strip()
        if text and text != (self.model.step(self.index).latex or ""):
            self.reading_edited.emit(self.index, text)
        elif text:
            self.next_requested.emit(self.index)  # nothing changed: Enter means "next step", as on the board
