"""The toolbar's choices and the window's menus, applied to the views and the scan.

:class:`ViewActions` connects the :class:`~swmrview.gui.toolbar.ViewToolBar` (follow, slider,
reduction, colormap, log, levels, ROI, running mean, mask) and the map's slower-axis boxes to
the window's views, view state and follower thread, and fits the toolbar to each scan; it also
builds the View menu. The window keeps the scan; this keeps the wiring.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

from swmrview.model.messages import ScanInfo


class ViewActions(QObject):
    """Toolbar and menus of ``window`` (a :class:`~swmrview.gui.main_window.MainWindow`)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        bar, frame_view = window.toolbar, window.frame_view
        window.map_view.slow_changed.connect(self.slow_changed)
        bar.follow_toggled.connect(self.follow_toggled)
        bar.slider.valueChanged.connect(self.slider_moved)
        bar.reduction_combo.currentTextChanged.connect(self.reduction_changed)
        bar.colormap_combo.currentTextChanged.connect(self.set_colormap)
        bar.log_box.toggled.connect(frame_view.set_log)
        bar.auto_levels_box.toggled.connect(frame_view.set_auto_levels)
        bar.roi_box.toggled.connect(self.roi_toggled)
        bar.mean_box.toggled.connect(frame_view.set_running_mean)
        bar.mask_box.toggled.connect(self.mask_toggled)
        frame_view.roi_changed.connect(self.set_roi)
        frame_view.image_panel.screen_binning_changed.connect(self.set_screen_binning)

    def install_view_menu(self, file_menu: QMenu) -> QMenu:
        """The View menu (a toggle per dock); the channels also add to ``file_menu``."""
        window = self.window
        view = window.menuBar().addMenu("&View")
        view.addAction(window.dock.toggleViewAction())
        view.addAction(window.scans_dock.toggleViewAction())
        window.channels.install_actions(file_menu, view)
        view.addAction(window.compare.dock.toggleViewAction())
        view.addAction(window.profile.toggleViewAction())
        return view

    # ------------------------------------------------------------------ a scan shown
    def scan_shown(self, info: ScanInfo) -> None:
        """Offer the tools that fit the scan's frames; share the width between frame and map."""
        window, bar, kind = self.window, self.window.toolbar, info.frame_kind
        bar.mean_box.setEnabled(kind == "spectrum")
        bar.roi_box.setEnabled(kind != "scalar")
        bar.mask_box.setEnabled(info.masked)
        width = max(window.splitter.width(), 800)
        share = 0.9 if info.scan_rank == 0 else {"scalar": 0.2, "spectrum": 0.45}.get(kind, 0.55)
        window.splitter.setSizes([int(width * share), int(width * (1 - share))])
        if bar.roi_box.isChecked() and kind != "scalar":
            window.frame_view.set_roi_enabled(True)  # emits the ROI on the new frames
        else:
            bar.roi_box.setChecked(False)
            self.leave_roi_reduction()
        self.request_reductions()

    # ------------------------------------------------------------------ toolbar choices
    def follow_latest(self) -> None:
        """Check "Follow latest" (or act on it again if it is checked)."""
        action = self.window.toolbar.follow_action
        if action.isChecked():
            self.follow_toggled(True)
        else:
            action.setChecked(True)

    def follow_toggled(self, on: bool) -> None:
        """"Follow latest" checked: unpin and show the newest frame again."""
        state = self.window.state
        if on and state is not None:
            state.follow_latest()
            self.window.scheduler.show_latest()
            self.window.mark_map_dirty()

    def slider_moved(self, value: int) -> None:
        """Show the point acquired ``value``-th."""
        state = self.window.state
        if state is not None:
            position = state.order_position(value)
            if position is not None:
                self.window.pin_point(position)

    def slow_changed(self, index: tuple) -> None:
        """Show the plane at the slower-axis ``index`` (scans of rank 3 and more)."""
        if self.window.state is not None:
            self.window.state.set_slow_index(index)
            self.window.mark_map_dirty()

    def reduction_changed(self, name: str) -> None:
        """Map the reduction ``name``; "roi" turns the ROI on."""
        window, bar = self.window, self.window.toolbar
        if name == "roi" and not bar.roi_box.isEnabled():  # scalars: no ROI to draw
            self.leave_roi_reduction()
            return
        if window.state is not None:
            window.state.set_reduction(name)
            window.mark_map_dirty()
            self.request_reductions()
        if name == "roi" and not bar.roi_box.isChecked():
            bar.roi_box.setChecked(True)

    def request_reductions(self) -> None:
        """Tell the follower which built-in maps are shown or exported (max costs a pass over
        every frame, so it is computed only while wanted)."""
        window = self.window
        if window.state is not None and window.follow is not None:
            live = window.headless.live
            exported = live.reductions if live.path is not None else ()
            window.follow.request_reductions.emit(window.state.wanted_reductions()
                                                  + tuple(exported))

    def leave_roi_reduction(self) -> None:
        """Without a ROI the "roi" map is all NaN: go back to the chosen (or sum) reduction."""
        combo, reduce = self.window.toolbar.reduction_combo, self.window.options.reduce
        if combo.currentText() == "roi":
            combo.setCurrentText(reduce if reduce and reduce != "roi" else "sum")

    def set_colormap(self, name: str) -> None:
        """Use the colormap ``name`` in every view, and next time."""
        window = self.window
        window.frame_view.set_colormap(name)
        window.map_view.set_colormap(name)
        window.compare.dock.set_colormap(name)
        window.channels.grid.set_colormap(name)
        window.settings.set_colormap(name)

    def roi_toggled(self, on: bool) -> None:
        """Show the ROI on the frame and map it, or go back from the "roi" map."""
        self.window.frame_view.set_roi_enabled(on)
        combo = self.window.toolbar.reduction_combo
        if on and combo.currentText() != "roi":
            combo.setCurrentText("roi")
        elif not on:
            self.leave_roi_reduction()

    def set_roi(self, roi) -> None:
        """Sum ``roi`` of each frame into the map's "roi" value (recomputed in the follower)."""
        window = self.window
        if window.state is not None and window.state.set_roi(roi) and window.follow is not None:
            window.mark_map_dirty()
            window.follow.request_roi.emit(window.state.roi)

    def set_screen_binning(self, binning: int) -> None:
        """Live frames binned to what the view shows (the GUI thread draws a quarter of the
        pixels at 2x); not while a headless frame export waits for full-resolution values."""
        window = self.window
        if window.follow is not None and not window.options.export_frame:
            window.follow.request_screen_binning.emit(int(binning))

    def mask_toggled(self, on: bool) -> None:
        """Leave the detector's masked pixels out (the follower recomputes the acquired points)."""
        window = self.window
        if window.state is not None and window.follow is not None:
            window.follow.request_mask.emit(bool(on))
