"""The follower thread: a QObject in a QThread that drives a :class:`Session` on a timer.

Every h5py call of the viewer happens in this thread, inside the session. The worker only
forwards the session's immutable messages as queued signals, and the GUI's requests (show a
point, ROI, mask, dataset, stop) to the session.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from swmrview.session.directory import DirectorySession
from swmrview.model.messages import ScanInfo, ScanList
from swmrview.model.options import ViewerOptions
from swmrview.session.session import CHECK_FILE_S, Session

logger = logging.getLogger(__name__)


class FollowWorker(QObject):
    """Runs one :class:`Session` in the thread it was moved to."""

    info_ready = Signal(object)     # ScanInfo
    update_ready = Signal(object)   # Update
    point_ready = Signal(object)    # PointFrame
    scans_ready = Signal(object)    # ScanList (directory mode)
    held_ready = Signal(object)     # PointFrame of a held point (hold and compare)
    region_ready = Signal(object)   # RegionFrame: progress, then the region's frame
    cake_ready = Signal(object)     # Cake: the 2-D integration of the point shown
    settled = Signal(int)           # every point found read, every earlier request served

    def __init__(self, options: ViewerOptions) -> None:
        super().__init__()
        self.session = (DirectorySession if options.path and os.path.isdir(options.path)
                        else Session)(options)
        self.generation = self.session.generation
        self._timer: QTimer | None = None
        self._point_request: tuple[int, ...] | None = None
        self._region_scheduled = False
        self._settle: int | None = None   # the token of a settle request not answered yet

    @Slot()
    def start(self) -> None:
        """Start stepping the session (runs in the worker thread once it starts)."""
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._tick()

    def cancel(self) -> None:
        """Thread-safe: make any wait in the session return at once (before :meth:`stop`)."""
        self.session.stop_event.set()

    @Slot()
    def stop(self) -> None:
        """Stop the timer, close the file, and end the thread's event loop."""
        if self._timer is not None:
            self._timer.stop()
        self.session.close()
        thread = self.thread()
        app = QCoreApplication.instance()
        if app is not None and thread is not app.thread():
            self.moveToThread(app.thread())  # so the GUI can drop us after the thread ends
            thread.quit()

    @Slot(int)
    def settle(self, token: int) -> None:
        """Emit :attr:`settled` with ``token`` once no point found is left to read (requests
        are served in order, so every request made before this one has been)."""
        self._settle = token
        self._answer_settle()

    def _answer_settle(self) -> None:
        if self._settle is not None and not self.session.backlog:
            token, self._settle = self._settle, None
            self.settled.emit(token)

    @Slot()
    def _tick(self) -> None:
        self._send(self.session.step())
        self._answer_settle()
        if self.session.backlog:
            # points found and not read yet (a finished scan, a burst): read on at once; the
            # zero timer still lets queued requests in between steps
            self._timer.start(0)
            return
        fast = self.session.busy
        interval = self.session.options.poll_interval if fast else CHECK_FILE_S / 4
        self._timer.start(max(1, int(interval * 1000)))

    def _send(self, messages: list) -> None:
        for message in messages:
            if isinstance(message, ScanInfo):
                self.info_ready.emit(message)
            elif isinstance(message, ScanList):
                self.scans_ready.emit(message)
            else:
                self.update_ready.emit(message)

    # ------------------------------------------------------------------ requests
    @Slot(object)
    def show_point(self, position: tuple[int, ...]) -> None:
        """Send the frame at ``position`` soon; only the newest request is served.

        A slider drag queues one request per value, and reading each would leave the view
        hundreds of stale frames behind.
        """
        first = self._point_request is None
        self._point_request = tuple(position)
        if first:
            QTimer.singleShot(0, self._serve_point)

    @Slot()
    def _serve_point(self) -> None:
        position, self._point_request = self._point_request, None
        if position is not None:
            point = self.session.point(position)
            if point is not None:
                self.point_ready.emit(point)

    @Slot(bool)
    def send_results(self, on: bool) -> None:
        """Updates carry their points' step results (patterns) for a live export."""
        if hasattr(self.session, "send_results"):
            self.session.send_results(on)

    @Slot(object)
    def show_cake(self, position) -> None:
        """Send the cake of ``position`` soon; only the newest request is served."""
        first = getattr(self, "_cake_request", None) is None
        self._cake_request = tuple(position)
        if first:
            QTimer.singleShot(0, self._serve_cake)

    @Slot()
    def _serve_cake(self) -> None:
        position, self._cake_request = self._cake_request, None
        cake = self.session.cake(position) if position is not None \
            and hasattr(self.session, "cake") else None
        if cake is not None:
            self.cake_ready.emit(cake)

    @Slot(object)
    def read_held(self, positions) -> None:
        """Send the frames of the held ``positions`` (each answered, none dropped)."""
        for position in positions:
            point = self.session.point(tuple(position))
            if point is not None:
                self.held_ready.emit(point)

    @Slot(object, str, int)
    def region_frame(self, positions: np.ndarray, how: str, request: int) -> None:
        """Reduce the frames at ``positions``; batches are read between the timer's steps."""
        self._send_region(self.session.region_frame(positions, how, request))

    @Slot()
    def _region_more(self) -> None:
        self._region_scheduled = False
        self._send_region(self.session.region_more())

    def _send_region(self, message) -> None:
        if message is not None:
            self.region_ready.emit(message)
        if self.session.region_busy and not self._region_scheduled:
            self._region_scheduled = True
            QTimer.singleShot(0, self._region_more)

    @Slot(object)
    def set_roi(self, roi) -> None:
        """Recompute the "roi" value with ``roi`` over the acquired points."""
        self.session.set_roi(roi)
        self._send(self.session.step())

    @Slot(bool)
    def set_mask(self, on: bool) -> None:
        """Leave masked pixels out (or in) and recompute the map."""
        self.session.set_mask_enabled(on)
        self._send(self.session.step())

    @Slot(object)
    def set_channels(self, channels) -> None:
        """Compute these map channels; new or changed ones over the acquired points."""
        self.session.set_channels(channels)
        self._send(self.session.step())

    @Slot(object)
    def set_reductions(self, names) -> None:
        """Compute these built-in maps (max only while wanted); one switched on is filled."""
        self.session.set_reductions(names)
        self._send(self.session.step())

    @Slot(int)
    def set_screen_binning(self, binning: int) -> None:
        """Bin live frames by up to ``binning``: the view shows no more pixels than that."""
        self.session.set_screen_binning(binning)

    @Slot(str)
    def set_dataset(self, path: str) -> None:
        """Show another dataset; its map is recomputed."""
        self.session.set_dataset(path)
        self._send(self.session.step())

    @Slot(str)
    def open_scan(self, path: str) -> None:
        """Directory mode: show the older scan ``path`` and stop switching to new ones."""
        if isinstance(self.session, DirectorySession):
            self.session.open_scan(path)
            self._send(self.session.step())

    @Slot()
    def follow_newest(self) -> None:
        """Directory mode: show the newest scan again, and each new one as it starts."""
        if isinstance(self.session, DirectorySession):
            self.session.follow_newest()
            self._send(self.session.step())


class FollowThread(QObject):
    """Owns one :class:`FollowWorker` and its QThread; the GUI talks to the worker through it."""

    request_point = Signal(object)
    request_roi = Signal(object)
    request_mask = Signal(bool)
    request_channels = Signal(object)
    request_reductions = Signal(object)        # the built-in maps the window needs
    request_screen_binning = Signal(int)       # frame pixels per screen pixel of the live view
    request_settled = Signal(int)              # answer on worker.settled once caught up
    request_dataset = Signal(str)
    request_open_scan = Signal(str)
    request_follow_newest = Signal()
    request_stop = Signal()
    request_held = Signal(object)              # positions of held points
    request_region = Signal(object, str, int)  # positions, "sum"/"max"/"mean", request number
    request_cake = Signal(object)              # position whose q x chi cake to integrate
    request_results = Signal(bool)             # updates carry step results (an export)

    def __init__(self, options: ViewerOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("swmrview-follower")
        self.worker = FollowWorker(options)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.request_point.connect(self.worker.show_point)
        self.request_roi.connect(self.worker.set_roi)
        self.request_mask.connect(self.worker.set_mask)
        self.request_channels.connect(self.worker.set_channels)
        self.request_reductions.connect(self.worker.set_reductions)
        self.request_screen_binning.connect(self.worker.set_screen_binning)
        self.request_settled.connect(self.worker.settle)
        self.request_dataset.connect(self.worker.set_dataset)
        self.request_open_scan.connect(self.worker.open_scan)
        self.request_follow_newest.connect(self.worker.follow_newest)
        self.request_stop.connect(self.worker.stop)
        self.request_held.connect(self.worker.read_held)
        self.request_region.connect(self.worker.region_frame)
        self.request_cake.connect(self.worker.show_cake)
        self.request_results.connect(self.worker.send_results)

    def start(self) -> None:
        """Start the thread (the worker begins following at once)."""
        self.thread.start()

    def stop(self, wait_ms: int = 5000) -> bool:
        """Ask the worker to close the file and end its thread; True if it ended in time."""
        if not self.thread.isRunning():
            return True
        self.worker.cancel()
        self.request_stop.emit()
        ended = self.thread.wait(wait_ms)
        if not ended:
            logger.warning("follower thread did not stop within %d ms", wait_ms)
            self.thread.quit()
            ended = self.thread.wait(wait_ms)
        return ended
