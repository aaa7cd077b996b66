"""Hold and compare: the scan points held for comparison.

:class:`HeldPoints` is owned by the :class:`~swmrview.model.view_state.ViewState`
(``state.held``): the points the user held, in the order held, each with a number that stays
with it (its marker label and curve colour), and their frames as the session sent them.
The points inside a map region are picked by :mod:`swmrview.model.region_points`. Qt-free, like the
whole model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

logger = logging.getLogger(__name__)

Position = tuple[int, ...]

#: At most this many points are held: more curves or images cannot be told apart.
MAX_HELD = 8


@dataclass(frozen=True)
class HeldPoint:
    """One held point: its number (1 ... MAX_HELD, kept while held) and scan position."""

    number: int
    position: Position


class HeldPoints:
    """The points held for comparison, in the order held, and the frames received for them.

    Parameters
    ----------
    is_acquired
        Tells whether a position has a frame; only such points can be held.
    limit
        The most points held at once.
    """

    def __init__(self, is_acquired: Callable[[Position], bool], limit: int = MAX_HELD) -> None:
        self._is_acquired = is_acquired
        self.limit = int(limit)
        self._points: list[HeldPoint] = []
        self._frames: dict[Position, np.ndarray] = {}

    # ------------------------------------------------------------------ the points
    @property
    def points(self) -> tuple[HeldPoint, ...]:
        """The held points in the order they were held."""
        return tuple(self._points)

    @property
    def positions(self) -> list[Position]:
        """Positions of the held points in the order held."""
        return [p.position for p in self._points]

    @property
    def full(self) -> bool:
        """True when no more points can be held."""
        return len(self._points) >= self.limit

    def __len__(self) -> int:
        return len(self._points)

    def __iter__(self) -> Iterator[HeldPoint]:
        return iter(tuple(self._points))

    def __contains__(self, position: object) -> bool:
        return self.number(position) is not None  # type: ignore[arg-type]

    def number(self, position: Sequence[int]) -> int | None:
        """The number of the held point at ``position``, or None if it is not held."""
        position = _position(position)
        return next((p.number for p in self._points if p.position == position), None)

    def add(self, position: Sequence[int]) -> bool:
        """Hold the point at ``position``; False (nothing changes) if held, full or not acquired."""
        position = _position(position)
        if position in self or self.full or not self._is_acquired(position):
            return False
        used = {p.number for p in self._points}
        number = next(n for n in range(1, self.limit + 1) if n not in used)
        self._points.append(HeldPoint(number, position))
        return True

    def remove(self, position: Sequence[int]) -> bool:
        """Let go of the point at ``position``; False if it was not held."""
        position = _position(position)
        kept = [p for p in self._points if p.position != position]
        if len(kept) == len(self._points):
            return False
        self._points = kept
        self._frames.pop(position, None)
        return True

    def toggle(self, position: Sequence[int]) -> bool:
        """Hold the point, or let it go if held; True if it is held afterwards."""
        if self.remove(position):
            return False
        return self.add(position)

    def clear(self) -> None:
        """Let go of every point."""
        self._points.clear()
        self._frames.clear()

    # ------------------------------------------------------------------ their frames
    def set_frame(self, position: Sequence[int], frame: np.ndarray,
                  levels: tuple[float, float] | None = None) -> bool:
        """Keep the frame read for a held point, with the levels the follower computed for it
        (masked and overflowing pixels left out); False (dropped) if the point is not held."""
        position = _position(position)
        if position not in self:
            return False
        self._frames[position] = (frame, levels)
        return True

    def frame(self, position: Sequence[int]) -> np.ndarray | None:
        """The frame received for the held point at ``position``, or None (not yet)."""
        held = self._frames.get(_position(position))
        return None if held is None else held[0]

    def levels(self, position: Sequence[int]) -> tuple[float, float] | None:
        """The levels of the held point's frame (None: not received, or no valid pixel)."""
        held = self._frames.get(_position(position))
        return None if held is None else held[1]

    def missing_frames(self) -> list[Position]:
        """Held points whose frame has not arrived (to request from the session)."""
        return [p.position for p in self._points if p.position not in self._frames]

    def clear_frames(self) -> None:
        """Forget the frames (another dataset is shown): the points stay held."""
        self._frames.clear()


def _position(position: Sequence[int]) -> Position:
    return tuple(int(p) for p in position)
