"""Follow SWMR key datasets: which scan points are safely written.

`KeyFollower` has swmr_tools' public API (iteration, ``check_datasets``, ``refresh``,
``is_finished``...) and fixes its defects: each poll reads the keys only from the first
incomplete point on (in windows of a few thousand points), polls every few tens of ms whatever
the timeout, can be stopped at once from another thread, survives keys that go back to zero,
empty keys and rank-0 finished flags, and can report points out of order or skip dropped ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from math import prod
from typing import Any, Sequence

import numpy as np

from .positions import n_points, scan_rank_of

logger = logging.getLogger(__name__)

__all__ = ["KeyFollower", "RowKeyFollower", "ScanRankError"]

#: Points read per window: bounds the cost of one poll whatever the scan length.
WINDOW_POINTS = 4096
#: New points one in-order poll reports at most: a backlog is taken over several polls, so
#: memory for pending indices stays bounded however far behind the reader starts.
MAX_NEW_PER_POLL = 4 * WINDOW_POINTS
#: Seconds between reads of the finished flag while no new point arrives.
FLAG_INTERVAL = 0.1


class ScanRankError(RuntimeError):
    """Key datasets disagree on the scan rank."""


def refresh_dataset(dataset: Any) -> None:
    """Refresh an h5py dataset's view of the file (a no-op for numpy arrays)."""
    refresh = getattr(dataset, "refresh", None)
    if refresh is not None:
        refresh()


def read_finished_flag(dataset: Any) -> bool:
    """True if a finished dataset (rank 0, shape (1,) or empty) holds a non-zero value."""
    refresh_dataset(dataset)
    if dataset.size == 0:
        return False
    if dataset.size > 1:  # an array named *finished* is not a flag: never end a scan on it
        raise ValueError(f"finished dataset {getattr(dataset, 'name', '')} holds "
                         f"{dataset.size} values, not one")
    return bool(np.asarray(dataset[()]).ravel()[0] != 0)


class KeyFollower:
    """Iterator of the flat indices (C order over the scan shape) of points whose keys are set.

    Parameters
    ----------
    key_datasets
        Key datasets (h5py datasets or numpy arrays); a point is ready when all are non-zero.
    timeout
        Seconds without a new point after which following stops (``timed_out`` is set).
    finished_dataset
        Optional scalar or (1,) dataset, non-zero when the scan is complete.
    poll_interval
        Seconds between polls while iterating (independent of ``timeout``).
    out_of_order
        Report any point whose keys are all set, not only the contiguous prefix. A poll then
        reads the keys from the first missing point to their current end (use ``skip_after``
        so a dropped point does not keep that span growing).
    skip_after
        Skip a point whose key is still zero this many seconds after a later point was ready.
    stop_event
        A `threading.Event` that ends a blocking iteration at once when set (see `stop`).
    scan_rank
        The scan rank when it is known better than the keys' shape tells (a GDA ``scan_rank``
        with a fast axis of length 1); by default the keys' rank without trailing 1s.
    """

    def __init__(
        self,
        key_datasets: Sequence[Any],
        timeout: float | None = 10,
        finished_dataset: Any = None,
        *,
        poll_interval: float = 0.02,
        out_of_order: bool = False,
        skip_after: float | None = None,
        stop_event: threading.Event | None = None,
        scan_rank: int | None = None,
    ):
        if len(key_datasets) == 0:
            raise ValueError("KeyFollower needs at least one key dataset")
        self.key_datasets = list(key_datasets)
        self.timeout = timeout
        self.finished_dataset = finished_dataset
        self.poll_interval = poll_interval
        self.out_of_order = out_of_order
        self.skip_after = skip_after
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self._given_rank = scan_rank
        self.scan_rank = -1
        self.maxshape: tuple[int | None, ...] | None = None
        self.scan_shape: tuple[int | None, ...] | None = None
        self._checked = False
        self.generation = 0  # counts polls that found new points (readers refresh per generation)
        self.reset()

    # -- swmr_tools API -------------------------------------------------------------------

    def reset(self) -> None:
        """Start again from index 0 (the keys are read afresh on the next poll)."""
        self.current_key = -1
        self.current_max = -1
        self.timed_out = False
        self.finished_set = False
        self.key_reset = False
        self.skipped: list[int] = []
        self.n_ready = 0
        self._start = 0  # every index below this is reported or skipped
        self._reported_ahead: set[int] = set()  # out-of-order points reported at or after _start
        self._passed_over: dict[int, float] = {}  # missing index -> when a later one was ready
        self._queue: deque[int] = deque()
        self._done = False
        self._last_new = time.monotonic()
        self._last_reset_check = self._last_new
        self._last_flag_check = -np.inf

    def check_datasets(self) -> None:
        """Find the scan rank and shape from the keys' maxshapes (trailing 1s ignored)."""
        if self._checked:
            return
        names = [getattr(k, "name", None) or f"key {i}" for i, k in enumerate(self.key_datasets)]
        if self._given_rank is not None:
            rank = self._given_rank
        else:
            ranks = {name: scan_rank_of(_maxshape(k)) for name, k in zip(names, self.key_datasets)}
            if len(set(ranks.values())) > 1:
                detail = ", ".join(f"{name} (rank {r})" for name, r in ranks.items())
                raise ScanRankError(f"key datasets have different scan ranks: {detail}")
            rank = next(iter(ranks.values()))
        shapes = {name: tuple(_maxshape(k)[:rank]) for name, k in zip(names, self.key_datasets)}
        if len({shape[1:] for shape in shapes.values()}) > 1:  # fast axes must agree exactly
            detail = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
            raise ScanRankError(f"key datasets have different scan shapes: {detail}")
        self.scan_rank = rank
        self.maxshape = shapes[names[0]]
        self._update_scan_shape()
        self._checked = True

    def __iter__(self) -> KeyFollower:
        return self

    def __next__(self) -> int:
        if self.stop_event.is_set():
            raise StopIteration
        while not self._queue:
            if self._done or self.stop_event.is_set():
                raise StopIteration
            self._queue.extend(self._advance().tolist())
            if not self._queue and self.stop_event.wait(self.poll_interval):
                raise StopIteration
        self.current_key = self._queue.popleft()
        return self.current_key

    def refresh(self) -> bool:
        """Poll once; True if new points are ready (they are yielded by the iteration)."""
        new = self._advance()
        self._queue.extend(new.tolist())
        return new.size > 0

    def get_current_max(self) -> int:
        """The last index of the contiguous ready (or skipped) prefix."""
        return self.current_max

    def is_finished(self) -> bool:
        """True once the finished flag was seen (and the keys polled once more) or on timeout."""
        return self._done and not self._queue

    def are_keys_complete(self) -> bool:
        """True when every point of a scan of known size is ready or skipped."""
        total = self.total_points
        return total is not None and self.current_max == total - 1

    # -- additions ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Following has ended: finished (flag or all points), timed out, or stopped."""
        return self._done or self.stop_event.is_set()

    @property
    def total_points(self) -> int | None:
        """Number of points in the scan, or None while the slow axis is unlimited."""
        self.check_datasets()
        return n_points(self.scan_shape)

    def stop(self) -> None:
        """End a blocking iteration at once (safe to call from another thread)."""
        self.stop_event.set()

    def poll(self) -> np.ndarray:
        """Poll once without blocking; return the newly ready flat indices (int64)."""
        new = self._advance()
        if new.size:
            self.current_key = int(new[-1])
        return new

    # -- the incremental scan -------------------------------------------------------------

    def _advance(self) -> np.ndarray:
        self.check_datasets()
        if self._done:
            return np.empty(0, np.int64)
        now = time.monotonic()
        new = self._scan_keys(now)
        if (new.size == 0 and not self.finished_set and self.finished_dataset is not None
                and now - self._last_flag_check >= FLAG_INTERVAL):
            self._last_flag_check = now
            if read_finished_flag(self.finished_dataset):
                self.finished_set = True
                new = self._scan_keys(now)  # the flag may be seen before the last keys
                self._done = True
        if new.size:
            self._last_new = now
            self.n_ready += new.size
            self.generation += 1
        elif self.are_keys_complete():  # every point is in: read the flag once for the record
            if self.finished_dataset is not None and not self.finished_set:
                self.finished_set = read_finished_flag(self.finished_dataset)
            self._done = True
        elif self.timeout is not None and now - self._last_new > self.timeout:
            logger.info("no new point for %s s: timed out", self.timeout)
            self.timed_out = True
            self._done = True
        elif now - self._last_reset_check > 0.5:
            self._last_reset_check = now
            self._check_reset()
        return new

    def _update_scan_shape(self) -> None:
        """Final scan shape: maxshape where finite, else the largest current size (fast axes)."""
        shapes = [k.shape for k in self.key_datasets]
        dims = []
        for axis, m in enumerate(self.maxshape):
            if m is not None:
                dims.append(m)
            elif axis == 0:
                dims.append(None)
            else:
                dims.append(max(s[axis] for s in shapes))
        self.scan_shape = tuple(dims)

    def _scan_keys(self, now: float) -> np.ndarray:
        for k in self.key_datasets:
            refresh_dataset(k)
        if None in self.maxshape[1:]:
            self._update_scan_shape()
        row = prod(self.scan_shape[1:])
        rows_available = min(k.shape[0] for k in self.key_datasets)
        if row == 0 or rows_available == 0:
            return np.empty(0, np.int64)
        # out of order, any later point may be ready: read everything written from the first gap
        # (two rows at least, so a gap at the end of a row still sees the next row for skip_after)
        window_rows = rows_available if self.out_of_order else max(2, WINDOW_POINTS // row)
        budget = None if self.out_of_order else self._start + MAX_NEW_PER_POLL
        found: list[np.ndarray] = []
        pos = self._start
        while pos < rows_available * row and (budget is None or self._start < budget):
            r0 = pos // row
            r1 = min(r0 + window_rows, rows_available)
            ready = self._ready(r0, r1)[pos - r0 * row:]
            if not self._take(ready, pos, now, found):
                break
            pos += ready.size
        if not found:
            return np.empty(0, np.int64)
        return np.concatenate(found)

    def _take(self, ready: np.ndarray, base: int, now: float, found: list) -> bool:
        """Report the ready points of the window starting at flat ``base``; True to read on."""
        i = 0
        if base == self._start:  # the contiguous prefix grows, over skipped points too
            while True:
                rest = ready[i:]
                gap = ready.size if rest.all() else i + int(np.argmin(rest))
                found.append(self._unreported(np.arange(base + i, base + gap, dtype=np.int64)))
                i = gap
                if i == ready.size or not self._skip(base + i, ready[i + 1:].any(), now):
                    break
                i += 1
            self._start = base + i
            self.current_max = self._start - 1
            self._forget_before(self._start)
        if not self.out_of_order or i == ready.size:
            return i == ready.size
        later = self._unreported(np.flatnonzero(ready[i:]) + (base + i))
        if later.size:
            found.append(later)
            self._reported_ahead.update(later.tolist())
        return True

    def _unreported(self, indices: np.ndarray) -> np.ndarray:
        if not self._reported_ahead or indices.size == 0:
            return indices
        return indices[~np.isin(indices, np.fromiter(self._reported_ahead, np.int64))]

    def _skip(self, index: int, later_ready: bool, now: float) -> bool:
        """Whether a missing point has been passed over for longer than ``skip_after``."""
        if self.skip_after is None or not later_ready:
            return False
        since = self._passed_over.setdefault(index, now)
        if now - since < self.skip_after:
            return False
        logger.warning("point %d still missing after %s s: skipped", index, self.skip_after)
        self.skipped.append(index)
        return True

    def _forget_before(self, start: int) -> None:
        if self._reported_ahead:
            self._reported_ahead = {j for j in self._reported_ahead if j >= start}
        if self._passed_over:
            self._passed_over = {j: t for j, t in self._passed_over.items() if j >= start}

    def _ready(self, r0: int, r1: int) -> np.ndarray:
        """Flat boolean array over rows r0:r1: True where every key is non-zero."""
        ready = None
        fast = self.scan_shape[1:]
        for k in self.key_datasets:
            block = np.asarray(k[r0:r1]) != 0
            block = block.reshape(block.shape[:1] + block.shape[1:self.scan_rank])
            if block.shape[1:] != fast:  # fast axes still growing: pad with "not ready"
                padded = np.zeros((block.shape[0],) + fast, bool)
                padded[(slice(None),) + tuple(slice(0, n) for n in block.shape[1:])] = block
                block = padded
            flat = block.ravel()
            ready = flat if ready is None else ready[: flat.size] & flat[: ready.size]
        return ready

    def _check_reset(self) -> None:
        """Notice when the key of the last contiguous point drops back to zero."""
        if self.current_max < 0 or self.key_reset or self.current_max in self.skipped[-1:]:
            return
        r, c = divmod(self.current_max, prod(self.scan_shape[1:]))
        if min(k.shape[0] for k in self.key_datasets) <= r or not self._ready(r, r + 1)[c]:
            self.key_reset = True
            logger.warning("key of point %d went back to zero: scan restarted?", self.current_max)


def _maxshape(dataset: Any) -> tuple[int | None, ...]:
    maxshape = getattr(dataset, "maxshape", None)
    return tuple(maxshape) if maxshape is not None else tuple(dataset.shape)


class RowKeyFollower:
    """Iterator of the last flat index of each complete fast-axis row (swmr_tools API)."""

    def __init__(self, key_datasets, timeout=10, finished_dataset=None, row_size=None, **options):
        self.inner_key_follower = KeyFollower(key_datasets, timeout, finished_dataset, **options)
        self.row_size = row_size
        self.scan_rank = -1
        self.maxshape = None

    def __iter__(self) -> RowKeyFollower:
        return self

    def check_datasets(self) -> None:
        """Check the keys and take the row size from the fastest axis if not given."""
        inner = self.inner_key_follower
        inner.check_datasets()
        self.scan_rank, self.maxshape = inner.scan_rank, inner.maxshape
        if self.row_size is None:
            if inner.maxshape[-1] is None:
                raise RuntimeError("Row size must be defined if fastest max shape dimension is -1")
            self.row_size = inner.maxshape[-1]

    def __next__(self) -> int:
        self.check_datasets()
        for _ in range(self.row_size - 1):
            next(self.inner_key_follower)
        return next(self.inner_key_follower)

    def stop(self) -> None:
        """End a blocking iteration at once."""
        self.inner_key_follower.stop()

    def reset(self) -> None:
        """Start again from index 0."""
        self.inner_key_follower.reset()
