"""The view settings a user keeps and shares: map channels, colormap, map scale, shown map.

Saved per user by the window (QSettings holds this JSON) and as a small JSON file to share on a
beamline (File > Save view settings..., ``swmrview --settings FILE``). Plain Python: no Qt.
"""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from swmrview.core.compute.channels import Channel, as_written
from swmrview.core.compute.integrate import Integration
from swmrview.core.compute.reduce import REDUCTIONS

from swmrview.model.channel_fits import channel_fits

FORMAT = "swmrview-view-settings"
VERSION = 1

#: Colormaps the window offers (a settings file naming another is refused).
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "gray", "CET-L1", "CET-R4")
#: Map scales the window offers.
MAP_SCALES = ("linear", "log", "1-99 %")


class SettingsFileError(ValueError):
    """A settings file that cannot be read: the message says which and why."""


class NotSettingsError(SettingsFileError):
    """The file is not a view settings file at all (not UTF-8, not JSON, no format tag, a
    version that is not a number); its message starts "not a swmrview view settings file"."""

    def __init__(self, why: str) -> None:
        super().__init__(f"not a swmrview view settings file: {why}")


class ShownChannelError(ValueError):
    """The settings' shown map cannot be made for this scan (the channel's dataset or
    monitor is not in the file): a headless run refuses rather than export another map."""


@dataclass(frozen=True)
class ViewSettings:
    """What the view looks like, apart from the file followed."""

    channels: tuple[Channel, ...] = ()
    colormap: str = "viridis"
    map_scale: str = "linear"
    shown: str = "sum"                      # the map shown: a reduction or a channel's name
    overlay: tuple[str, ...] = field(default=())   # 1-D scans: maps drawn with the shown one
    xrf_config: str | None = None           # a PyMca .cfg: fit the spectra (core.compute.xrf_fit)
    integration: Integration | None = None  # azimuthal integration (PONI, unit, bins, method)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with a format tag and version)."""
        out = {"format": FORMAT, "version": VERSION,
               "channels": [c.to_dict() for c in self.channels], "colormap": self.colormap,
               "map_scale": self.map_scale, "shown": self.shown, "overlay": list(self.overlay)}
        if self.xrf_config is not None:
            out["xrf_config"] = self.xrf_config
        if self.integration is not None:
            out["integration"] = self.integration.to_dict()
        return out

    def to_json(self) -> str:
        """Indented JSON, small enough to read and mail."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> "ViewSettings":
        """Inverse of :meth:`to_dict`; SettingsFileError says what is wrong, in plain words.

        Every field is checked: a colormap, map scale or shown map this swmrview does not know
        is refused rather than quietly left out.
        """
        if not isinstance(data, dict):
            raise NotSettingsError(f"it holds {as_written(data)}, not an object with "
                                   f"\"format\": \"{FORMAT}\"")
        if data.get("format") != FORMAT:
            raise NotSettingsError(f"no \"format\": \"{FORMAT}\" in it")
        version = data.get("version", VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise NotSettingsError(f"\"version\" must be a whole number from 1, not "
                                   f"{as_written(version)}")
        if version > VERSION:
            raise SettingsFileError(f"settings version {version} is newer than this swmrview "
                                    f"reads ({VERSION})")
        raw = data.get("channels", [])
        if not isinstance(raw, list):
            raise SettingsFileError(f"\"channels\" must be a list of channels, not "
                                    f"{as_written(raw)}")
        try:
            channels = tuple(Channel.from_dict(c) for c in raw)
        except (TypeError, ValueError) as exc:
            raise SettingsFileError(str(exc)) from None
        names = [c.name for c in channels]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SettingsFileError(f"two channels have the same name: {', '.join(twice)}")
        out = cls(channels=channels)
        maps = REDUCTIONS + tuple(names)
        for key, label, known in (("colormap", "colormap", COLORMAPS),
                                  ("map_scale", "map scale", MAP_SCALES),
                                  ("shown", "shown map", maps)):
            if key not in data:
                continue
            value = data[key]
            if not isinstance(value, str) or value not in known:
                what = f"unknown {label}" if isinstance(value, str) \
                    else f"the {label} must be a name, not"
                raise SettingsFileError(f"{what} {as_written(value)} (known: "
                                        f"{', '.join(known)})")
            out = replace(out, **{key: value})
        overlay = data.get("overlay", [])
        if not isinstance(overlay, list):
            raise SettingsFileError(f"\"overlay\" must be a list of map names, not "
                                    f"{as_written(overlay)}")
        out = replace(out, overlay=tuple(str(n) for n in overlay))
        cfg = data.get("xrf_config")
        if cfg is not None and (not isinstance(cfg, str) or not cfg):
            raise SettingsFileError(f"\"xrf_config\" must be the path of a PyMca .cfg file, "
                                    f"not {as_written(cfg)}")
        out = replace(out, xrf_config=cfg)
        if data.get("integration") is not None:
            try:
                out = replace(out, integration=Integration.from_dict(data["integration"]))
            except (TypeError, ValueError) as exc:
                raise SettingsFileError(str(exc)) from None
        return out

    @classmethod
    def from_json(cls, text: str) -> "ViewSettings":
        """Parse JSON text (SettingsFileError if it is not valid settings)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NotSettingsError(f"not JSON ({exc})") from None
        return cls.from_dict(data)

    def shown_problem(self, info: Any, refused: Mapping[str, str] | None = None) -> str | None:
        """Why the shown map cannot be made for the scan ``info`` (a ScanInfo), or None.

        ``refused``: the follower's reasons for channels it could not compute (by name).
        """
        channel = next((c for c in self.channels if c.name == self.shown), None)
        if channel is None:
            return None   # a built-in reduction
        why = channel_fits(channel, info) or (refused or {}).get(channel.name)
        if why is None:
            return None
        return f"the shown channel {channel.name!r} cannot be made for this scan: {why}"

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
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise SettingsFileError(f"cannot read settings {path}: {exc.strerror}") from None
        try:
            out = cls.from_json(_text(raw))
        except NotSettingsError as exc:
            raise SettingsFileError(f"{path} is {exc}") from None
        except SettingsFileError as exc:
            raise SettingsFileError(f"{path}: {exc}") from None
        if out.xrf_config and not os.path.isabs(out.xrf_config):
            # a shared settings file names its .cfg beside it
            here = os.path.dirname(os.path.abspath(path))
            out = replace(out, xrf_config=os.path.join(here, out.xrf_config))
        return out


def starting_view(chosen: ViewSettings | None, saved: ViewSettings,
                  reduce: str | None) -> ViewSettings:
    """The view a window starts with: a ``--settings`` file's (``chosen``), else the one saved
    last time, showing the map ``--reduce`` names if it was given."""
    if chosen is not None:
        return chosen
    return replace(saved, shown=reduce) if reduce else saved


def _text(raw: bytes) -> str:
    """The text of a settings file: UTF-8 (with or without a byte-order mark)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise NotSettingsError("it is UTF-16 text (as Windows Notepad saves it); save it "
                               "again as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotSettingsError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at position "
                               f"{exc.start})") from None
