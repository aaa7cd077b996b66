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
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from swmrview.core.compute.channels import window_span
from swmrview.gui.compare_dock import point_color as held_colour

UNIT_LABELS = {"q_nm^-1": "q (nm⁻¹)", "q_A^-1": "q (Å⁻¹)", "2th_deg": "2θ (°)"}
STEP = "integrate"   # the step whose pattern is shown


class PatternPanel(QWidget):
    """I(q) of the shown point, held points' patterns, and a window to drag."""

    roi_changed = Signal(object)   # (lo, hi) in the pattern's unit, or None

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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
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

    # ------------------------------------------------------------------ held points
    def set_held(self, held) -> None:
        """Overlay the held points' patterns: ``held`` is ``[(number, position, pattern)]``
        (pattern None: not read yet); points no longer held are taken off."""
        keep = {tuple(p) for _n, p, _pat in held}
        for position in [p for p in self._held if p not in keep]:
            self.plot.removeItem(self._held.pop(position)[2])
        for number, position, pattern in held:
            position = tuple(position)
            if pattern is None:
                continue
            old = self._held.get(position)
            if old is not None and old[1] is pattern:
                continue
            if old is not None:
                self.plot.removeItem(old[2])
            curve = self.plot.plot(np.asarray(pattern.x), np.asarray(pattern.y),
                                   pen=pg.mkPen(held_colour(number), width=1.2),
                                   name=f"held {number}")
            self._held[position] = (number, pattern, curve)

    @property
    def held_curves(self) -> int:
        return len(self._held)
