"""A simulated beamline: a real SWMR writer process that writes a scan like GDA + areaDetector.

The file follows Diamond's layout (``/entry/diamond_scan/keys``, ``scan_finished``, a NeXus
default plot with motor axes) so the viewer, the tests and the demo all exercise the same
conventions a real scan has. By default it also grows its datasets the way GDA does
(SPEC section 1): every per-point dataset, keys included, has an unlimited maxshape in every scan
dimension and grows from (1, ..., 1) as points arrive; keys are chunked several points per chunk;
``/entry/diamond_scan/scan_shape`` and ``scan_rank`` are written at scan start and are the only
place the final shape is known. ``fixed_maxshape=True`` (``--fixed-maxshape``) keeps the older
behaviour: maxshape is the final scan shape and only the slowest dimension grows. Frame content is deterministic (:func:`expected_frame`) and
recognisable: a map of per-frame sums draws a picture of blobs and a ring.

``detector="xrf"`` (``--xrf``) writes Xspress3-like MCA frames (detector elements x channels) of
element lines whose maps differ (:mod:`swmrview.tools.simulate.xrf`), an ``energy`` calibration as the
spectra's NXdata axis, and a per-point I0 monitor the counts are proportional to.
``positions="spiral"`` (a 1-D Fermat spiral) or ``"fly"`` (a 2-D grid with a flying x motor)
record each point's actual motor positions per point, like GDA positioners, beside the whole
planned path in ``value_set`` (:mod:`swmrview.tools.simulate.positions`); the sample is then seen at the
recorded positions.

Run ``python -m swmrview.tools.simulate.beamline OUT.h5 --shape 20x30 --frame 256x256 --rate 50``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import h5py
import hdf5plugin
import numpy as np

from swmrview.tools.simulate import positions as sim_positions

from swmrview.tools.simulate import xrf as sim_xrf
from swmrview.core.follow.positions import get_position_snake

logger = logging.getLogger(__name__)

__all__ = ["SimConfig", "write_scan", "start_writer", "expected_frame", "sample_value",
           "acquisition_order", "axis_names", "axis_positions", "expected_i0",
           "expected_positions", "planned_positions", "recorded_positions", "energy_axis",
           "positioner_paths", "element_amounts", "expected_mean_frame", "main"]

#: Paths the simulator writes (the GDA / NeXus conventions the viewer auto-detects).
DATA_PATH = "/entry/instrument/detector/data"
NXDATA_PATH = "/entry/data"
KEYS_GROUP = "/entry/diamond_scan/keys"
UNIQUE_KEYS = KEYS_GROUP + "/uniqueKeys"
DETECTOR_KEY = KEYS_GROUP + "/detector"
FINISHED_PATH = "/entry/diamond_scan/scan_finished"
DETECTOR_FILE_DATA = "/entry/data/data"
DETECTOR_FILE_KEY = "/entry/NDAttributes/NDArrayUniqueId"
#: XRF: the spectra's energy calibration (channel centres, keV), the NXdata axis of the last dim.
ENERGY_PATH = "/entry/data/energy"
#: XRF: the I0 counter, one value per point (also ``/entry/I0/data``, an NXmonitor).
I0_PATH = "/entry/instrument/counterTimer01/I0"
MONITOR_PATH = "/entry/I0/data"
#: Spiral / fly: actual (per point) and demand (whole plan) positions of each motor.
POSITIONER_VALUE = "/entry/instrument/{motor}/value"
POSITIONER_VALUE_SET = "/entry/instrument/{motor}/value_set"
DETECTORS = ("frame", "xrf")

_AXIS_NAMES = ("stage_z", "stage_y", "stage_x")
_AXIS_RANGES = {"stage_z": (0.0, 0.5), "stage_y": (-1.0, 1.0), "stage_x": (0.0, 3.0)}
_IMAGE_PEAK = 4000.0
_IMAGE_BACKGROUND = 10.0
#: Points per key chunk along the fastest scan dim (GDA writes keys in chunks of 8 points).
KEY_CHUNK = 8
#: Points per chunk along the fastest scan dim for scalar data (frames are one per chunk).
SCALAR_CHUNK = 64


@dataclass
class SimConfig:
    """Settings of one simulated scan.

    ``frame`` is ``()`` for scalars, ``(n,)`` for spectra, ``(h, w)`` for images; ``drop`` and
    ``crash_at`` are flat grid indices (C order over ``shape``); ``rate`` is points per second.
    ``fixed_maxshape`` False (default) writes like GDA: unlimited maxshape in every scan dim,
    datasets growing from (1, ..., 1); True: maxshape = final shape, only dim 0 grows.
    """

    shape: tuple[int, ...] = (20, 30)
    frame: tuple[int, ...] = (64, 64)
    rate: float = 50.0
    snake: bool = False
    compression: str | None = None
    external: bool = False
    drop: tuple[int, ...] = field(default_factory=tuple)
    crash_at: int | None = None
    swmr_delay: float = 0.0
    start_delay: float = 0.0
    seed: int = 0
    fixed_maxshape: bool = False
    detector: str = "frame"
    elements: int = 4
    channels: int = 4096
    positions: str = "grid"

    def __post_init__(self) -> None:
        self.shape = tuple(int(n) for n in self.shape)
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if self.detector == "xrf":
            if self.elements < 1 or self.channels < 16:
                raise ValueError("xrf needs at least 1 element and 16 channels")
            self.frame = (int(self.elements), int(self.channels))
        self.frame = tuple(int(n) for n in self.frame)
        self.drop = tuple(int(i) for i in self.drop)
        if self.positions not in sim_positions.POSITION_MODES:
            raise ValueError(f"positions must be one of {sim_positions.POSITION_MODES}, "
                             f"got {self.positions!r}")
        if self.positions == "spiral" and len(self.shape) != 1:
            raise ValueError(f"a spiral scan is 1-D (--shape N), got {self.shape}")
        if self.positions == "fly" and len(self.shape) != 2:
            raise ValueError(f"a fly scan is 2-D (--shape ROWSxCOLS), got {self.shape}")
        if not 1 <= len(self.shape) <= 3 or min(self.shape) < 1:
            raise ValueError(f"scan shape must have 1 to 3 positive dims, got {self.shape}")
        if len(self.frame) > 2 or (self.frame and min(self.frame) < 1):
            raise ValueError(f"frame must be (), (n,) or (h, w), got {self.frame}")
        if self.compression not in (None, "bitshuffle", "blosc"):
            raise ValueError(f"unknown compression {self.compression!r}")
        if self.rate <= 0:
            raise ValueError("rate must be positive")

    @property
    def n_points(self) -> int:
        """Number of points in the scan."""
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        """Frame dtype: uint16 images, float32 spectra, float64 scalars, uint32 XRF counts."""
        if self.detector == "xrf":
            return np.dtype(np.uint32)
        return np.dtype({0: np.float64, 1: np.float32, 2: np.uint16}[len(self.frame)])

    @property
    def xrf(self) -> bool:
        """Whether frames are XRF spectra (with an energy axis and an I0 monitor)."""
        return self.detector == "xrf"


# ----------------------------------------------------------------------------- content

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


def _sample_yxz(index: int, cfg: SimConfig) -> tuple[float, float, float]:
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
    return float(_picture_value(*_sample_yxz(index, cfg), cfg.seed))


def element_amounts(index: int, cfg: SimConfig) -> dict[str, float]:
    """XRF: each element's concentration at point ``index`` (Fe follows the blob picture)."""
    y, x, z = _sample_yxz(index, cfg)
    maps = sim_xrf.element_maps(y, x, z, picture=functools.partial(_picture_value,
                                                                   seed=cfg.seed))
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
    fy, fx, _ = _sample_yxz(index, cfg)
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
    centre = n * (0.3 + 0.4 * _sample_yxz(index, cfg)[1])
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
    if len(cfg.frame) == 2:
        return _image(index, cfg, value)
    if len(cfg.frame) == 1:
        return _spectrum(index, cfg, value)
    return np.asarray(value, dtype=np.float64)


def expected_mean_frame(index: int, cfg: SimConfig) -> np.ndarray:
    """XRF: the expected counts at point ``index`` (the frame before Poisson noise), float64."""
    y = _sample_yxz(index, cfg)[0]
    return sim_xrf.xrf_mean(element_amounts(index, cfg), expected_i0(index, cfg),
                            cfg.elements, cfg.channels, scatter=0.9 + 0.2 * y)


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


# ----------------------------------------------------------------------------- writer

def _filters(cfg: SimConfig) -> dict:
    if cfg.compression == "bitshuffle":
        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    if cfg.compression == "blosc":
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    return {}


def _growing(group: h5py.Group, name: str, cfg: SimConfig, tail: tuple[int, ...],
             chunks: tuple[int, ...], dtype, **kwargs) -> h5py.Dataset:
    """A chunked per-point dataset of shape scan + ``tail``, created empty of points.

    GDA (default): shape (1, ..., 1) + tail, maxshape None in every scan dim. Fixed maxshape:
    one slow row, maxshape = the final shape.
    """
    rank = len(cfg.shape)
    if cfg.fixed_maxshape:
        shape, maxshape = (1,) + cfg.shape[1:] + tail, cfg.shape + tail
    else:
        shape, maxshape = (1,) * rank + tail, (None,) * rank + tail
    return group.create_dataset(name, shape=shape, maxshape=maxshape, chunks=chunks,
                                dtype=dtype, fillvalue=0, **kwargs)


def _nx_group(parent: h5py.Group, name: str, nx_class: str) -> h5py.Group:
    group = parent.require_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def _fast_chunk(cfg: SimConfig, points: int) -> int:
    """Chunk length along the fastest scan dim: a whole row if fixed, else ``points``."""
    return cfg.shape[-1] if cfg.fixed_maxshape else points


def _create_data(group: h5py.Group, name: str, cfg: SimConfig) -> h5py.Dataset:
    if cfg.frame:
        chunks = (1,) * len(cfg.shape) + cfg.frame
    else:
        chunks = (1,) * (len(cfg.shape) - 1) + (_fast_chunk(cfg, SCALAR_CHUNK),)
    return _growing(group, name, cfg, cfg.frame, chunks, cfg.dtype, **_filters(cfg))


def _create_key(group: h5py.Group, name: str, cfg: SimConfig, trailing: int) -> h5py.Dataset:
    tail = (1,) * trailing
    chunks = (1,) * (len(cfg.shape) - 1) + (_fast_chunk(cfg, KEY_CHUNK),) + tail
    return _growing(group, name, cfg, tail, chunks, np.int32)


class _ScanFiles:
    """The open master (and detector) files and the datasets written at each point."""

    def __init__(self, path: Path, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.files: list[h5py.File] = []
        self.positions: dict[str, h5py.Dataset] = {}    # spiral / fly: actual positions
        self.i0: h5py.Dataset | None = None             # xrf: the I0 counter
        det_file = None
        if cfg.external:
            det_path = path.with_name(path.stem + "_detector.h5")
            det_file = h5py.File(det_path, "w", libver="latest")
            self.files.append(det_file)
            entry = det_file.require_group("entry")
            self.data = _create_data(entry.require_group("data"), "data", cfg)
            self.det_key = _create_key(entry.require_group("NDAttributes"), "NDArrayUniqueId",
                                       cfg, trailing=2)
        master = h5py.File(path, "w", libver="latest")
        self.files.append(master)
        self.finished = self._write_master(master, det_file, cfg)

    def _write_master(self, f: h5py.File, det_file: h5py.File | None,
                      cfg: SimConfig) -> h5py.Dataset:
        f.attrs["default"] = "entry"
        entry = _nx_group(f, "entry", "NXentry")
        entry.attrs["default"] = "data"
        instrument = _nx_group(entry, "instrument", "NXinstrument")
        detector = _nx_group(instrument, "detector", "NXdetector")
        nxdata = _nx_group(entry, "data", "NXdata")
        scan = _nx_group(entry, "diamond_scan", "NXcollection")
        keys = _nx_group(scan, "keys", "NXcollection")
        if det_file is not None:
            det_name = os.path.basename(det_file.filename)
            detector["data"] = h5py.ExternalLink(det_name, DETECTOR_FILE_DATA)
            nxdata["data"] = h5py.ExternalLink(det_name, DETECTOR_FILE_DATA)
            keys["detector"] = h5py.ExternalLink(det_name, DETECTOR_FILE_KEY)
        else:
            self.data = _create_data(detector, "data", cfg)
            nxdata["data"] = self.data
            self.det_key = _create_key(keys, "detector", cfg, trailing=2)
        self.unique_keys = _create_key(keys, "uniqueKeys", cfg, trailing=1)

        nxdata.attrs["signal"] = "data"
        if cfg.positions == "grid":
            names = list(axis_names(len(cfg.shape)))
            for dim, (name, values) in enumerate(axis_positions(cfg).items()):
                motor = _nx_group(instrument, name, "NXpositioner")
                demand = motor.create_dataset("value_set", data=values, chunks=values.shape)
                demand.attrs["units"] = "mm"
                nxdata[name] = demand
                nxdata.attrs[f"{name}_indices"] = np.int32(dim)
        else:
            names = self._write_positioners(instrument, nxdata, cfg)
        frame_axes = ["."] * len(cfg.frame)
        if cfg.xrf:
            frame_axes[-1] = "energy"
            energy = nxdata.create_dataset("energy", data=energy_axis(cfg),
                                           chunks=(cfg.channels,))
            energy.attrs["units"] = "keV"
            nxdata.attrs["energy_indices"] = np.int32(len(cfg.shape) + len(cfg.frame) - 1)
            self._write_i0(entry, instrument, cfg)
        nxdata.attrs["axes"] = np.array(names + frame_axes, dtype=h5py.string_dtype())

        finished = scan.create_dataset("scan_finished", shape=(1,), maxshape=(None,),
                                       chunks=(1,), dtype=np.int32, fillvalue=0)
        scan.create_dataset("scan_rank", data=np.int32(len(cfg.shape)))
        scan.create_dataset("scan_shape", data=np.array(cfg.shape, dtype=np.int32),
                            chunks=(len(cfg.shape),))
        return finished

    def _write_positioners(self, instrument: h5py.Group, nxdata: h5py.Group,
                           cfg: SimConfig) -> list[str]:
        """Spiral / fly motors as GDA writes them; returns the NXdata ``axes`` of the scan dims.

        ``/entry/instrument/<motor>/value`` grows per point (actual positions), ``value_set``
        holds the whole plan from the start; NXdata links them as ``<motor>`` (indices: every
        scan dim) and ``<motor>_value_set`` (indices: its dim; a spiral's both 0).
        """
        rank = len(cfg.shape)
        spiral = cfg.positions == "spiral"
        chunks = (1,) * (rank - 1) + (_fast_chunk(cfg, SCALAR_CHUNK),)
        for dim, (name, plan) in enumerate(planned_positions(cfg).items()):
            motor = _nx_group(instrument, name, "NXpositioner")
            actual = _growing(motor, "value", cfg, (), chunks, np.float64)
            demand = motor.create_dataset("value_set", data=plan, chunks=plan.shape)
            for ds in (actual, demand):
                ds.attrs["units"] = "mm"
            self.positions[name] = actual
            nxdata[name] = actual
            nxdata[f"{name}_value_set"] = demand
            nxdata.attrs[f"{name}_indices"] = (np.int32(0) if rank == 1
                                               else np.arange(rank, dtype=np.int32))
            nxdata.attrs[f"{name}_value_set_indices"] = np.int32(0 if spiral else dim)
        if spiral:      # one scan dim: x is its axis, y rides along
            return [f"{sim_positions.MOTORS[1]}_value_set"]
        return [f"{name}_value_set" for name in sim_positions.MOTORS]

    def _write_i0(self, entry: h5py.Group, instrument: h5py.Group, cfg: SimConfig) -> None:
        """The I0 counter (per point, growing like the data), also an NXmonitor's ``data``."""
        rank = len(cfg.shape)
        chunks = (1,) * (rank - 1) + (_fast_chunk(cfg, SCALAR_CHUNK),)
        counter = _nx_group(instrument, I0_PATH.split("/")[-2], "NXcollection")
        counter.attrs["gda_scan_role"] = "monitor_per_point"
        self.i0 = _growing(counter, "I0", cfg, (), chunks, np.float64)
        self.i0.attrs["units"] = "counts"
        monitor = _nx_group(entry, MONITOR_PATH.split("/")[-2], "NXmonitor")
        monitor["data"] = self.i0

    def per_point(self) -> list[h5py.Dataset]:
        """Every dataset growing per point, data first and keys last (the order written)."""
        extra = list(self.positions.values())
        if self.i0 is not None:
            extra.append(self.i0)
        return [self.data, *extra, self.det_key, self.unique_keys]

    def start_swmr(self) -> None:
        for f in self.files:
            f.swmr_mode = True

    @staticmethod
    def _grow(dataset: h5py.Dataset, pos: tuple[int, ...]) -> None:
        """Extend the scan dims of ``dataset`` so that it holds scan position ``pos``."""
        rank = len(pos)
        shape = dataset.shape
        needed = tuple(max(n, int(p) + 1) for n, p in zip(shape[:rank], pos))
        if needed != shape[:rank]:
            dataset.resize(needed + shape[rank:])

    def write_point(self, index: int, count: int) -> None:
        """Write grid point ``index`` (the ``count``-th acquired, from 1): data, then keys."""
        pos = np.unravel_index(index, self.cfg.shape)
        self._grow(self.data, pos)
        self.data[pos] = expected_frame(index, self.cfg)
        self.data.flush()
        recorded = expected_positions(index, self.cfg)
        for name, dataset in self.positions.items():
            self._grow(dataset, pos)
            dataset[pos] = recorded[name]
            dataset.flush()
        if self.i0 is not None:
            self._grow(self.i0, pos)
            self.i0[pos] = sim_xrf.i0_value(count - 1, self.cfg.n_points)   # by acquisition
            self.i0.flush()
        for key in (self.det_key, self.unique_keys):
            self._grow(key, pos)
            key[pos] = count
            key.flush()

    def grow_rows(self, index: int) -> None:
        """Extend every growing dataset to include grid point ``index`` (a dropped point)."""
        pos = np.unravel_index(index, self.cfg.shape)
        for dataset in self.per_point():
            self._grow(dataset, pos)
            dataset.flush()

    def finish(self) -> None:
        self.finished[0] = 1
        self.finished.flush()

    def close(self) -> None:
        for f in reversed(self.files):
            f.close()


def write_scan(path: str | os.PathLike, cfg: SimConfig) -> None:
    """Write a whole scan to ``path`` as a SWMR writer; blocks until the scan ends."""
    path = Path(path)
    if cfg.start_delay > 0:
        logger.info("waiting %.3g s before creating %s", cfg.start_delay, path)
        time.sleep(cfg.start_delay)
    files = _ScanFiles(path, cfg)
    try:
        if cfg.swmr_delay > 0:
            logger.info("holding %s open without SWMR for %.3g s", path, cfg.swmr_delay)
            for f in files.files:
                f.flush()
            time.sleep(cfg.swmr_delay)
        files.start_swmr()
        logger.info("writing %s: %d points at %.3g/s", path, cfg.n_points, cfg.rate)
        dropped = set(cfg.drop)
        start = time.monotonic()
        for count, index in enumerate(acquisition_order(cfg), start=1):
            delay = start + (count - 1) / cfg.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if index == cfg.crash_at:
                logger.warning("simulated crash at point %d", index)
                os._exit(1)
            if index in dropped:
                logger.debug("dropping point %d", index)
                files.grow_rows(int(index))
                continue
            files.write_point(int(index), count)
        files.finish()
        logger.info("finished %s", path)
    finally:
        files.close()


def _run_writer(path: str, cfg: SimConfig, log_level: int) -> None:
    # Ctrl-C in the terminal reaches the whole process group: the parent (the demo viewer or a
    # test) decides when the writer stops, so the child ignores it instead of printing a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(message)s")
    write_scan(path, cfg)


def start_writer(path: str | os.PathLike, cfg: SimConfig) -> multiprocessing.Process:
    """Start :func:`write_scan` in a separate (spawned) process and return it, started."""
    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    proc = ctx.Process(target=_run_writer, args=(str(path), cfg, level),
                       name=f"swmrview-sim:{os.path.basename(path)}", daemon=True)
    proc.start()
    return proc


# ----------------------------------------------------------------------------- CLI

def _dims(text: str) -> tuple[int, ...]:
    text = text.strip().lower()
    if text in ("", "scalar", "0", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dims like 20x30, got {text!r}") from None


def _indices(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected indices like 5,7, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="swmrview --simulate",
                                description="Write a simulated beamline scan as a SWMR file.")
    p.add_argument("output", help="master file to write (OUT.h5)")
    p.add_argument("--shape", type=_dims, default=(20, 30),
                   help="scan shape, e.g. 20x30 (a spiral: N points, e.g. 400)")
    p.add_argument("--frame", type=_dims, default=(64, 64),
                   help="frame: HxW image, N spectrum, or 'scalar'")
    p.add_argument("--rate", type=float, default=50.0, help="points per second")
    p.add_argument("--snake", action="store_true", help="reverse the fast axis on odd rows")
    p.add_argument("--compression", choices=("none", "bitshuffle", "blosc"), default="none")
    p.add_argument("--external", action="store_true",
                   help="detector writes its own file, linked from the master")
    p.add_argument("--drop", type=_indices, default=(), help="flat indices to drop, e.g. 5,7")
    p.add_argument("--crash-at", type=int, default=None, help="die abruptly at this index")
    p.add_argument("--swmr-delay", type=float, default=0.0,
                   help="seconds to hold the file open before enabling SWMR")
    p.add_argument("--start-delay", type=float, default=0.0,
                   help="seconds to wait before creating the file")
    p.add_argument("--seed", type=int, default=0, help="picture seed")
    p.add_argument("--fixed-maxshape", action="store_true",
                   help="maxshape = final scan shape, only the slowest dim grows (default: like "
                        "GDA, unlimited maxshape in every scan dim, growing from (1, ..., 1))")
    xrf = p.add_argument_group("XRF detector")
    xrf.add_argument("--xrf", action="store_true",
                     help="X-ray fluorescence spectra (Xspress3-like MCA frames of --elements x "
                          "--channels uint32 counts; Ca, Fe, Cu, Zn lines with different maps, "
                          "scatter, background, Poisson noise) with an energy axis (keV) and a "
                          f"per-point I0 counter ({I0_PATH}); replaces --frame")
    xrf.add_argument("--elements", type=int, default=4, help="XRF detector elements (default 4)")
    xrf.add_argument("--channels", type=int, default=4096,
                     help=f"XRF channels per element, spanning 0-{sim_xrf.ENERGY_MAX:g} keV "
                          "(default 4096)")
    p.add_argument("--positions", choices=sim_positions.POSITION_MODES, default="grid",
                   help="grid: demand positions only (default); spiral: a 1-D Fermat spiral "
                        "over stage_x/stage_y (--shape N); fly: a 2-D grid whose recorded x/y "
                        "lag, drift and jitter. Spiral and fly write actual positions per point "
                        "to /entry/instrument/<motor>/value and the whole plan to value_set")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: write one simulated scan; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        cfg = SimConfig(shape=args.shape, frame=args.frame, rate=args.rate, snake=args.snake,
                        compression=None if args.compression == "none" else args.compression,
                        external=args.external, drop=args.drop, crash_at=args.crash_at,
                        swmr_delay=args.swmr_delay, start_delay=args.start_delay,
                        seed=args.seed, fixed_maxshape=args.fixed_maxshape,
                        detector="xrf" if args.xrf else "frame", elements=args.elements,
                        channels=args.channels, positions=args.positions)
    except ValueError as exc:
        logging.getLogger(__name__).error("%s", exc)
        return 2
    start = time.monotonic()
    write_scan(args.output, cfg)
    kind = f"{cfg.frame} XRF" if cfg.xrf else (cfg.frame or "scalar")
    print(f"wrote {cfg.n_points} points of {kind} frames to {args.output} "
          f"in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
