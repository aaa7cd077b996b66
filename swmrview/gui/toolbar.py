"""The view toolbar: follow latest, the point slider, map reduction, colormap and display options.

It only holds widgets and re-emits what the user does; the window decides what it means.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QSlider, QToolBar

from swmrview.core.compute.scanmap import REDUCTIONS
from swmrview.model.view_settings import COLORMAPS


class ViewToolBar(QToolBar):
    """Toolbar widgets; their signals are connected by the main window."""

    follow_toggled = Signal(bool)

    def __init__(self, reduction: str = "sum", parent=None) -> None:
        super().__init__("View", parent)
        self.setObjectName("view-toolbar")
        self.follow_action = QAction("Follow latest", self, checkable=True, checked=True)
        self.follow_action.setToolTip("Show each new frame as it arrives; uncheck to pause")
        self.follow_action.toggled.connect(self.follow_toggled)
        self.addAction(self.follow_action)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setMinimumWidth(160)
        self.slider.setToolTip("Acquired points, in arrival order")
        self.slider.setRange(0, 0)
        self.addWidget(self.slider)
        self.point_label = QLabel(" point - ")
        self.addWidget(self.point_label)
        self.addSeparator()
        self.addWidget(QLabel(" Map: "))
        self.reduction_combo = QComboBox()
        self.reduction_combo.addItems(list(REDUCTIONS))
        self.reduction_combo.setCurrentText(reduction)
        self.addWidget(self.reduction_combo)
        self.addWidget(QLabel(" Colormap: "))
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.addWidget(self.colormap_combo)
        self.log_box = self._box("Log", "Log scale of frame values")
        self.auto_levels_box = self._box("Auto levels", "Levels follow each new frame")
        self.auto_levels_box.setChecked(True)
        self.roi_box = self._box("ROI", "Draw a region on the frame; the map shows its sum")
        self.mean_box = self._box("Mean", "Running mean of spectra")
        self.mask_box = self._box("Mask", "Leave the detector's masked and overflowing pixels "
                                          "out of sums, ROIs and levels")
        self.mask_box.setChecked(True)
        self.mask_box.setEnabled(False)

    def _box(self, text: str, tip: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setToolTip(tip)
        self.addWidget(box)
        return box

    def set_layers(self, names, current: str) -> None:
        """Offer these maps (reductions, then channels) without emitting a change."""
        combo = self.reduction_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(names))
        combo.setCurrentText(current)
        combo.blockSignals(False)

    def set_following(self, on: bool) -> None:
        """Check or uncheck "Follow latest" without emitting :attr:`follow_toggled`."""
        self.follow_action.blockSignals(True)
        self.follow_action.setChecked(on)
        self.follow_action.blockSignals(False)

    def set_slider(self, count: int, value: int | None) -> None:
        """Range 0..count-1 and, if given, the value, without emitting a move."""
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        if value is not None:
            self.slider.setValue(value)
        self.slider.blockSignals(False)
