"""A home on the workstation: ``swmrview --install-desktop`` and ``--uninstall-desktop``.

Installs, for the current user only (freedesktop conventions, no root):

- the desktop entry ``$XDG_DATA_HOME/applications/swmrview.desktop`` (from
  ``swmrview.resources``), whose ``Exec`` runs the swmrview this Python has installed, so it
  works from a virtual environment that is not on the desktop session's ``PATH``;
- the icon ``$XDG_DATA_HOME/icons/hicolor/scalable/apps/swmrview.svg``;
- the MIME package ``$XDG_DATA_HOME/mime/packages/swmrview.xml``: NeXus files (``*.nxs``,
  ``application/x-nexus``, a kind of HDF file) and the HDF5 globs (``*.h5``, ``*.hdf5``,
  ``*.hdf`` as ``application/x-hdf``), so the file manager offers swmrview for them.

``$XDG_DATA_HOME`` defaults to ``~/.local/share``. swmrview is offered, never made the default
application: ``mimeapps.list`` is not touched. ``update-mime-database`` and
``update-desktop-database`` are run when they are installed, and skipped silently when not.
No Qt: this runs before the GUI is imported.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Mapping

logger = logging.getLogger(__name__)

__all__ = ["MIME_TYPES", "data_home", "install", "uninstall", "installed_paths"]

APP_ID = "swmrview"

#: The MIME types the desktop entry declares: the freedesktop HDF type (``*.h5``, ``*.hdf5``,
#: ``*.hdf`` in shared-mime-info), its older HDF5 alias and NeXus.
MIME_TYPES = ("application/x-hdf", "application/x-hdf5", "application/x-nexus")

MIME_PACKAGE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- installed by swmrview (install-desktop); removed by its uninstall-desktop -->
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="application/x-nexus">
    <comment>NeXus data file</comment>
    <sub-class-of type="application/x-hdf"/>
    <generic-icon name="x-office-document"/>
    <glob pattern="*.nxs"/>
  </mime-type>
  <mime-type type="application/x-hdf">
    <comment>HDF document</comment>
    <glob pattern="*.h5"/>
    <glob pattern="*.hdf5"/>
    <glob pattern="*.hdf"/>
  </mime-type>
</mime-info>
"""


def data_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` if set to an absolute path (as the spec says), else ~/.local/share."""
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / ".local" / "share"


def installed_paths(home: Path) -> dict[str, Path]:
    """Where each installed file goes under the data home ``home``."""
    return {
        "desktop": home / "applications" / f"{APP_ID}.desktop",
        "icon": home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
        "mime": home / "mime" / "packages" / f"{APP_ID}.xml",
    }


def _exec_command() -> str:
    """The ``Exec`` command: the swmrview script beside this Python, else ``python -m``."""
    script = Path(sys.executable).with_name(APP_ID)
    parts = [str(script)] if script.is_file() else [sys.executable, "-m", APP_ID]
    return " ".join(_quote(p) for p in parts)


def _quote(arg: str) -> str:
    """Quote an Exec argument as the Desktop Entry spec asks (only when needed)."""
    if not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def desktop_entry(exec_command: str | None = None) -> str:
    """The packaged desktop entry with this installation's ``Exec`` and the MIME types."""
    text = resources.files("swmrview.resources").joinpath(f"{APP_ID}.desktop").read_text()
    command = exec_command or _exec_command()
    lines = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={command} %f"
        elif line.startswith("MimeType="):
            line = "MimeType=" + "".join(f"{t};" for t in MIME_TYPES)
        lines.append(line)
    if not any(line.startswith("MimeType=") for line in lines):
        lines.append("MimeType=" + "".join(f"{t};" for t in MIME_TYPES))
    return "\n".join(lines) + "\n"


def _update_databases(home: Path, runner=subprocess.run) -> list[str]:
    """Run the freedesktop cache updaters that are installed; return the ones run."""
    ran = []
    for tool, folder in (("update-mime-database", home / "mime"),
                         ("update-desktop-database", home / "applications")):
        exe = shutil.which(tool)
        if exe is None or not folder.is_dir():
            continue
        try:
            runner([exe, str(folder)], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
            ran.append(tool)
        except (OSError, subprocess.SubprocessError) as exc:   # a cache is only a cache
            logger.warning("%s %s failed: %s", tool, folder, exc)
    return ran


def install(home: Path | None = None, exec_command: str | None = None,
            update: bool = True) -> list[Path]:
    """Install the desktop entry, icon and MIME package under ``home``; return the files."""
    home = data_home() if home is None else Path(home)
    paths = installed_paths(home)
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    paths["desktop"].write_text(desktop_entry(exec_command))
    icon = resources.files("swmrview.resources").joinpath(f"{APP_ID}.svg")
    paths["icon"].write_bytes(icon.read_bytes())
    paths["mime"].write_text(MIME_PACKAGE)
    if update:
        _update_databases(home)
    return list(paths.values())


def uninstall(home: Path | None = None, update: bool = True) -> list[Path]:
    """Remove what :func:`install` wrote under ``home``; return the files removed."""
    home = data_home() if home is None else Path(home)
    removed = []
    for path in installed_paths(home).values():
        if path.is_file():
            path.unlink()
            removed.append(path)
    if update and removed:
        _update_databases(home)
    return removed


def main(action: str) -> int:
    """``--install-desktop`` / ``--uninstall-desktop``: do it and say what was done."""
    try:
        if action == "install":
            for path in install():
                print(f"installed {path}")
            print("swmrview is offered for .nxs, .h5, .hdf5 and .hdf files (not made the "
                  "default); swmrview --uninstall-desktop removes it")
        else:
            removed = uninstall()
            for path in removed:
                print(f"removed {path}")
            if not removed:
                print(f"nothing to remove under {data_home()}")
    except OSError as exc:
        print(f"swmrview: error: {exc}", file=sys.stderr)
        return 1
    return 0
