"""All maps side by side: one small map per channel (and the sum), redrawn with the main map.

Each tile is drawn as the main map is: a grid image, a 1-D line, or, when the main map shows a
non-grid scan's points, a scatter at the recorded positions (the main map's
:class:`~swmrview.gui.scatter_view.ScatterItems`). A click on any tile shows that point's frame,
as a click on the main map does.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget

from swmrview.gui.map_drawing import colormap, display_levels, place_image
from swmrview.gui.scatter_view import GRID, ScatterItems

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
        self.mode = GRID      # the main map's: "Grid", or its scatter's "Points" / "Interpolated"
        # name -> (plot, ImageItem, PlotDataItem (1-D) or ScatterItems (non-grid scans))
        self.tiles: dict[str, tuple[pg.PlotItem, object]] = {}
        self._built: tuple = ()   # (names, kind, state) the tiles were made for
        self._cmap_name = "viridis"
        self._cmap = colormap("viridis")
        self.view.scene().sigMouseClicked.connect(self._clicked)

    def set_colormap(self, name: str) -> None:
        """Colormap of every tile."""
        self._cmap_name, self._cmap = name, colormap(name)
        for _plot, item in self.tiles.values():
            if isinstance(item, pg.ImageItem):
                item.setColorMap(self._cmap)
        if any(isinstance(item, ScatterItems) for _plot, item in self.tiles.values()):
            self.refresh(self.state, self.mode)   # points are coloured when drawn

    def names(self, state) -> tuple[str, ...]:
        """The maps shown: the sum, then every channel."""
        return ("sum",) + tuple(state.channels)

    def refresh(self, state, mode: str = GRID) -> None:
        """Redraw every tile from ``state`` as the main map shows it, ``mode`` being its scatter
        mode (rebuilding the tiles when the channels or the kind of map changed)."""
        self.state, self.mode = state, mode
        if state is None or state.rank == 0 or not self.isVisible():
            return
        names = self.names(state)
        scatter = state.scatter is not None and mode != GRID
        kind = "scatter" if scatter else "line" if state.rank == 1 else "image"
        built = self._built
        if not built or built[:2] != (names, kind) or built[2] is not state \
                or any(p.vb is None for p, _ in self.tiles.values()):
            self._build(state, names, kind)
        for name, (plot, item) in self.tiles.items():
            if scatter:
                points = state.scatter.points(state, name)
                item.draw(state, points, mode, display_levels(points.values), self._cmap_name,
                          layer=name)
                continue
            plane = state.map.plane(name, state.slow_index)
            if state.rank == 1:
                item.setData(state.curve_x(), plane) if np.isfinite(plane).any() \
                    else item.setData([], [])
                continue
            if plane.size == 0:
                continue
            place_image(item, plane, state.edges(state.rank - 2), state.edges(state.rank - 1),
                        display_levels(plane))

    def _build(self, state, names, kind: str) -> None:
        self.view.clear()
        self.tiles = {}
        self._built = (names, kind, state)
        for k, name in enumerate(names):
            plot = self.view.addPlot(row=k // COLUMNS, col=k % COLUMNS, title=name)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            if kind == "scatter":
                item = ScatterItems(plot)
                plot.addItem(item.image)
                plot.addItem(item.points)
                plot.setAspectLocked(state.scatter.shared_unit() is not None)
                self.tiles[name] = (plot, item)
                continue
            if kind == "line":
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
        for plot, item in self.tiles.values():
            if plot.sceneBoundingRect().contains(event.scenePos()):
                if isinstance(item, ScatterItems):   # the nearest point, as on the main map
                    position = item.position_at_scene(self.state, event.scenePos())
                else:
                    view = plot.vb.mapSceneToView(event.scenePos())
                    position = self.state.position_at(view.x(), view.y())
                if position is not None:
                    event.accept()
                    self.point_clicked.emit(position)
                return
