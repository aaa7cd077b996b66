"""All maps side by side: one small map per channel (and the sum), redrawn with the main map.

A click on any tile shows that point's frame, as a click on the main map does.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget

from swmrview.gui.map_drawing import colormap, display_levels, place_image

COLUMNS = 3


class MapsGrid(QDockWidget):
    """A dock of small maps, one per layer of the view state."""

    point_clicked = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__("All maps", parent)
        self.setObjectName("maps-grid-dock")
        self.view = pg.GraphicsLayoutWidget()
        self.setWidget(self.view)
        self.state = None
        self.tiles: dict[str, tuple[pg.PlotItem, pg.GraphicsObject]] = {}
        self._names: tuple[str, ...] = ()
        self._cmap = colormap("viridis")
        self.view.scene().sigMouseClicked.connect(self._clicked)

    def set_colormap(self, name: str) -> None:
        """Colormap of every tile."""
        self._cmap = colormap(name)
        for _plot, item in self.tiles.values():
            if isinstance(item, pg.ImageItem):
                item.setColorMap(self._cmap)

    def names(self, state) -> tuple[str, ...]:
        """The maps shown: the sum, then every channel."""
        return ("sum",) + tuple(state.channels)

    def refresh(self, state) -> None:
        """Redraw every tile from ``state`` (rebuilding them when the channels changed)."""
        self.state = state
        if state is None or state.rank == 0 or not self.isVisible():
            return
        names = self.names(state)
        if names != self._names or any(p.vb is None for p, _ in self.tiles.values()):
            self._build(state, names)
        for name, (plot, item) in self.tiles.items():
            plane = state.map.plane(name, state.slow_index)
            if state.rank == 1:
                item.setData(state.curve_x(), plane) if np.isfinite(plane).any() \
                    else item.setData([], [])
                continue
            if plane.size == 0:
                continue
            place_image(item, plane, state.edges(state.rank - 2), state.edges(state.rank - 1),
                        display_levels(plane))

    def _build(self, state, names) -> None:
        self.view.clear()
        self.tiles = {}
        self._names = names
        for k, name in enumerate(names):
            plot = self.view.addPlot(row=k // COLUMNS, col=k % COLUMNS, title=name)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            if state.rank == 1:
                item = pg.PlotDataItem(pen=pg.mkPen("#4cc9f0", width=1), connect="finite")
            else:
                item = pg.ImageItem(axisOrder="row-major")
                item.setColorMap(self._cmap)
                plot.setAspectLocked(state.shared_unit() is not None)
            plot.addItem(item)
            self.tiles[name] = (plot, item)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or self.state is None:
            return
        for plot, _item in self.tiles.values():
            if plot.sceneBoundingRect().contains(event.scenePos()):
                view = plot.vb.mapSceneToView(event.scenePos())
                position = self.state.position_at(view.x(), view.y())
                if position is not None:
                    event.accept()
                    self.point_clicked.emit(position)
                return
