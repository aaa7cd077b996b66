"""The acquired set of one open scan: the points its session has read, owned by the session.

Requests from the window carry only their own parameter (an ROI, the mask switch, a dataset,
channels); the session recomputes over the points it knows it read, in arrival order, and
checks positions a request names (a region) against them. Runs in the follower thread.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Acquired"]


class Acquired:
    """Positions (n, rank) read so far, in arrival order, and a grid to test membership."""

    def __init__(self) -> None:
        self.grid: np.ndarray | None = None
        self._blocks: list[np.ndarray] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        self.grid = None
        self._blocks.clear()
        self._count = 0

    def add(self, positions: np.ndarray) -> None:
        """Record newly read ``positions`` (n, rank)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.ndim != 2 or not len(positions):
            return
        self._blocks.append(positions)
        self._count += len(positions)
        high = tuple(int(n) for n in positions.max(axis=0) + 1)
        grid = self.grid
        if grid is None or grid.ndim != len(high):
            grid = self.grid = np.zeros(high, bool)
        elif any(h > n for h, n in zip(high, grid.shape)):
            # grow by half again along the slow axis, so a long scan copies the grid rarely
            new = [max(h, n) for h, n in zip(high, grid.shape)]
            if high[0] > grid.shape[0]:
                new[0] = max(high[0], grid.shape[0] * 3 // 2)
            grown = np.zeros(tuple(new), bool)
            grown[tuple(slice(0, n) for n in grid.shape)] = grid
            grid = self.grid = grown
        grid[tuple(positions.T)] = True

    def positions(self, after: int = 0) -> np.ndarray:
        """The acquired positions in arrival order, from the ``after``-th on."""
        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        if not self._blocks:
            return np.zeros((0, 0), np.int64)
        return self._blocks[0][after:]

    def only_acquired(self, positions: np.ndarray) -> np.ndarray:
        """The rows of ``positions`` that are acquired points (a request may predate a switch)."""
        positions = np.asarray(positions, dtype=np.int64)
        rank = self.grid.ndim if self.grid is not None else 0
        if self.grid is None or positions.ndim != 2 or positions.shape[1] != rank \
                or not len(positions):
            return np.zeros((0, rank), np.int64)
        inside = np.all((positions >= 0) & (positions < self.grid.shape), axis=1)
        keep = inside.copy()
        keep[inside] = self.grid[tuple(positions[inside].T)]
        return positions[keep]
