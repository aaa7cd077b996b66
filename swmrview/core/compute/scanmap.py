"""The live scan map as plain numpy: one value per scan point for each frame reduction.

Values are placed by scan *position* (one tuple of indices per point), so the map can grow in
any dimension while a scan is written: GDA grows every per-point dataset from (1, ..., 1), and
the final shape may be declared up front or known only as points arrive. Whether a point was
acquired is kept apart from its values, so a NaN reduction never reads as "not acquired".
Lookups (:meth:`ScanMap.flat_index`, :meth:`ScanMap.position`) never change the map.
"""

from __future__ import annotations

import io
import logging
import os
from typing import IO, Mapping, Sequence

import numpy as np

from swmrview.core.compute.reduce import REDUCTIONS, reduce_frame

logger = logging.getLogger(__name__)

__all__ = ["REDUCTIONS", "reduce_frame", "ScanMap", "read_csv"]


class ScanMap:
    """Per-point reductions of a scan, NaN where no frame has arrived yet.

    Parameters
    ----------
    scan_shape
        The scan shape as far as it is known: ``None`` (or 0) where a length is unknown; the
        arrays grow to fit every point placed. ``()`` is a single point (no map).
    reductions
        Names of the values kept per point.
    """

    def __init__(self, scan_shape: Sequence[int | None],
                 reductions: Sequence[str] = REDUCTIONS) -> None:
        self.declared: tuple[int | None, ...] = tuple(scan_shape)
        self.rank = len(self.declared)
        self._extent = tuple(int(n or 0) for n in self.declared)
        if self.rank == 0:
            self._extent = ()
        capacity = tuple(max(n, 1) for n in self._extent)
        self._values = {name: np.full(capacity, np.nan) for name in reductions}
        self._filled = np.zeros(capacity, dtype=bool)
        self._n_filled = 0

    # ------------------------------------------------------------------ state
    @property
    def shape(self) -> tuple[int, ...]:
        """Current extent: the declared lengths, grown to fit every point placed."""
        return self._extent

    @property
    def reductions(self) -> tuple[str, ...]:
        """Names of the values kept per point."""
        return tuple(self._values)

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Map arrays by reduction name (views of the current extent; NaN where not acquired)."""
        return {name: arr[self._window()] for name, arr in self._values.items()}

    @property
    def filled(self) -> np.ndarray:
        """Boolean array of the current extent, True where a point was acquired."""
        return self._filled[self._window()]

    @property
    def n_filled(self) -> int:
        """Number of distinct points placed so far."""
        return self._n_filled

    def _window(self) -> tuple[slice, ...]:
        return tuple(slice(0, n) for n in self._extent)

    # ------------------------------------------------------------------ lookups (no side effects)
    def flat_index(self, position: Sequence[int]) -> int:
        """Flat C-order index of ``position`` over the current extent."""
        return int(np.ravel_multi_index(tuple(int(p) for p in position), self._extent)) \
            if self.rank else 0

    def position(self, index: int) -> tuple[int, ...]:
        """Position of flat ``index`` over the current extent."""
        if self.rank == 0:
            return ()
        return tuple(int(p) for p in np.unravel_index(int(index), self._extent))

    def contains(self, position: Sequence[int]) -> bool:
        """True if ``position`` lies inside the current extent."""
        return len(position) == self.rank and all(0 <= p < n for p, n in zip(position,
                                                                             self._extent))

    def is_filled(self, position: Sequence[int]) -> bool:
        """True if the point at ``position`` was acquired."""
        return self.contains(position) and bool(self._filled[tuple(position)])

    # ------------------------------------------------------------------ growth and filling
    def grow_to(self, shape: Sequence[int | None]) -> bool:
        """Extend the map to at least ``shape`` (unknown lengths ignored); True if it grew."""
        if len(shape) != self.rank:
            raise ValueError(f"shape {tuple(shape)} does not have the scan rank {self.rank}")
        wanted = tuple(max(n, int(s or 0)) for n, s in zip(self._extent, shape))
        if wanted == self._extent:
            return False
        capacity = self._filled.shape
        if any(w > c for w, c in zip(wanted, capacity)):
            new_cap = tuple(c if w <= c else max(w, 2 * c) for w, c in zip(wanted, capacity))
            old = tuple(slice(0, c) for c in capacity)
            for name, arr in self._values.items():
                grown = np.full(new_cap, np.nan)
                grown[old] = arr
                self._values[name] = grown
            filled = np.zeros(new_cap, dtype=bool)
            filled[old] = self._filled
            self._filled = filled
        self._extent = wanted
        return True

    def add_layer(self, name: str) -> None:
        """Keep another named value per point (a map channel), NaN until placed."""
        if name not in self._values:
            self._values[name] = np.full(self._filled.shape, np.nan)

    def remove_layer(self, name: str) -> None:
        """Forget a named value per point (a removed channel)."""
        self._values.pop(name, None)

    def set_many(self, positions: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Place many points: ``values[name][k]`` is the reduction at ``positions[k]``.

        ``positions`` is an integer array of shape (n, rank); the map grows to fit them.
        """
        positions = np.asarray(positions, dtype=np.int64)
        positions = positions.reshape(len(positions), self.rank) if positions.ndim else \
            positions.reshape(0, self.rank)
        if positions.shape[0] == 0:
            return
        if (positions < 0).any():
            raise IndexError(f"negative scan position in {positions.min(axis=0)}")
        if self.rank:
            self.grow_to(tuple(positions.max(axis=0) + 1))
        where = tuple(positions.T)
        for name, column in values.items():
            if name in self._values:
                # rank 0 (a single point): the last value placed wins
                self._values[name][where] = column if self.rank else np.asarray(column)[-1]
        fresh = ~self._filled[where]
        if fresh.any():
            unique = np.unique(positions[fresh], axis=0) if self.rank else positions[:1]
            self._n_filled += int(unique.shape[0])
        self._filled[where] = True

    def set(self, position: Sequence[int], reductions: Mapping[str, float]) -> None:
        """Place the reductions of the point at ``position``."""
        self.set_many(np.asarray([position], dtype=np.int64).reshape(1, self.rank),
                      {k: np.asarray([v]) for k, v in reductions.items()})

    def clear(self, reduction: str | None = None) -> None:
        """Forget the values of one reduction (its frames must be reduced again) or of all."""
        if reduction is not None:
            self._values[reduction].fill(np.nan)
            return
        for arr in self._values.values():
            arr.fill(np.nan)
        self._filled.fill(False)
        self._n_filled = 0

    # ------------------------------------------------------------------ views
    def plane(self, reduction: str = "sum", slow_index: Sequence[int] = ()) -> np.ndarray:
        """Copy of the two fastest axes (1-D for 1-D scans) at ``slow_index`` of the slower ones.

        Missing slow indices default to 0; an index outside the map gives an all-NaN plane.
        """
        if reduction not in self._values:
            raise KeyError(f"unknown reduction {reduction!r}; choose from {self.reductions}")
        arr = self._values[reduction][self._window()]
        if self.rank <= 2:
            return arr.copy()
        slow = tuple(int(i) for i in slow_index)[: self.rank - 2]
        slow = slow + (0,) * (self.rank - 2 - len(slow))
        if any(not 0 <= i < n for i, n in zip(slow, arr.shape)):
            return np.full(arr.shape[-2:], np.nan)
        return arr[slow].copy()

    def to_csv(self, path_or_file: str | os.PathLike | IO[str], reduction: str = "sum",
               slow_index: Sequence[int] = (), comments: bool = True) -> None:
        """Write a plane as CSV: one line per slow-axis index, ``nan`` where not acquired."""
        plane = np.atleast_2d(self.plane(reduction, slow_index))
        lines = []
        if comments:
            shape = "x".join("?" if not n else str(n) for n in self.declared)
            extent = "x".join(str(n) for n in self.shape)
            grown = f", extent={extent}" if shape != extent else ""
            lines.append(f"# swmrview scan map, reduction={reduction}, scan_shape={shape}{grown}")
            if self.rank > 2:
                lines.append(f"# slow_index={tuple(int(i) for i in slow_index)}")
        buffer = io.StringIO()
        np.savetxt(buffer, plane, fmt="%.17g", delimiter=",")
        text = "".join(line + "\n" for line in lines) + buffer.getvalue()
        if hasattr(path_or_file, "write"):
            path_or_file.write(text)
        else:
            with open(path_or_file, "w", encoding="utf-8") as fh:
                fh.write(text)


def read_csv(path: str | os.PathLike) -> np.ndarray:
    """Read a map written by :meth:`ScanMap.to_csv` as a 2-D float array (one row for 1-D)."""
    return np.loadtxt(path, delimiter=",", comments="#", ndmin=2, dtype=np.float64)
