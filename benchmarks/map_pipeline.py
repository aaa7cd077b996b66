"""Map throughput of `ReducePipeline` against h5py `read_direct`, by number of threads.

Every frame of a finished scan (one frame per chunk, in the page cache) is read once and, for
the map methods, reduced to sum/mean/max/roi:

- ``read_direct``: plain h5py into one preallocated frame, single-threaded; HDF5 decompresses
  inside h5py's lock. The baseline of every ratio.
- ``read_direct+reduce_frame``: the same plus `reduce_frame` on the same thread (the map path
  before the pipeline).
- ``ReducePipeline tN``: direct chunk reads, decompression and reduction in N worker threads.
- ``ReducePipeline h5py tN``: the pipeline's fallback (h5py reads), for comparison.

Cases: 1024x1024 uint16 uncompressed and bitshuffle/LZ4 (SPEC section 4 targets), other
filters at 1024x1024, and an Eiger-4M-sized 2167x2070 uint32 bitshuffle/LZ4 scan with gap pixels
at 2**32-1 excluded by ``overflow`` (as the viewer does with the detector's saturation value).

Run: .venv/bin/python benchmarks/map_pipeline.py [--frames 300] [--repeat 5] [--quick]
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

from _common import idle_cores, machine_note, print_verdicts, table, verdict
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.compute.reduce import reduce_frame
from swmrview.core.follow.chunks import ChunkReader
from swmrview.core.follow.decoders import decoder_sources

THREADS = (1, 2, 4)


def wait_idle(seconds: float) -> None:
    """Wait up to ``seconds`` for the other jobs of a shared machine to leave 90 % of the
    cores idle (thread scaling is only measurable on idle cores)."""
    deadline = time.monotonic() + seconds
    want = 0.9 * (os.cpu_count() or 1)
    while time.monotonic() < deadline:
        idle = idle_cores()
        if idle is None or idle >= want:
            return


def contention() -> str:
    """Load average and the cores other processes leave idle (measured over 1 s)."""
    idle = idle_cores()
    text = f"load average {os.getloadavg()[0]:.2f}"
    if idle is not None:
        text += f", {idle:.2f} of {os.cpu_count()} cores idle"
    return text


def write_scan(path: Path, n: int, shape: tuple, dtype, compression: dict,
               gaps: bool = False) -> None:
    """n frames like a detector's (spot + Poisson background), one frame per chunk."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    templates = []
    for k in range(8):
        spot = 3000 * np.exp(-((yy - shape[0] // 3 - 50 * k) ** 2 + (xx - shape[1] // 2) ** 2)
                             / (2 * 40.0**2))
        frame = (rng.poisson(20, shape) + spot).astype(dtype)
        if gaps:  # Eiger 4M module gaps: 2 x 4 modules of 1030 x 514 with 10/37-pixel gaps
            top = np.iinfo(dtype).max
            for x in (1030, 2070 - 1030 - 10):
                frame[:, x:x + 10] = top
            for y in (514, 514 * 2 + 37, 514 * 3 + 2 * 37):
                frame[y:y + 37, :] = top
        templates.append(frame)
    with h5py.File(path, "w", libver="latest") as f:
        data = f.create_dataset("data", shape=(n,) + shape, maxshape=(None,) + shape,
                                chunks=(1,) + shape, dtype=dtype, **compression)
        for i in range(n):
            data[i] = templates[i % len(templates)]


class LockTimedChunks(ChunkReader):
    """ChunkReader that adds up the time of the chunk address lookups (under h5py's lock)."""

    def info(self, offset):
        t0 = time.perf_counter()
        try:
            return super().info(offset)
        finally:
            LockTimedPipeline.lock_seconds.append(time.perf_counter() - t0)


class LockTimedPipeline(ReducePipeline):
    """ReducePipeline that adds up the time of its h5py calls made under h5py's lock: the
    chunk address lookup (raw chunks are then read by address without the lock), or the
    whole raw chunk read where reads by address are off."""

    lock_seconds: list[float] = []

    def __init__(self, dataset, *args, **kwargs):
        super().__init__(dataset, *args, **kwargs)
        self.chunks = LockTimedChunks(dataset, by_address=self.direct)

    def _read_raw(self, offset, out=None):
        if self.chunks.by_address:
            return super()._read_raw(offset, out)
        t0 = time.perf_counter()
        try:
            return super()._read_raw(offset, out)
        finally:
            self.lock_seconds.append(time.perf_counter() - t0)


def lock_share(path: Path, n: int, overflow=None) -> tuple[float, float]:
    """Seconds per frame under h5py's lock, and in all, for a single-threaded pipeline pass."""
    with h5py.File(path, "r", swmr=True) as f:
        with LockTimedPipeline(f["data"], 1, threads=1, overflow=overflow) as pipe:
            positions = [(i,) for i in range(n)]
            pipe.read_reduce(positions[:16])
            LockTimedPipeline.lock_seconds = []
            t0 = time.perf_counter()
            pipe.read_reduce(positions)
            total = time.perf_counter() - t0
    return sum(LockTimedPipeline.lock_seconds) / n, total / n


def fixed_cost(tmp: Path, n: int = 2000) -> float:
    """Seconds per frame of a single-threaded pipeline on 64 KiB uncompressed frames: the
    per-frame work that does not shrink with the frame (h5py calls, Python), an upper bound
    of what stays serial whatever the number of threads."""
    path = tmp / "small.h5"
    write_scan(path, 64, (256, 256), np.uint8, {})
    with h5py.File(path, "r", swmr=True) as f:
        with ReducePipeline(f["data"], 1, threads=1) as pipe:
            assert pipe.direct
            positions = [(i % 64,) for i in range(n)]
            pipe.read_reduce(positions[:64])
            t0 = time.perf_counter()
            pipe.read_reduce(positions)
            return (time.perf_counter() - t0) / n


def run(data, method: str, n: int, overflow, pipes: dict) -> tuple[float, float]:
    """(wall, CPU) seconds to read (and for map methods reduce) every frame with ``method``;
    CPU time counts every thread of this process. A pipeline is made once per method and
    kept (the viewer keeps one per dataset for the whole scan), as read_direct keeps its
    output array."""
    shape = data.shape[1:]
    if method.startswith("ReducePipeline") and method not in pipes:
        direct = "h5py" not in method
        pipes[method] = ReducePipeline(data, 1, threads=int(method.rsplit("t", 1)[1]),
                                       overflow=overflow, direct=direct)
        assert pipes[method].direct == direct
    c0 = time.process_time()
    t0 = time.perf_counter()
    if method == "read_direct":
        out = np.empty((1,) + shape, data.dtype)
        for i in range(n):
            data.read_direct(out, np.s_[i:i + 1])
    elif method == "read_direct+reduce_frame":
        out = np.empty((1,) + shape, data.dtype)
        for i in range(n):
            data.read_direct(out, np.s_[i:i + 1])
            reduce_frame(out[0], overflow=overflow)
    elif method.startswith("ReducePipeline"):
        pipe = pipes[method]
        # the viewer's worker reads batches of newly ready points, one refresh each
        for start in range(0, n, 64):
            pipe.refresh()
            pipe.read_reduce([(i,) for i in range(start, min(n, start + 64))])
    else:
        raise ValueError(method)
    return time.perf_counter() - t0, time.process_time() - c0


CPU: dict[str, float] = {}
FIXED: list[float] = []


def measure(path: Path, methods, n: int, repeat: int, overflow=None) -> dict[str, float]:
    """Median wall seconds per method (CPU seconds of the same passes kept in CPU)."""
    times = {m: [] for m in methods}
    cpu = {m: [] for m in methods}
    pipes: dict = {}
    with h5py.File(path, "r", swmr=True) as f:
        data = f["data"]
        try:
            for method in methods:  # warm the page cache, imports, pools and buffers
                run(data, method, min(n, 16), overflow, pipes)
            for _ in range(repeat):
                for method in methods:  # interleaved, so drift hits every method alike
                    wall, used = run(data, method, n, overflow, pipes)
                    times[method].append(wall)
                    cpu[method].append(used)
        finally:
            for pipe in pipes.values():
                pipe.close()
    CPU.clear()
    CPU.update({m: statistics.median(c) for m, c in cpu.items()})
    return {m: statistics.median(t) for m, t in times.items()}


def report(title: str, med: dict[str, float], n: int, frame_mb: float,
           lock: tuple[float, float] | None = None) -> dict[str, float]:
    base = med["read_direct"]
    rows = [(m, n / t, n * frame_mb / t, t / base, base / t, CPU[m] / t, 1e3 * CPU[m] / n)
            for m, t in med.items()]
    table(title, ["method", "frames/s", "MB/s", "time / read_direct",
                  "throughput / read_direct", "cores busy", "CPU ms/frame"], rows)
    if lock is not None:
        held, total = lock
        serial = max(held, FIXED[0]) if FIXED else held
        print(f"  pipeline t1: {1e3 * held:.3f} ms/frame in h5py calls under its lock, of "
              f"{1e3 * total:.2f} ms/frame ({100 * held / total:.1f} %); with the per-frame "
              f"fixed cost ({1e3 * FIXED[0]:.3f} ms, 64 KiB frames) as the serial part, enough "
              f"idle cores top out near {1 / serial:,.0f} frames/s ({total / serial:.0f}x one "
              "thread)")
    return {m: t / base for m, t in med.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--eiger-frames", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer frames and passes")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="S",
                        help="before each case wait up to S seconds until 90 %% of the cores "
                             "are idle (other jobs on a shared machine)")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.eiger_frames, args.repeat = 60, 16, 3
    n = args.frames
    machine_note()
    print(f"# before the run: {contention()}; threads only scale on idle cores")
    print(f"# median of {args.repeat} passes, methods interleaved; files in the page cache "
          "(CPU cost, not the disk); 'cores busy' = process CPU time / wall time")
    pipes = [f"ReducePipeline t{t}" for t in THREADS]
    main_methods = ["read_direct", "read_direct+reduce_frame"] + pipes + ["ReducePipeline h5py t1"]
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        FIXED.append(fixed_cost(Path(tmp)))
        shape, mb = (1024, 1024), 1024 * 1024 * 2 / 1e6
        for label, comp in [("uncompressed", {}),
                            ("bitshuffle-lz4", dict(hdf5plugin.Bitshuffle(cname="lz4")))]:
            path = Path(tmp) / f"{label}.h5"
            write_scan(path, n, shape, np.uint16, comp)
            size = path.stat().st_size / 1e6
            wait_idle(args.wait_idle)
            print(f"\n# {label}: {contention()}")
            med = measure(path, main_methods, n, args.repeat)
            ratios[label] = report(f"{label} 1024x1024 uint16, {n} frames (file {size:.0f} MB)",
                                   med, n, mb, lock_share(path, n))
            path.unlink()

        others = [("gzip+shuffle", dict(compression="gzip", compression_opts=1, shuffle=True)),
                  ("blosc-lz4", dict(hdf5plugin.Blosc(cname="lz4",
                                                      shuffle=hdf5plugin.Blosc.SHUFFLE))),
                  ("lz4", dict(hdf5plugin.LZ4())),
                  ("zstd", dict(hdf5plugin.Zstd()))]
        rows = []
        small = max(16, n // 3)
        for label, comp in others:
            path = Path(tmp) / f"{label}.h5"
            write_scan(path, small, shape, np.uint16, comp)
            med = measure(path, ["read_direct", "ReducePipeline t1", "ReducePipeline t2"], small,
                          args.repeat)
            base = med["read_direct"]
            rows.append((label, small / base, small / med["ReducePipeline t1"],
                         small / med["ReducePipeline t2"], base / med["ReducePipeline t2"]))
            path.unlink()
        table(f"other filters, 1024x1024 uint16, {small} frames: frames/s",
              ["filter", "read_direct", "pipeline t1", "pipeline t2", "t2 / read_direct"], rows)

        eiger = (2167, 2070)
        top = np.iinfo(np.uint32).max
        path = Path(tmp) / "eiger4m.h5"
        write_scan(path, args.eiger_frames, eiger, np.uint32,
                   dict(hdf5plugin.Bitshuffle(cname="lz4")), gaps=True)
        size = path.stat().st_size / 1e6
        wait_idle(args.wait_idle)
        print(f"\n# Eiger 4M: {contention()}")
        med = measure(path, ["read_direct", "read_direct+reduce_frame"] + pipes,
                      args.eiger_frames, args.repeat, overflow=top)
        ratios["eiger"] = report(
            f"Eiger 4M 2167x2070 uint32 bitshuffle-lz4, gap pixels excluded (overflow 2**32-1), "
            f"{args.eiger_frames} frames (file {size:.0f} MB)", med, args.eiger_frames,
            eiger[0] * eiger[1] * 4 / 1e6, lock_share(path, args.eiger_frames, top))
    print(f"\n# after the run: {contention()}")
    print("# decoders used in the worker threads:")
    for name, source in sorted(decoder_sources().items()):
        print(f"#   {name}: {source}")

    best = f"ReducePipeline t{os.cpu_count() or 1}" if (os.cpu_count() or 1) in THREADS \
        else "ReducePipeline t2"
    r = ratios["uncompressed"][best]
    verdict(f"uncompressed map ({best}) time vs read_direct", f"{r:.2f}x", "<= 1.5x (goal 1.2x)",
            r <= 1.5)
    r = ratios["bitshuffle-lz4"][best]
    verdict(f"bitshuffle map ({best}) throughput vs read_direct", f"{1 / r:.2f}x", ">= 1.3x",
            1 / r >= 1.3)
    r = ratios["eiger"][best]
    verdict(f"Eiger 4M map ({best}) throughput vs read_direct", f"{1 / r:.2f}x", ">= 1.3x",
            1 / r >= 1.3)
    print_verdicts()


if __name__ == "__main__":
    main()
