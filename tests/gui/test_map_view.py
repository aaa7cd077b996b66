"""The map view draws the view state: 1-D plots in range, uneven motors, slower axes, growth."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.simulate import SimConfig
from tests.writers import gda_writer as gda

from .conftest import file_reductions, wait_terminal


def test_1d_scan_curve_lies_inside_the_view_range(sim_writer, make_window, qtbot):
    """The old map auto-ranged while empty and stayed at about +-0.5: a blank plot."""
    cfg = SimConfig(shape=(12,), frame=(40,), rate=120.0)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    qtbot.wait(200)
    x, y = window.map_view.curve.getData()
    np.testing.assert_allclose(y, file_reductions(path, scan_rank=1)["sum"])
    (x0, x1), (y0, y1) = window.map_view.plot.vb.viewRange()
    assert x0 <= np.nanmin(x) and np.nanmax(x) <= x1
    assert y0 <= np.nanmin(y) and np.nanmax(y) <= y1
    assert window.map_view.plot.getAxis("bottom").labelText.startswith("stage_x")


def test_uneven_motor_steps_are_drawn_at_their_positions(make_window, qtbot, tmp_path):
    path = tmp_path / "uneven.nxs"
    writer = gda.start_gda_writer(path, (3, 6), rate=200, uneven=True)
    window = make_window(path)
    wait_terminal(qtbot, window)
    writer.join(10)
    view = window.map_view
    assert view.mesh.isVisible() and not view.image.isVisible()
    assert window.state.point_xy((1, 2)) == (2.0, 1.0)        # x = 2, not 6.4
    scene = view.scene_position((2, 4))
    assert view.position_at_scene(scene) == (2, 4)


def test_3d_scan_slow_axis_control(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(2, 3, 4), frame=(), rate=300.0)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    view = window.map_view
    assert len(view.slow_axes.boxes) == 1
    expected = file_reductions(path, scan_rank=3)["sum"]
    view.slow_axes.boxes[0].setValue(0)
    np.testing.assert_array_equal(window.state.plane(), expected[0])
    assert not window.state.follow_slow
    view.slow_axes.boxes[0].setValue(1)
    np.testing.assert_array_equal(window.state.plane(), expected[1])
    assert view.position_at_scene(view.scene_position((1, 1, 3))) == (1, 1, 3)


def test_3d_scan_shows_each_new_slice_with_its_frame(sim_writer, make_window, qtbot):
    """The slice control used to follow new slices one redraw late."""
    cfg = SimConfig(shape=(3, 2, 3), frame=(), rate=40.0)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    seen = []
    window.frame_shown.connect(lambda p: seen.append((p[0], window.map_view.slow_axes.boxes[0].value())))
    wait_terminal(qtbot, window)
    assert seen and all(slow == box for slow, box in seen)


def test_scalar_scan_gives_the_map_the_room_and_shows_the_value(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(4, 5), frame=(), rate=200.0)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    qtbot.waitUntil(lambda: window.shown_position == (3, 4), timeout=5000)
    frame_width, map_width = window.splitter.sizes()
    assert map_width > 2 * frame_width
    expected = file_reductions(path)["sum"][3, 4]
    assert f"{expected:.6g}" in window.frame_view.scalar_label.text()


def _mapped_file(path, units=("mm", "mm")):
    import h5py

    values = np.arange(1.0, 13.0).reshape(3, 4)
    with h5py.File(path, "w") as h5:
        h5.attrs["default"] = "entry"
        entry = h5.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="map")
        plot = entry.create_group("map")
        plot.attrs.update(NX_class="NXdata", signal="counts", axes=["y", "x"])
        plot["counts"] = values
        plot["y"] = [0.0, 0.5, 1.0]
        plot["x"] = [10.0, 11.0, 12.0, 13.0]
        plot["y"].attrs["units"], plot["x"].attrs["units"] = units
    return values


def test_hover_readout_names_value_point_and_motors_with_units(make_window, qtbot, tmp_path):
    path = tmp_path / "map.nxs"
    values = _mapped_file(path)
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.wait(100)
    view = window.map_view
    view._mouse_moved(view.scene_position((1, 2)))          # what sigMouseMoved delivers
    text = view.readout.text()
    assert f"sum={values[1, 2]:.6g}" in text and "(1, 2)" in text
    assert "x=12 mm" in text and "y=0.5 mm" in text
    assert view.plot.vb.state["aspectLocked"]              # both axes in mm


def test_log_and_percentile_scales(make_window, qtbot, tmp_path):
    path = tmp_path / "map.nxs"
    values = _mapped_file(path, units=("deg", "mm"))
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=10000)
    view = window.map_view
    assert not view.plot.vb.state["aspectLocked"]          # different units: fill the pane
    view.scale_combo.setCurrentText("1-99 %")
    lo, hi = view.colorbar.levels()
    assert (lo, hi) == pytest.approx(tuple(np.percentile(values, [1, 99])))
    view.scale_combo.setCurrentText("log")
    np.testing.assert_allclose(view.image.image, np.log10(values).astype(np.float32))
    assert view.colorbar.axis.labelText.startswith("log10")


def test_1d_marker_sits_on_the_log_scaled_curve(sim_writer, make_window, qtbot):
    """In log scale the curve is drawn as log10 values: the marker must be too (not 1e8 up)."""
    cfg = SimConfig(shape=(8,), frame=(40,), rate=200.0)
    path, _proc = sim_writer(cfg)
    window = make_window(path)
    wait_terminal(qtbot, window)
    window.map_view.scale_combo.setCurrentText("log")
    qtbot.wait(150)
    x, y = window.map_view.curve.getData()
    (mx,), (my,) = window.map_view.marker.getData()
    assert mx == x[-1]
    assert my == pytest.approx(y[-1])
    _x_range, (_y0, y1) = window.map_view.plot.vb.viewRange()
    assert y1 < 2 * np.nanmax(y)  # the view holds the curve, not a marker far above it
