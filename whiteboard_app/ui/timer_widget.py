"""The cold-run timer beside the board: elapsed time against the card's target, the current step's split,
a freeze marker (no ink for more than 8 s), the splits so far, and the end-of-run summary.

All timing is computed by :class:`whiteboard_app.sessions.session.Session` (pure, clock-driven: splits,
freezes, the freeze going on); this widget only displays it, refreshing every ``TICK_MS``.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from whiteboard_app.sessions import wording
from whiteboard_app.sessions.board import Freeze, Split

#: Refresh period of the display, ms.
TICK_MS = 250
#: Verdicts in the words the step panels use.
VERDICT_WORDS = dict(wording.HEADLINES)  # the one source of verdict words (sessions.wording)
#: What a freeze is, in the window's words (the tooltips and the summary).
FREEZE_WORDS = (
    "A freeze: more than 8 s at the board without writing; reading a verdict or a hint (4 s), "
    "typing and dialogs do not count. * after a step's time marks a step with a freeze."
)
#: How many of the latest splits the header shows (all of them are in its tooltip).
SPLITS_SHOWN = 5


def format_ms(ms: float) -> str:
    """``m:ss`` for a duration in ms (negative durations get a leading minus)."""
    sign = "-" if ms < 0 else ""
    sec = int(abs(ms) // 1000)
    return f"{sign}{sec // 60}:{sec % 60:02d}"


def summary_text(
    total_ms: float,
    target_s: float | None,
    splits: Sequence[Split],
    freezes: Sequence[Freeze],
    verdicts: Sequence[str | None] = (),
    complete: bool | None = None,
) -> str:
    """The end-of-run summary as plain text lines: total against target, one line per step with its
    split, verdict and freezes, then the number of freezes. ``verdicts[i]`` is step i's verdict word or
    None. Splits and freezes are the Session's (ms). ``complete`` False (the run ended before the
    derivation was complete): a time below the target is not called "under" it, since nothing was done
    in that time (issue 16: an abandoned one-step run was "4:13 under"); over the target is still said."""
    if target_s:
        # in whole shown seconds, so that the time and the difference add up to the target as read
        # (1:18 and 3:42 under 5:00, not 3:41 from the unrounded 78.6 s)
        over = (total_ms // 1000.0) * 1000.0 - target_s * 1000.0
        if over <= 0 and complete is False:
            head = (
                f"Time {format_ms(total_ms)}, target {format_ms(target_s * 1000.0)}"
                " (not compared: the derivation was not complete)"
            )
        else:
            head = (
                f"Time {format_ms(total_ms)} against a target of {format_ms(target_s * 1000.0)}"
                f" ({format_ms(abs(over))} {'over' if over > 0 else 'under'})"
            )
    else:
        head = f"Time {format_ms(total_ms)}"
    lines = [head]
    by_step = {s.step: s for s in splits}
    n = max([len(verdicts)] + [s.step + 1 for s in splits])
    for i in range(n):
        split = format_ms(by_step[i].ms) if i in by_step else "-"
        word = (verdicts[i] if i < len(verdicts) else None) or "no verdict"
        word = VERDICT_WORDS.get(word, word.replace("_", " "))
        fr = [f for f in freezes if f.step == i]
        mark = f"  froze {', '.join(format_ms(f.ms) for f in fr)}" if fr else ""
        lines.append(f"Step {i + 1}: {split}  {word}{mark}")
    end = [f for f in freezes if f.step is None]
    if end:
        lines.append(f"Before Done: froze {', '.join(format_ms(f.ms) for f in end)}")
    lines.append(f"{len(freezes)} freeze(s) longer than 8 s" if freezes else "No freezes")
    if freezes:
        lines.append(FREEZE_WORDS)
    return "\n".join(lines)


class TimerWidget(QWidget):
    """Displays a Session's clock: "elapsed / target", the current step's split, a live freeze marker
    and the splits so far (``*`` marks a step with a freeze)."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._target_s: float | None = None
        self._freezes_shown = True
        self.clock_label = QLabel()
        self.clock_label.setObjectName("runClock")
        self.split_label = QLabel()
        self.freeze_label = QLabel()
        self.freeze_label.setStyleSheet(
            "color: white; background: #b3261e; border-radius: 4px; padding: 1px 6px;"
        )
        # the interviewer's prompt while the run stalls (sessions/prompts.py); set ``stall_prompt`` to a
        # callable (step, freeze_ms) -> text or None
        self.stall_prompt = None
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("stallPrompt")
        self.prompt_label.setStyleSheet("color: #0b57d0; font-style: italic;")
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # its line is kept while hidden: a prompt appearing must not move the board and the panel
        # under a pen or a finger about to tap
        policy.setRetainSizeWhenHidden(True)
        self.prompt_label.setSizePolicy(policy)
        self.prompt_label.setVisible(False)
        self.splits_label = QLabel()
        self.splits_label.setStyleSheet("color: #555;")
        self.splits_label.setToolTip("split per step; * marks a freeze (no ink for more than 8 s)")
        # takes the room left in the header and never widens the window (the tooltip has every split)
        self.splits_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        outer = QVBoxLayout(self)  # the header row, and under it the stall prompt when there is one
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        layout = QHBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(layout)
        outer.addWidget(self.prompt_label)
        for w in (self.clock_label, self.split_label, self.freeze_label):
            layout.addWidget(w)
        layout.addWidget(self.splits_label, 1)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.refresh)
        self._tick.start()
        self.refresh()

    def set_session(self, session) -> None:
        """Display another Session (a new or resumed run)."""
        self.session = session
        self.refresh()

    def set_target_s(self, target_s: float | None) -> None:
        """Show the run against ``target_s`` seconds from now on (a changed setting); None: the session's."""
        self._target_s = float(target_s) if target_s else None
        self.refresh()

    def _fitting(self, texts: list[str]) -> str:
        """The latest of ``texts`` (at most SPLITS_SHOWN) that fit the splits label's width, "…" first when
        some are left out; "" when not even one fits."""
        width = self.splits_label.width() if self.splits_label.isVisible() else 10_000
        fm = self.splits_label.fontMetrics()
        shown = texts[-SPLITS_SHOWN:]
        while shown:
            text = ("\u2026  " if len(shown) < len(texts) else "") + "  ".join(shown)
            if fm.horizontalAdvance(text) <= width:
                return text
            shown = shown[1:]
        return ""

    def _elided(self, text: str) -> str:
        """``text`` cut with "…" to the prompt label's width (px) once it is on screen: a long prompt
        keeps its one line instead of running off the header's edge (the tooltip has all of it)."""
        label = self.prompt_label
        if not text or not label.isVisible() or label.width() <= 0:
            return text
        return label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, label.width())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.refresh()

    def set_freezes_shown(self, on: bool) -> None:
        """Show freezes (the live marker, ``*`` on splits); off in keyboard-only practice, where there
        is no ink whose absence would be a freeze."""
        self._freezes_shown = bool(on)
        self.refresh()

    def target_s(self) -> float | None:
        """The target shown, s: the one set with ``set_target_s``, else the session's."""
        if self._target_s is not None:
            return self._target_s
        return self.session.target_s if self.session is not None else None

    def refresh(self) -> None:
        """Show the session's current timing (called every tick, and by tests)."""
        s = self.session
        if s is None:
            for w in (self.clock_label, self.split_label, self.splits_label):
                w.setText("")
            self.freeze_label.setVisible(False)
            return
        elapsed = s.elapsed_ms()
        target_ms = (self.target_s() or 0) * 1000.0
        over = bool(target_ms) and elapsed > target_ms
        colour = "#b3261e" if over else "#1a1a1a"
        self.clock_label.setText(
            f"{format_ms(elapsed)} / {format_ms(target_ms)}" if target_ms else format_ms(elapsed)
        )
        self.clock_label.setStyleSheet(f"font-size: 18px; font-weight: bold; color: {colour};")
        splits = s.splits()
        closed = [sp for sp in splits if sp.step < s.current_step]
        if s.finished:
            self.split_label.setText("run over")
        else:
            live = next((sp for sp in splits if sp.step == s.current_step), None)
            since = closed[-1].at_ms if closed else 0.0
            frozen_steps = {f.step for f in s.freezes()} if self._freezes_shown else set()
            froze = "*" if s.current_step in frozen_steps else ""
            self.split_label.setText(
                f"step {s.current_step + 1}: {format_ms(live.ms if live else elapsed - since)}{froze}"
            )
        freeze = s.current_freeze_ms() if self._freezes_shown else None
        self.freeze_label.setText(f"frozen {format_ms(freeze)}" if freeze else "")
        self.freeze_label.setVisible(bool(freeze))
        prompt = (
            self.stall_prompt(s.current_step, freeze)
            if (self.stall_prompt and freeze and not s.finished)
            else None
        )
        full = f"Interviewer: \u201c{prompt}\u201d" if prompt else ""
        self.prompt_label.setToolTip(prompt or "")
        if self.prompt_label.isHidden() == bool(
            prompt
        ):  # shown or hidden now: lay out before fitting the splits
            self.prompt_label.setVisible(bool(prompt))
            self.layout().activate()
        self.prompt_label.setText(self._elided(full))
        frozen_steps = {f.step for f in s.freezes()} if self._freezes_shown else set()
        shown = splits if s.finished else closed
        texts = [f"{sp.step + 1}: {format_ms(sp.ms)}{'*' if sp.step in frozen_steps else ''}" for sp in shown]
        # the latest splits that fit, so the header never widens the window; all of them in the tooltip
        self.splits_label.setText(self._fitting(texts))
        self.splits_label.setToolTip("splits: " + ("  ".join(texts) or "none yet") + "\n" + FREEZE_WORDS)
        self.freeze_label.setToolTip(FREEZE_WORDS)
        self.split_label.setToolTip(FREEZE_WORDS)

    @property
    def frozen_shown(self) -> bool:
        """True while the freeze marker is shown (tests)."""
        return not self.freeze_label.isHidden()
