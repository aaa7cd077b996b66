"""Follow SWMR key datasets: which scan points are safely written (swmr_tools' ``keyfollower``).

`KeyFollower` has swmr_tools 0.9.0's public API (iteration, ``check_datasets``, ``refresh``,
``get_current_max``, ``is_finished``...) with the same results, and fixes its defects: a poll
reads the keys only from the first incomplete point on (an idle poll reads one value of one
key, `swmrview.core.follow.keyprobe.KeyProbe`), polls every few tens of ms whatever the
timeout, can be stopped at once from another thread, survives keys that go back to zero, empty
keys and rank-0 finished flags, can report points out of order or skip dropped ones, and never
loses the last points of a scan whose finished flag shows before its last keys.
`RowKeyFollower` (swmr_tools API) reports whole rows.

The end of a scan and the meaning of flat indices are `swmrview.core.follow.following`'s,
shared with `swmrview.core.follow.growth.GrowthFollower`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np

from swmrview.core.follow.following import Following, best_scan_shape, refresh_dataset
from swmrview.core.follow.keyprobe import KeyProbe
from swmrview.core.follow.positions import n_points, scan_rank_of

logger = logging.getLogger(__name__)

__all__ = ["KeyFollower", "RowKeyFollower", "ScanRankError"]

#: Points read per window while catching up (one window at the first incomplete point per poll).
WINDOW_POINTS = 4096


class ScanRankError(RuntimeError):
    """Key datasets disagree on the scan rank."""


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

    Notes
    -----
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
        self._h5 = [KeyProbe.of(k) for k in self.key_datasets]
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
        point: straight from the file once its chunk is stored (see `KeyProbe`), else after
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
