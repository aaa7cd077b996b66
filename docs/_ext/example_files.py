"""Small scan files for the documentation's doctests, written as a GDA scan is written.

``write_scan(path, shape=(3, 4), ready=None, finished=True)`` writes a 2-D scan of 8x8 uint16
frames in SWMR mode: point ``k`` (flat, C order) is a frame whose every pixel is ``k``, so its
sum is ``64 * k``; its key ``/entry/diamond_scan/keys/uniqueKeys`` is ``k + 1`` once the point is
written (data flushed before keys) and 0 for points still to come; the key and data datasets
have an unlimited maxshape in every scan dimension, as GDA writes them, with
``/entry/diamond_scan/scan_shape`` declaring the size; ``scan_finished`` is 1 once the scan
ends. The NeXus default plot ``/entry/data`` has motor axes ``y`` and ``x`` in mm.

``write_all(folder)`` writes ``scan.h5`` (finished, 12 points) and ``live.h5`` (5 of 12 points
written, not finished: a scan caught while it runs).
"""

from __future__ import annotations

import os

import h5py
import numpy as np

FRAME = (8, 8)


def write_scan(path, shape=(3, 4), ready: int | None = None, finished: bool = True) -> str:
    n = int(np.prod(shape))
    ready = n if ready is None else ready
    rank = len(shape)
    with h5py.File(path, "w", libver="latest") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        data.attrs["signal"] = "data"
        data.attrs["axes"] = ["y", "x"][-rank:] + ["."] * len(FRAME)
        frames = data.create_dataset("data", shape=(*shape, *FRAME), dtype="uint16",
                                     maxshape=(*(None,) * rank, *FRAME),
                                     chunks=(*(1,) * rank, *FRAME), fillvalue=0)
        for name, length, dim in (("y", shape[0], 0), ("x", shape[-1], rank - 1))[-rank:]:
            axis = data.create_dataset(name, data=np.linspace(0.0, 1.0, length))
            axis.attrs["units"] = "mm"
            data.attrs[f"{name}_indices"] = dim
        scan = entry.create_group("diamond_scan")
        scan.create_dataset("scan_shape", data=np.array(shape, dtype="int32"))
        scan.create_dataset("scan_rank", data=rank)
        keys = scan.create_group("keys").create_dataset(
            "uniqueKeys", shape=shape, dtype="int32", maxshape=(None,) * rank,
            chunks=(1,) * rank, fillvalue=0)
        flag = scan.create_dataset("scan_finished", shape=(1,), dtype="int32",
                                   maxshape=(1,), fillvalue=0)
        f.swmr_mode = True
        for k in range(ready):
            position = np.unravel_index(k, shape)
            frames[position] = np.full(FRAME, k, dtype="uint16")
            frames.flush()
            keys[position] = k + 1
            keys.flush()
        if finished:
            flag[0] = 1
            flag.flush()
    return str(path)


def write_all(folder) -> None:
    write_scan(os.path.join(folder, "scan.h5"))
    write_scan(os.path.join(folder, "live.h5"), ready=5, finished=False)
