"""An image in the frame view: histogram and levels, colormap, log scale, crosshair readout
and a rectangular ROI, drawn from frames binned for the screen in the follower thread.

Pure view, as :mod:`swmrview.gui.frame_view`: it is handed numpy frames and never touches the
file.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from swmrview.gui.map_drawing import LUT_SIZE, colormap, display_levels, lookup_table, range_moved

logger = logging.getLogger(__name__)

HISTOGRAM_MS = 500  # histogram refresh period while frames stream in


class _Histogram256(pg.HistogramLUTItem):
    """HistogramLUTItem that hands the image a 256-entry LUT whatever the dtype."""

    def getLookupTable(self, img=None, n=None, alpha=None):  # noqa: N802 - pyqtgraph API
        return super().getLookupTable(img, n=LUT_SIZE, alpha=alpha)


def _smallest_positive(frame: np.ndarray) -> float:
    """The smallest value > 0 (1.0 when there is none): log scale clips to it."""
    if frame.dtype.kind == "u" and frame.dtype.itemsize <= 2:
        counts = np.bincount(frame.ravel(), minlength=2)  # no boolean copy of the frame
        positive = np.flatnonzero(counts[1:])
        return float(positive[0] + 1) if positive.size else 1.0
    with np.errstate(invalid="ignore"):
        floor = np.min(frame, where=frame > 0, initial=np.inf)
    return float(floor) if np.isfinite(floor) else 1.0


class ImagePanel(QWidget):
    """Image, histogram/levels, crosshair readout and a rectangular ROI."""

    roi_changed = Signal(object)  # (y0, y1, x0, x1) or None
    screen_binning_changed = Signal(int)   # frame pixels per screen pixel, as drawn now

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.plot = self.view.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setLabel("bottom", "x (pixel)")
        self.plot.setLabel("left", "y (pixel)")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.hist_view = pg.GraphicsView()
        self.hist = _Histogram256(image=self.image)
        self.hist_view.setCentralItem(self.hist)
        self.hist_view.setFixedWidth(130)
        # The histogram of a 2048x2048 frame costs as much as drawing it: refresh it at 2 Hz,
        # not on every frame (the image itself is redrawn at the full rate).
        self.image.sigImageChanged.disconnect(self.hist.imageChanged)
        self._hist_stale = False
        self._hist_timer = QTimer(self)
        self._hist_timer.setInterval(HISTOGRAM_MS)
        self._hist_timer.timeout.connect(self._refresh_histogram)
        self._hist_timer.start()
        self.vline = pg.InfiniteLine(angle=90, pen=pg.mkPen("w", style=Qt.DashLine))
        self.hline = pg.InfiniteLine(angle=0, pen=pg.mkPen("w", style=Qt.DashLine))
        for line in (self.vline, self.hline):
            line.setVisible(False)
            self.plot.addItem(line, ignoreBounds=True)
        self.roi = pg.RectROI([0, 0], [10, 10], pen=pg.mkPen("c", width=2))
        self.roi.setVisible(False)
        self.plot.addItem(self.roi)
        self.roi.sigRegionChangeFinished.connect(self._emit_roi)
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.screen_binning = 1   # the coarsest binning the view can show without loss
        self.plot.vb.sigRangeChanged.connect(self._range_changed)
        self.plot.vb.sigResized.connect(self._range_changed)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.view, 1)
        row.addWidget(self.hist_view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row, 1)
        layout.addWidget(self.readout)

        self.auto_levels = True
        self.log_scale = False
        self.frame: np.ndarray | None = None     # frame on screen (for the readout)
        self.binning = 1                         # frame pixels per screen pixel (huge frames)
        self.frame_levels: tuple[float, float] | None = None
        self._hist_range: tuple[float, float] | None = None   # the histogram's, as drawn
        self._hist_levels: tuple[float, float] | None = None  # levels it has to take in
        self._log_floor = 1.0                    # log scale: values below are shown as it
        self.set_colormap("viridis")

    # ------------------------------------------------------------------ settings
    def set_colormap(self, name: str) -> None:
        """Use the named colormap for the image and its histogram gradient."""
        self.hist.gradient.setColorMap(colormap(name))
        self.hist.gradient.showTicks(False)  # 256 colour-stop ticks were repainted every frame
        self.image.setLookupTable(lookup_table(name))

    def set_log(self, on: bool) -> None:
        """Show log10 of the frame (non-positive values clipped to the smallest positive)."""
        self.log_scale = bool(on)
        if self.frame is not None:
            self._draw(self.frame, force_levels=True)

    def set_auto_levels(self, on: bool) -> None:
        """When on, levels follow every new frame; when off they stay where they are."""
        self.auto_levels = bool(on)

    def set_roi_enabled(self, on: bool) -> None:
        """Show the ROI rectangle (placed on the central quarter) or hide it and clear the ROI."""
        if on and self.frame is not None and not self.roi.isVisible():
            self._place_roi()
        self.roi.setVisible(bool(on))
        self._emit_roi()

    def full_shape(self) -> tuple[int, int]:
        """(rows, columns) of the frame shown, in frame pixels (before display binning)."""
        h, w = self.frame.shape[:2]
        return h * self.binning, w * self.binning

    def _range_changed(self, *_args) -> None:
        """Say how many frame pixels one screen pixel covers now (zoomed, resized)."""
        if self.frame is None:
            return
        size = self.plot.vb.viewPixelSize()   # view units (frame pixels) per screen pixel
        binning = max(1, int(min(abs(size[0]), abs(size[1]))))
        if binning != self.screen_binning:
            self.screen_binning = binning
            self.screen_binning_changed.emit(binning)

    def _place_roi(self) -> None:
        h, w = self.full_shape()
        self.roi.setPos([w // 4, h // 4], finish=False)
        self.roi.setSize([max(1, w // 2), max(1, h // 2)], finish=False)

    def levels(self) -> tuple[float, float]:
        """Current display levels."""
        lo, hi = self.image.getLevels()
        return float(lo), float(hi)

    # ------------------------------------------------------------------ drawing
    def display(self, frame: np.ndarray, levels: tuple[float, float] | None = None,
                binning: int = 1) -> None:
        """Display ``frame`` (binned by ``binning``) with the current levels policy.

        ``levels`` are the frame's valid range, computed off the GUI thread.
        """
        # another frame size is a new start (autorange, levels); another binning of the same
        # frames (striding leaves up to binning - 1 pixels out) keeps the user's zoom
        old = self.frame
        step = max(binning, self.binning)
        first = old is None or old.ndim != frame.ndim or any(
            abs(a * self.binning - b * binning) >= step
            for a, b in zip(old.shape[:2], frame.shape[:2]))
        resized = first or old.shape != frame.shape or binning != self.binning
        self.frame, self.binning, self.frame_levels = frame, binning, levels
        self._draw(frame, force_levels=first)
        if resized:
            h, w = frame.shape[:2]
            self.image.setRect(0, 0, w * binning, h * binning)
        if first:
            self.plot.autoRange()
            if self.roi.isVisible():  # shown before any frame of this shape: place it now
                self._place_roi()
                self._emit_roi()

    def _draw(self, frame: np.ndarray, force_levels: bool = False) -> None:
        data = self._display_data(frame)
        self.image.setImage(data, autoLevels=False)
        self._hist_stale = True
        if self.auto_levels or force_levels:
            levels = self._log_levels() if self.log_scale else self.frame_levels
            if levels is None:
                levels = display_levels(data)
            # each change of levels repaints the histogram: skip changes nobody could see
            current = self.image.getLevels()
            if force_levels or current is None or range_moved(tuple(current), levels, 0.005):
                self.image.setLevels(levels)
            self._follow_histogram_range(levels)
        if force_levels:
            self._refresh_histogram()

    def _follow_histogram_range(self, levels: tuple[float, float]) -> None:
        """Note ``levels`` for the histogram's range, applied with the histogram at 2 Hz: the
        range widens at once to take them in and narrows only when they fill less than half
        of it. Following each frame's levels repainted the histogram and its axis (10 ms a
        time, as long as drawing the frame) on every frame."""
        self._hist_levels = levels

    def _refresh_histogram(self) -> None:
        if self._hist_levels is not None:
            (lo, hi), self._hist_levels = self._hist_levels, None
            old = self._hist_range
            if old is None or lo < old[0] or hi > old[1] or hi - lo < 0.5 * (old[1] - old[0]):
                pad = 0.05 * (hi - lo)
                self._hist_range = (lo - pad, hi + pad)
                self.hist.setHistogramRange(*self._hist_range)
        if self._hist_stale and self.image.image is not None:
            self._hist_stale = False
            self.hist.imageChanged(autoLevel=False)

    def _display_data(self, frame: np.ndarray) -> np.ndarray:
        if not self.log_scale:
            if frame.dtype.kind in "ui" and frame.dtype.itemsize <= 2 or frame.dtype == np.float32:
                return np.ascontiguousarray(frame)
            return np.ascontiguousarray(frame, dtype=np.float32)
        frame = np.asarray(frame)
        floor = self._log_floor = _smallest_positive(frame)
        if frame.dtype.kind in "ui" and frame.dtype.itemsize <= 2:
            # a table lookup: ~10x faster than log10 of every pixel of a 4096x4096 frame
            low = int(np.iinfo(frame.dtype).min)
            table = np.arange(low, int(np.iinfo(frame.dtype).max) + 1, dtype=np.float32)
            table = np.log10(np.maximum(table, floor))
            return table[frame.astype(np.int32) - low if low else frame]
        data = frame.astype(np.float32)
        np.maximum(data, floor, out=data)
        return np.log10(data, out=data)

    def _log_levels(self) -> tuple[float, float] | None:
        """The frame's valid range (masked and overflowing pixels out) in log10 units."""
        if self.frame_levels is None:
            return None
        lo, hi = (np.log10(max(v, self._log_floor)) for v in self.frame_levels)
        return (float(lo), float(hi)) if hi > lo else (float(lo), float(lo) + 1.0)

    def roi_bounds(self) -> tuple[int, int, int, int] | None:
        """The ROI as (y0, y1, x0, x1) pixel slice bounds clipped to the frame, or None."""
        if not self.roi.isVisible() or self.frame is None:
            return None
        h, w = self.full_shape()
        pos, size = self.roi.pos(), self.roi.size()
        x0 = int(np.clip(round(pos.x()), 0, w))
        y0 = int(np.clip(round(pos.y()), 0, h))
        x1 = int(np.clip(round(pos.x() + size.x()), x0, w))
        y1 = int(np.clip(round(pos.y() + size.y()), y0, h))
        return (y0, y1, x0, x1)

    def _emit_roi(self, *_args) -> None:
        self.roi_changed.emit(self.roi_bounds())

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        if self.frame is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            return
        p = self.plot.vb.mapSceneToView(scene_pos)
        col, row = int(np.floor(p.x())), int(np.floor(p.y()))
        h, w = self.full_shape()
        inside = 0 <= row < h and 0 <= col < w
        self.vline.setVisible(inside)
        self.hline.setVisible(inside)
        if inside:
            view = self.plot.vb.mapSceneToView(scene_pos)
            self.vline.setPos(view.x())
            self.hline.setPos(view.y())
            value = self.frame[row // self.binning, col // self.binning]
            binned = f"  (binned {self.binning}x{self.binning})" if self.binning > 1 else ""
            self.readout.setText(f"x={col}  y={row}  value={value:.6g}{binned}")
        else:
            self.readout.setText(" ")
