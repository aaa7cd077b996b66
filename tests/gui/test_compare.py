"""Hold and compare in the real window: held points, a region's frame, a line profile."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from swmrview.model.status import FINISHED
from swmrview.tools import simulate
from swmrview.tools.simulate import SimConfig, expected_frame

from .conftest import wait_terminal
from .files import static_file


def _finished_window(sim_writer, make_window, qtbot, cfg):
    path, proc = sim_writer(cfg)
    proc.join(20)
    window = make_window(path)
    wait_terminal(qtbot, window)
    assert window.status.kind == FINISHED
    return window


def _index(position, cfg):
    return int(np.ravel_multi_index(tuple(position), cfg.shape))


def _around(state, dim, first, last):
    """An interval of motor positions holding the cells first ... last along ``dim``."""
    centres = state.coordinates(dim)
    quarter = abs(centres[1] - centres[0]) / 4
    lo, hi = sorted((centres[first], centres[last]))
    return lo - quarter, hi + quarter


def _ctrl_click(qtbot, view, position):
    point = view.plot_widget.mapFromScene(view.scene_position(position))
    qtbot.mouseClick(view.plot_widget.viewport(), Qt.LeftButton, Qt.ControlModifier,
                     QPoint(point.x(), point.y()))


@pytest.mark.slow
def test_ctrl_click_and_h_hold_two_spectra_overlaid_in_the_dock(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(4, 6), frame=(50,), rate=300.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    compare = window.compare
    _ctrl_click(qtbot, window.map_view, (1, 2))
    assert window.state.held.positions == [(1, 2)]
    assert window.state.pinned is None           # holding is not pinning
    window.pin_point((3, 4))
    qtbot.waitUntil(lambda: window.shown_position == (3, 4), timeout=5000)
    qtbot.keyClick(window, Qt.Key_H)             # hold the point shown
    assert window.state.held.positions == [(1, 2), (3, 4)]
    qtbot.waitUntil(lambda: len(compare.dock.curves) == 2, timeout=5000)
    assert compare.dock.isVisible()
    for number, position in ((1, (1, 2)), (2, (3, 4))):
        _x, y = compare.dock.curves[number].getData()
        np.testing.assert_array_equal(y, expected_frame(_index(position, cfg), cfg))
    assert compare.dock.list.count() == 2 and "(3, 4)" in compare.dock.list.item(1).text()
    x, _y = compare.markers.scatter.getData()
    assert len(x) == 2 and [label.toPlainText() for label in compare.markers.labels] == ["1", "2"]
    _ctrl_click(qtbot, window.map_view, (1, 2))  # a second Ctrl+click lets it go
    assert window.state.held.positions == [(3, 4)]
    assert list(compare.dock.curves) == [2]
    compare.dock.clear_button.click()
    assert len(window.state.held) == 0 and not compare.dock.curves
    assert len(compare.markers.scatter.getData()[0]) == 0


@pytest.mark.slow
def test_held_images_side_by_side_share_levels(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 4), frame=(10, 12), rate=300.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    compare = window.compare
    assert compare.hold((0, 1)) and compare.hold((2, 3))
    assert not compare.hold((0, 1))              # held already
    qtbot.waitUntil(lambda: len(compare.dock.images) == 2, timeout=5000)
    frames = [expected_frame(_index(p, cfg), cfg) for p in ((0, 1), (2, 3))]
    for number, frame in zip((1, 2), frames):
        np.testing.assert_array_equal(compare.dock.images[number].image, frame)
    levels = [tuple(compare.dock.images[n].getLevels()) for n in (1, 2)]
    assert levels[0] == levels[1]
    lo, hi = levels[0]
    assert lo == min(f.min() for f in frames) and hi == max(f.max() for f in frames)


@pytest.mark.slow
def test_region_frame_is_numpys_sum_of_the_points_inside(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(5, 6), frame=(9, 11), rate=300.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    compare = window.compare
    compare.dock.region_box.setChecked(True)
    assert compare.selector.rect.isVisible()
    compare.selector.set_bounds(_around(window.state, 1, 1, 3), _around(window.state, 0, 1, 2))
    inside = [(r, c) for r in (1, 2) for c in (1, 2, 3)]
    qtbot.waitUntil(lambda: compare.region is not None
                    and compare.region.n_points == len(inside), timeout=5000)
    assert sorted(map(tuple, compare.region_positions())) == inside
    want = np.sum([expected_frame(_index(p, cfg), cfg) for p in inside], axis=0)
    np.testing.assert_array_equal(compare.region.frame, want)
    np.testing.assert_array_equal(compare.dock.images["region"].image, want.astype(np.float32))
    assert compare.dock.region_label.text() == "sum of 6 points"
    compare.dock.how_combo.setCurrentText("max")
    qtbot.waitUntil(lambda: compare.region.how == "max", timeout=5000)
    want = np.max([expected_frame(_index(p, cfg), cfg) for p in inside], axis=0)
    np.testing.assert_array_equal(compare.region.frame, want)
    compare.dock.region_box.setChecked(False)
    assert not compare.selector.rect.isVisible() and "region" not in compare.dock.images


@pytest.mark.slow
def test_region_of_a_1d_spectrum_scan_is_an_interval(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(12,), frame=(30,), rate=300.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    compare = window.compare
    compare.dock.region_box.setChecked(True)
    assert compare.selector.span.isVisible() and not compare.selector.rect.isVisible()
    compare.selector.set_bounds(_around(window.state, 0, 3, 6))
    qtbot.waitUntil(lambda: compare.region is not None and compare.region.n_points == 4,
                    timeout=5000)
    want = np.sum([expected_frame(i, cfg).astype(np.float64) for i in range(3, 7)], axis=0)
    np.testing.assert_allclose(compare.region.frame, want, rtol=1e-12)
    np.testing.assert_allclose(compare.dock.region_curve.getData()[1], want, rtol=1e-12)


@pytest.mark.slow
def test_line_profile_is_the_frames_row_and_follows_new_frames(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 4), frame=(16, 20), rate=300.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    profile = window.profile
    profile.show()
    qtbot.waitUntil(lambda: profile.values is not None, timeout=5000)
    assert profile.line.isVisible()
    profile.set_line((0.5, 7.5), (19.5, 7.5))    # through the centres of row 7
    shown = window.frame_view.current_frame()
    np.testing.assert_array_equal(profile.values, shown[7])
    assert not np.array_equal(shown[7], expected_frame(2, cfg)[7])    # the next frame differs
    window.pin_point((0, 2))
    qtbot.waitUntil(lambda: window.shown_position == (0, 2), timeout=5000)
    want = expected_frame(2, cfg)[7]
    qtbot.waitUntil(lambda: bool(np.array_equal(profile.values, want)), timeout=5000)
    profile.hide()
    assert not profile.line.isVisible()


@pytest.mark.slow
def test_region_on_a_live_scan_keeps_up_with_new_points(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(6, 8), frame=(12, 10), rate=20.0)
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    qtbot.waitUntil(lambda: window.state is not None and window.state.n_acquired >= 3,
                    timeout=10000)
    compare = window.compare
    compare.dock.region_box.setChecked(True)
    compare.selector.set_bounds((-100.0, 100.0), (-100.0, 100.0))   # the whole map
    qtbot.waitUntil(lambda: compare.region is not None, timeout=5000)
    first = compare.region.n_points
    assert 3 <= first < cfg.n_points                        # read while the scan goes on
    wait_terminal(qtbot, window)
    qtbot.waitUntil(lambda: compare.region.n_points == cfg.n_points, timeout=10000)
    want = np.sum([expected_frame(i, cfg).astype(np.float64) for i in range(cfg.n_points)],
                  axis=0)
    np.testing.assert_array_equal(compare.region.frame, want)


def test_dataset_switch_reads_the_held_frames_from_the_new_dataset(make_window, qtbot, tmp_path):
    path = tmp_path / "s.h5"
    data = static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    compare = window.compare
    assert compare.hold((0, 1)) and compare.hold((2, 3))
    qtbot.waitUntil(lambda: len(compare.dock.images) == 2, timeout=5000)
    np.testing.assert_array_equal(compare.dock.images[1].image, data["images"][0, 1])
    window.set_dataset("/data/spectra")
    qtbot.waitUntil(lambda: len(compare.dock.curves) == 2, timeout=5000)
    assert window.state.held.positions == [(0, 1), (2, 3)]
    for number, position in ((1, (0, 1)), (2, (2, 3))):
        np.testing.assert_array_equal(compare.dock.curves[number].getData()[1],
                                      data["spectra"][position])
    assert not window.compare.hold((5, 5))        # outside the scan: never acquired


@pytest.mark.slow
def test_region_of_a_3d_scan_follows_the_plane_shown(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(2, 3, 4), frame=(6, 5), rate=500.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    compare = window.compare
    window.map_view.slow_changed.emit((0,))
    compare.dock.region_box.setChecked(True)
    compare.selector.set_bounds((-100.0, 100.0), (-100.0, 100.0))
    qtbot.waitUntil(lambda: compare.region is not None and compare.region.n_points == 12,
                    timeout=5000)
    plane0 = np.sum([expected_frame(i, cfg).astype(np.float64) for i in range(12)], axis=0)
    np.testing.assert_array_equal(compare.region.frame, plane0)
    window.map_view.slow_changed.emit((1,))
    plane1 = np.sum([expected_frame(i, cfg).astype(np.float64) for i in range(12, 24)], axis=0)
    qtbot.waitUntil(lambda: bool(np.array_equal(compare.region.frame, plane1)), timeout=5000)


@pytest.mark.slow
def test_scalar_scan_compares_values(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(3, 4), frame=(), rate=500.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    compare = window.compare
    assert compare.hold((1, 1)) and compare.hold((2, 0))
    qtbot.waitUntil(lambda: not window.state.held.missing_frames(), timeout=5000)
    text = compare.dock.values.text()
    for position in ((1, 1), (2, 0)):
        assert f"{float(expected_frame(_index(position, cfg), cfg)):.6g}" in text
    compare.dock.region_box.setChecked(True)
    compare.selector.set_bounds((-100.0, 100.0), (-100.0, 100.0))
    qtbot.waitUntil(lambda: compare.region is not None and compare.region.n_points == 12,
                    timeout=5000)
    want = sum(float(expected_frame(i, cfg)) for i in range(12))
    assert float(compare.region.frame) == pytest.approx(want, rel=1e-12)
    assert f"sum of 12 points = {want:.6g}" in compare.dock.values.text()


def test_held_images_of_a_masked_detector_share_the_followers_levels(make_window, qtbot):
    """The Eiger 1 file's gap pixels (65535) are left out of the held images' scale, as of
    the frame view's: the follower's levels are kept with each held frame."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "eiger" / \
        "eiger1_testmode10_2datafiles_4images_lz4_data_000001.h5"
    window = make_window(path)
    wait_terminal(qtbot, window)
    compare = window.compare
    compare.hold((0,))
    compare.hold((1,))
    qtbot.waitUntil(lambda: len(compare.dock.images) == 2, timeout=10000)
    low, high = compare.dock.images[1].getLevels()
    assert high < 65535                                  # no gap pixel sets the scale
    given = [window.state.held.levels((i,)) for i in (0, 1)]   # the follower's, kept
    assert (low, high) == (min(g[0] for g in given), max(g[1] for g in given))


@pytest.mark.slow
def test_held_spectra_are_drawn_in_the_frame_views_calibration(sim_writer, make_window, qtbot):
    """Held spectra were drawn against channel numbers beside a main spectrum in keV: the
    compare dock draws them (and a region's) against the scan's energy axis, labelled so."""
    cfg = SimConfig(shape=(3, 4), detector="xrf", elements=2, channels=256, rate=300.0)
    window = _finished_window(sim_writer, make_window, qtbot, cfg)
    energy = simulate.energy_axis(cfg)
    compare = window.compare
    assert compare.hold((0, 1)) and compare.hold((2, 3))
    qtbot.waitUntil(lambda: len(compare.dock.curves) == 2, timeout=5000)
    for number, position in ((1, (0, 1)), (2, (2, 3))):
        x, y = compare.dock.curves[number].getData()
        np.testing.assert_array_equal(x, energy)
        np.testing.assert_array_equal(y, expected_frame(_index(position, cfg), cfg).sum(axis=0))
    frame_x, _y = window.frame_view.trace_panel.curve.getData()
    np.testing.assert_array_equal(frame_x, energy)          # the same x as the main spectrum
    label = compare.dock.spectra.getAxis("bottom").labelText
    assert "keV" in compare.dock.spectra.getAxis("bottom").labelString() and label \
        == window.frame_view.trace_panel.plot.getAxis("bottom").labelText
    compare.dock.region_box.setChecked(True)
    compare.selector.set_bounds(_around(window.state, 1, 0, 3), _around(window.state, 0, 0, 2))
    qtbot.waitUntil(lambda: compare.region is not None and compare.region.n_points == 12,
                    timeout=5000)
    np.testing.assert_array_equal(compare.dock.region_curve.getData()[0], energy)
