"""Showing a point's frame: map clicks, the slider, follow latest; the model decides, Qt draws."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QPoint, Qt
import pytest

from swmrview.model.status import FINISHED
from swmrview.tools.simulate import SimConfig, expected_frame

from .conftest import wait_terminal
from .files import static_file

SMALL = dict(frame=(16, 16), rate=200.0)


def _finished_window(sim_writer, make_window, qtbot, cfg):
    path, proc = sim_writer(cfg)
    proc.join(20)
    window = make_window(path)
    wait_terminal(qtbot, window)
    assert window.status.kind == FINISHED
    return path, window


@pytest.mark.slow
def test_click_map_point_pins_frame_and_follow_latest_unpins(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(4, 6), **SMALL)
    _path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    view = window.map_view
    qtbot.waitUntil(lambda: window.shown_position == (3, 5), timeout=5000)
    viewport = view.plot_widget.viewport()
    point = view.plot_widget.mapFromScene(view.scene_position((1, 2)))
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=QPoint(point.x(), point.y()))
    qtbot.waitUntil(lambda: window.shown_position == (1, 2), timeout=5000)
    assert window.state.pinned == (1, 2) and not window.toolbar.follow_action.isChecked()
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(8, cfg))
    x, y = view.marker.getData()
    assert (x[0], y[0]) == window.state.point_xy((1, 2))
    assert view.click_at_scene(view.scene_position((0, 3))) == (0, 3)
    qtbot.waitUntil(lambda: window.shown_position == (0, 3), timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(3, cfg))
    window.toolbar.follow_action.trigger()
    qtbot.waitUntil(lambda: window.shown_position == (3, 5), timeout=5000)
    assert window.state.pinned is None
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(23, cfg))


@pytest.mark.slow
def test_slider_pins_acquired_points_in_arrival_order(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 5), snake=True, **SMALL)
    _path, window = _finished_window(sim_writer, make_window, qtbot, cfg)
    window.toolbar.slider.setValue(7)
    position = window.state.order_position(7)
    qtbot.waitUntil(lambda: window.shown_position == position, timeout=5000)
    assert window.state.pinned == position
    index = int(np.ravel_multi_index(position, (3, 5)))
    np.testing.assert_array_equal(window.frame_view.current_frame(), expected_frame(index, cfg))


def test_clicking_a_point_not_acquired_keeps_following(make_window, qtbot, tmp_path):
    path = tmp_path / "s.h5"
    static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    window.state.map.grow_to((4, 4))    # a point outside what was acquired
    window.pin_point((3, 3))
    assert window.state.pinned is None and window.toolbar.follow_action.isChecked()


def test_slider_drag_reads_only_the_newest_point(make_window, qtbot, tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    session = window.follow.worker.session
    reads, busy = [], threading.Event()
    original = session.point

    def point(position):
        reads.append(position)
        if len(reads) == 1:      # the worker is busy reading while the drag goes on
            busy.wait(5)
        return original(position)

    monkeypatch.setattr(session, "point", point)
    for k in range(11):                      # a fast drag queues one request per value
        window.toolbar.slider.setValue(k)
    busy.set()
    qtbot.waitUntil(lambda: window.shown_position == window.state.order_position(10),
                    timeout=5000)
    # at most the first read, then only the newest of those that queued meanwhile
    assert reads[-1] == window.state.order_position(10) and len(reads) <= 2


@pytest.mark.slow
def test_paused_marker_stays_on_the_frame_shown(sim_writer, make_window, qtbot):
    """Unchecking "Follow latest" freezes the frame; the map marker kept moving with the scan."""
    cfg = SimConfig(shape=(6, 8), frame=(16, 16), rate=30.0)
    path, _proc = sim_writer(cfg)
    window = make_window(path, timeout=10)
    qtbot.waitUntil(lambda: window.shown_position is not None
                    and window.state.n_acquired > 3, timeout=10_000)
    window.toolbar.follow_action.trigger()          # pause
    assert not window.toolbar.follow_action.isChecked()
    shown = window.shown_position
    qtbot.waitUntil(lambda: window.state.n_acquired > 12, timeout=10_000)
    qtbot.wait(100)
    assert window.shown_position == shown
    x, y = window.map_view.marker.getData()
    assert (x[0], y[0]) == window.state.point_xy(shown)
    window.toolbar.follow_action.trigger()          # follow again: marker on the newest
    qtbot.waitUntil(lambda: window.shown_position == window.state.latest, timeout=5000)
    wait_terminal(qtbot, window)
    qtbot.wait(100)
    x, y = window.map_view.marker.getData()
    assert (x[0], y[0]) == window.state.point_xy(window.state.latest)
