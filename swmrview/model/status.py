"""What following is doing, as shown in the status bar, and the points-per-second rate."""

from __future__ import annotations

import collections
from dataclasses import dataclass

from swmrview.model.options import EXIT_OK

WAITING, LIVE, STALLED, FINISHED, TIMED_OUT, ERROR = (
    "waiting", "live", "stalled", "finished", "timed out", "error")
TERMINAL = (FINISHED, TIMED_OUT, ERROR)
IDLE = "idle"  # the window before any file is opened


@dataclass(frozen=True)
class Status:
    """One state of following: its kind, the text for the user and the exit code it implies."""

    kind: str
    message: str
    exit_code: int = EXIT_OK
    detail: str = ""

    @property
    def terminal(self) -> bool:
        """True once following has ended (finished, timed out, or error)."""
        return self.kind in TERMINAL


class RateMeter:
    """Points per second over the last ``window`` seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, now: float, count: int) -> float:
        """Record ``count`` points acquired so far at ``now``; return the current rate."""
        self._samples.append((now, count))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.popleft()
        t0, n0 = self._samples[0]
        return (count - n0) / (now - t0) if now > t0 else 0.0

    def clear(self) -> None:
        """Forget every sample (a new scan)."""
        self._samples.clear()


def progress_text(n: int, total: int | None) -> str:
    """``"12/100"`` or ``"12"`` while the scan length is unknown."""
    return f"{n}/{total}" if total else f"{n}"
