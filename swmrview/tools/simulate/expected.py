"""What the simulated beamline writes, computed without a file: the frames, the I0 monitor, the
motor positions and the acquisition order, so tests compare what a reader got with these.

Frame content is deterministic and recognisable: a map of per-frame sums draws a picture of
blobs and a ring; spiral and fly scans see the sample at their recorded positions.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from swmrview.core.follow.positions import get_position_snake
from swmrview.tools.simulate import positions as sim_positions
from swmrview.tools.simulate import xrd as sim_xrd
from swmrview.tools.simulate import xrf as sim_xrf
from swmrview.tools.simulate.config import POSITIONER_VALUE, POSITIONER_VALUE_SET, SimConfig

_AXIS_NAMES = ("stage_z", "stage_y", "stage_x")
_AXIS_RANGES = {"stage_z": (0.0, 0.5), "stage_y": (-1.0, 1.0), "stage_x": (0.0, 3.0)}
_IMAGE_PEAK = 4000.0
_IMAGE_BACKGROUND = 10.0


def axis_names(rank: int) -> tuple[str, ...]:
    """Motor names of a scan of ``rank`` dims, slowest first."""
    return _AXIS_NAMES[3 - rank:]


def axis_positions(cfg: SimConfig) -> dict[str, np.ndarray]:
    """Demand positions (mm) of each scan axis, as written to the NXdata group."""
    return {name: np.linspace(*_AXIS_RANGES[name], n)
            for name, n in zip(axis_names(len(cfg.shape)), cfg.shape)}


@functools.lru_cache(maxsize=8)
def _picture(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Blob centres/widths/heights of the sample picture for ``seed``."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.15, 0.85, size=(3, 2))
    params = np.column_stack([centres, rng.uniform(0.07, 0.14, 3), rng.uniform(0.5, 1.0, 3)])
    return params, rng.uniform(0.25, 0.35, 1)


def _fractions(index: int, shape: Sequence[int]) -> tuple[float, ...]:
    """Position of flat ``index`` as fractions in [0, 1] along each scan dim."""
    pos = np.unravel_index(index, tuple(shape))
    return tuple(p / (n - 1) if n > 1 else 0.5 for p, n in zip(pos, shape))


def sample_yxz(index: int, cfg: SimConfig) -> tuple[float, float, float]:
    """Where on the sample (fractions y, x, z in [0, 1]) point ``index`` looks.

    A grid: its place in the grid (a 1-D scan runs along x at y = 0.5). Spiral / fly: its
    recorded motor positions, so the picture is seen where the motors really were.
    """
    if cfg.positions != "grid":
        y, x = sim_positions.fractions(cfg.positions, cfg.shape, cfg.seed, cfg.snake, index)
        return y, x, 0.5
    frac = _fractions(index, cfg.shape)
    if len(frac) == 1:
        return 0.5, frac[0], 0.5
    return frac[-2], frac[-1], (frac[0] if len(frac) == 3 else 0.5)


def _picture_value(y, x, z, seed: int):
    """Blobs plus a ring at fractional sample position(s) (y, x, z): in [0.1, ~2]."""
    blobs, radius = _picture(seed)
    value = 0.1
    for cy, cx, width, height in blobs:
        value = value + height * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width ** 2))
    ring_r = radius[0] * (0.7 + 0.6 * z)
    r = np.hypot(y - 0.5, x - 0.5)
    return value + 0.6 * np.exp(-((r - ring_r) ** 2) / (2 * 0.035 ** 2))


def sample_value(index: int, cfg: SimConfig) -> float:
    """The sample's 'true' intensity at point ``index``: blobs plus a ring, in [0.1, ~2]."""
    return float(_picture_value(*sample_yxz(index, cfg), cfg.seed))


def element_amounts(index: int, cfg: SimConfig) -> dict[str, float]:
    """XRF: each element's concentration at point ``index`` (Fe follows the blob picture)."""
    y, x, z = sample_yxz(index, cfg)
    maps = sim_xrf.element_maps(y, x, z, picture=functools.partial(_picture_value,
                                                                   seed=cfg.seed),
                                overlap=cfg.overlap)
    return {name: float(value) for name, value in maps.items()}


@functools.lru_cache(maxsize=4)
def _spot_template(h: int, w: int) -> np.ndarray:
    """A (2h, 2w) float32 Gaussian spot centred at (h, w), peak 1; frames are windows of it."""
    sigma = max(min(h, w) / 12.0, 1.5)
    y = np.exp(-((np.arange(2 * h) - h) ** 2) / (2 * sigma ** 2)).astype(np.float32)
    x = np.exp(-((np.arange(2 * w) - w) ** 2) / (2 * sigma ** 2)).astype(np.float32)
    return np.outer(y, x)


def _image(index: int, cfg: SimConfig, value: float) -> np.ndarray:
    h, w = cfg.frame
    fy, fx, _ = sample_yxz(index, cfg)
    dy = int(round((fy - 0.5) * h / 2))
    dx = int(round((fx - 0.5) * w / 2))
    # Window of the template whose spot centre lands at (h/2 + dy, w/2 + dx).
    y0, x0 = h - (h // 2 + dy), w - (w // 2 + dx)
    window = _spot_template(h, w)[y0:y0 + h, x0:x0 + w]
    frame = window * np.float32(_IMAGE_PEAK * value / 2.0)
    frame += np.float32(_IMAGE_BACKGROUND)
    return frame.astype(np.uint16)


def _spectrum(index: int, cfg: SimConfig, value: float) -> np.ndarray:
    (n,) = cfg.frame
    centre = n * (0.3 + 0.4 * sample_yxz(index, cfg)[1])
    sigma = max(n / 40.0, 1.0)
    channels = np.arange(n, dtype=np.float32)
    peak = np.exp(-((channels - np.float32(centre)) ** 2) / np.float32(2 * sigma ** 2))
    return (np.float32(value) * peak + np.float32(0.05)).astype(np.float32)


def expected_frame(index: int, cfg: SimConfig) -> np.ndarray:
    """Exactly the frame written at flat grid ``index`` (C order over ``cfg.shape``)."""
    if not 0 <= index < cfg.n_points:
        raise IndexError(f"index {index} outside scan of {cfg.n_points} points")
    if cfg.xrf:
        return sim_xrf.xrf_frame(expected_mean_frame(index, cfg), cfg.seed, index)
    value = sample_value(index, cfg)
    if cfg.xrd:
        y, x, _ = sample_yxz(index, cfg)
        return sim_xrd.xrd_frame(cfg.frame, sim_xrd.phase_amounts(y, x, value))
    if len(cfg.frame) == 2:
        return _image(index, cfg, value)
    if len(cfg.frame) == 1:
        return _spectrum(index, cfg, value)
    return np.asarray(value, dtype=np.float64)


def expected_mean_frame(index: int, cfg: SimConfig) -> np.ndarray:
    """XRF: the expected counts at point ``index`` (the frame before Poisson noise), float64."""
    y = sample_yxz(index, cfg)[0]
    return sim_xrf.xrf_mean(element_amounts(index, cfg), expected_i0(index, cfg),
                            cfg.elements, cfg.channels, scatter=0.9 + 0.2 * y,
                            overlap=cfg.overlap)


def _sequence(index: int, cfg: SimConfig) -> int:
    """How many points were acquired before point ``index`` (0 for the first)."""
    if not cfg.snake or len(cfg.shape) == 1:
        return int(index)
    return int(_sequences(cfg.shape)[index])


@functools.lru_cache(maxsize=8)
def _snake_order(shape: tuple[int, ...]) -> np.ndarray:
    order = np.array([np.ravel_multi_index(get_position_snake(i, shape, len(shape)), shape)
                      for i in range(int(np.prod(shape)))], dtype=np.int64)
    order.setflags(write=False)
    return order


@functools.lru_cache(maxsize=8)
def _sequences(shape: tuple[int, ...]) -> np.ndarray:
    """Snake scans: acquisition sequence number of each flat grid index."""
    seq = np.argsort(_snake_order(shape))
    seq.setflags(write=False)
    return seq


def expected_i0(index: int, cfg: SimConfig) -> float:
    """XRF: the I0 written at point ``index`` (the frame's counts are proportional to it)."""
    if not 0 <= index < cfg.n_points:
        raise IndexError(f"index {index} outside scan of {cfg.n_points} points")
    return sim_xrf.i0_value(_sequence(index, cfg), cfg.n_points)


def energy_axis(cfg: SimConfig) -> np.ndarray:
    """XRF: the energy calibration (keV, channel centres) written to ENERGY_PATH."""
    return sim_xrf.energy_axis(cfg.channels)


def planned_positions(cfg: SimConfig) -> dict[str, np.ndarray]:
    """Demand positions (mm) per motor as written to ``value_set``: a grid's or fly scan's line
    per scan dim; a spiral's whole path, (N,) for each of stage_y and stage_x."""
    if cfg.positions == "grid":
        return axis_positions(cfg)
    return dict(sim_positions.planned(cfg.positions, cfg.shape, cfg.seed, cfg.snake))


def recorded_positions(cfg: SimConfig) -> dict[str, np.ndarray]:
    """Spiral / fly: actual positions (mm) per motor, scan-shaped, as written per point to
    ``value`` (empty for a grid scan, which records demand positions only)."""
    if cfg.positions == "grid":
        return {}
    return dict(sim_positions.recorded(cfg.positions, cfg.shape, cfg.seed, cfg.snake))


def expected_positions(index: int, cfg: SimConfig) -> dict[str, float]:
    """Spiral / fly: the actual motor positions (mm) written at point ``index``."""
    pos = np.unravel_index(index, cfg.shape)
    return {name: float(values[pos]) for name, values in recorded_positions(cfg).items()}


def positioner_paths(cfg: SimConfig) -> dict[str, tuple[str | None, str]]:
    """Per motor: (path of the per-point actual ``value`` or None for a grid, path of the
    demand ``value_set``)."""
    names = axis_names(len(cfg.shape)) if cfg.positions == "grid" else sim_positions.MOTORS
    return {name: (None if cfg.positions == "grid" else POSITIONER_VALUE.format(motor=name),
                   POSITIONER_VALUE_SET.format(motor=name)) for name in names}


def acquisition_order(cfg: SimConfig) -> np.ndarray:
    """Flat grid indices in the order they are acquired (snake as `get_position_snake`)."""
    if not cfg.snake or len(cfg.shape) == 1:
        return np.arange(cfg.n_points)
    return _snake_order(cfg.shape).copy()
