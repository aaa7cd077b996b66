"""Caches of the scatter geometry, added to once per point: the known points of a plane, the
planned points still to come, and the points binned about one per screen pixel (cell counts and
sums kept per map layer, new points added with ``np.bincount``). Plain numpy, no Qt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swmrview.model.messages import Scatter

MAX_BINS = 1024         # cells along each side of the binned points, at most
REBIN_GROWTH = 1.25     # the binned grid is rebuilt finer when the points call for this many


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


class PointCache:
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


class PendingCache:
    """Which planned points of one plane were acquired, and the pending path they leave."""

    def __init__(self, plane: tuple[int, ...], planned: np.ndarray) -> None:
        self.plane, self.planned = plane, planned
        self.done = np.zeros(planned.shape, bool)
        self.seen = 0
        self.path: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class BinCache:
    """The binned image of one map layer over a :class:`PointCache` cache, updated in place."""

    def __init__(self, cache: PointCache | None) -> None:
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


def same_prefix(old: Scatter, new: Scatter) -> bool:
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
