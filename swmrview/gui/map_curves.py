"""The map of a 1-D scan: the shown map as a curve against the chosen x, more maps on a right axis.

Drawn inside the :class:`~swmrview.gui.map_view.MapView`'s plot from the view state; the "x:"
combo offers the scan axis, the state's maps and the scan's per-point fields.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QLabel

from swmrview.gui.map_drawing import scale_label, scaled
from swmrview.model.view_state import ViewState

SCAN_AXIS = "(scan axis)"
OVERLAY_COLOURS = ("#f9c74f", "#f94144", "#90be6d", "#f8961e", "#577590", "#c77dff")


class MapCurves:
    """Curve, overlays and x choice of a 1-D scan's map; see the module docstring."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#4cc9f0", width=1.5), symbol="o",
                                     symbolSize=5, connect="finite")
        self.x_combo = QComboBox()
        self.x_combo.setToolTip("1-D scans: plot against the scan axis or another map "
                                "(a motor or counter channel)")
        self.x_label = QLabel("x:")
        self.overlays: list[pg.PlotDataItem] = []   # more maps, on a right axis
        self.right = pg.ViewBox()   # their own scale: a ratio beside counts stays readable

    def install(self) -> None:
        """Add the right axis's view box (after the plot's own items and colour bar)."""
        plot = self.plot
        plot.scene().addItem(self.right)
        plot.getAxis("right").linkToView(self.right)
        self.right.setXLink(plot.vb)
        plot.vb.sigResized.connect(lambda *_: self.right.setGeometry(plot.vb.sceneBoundingRect()))

    def set_state(self, state: ViewState) -> None:
        """A new scan or dataset: show the curve and the x choice only for 1-D grid scans."""
        self.curve.setVisible(state.rank == 1)
        self.x_combo.setVisible(state.rank == 1 and state.scatter is None)
        self.x_label.setVisible(state.rank == 1 and state.scatter is None)
        self.plot.showAxis("right", False)
        for item in self.overlays:
            item.setData([], [])
        self.set_layers(state)

    def set_layers(self, state: ViewState | None) -> None:
        """Offer the state's maps, then the scan's per-point fields, as the x axis."""
        names = [SCAN_AXIS] + (list(state.layers) if state is not None else [])
        if state is not None and state.rank == 1:   # a field becomes a channel when chosen
            names += [path for path, frame in state.info.fields if not frame]
        current = state.x_layer if state is not None and state.x_layer else SCAN_AXIS
        self.x_combo.blockSignals(True)
        self.x_combo.clear()
        self.x_combo.addItems(names)
        self.x_combo.setCurrentText(current)
        self.x_combo.blockSignals(False)

    def draw(self, state: ViewState, plane: np.ndarray, scale: str) -> None:
        """The shown map (``plane``, already on the colour ``scale``), and the overlaid ones,
        against x."""
        self.plot.setLabel("left", scale_label(state.reduction, scale))
        if state.overlay:
            self.plot.setLabel("right", scale_label(", ".join(state.overlay), scale))
        self.plot.showAxis("right", bool(state.overlay))
        self.plot.setLabel("bottom", state.x_label())
        x = state.curve_x()
        drawable = np.isfinite(x).any()   # an x channel not computed yet: nothing to draw
        self.curve.setData(x, plane) if drawable and np.isfinite(plane).any() \
            else self.curve.setData([], [])
        while len(self.overlays) < len(state.overlay):
            pen = pg.mkPen(OVERLAY_COLOURS[len(self.overlays) % len(OVERLAY_COLOURS)], width=1.5)
            item = pg.PlotDataItem(pen=pen, symbol="t", symbolSize=5, connect="finite",
                                   symbolBrush=pen.color())
            self.right.addItem(item)
            self.overlays.append(item)
        for item, name in zip(self.overlays, state.overlay + (None,) * len(self.overlays)):
            if name is None:
                item.setData([], [])
                continue
            y = scaled(state.map.plane(name), scale)
            item.setData(x, y, name=name) if drawable and np.isfinite(y).any() \
                else item.setData([], [])
        self.right.enableAutoRange()
