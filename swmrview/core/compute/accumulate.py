"""Pixel-wise reduction of many frames into one: the sum, mean or max frame of a scan region.

Pixels are left out as in :mod:`swmrview.core.compute.reduce`: where the ``mask`` marks them, where a
value is ``>= overflow`` (saturated or gap pixels), and where it is not finite (NaN, +inf,
-inf). Over the values that remain at each pixel:

- ``sum``: their sum (float64, exact for integer frames below 2**53);
- ``mean``: their sum divided by their number;
- ``max``: the largest of them.

A pixel with no value left (always masked, or overflowing in every frame) is NaN in all three,
so it shows as a gap and not as a misleading 0. Scalars are frames of rank 0.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from swmrview.core.compute.reduce import nonfinite

__all__ = ["HOWS", "FrameAccumulator", "accumulate_frames"]

HOWS = ("sum", "max", "mean")


class FrameAccumulator:
    """Adds frames of one shape, one at a time, into their pixel-wise ``how`` reduction.

    Parameters
    ----------
    frame_shape
        Shape of every frame added.
    how
        "sum", "max" or "mean".
    mask
        Bool array broadcastable to ``frame_shape``, True (or non-zero) = pixel left out.
    overflow
        Values ``>= overflow`` are left out.
    """

    def __init__(self, frame_shape: Sequence[int], how: str = "sum",
                 mask: np.ndarray | None = None, overflow: float | None = None) -> None:
        if how not in HOWS:
            raise ValueError(f"unknown reduction {how!r}; choose from {HOWS}")
        self.frame_shape = tuple(int(n) for n in frame_shape)
        self.how = how
        self.overflow = overflow
        self.mask = None if mask is None else np.broadcast_to(np.asarray(mask) != 0,
                                                              self.frame_shape)
        self.n = 0   # frames added
        if how == "max":
            self._acc = np.full(self.frame_shape, -np.inf)
        else:
            self._acc = np.zeros(self.frame_shape)
        self._missing: np.ndarray | None = None   # per pixel: frames whose value was left out

    def add(self, frame: np.ndarray) -> None:
        """Take one frame into the reduction (the frame is not modified).

        Frames with no overflowing or NaN value are added as they are; masked pixels are
        only blanked in :meth:`result` (a mask is the same for every frame).
        """
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape:
            raise ValueError(f"frame of shape {frame.shape}, expected {self.frame_shape}")
        bad = self._excluded(frame)
        if bad is not None:
            values = frame.astype(np.float64)   # a copy to blank the excluded values in
            values[bad] = -np.inf if self.how == "max" else 0.0
            if self._missing is None:
                self._missing = np.zeros(self.frame_shape, np.int64)
            self._missing += bad
            frame = values
        if self.how == "max":
            np.maximum(self._acc, frame, out=self._acc)
        else:
            np.add(self._acc, frame, out=self._acc)
        self.n += 1

    def _excluded(self, frame: np.ndarray) -> np.ndarray | None:
        """Values of ``frame`` at or above the overflow, or not finite (None: there are
        none)."""
        if frame.size == 0 or frame.dtype.kind not in "iuf":
            return None
        top = frame.max()
        bad = nonfinite(frame, top, frame.min()) if frame.dtype.kind == "f" else None
        if self.overflow is not None and (bad is not None or top >= self.overflow):
            with np.errstate(invalid="ignore"):
                over = frame >= self.overflow
            bad = over if bad is None else bad | over
        return bad

    def result(self) -> np.ndarray:
        """The reduced frame so far (float64; NaN where no value was left at a pixel)."""
        count = self.n if self._missing is None else self.n - self._missing
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self._acc / count if self.how == "mean" else self._acc.copy()
        if out.ndim == 0:
            empty = bool(count == 0) or (self.mask is not None and bool(self.mask))
            return np.asarray(np.nan) if empty else np.asarray(out)
        if self._missing is not None or self.n == 0:
            out[count == 0] = np.nan
        if self.mask is not None:
            out[self.mask] = np.nan
        return out


def accumulate_frames(frames: np.ndarray, how: str = "sum", mask: np.ndarray | None = None,
                      overflow: float | None = None) -> np.ndarray:
    """The ``how`` reduction of a stack of frames (first axis = frame); see the module doc."""
    frames = np.asarray(frames)
    acc = FrameAccumulator(frames.shape[1:], how, mask, overflow)
    for frame in frames:
        acc.add(frame)
    return acc.result()
