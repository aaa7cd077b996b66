"""The scatter map of a non-grid scan: acquired points at their real positions, as the view draws.

:class:`ScatterGeometry` holds the newest :class:`~swmrview.model.messages.Scatter` of a scan
(one field of the :class:`~swmrview.model.view_state.ViewState`) and answers, against that view
state, what to draw: each acquired point's (x, y) and map value, the planned points still to
come, the point nearest a click, and the values interpolated onto a regular grid (NaN outside the
convex hull of the acquired points). Plain numpy; nothing here imports Qt.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from swmrview.model.hull import (
    along_one_dim,
    collinear,
    convex_hull,
    fill_outside,
    last_plane,
    outermost,
    row_spans,
)
from swmrview.model.messages import Axis, Scatter
from swmrview.model.scatter_cache import (
    MAX_BINS,
    BinCache,
    Interpolated,
    PendingCache,
    PointCache,
    ScatterPoints,
    same_prefix,
)


class ViewState(Protocol):
    """What the geometry reads of the view state that owns it (a Protocol: the view state
    imports this module, not the other way round)."""

    rank: int
    axes: Sequence[Axis]
    map: Any
    reduction: str
    slow_index: tuple[int, ...]
    n_acquired: int

    def acquired_positions(self, start: int = 0) -> np.ndarray: ...

    def on_plane(self, positions: np.ndarray) -> np.ndarray: ...

Position = tuple[int, ...]
MAX_GRID = 256          # cells along each side of an interpolated image, at most
                        # times its cells along a side (else new points go into its cells)


class ScatterGeometry:
    """What a scatter map shows of a view state; :meth:`set` takes each new position message.

    The acquired points' positions, coordinates and map indices are gathered once per point
    (:class:`PointCache`, kept while the plane shown and the positions read stay the same), and
    the binned image of many points is updated with new or changed points only
    (:class:`BinCache`, one per map layer): a redraw of 10^6 points costs a gather of their
    values, not a pass over positions and coordinates.
    """

    def __init__(self, scatter: Scatter, rank: int) -> None:
        self.scatter = scatter
        self.rank = rank
        self._points: PointCache | None = None
        self._bins: dict[str, BinCache] = {}
        self._pending: PendingCache | None = None

    def set(self, scatter: Scatter) -> None:
        """Use newer positions (more points written, or the planned trajectory read)."""
        old, self.scatter = self.scatter, scatter
        if self._points is not None and not same_prefix(old, scatter):
            self._forget()   # a position read before changed: gather everything again

    def _capacity(self) -> int:
        """Points a plane can have positions for (room kept for them: no copies as they come)."""
        s = self.scatter
        sizes = [s.x.size] + ([s.planned_x.size] if s.planned_x is not None else [])
        return int(max(sizes))

    def _forget(self) -> None:
        self._points = None
        self._bins.clear()

    # ------------------------------------------------------------------ labels
    def label(self, axis: str) -> str:
        """``"name (unit)"`` of the ``"x"`` or ``"y"`` motor."""
        s = self.scatter
        name, unit = (s.x_name, s.unit_x) if axis == "x" else (s.y_name, s.unit_y)
        return f"{name} ({unit})" if unit else name

    def shared_unit(self) -> str | None:
        """The unit x and y share (then the map keeps its aspect), else None."""
        s = self.scatter
        return s.unit_x if s.unit_x and s.unit_x == s.unit_y else None

    # ------------------------------------------------------------------ points
    def xy(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, known) of ``positions``: known where the positions read so far reach."""
        s = self.scatter
        dims = list(s.dims)
        index = positions[:, dims] if len(positions) else np.zeros((0, len(dims)), np.int64)
        known = (index < np.asarray(s.x.shape, np.int64)).all(axis=1) & (index >= 0).all(axis=1)
        x = np.full(len(index), np.nan)
        y = np.full(len(index), np.nan)
        at = tuple(index[known].T)
        x[known], y[known] = s.x[at], s.y[at]
        return x, y, known & np.isfinite(x) & np.isfinite(y)

    def points(self, state: ViewState, layer: str | None = None) -> ScatterPoints:
        """The acquired points of the shown plane whose positions are known, with the values
        of map ``layer`` (the map shown by default).

        Only the points acquired since the last call are looked up (their positions and
        coordinates are kept); the values are gathered anew, as any of them may change.
        """
        cache = self._gathered(state)
        values = state.map.values[layer or state.reduction]
        return ScatterPoints(cache.positions, cache.x, cache.y, cache.values_of(values))

    def _gathered(self, state: ViewState) -> PointCache:
        """The cached points of the shown plane, with the points acquired since added."""
        plane = tuple(state.slow_index) if state.rank > 2 else ()
        cache = self._points
        n = min(self.scatter.n_points, state.n_acquired)
        if cache is None or cache.plane != plane or cache.rank != state.rank \
                or n < cache.seen or cache.stale(self.scatter):
            self._forget()
            cache = self._points = PointCache(plane, state.rank)
        if n > cache.seen:
            positions = state.acquired_positions(cache.seen)[: n - cache.seen]
            on = positions[state.on_plane(positions)]
            x, y, known = self.xy(on)
            cache.add(on[known], x[known], y[known], bool((~known).any()),
                      cache.seen + len(positions), state.map.shape, self._capacity())
        return cache

    def binned(self, state: ViewState, layer: str | None = None,
               points: ScatterPoints | None = None,
               max_size: int = MAX_BINS) -> Interpolated | None:
        """The shown plane's points binned into about one point per cell: each cell the mean
        of the finite values of map ``layer`` of the points in it, NaN where none fell.

        Kept between calls: new points and points whose values changed are added to the
        cells (cell indices are computed once per point); the grid is rebuilt only when a point
        falls outside it or the points call for :data:`REBIN_GROWTH` times finer cells (at most
        ``max_size`` cells a side: about the pixels it is drawn on). None with fewer than 3
        points, or all on one horizontal or vertical line.
        """
        layer = layer or state.reduction
        pts = points if points is not None else self.points(state, layer)
        cache = self._points
        bins = self._bins.get(layer)
        if bins is None or bins.cache is not cache:
            bins = self._bins[layer] = BinCache(cache)
        return bins.update(pts, self.scatter, min(int(max_size), MAX_BINS))

    def point_xy(self, position: Position) -> tuple[float, float] | None:
        """Real (x, y) of the point at ``position``, None while its position is not read."""
        x, y, known = self.xy(np.asarray([position], np.int64))
        return (float(x[0]), float(y[0])) if known[0] else None

    def readout(self, position: Position) -> str:
        """``"at sample_x=1.2 mm  sample_y=-0.4 mm"``: where the point really was ("" unknown)."""
        xy = self.point_xy(position)
        if xy is None:
            return ""
        s = self.scatter
        parts = [f"{name}={value:.6g}" + (f" {unit}" if unit else "")
                 for name, value, unit in ((s.x_name, xy[0], s.unit_x),
                                           (s.y_name, xy[1], s.unit_y))]
        return "at " + "  ".join(parts)

    def pending(self, state: ViewState) -> tuple[np.ndarray, np.ndarray]:
        """Planned (x, y) of the points of the shown plane not acquired yet, in scan order."""
        x, y, _connect = self.pending_path(state)
        return x, y

    def pending_path(self, state: ViewState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`pending` and, per point, whether the trajectory runs on to the next one.

        Consecutive planned points are joined only when they are neighbours (at most 2.5 times
        the scan's typical spacing apart): a raster's fly-back or a golden-angle spiral's jumps
        are not drawn as lines across the map. Which planned points are done is kept between
        calls and updated with the points acquired since; the answer is kept until then.
        """
        s = self.scatter
        if s.planned_x is None or s.planned_y is None:
            return np.zeros(0), np.zeros(0), np.zeros(0, bool)
        plane = tuple(state.slow_index) if state.rank > 2 else ()
        cache = self._pending
        if cache is None or cache.plane != plane or cache.planned is not s.planned_x \
                or state.n_acquired < cache.seen:
            cache = self._pending = PendingCache(plane, s.planned_x)
        if state.n_acquired > cache.seen or cache.path is None:
            acquired = state.acquired_positions(cache.seen)
            acquired = acquired[state.on_plane(acquired)][:, list(s.dims)]
            inside = (acquired < np.asarray(cache.done.shape)).all(axis=1)
            cache.done[tuple(acquired[inside].T)] = True
            cache.seen = state.n_acquired
            cache.path = self._path(np.flatnonzero(~cache.done.ravel()))
        return cache.path

    def _path(self, todo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.scatter
        px, py = s.planned_x.ravel(), s.planned_y.ravel()
        x, y = px[todo], py[todo]
        if len(x) < 2:
            return x, y, np.zeros(len(x), bool)
        wide, high = float(np.ptp(px)), float(np.ptp(py))
        n = max(len(px), 2)
        spacing = np.sqrt(wide * high / n) if wide * high > 0 else max(wide, high) / (n - 1)
        step = np.hypot(np.diff(x), np.diff(y))
        connect = np.append(step <= 2.5 * spacing, False)
        return x, y, connect

    def nearest(self, state: ViewState, x: float, y: float,
                scale: tuple[float, float] = (1.0, 1.0),
                max_distance: float | None = None,
                points: ScatterPoints | None = None) -> Position | None:
        """The drawn point nearest (x, y), distances in units of ``scale`` (e.g. pixels).

        None when nothing is drawn or the nearest point is further than ``max_distance``.
        ``points``: the points drawn, if the caller has them (else they are gathered again).
        """
        points = self.points(state) if points is None else points
        if not len(points):
            return None
        d2 = ((points.x - x) / scale[0]) ** 2 + ((points.y - y) / scale[1]) ** 2
        best = int(np.argmin(d2))
        if max_distance is not None and d2[best] > max_distance ** 2:
            return None
        return tuple(int(p) for p in points.positions[best])

    # ------------------------------------------------------------------ which view
    def grid_like(self, state: ViewState) -> bool:
        """True if the positions lie on a grid of the scan's indices (a step scan, not a
        spiral or a jittered fly scan): then the grid map shows the same.

        Both the planned trajectory (the whole scan, when the file has it) and the positions
        of the points acquired so far must be on the grid; a 1-D scan is grid-like when its
        points lie on one line.
        """
        s = self.scatter
        x = np.full(s.x.shape, np.nan)
        y = np.full(s.y.shape, np.nan)
        positions = state.acquired_positions()[: s.n_points]
        px, py, known = self.xy(positions)
        at = tuple(positions[known][:, list(s.dims)].T)
        x[at], y[at] = px[known], py[known]
        pairs = [(x, y)] + ([(s.planned_x, s.planned_y)] if s.planned_x is not None else [])
        if len(s.dims) == 1:
            return all(collinear(a, b) for a, b in pairs) if known.sum() >= 3 \
                else s.planned_x is not None and collinear(s.planned_x, s.planned_y)
        return all(along_one_dim(last_plane(a)) and along_one_dim(last_plane(b))
                   for a, b in pairs)

    def prefers_points(self, state: ViewState) -> bool:
        """True if the scatter map shows the scan better than the grid map: the points are off
        a grid, or the grid map has no motor positions to place its cells at."""
        dims = (0,) if state.rank == 1 else (state.rank - 2, state.rank - 1)
        placed = all(d < len(state.axes) and state.axes[d].values is not None for d in dims)
        return not (placed and self.grid_like(state))

    # ------------------------------------------------------------------ interpolation
    def interpolate(self, state: ViewState, size: int | None = None, fill: bool = True,
                    points: ScatterPoints | None = None) -> Interpolated | None:
        """The shown plane's values on a regular ``size`` x ``size`` grid over the acquired
        points' extent.

        Each cell holds the mean of the points in it; with ``fill``, empty cells inside the
        points' convex hull take the mean of their filled neighbours, repeatedly (nearest-
        neighbour-like filling), and cells outside it are NaN; without, empty cells are NaN (the
        points themselves, binned: how many thousands of points are drawn quickly). None with
        fewer than 3 points, or all on a line. ``points`` are :meth:`points` when known.
        """
        pts = points if points is not None else self.points(state)
        good = np.isfinite(pts.values)
        x, y, v = pts.x[good], pts.y[good], pts.values[good]
        if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            return None
        n = size or int(np.clip(2 * np.sqrt(len(x)), 8, MAX_GRID))
        x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
        dx, dy = (x1 - x0) / n, (y1 - y0) / n
        col = np.clip(((x - x0) / dx).astype(np.int64), 0, n - 1)
        row = np.clip(((y - y0) / dy).astype(np.int64), 0, n - 1)
        flat = row * n + col
        count = np.bincount(flat, minlength=n * n).reshape(n, n)
        total = np.bincount(flat, weights=v, minlength=n * n).reshape(n, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            image = total / count
        rect = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        if not fill:
            return Interpolated(image, rect)
        # hull vertices are among each row's and column's outermost points (to within a cell)
        keep = outermost(col, y, n) | outermost(row, x, n)
        hull = convex_hull(x[keep], y[keep])
        if len(hull) < 3:
            return None
        lo, hi = row_spans(hull, y0 + (np.arange(n) + 0.5) * dy)
        cx = x0 + (np.arange(n) + 0.5) * dx
        slack = 1e-9 * (x1 - x0)
        inside = ((cx >= lo[:, None] - slack) & (cx <= hi[:, None] + slack)) | (count > 0)
        fill_outside(image, inside)
        image[~inside] = np.nan
        return Interpolated(image, rect)
