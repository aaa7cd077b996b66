"""The end-of-scan rule against real writer processes racing both ways, many times over.

Flag first: the finished flag is flushed while the detector's key (a second key dataset, as a
detector file flushing after the scan file) still lacks the last points, which come a random
0-0.6 s later. Keys first: every key is in, the flag comes a random 0-1.5 s later. Either way
every point must be reported exactly once, the scan must end as finished (never timed out),
and it must end soon after the flag or the last key.

One writer process writes REPEATS scans in a row for each test (a process per scan would
spend most of the time starting Python), handing each file to this process before writing
its points, so the follower is live through the race. SWMRVIEW_RACE_REPEATS sets REPEATS.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time

import h5py
import numpy as np
import pytest

from swmrview.core import KeyFollower, open_swmr

REPEATS = int(os.environ.get("SWMRVIEW_RACE_REPEATS", "20"))
pytestmark = [pytest.mark.slow,
              pytest.mark.timeout(max(120, 6 * REPEATS))]  # about 2 s per scan at most
SHAPE = (5, 6)  # 30 points, the size of the scan in issue 9


def race_writer(folder: str, mode: str, repeats: int, seed: int, handoff, started, report):
    """Write ``repeats`` GDA-style scans (keys grow from (1, 1), maxshape unlimited in every
    dimension) racing the finished flag against the last keys as ``mode`` says."""
    rng = random.Random(seed)
    n = SHAPE[0] * SHAPE[1]
    for rep in range(repeats):
        path = os.path.join(folder, f"scan_{rep}.h5")
        with h5py.File(path, "w", libver="latest") as f:
            presized = mode.endswith("presized")  # keys at full size from the start
            keys = [f.create_dataset(name, shape=SHAPE if presized else (1, 1),
                                     maxshape=SHAPE if presized else (None, None), chunks=(2, 6),
                                     dtype=np.int32, fillvalue=0)
                    for name in ("uniqueKeys", "detector")]
            flag = f.create_dataset("scan_finished", shape=(1,), maxshape=(None,), chunks=(1,),
                                    dtype=np.int32, fillvalue=0)
            f.swmr_mode = True
            handoff.put(path)
            if not started.get(timeout=60):
                return
            late = rng.randint(1, 4) if mode.startswith("flag_first") else 0
            for i in range(n):
                pos = np.unravel_index(i, SHAPE)
                for j, key in enumerate(keys):
                    if j == 1 and i >= n - late:
                        continue  # the detector file lags behind
                    grown = tuple(max(a, p + 1) for a, p in zip(key.shape, pos))
                    if grown != key.shape:
                        key.resize(grown)
                    key[pos] = i + 1
                    key.flush()
                time.sleep(rng.uniform(0, 0.004))
            if mode == "keys_first":
                time.sleep(rng.uniform(0, 1.5))
            flag[0] = 1
            flag.flush()
            flag_time = time.time()
            for i in range(n - late, n):  # flag_first: the detector's last keys after the flag
                time.sleep(rng.uniform(0, 0.6 if i == n - late else 0.15))
                keys[1][np.unravel_index(i, SHAPE)] = i + 1
                keys[1].flush()
            report.put((flag_time, time.time(), late))


def run_races(tmp_path, mode: str, declared: bool):
    ctx = multiprocessing.get_context("spawn")
    handoff, started, report = ctx.Queue(), ctx.Queue(), ctx.Queue()
    seed = random.randrange(1 << 30)
    proc = ctx.Process(target=race_writer,
                       args=(str(tmp_path), mode, REPEATS, seed, handoff, started, report))
    proc.start()
    outcomes = []
    try:
        for _ in range(REPEATS):
            path = handoff.get(timeout=60)
            with open_swmr(path, retry_for=30) as f:
                kf = KeyFollower([f["uniqueKeys"], f["detector"]], timeout=5,
                                 finished_dataset=f["scan_finished"],
                                 scan_shape=SHAPE if declared else None, scan_rank=2)
                kf.check_datasets()
                started.put(True)
                indices = []
                while not kf.done:
                    indices.extend(kf.poll().tolist())
                    time.sleep(0.005)
                ended = time.time()
                shape = kf.scan_shape
            flag_time, last_key_time, late = report.get(timeout=60)
            outcomes.append((indices, kf.finished_set, kf.timed_out, shape,
                             ended - max(flag_time, last_key_time), late))
    finally:
        proc.join(timeout=60)
        if proc.is_alive():
            proc.terminate()
    return seed, outcomes


def check(seed, outcomes, max_lag: float, shape_seen=SHAPE):
    assert len(outcomes) == REPEATS
    for rep, (indices, finished, timed_out, shape, lag, late) in enumerate(outcomes):
        where = f"seed {seed}, scan {rep} ({late} late keys)"
        assert indices == list(range(30)), f"{where}: points lost or repeated: {indices}"
        assert finished and not timed_out, f"{where}: finished {finished}, timed out {timed_out}"
        assert shape == shape_seen, f"{where}: scan shape {shape}"
        assert lag < max_lag, f"{where}: ended {lag:.2f} s after the last write"


@pytest.mark.parametrize("declared", [True, False], ids=["declared_shape", "unknown_length"])
def test_flag_before_the_last_keys_loses_no_point(tmp_path, declared):
    seed, outcomes = run_races(tmp_path, "flag_first", declared)
    # keys growing from (1, 1): the follower waits at the end of the key datasets
    # a scan of known size ends with its last point; otherwise one grace period after it
    if declared:
        check(seed, outcomes, max_lag=0.5)
    else:
        check(seed, outcomes, max_lag=0.5 + 1.0, shape_seen=(None, SHAPE[1]))


def test_flag_before_the_last_keys_of_presized_keys_loses_no_point(tmp_path):
    # keys at full size from the start: idle polls read the waiting key's bytes from the file
    seed, outcomes = run_races(tmp_path, "flag_first_presized", False)
    check(seed, outcomes, max_lag=0.5)


def test_every_key_before_the_flag_waits_for_the_flag(tmp_path):
    seed, outcomes = run_races(tmp_path, "keys_first", True)
    check(seed, outcomes, max_lag=0.5)  # polled fast: ends right after the flag
