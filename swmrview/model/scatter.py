"""The scatter map of a non-grid scan: acquired points at their real positions, as the view draws.

:class:`ScatterGeometry` holds the newest :class:`~swmrview.model.messages.Scatter` of a scan
(one field of the :class:`~swmrview.model.view_state.ViewState`) and answers, against that view
state, what to draw: each acquired point's (x, y) and map value, the planned points still to
come, the point nearest a click, and the values interpolated onto a regular grid (NaN outside the
convex hull of the acquired points). Plain numpy; nothing here imports Qt.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

from swmrview.model.messages import Axis, Scatter


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
MAX_BINS = 1024         # cells along each side of the binned points, at most
REBIN_GROWTH = 1.25     # the binned grid is rebuilt finer when the points call for this many
                        # times its cells along a side (else new points go into its cells)


@dataclass(frozen=True)
class ScatterPoints:
    """The acquired points drawn (arrival order): positions (n, rank), x, y and map values."""

    positions: np.ndarray
    x: np.ndarray
    y: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Interpolated:
    """Map values on a regular grid: ``image[row, col]`` at y0 + row * dy, x0 + col * dx."""

    image: np.ndarray
    rect: tuple[float, float, float, float]     # x0, y0, width, height of the whole image


class ScatterGeometry:
    """What a scatter map shows of a view state; :meth:`set` takes each new position message.

    The acquired points' positions, coordinates and map indices are gathered once per point
    (:class:`_Points`, kept while the plane shown and the positions read stay the same), and
    the binned image of many points is updated with new or changed points only
    (:class:`_Bins`, one per map layer): a redraw of 10^6 points costs a gather of their
    values, not a pass over positions and coordinates.
    """

    def __init__(self, scatter: Scatter, rank: int) -> None:
        self.scatter = scatter
        self.rank = rank
        self._points: _Points | None = None
        self._bins: dict[str, _Bins] = {}
        self._pending: _Pending | None = None

    def set(self, scatter: Scatter) -> None:
        """Use newer positions (more points written, or the planned trajectory read)."""
        old, self.scatter = self.scatter, scatter
        if self._points is not None and not _same_prefix(old, scatter):
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

    def _gathered(self, state: ViewState) -> _Points:
        """The cached points of the shown plane, with the points acquired since added."""
        plane = tuple(state.slow_index) if state.rank > 2 else ()
        cache = self._points
        n = min(self.scatter.n_points, state.n_acquired)
        if cache is None or cache.plane != plane or cache.rank != state.rank \
                or n < cache.seen or cache.stale(self.scatter):
            self._forget()
            cache = self._points = _Points(plane, state.rank)
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
            bins = self._bins[layer] = _Bins(cache)
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
            cache = self._pending = _Pending(plane, s.planned_x)
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
            return all(_collinear(a, b) for a, b in pairs) if known.sum() >= 3 \
                else s.planned_x is not None and _collinear(s.planned_x, s.planned_y)
        return all(_along_one_dim(_last_plane(a)) and _along_one_dim(_last_plane(b))
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
        keep = _outermost(col, y, n) | _outermost(row, x, n)
        hull = convex_hull(x[keep], y[keep])
        if len(hull) < 3:
            return None
        lo, hi = _row_spans(hull, y0 + (np.arange(n) + 0.5) * dy)
        cx = x0 + (np.arange(n) + 0.5) * dx
        slack = 1e-9 * (x1 - x0)
        inside = ((cx >= lo[:, None] - slack) & (cx <= hi[:, None] + slack)) | (count > 0)
        _fill(image, inside)
        image[~inside] = np.nan
        return Interpolated(image, rect)


# ----------------------------------------------------------------------------- caches

class _Points:
    """The known points of one plane in arrival order, gathered once per point."""

    def __init__(self, plane: tuple[int, ...], rank: int) -> None:
        self.plane, self.rank = plane, rank
        self.seen = 0            # acquired points (arrival order) looked at
        self.unknown = False     # some had no known position yet: look again when read
        self.known_shape: tuple[int, ...] = ()
        self._n = 0
        self._pos = np.zeros((0, rank), np.int64)
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._flat: np.ndarray | None = None      # flat index into the map's values
        self._flat_shape: tuple[int, ...] = ()

    def stale(self, scatter: Scatter) -> bool:
        """True if points without a known position may have one now."""
        return self.unknown and tuple(scatter.x.shape) != self.known_shape

    @property
    def positions(self) -> np.ndarray:
        return self._pos[: self._n]

    @property
    def x_buffer(self) -> np.ndarray:
        return self._x

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def add(self, positions: np.ndarray, x: np.ndarray, y: np.ndarray, unknown: bool,
            seen: int, map_shape: tuple[int, ...], capacity: int = 0) -> None:
        n, k = self._n, len(positions)
        self.seen = seen
        self.unknown = self.unknown or unknown
        if n + k > len(self._x):
            size = max(n + k, 2 * len(self._x), 1024, capacity)
            self._pos = _grown(self._pos, size, n)
            self._x, self._y = _grown(self._x, size, n), _grown(self._y, size, n)
            self._flat = None if self._flat is None else _grown(self._flat, size, n)
        self._pos[n: n + k], self._x[n: n + k], self._y[n: n + k] = positions, x, y
        if self._flat is not None and map_shape == self._flat_shape and k:
            self._flat[n: n + k] = np.ravel_multi_index(tuple(positions.T), map_shape)
        self._n = n + k

    def _flat_index(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._flat is None or shape != self._flat_shape:
            self._flat = np.zeros(len(self._x), np.int64)
            if self._n:
                self._flat[: self._n] = np.ravel_multi_index(tuple(self.positions.T), shape)
            self._flat_shape = shape
        return self._flat[: self._n]

    def values_of(self, values: np.ndarray) -> np.ndarray:
        """The values of a map (shaped like the map) at these points, float64."""
        if not self._n:
            return np.zeros(0)
        if values.ndim == 1:
            return np.asarray(values[self.positions[:, 0]], np.float64)
        if values.flags.c_contiguous:
            return np.asarray(values.reshape(-1)[self._flat_index(values.shape)], np.float64)
        return np.asarray(values[tuple(self.positions.T)], np.float64)


class _Pending:
    """Which planned points of one plane were acquired, and the pending path they leave."""

    def __init__(self, plane: tuple[int, ...], planned: np.ndarray) -> None:
        self.plane, self.planned = plane, planned
        self.done = np.zeros(planned.shape, bool)
        self.seen = 0
        self.path: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class _Bins:
    """The binned image of one map layer over a :class:`_Points` cache, updated in place."""

    def __init__(self, cache: _Points | None) -> None:
        self.cache = cache
        self.n = 0               # cells along each side (0: no grid yet)
        self.origin = (0.0, 0.0)
        self.step = (1.0, 1.0)
        self.rebuilds = 0        # grids built (for tests and benchmarks)
        self._binned = 0         # points in the cells
        self._cells = np.zeros(0, np.int64)
        self._values = np.zeros(0)
        self._count = np.zeros(0)
        self._total = np.zeros(0)
        self._image: Interpolated | None = None   # the last image, while nothing changed

    def update(self, pts: ScatterPoints, scatter: Scatter, max_size: int = MAX_BINS
               ) -> Interpolated | None:
        k = len(pts)
        if k < 3:
            return None
        x, y, v = pts.x, pts.y, pts.values
        new = slice(self._binned, k)
        wanted = int(np.clip(1.2 * np.sqrt(k), 8, max(max_size, 8)))
        if k < self._binned or not self.n or wanted > REBIN_GROWTH * self.n \
                or not self._inside(x[new], y[new]):
            if not self._grid(x, y, wanted, scatter, grow=bool(self.n)):
                return None
            self._cells = self._cell(x, y)
            self._values = v.copy()
            self._count, self._total = _sums(self._cells, v, self.n)
            self._image = None
        else:
            if self._changed(v[: self._binned]):
                self._image = None
            if k > self._binned:
                cells = self._cell(x[new], y[new])
                count, total = _sums(cells, v[new], self.n)
                self._count += count
                self._total += total
                if k > len(self._cells):   # room for the cache's points: few copies
                    size = max(k, 2 * len(self._cells), len(self.cache.x_buffer))
                    self._cells = _grown(self._cells, size, self._binned)
                    self._values = _grown(self._values, size, self._binned)
                self._cells[new], self._values[new] = cells, v[new]
                self._image = None
        self._binned = k
        if self._image is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                image = (self._total / self._count).reshape(self.n, self.n)
            (x0, y0), (dx, dy) = self.origin, self.step
            self._image = Interpolated(image, (x0, y0, dx * self.n, dy * self.n))
        return self._image

    def _changed(self, values: np.ndarray) -> bool:
        """Take the new values of points already in the cells (a dataset, ROI or channel
        recomputed): their old values out, the new ones in."""
        old = self._values[: self._binned]
        differ = old.view(np.int64) != values.view(np.int64)   # bits: NaN equals NaN
        if not differ.any():
            return False
        differ = np.flatnonzero(differ)
        cells = self._cells[: self._binned][differ]
        count, total = _sums(cells, old[differ], self.n)
        self._count -= count
        self._total -= total
        count, total = _sums(cells, values[differ], self.n)
        self._count += count
        self._total += total
        self._total[self._count == 0] = 0.0    # no rounding left in cells emptied
        old[differ] = values[differ]
        return True

    def _grid(self, x: np.ndarray, y: np.ndarray, n: int, scatter: Scatter,
              grow: bool) -> bool:
        """A new grid of ``n`` x ``n`` cells over the points (and, when known, the planned
        trajectory); once the points outgrew a grid, with an eighth of the span to spare on
        the sides they pass, so a scan growing outwards rebuilds it rarely."""
        if not np.isfinite(x).any():
            return False
        x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            return False
        if scatter.planned_x is not None and scatter.planned_y is not None:
            px, py = scatter.planned_x, scatter.planned_y
            good = np.isfinite(px) & np.isfinite(py)
            if good.any():
                x0, x1 = min(x0, float(px[good].min())), max(x1, float(px[good].max()))
                y0, y1 = min(y0, float(py[good].min())), max(y1, float(py[good].max()))
        elif grow:
            (ox0, oy0), (dx, dy) = self.origin, self.step
            ox1, oy1 = ox0 + dx * self.n, oy0 + dy * self.n
            mx, my = (x1 - x0) / 8, (y1 - y0) / 8
            x0 = x0 - mx if x0 < ox0 else min(x0, ox0)
            x1 = x1 + mx if x1 > ox1 else max(x1, ox1)
            y0 = y0 - my if y0 < oy0 else min(y0, oy0)
            y1 = y1 + my if y1 > oy1 else max(y1, oy1)
        self.n = n
        self.origin = (x0, y0)
        self.step = ((x1 - x0) / n, (y1 - y0) / n)
        self.rebuilds += 1
        return True

    def _inside(self, x: np.ndarray, y: np.ndarray) -> bool:
        if not len(x):
            return True
        (x0, y0), (dx, dy) = self.origin, self.step
        return bool(x.min() >= x0 and x.max() <= x0 + dx * self.n
                    and y.min() >= y0 and y.max() <= y0 + dy * self.n)

    def _cell(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat cell index of each point (as :meth:`ScatterGeometry.interpolate` bins)."""
        (x0, y0), (dx, dy), n = self.origin, self.step, self.n
        col = np.clip(((x - x0) / dx).astype(np.int64), 0, n - 1)
        row = np.clip(((y - y0) / dy).astype(np.int64), 0, n - 1)
        return row * n + col


def _sums(cells: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: how many finite values, and their sum."""
    good = np.isfinite(values)
    if not good.all():
        cells, values = cells[good], values[good]
    count = np.bincount(cells, minlength=n * n).astype(np.float64)
    total = np.bincount(cells, weights=values, minlength=n * n)
    return count, total


def _grown(array: np.ndarray, size: int, n: int) -> np.ndarray:
    grown = np.zeros((size,) + array.shape[1:], array.dtype)
    grown[:n] = array[:n]
    return grown


def _same_prefix(old: Scatter, new: Scatter) -> bool:
    """True if ``new`` holds the same positions as ``old`` wherever ``old`` had them."""
    if tuple(old.dims) != tuple(new.dims) or old.x.ndim != new.x.ndim:
        return False
    for a, b in ((old.x, new.x), (old.y, new.y)):
        if any(m > n for m, n in zip(a.shape, b.shape)):
            return False
        window = tuple(slice(0, m) for m in a.shape)
        if a is not b and not np.array_equal(a, b[window], equal_nan=True):
            return False
    return True


# ----------------------------------------------------------------------------- helpers

def _collinear(x: np.ndarray, y: np.ndarray) -> bool:
    """At least 3 finite points and all on one line (a line scan of two motors)."""
    good = np.isfinite(x) & np.isfinite(y)
    x, y = x[good].ravel(), y[good].ravel()
    if len(x) < 3:
        return False
    span = max(np.ptp(x), np.ptp(y))
    if span == 0:
        return True
    d = np.stack([x - x.mean(), y - y.mean()])
    singular = np.linalg.svd(d, compute_uv=False)
    return bool(singular[-1] <= 1e-3 * singular[0])


def _last_plane(values: np.ndarray) -> np.ndarray:
    """The last 2-D plane of a position array over more than 2 scan dims."""
    return values.reshape((-1,) + values.shape[-2:])[-1] if values.ndim > 2 else values


def _along_one_dim(values: np.ndarray) -> bool:
    """A 2-D position array (NaN: not known) that changes along one of its dims only, to
    within 10 % of a step."""
    if values.ndim != 2 or not np.isfinite(values).any():
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows and columns
        along_rows = np.nanmax(np.abs(values - np.nanmedian(values, axis=0, keepdims=True)))
        along_cols = np.nanmax(np.abs(values - np.nanmedian(values, axis=1, keepdims=True)))
        moving, still, axis = (along_cols, along_rows, 1) if along_cols >= along_rows \
            else (along_rows, along_cols, 0)
        if not moving > 0:
            return True
        steps = np.abs(np.diff(values, axis=axis))
        steps = steps[np.isfinite(steps) & (steps > 0)]
        step = float(np.median(steps)) if steps.size else float(moving)
    return bool(still <= 0.1 * step)


def convex_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Vertices (k, 2) of the convex hull of the points, counter-clockwise (monotone chain)."""
    pts = np.unique(np.stack([x, y], axis=1), axis=0) if len(x) else np.zeros((0, 2))
    if len(pts) < 3:
        return pts

    def half(points: np.ndarray) -> list:
        chain: list = []
        for p in points:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    hull = np.array(lower[:-1] + upper[:-1])
    return hull if len(hull) >= 3 else hull[:0]


def _outermost(bins: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """True for the points holding the smallest or the largest of ``values`` in their bin."""
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(low, bins, values)
    np.maximum.at(high, bins, values)
    return (values == low[bins]) | (values == high[bins])


def _row_spans(hull: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each height in ``ys``, the x interval (lo, hi) the convex polygon ``hull`` covers
    (lo > hi where it covers none)."""
    a, b = hull, np.roll(hull, -1, axis=0)
    ya, yb = a[:, 1], b[:, 1]
    y = ys[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (y - ya) / (yb - ya)
        x = a[:, 0] + t * (b[:, 0] - a[:, 0])
    crosses = (y >= np.minimum(ya, yb)) & (y <= np.maximum(ya, yb)) & (ya != yb)
    lo = np.where(crosses, x, np.inf).min(axis=1)
    hi = np.where(crosses, x, -np.inf).max(axis=1)
    return lo, hi


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def in_polygon(hull: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where (x, y) lies inside (or on) the convex counter-clockwise polygon ``hull``."""
    inside = np.ones(np.shape(x), bool)
    scale = max(np.ptp(hull[:, 0]), np.ptp(hull[:, 1]), 1e-300)
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        cross = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
        inside &= cross >= -1e-9 * scale * scale
    return inside


def _fill(image: np.ndarray, where: np.ndarray) -> None:
    """Fill NaN cells of ``image`` inside ``where`` from their filled 8 neighbours, repeatedly."""
    known = np.isfinite(image)
    for _ in range(sum(image.shape)):
        todo = where & ~known
        if not todo.any():
            return
        values = np.pad(np.where(known, image, 0.0), 1)
        counts = np.pad(known.astype(np.float64), 1)
        total = np.zeros(image.shape)
        n = np.zeros(image.shape)
        rows, cols = image.shape
        for dr in (0, 1, 2):
            for dc in (0, 1, 2):
                if dr == dc == 1:
                    continue
                total += values[dr: dr + rows, dc: dc + cols]
                n += counts[dr: dr + rows, dc: dc + cols]
        new = todo & (n > 0)
        if not new.any():
            return
        image[new] = total[new] / n[new]
        known = known | new
