"""GrowthFollower: follow a live scan that has no key datasets, by dataset growth and chunks.

A point is ready when every dataset has grown past it (its position lies inside each
dataset's current shape) and the chunk holding it is stored in the file (it has a file
address): as swmr_tools 0.9.0's `ChunkSource` decides, point by point instead of chunk by
chunk. A chunk holding several points is taken as written once it is stored and the dataset's
extent covers the points, as ChunkSource takes it.

Same polling interface, end-of-scan rule and flat-index meaning as
`swmrview.core.follow.keys.KeyFollower` (`swmrview.core.follow.following`): ``poll()``,
iteration, ``done``, ``timed_out``, ``finished_set``, ``scan_shape``, ``total_points``,
``positions()``, ``resume()``, ``stop()``. The fast scan sizes come from the data (finite maxshape, else the
smallest current size while every slower axis has size 1, then frozen).

Give it the same h5py Dataset object the frames are read through: with HDF5 2.0.0, refreshing
two separately opened handles of one dataset (``f["data"]`` looked up twice) can leave its
chunk index stale for good (seen with a fixed-size dataset opened as SWMR starts).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from math import prod
from typing import Any

from swmrview.core.follow.chunks import stored
from swmrview.core.follow.following import Following, best_scan_shape, refresh_dataset
from swmrview.core.follow.positions import n_points, unravel

__all__ = ["GrowthFollower"]

#: Runs of points (one per chunk along the fastest scan axis) checked per poll at most.
MAX_RUNS_PER_POLL = 4096


class GrowthFollower(Following):
    """Flat indices of the points every dataset holds, for live files without keys.

    Parameters
    ----------
    datasets
        Data datasets (h5py datasets; numpy arrays count as fully stored) whose first
        ``scan_rank`` dimensions are the scan.
    timeout, finished_dataset, poll_interval, stop_event, grace, flag_wait
        As for `swmrview.core.follow.keys.KeyFollower`.
    scan_rank
        Number of scan dimensions.
    scan_shape
        The declared final scan shape, if known.
    """

    def __init__(self, datasets: Sequence[Any], timeout: float | None = 10,
                 finished_dataset: Any = None, *, scan_rank: int, poll_interval: float = 0.02,
                 stop_event: threading.Event | None = None, scan_shape: Sequence[int] | None = None,
                 grace: float | None = None, flag_wait: float | None = None):
        if len(datasets) == 0:
            raise ValueError("GrowthFollower needs at least one dataset")
        if scan_rank < 1:
            raise ValueError("GrowthFollower needs a scan rank of at least 1")
        for ds in datasets:
            if len(ds.shape) < scan_rank:
                raise ValueError(f"{getattr(ds, 'name', 'dataset')} has rank {len(ds.shape)}, "
                                 f"less than the scan rank {scan_rank}")
        self.datasets = list(datasets)
        self.scan_rank = scan_rank
        self._declared = tuple(int(n) for n in scan_shape) if scan_shape is not None else None
        if self._declared is not None and len(self._declared) != scan_rank:
            raise ValueError(f"scan_shape {self._declared} is not of rank {scan_rank}")
        self._init_following(timeout, finished_dataset, poll_interval, stop_event, grace,
                             flag_wait)
        self._maxshapes = [tuple(getattr(ds, "maxshape", None) or ds.shape)[:scan_rank]
                           for ds in self.datasets]
        self._chunks = [_chunks(ds, scan_rank) for ds in self.datasets]
        self._shared = any(c is not None and prod(c) > 1 for c in self._chunks)
        self._settle_all = False
        self.key_reset = False
        self.reset()

    def reset(self) -> None:
        """Start again from index 0 (``finished_set`` stays)."""
        self._reset_following()
        self._frozen: dict[int, int] = {}
        self._start = 0
        self.current_max = -1
        self._update_scan_shape()

    def _update_scan_shape(self) -> None:
        if self._declared is not None:
            self.scan_shape = self._declared
        else:
            self.scan_shape = best_scan_shape(
                self.scan_rank, self._maxshapes,
                [tuple(ds.shape[: self.scan_rank]) for ds in self.datasets], self._frozen, min)

    def settle(self) -> None:
        """The writer is done (closed the file): every stored point counts as written."""
        self._settle_all = True

    def _idle_probe(self) -> bool:
        return False

    def _complete(self) -> bool:
        total = n_points(self.scan_shape)
        return total is not None and self._start >= total

    def _scan(self, now: float) -> int:
        for ds in self.datasets:
            refresh_dataset(ds)
        self._update_scan_shape()
        fast = tuple(int(n) for n in self.scan_shape[1:])
        if prod(fast) == 0:
            return 0
        shapes = [tuple(ds.shape[: self.scan_rank]) for ds in self.datasets]
        start = self._start
        before = len(self._pending)
        for _ in range(MAX_RUNS_PER_POLL):
            pos = unravel(start, (None,) + tuple(fast))
            if any(p >= n for s in shapes for p, n in zip(pos, s)):
                break
            stop = (fast[-1] if fast else None)
            stored = True
            for ds, chunks, shape in zip(self.datasets, self._chunks, shapes):
                limit = shape[-1]
                if chunks is not None:
                    chunk_start = tuple(p // c * c for p, c in zip(pos, chunks))
                    limit = min(limit, chunk_start[-1] + chunks[-1])
                    if not _stored(ds, chunk_start):
                        stored = False
                        break
                stop = limit if stop is None else min(stop, limit)
            if not stored:
                break
            run = stop - pos[-1]
            if run <= 0:
                break
            if self._shared and not (self._settle_all or self.finished_set) \
                    and not self._next_stored(start + run, fast, shapes):
                break  # a chunk of several points may still be filling: wait for the next one
            self._pending.add_range(start, start + run)
            start += run
        self._start = start
        self.current_max = start - 1
        return len(self._pending) - before


    def _next_stored(self, index: int, fast: Sequence[int],
                     shapes: Sequence[Sequence[int]]) -> bool:
        """Whether the point after a run (flat ``index``) is inside every dataset and stored.

        Writers fill the scan in order, so once a later point's chunk is stored, the chunk
        before it is complete: only then are the points of a chunk holding several reported
        (else points not yet written would be read as fill).
        """
        pos = unravel(index, (None,) + tuple(fast))
        if any(p >= n for s in shapes for p, n in zip(pos, s)):
            return False
        for ds, chunks in zip(self.datasets, self._chunks):
            if chunks is not None and not _stored(ds, tuple(p // c * c for p, c in
                                                            zip(pos, chunks))):
                return False
        return True


def _chunks(ds: Any, scan_rank: int) -> tuple[int, ...] | None:
    chunks = getattr(ds, "chunks", None)
    if chunks is None or not hasattr(getattr(ds, "id", None), "get_chunk_info_by_coord"):
        return None
    return tuple(chunks[:scan_rank])


def _stored(ds: Any, chunk_start: Sequence[int]) -> bool:
    """Whether the chunk starting at ``chunk_start`` (scan dims) is stored (`chunks.stored`)."""
    return stored(ds, tuple(chunk_start) + (0,) * (len(ds.shape) - len(chunk_start)))
