"""What the session says: the status of following a scan, with a refused request said after it.

The kinds, the :class:`~swmrview.model.status.Status` message and the progress text are the
model's (:mod:`swmrview.model.status`); this module picks which one a step is in.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from swmrview.model.options import EXIT_TIMED_OUT, ViewerOptions
from swmrview.model.status import (
    ERROR,
    FINISHED,
    LIVE,
    STALLED,
    TIMED_OUT,
    Status,
    progress_text,
)
from swmrview.session.scan import COMPLETE, MODE_TEXT, OpenScan

NOTICE_S = 10.0          # how long a refused request is said after the status


class StatusLine:
    """The current status, the same without the notice (``plain``) and the last one sent."""

    def __init__(self, status: Status, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.status = self.plain = status
        self.sent: Status | None = None
        self._notice: tuple[str, float] | None = None   # (what was refused, until when)

    def set(self, status: Status) -> None:
        """Make ``status`` the current one; a recent notice is said after its message."""
        self.plain = status
        if self._notice is not None and self.clock() >= self._notice[1]:
            self._notice = None
        if self._notice is not None and status.kind != ERROR:
            status = dataclasses.replace(status, message=f"{status.message} ({self._notice[0]})")
        self.status = status

    def notice(self, text: str) -> None:
        """Say ``text`` (a refused request) after the statuses of the next :data:`NOTICE_S`."""
        self._notice = (text, self.clock() + NOTICE_S)
        self.set(self.plain)


def following_status(scan: OpenScan, options: ViewerOptions, n_ready: int, rate: float,
                     behind: int, writer_closed: bool, watching: bool, quiet_for: float
                     ) -> Status:
    """The status of a step that followed ``scan``: ``behind`` points found but not read,
    ``watching`` timed out before and no point came since, ``quiet_for`` seconds without one."""
    follower = scan.follower
    of = progress_text(n_ready, follower.total_points)
    if behind:
        return Status(LIVE, f"Live ({MODE_TEXT[scan.mode]}): {of} points, "
                            f"{rate:.1f} pt/s, {behind} behind")
    if writer_closed:
        return Status(FINISHED, f"Finished (the writer closed the file): {of} points")
    if (follower.done and follower.timed_out) or (watching and not follower.done):
        return Status(TIMED_OUT, f"Timed out after {options.timeout:g} s without "
                                 f"new points: {of} points (still watching)", EXIT_TIMED_OUT)
    if follower.done:
        what = "Complete file" if scan.mode == COMPLETE else "Finished"
        return Status(FINISHED, f"{what}: {of} points")
    if quiet_for > options.stall_after:
        return Status(STALLED, f"Stalled for {int(quiet_for)} s: {of} points")
    return Status(LIVE, f"Live ({MODE_TEXT[scan.mode]}): {of} points, {rate:.1f} pt/s")
