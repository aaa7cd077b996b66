"""The dataset chooser: the file's HDF5 tree in a dock; double-click a dataset to show it."""

from __future__ import annotations

import os
from typing import Any, Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


class DatasetDock(QDockWidget):
    """Shows a tree made by :func:`swmrview.core.files.tree.hdf5_tree`; emits the chosen path."""

    dataset_chosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__("Datasets", parent)
        self.setObjectName("datasets-dock")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Shape", "Type"])
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemDoubleClicked.connect(self._activated)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("Double-click a dataset (bold = matches the scan) to show it"))
        layout.addWidget(self.tree)
        self.setWidget(box)

    def show_tree(self, path: str, tree: Mapping[str, Any], shown: str) -> None:
        """Fill the tree of file ``path``; ``shown`` is the dataset on screen."""
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)

        def add(parent: QTreeWidgetItem, node: Mapping[str, Any]) -> None:
            dataset = node["kind"] == "dataset"
            shape = "x".join(map(str, node.get("shape", ()))) if dataset else ""
            kind = node.get("dtype", "") if dataset else node["kind"]
            item = QTreeWidgetItem([node["name"], shape, kind])
            item.setData(0, Qt.UserRole, node["path"] if dataset else "")
            if node.get("usable"):
                item.setFont(0, bold)
            if node["path"] == shown:
                item.setText(0, node["name"] + "  (shown)")
            parent.addChild(item)
            for child in node.get("children", ()):
                add(item, child)

        root = QTreeWidgetItem([os.path.basename(path), "", "file"])
        self.tree.addTopLevelItem(root)
        for child in tree.get("children", ()):
            add(root, child)
        self.tree.expandToDepth(2)
        self.tree.resizeColumnToContents(0)

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        path = item.data(0, Qt.UserRole)
        if path:
            self.dataset_chosen.emit(path)
