"""The scans of a followed folder in a dock: newest first, the shown one marked.

Double-click a scan to go back to it (new scans are then listed but not switched to);
"Follow newest" shows the newest scan again and each new one as it starts.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from swmrview.model.messages import ScanList


class ScansDock(QDockWidget):
    """Lists a :class:`~swmrview.model.messages.ScanList`; asks the follower for a scan."""

    scan_chosen = Signal(str)
    follow_newest_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Scans", parent)
        self.setObjectName("scans-dock")
        self.directory: str | None = None
        self.scans: ScanList | None = None
        self._follow = None
        self._min_generation = 0
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.list = QListWidget()
        self.list.itemActivated.connect(self._activated)
        self.list.itemDoubleClicked.connect(self._activated)
        self.follow_button = QPushButton("Follow newest")
        self.follow_button.setToolTip("Show the newest scan, and switch to each new one")
        self.follow_button.clicked.connect(self.follow_newest)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.list)
        layout.addWidget(self.follow_button)
        self.setWidget(box)

    def attach(self, follow, directory: str | None) -> None:
        """Serve the follower ``follow`` (a FollowThread); shown only when it follows a folder."""
        self.list.clear()
        self.scans = None
        self._follow = follow if directory else None
        self.directory = os.path.abspath(directory) if directory else None
        if self._follow is None:
            self.hide()
            return
        self._min_generation = follow.worker.generation  # older workers' lists are dropped
        follow.worker.scans_ready.connect(self.show_scans)
        self.label.setText(f"Scans in {self.directory}")
        self.follow_button.setEnabled(False)
        self.show()

    def show_scans(self, scans: ScanList) -> None:
        """Fill the list: newest first, the shown scan in bold."""
        if self._follow is None or scans.generation < self._min_generation:
            return
        self.scans = scans
        self.list.clear()
        bold = QFont()
        bold.setBold(True)
        for path in scans.paths:
            name = os.path.relpath(path, self.directory) if self.directory else path
            item = QListWidgetItem(name + ("  (shown)" if path == scans.current else ""))
            item.setData(Qt.UserRole, path)
            item.setToolTip(path)
            if path == scans.current:
                item.setFont(bold)
            self.list.addItem(item)
        where = f"Scans in {self.directory}"
        self.label.setText(where if scans.following
                           else f"{where} (showing a chosen scan: new scans are not shown)")
        self.follow_button.setEnabled(not scans.following)

    def paths(self) -> list[str]:
        """The listed scans' paths, as shown (newest first)."""
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def open_scan(self, path: str) -> None:
        """Show the scan ``path`` (stops switching to new scans)."""
        self.scan_chosen.emit(path)
        if self._follow is not None:
            self._follow.request_open_scan.emit(path)

    def follow_newest(self) -> None:
        """Show the newest scan, and each new one as it starts."""
        self.follow_newest_clicked.emit()
        if self._follow is not None:
            self._follow.request_follow_newest.emit()

    def _activated(self, item: QListWidgetItem, *_args) -> None:
        path = item.data(Qt.UserRole)
        if path:
            self.open_scan(path)
