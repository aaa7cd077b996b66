"""A one-line hover readout that can never push its layout wider.

A plain QLabel's minimum width is its text's: a long readout (a scatter point with both motors
and units) widens the widget holding it, and a splitter then squeezes its neighbour for good.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ReadoutLabel(QLabel):
    """A label cut with "…" to the width it is given; :meth:`text` and the tooltip are whole."""

    def __init__(self, text: str = " ", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # width: the layout's
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        """Show ``text`` elided to the label's width, whole in the tooltip."""
        self._full = text
        self.setToolTip(text.strip())
        self._elide()

    def text(self) -> str:
        """The whole text (what is shown may be cut)."""
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Cut the text again to the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        super().setText(self.fontMetrics().elidedText(self._full, Qt.ElideRight, width)
                        if width > 0 else self._full)
