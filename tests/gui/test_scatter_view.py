"""Non-grid scans in the window: points at real positions, pending plan, click, interpolation."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QLabel

from swmrview.gui.map_drawing import colormap
from swmrview.gui.scatter_view import GRID, INTERPOLATED, POINTS
from swmrview.model.status import FINISHED
from tests.writers import scatter_writer as sw

from .conftest import wait_terminal

N = 240


@pytest.mark.slow
def test_live_spiral_fills_the_scatter_map_and_a_click_shows_a_frame(make_window, qtbot,
                                                                       tmp_path):
    path = tmp_path / "spiral.nxs"
    writer = sw.start_scatter_writer(path, (N,), rate=80)
    window = make_window(path)
    view = window.map_view
    scatter = view.scatter_view
    seen_pending, seen_points = [], []

    def ended() -> bool:
        if scatter.active():
            seen_pending.append(len(scatter.pending_dots.getData()[0]))
            seen_points.append(len(scatter.points.getData()[0]))
        return window.status.terminal

    qtbot.waitUntil(ended, timeout=30_000)
    wait_terminal(qtbot, window)
    writer.join(10)
    assert window.status.kind == FINISHED
    # a 1-D spiral is a scatter map, not a curve against one motor
    assert scatter.mode == POINTS and scatter.points.isVisible()
    assert not view.curve.isVisible()
    assert view.plot.getAxis("bottom").labelText == "sample_x (mm)"
    assert view.plot.getAxis("left").labelText == "sample_y (mm)"
    assert view.plot.getViewBox().state["aspectLocked"]       # both in mm: true shape
    # filled in as points arrived; the pending trajectory shrank to nothing
    assert len(set(seen_points)) > 2 and seen_points == sorted(seen_points)
    assert seen_pending[0] > 0 and seen_pending == sorted(seen_pending, reverse=True)
    qtbot.waitUntil(lambda: len(scatter.pending_dots.getData()[0]) == 0, timeout=5000)
    # every point at its written position, coloured by its value with the map's colormap
    x, y = scatter.points.getData()
    assert len(x) == N
    rx, ry = sw.real_positions(writer.scan)
    order = [window.state.order_position(k)[0] for k in range(N)]
    np.testing.assert_allclose(x, rx[order])
    np.testing.assert_allclose(y, ry[order])
    values = window.state.map.values["sum"][order]
    np.testing.assert_allclose(values, 20 * sw.expected_value(x, y))
    lut = colormap("viridis").getLookupTable(nPts=256, alpha=False)
    brushes = scatter.points.data["brush"]
    lowest, highest = int(np.argmin(values)), int(np.argmax(values))
    assert brushes[lowest].color().getRgb()[:3] == tuple(int(c) for c in lut[0])
    assert brushes[highest].color().getRgb()[:3] == tuple(int(c) for c in lut[255])
    assert view.colorbar.levels() == (values.min(), values.max())

    # a click on a point shows its frame, as on the grid map
    k = order[N // 3]
    viewport = view.plot_widget.viewport()
    point = view.plot_widget.mapFromScene(view.scene_position((k,)))
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=QPoint(point.x(), point.y()))
    qtbot.waitUntil(lambda: window.shown_position == (k,), timeout=5000)
    assert window.state.pinned == (k,)
    np.testing.assert_allclose(window.frame_view.current_frame(),
                               np.full(sw.FRAME, sw.expected_value(rx[k], ry[k])))
    mx, my = view.marker.getData()
    assert (mx[0], my[0]) == (rx[k], ry[k])
    view._mouse_moved(view.scene_position((k,)))          # hovering reads out that point
    assert view.readout.text().startswith(f"point {k} ({k},)")
    assert f"at sample_x={rx[k]:.6g} mm  sample_y={ry[k]:.6g} mm" in view.readout.text()

    # interpolated: an image over the points' extent; "Line": the 1-D curve again
    scatter.set_mode(INTERPOLATED)
    assert scatter.image.isVisible() and not scatter.points.isVisible()
    image = scatter.image.image
    assert image.shape[0] >= 8 and np.isfinite(image[image.shape[0] // 2,
                                                      image.shape[1] // 2])
    assert np.isnan(image[0, 0])                       # a corner, outside the spiral
    scatter.set_mode(GRID)
    assert view.curve.isVisible() and not scatter.image.isVisible()
    assert len(view.curve.getData()[0]) == N


@pytest.mark.slow
def test_fly_scan_defaults_to_points_and_a_grid_scan_keeps_its_grid(make_window, qtbot,
                                                                     tmp_path):
    """A jittered 2-D fly scan shows its points; the same scan on the grid (no jitter) keeps
    the grid map, with the points one choice away."""
    fly = tmp_path / "fly.nxs"
    step = tmp_path / "step.nxs"
    for path, jitter in ((fly, 0.3), (step, 0.0)):
        sw.start_scatter_writer(path, (6, 9), rate=400, jitter=jitter).join(20)
    window = make_window(fly)
    wait_terminal(qtbot, window)
    scatter = window.map_view.scatter_view
    qtbot.waitUntil(lambda: len(scatter.points.getData()[0]) == 54, timeout=5000)
    assert scatter.mode == POINTS and not window.map_view.image.isVisible()
    assert scatter.combo.isVisible()
    window.open_path(str(step))
    qtbot.waitUntil(lambda: window.info is not None and window.info.path == str(step),
                    timeout=10_000)
    wait_terminal(qtbot, window)
    assert scatter.mode == GRID and window.map_view.image.isVisible()
    scatter.set_mode(POINTS)
    assert len(scatter.points.getData()[0]) == 54


def test_many_points_are_drawn_binned_at_their_positions(make_window, qtbot, tmp_path):
    """Beyond MAX_SYMBOLS points the scatter is an image of the points (symbols redraw too
    slowly), still at the real positions; a click still picks a point."""
    from swmrview.gui.scatter_view import MAX_SYMBOLS

    n = MAX_SYMBOLS + 2000
    x, y = sw.planned_positions((n,))
    path = tmp_path / "big.nxs"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="data")
        data = entry.create_group("data")
        data.attrs.update(NX_class="NXdata", signal="counts", axes=["sample_x"],
                          sample_x_indices=0, sample_y_indices=0)
        data["counts"] = sw.expected_value(x, y)
        data["sample_x"], data["sample_y"] = x, y
    window = make_window(path)
    wait_terminal(qtbot, window)
    scatter = window.map_view.scatter_view
    qtbot.waitUntil(lambda: scatter.image.isVisible(), timeout=5000)
    assert scatter.mode == POINTS and len(scatter.points.getData()[0]) == 0
    rect = scatter.image.mapRectToParent(scatter.image.boundingRect())
    assert (rect.left(), rect.bottom()) == pytest.approx((x.min(), y.max()))
    image = scatter.items.result.image          # the binned means, NaN where no point fell
    assert np.nanmin(image) >= sw.expected_value(x, y).min() - 1e-9
    assert 0.3 < np.isfinite(image).mean() < 1.0
    drawn = scatter.image.image                 # coloured RGBA, empty cells transparent
    assert drawn.dtype == np.uint8 and drawn.shape == image.shape + (4,)
    np.testing.assert_array_equal(drawn[..., 3] == 0, np.isnan(image))
    lut = colormap("viridis").getLookupTable(nPts=256, alpha=True)
    lo, hi = window.map_view.color_scale.levels
    top = np.unravel_index(np.nanargmax(image), image.shape)
    want = lut[int(np.clip((image[top] - lo) / (hi - lo) * 255, 0, 255))]
    np.testing.assert_array_equal(drawn[top], want)
    k = n // 2
    assert window.map_view.click_at_scene(window.map_view.scene_position((k,))) == (k,)


@pytest.mark.slow
def test_a_new_colormap_recolours_the_scatter_points_of_a_finished_scan(make_window, qtbot,
                                                                          tmp_path):
    from swmrview.tools.simulate import SimConfig, start_writer

    path = tmp_path / "spiral.h5"
    writer = start_writer(path, SimConfig(shape=(40,), frame=(8, 8), rate=2000.0,
                                          positions="spiral"))
    writer.join(30)
    window = make_window(path)
    wait_terminal(qtbot, window)
    qtbot.waitUntil(lambda: window.map_view.scatter_view.active(), timeout=5000)
    qtbot.wait(200)
    points = window.map_view.scatter_view.points
    before = [b.color().getRgb() for b in points.data["brush"]]
    window.toolbar.colormap_combo.setCurrentText("gray")
    after = [b.color().getRgb() for b in points.data["brush"]]
    assert after != before and all(r == g == b for r, g, b, _a in after)


@pytest.mark.slow
def test_held_points_are_starred_where_the_motors_really_were(make_window, qtbot, tmp_path):
    from swmrview.tools.simulate import SimConfig, start_writer

    path = tmp_path / "spiral.h5"
    start_writer(path, SimConfig(shape=(50,), frame=(8, 8), rate=2000.0,
                                 positions="spiral")).join(30)
    window = make_window(path)
    wait_terminal(qtbot, window)
    qtbot.waitUntil(lambda: window.map_view.scatter_view.active(), timeout=5000)
    window.compare.hold((10,))
    window.mark_map_dirty()
    qtbot.wait(250)
    spots = window.compare.markers.scatter.data
    assert len(spots) == 1
    assert (spots["x"][0], spots["y"][0]) == pytest.approx(window.state.scatter.point_xy((10,)))
    assert window.map_view.scene_position((10,)) is not None


@pytest.mark.slow
def test_hovering_a_spiral_map_never_squeezes_the_frame_panel(make_window, qtbot, tmp_path):
    """The scatter readout (point, value, both motors with units) is long: an unelided label
    widened the map's minimum and the splitter squeezed the frame panel, for good."""
    from swmrview.tools.simulate import SimConfig, start_writer

    path = tmp_path / "spiral.h5"
    start_writer(path, SimConfig(shape=(60,), frame=(16, 16), rate=2000.0,
                                 positions="spiral")).join(30)
    window = make_window(path)
    wait_terminal(qtbot, window)
    view = window.map_view
    qtbot.waitUntil(lambda: view.scatter_view.active(), timeout=5000)
    qtbot.wait(100)
    frame_width = window.frame_view.width()
    assert frame_width > 300
    readout = view.readout
    for k in (7, 31, 59):
        point = view.plot_widget.mapFromScene(view.scene_position((k,)))
        qtbot.mouseMove(view.plot_widget.viewport(), QPoint(point.x(), point.y()))
        qtbot.waitUntil(lambda: f"({k},)" in readout.text(), timeout=2000)
        qtbot.wait(50)   # the layout settles after the text changed
        assert "stage_y=" in readout.text()
        assert window.frame_view.width() == frame_width
    shown = QLabel.text(readout)                 # what is drawn: cut to the map's width
    assert shown.endswith("\u2026") and len(shown) < len(readout.text())
    assert readout.toolTip() == readout.text()   # the whole text, however narrow the map


@pytest.mark.slow
def test_all_maps_of_a_spiral_are_scatter_maps_at_the_recorded_positions(make_window, qtbot,
                                                                         tmp_path):
    """View > All maps drew a spiral's values against x, joined in acquisition order: each
    tile must be the main map's scatter, its points where the motors were, coloured by its
    own map; a click on a tile picks the nearest point."""
    import pyqtgraph as pg

    from swmrview.core.compute.channels import Channel
    from swmrview.tools.simulate import SimConfig, recorded_positions, start_writer

    cfg = SimConfig(shape=(50,), frame=(8, 8), rate=2000.0, positions="spiral")
    path = tmp_path / "spiral.h5"
    start_writer(path, cfg).join(30)
    window = make_window(path)
    wait_terminal(qtbot, window)
    qtbot.waitUntil(lambda: window.map_view.scatter_view.active(), timeout=5000)
    window.channels.dock.set_channels((Channel("corner", "rect", bounds=(0, 3, 0, 3)),),
                                      emit=True)
    grid = window.channels.grid
    grid.show()
    qtbot.waitUntil(lambda: set(grid.tiles) == {"sum", "corner"}, timeout=5000)
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("corner")).all(), timeout=10000)
    window.mark_map_dirty()
    qtbot.wait(250)
    recorded = recorded_positions(cfg)
    order = [window.state.order_position(k)[0] for k in range(cfg.n_points)]
    lut = colormap("viridis").getLookupTable(nPts=256, alpha=False)
    for name, (plot, _item) in grid.tiles.items():
        drawn = [i for i in plot.items if isinstance(i, pg.ScatterPlotItem) and i.isVisible()]
        assert len(drawn) == 1, name
        assert not any(isinstance(i, pg.PlotDataItem) and i.isVisible() for i in plot.items)
        x, y = drawn[0].getData()
        np.testing.assert_allclose(x, recorded["stage_x"][order], err_msg=name)
        np.testing.assert_allclose(y, recorded["stage_y"][order], err_msg=name)
        values = window.state.values(name)[order]
        brushes = drawn[0].data["brush"]
        for k, end in ((int(np.argmin(values)), 0), (int(np.argmax(values)), 255)):
            assert brushes[k].color().getRgb()[:3] == tuple(int(c) for c in lut[end]), name
    plot, _item = grid.tiles["corner"]
    k = order[17]
    scene = plot.vb.mapViewToScene(QPointF(recorded["stage_x"][k], recorded["stage_y"][k]))
    shown = []
    grid.point_clicked.connect(shown.append)

    class Click:   # what pyqtgraph's scene hands to sigMouseClicked
        def button(self):
            return Qt.LeftButton

        def scenePos(self):
            return scene

        def accept(self):
            pass

    grid._clicked(Click())
    assert shown == [(k,)]
    window.map_view.scatter_view.set_mode(INTERPOLATED)    # the tiles follow the main map
    for name, (plot, item) in grid.tiles.items():
        assert item.image.isVisible() and not item.points.isVisible(), name
        assert np.isfinite(item.image.image).any()
    window.map_view.scatter_view.set_mode(GRID)            # "Line": each map against x
    for name, (plot, item) in grid.tiles.items():
        assert isinstance(item, pg.PlotDataItem) and len(item.getData()[0]) == cfg.n_points
