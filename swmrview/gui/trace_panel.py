"""A spectrum in the frame view: the latest trace, a running mean, an x-range ROI, the fit.

Pure view, as :mod:`swmrview.gui.frame_view`: it is handed numpy frames and never touches the
file.
"""

from __future__ import annotations

import collections

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from swmrview.core.compute.channels import window_span
from swmrview.gui.fit_overlay import FitOverlay


def as_trace(frame: np.ndarray) -> np.ndarray:
    """A spectrum as one curve: several detector elements summed channel by channel."""
    trace = np.asarray(frame, dtype=np.float64)
    return trace.reshape(-1, trace.shape[-1]).sum(axis=0) if trace.ndim > 1 else trace


def channel_x(axis, n: int) -> np.ndarray:
    """The x of each of ``n`` spectrum channels: the calibration ``axis`` (e.g. energy in
    keV, a :class:`~swmrview.model.messages.Axis` or None) when it fits, else channel numbers."""
    if axis is not None and axis.values is not None and len(axis.values) == n:
        return np.asarray(axis.values, dtype=np.float64)
    return np.arange(n, dtype=np.float64)


def channel_label(axis) -> str:
    """The x axis label of spectra drawn against :func:`channel_x`."""
    return axis.label if axis is not None else "channel"


class TracePanel(QWidget):
    """A spectrum: the latest trace, an optional running mean, and an x-range ROI."""

    roi_changed = Signal(object)  # (x0, x1) or None
    MEAN_OF = 20

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "channel")
        self.plot.setLabel("left", "counts")
        self.plot.addLegend(offset=(-10, 10))
        self.curve = self.plot.plot(pen=pg.mkPen("#4cc9f0", width=1.5), name="latest")
        self.mean_curve = self.plot.plot(pen=pg.mkPen("#f9c74f", width=1.5), name="running mean")
        self.mean_curve.setVisible(False)
        self.region = pg.LinearRegionItem()
        self.region.setVisible(False)
        self.plot.addItem(self.region)
        self.region.sigRegionChangeFinished.connect(self._emit_roi)
        self.readout = QLabel(" ")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.frame: np.ndarray | None = None
        self.fit = FitOverlay(self.plot, self.x_values)   # an XRF fit's model, when one runs
        self.log_scale = False
        self._recent: collections.deque[np.ndarray] = collections.deque(maxlen=self.MEAN_OF)
        self._last_live: str | None = None
        self.axis = None   # calibration (model.messages.Axis) of the channels, or None

    def set_axis(self, axis) -> None:
        """Plot against ``axis`` (e.g. energy in keV) when the file has one, else channels."""
        self.axis = axis
        self.plot.setLabel("bottom", channel_label(axis))
        self.frame = None   # the next frame places the region in the new units

    def x_values(self, n: int) -> np.ndarray:
        """The x of each of ``n`` channels: the calibration, or channel numbers."""
        return channel_x(self.axis, n)

    def window(self) -> tuple[float, float] | None:
        """The drawn x range in the plot's units (energy when calibrated), or None."""
        if not self.region.isVisible() or self.frame is None:
            return None
        lo, hi = self.region.getRegion()
        return (float(lo), float(hi))

    def set_running_mean(self, on: bool) -> None:
        """Show the mean of the last few live traces."""
        self.mean_curve.setVisible(bool(on))
        if on and self._recent:
            mean = np.mean(self._recent, axis=0)
            self.mean_curve.setData(self.x_values(len(mean)), mean)

    def set_log(self, on: bool) -> None:
        """Log scale on the counts axis."""
        self.log_scale = bool(on)
        self.plot.setLogMode(y=self.log_scale)

    def display(self, frame: np.ndarray, label: str = "", live: bool = True) -> None:
        """Display the trace ``frame``; only ``live`` (not pinned) frames enter the mean."""
        first = self.frame is None or self.frame.shape != frame.shape
        self.frame = frame
        if first:
            self._recent.clear()
            self._last_live = None
        if frame.ndim > 1:  # several detector elements: their sum, channel by channel
            label = f"{label}  (sum of {int(np.prod(frame.shape[:-1]))} elements)"
        trace = as_trace(frame)
        x = self.x_values(trace.shape[-1])
        self.curve.setData(x, trace)
        if live and label != self._last_live:  # the newest frame re-shown on unpinning: once
            self._last_live = label
            self._recent.append(trace)
            if self.mean_curve.isVisible():
                self.mean_curve.setData(x, np.mean(self._recent, axis=0))
        if first:
            n = frame.shape[-1]
            self.region.setRegion((x[int(n * 0.4)], x[min(n - 1, int(n * 0.6))]))
            if self.region.isVisible():  # shown before any frame of this length: emit it now
                self._emit_roi()
        self.readout.setText(label or " ")

    def set_roi_enabled(self, on: bool) -> None:
        """Show the x-range ROI or hide it and clear the ROI."""
        self.region.setVisible(bool(on))
        self._emit_roi()

    def roi_bounds(self) -> tuple[int, int] | None:
        """The ROI as (x0, x1) channel slice bounds, or None: the channels whose x (energy
        when calibrated, else channel number) lies in the drawn range, the rule of windows."""
        if not self.region.isVisible() or self.frame is None:
            return None
        n = self.frame.shape[-1]
        return window_span(self.region.getRegion(), n, self.x_values(n))

    def _emit_roi(self, *_args) -> None:
        self.roi_changed.emit(self.roi_bounds())
