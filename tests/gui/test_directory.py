"""The window following a folder (``swmrview DIR``): scans written one after the other."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt
import pytest

from swmrview.model.status import FINISHED
from tests.writers import gda_writer as gda

from .conftest import wait_terminal

pytestmark = pytest.mark.slow   # every test here starts a process


def _shown(window) -> str | None:
    return os.path.basename(window.info.path) if window.info is not None else None


def _expected(shape, frame=(4, 4)) -> np.ndarray:
    n = int(np.prod(shape))
    return np.array([gda.expected_sum(i, frame) for i in range(n)]).reshape(shape)


def test_window_follows_each_new_scan_of_a_folder_and_goes_back(make_window, qtbot, tmp_path):
    first = gda.start_gda_writer(tmp_path / "first.nxs", (4, 5), frame_shape=(4, 4), rate=60)
    window = make_window(tmp_path)
    dock = window.scans_dock
    assert dock.isVisible() and not window.dock.isVisible()
    qtbot.waitUntil(lambda: _shown(window) == "first.nxs" and window.state.n_acquired == 20
                    and window.status.kind == FINISHED, timeout=20000)
    first.join(10)
    np.testing.assert_array_equal(window.state.plane(), _expected((4, 5)))
    assert "first.nxs" in window.status.message
    assert dock.paths() == [str(tmp_path / "first.nxs")]

    # the next scan's file is there 3 s before its first point: the first map stays
    (tmp_path / "sub").mkdir()
    second = gda.start_gda_writer(tmp_path / "sub" / "second.nxs", (3, 3), frame_shape=(4, 4),
                                  rate=60, pause_at=0, pause_s=3.0)
    qtbot.waitUntil(lambda: str(tmp_path / "sub" / "second.nxs") in dock.paths(),
                    timeout=15000)
    assert _shown(window) == "first.nxs" and window.state.n_acquired == 20
    assert np.isfinite(window.state.plane()).sum() == 20
    # the new scan's info and its first points come in one worker step (two queued signals)
    qtbot.waitUntil(lambda: _shown(window) == "second.nxs" and window.state.n_acquired > 0,
                    timeout=15000)
    qtbot.waitUntil(lambda: window.status.terminal and "second.nxs" in window.status.message,
                    timeout=15000)
    second.join(10)
    assert window.state.n_acquired == 9 and window.exit_code == 0
    np.testing.assert_array_equal(window.state.plane(), _expected((3, 3)))
    assert dock.paths() == [str(tmp_path / "sub" / "second.nxs"), str(tmp_path / "first.nxs")]
    assert dock.list.item(0).text() == os.path.join("sub", "second.nxs") + "  (shown)"
    assert not dock.follow_button.isEnabled()

    # double-click the older scan: shown again, new scans no longer switched to
    item = dock.list.item(1)
    rect = dock.list.visualItemRect(item)
    with qtbot.waitSignal(dock.scan_chosen, timeout=5000) as chosen:
        qtbot.mouseClick(dock.list.viewport(), Qt.LeftButton, pos=rect.center())  # as a user:
        qtbot.mouseDClick(dock.list.viewport(), Qt.LeftButton, pos=rect.center())  # press first
    assert chosen.args == [str(tmp_path / "first.nxs")]
    qtbot.waitUntil(lambda: _shown(window) == "first.nxs", timeout=15000)
    qtbot.waitUntil(lambda: window.state.n_acquired == 20 and window.status.terminal
                    and "first.nxs" in window.status.message, timeout=15000)
    np.testing.assert_array_equal(window.state.plane(), _expected((4, 5)))
    qtbot.waitUntil(lambda: dock.follow_button.isEnabled(), timeout=5000)
    assert dock.list.item(1).text() == "first.nxs  (shown)"
    qtbot.mouseClick(dock.follow_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: _shown(window) == "second.nxs" and window.state.n_acquired == 9,
                    timeout=15000)
    qtbot.waitUntil(lambda: not dock.follow_button.isEnabled(), timeout=5000)


def test_empty_folder_waits_for_a_scan(make_window, qtbot, tmp_path):
    window = make_window(tmp_path)
    qtbot.waitUntil(lambda: window.status.message == f"Waiting for a scan in {tmp_path}",
                    timeout=10000)
    assert window.scans_dock.isVisible() and window.scans_dock.paths() == []
    writer = gda.start_gda_writer(tmp_path / "scan.nxs", (2, 3), frame_shape=(4, 4), rate=60)
    wait_terminal(qtbot, window)
    writer.join(10)
    assert _shown(window) == "scan.nxs" and window.state.n_acquired == 6


def test_a_file_hides_the_scans_dock(make_window, qtbot, tmp_path):
    writer = gda.start_gda_writer(tmp_path / "scan.nxs", (2, 2), frame_shape=(4, 4), rate=100)
    writer.join(10)
    window = make_window(tmp_path / "scan.nxs")
    wait_terminal(qtbot, window)
    assert not window.scans_dock.isVisible()
