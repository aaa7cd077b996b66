"""The simulated beamline writes a correct GDA-layout SWMR scan, in a real process."""

from __future__ import annotations

import time

import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle / blosc filters)
import numpy as np
import pytest

from swmrview.tools import simulate
from swmrview.tools.simulate import SimConfig, acquisition_order, expected_frame, write_scan

FAST = 5000.0


def finish(proc, timeout=30.0) -> int:
    proc.join(timeout)
    assert not proc.is_alive(), "writer did not finish"
    return proc.exitcode


def keys_of(f):
    uk = f[simulate.UNIQUE_KEYS][...]
    det = f[simulate.DETECTOR_KEY][...]
    return uk.reshape(uk.shape[: -1]), det.reshape(det.shape[:-2])


@pytest.mark.slow
def test_image_scan_layout_and_every_frame(sim_writer):
    cfg = SimConfig(shape=(4, 5), frame=(16, 12), rate=FAST)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        assert f.attrs["default"] == "entry"
        assert f["entry"].attrs["NX_class"] == "NXentry"
        assert f["entry"].attrs["default"] == "data"
        nxdata = f["entry/data"]
        assert nxdata.attrs["NX_class"] == "NXdata"
        assert nxdata.attrs["signal"] == "data"
        assert list(nxdata.attrs["axes"]) == ["stage_y", "stage_x", ".", "."]
        assert nxdata.attrs["stage_y_indices"] == 0 and nxdata.attrs["stage_x_indices"] == 1
        np.testing.assert_allclose(nxdata["stage_x"][...], np.linspace(0, 3, 5))
        assert nxdata["stage_x"].attrs["units"] == "mm"

        data = f[simulate.DATA_PATH]
        assert data == nxdata["data"]          # a hard link to the detector data
        assert data.dtype == np.uint16 and data.shape == (4, 5, 16, 12)
        assert data.chunks == (1, 1, 16, 12)
        assert data.maxshape == (None, None, 16, 12)  # GDA: unlimited in every scan dim
        for i in range(cfg.n_points):
            np.testing.assert_array_equal(data[np.unravel_index(i, cfg.shape)],
                                          expected_frame(i, cfg))

        uk, det = keys_of(f)
        assert f[simulate.UNIQUE_KEYS].dtype == np.int32
        assert f[simulate.UNIQUE_KEYS].maxshape == (None, None, 1)
        assert f[simulate.DETECTOR_KEY].maxshape == (None, None, 1, 1)
        assert f[simulate.UNIQUE_KEYS].chunks == (1, simulate.KEY_CHUNK, 1)  # several points
        np.testing.assert_array_equal(uk, np.arange(1, 21).reshape(4, 5))
        np.testing.assert_array_equal(det, uk)
        finished = f[simulate.FINISHED_PATH]
        assert finished.shape == (1,) and finished.maxshape == (None,) and finished[0] == 1
        assert f["/entry/diamond_scan/scan_rank"][()] == 2
        assert tuple(f["/entry/diamond_scan/scan_shape"][...]) == (4, 5)


@pytest.mark.parametrize("shape,frame,dtype", [
    ((7,), (), np.float64),
    ((2, 3, 4), (20,), np.float32),
])
@pytest.mark.slow
def test_spectrum_and_scalar_scans(sim_writer, shape, frame, dtype):
    cfg = SimConfig(shape=shape, frame=frame, rate=FAST)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        data = f["/entry/data/data"]
        assert data.dtype == dtype and data.shape == shape + frame
        for i in range(cfg.n_points):
            np.testing.assert_array_equal(data[np.unravel_index(i, shape)],
                                          expected_frame(i, cfg))
        axes = list(f["/entry/data"].attrs["axes"])
        assert axes == list(simulate.axis_names(len(shape))) + ["."] * len(frame)


@pytest.mark.slow
def test_snake_keys_in_acquisition_order_data_at_grid(sim_writer):
    cfg = SimConfig(shape=(3, 4), frame=(8,), rate=FAST, snake=True)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        uk, _ = keys_of(f)
        np.testing.assert_array_equal(uk, [[1, 2, 3, 4], [8, 7, 6, 5], [9, 10, 11, 12]])
        data = f["/entry/data/data"][...].reshape(12, 8)
        for i in range(12):
            np.testing.assert_array_equal(data[i], expected_frame(i, cfg))
    assert list(acquisition_order(cfg)) == [0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11]


@pytest.mark.slow
def test_dropped_points_keep_key_zero_and_no_data(sim_writer):
    cfg = SimConfig(shape=(3, 4), frame=(6, 6), rate=FAST, drop=(5, 11))
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        uk, det = keys_of(f)
        assert set(np.flatnonzero(uk.ravel() == 0)) == {5, 11}
        assert set(np.flatnonzero(det.ravel() == 0)) == {5, 11}
        data = f["/entry/data/data"]
        assert data.shape == (3, 4, 6, 6)      # grown to the last row although 11 was dropped
        assert not data[1, 1].any() and not data[2, 3].any()
        np.testing.assert_array_equal(data[1, 2], expected_frame(6, cfg))
        assert f[simulate.FINISHED_PATH][0] == 1


@pytest.mark.slow
def test_crash_leaves_partial_scan_readable(sim_writer):
    cfg = SimConfig(shape=(4, 5), frame=(8, 8), rate=FAST, crash_at=13)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 1
    with h5py.File(path, "r", swmr=True) as f:
        assert f[simulate.FINISHED_PATH][0] == 0
        uk, _ = keys_of(f)
        assert uk.shape == (3, 5)               # rows 0..2 exist, row 3 never started
        assert np.count_nonzero(uk) == 13 and (uk.ravel()[:13] > 0).all()
        data = f["/entry/data/data"]
        for i in range(13):
            np.testing.assert_array_equal(data[np.unravel_index(i, cfg.shape)],
                                          expected_frame(i, cfg))


@pytest.mark.slow
def test_external_detector_file(sim_writer):
    cfg = SimConfig(shape=(2, 3), frame=(10, 10), rate=FAST, external=True)
    path, proc = sim_writer(cfg, name="ext.h5")
    assert finish(proc) == 0
    det_path = path.with_name("ext_detector.h5")
    assert det_path.exists()
    with h5py.File(path, "r", swmr=True) as f:
        link = f["/entry/instrument/detector"].get("data", getlink=True)
        assert isinstance(link, h5py.ExternalLink)
        assert (link.filename, link.path) == ("ext_detector.h5", "/entry/data/data")
        key_link = f["/entry/diamond_scan/keys"].get("detector", getlink=True)
        assert isinstance(key_link, h5py.ExternalLink)
        assert key_link.path == "/entry/NDAttributes/NDArrayUniqueId"
        np.testing.assert_array_equal(f["/entry/data/data"][1, 2], expected_frame(5, cfg))
        assert (f["/entry/diamond_scan/keys/detector"][...] > 0).all()
    with h5py.File(det_path, "r", swmr=True) as det:
        assert det["/entry/NDAttributes/NDArrayUniqueId"].shape == (2, 3, 1, 1)
        assert det["/entry/NDAttributes/NDArrayUniqueId"].maxshape == (None, None, 1, 1)
        assert det["/entry/data/data"].maxshape == (None, None, 10, 10)
        np.testing.assert_array_equal(det["/entry/data/data"][0, 0], expected_frame(0, cfg))


@pytest.mark.parametrize("compression,filter_id", [("bitshuffle", 32008), ("blosc", 32001)])
@pytest.mark.slow
def test_compressed_data_readable_with_hdf5plugin(sim_writer, compression, filter_id):
    cfg = SimConfig(shape=(2, 3), frame=(32, 32), rate=FAST, compression=compression)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        data = f["/entry/data/data"]
        assert str(filter_id) in data._filters
        for i in range(6):
            np.testing.assert_array_equal(data[np.unravel_index(i, cfg.shape)],
                                          expected_frame(i, cfg))


@pytest.mark.slow
def test_swmr_delay_locks_readers_then_releases(sim_writer):
    cfg = SimConfig(shape=(3,), frame=(4,), rate=FAST, swmr_delay=1.5)
    path, proc = sim_writer(cfg)
    deadline = time.monotonic() + 15
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.exists()
    with pytest.raises(OSError):
        h5py.File(path, "r", swmr=True)
    assert proc.is_alive()                      # still inside the non-SWMR window
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        assert f[simulate.FINISHED_PATH][0] == 1


@pytest.mark.slow
def test_start_delay_creates_file_late(sim_writer):
    cfg = SimConfig(shape=(2,), frame=(), rate=FAST, start_delay=1.0)
    path, proc = sim_writer(cfg)
    time.sleep(0.2)
    assert not path.exists()
    assert finish(proc) == 0
    assert path.exists()


def test_rate_is_a_schedule(tmp_path):
    cfg = SimConfig(shape=(9,), frame=(), rate=40.0)
    start = time.monotonic()
    write_scan(tmp_path / "slow.h5", cfg)
    assert time.monotonic() - start >= 8 / 40.0


def test_map_of_sums_is_a_picture_not_noise():
    cfg = SimConfig(shape=(20, 30), frame=(48, 48))
    sums = np.array([expected_frame(i, cfg).sum(dtype=np.float64) for i in range(600)])
    truth = np.array([simulate.sample_value(i, cfg) for i in range(600)])
    assert np.corrcoef(sums, truth)[0, 1] > 0.999
    assert sums.max() > 3 * sums.min()
    # Neighbouring points are similar: a smooth picture, not noise.
    rows = sums.reshape(20, 30)
    shuffled = np.random.default_rng(0).permutation(sums).reshape(20, 30)
    step = np.abs(np.diff(rows, axis=1)).mean()
    assert step < 0.4 * np.abs(np.diff(shuffled, axis=1)).mean()
    # The spot moves with the scan position.
    first, last = expected_frame(0, cfg), expected_frame(599, cfg)
    assert np.unravel_index(first.argmax(), first.shape) < np.unravel_index(last.argmax(),
                                                                            last.shape)


def test_expected_frame_deterministic_and_seeded():
    cfg = SimConfig(shape=(5, 5), frame=(30,))
    np.testing.assert_array_equal(expected_frame(7, cfg), expected_frame(7, cfg))
    other = SimConfig(shape=(5, 5), frame=(30,), seed=3)
    assert not np.array_equal(expected_frame(7, cfg), expected_frame(7, other))
    assert expected_frame(0, SimConfig(shape=(3,), frame=())).shape == ()
    with pytest.raises(IndexError):
        expected_frame(25, cfg)


def test_config_validation():
    with pytest.raises(ValueError):
        SimConfig(compression="gzip9")
    with pytest.raises(ValueError):
        SimConfig(shape=(1, 2, 3, 4))
    with pytest.raises(ValueError):
        SimConfig(frame=(0, 4))


def test_cli_writes_a_scan(tmp_path, capsys):
    out = tmp_path / "cli.h5"
    rc = simulate.main([str(out), "--shape", "2x3", "--frame", "scalar", "--rate", "5000",
                        "--drop", "1,4", "--snake"])
    assert rc == 0
    assert "6 points" in capsys.readouterr().out
    with h5py.File(out, "r", swmr=True) as f:
        uk = f[simulate.UNIQUE_KEYS][...].ravel()
        assert list(np.flatnonzero(uk == 0)) == [1, 4]
        assert f["/entry/data/data"].shape == (2, 3)


def test_cli_rejects_bad_dims(tmp_path):
    with pytest.raises(SystemExit):
        simulate.main([str(tmp_path / "x.h5"), "--shape", "2xA"])


@pytest.mark.slow
def test_live_reader_never_sees_a_key_before_its_frame(sim_writer):
    cfg = SimConfig(shape=(6, 5), frame=(32, 32), rate=300.0, snake=True,
                    compression="bitshuffle", drop=(7,))
    path, proc = sim_writer(cfg)
    deadline = time.monotonic() + 30
    while True:
        try:
            f = h5py.File(path, "r", swmr=True)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    seen: set[int] = set()
    with f:
        keys, data = f[simulate.UNIQUE_KEYS], f["/entry/data/data"]
        finished = f[simulate.FINISHED_PATH]
        done = False
        while not done:
            assert time.monotonic() < deadline, f"only {len(seen)} points seen"
            finished.refresh()
            done = bool(finished[0])            # read the flag first, then keys once more
            keys.refresh()
            data.refresh()                      # after the keys: data at least as new
            ready = set(np.flatnonzero(keys[...].ravel())) - seen
            for i in sorted(ready):
                np.testing.assert_array_equal(data[np.unravel_index(i, cfg.shape)],
                                              expected_frame(int(i), cfg))
            seen |= ready
            time.sleep(0.005)
    assert seen == set(range(30)) - {7}
    assert finish(proc) == 0


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (3, 2, 3)])
def test_snake_acquisition_order_is_swmr_tools_get_position_snake(shape):
    from swmrview.core.follow.positions import get_position_snake
    from swmrview.tools.simulate import acquisition_order

    order = acquisition_order(SimConfig(shape=shape, frame=(2,), snake=True))
    expected = [np.ravel_multi_index(get_position_snake(i, shape, len(shape)), shape)
                for i in range(int(np.prod(shape)))]
    assert order.tolist() == expected
    assert sorted(order.tolist()) == list(range(int(np.prod(shape))))  # every point once


def _open_live(path, deadline):
    while True:
        try:
            return h5py.File(path, "r", swmr=True)
        except OSError:
            assert time.monotonic() < deadline, "file never opened"
            time.sleep(0.01)


@pytest.mark.parametrize("shape,snake", [((4, 5), False), ((3, 4), True), ((2, 3, 4), False)])
@pytest.mark.slow
def test_default_grows_every_scan_dim_from_ones_like_gda(sim_writer, shape, snake):
    """Live: every per-point dataset starts at (1, ..., 1) with maxshape None in each scan dim and
    grows in every dim; only scan_shape (written at scan start) gives the final shape."""
    cfg = SimConfig(shape=shape, frame=(6,), rate=15.0, snake=snake, external=True)
    path, proc = sim_writer(cfg, name="grow.h5")
    rank = len(shape)
    deadline = time.monotonic() + 30
    with _open_live(path, deadline) as f:
        assert tuple(f["/entry/diamond_scan/scan_shape"][...]) == shape
        assert f["/entry/diamond_scan/scan_rank"][()] == rank
        datasets = [f[simulate.UNIQUE_KEYS], f[simulate.DETECTOR_KEY], f["/entry/data/data"]]
        for ds in datasets:
            assert ds.maxshape[:rank] == (None,) * rank
            assert ds.chunks is not None
        shapes_seen = [set() for _ in datasets]
        finished = f[simulate.FINISHED_PATH]
        while True:
            assert time.monotonic() < deadline, "scan never finished"
            finished.refresh()
            done = bool(finished[0])
            for ds, seen in zip(datasets, shapes_seen):
                ds.refresh()
                seen.add(ds.shape[:rank])
            keys = f[simulate.UNIQUE_KEYS]
            # a key set implies its data was written: the data covers every keyed position
            k = keys[...].reshape(keys.shape[:rank])
            for pos in zip(*np.nonzero(k)):
                assert all(p < n for p, n in zip(pos, datasets[2].shape))
            if done:
                break
            time.sleep(0.003)
    assert finish(proc) == 0
    for seen in shapes_seen:
        # grew in the fastest dim while the slow dims were still 1: not pre-sized
        assert any(s[-1] < shape[-1] for s in seen), seen
        assert max(seen) == shape
        assert all(all(a <= b for a, b in zip(s, shape)) for s in seen)
    with h5py.File(path, "r", swmr=True) as f:
        uk, det = keys_of(f)
        assert uk.shape == shape and (uk > 0).all()


def test_first_point_shape_is_all_ones(tmp_path):
    """Synchronously: right after SWMR starts, every per-point dataset is (1, ..., 1) + tail."""
    cfg = SimConfig(shape=(3, 4), frame=(5, 5), rate=FAST)
    files = simulate.ScanFiles(tmp_path / "ones.h5", cfg)
    try:
        files.start_swmr()
        assert files.data.shape == (1, 1, 5, 5)
        assert files.unique_keys.shape == (1, 1, 1) and files.det_key.shape == (1, 1, 1, 1)
        files.write_point(2, 1)
        assert files.data.shape == (1, 3, 5, 5) and files.unique_keys.shape == (1, 3, 1)
        files.write_point(5, 2)
        assert files.data.shape == (2, 3, 5, 5) and files.det_key.shape == (2, 3, 1, 1)
    finally:
        files.close()


@pytest.mark.slow
def test_fixed_maxshape_option_keeps_final_shape_maxshape(sim_writer):
    cfg = SimConfig(shape=(3, 4), frame=(), rate=FAST, fixed_maxshape=True)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        data = f["/entry/data/data"]
        assert data.maxshape == (3, 4) and data.chunks == (1, 4)
        assert f[simulate.UNIQUE_KEYS].maxshape == (3, 4, 1)
        assert f[simulate.DETECTOR_KEY].maxshape == (3, 4, 1, 1)
        assert f[simulate.UNIQUE_KEYS].chunks == (1, 4, 1)
        for i in range(12):
            assert data[np.unravel_index(i, cfg.shape)] == expected_frame(i, cfg)


def test_fixed_maxshape_starts_with_one_full_row(tmp_path):
    cfg = SimConfig(shape=(3, 4), frame=(2,), fixed_maxshape=True)
    files = simulate.ScanFiles(tmp_path / "fixed.h5", cfg)
    try:
        assert files.data.shape == (1, 4, 2) and files.unique_keys.shape == (1, 4, 1)
    finally:
        files.close()


def test_cli_fixed_maxshape_flag(tmp_path):
    out = tmp_path / "fixed_cli.h5"
    assert simulate.main([str(out), "--shape", "2x3", "--frame", "4", "--rate", "5000",
                          "--fixed-maxshape"]) == 0
    with h5py.File(out, "r") as f:
        assert f["/entry/data/data"].maxshape == (2, 3, 4)
    out2 = tmp_path / "gda_cli.h5"
    assert simulate.main([str(out2), "--shape", "2x3", "--frame", "4", "--rate", "5000"]) == 0
    with h5py.File(out2, "r") as f:
        assert f["/entry/data/data"].maxshape == (None, None, 4)
