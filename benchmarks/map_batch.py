"""Batch maps (`swmrview map`) on a local Dask cluster of 1 and 2 worker processes.

A set of finished scans (simulated GDA-like files, 512x512 uint16 frames, bitshuffle/LZ4) is
mapped (sum, mean, max) by `swmrview.tools.batch.compute_maps`: in this process without Dask (the
baseline), then on local clusters of 1 and 2 single-threaded worker processes. Cluster start-up
is left out (a facility cluster is already running); the time covers planning nothing, only
the tasks and gathering their results. Each file is also split into 4 tasks ("per range of
frames") to show the cost of splitting.

Run: .venv/bin/python benchmarks/map_batch.py [--files 8] [--frames 200] [--repeat 3]
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from _common import machine_note, print_verdicts, table, verdict
from map_pipeline import contention, wait_idle
from swmrview.tools import batch
from swmrview.tools.simulate import SimConfig, write_scan


def timed(plans, repeat, **kwargs) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        batch.compute_maps(plans, progress=False, **kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wait-idle", type=float, default=0, metavar="S",
                        help="wait up to S seconds until 90 %% of the cores are idle")
    args = parser.parse_args()
    for noisy in ("distributed", "tornado", "bokeh"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    from dask.distributed import Client, LocalCluster

    machine_note()
    print(f"# before the run: {contention()}")
    shape = (args.frames // 20, 20) if args.frames >= 20 else (args.frames,)
    frames = int(shape[0] * (shape[1] if len(shape) > 1 else 1))
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.files):
            write_scan(Path(tmp) / f"scan_{k:03d}.nxs",
                       SimConfig(shape=shape, frame=(512, 512), rate=1e6, seed=k,
                                 compression="bitshuffle"))
        plans = [batch.plan_file(p) for p in batch.find_files([tmp])]
        total = sum(p.n_points for p in plans)
        print(f"# {len(plans)} files x {frames} frames of 512x512 uint16 (bitshuffle/LZ4), "
              f"{total} frames; median of {args.repeat}")
        timed(plans, 1, workers=0)  # warm the page cache
        wait_idle(args.wait_idle)
        print(f"# {contention()}")
        rows, seconds = [], {}
        seconds["in process (no Dask)"] = timed(plans, args.repeat, workers=0)
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                timed(plans, 1, client=client)  # imports on the workers
                seconds[f"{workers} worker(s), a task per file"] = timed(
                    plans, args.repeat, client=client)
                seconds[f"{workers} worker(s), 4 tasks per file"] = timed(
                    plans, args.repeat, client=client, frames_per_task=-(-frames // 4))
        base = seconds["in process (no Dask)"]
        for name, t in seconds.items():
            rows.append((name, total / t, t, base / t))
        table("batch maps: frames/s", ["run", "frames/s", "seconds", "speed / in process"],
              rows)
    one = seconds["1 worker(s), a task per file"]
    two = seconds["2 worker(s), a task per file"]
    verdict("2 workers vs 1 worker (a task per file)", f"{one / two:.2f}x", "> 1.3x on 2 cores",
            one / two > 1.3)
    print(f"# after the run: {contention()}")
    print_verdicts("batch map scaling")


if __name__ == "__main__":
    main()
