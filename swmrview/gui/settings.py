"""What the window remembers between runs (QSettings): geometry, view settings, recent files."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings

from swmrview.model.view_settings import SettingsFileError, ViewSettings

logger = logging.getLogger(__name__)

MAX_RECENT = 10


class Settings:
    """A thin typed wrapper over ``QSettings("swmrview", "swmrview")``."""

    def __init__(self) -> None:
        self.qsettings = QSettings("swmrview", "swmrview")

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.qsettings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def remember(self, path: str) -> None:
        """Put ``path`` first in the recent files."""
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.qsettings.setValue("recent", recent[:MAX_RECENT])

    def colormap(self, default: str = "viridis") -> str:
        """The colormap chosen last time."""
        return str(self.qsettings.value("colormap", default))

    def set_colormap(self, name: str) -> None:
        """Remember the colormap."""
        self.qsettings.setValue("colormap", name)

    def geometry(self):
        """Saved window geometry (QByteArray) or None."""
        return self.qsettings.value("geometry")

    def set_geometry(self, geometry) -> None:
        """Remember the window geometry."""
        self.qsettings.setValue("geometry", geometry)

    def window_state(self):
        """Saved dock layout (QByteArray of QMainWindow.saveState) or None."""
        return self.qsettings.value("window_state")

    def set_window_state(self, state) -> None:
        """Remember the dock layout."""
        self.qsettings.setValue("window_state", state)

    def view(self) -> ViewSettings:
        """The view settings (channels, colormap, ...) of last time."""
        text = self.qsettings.value("view")
        if not text:
            return ViewSettings(colormap=self.colormap())
        try:
            return ViewSettings.from_json(str(text))
        except SettingsFileError as exc:
            logger.warning("saved view settings not used: %s", exc)
            return ViewSettings(colormap=self.colormap())

    def set_view(self, view: ViewSettings) -> None:
        """Remember the view settings."""
        self.qsettings.setValue("view", view.to_json())
