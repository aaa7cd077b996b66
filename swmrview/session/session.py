"""Follow one file: open (waiting and retrying), poll within a time budget, read and reduce.

A :class:`Session` is driven by repeated calls to :meth:`Session.step` (the GUI's worker calls
it on a timer in its own thread; tests call it in a loop) and hands out immutable
:class:`~swmrview.model.messages.ScanInfo` and :class:`~swmrview.model.messages.Update`
messages. It holds no map (the view state owns that) but owns the acquired set: a request
carries only its parameter (ROI, mask, dataset, channels) and the session recomputes over the
points it read.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import os
import threading
import time
from types import MappingProxyType
from typing import Any, Callable, Sequence

import numpy as np

from swmrview.core.files.fields import open_data
from swmrview.core.files.opening import (
    EmptyFileError,
    FileLockedError,
    NewScanWatch,
    NotHDF5Error,
    open_swmr,
    writer_active,
)
from swmrview.core.compat.frames import KeyDataMismatchError, MissingFilterError
from swmrview.core.follow.keys import ScanRankError
from swmrview.core.files.layout import LayoutError, find_layout
from swmrview.core.files.tree import hdf5_tree

from swmrview.core.compute.channels import Channel

from swmrview.session.channels import ChannelSet, per_point_fields, spectrum_axis
from swmrview.model.frames import display_frame, frame_kind
from swmrview.model.messages import PointFrame, RegionFrame, ScanInfo, Update, frozen
from swmrview.model.options import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_TIMED_OUT, ViewerOptions
from swmrview.session.acquired import Acquired
from swmrview.session.region import REGION_BUDGET_S, RegionJob
from swmrview.session.scan import (
    COMPLETE,
    GROWTH,
    MODE_TEXT,
    OpenScan,
    WaitForFiles,
    apply_mask,
    has_detector_mask,
    make_pipeline,
    open_scan,
    refresh_axes,
    shape_text,
)
from swmrview.model.view_settings import ShownChannelError
from swmrview.model.status import (
    ERROR,
    FINISHED,
    LIVE,
    STALLED,
    TIMED_OUT,
    WAITING,
    RateMeter,
    Status,
    progress_text,
)

logger = logging.getLogger(__name__)

READ_BUDGET_S = 0.05     # time spent reading frames per step, so requests stay responsive
CHECK_FILE_S = 1.0       # how often to look for a replaced file
AXES_EVERY_S = 1.0       # how often growing motor positions are re-read
RETRY_OPEN_S = 0.25      # how often a missing or locked file is tried again
NOTICE_S = 10.0          # how long a refused request is said after the status

# Unique in the process, so the GUI can drop what a previous session (or this one before a
# reopen or a dataset switch) queued and is still delivered.
_GENERATIONS = itertools.count(1)

Message = ScanInfo | Update


class Session:
    """Follows ``options.path``; see the module docstring."""

    def __init__(self, options: ViewerOptions, clock: Callable[[], float] = time.monotonic):
        self.options = options
        self.path = options.path or ""
        self.clock = clock
        self.generation = next(_GENERATIONS)
        self.scan: OpenScan | None = None
        self.status = self._plain = Status(WAITING, f"Waiting for {self.name}")
        self.stop_event = threading.Event()
        self._watch = NewScanWatch(self.path, CHECK_FILE_S)
        self._rate = RateMeter()
        self._pending: collections.deque[np.ndarray] = collections.deque()   # (n, rank) chunks
        # (positions, channel names or None for every value) to compute again
        self._backfill: collections.deque[tuple[np.ndarray, tuple[str, ...] | None]] = \
            collections.deque()
        self._late: list[tuple[np.ndarray, tuple[str, ...]]] = []  # other datasets lagging
        # the map channels asked for (a settings file's, until the window sends its own)
        self._wanted: tuple[Channel, ...] = tuple(options.view.channels) if options.view else ()
        self.acquired = Acquired()   # the points read, in arrival order
        self._roi: tuple[int, ...] | None = None
        self._mask_on = options.mask
        self._notice: tuple[str, float] | None = None   # (what was refused, until when)
        self._outbox: list[Message] = []
        self._reset_counters()

    @property
    def name(self) -> str:
        """The followed file's name."""
        return os.path.basename(self.path)

    @property
    def busy(self) -> bool:
        """True while there is work for the next step soon (poll fast); else poll slowly."""
        return not self.status.terminal or bool(self._backfill) or bool(self._pending)

    def _reset_counters(self) -> None:
        now = self.clock()
        self._wait_start = self._last_new = self._last_axes = now
        self._last_try = -np.inf
        self._empty_since: float | None = None   # when the file was first seen empty
        self._last_writer_check = now
        self._writer_closed = False
        self._axes_final = False
        self._n_ready = 0
        self.acquired.clear()
        self._sent_status: Status | None = None
        self._rate.clear()
        self._rate_value = 0.0

    # ------------------------------------------------------------------ the step
    def step(self) -> list[Message]:
        """Do one poll's work within the read budget; return the messages to hand on."""
        try:
            if self.scan is None:
                if self._watch.new_scan(scan_ended=True) and self.status.terminal:
                    self._reopen()
                elif not self.status.terminal or self.status.kind == TIMED_OUT:
                    self._try_open()
            elif self._watch.new_scan(scan_ended=self.status.terminal) \
                    or self.scan.follower.key_reset:
                self._reopen()
            elif self.status.kind != ERROR:
                self._follow()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status message
            logger.debug("session error", exc_info=True)
            self._fail(exc)
        out, self._outbox = self._outbox, []
        return out

    def _fail(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        logger.error("%s", message)
        if self.scan is not None:
            self.scan.close()
            self.scan = None
            self._watch.arm(False)
        self._set(Status(ERROR, f"Error: {message}", _exit_code_for(exc),
                         f"{type(exc).__name__}: {message}"))
        self._emit(force=True)

    def _set(self, status: Status) -> None:
        """Make ``status`` the current one; a recent notice is said after its message."""
        self._plain = status
        if self._notice is not None and self.clock() >= self._notice[1]:
            self._notice = None
        if self._notice is not None and status.kind != ERROR:
            status = dataclasses.replace(status, message=f"{status.message} ({self._notice[0]})")
        self.status = status

    # ------------------------------------------------------------------ opening
    def _try_open(self) -> None:
        now = self.clock()
        if now - self._last_try < RETRY_OPEN_S:
            return
        self._last_try = now
        waited = now - self._wait_start
        if os.path.isdir(self.path):
            raise IsADirectoryError(f"{self.path} is a directory, not an HDF5 file: give the "
                                    "scan file inside it")
        try:
            h5 = open_swmr(self.path, retry_for=0, stop_event=self.stop_event)
        except EmptyFileError:
            # a writer may just have created it: wait a while (the timeout), then say it
            # is not HDF5; a writer starting on it later is still noticed (the watch)
            if self._empty_since is None:
                self._empty_since = now
            if now - self._empty_since > self.options.timeout:
                self._watch.arm(False)
                raise EmptyFileError(f"{self.name} is empty (0 bytes), not an HDF5 file: no "
                                     f"writer has written it in {self.options.timeout:g} s"
                                     ) from None
            self._set(Status(WAITING, f"{self.name} is empty (not an HDF5 file yet): waiting "
                             f"up to {self.options.timeout:g} s for a writer"))
            self._emit()
            return
        except (FileNotFoundError, FileLockedError) as exc:
            self._empty_since = None
            why = "File locked by writer, retrying" if isinstance(exc, FileLockedError) \
                else "Waiting for"
            self._wait_or_time_out(f"{why}: {self.name}" if "locked" in why
                                   else f"Waiting for {self.name}", waited,
                                   f"Timed out waiting for {self.name} after "
                                   f"{self.options.timeout:g} s")
            return
        except Exception:
            self._watch.arm(False)  # so a real scan replacing it is noticed
            raise
        active = False
        try:
            active = writer_active(self.path)
            layout = find_layout(h5, keys=self.options.keys, data=self.options.data,
                                 finished=self.options.finished)
            scan = open_scan(h5, layout, self.options, active, mask=self._mask_on)
        except Exception as exc:
            h5.close()
            if isinstance(exc, WaitForFiles) or (active and not self.options.keys
                                                 and isinstance(exc, LayoutError)):
                self._wait_or_time_out(f"Waiting ({self.name}): {exc}", waited)
                return
            self._watch.arm(active)
            raise
        self.scan = scan
        self._watch.arm(active)
        self._last_new = self.clock()
        scan.channels = ChannelSet(scan.file, scan.scan_rank, scan.written)
        scan.frame_axis = spectrum_axis(open_data(scan.file, scan.data_path))
        self._use_channels(rebuild=False)
        info = self.info()
        view = self.options.view
        if self.options.headless and view is not None:   # never export another map instead
            problem = view.shown_problem(info, scan.channels.refused)
            if problem:
                raise ShownChannelError(f"view settings: {problem}")
        for note in scan.notes:
            logger.warning("%s: %s", self.name, note)
        logger.info("following %s (%s, data %s, scan shape %s)", self.path, scan.mode,
                    scan.data_path, scan.follower.scan_shape)
        self._set(Status(LIVE, f"Live ({MODE_TEXT[scan.mode]}): 0 points"))
        self._outbox.append(info)
        self._emit(force=True)

    def _wait_or_time_out(self, message: str, waited: float, timed_out: str = "") -> None:
        if self.options.headless and waited > self.options.timeout:
            self._set(Status(TIMED_OUT, timed_out or f"Timed out after "
                             f"{self.options.timeout:g} s. {message}", EXIT_TIMED_OUT))
        else:
            self._set(Status(WAITING, message))
        self._emit()

    def info(self) -> ScanInfo:
        """The description of the open scan (call only while one is open)."""
        scan = self.scan
        layout = scan.layout
        data_paths = tuple(dict.fromkeys((scan.data_path,) + tuple(layout.data)))
        try:
            tree = hdf5_tree(scan.file["/"], set(data_paths))
        except Exception:  # noqa: BLE001 - the tree is a convenience
            logger.debug("tree walk failed", exc_info=True)
            tree = {"name": "/", "path": "/", "kind": "group", "children": []}
        shape = tuple(scan.follower.scan_shape) if scan.mode == COMPLETE \
            else tuple(layout.scan_shape)
        fields = per_point_fields(tree, shape, skip=tuple(layout.keys) + (layout.finished,),
                                  exact=scan.mode == COMPLETE)
        return ScanInfo(self.generation, self.path, scan.mode, shape, scan.axes,
                        scan.data_path, data_paths, tuple(scan.pipeline.frame_shape),
                        str(scan.pipeline.dtype), MappingProxyType(tree), scan.notes,
                        masked=has_detector_mask(scan), frame_axis=scan.frame_axis,
                        fields=fields,
                        scatter=scan.scatter.last if scan.scatter is not None else None)

    # ------------------------------------------------------------------ following
    def _follow(self) -> None:
        scan = self.scan
        follower = scan.follower
        now = self.clock()
        # after a timeout keep watching (resume if keys come again), still saying timed out
        # until points really come: not "stalled" again on every resumed poll
        watching = self.status.kind == TIMED_OUT
        if watching and follower.done:
            follower.resume()
        if not follower.done:
            new = follower.poll()
            if new.size:
                self._pending.append(scan.positions(new))
                self._last_new = now
                if watching:
                    logger.info("new points after the timeout: following again")
                    watching = False
        if scan.mode == GROWTH and not follower.done and not self._pending \
                and now - self._last_writer_check > CHECK_FILE_S:
            self._last_writer_check = now
            if not writer_active(self.path):  # no flag to wait for: the writer's close ends it
                self._writer_closed = True
                follower.settle()  # what is stored now is final: the last chunk too
                scan.written.settle()
                new = follower.poll()
                if new.size:
                    self._pending.append(scan.positions(new))
                follower.stop()
        update = self._read(scan, now + READ_BUDGET_S)
        final = follower.done and not self._pending
        if (not final and now - self._last_axes > AXES_EVERY_S) \
                or (final and not self._axes_final):
            self._last_axes = now
            if refresh_axes(scan, force=final):  # at the end: positions written last too
                update["axes"] = scan.axes
            scatter = scan.scatter.read(self._n_ready, scan.follower.scan_shape) \
                if scan.scatter is not None else None
            if scatter is not None:  # a non-grid scan's point positions
                update["scatter"] = scatter
        self._axes_final = final
        self._update_status(scan, now, watching)
        self._emit(**update)

    def _read(self, scan: OpenScan, deadline: float) -> dict[str, Any]:
        """Read and reduce pending points (then backfill) until ``deadline``."""
        chunks, values, new, frame, position = [], collections.defaultdict(list), 0, None, None
        refreshed = False
        taken: Any = ()   # the names of the blocks in this update (None: every value)
        self._backfill.extend(self._late)  # points another dataset did not hold last step
        self._late = []
        for queue, is_new in ((self._pending, True), (self._backfill, False)):
            while queue and (self.clock() < deadline or not chunks):
                if not refreshed:  # under SWMR, chunks written since the last refresh read as fill
                    scan.pipeline.refresh()
                    refreshed = True
                block, names = (queue.popleft(), None) if is_new else queue.popleft()
                if chunks and names != taken:  # other values than this update's: next step
                    queue.appendleft(block if is_new else (block, names))
                    break
                if len(block) > scan.batch:
                    rest = block[scan.batch:]
                    queue.appendleft(rest if is_new else (rest, names))
                    block = block[:scan.batch]
                reduced, last = self._reduce(scan, block, names)
                if len(block) and len(reduced) == 0 and not chunks:
                    continue  # nothing to compute for these names any more
                chunks.append(block)
                taken = names
                for name, column in reduced.items():
                    values[name].append(column)
                if is_new:
                    new += len(block)
                    self.acquired.add(block)
                    frame, position = last, tuple(int(p) for p in block[-1])
            if queue:
                break
        self._n_ready += new
        update: dict[str, Any] = {}
        if chunks:
            update["positions"] = frozen(np.concatenate(chunks))
            update["values"] = MappingProxyType({k: frozen(np.concatenate(v))
                                                 for k, v in values.items()})
            update["new_points"] = new
            if scan.channels is not None:
                update["channels"] = MappingProxyType(dict(scan.channels.channels))
        if frame is not None:
            shown, levels, binning = display_frame(frame, scan.mask, scan.overflow)
            update.update(frame=frozen(shown), frame_position=position, frame_levels=levels,
                          frame_binning=binning)
        return update

    def _reduce(self, scan: OpenScan, block: np.ndarray, names: tuple[str, ...] | None
                ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Values of ``block`` (all, or only the channels ``names``) and its last frame."""
        chans = scan.channels
        extra = chans.main_reducers(names) if chans is not None else {}
        reduced: dict[str, np.ndarray] = {}
        last = None
        if names is None or extra:
            try:
                reduced, last = scan.pipeline.read_reduce([tuple(p) for p in block],
                                                          extra=extra, builtin=names is None)
            except IndexError:   # refreshed before reading: the data cannot hold the point
                raise KeyDataMismatchError(self._outside(scan, block)) from None
        if chans is not None:
            late = chans.finish(block, reduced, names)
            if late.any():
                lagging = tuple(n for n in (names or chans.channels) if n in chans.channels
                                and (chans.channels[n].dataset or chans.channels[n].monitor))
                self._late.append((block[late], lagging))
        return reduced, last

    @staticmethod
    def _outside(scan: OpenScan, block: np.ndarray) -> str:
        """Plain words for keys that are ready at points the data does not hold."""
        data = scan.pipeline.dataset
        shape = tuple(data.shape[:scan.scan_rank])
        bad = next((tuple(int(v) for v in p) for p in block
                    if any(v >= n for v, n in zip(p, shape))), tuple(block[-1]))
        return (f"keys and data do not match: the keys say point {bad} is ready, but "
                f"{data.name} holds only {shape_text(shape)} points")

    def _update_status(self, scan: OpenScan, now: float, watching: bool = False) -> None:
        """``watching``: timed out before and no point came since (the follower resumed)."""
        follower = scan.follower
        self._rate_value = self._rate.add(now, self._n_ready)
        of = progress_text(self._n_ready, follower.total_points)
        if self._pending:
            self._set(Status(LIVE, f"Live ({MODE_TEXT[scan.mode]}): {of} points, "
                             f"{self._rate_value:.1f} pt/s, {sum(map(len, self._pending))} "
                             "behind"))
        elif self._writer_closed:
            self._set(Status(FINISHED, f"Finished (the writer closed the file): {of} points"))
        elif (follower.done and follower.timed_out) or (watching and not follower.done):
            self._set(Status(TIMED_OUT, f"Timed out after {self.options.timeout:g} s without "
                             f"new points: {of} points (still watching)", EXIT_TIMED_OUT))
        elif follower.done:
            what = "Complete file" if scan.mode == COMPLETE else "Finished"
            self._set(Status(FINISHED, f"{what}: {of} points"))
        elif now - self._last_new > self.options.stall_after:
            self._set(Status(STALLED, f"Stalled for {int(now - self._last_new)} s: {of} points"))
        else:
            self._set(Status(LIVE, f"Live ({MODE_TEXT[scan.mode]}): {of} points, "
                             f"{self._rate_value:.1f} pt/s"))

    def _emit(self, force: bool = False, **fields: Any) -> None:
        if not (fields or force or self.status != self._sent_status):
            return
        self._sent_status = self.status
        scan = self.scan
        shape = None
        if scan is not None:
            shape = tuple(scan.follower.scan_shape)
        self._outbox.append(Update(
            generation=self.generation, status=self.status, scan_shape=shape,
            roi=self._roi, n_ready=self._n_ready,
            total=scan.follower.total_points if scan is not None else None,
            rate=self._rate_value, **fields))

    # ------------------------------------------------------------------ requests
    def point(self, position: Sequence[int]) -> PointFrame | None:
        """The frame at ``position`` (an acquired point), or None if it cannot be read."""
        if self.scan is None:
            return None
        try:
            frame = self.scan.pipeline.read(tuple(int(p) for p in position))
        except Exception as exc:  # noqa: BLE001 - a failed read is a message, never a crash
            logger.warning("could not read point %s: %s", tuple(position), exc)
            return None
        shown, levels, binning = display_frame(frame, self.scan.mask, self.scan.overflow)
        return PointFrame(self.generation, tuple(int(p) for p in position), frozen(shown),
                          levels, binning)

    def set_roi(self, roi: Sequence[int] | None) -> None:
        """Use ``roi`` for the "roi" value and recompute it over the acquired points."""
        roi = None if roi is None else tuple(int(v) for v in roi)
        if self.scan is not None:
            kind = frame_kind(tuple(self.scan.pipeline.frame_shape))
            if roi is not None and len(roi) != {"image": 4, "spectrum": 2}.get(kind, -1):
                logger.warning("ROI %s does not fit %s frames: ignored", roi, kind)
                roi = None
        if roi == self._roi:
            return
        self._roi = roi
        if self.scan is not None:
            self.scan.pipeline.set_roi(roi)
            self._recompute()

    def set_mask_enabled(self, on: bool) -> None:
        """Leave masked and overflowing pixels out (``on``) or in, and recompute the map."""
        if bool(on) == self._mask_on:
            return
        self._mask_on = bool(on)
        if self.scan is not None:
            apply_mask(self.scan, self._mask_on)
            self._use_channels(rebuild=True)
            self._recompute()

    def set_dataset(self, path: str) -> None:
        """Show another dataset of the file: a new pipeline, the map recomputed."""
        scan = self.scan
        if scan is None or path == scan.data_path:
            return
        try:
            pipeline = make_pipeline(open_data(scan.file, path), scan.scan_rank, self.options)
        except Exception as exc:  # noqa: BLE001 - the previous dataset stays shown
            logger.warning("cannot show %s: %s", path, exc)
            self._notice = (f"cannot show {path}: {exc}", self.clock() + NOTICE_S)
            self._set(self._plain)  # the next steps' statuses keep saying it for a while
            self._emit(force=True)
            return
        scan.pipeline.close()
        scan.pipeline, scan.data_path = pipeline, path
        self._roi = None
        apply_mask(scan, self._mask_on)
        scan.frame_axis = spectrum_axis(pipeline.dataset)
        self._use_channels(rebuild=True)
        self.generation = next(_GENERATIONS)
        self._outbox.append(self.info())
        self._recompute()

    def set_channels(self, channels: Sequence[Channel]) -> None:
        """Compute the map ``channels``; new or changed ones over the acquired points."""
        self._wanted = tuple(channels)
        if self.scan is None:
            return
        changed = self._use_channels(rebuild=False)
        if changed:
            self._queue_again(tuple(changed))
        else:
            self._emit(force=True)

    def _use_channels(self, rebuild: bool) -> list[str]:
        """Give the channel set the wanted channels (``rebuild``: the detector changed)."""
        scan = self.scan
        if scan is None or scan.channels is None:
            return []
        args = (scan.pipeline.frame_shape, scan.mask, scan.overflow,
                None if scan.frame_axis is None else scan.frame_axis.values)
        if rebuild:
            scan.channels.forget_frames()
        changed, refused = scan.channels.set(self._wanted, *args)
        if refused:
            more = f" (+{len(refused) - 1} more)" if len(refused) > 1 else ""
            self._notice = (refused[0] + more, self.clock() + NOTICE_S)
            self._set(self._plain)
        return changed

    def _recompute(self) -> None:
        """Read every acquired point again (a new ROI, mask or dataset); the window applies
        these values after the ones already on their way to it."""
        self._backfill.clear()
        self._late = []
        self._queue_again(None)

    def _queue_again(self, names: tuple[str, ...] | None) -> None:
        """Queue the acquired points to compute ``names`` (None: every value) again."""
        positions = self.acquired.positions()
        if positions.size:
            self._backfill.append((positions, names))
        if self.scan is not None and self.status.terminal:
            self._emit(**self._read(self.scan, self.clock() + READ_BUDGET_S))

    # ------------------------------------------------------------------ replaced files, closing
    def _reopen(self) -> None:
        logger.info("%s holds a new scan: reopening", self.path)
        self.close()
        self._pending.clear()
        self._backfill.clear()
        self.generation = next(_GENERATIONS)
        self._watch.disarm()
        self._reset_counters()
        self._set(Status(WAITING, f"Waiting for {self.name} (file replaced)"))
        self._emit(force=True)
        self._try_open()

    def close(self) -> None:
        """Close the file (the session can open it again with :meth:`step`)."""
        self.stop_event.set()
        if self.scan is not None:
            self.scan.close()
            self.scan = None
        self.stop_event = threading.Event()

    # ------------------------------------------------------------------ regions (hold and compare)
    _region: RegionJob | None = None   # the region being read, a budgeted batch per call
    _region_last: RegionJob | None = None   # the last region read (grown if asked again)

    def region_frame(self, positions: np.ndarray, how: str = "sum",
                     request: int = 0) -> RegionFrame | None:
        """Start the ``how`` frame of the acquired ``positions`` (replacing any region still
        being read) and read a first batch; its progress, or the frame if it is small."""
        last, self._region, self._region_last = self._region_last, None, None
        if self.scan is None:
            return None
        scan = self.scan
        rank = scan.pipeline.scan_rank
        positions = np.asarray(positions, np.int64).reshape(len(positions), rank)
        positions = self.acquired.only_acquired(positions) if rank \
            else positions[: min(1, self._n_ready)]   # a single frame: the one point
        if last is not None and last.how == how and last.generation == self.generation \
                and last.mask is scan.mask and last.grown(positions, request):
            self._region = last   # the same region, filled further: read only its new points
        else:
            self._region = RegionJob(self.generation, request, positions, how,
                                     tuple(scan.pipeline.frame_shape), scan.mask,
                                     scan.overflow)
        return self.region_more()

    def region_more(self) -> RegionFrame | None:
        """Read the region's next batch within its budget; its progress or, at the end, frame."""
        job = self._region
        if job is None or self.scan is None or job.generation != self.generation:
            self._region = None  # another file or dataset meanwhile: the request is stale
            return None
        job.run(self.scan.pipeline.read, self.clock() + REGION_BUDGET_S, self.clock)
        if job.done:
            self._region, self._region_last = None, job
        return job.message()

    @property
    def region_busy(self) -> bool:
        """True while a region's frames are being read (call :meth:`region_more`)."""
        return self._region is not None


def _exit_code_for(exc: BaseException) -> int:
    """Bad input (2) for what the file or the user named wrongly, else an error (1)."""
    bad_input = (NotHDF5Error, LayoutError, KeyError, ScanRankError, KeyDataMismatchError,
                 IsADirectoryError, ShownChannelError, EmptyFileError, MissingFilterError)
    return EXIT_BAD_INPUT if isinstance(exc, bad_input) else EXIT_ERROR
