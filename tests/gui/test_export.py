"""File > Export in the window: frame and map as PNG/TIFF/CSV, and a live NeXus export started
in the middle of a scan (a real writer process), with the file dialog answered by the test."""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pytest
import tifffile
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from swmrview.session.export import FINISHED, KEYS, NXDATA, LiveExport
from swmrview.model.status import FINISHED as FINISHED_STATUS
from swmrview.model.status import LIVE
from tests.writers import gda_writer as gda

from .conftest import wait_terminal


@pytest.fixture
def answer(monkeypatch):
    """``answer(path)``: the next save dialogs return ``path`` (None: the user cancels)."""
    asked = []

    def set_answer(path):
        def fake(parent, title, directory="", filters="", *args, **kwargs):
            asked.append((title, directory, filters))
            return (str(path) if path else "", "")

        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
        return asked

    return set_answer


def test_export_menu_is_in_the_file_menu(make_window):
    window = make_window()
    assert window.export_menu.menuAction() in window.file_menu.actions()
    texts = [a.text() for a in window.export_menu.actions() if a.text()]
    assert any("Frame" in t for t in texts) and any("Map" in t for t in texts)
    assert any("NeXus live" in t for t in texts)


def test_nothing_to_export_before_a_scan_writes_nothing(make_window, answer, tmp_path):
    window = make_window()
    answer(tmp_path / "m.tiff")
    window.export_menu.map_action.trigger()
    answer(tmp_path / "f.png")
    window.export_menu.frame_action.trigger()
    answer(tmp_path / "live.nxs")
    window.export_menu.nexus_action.trigger()
    assert list(tmp_path.iterdir()) == []
    assert "no scan map" in window.status_bar.currentMessage()


@pytest.mark.slow
def test_live_nexus_export_started_mid_scan_then_frame_and_map_files(make_window, answer,
                                                                     qtbot, tmp_path,
                                                                     monkeypatch):
    path, out = tmp_path / "scan.nxs", tmp_path / "live.nxs"
    threads = set()                      # where the export's h5py writes run: never the GUI's
    write_points = LiveExport.write_points

    def recording(self, *args, **kwargs):
        threads.add(threading.current_thread().name)
        return write_points(self, *args, **kwargs)

    monkeypatch.setattr(LiveExport, "write_points", recording)
    writer = gda.start_gda_writer(path, (6, 5), frame_shape=(8, 6), rate=12)
    window = make_window(path)
    try:
        qtbot.waitUntil(lambda: window.state is not None and window.state.n_acquired >= 4,
                        timeout=20000)
        asked = answer(out)
        window.export_menu.nexus_action.trigger()
        assert asked and asked[0][1].endswith("map.nxs")         # a NeXus name is proposed
        assert window.headless.live.active
        window.headless.live.wait()                              # written by its own thread
        with h5py.File(out, "r", swmr=True) as f:                # the points so far, at once
            keys = f[KEYS][()]
            assert f[FINISHED][0] == 0 and (keys > 0).sum() >= 4
        assert window.status.kind == LIVE                       # exported while live
        window.export_menu.aboutToShow.emit()
        assert window.export_menu.stop_action.isEnabled()
        wait_terminal(qtbot, window)
    finally:
        writer.join(10)
    assert window.status.kind == FINISHED_STATUS
    assert not window.headless.live.active                     # finished with the scan
    window.headless.live.wait()
    assert threads == {"swmrview-export"}
    expected = np.array([gda.expected_sum(i, (8, 6)) for i in range(30)]).reshape(6, 5)
    with h5py.File(out, "r") as f:
        assert f[FINISHED][0] == 1
        assert sorted(f[KEYS][()].ravel()) == list(range(1, 31))
        np.testing.assert_array_equal(f[f"{NXDATA}/sum"][()], expected)
        for name in ("mean", "max"):
            np.testing.assert_array_equal(f[f"{NXDATA}/{name}"][()],
                                          window.state.map.values[name])

    # the frame shown and the map, in each format
    last = gda.acquisition_order((6, 5))[-1]
    frame = gda.expected_frame(last, (8, 6))
    for name in ("f.tiff", "f.csv", "f.png", "m.tif", "m.csv", "m.png"):
        answer(tmp_path / name)
        action = window.export_menu.frame_action if name[0] == "f" else \
            window.export_menu.map_action
        action.trigger()
        assert (tmp_path / name).exists(), window.status_bar.currentMessage()
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "f.tiff"), frame)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "f.csv", delimiter=","), frame)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "m.tif"), expected)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "m.csv", delimiter=","), expected)
    for png in ("f.png", "m.png"):
        image = QImage(str(tmp_path / png))
        assert not image.isNull() and image.width() > 50 and image.height() > 50


@pytest.mark.slow
def test_a_typed_name_without_extension_gets_the_chosen_format(make_window, monkeypatch,
                                                                qtbot, tmp_path):
    path = tmp_path / "done.nxs"
    writer = gda.start_gda_writer(path, (2, 3), frame_shape=(4, 4), rate=200)
    writer.join(20)
    window = make_window(path)
    wait_terminal(qtbot, window)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *a, **k: (str(tmp_path / "plain"), "TIFF values (*.tif *.tiff)")))
    window.export_menu.map_action.trigger()
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "plain.tiff"),
                                  window.state.plane())
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    window.export_menu.map_action.trigger()                     # cancelled: nothing written
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".nxs") == ["plain.tiff"]


def test_a_screenshot_that_cannot_be_saved_is_said_and_fails_the_exit_code(make_window,
                                                                           tmp_path, caplog):
    missing = tmp_path / "no such folder" / "shot.png"
    window = make_window(screenshot=str(missing))
    assert not window.headless.screenshot(str(missing))   # grab().save() returned False
    message = window.status_bar.currentMessage()
    assert message == f"screenshot not saved to {missing}: the folder {missing.parent} " \
                      "does not exist"
    assert not any("screenshot saved" in r.getMessage() for r in caplog.records)
    window.close()
    assert window.exit_code == 1 and not missing.parent.exists()


def test_a_headless_export_waits_for_the_map_shown_last_time_to_be_filled(make_window, qtbot,
                                                                          tmp_path):
    """The map shown last time (max, saved in the settings) is asked for by the window after
    the worker may have read every point; the export at the scan's end waits for it."""
    path = tmp_path / "done.h5"
    frames = np.random.default_rng(1).integers(0, 5000, (40, 64, 64)).astype(np.uint16)
    with h5py.File(path, "w") as f:
        f.create_dataset("data/images", data=frames, chunks=(1, 64, 64))
    first = make_window(path)
    wait_terminal(qtbot, first)
    first.toolbar.reduction_combo.setCurrentText("max")   # the user looks at max, and quits
    first.close()
    out = tmp_path / "map.csv"
    window = make_window(path, export_map=str(out))
    wait_terminal(qtbot, window)
    qtbot.waitUntil(out.exists, timeout=10000)
    text = out.read_text()
    assert "reduction=max" in text.splitlines()[0]
    values = np.loadtxt(out, delimiter=",", comments="#")
    np.testing.assert_array_equal(values, frames.max(axis=(1, 2)))
