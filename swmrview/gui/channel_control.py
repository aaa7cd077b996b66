"""Wires the Channels dock and the view settings to the window, its view state and follower.

The dock holds the user's channel definitions; each scan's :class:`ViewState` gets them when it
is made, and the follower computes them. View settings (channels, colormap, map scale, shown
map) persist per user and are saved to / loaded from a small JSON file to share.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from swmrview.gui.channel_marks import ChannelMarks, PolygonTool
from swmrview.gui.channels_dock import ChannelsDock
from swmrview.gui.maps_grid import MapsGrid
from swmrview.gui.rgb_dock import RgbDock
from swmrview.gui.scatter_view import GRID
from swmrview.core.compute.channels import XRF_FIT, Channel
from swmrview.model.channel_fits import channel_fits
from swmrview.model.view_settings import SettingsFileError, ViewSettings

logger = logging.getLogger(__name__)


class ChannelControl(QObject):
    """Owns the Channels dock for ``window`` (a :class:`~swmrview.gui.main_window.MainWindow`)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dock = ChannelsDock(window)
        self._wanted_shown: str | None = None   # a settings file's shown map, until it exists
        window.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.roi_source = window.frame_view.roi_for_channel
        self.dock.roi_is_pattern = lambda: window.frame_view.showing_pattern
        self.dock.channels_changed.connect(self.set_channels)
        self.dock.show_requested.connect(self.show)
        self.dock.overlay_changed.connect(self._overlay_changed)
        window.map_view.x_chosen.connect(self._x_chosen)
        self.grid = MapsGrid(window)
        window.addDockWidget(Qt.BottomDockWidgetArea, self.grid)
        self.grid.hide()
        self.grid.point_clicked.connect(window.pin_point)
        self.grid.visibilityChanged.connect(lambda _on: self.map_redrawn())
        # Points / Interpolated / Grid chosen on the main map: the tiles follow at once
        window.map_view.scatter_view.combo.currentIndexChanged.connect(
            lambda _i: self.map_redrawn())
        self.rgb = RgbDock(window)
        window.addDockWidget(Qt.BottomDockWidgetArea, self.rgb)
        self.rgb.hide()
        self.rgb.visibilityChanged.connect(lambda _on: self.map_redrawn())
        self.marks = ChannelMarks(window.frame_view)
        self.polygon = PolygonTool(window.frame_view.image_panel)
        self.dock.polygon_source = self._polygon_vertices
        self.dock.kind_combo.currentTextChanged.connect(
            lambda kind: None if kind == "polygon" else self.polygon.hide())
        window.toolbar.reduction_combo.currentTextChanged.connect(self._mark_shown)

    # ------------------------------------------------------------------ menus
    def install_actions(self, file_menu, view_menu) -> None:
        """File > Save / Load view settings; View > Channels."""
        save = QAction("Save view settings...", self.window)
        save.triggered.connect(self._save_dialog)
        load = QAction("Load view settings...", self.window)
        load.triggered.connect(self._load_dialog)
        file_menu.insertSeparator(file_menu.actions()[-1])
        for action in (save, load):
            file_menu.insertAction(file_menu.actions()[-1], action)
        view_menu.addAction(self.dock.toggleViewAction())
        view_menu.addAction(self.grid.toggleViewAction())
        view_menu.addAction(self.rgb.toggleViewAction())

    # ------------------------------------------------------------------ scans
    def scan_opened(self, info, state, new_scan: bool) -> None:
        """A scan (or dataset) is shown: offer its fields, give its state the channels."""
        self.dock.set_fields(info.fields)
        fit = dict(getattr(info, "steps", {}) or {}).get(XRF_FIT)
        labels = [] if fit is None else [str(v) for v in fit.x]
        self.dock.set_fit_groups([n for n in labels if not n.endswith(" sigma")
                                  and n != "chisq"])
        self.window.frame_view.set_frame_axis(info.frame_axis)
        if new_scan:
            shown = self._wanted_shown or self.window.toolbar.reduction_combo.currentText()
            self._apply(state, shown)
            if shown == state.reduction:
                self._wanted_shown = None
        self._layers_changed()

    def usable(self, info) -> tuple:
        """The dock's channels that fit the scan ``info``; the others are greyed out in the
        dock with the reason (kept for scans they fit)."""
        reasons = {c.name: channel_fits(c, info) for c in self.dock.channels()}
        self.dock.mark_unfit({n: r for n, r in reasons.items() if r})
        return tuple(c for c in self.dock.channels() if reasons[c.name] is None)

    def _apply(self, state, shown: str | None = None) -> None:
        """Give ``state`` the dock's channels that fit its scan (and show ``shown`` if it is
        one of its maps), then have the follower compute the new or changed ones over the
        points already read."""
        state.set_channels(self.usable(state.info))
        if shown in state.layers:
            state.set_reduction(shown)
        state.set_overlay(self.dock.ticked())
        follow = self.window.follow
        if follow is not None:
            follow.request_channels.emit(tuple(state.channels.values()))

    # ------------------------------------------------------------------ user actions
    def set_channels(self, channels) -> None:
        """The user changed the channels: the state keeps what it can, the follower computes
        the new or changed ones over the points already read."""
        state = self.window.state
        if state is not None:
            self._apply(state)
            self.window.headless.channels_changed(state)
            self._layers_changed()
            self.window.map_view.update_axes()
            self.window.mark_map_dirty()
        self.window.settings.set_view(self.view())

    def show(self, name: str) -> None:
        """Show the map ``name`` (a channel or reduction)."""
        if self.window.state is not None and name in self.window.state.layers:
            self.window.toolbar.reduction_combo.setCurrentText(name)

    def _overlay_changed(self, names) -> None:
        if self.window.state is not None:
            self.window.state.set_overlay(names)
            self.window.mark_map_dirty()
            self.window.view_actions.request_reductions()

    def _x_chosen(self, name) -> None:
        state = self.window.state
        if state is not None and name is not None and name not in state.layers \
                and name.startswith("/"):   # a per-point field: mapped as a channel first
            name = self._field_channel(name)
        if state is not None and (name is None or name in state.layers):
            state.set_x_layer(name)
            self.window.map_view.set_layers()
            self.window.map_view.update_axes()
            self.window.mark_map_dirty()
            self.window.view_actions.request_reductions()

    def _field_channel(self, path: str) -> str:
        """A channel of the per-point field ``path`` (named after it), added if needed."""
        for channel in self.dock.channels():
            if channel.dataset == path and channel.kind == "sum" and not channel.monitor:
                return channel.name
        names = {c.name for c in self.dock.channels()}
        name = base = path.rstrip("/").rsplit("/", 1)[-1] or path
        k = 2
        while name in names or name in ("sum", "mean", "max", "roi"):
            name, k = f"{base}_{k}", k + 1
        self.dock.set_channels(self.dock.channels() + (Channel(name, dataset=path),),
                               emit=True)
        return name

    def map_redrawn(self) -> None:
        """The main map was redrawn: so are the side-by-side maps (when shown), drawn as it is
        (a non-grid scan's points, or its grid)."""
        scatter = self.window.map_view.scatter_view
        self.grid.refresh(self.window.state, scatter.mode if scatter.active() else GRID)
        self.rgb.refresh(self.window.state)

    def _polygon_vertices(self) -> tuple[tuple[float, float], ...]:
        """The dragged polygon's vertices; the first call puts the polygon on the image."""
        if self.window.frame_view.kind != "image":
            self.dock.say("Polygons are drawn on images")
            return ()
        if not self.polygon.shown:
            self.polygon.show()
            return ()
        return self.polygon.vertices()

    def _layers_changed(self) -> None:
        state = self.window.state
        if state is not None:
            self.window.toolbar.set_layers(state.layers, state.reduction)
            self.rgb.set_layers(state.layers, tuple(state.channels)[:3])
            self.window.map_view.set_layers()
            self._mark_shown(state.reduction)

    def _mark_shown(self, name: str) -> None:
        state = self.window.state
        self.marks.show(state.channels.get(name) if state is not None else None)

    # ------------------------------------------------------------------ view settings
    def view(self) -> ViewSettings:
        """The view settings now on screen."""
        window = self.window
        return ViewSettings(channels=self.dock.channels(),
                            colormap=window.toolbar.colormap_combo.currentText(),
                            map_scale=window.map_view.scale_combo.currentText(),
                            shown=window.toolbar.reduction_combo.currentText() or "sum",
                            overlay=self.dock.ticked())

    def apply_view(self, view: ViewSettings) -> None:
        """Use ``view``: its channels, colormap, map scale and shown map."""
        window = self.window
        window.toolbar.colormap_combo.setCurrentText(view.colormap)
        window.map_view.scale_combo.setCurrentText(view.map_scale)
        self.dock.set_channels(view.channels)
        self.dock.setVisible(bool(view.channels))   # View > Channels opens it
        for i in range(self.dock.list.count()):
            item = self.dock.list.item(i)
            item.setCheckState(Qt.Checked if item.text() in view.overlay else Qt.Unchecked)
        self.set_channels(view.channels)
        self._wanted_shown = view.shown
        self.show(view.shown)

    def save(self, path: str) -> None:
        """Write the view settings to ``path``."""
        self.view().save(path)
        logger.info("view settings saved to %s", path)

    def load(self, path: str) -> bool:
        """Read and use the view settings file ``path``; False (said in the status bar) if bad."""
        try:
            view = ViewSettings.load(path)
        except SettingsFileError as exc:
            self.window.status_bar.show_error(f"View settings not loaded: {exc}", str(exc),
                                              unexpected=False)
            return False
        self.apply_view(view)
        return True

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save view settings",
                                              "swmrview-view.json", "JSON (*.json)")
        if path:
            self.save(path)

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load view settings", "",
                                              "JSON (*.json);;All files (*)")
        if path:
            self.load(path)
