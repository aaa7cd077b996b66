"""The main window: composes frame and map views, toolbar, dataset tree and status.

It owns a :class:`~swmrview.gui.worker.FollowThread`, mirrors the worker's map from the cells
of each batch, and redraws at most ~30 times a second, keeping only the newest pending frame.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSlider,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from swmrview.core.scanmap import ScanMap
from swmrview.gui.frame_view import COLORMAPS, FrameView
from swmrview.gui.map_view import MapView
from swmrview.gui.options import EXIT_OK, ViewerOptions
from swmrview.gui.messages import ERROR, IDLE, WAITING, Batch, PointFrame, ScanInfo, Status
from swmrview.gui.worker import FollowThread

logger = logging.getLogger(__name__)

REDRAW_MS = 33
MAX_RECENT = 10
FILE_FILTER = "HDF5 files (*.h5 *.hdf5 *.hdf *.nxs *.nx5);;All files (*)"


class MainWindow(QMainWindow):
    """swmrview's window; ``options`` says what to follow and the headless behaviour."""

    status_changed = Signal(object)  # Status, for tests and scripts
    frame_shown = Signal(int)        # flat index of the frame just drawn

    def __init__(self, options: ViewerOptions | None = None) -> None:
        super().__init__()
        self.options = options or ViewerOptions()
        self.settings = QSettings("swmrview", "swmrview")
        self.follow: FollowThread | None = None
        self.info: ScanInfo | None = None
        self.scan_map: ScanMap | None = None
        self.status = Status(IDLE, "Open a file to follow")
        self._status_pending: Status | None = None  # shown at the next redraw
        self.exit_code = EXIT_OK
        self.acquired: list[int] = []       # flat indices in arrival order (slider positions)
        self._slider_pos: dict[int, int] = {}  # flat index -> position in self.acquired
        self.pinned: int | None = None
        self.roi: tuple[int, ...] | None = None
        self._latest: tuple[int, np.ndarray, bool] | None = None         # (index, frame, live)
        self._pending_frame: tuple[int, np.ndarray, bool] | None = None  # live: not pinned
        self._map_dirty = False
        self._progress = (0, None, 0.0)
        self._generation = 0
        self._finished_handled = False
        self._screenshot_taken = False
        self._exported = False

        self.setWindowTitle("swmrview")
        self.setAcceptDrops(True)
        self._build_views()
        self._build_toolbar()
        self._build_dock()
        self._build_status()
        self._build_menu()
        self._restore_settings()

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        if self.options.path:
            self.open_path(self.options.path)

    # ------------------------------------------------------------------ construction
    def _build_views(self) -> None:
        self.frame_view = FrameView()
        self.map_view = MapView()
        self.map_view.set_reduction(self.options.reduce)
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
        self.frame_view.roi_changed.connect(self.set_roi)
        self.map_view.point_clicked.connect(self.pin_point)

    def _build_toolbar(self) -> None:
        bar = QToolBar("View")
        bar.setObjectName("view-toolbar")
        self.addToolBar(bar)
        self.follow_action = QAction("Follow latest", self, checkable=True, checked=True)
        self.follow_action.setToolTip("Show each new frame as it arrives; uncheck to pause")
        self.follow_action.toggled.connect(self._follow_toggled)
        bar.addAction(self.follow_action)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setMinimumWidth(160)
        self.slider.setToolTip("Acquired points, in arrival order")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._slider_moved)
        bar.addWidget(self.slider)
        self.point_label = QLabel(" point - ")
        bar.addWidget(self.point_label)
        bar.addSeparator()
        bar.addWidget(QLabel(" Map: "))
        self.reduction_combo = QComboBox()
        self.reduction_combo.addItems(["sum", "mean", "max", "roi"])
        self.reduction_combo.setCurrentText(self.options.reduce)
        self.reduction_combo.currentTextChanged.connect(self._reduction_changed)
        bar.addWidget(self.reduction_combo)
        bar.addWidget(QLabel(" Colormap: "))
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.colormap_combo.currentTextChanged.connect(self._colormap_changed)
        bar.addWidget(self.colormap_combo)
        self.log_box = QCheckBox("Log")
        self.log_box.toggled.connect(self.frame_view.set_log)
        bar.addWidget(self.log_box)
        self.auto_levels_box = QCheckBox("Auto levels")
        self.auto_levels_box.setChecked(True)
        self.auto_levels_box.toggled.connect(self.frame_view.set_auto_levels)
        bar.addWidget(self.auto_levels_box)
        self.roi_box = QCheckBox("ROI")
        self.roi_box.setToolTip("Draw a region on the frame; the map shows its sum")
        self.roi_box.toggled.connect(self._roi_toggled)
        bar.addWidget(self.roi_box)
        self.mean_box = QCheckBox("Mean")
        self.mean_box.setToolTip("Running mean of spectra")
        self.mean_box.toggled.connect(self.frame_view.set_running_mean)
        bar.addWidget(self.mean_box)

    def _build_dock(self) -> None:
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Shape", "Type"])
        self.tree.itemActivated.connect(self._tree_activated)
        self.tree.itemDoubleClicked.connect(self._tree_activated)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("Double-click a dataset (bold = matches the scan) to show it"))
        layout.addWidget(self.tree)
        self.dock = QDockWidget("Datasets", self)
        self.dock.setObjectName("datasets-dock")
        self.dock.setWidget(box)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.dock)
        self.dock.hide()

    def _build_status(self) -> None:
        self.status_label = QLabel(self.status.message)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open...", self, shortcut=QKeySequence.Open)
        open_action.triggered.connect(self.open_dialog)
        menu.addAction(open_action)
        self.recent_menu = menu.addMenu("Open &recent")
        menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.dock.toggleViewAction())
        self._update_recent_menu()

    # ------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 700)
        name = self.settings.value("colormap", "viridis")
        if name in COLORMAPS:
            self.colormap_combo.setCurrentText(name)
        self._colormap_changed(self.colormap_combo.currentText())

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, path: str) -> None:
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # ------------------------------------------------------------------ files
    def open_dialog(self) -> None:
        """Ask for a file and follow it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open HDF5 scan", "", FILE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """Follow ``path`` (which may not exist yet), stopping any current follower first."""
        self.stop_follower()
        path = os.path.abspath(path)
        options = self.options
        if options.path != path:
            options = replace(options, path=path)
        self.options = options
        self.info = self.scan_map = None
        self.roi_box.setChecked(False)  # a ROI drawn on this file's frames may not fit the next
        self.set_roi(None)
        self.acquired, self.pinned, self._latest, self._pending_frame = [], None, None, None
        self._slider_pos = {}
        self._finished_handled = False
        self.exit_code = EXIT_OK
        self.pages.setCurrentWidget(self.splitter)
        self._remember(path)
        self.follow = FollowThread(options, self)
        self._generation = self.follow.worker.generation  # older workers' messages are dropped
        self.follow.worker.info_ready.connect(self._on_info)
        self.follow.worker.batch_ready.connect(self._on_batch)
        self.follow.worker.point_ready.connect(self._on_point)
        self.follow.start()
        self._status_pending = None
        self._set_status(Status(WAITING, f"Waiting for {os.path.basename(path)}"))

    def stop_follower(self) -> None:
        """Stop the follower thread and wait for it (closes the followed file)."""
        if self.follow is not None:
            self.follow.stop()
            self.follow.deleteLater()  # parented to the window: would live as long as it
            self.follow = None

    # ------------------------------------------------------------------ worker results
    def _on_info(self, info: ScanInfo) -> None:
        if info.generation < self._generation:
            return  # queued by a previous worker or before a reopen / dataset switch
        if info.acquired.size == 0:  # a new scan (maybe under the same name): a new ending
            self._finished_handled = False
            self.exit_code = EXIT_OK
        self.info = info
        self._generation = info.generation
        self._latest = self._pending_frame = None  # frames of the previous scan or dataset
        self.scan_map = ScanMap(info.scan_shape)
        self.acquired = [int(i) for i in info.acquired]
        self._slider_pos = {index: pos for pos, index in enumerate(self.acquired)}
        self.frame_view.set_frame_rank(info.frame_rank)
        self.map_view.set_scan(self.scan_map, info.axis_names, info.axis_values,
                               f"{info.data_path}  {'x'.join(map(str, info.frame_shape))} "
                               f"{info.dtype}")
        self._fill_tree(info)
        self.mean_box.setEnabled(info.frame_rank == 1)
        self.roi_box.setEnabled(info.frame_rank >= 1)
        self.roi = None  # the new map has no ROI values; the worker may have dropped its ROI
        if self.roi_box.isChecked() and info.frame_rank >= 1:
            self.frame_view.set_roi_enabled(True)  # emits the ROI on the new frames -> set_roi
        else:
            self.roi_box.setChecked(False)
            self.set_roi(None)
            self._leave_roi_reduction()
        if self.pinned is not None and self.follow is not None:
            if self.pinned in self._slider_pos:
                self.follow.request_point.emit(self.pinned)
            else:  # a new scan under the same name: that point is not acquired (yet)
                self.follow_latest()

    def _on_batch(self, batch: Batch) -> None:
        if batch.generation < self._generation:
            return  # stale: status and cells of a previous file or dataset
        if batch.generation > self._generation:  # the worker reopened a replaced file
            self._generation = batch.generation
            self._finished_handled = False
            self.exit_code = EXIT_OK
        if batch.generation == self._generation and self.scan_map is not None:
            self._apply_cells(batch)
            if batch.frame is not None:
                self._latest = (batch.frame_index, batch.frame, True)
                if self.pinned is None and self.follow_action.isChecked():
                    self._pending_frame = self._latest
        self._progress = (batch.n_ready, batch.total, batch.rate)
        if batch.status.terminal:  # at once: the scan's end is acted on below
            self._status_pending = None
            if batch.status != self.status:
                self._set_status(batch.status)
        else:  # the text changes every tick ("pt/s"): shown at the redraw rate
            self._status_pending = batch.status if batch.status != self.status else None
        if batch.status.terminal and not self._finished_handled:
            self._finished_handled = True
            self._on_scan_end(batch.status)

    def _apply_cells(self, batch: Batch) -> None:
        use_roi = batch.roi == self.roi
        self.scan_map.set_many(batch.indices, {n: v for n, v in batch.values.items()
                                               if use_roi or n != "roi"})
        if batch.new_points:
            for index in batch.indices[: batch.new_points].tolist():
                self._slider_pos[index] = len(self.acquired)
                self.acquired.append(index)
        self._map_dirty = self._map_dirty or batch.indices.size > 0

    def _on_point(self, point: PointFrame) -> None:
        if point.generation == self._generation and point.index == self.pinned:
            self._pending_frame = (point.index, point.frame, False)

    # ------------------------------------------------------------------ redraw
    def redraw(self) -> None:
        """Draw the newest pending frame and the map if they changed (runs at ~30 Hz)."""
        if self._pending_frame is not None:
            index, frame, live = self._pending_frame
            self._pending_frame = None
            self.frame_view.show_frame(frame, index, live)
            self.map_view.mark(index)
            self.point_label.setText(f" point {index} " + ("(pinned)" if self.pinned is not None
                                                           else ""))
            self.frame_shown.emit(index)
        if self._map_dirty:
            self._map_dirty = False
            self.map_view.refresh()
        if self._status_pending is not None:
            status, self._status_pending = self._status_pending, None
            self._set_status(status)
        self._update_slider()
        self._update_progress()

    def _update_slider(self) -> None:
        n = len(self.acquired)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        if self.pinned is None and self.follow_action.isChecked():
            self.slider.setValue(max(0, n - 1))
        self.slider.blockSignals(False)

    def _update_progress(self) -> None:
        n, total, _rate = self._progress
        if total is None:
            self.progress.setRange(0, max(n, 1))
        else:
            self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(n, self.progress.maximum()))

    def _set_status(self, status: Status) -> None:
        self.status = status
        self.status_label.setText(status.message)
        name = os.path.basename(self.options.path or "") or "swmrview"
        self.setWindowTitle(f"{name} - {status.message} - swmrview")
        self.status_changed.emit(status)

    # ------------------------------------------------------------------ user actions
    def pin_point(self, index: int) -> None:
        """Show the frame of point ``index`` and keep it until "Follow latest" is chosen.

        Points not acquired yet are ignored: there is no frame to show.
        """
        if self.follow is None or int(index) not in self._slider_pos:
            return
        self.pinned = int(index)
        self.follow_action.blockSignals(True)
        self.follow_action.setChecked(False)
        self.follow_action.blockSignals(False)
        self._pending_frame = None
        self.follow.request_point.emit(self.pinned)
        self.slider.blockSignals(True)
        self.slider.setValue(self._slider_pos[self.pinned])
        self.slider.blockSignals(False)

    def follow_latest(self) -> None:
        """Unpin and show the newest frame again."""
        if self.follow_action.isChecked():
            self._follow_toggled(True)
        else:
            self.follow_action.setChecked(True)

    def _follow_toggled(self, on: bool) -> None:
        if on:
            self.pinned = None
            self.map_view.set_follow_slow(True)
            if self._latest is not None:
                self._pending_frame = self._latest

    def _slider_moved(self, value: int) -> None:
        if 0 <= value < len(self.acquired):
            self.pin_point(self.acquired[value])

    def _reduction_changed(self, name: str) -> None:
        if name == "roi" and not self.roi_box.isEnabled():  # scalars: no ROI to draw
            self._leave_roi_reduction()
            return
        self.map_view.set_reduction(name)
        if name == "roi" and not self.roi_box.isChecked():
            self.roi_box.setChecked(True)

    def _leave_roi_reduction(self) -> None:
        """Without a ROI the "roi" map is all NaN: go back to the chosen (or sum) reduction."""
        if self.reduction_combo.currentText() == "roi":
            default = self.options.reduce if self.options.reduce != "roi" else "sum"
            self.reduction_combo.setCurrentText(default)

    def _colormap_changed(self, name: str) -> None:
        self.frame_view.set_colormap(name)
        self.map_view.set_colormap(name)
        self.settings.setValue("colormap", name)

    def _roi_toggled(self, on: bool) -> None:
        self.frame_view.set_roi_enabled(on)
        if on and self.reduction_combo.currentText() != "roi":
            self.reduction_combo.setCurrentText("roi")
        elif not on:
            self._leave_roi_reduction()

    def set_roi(self, roi: tuple[int, ...] | None) -> None:
        """Sum ``roi`` of each frame into the map's "roi" reduction (recomputed in the worker)."""
        roi = None if roi is None else tuple(int(v) for v in roi)
        if roi == self.roi:
            return
        self.roi = roi
        if self.scan_map is not None:
            self.scan_map.set_roi(self.roi)
            self._map_dirty = True
        if self.follow is not None:
            self.follow.request_roi.emit(self.roi)

    def set_dataset(self, path: str) -> None:
        """Show another dataset of the file (the worker re-reads acquired points for the map)."""
        if self.follow is not None:
            self.follow.request_dataset.emit(path)

    def _fill_tree(self, info: ScanInfo) -> None:
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)

        def add(parent, node) -> None:
            shape = "x".join(map(str, node.get("shape", ()))) if node["kind"] == "dataset" else ""
            kind = node.get("dtype", "") if node["kind"] == "dataset" else node["kind"]
            item = QTreeWidgetItem([node["name"], shape, kind])
            item.setData(0, Qt.UserRole, node["path"] if node["kind"] == "dataset" else "")
            if node.get("usable"):
                item.setFont(0, bold)
            if node["path"] == info.data_path:
                item.setText(0, node["name"] + "  (shown)")
            parent.addChild(item)
            for child in node.get("children", ()):
                add(item, child)

        root = QTreeWidgetItem([os.path.basename(info.path), "", "file"])
        self.tree.addTopLevelItem(root)
        for child in info.tree.get("children", ()):
            add(root, child)
        self.tree.expandToDepth(2)
        self.tree.resizeColumnToContents(0)

    def _tree_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        path = item.data(0, Qt.UserRole)
        if path:
            self.set_dataset(path)

    # ------------------------------------------------------------------ scan end, headless
    def _on_scan_end(self, status: Status) -> None:
        self.exit_code = status.exit_code
        if status.kind != ERROR:  # the worker already logged the error itself
            logger.info("%s", status.message)
        if self.options.export_map:
            self.export_map(self.options.export_map)
        if self.options.screenshot:
            self.take_screenshot(self.options.screenshot)
        if self.options.exit_on_finish:
            QTimer.singleShot(0, self.close)

    def export_map(self, path: str) -> bool:
        """Write the displayed map plane as CSV (SPEC section 3); False with a log if none."""
        if self.scan_map is None:
            logger.error("no scan map to export to %s", path)
            return False
        self.scan_map.to_csv(path, reduction=self.map_view.reduction,
                             slow_index=self.map_view.slow_index())
        logger.info("map written to %s", path)
        self._exported = True
        return True

    def take_screenshot(self, path: str) -> None:
        """Redraw now and save a grab of the window to ``path``."""
        self.redraw()
        self.grab().save(path)
        self._screenshot_taken = True
        logger.info("screenshot saved to %s", path)

    # ------------------------------------------------------------------ Qt events
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Save settings, take a pending screenshot, and stop the follower thread."""
        if self.options.screenshot and not self._screenshot_taken:
            self.take_screenshot(self.options.screenshot)
        if self.options.export_map and not self._exported and self.scan_map is not None:
            self.export_map(self.options.export_map)
        self.settings.setValue("geometry", self.saveGeometry())
        self.redraw_timer.stop()
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
