"""The RGB composite dock: three maps (q-windows, XRF windows, fitted lines) as one image.

Red, green and blue each show one map chosen from the scan's layers, scaled by its own levels:
typed as "lo, hi", or blank for its 1st-99th percentiles (:mod:`swmrview.model.rgb`). Redrawn
with the main map; the follower is never asked for anything (the maps are the view state's).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from swmrview.gui.map_drawing import place_image
from swmrview.model.rgb import COLOURS, composite

NONE = "(off)"


class RgbDock(QDockWidget):
    """Three map choices with their levels, and the composite image."""

    def __init__(self, parent=None) -> None:
        super().__init__("RGB composite", parent)
        self.setObjectName("rgb-dock")
        body = QWidget()
        grid = QGridLayout()
        self.combos: list[QComboBox] = []
        self.level_edits: list[QLineEdit] = []
        for k, colour in enumerate(COLOURS):
            combo = QComboBox()
            combo.currentTextChanged.connect(lambda _t: self.refresh(self.state))
            edit = QLineEdit()
            edit.setPlaceholderText("auto (1-99 %) or lo, hi")
            edit.editingFinished.connect(lambda: self.refresh(self.state))
            grid.addWidget(QLabel(colour.capitalize()), k, 0)
            grid.addWidget(combo, k, 1)
            grid.addWidget(edit, k, 2)
            self.combos.append(combo)
            self.level_edits.append(edit)
        self.plot = pg.PlotWidget()
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.note = QLabel(" ")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(body)
        layout.addLayout(grid)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self.setWidget(body)
        self.state = None
        self.levels_used: tuple = ()

    def set_layers(self, names, defaults=()) -> None:
        """Offer ``names`` (the maps); pick ``defaults`` (up to three) where nothing is chosen."""
        defaults = list(defaults)
        for k, combo in enumerate(self.combos):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems((NONE,) + tuple(names))
            if current in names:
                combo.setCurrentText(current)
            elif k < len(defaults):
                combo.setCurrentText(defaults[k])
            combo.blockSignals(False)

    def choose(self, names) -> None:
        """Show these maps as red, green, blue (None or "(off)": that colour off)."""
        for combo, name in zip(self.combos, names):
            combo.setCurrentText(name or NONE)
        self.refresh(self.state)

    def typed_levels(self, k: int) -> tuple[float, float] | None:
        text = self.level_edits[k].text().replace(";", ",").strip()
        if not text:
            return None
        try:
            lo, hi = (float(v) for v in text.split(","))
        except ValueError:
            self.note.setText(f"{COLOURS[k]} levels: two numbers, lo, hi")
            return None
        return (lo, hi)

    def refresh(self, state) -> None:
        """Redraw from ``state`` (a grid map's current plane; other scans: said)."""
        self.state = state
        if state is None or not self.isVisible():
            return
        names = [c.currentText() for c in self.combos]
        if state.rank < 2 or state.scatter is not None:
            self.note.setText("RGB composites are drawn for grid maps")
            return
        planes = [state.map.plane(n, state.slow_index) if n in state.layers else None
                  for n in names]
        if all(p is None for p in planes):
            self.image.clear()
            self.note.setText("Choose a map for red, green and blue")
            return
        self.plot.setAspectLocked(state.shared_unit() is not None)   # as the map is drawn
        image, self.levels_used = composite(planes, [self.typed_levels(k) for k in range(3)])
        y_edges, x_edges = state.edges(state.rank - 2), state.edges(state.rank - 1)
        data = image[:: -1 if y_edges[-1] < y_edges[0] else 1,
                     :: -1 if x_edges[-1] < x_edges[0] else 1]
        place_image_rgb(self.image, data, y_edges, x_edges)
        self.note.setText("   ".join(f"{c[0].upper()}: {n} [{lo:.4g}, {hi:.4g}]"
                                     for c, n, (lo, hi) in zip(COLOURS, names,
                                                               self.levels_used)
                                     if n != NONE))


def place_image_rgb(item: pg.ImageItem, rgb: np.ndarray, y_edges, x_edges) -> None:
    """Draw an (h, w, 3) uint8 image over the cells its edges bound."""
    item.setImage(np.ascontiguousarray(rgb), autoLevels=False, levels=(0, 255))
    (x0, x1), (y0, y1) = sorted((x_edges[0], x_edges[-1])), sorted((y_edges[0], y_edges[-1]))
    item.setRect(x0, y0, x1 - x0, y1 - y0)


__all__ = ["RgbDock", "place_image"]
