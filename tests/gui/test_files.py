"""Opening files: recent files, drag and drop, another file, a replaced file, bad files."""

from __future__ import annotations

import os

import h5py
import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
import pytest

from swmrview.model.status import ERROR, FINISHED, WAITING
from swmrview.tools.simulate import SimConfig, start_writer

from .conftest import file_reductions, wait_terminal
from .files import static_file


def test_open_another_file_stops_the_previous_thread_and_drops_its_messages(
        make_window, qtbot, tmp_path):
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "map.csv"
    static_file(a)
    window = make_window(a, data=("/data/images",), export_map=str(out))
    first = window.follow
    window.open_path(str(b))  # at once: A's first tick may have queued its info and end
    assert not first.thread.isRunning()
    qtbot.wait(400)
    assert window.info is None and window.state is None
    assert window.status.kind == WAITING and "b.h5" in window.status.message
    assert not out.exists()   # A's end was not taken for B's
    images = np.full((3, 4, 6, 7), 3, np.uint16)
    static_file(b, images=images, spectra=False)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED and window.info.path == str(b)
    np.testing.assert_array_equal(np.loadtxt(out, delimiter=",", comments="#"),
                                  np.full((3, 4), 3.0 * 42))
    assert window.settings.recent_files()[:2] == [str(b), str(a)]


def test_drop_file_opens_it(make_window, qtbot, tmp_path):
    path = tmp_path / "dropped.h5"
    images = static_file(path, spectra=False)["images"]
    window = make_window(None)
    assert window.pages.currentWidget() is window.welcome
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.options.path == str(path)
    assert window.settings.recent_files()[0] == str(path)
    np.testing.assert_array_equal(window.state.plane(), images.sum(axis=(2, 3)))


def test_file_replaced_reopens_and_resets_map(make_window, qtbot, tmp_path):
    path = tmp_path / "scan.h5"
    images = static_file(path, spectra=False)["images"]
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    np.testing.assert_array_equal(window.state.plane(), images.sum(axis=(2, 3)))
    generation = window.generation
    new = tmp_path / "new.h5"
    with h5py.File(new, "w") as f:
        f.create_dataset("keys/key", data=np.ones((3, 4, 1), np.int32))
        f.create_dataset("data/images", data=np.full((3, 4, 6, 7), 2, np.uint16),
                         chunks=(1, 1, 6, 7))
    os.replace(new, path)
    qtbot.waitUntil(lambda: window.generation > generation and window.status.terminal
                    and window.state is not None
                    and np.array_equal(window.state.plane(), np.full((3, 4), 84.0)),
                    timeout=10000)


@pytest.mark.slow
def test_a_new_scan_written_over_the_same_name_is_not_blocked_and_is_followed(
        sim_writer, make_window, qtbot):
    """No HDF5 lock is held, so the next writer re-creates the file, and it is followed."""
    path, proc = sim_writer(SimConfig(shape=(3, 4), frame=(8, 8), rate=200.0))
    window = make_window(path)
    qtbot.waitUntil(lambda: window.status.kind == FINISHED, timeout=20000)
    proc.join(timeout=10)
    qtbot.wait(2500)  # as at a beamline, the next scan starts after the viewer saw this one close
    generation = window.generation
    _, proc2 = sim_writer(SimConfig(shape=(5, 6), frame=(8, 8), rate=20.0, seed=1))
    proc2.join(timeout=30)
    assert proc2.exitcode == 0  # the writer was not disturbed
    qtbot.waitUntil(lambda: window.generation > generation and window.status.kind == FINISHED
                    and window.state is not None and window.state.n_acquired == 30,
                    timeout=20000)
    np.testing.assert_allclose(window.state.plane(), file_reductions(path)["sum"])


def test_not_hdf5_is_an_error_status_with_exit_2(make_window, qtbot, tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not hdf5 at all\n")
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == ERROR and window.exit_code == 2
    assert "not an HDF5 file" in window.status.message
    assert window.status_bar.details_button.isVisible()


@pytest.mark.slow
def test_an_empty_file_says_so_while_waiting_and_a_writer_starting_on_it_is_followed(
        make_window, qtbot, tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    window = make_window(path, timeout=20.0)
    qtbot.waitUntil(lambda: "is empty" in window.status_bar.text(), timeout=5000)
    assert window.status.kind == WAITING
    assert "empty.h5 is empty (not an HDF5 file yet): waiting up to 20 s for a writer" \
        in window.status_bar.text()
    writer = start_writer(path, SimConfig(shape=(2, 3), frame=(8, 8), rate=100.0))
    qtbot.waitUntil(lambda: window.status.kind == FINISHED, timeout=20000)
    writer.join(10)
    assert window.state.n_acquired == 6 and window.exit_code == 0


def test_scan_replacing_a_bad_file_is_followed(make_window, qtbot, tmp_path):
    path = tmp_path / "later.h5"
    path.write_text("placeholder")
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=5000)
    assert window.status.kind == ERROR
    tmp = tmp_path / "tmp.h5"
    static_file(tmp)
    os.replace(tmp, path)
    qtbot.waitUntil(lambda: window.status.kind == FINISHED, timeout=10000)
    assert window.exit_code == 0


def test_a_point_pinned_in_one_file_does_not_freeze_the_next(make_window, qtbot, tmp_path):
    """Follow latest stayed off after opening another file: its frames were never shown and
    the previous file's pinned frame stayed on screen."""
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    static_file(a, spectra=False)
    images = static_file(b, spectra=False, images=np.full((3, 4, 6, 7), 5, np.uint16))["images"]
    window = make_window(a, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    window.pin_point((0, 1))
    qtbot.waitUntil(lambda: window.shown_position == (0, 1), timeout=5000)
    window.open_path(str(b))
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.shown_position == (2, 3), timeout=5000)
    assert window.toolbar.follow_action.isChecked()
    np.testing.assert_array_equal(window.frame_view.current_frame(), images[2, 3])
