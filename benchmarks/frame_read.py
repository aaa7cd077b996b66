"""Frame read and map throughput on a 1024x1024 uint16 scan, against h5py `read_direct`.

Every frame of a 300-frame scan (one frame per chunk, all keys set, finished) is read by:
(a) plain h5py `read_direct` into one preallocated frame (the practical limit), (b) swmrview
`FrameReader.read`, (c) swmrview `DataSource` iteration, (d) swmr_tools `DataSource`; then the
map path: read + `reduce_frame` point by point (a script with `DataSource` + `ScanMap`, and
the viewer's worker before issue 11), and `ReducePipeline` as the viewer reads now (direct
chunk reads, decompression and reduction in one thread per core; benchmarks/map_pipeline.py
has its scaling with threads). Uncompressed and bitshuffle-LZ4. The file is in the page cache
(as a file being written is), so this measures CPU cost, not the disk.

Run: .venv/bin/python benchmarks/frame_read.py [--frames 300]
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import swmr_tools

from _common import machine_note, print_verdicts, table, verdict
from swmrview.core import DataSource, FrameReader
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.compute.reduce import reduce_frame
from swmrview.core.compute.scanmap import ScanMap

SHAPE = (1024, 1024)
FRAME_MB = SHAPE[0] * SHAPE[1] * 2 / 1e6


def write_scan(path: Path, n: int, compression: dict) -> None:
    """n frames like a detector's (spot + Poisson background), keys all set, finished."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    templates = []
    for k in range(8):
        spot = 3000 * np.exp(-((yy - 300 - 50 * k) ** 2 + (xx - 500) ** 2) / (2 * 40.0**2))
        templates.append((rng.poisson(20, SHAPE) + spot).astype(np.uint16))
    with h5py.File(path, "w", libver="latest") as f:
        data = f.create_dataset("data", shape=(n,) + SHAPE, maxshape=(None,) + SHAPE,
                                chunks=(1,) + SHAPE, dtype=np.uint16, **compression)
        for i in range(n):
            data[i] = templates[i % len(templates)]
        f.create_dataset("keys", data=np.arange(1, n + 1, dtype=np.int32), maxshape=(None,),
                         chunks=(min(n, 4096),))
        f.create_dataset("finished", data=np.ones(1, np.int32), maxshape=(None,), chunks=(1,))
        f.swmr_mode = True


def read_all(path: Path, method: str, n: int) -> float:
    """Seconds to read (and for map_* methods reduce) every frame once with ``method``."""
    with h5py.File(path, "r", swmr=True) as f:
        data, keys, finished = f["data"], f["keys"], f["finished"]
        t0 = time.perf_counter()
        if method == "read_direct":
            out = np.empty((1,) + SHAPE, np.uint16)
            for i in range(n):
                data.read_direct(out, np.s_[i:i + 1])
        elif method == "read_direct+reduce":
            out = np.empty((1,) + SHAPE, np.uint16)
            for i in range(n):
                data.read_direct(out, np.s_[i:i + 1])
                reduce_frame(out[0])
        elif method == "FrameReader.read":
            reader = FrameReader(data, 1)
            for i in range(n):
                reader.read(i)
        elif method == "DataSource":
            source = DataSource([keys], {"d": data}, timeout=1, finished_dataset=finished)
            count = sum(1 for _ in itertools.islice(source, n))
            assert count == n
        elif method == "swmr_tools DataSource":
            source = swmr_tools.DataSource([keys], {"d": data}, timeout=1,
                                           finished_dataset=finished)
            count = sum(1 for _ in itertools.islice(source, n))
            assert count == n
        elif method == "map: DataSource+ScanMap":
            source = DataSource([keys], {"d": data}, timeout=1, finished_dataset=finished)
            scan_map = ScanMap((n,))
            for point in itertools.islice(source, n):
                scan_map.set((point.index,), reduce_frame(point["d"][0]))
            assert scan_map.n_filled == n
        elif method == "map: per-point reads":
            # what the viewer's worker did per new point before the pipeline: refresh once per
            # batch (~10 points here), read_frame, reshape, reduce, set
            reader = FrameReader(data, 1, auto_refresh=False)
            scan_map = ScanMap((n,))
            for i in range(n):
                frame, _ = reader.read_frame(i, force_refresh=(i % 10 == 0))
                scan_map.set((i,), reduce_frame(frame.reshape(SHAPE)))
        elif method == "map: ReducePipeline":
            # batches of ~10 newly ready points, one refresh each, as the viewer reads them now
            scan_map = ScanMap((n,))
            with ReducePipeline(data, 1) as pipe:
                for start in range(0, n, 10):
                    pipe.refresh()
                    positions = np.arange(start, min(n, start + 10))[:, None]
                    values, _ = pipe.read_reduce(positions)
                    scan_map.set_many(positions, values)
            assert scan_map.n_filled == n
        else:
            raise ValueError(method)
        return time.perf_counter() - t0


READERS = ("read_direct", "FrameReader.read", "DataSource", "swmr_tools DataSource")
MAPS = ("read_direct+reduce", "map: DataSource+ScanMap", "map: per-point reads",
        "map: ReducePipeline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.frames
    machine_note()
    print(f"# {n} frames of {SHAPE[0]}x{SHAPE[1]} uint16 ({FRAME_MB:.1f} MB each), "
          f"one frame per chunk; median of {args.repeat} passes, methods interleaved")
    compressions = {"uncompressed": {}, "bitshuffle-lz4": dict(hdf5plugin.Bitshuffle(cname="lz4"))}
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, comp in compressions.items():
            path = Path(tmp) / f"{label}.h5"
            write_scan(path, n, comp)
            size = path.stat().st_size / 1e6
            for method in READERS + MAPS:  # warm the page cache and imports
                read_all(path, method, min(n, 20))
            times = {m: [] for m in READERS + MAPS}
            for _ in range(args.repeat):
                for method in READERS + MAPS:
                    times[method].append(read_all(path, method, n))
            med = {m: statistics.median(t) for m, t in times.items()}
            base = med["read_direct"]
            rows = [(m, n / med[m], n * FRAME_MB / med[m], med[m] / base) for m in READERS + MAPS]
            table(f"{label} (file {size:.0f} MB): every frame once",
                  ["method", "frames/s", "MB/s", "time / read_direct"], rows)
            ratios[label] = {m: med[m] / base for m in med} | {"fps": {m: n / med[m] for m in med}}

    for label in compressions:
        r = ratios[label]
        for m in ("FrameReader.read", "DataSource"):
            verdict(f"{label}: swmrview {m} vs read_direct", f"{r[m]:.2f}x", "<= 1.5x",
                    r[m] <= 1.5)
        for m in ("map: DataSource+ScanMap", "map: per-point reads", "map: ReducePipeline"):
            fps = r["fps"][m]
            verdict(f"{label}: {m} vs read_direct", f"{r[m]:.2f}x", "<= 1.5x", r[m] <= 1.5)
            verdict(f"{label}: {m} frames/s", f"{fps:.0f}/s", ">= 200/s", fps >= 200)
    print_verdicts()


if __name__ == "__main__":
    main()
