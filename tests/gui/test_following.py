"""The window following live scans from independent writers: status, map, exit codes."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.model.status import FINISHED, LIVE, STALLED, TIMED_OUT, WAITING
from swmrview.tools.simulate import SimConfig
from tests.writers import gda_writer as gda

from .conftest import file_reductions, wait_terminal
from .files import kinds

pytestmark = pytest.mark.slow   # every test here starts a process

SMALL = dict(frame=(16, 16), rate=150.0)


def test_live_simulator_scan_started_before_file_exists(sim_writer, make_window, qtbot, tmp_path):
    """Waiting -> live -> finished, and every map reduction equals the file's frames."""
    cfg = SimConfig(shape=(6, 9), start_delay=0.8, frame=(16, 16), rate=30.0)  # ~2 s live
    path, proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    seen = kinds(window)
    assert seen[0] == WAITING and LIVE in seen
    assert seen[-1] == FINISHED and window.exit_code == 0
    assert window.status.message == "Finished: 54/54 points"
    proc.join(10)
    expected = file_reductions(path)
    for name in ("sum", "mean"):
        np.testing.assert_array_equal(window.state.map.plane(name), expected[name])
    # max is computed only once the map combo shows it, then over every point read
    assert np.isnan(window.state.map.plane("max")).all()
    window.toolbar.reduction_combo.setCurrentText("max")
    qtbot.waitUntil(lambda: np.isfinite(window.state.map.plane("max")).all(), timeout=10000)
    np.testing.assert_array_equal(window.state.map.plane("max"), expected["max"])
    assert window.toolbar.slider.maximum() == 53
    assert window.status_bar.progress.value() == 54


def test_gda_writer_grows_from_one_by_one_and_the_map_follows(make_window, qtbot, tmp_path):
    """The real GDA behaviour (not the simulator): a 5x5 snake is a 5x5 map, not 25x1."""
    path = tmp_path / "gda.nxs"
    writer = gda.start_gda_writer(path, (5, 5), frame_shape=(4, 4), snake=True, rate=60)
    window = make_window(path)
    qtbot.waitUntil(lambda: window.state is not None and window.state.n_acquired > 2,
                    timeout=15000)
    assert window.state.shape == (5, 5)
    wait_terminal(qtbot, window)
    writer.join(10)
    expected = np.array([gda.expected_sum(i, (4, 4)) for i in range(25)]).reshape(5, 5)
    np.testing.assert_array_equal(window.state.plane(), expected)
    qtbot.waitUntil(lambda: np.array_equal(window.map_view.image.image,   # what is drawn
                                           expected.astype(np.float32)), timeout=2000)


def test_crashed_writer_times_out_keeps_map_and_exits_3(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(5, 8), crash_at=23, **SMALL)
    path, proc = sim_writer(cfg)
    window = make_window(path, timeout=1.5)
    wait_terminal(qtbot, window)
    assert window.status.kind == TIMED_OUT and window.exit_code == 3
    assert window.status.message.startswith("Timed out")
    assert STALLED in kinds(window)
    plane = window.state.plane()
    assert np.isfinite(plane).sum() == 23
    np.testing.assert_array_equal(plane, file_reductions(path)["sum"])


def test_after_a_timeout_the_window_keeps_watching_and_resumes(make_window, qtbot, tmp_path):
    path = tmp_path / "pause.nxs"
    writer = gda.start_gda_writer(path, (4, 5), rate=80, pause_at=6, pause_s=3.0)
    window = make_window(path, timeout=1.0)
    qtbot.waitUntil(lambda: window.status.kind == TIMED_OUT, timeout=20000)
    assert window.state.n_acquired == 6
    qtbot.waitUntil(lambda: window.status.kind == FINISHED, timeout=20000)
    writer.join(10)
    assert window.state.n_acquired == 20 and window.exit_code == 0
    assert "Timed out" not in window.status.message


def test_writer_holding_file_without_swmr_is_retried(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 4), swmr_delay=1.5, **SMALL)
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    assert window.status.kind == FINISHED
    assert any("locked" in s.message for s in window.statuses), [s.message for s in window.statuses]
    np.testing.assert_array_equal(window.state.plane(), file_reductions(path)["sum"])


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


def test_status_text_follows_the_redraw_rate(sim_writer, make_window, qtbot):
    """Live status changes every poll; the label is repainted at most at the redraw rate."""
    cfg = SimConfig(shape=(8, 10), rate=100.0, frame=(8, 8))
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    live = [s for s in window.statuses if s.kind == LIVE]
    assert 0 < len(live) < 80 * 33 / 20   # fewer texts than polls
