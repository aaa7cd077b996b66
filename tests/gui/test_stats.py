"""``--stats``: the window records why it lags and writes every number at exit."""

from __future__ import annotations

import json
import time

import pytest

from swmrview.model.stats import FIELDS
from swmrview.model.status import ERROR, FINISHED
from swmrview.tools.simulate import SimConfig

from .conftest import wait_terminal
from .files import static_file

KEY_TO_SCREEN_BOUND_MS = 5000.0   # generous: two shared cores, other test suites running


def close_and_read(window, qtbot, path) -> dict:
    qtbot.wait(200)   # some event-loop ticks after the end
    window.close()
    return json.loads(path.read_text())


def assert_numbers(stats: dict) -> None:
    assert tuple(stats) == FIELDS
    assert stats["event_loop_ticks"] > 0
    for name in ("event_loop_late_ms_p50", "event_loop_late_ms_p99", "event_loop_late_ms_max"):
        assert isinstance(stats[name], float) and stats[name] >= 0.0, name
    assert stats["event_loop_late_ms_p50"] <= stats["event_loop_late_ms_p99"] \
        <= stats["event_loop_late_ms_max"]
    assert isinstance(stats["event_loop_stalls_over_50ms"], int)
    assert stats["frames_drawn"] > 0 and stats["key_to_screen_frames"] > 0
    assert 0.0 < stats["key_to_screen_ms_median"] <= stats["key_to_screen_ms_p90"] \
        < KEY_TO_SCREEN_BOUND_MS
    for name in ("frames_per_s", "points_per_s", "read_mb_per_s", "mb_read"):
        assert stats[name] > 0, name


@pytest.mark.slow
def test_stats_of_a_live_simulated_scan(sim_writer, make_window, qtbot, tmp_path):
    cfg = SimConfig(shape=(5, 8), frame=(32, 32), rate=40.0)   # 40 points in ~1 s
    path, proc = sim_writer(cfg)
    out = tmp_path / "lag.json"
    window = make_window(path, stats=str(out))
    wait_terminal(qtbot, window)
    proc.join(10)
    assert window.status.kind == FINISHED
    stats = close_and_read(window, qtbot, out)
    assert_numbers(stats)
    assert stats["file"] == str(path) and stats["status"] == FINISHED
    assert stats["exit_code"] == 0
    assert stats["points_read"] == 40
    assert stats["mb_read"] == pytest.approx(40 * 32 * 32 * 2 / 1e6, abs=1e-3)   # uint16
    assert stats["frames_drawn"] <= 40    # at most one per point, fewer when coalesced
    assert 0.0 < stats["following_s"] < stats["run_s"]   # the window may open late on busy cores


def test_stats_of_a_complete_file(make_window, qtbot, tmp_path):
    path, out = tmp_path / "done.h5", tmp_path / "lag.json"
    static_file(path, spectra=False)          # 3 x 4 points of 6 x 7 uint16 images
    window = make_window(path, stats=str(out))
    wait_terminal(qtbot, window, timeout=10000)
    stats = close_and_read(window, qtbot, out)
    assert_numbers(stats)
    assert stats["points_read"] == 12 and stats["status"] == FINISHED


def test_stats_are_written_when_the_scan_fails(make_window, qtbot, tmp_path):
    path, out = tmp_path / "not_hdf5.h5", tmp_path / "lag.json"
    path.write_bytes(b"not an HDF5 file" * 100)
    window = make_window(path, stats=str(out), timeout=0.5)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == ERROR
    stats = close_and_read(window, qtbot, out)
    assert tuple(stats) == FIELDS
    assert stats["status"] == ERROR and stats["exit_code"] == window.exit_code == 2
    assert stats["points_read"] == 0 and stats["frames_drawn"] == 0
    assert stats["key_to_screen_ms_median"] is None and stats["points_per_s"] is None
    assert stats["event_loop_ticks"] > 0


def test_stats_that_cannot_be_written_make_the_exit_code_non_zero(make_window, qtbot,
                                                                   tmp_path):
    path = tmp_path / "done.h5"
    static_file(path, spectra=False)
    window = make_window(path, stats=str(tmp_path / "gone" / "lag.json"))
    wait_terminal(qtbot, window, timeout=10000)
    window.close()
    assert window.exit_code == 1


def test_clicks_on_the_map_are_timed_to_their_frames(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QPoint, Qt

    path, out = tmp_path / "done.h5", tmp_path / "lag.json"
    static_file(path, spectra=False)          # 3 x 4 points of 6 x 7 uint16 images
    window = make_window(path, stats=str(out))
    wait_terminal(qtbot, window, timeout=10000)
    view = window.map_view
    for position in ((1, 2), (0, 3)):
        qtbot.waitUntil(lambda: view.scene_position(position) is not None, timeout=5000)
        point = view.plot_widget.mapFromScene(view.scene_position(position))
        qtbot.mouseClick(view.plot_widget.viewport(), Qt.LeftButton,
                         pos=QPoint(point.x(), point.y()))
        qtbot.waitUntil(lambda: window.shown_position == position, timeout=5000)
    stats = close_and_read(window, qtbot, out)
    assert stats["click_to_frame_count"] == 2
    assert 0.0 < stats["click_to_frame_ms_median"] <= stats["click_to_frame_ms_max"] \
        < KEY_TO_SCREEN_BOUND_MS
