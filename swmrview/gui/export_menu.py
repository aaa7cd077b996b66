"""File > Export: the frame or the map as PNG/TIFF/CSV, and the map channels as NeXus written
live (the rest of the scan follows into it). The menu only asks for a file name and emits it;
the window's :class:`~swmrview.gui.headless.HeadlessActions` writes the files."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

IMAGE_FILTER = "PNG image (*.png);;TIFF values (*.tif *.tiff);;CSV values (*.csv)"
NEXUS_FILTER = "NeXus files (*.nxs *.h5 *.hdf5);;All files (*)"
_SUFFIX = {"PNG": ".png", "TIFF": ".tiff", "CSV": ".csv", "NeXus": ".nxs"}


class ExportMenu(QMenu):
    """Emits a path per export: :attr:`frame_requested`, :attr:`map_requested`,
    :attr:`nexus_requested` (start a live export) and :attr:`nexus_stop_requested`."""

    frame_requested = Signal(str)
    map_requested = Signal(str)
    nexus_requested = Signal(str)
    nexus_stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Export", parent)
        self.directory = ""
        self.frame_action = self.addAction("&Frame as PNG / TIFF / CSV...")
        self.frame_action.triggered.connect(
            lambda: self._ask("Export the frame shown", IMAGE_FILTER, "frame",
                              self.frame_requested))
        self.map_action = self.addAction("&Map as PNG / TIFF / CSV...")
        self.map_action.triggered.connect(
            lambda: self._ask("Export the map shown", IMAGE_FILTER, "map", self.map_requested))
        self.addSeparator()
        self.nexus_action = self.addAction("Export &NeXus live...")
        self.nexus_action.setToolTip("Write every map channel to a NeXus file now and follow "
                                     "the rest of the scan into it (others can follow it live)")
        self.nexus_action.triggered.connect(
            lambda: self._ask("Export the map channels live as NeXus", NEXUS_FILTER, "map",
                              self.nexus_requested, ".nxs"))
        self.stop_action = self.addAction("&Stop the live export")
        self.stop_action.triggered.connect(self.nexus_stop_requested)
        self.set_live(False)

    def set_live(self, on: bool) -> None:
        """Enable "Stop" while a live export is written."""
        self.stop_action.setEnabled(bool(on))

    def _ask(self, title: str, filters: str, name: str, signal, default_ext: str = ".png"
             ) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self.parentWidget(), title, os.path.join(self.directory, name + default_ext),
            filters)
        if not path:
            return
        if not os.path.splitext(path)[1]:  # no extension typed: the chosen filter's
            path += _SUFFIX.get((chosen or "").split(" ")[0], default_ext)
        self.directory = os.path.dirname(path)
        signal.emit(path)


def install_export_menu(window) -> ExportMenu:
    """Put File > Export in ``window``'s File menu (before Quit) and connect it to the
    window's exports (``window.headless``); return the menu."""
    menu = ExportMenu(window)
    actions = window.file_menu.actions()
    window.file_menu.insertMenu(actions[-1] if actions else None, menu)
    exports = window.headless
    menu.frame_requested.connect(exports.export_frame)
    menu.map_requested.connect(exports.export_map)
    menu.nexus_requested.connect(lambda path: menu.set_live(exports.start_live_export(path)))
    menu.nexus_stop_requested.connect(lambda: (exports.stop_live_export(), menu.set_live(False)))
    menu.aboutToShow.connect(lambda: menu.set_live(exports.live.active))
    return menu
