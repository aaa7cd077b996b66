"""X-ray fluorescence spectra and an I0 monitor for the simulated beamline (an Xspress3-like MCA).

Each point gives one frame of shape (detector elements, channels): Gaussian K-alpha/K-beta lines
of a few elements whose amounts follow different maps over the sample (a gradient, the standard
blob picture, a ring, a stripe), elastic and Compton scatter near the beam energy, a smooth
background, each detector element with its own gain, resolution and efficiency, all scaled by
the point's I0 and drawn as Poisson counts. I0 decays slowly between top-ups, so dividing an
element's counts by I0 gives its map without the beam's steps. Deterministic for a seed and
point: tests compare written frames with :func:`xrf_frame`.

``overlap=True`` (``--overlap``) adds elements whose lines overlap, each with a known map of its
own: Mn (Kβ 6.490 keV under Fe Kα 6.404), As and Pb (As Kα 10.543 and Pb Lα 10.551 keV
coincide). The beam is then at 15 keV (:data:`OVERLAP_BEAM_ENERGY`) so Pb's L lines are
excited. An energy window cannot separate these; a fit of the lines can.

Only numpy: the writer (:mod:`swmrview.tools.simulate.layout`) decides where the arrays go in the file.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

__all__ = ["LINES", "OVERLAP_LINES", "BEAM_ENERGY", "OVERLAP_BEAM_ENERGY", "lines",
           "beam_energy", "ENERGY_MAX", "I0_FULL", "energy_axis", "i0_value",
           "element_maps", "xrf_mean", "xrf_frame"]

#: Emission lines (keV) and their intensity relative to K-alpha, per element.
LINES: dict[str, tuple[tuple[float, float], ...]] = {
    "Ca": ((3.69, 1.0), (4.01, 0.13)),
    "Fe": ((6.40, 1.0), (7.06, 0.13)),
    "Cu": ((8.05, 1.0), (8.90, 0.14)),
    "Zn": ((8.64, 1.0), (9.57, 0.14)),
}
#: The overlapping elements added by ``overlap=True``: the main lines at their tabulated
#: energies (keV) with the share of the group's counts PyMca's tables give them at 15 keV
#: (Pb: L3 lines only, L2 and L1 lie above the beam).
OVERLAP_LINES: dict[str, tuple[tuple[float, float], ...]] = {
    "Mn": ((5.899, 0.584), (5.888, 0.298), (6.490, 0.118)),
    "As": ((10.544, 0.578), (10.508, 0.298), (11.724, 0.120)),
    "Pb": ((10.551, 0.714), (12.622, 0.120), (10.450, 0.081), (9.184, 0.044),
           (13.013, 0.015), (12.600, 0.013)),
}
#: Counts in an element's lines per detector element at full I0 and concentration 1.
_LINE_COUNTS = {"Ca": 3000.0, "Fe": 8000.0, "Cu": 6000.0, "Zn": 5000.0,
                "Mn": 6000.0, "As": 5000.0, "Pb": 6000.0}
#: Incident beam energy (keV): the elastic scatter peak; Compton sits just below it.
BEAM_ENERGY = 12.0
#: With the overlapping elements: above Pb's L3 edge (13.04 keV).
OVERLAP_BEAM_ENERGY = 15.0
#: The channels span 0 .. ENERGY_MAX keV whatever their number (4096 channels: 5 eV each).
ENERGY_MAX = 20.48
#: I0 counts just after a top-up.
I0_FULL = 1.0e5
_ELASTIC_COUNTS = 1000.0
_COMPTON_COUNTS = 2000.0
_I0_DECAY = 0.08            # fraction lost between top-ups
_I0_TOPUPS = 5              # top-ups per scan (at least every 16 points)


def lines(overlap: bool = False) -> dict[str, tuple[tuple[float, float], ...]]:
    """The emitting elements and their lines: :data:`LINES`, plus :data:`OVERLAP_LINES`."""
    return {**LINES, **OVERLAP_LINES} if overlap else LINES


def beam_energy(overlap: bool = False) -> float:
    """The incident (elastic scatter) energy in keV."""
    return OVERLAP_BEAM_ENERGY if overlap else BEAM_ENERGY


def _compton(beam: float) -> float:
    return beam / (1.0 + beam / 511.0)     # 90 degree scattering


def energy_axis(channels: int) -> np.ndarray:
    """Channel centres in keV: the calibration written as the spectra's ``energy`` axis."""
    width = ENERGY_MAX / channels
    return (np.arange(channels, dtype=np.float64) + 0.5) * width


def i0_value(sequence: int, n_points: int) -> float:
    """I0 of the ``sequence``-th acquired point (from 0): decays, then a top-up restores it."""
    period = max(16, -(-n_points // _I0_TOPUPS))
    phase = (sequence % period) / period
    ripple = 1.0 + 0.01 * np.sin(2 * np.pi * sequence / 29.0)
    return float(I0_FULL * np.exp(-_I0_DECAY * phase) * ripple)


def element_maps(y, x, z=0.5, picture: Callable | None = None, overlap: bool = False
                 ) -> dict[str, np.ndarray]:
    """Concentration (about 0.05 .. 1.5) of each element at fractional sample position (y, x).

    Ca rises along x, Fe follows ``picture(y, x, z)`` (the simulator's blobs and ring), Cu is
    a ring off centre, Zn a blob plus a stripe across y: four maps that look different. With
    ``overlap``: Mn a blob at the upper right plus a rise along y, As a stripe down x = 0.25,
    Pb a blob at the lower middle.
    """
    y, x = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    ca = 0.15 + 0.8 * np.clip(x, 0, 1) * (1.0 - 0.3 * np.clip(y, 0, 1))
    fe = picture(y, x, z) / 2.0 if picture is not None else 0.5 + 0 * x
    r = np.hypot(y - 0.4, x - 0.62)
    cu = 0.05 + np.exp(-((r - 0.22) ** 2) / (2 * 0.045 ** 2))
    zn = (0.05 + 1.2 * np.exp(-((y - 0.72) ** 2 + (x - 0.28) ** 2) / (2 * 0.1 ** 2))
          + 0.4 * np.exp(-((y - 0.2) ** 2) / (2 * 0.04 ** 2)))
    maps = {"Ca": ca, "Fe": fe, "Cu": cu, "Zn": zn}
    if overlap:
        maps["Mn"] = (0.1 + 1.0 * np.exp(-((y - 0.3) ** 2 + (x - 0.75) ** 2) / (2 * 0.12 ** 2))
                      + 0.3 * np.clip(y, 0, 1))
        maps["As"] = 0.1 + 1.0 * np.exp(-((x - 0.25) ** 2) / (2 * 0.07 ** 2)) + 0 * y
        maps["Pb"] = 0.1 + 1.2 * np.exp(-((y - 0.7) ** 2 + (x - 0.6) ** 2) / (2 * 0.12 ** 2))
    return maps


def _detector(k: int) -> tuple[float, float, float]:
    """(gain, electronic noise sigma in keV, efficiency) of detector element ``k``."""
    return 1.0 + 0.003 * ((k % 5) - 2), 0.035 + 0.004 * (k % 4), 1.0 - 0.04 * (k % 3)


@functools.lru_cache(maxsize=8)
def _templates(elements: int, channels: int, overlap: bool = False) -> np.ndarray:
    """(components, elements, channels) expected counts per unit amount: one per emitting
    element (its lines), elastic, Compton, background; cached, read-only."""
    e = energy_axis(channels)
    width = ENERGY_MAX / channels
    emitting = lines(overlap)
    beam = beam_energy(overlap)
    out = np.zeros((len(emitting) + 3, elements, channels))
    for k in range(elements):
        gain, noise, efficiency = _detector(k)

        def peak(energy: float, extra: float = 0.0) -> np.ndarray:
            sigma = np.sqrt(noise ** 2 + 0.00035 * energy + extra ** 2)
            centre = energy * gain
            return width * np.exp(-0.5 * ((e - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))

        for j, element_lines in enumerate(emitting.values()):
            out[j, k] = sum(rel * peak(energy) for energy, rel in element_lines)
        out[-3, k] = peak(beam)
        out[-2, k] = peak(_compton(beam), extra=0.12)
        cutoff = 1.0 / (1.0 + np.exp((e - beam - 0.2) / 0.08))
        low = 1.0 - np.exp(-((e / 1.2) ** 3))
        out[-1, k] = (0.4 + 2.5 * np.exp(-0.5 * ((e - 0.55 * beam)
                                                 / (0.3 * beam)) ** 2)) * cutoff * low
        out[:, k] *= efficiency
    out.setflags(write=False)
    return out


def xrf_mean(maps: dict[str, float], i0: float, elements: int, channels: int,
             scatter: float = 1.0, overlap: bool = False) -> np.ndarray:
    """Expected counts (elements, channels) for element amounts ``maps`` at ``i0``."""
    amounts = [float(maps[name]) * _LINE_COUNTS[name] for name in lines(overlap)]
    amounts += [_ELASTIC_COUNTS * scatter, _COMPTON_COUNTS * scatter, 1.0]
    mean = np.tensordot(np.asarray(amounts), _templates(elements, channels, overlap), axes=1)
    return mean * (i0 / I0_FULL)


def xrf_frame(mean: np.ndarray, seed: int, index: int) -> np.ndarray:
    """Poisson counts (uint32) drawn from ``mean``, the same for the same seed and point."""
    rng = np.random.default_rng([seed, index, 0xF1])
    return rng.poisson(mean).astype(np.uint32)
