"""What ``--stats OUT.json`` records about a run, to tell why a window lags; plain Python.

The window feeds a :class:`LagStats` from the GUI thread: the ticks of a fine timer (how late
the event loop runs them), the scans opened and the updates applied (points and bytes read),
each live frame drawn (with the time the session found its point ready, so the time from
key to screen), and each point asked for (a click on the map, the slider) until its frame is
drawn. :meth:`LagStats.summary` turns them into the flat numbers written at exit.
All times are :func:`time.monotonic` seconds of one process.
"""

from __future__ import annotations

import json
import math
import os
import time
from array import array
from typing import Any, Callable, Sequence

import numpy as np

from swmrview.model.messages import ScanInfo, Update

__all__ = ["LagStats", "percentile", "TICK_S", "STALL_S", "FIELDS"]

TICK_S = 0.010    # the event-loop probe's interval
STALL_S = 0.050   # a tick later than this is a stall: the window froze visibly

#: Every field of the JSON file, in order (documented in the README, "When the viewer lags").
FIELDS = (
    "file", "status", "exit_code", "run_s", "following_s",
    "event_loop_ticks", "event_loop_late_ms_p50", "event_loop_late_ms_p99",
    "event_loop_late_ms_max", "event_loop_stalls_over_50ms",
    "frames_drawn", "frames_per_s",
    "points_read", "points_per_s", "mb_read", "read_mb_per_s",
    "key_to_screen_frames", "key_to_screen_ms_median", "key_to_screen_ms_p90",
    "click_to_frame_count", "click_to_frame_ms_median", "click_to_frame_ms_max",
)


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``samples``, interpolated linearly between the two
    nearest (numpy's default); None when there are none."""
    if len(samples) == 0:
        return None
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def frame_nbytes(info: ScanInfo) -> int:
    """Bytes of one decoded frame of the dataset ``info`` shows (0 if its type is not plain)."""
    try:
        itemsize = np.dtype(info.dtype).itemsize
    except TypeError:
        return 0
    return itemsize * math.prod(info.frame_shape)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


def _rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 3) if seconds > 0 else None


class LagStats:
    """Counts of one window's run; see the module docstring. ``clock`` gives the time when a
    call does not (tests pass their own times)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.frames_drawn = 0
        self.points_read = 0
        self.bytes_read = 0
        self._late = array("d")       # seconds each tick came after it was due
        self._to_screen = array("d")  # seconds from a point found ready to its frame drawn
        self._to_frame = array("d")   # seconds from a point asked for to its frame drawn
        self._asked: float | None = None
        self._last_tick: float | None = None
        self._frame_bytes = 0
        self._following = 0.0         # the finished spans: scan opened -> its newest point
        self._span: list[float] | None = None   # [opened, newest point] of the shown scan

    # ------------------------------------------------------------------ what the window says
    def tick(self, now: float | None = None) -> None:
        """The event-loop probe's timer fired (every :data:`TICK_S`)."""
        now = self.clock() if now is None else now
        if self._last_tick is not None:
            self._late.append(max(0.0, now - self._last_tick - TICK_S))
        self._last_tick = now

    def scan_opened(self, info: ScanInfo, now: float | None = None) -> None:
        """The window shows a new scan or dataset: following time counts from here."""
        now = self.clock() if now is None else now
        self._close_span()
        self._span = [now, now]
        self._frame_bytes = frame_nbytes(info)

    def update(self, update: Update, now: float | None = None) -> None:
        """The window applied ``update``: its new points were read."""
        if update.new_points <= 0:
            return
        self.points_read += update.new_points
        self.bytes_read += update.new_points * self._frame_bytes
        if self._span is not None:
            self._span[1] = self.clock() if now is None else now

    def frame_drawn(self, found_at: float | None, now: float | None = None) -> None:
        """A live frame (the newest point's) was drawn; its point was found at ``found_at``."""
        now = self.clock() if now is None else now
        self.frames_drawn += 1
        if found_at is not None:
            self._to_screen.append(max(0.0, now - found_at))

    def point_asked(self, now: float | None = None) -> None:
        """A point's frame was asked for (a click on the map, the slider)."""
        self._asked = self.clock() if now is None else now

    def point_drawn(self, now: float | None = None) -> None:
        """The frame of the point asked for last was drawn."""
        if self._asked is not None:
            now = self.clock() if now is None else now
            self._to_frame.append(max(0.0, now - self._asked))
            self._asked = None

    # ------------------------------------------------------------------ the numbers
    @property
    def following_s(self) -> float:
        """Seconds spent following: from each scan opening to its newest point read."""
        span = self._span
        return self._following + (span[1] - span[0] if span is not None else 0.0)

    def _close_span(self) -> None:
        if self._span is not None:
            self._following += self._span[1] - self._span[0]
            self._span = None

    def summary(self, file: str | None = None, status: str | None = None,
                exit_code: int | None = None, now: float | None = None) -> dict[str, Any]:
        """The numbers of :data:`FIELDS` (None where nothing was measured)."""
        now = self.clock() if now is None else now
        following = self.following_s
        late, to_screen = self._late, self._to_screen
        mb = self.bytes_read / 1e6
        out = {
            "file": file, "status": status, "exit_code": exit_code,
            "run_s": round(now - self.started, 3), "following_s": round(following, 3),
            "event_loop_ticks": len(late),
            "event_loop_late_ms_p50": _ms(percentile(late, 50)),
            "event_loop_late_ms_p99": _ms(percentile(late, 99)),
            "event_loop_late_ms_max": _ms(max(late) if late else None),
            "event_loop_stalls_over_50ms": sum(1 for s in late if s > STALL_S),
            "frames_drawn": self.frames_drawn,
            "frames_per_s": _rate(self.frames_drawn, following),
            "points_read": self.points_read,
            "points_per_s": _rate(self.points_read, following),
            "mb_read": round(mb, 6),
            "read_mb_per_s": _rate(mb, following),
            "key_to_screen_frames": len(to_screen),
            "key_to_screen_ms_median": _ms(percentile(to_screen, 50)),
            "key_to_screen_ms_p90": _ms(percentile(to_screen, 90)),
            "click_to_frame_count": len(self._to_frame),
            "click_to_frame_ms_median": _ms(percentile(self._to_frame, 50)),
            "click_to_frame_ms_max": _ms(max(self._to_frame) if self._to_frame else None),
        }
        return out

    def write(self, path: str | os.PathLike, **context: Any) -> None:
        """Write :meth:`summary` (``context``: file, status, exit_code) as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.summary(**context), f, indent=2)
            f.write("\n")
