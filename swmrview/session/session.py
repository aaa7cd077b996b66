"""Follow one file: open (waiting and retrying), poll within a time budget, read and reduce.

A :class:`Session` is driven by repeated calls to :meth:`Session.step` (the GUI's worker calls
it on a timer in its own thread; tests call it in a loop) and hands out immutable
:class:`~swmrview.model.messages.ScanInfo` and :class:`~swmrview.model.messages.Update`
messages. It holds no map (the view state owns that) but owns the acquired set: a request
carries only its parameter (ROI, mask, dataset, channels) and the session recomputes over the
points it read.

The jobs are its collaborators': :mod:`~swmrview.session.opening` (wait, retry, open, describe),
:mod:`~swmrview.session.polling` (what is new), :mod:`~swmrview.session.reading` (read and reduce
within a budget, the acquired set), :mod:`~swmrview.session.status_text` (what it says) and
:mod:`~swmrview.session.region` (held and compared regions). The session drives them and
answers the window's requests.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from swmrview.core.compute.channels import Channel
from swmrview.core.compute.reduce import REDUCTIONS
from swmrview.core.files.fields import open_data
from swmrview.core.files.opening import NewScanWatch

from swmrview.model.messages import Cake, PointFrame, RegionFrame, ScanInfo, Update, frozen
from swmrview.model.options import ViewerOptions
from swmrview.model.status import ERROR, LIVE, TIMED_OUT, WAITING, Status
from swmrview.session.acquired import Acquired
from swmrview.session.step_results import StepResults
from swmrview.session.xrf_steps import StepFinisher
from swmrview.session.channels import spectrum_axis
from swmrview.session.export import DEFAULT_REDUCTIONS
from swmrview.session.opening import Opener, add_readers, check_shown, exit_code_for, scan_info
from swmrview.session.polling import CHECK_FILE_S, Poller
from swmrview.session.reading import READ_BUDGET_S, Reader, point_frame
from swmrview.session.region import Regions
from swmrview.session.scan import (
    MODE_TEXT,
    OpenScan,
    apply_mask,
    fitting_roi,
    make_pipeline,
    use_channels,
)
from swmrview.session.status_text import StatusLine, following_status

__all__ = ["Session", "Message", "CHECK_FILE_S", "READ_BUDGET_S", "new_generation"]

logger = logging.getLogger(__name__)

# Unique in the process, so the GUI can drop what a previous session (or this one before a
# reopen or a dataset switch) queued and is still delivered.
_GENERATIONS = itertools.count(1)

Message = ScanInfo | Update


def new_generation() -> int:
    """A generation number no session of this process has handed out."""
    return next(_GENERATIONS)


ALWAYS = ("sum", "mean", "roi")   # computed for every point (the ROI's only while one is set)


def _builtin_maps(names: Sequence[str]) -> tuple[str, ...]:
    """The built-in maps among ``names``, with those always computed, in REDUCTIONS order."""
    return tuple(n for n in REDUCTIONS if n in ALWAYS or n in names)


def started_maps(options: ViewerOptions) -> tuple[str, ...]:
    """The maps shown from the start: ``--reduce``'s, or the settings file's shown map and
    1-D overlay (until the window says which it shows)."""
    view = options.view
    if view is not None:
        return (view.shown,) + tuple(getattr(view, "overlay", ()))
    return (options.reduce or "sum",)


class _Clock:
    """The session's clock as its collaborators call it: replaceable, and with no reference
    back to the session. A bound method of the session made a cycle, so a dropped session's
    HDF5 objects waited for the cyclic collector, which frees them late and on whichever
    thread it runs ("can't insert duplicate key" in the next file's reads)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    def __call__(self) -> float:
        return self.clock()


class Session:
    """Follows ``options.path``; see the module docstring."""

    def __init__(self, options: ViewerOptions, clock: Callable[[], float] = time.monotonic):
        self.options = options
        self.path = options.path or ""
        self._clock = _Clock(clock)
        self.generation = new_generation()
        self.scan: OpenScan | None = None
        self.stop_event = threading.Event()
        self._watch = NewScanWatch(self.path, CHECK_FILE_S)
        # the collaborators ask the session's clock, which a test may replace
        self._opener = Opener(options, self._watch, self._clock)
        self._poller = Poller(self.path, self._clock)
        self._reader = Reader(self._clock)
        self._finisher = StepFinisher()   # end-of-scan passes (the XRF fit's refit)
        self._reader.send_results = bool(options.export_nexus)   # patterns go to the export
        self._line = StatusLine(Status(WAITING, f"Waiting for {self.name}"), self._clock)
        self._regions = Regions(self._clock)
        # the map channels asked for (a settings file's, until the window sends its own)
        self._wanted: tuple[Channel, ...] = tuple(options.view.channels) if options.view else ()
        self._roi: tuple[int, ...] | None = None
        self._mask_on = options.mask
        # the built-in maps computed: sum and mean (one accumulation) and the ROI always, max
        # while it is shown, exported or asked for (set_reductions)
        self._required = DEFAULT_REDUCTIONS if options.export_nexus else ()
        self._reductions = _builtin_maps(self._required + started_maps(options))
        self._outbox: list[Message] = []

    @property
    def clock(self) -> Callable[[], float]:
        """The time source of the session and its collaborators (tests replace it)."""
        return self._clock.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._clock.clock = clock

    @property
    def name(self) -> str:
        """The followed file's name."""
        return os.path.basename(self.path)

    @property
    def status(self) -> Status:
        """What following is doing now (with a recent refused request said after it)."""
        return self._line.status

    def send_results(self, on: bool) -> None:
        """Updates carry their points' step results (patterns) for a live export (on)."""
        self._reader.send_results = bool(on)

    @property
    def results(self) -> "StepResults":
        """The processing steps' results of the points read (patterns, fits), by step key."""
        return self._reader.results

    @property
    def acquired(self) -> Acquired:
        """The points read, in arrival order."""
        return self._reader.acquired

    @property
    def busy(self) -> bool:
        """True while there is work for the next step soon (poll fast); else poll slowly."""
        reader = self._reader
        return not self.status.terminal or bool(reader.backfill) or bool(reader.pending)

    @property
    def backlog(self) -> bool:
        """True while points found are still to be read (step again at once: no poll wait)."""
        reader = self._reader
        return bool(reader.pending) or bool(reader.backfill)

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
        self._line.set(Status(ERROR, f"Error: {message}", exit_code_for(exc),
                              f"{type(exc).__name__}: {message}"))
        self._emit(force=True)

    def _try_open(self) -> None:
        result = self._opener.attempt(self.stop_event, self._mask_on)
        if isinstance(result, Status):
            self._line.set(result)
            self._emit()
        elif result is not None:
            self._opened(result)

    def _opened(self, scan: OpenScan) -> None:
        self.scan = scan
        self._poller.last_new = self.clock()
        scan.pipeline.set_reductions(self._reductions)
        add_readers(scan, self.options)
        self._use_channels(rebuild=False)
        info = self.info()
        check_shown(self.options, info, scan)
        for note in scan.notes:
            logger.warning("%s: %s", self.name, note)
        logger.info("following %s (%s, data %s, scan shape %s)", self.path, scan.mode,
                    scan.data_path, scan.follower.scan_shape)
        self._line.set(Status(LIVE, f"Live ({MODE_TEXT[scan.mode]}): 0 points"))
        self._outbox.append(info)
        self._emit(force=True)

    def info(self) -> ScanInfo:
        """The description of the open scan (call only while one is open)."""
        return scan_info(self.scan, self.generation, self.path)

    def _follow(self) -> None:
        scan, reader, now = self.scan, self._reader, self.clock()
        # after a timeout keep watching (resume if keys come again), still saying timed out
        # until points really come: not "stalled" again on every resumed poll
        watching = self._poller.poll(scan, reader, now, self.status.kind == TIMED_OUT)
        update = reader.read(scan, now + READ_BUDGET_S)
        if "frame" in update:   # its newest point: when it was found ready (key to screen)
            update["found_at"] = self._poller.found_at(reader.n_ready)
        final = scan.follower.done and not reader.pending
        update.update(self._poller.axes(scan, reader.n_ready, final, now))
        status = following_status(
            scan, self.options, reader.n_ready, reader.measure(now), reader.behind,
            self._poller.writer_closed, watching, now - self._poller.last_new)
        self._line.set(self._finisher.status(scan, reader, status, self.status))
        self._emit(**update)

    def _emit(self, force: bool = False, **fields: Any) -> None:
        if not (fields or force or self.status != self._line.sent):
            return
        self._line.sent = self.status
        scan = self.scan
        self._outbox.append(Update(
            generation=self.generation, status=self.status,
            scan_shape=tuple(scan.follower.scan_shape) if scan is not None else None,
            roi=self._roi, n_ready=self._reader.n_ready,
            total=scan.follower.total_points if scan is not None else None,
            rate=self._reader.rate, **fields))

    # ------------------------------------------------------------------ requests
    def point(self, position: Sequence[int]) -> PointFrame | None:
        """The frame at ``position`` (an acquired point), or None if it cannot be read."""
        return None if self.scan is None else point_frame(self.scan, self.generation, position,
                                                          self._reader)

    def cake(self, position: Sequence[int]) -> "Cake | None":
        """The 2-D cake (q x χ) of the acquired point at ``position``, or None (no
        integration here, or the frame cannot be read)."""
        scan = self.scan
        steps = scan.channels.steps.built() if scan is not None and scan.channels is not None \
            and scan.channels.steps is not None else {}
        step = steps.get("integrate")
        if step is None or not hasattr(step, "cake"):
            return None
        position = tuple(int(p) for p in position)
        try:
            frame = scan.pipeline.read(position)
            pool = scan.pipeline._executor()   # pyFAI crashed on the follower's QThread
            radial, chi, intensity = (pool.submit(step.cake, frame).result() if pool is not None
                                      else step.cake(frame))
        except Exception as exc:  # noqa: BLE001 - a failed cake is a message, never a crash
            logger.warning("no cake of point %s: %s", position, exc)
            return None
        return Cake(self.generation, position, frozen(radial), frozen(chi), frozen(intensity),
                    step.unit)

    def set_screen_binning(self, binning: int) -> None:
        """Bin live frames by up to ``binning`` (frame pixels per screen pixel of the view);
        frames asked for by position stay at full resolution."""
        self._reader.screen_binning = max(1, int(binning))

    def set_roi(self, roi: Sequence[int] | None) -> None:
        """Use ``roi`` for the "roi" value and recompute it over the acquired points."""
        roi = None if roi is None else tuple(int(v) for v in roi)
        if self.scan is not None:
            roi = fitting_roi(self.scan, roi)
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
            self._line.notice(f"cannot show {path}: {exc}")  # said for the next steps too
            self._emit(force=True)
            return
        scan.pipeline.close()
        pipeline.set_reductions(self._reductions)
        scan.pipeline, scan.data_path = pipeline, path
        self._roi = None
        apply_mask(scan, self._mask_on)
        scan.frame_axis = spectrum_axis(pipeline.dataset)
        self._use_channels(rebuild=True)
        self.generation = new_generation()
        self._outbox.append(self.info())
        self._recompute()

    @property
    def reductions(self) -> tuple[str, ...]:
        """The built-in maps computed for each point (in the order of REDUCTIONS)."""
        return self._reductions

    def set_reductions(self, names: Sequence[str]) -> None:
        """Compute the built-in maps ``names`` (the shown map, an export's, ...; other names
        are ignored) besides sum, mean and the ROI, which are always computed; a map switched
        on is filled over the acquired points, one switched off is no longer computed."""
        wanted = _builtin_maps(self._required + tuple(names))
        if wanted == self._reductions:
            return
        added = tuple(n for n in wanted if n not in self._reductions)
        self._reductions = wanted
        if self.scan is not None:
            self.scan.pipeline.set_reductions(wanted)
            if added:
                self._queue_again(added)

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
        if self.scan is None:
            return []
        changed, refused = use_channels(self.scan, self._wanted, rebuild)
        if refused:
            more = f" (+{len(refused) - 1} more)" if len(refused) > 1 else ""
            self._line.notice(refused[0] + more)
        return changed

    def _recompute(self) -> None:
        """Read every acquired point again (a new ROI, mask or dataset); the window applies
        these values after the ones already on their way to it."""
        self._reader.again_all()
        self._flush_if_ended()

    def _queue_again(self, names: tuple[str, ...] | None) -> None:
        """Queue the acquired points to compute ``names`` (None: every value) again."""
        self._reader.again(names)
        self._flush_if_ended()

    def _flush_if_ended(self) -> None:
        """After following ended no step reads: read within one budget now."""
        if self.scan is not None and self.status.terminal:
            self._emit(**self._reader.read(self.scan, self.clock() + READ_BUDGET_S))

    # ------------------------------------------------------------------ replaced files, closing
    def _reopen(self) -> None:
        logger.info("%s holds a new scan: reopening", self.path)
        self.close()
        self.generation = new_generation()
        self._watch.disarm()
        self._opener.reset()
        self._poller.reset()
        self._reader.reset()
        self._finisher.reset()
        self._line.sent = None
        self._line.set(Status(WAITING, f"Waiting for {self.name} (file replaced)"))
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
    def region_frame(self, positions: np.ndarray, how: str = "sum",
                     request: int = 0) -> RegionFrame | None:
        """Start the ``how`` frame of the acquired ``positions`` (replacing any region still
        being read) and read a first batch; its progress, or the frame if it is small."""
        return self._regions.start(self.scan, self._reader.acquired, self._reader.n_ready,
                                   self.generation, positions, how, request)

    def region_more(self) -> RegionFrame | None:
        """Read the region's next batch within its budget; its progress or, at the end, frame."""
        return self._regions.more(self.scan, self.generation)

    @property
    def region_busy(self) -> bool:
        """True while a region's frames are being read (call :meth:`region_more`)."""
        return self._regions.busy
