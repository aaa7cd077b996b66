"""The live scan map as plain numpy: one value per scan point for each frame reduction.

Frames are reduced once as they arrive (:func:`reduce_frame`) and the numbers placed by flat
index into NaN arrays of the scan shape, so memory is bounded by the map whatever the frames.
"""

from __future__ import annotations

import io
import logging
import os
from typing import IO, Mapping, Sequence

import numpy as np

from .positions import unravel

logger = logging.getLogger(__name__)

__all__ = ["REDUCTIONS", "reduce_frame", "ScanMap", "read_csv"]

REDUCTIONS = ("sum", "mean", "max", "roi")

Roi = tuple[int, int, int, int] | tuple[int, int]


def _roi_sum(frame: np.ndarray, roi: Sequence[int] | None) -> float:
    if roi is None:
        return float("nan")
    if frame.ndim == 0:
        return float(frame)
    if len(roi) == 2:
        x0, x1 = roi
        region = frame[..., x0:x1]
    elif len(roi) == 4 and frame.ndim >= 2:
        y0, y1, x0, x1 = roi
        region = frame[..., y0:y1, x0:x1]
    else:
        raise ValueError(f"roi {tuple(roi)} does not fit a frame of rank {frame.ndim}")
    return float(region.sum(dtype=np.float64))


def reduce_frame(frame: np.ndarray, roi: Roi | None = None) -> dict[str, float]:
    """Reduce one frame to the map values: sum, mean, max and the sum inside ``roi``.

    ``roi`` is ``(y0, y1, x0, x1)`` for images or ``(x0, x1)`` for spectra (Python slice
    bounds); without it the ``roi`` value is NaN. Sums are exact: 8/16-bit integer frames are
    summed row by row in 32-bit integers (twice as fast as converting every pixel to float64).
    """
    frame = np.asarray(frame)
    if frame.size == 0:
        return {name: float("nan") for name in REDUCTIONS}
    total = _total(frame)
    return {
        "sum": total,
        "mean": total / frame.size,
        "max": float(frame.max()),
        "roi": _roi_sum(frame, roi),
    }


def _total(frame: np.ndarray) -> float:
    """Exact sum; rows of <= 65536 pixels of 8/16-bit integers cannot overflow 32 bits."""
    if frame.ndim and frame.dtype.kind in "ui" and frame.dtype.itemsize <= 2 \
            and frame.shape[-1] <= 65536:
        wide = np.uint32 if frame.dtype.kind == "u" else np.int32
        return float(frame.sum(axis=-1, dtype=wide).sum(dtype=np.int64))
    return float(frame.sum(dtype=np.float64))


class ScanMap:
    """Per-point reductions of a scan, NaN where no frame has arrived yet.

    Parameters
    ----------
    scan_shape
        The scan shape; ``scan_shape[0]`` may be ``None`` (unknown length), then the arrays
        grow along dim 0 as points arrive.
    roi
        Region summed for the ``roi`` reduction (see :func:`reduce_frame`).
    """

    def __init__(self, scan_shape: Sequence[int | None], roi: Roi | None = None) -> None:
        shape = tuple(scan_shape)
        if not shape:
            raise ValueError("a scan map needs a scan rank of at least 1")
        if any(n is None or n < 0 for n in shape[1:]):
            raise ValueError(f"only the slowest scan dim may be unknown, got {shape}")
        self.scan_shape: tuple[int | None, ...] = shape
        self.roi = None if roi is None else tuple(int(v) for v in roi)
        self._growing = shape[0] is None
        self._row_size = int(np.prod(shape[1:], dtype=np.int64))
        rows = 0 if self._growing else int(shape[0])
        capacity = 16 if self._growing else rows
        self._rows = rows
        self._arrays = {name: np.full((capacity,) + shape[1:], np.nan) for name in REDUCTIONS}
        self._filled = np.zeros((capacity,) + shape[1:], dtype=bool)
        self._n_filled = 0

    # ------------------------------------------------------------------ state
    @property
    def shape(self) -> tuple[int, ...]:
        """Current shape of the map arrays (dim 0 grows when the scan length is unknown)."""
        return (self._rows,) + tuple(self.scan_shape[1:])

    @property
    def rank(self) -> int:
        """Scan rank."""
        return len(self.scan_shape)

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Map arrays by reduction name (views; NaN where not acquired)."""
        return {name: arr[:self._rows] for name, arr in self._arrays.items()}

    @property
    def filled(self) -> np.ndarray:
        """Boolean array, True where a point has been placed."""
        return self._filled[:self._rows]

    @property
    def n_filled(self) -> int:
        """Number of distinct points placed so far."""
        return self._n_filled

    def clear(self) -> None:
        """Forget every value (e.g. when the file is replaced by a new scan)."""
        for arr in self._arrays.values():
            arr.fill(np.nan)
        self._filled.fill(False)
        self._n_filled = 0
        if self._growing:
            self._rows = 0

    def set_roi(self, roi: Roi | None) -> None:
        """Change the ROI and clear the ``roi`` values (frames must be reduced again)."""
        self.roi = None if roi is None else tuple(int(v) for v in roi)
        self._arrays["roi"].fill(np.nan)

    # ------------------------------------------------------------------ filling
    def position(self, index: int) -> tuple[int, ...]:
        """Grid position of flat ``index`` (C order), growing the map if dim 0 is open."""
        index = int(index)
        if index < 0:
            raise IndexError(f"negative scan index {index}")
        pos = unravel(index, self.shape)
        if self._growing:
            self._ensure_rows(pos[0] + 1)
        elif pos[0] >= self._rows:
            raise IndexError(f"index {index} outside scan shape {self.scan_shape}")
        return pos

    def _ensure_rows(self, rows: int) -> None:
        capacity = self._filled.shape[0]
        if rows > capacity:
            new_capacity = max(rows, 2 * capacity)
            pad = ((0, new_capacity - capacity),) + ((0, 0),) * (self.rank - 1)
            self._arrays = {name: np.pad(arr, pad, constant_values=np.nan)
                            for name, arr in self._arrays.items()}
            self._filled = np.pad(self._filled, pad, constant_values=False)
        self._rows = max(self._rows, rows)

    def set(self, index: int, reductions: Mapping[str, float]) -> tuple[int, ...]:
        """Place already computed reductions of point ``index``; returns its grid position."""
        pos = self.position(index)
        for name, value in reductions.items():
            if name in self._arrays:
                self._arrays[name][pos] = value
        if not self._filled[pos]:
            self._filled[pos] = True
            self._n_filled += 1
        return pos

    def set_many(self, indices: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Place many points at once: ``values[name][k]`` is the reduction of ``indices[k]``.

        Vectorized form of :meth:`set` (grows once, one assignment per reduction).
        """
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size == 0:
            return
        if indices.min() < 0:
            raise IndexError(f"negative scan index {int(indices.min())}")
        rows = int(indices.max()) // self._row_size + 1
        if self._growing:
            self._ensure_rows(rows)
        elif rows > self._rows:
            raise IndexError(f"index {int(indices.max())} outside scan shape {self.scan_shape}")
        pos = np.unravel_index(indices, self.shape)
        for name, column in values.items():
            if name in self._arrays:
                self._arrays[name][pos] = column
        new = indices[~self._filled[pos]]
        self._filled[pos] = True
        self._n_filled += int(np.unique(new).size)

    def add(self, index: int, frame: np.ndarray) -> dict[str, float]:
        """Reduce ``frame`` and place it at point ``index``; returns the reductions."""
        reductions = reduce_frame(frame, self.roi)
        self.set(index, reductions)
        return reductions

    # ------------------------------------------------------------------ views
    def plane(self, reduction: str = "sum", slow_index: Sequence[int] = ()) -> np.ndarray:
        """Copy of the two fastest axes (1-D for 1-D scans) at ``slow_index`` of the slower ones.

        Missing slow indices default to 0.
        """
        if reduction not in self._arrays:
            raise KeyError(f"unknown reduction {reduction!r}; choose from {REDUCTIONS}")
        arr = self._arrays[reduction][:self._rows]
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
            shape = "x".join("?" if n is None else str(n) for n in self.scan_shape)
            lines.append(f"# swmrview scan map, reduction={reduction}, scan_shape={shape}")
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
