"""Channels on the frame: the shown map's energy window shaded on spectra and its rectangle or
polygon outlined on images (drawn only), and a polygon to drag for new polygon channels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from swmrview.core.compute.channels import spectrum_span

COLOUR = (255, 200, 0)
MAX_CHANNELS = 1 << 20   # more than any MCA has


class ChannelMarks:
    """Marks of one channel on ``frame_view``'s spectrum and image plots."""

    def __init__(self, frame_view) -> None:
        self.frame_view = frame_view
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*COLOUR, 45),
                                          pen=pg.mkPen(*COLOUR, 140))
        self.region.setZValue(-10)
        self.outline = pg.PlotCurveItem(pen=pg.mkPen(COLOUR, width=1.5, style=Qt.DashLine))
        frame_view.trace_panel.plot.addItem(self.region, ignoreBounds=True)
        # a q-window on the integrated pattern
        self.q_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*COLOUR, 45),
                                            pen=pg.mkPen(*COLOUR, 140))
        self.q_region.setZValue(-10)
        frame_view.pattern_panel.plot.addItem(self.q_region, ignoreBounds=True)
        frame_view.image_panel.plot.addItem(self.outline, ignoreBounds=True)
        self.channel = None
        self.show(None)

    def show(self, channel) -> None:
        """Mark ``channel`` (a :class:`~swmrview.core.compute.channels.Channel`), or nothing."""
        self.channel = channel
        self.region.setVisible(False)
        self.q_region.setVisible(False)
        self.outline.setData([], [])
        if channel is not None and channel.kind == "q-window":
            self.q_region.setRegion(tuple(channel.bounds))
            self.q_region.setVisible(True)
            return
        if channel is None or not channel.frames:
            return
        if channel.kind == "window" or (channel.kind == "rect" and len(channel.bounds) == 2):
            # the channels the map sums (the reducer's own rule), shaded in the plot's x
            trace = self.frame_view.trace_panel
            if trace.frame is not None:
                n = trace.frame.shape[-1]
            elif trace.axis is not None and trace.axis.values is not None:
                n = len(trace.axis.values)
            else:   # no spectrum yet: up to the upper bound (an absurd bound is not allocated)
                n = int(np.clip(np.floor(max(channel.bounds)), 0, MAX_CHANNELS - 1)) + 1
            x = trace.x_values(n)
            a, b = spectrum_span(channel, n, x)
            if b > a:   # no channel inside: nothing to shade
                self.region.setRegion((x[a], x[b - 1]))
                self.region.setVisible(True)
            return
        # the image is drawn in frame pixels whatever its display binning
        if channel.kind == "rect":
            y0, y1, x0, x1 = channel.bounds
            self.outline.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
        elif channel.kind == "polygon":
            closed = channel.polygon + channel.polygon[:1]
            self.outline.setData([p[0] for p in closed], [p[1] for p in closed])


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
        h, w = self.panel.full_shape() if self.panel.frame is not None else (100, 100)
        cx, cy, rx, ry = w / 2, h / 2, w / 4, h / 4
        points = [(cx, cy - ry), (cx + rx, cy), (cx, cy + ry), (cx - rx, cy)]
        self.roi = pg.PolyLineROI(points, closed=True, pen=pg.mkPen("m", width=2))
        self.panel.plot.addItem(self.roi)

    def hide(self) -> None:
        """Take the polygon off the image."""
        if self.roi is not None:
            self.roi.setVisible(False)

    def vertices(self) -> tuple[tuple[float, float], ...]:
        """The vertices in frame pixels (x, y)."""
        if not self.shown:
            return ()
        return tuple((float(p.x()), float(p.y())) for p in
                     (self.roi.mapToParent(handle[1])
                      for handle in self.roi.getLocalHandlePositions()))
