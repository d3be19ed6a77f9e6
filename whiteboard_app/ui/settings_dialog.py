"""Settings (QSettings) and their dialog: recogniser engine, pressure curve, writing pause, time
targets, data folder.

``AppSettings`` is the typed view over QSettings that the application reads; ``SettingsDialog`` edits
one. Keys and defaults are in ``DEFAULTS``; a value that cannot be read falls back to its default.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from whiteboard_app.paths import ENV_VAR

ORGANISATION, APPLICATION = "whiteboard-app", "whiteboard-app"

#: key -> default. pause_ms: writing pause before a step is read (issue 4: ~600 ms); targets in s
#: (300 cold, 180 once practised: docs/deck-authoring.md); pressure_gamma: width = base * pressure^gamma
#: (1 linear, < 1 soft pen, > 1 firm pen).
DEFAULTS: dict[str, object] = {
    "recognizer/engine": "whiteboard",
    "input/pressure_gamma": 1.0,
    "input/stylus_only": True,
    "practice/pause_ms": 600,
    "targets/override": False,
    "targets/cold_s": 300,
    "targets/practised_s": 180,
    "data/folder": "",
}


def open_settings(path: str | Path | None = None) -> QSettings:
    """The application's QSettings (native store), or an INI file at ``path`` (tests, screenshots)."""
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


class AppSettings:
    """Typed access to the settings; every getter returns the default when the stored value is bad."""

    def __init__(self, qsettings: QSettings) -> None:
        self.q = qsettings

    def _get(self, key: str, kind: type):
        default = DEFAULTS[key]
        raw = self.q.value(key, default)
        try:
            if kind is bool:
                return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            return kind(raw)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        """Store ``value`` under ``key`` (one of DEFAULTS); KeyError for an unknown key."""
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        self.q.setValue(key, value)

    @property
    def engine(self) -> str:
        """Recogniser engine name (registry)."""
        return self._get("recognizer/engine", str) or str(DEFAULTS["recognizer/engine"])

    @property
    def pressure_gamma(self) -> float:
        """Pressure curve exponent, 0.25..4."""
        return min(4.0, max(0.25, self._get("input/pressure_gamma", float)))

    @property
    def stylus_only(self) -> bool:
        """Palm rejection once a stylus is seen."""
        return self._get("input/stylus_only", bool)

    @property
    def pause_ms(self) -> int:
        """Writing pause before a step is read, ms (100..5000)."""
        return min(5000, max(100, self._get("practice/pause_ms", int)))

    @property
    def override_targets(self) -> bool:
        """Use the settings' targets instead of each card's."""
        return self._get("targets/override", bool)

    @property
    def cold_s(self) -> int:
        """Cold-run target, s."""
        return max(10, self._get("targets/cold_s", int))

    @property
    def practised_s(self) -> int:
        """Target once practised, s."""
        return max(10, self._get("targets/practised_s", int))

    @property
    def data_folder(self) -> str:
        """Data folder chosen by the user ("" for the default)."""
        return self._get("data/folder", str)

    def target_s(self, card, practised: bool) -> float:
        """The time target for a run on ``card``: the card's own (cold or practised) unless the user
        overrides targets in the settings."""
        if self.override_targets:
            return float(self.practised_s if practised else self.cold_s)
        return float(card.targets.practised_s if practised else card.targets.cold_s)


class SettingsDialog(QDialog):
    """Edits ``settings``; ``engines`` are (name, available, reason) rows (registry.available_engines)."""

    def __init__(
        self,
        settings: AppSettings,
        engines: list[tuple[str, bool, str]] = (),
        parent: QWidget | None = None,
        data_dir: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.engine = QComboBox()
        names = [e[0] for e in engines] or [settings.engine]
        for name, ok, reason in engines or [(settings.engine, True, "")]:
            self.engine.addItem(name if ok else f"{name} (unavailable: {reason})", name)
        self.engine.setCurrentIndex(max(0, names.index(settings.engine) if settings.engine in names else 0))
        self.gamma = QDoubleSpinBox()
        self.gamma.setRange(0.25, 4.0)
        self.gamma.setSingleStep(0.05)
        self.gamma.setValue(settings.pressure_gamma)
        self.gamma.setToolTip("Stroke width = base x pressure^gamma: below 1 a soft pen, above 1 a firm one")
        self.stylus_only = QCheckBox("Only the stylus writes once a tablet is seen (palm rejection)")
        self.stylus_only.setChecked(settings.stylus_only)
        self.pause = QSpinBox()
        self.pause.setRange(100, 5000)
        self.pause.setSingleStep(50)
        self.pause.setSuffix(" ms")
        self.pause.setValue(settings.pause_ms)
        self.override = QCheckBox("Use these targets instead of each card's")
        self.override.setChecked(settings.override_targets)
        self.cold = QSpinBox()
        self.cold.setRange(10, 3600)
        self.cold.setSuffix(" s")
        self.cold.setValue(settings.cold_s)
        self.practised = QSpinBox()
        self.practised.setRange(10, 3600)
        self.practised.setSuffix(" s")
        self.practised.setValue(settings.practised_s)
        self.folder = QLineEdit(settings.data_folder)
        self.folder.setPlaceholderText(
            f"default: {data_dir}" if data_dir else "default (the platform's user data folder)"
        )
        browse = QPushButton("Choose\u2026")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        # the folder in use now, and why (WHITEBOARD_DATA_DIR wins over the setting: whiteboard_app.paths)
        env = os.environ.get(ENV_VAR, "").strip()
        if data_dir:
            why = f" (set by {ENV_VAR}, which wins over this setting)" if env else ""
            self.folder_in_use = QLabel(f"In use now: {data_dir}{why}")
        else:
            self.folder_in_use = QLabel("")
        self.folder_in_use.setObjectName("dataFolderInUse")
        self.folder_in_use.setWordWrap(True)
        self.folder_in_use.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_in_use.setStyleSheet("color: #555;")

        form = QFormLayout(self)
        form.addRow("Recogniser", self.engine)
        form.addRow("Pressure curve (gamma)", self.gamma)
        form.addRow("", self.stylus_only)
        form.addRow("Read a step after a pause of", self.pause)
        form.addRow("", self.override)
        form.addRow("Cold-run target", self.cold)
        form.addRow("Practised target", self.practised)
        form.addRow("Data folder", folder_row)
        form.addRow("", self.folder_in_use)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Data folder", self.folder.text())
        if path:
            self.folder.setText(path)

    def apply(self) -> None:
        """Write the dialog's values into the settings."""
        s = self.settings
        s.set("recognizer/engine", self.engine.currentData())
        s.set("input/pressure_gamma", float(self.gamma.value()))
        s.set("input/stylus_only", self.stylus_only.isChecked())
        s.set("practice/pause_ms", int(self.pause.value()))
        s.set("targets/override", self.override.isChecked())
        s.set("targets/cold_s", int(self.cold.value()))
        s.set("targets/practised_s", int(self.practised.value()))
        s.set("data/folder", self.folder.text().strip())
        s.q.sync()

    def accept(self) -> None:
        """Save the values and close."""
        self.apply()
        super().accept()
