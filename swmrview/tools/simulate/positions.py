"""Motor positions of the simulated beamline's non-grid scans: a Fermat spiral and a fly scan.

A *spiral* is a 1-D scan of N points whose x and y motors follow a Fermat spiral (radius
growing as the square root of the point number, turning by the golden angle each point), as
ptychography and fast XRF mapping scans do. A *fly* scan is a 2-D grid whose fast (x) motor
moves continuously: the recorded encoder positions lag the demand along the direction of
travel, drift slowly and jitter, and y wobbles a little with x. Both record the planned
(demand, ``value_set``) and the actual (readback, ``value``) positions; everything here is
deterministic for a seed, so tests compare what the writer wrote with these arrays.

Only numpy: the writer (:mod:`swmrview.tools.simulate.layout`) decides where the arrays go in the file.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["POSITION_MODES", "MOTORS", "SPIRAL_CENTRE", "SPIRAL_RADIUS", "FLY_RANGES",
           "spiral_plan", "planned", "recorded", "fractions"]

#: Scan trajectories the simulator writes ("grid": demand positions only, the default).
POSITION_MODES = ("grid", "spiral", "fly")
#: The two motors of a spiral or fly scan, slowest first (y then x, as in a grid).
MOTORS = ("stage_y", "stage_x")
#: Centre (y, x) and radius of the spiral, in mm.
SPIRAL_CENTRE = (0.0, 1.5)
SPIRAL_RADIUS = 1.0
#: Demand ranges (mm) of the fly scan's motors, as the grid's.
FLY_RANGES = {"stage_y": (-1.0, 1.0), "stage_x": (0.0, 3.0)}

_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
_SPIRAL_JITTER = 0.004      # readback noise, fraction of the spiral radius
_FLY_LAG = 0.3              # encoder lag behind the demand, fraction of one x step
_FLY_DRIFT = 0.2            # slow drift amplitude, fraction of one x step
_FLY_JITTER = 0.05          # readback noise, fraction of one step
_FLY_TILT = 0.01            # y moves this much per mm of x (a tilted stage)


def spiral_plan(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Demand (y, x) in mm of an ``n``-point Fermat spiral filling a disc of SPIRAL_RADIUS."""
    k = np.arange(n, dtype=np.float64)
    r = SPIRAL_RADIUS * np.sqrt(k / (n - 1)) if n > 1 else np.zeros(n)
    theta = k * _GOLDEN_ANGLE
    return SPIRAL_CENTRE[0] + r * np.sin(theta), SPIRAL_CENTRE[1] + r * np.cos(theta)


def _fly_demand(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    (ny, nx) = shape
    return np.linspace(*FLY_RANGES["stage_y"], ny), np.linspace(*FLY_RANGES["stage_x"], nx)


def _step(values: np.ndarray, span: tuple[float, float]) -> float:
    return float(values[1] - values[0]) if values.size > 1 else (span[1] - span[0]) / 10.0


@functools.lru_cache(maxsize=16)
def _positions(mode: str, shape: tuple[int, ...], seed: int, snake: bool
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(planned, recorded) positions per motor; cached, treat the arrays as read-only."""
    rng = np.random.default_rng([seed, 0x5CA9])
    if mode == "spiral":
        (n,) = shape
        y, x = spiral_plan(n)
        noise = rng.normal(scale=_SPIRAL_JITTER * SPIRAL_RADIUS, size=(2, n))
        plan = {"stage_y": y, "stage_x": x}
        actual = {"stage_y": y + noise[0], "stage_x": x + noise[1]}
    elif mode == "fly":
        ny, nx = shape
        yd, xd = _fly_demand(shape)
        dy, dx = _step(yd, FLY_RANGES["stage_y"]), _step(xd, FLY_RANGES["stage_x"])
        rows = np.arange(ny)[:, None]
        cols = np.arange(nx)[None, :]
        backwards = (rows % 2 == 1) & snake
        direction = np.where(backwards, -1.0, 1.0)
        # acquisition time (point number) of each grid point, for the drift
        t = rows * nx + np.where(backwards, nx - 1 - cols, cols)
        drift = _FLY_DRIFT * dx * np.sin(2 * np.pi * t / (3.0 * nx))
        noise = rng.normal(size=(2, ny, nx))
        x = xd[None, :] + direction * _FLY_LAG * dx + drift + _FLY_JITTER * dx * noise[1]
        y = yd[:, None] + _FLY_TILT * (x - xd.mean()) + _FLY_JITTER * abs(dy) * noise[0]
        plan = {"stage_y": yd, "stage_x": xd}
        actual = {"stage_y": y, "stage_x": x}
    else:
        raise ValueError(f"no recorded positions for {mode!r} scans")
    for arrays in (plan, actual):
        for values in arrays.values():
            values.setflags(write=False)
    return plan, actual


def planned(mode: str, shape: tuple[int, ...], seed: int = 0, snake: bool = False
            ) -> dict[str, np.ndarray]:
    """Demand positions (mm) per motor, as written to ``value_set``: a spiral's whole (N,)
    path; a fly scan's (ny,) and (nx,) grid lines."""
    return _positions(mode, tuple(shape), seed, snake)[0]


def recorded(mode: str, shape: tuple[int, ...], seed: int = 0, snake: bool = False
             ) -> dict[str, np.ndarray]:
    """Actual (readback) positions (mm) per motor, scan-shaped, as written to ``value``."""
    return _positions(mode, tuple(shape), seed, snake)[1]


def fractions(mode: str, shape: tuple[int, ...], seed: int, snake: bool, index: int
              ) -> tuple[float, float]:
    """(y, x) of flat point ``index``'s recorded position as fractions of the scanned area."""
    actual = recorded(mode, shape, seed, snake)
    pos = np.unravel_index(index, tuple(shape))
    y, x = float(actual["stage_y"][pos]), float(actual["stage_x"][pos])
    if mode == "spiral":
        cy, cx = SPIRAL_CENTRE
        return ((y - cy) / (2 * SPIRAL_RADIUS) + 0.5, (x - cx) / (2 * SPIRAL_RADIUS) + 0.5)
    (y0, y1), (x0, x1) = FLY_RANGES["stage_y"], FLY_RANGES["stage_x"]
    return (y - y0) / (y1 - y0), (x - x0) / (x1 - x0)
