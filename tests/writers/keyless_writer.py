"""An areaDetector-like SWMR writer without keys, whose monitor lags the detector.

What it writes (as an areaDetector HDF5 plugin with NDAttributes does, one process):

- ``/entry/data/data``: a (4, 4) uint32 frame per point of a 1-D scan, each pixel ``i + 1``,
  chunked one frame per chunk, grown point by point (unlimited maxshape).
- ``/entry/instrument/I0/data``: the monitor, chunked 8 points per chunk, grown with the
  detector (the row exists at once, holding fill 0) but its value ``100 + i`` written ``lag``
  points later: a reader that takes "the row exists" for "written" reads fill.
- NXdata ``/entry/data`` with ``@signal = data``; no keys, no finished flag: the scan ends when
  the writer closes the file.
"""

from __future__ import annotations

import multiprocessing
import time

import h5py
import numpy as np

DATA = "/entry/data/data"
I0 = "/entry/instrument/I0/data"
FRAME = (4, 4)


def expected_sum(i: np.ndarray) -> np.ndarray:
    return (np.asarray(i, np.float64) + 1) * np.prod(FRAME)


def expected_i0(i: np.ndarray) -> np.ndarray:
    return 100.0 + np.asarray(i, np.float64)


def write(path: str, n: int, lag: int, rate: float) -> None:
    with h5py.File(path, "w", libver="latest") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        nxdata = entry.create_group("data")
        nxdata.attrs["NX_class"] = "NXdata"
        nxdata.attrs["signal"] = "data"
        data = nxdata.create_dataset("data", shape=(0,) + FRAME, maxshape=(None,) + FRAME,
                                     chunks=(1,) + FRAME, dtype=np.uint32)
        mon = f.create_group("entry/instrument/I0")
        mon.attrs["NX_class"] = "NXmonitor"
        i0 = mon.create_dataset("data", shape=(0,), maxshape=(None,), chunks=(8,),
                                dtype=np.float64)
        f.swmr_mode = True
        for i in range(n):
            data.resize(i + 1, axis=0)
            i0.resize(i + 1, axis=0)
            data[i] = np.full(FRAME, i + 1, np.uint32)
            if i >= lag:
                i0[i - lag] = expected_i0(i - lag)
            f.flush()
            time.sleep(1.0 / rate)
        for j in range(max(0, n - lag), n):
            i0[j] = expected_i0(j)
        f.flush()


def start(path, n: int = 40, lag: int = 3, rate: float = 40.0) -> multiprocessing.Process:
    """Start the writer as a separate process; returns once the file is in SWMR mode."""
    proc = multiprocessing.get_context("spawn").Process(target=write,
                                                        args=(str(path), n, lag, rate))
    proc.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with h5py.File(path, "r", swmr=True, locking=False):
                return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("keyless writer did not start")
