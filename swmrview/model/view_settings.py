"""The view settings a user keeps and shares: map channels, colormap, map scale, shown map.

Saved per user by the window (QSettings holds this JSON) and as a small JSON file to share on a
beamline (File > Save view settings..., ``swmrview --settings FILE``). Plain Python: no Qt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any

from swmrview.core.channels import Channel

FORMAT = "swmrview-view-settings"
VERSION = 1


class SettingsFileError(ValueError):
    """A settings file that cannot be read: the message says which and why."""


@dataclass(frozen=True)
class ViewSettings:
    """What the view looks like, apart from the file followed."""

    channels: tuple[Channel, ...] = ()
    colormap: str = "viridis"
    map_scale: str = "linear"
    shown: str = "sum"                      # the map shown: a reduction or a channel's name
    overlay: tuple[str, ...] = field(default=())   # 1-D scans: maps drawn with the shown one

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with a format tag and version)."""
        return {"format": FORMAT, "version": VERSION,
                "channels": [c.to_dict() for c in self.channels], "colormap": self.colormap,
                "map_scale": self.map_scale, "shown": self.shown, "overlay": list(self.overlay)}

    def to_json(self) -> str:
        """Indented JSON, small enough to read and mail."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> "ViewSettings":
        """Inverse of :meth:`to_dict`; SettingsFileError says what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SettingsFileError(f"not a swmrview view settings file (no \"format\": "
                                    f"\"{FORMAT}\")")
        if int(data.get("version", 0)) > VERSION:
            raise SettingsFileError(f"settings version {data.get('version')} is newer than "
                                    f"this swmrview reads ({VERSION})")
        try:
            channels = tuple(Channel.from_dict(c) for c in data.get("channels", ()))
        except (TypeError, ValueError) as exc:
            raise SettingsFileError(f"bad channel in settings: {exc}") from None
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise SettingsFileError("two channels have the same name")
        out = cls(channels=channels)
        for key in ("colormap", "map_scale", "shown"):
            if isinstance(data.get(key), str):
                out = replace(out, **{key: data[key]})
        overlay = data.get("overlay", ())
        if isinstance(overlay, list):
            out = replace(out, overlay=tuple(str(n) for n in overlay))
        return out

    @classmethod
    def from_json(cls, text: str) -> "ViewSettings":
        """Parse JSON text (SettingsFileError if it is not valid settings)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsFileError(f"not JSON: {exc}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> None:
        """Write the settings file (atomically: a half-written file never replaces a good one)."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.to_json() + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ViewSettings":
        """Read a settings file; SettingsFileError (with the path) if it cannot be used."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise SettingsFileError(f"cannot read settings {path}: {exc.strerror}") from None
        try:
            return cls.from_json(text)
        except SettingsFileError as exc:
            raise SettingsFileError(f"{path}: {exc}") from None
