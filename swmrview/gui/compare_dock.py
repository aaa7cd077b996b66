"""The "Compare" dock: held points' spectra overlaid or their images side by side, and a region.

Pure view, like the frame view: it draws the frames the view state's
:class:`~swmrview.model.compare.HeldPoints` holds and the newest
:class:`~swmrview.session.region.RegionFrame`; :class:`~swmrview.gui.compare.CompareController`
decides what is held and asks the follower thread for the frames.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from swmrview.core.compute.accumulate import HOWS
from swmrview.gui.map_drawing import lookup_table
from swmrview.gui.trace_panel import as_trace, channel_label, channel_x
from swmrview.model.messages import RegionFrame

logger = logging.getLogger(__name__)

#: One colour per held point number (1 ... 8): marker, list entry and curve.
COLORS = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#b46be0", "#46f0f0",
          "#f032e6")
REGION_COLOR = "#ffffff"
GRID_COLUMNS = 3


def point_color(number: int) -> str:
    """The colour of held point ``number`` (1-based)."""
    return COLORS[(number - 1) % len(COLORS)]


def as_plane(frame: np.ndarray) -> np.ndarray:
    """An image frame as one plane (the first of a stack per point), float32 for drawing."""
    frame = np.asarray(frame)
    return np.ascontiguousarray(frame[(0,) * (frame.ndim - 2)], dtype=np.float32)


class CompareDock(QDockWidget):
    """Held points (list, remove, clear) and their frames, plus the region's frame."""

    hold_requested = Signal()           # "Hold" button: hold the point shown
    remove_requested = Signal(object)   # position of the held point to let go
    clear_requested = Signal()
    region_toggled = Signal(bool)       # region mode on the map
    how_changed = Signal(str)           # "sum", "max" or "mean"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Compare", parent)
        self.setObjectName("compare_dock")
        self.hold_button = QPushButton("Hold (H)")
        self.hold_button.setToolTip("Hold the point shown (or Ctrl+click a map point) to "
                                    "compare it with others")
        self.remove_button = QPushButton("Remove")
        self.clear_button = QPushButton("Clear")
        self.region_box = QCheckBox("Region")
        self.region_box.setToolTip("Drag a rectangle on the map: the frame of the points "
                                   "inside, summed (or their max or mean)")
        self.how_combo = QComboBox()
        self.how_combo.addItems(HOWS)
        self.region_label = QLabel(" ")
        self.list = QListWidget()
        self.list.setMaximumHeight(64)
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        self.kind = "spectrum"
        self.axis = None    # calibration of the spectra (model.messages.Axis), as the frame's

        self.spectra = pg.PlotWidget()
        self.spectra.setLabel("bottom", "channel")
        self.spectra.setLabel("left", "counts")
        self.legend = self.spectra.addLegend(offset=(-10, 10))
        self.curves: dict[int, pg.PlotDataItem] = {}     # held point number -> curve
        self.region_curve = pg.PlotDataItem(pen=pg.mkPen(REGION_COLOR, width=2,
                                                         style=Qt.DashLine))
        self.grid = pg.GraphicsLayoutWidget()
        self.images: dict[object, pg.ImageItem] = {}     # held number or "region" -> image
        self.values = QLabel("")
        self.values.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.values.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.pages = QStackedWidget()
        for page in (self.spectra, self.grid, self.values):
            self.pages.addWidget(page)

        buttons = QHBoxLayout()
        for widget in (self.hold_button, self.remove_button, self.clear_button):
            buttons.addWidget(widget)
        buttons.addSpacing(12)
        buttons.addWidget(self.region_box)
        buttons.addWidget(self.how_combo)
        buttons.addWidget(self.region_label, 1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.list)
        layout.addWidget(self.pages, 1)
        self.setWidget(body)

        self.hold_button.clicked.connect(self.hold_requested)
        self.remove_button.clicked.connect(self._remove_selected)
        self.clear_button.clicked.connect(self.clear_requested)
        self.region_box.toggled.connect(self.region_toggled)
        self.how_combo.currentTextChanged.connect(self.how_changed)
        self._lut = lookup_table("viridis")
        # (number, position, label, frame or None, its levels) of each held point
        self._held: list[tuple] = []
        self.region: RegionFrame | None = None

    # ------------------------------------------------------------------ settings
    def set_kind(self, kind: str) -> None:
        """Show spectra as curves, images in a grid, or scalars as values."""
        self.kind = kind
        self.pages.setCurrentWidget({"spectrum": self.spectra, "image": self.grid}
                                    .get(kind, self.values))
        self.region = None
        self.show_held([])

    def set_frame_axis(self, axis) -> None:
        """Draw spectra against ``axis`` (the scan's ``frame_axis``: energy in keV), as the
        frame view does; None: channel numbers."""
        self.axis = axis
        self.spectra.setLabel("bottom", channel_label(axis))
        self._draw()

    def set_colormap(self, name: str) -> None:
        """Colormap of the images."""
        self._lut = lookup_table(name)
        for image in self.images.values():
            image.setLookupTable(self._lut)

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems() or [self.list.currentItem()]:
            if item is not None:
                self.remove_requested.emit(item.data(Qt.UserRole))

    # ------------------------------------------------------------------ drawing
    def show_held(self, held: list[tuple]) -> None:
        """Draw the held points: (number, position, label, frame or None, levels or None) in
        the order held; the levels are the follower's (masked pixels left out)."""
        self._held = list(held)
        self.list.clear()
        for number, position, label, frame, _levels in self._held:
            waiting = "" if frame is not None else "  (reading...)"
            item = QListWidgetItem(f"{number}: {label}{waiting}")
            item.setForeground(QColor(point_color(number)))
            item.setData(Qt.UserRole, position)
            self.list.addItem(item)
        self._draw()

    def show_region(self, message: RegionFrame | None) -> None:
        """Show a region's progress, or its frame with "N points"; None: no region."""
        if message is None:
            self.region = None
            self.region_label.setText(" ")
            self._draw()
            return
        self.region_label.setText(message.text)
        self.region_label.setToolTip(message.text)
        if message.done:
            self.region = message if message.frame is not None else None
            self._draw()

    def _draw(self) -> None:
        if self.kind == "spectrum":
            self._draw_spectra()
        elif self.kind == "image":
            self._draw_images()
        else:
            self._draw_values()

    def _draw_spectra(self) -> None:
        self.legend.clear()
        for curve in self.curves.values():
            self.spectra.removeItem(curve)
        self.curves = {}
        if self.region_curve.scene() is not None:
            self.spectra.removeItem(self.region_curve)
        for number, _position, label, frame, _levels in self._held:
            if frame is None:
                continue
            trace = as_trace(frame)
            curve = pg.PlotDataItem(channel_x(self.axis, len(trace)), trace,
                                    pen=pg.mkPen(point_color(number), width=1.5),
                                    name=f"{number}: {label}")
            self.spectra.addItem(curve)
            self.curves[number] = curve
        if self.region is not None:
            trace = as_trace(self.region.frame)
            self.region_curve.setData(channel_x(self.axis, len(trace)), trace)
            self.spectra.addItem(self.region_curve)
            self.legend.addItem(self.region_curve, self.region.text)

    def _draw_images(self) -> None:
        self.grid.clear()
        self.images = {}
        held = [(number, label, as_plane(frame), levels)
                for number, _p, label, frame, levels in self._held if frame is not None]
        shared = _union(levels for *_rest, levels in held if levels is not None)  # one scale
        cells = [(n, f"{n}: {label}", plane, shared, point_color(n))
                 for n, label, plane, _levels in held]
        if self.region is not None:
            cells.append(("region", self.region.text, as_plane(self.region.frame),
                          self.region.levels, REGION_COLOR))
        for k, (key, title, plane, levels, color) in enumerate(cells):
            plot = self.grid.addPlot(row=k // GRID_COLUMNS, col=k % GRID_COLUMNS)
            plot.setTitle(title, color=color, size="8pt")
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.setAspectLocked(True)
            plot.invertY(True)
            image = pg.ImageItem(axisOrder="row-major")
            image.setLookupTable(self._lut)
            image.setImage(plane, autoLevels=False, levels=levels or (0.0, 1.0))
            plot.addItem(image)
            self.images[key] = image

    def _draw_values(self) -> None:
        lines = []
        for number, _position, label, frame, _levels in self._held:
            value = "..." if frame is None else f"{float(np.asarray(frame)):.6g}"
            lines.append(f"<span style='color:{point_color(number)}'>{number}: {label}"
                         f" = {value}</span>")
        if self.region is not None:
            lines.append(f"{self.region.text} = {float(np.asarray(self.region.frame)):.6g}")
        self.values.setText("<br>".join(lines) or "Hold points (H or Ctrl+click the map) "
                            "to compare their values")


def _union(ranges) -> tuple[float, float] | None:
    """The smallest range holding every (low, high) in ``ranges`` (None entries skipped)."""
    ranges = [r for r in ranges if r is not None]
    if not ranges:
        return None
    return (min(r[0] for r in ranges), max(r[1] for r in ranges))
