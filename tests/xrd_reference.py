"""pyFAI's own integrate1d over a scan's frames: the reference diffraction maps are checked
against (independent of swmrview's step: the mask is the file's pixel mask plus each frame's
saturated pixels, passed to pyFAI as a mask)."""

from __future__ import annotations

import h5py
import numpy as np
import pyFAI

DATA = "/entry/instrument/detector/data"
MASK = "/entry/instrument/detector/pixel_mask"
SATURATION = "/entry/instrument/detector/saturation_value"
CSR = ("bbox", "csr", "cython")


def patterns(scan, poni, npt=1000, unit="q_nm^-1", azimuth=None, method=CSR):
    """(radial, intensities of shape scan_shape + (npt,)) of every frame of ``scan``."""
    ai = pyFAI.load(str(poni))
    with h5py.File(scan, "r", locking=False) as f:
        frames = f[DATA][()]
        mask = f[MASK][()] != 0
        saturation = f[SATURATION][()]
    rank = frames.ndim - 2
    out = np.empty(frames.shape[:rank] + (npt,))
    radial = None
    for index in np.ndindex(frames.shape[:rank]):
        frame = frames[index]
        result = ai.integrate1d(frame, npt, unit=unit, method=method,
                                mask=mask | (frame >= saturation), azimuth_range=azimuth)
        out[index] = result.intensity
        radial = result.radial
    return radial, out


def window(radial, intensities, lo, hi):
    """The sum of the bins whose centres lie in [lo, hi]."""
    inside = (radial >= lo) & (radial <= hi)
    return intensities[..., inside].sum(axis=-1)
