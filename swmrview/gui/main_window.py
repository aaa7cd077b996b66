"""The main window: composes the views, toolbar, dataset dock and status bar; applies updates.

The follower thread's messages go into the :class:`~swmrview.model.view_state.ViewState`
(the one owner of the map and the points); the views are redrawn from it at most ~30 times a
second, keeping only the newest pending frame.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QStackedWidget

from swmrview.gui import errors
from swmrview.gui.channel_control import ChannelControl
from swmrview.gui.compare import CompareController
from swmrview.gui.dataset_dock import DatasetDock
from swmrview.gui.export_menu import install_export_menu
from swmrview.gui.file_menu import FileMenu
from swmrview.gui.frame_view import FrameView
from swmrview.gui.headless import HeadlessActions
from swmrview.gui.line_profile import LineProfileDock
from swmrview.gui.map_view import MapView
from swmrview.gui.scans_dock import ScansDock
from swmrview.gui.settings import Settings
from swmrview.gui.status_bar import StatusBar
from swmrview.gui.toolbar import ViewToolBar
from swmrview.gui.worker import FollowThread
from swmrview.model.messages import PointFrame, ScanInfo, Update
from swmrview.model.options import EXIT_OK, ViewerOptions
from swmrview.model.status import IDLE, WAITING, Status
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

REDRAW_MS = 33
MAP_REDRAW_S = 0.1   # the map changes a few cells at a time: 10 redraws a second are plenty


class MainWindow(QMainWindow):
    """swmrview's window; ``options`` says what to follow and the headless behaviour."""

    status_changed = Signal(object)  # Status, for tests and scripts
    frame_shown = Signal(object)     # position of the frame just drawn

    def __init__(self, options: ViewerOptions | None = None) -> None:
        super().__init__()
        errors.collect_garbage_in_gui_thread()
        self.options = options or ViewerOptions()
        self.settings = Settings()
        self.headless = HeadlessActions(self, self.options)
        self.follow: FollowThread | None = None
        self.info: ScanInfo | None = None
        self.state: ViewState | None = None
        self.status = Status(IDLE, "Open a file to follow")
        self.shown_position: tuple[int, ...] | None = None   # of the frame on screen
        self.exit_code = EXIT_OK
        self._status_pending: Status | None = None  # shown at the next redraw
        self._frame_pending: tuple | None = None     # (position, frame, live, levels, binning)
        self._latest_frame: tuple | None = None
        self._map_dirty = self._ended = False
        self._map_drawn = 0.0
        self._drawn_latest: tuple[int, ...] | None = None
        self._progress = (0, None)
        self._generation = 0

        self.setWindowTitle("swmrview")
        self.setAcceptDrops(True)
        self._build()
        self._restore_settings()
        errors.add_handler(self.show_error)
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        if self.options.path:
            self.open_path(self.options.path)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.frame_view = FrameView()
        self.map_view = MapView()
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.frame_view)
        self.splitter.addWidget(self.map_view)
        self.splitter.setSizes([600, 500])
        self.welcome = QLabel("Open an HDF5 scan (Ctrl+O), pick a recent file from the File "
                              "menu,\nor drop a file here.")
        self.welcome.setAlignment(Qt.AlignCenter)
        self.welcome.setStyleSheet("font-size: 14pt; color: #888;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)
        self.toolbar = bar = ViewToolBar(self.options.reduce)
        self.addToolBar(bar)
        self.dock = DatasetDock(self)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.dock)
        self.dock.hide()
        self.scans_dock = ScansDock(self)  # directory mode: the scans to go back to
        self.addDockWidget(Qt.LeftDockWidgetArea, self.scans_dock)
        self.scans_dock.hide()
        self.compare = CompareController(self, self, self.map_view)  # held points, regions
        self.addDockWidget(Qt.RightDockWidgetArea, self.compare.dock)
        self.compare.dock.hide()
        self.profile = LineProfileDock(self.frame_view.image_panel, self)
        self.addDockWidget(Qt.BottomDockWidgetArea, self.profile)
        self.profile.hide()
        self.status_bar = StatusBar(self)
        self.setStatusBar(self.status_bar)
        self.status_bar.show_status(self.status)
        self.channels = ChannelControl(self)
        self._build_menu()

        self.frame_view.roi_changed.connect(self.set_roi)
        self.map_view.point_clicked.connect(self.pin_point)
        self.map_view.point_held.connect(self.compare.toggle)
        self.map_view.slow_changed.connect(self._slow_changed)
        self.dock.dataset_chosen.connect(self.set_dataset)
        bar.follow_toggled.connect(self._follow_toggled)
        bar.slider.valueChanged.connect(self._slider_moved)
        bar.reduction_combo.currentTextChanged.connect(self._reduction_changed)
        bar.colormap_combo.currentTextChanged.connect(self._colormap_changed)
        bar.log_box.toggled.connect(self.frame_view.set_log)
        bar.auto_levels_box.toggled.connect(self.frame_view.set_auto_levels)
        bar.roi_box.toggled.connect(self._roi_toggled)
        bar.mean_box.toggled.connect(self.frame_view.set_running_mean)
        bar.mask_box.toggled.connect(self._mask_toggled)

    def _build_menu(self) -> None:
        self.file_menu = FileMenu(self.settings, self)
        self.file_menu.open_requested.connect(self.open_path)
        self.file_menu.quit_requested.connect(self.close)
        self.menuBar().addMenu(self.file_menu)
        self.export_menu = install_export_menu(self)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.dock.toggleViewAction())
        view.addAction(self.scans_dock.toggleViewAction())
        self.channels.install_actions(self.file_menu, view)
        view.addAction(self.compare.dock.toggleViewAction())
        view.addAction(self.profile.toggleViewAction())

    def _restore_settings(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 700)
        view = self.options.view or self.settings.view()  # --settings FILE, else last time's
        self.channels.apply_view(view)   # colormap, map scale, channels, shown map
        self._colormap_changed(self.toolbar.colormap_combo.currentText())  # also if unchanged
        docks = self.settings.window_state()   # which docks were open, and where
        if docks is not None:
            self.restoreState(docks)

    @property
    def generation(self) -> int:
        """The follower's generation now: messages of older ones are dropped as stale."""
        return self._generation

    # ------------------------------------------------------------------ files
    def open_path(self, path: str) -> None:
        """Follow ``path`` (which may not exist yet), stopping any current follower first."""
        self.stop_follower()
        path = os.path.abspath(path)
        # the Mask choice holds for the next file, as in directory mode
        self.options = replace(self.options, path=path, mask=self.toolbar.mask_box.isChecked())
        self.headless.options = self.options
        self.info = self.state = self.shown_position = None
        self._frame_pending = self._latest_frame = self._drawn_latest = None
        self.toolbar.roi_box.setChecked(False)  # a ROI on this file's frames may not fit the next
        self.exit_code, self._ended = EXIT_OK, False
        self.pages.setCurrentWidget(self.splitter)
        self.settings.remember(path)
        self.file_menu.update_recent()
        self.follow = FollowThread(self.options, self)
        self._generation = self.follow.worker.generation  # older workers' messages are dropped
        self.follow.worker.info_ready.connect(self._on_info)
        self.follow.worker.update_ready.connect(self._on_update)
        self.follow.worker.point_ready.connect(self._on_point)
        self.compare.attach(self.follow)
        self.scans_dock.attach(self.follow, path if os.path.isdir(path) else None)
        self.follow.start()
        self._status_pending = None
        self._set_status(Status(WAITING, f"Waiting for {os.path.basename(path)}"))

    def stop_follower(self) -> None:
        """Stop the follower thread and wait for it (closes the followed file)."""
        if self.follow is not None:
            self.follow.stop()
            self.follow.deleteLater()  # parented to the window: would live as long as it
            self.follow = None

    # ------------------------------------------------------------------ messages
    def _on_info(self, info: ScanInfo) -> None:
        if info.generation < self._generation:
            return  # queued by a previous worker or before a reopen / dataset switch
        switch = self.state is not None and self.info is not None \
            and info.path == self.info.path and info.mode == self.info.mode \
            and info.scan_rank == self.info.scan_rank and info.data_path != self.info.data_path
        self._generation, self.info = info.generation, info
        if switch:  # a dataset switch: the points stay acquired, their values are recomputed
            self.state.new_dataset(info)
            if self.state.pinned is not None and self.follow is not None:
                self.follow.request_point.emit(self.state.pinned)  # its frame in this dataset
        else:  # a new scan: nothing pinned in it, so its frames are followed
            self.state = ViewState(info, self.toolbar.reduction_combo.currentText())
            self.toolbar.set_following(True)
        self.channels.scan_opened(info, self.state, new_scan=not switch)
        self._frame_pending = self._latest_frame = self._drawn_latest = None
        self._map_drawn = 0.0  # a new scan or dataset is drawn at the next redraw
        kind = info.frame_kind
        self.frame_view.set_frame_kind(kind)
        shape = "x".join(map(str, info.frame_shape)) or "scalar"
        self.map_view.set_state(self.state, f"{info.data_path}  {shape} {info.dtype}",
                                info.notes)
        self.dock.show_tree(info.path, info.tree, info.data_path)
        bar = self.toolbar
        bar.mean_box.setEnabled(kind == "spectrum")
        bar.roi_box.setEnabled(kind != "scalar")
        bar.mask_box.setEnabled(info.masked)
        width = max(self.splitter.width(), 800)
        share = 0.9 if info.scan_rank == 0 else {"scalar": 0.2, "spectrum": 0.45}.get(kind, 0.55)
        self.splitter.setSizes([int(width * share), int(width * (1 - share))])
        if bar.roi_box.isChecked() and kind != "scalar":
            self.frame_view.set_roi_enabled(True)  # emits the ROI on the new frames
        else:
            bar.roi_box.setChecked(False)
            self._leave_roi_reduction()
        self._map_dirty = True
        self.compare.scan_info(info, switch)
        self.headless.scan_info(info, self.state)

    def _on_update(self, update: Update) -> None:
        if update.generation < self._generation:
            return  # stale: a previous file or dataset
        if update.generation > self._generation:  # a new scan is being opened
            self._generation = update.generation
            self.exit_code, self._ended = EXIT_OK, False
            self.state = None
        if self.state is not None:
            changes = self.state.apply(update)
            self.headless.scan_update(update)
            self._map_dirty = self._map_dirty or changes.map or changes.shape or changes.axes
            if changes.axes:
                self.map_view.update_axes()
            if changes.scatter:  # a non-grid scan's positions, re-read
                self._map_dirty = True
                self.map_view.scatter_view.positions_changed()
            if update.frame is not None:
                self._latest_frame = (update.frame_position, update.frame, True,
                                      update.frame_levels, update.frame_binning)
                if self.state.pinned is None and self.toolbar.follow_action.isChecked():
                    self._frame_pending = self._latest_frame
        self._progress = (update.n_ready, update.total)
        if update.status.terminal:  # at once: the scan's end is acted on below
            self._status_pending = None
            if update.status != self.status:
                self._set_status(update.status)
            if not self._ended:
                self._ended = True
                self._map_drawn = 0.0  # the final map is drawn at the next redraw, not later
                self.exit_code = update.status.exit_code
                self.headless.scan_ended(update.status)
        else:  # the text changes every step ("pt/s"): shown at the redraw rate
            self._ended = False  # following resumed (after a timeout) or a new scan
            self._status_pending = update.status if update.status != self.status else None

    def _on_point(self, point: PointFrame) -> None:
        if self.state is not None and point.generation == self._generation \
                and point.position == self.state.pinned:
            self._frame_pending = (point.position, point.frame, False, point.levels,
                                   point.binning)

    # ------------------------------------------------------------------ redraw
    def redraw(self) -> None:
        """Draw the newest pending frame and the map if they changed (runs at ~30 Hz)."""
        state = self.state
        now = time.monotonic()
        if self._map_dirty and state is not None and (
                now - self._map_drawn >= MAP_REDRAW_S  # first: a new slice shows with its frame
                or tuple(state.slow_index) != self.map_view.drawn_slow):
            self._map_dirty = False
            self._map_drawn = now
            self._drawn_latest = state.latest  # the newest point the map shows
            self.map_view.refresh()
            self.channels.map_redrawn()
            self.compare.map_redrawn()
        if self._frame_pending is not None and state is not None:
            position, frame, live, levels, binning = self._frame_pending
            self._frame_pending = None
            label = self._point_text(position)
            self.frame_view.show_frame(frame, label, live, levels, binning)
            self.toolbar.point_label.setText(f" {label} ")
            self.shown_position = position
            self.frame_shown.emit(position)
        if state is not None:
            following = state.pinned is None and self.toolbar.follow_action.isChecked()
            paused = state.pinned is None and not following  # the frame on screen stays
            # following, the marker sits on the newest point drawn: the map redraws at 10 Hz
            self.map_view.mark(self.shown_position if paused else state.pinned
                               if state.pinned is not None else self._drawn_latest)
            self.toolbar.set_slider(state.n_acquired, state.n_acquired - 1 if following else None)
        if self._status_pending is not None:
            status, self._status_pending = self._status_pending, None
            self._set_status(status)
        self.status_bar.set_progress(*self._progress)

    def mark_map_dirty(self) -> None:
        """Redraw the map at the next redraw (its state changed)."""
        self._map_dirty = True

    def _point_text(self, position) -> str:
        state = self.state
        if position is None or state is None or state.rank == 0:
            return "frame"
        pinned = " (pinned)" if state.pinned is not None else ""
        return f"point {state.flat_index(position)} {tuple(position)}{pinned}"

    def _set_status(self, status: Status) -> None:
        self.status = status
        self.status_bar.show_status(status)
        name = os.path.basename(self.options.path or "") or "swmrview"
        self.setWindowTitle(f"{name} - {status.message} - swmrview")
        self.status_changed.emit(status)

    def show_error(self, summary: str, details: str) -> None:
        """An unexpected exception in a slot: say so in the status bar, details on a click."""
        self.status_bar.show_error(summary, details)

    # ------------------------------------------------------------------ user actions
    def pin_point(self, position) -> None:
        """Show the frame at ``position`` and keep it until "Follow latest" is chosen.

        Points not acquired yet are ignored: there is no frame to show.
        """
        if self.follow is None or self.state is None or not self.state.pin(position):
            return
        self.toolbar.set_following(False)
        self._frame_pending = None
        self.follow.request_point.emit(self.state.pinned)
        self.toolbar.set_slider(self.state.n_acquired, self.state.order_of(self.state.pinned))
        self._map_dirty = True

    def follow_latest(self) -> None:
        """Unpin and show the newest frame again."""
        if self.toolbar.follow_action.isChecked():
            self._follow_toggled(True)
        else:
            self.toolbar.follow_action.setChecked(True)

    def _follow_toggled(self, on: bool) -> None:
        if on and self.state is not None:
            self.state.follow_latest()
            self._frame_pending = self._latest_frame
            self._map_dirty = True

    def _slider_moved(self, value: int) -> None:
        if self.state is not None:
            position = self.state.order_position(value)
            if position is not None:
                self.pin_point(position)

    def _slow_changed(self, index: tuple) -> None:
        if self.state is not None:
            self.state.set_slow_index(index)
            self._map_dirty = True

    def _reduction_changed(self, name: str) -> None:
        if name == "roi" and not self.toolbar.roi_box.isEnabled():  # scalars: no ROI to draw
            self._leave_roi_reduction()
            return
        if self.state is not None:
            self.state.set_reduction(name)
            self._map_dirty = True
        if name == "roi" and not self.toolbar.roi_box.isChecked():
            self.toolbar.roi_box.setChecked(True)

    def _leave_roi_reduction(self) -> None:
        """Without a ROI the "roi" map is all NaN: go back to the chosen (or sum) reduction."""
        if self.toolbar.reduction_combo.currentText() == "roi":
            default = self.options.reduce if self.options.reduce != "roi" else "sum"
            self.toolbar.reduction_combo.setCurrentText(default)

    def _colormap_changed(self, name: str) -> None:
        self.frame_view.set_colormap(name)
        self.map_view.set_colormap(name)
        self.compare.dock.set_colormap(name)
        self.channels.grid.set_colormap(name)
        self.settings.set_colormap(name)

    def _roi_toggled(self, on: bool) -> None:
        self.frame_view.set_roi_enabled(on)
        if on and self.toolbar.reduction_combo.currentText() != "roi":
            self.toolbar.reduction_combo.setCurrentText("roi")
        elif not on:
            self._leave_roi_reduction()

    def set_roi(self, roi) -> None:
        """Sum ``roi`` of each frame into the map's "roi" value (recomputed in the worker)."""
        if self.state is not None and self.state.set_roi(roi) and self.follow is not None:
            self._map_dirty = True
            self.follow.request_roi.emit(self.state.roi, self.state.acquired_positions())

    def _mask_toggled(self, on: bool) -> None:
        if self.state is not None and self.follow is not None:
            self.follow.request_mask.emit(bool(on), self.state.acquired_positions())

    def set_dataset(self, path: str) -> None:
        """Show another dataset of the file (the worker re-reads acquired points for the map)."""
        if self.follow is not None and self.state is not None:
            self.follow.request_dataset.emit(path, self.state.acquired_positions())

    # ------------------------------------------------------------------ Qt events
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Save settings, do pending headless actions, and stop the follower thread."""
        self.headless.closing()
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_view(self.channels.view())
        self.settings.set_window_state(self.saveState())
        self.redraw_timer.stop()
        errors.remove_handler(self.show_error)
        self.stop_follower()
        super().closeEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Accept a dragged local file."""
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Follow the first dropped local file."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return
