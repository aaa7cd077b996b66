"""Display of one frame: an image with histogram, colormap, log scale and ROI, a trace, or a value.

Pure view: it is handed numpy frames, with their levels computed in the follower thread, by
the main window and reports ROI changes; it never touches the file.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from swmrview.core.compute.channels import XRF_FIT
from swmrview.gui.image_panel import ImagePanel
from swmrview.gui.trace_panel import TracePanel


class FrameView(QStackedWidget):
    """Shows the current frame as an image, a trace, or a scalar value by frame rank."""

    roi_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_panel = ImagePanel()
        self.trace_panel = TracePanel()
        self.scalar_label = QLabel("-")
        self.scalar_label.setAlignment(Qt.AlignCenter)
        self.scalar_label.setWordWrap(True)
        self.scalar_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        from swmrview.gui.pattern_view import STEP, PatternPanel

        self.pattern_panel = PatternPanel()
        self._step = STEP
        for page in (self.image_panel, self.trace_panel, self.scalar_label, self.pattern_panel):
            self.addWidget(page)
        self.image_panel.roi_changed.connect(self.roi_changed)
        self.trace_panel.roi_changed.connect(self.roi_changed)
        self.kind = "image"
        self.shown_label = ""
        self.pattern_mode = True   # diffraction: I(q) shown, the raw image a toggle away

    def set_frame_axis(self, axis) -> None:
        """The calibration of spectra (energy) or None: plotted against channel numbers."""
        self.trace_panel.set_axis(axis)

    def roi_for_channel(self) -> tuple[float, ...] | None:
        """The drawn ROI as channel bounds: (y0, y1, x0, x1) pixels, or a spectrum's x range
        in the plot's units (energy when calibrated)."""
        if self.showing_pattern:
            return self.pattern_panel.window()
        if self.kind == "image":
            return self.image_panel.roi_bounds()
        if self.kind == "spectrum":
            return self.trace_panel.window()
        return None

    def set_frame_kind(self, kind: str) -> None:
        """Pick the image, spectrum (trace) or scalar page (an image's pattern if shown)."""
        self.kind = kind
        if kind == "image" and self.pattern_mode and self.pattern_panel.has_pattern:
            self.setCurrentWidget(self.pattern_panel)
            return
        self.setCurrentWidget({"image": self.image_panel, "spectrum": self.trace_panel}
                              .get(kind, self.scalar_label))

    @property
    def showing_pattern(self) -> bool:
        """True while the integrated pattern is on screen instead of the image."""
        return self.currentWidget() is self.pattern_panel

    def set_pattern_mode(self, on: bool) -> None:
        """Show the integrated pattern (on) or the raw image of diffraction frames."""
        self.pattern_mode = bool(on)
        self.set_frame_kind(self.kind)

    def forget_patterns(self) -> None:
        """A new scan: no pattern until its first comes."""
        self.pattern_panel.pattern = None
        self.pattern_panel.set_held([])
        self.set_frame_kind(self.kind)

    def show_patterns(self, patterns, label: str = "") -> None:
        """The shown point's step results: its integrated pattern is drawn (and shown
        instead of the image while the pattern mode is on); its XRF fit is drawn over the
        spectrum."""
        fitted = (patterns or {}).get(XRF_FIT)
        frame = self.trace_panel.frame
        self.trace_panel.fit.show(getattr(fitted, "fit", None),
                                  0 if frame is None else frame.shape[-1])
        pattern = (patterns or {}).get(self._step)
        if pattern is None:
            return
        had = self.pattern_panel.has_pattern
        self.pattern_panel.display(pattern, label)
        if not had:
            self.set_frame_kind(self.kind)

    def show_frame(self, frame: np.ndarray, label: str = "", live: bool = True,
                   levels: tuple[float, float] | None = None, binning: int = 1) -> None:
        """Display one frame (the caller throttles how often); ``live`` False when pinned."""
        self.shown_label = label
        if self.kind == "spectrum" and frame.ndim >= 1:
            self.trace_panel.display(frame, label, live)
        elif frame.ndim >= 2:  # frames of rank >= 3 (e.g. a stack per point): the first plane
            plane = frame[(0,) * (frame.ndim - 2)]
            self.image_panel.display(plane, levels if frame.ndim == 2 else None, binning)
        elif frame.ndim == 1:
            self.trace_panel.display(frame, label, live)
        else:
            value = frame.item()
            text = f"{value:.6g}" if isinstance(value, (int, float, np.number)) else str(value)
            self.scalar_label.setText(f"<div style='font-size:24pt'>{text}</div>"
                                      f"<div style='font-size:10pt'>{label}</div>")

    def current_frame(self) -> np.ndarray | None:
        """The raw frame on screen (image or trace), or None."""
        panel = self.image_panel if self.kind == "image" else self.trace_panel
        return panel.frame

    def set_colormap(self, name: str) -> None:
        """Colormap of the image."""
        self.image_panel.set_colormap(name)

    def set_log(self, on: bool) -> None:
        """Log scale of image values or trace counts."""
        self.image_panel.set_log(on)
        self.trace_panel.set_log(on)
        self.pattern_panel.set_log(on)

    def set_auto_levels(self, on: bool) -> None:
        """Levels follow new frames (on) or stay put (off)."""
        self.image_panel.set_auto_levels(on)

    def set_roi_enabled(self, on: bool) -> None:
        """Show the ROI of the current page (rectangle or x range)."""
        if self.kind != "scalar":
            panel = self.image_panel if self.kind == "image" else self.trace_panel
            panel.set_roi_enabled(on)
        if self.kind == "image":
            self.pattern_panel.set_roi_enabled(on)

    def set_running_mean(self, on: bool) -> None:
        """Running mean of spectra."""
        self.trace_panel.set_running_mean(on)
