"""The live scan map: draws a :class:`~swmrview.model.view_state.ViewState`; click -> position.

2-D scans are an image of the chosen reduction (transparent where not acquired) placed at the
motor positions (a mesh when the steps are uneven); 1-D scans a line against the motor; higher
ranks show the two fastest axes with a spin box per slower axis. Every number drawn comes from
the view state; this widget keeps none of its own.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from swmrview.gui.frame_view import range_moved, colormap, display_levels
from swmrview.gui.readout import ReadoutLabel
from swmrview.gui.scatter_view import ScatterView
from swmrview.model.view_settings import MAP_SCALES
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

MAX_MESH_CELLS = 250_000  # beyond this an uneven map is drawn as an even image (mesh too slow)
SCALES = MAP_SCALES   # one list: settings files naming another scale are refused


SCAN_AXIS = "(scan axis)"
OVERLAY_COLOURS = ("#f9c74f", "#f94144", "#90be6d", "#f8961e", "#577590", "#c77dff")


class MapView(QWidget):
    """Scan map display; emits :attr:`point_clicked` with the position of a clicked point."""

    point_clicked = Signal(object)   # tuple position
    slow_changed = Signal(object)    # tuple of slower-axis indices chosen by the user
    x_chosen = Signal(object)        # 1-D scans: the map to plot against (None: scan axis)
    point_held = Signal(object)      # tuple position Ctrl+clicked (hold and compare)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        self.plot = self.plot_widget.getPlotItem()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.mesh = pg.PColorMeshItem(enableAutoLevels=False)
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#4cc9f0", width=1.5), symbol="o",
                                     symbolSize=5, connect="finite")
        self.marker = pg.ScatterPlotItem(size=14, symbol="s", pen=pg.mkPen("r", width=2),
                                         brush=None)
        self.colorbar = pg.ColorBarItem(interactive=False, width=14, colorMap="viridis")
        self.colorbar.axis.setWidth(62)  # room for 7-digit sums
        self.outline = pg.PlotCurveItem(pen=pg.mkPen((150, 150, 150), width=1,
                                                    style=Qt.DashLine))
        for item in (self.image, self.mesh, self.outline, self.curve, self.marker):
            self.plot.addItem(item)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.title = QLabel(" ")
        self.notes = QLabel("")
        self.notes.setStyleSheet("color: #b07000;")
        for label in (self.title, self.notes):   # long paths and notes never widen the map
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.empty = QLabel("A single frame: no scan map")
        self.empty.setAlignment(Qt.AlignCenter)
        self.slow_row = QHBoxLayout()
        self.slow_boxes: list[QSpinBox] = []
        self.readout = ReadoutLabel()   # a long scatter readout never squeezes the frame
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(SCALES)
        self.scale_combo.setToolTip("Map colour scale: linear, log10, or levels at the 1st and "
                                    "99th percentiles")
        self.scale_combo.currentTextChanged.connect(lambda _text: self.refresh())
        self.x_combo = QComboBox()
        self.x_combo.setToolTip("1-D scans: plot against the scan axis or another map "
                                "(a motor or counter channel)")
        self.x_combo.textActivated.connect(
            lambda text: self.x_chosen.emit(None if text == SCAN_AXIS else text))
        self.x_label = QLabel("x:")
        self.overlays: list[pg.PlotDataItem] = []   # 1-D scans: more maps, on a right axis
        self.right = pg.ViewBox()   # their own scale: a ratio beside counts stays readable
        self.plot.scene().addItem(self.right)
        self.plot.getAxis("right").linkToView(self.right)
        self.right.setXLink(self.plot.vb)
        self.plot.vb.sigResized.connect(
            lambda *_: self.right.setGeometry(self.plot.vb.sceneBoundingRect()))
        bottom = QHBoxLayout()
        bottom.addWidget(self.readout, 1)
        bottom.addWidget(self.x_label)
        bottom.addWidget(self.x_combo)
        bottom.addWidget(QLabel("Scale:"))
        bottom.addWidget(self.scale_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.notes)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.empty, 1)
        layout.addLayout(self.slow_row)
        layout.addLayout(bottom)
        self.scatter_view = ScatterView(self, bottom)  # non-grid scans: points at real positions
        self.plot.scene().sigMouseClicked.connect(self._scene_clicked)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.state: ViewState | None = None
        self.drawn_slow: tuple[int, ...] = ()   # slower-axis indices of the plane on screen
        self._mesh_mode = False
        self._levels: tuple[float, float] | None = None
        self._lut_name = "viridis"
        self.set_colormap("viridis")
        self.empty.hide()

    # ------------------------------------------------------------------ setup
    def set_state(self, state: ViewState, title: str = "", notes: tuple[str, ...] = ()) -> None:
        """Draw ``state`` from now on (a new scan or dataset); ``notes`` say what is missing."""
        self.state = state
        self._levels = None
        rank = state.rank
        self.title.setText(title)
        first = notes[0] if notes else ""
        more = f"  (+{len(notes) - 1} more: hover)" if len(notes) > 1 else ""
        self.notes.setText(("Note: " + (first[:110] + "..." if len(first) > 110 else first) + more)
                           if notes else "")
        self.notes.setToolTip("\n\n".join(notes))
        self.notes.setVisible(bool(notes))
        self.marker.setData([], [])
        self.plot_widget.setVisible(rank > 0)
        self.empty.setVisible(rank == 0)
        self.curve.setVisible(rank == 1)
        self.x_combo.setVisible(rank == 1 and state.scatter is None)
        self.x_label.setVisible(rank == 1 and state.scatter is None)
        self.plot.showAxis("right", False)
        for item in self.overlays:
            item.setData([], [])
        self.set_layers()
        for item in (self.outline, self.colorbar):
            item.setVisible(rank >= 2)
        self.scatter_view.set_state(state)
        self._make_slow_boxes()
        self.update_axes()
        self.refresh()
        self.plot.enableAutoRange()

    def update_axes(self) -> None:
        """Label the axes from the scan's motors (after a new scan or new positions)."""
        state = self.state
        if state is None or state.rank == 0:
            return
        if self.scatter_view.active():
            return self.scatter_view.update_axes()
        if state.rank == 1:
            self.plot.setLabel("bottom", state.x_label())
            self.plot.setLabel("left", state.reduction)
        else:
            self.plot.setLabel("bottom", state.axes[-1].label)
            self.plot.setLabel("left", state.axes[-2].label)
        self.plot.setAspectLocked(state.shared_unit() is not None)  # same unit: true shape
        self.plot.enableAutoRange()

    def _make_slow_boxes(self) -> None:
        while self.slow_row.count():
            item = self.slow_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.slow_boxes = []
        for dim in range(max(0, self.state.rank - 2)):
            box = QSpinBox()
            box.valueChanged.connect(self._slow_box_changed)
            self.slow_row.addWidget(QLabel(f"{self.state.axes[dim].name}:"))
            self.slow_row.addWidget(box)
            self.slow_boxes.append(box)
        if self.slow_boxes:
            self.slow_row.addStretch(1)

    def _slow_box_changed(self, _value: int) -> None:
        self.slow_changed.emit(tuple(box.value() for box in self.slow_boxes))

    def set_colormap(self, name: str) -> None:
        """Colormap of the 2-D map and its colour bar (256-entry LUT)."""
        self._lut_name = name
        self.colorbar.setColorMap(colormap(name))
        self.mesh.setColorMap(colormap(name))
        if self.scatter_view.active():   # points are coloured when drawn: draw them again
            self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw from the view state (call at most ~30 times a second)."""
        state = self.state
        if state is None or state.rank == 0:
            return
        for box, n, value in zip(self.slow_boxes, state.shape, state.slow_index):
            box.blockSignals(True)
            box.setMaximum(max(0, n - 1))
            box.setValue(value)
            box.blockSignals(False)
        self.drawn_slow = tuple(state.slow_index)
        if self.scatter_view.active():
            return self.scatter_view.refresh()
        plane = state.plane()
        scale = self.scale_combo.currentText()
        if scale == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                plane = np.where(plane > 0, np.log10(plane), np.nan)
        if state.rank == 1:
            self._draw_curves(state, plane, scale == "log")
            return
        self._draw_plane(state, plane)

    def set_layers(self) -> None:
        """Offer the state's maps, then the scan's per-point fields, as the 1-D x axis."""
        state = self.state
        names = [SCAN_AXIS] + (list(state.layers) if state is not None else [])
        if state is not None and state.rank == 1:   # a field becomes a channel when chosen
            names += [path for path, frame in state.info.fields if not frame]
        current = state.x_layer if state is not None and state.x_layer else SCAN_AXIS
        self.x_combo.blockSignals(True)
        self.x_combo.clear()
        self.x_combo.addItems(names)
        self.x_combo.setCurrentText(current)
        self.x_combo.blockSignals(False)

    def _draw_curves(self, state: ViewState, plane: np.ndarray, log: bool) -> None:
        """1-D scans: the shown map, and the overlaid ones, against the chosen x."""
        self.plot.setLabel("left", ("log10 " if log else "") + state.reduction)
        if state.overlay:
            self.plot.setLabel("right", ("log10 " if log else "") + ", ".join(state.overlay))
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
            y = state.map.plane(name)
            if log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = np.where(y > 0, np.log10(y), np.nan)
            item.setData(x, y, name=name) if drawable and np.isfinite(y).any() \
                else item.setData([], [])
        self.right.enableAutoRange()

    def _draw_plane(self, state: ViewState, plane: np.ndarray) -> None:
        if plane.size == 0:  # no row yet (a scan whose shape is only known as it grows)
            self.image.clear()
            self.outline.setData([], [])
            return
        rows, cols = state.rank - 2, state.rank - 1
        y_edges, x_edges = state.edges(rows), state.edges(cols)
        levels = display_levels(plane)
        if self.scale_combo.currentText() == "1-99 %" and np.isfinite(plane).any():
            lo, hi = np.nanpercentile(plane, [1, 99])
            levels = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
        self.colorbar.axis.setLabel(("log10 " if self.scale_combo.currentText() == "log"
                                     else "") + state.reduction)
        uneven = not (state.is_uniform(rows) and state.is_uniform(cols))
        mesh = uneven and plane.size <= MAX_MESH_CELLS
        if mesh != self._mesh_mode:
            self._mesh_mode = mesh
            self.colorbar.setImageItem(self.mesh if mesh else self.image)
            self._levels = None
            self.image.setVisible(not mesh)
            self.mesh.setVisible(mesh)
        if mesh:
            xx, yy = np.meshgrid(x_edges, y_edges)
            self.mesh.setData(xx, yy, np.ma.masked_invalid(plane).filled(np.nan))
        else:
            x0, x1, y0, y1 = x_edges[0], x_edges[-1], y_edges[0], y_edges[-1]
            # motors moving towards lower positions: flip, so each cell sits at its position
            data = plane[:: -1 if y1 < y0 else 1, :: -1 if x1 < x0 else 1]
            self.image.setImage(np.ascontiguousarray(data, dtype=np.float32), autoLevels=False)
            self.image.setRect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
        xs = [x_edges[0], x_edges[-1], x_edges[-1], x_edges[0], x_edges[0]]
        ys = [y_edges[0], y_edges[0], y_edges[-1], y_edges[-1], y_edges[0]]
        self.outline.setData(xs, ys)  # the whole scan, so points to come read as "to come"
        if range_moved(self._levels, levels, 0.005):  # the colour bar's axis redraws on a change
            self._levels = levels
            self.colorbar.setLevels(levels)

    def drawn_xy(self, position: tuple[int, ...] | None) -> tuple[float, float] | None:
        """Where the point at ``position`` is drawn (plot coordinates), or None if it is not
        on screen: outside the map, on another plane, or with no value to draw."""
        state = self.state
        if position is None or state is None or state.rank == 0 \
                or not state.map.contains(position):
            return None
        if state.rank > 2 and tuple(position[:-2]) != tuple(state.slow_index):
            return None   # on another plane than the one shown
        if self.scatter_view.active():   # where the motors really were
            return self.state.scatter.point_xy(position)
        x, y = state.point_xy(position)
        if state.rank == 1 and self.scale_combo.currentText() == "log":
            y = float(np.log10(y)) if y > 0 else np.nan  # on the curve, drawn as log10 values
        return (x, y) if np.isfinite(x) and np.isfinite(y) else None

    def mark(self, position: tuple[int, ...] | None) -> None:
        """Outline the point whose frame is shown."""
        xy = self.drawn_xy(position)
        self.marker.setData(*(([xy[0]], [xy[1]]) if xy is not None else ([], [])))

    # ------------------------------------------------------------------ hover and clicks
    def _mouse_moved(self, scene_pos: QPointF) -> None:
        position = self.position_at_scene(scene_pos)
        self.readout.setText(self.state.readout(position) if position is not None else " ")
        if position is not None and self.scatter_view.active():  # where the motors really were
            self.readout.setText(f"{self.readout.text()}  "
                                 f"{self.state.scatter.readout(position)}")

    def scene_position(self, position: tuple[int, ...]) -> QPointF | None:
        """Scene coordinates of the point at ``position`` (for clicking it in tests)."""
        xy = self.drawn_xy(position)
        return None if xy is None else self.plot.vb.mapViewToScene(QPointF(*xy))

    def _scene_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        position = self.position_at_scene(event.scenePos())
        if position is not None:
            event.accept()
            if event.modifiers() & Qt.ControlModifier:
                self.point_held.emit(position)
                return
            self.point_clicked.emit(position)

    def click_at_scene(self, scene_pos: QPointF) -> tuple[int, ...] | None:
        """Handle a click at ``scene_pos`` as the mouse would; returns the position clicked."""
        position = self.position_at_scene(scene_pos)
        if position is not None:
            self.point_clicked.emit(position)
        return position

    def position_at_scene(self, scene_pos: QPointF) -> tuple[int, ...] | None:
        """Position of the scan point under ``scene_pos``, or None outside the map."""
        if self.state is None or self.state.rank == 0:
            return None
        if self.scatter_view.active():
            return self.scatter_view.position_at_scene(scene_pos)
        view = self.plot.vb.mapSceneToView(scene_pos)
        return self.state.position_at(view.x(), view.y())
