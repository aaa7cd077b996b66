"""The follower thread: a QObject living in a QThread that owns the h5py file.

Every h5py call of the viewer happens here. On a timer in its own thread the worker polls the
key follower, reads each new frame once, reduces it into the scan map and emits one queued
signal per batch carrying immutable results (:class:`Batch`). The GUI only sends requests
back: show a point, change the ROI, switch dataset, stop.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from swmrview.core.files import (
    FileLockedError, NewScanWatch, NotHDF5Error, open_swmr, writer_active,
)
from swmrview.core.frames import FrameReader, KeyDataMismatchError
from swmrview.core.keys import KeyFollower, ScanRankError
from swmrview.core.layout import LayoutError, find_layout
from swmrview.core.scanmap import reduce_frame
from swmrview.core.tree import hdf5_tree
from swmrview.gui.messages import (
    ERROR, FINISHED, LIVE, STALLED, TIMED_OUT, WAITING, Batch, PointFrame, ScanInfo, Status, _frozen,
)
from swmrview.gui.options import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_TIMED_OUT, ViewerOptions

logger = logging.getLogger(__name__)


READ_BUDGET_S = 0.05    # time spent reading frames per tick, so requests stay responsive
CHECK_FILE_S = 1.0      # how often to look for a replaced file

# Generations are unique in the process, so the GUI can drop anything a previous worker (or this
# worker before a reopen / dataset switch) queued and is still delivered.
_GENERATIONS = itertools.count(1)


@dataclass
class _Scan:
    """Everything the worker holds for one open file (h5py objects stay in the worker)."""

    file: Any
    layout: Any
    follower: Any
    reader: Any
    static: bool
    data_path: str
    acquired: list = field(default_factory=list)
    acquired_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def n_points(self) -> float:
        """Points in the scan shape (infinite while the slowest length is unknown)."""
        shape = self.follower.scan_shape
        return np.inf if None in shape else int(np.prod(shape, dtype=np.int64))


class FollowWorker(QObject):
    """Follows one file in its own thread; see the module docstring for the data flow."""

    info_ready = Signal(object)        # ScanInfo
    batch_ready = Signal(object)       # Batch
    point_ready = Signal(object)       # PointFrame

    def __init__(self, options: ViewerOptions) -> None:
        super().__init__()
        self.options = options
        self.path = options.path
        self._stop_event = threading.Event()
        self._timer: QTimer | None = None
        self._scan: _Scan | None = None
        self._generation = next(_GENERATIONS)
        self._roi: tuple[int, ...] | None = None
        self._pending: collections.deque[int] = collections.deque()
        self._backfill: collections.deque[int] = collections.deque()
        self._status = Status(WAITING, f"Waiting for {os.path.basename(self.path or '')}")
        self._last_sent: Status | None = None
        self._wait_start = time.monotonic()
        self._last_new = time.monotonic()
        self._rate_samples: collections.deque = collections.deque(maxlen=200)
        self._watch = NewScanWatch(self.path, CHECK_FILE_S)
        self._ended = False
        self._rate = 0.0
        self._point_request: int | None = None

    @property
    def generation(self) -> int:
        """Generation of the messages this worker sends now (read before the thread starts)."""
        return self._generation

    # ------------------------------------------------------------------ lifecycle
    @Slot()
    def start(self) -> None:
        """Start polling (runs in the worker thread once it starts)."""
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(self.options.poll_interval * 1000)))
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._tick()

    def cancel(self) -> None:
        """Thread-safe: make any wait in the worker return at once (before :meth:`stop`)."""
        self._stop_event.set()

    @Slot()
    def stop(self) -> None:
        """Stop the timer, close the file, and end the thread's event loop."""
        self._stop_event.set()
        if self._timer is not None:
            self._timer.stop()
        self._close()
        thread = self.thread()
        app = QCoreApplication.instance()
        if app is not None and thread is not app.thread():
            self.moveToThread(app.thread())  # so the GUI can drop us after the thread ends
            thread.quit()

    def _close(self) -> None:
        if self._scan is not None:
            try:
                self._scan.follower.stop()
                self._scan.file.close()
            except Exception:  # noqa: BLE001 - closing must not raise on the way out
                logger.debug("error closing file", exc_info=True)
            self._scan = None

    # ------------------------------------------------------------------ requests
    @Slot(int)
    def show_point(self, index: int) -> None:
        """Emit the frame of an acquired point as a :class:`PointFrame`, soon.

        Only the newest request is served: a slider drag queues one request per value, and
        reading each would leave the view hundreds of stale frames behind.
        """
        first = self._point_request is None
        self._point_request = int(index)
        if first:
            QTimer.singleShot(0, self._serve_point)

    @Slot()
    def _serve_point(self) -> None:
        index, self._point_request = self._point_request, None
        scan = self._scan
        if index is None:
            return
        if scan is None or not 0 <= index < scan.acquired_mask.size or not scan.acquired_mask[index]:
            logger.debug("point %s not acquired: not shown", index)
            return
        try:
            frame = _read(scan.reader, int(index))
        except Exception as exc:  # noqa: BLE001 - a failed read is a message, never a crash
            logger.warning("could not read point %d: %s", index, exc)
            return
        self.point_ready.emit(PointFrame(self._generation, int(index), _frozen(frame)))

    @Slot(object)
    def set_roi(self, roi: tuple[int, ...] | None) -> None:
        """Use ``roi`` for the "roi" reduction and recompute it for every acquired point."""
        roi = None if roi is None else tuple(int(v) for v in roi)
        if self._scan is not None:
            roi = _fit_roi(roi, len(self._scan.reader.frame_shape))
        if roi == self._roi:
            return
        self._roi = roi
        if self._scan is not None:
            self._backfill = collections.deque(self._scan.acquired)
            self._wake()

    @Slot(str)
    def set_dataset(self, path: str) -> None:
        """Show another data dataset: new reader and map, recomputed for acquired points."""
        scan = self._scan
        if scan is None or path == scan.data_path:
            return

        try:
            reader = FrameReader(scan.file[path], scan.follower.scan_rank, auto_refresh=False)
            reader.check_scan_shape(scan.follower.scan_shape)
        except Exception as exc:  # noqa: BLE001 - the previous dataset stays shown
            logger.warning("cannot show %s: %s", path, exc)
            self._set_status(Status(self._status.kind, f"{self._status.message} "
                                    f"(cannot show {path}: {exc})", self._status.exit_code))
            self._emit(force=True)
            return
        self._roi = None
        scan.reader, scan.data_path = reader, path
        self._generation = next(_GENERATIONS)
        self._backfill = collections.deque(scan.acquired)
        self._wake()
        self.info_ready.emit(self._make_info(scan))
        frame = index = None
        if scan.acquired:  # show the newest point of the new dataset (the view changes page)
            index = scan.acquired[-1]
            try:
                frame = _read(reader, index, refresh=True)
            except Exception as exc:  # noqa: BLE001 - the map backfill reports real failures
                logger.debug("cannot read point %d of %s: %s", index, path, exc)
                frame = index = None
        self._emit(frame=frame, frame_index=index, force=True)

    # ------------------------------------------------------------------ the tick
    @Slot()
    def _tick(self) -> None:
        try:
            if self._scan is not None and self._status.kind == ERROR:
                if self._file_replaced():  # after an error only a new file starts again
                    self._reopen()
                return
            if self._scan is None:
                if not self._ended:
                    self._try_open()
                elif self._file_replaced():
                    self._reopen()
                return
            if self._file_replaced():
                self._reopen()
                return
            self._follow()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status message
            logger.debug("worker error", exc_info=True)
            self._fail(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc),
                       _exit_code_for(exc))

    def _fail(self, message: str, code: int = EXIT_ERROR) -> None:
        logger.error("%s", message)
        self._ended = True
        self._set_status(Status(ERROR, f"Error: {message}", code))
        self._emit(force=True)

    def _set_status(self, status: Status) -> None:
        self._status = status

    def _try_open(self) -> None:

        name = os.path.basename(self.path)
        waited = time.monotonic() - self._wait_start
        if self.options.headless and waited > self.options.timeout:
            self._ended = True
            self._set_status(Status(TIMED_OUT, f"Timed out waiting for {name} "
                                    f"after {self.options.timeout:g} s", EXIT_TIMED_OUT))
            self._emit(force=True)
            return
        try:
            h5 = open_swmr(self.path, retry_for=0, stop_event=self._stop_event)
        except FileNotFoundError:
            self._set_status(Status(WAITING, f"Waiting for {name}"))
            self._emit()
            return
        except FileLockedError:
            self._set_status(Status(WAITING, f"File locked by writer, retrying: {name}"))
            self._emit()
            return
        except Exception:
            self._watch.arm()  # so a real scan replacing it is noticed
            raise
        active = False
        try:
            active = writer_active(self.path)
            layout = find_layout(h5, keys=self.options.keys, data=self.options.data,
                                 finished=self.options.finished)
            scan = self._make_scan(h5, layout, static=not active)
        except Exception as exc:
            h5.close()
            if active and not self.options.keys and waited < self.options.timeout:
                self._set_status(Status(WAITING, f"Waiting for {name}: {exc}"))
                self._emit()
                return
            self._watch.arm(active)
            raise
        self._scan = scan
        self._watch.arm(active)
        self._last_new = time.monotonic()
        self._set_status(Status(LIVE, "Live: 0 points"))
        logger.info("following %s (data %s, scan shape %s)", self.path, scan.data_path,
                    scan.follower.scan_shape)
        self.info_ready.emit(self._make_info(scan))
        self._emit(force=True)

    def _make_scan(self, h5: Any, layout: Any, static: bool) -> _Scan:

        keys = [h5[p] for p in layout.keys]
        finished = h5[layout.finished] if layout.finished else None
        skip_after = self.options.skip_after
        if skip_after is None:
            skip_after = max(0.5, min(2.0, self.options.timeout / 4))
        follower = KeyFollower(keys, timeout=self.options.timeout, finished_dataset=finished,
                               poll_interval=self.options.poll_interval, out_of_order=True,
                               skip_after=skip_after, stop_event=threading.Event(),
                               scan_rank=layout.scan_rank)  # agree with the layout (GDA rank)
        follower.check_datasets()
        data_path = (self.options.data[0] if self.options.data
                     else layout.signal or (layout.data[0] if layout.data else None))
        if not data_path:

            raise LayoutError("no data dataset whose leading dimensions match the scan shape")
        reader = FrameReader(h5[data_path], follower.scan_rank, auto_refresh=False)
        reader.check_scan_shape(follower.scan_shape)
        self._roi = _fit_roi(self._roi, len(reader.frame_shape))  # a reopened file may differ
        return _Scan(h5, layout, follower, reader, static, data_path)

    def _make_info(self, scan: _Scan) -> ScanInfo:
        layout = scan.layout
        shape = tuple(scan.follower.scan_shape)
        values = []
        for dim, axis in enumerate(tuple(layout.axes)[: len(shape)]):
            values.append(_axis_values(scan.file, axis, shape[dim]))
        values += [None] * (len(shape) - len(values))
        names = tuple(layout.axis_names)[: len(shape)]
        names += tuple(f"dim{d}" for d in range(len(names), len(shape)))
        data_paths = tuple(dict.fromkeys((scan.data_path,) + tuple(layout.data)))
        try:
            tree = hdf5_tree(scan.file["/"], set(data_paths))
        except Exception:  # noqa: BLE001 - the tree is a convenience
            logger.debug("tree walk failed", exc_info=True)
            tree = {"name": "/", "path": "/", "kind": "group", "children": []}
        return ScanInfo(self._generation, self.path, shape, names, tuple(values),
                        scan.data_path, tuple(scan.reader.frame_shape),
                        str(scan.reader.dtype), MappingProxyType(tree),
                        _frozen(np.asarray(scan.acquired, dtype=np.int64)))

    def _follow(self) -> None:
        scan = self._scan
        follower = scan.follower
        following = not follower.done and not self._status.terminal
        if follower.key_reset:  # keys went back to zero: a new scan is being written in place
            logger.warning("keys of %s were reset: following the new scan", self.path)
            self._reopen()
            return
        got_new = False
        if following:
            new = follower.poll()
            if new.size:
                got_new = True
                self._pending.extend(int(i) for i in new)
                self._last_new = time.monotonic()
        deadline = time.monotonic() + READ_BUDGET_S
        indices, values, frame, frame_index, n_new = self._read_pending(scan, deadline)
        if not self._pending:
            more, more_values = self._read_backfill(scan, deadline)
            indices += more
            for name, vals in more_values.items():
                values.setdefault(name, []).extend(vals)
        if not self._status.terminal:  # the scan ends only once every pending frame is read
            self._update_status(scan, ended=follower.done or (scan.static and not got_new))
        self._emit(indices, values, frame, frame_index, n_new)
        if self._status.terminal and not self._backfill and self._timer is not None:
            self._timer.setInterval(int(CHECK_FILE_S * 1000))  # only watch for a new scan

    def _wake(self) -> None:
        """Poll fast again (after the scan ended, for a recomputation)."""
        if self._timer is not None:
            self._timer.setInterval(max(1, int(self.options.poll_interval * 1000)))

    def _read_pending(self, scan: _Scan, deadline: float):
        indices: list[int] = []
        values: dict[str, list[float]] = {}
        frame = frame_index = None
        refresh = True  # under SWMR, chunks written since the last refresh read as fill
        while self._pending and (time.monotonic() < deadline or not indices):
            index = self._pending.popleft()
            frame = _read(scan.reader, index, refresh)
            refresh = False
            frame_index = index
            self._place(scan, index, frame, indices, values)
            self._mark_acquired(scan, index)
        return indices, values, frame, frame_index, len(indices)

    def _read_backfill(self, scan: _Scan, deadline: float):
        indices: list[int] = []
        values: dict[str, list[float]] = {}
        refresh = True  # like _read_pending: a new reader's chunks may read as fill otherwise
        while self._backfill and time.monotonic() < deadline:
            index = self._backfill.popleft()
            self._place(scan, index, _read(scan.reader, index, refresh), indices, values)
            refresh = False
        return indices, values

    def _place(self, scan: _Scan, index: int, frame: np.ndarray, indices: list,
               values: dict) -> None:
        """Reduce one frame for the GUI's map (the GUI keeps the only map)."""
        if index >= scan.n_points:
            raise IndexError(f"index {index} outside scan shape {scan.follower.scan_shape}")
        reductions = reduce_frame(frame, self._roi)
        indices.append(index)
        for name, value in reductions.items():
            values.setdefault(name, []).append(value)

    def _mark_acquired(self, scan: _Scan, index: int) -> None:
        mask = scan.acquired_mask
        if index >= mask.size:
            grown = np.zeros(max(index + 1, 2 * mask.size, 1024), bool)
            grown[: mask.size] = mask
            scan.acquired_mask = mask = grown
        if not mask[index]:
            mask[index] = True
            scan.acquired.append(index)

    # ------------------------------------------------------------------ status
    def _update_status(self, scan: _Scan, ended: bool) -> None:
        follower = scan.follower
        now = time.monotonic()
        n = len(scan.acquired)
        self._rate_samples.append((now, n))
        while len(self._rate_samples) > 2 and now - self._rate_samples[0][0] > 2.0:
            self._rate_samples.popleft()
        t0, n0 = self._rate_samples[0]
        self._rate = rate = (n - n0) / (now - t0) if now > t0 else 0.0
        total = follower.total_points
        of = f"{n}/{total}" if total is not None else f"{n}"
        if ended and not self._pending:
            if follower.timed_out:
                self._set_status(Status(TIMED_OUT, f"Timed out after {self.options.timeout:g} s "
                                        f"without new points: {of} points", EXIT_TIMED_OUT))
            else:
                self._set_status(Status(FINISHED, f"Finished: {of} points"))
            self._ended = True
            return
        idle = now - self._last_new
        if idle > self.options.stall_after and not self._pending:
            self._set_status(Status(STALLED, f"Stalled for {int(idle)} s: {of} points"))
        else:
            behind = f", {len(self._pending)} behind" if self._pending else ""
            self._set_status(Status(LIVE, f"Live: {of} points, {rate:.1f} pt/s{behind}"))

    def _emit(self, indices: list | None = None, values: dict | None = None,
              frame: np.ndarray | None = None, frame_index: int | None = None,
              n_new: int = 0, force: bool = False) -> None:
        changed = self._status != self._last_sent
        if not (indices or frame is not None or changed or force):
            return
        scan = self._scan
        n_ready = len(scan.acquired) if scan else 0
        total = scan.follower.total_points if scan else None
        batch = Batch(
            generation=self._generation,
            indices=_frozen(np.asarray(indices or [], dtype=np.int64)),
            values=MappingProxyType({k: _frozen(np.asarray(v, dtype=np.float64))
                                     for k, v in (values or {}).items()}),
            roi=self._roi,
            frame=None if frame is None else _frozen(frame),
            frame_index=frame_index,
            n_ready=n_ready,
            total=total,
            rate=self._rate,
            status=self._status,
            new_points=n_new,
        )
        self._last_sent = self._status
        self.batch_ready.emit(batch)

    # ------------------------------------------------------------------ replaced files
    def _file_replaced(self) -> bool:
        return self._watch.new_scan(scan_ended=self._status.terminal)

    def _reopen(self) -> None:
        logger.info("%s was replaced by a new file: reopening", self.path)
        self._close()
        self._pending.clear()
        self._backfill.clear()
        self._rate_samples.clear()
        self._generation = next(_GENERATIONS)
        self._ended = False
        self._watch.disarm()
        self._wait_start = time.monotonic()
        self._wake()
        self._set_status(Status(WAITING, f"Waiting for {os.path.basename(self.path)} "
                                "(file replaced)"))
        self._emit(force=True)
        self._try_open()


def _read(reader: Any, index: int, refresh: bool = False) -> np.ndarray:
    """One frame without its scan dimensions; ``refresh`` first makes new chunks visible."""
    frame, _ = reader.read_frame(index, force_refresh=refresh)
    return np.asarray(frame).reshape(frame.shape[reader.scan_rank:])


def _fit_roi(roi: tuple[int, ...] | None, frame_rank: int) -> tuple[int, ...] | None:
    """``roi`` if it fits frames of ``frame_rank`` (4 bounds for images, 2 for spectra), else None.

    A ROI drawn on other frames would make every reduction raise and end the scan in error.
    """
    if roi is None:
        return None
    if len(roi) != (4 if frame_rank >= 2 else 2 if frame_rank == 1 else -1):
        logger.warning("ROI %s does not fit frames of rank %d: ignored", roi, frame_rank)
        return None
    return roi


def _axis_values(h5: Any, path: str | None, length: int | None) -> np.ndarray | None:
    """1-D motor positions of one scan axis, or None when absent or not yet usable."""
    if not path or length is None:
        return None
    try:
        ds = h5[path]
        if ds.ndim != 1 or ds.shape[0] != length:
            return None
        values = np.asarray(ds[()], dtype=np.float64)
    except Exception:  # noqa: BLE001 - axes are decoration; fall back to indices
        return None
    if not np.all(np.isfinite(values)):
        return None
    return _frozen(values)


def _exit_code_for(exc: BaseException) -> int:
    """Bad input (2) for what the file or the user named wrongly, else an error (1)."""
    bad_input = (NotHDF5Error, LayoutError, KeyError, ScanRankError, KeyDataMismatchError)
    return EXIT_BAD_INPUT if isinstance(exc, bad_input) else EXIT_ERROR


class FollowThread(QObject):
    """Owns one :class:`FollowWorker` and its QThread; the GUI talks to the worker through it."""

    request_point = Signal(int)
    request_roi = Signal(object)
    request_dataset = Signal(str)
    request_stop = Signal()

    def __init__(self, options: ViewerOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("swmrview-follower")
        self.worker = FollowWorker(options)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.request_point.connect(self.worker.show_point)
        self.request_roi.connect(self.worker.set_roi)
        self.request_dataset.connect(self.worker.set_dataset)
        self.request_stop.connect(self.worker.stop)

    def start(self) -> None:
        """Start the thread (the worker begins polling at once)."""
        self.thread.start()

    def stop(self, wait_ms: int = 5000) -> bool:
        """Ask the worker to close the file and end its thread; True if it ended in time."""
        if not self.thread.isRunning():
            return True
        self.worker.cancel()  # ends any retry wait at once
        self.request_stop.emit()
        ended = self.thread.wait(wait_ms)
        if not ended:
            logger.warning("follower thread did not stop within %d ms", wait_ms)
            self.thread.quit()
            ended = self.thread.wait(wait_ms)
        return ended
