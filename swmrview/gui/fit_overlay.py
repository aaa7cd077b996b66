"""The fitted XRF model drawn over the spectrum: model, residual and the fitted lines.

Pure view: it is handed the :class:`~swmrview.model.messages.FitCurve` the worker computed
for the point shown (the window never fits) and draws it on the spectrum's plot, in the
plot's x units (energy when the file is calibrated, else channel numbers): the model over the
fitted channels, the residual (data - model) and a mark at each fitted line group's main
lines, labelled with PyMca's group names ("Fe K", "Pb L").
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg

__all__ = ["FitOverlay", "short_name"]

MODEL_PEN = pg.mkPen("#f72585", width=1.5)
RESIDUAL_PEN = pg.mkPen("#adb5bd", width=1)
LINE_PEN = pg.mkPen("#f72585", width=1, style=pg.QtCore.Qt.PenStyle.DotLine)


def short_name(group: str) -> str:
    """A line group's label on the spectrum: PyMca's name, its scatter peaks shortened."""
    if group.startswith("Scatter Peak"):
        return "elastic"
    if group.startswith("Scatter Compton"):
        return "Compton"
    return group


class FitOverlay:
    """The fit curves on ``plot``; ``x_of(n)`` gives the x of ``n`` channels."""

    def __init__(self, plot: pg.PlotWidget, x_of: Callable[[int], np.ndarray]) -> None:
        self.plot = plot
        self.x_of = x_of
        self.model = plot.plot(pen=MODEL_PEN, name="fit")
        self.residual = plot.plot(pen=RESIDUAL_PEN, name="residual")
        self.marks: list[pg.InfiniteLine] = []
        self._marked: tuple = ()   # (lines, channels, x range) the marks were placed for
        self.fit = None            # the FitCurve drawn (None: none)
        self.show(None, 0)

    def show(self, fit, channels: int) -> None:
        """Draw ``fit`` (a FitCurve, or None to clear) over a trace of ``channels``."""
        self.fit = fit
        if fit is None or channels == 0:
            self._mark(())
            self.model.setData([], [])
            self.residual.setData([], [])
            self.model.setVisible(False)
            self.residual.setVisible(False)
            return
        x = self.x_of(channels)
        span = x[fit.first:fit.first + len(fit.model)]
        self.model.setData(span, np.asarray(fit.model), skipFiniteCheck=True)
        self.residual.setData(span, np.asarray(fit.residual), skipFiniteCheck=True)
        self.model.setVisible(True)
        self.residual.setVisible(True)
        self._mark(fit.lines, x)

    def _mark(self, lines, x: np.ndarray | None = None) -> None:
        """Marks at the fitted lines: placed again only when they or the x axis change (the
        same configuration marks the same lines at every point)."""
        key = (tuple(lines), None if x is None else (len(x), float(x[0]), float(x[-1])))
        if key == self._marked:
            return
        self._marked = key
        for mark in self.marks:
            self.plot.removeItem(mark)
        self.marks = []
        if x is None:
            return
        channels = len(x)
        labelled: set[str] = set()
        # labels staggered in height by energy, so close lines (Mn K, Fe K) stay readable
        for n, (group, channel) in enumerate(sorted(lines, key=lambda line: line[1])):
            at = float(np.interp(channel, np.arange(channels), x))
            mark = pg.InfiniteLine(at, angle=90, pen=LINE_PEN,
                                   label=None if group in labelled else short_name(group),
                                   labelOpts={"position": 0.95 - 0.06 * (n % 4),
                                              "color": "#f72585", "anchors": [(0, 0.5),
                                                                              (0, 0.5)]})
            labelled.add(group)
            self.plot.addItem(mark)
            self.marks.append(mark)

    @property
    def groups(self) -> list[str]:
        """The line groups marked (each once)."""
        return list(dict.fromkeys(g for g, _c in (self.fit.lines if self.fit else ())))
