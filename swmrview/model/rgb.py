"""An RGB composite of three map channels: each scaled by its own levels into one colour.

Three phases of a diffraction map (three q-windows), or three elements of an XRF map (windows
or fitted lines), shown as one image: red, green and blue each carry one channel, scaled
between its own levels (typed, or by default the 1st and 99th percentiles of its finite values,
so one hot pixel does not darken the rest). Points without a value are black. Plain numpy; the
window draws the result (:mod:`swmrview.gui.rgb_dock`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["COLOURS", "auto_levels", "composite"]

COLOURS = ("red", "green", "blue")


def auto_levels(values: np.ndarray) -> tuple[float, float]:
    """The 1st and 99th percentiles of the finite values (a unit range if none or flat)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(finite, (1, 99)))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def composite(planes: Sequence[np.ndarray | None],
              levels: Sequence[tuple[float, float] | None] = (None, None, None)
              ) -> tuple[np.ndarray, tuple[tuple[float, float], ...]]:
    """``(image, levels used)``: an (..., 3) uint8 image whose red, green and blue are the
    three ``planes`` (same shape; None: that colour off) each scaled between its levels
    (None: :func:`auto_levels`); NaN is 0 (black)."""
    shape = next(np.shape(p) for p in planes if p is not None)
    out = np.zeros(tuple(shape) + (3,), np.uint8)
    used = []
    for k, (plane, level) in enumerate(zip(planes, levels)):
        if plane is None:
            used.append((0.0, 1.0))
            continue
        plane = np.asarray(plane, dtype=np.float64)
        lo, hi = level if level is not None else auto_levels(plane)
        used.append((float(lo), float(hi)))
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = (plane - lo) / (hi - lo) if hi != lo else np.zeros_like(plane)
        scaled = np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0)
        out[..., k] = np.rint(scaled * 255).astype(np.uint8)
    return out, tuple(used)
