"""What the window shows, in one place: the map, acquired points, pinned point, ROI, axes.

:class:`ViewState` is the only owner of this state. The window applies each
:class:`~swmrview.model.messages.Update` to it and draws from it; the views never keep their
own copies. Lookups between scan positions, flat indices, slider positions and motor
coordinates are side-effect free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from swmrview.core.compute.channels import Channel
from swmrview.core.compute.scanmap import REDUCTIONS, ScanMap

from swmrview.model.compare import HeldPoints
from swmrview.model.messages import Axis, ScanInfo, Update
from swmrview.model.scatter import ScatterGeometry

logger = logging.getLogger(__name__)

Position = tuple[int, ...]


@dataclass(frozen=True)
class Changes:
    """What an applied update changed, so the window redraws only that."""

    map: bool = False
    shape: bool = False
    axes: bool = False
    frame: bool = False
    scatter: bool = False


class ViewState:
    """The state of one scan's view; built from its :class:`ScanInfo`."""

    def __init__(self, info: ScanInfo, reduction: str = "sum") -> None:
        self.info = info
        self.map = ScanMap(info.scan_shape)
        self.axes: tuple[Axis, ...] = info.axes
        self.reduction = reduction if reduction in REDUCTIONS else "sum"
        self.roi: tuple[int, ...] | None = None
        self.pinned: Position | None = None
        self.latest: Position | None = None
        self.slow_index: Position = (0,) * max(0, self.rank - 2)
        self.follow_slow = True
        self.channels: dict[str, Channel] = {}   # map channels beyond the built-in reductions
        self.x_layer: str | None = None   # 1-D scans: plot against this map (None: scan axis)
        self.overlay: tuple[str, ...] = ()  # 1-D scans: more maps drawn with the shown one
        self.held = HeldPoints(self.is_acquired)   # points held to compare (hold and compare)
        self._order = np.zeros((1024, self.rank), np.int64)   # positions in arrival order
        self._n = 0
        self.scatter = ScatterGeometry(info.scatter, self.rank) if info.scatter else None

    # ------------------------------------------------------------------ basics
    @property
    def rank(self) -> int:
        """Scan rank (0: a single frame, no map)."""
        return self.map.rank

    @property
    def shape(self) -> tuple[int, ...]:
        """Current map extent."""
        return self.map.shape

    @property
    def n_acquired(self) -> int:
        """Number of points acquired so far."""
        return self._n

    def acquired_positions(self, start: int = 0) -> np.ndarray:
        """Positions (n, rank) of the acquired points in arrival order (a copy), from the
        ``start``-th on."""
        return self._order[start: self._n].copy()

    def on_plane(self, positions: np.ndarray) -> np.ndarray:
        """Which rows of ``positions`` (n, rank) lie on the plane shown (scans of rank > 2
        show one plane of their two fastest axes at a time)."""
        positions = np.asarray(positions)
        if self.rank <= 2 or not len(positions):
            return np.ones(len(positions), bool)
        return (positions[:, : self.rank - 2] == np.asarray(self.slow_index)).all(axis=1)

    def is_acquired(self, position: Sequence[int]) -> bool:
        """True if a frame was read at ``position``."""
        return self.map.is_filled(tuple(position))

    def new_dataset(self, info: ScanInfo) -> None:
        """Another dataset of the same scan: points stay acquired, values wait for recomputing."""
        self.info = info
        self.roi = None
        for name in self.map.reductions:
            self.map.clear(name)

    # ------------------------------------------------------------------ updates
    def apply(self, update: Update) -> Changes:
        """Take one update from the session into the map and the point bookkeeping."""
        shape = axes = frame = False
        if update.scan_shape is not None and len(update.scan_shape) == self.rank:
            shape = self.map.grow_to(update.scan_shape)
        if update.axes is not None:
            self.axes, axes = update.axes, True
        n = len(update.positions)
        if n:
            values = dict(update.values)
            if update.roi != self.roi:
                values.pop("roi", None)  # computed for another ROI than the one shown now
            for name in [n for n in values if n not in REDUCTIONS]:
                if self.channels.get(name) is None or update.channels.get(name) != \
                        self.channels[name]:
                    del values[name]   # a channel removed or changed since
            before = self.map.shape
            self.map.set_many(update.positions, values)
            shape = shape or self.map.shape != before
            self._append(update.positions[: update.new_points])
        if update.frame_position is not None:
            self.latest, frame = tuple(update.frame_position), True
        if self.rank > 2 and self.follow_slow and self.pinned is None and self.latest is not None:
            self.slow_index = self.latest[:-2]  # before drawing, so the plane is never late
        if update.scatter is not None:  # a non-grid scan's positions, re-read
            if self.scatter is None:
                self.scatter = ScatterGeometry(update.scatter, self.rank)
            self.scatter.set(update.scatter)
        return Changes(map=n > 0, shape=shape, axes=axes, frame=frame,
                       scatter=update.scatter is not None)

    def _append(self, positions: np.ndarray) -> None:
        n = len(positions)
        if self._n + n > len(self._order):
            grown = np.zeros((max(self._n + n, 2 * len(self._order)), self.rank), np.int64)
            grown[: self._n] = self._order[: self._n]
            self._order = grown
        self._order[self._n: self._n + n] = positions
        self._n += n

    # ------------------------------------------------------------------ user choices
    def pin(self, position: Sequence[int]) -> bool:
        """Keep showing the point at ``position``; False (nothing changes) if not acquired."""
        position = tuple(int(p) for p in position)
        if not self.is_acquired(position):
            return False
        self.pinned = position
        if self.rank > 2:
            self.slow_index = position[:-2]
        return True

    def follow_latest(self) -> None:
        """Unpin: show each new frame again, and move the slower axes with it."""
        self.pinned = None
        self.follow_slow = True
        if self.latest is not None and self.rank > 2:
            self.slow_index = self.latest[:-2]

    @property
    def shown(self) -> Position | None:
        """Position of the frame to show: the pinned point, else the newest."""
        return self.pinned if self.pinned is not None else self.latest

    def set_roi(self, roi: Sequence[int] | None) -> bool:
        """Use a new ROI: its values are recomputed by the session; True if it changed."""
        roi = None if roi is None else tuple(int(v) for v in roi)
        if roi == self.roi:
            return False
        self.roi = roi
        self.map.clear("roi")
        return True

    def set_reduction(self, name: str) -> None:
        """Map the named reduction or channel."""
        if name not in self.layers:
            raise ValueError(f"unknown map {name!r}; choose from {self.layers}")
        self.reduction = name

    def wanted_reductions(self) -> tuple[str, ...]:
        """The built-in maps this view draws: the shown map, a 1-D plot's x and overlays (the
        session computes max only while something wants it)."""
        used = (self.reduction, self.x_layer) + tuple(self.overlay)
        return tuple(n for n in REDUCTIONS if n in used)

    @property
    def layers(self) -> tuple[str, ...]:
        """Names of the maps that can be shown: the built-in reductions, then the channels."""
        return tuple(REDUCTIONS) + tuple(self.channels)

    def set_channels(self, channels: Sequence[Channel]) -> list[str]:
        """Use these map channels; returns the names whose values the session must compute.

        A channel whose spec is unchanged keeps its values; a changed one starts empty. The
        shown map falls back to "sum" if its channel went away.
        """
        wanted = {c.name: c for c in channels}
        for name in [n for n in self.channels if n not in wanted]:
            del self.channels[name]
            self.map.remove_layer(name)
        changed = []
        for name, channel in wanted.items():
            if self.channels.get(name) != channel:
                self.map.remove_layer(name)
                self.map.add_layer(name)
                changed.append(name)
        self.channels = dict(wanted)
        if self.reduction not in self.layers:
            self.reduction = "sum"
        if self.x_layer not in self.layers:
            self.x_layer = None
        self.overlay = tuple(n for n in self.overlay if n in self.layers)
        return changed

    def set_x_layer(self, name: str | None) -> None:
        """1-D scans: plot against the map ``name`` (a motor or counter channel), or the axis."""
        if name is not None and name not in self.layers:
            raise ValueError(f"unknown map {name!r}; choose from {self.layers}")
        self.x_layer = name

    def set_overlay(self, names: Sequence[str]) -> None:
        """1-D scans: maps drawn with the shown one (e.g. It/I0 beside a fluorescence channel)."""
        self.overlay = tuple(n for n in names if n in self.layers and n != self.reduction)

    def curve_x(self) -> np.ndarray:
        """1-D scans: the x of each point (the chosen map's values, else motor positions)."""
        if self.x_layer is not None:
            return self.map.values[self.x_layer].copy()
        return self.coordinates(0)

    def x_label(self) -> str:
        """1-D scans: what :meth:`curve_x` holds."""
        if self.x_layer is not None:
            return self.x_layer
        return self.axes[0].label if self.axes else "point"

    def values(self, name: str) -> np.ndarray:
        """The whole map of ``name`` (a view over the current extent; do not modify)."""
        return self.map.values[name]

    def set_slow_index(self, index: Sequence[int]) -> None:
        """Show another plane of a scan of rank >= 3 (kept until following latest again)."""
        self.slow_index = tuple(int(i) for i in index)[: max(0, self.rank - 2)]
        self.follow_slow = False

    # ------------------------------------------------------------------ slider and labels
    def order_position(self, k: int) -> Position | None:
        """Position of the k-th acquired point (arrival order)."""
        return tuple(int(p) for p in self._order[k]) if 0 <= k < self._n else None

    def order_of(self, position: Sequence[int]) -> int | None:
        """Arrival number of the point at ``position``, or None if it was not acquired."""
        if not self.is_acquired(position):
            return None
        hits = np.flatnonzero((self._order[: self._n] == np.asarray(position)).all(axis=1))
        return int(hits[-1]) if hits.size else None

    def flat_index(self, position: Sequence[int]) -> int:
        """Flat C-order index of ``position`` in the current map extent (for labels)."""
        return self.map.flat_index(position)

    # ------------------------------------------------------------------ geometry
    def coordinates(self, dim: int) -> np.ndarray:
        """Motor position of each index along ``dim`` (indices where the file has none).

        Positions beyond the recorded ones (a scan still growing) continue the last step.
        Repeated positions (a motor that did not move) would give cells of no width: indices
        are used then.
        """
        n = max(self.map.shape[dim], 1)
        values = self.axes[dim].values if dim < len(self.axes) else None
        if values is None or len(values) == 0:
            return np.arange(n, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if len(values) >= n:
            coords = values[:n]
        else:
            step = values[-1] - values[-2] if len(values) > 1 and values[-1] != values[-2] \
                else 1.0
            coords = np.concatenate([values, values[-1] + step * np.arange(1, n - len(values) + 1)])
        if len(coords) > 1 and (np.diff(coords) == 0).any():
            return np.arange(n, dtype=np.float64)
        return coords

    def edges(self, dim: int) -> np.ndarray:
        """Cell boundaries along ``dim`` (n + 1 values) around each coordinate."""
        centres = self.coordinates(dim)
        if len(centres) == 1:
            return np.array([centres[0] - 0.5, centres[0] + 0.5])
        mids = (centres[1:] + centres[:-1]) / 2
        return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])

    def is_uniform(self, dim: int) -> bool:
        """True if the coordinates along ``dim`` are evenly spaced (an image can be drawn)."""
        steps = np.diff(self.coordinates(dim))
        return steps.size == 0 or bool(np.allclose(steps, steps[0], rtol=1e-3, atol=0))

    def point_xy(self, position: Sequence[int]) -> tuple[float, float]:
        """Plot coordinates of a point: (x, value) for 1-D scans, (x, y) motor units for maps."""
        if self.rank == 1:
            x = self.curve_x()[position[0]]
            value = self.map.values[self.reduction][position[0]]
            return float(x), float(value) if np.isfinite(value) else 0.0
        return (float(self.coordinates(self.rank - 1)[position[-1]]),
                float(self.coordinates(self.rank - 2)[position[-2]]))

    def position_at(self, x: float, y: float | None = None) -> Position | None:
        """The scan point drawn at plot coordinates (x, y), or None outside the map."""
        if self.rank == 0:
            return None
        if self.rank == 1 and self.x_layer is not None:  # x is a value per point: the nearest
            xs = self.curve_x()
            if x is None or not np.isfinite(xs).any():
                return None
            near = int(np.nanargmin(np.abs(xs - x)))
            step = np.nanmax(xs) - np.nanmin(xs)
            return (near,) if abs(xs[near] - x) <= max(step, 1e-12) / max(len(xs) - 1, 1) \
                else None
        col = _cell(self.edges(self.rank - 1), x)
        if self.rank == 1:
            return None if col is None else (col,)
        row = _cell(self.edges(self.rank - 2), y)
        if col is None or row is None:
            return None
        return tuple(self.slow_index) + (row, col)

    def readout(self, position: Sequence[int]) -> str:
        """What the map holds at ``position``: point, value and motor positions with units."""
        position = tuple(int(p) for p in position)
        if not self.map.contains(position):
            return ""
        value = self.map.values[self.reduction][position]
        shown = "not acquired" if not self.is_acquired(position) else f"{value:.6g}"
        motors = []
        for dim, index in enumerate(position):
            axis = self.axes[dim] if dim < len(self.axes) else Axis(f"dim{dim}")
            unit = f" {axis.unit}" if axis.unit else ""
            motors.append(f"{axis.name}={self.coordinates(dim)[index]:.6g}{unit}")
        return (f"point {self.flat_index(position)} {position}  {self.reduction}={shown}  "
                + "  ".join(motors))

    def shared_unit(self) -> str | None:
        """The unit both map axes share (then the map keeps its aspect), else None."""
        if self.rank < 2:
            return None
        units = {self.axes[d].unit if d < len(self.axes) else None
                 for d in (self.rank - 2, self.rank - 1)}
        unit = units.pop() if len(units) == 1 else None
        return unit or None

    # ------------------------------------------------------------------ views
    def plane(self) -> np.ndarray:
        """The displayed plane of the current reduction (a copy)."""
        return self.map.plane(self.reduction, self.slow_index)

    def export_csv(self, path: str) -> None:
        """Write the displayed plane as CSV (SPEC section 3)."""
        self.map.to_csv(path, reduction=self.reduction, slow_index=self.slow_index)


def _cell(edges: np.ndarray, value: float | None) -> int | None:
    """Index of the cell of ``edges`` (ascending or descending) holding ``value``."""
    if value is None:
        return None
    lo, hi = np.minimum(edges[:-1], edges[1:]), np.maximum(edges[:-1], edges[1:])
    inside = np.flatnonzero((lo <= value) & (value <= hi))
    return int(inside[0]) if inside.size else None
