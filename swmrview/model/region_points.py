"""Which acquired points a region drawn on the map holds (hold and compare's *Region*)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from swmrview.model.view_state import ViewState

__all__ = ["region_positions"]


def region_positions(state: ViewState, x: tuple[float, float],
                     y: tuple[float, float] | None = None, scatter: bool = False) -> np.ndarray:
    """Acquired positions, shape (n, rank) in arrival order, whose map cells' centres lie
    inside a rectangle (or, for 1-D scans, an interval) of the map's coordinates.

    ``x`` (and ``y``) are intervals in the map's plot coordinates: the motor positions of the
    cells' centres on a grid map, the chosen x of a 1-D plot (``state.curve_x``), or with
    ``scatter`` the recorded positions of a non-grid scan. For scans of rank >= 3 only points
    of the plane on screen are taken. Bounds may come in either order; a point on a bound is
    inside.
    """
    rank = state.rank
    if rank == 0:
        return np.zeros((0, 0), np.int64)
    positions = state.acquired_positions()
    if rank > 2:
        positions = positions[state.on_plane(positions)]
    positions = _unique_rows(positions, state.shape)
    if scatter and state.scatter is not None:
        px, py, known = state.scatter.xy(positions)
        if y is None:
            raise ValueError("a scatter map needs a y interval")
        return positions[known & _between(px, x) & _between(py, y)]
    if rank == 1:
        return positions[_between(state.curve_x()[positions[:, 0]], x)]
    if y is None:
        raise ValueError("a map of rank >= 2 needs a y interval")
    inside = _between(state.coordinates(rank - 1)[positions[:, -1]], x) \
        & _between(state.coordinates(rank - 2)[positions[:, -2]], y)
    return positions[inside]


def _between(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = min(bounds), max(bounds)
    return (values >= lo) & (values <= hi)


def _unique_rows(positions: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``positions`` without repeats, first arrival kept, in arrival order (a 1-D unique of
    flat indices: five times faster than a row-wise one)."""
    if len(positions) < 2:
        return positions
    flat = np.ravel_multi_index(tuple(positions.T), tuple(shape))
    _, first = np.unique(flat, return_index=True)
    return positions[np.sort(first)]
