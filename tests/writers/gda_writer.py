"""A GDA-like SWMR scan writer for tests, independent of ``swmrview.tools.simulate``.

What it writes, as GDA 9 / Malcolm do (compare ``../shared/data/real/p45-example.nxs``):

- ``/entry/diamond_scan/scan_shape`` (int32) and ``scan_rank`` at scan start, before SWMR;
  ``scan_finished`` of shape (1,), maxshape (None,), 0 until the scan is complete.
- Every per-point dataset (detector data, motor readbacks, ``uniqueKeys``, the detector file's
  ``NDArrayUniqueId``, ``point_start_times``) has maxshape None in *every* scan dimension and
  grows from (1, ..., 1) as points arrive. ``uniqueKeys`` is scan-shaped (no trailing dims, as in
  the real files); ``NDArrayUniqueId`` is scan + (1, 1) like areaDetector's. Keys are chunked
  several points per chunk (``key_chunk``, default 8 along the fastest dim).
- The 1-D demand positions ``<motor>/value_set`` grow too (one value per step of their axis).
- A NeXus default plot: ``/@default = entry``, ``entry@default = det``, NXdata ``/entry/det``
  with ``@signal = data`` and ``@axes`` naming either the 1-D ``<motor>_value_set`` demand
  datasets or (``axes="readback"``) the scan-shaped ``<motor>_value`` readbacks.
- Per point: detector data and positions written and flushed, then the detector key, then
  ``uniqueKeys`` (value = acquisition count, from 1). ``scan_finished`` last; with
  ``flag_before_last_keys`` it is set *before* the last points' keys are written (a detector file
  flushing after the scan file), and those keys follow ``flag_lead_s`` later.
- ``detector_file=True``: the detector writes its own SWMR file ``<stem>-det.h5``
  (``/entry/detector/data``, ``/entry/NDAttributes/NDArrayUniqueId``), linked from the master by
  external links (data, NXdata signal and ``keys/det``); with ``detector_delay`` it appears that
  long after the scan file went SWMR (the links dangle until then).

Values are deterministic so tests can compare maps: :func:`expected_value`,
:func:`expected_frame`, :func:`expected_sum`, :func:`axis_values`, :func:`motor_position`.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

__all__ = [
    "GdaScan", "start_gda_writer", "write_gda_scan", "acquisition_order", "expected_value",
    "expected_frame", "expected_sum", "axis_values", "motor_names", "motor_position",
    "detector_file_path", "DATA", "NXDATA", "SIGNAL", "KEYS", "UNIQUE_KEYS", "DETECTOR_KEY",
    "FINISHED", "SCAN_SHAPE", "SCAN_RANK", "DET_FILE_DATA", "DET_FILE_KEY",
]

ENTRY = "/entry"
NXDATA = "/entry/det"
SIGNAL = NXDATA + "/data"
DATA = "/entry/instrument/det/data"
SCAN = "/entry/diamond_scan"
KEYS = SCAN + "/keys"
UNIQUE_KEYS = KEYS + "/uniqueKeys"
DETECTOR_KEY = KEYS + "/det"  # only with detector_file=True (an external link)
FINISHED = SCAN + "/scan_finished"
SCAN_SHAPE = SCAN + "/scan_shape"
SCAN_RANK = SCAN + "/scan_rank"
POINT_TIMES = SCAN + "/point_start_times"
DET_FILE_DATA = "/entry/detector/data"
DET_FILE_KEY = "/entry/NDAttributes/NDArrayUniqueId"

_MOTORS = ("sample_z", "sample_y", "sample_x")


@dataclass(frozen=True)
class GdaScan:
    """What one GDA-like scan does (see the module docstring). Flat indices are C order."""

    scan_shape: tuple[int, ...]
    frame_shape: tuple[int, ...] = ()
    rate: float = 100.0
    snake: bool = False
    key_chunk: tuple[int, ...] | int | None = None   # default (1, ..., 1, 8)
    data_chunk: tuple[int, ...] | None = None        # scan part; default (1, ..., 1, 64) scalars
    detector_file: bool = False
    flag_before_last_keys: bool = False
    flag_lead_s: float = 0.3
    last_keys: int = 3                # points whose keys follow the flag (flag_before_last_keys)
    pause_at: int | None = None       # acquisition count (0-based) before which it pauses
    pause_s: float = 0.0
    uneven: bool = False              # motor steps 0, 1, 2, 4, 8, 16, ... instead of linear
    axes: str = "demand"              # "demand": 1-D value_set axes; "readback": scan-shaped
    drop: tuple[int, ...] = field(default_factory=tuple)   # grid points never keyed or written
    crash_at: int | None = None       # grid point at which the process dies (exit 1)
    start_delay: float = 0.0
    swmr_delay: float = 0.0
    detector_delay: float = 0.0       # detector file created this long after the scan file

    def __post_init__(self) -> None:
        object.__setattr__(self, "scan_shape", tuple(int(n) for n in self.scan_shape))
        object.__setattr__(self, "frame_shape", tuple(int(n) for n in self.frame_shape))
        object.__setattr__(self, "drop", tuple(int(i) for i in self.drop))
        if not 1 <= len(self.scan_shape) <= 3 or min(self.scan_shape) < 1:
            raise ValueError(f"scan shape must have 1 to 3 positive dims: {self.scan_shape}")
        if self.axes not in ("demand", "readback"):
            raise ValueError(f"axes must be 'demand' or 'readback', not {self.axes!r}")

    @property
    def rank(self) -> int:
        return len(self.scan_shape)

    @property
    def n_points(self) -> int:
        return int(np.prod(self.scan_shape))

    @property
    def key_chunks(self) -> tuple[int, ...]:
        chunk = self.key_chunk
        if chunk is None:
            chunk = 8
        if isinstance(chunk, int):
            return (1,) * (self.rank - 1) + (chunk,)
        chunk = tuple(int(c) for c in chunk)
        if len(chunk) != self.rank:
            raise ValueError(f"key_chunk {chunk} does not have the scan rank {self.rank}")
        return chunk

    @property
    def data_chunks(self) -> tuple[int, ...]:
        if self.data_chunk is not None:
            return tuple(self.data_chunk) + self.frame_shape
        if self.frame_shape:
            return (1,) * self.rank + self.frame_shape
        return (1,) * (self.rank - 1) + (64,)


# ----------------------------------------------------------------------------- expected content

def expected_value(index: int) -> float:
    """The per-point value at flat grid ``index``: 1 + index (never the fill value 0)."""
    return float(index) + 1.0


def _dtype(frame_shape: Sequence[int]) -> np.dtype:
    return np.dtype(np.uint32 if len(frame_shape) >= 2 else np.float64)


def expected_frame(index: int, frame_shape: Sequence[int] = ()) -> np.ndarray:
    """The frame written at flat grid ``index``: ``expected_value`` plus a small 0..3 pattern."""
    frame_shape = tuple(frame_shape)
    value = expected_value(index)
    if not frame_shape:
        return np.asarray(value, dtype=np.float64)
    pattern = (np.arange(int(np.prod(frame_shape))) % 4).reshape(frame_shape)
    return (value + pattern).astype(_dtype(frame_shape))


def expected_sum(index: int, frame_shape: Sequence[int] = ()) -> float:
    """Sum of :func:`expected_frame` (the value a map of sums shows at ``index``)."""
    return float(expected_frame(index, frame_shape).sum(dtype=np.float64))


def motor_names(rank: int) -> tuple[str, ...]:
    """Motor names of a scan of ``rank`` dims, slowest first."""
    return _MOTORS[3 - rank:]


def axis_values(n: int, dim: int = 0, uneven: bool = False) -> np.ndarray:
    """Demand positions of an axis of ``n`` steps: linear ``dim + 0.5 * i`` or 0, 1, 2, 4, 8..."""
    if uneven:
        return np.array([0.0] + [2.0 ** i for i in range(n - 1)], dtype=np.float64)
    return dim + 0.5 * np.arange(n, dtype=np.float64)


def motor_position(index: int, scan: GdaScan) -> tuple[float, ...]:
    """Motor positions (slowest first) at flat grid ``index``."""
    pos = np.unravel_index(index, scan.scan_shape)
    return tuple(float(axis_values(n, d, scan.uneven)[p])
                 for d, (n, p) in enumerate(zip(scan.scan_shape, pos)))


def acquisition_order(scan_shape: Sequence[int], snake: bool = False) -> list[int]:
    """Flat grid indices in acquisition order; a snake reverses the whole inner traversal each
    time an outer index steps (a continuous boustrophedon, as GDA's snaked grids move)."""
    shape = tuple(int(n) for n in scan_shape)

    def walk(dims: tuple[int, ...]) -> list[tuple[int, ...]]:
        if len(dims) == 1:
            return [(i,) for i in range(dims[0])]
        inner = walk(dims[1:])
        out: list[tuple[int, ...]] = []
        for i in range(dims[0]):
            part = inner[::-1] if (snake and i % 2) else inner
            out.extend((i,) + p for p in part)
        return out

    return [int(np.ravel_multi_index(p, shape)) for p in walk(shape)]


def detector_file_path(path: str | os.PathLike) -> Path:
    """Where the detector file of scan ``path`` is written (``detector_file=True``)."""
    path = Path(path)
    return path.with_name(path.stem + "-det.h5")


# ----------------------------------------------------------------------------- writer

def _nx(parent: h5py.Group, name: str, nx_class: str, **attrs) -> h5py.Group:
    group = parent.require_group(name)
    group.attrs["NX_class"] = nx_class
    for key, value in attrs.items():
        group.attrs[key] = value
    return group


def _per_point(group: h5py.Group, name: str, rank: int, tail: tuple[int, ...],
               chunks: tuple[int, ...], dtype) -> h5py.Dataset:
    """A per-point dataset as GDA creates it: (1, ..., 1) + tail, unlimited in every scan dim."""
    fill = b"" if np.dtype(dtype).kind == "S" else 0
    return group.create_dataset(name, shape=(1,) * rank + tail, maxshape=(None,) * rank + tail,
                                chunks=chunks, dtype=dtype, fillvalue=fill)


def _grow(ds: h5py.Dataset, pos: Sequence[int]) -> None:
    rank = len(pos)
    need = tuple(max(n, int(p) + 1) for n, p in zip(ds.shape[:rank], pos))
    if need != ds.shape[:rank]:
        ds.resize(need + ds.shape[rank:])


class _Writer:
    def __init__(self, path: Path, scan: GdaScan) -> None:
        self.scan = scan
        rank = scan.rank
        self.files: list[h5py.File] = []
        names = motor_names(rank)
        self.det_path = detector_file_path(path) if scan.detector_file else None
        self.det_key = None

        f = h5py.File(path, "w", libver="latest")
        self.files.append(f)
        f.attrs["default"] = "entry"
        entry = _nx(f, "entry", "NXentry", default="det")
        instrument = _nx(entry, "instrument", "NXinstrument")
        det_group = _nx(instrument, "det", "NXdetector")
        nxdata = _nx(entry, "det", "NXdata", signal="data")
        if self.det_path is not None:
            link = h5py.ExternalLink(self.det_path.name, DET_FILE_DATA)
            det_group["data"] = link
            nxdata["data"] = link
        else:
            self.data = _per_point(det_group, "data", rank, scan.frame_shape, scan.data_chunks,
                                   _dtype(scan.frame_shape))
            nxdata["data"] = self.data

        self.value_sets: list[h5py.Dataset] = []
        self.values: list[h5py.Dataset] = []
        for dim, name in enumerate(names):
            motor = _nx(instrument, name, "NXpositioner")
            motor.create_dataset("name", data=name)
            demand = motor.create_dataset("value_set", shape=(1,), maxshape=(None,),
                                          chunks=(64,), dtype=np.float64, fillvalue=0)
            readback = _per_point(motor, "value", rank, (), (1,) * (rank - 1) + (64,),
                                  np.float64)
            demand.attrs["units"] = readback.attrs["units"] = "mm"
            nxdata[f"{name}_value_set"] = demand
            nxdata[f"{name}_value"] = readback
            nxdata.attrs[f"{name}_value_set_indices"] = np.array([dim], dtype=np.int32)
            nxdata.attrs[f"{name}_value_indices"] = np.arange(rank, dtype=np.int32)
            self.value_sets.append(demand)
            self.values.append(readback)
        suffix = "_value_set" if scan.axes == "demand" else "_value"
        nxdata.attrs["axes"] = np.array([n + suffix for n in names] + ["."] * len(scan.frame_shape),
                                        dtype=h5py.string_dtype())

        diamond_scan = _nx(entry, "diamond_scan", "NXcollection")
        diamond_scan.create_dataset("scan_shape", data=np.array(scan.scan_shape, np.int32),
                                    chunks=(rank,))
        diamond_scan.create_dataset("scan_rank", data=np.int32(rank))
        self.finished = diamond_scan.create_dataset("scan_finished", shape=(1,), maxshape=(None,),
                                                    chunks=(1,), dtype=np.int32, fillvalue=0)
        self.times = _per_point(diamond_scan, "point_start_times", rank, (),
                                scan.key_chunks, "S32")
        keys = _nx(diamond_scan, "keys", "NXcollection")
        self.unique_keys = _per_point(keys, "uniqueKeys", rank, (), scan.key_chunks, np.int32)
        if self.det_path is not None:
            keys["det"] = h5py.ExternalLink(self.det_path.name, DET_FILE_KEY)

    def create_detector_file(self) -> h5py.File:
        """The detector's own file (areaDetector-like), linked from the scan file."""
        scan, rank = self.scan, self.scan.rank
        det_file = h5py.File(self.det_path, "w", libver="latest")
        self.files.insert(0, det_file)
        entry = _nx(det_file, "entry", "NXentry")
        det = _nx(entry, "detector", "NXdetector")
        self.data = _per_point(det, "data", rank, scan.frame_shape, scan.data_chunks,
                               _dtype(scan.frame_shape))
        attrs = _nx(entry, "NDAttributes", "NXcollection")
        self.det_key = _per_point(attrs, "NDArrayUniqueId", rank, (1, 1),
                                  scan.key_chunks + (1, 1), np.int32)
        return det_file

    def start_swmr(self) -> None:
        for f in self.files:
            f.swmr_mode = True

    def write_data(self, index: int) -> None:
        """Detector frame, motor positions and point time of ``index``, flushed (no keys)."""
        scan = self.scan
        pos = np.unravel_index(index, scan.scan_shape)
        _grow(self.data, pos)
        self.data[pos] = expected_frame(index, scan.frame_shape)
        self.data.flush()
        positions = motor_position(index, scan)
        for dim, (demand, readback) in enumerate(zip(self.value_sets, self.values)):
            if demand.shape[0] <= pos[dim]:
                demand.resize((int(pos[dim]) + 1,))
            demand[pos[dim]] = positions[dim]
            demand.flush()
            _grow(readback, pos)
            readback[pos] = positions[dim]
            readback.flush()
        _grow(self.times, pos)
        self.times[pos] = time.strftime("%Y-%m-%dT%H:%M:%S").encode()
        self.times.flush()

    def grow_only(self, index: int) -> None:
        """A dropped point: datasets grow to include it, nothing is written there."""
        pos = np.unravel_index(index, self.scan.scan_shape)
        for ds in [self.data, self.unique_keys, self.times, *self.values] + (
                [self.det_key] if self.det_key is not None else []):
            _grow(ds, pos)
            ds.flush()

    def write_keys(self, index: int, count: int) -> None:
        pos = np.unravel_index(index, self.scan.scan_shape)
        if self.det_key is not None:
            _grow(self.det_key, pos)
            self.det_key[pos] = count
            self.det_key.flush()
        _grow(self.unique_keys, pos)
        self.unique_keys[pos] = count
        self.unique_keys.flush()

    def finish(self) -> None:
        self.finished[0] = 1
        self.finished.flush()

    def close(self) -> None:
        for f in reversed(self.files):
            f.close()


def write_gda_scan(path: str | os.PathLike, scan: GdaScan) -> None:
    """Write ``scan`` to ``path`` as a SWMR writer, blocking until the scan ends."""
    path = Path(path)
    if scan.start_delay > 0:
        time.sleep(scan.start_delay)
    writer = _Writer(path, scan)
    try:
        late = scan.detector_file and scan.detector_delay > 0
        if scan.detector_file and not late:
            writer.create_detector_file()
        if scan.swmr_delay > 0:
            for f in writer.files:
                f.flush()
            time.sleep(scan.swmr_delay)
        writer.start_swmr()
        if late:                       # the detector's file appears after the scan file
            time.sleep(scan.detector_delay)
            writer.create_detector_file().swmr_mode = True
        order = acquisition_order(scan.scan_shape, scan.snake)
        deferred: list[tuple[int, int]] = []
        held = min(scan.last_keys, len(order)) if scan.flag_before_last_keys else 0
        dropped = set(scan.drop)
        t0 = time.monotonic()
        paused = 0.0
        for n, index in enumerate(order):
            if scan.pause_at is not None and n == scan.pause_at and scan.pause_s > 0:
                time.sleep(scan.pause_s)
                paused += scan.pause_s
            delay = t0 + paused + n / scan.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if index == scan.crash_at:
                os._exit(1)
            if index in dropped:
                writer.grow_only(index)
                continue
            writer.write_data(index)
            if n >= len(order) - held:
                deferred.append((index, n + 1))
            else:
                writer.write_keys(index, n + 1)
        if deferred:
            writer.finish()
            time.sleep(scan.flag_lead_s)
            for index, count in deferred:
                writer.write_keys(index, count)
        else:
            writer.finish()
    finally:
        writer.close()


def start_gda_writer(path: str | os.PathLike, scan_shape: Sequence[int],
                     frame_shape: Sequence[int] = (), rate: float = 100.0, snake: bool = False,
                     key_chunk: tuple[int, ...] | int | None = None, detector_file: bool = False,
                     flag_before_last_keys: bool = False, pause_at: int | None = None,
                     pause_s: float = 0.0, **options) -> multiprocessing.Process:
    """Start :func:`write_gda_scan` in a spawned process and return it (started).

    ``options`` are the other :class:`GdaScan` fields (``uneven``, ``axes``, ``drop``,
    ``crash_at``, ``data_chunk``, ``start_delay``, ``swmr_delay``, ``detector_delay``,
    ``flag_lead_s``, ``last_keys``). The process is a daemon: join it (or terminate it) in the test; its
    ``.scan`` attribute is the :class:`GdaScan` it writes.
    """
    scan = GdaScan(scan_shape=tuple(scan_shape), frame_shape=tuple(frame_shape), rate=rate,
                   snake=snake, key_chunk=key_chunk, detector_file=detector_file,
                   flag_before_last_keys=flag_before_last_keys, pause_at=pause_at,
                   pause_s=pause_s, **options)
    proc = multiprocessing.get_context("spawn").Process(
        target=write_gda_scan, args=(str(path), scan),
        name=f"gda-writer:{os.path.basename(str(path))}", daemon=True)
    proc.start()
    proc.scan = scan  # what it writes, for expected values in the test
    return proc
