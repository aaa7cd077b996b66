"""The status bar: what following is doing, a details button for errors, and progress."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from swmrview.gui import errors
from swmrview.model.status import ERROR, Status


class StatusBar(QStatusBar):
    """Shows a :class:`Status`; errors (and unexpected exceptions) get a "Details..." button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        self.details_button = QPushButton("Details...")
        self.details_button.setFlat(True)
        self.details_button.hide()
        self.details_button.clicked.connect(
            lambda: errors.show_details(self.window(), self.label.text(), self.details))
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m")
        self.addWidget(self.label, 1)
        self.addWidget(self.details_button)
        self.addPermanentWidget(self.progress)
        self.details = ""

    def show_status(self, status: Status) -> None:
        """Show ``status``; an error keeps its full message behind the details button."""
        self.label.setText(status.message)
        if status.kind == ERROR:
            self.details = status.detail or status.message
        self.details_button.setVisible(status.kind == ERROR and bool(self.details))

    def show_error(self, summary: str, details: str) -> None:
        """An unexpected exception: its summary here, the traceback behind the button."""
        self.details = details
        self.label.setText(f"Unexpected error: {summary}")
        self.details_button.show()

    def set_progress(self, n: int, total: int | None) -> None:
        """Points read of the total (or of ``n`` while the total is unknown)."""
        self.progress.setRange(0, max(total or n, 1))
        self.progress.setValue(min(n, self.progress.maximum()))
