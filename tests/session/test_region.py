"""Region frames (sum / max / mean of the frames of many points) read by the session."""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from swmrview.session.directory import DirectorySession
from swmrview.model.messages import ScanInfo
from swmrview.model.options import ViewerOptions
from swmrview.session import region as region_module
from swmrview.session.region import RegionJob
from swmrview.tools.simulate import SimConfig, expected_frame, start_writer

DATA = Path(__file__).parent.parent / "data"


def _numpy(frames, how, mask=None, overflow=None):
    """numpy's region frame: masked, overflowing and NaN values out; NaN where none is left."""
    values = np.asarray(frames, dtype=np.float64)
    bad = np.isnan(values)
    if mask is not None:
        bad |= np.broadcast_to(mask, values.shape)
    if overflow is not None:
        bad |= values >= overflow
    values[bad] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {"sum": np.nansum, "max": np.nanmax, "mean": np.nanmean}[how](values, axis=0)
    out = np.asarray(out, dtype=np.float64)
    out[bad.all(axis=0)] = np.nan
    return out


def _same(got, want):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


def _finished(follow, path, **options):
    f = follow(path, **options)
    f.until_ended()
    return f


@pytest.mark.parametrize("how", ["sum", "max", "mean"])
def test_i18_mca_region_matches_numpy(follow, tmp_path, how):
    path = tmp_path / "i18.nxs"
    shutil.copy(DATA / "i18_test_data.nxs", path)
    f = _finished(follow, path)
    assert f.state.info.frame_shape == (10, 4096)
    positions = np.array([[0, 1], [1, 0], [1, 1]])
    message = f.session.region_frame(positions, how, request=7)
    assert message.done and message.request == 7 and message.n_points == 3
    assert message.generation == f.infos[-1].generation
    with h5py.File(path, "r", locking=False) as h5:
        frames = [h5[f.state.info.data_path][tuple(p)] for p in positions]
    _same(np.asarray(message.frame), _numpy(frames, how))
    assert message.text == f"{how} of 3 points"


def test_eiger_region_leaves_masked_and_overflowing_pixels_out(follow):
    f = _finished(follow, DATA / "eiger" / "test_master.h5")
    scan = f.session.scan
    assert scan.mask is not None and scan.mask.any() and scan.overflow == 65535
    positions = np.array([[1], [2], [4]])
    message = f.session.region_frame(positions, "sum")
    with h5py.File(DATA / "eiger" / "test_master.h5", "r", locking=False) as h5:
        frames = [h5[f.state.info.data_path][int(p[0])] for p in positions]
    want = _numpy(frames, "sum", scan.mask, 65535)
    _same(np.asarray(message.frame), want)
    assert np.isnan(message.frame[scan.mask]).all()      # masked: no value, not 0
    plain = np.sum(np.asarray(frames, dtype=np.float64), axis=0)
    assert not np.allclose(np.nan_to_num(message.frame), plain)   # the exclusion mattered


@pytest.mark.slow
def test_big_region_is_read_in_budgeted_batches(follow, tmp_path, sim_writer, monkeypatch):
    cfg = SimConfig(shape=(4, 5), frame=(8, 9), rate=500.0)
    path, proc = sim_writer(cfg)
    proc.join(20)
    f = _finished(follow, path)
    monkeypatch.setattr(region_module, "REGION_BUDGET_S", 0.0)   # one frame per call
    positions = f.state.acquired_positions()[3:15]
    first = f.session.region_frame(positions, "max", request=1)
    assert not first.done and first.frame is None and first.n_read == 1
    assert f.session.region_busy and first.text.startswith("reading 1/12")
    messages = [first]
    while f.session.region_busy:
        f.step()                          # following goes on between the batches
        messages.append(f.session.region_more())
    assert len(messages) == 12 and messages[-1].done
    assert [m.n_read for m in messages] == list(range(1, 13))
    frames = [expected_frame(int(np.ravel_multi_index(tuple(p), cfg.shape)), cfg)
              for p in positions]
    _same(np.asarray(messages[-1].frame), _numpy(frames, "max"))


@pytest.mark.slow
def test_region_of_a_live_scan_matches_the_written_frames(follow, sim_writer):
    cfg = SimConfig(shape=(6, 8), frame=(12, 10), rate=40.0)
    path, _proc = sim_writer(cfg)
    f = follow(path)
    f.until(lambda f: f.state is not None and f.state.n_acquired >= 10)
    assert not f.session.status.terminal            # still being written
    positions = f.state.acquired_positions()
    message = f.session.region_frame(positions, "sum")
    while not message.done:
        message = f.session.region_more()
    frames = [expected_frame(int(np.ravel_multi_index(tuple(p), cfg.shape)), cfg)
              for p in positions]
    _same(np.asarray(message.frame), _numpy(frames, "sum"))
    assert message.n_points == len(positions) >= 10
    f.until_ended()


def test_a_dataset_switch_drops_the_region_being_read(follow, tmp_path, monkeypatch):
    path = tmp_path / "i18.nxs"
    shutil.copy(DATA / "i18_test_data.nxs", path)
    f = _finished(follow, path)
    monkeypatch.setattr(region_module, "REGION_BUDGET_S", 0.0)
    first = f.session.region_frame(np.array([[0, 0], [0, 1], [1, 1]]), "sum")
    assert not first.done
    other = next(p for p in f.state.info.data_paths if p.endswith("AllElementSum"))
    f.session.set_dataset(other)
    assert f.session.region_more() is None and not f.session.region_busy


def test_region_beyond_the_cap_reads_the_first_points_and_says_so():
    frames = np.arange(5 * 3, dtype=np.uint16).reshape(5, 3)
    job = RegionJob(4, 2, np.arange(5).reshape(5, 1), "sum", (3,), max_points=3)
    job.run(lambda p: frames[p[0]], deadline=float("inf"))
    message = job.message()
    assert message.done and message.capped and message.n_points == 3
    np.testing.assert_array_equal(message.frame, frames[:3].sum(axis=0))
    assert message.text == "sum of first 3 of 5 points (capped)"


def test_a_failed_read_ends_the_region_with_the_reason():
    job = RegionJob(1, 1, np.zeros((2, 1), np.int64), "sum", (3,))
    job.run(lambda p: (_ for _ in ()).throw(OSError("chunk gone")), deadline=float("inf"))
    message = job.message()
    assert message.done and message.frame is None and "chunk gone" in message.text


def test_an_empty_region_answers_at_once_with_no_value(follow):
    f = _finished(follow, DATA / "eiger" / "test_master.h5")
    message = f.session.region_frame(np.zeros((0, 1), np.int64), "mean")
    assert message.done and message.n_points == 0 and message.text == "mean of 0 points"
    assert message.frame.shape == (13, 11) and np.isnan(message.frame).all()


@pytest.mark.slow
def test_directory_mode_reads_the_region_of_the_scan_shown(tmp_path):
    cfg = SimConfig(shape=(3, 4), frame=(5, 6), rate=2000.0)
    writer = start_writer(tmp_path / "scan.nxs", cfg)
    writer.join(30)
    session = DirectorySession(ViewerOptions(path=str(tmp_path), timeout=5.0), check_every=0.1)
    try:
        infos = []
        deadline = time.monotonic() + 30
        while not (infos and session.status.terminal and not session.busy):
            assert time.monotonic() < deadline
            infos += [m for m in session.step() if isinstance(m, ScanInfo)]
            time.sleep(0.01)
        positions = np.array([[0, 1], [2, 3]])
        message = session.region_frame(positions, "sum", request=5)
        while not message.done:
            message = session.region_more()
        assert message.generation == infos[-1].generation and message.request == 5
        want = np.sum([expected_frame(i, cfg).astype(np.float64) for i in (1, 11)],
                      axis=0)
        np.testing.assert_array_equal(message.frame, want)
        assert not session.region_busy
    finally:
        session.close()


@pytest.mark.slow
def test_a_region_asked_again_as_a_live_scan_fills_it_reads_only_the_new_points(
        follow, sim_writer, monkeypatch):
    cfg = SimConfig(shape=(6, 8), frame=(12, 10), rate=40.0)
    path, _proc = sim_writer(cfg)
    f = follow(path)
    f.until(lambda f: f.state is not None and f.state.n_acquired >= 8)
    first = f.state.acquired_positions()
    message = f.session.region_frame(first, "mean", request=1)
    while not message.done:
        message = f.session.region_more()
    f.until_ended()
    reads = []
    pipeline = f.session.scan.pipeline
    original = pipeline.read
    monkeypatch.setattr(pipeline, "read", lambda p: (reads.append(tuple(p)), original(p))[1])
    everything = f.state.acquired_positions()
    message = f.session.region_frame(everything, "mean", request=2)
    while not message.done:
        message = f.session.region_more()
    assert len(reads) == len(everything) - len(first)          # only the new points
    assert set(reads).isdisjoint(map(tuple, first.tolist()))
    assert message.request == 2 and message.n_points == 48
    frames = [expected_frame(i, cfg) for i in range(48)]
    _same(np.asarray(message.frame), _numpy(frames, "mean"))
    reads.clear()                                            # another reduction: all again
    message = f.session.region_frame(everything, "max", request=3)
    while not message.done:
        message = f.session.region_more()
    assert len(reads) == 48
    _same(np.asarray(message.frame), _numpy(frames, "max"))
