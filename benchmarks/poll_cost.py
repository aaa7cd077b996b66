"""Cost of one key poll at 10^3 vs 10^6 ready points, and key-to-index latency.

swmrview's `KeyFollower.poll()` reads the keys only from the first incomplete point on, so a
poll should cost the same whatever the scan length; swmr_tools 0.9.0's `refresh()` reads every
key on every poll. Both are caught up first (one `refresh()` each), then idle polls are timed:
with keys written ahead of the ready points (pre-sized keys) swmrview reads the waiting key's
bytes from the file; with keys that end at the last ready point ("end", as GDA grows them) it
refreshes the dataset to see it grow. Latency: a writer process sets one key every 0.2 s and records when it
flushed; the reader records when the index was yielded.

Run: .venv/bin/python benchmarks/poll_cost.py
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import swmr_tools

from _common import machine_note, median_time, percentile, print_verdicts, table, verdict
from swmrview.core import KeyFollower

TAIL = 4096  # written-but-not-yet-ready points after the ready ones (one chunk)


def write_keys(path: Path, scan_shape: tuple[int, ...], ready: int, chunks: tuple[int, ...]) -> None:
    """Key dataset of ``scan_shape`` (dim 0 unlimited), the first ``ready`` points set."""
    keys = np.zeros(scan_shape, np.int32)
    keys.reshape(-1)[:ready] = np.arange(1, ready + 1, dtype=np.int32)
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("keys", data=keys, maxshape=(None,) + scan_shape[1:], chunks=chunks,
                         fillvalue=0)
        f.create_dataset("finished", shape=(1,), maxshape=(None,), chunks=(1,), dtype=np.int32,
                         fillvalue=0)
        f.swmr_mode = True


def catch_up(follower: KeyFollower) -> int:
    """One refresh() catches up with every ready point (as swmr_tools' refresh does); the
    backlog is then handed out by poll() in bounded batches."""
    follower.refresh()
    caught = follower.get_current_max() + 1
    while follower.poll().size:
        pass
    return caught


def poll_costs(path: Path, ready: int, repeat: int) -> tuple[float, float, float]:
    """Median seconds per idle poll once caught up (one refresh()): swmrview poll() with and
    without a finished flag to check (swmr_tools' refresh() never reads the flag), swmr_tools
    refresh()."""
    with h5py.File(path, "r", swmr=True) as f:
        keys, finished = f["keys"], f["finished"]
        ours = KeyFollower([keys], timeout=None, finished_dataset=finished)
        assert catch_up(ours) == ready
        t_ours = median_time(ours.poll, repeat=repeat, number=5)
        no_flag = KeyFollower([keys], timeout=None)
        assert catch_up(no_flag) == ready
        t_no_flag = median_time(no_flag.poll, repeat=repeat, number=5)

        theirs = swmr_tools.KeyFollower([keys], timeout=10, finished_dataset=finished)
        theirs.check_datasets()
        theirs.refresh()
        assert theirs.get_current_max() == ready - 1
        t_theirs = median_time(theirs.refresh, repeat=max(5, repeat // 3), number=1)
    return t_ours, t_no_flag, t_theirs


# ----------------------------------------------------------------------------- latency

def _latency_writer(path: str, n: int, rate: float, ready, go, out) -> None:
    with h5py.File(path, "w", libver="latest") as f:
        keys = f.create_dataset("keys", shape=(n,), maxshape=(None,), chunks=(n,),
                                dtype=np.int32, fillvalue=0)
        finished = f.create_dataset("finished", shape=(1,), maxshape=(None,), chunks=(1,),
                                    dtype=np.int32, fillvalue=0)
        f.swmr_mode = True
        ready.set()
        go.wait(30)
        start = time.monotonic() + 0.3
        for i in range(n):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            keys[i] = i + 1
            keys.flush()
            out.put((i, time.time()))
        time.sleep(0.6)
        finished[0] = 1
        finished.flush()


def key_latency(path: Path, make_follower, n: int = 20, rate: float = 5.0) -> list[float]:
    """Seconds from each key flush (writer process) to the index being yielded here."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_latency_writer, args=(str(path), n, rate, ready, go, out))
    proc.start()
    try:
        assert ready.wait(30), "writer did not start"
        yielded = {}
        with h5py.File(path, "r", swmr=True) as f:
            follower = make_follower(f["keys"], f["finished"])
            go.set()
            for index in follower:
                yielded[index] = time.time()
                if len(yielded) == n:
                    break
        flushed = dict(out.get(timeout=10) for _ in range(n))
    finally:
        proc.join(10)
    return [yielded[i] - flushed[i] for i in range(n)]


def main() -> None:
    machine_note()
    rows = []
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("1-D", 10**3, (10**3 + TAIL,), (4096,), 60),
            ("1-D", 10**6, (10**6 + TAIL,), (4096,), 60),
            ("2-D", 10**3, (26, 40), (4, 1000), 60),
            ("2-D", 10**6, (1001, 1000), (4, 1000), 60),
            # keys as GDA grows them: no unwritten tail, the idle poll waits past the end of
            # the dataset, so it refreshes it (HDF5 metadata) instead of reading key bytes
            ("1-D end", 10**3, (10**3,), (4096,), 60),
            ("1-D end", 10**6, (10**6,), (4096,), 60),
        ]
        for rank, ready, shape, chunks, repeat in cases:
            path = Path(tmp) / f"keys_{rank}_{ready}.h5"
            chunks = tuple(min(c, s) for c, s in zip(chunks, shape))
            write_keys(path, shape, ready, chunks)
            t_ours, t_no_flag, t_theirs = poll_costs(path, ready, repeat)
            results[rank, ready] = (t_ours, t_theirs)
            rows.append((f"{rank} {ready:.0e} ready, key {'x'.join(map(str, shape))}",
                         t_ours * 1e6, t_no_flag * 1e6, t_theirs * 1e6, t_theirs / t_ours,
                         t_theirs / t_no_flag))
        table("Per-poll cost (median, us), all points ready and caught up",
              ["case", "swmrview poll()", "poll(), no flag", "swmr_tools refresh()",
               "swmr_tools/swmrview", "ditto, no flag"], rows)

        scale_rows = []
        for rank in ("1-D", "2-D", "1-D end"):
            o3, t3 = results[rank, 10**3]
            o6, t6 = results[rank, 10**6]
            scale_rows.append((rank, o6 / o3, t6 / t3))
        table("Scaling of the per-poll cost, 10^6 / 10^3", ["keys", "swmrview", "swmr_tools"],
              scale_rows)

        lat_ours = key_latency(Path(tmp) / "lat_ours.h5",
                               lambda k, fin: KeyFollower([k], timeout=10, finished_dataset=fin,
                                                          poll_interval=0.02))

        def swmr_tools_follower(k, fin):
            kf = swmr_tools.KeyFollower([k], timeout=10, finished_dataset=fin)
            kf.check_datasets()
            return kf

        lat_theirs = key_latency(Path(tmp) / "lat_theirs.h5", swmr_tools_follower)
    table("Key flush (writer process) to index yielded, 20 points at 5 points/s (ms)",
          ["follower", "median", "p90", "max"],
          [("swmrview KeyFollower (poll_interval 0.02 s)", statistics.median(lat_ours) * 1e3,
            percentile(lat_ours, 90) * 1e3, max(lat_ours) * 1e3),
           ("swmr_tools KeyFollower (sleep timeout/20 = 0.5 s)",
            statistics.median(lat_theirs) * 1e3, percentile(lat_theirs, 90) * 1e3,
            max(lat_theirs) * 1e3)])
    print(f"latency ratio swmr_tools/swmrview (median): "
          f"{statistics.median(lat_theirs) / statistics.median(lat_ours):.1f}x")

    scale = results["1-D", 10**6][0] / results["1-D", 10**3][0]
    speedup = results["1-D", 10**6][1] / results["1-D", 10**6][0]
    speedup2 = results["2-D", 10**6][1] / results["2-D", 10**6][0]
    verdict("poll cost 10^6 / 10^3 (swmrview, 1-D)", f"{scale:.2f}x", "<= 3x", scale <= 3)
    end = results["1-D end", 10**6][1] / results["1-D end", 10**6][0]
    verdict("swmr_tools / swmrview at 10^6, waiting past the end (1-D)", f"{end:.0f}x",
            ">= 30x", end >= 30)
    scale2 = results["2-D", 10**6][0] / results["2-D", 10**3][0]
    verdict("poll cost 10^6 / 10^3 (swmrview, 2-D)", f"{scale2:.2f}x", "<= 3x", scale2 <= 3)
    verdict("swmr_tools / swmrview at 10^6 (1-D)", f"{speedup:.0f}x", ">= 30x", speedup >= 30)
    verdict("swmr_tools / swmrview at 10^6 (2-D)", f"{speedup2:.0f}x", ">= 30x", speedup2 >= 30)
    print_verdicts()


if __name__ == "__main__":
    main()
