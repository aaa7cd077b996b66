"""Redraw scheduling: what changed since the last redraw, drawn at most ~30 times a second.

The follower's updates arrive faster than a screen shows them; :class:`RedrawScheduler` keeps
only the newest pending frame, status and progress and a "map changed" flag, and a timer draws
them into the window's views (the map at most 10 times a second: it changes a few cells at a
time). Each live frame drawn is told to the window's :class:`~swmrview.model.stats.LagStats`
with the time its point was found ready.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal

from swmrview.model.messages import PointFrame, Update
from swmrview.model.status import Status
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

REDRAW_MS = 33
MAP_REDRAW_S = 0.1   # the map changes a few cells at a time: 10 redraws a second are plenty

#: A frame waiting to be drawn: (position, frame, live, levels, binning).
PendingFrame = tuple


def point_text(state: ViewState | None, position) -> str:
    """How the point at ``position`` is named above its frame and in the toolbar."""
    if position is None or state is None or state.rank == 0:
        return "frame"
    pinned = " (pinned)" if state.pinned is not None else ""
    return f"point {state.flat_index(position)} {tuple(position)}{pinned}"


class RedrawScheduler(QObject):
    """Draws what changed into ``window``'s views on a timer.

    ``window`` is the :class:`~swmrview.gui.main_window.MainWindow`: its view state, map and
    frame views, toolbar and status bar are drawn here; its ``set_status`` shows a status; its
    ``stats`` counts the live frames drawn.
    """

    frame_shown = Signal(object)     # position of the frame just drawn

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.shown_position: tuple[int, ...] | None = None   # of the frame on screen
        self._frame_pending: PendingFrame | None = None
        self._latest_frame: PendingFrame | None = None   # the newest live frame
        self._live: tuple[PendingFrame, float | None] | None = None   # followed, and found at
        self._status_pending: Status | None = None
        self._progress = (0, None)
        self._map_dirty = False
        self._map_drawn = 0.0
        self._drawn_latest: tuple[int, ...] | None = None   # the newest point the map shows
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)

    # ------------------------------------------------------------------ what changed
    def apply_update(self, state: ViewState, update: Update) -> None:
        """Apply the follower's ``update`` to the view state and note what it changed."""
        window = self.window
        changes = state.apply(update)
        if changes.map or changes.shape or changes.axes or changes.scatter:
            self._map_dirty = True
        if changes.axes:
            window.map_view.update_axes()
        if changes.scatter:  # a non-grid scan's positions, re-read
            window.map_view.scatter_view.positions_changed()
        if update.frame is not None:
            frame = (update.frame_position, update.frame, True, update.frame_levels,
                     update.frame_binning, update.patterns)
            show = state.pinned is None and window.toolbar.follow_action.isChecked()
            self.live_frame(frame, show=show)
            if show:
                self._live = (frame, update.found_at)

    def forget(self) -> None:
        """Another file: nothing of the last one is drawn any more."""
        self.shown_position = None
        self._frame_pending = self._latest_frame = self._drawn_latest = None

    def scan_shown(self) -> None:
        """A new scan or dataset: its map is drawn at the next redraw, with its first frame."""
        self._frame_pending = self._latest_frame = self._drawn_latest = None
        self._map_drawn = 0.0
        self._map_dirty = True

    def mark_map_dirty(self) -> None:
        """Redraw the map at the next redraw (its state changed)."""
        self._map_dirty = True

    def map_now(self) -> None:
        """Draw the map at the next redraw, not up to :data:`MAP_REDRAW_S` later."""
        self._map_drawn = 0.0

    def live_frame(self, frame: PendingFrame, show: bool) -> None:
        """The newest acquired frame; drawn next if ``show`` (following the newest point)."""
        self._latest_frame = frame
        if show:
            self._frame_pending = frame

    def show_frame(self, frame: PendingFrame | None) -> None:
        """Draw ``frame`` at the next redraw (None: draw no pending frame)."""
        self._frame_pending = frame

    def pinned_frame(self, state: ViewState, point: PointFrame) -> None:
        """A requested point's frame: drawn next if that point is still the pinned one."""
        if point.position == state.pinned:
            self._frame_pending = (point.position, point.frame, False, point.levels,
                                   point.binning, point.patterns)

    def show_latest(self) -> None:
        """Draw the newest live frame again (following resumed)."""
        self._frame_pending = self._latest_frame

    def show_status(self, status: Status | None) -> None:
        """Show ``status`` at the next redraw (None: nothing new to show)."""
        self._status_pending = status

    def set_progress(self, n_ready: int, total: int | None) -> None:
        """Points ready of the total, for the status bar at the next redraw."""
        self._progress = (n_ready, total)

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        """Draw the newest pending frame and the map if they changed (runs at ~30 Hz)."""
        window = self.window
        state = window.state
        now = time.monotonic()
        if self._map_dirty and state is not None and (
                now - self._map_drawn >= MAP_REDRAW_S  # first: a new slice shows with its frame
                or tuple(state.slow_index) != window.map_view.drawn_slow):
            self._map_dirty = False
            self._map_drawn = now
            self._drawn_latest = state.latest  # the newest point the map shows
            window.map_view.refresh()
            window.channels.map_redrawn()
            window.compare.map_redrawn()
        if self._frame_pending is not None and state is not None:
            pending, self._frame_pending = self._frame_pending, None
            position, frame, live, levels, binning, *rest = pending   # rest: the patterns
            patterns = rest[0] if rest else None
            label = point_text(state, position)
            window.frame_view.show_frame(frame, label, live, levels, binning)
            window.frame_view.show_patterns(patterns, label)
            window.toolbar.point_label.setText(f" {label} ")
            self.shown_position = position
            if self._live is not None and self._live[0] is pending:   # the newest, followed
                window.stats.frame_drawn(self._live[1])
                self._live = None
            elif not live and position == state.pinned:   # the point asked for
                window.stats.point_drawn()
            self.frame_shown.emit(position)
        if state is not None:
            following = state.pinned is None and window.toolbar.follow_action.isChecked()
            paused = state.pinned is None and not following  # the frame on screen stays
            # following, the marker sits on the newest point drawn: the map redraws at 10 Hz
            window.map_view.mark(self.shown_position if paused else state.pinned
                                 if state.pinned is not None else self._drawn_latest)
            window.toolbar.set_slider(state.n_acquired,
                                      state.n_acquired - 1 if following else None)
        if self._status_pending is not None:
            status, self._status_pending = self._status_pending, None
            window.set_status(status)
        window.status_bar.set_progress(*self._progress)
