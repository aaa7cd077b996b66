"""Pixel-wise reduction of many frames into one: the sum, mean or max frame of a scan region.

Pixels are left out as in :mod:`swmrview.core.reduce`: where the ``mask`` marks them, where a
value is ``>= overflow`` (saturated or gap pixels), and where it is NaN. Over the values that
remain at each pixel:

- ``sum``: their sum (float64, exact for integer frames below 2**53);
- ``mean``: their sum divided by their number;
- ``max``: the largest of them.

A pixel with no value left (always masked, or overflowing in every frame) is NaN in all three,
so it shows as a gap and not as a misleading 0. Scalars are frames of rank 0.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

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
        self._count = np.zeros(self.frame_shape, np.int64)   # valid values per pixel

    def add(self, frame: np.ndarray) -> None:
        """Take one frame into the reduction (the frame is not modified)."""
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape:
            raise ValueError(f"frame of shape {frame.shape}, expected {self.frame_shape}")
        values = frame.astype(np.float64)   # a copy: excluded pixels are set in it
        bad = self._excluded(values, frame.dtype.kind in "fc")
        if bad is None:
            self._count += 1
        else:
            values[bad] = -np.inf if self.how == "max" else 0.0
            self._count += ~bad
        if self.how == "max":
            np.maximum(self._acc, values, out=self._acc)
        else:
            self._acc += values
        self.n += 1

    def _excluded(self, values: np.ndarray, floating: bool) -> np.ndarray | None:
        """Pixels of ``values`` left out (None: none), as the map's reductions leave them out."""
        bad = None if self.mask is None else self.mask.copy()
        checks = []
        if self.overflow is not None:
            with np.errstate(invalid="ignore"):
                checks.append(values >= self.overflow)
        if floating and values.size and np.isnan(values.max()):
            checks.append(np.isnan(values))
        for check in checks:
            bad = check if bad is None else bad | check
        if bad is not None and not bad.any():
            return None
        return bad

    def result(self) -> np.ndarray:
        """The reduced frame so far (float64; NaN where no value was left at a pixel)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self._acc / self._count if self.how == "mean" else self._acc.copy()
        out = np.asarray(out, dtype=np.float64)
        if out.ndim == 0:
            return out if self._count > 0 else np.asarray(np.nan)
        out[self._count == 0] = np.nan
        return out


def accumulate_frames(frames: np.ndarray, how: str = "sum", mask: np.ndarray | None = None,
                      overflow: float | None = None) -> np.ndarray:
    """The ``how`` reduction of a stack of frames (first axis = frame); see the module doc."""
    frames = np.asarray(frames)
    acc = FrameAccumulator(frames.shape[1:], how, mask, overflow)
    for frame in frames:
        acc.add(frame)
    return acc.result()
