"""A line profile on images: a line drawn on the frame view, the frame's values along it.

The line is a ``pg.LineSegmentROI`` on the image panel's plot; the profile is interpolated
from the frame on screen (raw values, not the log-scaled display) at pixel centres, so it
follows every new frame while live. Shown and hidden with its dock.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from swmrview.gui.image_panel import ImagePanel

logger = logging.getLogger(__name__)

LINE_COLOR = "#ff9f1c"


class LineProfileDock(QDockWidget):
    """The line on the image and the plot of the values along it."""

    def __init__(self, panel: ImagePanel, parent: QWidget | None = None) -> None:
        super().__init__("Line profile", parent)
        self.setObjectName("line_profile_dock")
        self.panel = panel
        self.line = pg.LineSegmentROI([[0, 0], [10, 0]], pen=pg.mkPen(LINE_COLOR, width=2))
        self.line.setZValue(10)
        self.line.setVisible(False)
        panel.plot.addItem(self.line)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "distance along the line (pixel)")
        self.plot.setLabel("left", "value")
        self.curve = self.plot.plot(pen=pg.mkPen(LINE_COLOR, width=1.5))
        self.label = QLabel("Drag the line's ends on the image")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.label)
        self.setWidget(body)
        self.values: np.ndarray | None = None    # the profile drawn
        self._placed_for: tuple[int, ...] | None = None
        self._sized = False
        self.line.sigRegionChanged.connect(self.update_profile)
        # after ImagePanel.display has also placed the image (its rect is set after setImage)
        panel.image.sigImageChanged.connect(self.update_profile, Qt.QueuedConnection)
        self.visibilityChanged.connect(self._visibility_changed)

    def _visibility_changed(self, visible: bool) -> None:
        self.line.setVisible(bool(visible))
        if visible:
            window = self.parent()
            if not self._sized and isinstance(window, QMainWindow):
                self._sized = True   # a strip under the views, not half the window
                window.resizeDocks([self], [max(160, window.height() // 4)], Qt.Vertical)
            self.update_profile()

    def set_line(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Put the line from ``start`` to ``end`` (x, y in frame pixels), as a drag would."""
        self._placed_for = self._shape()
        self.line.blockSignals(True)   # one profile for the move, not one per step
        try:
            self.line.setPos(0, 0, finish=False)
            self.line.movePoint(self.line.getHandles()[0], start, finish=False)
        finally:
            self.line.blockSignals(False)
        self.line.movePoint(self.line.getHandles()[1], end)

    def _shape(self) -> tuple[int, ...] | None:
        frame = self.panel.frame
        return None if frame is None else tuple(frame.shape) + (self.panel.binning,)

    def _place(self) -> None:
        """A first line across the middle row of a frame of a new shape."""
        h, w = (n * self.panel.binning for n in self.panel.frame.shape[:2])
        self.set_line((w * 0.1, h // 2 + 0.5), (w * 0.9, h // 2 + 0.5))

    def profile(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(distance in frame pixels, value) along the line on the frame shown, or None.

        One sample per pixel of length, both ends included, interpolated linearly between
        pixel centres (pyqtgraph's ``ROI.getArrayRegion`` samples at pixel corners: a line
        through the middle of a row would average it with the next). NaN outside the frame.
        """
        frame = self.panel.frame
        if frame is None or frame.ndim != 2:
            return None
        (x0, y0), (x1, y1) = self.endpoints()
        length = float(np.hypot(x1 - x0, y1 - y0))
        t = np.linspace(0.0, 1.0, int(length) + 1 if length >= 1 else 2)
        b = self.panel.binning
        # frame index units (a value per pixel centre), rounded so that a sample on a centre
        # takes that pixel's value exactly, not a 1e-16 blend with its neighbour
        cols = np.round((x0 + t * (x1 - x0)) / b - 0.5, 9)
        rows = np.round((y0 + t * (y1 - y0)) / b - 0.5, 9)
        h, w = frame.shape
        inside = (cols >= -0.5) & (cols <= w - 0.5) & (rows >= -0.5) & (rows <= h - 0.5)
        coords = np.stack([np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)], axis=-1)
        values = pg.functions.interpolateArray(frame, coords, order=1)   # float64 out
        values = np.where(inside, values, np.nan)
        return t * length, values

    def update_profile(self, *_args) -> None:
        """Read the profile again (a new frame or a moved line) if the dock is shown."""
        if not self.isVisible():
            return
        if self.panel.frame is None or not self.panel.isVisible():
            self.label.setText("Line profiles are drawn on images")
            return
        if self._shape() != self._placed_for:
            self._place()   # emits sigRegionChanged: drawn there
            return
        result = self.profile()
        if result is None:
            self.values = None
            self.curve.setData([], [])
            self.label.setText("A profile needs an image")
            return
        distance, self.values = result
        self.curve.setData(distance, self.values)
        (x0, y0), (x1, y1) = self.endpoints()
        self.label.setText(f"({x0:.1f}, {y0:.1f}) to ({x1:.1f}, {y1:.1f}): "
                           f"{len(self.values)} samples")

    def endpoints(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The line's ends (x, y) in frame pixels."""
        ends = [self.line.mapToParent(h.pos()) for h in self.line.getHandles()]
        return tuple((float(p.x()), float(p.y())) for p in ends)  # type: ignore[return-value]
