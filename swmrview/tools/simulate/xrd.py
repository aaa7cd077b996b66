"""Diffraction images for the simulated beamline: two phases (CeO2 and LaB6) across the sample.

Each point's frame is a powder pattern on a flat detector: the Debye-Scherrer rings of the two
calibrants pyFAI ships (``pyFAI.calibrant``), each scaled by that phase's amount at the point
(CeO2 rises from left to right, LaB6 follows the blob picture), over a flat background, as
uint32 counts. The detector has a horizontal gap of :data:`GAP_ROWS` rows (masked in the
``pixel_mask`` and written at the saturation value, as counting detectors do) and a few hot
pixels at the saturation value that the mask does not know (left out as overflow).

The geometry (a 100 mm distance, beam in the middle, 0.3 Å) is written as NeXus in the file and
as a PONI file beside it; pixels are sized so that the detector spans 25.6 mm whatever the
frame size, so the rings sit at the same q for every ``--frame``. Deterministic: tests compare
written frames with :func:`xrd_frame`.
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import numpy as np

__all__ = ["PHASES", "WAVELENGTH", "DISTANCE", "SATURATION", "GAP_ROWS", "integrator",
           "write_poni", "xrd_frame", "gap_mask", "phase_amounts"]

PHASES = ("CeO2", "LaB6")
WAVELENGTH = 0.3e-10        # m
DISTANCE = 0.1              # m
WIDTH = 25.6e-3             # m: the detector's side, whatever its pixel count
SATURATION = 1 << 20        # counts: gap and hot pixels hold it
GAP_ROWS = 4
_PEAK = 2000.0              # counts at the top of a ring at amount 1
_BACKGROUND = 20.0


def pixel_size(shape: Sequence[int]) -> float:
    return WIDTH / max(shape)


def integrator(shape: Sequence[int]):
    """The simulated detector's AzimuthalIntegrator (a generic detector of ``shape``)."""
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    h, w = (int(n) for n in shape)
    px = pixel_size(shape)
    detector = Detector(px, px, max_shape=(h, w))
    return AzimuthalIntegrator(dist=DISTANCE, poni1=h * px / 2, poni2=w * px / 2,
                               detector=detector, wavelength=WAVELENGTH)


def write_poni(path: str | os.PathLike, shape: Sequence[int]) -> None:
    """Write the geometry as a PONI file."""
    if os.path.exists(path):
        os.remove(path)   # pyFAI appends to an existing file
    integrator(shape).save(os.fspath(path))


def gap_mask(shape: Sequence[int]) -> np.ndarray:
    """The detector's pixel mask (uint8, 1 = gap)."""
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    start = h // 3
    mask[start:start + GAP_ROWS] = 1
    return mask


def _hot_pixels(shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    rng = np.random.default_rng(17)
    return rng.integers(0, h, 5), rng.integers(0, w, 5)


@functools.lru_cache(maxsize=4)
def _rings(shape: tuple[int, int]) -> np.ndarray:
    """(2, h, w) float32: each phase's rings at amount 1 (pyFAI's calibrant images)."""
    from pyFAI.calibrant import get_calibrant

    ai = integrator(shape)
    out = []
    for name in PHASES:
        calibrant = get_calibrant(name)
        calibrant.wavelength = WAVELENGTH
        image = calibrant.fake_calibration_image(ai, shape=shape, Imax=1.0, resolution=0.03)
        out.append(np.asarray(image, dtype=np.float32))
    return np.stack(out)


def phase_amounts(y: float, x: float, blob: float) -> tuple[float, float]:
    """Amounts of CeO2 and LaB6 at sample fractions (y, x), ``blob`` the picture's value."""
    return 0.2 + 0.8 * x, float(np.clip(blob / 2.0, 0.0, 1.2))


def xrd_frame(shape: Sequence[int], amounts: Sequence[float]) -> np.ndarray:
    """The frame of one point: the phases' rings times their ``amounts``, background, gap
    and hot pixels (uint32)."""
    shape = (int(shape[0]), int(shape[1]))
    rings = _rings(shape)
    frame = np.full(shape, _BACKGROUND, np.float32)
    for ring, amount in zip(rings, amounts):
        frame += ring * np.float32(_PEAK * amount)
    out = np.rint(frame).astype(np.uint32)
    out[gap_mask(shape) != 0] = SATURATION
    out[_hot_pixels(shape)] = SATURATION
    return out
