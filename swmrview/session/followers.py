"""A follower for files that are complete already: every point is ready at once.

It has the polling interface of :class:`swmrview.core.follow.keys.KeyFollower`, so the session treats
finished files without keys like any followed scan (read in bounded batches, then finished).
"""

from __future__ import annotations

from math import prod
from typing import Sequence

import numpy as np

BATCH = 4096


class CompleteFollower:
    """Reports the flat indices 0 .. n-1 of a complete scan, ``BATCH`` per poll."""

    def __init__(self, scan_shape: Sequence[int]) -> None:
        self.scan_shape = tuple(int(n) for n in scan_shape)
        self.total_points = prod(self.scan_shape)
        self.scan_rank = len(self.scan_shape)
        self.timed_out = self.key_reset = False
        self.finished_set = True
        self._next = 0

    @property
    def done(self) -> bool:
        """True once every index was reported."""
        return self._next >= self.total_points

    def poll(self) -> np.ndarray:
        """The next batch of indices (empty once done)."""
        stop = min(self._next + BATCH, self.total_points)
        new = np.arange(self._next, stop, dtype=np.int64)
        self._next = stop
        return new

    def resume(self) -> None:
        """Nothing to resume: a complete file never times out."""

    def stop(self) -> None:
        """Report nothing more."""
        self._next = self.total_points
