"""Channels on the frame: the shown map's energy window shaded on spectra and its rectangle or
polygon outlined on images (drawn only), and a polygon to drag for new polygon channels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

COLOUR = (255, 200, 0)


class ChannelMarks:
    """Marks of one channel on ``frame_view``'s spectrum and image plots."""

    def __init__(self, frame_view) -> None:
        self.frame_view = frame_view
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*COLOUR, 45),
                                          pen=pg.mkPen(*COLOUR, 140))
        self.region.setZValue(-10)
        self.outline = pg.PlotCurveItem(pen=pg.mkPen(COLOUR, width=1.5, style=Qt.DashLine))
        frame_view.trace_panel.plot.addItem(self.region, ignoreBounds=True)
        frame_view.image_panel.plot.addItem(self.outline, ignoreBounds=True)
        self.channel = None
        self.show(None)

    def show(self, channel) -> None:
        """Mark ``channel`` (a :class:`~swmrview.core.channels.Channel`), or nothing."""
        self.channel = channel
        self.region.setVisible(False)
        self.outline.setData([], [])
        if channel is None or not channel.frames:
            return
        if channel.kind == "window" or (channel.kind == "rect" and len(channel.bounds) == 2):
            lo, hi = sorted(channel.bounds)
            if channel.kind == "rect":   # channel numbers: to the plot's x (energy if any)
                trace = self.frame_view.trace_panel
                n = trace.frame.shape[-1] if trace.frame is not None else int(hi) + 1
                x = trace.x_values(n)
                lo, hi = x[int(np.clip(lo, 0, n - 1))], x[int(np.clip(hi - 1, 0, n - 1))]
            self.region.setRegion((lo, hi))
            self.region.setVisible(True)
            return
        scale = 1.0 / max(1, self.frame_view.image_panel.binning)
        if channel.kind == "rect":
            y0, y1, x0, x1 = (v * scale for v in channel.bounds)
            self.outline.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
        elif channel.kind == "polygon":
            xs = [p[0] * scale for p in channel.polygon] + [channel.polygon[0][0] * scale]
            ys = [p[1] * scale for p in channel.polygon] + [channel.polygon[0][1] * scale]
            self.outline.setData(xs, ys)


class PolygonTool:
    """A closed polygon with draggable vertices on the image, for polygon channels."""

    def __init__(self, image_panel) -> None:
        self.panel = image_panel
        self.roi: pg.PolyLineROI | None = None

    @property
    def shown(self) -> bool:
        """True while the polygon is on the image."""
        return self.roi is not None and self.roi.isVisible()

    def show(self) -> None:
        """Put a diamond on the middle of the frame (once); drag its vertices, click the edges
        to add vertices."""
        if self.roi is not None:
            self.roi.setVisible(True)
            return
        frame = self.panel.frame
        h, w = frame.shape[-2:] if frame is not None else (100, 100)
        scale = max(1, self.panel.binning)
        cx, cy, rx, ry = w / 2, h / 2, w / 4, h / 4
        points = [(cx, cy - ry), (cx + rx, cy), (cx, cy + ry), (cx - rx, cy)]
        self.roi = pg.PolyLineROI([(x / scale, y / scale) for x, y in points], closed=True,
                                  pen=pg.mkPen("m", width=2))
        self.panel.plot.addItem(self.roi)

    def hide(self) -> None:
        """Take the polygon off the image."""
        if self.roi is not None:
            self.roi.setVisible(False)

    def vertices(self) -> tuple[tuple[float, float], ...]:
        """The vertices in frame pixels (x, y)."""
        if not self.shown:
            return ()
        scale = max(1, self.panel.binning)
        out = []
        for handle in self.roi.getLocalHandlePositions():
            point = self.roi.mapToParent(handle[1])
            out.append((float(point.x()) * scale, float(point.y()) * scale))
        return tuple(out)
