"""The summed (max, mean) frame of a region of scan points, read in budgeted batches.

A :class:`RegionJob` runs in the follower thread inside the session: each call of
:meth:`RegionJob.run` reads frames through the scan's pipeline until a deadline, so a region of
thousands of big frames never holds the worker (and the live map) for seconds, and at most
:data:`MAX_REGION_POINTS` points are read (the message says when a region was capped). Its
:class:`RegionFrame` messages report progress and, at the end, the reduced frame.
:class:`Regions` holds the session's region being read and the last one read.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

import numpy as np

from swmrview.core.compute.accumulate import HOWS, FrameAccumulator

from swmrview.model.frames import display_frame
from swmrview.model.messages import RegionFrame, frozen
from swmrview.session.acquired import Acquired
from swmrview.session.scan import OpenScan

logger = logging.getLogger(__name__)

#: Regions of more points are cut to their first this many (arrival order), and say so.
MAX_REGION_POINTS = 10_000
#: Time spent reading a region's frames per call, so following and point requests go on.
REGION_BUDGET_S = 0.1


class RegionJob:
    """Reduces the frames at ``positions`` pixel by pixel, a budgeted batch per :meth:`run`.

    Parameters
    ----------
    generation, request
        Copied into its messages (which scan and which GUI request they answer).
    positions
        Scan positions (n, rank); only the first ``max_points`` are read.
    how
        "sum", "max" or "mean" (see :mod:`swmrview.core.compute.accumulate`).
    frame_shape, mask, overflow
        Of the frames; masked, overflowing and NaN pixels are left out as in the map.
    """

    def __init__(self, generation: int, request: int, positions: np.ndarray, how: str,
                 frame_shape: Sequence[int], mask: np.ndarray | None = None,
                 overflow: float | None = None, max_points: int = MAX_REGION_POINTS) -> None:
        if how not in HOWS:
            raise ValueError(f"unknown reduction {how!r}; choose from {HOWS}")
        positions = np.asarray(positions, dtype=np.int64)
        self.generation, self.request, self.how = generation, request, how
        self.n_requested = len(positions)
        self.max_points = max_points
        self.positions = positions[:max_points]
        self.accumulator = FrameAccumulator(frame_shape, how, mask, overflow)
        self.mask, self.overflow = mask, overflow
        self.error: str | None = None
        self._next = 0

    def grown(self, positions: np.ndarray, request: int) -> bool:
        """Take the region again with ``positions`` (a live scan filled more of it): True if
        they hold every point read so far, so only the new ones need reading; False (nothing
        changed) if the region is another one."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.error is not None or len(positions) < len(self.positions) \
                or len(self.positions) >= self.max_points:
            return False
        old = {tuple(p) for p in self.positions.tolist()}
        wanted = [tuple(p) for p in positions.tolist()]
        if not old.issubset(wanted):
            return False
        new = np.array([p for p in wanted if p not in old], dtype=np.int64).reshape(
            -1, self.positions.shape[1])
        room = self.max_points - len(self.positions)
        self.positions = np.concatenate([self.positions, new[:room]])
        self.n_requested = len(positions)
        self.request = request
        return True

    @property
    def done(self) -> bool:
        """True when every point was read (or a read failed)."""
        return self.error is not None or self._next >= len(self.positions)

    def run(self, read: Callable[[tuple[int, ...]], np.ndarray], deadline: float,
            clock: Callable[[], float] = time.monotonic) -> None:
        """Read and add frames with ``read(position)`` until ``deadline`` (at least one)."""
        first = True
        while not self.done and (first or clock() < deadline):
            first = False
            position = tuple(int(p) for p in self.positions[self._next])
            try:
                self.accumulator.add(read(position))
            except Exception as exc:  # noqa: BLE001 - a failed read ends the job, said in it
                logger.warning("region %s: reading point %s failed: %s", self.how, position, exc)
                self.error = f"reading point {position} failed: {exc}"
                return
            self._next += 1

    def message(self) -> RegionFrame:
        """Progress so far, or the reduced frame once :attr:`done`."""
        fields = dict(generation=self.generation, request=self.request, how=self.how,
                      n_read=self._next, n_points=len(self.positions),
                      n_requested=self.n_requested, done=self.done, error=self.error)
        if not self.done or self.error is not None:
            return RegionFrame(**fields)
        frame = self.accumulator.result()
        shown, levels, binning = display_frame(frame)
        return RegionFrame(frame=frozen(shown), levels=levels, binning=binning, **fields)


class Regions:
    """The region being read (a budgeted batch per call) and the last one read, which a request
    for the same region grows instead of reading again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._job: RegionJob | None = None
        self._last: RegionJob | None = None

    @property
    def busy(self) -> bool:
        """True while a region's frames are being read (call :meth:`more`)."""
        return self._job is not None

    def start(self, scan: OpenScan | None, acquired: Acquired, n_ready: int, generation: int,
              positions: np.ndarray, how: str, request: int) -> RegionFrame | None:
        """Start the ``how`` frame of the acquired ``positions`` of ``scan`` (an open scan or
        None), replacing any region still being read, and read a first batch."""
        last, self._job, self._last = self._last, None, None
        if scan is None:
            return None
        rank = scan.pipeline.scan_rank
        positions = np.asarray(positions, np.int64).reshape(len(positions), rank)
        positions = acquired.only_acquired(positions) if rank \
            else positions[: min(1, n_ready)]   # a single frame: the one point
        if last is not None and last.how == how and last.generation == generation \
                and last.mask is scan.mask and last.grown(positions, request):
            self._job = last   # the same region, filled further: read only its new points
        else:
            self._job = RegionJob(generation, request, positions, how,
                                  tuple(scan.pipeline.frame_shape), scan.mask, scan.overflow)
        return self.more(scan, generation)

    def more(self, scan: OpenScan | None, generation: int) -> RegionFrame | None:
        """Read the region's next batch within its budget; its progress or, at the end, frame."""
        job = self._job
        if job is None or scan is None or job.generation != generation:
            self._job = None  # another file or dataset meanwhile: the request is stale
            return None
        job.run(scan.pipeline.read, self.clock() + REGION_BUDGET_S, self.clock)
        if job.done:
            self._job, self._last = None, job
        return job.message()
