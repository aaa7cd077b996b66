"""The scatter map of a non-grid scan, drawn inside the :class:`~swmrview.gui.map_view.MapView`.

Acquired points sit at their real positions, coloured by the map value with the map's colormap
and levels (its colour bar); the planned points still to come are a faint grey line of small
dots. A "Map:" combo shows the grid map instead ("Grid", "Line" for 1-D scans), the points, or
the points interpolated onto a regular image. Everything drawn comes from the view state's
:class:`~swmrview.model.scatter.ScatterGeometry`; nothing is read from files here.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QBoxLayout, QComboBox, QLabel

from swmrview.gui.map_drawing import colormap, point_levels, scaled
from swmrview.gui.map_scale import MapColorScale
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

GRID, POINTS, INTERPOLATED = "Grid", "Points", "Interpolated"
PICK_PX = 20.0          # a click selects the nearest point within this many pixels
MAX_SYMBOLS = 10_000    # more points are drawn binned into an image (symbols redraw slowly)
MIN_BINS = 512          # binned points: cells a side at least (else about the plot's pixels)
MAX_PENDING = 4_000     # more planned points to come are drawn as every k-th dot, no line
NAN_BRUSH = (128, 128, 128, 160)


class ScatterItems:
    """The coloured points of a scatter map in one plot: symbols (binned into an image beyond
    :data:`MAX_SYMBOLS`) or the points interpolated onto an image. The main map draws with one,
    each *All maps* tile with its own."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.image = pg.ImageItem(axisOrder="row-major")
        self.points = pg.ScatterPlotItem(size=8, pen=None)
        self._brushes: list = []
        self._lut_name = ""
        self._image_lut = ""
        self._rgba_name = ""
        self._rgba_lut = np.zeros(257, np.uint32)
        self.result = None   # the image drawn last (model.scatter.Interpolated), or None

    def draw(self, state: ViewState, pts, mode: str, levels: tuple[float, float] | None,
             lut_name: str, scale: str = "linear", layer: str | None = None) -> None:
        """Draw ``pts`` (:class:`~swmrview.model.scatter.ScatterPoints`, the values of map
        ``layer``, by default the one shown) as ``mode`` (Points or Interpolated), coloured
        with colormap ``lut_name`` over ``levels`` of the scaled values."""
        binned = mode == POINTS and len(pts) > MAX_SYMBOLS
        self.points.setVisible(mode == POINTS and not binned)
        self.image.setVisible(mode == INTERPOLATED or binned)
        if self.image.isVisible():
            self.points.setData([], [])
            self._draw_image(state, scale, pts, levels, lut_name, binned, layer)
        else:
            self.points.setData(pts.x, pts.y,
                                brush=self._brush_list(scaled(pts.values, scale), levels,
                                                       lut_name),
                                size=self._point_size(len(pts)))

    def _draw_image(self, state: ViewState, scale: str, pts, levels, lut_name: str,
                    binned: bool = False, layer: str | None = None) -> None:
        """The interpolated image, or (``binned``) the points binned about one per cell
        (kept by the geometry and updated with new points only), drawn through pyqtgraph's
        fast path: a float32 image, fixed levels, a 256-entry lookup table."""
        result = state.scatter.binned(state, layer, points=pts, max_size=self._pixels()) \
            if binned else state.scatter.interpolate(state, points=pts)
        self.result = result
        if result is None:
            self.image.clear()
            return
        if binned:   # coloured here: straight into a QImage, NaN cells transparent
            self.image.setLookupTable(None)
            self._image_lut = ""
            self.image.setImage(self._rgba(scaled(result.image, scale), levels, lut_name),
                                autoLevels=False, levels=None)
        else:
            if lut_name != self._image_lut:
                self.image.setLookupTable(colormap(lut_name).getLookupTable(nPts=256))
                self._image_lut = lut_name
            self.image.setImage(scaled(result.image, scale).astype(np.float32),
                                autoLevels=False, levels=levels or (0.0, 1.0))
        self.image.setRect(*result.rect)

    def _rgba(self, image: np.ndarray, levels, lut_name: str) -> np.ndarray:
        """``image`` coloured by the 256-entry colormap over ``levels`` as (rows, cols, 4)
        uint8 RGBA, NaN transparent: pyqtgraph's fastest path (no scaling when painted)."""
        if lut_name != self._rgba_name:
            lut = np.ascontiguousarray(colormap(lut_name).getLookupTable(nPts=256, alpha=True),
                                       np.uint8)
            self._rgba_lut = np.append(lut.view(np.uint32).ravel(), np.uint32(0))
            self._rgba_name = lut_name
        lo, hi = levels or (0.0, 1.0)
        index = np.subtract(image, lo, dtype=np.float32)
        index *= np.float32(255.0 / ((hi - lo) or 1.0))
        np.clip(index, 0, 255, out=index)
        index[np.isnan(index)] = 256                    # the transparent entry
        rgba = self._rgba_lut[index.astype(np.int32)]
        return rgba.view(np.uint8).reshape(image.shape + (4,))

    def _brush_list(self, values: np.ndarray, levels, name: str) -> list:
        """One brush per point from colormap ``name`` (256 shared brushes) and ``levels``."""
        if name != self._lut_name or not self._brushes:
            lut = colormap(name).getLookupTable(nPts=256, alpha=False)
            self._brushes = [pg.mkBrush(*(int(c) for c in rgb)) for rgb in lut]
            self._brushes.append(pg.mkBrush(*NAN_BRUSH))
            self._lut_name = name
        lo, hi = levels or (0.0, 1.0)
        with np.errstate(invalid="ignore"):
            index = np.clip((values - lo) / ((hi - lo) or 1.0) * 255, 0, 255)
        index = np.where(np.isfinite(index), index, 256).astype(np.int64)
        return [self._brushes[i] for i in index]

    def _pixels(self) -> int:
        """Cells a side for binned points: about the plot's pixels, at least
        :data:`MIN_BINS` (so a zoom still shows detail)."""
        box = self.plot.vb.boundingRect()
        return int(max(MIN_BINS, box.width(), box.height()))

    def _point_size(self, n: int) -> float:
        """Symbol size in pixels: big for a few points, small for many (at least 4)."""
        box = self.plot.vb.boundingRect()
        side = max(100.0, min(box.width(), box.height()))
        return float(np.clip(0.8 * side / np.sqrt(max(n, 1)), 4, 14))

    def position_at_scene(self, state: ViewState, scene_pos: QPointF,
                          points=None) -> tuple[int, ...] | None:
        """The point (of ``points``, if drawn) nearest ``scene_pos`` within :data:`PICK_PX`
        pixels, or None."""
        vb = self.plot.vb
        view = vb.mapSceneToView(scene_pos)
        pixel = vb.viewPixelSize()
        scale = (pixel[0] or 1.0, pixel[1] or 1.0)
        return state.scatter.nearest(state, view.x(), view.y(), scale, PICK_PX, points=points)


class ScatterHost(Protocol):
    """What the scatter needs of the map it draws in: a
    :class:`~swmrview.gui.map_view.MapView`."""

    plot: pg.PlotItem
    color_scale: MapColorScale   # shared: the grid map and the scatter take turns on it

    def show_grid(self, on: bool) -> None:
        """Show the grid map's own items, or hide them for the scatter's."""

    def redraw_anew(self) -> None:
        """Draw again from scratch (levels, axes, range)."""


class ScatterView:
    """Scatter items of a map view and the choice between grid, points and interpolated."""

    def __init__(self, map_view: ScatterHost, row: QBoxLayout) -> None:
        self.map_view = map_view
        plot = map_view.plot
        self.pending_line = pg.PlotCurveItem(pen=pg.mkPen((160, 160, 160, 90), width=1))
        self.pending_dots = pg.ScatterPlotItem(size=3, pen=None,
                                               brush=pg.mkBrush(160, 160, 160, 140))
        self.items = ScatterItems(plot)   # the coloured points, drawn as the tiles' are
        self.image, self.points = self.items.image, self.items.points
        for z, item in enumerate((self.image, self.pending_line, self.pending_dots,
                                  self.points)):
            item.setZValue(-10 + z)  # under the marker
            item.setVisible(False)
            plot.addItem(item)
        self.label = QLabel("Map:")
        self.combo = QComboBox()
        self.combo.setToolTip("A scan with recorded positions: its points at their real "
                              "positions, interpolated onto an image, or on the scan's grid")
        self.combo.activated.connect(self._chosen)
        row.insertWidget(1, self.label)
        row.insertWidget(2, self.combo)
        self.state: ViewState | None = None
        self.drawn = None    # the points drawn last (model.scatter.ScatterPoints), for picking
        self._pending_drawn = None   # the pending path drawn last
        self.user_choice = False     # the user picked a mode: kept for this scan
        self._show_combo(False)

    # ------------------------------------------------------------------ mode
    @property
    def mode(self) -> str:
        """"Grid" (the grid map or line), "Points" or "Interpolated"."""
        return GRID if self.combo.currentIndex() <= 0 else self.combo.currentText()

    def active(self) -> bool:
        """True if the map shows the scatter (points or interpolated) instead of the grid."""
        return self.state is not None and self.state.scatter is not None and self.mode != GRID

    def set_mode(self, mode: str) -> None:
        """Show ``mode`` ("Grid", "Points", "Interpolated") as if the user chose it."""
        self.combo.setCurrentIndex({GRID: 0, POINTS: 1, INTERPOLATED: 2}[mode])
        self._chosen()

    def _chosen(self, _index: int = 0) -> None:
        self.user_choice = True
        self._apply_mode()

    def _show_combo(self, on: bool) -> None:
        self.label.setVisible(on)
        self.combo.setVisible(on)

    def set_state(self, state: ViewState) -> None:
        """A new scan or dataset: offer the scatter when it has positions, and pick the mode."""
        new_scan = state is not self.state
        self.state = state
        self.map_view.color_scale.reset()
        self.drawn = self._pending_drawn = None
        has = state.scatter is not None
        self._show_combo(has)
        if new_scan:
            self.user_choice = False
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItems(["Line" if state.rank == 1 else GRID, POINTS, INTERPOLATED])
            self.combo.blockSignals(False)
        if has and not self.user_choice:
            self._auto_mode()
        self._apply_mode(redraw=False)

    def positions_changed(self) -> None:
        """New positions were read: the first ones of a scan may settle which view fits."""
        state = self.state
        if state is None or state.scatter is None:
            return
        self._show_combo(True)
        if not self.user_choice:
            before = self.active()
            self._auto_mode()
            if self.active() != before:
                self._apply_mode()

    def _auto_mode(self) -> None:
        points = self.state.scatter.prefers_points(self.state)
        self.combo.setCurrentIndex(1 if points else 0)

    def _apply_mode(self, redraw: bool = True) -> None:
        """Show the scatter's items or the grid map's, labelled for what is shown."""
        mv, state = self.map_view, self.state
        if state is None:
            return
        on = self.active()
        mv.show_grid(not on)
        self.points.setVisible(on and self.mode == POINTS)
        self.image.setVisible(on and self.mode == INTERPOLATED)
        for item in (self.pending_line, self.pending_dots):
            item.setVisible(on)
        if not on:
            for item in (self.points, self.pending_dots):
                item.setData([], [])
            self.pending_line.setData([], [])
            self._pending_drawn = None
        if redraw:
            mv.redraw_anew()

    # ------------------------------------------------------------------ drawing
    def update_axes(self) -> None:
        """Label the axes with the motors' names and units; same units keep the aspect."""
        geometry = self.state.scatter
        plot = self.map_view.plot
        plot.setLabel("bottom", geometry.label("x"))
        plot.setLabel("left", geometry.label("y"))
        plot.setAspectLocked(geometry.shared_unit() is not None)
        plot.enableAutoRange()

    def refresh(self) -> None:
        """Redraw points (or the interpolated image) and the pending trajectory."""
        state, color_scale = self.state, self.map_view.color_scale
        geometry = state.scatter
        scale = color_scale.scale
        pts = self.drawn = geometry.points(state)
        color_scale.show(None, state.reduction, point_levels(pts.values, scale))
        self.items.draw(state, pts, self.mode, color_scale.levels, color_scale.colormap_name,
                        scale)
        path = geometry.pending_path(state)
        if path is not self._pending_drawn:    # kept by the geometry until points come
            px, py, connect = self._pending_drawn = path
            if len(px) > MAX_PENDING:   # a dense plan: every k-th point, no line (symbols and
                step = -(-len(px) // MAX_PENDING)        # long lines redraw slowly)
                px, py, connect = px[::step], py[::step], np.zeros(0, bool)
            self.pending_line.setData(px if len(connect) else [], py if len(connect) else [],
                                      connect=connect if len(connect) else "all")
            self.pending_dots.setData(px, py)

    # ------------------------------------------------------------------ picking
    def position_at_scene(self, scene_pos: QPointF) -> tuple[int, ...] | None:
        """The drawn point nearest ``scene_pos`` (within :data:`PICK_PX` pixels), or None."""
        return self.items.position_at_scene(self.state, scene_pos, self.drawn)

