"""The session: open, wait, follow and read any writer's file; status and exit codes (no Qt).

Writers are real processes: the GDA-like test writer (not the project's simulator) and the
simulator. Maps are compared with the values each writer is known to write.
"""

from __future__ import annotations

import os
import signal
import time

import h5py
import numpy as np
import pytest

from swmrview.model.messages import ScanInfo
from swmrview.model.status import ERROR, FINISHED, LIVE, TIMED_OUT, WAITING
from tests.writers import gda_writer as gda


def expected_plane(shape, frame_shape=()):
    n = int(np.prod(shape))
    return np.array([gda.expected_sum(i, frame_shape) for i in range(n)]).reshape(shape)


@pytest.mark.slow
def test_live_gda_snake_scan_fills_the_declared_map(tmp_path, follow):
    """Every per-point dataset grows from (1, 1): the map is 5x5 from the first point on."""
    path = tmp_path / "snake.nxs"
    writer = gda.start_gda_writer(path, (5, 5), snake=True, rate=150)
    f = follow(path)
    f.until(lambda f: f.state is not None and f.state.n_acquired > 0)
    assert f.state.shape == (5, 5)                       # declared scan_shape, not (1, 1)
    f.until_ended()
    writer.join(10)
    assert f.session.status.kind == FINISHED and f.session.status.exit_code == 0
    assert f.state.n_acquired == 25
    np.testing.assert_array_equal(f.state.plane(), expected_plane((5, 5)))
    order = [f.state.flat_index(f.state.order_position(k)) for k in range(25)]
    assert sorted(order) == list(range(25))              # each point once, in arrival order


@pytest.mark.slow
def test_live_3d_image_scan_places_every_frame(tmp_path, follow):
    path = tmp_path / "cube.nxs"
    writer = gda.start_gda_writer(path, (2, 2, 5), frame_shape=(6, 4), rate=200)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    assert f.state.shape == (2, 2, 5) and f.state.n_acquired == 20
    cube = f.state.map.values["sum"]
    np.testing.assert_array_equal(cube, expected_plane((2, 2, 5), (6, 4)))
    assert f.state.slow_index == (1,)                     # the newest plane, before any draw


@pytest.mark.slow
def test_uneven_motor_positions_come_from_the_file(tmp_path, follow):
    path = tmp_path / "uneven.nxs"
    writer = gda.start_gda_writer(path, (6,), rate=300, uneven=True)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    np.testing.assert_array_equal(f.state.coordinates(0), [0, 1, 2, 4, 8, 16])
    assert f.state.point_xy((2,))[0] == 2.0


@pytest.mark.slow
def test_live_snake_scan_with_readback_positioners_ends_with_the_files_axes(tmp_path, follow):
    # GDA's readback positioners have the scan's shape and grow with it (SWMR: their shape is
    # only seen after a refresh); in a snake, (row, 0) of an odd row is written last of it.
    path = tmp_path / "readback.nxs"
    writer = gda.start_gda_writer(path, (4, 3), rate=8, snake=True, axes="readback")
    f = follow(path)
    f.until_ended()
    writer.join(10)
    np.testing.assert_array_equal(f.state.coordinates(0), gda.axis_values(4, 0))
    np.testing.assert_array_equal(f.state.coordinates(1), gda.axis_values(3, 1))


@pytest.mark.slow
def test_flag_seen_before_the_last_keys_loses_no_point(tmp_path, follow):
    path = tmp_path / "race.nxs"
    writer = gda.start_gda_writer(path, (6, 5), rate=300, flag_before_last_keys=True,
                                  detector_file=True)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    assert f.session.status.kind == FINISHED, f.statuses
    assert f.state.n_acquired == 30


@pytest.mark.slow
def test_after_a_timeout_new_points_resume_following(tmp_path, follow):
    path = tmp_path / "pause.nxs"
    writer = gda.start_gda_writer(path, (12,), rate=100, pause_at=5, pause_s=2.5)
    f = follow(path, timeout=0.8)
    f.until(lambda f: f.session.status.kind == FINISHED, timeout=60)
    writer.join(20)
    assert f.session.status.kind == FINISHED, f.statuses
    assert TIMED_OUT in f.kinds
    timed_out = f.kinds.index(TIMED_OUT)
    # a pause of three timeouts stays "timed out" (not stalled again after each timeout)
    # until the points come again, then it is live
    assert f.kinds[timed_out:timed_out + 2] == [TIMED_OUT, LIVE], f.statuses
    assert "5/12 points" in f.statuses[timed_out].message
    assert f.state.n_acquired == 12


@pytest.mark.slow
def test_a_writer_killed_with_sigkill_stays_timed_out_with_its_points(tmp_path, follow):
    from swmrview.tools import simulate
    from swmrview.core import open_swmr

    path = tmp_path / "killed.h5"
    writer = simulate.start_writer(path, simulate.SimConfig(shape=(60,), frame=(4, 4),
                                                            rate=10))
    try:
        f = follow(path, timeout=1.0, stall_after=0.3)
        f.until(lambda f: f.state is not None and f.state.n_acquired >= 5, timeout=60)
    finally:
        os.kill(writer.pid, signal.SIGKILL)             # kill -9: no close, no flag
        writer.join(20)
    assert writer.exitcode == -signal.SIGKILL
    with open_swmr(path) as h5:
        written = int(np.count_nonzero(h5[simulate.UNIQUE_KEYS][()]))
    assert 5 <= written < 60
    f.until(lambda f: f.session.status.kind == TIMED_OUT, timeout=30)
    seen = []
    end = time.monotonic() + 4.5                         # four timeouts and more
    while time.monotonic() < end:
        f.step()
        seen.append(f.session.status)
        time.sleep(0.05)
    assert {s.kind for s in seen} == {TIMED_OUT}, sorted({s.message for s in seen})
    assert all(f"{written}/60 points" in s.message for s in seen), seen[-1]
    assert f.session.status.exit_code == 3
    assert f.state.n_acquired == written


@pytest.mark.slow
def test_waits_for_a_missing_file_then_follows_it(tmp_path, follow):
    path = tmp_path / "later.nxs"
    f = follow(path)
    f.step()
    assert f.session.status.kind == WAITING and "Waiting" in f.session.status.message
    writer = gda.start_gda_writer(path, (4,), rate=200, start_delay=0.3)
    f.until_ended()
    writer.join(10)
    assert f.session.status.kind == FINISHED and f.state.n_acquired == 4


def test_headless_wait_for_a_missing_file_times_out_with_exit_3(tmp_path, follow):
    f = follow(tmp_path / "never.h5", timeout=0.3, exit_on_finish=True)
    f.until(lambda f: f.session.status.terminal, timeout=10)
    assert f.session.status.kind == TIMED_OUT and f.session.status.exit_code == 3


@pytest.mark.parametrize("headless", [True, False])
def test_an_empty_file_is_said_while_waiting_for_a_writer_then_is_bad_input(tmp_path, follow,
                                                                            headless):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    f = follow(path, timeout=0.5, exit_on_finish=headless)
    f.step()
    assert f.session.status.kind == WAITING
    assert f.session.status.message == ("empty.h5 is empty (not an HDF5 file yet): waiting up "
                                        "to 0.5 s for a writer")
    f.until(lambda f: f.session.status.terminal, timeout=10)
    status = f.session.status
    assert status.kind == ERROR and status.exit_code == 2
    assert status.message == ("Error: empty.h5 is empty (0 bytes), not an HDF5 file: no writer "
                              "has written it in 0.5 s")
    assert path.read_bytes() == b""


def test_keys_ready_beyond_the_data_are_bad_input_in_plain_words(tmp_path, follow):
    """Both may grow (unlimited), so only reading finds the data too short for the keys."""
    path = tmp_path / "short.h5"
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("entry/keys/key", data=np.ones((4,), np.int32), maxshape=(None,))
        f.create_dataset("entry/data/data", data=np.ones((2, 4, 4), np.uint16),
                         maxshape=(None, 4, 4), chunks=(1, 4, 4))
        f.create_dataset("entry/finished", data=[1])
    f = follow(path, keys=("/entry/keys/key",), data=("/entry/data/data",),
               finished="/entry/finished", exit_on_finish=True)
    f.until(lambda f: f.session.status.terminal, timeout=10)
    status = f.session.status
    assert status.kind == ERROR and status.exit_code == 2
    assert status.message == ("Error: keys and data do not match: the keys say point (2,) is "
                              "ready, but /entry/data/data holds only 2 points")


@pytest.mark.parametrize("make", ["directory", "text"])
def test_bad_input_is_an_error_with_exit_2(tmp_path, follow, make):
    path = tmp_path / "bad"
    if make == "directory":
        path.mkdir()
    else:
        path.write_text("not hdf5")
    f = follow(path)
    f.until(lambda f: f.session.status.terminal, timeout=10)
    status = f.session.status
    assert status.kind == ERROR and status.exit_code == 2
    assert ("directory" in status.message) if make == "directory" else "HDF5" in status.message


def test_complete_file_without_keys_is_a_complete_scan(tmp_path, follow):
    path = tmp_path / "done.nxs"
    values = np.arange(12, dtype=float).reshape(4, 3) + 1
    with h5py.File(path, "w") as h5:
        h5.attrs["default"] = "entry"
        entry = h5.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "plot"
        plot = entry.create_group("plot")
        plot.attrs.update(NX_class="NXdata", signal="counts", axes=["y", "x"])
        plot["counts"] = values
        plot["y"] = [0.0, 1.0, 2.0, 3.0]
        plot["x"] = [5.0, 6.0, 8.0]
    f = follow(path)
    f.until_ended()
    assert f.infos[-1].mode == "complete"
    assert f.session.status.kind == FINISHED
    np.testing.assert_array_equal(f.state.plane(), values)
    np.testing.assert_array_equal(f.state.coordinates(1), [5.0, 6.0, 8.0])


@pytest.mark.slow
def test_roi_request_recomputes_acquired_points(tmp_path, follow):
    path = tmp_path / "roi.nxs"
    writer = gda.start_gda_writer(path, (2, 3), frame_shape=(4, 4), rate=300)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    f.state.set_roi((0, 2, 0, 2))
    f.session.set_roi(f.state.roi)
    f.until(lambda f: np.isfinite(f.state.map.values["roi"]).all())
    expected = [gda.expected_frame(i, (4, 4))[0:2, 0:2].sum(dtype=float) for i in range(6)]
    np.testing.assert_array_equal(f.state.map.values["roi"].ravel(), expected)


@pytest.mark.slow
def test_point_request_reads_that_frame(tmp_path, follow):
    path = tmp_path / "pt.nxs"
    writer = gda.start_gda_writer(path, (3, 2), frame_shape=(3, 5), rate=300)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    point = f.session.point((1, 1))
    np.testing.assert_array_equal(point.frame, gda.expected_frame(3, (3, 5)))
    assert point.position == (1, 1)


@pytest.mark.slow
def test_roi_request_made_before_the_newest_points_arrived_recomputes_them_too(tmp_path,
                                                                                follow):
    # The window asks with the points it has applied; points the session read meanwhile are
    # still queued to it with the old ROI's values (dropped there): they must be redone too.
    path = tmp_path / "roi_race.nxs"
    writer = gda.start_gda_writer(path, (2, 3), frame_shape=(4, 4), rate=300)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    # the window had applied only 2 points; the session recomputes all it read
    f.state.set_roi((0, 2, 0, 2))
    f.session.set_roi(f.state.roi)
    f.step()
    f.until(lambda f: not f.session.busy)
    expected = [gda.expected_frame(i, (4, 4))[0:2, 0:2].sum(dtype=float) for i in range(6)]
    np.testing.assert_array_equal(f.state.map.values["roi"].ravel(), expected)


@pytest.mark.slow
def test_dataset_switch_made_before_the_newest_points_arrived_recomputes_them_too(tmp_path,
                                                                                   follow):
    path = tmp_path / "ds_race.nxs"
    writer = gda.start_gda_writer(path, (2, 3), frame_shape=(4, 4), rate=300)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    other = "/entry/diamond_scan/keys/uniqueKeys"  # chosen in the dataset tree
    # the window had applied only 2 points; the session recomputes all it read
    state = f.state
    f.session.set_dataset(other)
    for message in f.session.step():  # as the window does: same points, new values
        if isinstance(message, ScanInfo):
            f.infos.append(message)
            state.new_dataset(message)
        elif message.generation == f.infos[-1].generation:
            state.apply(message)
    f.state = state
    f.until(lambda f: not f.session.busy)
    np.testing.assert_array_equal(f.state.map.values["sum"].ravel(), np.arange(1, 7))


@pytest.mark.slow
def test_live_keyless_grid_with_points_sharing_chunks_never_reads_unwritten_points(
        tmp_path, follow):
    """A GDA 8 STXM scan replayed live: no keys, 81 x 50 scalars, rows chunked by 32 points.

    From the second row on the dataset's extent covers a whole row at its first point: a chunk
    is stored before all its points are written, so points were read as fill (zeros)."""
    from pathlib import Path

    from swmrview.tools.replay import start_replay

    original = Path(__file__).resolve().parents[1] / "data" / "Sample_Line_2021-03-16_096.hdf5"
    with h5py.File(original, "r", locking=False) as h5:
        expected = h5["/entry1/counter0/data"][()]
    out = tmp_path / "line.hdf5"
    writer = start_replay(original, out, rate=400.0, batch=4)
    f = follow(out, timeout=8.0)
    f.until(lambda f: f.state is not None and 0 < f.state.n_acquired < expected.size, timeout=30)
    assert f.infos[-1].mode == "growth"
    f.until_ended(timeout=120)
    writer.join(30)
    assert "writer closed" in f.session.status.message
    np.testing.assert_array_equal(f.state.map.values["sum"], expected)


@pytest.mark.slow
def test_a_dataset_that_cannot_be_shown_is_said_for_a_while(tmp_path, follow):
    """The reason was put in the status and replaced by the very next step's status."""
    import time

    path = tmp_path / "notice.nxs"
    writer = gda.start_gda_writer(path, (2, 3), frame_shape=(4, 4), rate=300)
    f = follow(path)
    f.until_ended()
    writer.join(10)
    f.session.set_dataset("/entry/diamond_scan/point_start_times")
    for _ in range(5):
        f.step()
        time.sleep(0.02)
    assert f.session.status.kind == FINISHED
    assert "cannot show /entry/diamond_scan/point_start_times" in f.session.status.message
    assert "cannot show" in f.statuses[-1].message                    # and it was sent
    later = time.monotonic() + 60
    f.session.clock = lambda: later
    f.step()
    assert f.session.status.message.startswith("Finished") \
        and "cannot show" not in f.session.status.message
    assert "cannot show" not in f.statuses[-1].message


def test_detector_overflow_and_mask_stay_with_the_detector_on_a_dataset_switch(tmp_path,
                                                                                 follow):
    """The Eiger's overflow value (65535) was applied to any other dataset shown instead."""
    import shutil
    from pathlib import Path

    path = tmp_path / "eiger.h5"
    shutil.copy(Path(__file__).parents[1] / "data" / "eiger" /
                "eiger1_testmode10_2datafiles_4images_lz4_data_000001.h5", path)
    with h5py.File(path, "a") as f:
        f["/entry/monitor"] = np.array([70000.0, 100.0])
    f = follow(path)
    f.until_ended()
    assert f.infos[-1].masked
    f.session.set_dataset("/entry/monitor")
    for message in f.session.step():
        if isinstance(message, ScanInfo):
            f.infos.append(message)
            f.state.new_dataset(message)
        elif message.generation == f.infos[-1].generation:
            f.state.apply(message)
    f.until(lambda f: not f.session.busy)
    assert not f.infos[-1].masked
    np.testing.assert_array_equal(f.state.map.values["sum"], [70000.0, 100.0])


def test_compound_pixels_map_each_numeric_field(tmp_path, follow):
    """A scan of compound images (PERCIVAL-like Fine/Coarse/Gain records, one chunk a frame of
    more than 64 KiB per field): each field is a dataset of its own, read through h5py (the raw
    chunks interleave the fields); the chooser's tree lists the fields."""
    path = tmp_path / "compound.h5"
    pixel = np.dtype([("Fine", "<u2"), ("Coarse", "<u2"), ("Gain", "u1")])
    frames = np.zeros((2, 3, 192, 192), pixel)
    rng = np.random.default_rng(5)
    for name in pixel.names:
        frames[name] = rng.integers(0, 200, frames.shape)
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/detector/data", data=frames, chunks=(1, 1, 192, 192))
    f = follow(path)
    f.until_ended()
    info = f.infos[-1]
    assert info.data_path == "/entry/detector/data:Fine" and info.frame_shape == (192, 192)
    assert {"/entry/detector/data:Coarse", "/entry/detector/data:Gain"} <= set(info.data_paths)
    assert ("/entry/detector/data:Gain", (192, 192)) in info.fields     # per-point fields
    node = info.tree["children"][0]["children"][0]["children"][0]
    assert [c["path"] for c in node["children"]] == [
        "/entry/detector/data:Fine", "/entry/detector/data:Coarse", "/entry/detector/data:Gain"]
    sums = lambda name: frames[name].sum(axis=(2, 3), dtype=np.float64)  # noqa: E731
    np.testing.assert_array_equal(f.state.plane(), sums("Fine"))
    state = f.state
    f.session.set_dataset("/entry/detector/data:Gain")
    for message in f.session.step():  # as the window does: same points, new values
        if isinstance(message, ScanInfo):
            f.infos.append(message)
            state.new_dataset(message)
        elif message.generation == f.infos[-1].generation:
            state.apply(message)
    f.state = state
    f.until(lambda f: not f.session.busy)
    assert f.infos[-1].data_path == "/entry/detector/data:Gain"
    np.testing.assert_array_equal(f.state.plane(), sums("Gain"))
    point = f.session.point((1, 2))
    np.testing.assert_array_equal(point.frame, frames["Gain"][1, 2])
