"""The independent GDA-like test writer (tests/writers/gda_writer.py) writes what GDA writes.

Followed live with plain h5py (no swmrview reader), so the writer is checked on its own terms.
"""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest

from swmrview.core.follow.positions import get_position_snake
from tests.writers import gda_writer as gw
from tests.writers.gda_writer import GdaScan, start_gda_writer


def _open(path, deadline):
    while True:
        try:
            return h5py.File(path, "r", swmr=True)
        except (OSError, FileNotFoundError):
            assert time.monotonic() < deadline, "file never opened"
            time.sleep(0.01)


def _join(proc, timeout=30):
    proc.join(timeout)
    assert not proc.is_alive(), "writer did not finish"
    return proc.exitcode


def _follow(path, proc, *, det_key=False, deadline_s=40):
    """Follow a live scan: check every keyed point, record shapes and flag/keys events."""
    scan: GdaScan = proc.scan
    rank = scan.rank
    deadline = time.monotonic() + deadline_s
    record = {"shapes": set(), "flag_with_missing_keys": False, "seen": {}, "times": {}}
    with _open(path, deadline) as f:
        assert tuple(f[gw.SCAN_SHAPE][...]) == scan.scan_shape  # declared at scan start
        assert f[gw.SCAN_RANK][()] == rank
        keys = f[gw.UNIQUE_KEYS]
        data = f[gw.SIGNAL]
        readbacks = [f[f"/entry/instrument/{m}/value"] for m in gw.motor_names(rank)]
        per_point = [keys, data, f[gw.POINT_TIMES], *readbacks]
        if det_key:
            per_point.append(f[gw.DETECTOR_KEY])
        for ds in per_point:
            assert ds.maxshape[:rank] == (None,) * rank, ds.name
            assert ds.chunks is not None
        assert keys.chunks == scan.key_chunks
        finished = f[gw.FINISHED]
        while True:
            assert time.monotonic() < deadline, f"only {len(record['seen'])} points seen"
            finished.refresh()
            flag = bool(finished[0])
            for ds in per_point:
                ds.refresh()
            record["shapes"].add(keys.shape)
            k = keys[...]
            new = [tuple(p) for p in np.argwhere(k > 0) if tuple(p) not in record["seen"]]
            for pos in new:
                index = int(np.ravel_multi_index(pos, scan.scan_shape))
                np.testing.assert_array_equal(data[pos], gw.expected_frame(index, scan.frame_shape))
                for dim, rb in enumerate(readbacks):
                    assert rb[pos] == gw.motor_position(index, scan)[dim]
                record["seen"][pos] = int(k[pos])
                record["times"][int(k[pos])] = time.monotonic()
            if flag and np.count_nonzero(k) < scan.n_points - len(scan.drop):
                record["flag_with_missing_keys"] = True
            if flag and len(record["seen"]) == scan.n_points - len(scan.drop):
                break
            time.sleep(0.003)
    assert _join(proc) == 0
    return record


@pytest.mark.slow
def test_grows_from_ones_in_every_dim_keys_chunked_data_before_keys(tmp_path):
    path = tmp_path / "grid.nxs"
    # a pause after two points: a reader opening late still sees the first row half grown
    proc = start_gda_writer(path, (3, 5), frame_shape=(4, 6), rate=60, pause_at=2, pause_s=0.8)
    rec = _follow(path, proc)
    # grew in the fast dim while the slow dim was 1: nothing was pre-sized to the final shape
    assert any(s[0] == 1 and s[1] < 5 for s in rec["shapes"]), rec["shapes"]
    assert max(rec["shapes"]) == (3, 5)
    assert sorted(rec["seen"].values()) == list(range(1, 16))
    with h5py.File(path, "r", swmr=True) as f:
        assert f.attrs["default"] == "entry" and f["entry"].attrs["default"] == "det"
        nxdata = f[gw.NXDATA]
        assert nxdata.attrs["signal"] == "data"
        assert list(nxdata.attrs["axes"]) == ["sample_y_value_set", "sample_x_value_set", ".", "."]
        assert list(nxdata.attrs["sample_x_value_set_indices"]) == [1]
        np.testing.assert_array_equal(nxdata["sample_x_value_set"][...], gw.axis_values(5, 1))
        np.testing.assert_array_equal(nxdata["sample_y_value_set"][...], gw.axis_values(3, 0))
        assert f[gw.DATA] == nxdata["data"]
        assert f[gw.FINISHED].shape == (1,) and f[gw.FINISHED][0] == 1
        assert f[gw.UNIQUE_KEYS].shape == (3, 5)                # scan-shaped, like real GDA files
        sums = [gw.expected_sum(i, (4, 6)) for i in range(15)]
        got = f[gw.SIGNAL][...].reshape(15, -1).sum(axis=1)
        np.testing.assert_array_equal(got, sums)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
@pytest.mark.slow
def test_snake_keys_are_acquisition_order(tmp_path, shape):
    path = tmp_path / "snake.nxs"
    proc = start_gda_writer(path, shape, rate=400, snake=True)
    rec = _follow(path, proc)
    order = gw.acquisition_order(shape, snake=True)
    by_count = sorted(rec["seen"].items(), key=lambda kv: kv[1])
    assert [int(np.ravel_multi_index(p, shape)) for p, _ in by_count] == order
    # the same convention as swmr_tools' get_position_snake, which readers use
    assert [np.ravel_multi_index(get_position_snake(i, shape, len(shape)), shape)
            for i in range(len(order))] == order


@pytest.mark.slow
def test_detector_file_and_multi_row_key_chunks(tmp_path):
    path = tmp_path / "ext.nxs"
    proc = start_gda_writer(path, (4, 4), frame_shape=(5,), rate=200, detector_file=True,
                            key_chunk=(2, 4))
    _follow(path, proc, det_key=True)
    with h5py.File(path, "r", swmr=True) as f:
        link = f[gw.KEYS].get("det", getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.path == gw.DET_FILE_KEY
        assert f[gw.DETECTOR_KEY].shape == (4, 4, 1, 1)
        assert f[gw.DETECTOR_KEY].chunks == (2, 4, 1, 1)
        np.testing.assert_array_equal(f[gw.DETECTOR_KEY][..., 0, 0], f[gw.UNIQUE_KEYS][...])
        assert isinstance(f["/entry/instrument/det"].get("data", getlink=True), h5py.ExternalLink)
    assert gw.detector_file_path(path).exists()


@pytest.mark.slow
def test_flag_before_last_keys(tmp_path):
    path = tmp_path / "early_flag.nxs"
    proc = start_gda_writer(path, (10,), rate=200, flag_before_last_keys=True, flag_lead_s=0.5)
    rec = _follow(path, proc)
    assert rec["flag_with_missing_keys"]
    assert len(rec["seen"]) == 10


@pytest.mark.slow
def test_pause_then_resume(tmp_path):
    path = tmp_path / "pause.nxs"
    proc = start_gda_writer(path, (8,), rate=100, pause_at=4, pause_s=1.0)
    rec = _follow(path, proc)
    gap = rec["times"][5] - rec["times"][4]
    assert gap >= 0.8, gap


@pytest.mark.slow
def test_uneven_readback_axes_and_drop(tmp_path):
    path = tmp_path / "uneven.nxs"
    proc = start_gda_writer(path, (2, 6), rate=300, uneven=True, axes="readback", drop=(3,))
    rec = _follow(path, proc)
    assert (0, 3) not in rec["seen"] and len(rec["seen"]) == 11
    with h5py.File(path, "r", swmr=True) as f:
        nxdata = f[gw.NXDATA]
        assert list(nxdata.attrs["axes"]) == ["sample_y_value", "sample_x_value"]
        assert list(nxdata.attrs["sample_x_value_indices"]) == [0, 1]
        x = nxdata["sample_x_value"][...]
        np.testing.assert_array_equal(x[1], [0, 1, 2, 4, 8, 16])
        assert x[0, 3] == 0 and f[gw.UNIQUE_KEYS][0, 3] == 0    # dropped: grown, not written
        assert f[gw.SIGNAL][...][0, 3] == 0


def test_expected_helpers():
    assert gw.expected_value(0) == 1.0
    frame = gw.expected_frame(7, (2, 3))
    assert frame.dtype == np.uint32 and frame.tolist() == [[8, 9, 10], [11, 8, 9]]
    assert gw.expected_sum(7, (2, 3)) == 55
    assert gw.expected_frame(2).shape == () and gw.expected_sum(2) == 3.0
    assert gw.acquisition_order((2, 3), snake=True) == [0, 1, 2, 5, 4, 3]
    assert gw.motor_position(4, GdaScan((2, 3))) == (0.5, 1.5)
    with pytest.raises(ValueError):
        GdaScan((2, 3), key_chunk=(1, 2, 3)).key_chunks


@pytest.mark.slow
def test_crash_leaves_the_flag_unset(tmp_path):
    path = tmp_path / "crash.nxs"
    proc = start_gda_writer(path, (3, 3), rate=500, crash_at=5)
    assert _join(proc) == 1
    with h5py.File(path, "r", swmr=True) as f:
        assert f[gw.FINISHED][0] == 0
        k = f[gw.UNIQUE_KEYS][...]
        assert k.shape == (2, 3) and np.count_nonzero(k) == 5


@pytest.mark.slow
def test_detector_file_appears_late(tmp_path):
    path = tmp_path / "late.nxs"
    proc = start_gda_writer(path, (5,), frame_shape=(2,), rate=100, detector_file=True,
                            detector_delay=1.0)
    deadline = time.monotonic() + 30
    with _open(path, deadline) as f:
        assert not gw.detector_file_path(path).exists()
        with pytest.raises(KeyError):
            f[gw.DETECTOR_KEY]
    while True:                                   # the links resolve once the file is there
        assert time.monotonic() < deadline, "detector file never appeared"
        try:
            with h5py.File(path, "r", swmr=True) as f:
                f[gw.DETECTOR_KEY]
                break
        except (KeyError, OSError):
            time.sleep(0.01)
    rec = _follow(path, proc, det_key=True)
    assert len(rec["seen"]) == 5
