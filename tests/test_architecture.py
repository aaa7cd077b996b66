"""swmrview.core and swmrview.model stay Qt-free: checked by import-linter and a Qt-less interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCK_QT = """
import importlib.abc, sys
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"}:
            raise ImportError("Qt is blocked in this interpreter: " + name)
sys.meta_path.insert(0, NoQt())
import swmrview, swmrview.core, swmrview.core.layout, swmrview.core.scanmap, swmrview.simulate
import pkgutil
import swmrview.model
for package in (swmrview.core, swmrview.model):
    for m in pkgutil.iter_modules(package.__path__):
        __import__(package.__name__ + "." + m.name)
print("ok")
"""


def test_import_linter_contracts_keep_qt_out_of_core_and_model():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_core_model_and_simulator_import_in_an_interpreter_without_qt():
    result = subprocess.run([sys.executable, "-c", BLOCK_QT], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
