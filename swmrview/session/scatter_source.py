"""Reading a non-grid scan's per-point positions in the follower thread, as Scatter messages.

The session calls :meth:`ScatterSource.read` at the cadence it re-reads motor axes (at most once
a second, and once more at the scan's end); the planned trajectory is read once, as soon as the
file holds it for the whole scan.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from swmrview.core.files.scatter_axes import ScatterAxes, find_scatter_axes, read_planned, read_positions

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
        self._planned: tuple[np.ndarray, np.ndarray] | None = None

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

    def read(self, n_points: int, scan_shape: Sequence[int | None]) -> Scatter | None:
        """Re-read the positions; a new message if they (or ``n_points``) changed, else None.

        ``n_points`` is the number of points acquired before this read: their positions were
        written before their keys, so the positions read now hold all of them.
        """
        try:
            x, y = read_positions(self.h5, self.axes)
            if self._planned is None:
                if self.declared and None not in self.declared:
                    scan_shape = self.declared
                shape = [scan_shape[d] if d < len(scan_shape) else None for d in self.axes.dims]
                self._planned = read_planned(self.h5, self.axes, shape)
        except Exception:  # noqa: BLE001 - positions are decoration: keep the last ones
            logger.debug("positions of %s unreadable", self.axes.x, exc_info=True)
            return None
        last = self.last
        if last is not None and last.n_points == n_points and _same(last.x, x) \
                and _same(last.y, y) and (last.planned_x is not None) == (self._planned
                                                                          is not None):
            return None
        axes = self.axes
        planned = self._planned or (None, None)
        self.last = Scatter(axes.x_name, axes.y_name, axes.x_unit, axes.y_unit, frozen(x),
                            frozen(y), None if planned[0] is None else frozen(planned[0]),
                            None if planned[1] is None else frozen(planned[1]),
                            tuple(axes.dims), int(n_points))
        return self.last


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
