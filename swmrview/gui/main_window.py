"""The main window: composes the views, toolbar, docks and status bar; follows one scan.

The follower thread's messages go into the :class:`~swmrview.model.view_state.ViewState`
(the one owner of the map and the points); a :class:`~swmrview.gui.redraw.RedrawScheduler`
redraws the views from it at most ~30 times a second, keeping only the newest pending frame,
and :class:`~swmrview.gui.view_actions.ViewActions` applies the toolbar's choices.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
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
from swmrview.gui.redraw import RedrawScheduler
from swmrview.gui.scan_end import ScanEnd
from swmrview.gui.scans_dock import ScansDock
from swmrview.gui.settings import Settings
from swmrview.gui.status_bar import StatusBar
from swmrview.gui.toolbar import ViewToolBar
from swmrview.gui.view_actions import ViewActions
from swmrview.gui.worker import FollowThread
from swmrview.model.messages import PointFrame, ScanInfo, Update
from swmrview.model.options import EXIT_OK, ViewerOptions
from swmrview.model.stats import LagStats
from swmrview.model.status import IDLE, WAITING, Status
from swmrview.model.view_settings import starting_view
from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)


def dataset_switch(old: ScanInfo | None, new: ScanInfo) -> bool:
    """True if ``new`` is another dataset of the scan ``old`` (its points stay acquired)."""
    return old is not None and new.path == old.path and new.mode == old.mode \
        and new.scan_rank == old.scan_rank and new.data_path != old.data_path


def pattern_toggle(window) -> QAction:
    """The toolbar's I(q) switch: the integrated pattern of diffraction frames, or the raw
    image; without pyFAI it is off and says how to install it."""
    from swmrview.core.compute.integrate import missing_pyfai

    action = QAction("I(q)", window, checkable=True, checked=True)
    problem = missing_pyfai()
    action.setToolTip(problem or "Diffraction frames: show the azimuthally integrated pattern "
                      "(on) or the raw image (off)")
    if problem:
        action.setChecked(False)
        action.setEnabled(False)
    action.toggled.connect(window.frame_view.set_pattern_mode)
    return action


def welcome_page() -> QLabel:
    """What the window shows before a file is opened."""
    welcome = QLabel("Open an HDF5 scan (Ctrl+O), pick a recent file from the File menu,\n"
                     "or drop a file here.")
    welcome.setAlignment(Qt.AlignCenter)
    welcome.setStyleSheet("font-size: 14pt; color: #888;")
    return welcome


class MainWindow(QMainWindow):
    """swmrview's window; ``options`` says what to follow and the headless behaviour."""

    status_changed = Signal(object)  # Status, for tests and scripts
    frame_shown = Signal(object)     # position of the frame just drawn

    def __init__(self, options: ViewerOptions | None = None) -> None:
        super().__init__()
        errors.collect_garbage_in_gui_thread()
        self.options = options or ViewerOptions()
        self.settings = Settings()
        self.stats = LagStats()   # what --stats writes: counted always, it costs nothing
        self.headless = HeadlessActions(self, self.options)
        self.follow: FollowThread | None = None
        self.info: ScanInfo | None = None
        self.state: ViewState | None = None
        self.status = Status(IDLE, "Open a file to follow")
        self.exit_code = EXIT_OK
        self.scan_end = ScanEnd(self)
        self._generation = 0

        self.setWindowTitle("swmrview")
        self.setAcceptDrops(True)
        self._build()
        self._restore_settings()
        errors.add_handler(self.show_error)
        self.scheduler.timer.start()
        if self.options.path:
            self.open_path(self.options.path)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.scheduler = RedrawScheduler(self)   # what changed, drawn at the screen's rate
        self.scheduler.frame_shown.connect(self.frame_shown)
        self.frame_shown.connect(self._ask_cake)
        self.frame_view = FrameView()
        self.map_view = MapView()
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.frame_view)
        self.splitter.addWidget(self.map_view)
        self.splitter.setSizes([600, 500])
        self.welcome = welcome_page()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)
        self.toolbar = ViewToolBar(self.options.reduce or "sum")
        self.addToolBar(self.toolbar)
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
        self.file_menu = FileMenu(self.settings, self)
        self.file_menu.open_requested.connect(self.open_path)
        self.file_menu.quit_requested.connect(self.close)
        self.menuBar().addMenu(self.file_menu)
        self.export_menu = install_export_menu(self)
        self.map_view.point_clicked.connect(self.pin_point)
        self.map_view.point_held.connect(self.compare.toggle)
        self.dock.dataset_chosen.connect(self.set_dataset)
        self.pattern_action = pattern_toggle(self)
        self.frame_view.pattern_panel.cake_toggled.connect(self._ask_cake)
        self.toolbar.addAction(self.pattern_action)
        self.view_actions = ViewActions(self)   # the toolbar's choices, the View menu
        self.view_actions.install_view_menu(self.file_menu)

    def _restore_settings(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 700)
        view = starting_view(self.options.view, self.settings.view(), self.options.reduce)
        self.channels.apply_view(view)   # colormap, map scale, channels, shown map
        self.view_actions.set_colormap(self.toolbar.colormap_combo.currentText())  # if unchanged
        docks = self.settings.window_state()   # which docks were open, and where
        if docks is not None:
            self.restoreState(docks)

    @property
    def generation(self) -> int:
        """The follower's generation now: messages of older ones are dropped as stale."""
        return self._generation

    @property
    def shown_position(self) -> tuple[int, ...] | None:
        """Position of the frame on screen (None before the first one)."""
        return self.scheduler.shown_position

    # ------------------------------------------------------------------ files
    def open_path(self, path: str) -> None:
        """Follow ``path`` (which may not exist yet), stopping any current follower first."""
        self.stop_follower()
        path = os.path.abspath(path)
        # the Mask choice holds for the next file, as in directory mode
        self.options = replace(self.options, path=path, mask=self.toolbar.mask_box.isChecked())
        self.headless.options = self.options
        self.info = self.state = None
        self.scheduler.forget()
        self.toolbar.roi_box.setChecked(False)  # a ROI on this file's frames may not fit the next
        self.exit_code = EXIT_OK
        self.scan_end.reset()
        self.pages.setCurrentWidget(self.splitter)
        self.settings.remember(path)
        self.file_menu.update_recent()
        self.follow = FollowThread(self.options, self)
        self._generation = self.follow.worker.generation  # older workers' messages are dropped
        self.follow.worker.info_ready.connect(self._on_info)
        self.follow.worker.update_ready.connect(self._on_update)
        self.follow.worker.point_ready.connect(self._on_point)
        self.follow.worker.cake_ready.connect(self._on_cake)
        self.follow.worker.settled.connect(self.scan_end.settled)
        self.compare.attach(self.follow)
        self.scans_dock.attach(self.follow, path if os.path.isdir(path) else None)
        self.follow.start()
        self.scheduler.show_status(None)
        self.set_status(Status(WAITING, f"Waiting for {os.path.basename(path)}"))

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
        switch = self.state is not None and dataset_switch(self.info, info)
        self._generation, self.info = info.generation, info
        self.stats.scan_opened(info)
        if switch:  # a dataset switch: the points stay acquired, their values are recomputed
            self.state.new_dataset(info)
            if self.state.pinned is not None and self.follow is not None:
                self.follow.request_point.emit(self.state.pinned)  # its frame in this dataset
        else:  # a new scan: nothing pinned in it, so its frames are followed
            self.state = ViewState(info, self.toolbar.reduction_combo.currentText())
            self.toolbar.set_following(True)
        self.channels.scan_opened(info, self.state, new_scan=not switch)
        self.scheduler.scan_shown()   # drawn at the next redraw
        if not switch:
            self.frame_view.forget_patterns()
        self.frame_view.set_frame_kind(info.frame_kind)
        shape = "x".join(map(str, info.frame_shape)) or "scalar"
        self.map_view.set_state(self.state, f"{info.data_path}  {shape} {info.dtype}",
                                info.notes)
        self.dock.show_tree(info.path, info.tree, info.data_path)
        self.view_actions.scan_shown(info)
        self.compare.scan_info(info, switch)
        self.headless.scan_info(info, self.state)

    def _on_update(self, update: Update) -> None:
        if update.generation < self._generation:
            return  # stale: a previous file or dataset
        if update.generation > self._generation:  # a new scan is being opened
            self._generation = update.generation
            self.exit_code = EXIT_OK
            self.scan_end.reset()
            self.state = None
        self.stats.update(update)
        if self.state is not None:
            self.scheduler.apply_update(self.state, update)
            self.headless.scan_update(update)
        self.scheduler.set_progress(update.n_ready, update.total)
        if update.status.terminal:  # at once: the scan's end is acted on below
            self.scheduler.show_status(None)
            if update.status != self.status:
                self.set_status(update.status)
        else:  # the text changes every step ("pt/s"): shown at the redraw rate
            self.scheduler.show_status(update.status if update.status != self.status else None)
        self.scan_end.update(update)   # exports and exits once the worker has caught up

    def _on_cake(self, cake) -> None:
        if cake.generation == self._generation and cake.position == self.shown_position:
            self.frame_view.pattern_panel.show_cake(cake)

    def _ask_cake(self, *_args) -> None:
        """The shown point's cake, from the follower, while the cake is wanted."""
        if self.follow is not None and self.frame_view.pattern_panel.cake_on \
                and self.frame_view.showing_pattern and self.shown_position is not None:
            self.follow.request_cake.emit(self.shown_position)

    def _on_point(self, point: PointFrame) -> None:
        if self.state is not None and point.generation == self._generation:
            self.scheduler.pinned_frame(self.state, point)

    # ------------------------------------------------------------------ redraw
    def redraw(self) -> None:
        """Draw what changed since the last redraw now (the timer does this at ~30 Hz)."""
        self.scheduler.redraw()

    def mark_map_dirty(self) -> None:
        """Redraw the map at the next redraw (its state changed)."""
        self.scheduler.mark_map_dirty()

    def set_status(self, status: Status) -> None:
        """Show ``status`` in the status bar and the title, and emit :attr:`status_changed`."""
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
        """Show the frame at ``position`` until "Follow latest" (points not acquired: no)."""
        if self.follow is None or self.state is None or not self.state.pin(position):
            return
        self.toolbar.set_following(False)
        self.scheduler.show_frame(None)
        self.stats.point_asked()
        self.follow.request_point.emit(self.state.pinned)
        self.toolbar.set_slider(self.state.n_acquired, self.state.order_of(self.state.pinned))
        self.scheduler.mark_map_dirty()

    def follow_latest(self) -> None:
        """Unpin and show the newest frame again."""
        self.view_actions.follow_latest()

    def set_dataset(self, path: str) -> None:
        """Show another dataset of the file (the worker re-reads acquired points for the map)."""
        if self.follow is not None and self.state is not None:
            self.follow.request_dataset.emit(path)

    # ------------------------------------------------------------------ Qt events
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Save settings, do pending headless actions, and stop the follower thread."""
        self.exit_code = self.headless.closing(self.exit_code, self.status.kind)
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_view(self.channels.view())
        self.settings.set_window_state(self.saveState())
        self.scheduler.timer.stop()
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
