"""FrameReader and DataSource on live simulator scans, compressed data and numpy arrays."""

from __future__ import annotations

import time

import numpy as np
import pytest

from swmrview.core import DataSource, FrameReader, KeyDataMismatchError, KeyFollower, open_swmr
from swmrview.tools.simulate import SimConfig, expected_frame

DATA = "/entry/instrument/detector/data"


def _gda(f):
    keys = [f[f"/entry/diamond_scan/keys/{name}"] for name in f["/entry/diamond_scan/keys"]]
    return keys, f["/entry/diamond_scan/scan_finished"]


@pytest.mark.parametrize("compression", [None, "bitshuffle"])
@pytest.mark.slow
def test_datasource_reads_every_frame_of_a_live_growing_scan_without_sleeping(
        sim_writer, monkeypatch, compression):
    cfg = SimConfig(shape=(5, 6), frame=(16, 24), rate=150, compression=compression)
    path, _ = sim_writer(cfg)
    with open_swmr(path, retry_for=30) as f:
        keys, finished = _gda(f)
        source = DataSource(keys, {"data": f[DATA]}, timeout=20, finished_dataset=finished)
        # swmr_tools sleeps 1 s whenever the data shape is stale; a sleep here fails the test
        monkeypatch.setattr(time, "sleep", lambda s: pytest.fail(f"slept {s} s"))
        results = list(source)
    assert [r.index for r in results] == list(range(30))
    for r in results:
        assert r["data"].shape == (1, 1, 16, 24)
        pos = tuple(s.start for s in r.slice_metadata)
        assert pos == np.unravel_index(r.index, (5, 6))
        np.testing.assert_array_equal(r["data"][0, 0], expected_frame(r.index, cfg))
        assert tuple(r.maxshape) == (None, None)  # the keys' own (GDA: unlimited), as swmr_tools
    assert source.is_scan_finished() and not source.has_timed_out()


@pytest.mark.slow
def test_frame_reader_refreshes_a_stale_shape_once_and_reads_the_new_frame(sim_writer):
    cfg = SimConfig(shape=(30,), frame=(8,), rate=40)
    path, _ = sim_writer(cfg)
    with open_swmr(path, retry_for=30) as f:
        keys, finished = _gda(f)
        reader = FrameReader(f[DATA], 1)
        shape_at_open = reader._shape
        last = None
        for index in KeyFollower(keys, timeout=20, finished_dataset=finished):
            last = reader.read(index)
            np.testing.assert_array_equal(last, expected_frame(index, cfg))
        assert shape_at_open[0] < reader._shape[0] == 30  # it followed the growing dataset
        assert last.shape == (8,)


def test_frame_reader_on_numpy_arrays_matches_swmr_tools_shapes():
    data = np.arange(4 * 5 * 3).reshape(4, 5, 3)
    frame, sl = FrameReader(data, 2).read_frame(7)
    assert sl == (slice(1, 2), slice(2, 3))
    np.testing.assert_array_equal(frame, data[1:2, 2:3])
    assert FrameReader(data, 1).read(2).shape == (5, 3)
    assert FrameReader(data, 2).frame_shape == (3,)


def test_a_ready_point_outside_the_data_is_a_named_error():
    with pytest.raises(KeyDataMismatchError, match="point 12 .* outside"):
        FrameReader(np.zeros((3, 4)), 1).read(12)
    with pytest.raises(KeyDataMismatchError, match="less than the scan rank"):
        FrameReader(np.zeros((3,)), 2)


def test_datasource_poll_is_non_blocking_and_creates_output_like_swmr_tools(tmp_path):
    import h5py

    key = np.zeros((6,), np.int32)
    data = np.arange(6 * 4, dtype=float).reshape(6, 4)
    source = DataSource([key], {"d": data}, timeout=None)
    assert source.poll() == []
    key[:3] = 1
    batch = source.poll()
    assert [b.index for b in batch] == [0, 1, 2]
    with h5py.File(tmp_path / "out.h5", "w") as out:
        ds = source.create_dataset(batch[0]["d"].sum(keepdims=True)[0], out, "result")
        for b in batch[1:]:
            source.append_data(b["d"].sum(keepdims=True)[0], b.slice_metadata, ds)
        assert ds.maxshape == (6, 1)
        np.testing.assert_array_equal(ds[:, 0], data[:3].sum(axis=1))


@pytest.mark.parametrize("out_of_order", [False, True])
@pytest.mark.slow
def test_frames_sharing_a_chunk_are_never_read_as_fill_data(writer, out_of_order):
    from .conftest import open_when_ready
    from .writers import Plan, frame_of

    order = (0, 2, 1, 3, 5, 4, 7, 6, 8, 9, 11, 10, 12, 13, 15, 14, 16, 17, 19, 18)
    plan = Plan(scan_shape=(20,), frame=(5,), frames_per_chunk=4, rate=60,
                order=order if out_of_order else ())
    path, _ = writer(plan)
    with open_when_ready(path) as f:
        source = DataSource([f["keys/key0"]], {"d": f["entry/data"]}, timeout=20,
                            finished_dataset=f["finished"], out_of_order=out_of_order)
        frames = {r.index: r["d"] for r in source}
    assert sorted(frames) == list(range(20))
    for index, frame in frames.items():
        np.testing.assert_array_equal(frame[0], frame_of(index, plan))


@pytest.mark.slow
def test_standalone_frame_reader_refreshes_for_each_new_highest_index(writer):
    from .conftest import open_when_ready
    from .writers import Plan, frame_of

    plan = Plan(scan_shape=(16,), frame=(3,), frames_per_chunk=4, rate=60)
    path, _ = writer(plan)
    with open_when_ready(path) as f:
        reader = FrameReader(f["entry/data"], 1)
        follower = KeyFollower([f["keys/key0"]], timeout=20, finished_dataset=f["finished"])
        for index in follower:
            np.testing.assert_array_equal(reader.read(index), frame_of(index, plan))


def test_an_unknown_compression_filter_is_named(tmp_path):
    import h5py

    from swmrview.core import MissingFilterError

    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", shape=(2, 4, 4), dtype=np.uint16, chunks=(1, 4, 4),
                             compression=32123, allow_unknown_filter=True)
        for i in range(2):
            d.id.write_direct_chunk((i, 0, 0), np.zeros((4, 4), np.uint16).tobytes())
    with open_swmr(path) as f:
        with pytest.raises(MissingFilterError, match="filter id 32123.*not installed"):
            FrameReader(f["data"], 1).read(1)
