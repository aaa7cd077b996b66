"""Ask the open scan what is new: ready points, a writer that closed a keyless file, and motor
positions (or a non-grid scan's point positions) that grew since they were last read.

The :class:`Poller` remembers when each was last asked and when points last came (for the
stalled status), and when each point was found ready (for the window's key-to-screen time).
Runs in the follower thread.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable

from swmrview.core.files.opening import writer_active

from swmrview.session.reading import Reader
from swmrview.session.scan import GROWTH, OpenScan, refresh_axes

logger = logging.getLogger(__name__)

CHECK_FILE_S = 1.0       # how often to look for a replaced file (or a writer that closed it)
AXES_EVERY_S = 1.0       # how often growing motor positions are re-read


class Poller:
    """Polls the follower of the open scan into a :class:`Reader`'s new points."""

    def __init__(self, path: str, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Start afresh (a new session, or the file was replaced)."""
        now = self.clock()
        self.last_new = self._last_axes = self._last_writer_check = now
        self.writer_closed = False
        self._axes_final = False
        self._n_found = 0   # points queued since the reset, in the order the reader reads them
        self._found: collections.deque[tuple[int, float]] = collections.deque()  # (count, when)

    def poll(self, scan: OpenScan, reader: Reader, now: float, watching: bool) -> bool:
        """Queue the points ready since the last poll; return ``watching`` (timed out before and
        no point came since)."""
        follower = scan.follower
        if watching and follower.done:
            follower.resume()
        if not follower.done:
            new = follower.poll()
            if new.size:
                self._queue(reader, scan.positions(new), now)
                self.last_new = now
                if watching:
                    logger.info("new points after the timeout: following again")
                    watching = False
        if scan.mode == GROWTH and not follower.done and not reader.pending \
                and now - self._last_writer_check > CHECK_FILE_S:
            self._last_writer_check = now
            self._check_writer(scan, reader)
        return watching

    def _check_writer(self, scan: OpenScan, reader: Reader) -> None:
        """No flag to wait for in a keyless file: the writer's close ends the scan."""
        if writer_active(self.path):
            return
        follower = scan.follower
        self.writer_closed = True
        follower.settle()  # what is stored now is final: the last chunk too
        scan.written.settle()
        new = follower.poll()
        if new.size:
            self._queue(reader, scan.positions(new), self.clock())
        follower.stop()

    def _queue(self, reader: Reader, positions, now: float) -> None:
        """Queue new ``positions`` for reading, noting that they were found ready at ``now``."""
        reader.pending.append(positions)
        self._n_found += len(positions)
        self._found.append((self._n_found, now))

    def found_at(self, n_read: int) -> float | None:
        """When the newest of the first ``n_read`` points queued was found ready (the
        :func:`time.monotonic` of its poll), or None if it was not queued here."""
        while self._found and self._found[0][0] < n_read:
            self._found.popleft()
        return self._found[0][1] if self._found and n_read > 0 else None

    def axes(self, scan: OpenScan, n_ready: int, final: bool, now: float) -> dict[str, Any]:
        """The axes and scatter fields of an update, when due (every :data:`AXES_EVERY_S`, and
        once more when the scan is ``final``: positions are written last too)."""
        fields: dict[str, Any] = {}
        if (not final and now - self._last_axes > AXES_EVERY_S) \
                or (final and not self._axes_final):
            self._last_axes = now
            if refresh_axes(scan, force=final):
                fields["axes"] = scan.axes
            scatter = scan.scatter.read(n_ready, scan.follower.scan_shape, final) \
                if scan.scatter is not None else None
            if scatter is not None:  # a non-grid scan's point positions
                fields["scatter"] = scatter
        self._axes_final = final
        return fields
