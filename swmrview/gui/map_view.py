"""The live scan map: draws a :class:`~swmrview.model.view_state.ViewState`; click -> position.

2-D scans are an image of the chosen reduction (transparent where not acquired) placed at the
motor positions (a mesh when the steps are uneven); 1-D scans a line against the motor; higher
ranks show the two fastest axes with a spin box per slower axis. Every number drawn comes from
the view state; this widget keeps none of its own.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from swmrview.gui.map_curves import SCAN_AXIS, MapCurves
from swmrview.gui.map_drawing import place_image, scaled
from swmrview.gui.map_scale import MapColorScale
from swmrview.gui.readout import ReadoutLabel
from swmrview.gui.scatter_view import ScatterView
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

MAX_MESH_CELLS = 250_000  # beyond this an uneven map is drawn as an even image (mesh too slow)


class SlowAxisBoxes(QHBoxLayout):
    """A spin box per slower axis of a scan of rank 3 or more: which plane the map shows."""

    def __init__(self, changed: Callable[[tuple[int, ...]], None]) -> None:
        super().__init__()
        self.changed = changed   # called with the indices the user chose
        self.boxes: list[QSpinBox] = []

    def make(self, state: ViewState) -> None:
        """One labelled box per axis before the two the map shows."""
        while self.count():
            item = self.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.boxes = []
        for dim in range(max(0, state.rank - 2)):
            box = QSpinBox()
            box.valueChanged.connect(self._box_changed)
            self.addWidget(QLabel(f"{state.axes[dim].name}:"))
            self.addWidget(box)
            self.boxes.append(box)
        if self.boxes:
            self.addStretch(1)

    def show_index(self, state: ViewState) -> None:
        """Set the boxes to the state's plane (and range), without calling back."""
        for box, n, value in zip(self.boxes, state.shape, state.slow_index):
            box.blockSignals(True)
            box.setMaximum(max(0, n - 1))
            box.setValue(value)
            box.blockSignals(False)

    def _box_changed(self, _value: int) -> None:
        self.changed(tuple(box.value() for box in self.boxes))


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
        self.curves = MapCurves(self.plot)   # 1-D scans
        self.curve, self.x_combo = self.curves.curve, self.curves.x_combo
        self.marker = pg.ScatterPlotItem(size=14, symbol="s", pen=pg.mkPen("r", width=2),
                                         brush=None)
        self._marked: tuple[float, float] | None = None   # where the marker is drawn
        self._outlined: tuple[list, list] | None = None   # the scan's outline as drawn
        self.outline = pg.PlotCurveItem(pen=pg.mkPen((150, 150, 150), width=1,
                                                    style=Qt.DashLine))
        for item in (self.image, self.mesh, self.outline, self.curve, self.marker):
            self.plot.addItem(item)
        self.color_scale = MapColorScale(self.plot, self.image)  # the one owner of the levels
        self.colorbar, self.scale_combo = self.color_scale.colorbar, self.color_scale.combo
        self.title = QLabel(" ")
        self.notes = QLabel("")
        self.notes.setStyleSheet("color: #b07000;")
        for label in (self.title, self.notes):   # long paths and notes never widen the map
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.empty = QLabel("A single frame: no scan map")
        self.empty.setAlignment(Qt.AlignCenter)
        self.slow_axes = SlowAxisBoxes(self.slow_changed.emit)   # rank >= 3: the plane shown
        self.readout = ReadoutLabel()   # a long scatter readout never squeezes the frame
        self.scale_combo.currentTextChanged.connect(lambda _text: self.refresh())
        self.x_combo.textActivated.connect(
            lambda text: self.x_chosen.emit(None if text == SCAN_AXIS else text))
        self.curves.install()
        bottom = QHBoxLayout()
        bottom.addWidget(self.readout, 1)
        bottom.addWidget(self.curves.x_label)
        bottom.addWidget(self.x_combo)
        bottom.addWidget(QLabel("Scale:"))
        bottom.addWidget(self.scale_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.notes)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.empty, 1)
        layout.addLayout(self.slow_axes)
        layout.addLayout(bottom)
        self.scatter_view = ScatterView(self, bottom)  # non-grid scans: points at real positions
        self.plot.scene().sigMouseClicked.connect(self._scene_clicked)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.state: ViewState | None = None
        self.drawn_slow: tuple[int, ...] = ()   # slower-axis indices of the plane on screen
        self._mesh_mode = False
        self.set_colormap("viridis")
        self.empty.hide()

    # ------------------------------------------------------------------ setup
    def set_state(self, state: ViewState, title: str = "", notes: tuple[str, ...] = ()) -> None:
        """Draw ``state`` from now on (a new scan or dataset); ``notes`` say what is missing."""
        self.state = state
        self.color_scale.reset()
        rank = state.rank
        self.title.setText(title)
        first = notes[0] if notes else ""
        more = f"  (+{len(notes) - 1} more: hover)" if len(notes) > 1 else ""
        self.notes.setText(("Note: " + (first[:110] + "..." if len(first) > 110 else first) + more)
                           if notes else "")
        self.notes.setToolTip("\n\n".join(notes))
        self.notes.setVisible(bool(notes))
        self.marker.setData([], [])
        self._marked = None
        self.plot_widget.setVisible(rank > 0)
        self.empty.setVisible(rank == 0)
        self.curves.set_state(state)
        for item in (self.outline, self.colorbar):
            item.setVisible(rank >= 2)
        self.scatter_view.set_state(state)
        self.slow_axes.make(state)
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

    def show_grid(self, on: bool) -> None:
        """Show the grid map's items (curve, or image or mesh and outline), or hide them while
        the scatter draws on the plot; the colour bar stays for a map or a scatter."""
        rank = self.state.rank
        self.curve.setVisible(rank == 1 and on)
        self.image.setVisible(rank >= 2 and on and not self._mesh_mode)
        self.mesh.setVisible(rank >= 2 and on and self._mesh_mode)
        self.outline.setVisible(rank >= 2 and on)
        self.colorbar.setVisible(rank >= 2 or not on)

    def redraw_anew(self) -> None:
        """Draw again from scratch: levels, axes labels and range (grid <-> scatter)."""
        self.color_scale.reset()
        self.update_axes()
        self.refresh()
        self.plot.enableAutoRange()

    def set_colormap(self, name: str) -> None:
        """Colormap of the 2-D map and its colour bar (256-entry LUT)."""
        self.mesh.setColorMap(self.color_scale.set_colormap(name))
        if self.scatter_view.active():   # points are coloured when drawn: draw them again
            self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw from the view state (call at most ~30 times a second)."""
        state = self.state
        if state is None or state.rank == 0:
            return
        self.slow_axes.show_index(state)
        self.drawn_slow = tuple(state.slow_index)
        if self.scatter_view.active():
            return self.scatter_view.refresh()
        plane = scaled(state.plane(), self.color_scale.scale)
        if state.rank == 1:
            self.curves.draw(state, plane, self.color_scale.scale)
            return
        self._draw_plane(state, plane)

    def set_layers(self) -> None:
        """Offer the state's maps, then the scan's per-point fields, as the 1-D x axis."""
        self.curves.set_layers(self.state)

    def _draw_plane(self, state: ViewState, plane: np.ndarray) -> None:
        if plane.size == 0:  # no row yet (a scan whose shape is only known as it grows)
            self.image.clear()
            self.outline.setData([], [])
            self._outlined = None
            return
        rows, cols = state.rank - 2, state.rank - 1
        y_edges, x_edges = state.edges(rows), state.edges(cols)
        uneven = not (state.is_uniform(rows) and state.is_uniform(cols))
        mesh = uneven and plane.size <= MAX_MESH_CELLS
        if mesh != self._mesh_mode:
            self._mesh_mode = mesh
            self.color_scale.follow(self.mesh if mesh else self.image)
            self.image.setVisible(not mesh)
            self.mesh.setVisible(mesh)
        if mesh:
            xx, yy = np.meshgrid(x_edges, y_edges)
            self.mesh.setData(xx, yy, np.ma.masked_invalid(plane).filled(np.nan))
        else:
            place_image(self.image, plane, y_edges, x_edges)
        xs = [x_edges[0], x_edges[-1], x_edges[-1], x_edges[0], x_edges[0]]
        ys = [y_edges[0], y_edges[0], y_edges[-1], y_edges[-1], y_edges[0]]
        if (xs, ys) != self._outlined:   # setting it again re-ranges the view and its axes
            self._outlined = (xs, ys)
            self.outline.setData(xs, ys)  # the whole scan: points to come read as "to come"
        self.color_scale.show(plane, state.reduction)

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
        if state.rank == 1 and self.color_scale.scale == "log":
            y = float(np.log10(y)) if y > 0 else np.nan  # on the curve, drawn as log10 values
        return (x, y) if np.isfinite(x) and np.isfinite(y) else None

    def mark(self, position: tuple[int, ...] | None) -> None:
        """Outline the point whose frame is shown."""
        xy = self.drawn_xy(position)
        if xy == self._marked:   # called at every redraw: moving it repaints the whole map
            return
        self._marked = xy
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
