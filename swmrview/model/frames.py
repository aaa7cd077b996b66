"""Frames made ready for display in the follower thread, so the GUI thread only draws them.

Levels are computed here (finite values, masked and overflowing pixels left out), and frames
larger than a screen can show are binned by striding, so a first 8192x8192 frame does not
stall the window.
"""

from __future__ import annotations

import numpy as np

from swmrview.core.compute.reduce import nonfinite

#: Frames with more pixels than this along an axis are shown binned (every k-th pixel).
MAX_DISPLAY = 4096
#: Pixels looked at for the levels (a strided sample of larger frames).
LEVEL_SAMPLE = 1 << 20


def frame_kind(frame_shape: tuple[int, ...]) -> str:
    """How frames of this shape are shown: "scalar", "spectrum" or "image".

    A few rows of many channels (a multi-element MCA such as xspress3's 10 x 4096) are spectra
    of several detector elements, not a thin image.
    """
    if not frame_shape:
        return "scalar"
    if len(frame_shape) == 1:
        return "spectrum"
    rows, channels = frame_shape[-2], frame_shape[-1]
    if len(frame_shape) == 2 and rows <= 64 and channels >= 8 * rows:
        return "spectrum"
    return "image"


def display_frame(frame: np.ndarray, mask: np.ndarray | None = None,
                  overflow: float | None = None, screen_binning: int = 1
                  ) -> tuple[np.ndarray, tuple[float, float] | None, int]:
    """(frame to draw, (low, high) levels, binning factor) for one frame.

    Levels span the finite values that are neither masked nor at or above ``overflow``; None
    when there is no such value. Scalars and spectra are returned as they are. Images are
    binned by striding: by ``screen_binning`` (frame pixels per screen pixel, which the live
    view asks for: the screen would drop the other pixels anyway, and the GUI thread draws a
    quarter of them at 2x), and always enough to be at most :data:`MAX_DISPLAY` pixels wide.
    """
    frame = np.asarray(frame)
    binning = 1
    if frame.ndim >= 2 and frame_kind(frame.shape) == "image":
        binning = max(1, int(screen_binning))
        if max(frame.shape[-2:]) > MAX_DISPLAY:
            binning = max(binning, int(np.ceil(max(frame.shape[-2:]) / MAX_DISPLAY)))
        binning = min(binning, max(1, min(frame.shape[-2:]) // 2))   # keep an image to draw
    if binning > 1:
        frame = np.ascontiguousarray(frame[..., ::binning, ::binning])
        mask = None if mask is None else mask[..., ::binning, ::binning]
    return frame, levels_of(frame, mask, overflow), binning


def levels_of(frame: np.ndarray, mask: np.ndarray | None = None,
              overflow: float | None = None) -> tuple[float, float] | None:
    """(min, max) of the valid values of ``frame`` (see `display_frame`); unit range if flat."""
    values = np.asarray(frame)
    step = int(np.ceil(np.sqrt(values.size / LEVEL_SAMPLE))) if values.size > LEVEL_SAMPLE else 1
    if step > 1 and values.ndim >= 2:
        values = values[..., ::step, ::step]
        mask = None if mask is None else mask[..., ::step, ::step]
    keep = None
    if mask is not None and mask.shape == values.shape:
        keep = ~mask
    if overflow is not None and values.dtype.kind in "iuf":
        below = values < overflow
        keep = below if keep is None else keep & below
    bad = nonfinite(values)
    if bad is not None:
        keep = ~bad if keep is None else keep & ~bad
    valid = values if keep is None else values[keep]
    if valid.size == 0:
        return None
    lo, hi = float(valid.min()), float(valid.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)
