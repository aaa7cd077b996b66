"""The real window on live simulator scans (real writer processes), offscreen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from swmrview.gui.messages import FINISHED, LIVE, STALLED, TIMED_OUT, WAITING
from swmrview.simulate import SimConfig, expected_frame

from .conftest import file_reductions, wait_terminal

SMALL = dict(frame=(16, 16), rate=150.0)


def kinds(window) -> list[str]:
    """Status kinds in order, consecutive repeats collapsed."""
    out = []
    for status in window.statuses:
        if not out or out[-1] != status.kind:
            out.append(status.kind)
    return out


def test_live_scan_started_before_file_exists(sim_writer, make_window, qtbot, tmp_path):
    """Waiting -> live -> finished, and every map reduction equals the file's frames."""
    cfg = SimConfig(shape=(6, 9), start_delay=0.8, **SMALL)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    seen = kinds(window)
    assert seen[0] == WAITING
    assert LIVE in seen and seen.index(LIVE) > 0
    assert seen[-1] == FINISHED and window.exit_code == 0
    assert window.status.message == "Finished: 54/54 points"
    proc.join(10)
    expected = file_reductions(path)
    for name in ("sum", "mean", "max"):
        np.testing.assert_array_equal(window.scan_map.plane(name), expected[name])
    out = tmp_path / "map.csv"
    assert window.export_map(str(out))
    np.testing.assert_array_equal(np.loadtxt(out, delimiter=",", comments="#"), expected["sum"])
    assert window.slider.maximum() == 53
    assert window.progress.value() == 54


def test_crashed_writer_times_out_and_keeps_map(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(5, 8), crash_at=23, **SMALL)
    path, proc = sim_writer(cfg)
    window = make_window(path, timeout=1.5)
    wait_terminal(qtbot, window)
    assert window.status.kind == TIMED_OUT and window.exit_code == 3
    assert window.status.message.startswith("Timed out")
    assert STALLED in kinds(window)
    plane = window.scan_map.plane("sum")
    assert np.isfinite(plane).sum() == 23
    np.testing.assert_array_equal(plane, file_reductions(path)["sum"])


def _finished_window(sim_writer, make_window, qtbot, cfg):
    path, proc = sim_writer(cfg)
    proc.join(20)
    window = make_window(path)
    wait_terminal(qtbot, window)
    assert window.status.kind == FINISHED
    return path, window


def test_click_map_point_pins_frame_and_follow_latest_unpins(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(4, 6), **SMALL)
    _path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    view = window.map_view
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 23, timeout=5000)
    index = 8  # row 1, column 2
    viewport = view.plot_widget.viewport()
    scene = view.scene_position(index)
    point = view.plot_widget.mapFromScene(scene)
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=QPoint(point.x(), point.y()))
    qtbot.waitUntil(lambda: window.frame_view.shown_index == index, timeout=5000)
    assert window.pinned == index and not window.follow_action.isChecked()
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(index, cfg))
    assert view.marked == index
    # the handler path (no real mouse) pins too
    assert view.click_at_scene(view.scene_position(3)) == 3
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 3, timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(3, cfg))
    window.follow_action.trigger()
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 23, timeout=5000)
    assert window.pinned is None
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(23, cfg))


def test_slider_pins_acquired_point(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 5), **SMALL)
    _path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    window.slider.setValue(4)
    qtbot.waitUntil(lambda: window.frame_view.shown_index == window.acquired[4], timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(),
                                  expected_frame(window.acquired[4], cfg))


def test_auto_levels_follow_frames_when_on_and_stay_when_off(make_window, qtbot):
    window = make_window(None)
    view = window.frame_view
    view.set_frame_rank(2)
    a = np.arange(64, dtype=np.uint16).reshape(8, 8)
    b = (a * 10 + 1000).astype(np.uint16)
    view.show_frame(a, 0)
    assert view.image_panel.levels() == (0.0, 63.0)
    window.auto_levels_box.setChecked(False)
    view.show_frame(b, 1)
    assert view.image_panel.levels() == (0.0, 63.0)
    np.testing.assert_array_equal(view.image_panel.image.image, b)
    window.auto_levels_box.setChecked(True)
    view.show_frame(b, 2)
    assert view.image_panel.levels() == (1000.0, 1630.0)
    window.log_box.setChecked(True)
    lo, hi = view.image_panel.levels()
    assert hi == pytest.approx(np.log10(1630.0), rel=1e-5)


def test_auto_levels_off_during_live_scan(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(6, 10), rate=60.0, frame=(16, 16))
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    qtbot.waitUntil(lambda: window.frame_view.shown_index is not None, timeout=15000)
    window.auto_levels_box.setChecked(False)
    levels = window.frame_view.image_panel.levels()
    first = window.frame_view.shown_index
    qtbot.waitUntil(lambda: window.frame_view.shown_index not in (None, first), timeout=10000)
    assert window.frame_view.image_panel.levels() == levels
    wait_terminal(qtbot, window)


def test_roi_changes_map_values(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(4, 5), **SMALL)
    path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    qtbot.waitUntil(lambda: window.frame_view.shown_index is not None, timeout=5000)
    window.roi_box.setChecked(True)
    assert window.reduction_combo.currentText() == "roi"
    roi = window.frame_view.image_panel.roi
    roi.setPos([2, 3], finish=False)
    roi.setSize([5, 4])  # finish=True emits the region change
    assert window.roi == (3, 7, 2, 7)

    import h5py

    with h5py.File(path, "r", locking=False) as f:
        expected = f["/entry/data/data"][:, :, 3:7, 2:7].sum(axis=(2, 3), dtype=np.float64)
    qtbot.waitUntil(lambda: np.array_equal(window.scan_map.plane("roi"), expected), timeout=10000)
    qtbot.wait(100)
    np.testing.assert_array_equal(window.map_view.plane(), expected)
    assert not np.array_equal(expected, window.scan_map.plane("sum"))


def _static_file(path):
    """A generic (non-GDA) complete file: one key, an image dataset and a spectrum dataset."""
    import h5py

    rng = np.random.default_rng(1)
    images = rng.integers(0, 100, (3, 4, 6, 7)).astype(np.uint16)
    spectra = rng.random((3, 4, 11)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=np.arange(1, 13, dtype=np.int32).reshape(3, 4, 1))
        f.create_dataset("data/images", data=images, chunks=(1, 1, 6, 7))
        f.create_dataset("data/spectra", data=spectra, chunks=(1, 1, 11))
    return images, spectra


def test_file_not_being_written_is_finished_and_dataset_switch(make_window, qtbot, tmp_path):
    path = tmp_path / "static.h5"
    images, spectra = _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED
    np.testing.assert_array_equal(window.scan_map.plane("sum"), images.sum(axis=(2, 3)))
    assert window.info.frame_rank == 2
    window.set_dataset("/data/spectra")
    qtbot.waitUntil(lambda: window.info.data_path == "/data/spectra", timeout=5000)
    expected = spectra.astype(np.float64).sum(axis=2)
    qtbot.waitUntil(lambda: np.allclose(window.scan_map.plane("sum"), expected), timeout=5000)
    assert window.info.frame_rank == 1
    assert window.frame_view.currentWidget() is window.frame_view.trace_panel
    window.pin_point(5)
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 5, timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), spectra[1, 1])


def test_tree_lists_datasets(make_window, qtbot, tmp_path):
    path = tmp_path / "static.h5"
    _static_file(path)
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=10000)
    names = []

    def walk(item):
        names.append(item.text(0))
        for i in range(item.childCount()):
            walk(item.child(i))

    walk(window.tree.topLevelItem(0))
    assert any(n.startswith("images") for n in names) and "spectra" in names


def test_file_replaced_reopens_and_resets_map(make_window, qtbot, tmp_path):
    import os

    path = tmp_path / "scan.h5"
    images, _ = _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    first = window.scan_map.plane("sum")
    np.testing.assert_array_equal(first, images.sum(axis=(2, 3)))
    generation = window._generation
    new = tmp_path / "new.h5"
    import h5py

    with h5py.File(new, "w") as f:
        f.create_dataset("keys/key", data=np.ones((3, 4, 1), np.int32))
        f.create_dataset("data/images", data=np.full((3, 4, 6, 7), 2, np.uint16),
                         chunks=(1, 1, 6, 7))
    os.replace(new, path)
    qtbot.waitUntil(lambda: window._generation > generation and window.status.terminal
                    and np.array_equal(window.scan_map.plane("sum"), np.full((3, 4), 84.0)),
                    timeout=10000)


def test_spectrum_scan_1d_map(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(12,), frame=(40,), rate=200.0)
    path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    assert window.map_view.rank == 1
    x, y = window.map_view.curve.getData()
    expected = file_reductions(path, scan_rank=1)["sum"]
    np.testing.assert_allclose(y, expected)
    assert window.map_view.plot.getAxis("bottom").labelText == "stage_x"
    qtbot.waitUntil(lambda: window.frame_view.shown_index == 11, timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(11, cfg))


def test_3d_scan_slow_axis_control(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(2, 3, 4), frame=(), rate=300.0)
    path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    assert len(window.map_view.slow_boxes) == 1
    expected = file_reductions(path, scan_rank=3)["sum"]
    window.map_view.slow_boxes[0].setValue(0)
    np.testing.assert_array_equal(window.map_view.plane(), expected[0])
    window.map_view.slow_boxes[0].setValue(1)
    np.testing.assert_array_equal(window.map_view.plane(), expected[1])
    scene = window.map_view.scene_position(12 + 5)
    assert window.map_view.index_at_scene(scene) == 17


def test_not_hdf5_is_an_error_status(make_window, qtbot, tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not hdf5 at all\n")
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == "error" and window.exit_code == 2
    assert "not an HDF5 file" in window.status.message


def test_close_stops_thread_during_live_scan(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(20, 20), rate=40.0, frame=(16, 16))  # 10 s: still live at close
    path, proc = sim_writer(cfg)
    window = make_window(path)
    qtbot.waitUntil(lambda: window.status.kind == LIVE, timeout=15000)
    follow = window.follow
    window.close()
    assert not follow.thread.isRunning()
    assert window.follow is None
    proc.terminate()


def test_open_another_file_stops_previous_thread(make_window, qtbot, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _static_file(a)
    _static_file(b)
    window = make_window(a)
    wait_terminal(qtbot, window, timeout=10000)
    first = window.follow
    window.open_path(str(b))
    assert not first.thread.isRunning()
    wait_terminal(qtbot, window, timeout=10000)
    assert window.recent_files()[:2] == [str(b), str(a)]


def test_redraw_soak(make_window, qtbot, qapp):
    """Thousands of redraws through the real path (guards PySide6 6.12.0 none_dealloc)."""
    window = make_window(None)
    window.frame_view.set_frame_rank(2)
    frames = [np.full((32, 32), i, np.uint16) + np.arange(32, dtype=np.uint16) for i in range(8)]
    for i in range(3000):
        window._pending_frame = (i, frames[i % 8], True)
        window._map_dirty = True
        window.redraw()
        qapp.processEvents()
    assert window.frame_view.shown_index == 2999
    np.testing.assert_array_equal(window.frame_view.current_frame(), frames[2999 % 8])


def test_backlog_read_over_many_ticks_still_finishes(make_window, qtbot, tmp_path, monkeypatch):
    """A file with more frames than one tick reads: 'behind' while catching up, then finished."""
    import swmrview.gui.worker as worker

    monkeypatch.setattr(worker, "READ_BUDGET_S", 0.0)  # one frame per tick
    path = tmp_path / "static.h5"
    images, _ = _static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED
    assert any("behind" in s.message for s in window.statuses)
    np.testing.assert_array_equal(window.scan_map.plane("sum"), images.sum(axis=(2, 3)))


def test_writer_holding_file_without_swmr_is_retried(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 4), swmr_delay=1.5, **SMALL)
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    assert window.status.kind == FINISHED
    assert any("locked" in s.message for s in window.statuses), [s.message for s in window.statuses]
    np.testing.assert_array_equal(window.scan_map.plane("sum"), file_reductions(path)["sum"])


def test_crosshair_reads_pixel_value(make_window, qtbot):
    window = make_window(None)
    window.pages.setCurrentWidget(window.splitter)
    view = window.frame_view
    view.set_frame_rank(2)
    frame = np.arange(48, dtype=np.uint16).reshape(6, 8)
    view.show_frame(frame, 0)
    qtbot.wait(50)
    panel = view.image_panel
    panel._mouse_moved(panel.image.mapToScene(5.5, 2.5))  # what sigMouseMoved delivers
    assert panel.readout.text() == f"x=5  y=2  value={frame[2, 5]}"
    assert panel.vline.isVisible() and panel.vline.value() == pytest.approx(5.5)


def test_drop_file_opens_it(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    path = tmp_path / "dropped.h5"
    images, _ = _static_file(path)
    window = make_window(None)
    assert window.pages.currentWidget() is window.welcome
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.options.path == str(path)
    assert window.recent_files()[0] == str(path)
    np.testing.assert_array_equal(window.scan_map.plane("sum"), images.sum(axis=(2, 3)))


def test_a_new_scan_written_over_the_same_name_is_not_blocked_and_is_followed(
        sim_writer, make_window, qtbot):
    # The viewer keeps the finished file open (for clicks); it must hold no lock that stops
    # the next scan's writer re-creating the file, and must follow that new scan.
    first = SimConfig(shape=(3, 4), frame=(8, 8), rate=200.0)
    path, proc = sim_writer(first)
    window = make_window(path)
    qtbot.waitUntil(lambda: window.status.kind == FINISHED, timeout=20000)
    proc.join(timeout=10)
    qtbot.wait(2500)  # as at a beamline, the next scan starts after the viewer saw this one close
    generation = window._generation
    second = SimConfig(shape=(5, 6), frame=(8, 8), rate=20.0, seed=1)
    _, proc2 = sim_writer(second)  # same file name, written in place with mode "w"
    proc2.join(timeout=30)
    assert proc2.exitcode == 0  # the writer was not disturbed
    qtbot.waitUntil(lambda: window._generation > generation and window.status.kind == FINISHED
                    and window.scan_map.n_filled == 30, timeout=20000)
    np.testing.assert_allclose(window.scan_map.plane("sum"), file_reductions(path)["sum"])
