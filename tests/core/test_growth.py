"""GrowthFollower: live files without keys, followed by dataset growth and stored chunks."""

from __future__ import annotations

import multiprocessing
import time

import h5py
import numpy as np
import pytest

from swmrview.core import GrowthFollower, open_swmr


def growth_writer(path: str, mode: str, hold: float = 0.0) -> None:
    """``grow2d``: a 4x5 grid of 3x2 frames growing GDA-style from (1, 1) (maxshape unlimited);
    ``prealloc``: 50 frames allocated at full size, written 10 per chunk (as ChunkSource's
    writers do); ``stall``: 6 points, a 1.5 s pause, 4 more, and no finished flag."""
    with h5py.File(path, "w", libver="latest") as f:
        if mode == "grow2d":
            shape, maxshape, chunks, frame_shape = (1, 1, 3, 2), (None, None, 3, 2), (1, 1, 3, 2), (3, 2)
            grid = (4, 5)
        elif mode == "prealloc":
            shape, maxshape, chunks, frame_shape = (50, 4), (50, 4), (10, 4), (4,)
            grid = (50,)
        else:
            shape, maxshape, chunks, frame_shape = (0, 4), (None, 4), (1, 4), (4,)
            grid = (10,)
        data = f.create_dataset("data", shape=shape, maxshape=maxshape, chunks=chunks,
                                dtype=np.float64, fillvalue=0)
        flag = f.create_dataset("finished", shape=(1,), maxshape=(None,), chunks=(1,),
                                dtype=np.int32) if mode != "stall" else None
        f.swmr_mode = True
        time.sleep(hold)
        n = int(np.prod(grid))
        if mode == "prealloc":
            for start in range(0, n, 10):
                data[start:start + 10] = np.arange(start, start + 10)[:, None] + 1
                data.flush()
                time.sleep(0.05)
        else:
            for i in range(n):
                pos = np.unravel_index(i, grid)
                grown = tuple(max(a, p + 1) for a, p in zip(data.shape, pos)) + frame_shape
                if grown != data.shape:
                    data.resize(grown)
                data[pos] = np.full(frame_shape, i + 1.0)
                data.flush()
                time.sleep(1.5 if (mode == "stall" and i == 5) else 0.02)
        if flag is not None:
            flag[0] = 1
            flag.flush()


@pytest.fixture
def start_writer(tmp_path, processes):
    def start(mode: str, hold: float = 0.5):
        path = str(tmp_path / f"{mode}.h5")
        proc = multiprocessing.get_context("spawn").Process(target=growth_writer,
                                                            args=(path, mode, hold))
        proc.start()
        processes.append(proc)
        return path

    return start


def follow(follower, data, scan_rank):
    """Poll to the end; every reported point's frame must already hold its value."""
    got = []
    while not follower.done:
        new = follower.poll()
        if new.size:
            data.refresh()
            positions = np.stack(follower.positions(new), axis=1)
            for index, pos in zip(new.tolist(), positions):
                frame = data[tuple(int(p) for p in pos)]
                assert np.all(frame == index + 1), f"point {index} not written yet"
            got += new.tolist()
        time.sleep(0.01)
    return got


@pytest.mark.slow
def test_a_grid_growing_from_one_point_is_followed_in_order(start_writer):
    path = start_writer("grow2d")
    with open_swmr(path, retry_for=30) as f:
        data = f["data"]  # one handle: refreshing two handles of a dataset goes stale in HDF5
        kf = GrowthFollower([data], timeout=10, finished_dataset=f["finished"], scan_rank=2)
        got = follow(kf, data, 2)
        assert got == list(range(20))
        assert kf.finished_set and not kf.timed_out and kf.scan_shape == (None, 5)


@pytest.mark.slow
def test_preallocated_data_is_ready_chunk_by_chunk_as_chunksource_decides(start_writer):
    path = start_writer("prealloc")
    with open_swmr(path, retry_for=30) as f:
        data = f["data"]
        kf = GrowthFollower([data], timeout=10, finished_dataset=f["finished"], scan_rank=1)
        assert kf.scan_shape == (50,) and kf.total_points == 50
        got = follow(kf, data, 1)
    assert got == list(range(50)) and kf.finished_set and not kf.timed_out


@pytest.mark.slow
def test_timeout_then_resume_when_the_data_grows_again(start_writer):
    path = start_writer("stall")
    with open_swmr(path, retry_for=30) as f:
        data = f["data"]
        kf = GrowthFollower([data], timeout=0.5, scan_rank=1)
        first = follow(kf, data, 1)
        assert first == list(range(6)) and kf.timed_out
        deadline = time.monotonic() + 20
        while data.shape[0] < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
            data.refresh()
        kf.resume()
        assert not kf.timed_out
        rest = follow(kf, data, 1)
    assert rest == list(range(6, 10)) and kf.timed_out  # no flag: it ends on the timeout


def test_numpy_data_counts_as_stored_and_a_declared_shape_ends_the_scan():
    data = np.ones((3, 4, 2))
    kf = GrowthFollower([data], timeout=None, scan_rank=2, scan_shape=(3, 4))
    assert kf.poll().tolist() == list(range(12))
    assert kf.poll().size == 0 and kf.done and not kf.timed_out
