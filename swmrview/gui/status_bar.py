"""The status bar: what following is doing, a details button for errors, and progress."""

from __future__ import annotations

from PySide6.QtWidgets import (QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar,
                               QWidget)

from swmrview.gui import errors
from swmrview.model.status import ERROR, IDLE, Status


class StatusBar(QStatusBar):
    """Shows a :class:`Status`; errors (and unexpected exceptions) get a "Details..." button.

    An unexpected exception stays in front of the status (which changes at every live step)
    until its details are opened.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        # a long message is cut at the window's edge (whole in the tooltip and Details...);
        # its width must never widen the window
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.details_button = QPushButton("Details...")
        self.details_button.setFlat(True)
        self.details_button.hide()
        self.details_button.clicked.connect(self._show_details)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m")
        self.addWidget(self.label, 1)
        self.addWidget(self.details_button)
        self.addPermanentWidget(self.progress)
        self.details = ""
        self._status = Status(IDLE, "")
        self._unexpected = ""          # summary of an unexpected error not looked at yet

    def show_status(self, status: Status) -> None:
        """Show ``status``; an error keeps its full message behind the details button."""
        self._status = status
        if status.kind == ERROR and not self._unexpected:
            self.details = status.detail or status.message
        self._render()

    def show_error(self, summary: str, details: str, unexpected: bool = True) -> None:
        """An exception (``unexpected``: a bug) or a refused user action (a bad file chosen):
        its summary here, the details behind the button until they are looked at."""
        self.details = details
        self._unexpected = f"Unexpected error: {summary}" if unexpected else summary
        self._render()

    def text(self) -> str:
        """What the status bar says now."""
        return self.label.text()

    def _render(self) -> None:
        text = self._status.message
        if self._unexpected:
            text = f"{self._unexpected}  |  {text}" if text else self._unexpected
        self.label.setText(text)
        self.label.setToolTip(text)
        self.details_button.setVisible(bool(self._unexpected) or (
            self._status.kind == ERROR and bool(self.details)))

    def _show_details(self) -> None:
        errors.show_details(self.window(), self._unexpected or self.label.text(), self.details)
        if self._unexpected:  # seen: back to the status alone
            self._unexpected = ""
            status = self._status
            self.details = (status.detail or status.message) if status.kind == ERROR else ""
            self._render()

    def set_progress(self, n: int, total: int | None) -> None:
        """Points read of the total (or of ``n`` while the total is unknown)."""
        self.progress.setRange(0, max(total or n, 1))
        self.progress.setValue(min(n, self.progress.maximum()))
