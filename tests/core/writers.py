"""Small scripted SWMR writers, run as real processes by the core tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import h5py
import numpy as np


@dataclass
class Plan:
    """What a test writer does; every field has a plain default (a 1-D scan of 20 points)."""

    scan_shape: tuple = (20,)
    frame: tuple = (3,)
    n_keys: int = 1
    key_lag: int = 0            # the second key trails the first by this many points
    trailing_one: bool = False  # keys shaped scan + (1,), as GDA writes them
    unlimited: bool = True      # slow axis maxshape None, datasets grow along it
    order: tuple = ()           # acquisition order (default C order)
    drop: tuple = ()            # points whose key is never set
    finished: str = "shape1"    # "shape1", "rank0" or "" (no finished dataset)
    rate: float = 200.0
    reset_after: int | None = None  # after this many points, zero every key and stop
    swmr: bool = True           # False: write the whole scan without SWMR, then close
    hold: float = 0.0           # seconds to stay open before the first point
    key_value: int = 7          # value written into keys (large values test int handling)
    frames_per_chunk: int = 1   # >1: a chunk holds several frames (stale chunk caches show)
    extra: dict = field(default_factory=dict)


def frame_of(index: int, plan: Plan) -> np.ndarray:
    """The frame written at flat index ``index``."""
    return np.full(plan.frame, float(index + 1))


def write(path: str, plan: Plan) -> None:
    """Write a scan following ``plan``: data flushed before keys, finished flag at the end."""
    shape = tuple(plan.scan_shape)
    key_tail = (1,) if plan.trailing_one else ()
    start = (0,) + shape[1:] if plan.unlimited else shape
    maxshape = ((None,) + shape[1:]) if plan.unlimited else shape
    with h5py.File(path, "w", libver="latest") as f:
        keys = [f.create_dataset(f"keys/key{j}", shape=start + key_tail, maxshape=maxshape + key_tail,
                                 dtype=np.int64, chunks=(min(8, shape[0]),) + shape[1:] + key_tail,
                                 fillvalue=0)
                for j in range(plan.n_keys)]
        data = f.create_dataset("entry/data", shape=start + plan.frame,
                                maxshape=maxshape + plan.frame, dtype=np.float64,
                                chunks=(plan.frames_per_chunk,) + (1,) * (len(shape) - 1) + plan.frame)
        finished = None
        if plan.finished == "shape1":
            finished = f.create_dataset("finished", shape=(1,), maxshape=(None,), dtype=np.int32)
        elif plan.finished == "rank0":
            finished = f.create_dataset("finished", data=np.int32(0))
        if plan.swmr:
            f.swmr_mode = True
        time.sleep(plan.hold)
        order = list(plan.order) or list(range(int(np.prod(shape))))
        lagging: list[int] = []
        t0 = time.monotonic()
        for n, index in enumerate(order):
            if plan.reset_after is not None and n == plan.reset_after:
                for k in keys:
                    k[...] = 0
                    k.flush()
                time.sleep(60)  # a writer that stopped after a reset, never finishing
                return
            pos = np.unravel_index(index, shape)
            for ds in [data] + keys:
                if ds.shape[0] <= pos[0]:
                    ds.resize(pos[0] + 1, axis=0)
            data[pos] = frame_of(index, plan)
            data.flush()
            if index not in plan.drop:
                keys[0][pos] = plan.key_value
                lagging.append(index)
                for k in keys[1:]:
                    while len(lagging) > plan.key_lag:
                        k[np.unravel_index(lagging.pop(0), shape)] = plan.key_value
                for k in keys:
                    k.flush()
            _sleep_until(t0 + (n + 1) / plan.rate)
        for k in keys[1:]:
            for index in lagging:
                k[np.unravel_index(index, shape)] = plan.key_value
            k.flush()
        if finished is not None:
            finished[()] = 1
            finished.flush()


def _sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


#: compressions of `write_chunks`' datasets (names -> h5py create_dataset options)
def chunk_compressions() -> dict:
    import hdf5plugin

    return {"uncompressed": {}, "gzip": dict(compression="gzip", compression_opts=4),
            "bitshuffle-lz4": dict(hdf5plugin.Bitshuffle(cname="lz4")),
            "blosc": dict(hdf5plugin.Blosc(cname="lz4", shuffle=hdf5plugin.Blosc.SHUFFLE))}


def chunk_frame(i: int) -> np.ndarray:
    """Frame ``i`` of `write_chunks`: detector-like uint16 counts that compress."""
    rng = np.random.default_rng(i)
    return rng.poisson(3 + i, (16, 24)).astype(np.uint16)


def write_chunks(path: str, ready, go, done, release) -> None:
    """SWMR file with one frame per chunk in each of `chunk_compressions`' datasets, extent 4:
    frames 0-2 written and flushed (chunk 3 not stored), then ``ready`` is set; after ``go``,
    frame 3, then ``done``; the file stays open (SWMR) until ``release`` (30 s at most)."""
    with h5py.File(path, "w", libver="latest") as f:
        sets = [f.create_dataset(name, shape=(4, 16, 24), maxshape=(None, 16, 24),
                                 chunks=(1, 16, 24), dtype=np.uint16, **options)
                for name, options in chunk_compressions().items()]
        f.swmr_mode = True
        for i in range(3):
            for ds in sets:
                ds[i] = chunk_frame(i)
        for ds in sets:
            ds.flush()
        ready.set()
        if not go.wait(30):
            return
        for ds in sets:
            ds[3] = chunk_frame(3)
            ds.flush()
        done.set()
        release.wait(30)
