"""The integrated pattern of the shown point, I(q) or I(2θ), with held points overlaid.

Pure view: it is handed :class:`~swmrview.model.messages.Pattern` messages (computed in the
follower's worker threads) and draws them; the window toggles between it and the raw image.
A window dragged on it (the shaded region) becomes a ``q-window`` channel in the Channels dock,
as an energy window dragged on a spectrum becomes an XRF window. Without pyFAI it says how to
install it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from swmrview.core.compute.channels import window_span

UNIT_LABELS = {"q_nm^-1": "q (nm⁻¹)", "q_A^-1": "q (Å⁻¹)", "2th_deg": "2θ (°)"}
STEP = "integrate"   # the step whose pattern is shown


class PatternPanel(QWidget):
    """I(q) of the shown point, held points' patterns, and a window to drag."""

    roi_changed = Signal(object)   # (lo, hi) in the pattern's unit, or None
    cake_toggled = Signal(bool)    # the q x χ cake of the shown point wanted (or not)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "intensity")
        self.plot.setLabel("bottom", "q")
        self.plot.addLegend(offset=(-10, 10))
        self.curve = self.plot.plot(pen=pg.mkPen("#4cc9f0", width=1.5), name="shown point")
        self.region = pg.LinearRegionItem()
        self.region.setVisible(False)
        self.plot.addItem(self.region)
        self.region.sigRegionChangeFinished.connect(lambda *_: self.roi_changed.emit(
            self.window()))
        self.note = QLabel(" ")
        self.note.setWordWrap(True)
        self.cake_box = QCheckBox("Cake (q × χ)")
        self.cake_box.setToolTip("Show the shown point's 2-D integration over the azimuth χ "
                                 "instead of I(q) (integrated in the follower, on request)")
        self.cake_box.toggled.connect(self._cake_toggled)
        self.cake_plot = pg.PlotWidget()
        self.cake_plot.setLabel("left", "χ (°)")
        self.cake_image = pg.ImageItem(axisOrder="row-major")
        self.cake_image.setColorMap(pg.colormap.get("viridis"))
        self.cake_plot.addItem(self.cake_image)
        # the cake takes the pattern's place (a page of a stack: showing it changes no size,
        # so the window's other plots are not relaid out)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.cake_plot)
        self.cake = None                          # the Cake drawn
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.cake_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack, 1)
        layout.addLayout(row)
        self.pattern = None                      # the Pattern drawn
        self._held: dict[tuple[int, ...], tuple[int, object, object]] = {}  # pos -> (n, pat, curve)
        self.log_scale = False

    @property
    def has_pattern(self) -> bool:
        return self.pattern is not None

    def say(self, text: str) -> None:
        """A line under the plot: what ran, or how to get pyFAI."""
        self.note.setText(text or " ")

    def display(self, pattern, label: str = "") -> None:
        """Draw ``pattern`` (a Pattern message) as the shown point's."""
        first = self.pattern is None or len(self.pattern.x) != len(pattern.x) \
            or self.pattern.unit != pattern.unit
        self.pattern = pattern
        self.curve.setData(np.asarray(pattern.x), np.asarray(pattern.y))
        if first:
            self.plot.setLabel("bottom", UNIT_LABELS.get(pattern.unit, pattern.unit))
            x = np.asarray(pattern.x)
            n = len(x)
            self.region.setRegion((x[int(n * 0.45)], x[int(n * 0.55)]))
        self.say(f"{label}   {pattern.describe}".strip())

    def set_log(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.plot.setLogMode(y=self.log_scale)

    def set_roi_enabled(self, on: bool) -> None:
        """Show the window to drag (its bounds become a q-window channel)."""
        self.region.setVisible(bool(on))
        self.roi_changed.emit(self.window())

    def window(self) -> tuple[float, float] | None:  # noqa: A003 - a q window, not a widget's
        """The dragged window (lo, hi) in the pattern's unit, or None."""
        if not self.region.isVisible() or self.pattern is None:
            return None
        lo, hi = self.region.getRegion()
        return (float(lo), float(hi))

    def bins_in(self, bounds) -> int:
        """How many bins of the shown pattern a window takes (the rule of windows)."""
        if self.pattern is None:
            return 0
        a, b = window_span(bounds, len(self.pattern.x), np.asarray(self.pattern.x))
        return b - a

    # ------------------------------------------------------------------ cake
    @property
    def cake_on(self) -> bool:
        return self.cake_box.isChecked()

    def _cake_toggled(self, on: bool) -> None:
        self.stack.setCurrentWidget(self.cake_plot if on else self.plot)
        self.cake_toggled.emit(bool(on))

    def show_cake(self, cake) -> None:
        """Draw a Cake message (intensity over χ and the radial unit), log-scaled levels."""
        self.cake = cake
        data = np.asarray(cake.intensity, dtype=np.float32)
        positive = data[data > 0]
        floor = float(positive.min()) if positive.size else 1.0
        shown = np.log10(np.maximum(data, floor))
        lo, hi = float(np.percentile(shown, 1)), float(np.percentile(shown, 99.9))
        self.cake_image.setImage(shown, autoLevels=False, levels=(lo, hi if hi > lo else lo + 1))
        x, chi = np.asarray(cake.radial), np.asarray(cake.chi)
        self.cake_image.setRect(float(x[0]), float(chi[0]), float(x[-1] - x[0]),
                                float(chi[-1] - chi[0]))
        self.cake_plot.setLabel("bottom", UNIT_LABELS.get(cake.unit, cake.unit))

    # ------------------------------------------------------------------ held points
    def set_held(self, held) -> None:
        """Overlay the held points' patterns: ``held`` is ``[(number, position, pattern,
        colour)]`` (pattern None: not read yet; colour: the held point's, from the compare
        dock); points no longer held are taken off."""
        keep = {tuple(p) for _n, p, _pat, _c in held}
        for position in [p for p in self._held if p not in keep]:
            self.plot.removeItem(self._held.pop(position)[2])
        for number, position, pattern, colour in held:
            position = tuple(position)
            if pattern is None:
                continue
            old = self._held.get(position)
            if old is not None and old[1] is pattern:
                continue
            if old is not None:
                self.plot.removeItem(old[2])
            curve = self.plot.plot(np.asarray(pattern.x), np.asarray(pattern.y),
                                   pen=pg.mkPen(colour, width=1.2),
                                   name=f"held {number}")
            self._held[position] = (number, pattern, curve)

    @property
    def held_curves(self) -> int:
        return len(self._held)
