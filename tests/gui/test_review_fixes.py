"""Regression tests for the GUI review (notes/gui_review.md): each fails without its fix."""

from __future__ import annotations

import os
from dataclasses import replace

import h5py
import numpy as np

from swmrview.gui.messages import ERROR, FINISHED, WAITING

from .conftest import wait_terminal
from .test_viewer import _static_file


def _write_static(path, images=None, spectra=None):
    """A complete generic file (one key dataset) with the given (3, 4, ...) datasets."""
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=np.arange(1, 13, dtype=np.int32).reshape(3, 4, 1))
        if images is not None:
            f.create_dataset("data/images", data=images, chunks=(1, 1) + images.shape[2:])
        if spectra is not None:
            f.create_dataset("data/spectra", data=spectra, chunks=(1, 1) + spectra.shape[2:])


def test_open_path_drops_previous_files_messages_and_handles_next_end(
        make_window, qtbot, tmp_path):
    """Item 1: A's queued info/batches must not land after open_path(B); B's end is handled."""
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "map.csv"
    _static_file(a)
    window = make_window(a, data=("/data/images",), export_map=str(out))
    window.open_path(str(b))  # at once: A's first tick has already queued its info and end
    qtbot.wait(400)
    assert window.info is None and window.scan_map is None
    assert window.status.kind == WAITING and "b.h5" in window.status.message
    assert not out.exists()  # A's end was not taken for B's
    images = np.full((3, 4, 6, 7), 3, np.uint16)
    _write_static(b, images=images)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED and window.info.path == str(b)
    assert out.exists()  # B's end exported the map
    np.testing.assert_array_equal(np.loadtxt(out, delimiter=",", comments="#"),
                                  np.full((3, 4), 3.0 * 42))


def test_roi_not_carried_to_next_file(make_window, qtbot, tmp_path):
    """Item 2: an image ROI left on when opening a spectrum file must not end it in error."""
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _write_static(a, images=np.ones((3, 4, 6, 7), np.uint16))
    spectra = np.arange(3 * 4 * 11, dtype=np.float32).reshape(3, 4, 11)
    _write_static(b, spectra=spectra)
    window = make_window(a)
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.frame_view.shown_index is not None, timeout=5000)
    window.roi_box.setChecked(True)
    assert window.roi is not None and len(window.roi) == 4
    window.open_path(str(b))
    assert not window.roi_box.isChecked() and window.roi is None
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED, window.status.message
    np.testing.assert_allclose(window.scan_map.plane("sum"), spectra.sum(axis=2))


def test_roi_kept_across_dataset_switch(make_window, qtbot, tmp_path):
    """Item 2: after switching dataset with the ROI on, the ROI map is computed on the new data."""
    path = tmp_path / "static.h5"
    images, spectra = _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.frame_view.shown_index is not None, timeout=5000)
    window.roi_box.setChecked(True)
    qtbot.waitUntil(lambda: np.isfinite(window.scan_map.plane("roi")).all(), timeout=5000)
    window.set_dataset("/data/spectra")
    qtbot.waitUntil(lambda: window.info.data_path == "/data/spectra", timeout=5000)
    qtbot.waitUntil(lambda: window.roi is not None and len(window.roi) == 2, timeout=5000)
    x0, x1 = window.roi
    assert x1 > x0 and window.roi_box.isChecked()
    expected = spectra[..., x0:x1].astype(np.float64).sum(axis=2)
    qtbot.waitUntil(lambda: np.allclose(window.scan_map.plane("roi"), expected), timeout=5000)
    assert window.status.kind == FINISHED


def _file_with_gap(path, missing=7):
    """A complete 3x4 image file whose point ``missing`` was never acquired (key zero)."""
    keys = np.arange(1, 13, dtype=np.int32)
    keys[missing] = 0
    images = np.arange(12 * 6 * 7, dtype=np.uint16).reshape(3, 4, 6, 7)
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=keys.reshape(3, 4, 1))
        f.create_dataset("data/images", data=images, chunks=(1, 1, 6, 7))
    return images


def test_clicking_a_point_not_acquired_keeps_following(make_window, qtbot, tmp_path):
    """Item 4: an empty map cell has no frame: clicking it must not pin and freeze the view."""
    path = tmp_path / "gap.h5"
    _file_with_gap(path, missing=7)
    window = make_window(path, timeout=1.0, skip_after=0.2)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.scan_map.n_filled == 11 and not window.scan_map.filled.flat[7]
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 11, timeout=5000)
    view = window.map_view
    assert view.click_at_scene(view.scene_position(7)) == 7
    assert window.pinned is None and window.follow_action.isChecked()
    window.pin_point(99)  # outside the scan
    assert window.pinned is None and window.follow_action.isChecked()
    view.click_at_scene(view.scene_position(8))  # an acquired point still pins
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 8, timeout=5000)
    assert window.pinned == 8 and window.slider.value() == window.acquired.index(8)


def test_pinned_point_dropped_when_file_replaced(make_window, qtbot, tmp_path):
    """Item 4: after a new scan replaces the file, an old pinned index is not re-requested."""
    path = tmp_path / "scan.h5"
    _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    window.pin_point(10)
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 10, timeout=5000)
    generation = window._generation
    new = tmp_path / "new.h5"
    _write_static(new, images=np.full((3, 4, 6, 7), 5, np.uint16))
    os.replace(new, path)
    qtbot.waitUntil(lambda: window.info.generation > generation and window.status.terminal,
                    timeout=10000)
    assert window.pinned is None and window.follow_action.isChecked()
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 11, timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), np.full((6, 7), 5))


def test_scan_replacing_a_bad_file_is_followed(make_window, qtbot, tmp_path):
    """Item 12: after "not an HDF5 file" the worker watches the file and follows a real scan."""
    path = tmp_path / "scan.h5"
    path.write_text("not hdf5 at all\n")
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == ERROR and window.exit_code == 2
    new = tmp_path / "new.h5"
    images, _ = _static_file(new)
    os.replace(new, path)
    qtbot.waitUntil(lambda: window.status.kind == FINISHED, timeout=10000)
    assert window.exit_code == 0
    np.testing.assert_array_equal(window.scan_map.plane("sum"), images.sum(axis=(2, 3)))


def test_failure_after_open_closes_the_file(make_window, qtbot, tmp_path, monkeypatch):
    """Item 12: an unexpected error while reading the layout must not leak the HDF5 handle."""
    import swmrview.gui.worker as worker

    def broken(*_args, **_kwargs):
        raise RuntimeError("layout walk failed")

    opened = []

    def recording_open(*args, **kwargs):
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    real_open = worker.open_swmr
    monkeypatch.setattr(worker, "open_swmr", recording_open)
    monkeypatch.setattr(worker, "find_layout", broken)
    path = tmp_path / "static.h5"
    _static_file(path)
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == ERROR and "layout walk failed" in window.status.message
    assert window.exit_code == 1
    assert opened and not any(bool(f) for f in opened)  # closed, not left to the collector


def test_gda_scan_rank_with_fast_axis_of_length_one(make_window, qtbot, tmp_path):
    """Worker follower uses the layout's scan rank: keys (10,1,1,1) with scan_rank 2."""
    path = tmp_path / "gda.h5"
    frames = np.arange(10 * 6 * 7, dtype=np.uint16).reshape(10, 1, 6, 7)
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/diamond_scan/keys/uniqueKeys",
                         data=np.arange(1, 11, dtype=np.int32).reshape(10, 1, 1, 1))
        f["entry/diamond_scan/scan_rank"] = np.int32(2)
        f["entry/diamond_scan/scan_finished"] = np.int32(1)
        f.create_dataset("entry/data/data", data=frames, chunks=(1, 1, 6, 7))
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED, window.status.message
    assert window.info.scan_shape == (10, 1) and window.info.frame_shape == (6, 7)
    np.testing.assert_array_equal(window.scan_map.plane("sum"), frames.sum(axis=(2, 3)))


def _mismatched_file(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=np.arange(1, 13, dtype=np.int32).reshape(3, 4, 1))
        f.create_dataset("data/images", data=np.ones((3, 4, 6, 7), np.uint16))
        f.create_dataset("data/wide", data=np.ones((3, 5, 6, 7), np.uint16))


def test_data_of_another_scan_shape_is_refused(make_window, qtbot, tmp_path):
    """Data whose fast axes disagree with the keys: bad input (2) when opened, a status
    message and the previous dataset kept when switched to."""
    path = tmp_path / "mismatch.h5"
    _mismatched_file(path)
    window = make_window(path, data=("/data/wide",))
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == ERROR and window.exit_code == 2
    window.options = replace(window.options, data=("/data/images",))
    window.open_path(str(path))
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == FINISHED
    window.set_dataset("/data/wide")
    qtbot.waitUntil(lambda: "cannot show /data/wide" in window.status.message, timeout=5000)
    assert window.info.data_path == "/data/images" and window.status.kind == FINISHED
    np.testing.assert_array_equal(window.scan_map.plane("sum"), np.full((3, 4), 42.0))


def test_backfill_refreshes_before_reading(make_window, qtbot, tmp_path, monkeypatch):
    """Item 6: recomputing the map (ROI change) refreshes the dataset before reading, as the
    live path does, so chunks written since the last refresh do not read as fill values."""
    from swmrview.core.frames import FrameReader

    path = tmp_path / "static.h5"
    images, _ = _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.frame_view.shown_index is not None, timeout=5000)
    refreshes = []
    original = FrameReader.refresh
    monkeypatch.setattr(FrameReader, "refresh",
                        lambda self: (refreshes.append(1), original(self))[1])
    window.roi_box.setChecked(True)
    y0, y1, x0, x1 = window.roi
    expected = images[..., y0:y1, x0:x1].sum(axis=(2, 3), dtype=np.float64)
    qtbot.waitUntil(lambda: np.array_equal(window.scan_map.plane("roi"), expected), timeout=5000)
    assert refreshes


def test_frames_of_rank_three_show_their_first_plane(make_window, qtbot, tmp_path):
    """Item 3: (2, 6, 7) frames go to the image page, first plane shown, map sums all of it."""
    path = tmp_path / "stack.h5"
    stacks = np.arange(3 * 4 * 2 * 6 * 7, dtype=np.uint16).reshape(3, 4, 2, 6, 7)
    _write_static(path, images=stacks)
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED and window.info.frame_rank == 3
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 11, timeout=5000)
    assert window.frame_view.currentWidget() is window.frame_view.image_panel
    np.testing.assert_array_equal(window.frame_view.current_frame(), stacks[2, 3, 0])
    np.testing.assert_array_equal(window.scan_map.plane("sum"),
                                  stacks.sum(axis=(2, 3, 4), dtype=np.float64))


def test_slow_axis_choice_survives_new_frames(sim_writer, make_window, qtbot):
    """Item 7: a slower-axis index chosen during a live 3-D scan stays until Follow latest."""
    from swmrview.simulate import SimConfig

    cfg = SimConfig(shape=(3, 3, 4), frame=(), rate=25.0)
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    qtbot.waitUntil(lambda: len(window.acquired) >= 14, timeout=15000)
    box = window.map_view.slow_boxes[0]
    box.setValue(0)
    qtbot.waitUntil(lambda: len(window.acquired) >= 28, timeout=15000)
    qtbot.wait(100)  # several redraws with newer frames
    assert box.value() == 0
    np.testing.assert_array_equal(window.map_view.plane(), window.scan_map.plane("sum", (0,)))
    wait_terminal(qtbot, window)
    window.follow_action.setChecked(False)
    window.follow_action.setChecked(True)  # follow latest again: back to the newest slice
    qtbot.waitUntil(lambda: box.value() == 2, timeout=5000)


def test_slow_axis_range_grows_with_unknown_length(make_window):
    """Item 7: with an unknown slowest length the box range follows the rows acquired."""
    from swmrview.core.scanmap import ScanMap

    window = make_window(None)
    scan_map = ScanMap((None, 2, 3))
    window.map_view.set_scan(scan_map, ("z", "y", "x"), (None, None, None))
    box = window.map_view.slow_boxes[0]
    assert box.maximum() == 0
    scan_map.set(2 * 6 + 1, {"sum": 1.0})
    window.map_view.refresh()
    assert box.maximum() == 2
    box.setValue(2)
    assert window.map_view.plane()[0, 1] == 1.0


def test_running_mean_of_live_spectra(make_window, qtbot, tmp_path):
    """Item 8: ticking Mean shows the mean of the recent live traces; pinned ones stay out."""
    window = make_window(None)
    view = window.frame_view
    view.set_frame_rank(1)
    a, b = np.arange(10.0), np.arange(10.0) * 3
    view.show_frame(a, 0)
    view.show_frame(b, 1)
    window.mean_box.setChecked(True)
    np.testing.assert_allclose(view.trace_panel.mean_curve.getData()[1], (a + b) / 2)

    path = tmp_path / "static.h5"
    _images, spectra = _static_file(path)
    window = make_window(path, data=("/data/spectra",))
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 11, timeout=5000)
    window.mean_box.setChecked(True)
    mean = window.frame_view.trace_panel.mean_curve
    np.testing.assert_allclose(mean.getData()[1], spectra[2, 3])
    window.pin_point(5)
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 5, timeout=5000)
    np.testing.assert_allclose(mean.getData()[1], spectra[2, 3])  # the pinned trace is not in it
    window.follow_latest()
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 11, timeout=5000)
    np.testing.assert_allclose(mean.getData()[1], spectra[2, 3])  # nor the newest counted twice


def test_unticking_roi_leaves_the_roi_map(make_window, qtbot, tmp_path):
    """Item 11: without a ROI the map goes back to the chosen reduction, never all-NaN "roi"."""
    path = tmp_path / "static.h5"
    images, _ = _static_file(path)
    window = make_window(path, data=("/data/images",), reduce="max")
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.frame_view.shown_index is not None, timeout=5000)
    window.roi_box.setChecked(True)
    assert window.map_view.reduction == "roi"
    window.roi_box.setChecked(False)
    assert window.reduction_combo.currentText() == "max" and window.map_view.reduction == "max"
    assert window.roi is None
    np.testing.assert_array_equal(window.map_view.plane(), images.max(axis=(2, 3)))

    scalars = tmp_path / "scalars.h5"
    with h5py.File(scalars, "w") as f:
        f.create_dataset("keys/key", data=np.arange(1, 13, dtype=np.int32).reshape(3, 4, 1))
        f.create_dataset("data/counts", data=np.arange(12.0).reshape(3, 4))
    window.options = replace(window.options, data=())
    window.open_path(str(scalars))
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED and window.info.frame_rank == 0
    assert not window.roi_box.isEnabled()
    window.reduction_combo.setCurrentText("roi")  # nothing to draw a ROI on
    assert window.map_view.reduction == "max"
    assert np.isfinite(window.map_view.plane()).all()


def test_scan_map_set_many_matches_set():
    """Item 5: the GUI's vectorized placement equals point-by-point placement, growing too."""
    from swmrview.core.scanmap import ScanMap

    rng = np.random.default_rng(0)
    indices = np.array([5, 0, 17, 5, 3], np.int64)
    values = {"sum": rng.random(5), "max": rng.random(5), "other": rng.random(5)}
    one, many = ScanMap((None, 2, 3)), ScanMap((None, 2, 3))
    for k, index in enumerate(indices):
        one.set(int(index), {n: float(v[k]) for n, v in values.items()})
    many.set_many(indices, values)
    assert many.shape == one.shape == (3, 2, 3) and many.n_filled == one.n_filled == 4
    for name in ("sum", "max", "mean"):
        np.testing.assert_array_equal(many.values[name], one.values[name])
    np.testing.assert_array_equal(many.filled, one.filled)


def test_status_text_follows_the_redraw_rate(make_window, qtbot, tmp_path):
    """Item 15: live status text is applied at the redraw, the scan's end at once."""
    from types import MappingProxyType

    from swmrview.gui.messages import LIVE, Batch, Status

    window = make_window(None)
    window.redraw_timer.stop()  # redraw by hand

    def batch(status):
        return Batch(window._generation, np.zeros(0, np.int64), MappingProxyType({}), None,
                     None, None, 1, 10, 0.0, status)

    before = window.status_label.text()
    for k in range(50):
        window._on_batch(batch(Status(LIVE, f"Live: {k}/10 points")))
    assert window.status_label.text() == before and len(window.statuses) == 1
    window.redraw()
    assert window.status_label.text() == "Live: 49/10 points" and len(window.statuses) == 2
    window._on_batch(batch(Status(LIVE, "Live: 50/10 points")))
    window._on_batch(batch(Status(FINISHED, "Finished: 10/10 points")))
    assert window.status.kind == FINISHED and window.status_label.text().startswith("Finished")
    window.redraw()
    assert window.status.kind == FINISHED  # the older live text does not come back


def test_slider_drag_reads_only_the_newest_point(make_window, qtbot, tmp_path, monkeypatch):
    """Item 15: a burst of point requests is served by reading the newest one, not each."""
    import time

    import swmrview.gui.worker as worker

    path = tmp_path / "static.h5"
    images, _ = _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    real_read = worker._read
    reads = []

    def slow_read(reader, index, refresh=False):
        reads.append(index)
        time.sleep(0.03)
        return real_read(reader, index, refresh)

    monkeypatch.setattr(worker, "_read", slow_read)
    for value in list(range(12)) * 5 + [4]:  # a drag back and forth, released on 4
        window.slider.setValue(value)
    target = window.acquired[4]
    qtbot.waitUntil(lambda: window.frame_view.shown_index == target and window.pinned == target,
                    timeout=5000)
    qtbot.wait(100)
    assert window.frame_view.shown_index == target
    np.testing.assert_array_equal(window.frame_view.current_frame(),
                                  images.reshape(12, 6, 7)[target])
    assert len(reads) < 10, len(reads)
