"""The live scan map: renders a :class:`~swmrview.core.scanmap.ScanMap` plane; click -> index.

2-D scans are an image of the chosen reduction (NaN, i.e. transparent, where not acquired)
placed in motor coordinates; 1-D scans a line; higher ranks show the two fastest axes with a
spin box per slower axis.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from swmrview.core.positions import unravel
from swmrview.gui.frame_view import colormap, display_levels

logger = logging.getLogger(__name__)


def _axis_geometry(values: np.ndarray | None, n: int) -> tuple[float, float]:
    """(start, step) of a scan axis in motor units, or pixel indices without values."""
    if values is None or len(values) != n or n < 1:
        return 0.0, 1.0
    if n == 1:
        return float(values[0]), 1.0
    step = (float(values[-1]) - float(values[0])) / (n - 1)
    return float(values[0]), step if step != 0 else 1.0


class MapView(QWidget):
    """Scan map display; emits :attr:`point_clicked` with the flat index of a clicked point."""

    point_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        self.plot = self.plot_widget.getPlotItem()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#4cc9f0", width=1.5), symbol="o",
                                     symbolSize=4, connect="finite")
        self.marker = pg.ScatterPlotItem(size=14, symbol="s", pen=pg.mkPen("r", width=2),
                                         brush=None)
        self.colorbar = pg.ColorBarItem(interactive=False, width=14, colorMap="viridis")
        self.colorbar.axis.setWidth(62)  # room for 7-digit sums
        self.outline = pg.PlotCurveItem(pen=pg.mkPen((150, 150, 150), width=1,
                                                    style=Qt.DashLine))
        self.plot.addItem(self.image)
        self.plot.addItem(self.outline)
        self.plot.addItem(self.curve)
        self.plot.addItem(self.marker)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.title = QLabel(" ")
        self.slow_row = QHBoxLayout()
        self.slow_boxes: list[QSpinBox] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(self.slow_row)
        self.plot.scene().sigMouseClicked.connect(self._scene_clicked)

        self.scan_map = None
        self.scan_shape: tuple[int, ...] = ()
        self.rank = 0
        self.reduction = "sum"
        self.geometry = ((0.0, 1.0), (0.0, 1.0))  # (start, step) for y (slow) and x (fast)
        self.x_values: np.ndarray | None = None
        self.marked: int | None = None
        self.follow_slow = True
        self._lut_name = "viridis"
        self.set_colormap("viridis")

    # ------------------------------------------------------------------ setup
    def set_scan(self, scan_map, axis_names, axis_values, data_name: str = "") -> None:
        """Show ``scan_map`` (the GUI's mirror ScanMap) with axes named and placed by motors."""
        self.scan_map = scan_map
        self.scan_shape = tuple(scan_map.shape)
        self.rank = len(self.scan_shape)
        self.marked = None
        self.marker.setData([], [])
        self.title.setText(data_name)
        names = list(axis_names)
        self.curve.setVisible(self.rank == 1)
        self.outline.setVisible(self.rank >= 2)
        self.image.setVisible(self.rank >= 2)
        self.colorbar.setVisible(self.rank >= 2)
        self.plot.setAspectLocked(False)
        if self.rank == 1:
            self.x_values = axis_values[0]
            self.plot.setLabel("bottom", names[0])
            self.plot.setLabel("left", self.reduction)
        else:
            ny, nx = self.scan_shape[-2], self.scan_shape[-1]
            self.geometry = (_axis_geometry(axis_values[-2], ny or 0),
                             _axis_geometry(axis_values[-1], nx))
            self.plot.setLabel("bottom", names[-1])
            self.plot.setLabel("left", names[-2])
        self._make_slow_boxes(names)
        self.refresh()
        self.plot.autoRange()

    def _make_slow_boxes(self, names: list[str]) -> None:
        while self.slow_row.count():
            item = self.slow_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.slow_boxes = []
        for dim in range(max(0, self.rank - 2)):
            label = QLabel(f"{names[dim]}:")
            box = QSpinBox()
            box.setRange(0, max(0, (self.scan_shape[dim] or 1) - 1))
            box.valueChanged.connect(self._slow_changed)
            self.slow_row.addWidget(label)
            self.slow_row.addWidget(box)
            self.slow_boxes.append(box)
        if self.slow_boxes:
            self.slow_row.addStretch(1)

    def _slow_changed(self, _value: int) -> None:
        """The user chose a slower-axis index: keep it until following is asked for again."""
        self.follow_slow = False
        self.refresh()

    def set_follow_slow(self, on: bool) -> None:
        """Move the slower-axis boxes to each newly marked point (on) or leave them (off)."""
        self.follow_slow = bool(on)

    def set_reduction(self, name: str) -> None:
        """Map the named reduction (sum, mean, max, roi)."""
        self.reduction = name
        if self.rank == 1:
            self.plot.setLabel("left", name)
        self.refresh()

    def set_colormap(self, name: str) -> None:
        """Colormap of the 2-D map and its colour bar (256-entry LUT)."""
        self._lut_name = name
        self.colorbar.setColorMap(colormap(name))  # also sets the image's lookup table

    # ------------------------------------------------------------------ drawing
    def slow_index(self) -> tuple[int, ...]:
        """Indices of the slower axes currently shown (empty for 1-D and 2-D scans)."""
        return tuple(box.value() for box in self.slow_boxes)

    def plane(self) -> np.ndarray:
        """The displayed plane (copy) of the current reduction."""
        return self.scan_map.plane(self.reduction, self.slow_index())

    def refresh(self) -> None:
        """Redraw from the scan map (call at most ~30 times a second)."""
        if self.scan_map is None:
            return
        if tuple(self.scan_map.shape) != self.scan_shape:  # slow axis growing
            self.scan_shape = tuple(self.scan_map.shape)
            for box, n in zip(self.slow_boxes, self.scan_shape):
                box.setMaximum(max(0, n - 1))
        plane = self.plane()
        if self.rank == 1:
            x = self.x_values if self.x_values is not None and len(self.x_values) == len(plane) \
                else np.arange(len(plane), dtype=float)
            finite = np.isfinite(plane)
            if finite.any():
                self.curve.setData(x, plane)
            else:
                self.curve.setData([], [])
            return
        data = np.ascontiguousarray(plane, dtype=np.float32)
        levels = display_levels(data)
        self.image.setImage(data, autoLevels=False)
        (y0, dy), (x0, dx) = self.geometry
        ny, nx = data.shape
        rect = QRectF(x0 - dx / 2, y0 - dy / 2, nx * dx, ny * dy)
        self.image.setRect(rect)
        # outline the whole scan so points not acquired yet read as "still to come"
        xs = [rect.left(), rect.right(), rect.right(), rect.left(), rect.left()]
        ys = [rect.top(), rect.top(), rect.bottom(), rect.bottom(), rect.top()]
        self.outline.setData(xs, ys)
        self.colorbar.setLevels(levels)  # sets the image levels too

    def mark(self, index: int | None) -> None:
        """Outline the point whose frame is shown; live, move the slower axes to follow it."""
        self.marked = index
        if index is None or self.scan_map is None or self.rank == 0:
            self.marker.setData([], [])
            return
        pos = self._position(index)
        if pos is None:
            return
        if self.follow_slow and self.slow_boxes:
            for box, p in zip(self.slow_boxes, pos[:-2]):
                if box.value() != p:
                    box.blockSignals(True)
                    box.setValue(p)
                    box.blockSignals(False)
        x, y = self.point_position(index)
        self.marker.setData([x], [y])

    def _position(self, index: int) -> tuple[int, ...]:
        return unravel(index, self.scan_shape)

    def point_position(self, index: int) -> tuple[float, float]:
        """View coordinates (motor units) of point ``index`` on the displayed plane."""
        pos = self._position(index)
        if self.rank == 1:
            x = self.x_values[pos[0]] if self.x_values is not None and \
                pos[0] < len(self.x_values) else float(pos[0])
            plane = self.scan_map.plane(self.reduction)
            value = plane[pos[0]] if pos[0] < len(plane) else np.nan
            return float(x), float(value) if np.isfinite(value) else 0.0
        (y0, dy), (x0, dx) = self.geometry
        return x0 + pos[-1] * dx, y0 + pos[-2] * dy

    def scene_position(self, index: int) -> QPointF:
        """Scene coordinates of point ``index`` (for clicking it in tests)."""
        x, y = self.point_position(index)
        return self.plot.vb.mapViewToScene(QPointF(x, y))

    # ------------------------------------------------------------------ clicks
    def _scene_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        index = self.index_at_scene(event.scenePos())
        if index is not None:
            event.accept()
            self.point_clicked.emit(index)

    def click_at_scene(self, scene_pos: QPointF) -> int | None:
        """Handle a click at ``scene_pos`` as the mouse would; returns the index clicked."""
        index = self.index_at_scene(scene_pos)
        if index is not None:
            self.point_clicked.emit(index)
        return index

    def index_at_scene(self, scene_pos: QPointF) -> int | None:
        """Flat index of the scan point under ``scene_pos``, or None outside the map."""
        if self.scan_map is None or self.rank == 0:
            return None
        view = self.plot.vb.mapSceneToView(scene_pos)
        if self.rank == 1:
            n = self.scan_shape[0]
            if self.x_values is not None and len(self.x_values) == n:
                col = int(np.argmin(np.abs(self.x_values - view.x())))
            else:
                col = int(round(view.x()))
            return col if 0 <= col < n else None
        (y0, dy), (x0, dx) = self.geometry
        col = int(np.floor((view.x() - x0) / dx + 0.5))
        row = int(np.floor((view.y() - y0) / dy + 0.5))
        ny, nx = self.scan_shape[-2:]
        if not (0 <= row < ny and 0 <= col < nx):
            return None
        position = self.slow_index() + (row, col)
        return int(np.ravel_multi_index(position, self.scan_shape))
