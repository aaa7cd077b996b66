"""The map view draws the view state: 1-D plots in range, uneven motors, slower axes, growth;
and a MapView alone (no window, no writer) drawing view states filled by hand."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.tools.simulate import SimConfig
from tests.writers import gda_writer as gda

from .conftest import file_reductions, wait_terminal


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_3d_scan_shows_each_new_slice_with_its_frame(sim_writer, make_window, qtbot):
    """The slice control used to follow new slices one redraw late."""
    cfg = SimConfig(shape=(3, 2, 3), frame=(), rate=40.0)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    seen = []
    window.frame_shown.connect(lambda p: seen.append((p[0], window.map_view.slow_axes.boxes[0].value())))
    wait_terminal(qtbot, window)
    assert seen and all(slow == box for slow, box in seen)


@pytest.mark.slow
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


@pytest.mark.slow
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


# ----------------------------------------------------------------------------- MapView alone
# A MapView drawing a ViewState filled by hand: no window, no follower thread, no writer.

def _hand_made_state(shape, axes, positions, values, scatter=None, channels=()):
    """A ViewState of a scan of ``shape`` with ``values`` (name -> one value per point) placed
    at ``positions``, in that arrival order, as one update from the session would place them."""
    from swmrview.model.messages import ScanInfo, Update
    from swmrview.model.status import FINISHED, Status
    from swmrview.model.view_state import ViewState

    info = ScanInfo(generation=1, path="hand-made.h5", mode="complete", scan_shape=shape,
                    axes=axes, data_path="/entry/data/data", data_paths=("/entry/data/data",),
                    frame_shape=(8, 8), dtype="float32", tree={}, scatter=scatter)
    state = ViewState(info)
    state.set_channels(channels)
    positions = np.asarray(positions, np.int64)
    state.apply(Update(generation=1, status=Status(FINISHED, "finished"), positions=positions,
                       values={k: np.asarray(v, np.float64) for k, v in values.items()},
                       new_points=len(positions), channels={c.name: c for c in channels},
                       frame_position=tuple(int(p) for p in positions[-1])))
    return state


@pytest.fixture
def map_view(qtbot):
    from swmrview.gui.map_view import MapView

    view = MapView()
    qtbot.addWidget(view)
    view.resize(600, 450)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_map_view_alone_draws_a_hand_made_2d_state(map_view):
    from swmrview.model.messages import Axis

    axes = (Axis("stage_y", "mm", np.array([0.0, 0.5, 1.0])),
            Axis("stage_x", "mm", np.array([10.0, 11.0, 12.0, 13.0])))
    positions = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    sums = [5.0, 1.0, 3.0, 9.0, 4.0]
    state = _hand_made_state((3, 4), axes, positions, {"sum": sums})
    map_view.set_state(state, "hand-made")
    want = np.full((3, 4), np.nan)
    want[tuple(np.array(positions).T)] = sums
    np.testing.assert_array_equal(map_view.image.image, want.astype(np.float32))
    assert map_view.image.isVisible() and not map_view.mesh.isVisible()
    assert map_view.colorbar.levels() == (1.0, 9.0)
    rect = map_view.image.mapRectToParent(map_view.image.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == \
        pytest.approx((9.5, -0.25, 4.0, 1.5))                # cells centred on the motors
    assert map_view.plot.getAxis("bottom").labelText == "stage_x (mm)"
    assert map_view.plot.getAxis("left").labelText == "stage_y (mm)"
    assert map_view.plot.vb.state["aspectLocked"]
    map_view.mark((0, 3))
    assert [list(v) for v in map_view.marker.getData()] == [[13.0], [0.0]]
    map_view._mouse_moved(map_view.scene_position((0, 3)))
    assert "sum=9" in map_view.readout.text() and "stage_x=13 mm" in map_view.readout.text()
    assert map_view.position_at_scene(map_view.scene_position((1, 0))) == (1, 0)
    map_view.scale_combo.setCurrentText("log")
    np.testing.assert_allclose(map_view.image.image, np.log10(want).astype(np.float32))
    assert map_view.colorbar.levels() == pytest.approx((0.0, np.log10(9.0)))


def test_map_view_alone_draws_a_hand_made_1d_state_with_an_overlay(map_view):
    from swmrview.core.compute.channels import Channel
    from swmrview.model.messages import Axis

    energy = np.array([7100.0, 7101.0, 7102.0, 7104.0, 7108.0])
    i0 = Channel("I0", dataset="/entry/i0")
    state = _hand_made_state((5,), (Axis("energy", "eV", energy),), [(0,), (1,), (2,)],
                             {"sum": [2.0, 6.0, 4.0], "I0": [100.0, 99.0, 98.0]},
                             channels=(i0,))
    state.set_overlay(("I0",))
    map_view.set_state(state)
    x, y = map_view.curve.getData()
    np.testing.assert_array_equal(x, energy)
    np.testing.assert_array_equal(y, [2.0, 6.0, 4.0, np.nan, np.nan])
    ox, oy = map_view.curves.overlays[0].getData()
    np.testing.assert_array_equal(ox, energy)
    np.testing.assert_array_equal(oy, [100.0, 99.0, 98.0, np.nan, np.nan])
    assert map_view.plot.getAxis("bottom").labelText == "energy (eV)"
    assert map_view.plot.getAxis("right").isVisible()
    assert map_view.plot.getAxis("right").labelText == "I0"
    assert not map_view.image.isVisible() and map_view.curve.isVisible()
    assert map_view.position_at_scene(map_view.scene_position((1,))) == (1,)


def test_map_view_alone_draws_a_hand_made_scatter_state(map_view):
    from swmrview.gui.map_drawing import colormap
    from swmrview.model.messages import Axis, Scatter

    x = np.array([0.0, 1.0, -1.0, 0.5, -0.5])
    y = np.array([0.0, 0.5, 1.0, -1.0, -0.5])
    scatter = Scatter("sample_x", "sample_y", "mm", "mm", x, y, planned_x=x, planned_y=y,
                      n_points=5)
    order = [2, 0, 4, 1]                                  # arrival order; point 3 to come
    sums = [7.0, 3.0, 5.0, 11.0]
    state = _hand_made_state((5,), (Axis("sample_x", "mm"),), [(k,) for k in order],
                             {"sum": sums}, scatter=scatter)
    map_view.set_state(state)
    scatter_view = map_view.scatter_view
    assert scatter_view.active() and scatter_view.points.isVisible()
    assert not map_view.curve.isVisible()
    px, py = scatter_view.points.getData()
    np.testing.assert_array_equal(px, x[order])
    np.testing.assert_array_equal(py, y[order])
    lut = colormap("viridis").getLookupTable(nPts=256, alpha=False)
    brushes = scatter_view.points.data["brush"]
    assert brushes[1].color().getRgb()[:3] == tuple(int(c) for c in lut[0])      # 3.0
    assert brushes[3].color().getRgb()[:3] == tuple(int(c) for c in lut[255])    # 11.0
    assert map_view.colorbar.levels() == (3.0, 11.0)
    dots = scatter_view.pending_dots.getData()
    assert [list(v) for v in dots] == [[x[3]], [y[3]]]
    assert map_view.plot.getAxis("bottom").labelText == "sample_x (mm)"
    assert map_view.position_at_scene(map_view.scene_position((4,))) == (4,)


def test_map_view_alone_draws_many_scatter_points_binned_and_keeps_up_with_new_ones(map_view):
    """Beyond MAX_SYMBOLS points: an RGBA image of the binned points (the geometry's cells,
    updated with new points), and the many planned points to come as a few thousand dots."""
    from swmrview.gui.scatter_view import MAX_PENDING, MAX_SYMBOLS
    from swmrview.model.messages import Axis, Scatter, Update
    from swmrview.model.status import LIVE, Status

    n = 3 * MAX_SYMBOLS
    k = np.arange(n)
    x, y = np.sqrt(k) * np.cos(k * 2.4), np.sqrt(k) * np.sin(k * 2.4)
    values = 1.0 + (k % 17)
    scatter = Scatter("sample_x", "sample_y", "mm", "mm", x, y, planned_x=x, planned_y=y,
                      n_points=n)
    first = n // 2
    state = _hand_made_state((n,), (Axis("sample_x", "mm"),), k[:first, None],
                             {"sum": values[:first]}, scatter=scatter)
    map_view.set_state(state)
    view = map_view.scatter_view
    assert view.active() and view.image.isVisible() and not len(view.points.getData()[0])
    px, _py = view.pending_dots.getData()
    assert 0 < len(px) <= MAX_PENDING < n - first
    for stop in (first + 500, first + 1500):
        start = state.n_acquired
        state.apply(Update(1, Status(LIVE, "live"), positions=k[start:stop, None],
                           values={"sum": values[start:stop]}, new_points=stop - start))
        map_view.refresh()
        result = view.items.result
        size = result.image.shape[0]
        x0, y0, w, h = result.rect
        col = np.clip(((x[:stop] - x0) / (w / size)).astype(int), 0, size - 1)
        row = np.clip(((y[:stop] - y0) / (h / size)).astype(int), 0, size - 1)
        count = np.bincount(row * size + col, minlength=size * size)
        total = np.bincount(row * size + col, weights=values[:stop], minlength=size * size)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = (total / count).reshape(size, size)
        np.testing.assert_allclose(result.image, want, rtol=1e-12)
        drawn = view.image.image
        assert drawn.dtype == np.uint8 and drawn.shape == (size, size, 4)
        np.testing.assert_array_equal(drawn[..., 3] == 0, np.isnan(want))
    assert len(view.pending_dots.getData()[0]) <= MAX_PENDING
    assert map_view.position_at_scene(map_view.scene_position((first + 10,))) == (first + 10,)
