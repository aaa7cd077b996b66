"""Acting on a scan's end (finished, timed out, error) once the worker has caught up.

When a scan ends the window exports, grabs and maybe closes (:class:`~swmrview.gui.headless.
Headless`). The worker may still owe it values then: a map or channel the window asked for
after the points were read (the map shown last time, a settings file's channels) is filled over
the acquired points afterwards. So :class:`ScanEnd` asks the worker to say when it has read
every point found and answered every request made before (a barrier: requests are served in
order), and acts only then. Without it a headless ``--export-map`` of a finished file could
write a map still NaN where the backfill had not reached.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from swmrview.model.messages import Update
from swmrview.model.status import Status


class ScanEnd(QObject):
    """The scan-end actions of ``window`` (a :class:`~swmrview.gui.main_window.MainWindow`)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.ended: str | None = None        # the terminal status kind acted on or awaited
        self._token = 0
        self._waiting: Status | None = None  # the end to act on when the worker has settled

    def reset(self) -> None:
        """A new file or scan: nothing has ended."""
        self.ended, self._waiting = None, None

    def update(self, update: Update) -> None:
        """Note the status of ``update``; a new end asks the worker to settle first."""
        status = update.status
        if not status.terminal:
            self.reset()   # following resumed (after a timeout) or a new scan
            return
        if self.ended == status.kind:   # timed out, then finished: act again
            return
        window = self.window
        self.ended = status.kind
        window.exit_code = status.exit_code
        window.scheduler.map_now()   # the final map at the next redraw, not later
        self._waiting = status
        self._token += 1
        if window.follow is not None:
            window.follow.request_settled.emit(self._token)
        else:
            self.settled(self._token)

    def settled(self, token: int) -> None:
        """The worker has read everything found and served every request before ``token``."""
        if token != self._token or self._waiting is None:
            return   # an older end, or a new scan since
        status, self._waiting = self._waiting, None
        self.window.scheduler.map_now()
        self.window.headless.scan_ended(status)
