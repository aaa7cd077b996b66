"""Is point i of dataset D written? One rule for every dataset a scan reads.

- A scan with keys: the keys say a point is done (the writer flushes every dataset of a point
  before its key), so a point is written in D once D holds it (a counter written after the
  detector's key may not yet).
- A live scan without keys: the growth rule of :class:`~swmrview.core.follow.growth.GrowthFollower`
  on D itself: D holds the point, its chunk is stored and the chunk after it begun (or the
  writer closed the file). A row that exists but whose chunk still holds fill is not written.
- A complete file: every point D holds.

The detector's follower applies the rule to the detector; channels, monitors and per-point
fields ask :meth:`WrittenRule.mask` before reading. Runs in the follower thread; no Qt.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from swmrview.core.follow.growth import GrowthFollower
from swmrview.core.follow.positions import ravel_many

__all__ = ["WrittenRule"]


class WrittenRule:
    """Which points of a scan's datasets are written (see the module docstring).

    Parameters
    ----------
    growth
        True for a live scan without keys (the growth rule), else False.
    dataset
        ``dataset(path)``: the scan's shared handle of ``path``.
    scan_rank
        Number of scan dimensions.
    index_shape
        ``index_shape()``: the shape the detector's follower counts flat indices over now.
    """

    def __init__(self, growth: bool, dataset: Callable[[str], Any], scan_rank: int,
                 index_shape: Callable[[], Sequence[int | None]]) -> None:
        self.growth = growth
        self._dataset = dataset
        self.scan_rank = scan_rank
        self._index_shape = index_shape
        self._followers: dict[str, GrowthFollower] = {}
        self._settled = False

    def settle(self) -> None:
        """The writer closed the file: whatever each dataset holds is written."""
        self._settled = True
        for follower in self._followers.values():
            follower.settle()

    def mask(self, path: str, positions: np.ndarray) -> np.ndarray:
        """Bool per row of ``positions`` (n, rank): is that point written in ``path``?"""
        ds = self._dataset(path)
        positions = np.asarray(positions, dtype=np.int64).reshape(len(positions),
                                                                  self.scan_rank)
        held = np.asarray(ds.shape[: self.scan_rank])
        inside = (positions < held).all(axis=1)
        if not self.growth or self._settled or not inside.any():
            return inside
        follower = self._follower(path, ds)
        follower.poll()
        flat = ravel_many(positions, follower.index_shape)
        return inside & (flat <= follower.current_max)

    def _follower(self, path: str, ds: Any) -> GrowthFollower:
        follower = self._followers.get(path)
        if follower is None:
            shape = tuple(self._index_shape())
            declared = shape if shape and None not in shape else None
            follower = GrowthFollower([ds], timeout=None, scan_rank=self.scan_rank,
                                      scan_shape=declared, poll_interval=0)
            self._followers[path] = follower
        return follower

    def close(self) -> None:
        for follower in self._followers.values():
            follower.stop()
        self._followers.clear()
