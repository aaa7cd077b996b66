"""The GUI's modules import each other without circles (imports under TYPE_CHECKING count)."""

from __future__ import annotations

import grimp


def test_no_gui_module_imports_itself_back():
    graph = grimp.build_graph("swmrview")
    gui = sorted(m for m in graph.modules if m.startswith("swmrview.gui."))
    circles = {tuple(sorted((module, other))) for module in gui
               for other in graph.find_upstream_modules(module)
               if other.startswith("swmrview.gui.") and module in graph.find_upstream_modules(other)}
    assert circles == set()
