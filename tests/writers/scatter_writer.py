"""A GDA-like SWMR writer of non-grid scans for tests: a 1-D spiral and a jittered 2-D fly scan.

What it writes, as GDA 9 writes a spiral or a fly scan (compare ``tests/writers/gda_writer.py``):

- ``/entry/diamond_scan/scan_shape`` (``[n]`` for the spiral, ``[rows, cols]`` for the fly
  scan), ``scan_rank``, ``scan_finished`` (0 until the end) and ``keys/uniqueKeys``.
- Two scannables ``/entry/instrument/sample_x`` and ``sample_y`` (NXpositioner,
  ``@gda_scan_role = scannable``): ``value`` per point (unlimited maxshape in every scan dim,
  growing from (1, ...)), and ``value_set``, the demand positions of the whole scan
  (one per point, C order), written in full before SWMR starts.
- Detector ``/entry/instrument/det/data``: a (4, 5) image per point, every pixel
  :func:`expected_value` of the point's real position; growing like ``value``.
- NXdata ``/entry/det``: ``@signal = data``, ``@axes`` naming ``sample_x_value`` (spiral) or
  ``sample_y_value, sample_x_value`` (fly), with ``sample_x_value_indices`` and
  ``sample_y_value_indices`` both ``[0]`` (spiral) or ``[0, 1]`` (fly).
- Per point: positions and frame written and flushed, then the key; the flag last (never, when
  ``stop_at`` stops the writer part way).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from typing import Sequence

import h5py
import numpy as np

NXDATA = "/entry/det"
DATA = "/entry/instrument/det/data"
X_VALUE = "/entry/instrument/sample_x/value"
Y_VALUE = "/entry/instrument/sample_y/value"
X_SET = "/entry/instrument/sample_x/value_set"
Y_SET = "/entry/instrument/sample_y/value_set"
FRAME = (4, 5)


@dataclass(frozen=True)
class ScatterScan:
    """A spiral (``shape == (n,)``) or a jittered fly scan (``shape == (rows, cols)``)."""

    shape: tuple[int, ...]
    rate: float = 200.0
    jitter: float = 0.2          # fly scan: readback off the demand by up to this many steps
    start_delay: float = 0.0
    stop_at: int | None = None   # points written before the writer stops, flag unset


def planned_positions(shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Demand (x, y) of every point, shaped ``shape`` (mm): a spiral, or a raster."""
    shape = tuple(shape)
    n = int(np.prod(shape))
    if len(shape) == 1:  # as scanpointgenerator's SpiralGenerator: equal steps along the arm
        phi = np.sqrt(np.arange(n) + 0.5) * np.sqrt(4 * np.pi)
        r = 0.2 / (2 * np.pi) * phi
        return (r * np.sin(phi)).reshape(shape), (r * np.cos(phi)).reshape(shape)
    rows, cols = shape
    y, x = np.meshgrid(np.linspace(-1.0, 1.0, rows), np.linspace(-2.0, 2.0, cols), indexing="ij")
    return x, y


def real_positions(scan: ScatterScan) -> tuple[np.ndarray, np.ndarray]:
    """The readback (x, y) the writer records: the demand, jittered for a fly scan."""
    x, y = planned_positions(scan.shape)
    if len(scan.shape) == 1:
        return x, y
    rng = np.random.default_rng(7)
    step = 4.0 / max(scan.shape[1] - 1, 1)
    return (x + rng.uniform(-1, 1, x.shape) * scan.jitter * step,
            y + rng.uniform(-1, 1, y.shape) * scan.jitter * step)


def expected_value(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray | float:
    """The value of every pixel of the frame at real position (x, y)."""
    return 10.0 + 3.0 * np.asarray(x) + 2.0 * np.asarray(y)


def _nx(parent: h5py.Group, name: str, nx_class: str, **attrs) -> h5py.Group:
    group = parent.require_group(name)
    group.attrs["NX_class"] = nx_class
    for key, value in attrs.items():
        group.attrs[key] = value
    return group


def _per_point(group: h5py.Group, name: str, rank: int, tail: tuple[int, ...],
               dtype) -> h5py.Dataset:
    chunks = (1,) * (rank - 1) + (16,) + tail
    return group.create_dataset(name, shape=(1,) * rank + tail, maxshape=(None,) * rank + tail,
                                chunks=chunks, dtype=dtype, fillvalue=0)


def _grow(ds: h5py.Dataset, pos: Sequence[int]) -> None:
    rank = len(pos)
    need = tuple(max(n, int(p) + 1) for n, p in zip(ds.shape[:rank], pos))
    if need != ds.shape[:rank]:
        ds.resize(need + ds.shape[rank:])


def write_scatter_scan(path: str | os.PathLike, scan: ScatterScan) -> None:
    """Write ``scan`` to ``path`` as a SWMR writer, blocking until it ends."""
    if scan.start_delay > 0:
        time.sleep(scan.start_delay)
    rank = len(scan.shape)
    planned = planned_positions(scan.shape)
    real = real_positions(scan)
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs["default"] = "entry"
        entry = _nx(f, "entry", "NXentry", default="det")
        instrument = _nx(entry, "instrument", "NXinstrument")
        det = _nx(instrument, "det", "NXdetector")
        data = _per_point(det, "data", rank, FRAME, np.float64)
        nxdata = _nx(entry, "det", "NXdata", signal="data")
        nxdata["data"] = data
        values = []
        for name, demand in zip(("sample_x", "sample_y"), planned):
            motor = _nx(instrument, name, "NXpositioner", gda_scan_role="scannable")
            motor.create_dataset("name", data=name)
            value_set = motor.create_dataset("value_set", data=demand.ravel(),
                                             maxshape=(None,), chunks=(256,))
            value = _per_point(motor, "value", rank, (), np.float64)
            value.attrs["units"] = value_set.attrs["units"] = "mm"
            nxdata[f"{name}_value"] = value
            nxdata.attrs[f"{name}_value_indices"] = np.arange(rank, dtype=np.int32)
            values.append(value)
        axes = ["sample_x_value"] if rank == 1 else ["sample_y_value", "sample_x_value"]
        nxdata.attrs["axes"] = np.array(axes + [".", "."], dtype=h5py.string_dtype())
        scan_group = _nx(entry, "diamond_scan", "NXcollection")
        scan_group.create_dataset("scan_shape", data=np.array(scan.shape, np.int32))
        scan_group.create_dataset("scan_rank", data=np.int32(rank))
        finished = scan_group.create_dataset("scan_finished", shape=(1,), maxshape=(None,),
                                             dtype=np.int32, fillvalue=0)
        keys = _nx(scan_group, "keys", "NXcollection")
        unique = _per_point(keys, "uniqueKeys", rank, (), np.int32)
        f.swmr_mode = True
        t0 = time.monotonic()
        for n in range(int(np.prod(scan.shape))):
            if n == scan.stop_at:
                return  # stopped mid-scan: the file stays unfinished
            delay = t0 + n / scan.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pos = np.unravel_index(n, scan.shape)
            for ds, axis in zip(values, real):
                _grow(ds, pos)
                ds[pos] = axis[pos]
                ds.flush()
            _grow(data, pos)
            data[pos] = np.full(FRAME, expected_value(real[0][pos], real[1][pos]))
            data.flush()
            _grow(unique, pos)
            unique[pos] = n + 1
            unique.flush()
        finished[0] = 1
        finished.flush()


def start_scatter_writer(path: str | os.PathLike, shape: Sequence[int], rate: float = 200.0,
                         **options) -> multiprocessing.Process:
    """Start :func:`write_scatter_scan` in a spawned daemon process (its ``.scan`` is set)."""
    scan = ScatterScan(tuple(int(n) for n in shape), rate=rate, **options)
    proc = multiprocessing.get_context("spawn").Process(
        target=write_scatter_scan, args=(str(path), scan),
        name=f"scatter-writer:{os.path.basename(str(path))}", daemon=True)
    proc.start()
    proc.scan = scan
    return proc
