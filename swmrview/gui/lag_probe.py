"""``--stats OUT.json``: a fine timer on the GUI thread that measures how late the event loop
runs it, and the file written at exit. The counting is :class:`~swmrview.model.stats.LagStats`'s
(plain Python); the window feeds it the scans, updates and frames drawn.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, QTimer

from swmrview.model.stats import TICK_S, LagStats
from swmrview.session.arrays import output_problem

logger = logging.getLogger(__name__)


class LagProbe(QObject):
    """Ticks every :data:`~swmrview.model.stats.TICK_S` into ``stats``; writes it to ``path``."""

    def __init__(self, stats: LagStats, path: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stats = stats
        self.path = path
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.PreciseTimer)   # the default coarse timer drifts by 5 %
        self.timer.setInterval(round(TICK_S * 1000))
        self.timer.timeout.connect(lambda: self.stats.tick(time.monotonic()))
        self.timer.start()

    def write(self, file: str | None, status: str, exit_code: int) -> bool:
        """Write the numbers so far (the run is over); False (logged) if the file cannot be."""
        self.timer.stop()
        try:
            self.stats.write(self.path, file=file, status=status, exit_code=exit_code)
        except OSError as exc:
            logger.error("stats not written to %s: %s", self.path,
                         output_problem(self.path) or exc.strerror or exc)
            return False
        logger.info("stats written to %s", self.path)
        return True


__all__ = ["LagProbe"]
