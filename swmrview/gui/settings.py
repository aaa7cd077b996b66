"""What the window remembers between runs (QSettings): geometry, colormap, recent files."""

from __future__ import annotations

from PySide6.QtCore import QSettings

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
