"""Opening followed files: missing, being created, not HDF5, locked, non-SWMR, crashed."""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pytest

from swmrview.core import FileLockedError, NotHDF5Error, open_swmr, writer_active
from swmrview.core.files.opening import EmptyFileError
from swmrview.tools.simulate import SimConfig


@pytest.mark.slow
def test_missing_file_waits_then_opens_when_the_writer_creates_it(sim_writer):
    path, _ = sim_writer(SimConfig(shape=(4,), frame=(2,), rate=100, start_delay=1.0))
    assert not path.exists()
    with open_swmr(path, retry_for=30) as f:
        assert "entry" in f


def test_missing_file_without_retry_is_a_named_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.h5"):
        open_swmr(tmp_path / "nothere.h5")


def test_an_empty_file_is_being_created_but_a_text_file_is_not_hdf5(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"empty.h5 is empty \(0 bytes\): not an HDF5 "
                                             "file yet") as info:
        open_swmr(tmp_path / "empty.h5")
    assert isinstance(info.value, FileNotFoundError)   # waited for like a missing file
    (tmp_path / "half.h5").write_bytes(b"\x89HDF")
    with pytest.raises(FileNotFoundError, match="being created"):
        open_swmr(tmp_path / "half.h5")
    for text in ("tiny\n", "these are my beamtime notes, not an HDF5 file\n" * 3):
        (tmp_path / "notes.h5").write_text(text)
        with pytest.raises(NotHDF5Error, match="not an HDF5 file"):
            open_swmr(tmp_path / "notes.h5", retry_for=5)


@pytest.mark.slow
def test_a_writer_holding_the_file_without_swmr_is_retried_until_swmr_is_on(sim_writer):
    path, _ = sim_writer(SimConfig(shape=(5,), frame=(2,), rate=100, swmr_delay=2.0))
    while not (path.exists() and path.stat().st_size > 0):
        threading.Event().wait(0.02)
    with pytest.raises(FileLockedError, match="without SWMR"):
        open_swmr(path)
    with open_swmr(path, retry_for=30) as f:
        assert f.swmr_mode


@pytest.mark.slow
def test_writer_active_follows_the_superblock_flags(sim_writer, tmp_path):
    path, proc = sim_writer(SimConfig(shape=(40,), frame=(2,), rate=20))
    with open_swmr(path, retry_for=30):
        assert writer_active(path)
    proc.join(timeout=30)
    assert not writer_active(path)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    assert not writer_active(plain)
    with open_swmr(plain) as f:  # a file never written with SWMR still opens read-only
        assert f["x"][2] == 2


@pytest.mark.slow
def test_a_crashed_writer_leaves_a_readable_file_still_marked_active(sim_writer):
    cfg = SimConfig(shape=(20,), frame=(4,), rate=200, crash_at=8)
    path, proc = sim_writer(cfg)
    proc.join(timeout=30)
    assert proc.exitcode == 1
    assert writer_active(path)  # the flags stay set: only the timeout ends following it
    with open_swmr(path) as f:
        keys = f["/entry/diamond_scan/keys/uniqueKeys"][...].ravel()
        assert (keys[:8] != 0).all() and (keys[8:] == 0).all()


def _recreate(path):
    with h5py.File(path, "w") as f:
        f["new_scan"] = np.arange(4)


@pytest.mark.slow
def test_an_open_reader_never_stops_a_writer_re_creating_the_file(tmp_path):
    import multiprocessing

    path = tmp_path / "scan.h5"
    for libver in ("latest", "earliest"):  # SWMR-capable and plain files
        with h5py.File(path, "w", libver=libver) as f:
            f["old_scan"] = np.arange(3)
        with open_swmr(path):
            writer = multiprocessing.get_context("spawn").Process(target=_recreate, args=(path,))
            writer.start()
            writer.join(timeout=30)
            assert writer.exitcode == 0  # HDF5's default reader lock made this fail
        with open_swmr(path) as f:
            assert "new_scan" in f and "old_scan" not in f


def _write(path, n):
    with h5py.File(path, "w", libver="latest") as f:
        f["x"] = np.arange(n)


def test_new_scan_watch_sees_a_file_replaced_truncated_or_rewritten_after_the_scan(tmp_path):
    import os
    import time

    from swmrview.core.files.opening import NewScanWatch

    path = tmp_path / "scan.h5"
    _write(path, 1000)
    watch = NewScanWatch(path, interval=0)
    watch.arm(writer_was_active=False)
    assert not watch.new_scan(scan_ended=True)  # first look after the writer closed: baseline
    assert not watch.new_scan(scan_ended=True)  # nothing changed
    time.sleep(0.01)
    _write(path, 2000)  # rewritten in place, larger: only the write after close tells
    assert watch.new_scan(scan_ended=True)

    watch.arm(writer_was_active=False)
    _write(path, 10)  # a new writer truncated it: seen even while a scan is live
    assert watch.new_scan(scan_ended=False)

    watch.arm(writer_was_active=True)
    assert not watch.new_scan(scan_ended=False)
    other = tmp_path / "other.h5"
    _write(other, 10)
    os.replace(other, path)  # a new inode
    assert watch.new_scan(scan_ended=False)

    watch.disarm()
    _write(path, 5)
    assert not watch.new_scan(scan_ended=True)  # disarmed: not watching
