"""The File menu: open a scan (dialog), recent files, quit."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from swmrview.gui.settings import Settings

FILE_FILTER = "HDF5 files (*.h5 *.hdf5 *.hdf *.nxs *.nx5);;All files (*)"


class FileMenu(QMenu):
    """Emits :attr:`open_requested` with a path; recent files come from :class:`Settings`."""

    open_requested = Signal(str)
    quit_requested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("&File", parent)
        self.settings = settings
        open_action = QAction("&Open...", self, shortcut=QKeySequence.Open)
        open_action.triggered.connect(self.open_dialog)
        self.addAction(open_action)
        self.recent_menu = self.addMenu("Open &recent")
        self.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.Quit)
        quit_action.triggered.connect(self.quit_requested)
        self.addAction(quit_action)
        self.update_recent()

    def open_dialog(self) -> None:
        """Ask for a file and request it."""
        path, _ = QFileDialog.getOpenFileName(self.parentWidget(), "Open HDF5 scan", "",
                                              FILE_FILTER)
        if path:
            self.open_requested.emit(path)

    def update_recent(self) -> None:
        """List the recent files again (after one was opened)."""
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_requested.emit(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files()))
