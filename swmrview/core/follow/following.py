"""What every follower shares: polling, pending indices, timeouts, stop events, the
end-of-scan rule and the finished flag (`read_finished_flag`), and the scan shape rule.

A follower (`swmrview.core.follow.keys.KeyFollower`,
`swmrview.core.follow.growth.GrowthFollower`) subclasses `Following` and says how to find new
points; iteration, ``poll()``, ``done``, ``timed_out``, ``finished_set``, ``resume()`` and
``stop()`` are the same for every one.

End of a scan (SPEC 1), the same rule for every follower:

- after the finished flag is seen, new points are still looked for until a scan of known size
  is complete or no new point has come for ``grace`` seconds (a detector file may flush after
  the scan file);
- when every point of a scan of known size is in, the flag is read on every poll (polling
  fast) for up to ``min(flag_wait, timeout)`` seconds; it ends the scan as finished, and if it
  never comes the scan ends as timed out (swmr_tools reports a timeout then too). With no
  finished dataset a scan of known size ends as soon as every point is in;
- otherwise following ends after ``timeout`` seconds without a new point (``timed_out``);
  `Following.resume` keeps following from where it was.

Flat indices are C-order indices over ``scan_shape`` as it stands when they are reported:

- with a declared ``scan_shape=`` or finite maxshapes this is the final shape;
- when fast dimensions are unlimited and no shape is declared, each fast size is the largest
  (keys) or smallest (data) current size while every slower dimension still has size 1, and
  is frozen (taken as final) as soon as a slower dimension grows past 1 (`best_scan_shape`).
  Until then every point has index 0 in the slower dimensions, so its flat index is the same
  over every later shape: an index, once reported, never changes meaning. ``positions``
  unravels indices over the current shape. A writer that grows a frozen dimension afterwards
  (not C-order growth) is logged, and points beyond the frozen size are not reported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from swmrview.core.follow.positions import n_points, unravel_many

logger = logging.getLogger(__name__)

__all__ = ["Following", "best_scan_shape", "read_finished_flag", "refresh_dataset"]

#: New indices one `poll` returns at most (four of KeyFollower's read windows); the rest stay
#: pending (as ranges) for the next polls. `refresh` always catches up in one call, as
#: swmr_tools does.
MAX_NEW_PER_POLL = 16384
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
