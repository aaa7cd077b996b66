"""What the window does by itself at the end of a scan: export the map, grab, exit.

``--export-map``, ``--screenshot`` and ``--exit-on-finish`` (SPEC section 3).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer

from swmrview.model.options import ViewerOptions
from swmrview.model.status import ERROR, Status

logger = logging.getLogger(__name__)


class HeadlessActions:
    """Runs the headless flags of ``options`` for ``window`` once per scan end."""

    def __init__(self, window, options: ViewerOptions) -> None:
        self.window = window
        self.options = options
        self.exported = self.grabbed = False

    def scan_ended(self, status: Status) -> None:
        """The scan finished, timed out or failed: export, grab and (maybe) close."""
        if status.kind != ERROR:  # the session already logged an error itself
            logger.info("%s", status.message)
        if self.options.export_map:
            self.export_map(self.options.export_map)
        if self.options.screenshot:
            self.screenshot(self.options.screenshot)
        if self.options.exit_on_finish:
            QTimer.singleShot(0, self.window.close)

    def closing(self) -> None:
        """On close: what was asked for and not done yet."""
        if self.options.screenshot and not self.grabbed:
            self.screenshot(self.options.screenshot)
        if self.options.export_map and not self.exported and self.window.state is not None:
            self.export_map(self.options.export_map)

    def export_map(self, path: str) -> bool:
        """Write the displayed map plane as CSV; False (logged) when there is no map."""
        state = self.window.state
        if state is None or state.rank == 0:
            logger.error("no scan map to export to %s", path)
            return False
        state.export_csv(path)
        logger.info("map written to %s", path)
        self.exported = True
        return True

    def screenshot(self, path: str) -> None:
        """Redraw now and save a grab of the window."""
        self.window.redraw()
        self.window.grab().save(path)
        self.grabbed = True
        logger.info("screenshot saved to %s", path)
