"""Colouring and placing of maps and frames: colormaps, levels, log scale, images on their edges.

The one home of these rules for the map, its scatter, the maps grid, hold and compare and the
frame view, so a rule changed here changes in every view. Plain functions over numpy arrays and
pyqtgraph items; nothing here keeps state.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from swmrview.model.frames import levels_of

LUT_SIZE = 256  # 512 entries halve pyqtgraph's frame rate


def colormap(name: str) -> pg.ColorMap:
    """The pyqtgraph ColorMap of a name from :data:`swmrview.model.view_settings.COLORMAPS`."""
    if name == "gray":
        return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
    return pg.colormap.get(name)


def lookup_table(name: str) -> np.ndarray:
    """A 256-entry RGBA lookup table of the named colormap."""
    return colormap(name).getLookupTable(nPts=LUT_SIZE, alpha=True)


def range_moved(old: tuple[float, float] | None, new: tuple[float, float],
                tolerance: float = 0.02) -> bool:
    """True if the range ``new`` differs from ``old`` by more than ``tolerance`` of its span."""
    if old is None:
        return True
    span = max(new[1] - new[0], old[1] - old[0], 1e-300)
    return abs(new[0] - old[0]) > tolerance * span or abs(new[1] - old[1]) > tolerance * span


def display_levels(data: np.ndarray) -> tuple[float, float]:
    """Levels spanning the finite values of ``data`` (a unit range if flat or empty)."""
    return levels_of(data) or (0.0, 1.0)


def log10_positive(values: np.ndarray) -> np.ndarray:
    """log10 of ``values``, NaN (not drawn) where a value is not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(values), np.nan)


def scaled(values: np.ndarray, scale: str) -> np.ndarray:
    """Map values as drawn on the colour ``scale`` (one of :data:`swmrview.model.view_settings.MAP_SCALES`)."""
    return log10_positive(values) if scale == "log" else values


def scale_levels(values: np.ndarray, scale: str) -> tuple[float, float]:
    """Levels of already :func:`scaled` values: their finite range, or with "1-99 %" the 1st
    and 99th percentiles (so a few hot points do not wash the rest out)."""
    if scale == "1-99 %" and np.isfinite(values).any():
        lo, hi = np.nanpercentile(values, [1, 99])
        return float(lo), float(hi) if hi > lo else float(lo) + 1.0
    return display_levels(values)


def point_levels(values: np.ndarray, scale: str) -> tuple[float, float]:
    """:func:`scale_levels` of the :func:`scaled` 1-D ``values``, without scaling them all: on
    the linear and log scales the extremes are found once on the values themselves (log10 is
    monotonic), in one pass each (a scatter map's 10^6 point values, at every redraw)."""
    if scale in ("linear", "log") and values.size:
        with np.errstate(invalid="ignore"):
            lo, hi = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))
        if np.isfinite(lo) and np.isfinite(hi) and (scale == "linear" or lo > 0):
            if scale == "log":
                lo, hi = float(np.log10(lo)), float(np.log10(hi))
            return (lo, hi) if hi > lo else (lo, lo + 1.0)
    return scale_levels(scaled(values, scale), scale)


def scale_label(name: str, scale: str) -> str:
    """An axis label for the map ``name`` drawn on the colour ``scale``."""
    return ("log10 " if scale == "log" else "") + name


def edge_range(edges: np.ndarray) -> tuple[float, float]:
    """(low, high) of cell ``edges`` that may run either way (motors moving down)."""
    first, last = float(edges[0]), float(edges[-1])
    return (first, last) if first <= last else (last, first)


def place_image(item: pg.ImageItem, plane: np.ndarray, y_edges: np.ndarray,
                x_edges: np.ndarray, levels: tuple[float, float] | None = None) -> None:
    """Draw the 2-D ``plane`` in the row-major ``item`` over the cells its edges bound.

    Axes whose edges run downwards are flipped, so each cell sits at its own position.
    """
    data = plane[:: -1 if y_edges[-1] < y_edges[0] else 1,
                 :: -1 if x_edges[-1] < x_edges[0] else 1]
    data = np.ascontiguousarray(data, dtype=np.float32)
    if levels is None:
        item.setImage(data, autoLevels=False)
    else:
        item.setImage(data, autoLevels=False, levels=levels)
    (x0, x1), (y0, y1) = edge_range(x_edges), edge_range(y_edges)
    rect = QRectF(x0, y0, x1 - x0, y1 - y0)
    if item.mapRectToParent(item.boundingRect()) != rect:   # moving it re-ranges the view
        item.setRect(rect)
