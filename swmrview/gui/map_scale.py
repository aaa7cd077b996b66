"""The map's colour scale: the Scale combo, the colormap, the colour bar and the levels it shows.

One owner for what the colour bar shows, shared by the grid map and its scatter (which take
turns drawing on it), so neither keeps a copy of the other's levels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox

from swmrview.gui.map_drawing import colormap, range_moved, scale_label, scale_levels
from swmrview.model.view_settings import MAP_SCALES as SCALES

LEVELS_TOLERANCE = 0.005   # the colour bar's axis redraws on every change: skip tiny ones


class MapColorScale:
    """Colour scale of a map plot: see the module docstring."""

    def __init__(self, plot: pg.PlotItem, item: pg.GraphicsObject) -> None:
        self.combo = QComboBox()
        self.combo.addItems(SCALES)
        self.combo.setToolTip("Map colour scale: linear, log10, or levels at the 1st and "
                              "99th percentiles")
        self.colorbar = pg.ColorBarItem(interactive=False, width=14, colorMap="viridis")
        self.colorbar.axis.setWidth(62)  # room for 7-digit sums
        self.colorbar.setImageItem(item, insert_in=plot)
        self.colormap_name = "viridis"
        self.levels: tuple[float, float] | None = None   # shown on the colour bar

    @property
    def scale(self) -> str:
        """The chosen scale, one of :data:`~swmrview.model.view_settings.MAP_SCALES`."""
        return self.combo.currentText()

    def set_colormap(self, name: str) -> pg.ColorMap:
        """Use the named colormap on the colour bar; returns it for the items drawn with it."""
        self.colormap_name = name
        cmap = colormap(name)
        self.colorbar.setColorMap(cmap)
        return cmap

    def lookup_table(self, alpha: bool | None = None) -> np.ndarray:
        """The colormap as a 256-entry lookup table (``alpha`` as pyqtgraph takes it)."""
        return colormap(self.colormap_name).getLookupTable(nPts=256, alpha=alpha)

    def follow(self, item: pg.GraphicsObject) -> None:
        """Colour ``item`` (an image or a mesh) by the colour bar from now on."""
        self.colorbar.setImageItem(item)
        self.reset()

    def reset(self) -> None:
        """Forget the levels shown: the next :meth:`show` sets them whatever they are."""
        self.levels = None

    def show(self, values: np.ndarray | None, name: str,
             levels: tuple[float, float] | None = None) -> tuple[float, float]:
        """Label the colour bar for map ``name`` and set it to the levels of the (scaled)
        ``values`` (or to ``levels``, found by the caller) if they moved; returns the levels
        now shown."""
        levels = levels if levels is not None else scale_levels(values, self.scale)
        self.colorbar.axis.setLabel(scale_label(name, self.scale))
        if range_moved(self.levels, levels, LEVELS_TOLERANCE):
            self.levels = levels
            self.colorbar.setLevels(levels)
        return self.levels
