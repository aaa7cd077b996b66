"""The Channels dock: the user's map channels (list, editor with typed bounds, "From ROI").

It holds the channel definitions the user made (they persist in the settings and apply to each
scan opened); the window gives them to the view state and the follower. Errors in what is typed
are said in the dock, in words.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from swmrview.core.compute.channels import KINDS, Channel, format_elements, parse_elements

DETECTOR = "(detector on show)"
NO_MONITOR = "(none)"
HINTS = {
    "sum": "", "mean": "", "max": "",
    "rect": "y0, y1, x0, x1 pixels (images) or x0, x1 channels (spectra)",
    "polygon": "x, y; x, y; x, y ... pixel vertices",
    "window": "lo, hi in the spectrum's unit (energy if calibrated, else channel)",
    "q-window": "lo, hi in the pattern's unit (q in nm⁻¹ by default): drag on I(q), From ROI",
    "fitted": "the fitted line group, as PyMca names it: Fe K, Pb L (or Fe K sigma, chisq)",
}


def fit_hint(groups) -> str:
    """What the form says for a fitted channel: the line groups the scan's fit has."""
    if not groups:
        return "A fitted channel needs a PyMca fit configuration (--xrf-config FILE.cfg)"
    return "Fitted line groups: " + ", ".join(groups) + " (add ' sigma', or chisq)"


def parse_bounds(kind: str, text: str) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]]:
    """(bounds, polygon) from the typed text for ``kind``; ValueError with a readable reason."""
    text = text.strip()
    if kind == "polygon":
        try:
            vertices = tuple(tuple(float(v) for v in pair.split(","))
                             for pair in text.split(";") if pair.strip())
        except ValueError:
            raise ValueError("polygon vertices must be numbers: x, y; x, y; ...") from None
        if any(len(v) != 2 for v in vertices):
            raise ValueError("each polygon vertex is two numbers: x, y")
        return (), vertices  # type: ignore[return-value]
    if kind not in ("rect", "window", "q-window"):
        return (), ()
    try:
        bounds = tuple(float(v) for v in text.replace(";", ",").split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{kind} bounds must be numbers: {HINTS[kind]}") from None
    return bounds, ()


class ChannelsDock(QDockWidget):
    """List and editor of map channels; emits the whole list when the user changes it."""

    channels_changed = Signal(object)   # tuple[Channel, ...]
    show_requested = Signal(str)        # show this channel's map
    overlay_changed = Signal(object)    # names ticked to overlay on 1-D plots

    def __init__(self, parent=None) -> None:
        super().__init__("Channels", parent)
        self.setObjectName("channels-dock")
        self._channels: list[Channel] = []
        self.roi_source = lambda: None   # set by the window: the frame view's drawn ROI
        self.roi_is_pattern = lambda: False   # set by the window: the ROI is on I(q)
        self.polygon_source = lambda: ()  # set by the window: the polygon dragged on the image
        self.fit_hint = fit_hint(())      # the scan's fitted line groups, said for "fitted"
        body = QWidget()
        self.list = QListWidget()
        self.list.setToolTip("Map channels: double-click to show one; tick to overlay on 1-D "
                             "scans")
        self.list.currentRowChanged.connect(self._edit_row)
        self.list.itemDoubleClicked.connect(lambda item: self.show_requested.emit(item.text()))
        self.list.itemChanged.connect(lambda _item: self.overlay_changed.emit(self.ticked()))
        self.name_edit = QLineEdit()
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(KINDS)
        self.kind_combo.currentTextChanged.connect(self._kind_changed)
        self.dataset_combo = QComboBox()
        self.dataset_combo.setEditable(True)
        self.bounds_edit = QLineEdit()
        self.roi_button = QPushButton("From ROI")
        self.roi_button.setToolTip("Take the bounds from the ROI drawn on the frame (tick ROI)")
        self.roi_button.clicked.connect(self._bounds_from_roi)
        self.elements_edit = QLineEdit()
        self.elements_edit.setPlaceholderText("all (or e.g. 0-3,7)")
        self.monitor_combo = QComboBox()
        self.monitor_combo.setEditable(True)
        self.background_box = QCheckBox("subtract a linear background")
        self.background_box.setToolTip("q-window: the line through the mean of the 3 bins just "
                                       "outside each edge is taken off first")
        self.azimuth_edit = QLineEdit()
        self.azimuth_edit.setPlaceholderText("all (or χ lo, hi in degrees: a sector)")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        bounds_row = QHBoxLayout()
        bounds_row.addWidget(self.bounds_edit, 1)
        bounds_row.addWidget(self.roi_button)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Reduce", self.kind_combo)
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Bounds", bounds_row)
        form.addRow("Elements", self.elements_edit)
        form.addRow("Divide by", self.monitor_combo)
        form.addRow("Background", self.background_box)
        form.addRow("Azimuth", self.azimuth_edit)
        self.apply_button = QPushButton("Add / update")
        self.apply_button.clicked.connect(self.apply_form)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_current)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(body)
        layout.addWidget(self.list, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.setWidget(body)
        self.set_fields(())
        self._kind_changed(self.kind_combo.currentText())

    # ------------------------------------------------------------------ state
    def channels(self) -> tuple[Channel, ...]:
        """The channels defined, in order."""
        return tuple(self._channels)

    def ticked(self) -> tuple[str, ...]:
        """Names ticked for overlaying on 1-D plots."""
        return tuple(self.list.item(i).text() for i in range(self.list.count())
                     if self.list.item(i).checkState() == Qt.Checked)

    def set_channels(self, channels, emit: bool = False) -> None:
        """Show these channels (from the settings or a settings file)."""
        self._channels = list(channels)
        self.list.blockSignals(True)
        self.list.clear()
        for channel in self._channels:
            item = QListWidgetItem(channel.name)
            item.setToolTip(channel.describe())
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if emit:
            self.channels_changed.emit(self.channels())

    def set_fit_groups(self, groups) -> None:
        """The line groups the scan's XRF fit has (none: no fit runs), said for "fitted"."""
        self.fit_hint = fit_hint(tuple(groups))
        if self.kind_combo.currentText() == "fitted":
            self.message.setText(self.fit_hint)

    def set_fields(self, fields) -> None:
        """Offer the scan's per-point datasets: any as a dataset, scalars as monitors."""
        keep_data, keep_mon = self.dataset_combo.currentText(), self.monitor_combo.currentText()
        self.dataset_combo.clear()
        self.dataset_combo.addItems([DETECTOR] + [path for path, _shape in fields])
        self.monitor_combo.clear()
        self.monitor_combo.addItems([NO_MONITOR] + [path for path, shape in fields if not shape])
        self.dataset_combo.setCurrentText(keep_data or DETECTOR)
        self.monitor_combo.setCurrentText(keep_mon or NO_MONITOR)
        self._show_starts()

    def _show_starts(self) -> None:
        """Long paths in the editable boxes read from their start, not their end."""
        for combo in (self.dataset_combo, self.monitor_combo):
            combo.lineEdit().setCursorPosition(0)

    # ------------------------------------------------------------------ editing
    def form_channel(self) -> Channel:
        """The channel the form describes (ValueError with a reason if it is not one)."""
        kind = self.kind_combo.currentText()
        bounds, polygon = parse_bounds(kind, self.bounds_edit.text())
        try:
            elements = parse_elements(self.elements_edit.text())
        except ValueError:
            raise ValueError("elements must be numbers or ranges, e.g. 0-3,7") from None
        dataset = self.dataset_combo.currentText().strip()
        monitor = self.monitor_combo.currentText().strip()
        q = kind == "q-window"
        azimuth = None
        if q and self.azimuth_edit.text().strip():
            try:
                azimuth = tuple(float(v) for v in self.azimuth_edit.text().replace(";", ",")
                                .split(",") if v.strip())
            except ValueError:
                raise ValueError("azimuth must be two numbers: χ lo, hi in degrees") from None
        background = "linear" if self.background_box.isChecked() and kind in (
            "window", "q-window") else None
        if kind == "fitted":   # the Bounds field names the fit's column
            return Channel(self.name_edit.text().strip(), kind,
                           column=self.bounds_edit.text().strip() or None, elements=elements,
                           monitor=None if monitor in ("", NO_MONITOR) else monitor)
        return Channel(self.name_edit.text().strip(), kind,
                       dataset=None if dataset in ("", DETECTOR) or q else dataset,
                       bounds=bounds, polygon=polygon, elements=elements,
                       monitor=None if monitor in ("", NO_MONITOR) else monitor,
                       background=background, azimuth=azimuth)

    def apply_form(self) -> bool:
        """Add the form's channel, or replace the one of the same name; False if invalid."""
        try:
            channel = self.form_channel()
        except ValueError as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText("")
        names = [c.name for c in self._channels]
        if channel.name in names:
            self._channels[names.index(channel.name)] = channel
        else:
            self._channels.append(channel)
        ticked = self.ticked()
        self.set_channels(self._channels)
        for i in range(self.list.count()):
            if self.list.item(i).text() in ticked:
                self.list.item(i).setCheckState(Qt.Checked)
        self.list.setCurrentRow([c.name for c in self._channels].index(channel.name))
        self.channels_changed.emit(self.channels())
        self.show_requested.emit(channel.name)
        return True

    def remove_current(self) -> None:
        """Remove the selected channel."""
        row = self.list.currentRow()
        if 0 <= row < len(self._channels):
            del self._channels[row]
            self.set_channels(self._channels, emit=True)

    def mark_unfit(self, reasons) -> None:
        """Grey out the channels that do not fit the scan shown, the reason in their tooltip."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            channel = self._channels[i]
            why = reasons.get(channel.name)
            item.setForeground(Qt.gray if why else self.list.palette().text())
            item.setToolTip(f"Not computed for this scan: {why}" if why
                            else channel.describe())
        if reasons:
            names = ", ".join(reasons)
            self.message.setText(f"Not computed for this scan: {names} (see their tooltips)")
        elif self.message.text().startswith("Not computed"):
            self.message.setText("")

    def say(self, text: str) -> None:
        """Show a message under the editor (e.g. why the follower refused a channel)."""
        self.message.setText(text)

    def _edit_row(self, row: int) -> None:
        if not 0 <= row < len(self._channels):
            return
        c = self._channels[row]
        self.name_edit.setText(c.name)
        self.kind_combo.setCurrentText(c.kind)
        self.dataset_combo.setCurrentText(c.dataset or DETECTOR)
        if c.kind == "polygon":
            self.bounds_edit.setText("; ".join(f"{x:g}, {y:g}" for x, y in c.polygon))
        elif c.kind == "fitted":
            self.bounds_edit.setText(c.column or "")
        else:
            self.bounds_edit.setText(", ".join(f"{v:g}" for v in c.bounds))
        self.elements_edit.setText("" if c.elements is None else format_elements(c.elements))
        self.monitor_combo.setCurrentText(c.monitor or NO_MONITOR)
        self.background_box.setChecked(c.background == "linear")
        self.azimuth_edit.setText("" if c.azimuth is None else
                                  ", ".join(f"{v:g}" for v in c.azimuth))
        self._show_starts()

    def _kind_changed(self, kind: str) -> None:
        self.bounds_edit.setPlaceholderText(HINTS.get(kind, ""))
        self.bounds_edit.setEnabled(kind in ("rect", "polygon", "window", "q-window", "fitted"))
        self.roi_button.setEnabled(kind in ("rect", "window", "polygon", "q-window"))
        self.background_box.setEnabled(kind in ("window", "q-window"))
        self.azimuth_edit.setEnabled(kind == "q-window")
        if kind == "q-window":
            from swmrview.core.compute.integrate import missing_pyfai

            problem = missing_pyfai()
            if problem:
                self.message.setText(problem)
        if kind == "fitted":
            from swmrview.core.compute.xrf_config import XrfConfigError, require_pymca

            try:
                require_pymca()
            except XrfConfigError as exc:
                self.message.setText(str(exc))
            else:
                self.message.setText(self.fit_hint)

    def _bounds_from_roi(self) -> None:
        if self.kind_combo.currentText() == "polygon":
            vertices = self.polygon_source()
            if not vertices:
                self.message.setText("Drag the polygon's vertices on the image (click an edge "
                                     "to add one), then press From ROI again")
                return
            self.message.setText("")
            self.bounds_edit.setText("; ".join(f"{x:.1f}, {y:.1f}" for x, y in vertices))
            return
        bounds = self.roi_source()
        if not bounds:
            self.message.setText("Draw a ROI on the frame first (tick ROI in the toolbar)")
            return
        self.message.setText("")
        if len(bounds) == 2 and self.roi_is_pattern():   # a window on the pattern I(q)
            self.kind_combo.setCurrentText("q-window")
        elif len(bounds) == 2 and self.kind_combo.currentText() not in ("rect", "window"):
            self.kind_combo.setCurrentText("window")
        self.bounds_edit.setText(", ".join(f"{v:.6g}" for v in bounds))
