"""``swmrview --install-desktop`` / ``--uninstall-desktop`` (swmrview.tools.desktop) with a
temporary XDG_DATA_HOME, and ``swmrview --version``."""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import swmrview
from swmrview.cli import main
from swmrview.tools import desktop

MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str   # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser["Desktop Entry"]


def test_data_home_follows_xdg_and_defaults_to_local_share(tmp_path):
    assert desktop.data_home({"XDG_DATA_HOME": str(tmp_path), "HOME": "/h"}) == tmp_path
    assert desktop.data_home({"HOME": "/h"}) == Path("/h/.local/share")
    # the spec ignores a relative XDG_DATA_HOME
    assert desktop.data_home({"XDG_DATA_HOME": "rel", "HOME": "/h"}) == Path("/h/.local/share")


def test_install_writes_entry_icon_and_mime_package_then_uninstall_removes_them(tmp_path):
    other = tmp_path / "applications" / "other.desktop"   # someone else's entry stays
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nName=other\n")

    files = desktop.install(tmp_path, exec_command="/opt/sv/bin/swmrview", update=False)
    entry_path = tmp_path / "applications" / "swmrview.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "swmrview.svg"
    package = tmp_path / "mime" / "packages" / "swmrview.xml"
    assert sorted(files) == sorted([entry_path, icon, package])

    entry = read_entry(entry_path)
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "/opt/sv/bin/swmrview %f"
    assert entry["Icon"] == "swmrview"
    mime_types = [t for t in entry["MimeType"].split(";") if t]
    assert set(mime_types) == set(desktop.MIME_TYPES)
    assert icon.read_bytes().startswith(b"<") and b"<svg" in icon.read_bytes()

    # the MIME package declares NeXus and the HDF globs the entry claims
    root = ET.parse(package).getroot()
    globs = {mt.get("type"): {g.get("pattern") for g in mt.iter(MIME_NS + "glob")}
             for mt in root.iter(MIME_NS + "mime-type")}
    assert globs["application/x-nexus"] == {"*.nxs"}
    assert {"*.h5", "*.hdf5", "*.hdf"} <= globs["application/x-hdf"]
    assert set(globs) <= set(mime_types)
    # offered, never made the default
    assert not list(tmp_path.rglob("mimeapps.list"))

    removed = desktop.uninstall(tmp_path, update=False)
    assert sorted(removed) == sorted(files)
    assert not any(p.exists() for p in files)
    assert other.read_text() == "[Desktop Entry]\nName=other\n"
    assert desktop.uninstall(tmp_path, update=False) == []   # twice is harmless


def test_exec_quotes_a_path_with_spaces(tmp_path):
    desktop.install(tmp_path, exec_command=None, update=False)
    text = desktop.desktop_entry(desktop._quote("/home/a b/venv/bin/swmrview"))
    assert 'Exec="/home/a b/venv/bin/swmrview" %f' in text.splitlines()
    # the default runs the swmrview of this Python (a venv need not be on the session's PATH)
    entry = read_entry(tmp_path / "applications" / "swmrview.desktop")
    assert sys.executable in entry["Exec"] or str(Path(sys.executable).parent) in entry["Exec"]


def test_version_is_single_sourced(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"swmrview {swmrview.__version__}"
    # pyproject.toml takes the version from swmrview.__version__, and the installed metadata
    # (pip install -e .) says the same
    pyproject = tomllib.loads((Path(swmrview.__file__).parents[1] / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "swmrview.__version__"}
    assert importlib.metadata.version("swmrview") == swmrview.__version__


def test_install_and_uninstall_both_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--install-desktop", "--uninstall-desktop"])
    assert stop.value.code == 2
    assert "give one" in capsys.readouterr().err


@pytest.mark.slow
def test_command_installs_registers_and_uninstalls(tmp_path):
    """The real command with XDG_DATA_HOME set: files in place and, when the freedesktop tools
    are installed, the MIME cache knows *.nxs; after uninstalling it no longer does."""
    home = tmp_path / "data"
    env = dict(os.environ, XDG_DATA_HOME=str(home), HOME=str(tmp_path))
    run = [sys.executable, "-m", "swmrview"]
    done = subprocess.run([*run, "--install-desktop"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    for path in desktop.installed_paths(home).values():
        assert path.is_file()
        assert str(path) in done.stdout
    entry = read_entry(home / "applications" / "swmrview.desktop")
    exe = entry["Exec"].split()[0].strip('"')
    assert Path(exe).is_file() or exe == sys.executable
    globs2 = home / "mime" / "globs2"
    if shutil.which("update-mime-database"):
        assert "application/x-nexus:*.nxs" in globs2.read_text()

    done = subprocess.run([*run, "--uninstall-desktop"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in desktop.installed_paths(home).values())
    if shutil.which("update-mime-database"):
        assert "*.nxs" not in globs2.read_text()
    assert not list(home.rglob("mimeapps.list"))
