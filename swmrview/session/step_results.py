"""Every acquired point's processing-step results, kept by the session (no Qt).

One :class:`StepResults` per open scan, owned by the :class:`~swmrview.session.reading.Reader`
beside the acquired set. For each step key it holds one row per point (the step's labels long,
float64) and a grid of row numbers by scan position, so a channel added mid-scan is computed
from the rows already there (no frame is read again), the frame view gets any point's pattern,
and the export writes them. Memory: points x bins x 8 bytes (1000 bins: 8 kB a point).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["StepResults"]


class _Rows:
    def __init__(self, width: int) -> None:
        self.width = width
        self.rows = np.empty((0, width))
        self.n = 0
        self.grid = np.full((0,), -1, dtype=np.int64)

    def put(self, positions: np.ndarray, rows: np.ndarray) -> None:
        self._grow_grid(positions)
        index = tuple(positions.T)
        at = self.grid[index]
        new = at < 0
        k = int(new.sum())
        if self.n + k > len(self.rows):
            grown = np.empty((max(self.n + k, len(self.rows) * 3 // 2 + 16), self.width))
            grown[:self.n] = self.rows[:self.n]
            self.rows = grown
        at = at.copy()
        at[new] = np.arange(self.n, self.n + k)
        self.n += k
        # a position twice in one block: the last row wins, as with map values
        self.grid[index] = at
        self.rows[at] = rows

    def _grow_grid(self, positions: np.ndarray) -> None:
        high = tuple(int(v) for v in positions.max(axis=0) + 1)
        grid = self.grid
        if grid.ndim != len(high):
            self.grid = np.full(high, -1, dtype=np.int64)
            return
        if any(h > n for h, n in zip(high, grid.shape)):
            new = [max(h, n) for h, n in zip(high, grid.shape)]
            if high[0] > grid.shape[0]:
                new[0] = max(high[0], grid.shape[0] * 3 // 2)
            grown = np.full(tuple(new), -1, dtype=np.int64)
            grown[tuple(slice(0, n) for n in grid.shape)] = grid
            self.grid = grown

    def at(self, positions: np.ndarray) -> np.ndarray:
        """Row numbers of ``positions`` (-1: none)."""
        grid = self.grid
        if positions.shape[1] != grid.ndim:
            return np.full(len(positions), -1, dtype=np.int64)
        inside = np.all(positions < np.asarray(grid.shape), axis=1) & np.all(positions >= 0, 1)
        out = np.full(len(positions), -1, dtype=np.int64)
        out[inside] = grid[tuple(positions[inside].T)]
        return out


class StepResults:
    """Result rows by step key and scan position; see the module docstring."""

    def __init__(self) -> None:
        self._by_key: dict[str, _Rows] = {}

    def clear(self) -> None:
        self._by_key.clear()

    def drop(self, key: str) -> None:
        """Forget one step's rows (its settings changed)."""
        self._by_key.pop(key, None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._by_key)

    def put(self, key: str, positions: np.ndarray, rows: np.ndarray) -> None:
        """Keep ``rows`` (n, m) of the points ``positions`` (n, rank)."""
        positions = np.asarray(positions, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.float64)
        if positions.ndim != 2 or not len(positions):
            return
        store = self._by_key.get(key)
        if store is None or store.width != rows.shape[1]:
            store = self._by_key[key] = _Rows(rows.shape[1])
        store.put(positions, rows)

    def has(self, key: str, positions: np.ndarray) -> bool:
        """True if every one of ``positions`` has a row of ``key``."""
        store = self._by_key.get(key)
        return store is not None and bool((store.at(np.asarray(positions, np.int64)) >= 0).all())

    def get(self, key: str, positions: np.ndarray) -> np.ndarray:
        """Rows of ``positions`` (NaN where a point has none)."""
        store = self._by_key[key]
        at = store.at(np.asarray(positions, dtype=np.int64))
        out = np.full((len(at), store.width), np.nan)
        out[at >= 0] = store.rows[at[at >= 0]]
        return out

    def row(self, key: str, position: Sequence[int]) -> np.ndarray | None:
        """The row of one point, or None."""
        if key not in self._by_key:
            return None
        row = self.get(key, np.asarray([tuple(position)], dtype=np.int64))[0]
        return None if np.isnan(row).all() else row

    def all(self, key: str, positions: np.ndarray) -> np.ndarray:
        """Rows of ``positions`` in their order (for the export and batch output)."""
        return self.get(key, positions)
