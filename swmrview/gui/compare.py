"""Hold and compare: held points marked on the map, a region drawn on it, and their frames.

:class:`CompareController` ties the scan's view state (``state.held``), the map (numbered
markers, a region rectangle), the follower thread (frame requests) and the
:class:`~swmrview.gui.compare_dock.CompareDock` together, so the main window only forwards a
few events to it. No file is read here: frames arrive as messages from the follower thread.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow

from swmrview.gui.compare_dock import REGION_COLOR, CompareDock, point_color
from swmrview.gui.map_drawing import edge_range
from swmrview.gui.map_view import MapView
from swmrview.gui.worker import FollowThread
from swmrview.model.messages import PointFrame, ScanInfo
from swmrview.model.region_points import region_positions
from swmrview.model.messages import RegionFrame
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

#: While a scan is live, a region whose points grew is read again at most this often.
REGION_REFRESH_S = 2.0


def middle_half(lo: float, hi: float) -> tuple[float, float]:
    """The middle half of the interval (lo, hi): where a new region is placed."""
    return lo + (hi - lo) / 4, hi - (hi - lo) / 4


class HeldMarkers:
    """Numbered, coloured markers of the held points on the map."""

    def __init__(self, map_view: MapView) -> None:
        self.map_view = map_view
        self.scatter = pg.ScatterPlotItem(size=17, symbol="star", pen=pg.mkPen("w", width=1.5))
        self.scatter.setZValue(20)
        map_view.plot.addItem(self.scatter)
        self.labels: list[pg.TextItem] = []

    def refresh(self, state: ViewState | None) -> None:
        """Draw a marker at each held point of the plane on screen."""
        for label in self.labels:
            self.map_view.plot.removeItem(label)
        self.labels = []
        spots = []
        if state is not None and state.rank > 0:
            for point in state.held:
                xy = self.map_view.drawn_xy(point.position)
                if xy is None:
                    continue
                color = point_color(point.number)
                spots.append({"pos": xy, "brush": pg.mkBrush(color)})
                label = pg.TextItem(str(point.number), color=color, anchor=(-0.3, 1.1),
                                    fill=pg.mkBrush(0, 0, 0, 160))
                label.setPos(*xy)
                label.setZValue(21)
                self.map_view.plot.addItem(label, ignoreBounds=True)
                self.labels.append(label)
        self.scatter.setData(spots)


class RegionSelector:
    """A rectangle (maps, and scatter maps of any scan) or an x interval (1-D plots) on the
    map, in its plot coordinates."""

    def __init__(self, map_view: MapView) -> None:
        self.map_view = map_view
        pen = pg.mkPen(REGION_COLOR, width=2, style=Qt.DashLine)
        self.rect = pg.RectROI([0, 0], [1, 1], pen=pen, invertible=True)
        self.span = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 30))
        for item in (self.rect, self.span):
            item.setZValue(15)
            item.setVisible(False)
            map_view.plot.addItem(item, ignoreBounds=True)
        self.rank = 0
        self.active = False

    @property
    def changed(self):
        """The signals emitted when the user finished moving the region."""
        return (self.rect.sigRegionChangeFinished, self.span.sigRegionChangeFinished)

    def show(self, state: ViewState | None, on: bool) -> None:
        """Show the region (placed on the middle half of the map the first time) or hide it."""
        self.active = bool(on and state is not None and state.rank > 0)
        rank = self._drawn_rank(state)
        if self.active and (rank != self.rank or not self._item(rank).isVisible()):
            self.rank = rank
            self._place(state)
        self.rect.setVisible(self.active and self.rank >= 2)
        self.span.setVisible(self.active and self.rank == 1)

    def _item(self, rank: int):
        return self.span if rank == 1 else self.rect

    def _drawn_rank(self, state: ViewState | None) -> int:
        """2 where the map is drawn in two dimensions (a map, or the scatter of any scan)."""
        if state is None or state.rank == 0:
            return 0
        return 2 if state.rank >= 2 or self.map_view.scatter_view.active() else 1

    def _place(self, state: ViewState) -> None:
        if self.map_view.scatter_view.active():   # around the points drawn so far
            points = state.scatter.points(state)
            if len(points.x):
                x0, x1 = float(np.min(points.x)), float(np.max(points.x))
                y0, y1 = float(np.min(points.y)), float(np.max(points.y))
                self.set_bounds(middle_half(x0, x1), middle_half(y0, y1), finish=False)
                return
        if state.rank == 1:
            x = state.curve_x()
            x0, x1 = (float(np.nanmin(x)), float(np.nanmax(x))) if np.isfinite(x).any() \
                else (0.0, 1.0)
            self.span.setRegion(middle_half(x0, x1))
            return
        x, y = edge_range(state.edges(state.rank - 1)), edge_range(state.edges(state.rank - 2))
        self.set_bounds(middle_half(*x), middle_half(*y), finish=False)

    def set_bounds(self, x: tuple[float, float], y: tuple[float, float] | None = None,
                   finish: bool = True) -> None:
        """Move the region to ``x`` (and ``y``) in motor coordinates, as a drag would."""
        if self.rank == 1 or y is None:
            self.span.setRegion(x)
            if finish:
                self.span.sigRegionChangeFinished.emit(self.span)
            return
        self.rect.setPos([min(x), min(y)], finish=False)
        self.rect.setSize([abs(x[1] - x[0]), abs(y[1] - y[0])], finish=finish)

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float] | None]:
        """(x interval, y interval or None) the region covers, in motor coordinates."""
        if self.rank == 1:
            lo, hi = self.span.getRegion()
            return (float(lo), float(hi)), None
        pos, size = self.rect.pos(), self.rect.size()
        x = tuple(sorted((pos.x(), pos.x() + size.x())))
        y = tuple(sorted((pos.y(), pos.y() + size.y())))
        return x, y


class ScanSource(Protocol):
    """The scan being followed, as the controller needs it (the main window provides it)."""

    @property
    def state(self) -> ViewState | None:
        """The view state: the owner of the held points."""

    @property
    def follow(self) -> FollowThread | None:
        """The follower thread that answers frame requests."""

    @property
    def shown_position(self) -> tuple[int, ...] | None:
        """Position of the frame on screen."""

    @property
    def generation(self) -> int:
        """Messages of an older generation belong to a previous file or dataset."""


class CompareController(QObject):
    """Holds points and regions for ``window``'s ``scan`` drawn on ``map_view``; see the module
    docstring."""

    def __init__(self, window: QMainWindow, scan: ScanSource, map_view: MapView) -> None:
        super().__init__(window)
        self.window = window
        self.scan = scan
        self.map_view = map_view
        self.dock = CompareDock(window)
        self.markers = HeldMarkers(map_view)
        self.selector = RegionSelector(map_view)
        self.region: RegionFrame | None = None   # newest answer to the newest request
        self._request = 0
        self._requested_n = -1                   # points in the region last asked for
        self._asked_at = 0.0
        self._in_flight = False                  # a region request not answered in full yet
        self._refresh_pending = False            # a timer will look at the region again
        self._dock_sized = False
        self._requested_slow: tuple[int, ...] = ()  # plane the region was read on (rank >= 3)
        self._patterns: dict = {}   # held points' integrated patterns, by position
        self.hold_action = QAction("Hold shown point", window)
        self.hold_action.setShortcut(QKeySequence("H"))
        self.hold_action.triggered.connect(self.hold_shown)
        window.addAction(self.hold_action)
        self.dock.hold_requested.connect(self.hold_shown)
        self.dock.remove_requested.connect(self.remove)
        self.dock.clear_requested.connect(self.clear)
        self.dock.region_toggled.connect(self.set_region_mode)
        self.dock.how_changed.connect(lambda _how: self.request_region())
        for signal in self.selector.changed:
            signal.connect(lambda *_args: self.request_region())

    @property
    def state(self) -> ViewState | None:
        """The scan's view state (the owner of the held points)."""
        return self.scan.state

    def attach(self, follow: FollowThread) -> None:
        """Take held frames and region frames from a new follower thread."""
        follow.worker.held_ready.connect(self._on_held)
        follow.worker.region_ready.connect(self._on_region)

    # ------------------------------------------------------------------ held points
    def hold(self, position) -> bool:
        """Hold the acquired point at ``position`` and ask for its frame; False if refused."""
        state, follow = self.state, self.scan.follow
        if state is None or follow is None or not state.held.add(position):
            if state is not None and state.held.full:
                self.window.statusBar().showMessage(
                    f"At most {state.held.limit} points are held: remove one first", 5000)
            return False
        follow.request_held.emit([tuple(int(p) for p in position)])
        self.show_dock()
        self._redraw()
        return True

    def show_dock(self) -> None:
        """Show the dock; the first time at about a third of the window's width."""
        first = not self._dock_sized
        self._dock_sized = True
        self.dock.show()
        if first:
            self.window.resizeDocks([self.dock], [max(320, self.window.width() // 3)],
                                    Qt.Horizontal)

    def hold_shown(self) -> None:
        """Hold the point whose frame is shown (the "H" key and the dock's button)."""
        position = self.scan.shown_position
        if position is not None and self.state is not None and self.state.rank > 0:
            self.hold(position)

    def toggle(self, position) -> None:
        """Ctrl+click on the map: hold the point, or let it go if held."""
        if self.state is not None and position in self.state.held:
            self.remove(position)
        else:
            self.hold(position)

    def remove(self, position) -> None:
        """Let go of a held point."""
        if self.state is not None and self.state.held.remove(position):
            self._redraw()

    def clear(self) -> None:
        """Let go of every held point."""
        if self.state is not None:
            self.state.held.clear()
            self._redraw()

    def _on_held(self, point: PointFrame) -> None:
        if self.state is not None and point.generation == self.scan.generation \
                and self.state.held.set_frame(point.position, point.frame, point.levels):
            pattern = point.patterns.get("integrate") if point.patterns else None
            if pattern is not None:
                self._patterns[tuple(point.position)] = pattern
            self._redraw()

    def _redraw(self) -> None:
        state = self.state
        held = [] if state is None else [
            (p.number, p.position, f"point {state.flat_index(p.position)} {p.position}",
             state.held.frame(p.position), state.held.levels(p.position)) for p in state.held]
        self.dock.show_held(held)
        self.markers.refresh(state)
        self.window.frame_view.pattern_panel.set_held(
            [] if state is None else [(p.number, p.position, self._patterns.get(p.position),
                                       point_color(p.number)) for p in state.held])

    # ------------------------------------------------------------------ regions
    def set_region_mode(self, on: bool) -> None:
        """Show the region on the map and read its frame, or hide it."""
        self.selector.show(self.state, on)
        if self.selector.active:
            self.show_dock()
            self.request_region()
        else:
            self._request += 1   # answers still on their way are dropped
            self.region, self._in_flight = None, False
            self._requested_n = -1
            self.dock.show_region(None)

    def region_positions(self) -> np.ndarray:
        """The acquired positions inside the region now."""
        x, y = self.selector.bounds()
        return region_positions(self.state, x, y,
                                scatter=self.map_view.scatter_view.active())

    def request_region(self) -> None:
        """Ask the follower thread for the frame of the points inside the region."""
        state, follow = self.state, self.scan.follow
        if not self.selector.active or state is None or follow is None:
            return
        positions = self.region_positions()
        self._request += 1
        self._requested_n, self._asked_at = state.n_acquired, time.monotonic()
        self._requested_slow = tuple(state.slow_index)
        self._in_flight = True
        follow.request_region.emit(positions, self.dock.how_combo.currentText(), self._request)

    def _on_region(self, message: RegionFrame) -> None:
        if message.generation != self.scan.generation or message.request != self._request:
            return
        self.dock.show_region(message)
        if message.done:
            self.region, self._in_flight = message, False
            self._refresh_region()   # points that arrived while it was read

    # ------------------------------------------------------------------ window events
    def scan_info(self, info: ScanInfo, switch: bool) -> None:
        """A new scan (nothing held) or another dataset of it (the held frames read again)."""
        state, follow = self.state, self.scan.follow
        self.dock.set_frame_axis(info.frame_axis)   # spectra in the frame view's units
        self.dock.set_kind(info.frame_kind)
        self.region = None
        if switch and state is not None:
            state.held.clear_frames()
            if len(state.held) and follow is not None:
                follow.request_held.emit(state.held.positions)
        self.selector.rank = -1   # placed again on this map
        self.set_region_mode(self.dock.region_box.isChecked())
        self._redraw()

    def map_redrawn(self) -> None:
        """The map was redrawn: move the markers, and read a live region again if it grew."""
        self.markers.refresh(self.state)
        self._refresh_region()

    def _refresh_region(self) -> None:
        """Read the region again if points arrived since it was asked for (at most every
        :data:`REGION_REFRESH_S`; later if asked sooner), so a live region keeps up."""
        state = self.state
        if not self.selector.active or state is None or self._in_flight:
            return
        if tuple(state.slow_index) != self._requested_slow:   # another plane shown
            self.request_region()
            return
        if state.n_acquired == self._requested_n:
            return
        wait_s = REGION_REFRESH_S - (time.monotonic() - self._asked_at)
        if wait_s <= 0:
            self.request_region()
        elif not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(int(wait_s * 1000) + 1, self._refresh_timer)

    def _refresh_timer(self) -> None:
        self._refresh_pending = False
        self._refresh_region()
