"""Reading a non-grid scan's per-point positions in the follower thread, as Scatter messages.

The session calls :meth:`ScatterSource.read` at the cadence it re-reads motor axes (at most once
a second, and once more at the scan's end); the planned trajectory is read once, as soon as the
file holds it for the whole scan.

Positions are read through the scan's shared handles and only from the first row that may
still change: the rows holding the points acquired at the previous read are final (their
positions were written before their keys) and kept. The last read of a scan reads everything
once more, so the positions sent at its end are those of a full read whatever the order the
points came in.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from swmrview.core.files.scatter_axes import ScatterAxes, find_scatter_axes, read_planned, read_rows

from swmrview.model.messages import Scatter, frozen

logger = logging.getLogger(__name__)


class ScatterSource:
    """The per-point positions of one open scan; :attr:`last` is the newest message."""

    def __init__(self, h5: Any, axes: ScatterAxes,
                 declared: Sequence[int | None] = ()) -> None:
        self.h5 = h5
        self.axes = axes
        self.declared = tuple(declared)   # the scan shape the file declares (None: unknown)
        self.last: Scatter | None = None
        self.values_read = 0              # position values read from the file (x and y)
        self._planned: tuple[np.ndarray, np.ndarray] | None = None
        self._kept: list[np.ndarray] | None = None   # x and y as read so far (float64)
        self._final_points = 0            # points acquired at the last read: final positions

    @classmethod
    def find(cls, h5: Any, layout: Any) -> ScatterSource | None:
        """The source of a scan whose points have recorded positions, else None (a grid).

        ``h5`` is the scan's :class:`~swmrview.session.handles.ScanFile`: the tree is searched
        through its File, the positions read through its shared handles.
        """
        axes = find_scatter_axes(h5.h5, layout.scan_rank, layout.scan_shape, layout.signal)
        if axes is None:
            return None
        logger.info("non-grid scan: positions %s, %s (planned: %s)", axes.x, axes.y,
                    axes.planned_x or "none")
        return cls(h5, axes, layout.scan_shape)

    def read(self, n_points: int, scan_shape: Sequence[int | None],
             final: bool = False) -> Scatter | None:
        """Read the positions that may have changed; a new message if they (or ``n_points``)
        changed, else None.

        ``n_points`` is the number of points acquired before this read: their positions were
        written before their keys, so the positions read now hold all of them. ``final``: the
        scan ended, read every position once more.
        """
        try:
            x, y, changed = self._read_positions(n_points, scan_shape, final)
            if self._planned is None:
                if self.declared and None not in self.declared:
                    scan_shape = self.declared
                shape = [scan_shape[d] if d < len(scan_shape) else None for d in self.axes.dims]
                planned = read_planned(self.h5, self.axes, shape)
                if planned is not None:   # the same arrays in every message from now on
                    self._planned = (frozen(planned[0]), frozen(planned[1]))
                    changed = True
        except Exception:  # noqa: BLE001 - positions are decoration: keep the last ones
            logger.debug("positions of %s unreadable", self.axes.x, exc_info=True)
            return None
        last = self.last
        if last is not None and last.n_points == n_points and not changed:
            return None
        axes = self.axes
        planned = self._planned or (None, None)
        self.last = Scatter(axes.x_name, axes.y_name, axes.x_unit, axes.y_unit, x, y,
                            planned[0], planned[1], tuple(axes.dims), int(n_points))
        return self.last

    def _read_positions(self, n_points: int, scan_shape: Sequence[int | None], final: bool
                        ) -> tuple[np.ndarray, np.ndarray, bool]:
        """x and y (frozen, cut to the extent both reached) and whether they changed."""
        kept = self._kept
        start = 0
        if kept is not None and not final and self._incremental(scan_shape) \
                and kept[0].ndim and kept[1].ndim:
            start = min(self._final_points // _row_size(kept[0]),
                        self._final_points // _row_size(kept[1]), len(kept[0]), len(kept[1]))
        arrays, changed = [], kept is None
        for k, path in enumerate((self.axes.x, self.axes.y)):
            old = kept[k] if kept is not None else None
            shape, rows = read_rows(self.h5, path, start)
            self.values_read += rows.size
            if start and (old.shape[1:] != shape[1:] or len(old) < start):
                shape, rows = read_rows(self.h5, path, 0)   # another shape: read it all
                self.values_read += rows.size
                whole = rows
            elif start:   # the kept rows before ``start`` are final
                whole = np.concatenate([old[:start], rows]) if len(rows) else old[:start]
                changed = changed or whole.shape != old.shape \
                    or not np.array_equal(old[start:], rows, equal_nan=True)
                arrays.append(frozen(whole))
                continue
            else:
                whole = rows
            changed = changed or old is None or not _same(old, whole)
            arrays.append(frozen(whole))
        self._kept = arrays
        self._final_points = max(self._final_points, int(n_points))
        extent = tuple(min(a, b) for a, b in zip(arrays[0].shape, arrays[1].shape))
        window = tuple(slice(0, n) for n in extent)
        x, y = arrays[0][window], arrays[1][window]
        if self.last is not None and not changed:
            x, y = self.last.x, self.last.y      # the same arrays: nothing new to compare
        return x, y, changed

    def _incremental(self, scan_shape: Sequence[int | None]) -> bool:
        """True when point k of the scan (flat, C order) has its position at flat index k of
        the position datasets: they span every scan dim, in order."""
        dims = tuple(self.axes.dims)
        return dims == tuple(range(len(dims))) and len(dims) == len(scan_shape)


def _row_size(array: np.ndarray) -> int:
    return max(1, int(np.prod(array.shape[1:]))) if array.ndim else 1


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
