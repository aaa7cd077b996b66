"""Follow SWMR key datasets: which scan points are safely written.

`KeyFollower` has swmr_tools 0.9.0's public API (iteration, ``check_datasets``, ``refresh``,
``get_current_max``, ``is_finished``...) with the same results, and fixes its defects: a poll
reads the keys only from the first incomplete point on (an idle poll reads one value of one
key), polls every few tens of ms whatever the timeout, can be stopped at once from another
thread, survives keys that go back to zero, empty keys and rank-0 finished flags, can report
points out of order or skip dropped ones, and never loses the last points of a scan whose
finished flag shows before its last keys.

End of a scan (SPEC 1), the same rule for `KeyFollower` and `swmrview.core.follow.growth.GrowthFollower`:

- after the finished flag is seen, keys are still read until a scan of known size is complete
  or no new point has come for ``grace`` seconds (a detector file may flush after the scan file);
- when every point of a scan of known size is in, the flag is read on every poll (polling
  fast) for up to ``min(flag_wait, timeout)`` seconds; it ends the scan as finished, and if it
  never comes the scan ends as timed out (swmr_tools reports a timeout then too). With no
  finished dataset a scan of known size ends as soon as every point is in;
- otherwise following ends after ``timeout`` seconds without a new point (``timed_out``);
  `resume` keeps following from where it was.

Flat indices are C-order indices over `scan_shape` as it stands when they are reported:

- with a declared ``scan_shape=`` or finite key maxshapes this is the final shape;
- when fast dimensions are unlimited and no shape is declared, each fast size is the largest
  current key size while every slower dimension still has size 1, and is frozen (taken as
  final) as soon as a slower dimension grows past 1. Until then every point has index 0 in
  the slower dimensions, so its flat index is the same over every later shape: an index,
  once reported, never changes meaning. `positions` unravels indices over the current shape.
  A writer that grows a frozen dimension afterwards (not C-order growth) is logged, and
  points beyond the frozen size are not reported.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np

from swmrview.core.follow.chunks import chunk_info, filter_ids
from swmrview.core.follow.positions import n_points, scan_rank_of, unravel, unravel_many

logger = logging.getLogger(__name__)

__all__ = ["KeyFollower", "RowKeyFollower", "ScanRankError"]

#: Points read per window while catching up (one window at the first incomplete point per poll).
WINDOW_POINTS = 4096
#: New indices one `poll` returns at most; the rest stay pending (as ranges) for the next polls.
#: `refresh` always catches up in one call, as swmr_tools does.
MAX_NEW_PER_POLL = 4 * WINDOW_POINTS
#: Seconds between reads of the finished flag while no new point arrives.
FLAG_INTERVAL = 0.1
#: Seconds without a new point, after the finished flag, before following ends.
FINISH_GRACE = 1.0
#: Seconds to wait for the finished flag once every point of a scan of known size is in.
FLAG_WAIT = 10.0
#: Seconds between checks that the last ready key is still set (a restarted scan).
RESET_CHECK_INTERVAL = 0.5

_EMPTY = np.empty(0, np.int64)
_EMPTY.flags.writeable = False


class ScanRankError(RuntimeError):
    """Key datasets disagree on the scan rank."""


def refresh_dataset(dataset: Any) -> None:
    """Refresh an h5py dataset's view of the file (a no-op for numpy arrays)."""
    refresh = getattr(dataset, "refresh", None)
    if refresh is not None:
        refresh()


def read_finished_flag(dataset: Any) -> bool:
    """True if a finished dataset (rank 0, shape (1,) or empty) holds a non-zero value.

    Raises ValueError for a dataset of several values (an array is not a flag).
    """
    refresh_dataset(dataset)
    if dataset.size == 0:
        return False
    if dataset.size > 1:  # an array named *finished* is not a flag: never end a scan on it
        raise ValueError(f"finished dataset {getattr(dataset, 'name', '')} holds "
                         f"{dataset.size} values, not one")
    return bool(np.asarray(dataset[()]).ravel()[0] != 0)


def best_scan_shape(rank: int, maxshapes: Sequence[Sequence[int | None]],
                    shapes: Sequence[Sequence[int]], frozen: dict[int, int],
                    combine=max) -> tuple[int | None, ...]:
    """Scan shape from datasets' maxshapes and current shapes (see the module docstring).

    Slow axis: the smallest finite maxshape, else None. Fast axes: the smallest finite
    maxshape, else ``combine`` (max for keys, min for data) of the current sizes while every
    slower axis has size 1, then frozen in ``frozen`` (axis -> size) for good.
    """
    finite0 = [m[0] for m in maxshapes if len(m) and m[0] is not None]
    dims: list[int | None] = [min(finite0) if finite0 else None]
    for axis in range(1, rank):
        finite = [m[axis] for m in maxshapes if len(m) > axis and m[axis] is not None]
        if finite:
            dims.append(min(finite))
            continue
        current = combine([s[axis] for s in shapes if len(s) > axis] or [0])
        size = frozen.get(axis)
        if size is not None:
            if current > size and frozen.get(-axis) is None:
                frozen[-axis] = current  # warn once per axis
                logger.warning("data grew along scan axis %d to %d after a slower axis passed 1:"
                               " kept at %d (points beyond are not reported)", axis, current, size)
            dims.append(size)
            continue
        if any(combine([s[a] for s in shapes if len(s) > a] or [0]) > 1 for a in range(axis)):
            frozen[axis] = current
        dims.append(current)
    return tuple(dims)


class _Pending:
    """Indices found but not yet handed out: contiguous runs kept as ranges (bounded memory)."""

    __slots__ = ("_n", "_segments")

    def __init__(self) -> None:
        self._segments: deque = deque()
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add_range(self, start: int, stop: int) -> None:
        if stop <= start:
            return
        segments = self._segments
        if segments and type(segments[-1]) is range and segments[-1].stop == start:
            segments[-1] = range(segments[-1].start, stop)
        else:
            segments.append(range(start, stop))
        self._n += stop - start

    def add_array(self, indices: np.ndarray) -> None:
        if indices.size:
            self._segments.append(indices)
            self._n += indices.size

    def pop(self) -> int:
        segment = self._segments[0]
        value = int(segment[0])
        if len(segment) == 1:
            self._segments.popleft()
        else:
            self._segments[0] = segment[1:]
        self._n -= 1
        return value

    def take(self, limit: int) -> np.ndarray:
        parts = []
        left = limit
        segments = self._segments
        while segments and left:
            segment = segments[0]
            n = len(segment)
            if n > left:
                head, segments[0] = segment[:left], segment[left:]
                n = left
            else:
                head = segments.popleft()
            parts.append(np.arange(head.start, head.stop, dtype=np.int64)
                         if type(head) is range else head)
            left -= n
        self._n -= limit - left
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Following:
    """Pending indices, iteration, polling and the end-of-scan rule shared by the followers.

    A subclass implements ``_scan(now) -> int`` (find new points, add them with
    ``self._pending``, return how many), ``_idle_probe() -> bool`` (True when a cheap check
    shows nothing can be new; False to scan) and ``_complete() -> bool`` (every point of a
    scan of known size is in, re-reading shapes).
    """

    timeout: float | None
    finished_dataset: Any
    poll_interval: float
    grace: float
    flag_wait: float

    def _init_following(self, timeout, finished_dataset, poll_interval, stop_event, grace,
                        flag_wait) -> None:
        self.timeout = timeout
        self.finished_dataset = finished_dataset
        self.poll_interval = poll_interval
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.grace = FINISH_GRACE if grace is None else grace
        self.flag_wait = FLAG_WAIT if flag_wait is None else flag_wait
        self.finished_set = False
        self.generation = 0  # counts polls that found new points (readers refresh per generation)
        self._flag_warned = False

    def _reset_following(self) -> None:
        self.current_key = -1
        self.timed_out = False
        self.n_ready = 0
        self._pending = _Pending()
        self._done = False
        self._last_new: float | None = None  # the idle clock starts at the first poll
        self._flag_at = -np.inf
        self._last_flag_check = -np.inf
        self._complete_since: float | None = None
        self._last_reset_check = -np.inf

    # -- iteration and polling -------------------------------------------------------------

    def __iter__(self):
        return self

    def __next__(self) -> int:
        if self.stop_event.is_set():
            raise StopIteration
        pending = self._pending
        while not pending:
            if self._done or self.stop_event.is_set():
                raise StopIteration
            if self._idle_probe():
                self._end_step(time.monotonic(), False)
            else:
                self._advance()
            if not pending and self.stop_event.wait(self.poll_interval):
                raise StopIteration
        self.current_key = pending.pop()
        return self.current_key

    def poll(self) -> np.ndarray:
        """Poll once without blocking; return the newly ready flat indices (int64).

        At most `MAX_NEW_PER_POLL` per call: a backlog is handed out over the next polls.
        """
        pending = self._pending
        if len(pending) < MAX_NEW_PER_POLL:
            if not pending and not self._done and self._idle_probe():
                self._end_step(time.monotonic(), False)
                return _EMPTY
            self._advance()
        if not pending:
            return _EMPTY
        new = pending.take(MAX_NEW_PER_POLL)
        self.current_key = int(new[-1])
        return new

    def _advance(self) -> int:
        """Scan once (catching up completely) and apply the end-of-scan rule."""
        if self._done:
            return 0
        now = time.monotonic()
        found = self._scan(now)
        if found:
            self.n_ready += found
            self.generation += 1
        self._end_step(now, found > 0)
        return found

    # -- the end of a scan -----------------------------------------------------------------

    def _end_step(self, now: float, found_new: bool) -> None:
        if found_new or self._last_new is None:
            self._last_new = now
        if found_new:
            self._complete_since = None
            if not self.finished_set and now - self._last_flag_check >= FLAG_INTERVAL:
                self._check_flag(now)
            if self.finished_set and self._complete():
                self._end(False)  # the writer is done and every point is in
            return  # otherwise never end on a poll that found points: the next poll reads on
        complete = self._complete()
        if self.finished_dataset is not None and not self.finished_set and (
                complete or now - self._last_flag_check >= FLAG_INTERVAL):
            self._check_flag(now)  # every poll once all points are in: polling fast
        if complete:
            if self._complete_since is None:
                self._complete_since = now
            if self.finished_dataset is None or self.finished_set:
                self._end(False)
            elif now - self._complete_since > self._flag_wait():
                logger.info("every point is in but the finished flag never came")
                self._end(True)
            return
        self._complete_since = None
        if self.finished_set:
            if now - max(self._last_new, self._flag_at) > self.grace:
                self._end(False)
        elif self.timeout is not None and now - self._last_new > self.timeout:
            logger.info("no new point for %s s: timed out", self.timeout)
            self._end(True)
        elif now - self._last_reset_check > RESET_CHECK_INTERVAL:
            self._last_reset_check = now
            self._check_reset()

    def _flag_wait(self) -> float:
        return self.flag_wait if self.timeout is None else min(self.flag_wait, self.timeout)

    def _end(self, timed_out: bool) -> None:
        self.timed_out = timed_out
        self._done = True

    def _check_flag(self, now: float) -> bool:
        """Read the finished flag (a warning, not an error, for a dataset of several values)."""
        self._last_flag_check = now
        dataset = self.finished_dataset
        if dataset is None or self.finished_set:
            return self.finished_set
        try:
            finished = read_finished_flag(dataset)
        except ValueError as exc:   # several values: a warning once, never the scan's end
            if not self._flag_warned:
                self._flag_warned = True
                logger.warning("%s: ignored", exc)
            return False
        if finished:
            self.finished_set = True
            self._flag_at = now
            logger.debug("finished flag set")
        return self.finished_set

    def _check_reset(self) -> None:
        """Subclasses notice a restarted scan here (keys back to zero)."""

    # -- shape ----------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Subclasses check their datasets here before the shape is used."""

    @property
    def total_points(self) -> int | None:
        """Number of points in the scan, or None while a dimension's length is unknown."""
        self._prepare()
        return n_points(self.scan_shape)

    @property
    def index_shape(self) -> tuple[int | None, ...]:
        """The shape flat indices are counted over now (`scan_shape`)."""
        self._prepare()
        return self.scan_shape

    def positions(self, indices: Any) -> tuple[np.ndarray, ...]:
        """Scan positions of flat ``indices`` over the current `scan_shape` (like
        `numpy.unravel_index`, with the slow axis unbounded); valid for any index reported."""
        self._prepare()
        shape = np.shape(indices)
        return tuple(c.reshape(shape) for c in unravel_many(indices, self.scan_shape).T)

    # -- additions -------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Following has ended (finished, timed out or stopped) and every index was handed out."""
        return (self._done and not self._pending) or self.stop_event.is_set()

    def stop(self) -> None:
        """End a blocking iteration at once (safe to call from another thread)."""
        self.stop_event.set()

    def resume(self) -> None:
        """After a timeout: clear ``timed_out`` and keep following from where it was."""
        if self._done and self.timed_out:
            self.timed_out = False
            self._done = False
            self._last_new = time.monotonic()
            self._complete_since = None

    def is_finished(self) -> bool:
        """True once following has ended and every index was handed out (swmr_tools meaning).

        As in swmr_tools it reads the finished flag if it was not seen yet (``finished_set``)
        and returns False on that call.
        """
        if self._pending:
            return False
        if self._done:
            return True
        if self.finished_dataset is not None and not self.finished_set:
            self._check_flag(time.monotonic())
        return False

    def has_timed_out(self) -> bool:
        """True if following ended on the timeout."""
        return self.timed_out


class KeyFollower(Following):
    """Iterator of the flat indices (C order over the scan shape) of points whose keys are set.

    Parameters
    ----------
    key_datasets
        Key datasets (h5py datasets, numpy arrays, or objects with ``shape``, ``maxshape`` and
        slicing); a point is ready when all are non-zero.
    timeout
        Seconds without a new point after which following stops (``timed_out`` is set);
        None never times out (the flag wait stays bounded by ``flag_wait``).
    finished_dataset
        Optional scalar or (1,) dataset, non-zero when the scan is complete.
    scan_shape
        The scan's final shape when the keys cannot tell it (GDA keys have an unlimited
        maxshape in every dimension): flat indices are over this shape, the scan is of known
        size, and ``scan_rank`` is its length.
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
    grace, flag_wait
        Seconds without a new point after the finished flag before ending (`FINISH_GRACE`),
        and the longest wait for the flag once every point is in (`FLAG_WAIT`).

    Attributes (swmr_tools): ``scan_rank``, ``maxshape`` (the first key's maxshape cut to the
    scan rank, of the key's own type), ``current_key``, ``current_max``, ``timed_out``,
    ``finished_set``. Additions: ``scan_shape``, ``total_points``, ``done``, ``key_reset``,
    ``skipped``, ``n_ready``, ``generation``.
    """

    def __init__(
        self,
        key_datasets: Sequence[Any],
        timeout: float | None = 10,
        finished_dataset: Any = None,
        *,
        scan_shape: Sequence[int] | None = None,
        poll_interval: float = 0.02,
        out_of_order: bool = False,
        skip_after: float | None = None,
        stop_event: threading.Event | None = None,
        scan_rank: int | None = None,
        grace: float | None = None,
        flag_wait: float | None = None,
    ):
        if len(key_datasets) == 0:
            raise ValueError("KeyFollower needs at least one key dataset")
        self.key_datasets = list(key_datasets)
        self._init_following(timeout, finished_dataset, poll_interval, stop_event, grace,
                             flag_wait)
        self.out_of_order = out_of_order
        self.skip_after = skip_after
        if scan_shape is not None:
            scan_shape = tuple(int(n) for n in scan_shape)
            if scan_rank is not None and scan_rank != len(scan_shape):
                raise ScanRankError(f"scan_rank {scan_rank} does not match the declared "
                                    f"scan_shape {scan_shape}")
            scan_rank = len(scan_shape)
        self._declared = scan_shape
        self._given_rank = scan_rank
        self.scan_rank = -1
        self.maxshape: Any = None
        self.scan_shape: tuple[int | None, ...] | None = None
        self._checked = False
        self._h5 = [_H5Probe.of(k) for k in self.key_datasets]
        self._frozen: dict[int, int] = {}
        self.reset()

    # -- swmr_tools API -------------------------------------------------------------------

    def reset(self) -> None:
        """Start again from index 0 (``finished_set`` stays, as in swmr_tools)."""
        self._reset_following()
        if self.finished_set:
            self._flag_at = time.monotonic()
        self.current_max = -1
        self.key_reset = False
        self.skipped: list[int] = []
        self._start = 0  # every index below this is reported or skipped
        self._reported_ahead: set[int] = set()  # out-of-order points reported at or after _start
        self._passed_over: dict[int, float] = {}  # missing index -> when a later one was ready
        self._probe_at = -1  # _start when the last scan ended at a gap (the idle probe's point)
        self._block_key = 0  # the key found unset at _probe_at

    def check_datasets(self) -> None:
        """Find the scan rank and shape from the keys' maxshapes (trailing 1s ignored)."""
        if self._checked:
            return
        names = [getattr(k, "name", None) or f"key {i}" for i, k in enumerate(self.key_datasets)]
        raw = [_raw_maxshape(k) for k in self.key_datasets]
        if self._given_rank is not None:
            rank = self._given_rank
        else:
            ranks = {name: scan_rank_of(m) for name, m in zip(names, raw)}
            if len(set(ranks.values())) > 1:
                detail = ", ".join(f"{name} (rank {r})" for name, r in ranks.items())
                raise ScanRankError(f"key datasets have different scan ranks: {detail}")
            rank = next(iter(ranks.values()))
        if self._declared is None:
            shapes = {name: tuple(m[:rank]) for name, m in zip(names, raw)}
            if len({s[1:] for s in shapes.values()}) > 1:  # fast axes must agree exactly
                detail = ", ".join(f"{name} {s}" for name, s in shapes.items())
                raise ScanRankError(f"key datasets have different scan shapes: {detail}")
        self.scan_rank = rank
        self.maxshape = raw[0][:rank]  # the key's own type (tuple from h5py), as swmr_tools
        # HDF5 fixes a dataset's maxshape when it is created: re-read only other key objects
        self._fixed_maxshape = [tuple(m) if p is not None else None
                                for m, p in zip(raw, self._h5)]
        # a key of lower rank than the scan cannot be probed point by point
        self._h5 = [p if p is not None and p.id.rank >= rank else None for p in self._h5]
        self._shape_fixed = self._declared is not None or (
            None not in self._fixed_maxshape
            and all(m[a] is not None for m in self._fixed_maxshape for a in range(1, rank)))
        self._update_scan_shape()
        self._checked = True

    def refresh(self) -> bool:
        """Poll once, catching up with every ready point; True if new points are ready.

        `get_current_max` is then the last ready point, and the new points are yielded by
        the iteration (held as ranges, so memory stays bounded however many there are).
        """
        self.check_datasets()
        return self._advance() > 0

    def get_current_max(self) -> int:
        """The last index of the contiguous ready (or skipped) prefix."""
        return self.current_max

    def are_keys_complete(self) -> bool:
        """True when every point of a scan of known size is ready or skipped."""
        total = self.total_points
        return total is not None and self.current_max >= total - 1

    # -- additions ------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.check_datasets()

    def poll(self) -> np.ndarray:
        """Poll once without blocking; return the newly ready flat indices (int64).

        At most `MAX_NEW_PER_POLL` per call (a backlog comes over the next polls). When
        nothing changed, a poll reads one value of the key that blocks the first incomplete
        point: straight from the file once its chunk is stored (see `_H5Probe`), else after
        refreshing that key.
        """
        if not self._checked:
            self.check_datasets()
        return super().poll()

    def _advance(self) -> int:
        if not self._checked:
            self.check_datasets()
        return super()._advance()

    # -- shape -----------------------------------------------------------------------------

    def _update_scan_shape(self) -> None:
        """The best scan shape now: declared, else finite maxshape, else current key sizes."""
        if self._declared is not None:
            self.scan_shape = self._declared
            return
        maxshapes = [m if m is not None else tuple(_raw_maxshape(k))
                     for m, k in zip(self._fixed_maxshape, self.key_datasets)]
        self.scan_shape = best_scan_shape(self.scan_rank, maxshapes,
                                          [tuple(k.shape) for k in self.key_datasets],
                                          self._frozen, max)

    def settled_shape(self) -> tuple[int | None, ...]:
        """`scan_shape` with None for fast axes whose size may still grow (unlimited, not
        declared, no slower axis past 1 yet): what data of the same scan must match."""
        self.check_datasets()
        if self._declared is not None:
            return self._declared
        maxshape = tuple(_raw_maxshape(self.key_datasets[0]))
        return tuple(n if axis == 0 or (axis < len(maxshape) and maxshape[axis] is not None)
                     or axis in self._frozen else None
                     for axis, n in enumerate(self.scan_shape))

    def _complete(self) -> bool:
        total = n_points(self.scan_shape)
        if total is None or self._start < total:
            return False
        if self._declared is None and None in self._fixed_maxshape:
            self._update_scan_shape()  # non-HDF5 keys may change maxshape (HDF5 fixes it)
            total = n_points(self.scan_shape)
        return total is not None and self._start >= total

    # -- the incremental scan -------------------------------------------------------------

    def _idle_probe(self) -> bool:
        """True if the key that blocked the first incomplete point still does (one value read)."""
        if (self._probe_at != self._start or self.out_of_order or self.skip_after is not None):
            return False
        probe = self._h5[self._block_key]
        if probe is None:
            return False
        return not probe.is_set(self._start, self.scan_shape, self.scan_rank)

    def _scan(self, now: float) -> int:
        for k in self.key_datasets:
            refresh_dataset(k)
        if not self._shape_fixed:
            self._update_scan_shape()
        row = prod(self.scan_shape[1:])
        if row == 0:
            return 0
        window_rows = max(2, WINDOW_POINTS // row)
        before = len(self._pending)
        pos = self._start
        while True:
            r0 = pos // row
            r1 = None if self.out_of_order else r0 + window_rows
            ready = self._ready(r0, r1)
            offset = pos - r0 * row
            if ready is None or ready.size <= offset:
                break
            whole_window = ready.size >= window_rows * row
            ready = ready[offset:]
            if not self._take(ready, pos, now) or self.out_of_order or not whole_window:
                break  # a gap, everything read at once, or the end of the keys
            pos += ready.size
        if not self.out_of_order and self.skip_after is None:
            self._probe_at = self._start
            self._find_block_key()
        return len(self._pending) - before

    def _find_block_key(self) -> None:
        """Remember which key is unset at the first incomplete point (the idle probe reads it)."""
        rank = self.scan_rank
        for j, probe in enumerate(self._h5):
            if probe is None:
                return
            if not probe.is_set(self._start, self.scan_shape, rank, refresh=False):
                self._block_key = j
                return
        self._probe_at = -1  # every key is set there (ready later in a window?): scan again

    def _take(self, ready: np.ndarray, base: int, now: float) -> bool:
        """Report the ready points of the window starting at flat ``base``; True to read on."""
        i = 0
        pending = self._pending
        if base == self._start:  # the contiguous prefix grows, over skipped points too
            while True:
                rest = ready[i:]
                gap = ready.size if rest.all() else i + int(np.argmin(rest))
                self._add_unreported(base + i, base + gap)
                i = gap
                if i == ready.size or not self._skip(base + i, ready[i + 1:].any(), now):
                    break
                i += 1
            self._start = base + i
            self.current_max = self._start - 1
            self._forget_before(self._start)
        if not self.out_of_order or i == ready.size:
            return i == ready.size
        later = np.flatnonzero(ready[i:]) + (base + i)
        if self._reported_ahead and later.size:
            later = later[~np.isin(later, np.fromiter(self._reported_ahead, np.int64))]
        if later.size:
            pending.add_array(later.astype(np.int64, copy=False))
            self._reported_ahead.update(later.tolist())
        return True

    def _add_unreported(self, start: int, stop: int) -> None:
        if stop <= start:
            return
        if not self._reported_ahead:
            self._pending.add_range(start, stop)
            return
        ahead = np.fromiter((j for j in self._reported_ahead if start <= j < stop), np.int64)
        if ahead.size == 0:
            self._pending.add_range(start, stop)
            return
        indices = np.arange(start, stop, dtype=np.int64)
        self._pending.add_array(indices[~np.isin(indices, ahead)])

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

    def _ready(self, r0: int, r1: int | None) -> np.ndarray | None:
        """Flat boolean array over rows r0:r1 (as many as all keys hold): every key non-zero."""
        ready = None
        rank = self.scan_rank
        fast = tuple(int(n) for n in self.scan_shape[1:])
        for k in self.key_datasets:
            block = np.asarray(k[r0:r1]) != 0
            if block.ndim > rank:  # trailing dimensions (length 1 in GDA keys): all set
                block = block.reshape(block.shape[:rank] + (prod(block.shape[rank:]),))
                block = block.all(axis=-1)
            elif block.ndim < rank:
                block = block.reshape(block.shape + (1,) * (rank - block.ndim))
            if block.shape[1:] != fast:  # fast axes growing or beyond the scan: pad or crop
                fitted = np.zeros((block.shape[0],) + fast, bool)
                common = tuple(slice(0, min(a, b)) for a, b in zip(block.shape[1:], fast))
                fitted[(slice(None),) + common] = block[(slice(None),) + common]
                block = fitted
            flat = block.reshape(-1)
            if ready is None:
                ready = flat
            else:
                n = min(ready.size, flat.size)
                ready = ready[:n] & flat[:n]
        return ready

    def _check_reset(self) -> None:
        """Notice when the key of the last contiguous point drops back to zero."""
        if self.current_max < 0 or self.key_reset or self.current_max in self.skipped[-1:]:
            return
        for k in self.key_datasets:  # idle polls may not have refreshed them
            refresh_dataset(k)
        r, c = divmod(self.current_max, prod(self.scan_shape[1:]))
        ready = self._ready(r, r + 1)
        if ready is None or ready.size <= c or not ready[c]:
            self.key_reset = True
            logger.warning("key of point %d went back to zero: scan restarted?", self.current_max)


class _H5Probe:
    """Reads one value of an h5py key dataset cheaply: the idle poll.

    Once the point's chunk is stored, uncompressed and of an integer type, the value's bytes
    are read straight from the file (``os.pread`` on HDF5's own file descriptor) with no
    refresh: an uncompressed chunk never moves once HDF5 has stored it, so these are the
    bytes ``H5Dread`` would return after ``H5Drefresh``, which costs most of a poll. Otherwise
    (chunk not stored yet, point outside the dataset, filters, floats, a driver without a file
    descriptor) the dataset is refreshed and the value read through cached HDF5 objects.
    """

    __slots__ = (
        "_clear",
        "_direct_ok",
        "_fd",
        "_file_id",
        "_offset",
        "_zero",
        "buf",
        "chunks",
        "coords",
        "dataset",
        "extent",
        "fspace",
        "id",
        "index",
        "mspace",
        "mtype",
        "refresh",
    )

    @classmethod
    def of(cls, dataset: Any) -> _H5Probe | None:
        try:
            import h5py
        except ImportError:  # pragma: no cover - h5py is a dependency
            return None
        if not isinstance(dataset, h5py.Dataset) or dataset.chunks is None:
            return None
        if dataset.dtype.kind not in "iubf" or dataset.shape is None:
            return None
        return cls(dataset)

    def __init__(self, dataset: Any):
        from h5py import h5s, h5t

        self.dataset = dataset
        self.id = dataset.id
        self.refresh = dataset.id.refresh
        props = getattr(dataset, "_cache_props", None)
        self._clear = props.clear if isinstance(props, dict) else dataset.refresh
        self.buf = np.zeros(1, dataset.dtype)
        self.mtype = h5t.py_create(self.buf.dtype)
        self.mspace = h5s.create_simple((1,))
        self.fspace = None
        self.index = -1
        self.coords: tuple[int, ...] = ()
        self.extent: tuple[int, ...] = ()
        self.chunks = tuple(dataset.chunks)
        self._offset: int | None = None
        self._zero = bytes(dataset.dtype.itemsize)
        self._fd = None
        self._file_id = None
        self._direct_ok = False
        try:
            if dataset.dtype.kind in "iu" and filter_ids(dataset) == []:
                self._file_id = dataset.file.id
                self._fd = int(self._file_id.get_vfd_handle())
                self._direct_ok = hasattr(os, "pread") and self._fd >= 0
        except Exception:  # noqa: BLE001 - another driver, no descriptor: refresh and read
            self._direct_ok = False

    def is_set(self, index: int, scan_shape: Sequence[int | None], rank: int,
               refresh: bool = True) -> bool:
        """Whether the key of flat ``index`` is non-zero (False while outside the dataset)."""
        if index == self.index and self._offset is not None and self._file_id.valid:
            value = os.pread(self._fd, len(self._zero), self._offset)
            if len(value) == len(self._zero):
                return value != self._zero
        if refresh:
            self.refresh()
            self._clear()
        if index != self.index:
            self.index = index
            self._offset = None
            self.coords = unravel(index, scan_shape) + (0,) * (self.id.rank - rank)
            self.fspace = None
        if self.fspace is None or refresh:
            if self.fspace is None or not _inside(self.coords, self.extent):
                space = self.id.get_space()
                self.extent = space.shape
                if len(self.coords) != len(self.extent) or not _inside(self.coords, self.extent):
                    self.fspace = None
                    return False
                space.select_hyperslab(self.coords, (1,) * len(self.coords))
                self.fspace = space
        self.id.read(self.mspace, self.fspace, self.buf, self.mtype)
        if self._direct_ok and self._offset is None:
            self._locate()
        return bool(self.buf[0] != 0)

    def _locate(self) -> None:
        """The file offset of the value at ``coords`` if its chunk is stored."""
        start = tuple(c // n * n for c, n in zip(self.coords, self.chunks))
        info = chunk_info(self.dataset, start)
        if info is None or info.size != len(self._zero) * prod(self.chunks):
            return  # not stored yet, or not a whole uncompressed chunk
        local = 0
        for c, s, n in zip(self.coords, start, self.chunks):
            local = local * n + (c - s)
        # HDF5's address as the file offset: the probe reads HDF5's own descriptor (HDF5
        # 2.0's addresses count the userblock; ChunkReader checks this, the probe does not)
        self._offset = info.address + local * len(self._zero)


def _inside(coords: Sequence[int], extent: Sequence[int]) -> bool:
    return all(c < n for c, n in zip(coords, extent))


def _raw_maxshape(dataset: Any) -> Any:
    """A key's maxshape as it gives it (list or tuple); its shape when it has none."""
    maxshape = getattr(dataset, "maxshape", None)
    return maxshape if maxshape is not None else tuple(dataset.shape)


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
