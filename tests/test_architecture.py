"""The layers (cli, gui | tools, session, model, core) and a Qt-free core, session, model and
tools: checked by import-linter and by importing every module in a Qt-less interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # every test here starts a process

ROOT = Path(__file__).resolve().parents[1]

BLOCK_QT = """
import importlib.abc, sys
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"}:
            raise ImportError("Qt is blocked in this interpreter: " + name)
sys.meta_path.insert(0, NoQt())
import importlib, pkgutil
import swmrview.core, swmrview.model, swmrview.session, swmrview.tools
for package in (swmrview.core, swmrview.model, swmrview.session, swmrview.tools):
    for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(m.name)
print("ok")
"""


def test_import_linter_contracts_keep_the_layers_and_qt_out_of_the_lower_ones():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_core_session_model_and_tools_import_in_an_interpreter_without_qt():
    result = subprocess.run([sys.executable, "-c", BLOCK_QT], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
