"""The Channels dock driven as a user would: typed bounds, "From ROI", settings files, 1-D
plots against another field; every map compared with numpy on the real files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt

from swmrview.core.compute.channels import Channel
from swmrview.model.status import FINISHED
from swmrview.model.view_settings import ViewSettings
from swmrview.tools.replay import start_replay

from .conftest import wait_terminal

DATA = Path(__file__).resolve().parents[1] / "data"
I18 = DATA / "i18_test_data.nxs"
MCAS = "/entry1/xspress3/MCAs"
I0 = "/entry1/raster_counterTimer01/I0"


def i18(path: str) -> np.ndarray:
    with h5py.File(I18, "r", locking=False) as f:
        return f[path][()]


def fill_form(dock, name, kind="sum", dataset=None, bounds="", elements="", monitor=None):
    dock.name_edit.setText(name)
    dock.kind_combo.setCurrentText(kind)
    if dataset:
        dock.dataset_combo.setCurrentText(dataset)
    dock.bounds_edit.setText(bounds)
    dock.elements_edit.setText(elements)
    if monitor:
        dock.monitor_combo.setCurrentText(monitor)


def test_a_typed_element_window_divided_by_i0_is_mapped(make_window, qtbot):
    window = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, window)
    dock = window.channels.dock
    assert I0 in [dock.monitor_combo.itemText(i) for i in range(dock.monitor_combo.count())]
    fill_form(dock, "Co/I0", "window", bounds="1200, 1400", elements="6, 8-9", monitor=I0)
    qtbot.mouseClick(dock.apply_button, Qt.LeftButton)
    assert dock.message.text() == ""
    assert window.toolbar.reduction_combo.currentText() == "Co/I0"   # shown at once
    want = i18(MCAS)[:, :, [6, 8, 9], 1200:1401].sum(axis=(-1, -2)) / i18(I0)
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("Co/I0")).all(), timeout=10000)
    np.testing.assert_allclose(window.state.values("Co/I0"), want)
    assert window.state.reduction == "Co/I0"
    qtbot.wait(150)   # the map redraws at 10 Hz
    assert window.map_view.colorbar.axis.labelText == "Co/I0"


def test_typing_mistakes_are_said_in_the_dock_and_change_nothing(make_window, qtbot):
    window = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, window)
    dock = window.channels.dock
    for args, said in ((("w", "window", None, "12, x"), "numbers"),
                       (("w", "window", None, "1, 2, 3"), "bounds"),
                       (("sum", "sum"), "name"),
                       (("e", "sum", None, "", "a-b"), "elements")):
        fill_form(dock, *args)
        qtbot.mouseClick(dock.apply_button, Qt.LeftButton)
        assert said in dock.message.text()
    assert dock.channels() == () and window.state.channels == {}


def test_from_roi_takes_the_drawn_energy_range_of_calibrated_spectra(make_window, qtbot):
    with h5py.File(DATA / "fluo.nxs", "r") as f:
        data = f["entry1/fluo_entry/data/data"][()].astype(np.float64)
        energy = f["entry1/fluo_entry/data/energy"][()]
    window = make_window(DATA / "fluo.nxs")
    wait_terminal(qtbot, window)
    panel = window.frame_view.trace_panel
    assert panel.plot.getAxis("bottom").labelText == "energy (eV)"
    x, _y = panel.curve.getData()
    np.testing.assert_allclose(x, energy)              # spectra drawn against the calibration
    window.toolbar.roi_box.setChecked(True)
    lo, hi = float(energy[1500]), float(energy[1800])
    panel.region.setRegion((lo, hi))
    dock = window.channels.dock
    fill_form(dock, "K", "window")
    qtbot.mouseClick(dock.roi_button, Qt.LeftButton)
    assert [float(v) for v in dock.bounds_edit.text().split(",")] == pytest.approx([lo, hi],
                                                                                   rel=1e-5)
    qtbot.mouseClick(dock.apply_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("K")).all(), timeout=10000)
    inside = (energy >= lo * (1 - 1e-6)) & (energy <= hi * (1 + 1e-6))
    np.testing.assert_allclose(window.state.values("K"), data[..., inside].sum(-1), rtol=1e-5)


@pytest.mark.slow
def test_view_settings_are_saved_loaded_and_used_on_a_live_replay(make_window, qtbot,
                                                                   tmp_path):
    first = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, first)
    fill_form(first.channels.dock, "Co", "window", bounds="1200,1400", elements="6,8,9")
    qtbot.mouseClick(first.channels.dock.apply_button, Qt.LeftButton)
    first.toolbar.colormap_combo.setCurrentText("magma")
    saved = tmp_path / "beamline.json"
    first.channels.save(str(saved))
    assert json.loads(saved.read_text())["channels"][0]["bounds"] == [1200.0, 1400.0]
    first.close()

    out = tmp_path / "live.nxs"
    writer = start_replay(I18, out, rate=4.0)
    window = make_window(out, data=(MCAS,), timeout=20.0, view=ViewSettings.load(saved))
    wait_terminal(qtbot, window, timeout=60000)
    writer.join(20)
    assert window.status.kind == FINISHED, window.status.message
    assert window.toolbar.colormap_combo.currentText() == "magma"
    assert window.state.reduction == "Co"
    np.testing.assert_allclose(window.state.values("Co"),
                               i18(MCAS)[:, :, [6, 8, 9], 1200:1401].sum(axis=(-1, -2)))

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "swmrview-view-settings", "channels": [{"name": "x", '
                   '"kind": "median"}]}')
    assert not window.channels.load(str(bad))
    assert "not loaded" in window.status_bar.text() and "median" in window.status_bar.text()
    assert [c.name for c in window.channels.dock.channels()] == ["Co"]   # nothing lost


@pytest.mark.parametrize("raw, said", [
    (b'{"format": "swmrview-view-settings", "colormap": "jet"}', 'unknown colormap "jet"'),
    (b'{"format": "swmrview-view-settings", "map_scale": "sqrt"}', 'unknown map scale "sqrt"'),
    (b'{"format": "swmrview-view-settings", "shown": "Fe"}', 'unknown shown map "Fe"'),
    ('{"format": "swmrview-view-settings"}'.encode("utf-16"), "UTF-16 text"),
    (b'{"format": "swmrview-view-settings", "version": "x"}', '"version" must be a whole'),
])
def test_loading_a_wrong_settings_file_says_why_and_changes_nothing(make_window, qtbot,
                                                                     tmp_path, raw, said):
    window = make_window(view=ViewSettings(channels=(Channel("Co", "window",
                                                             bounds=(1200, 1400)),),
                                           colormap="magma", map_scale="log"))
    before = window.channels.view()
    bad = tmp_path / "view.json"
    bad.write_bytes(raw)
    assert not window.channels.load(str(bad))     # File > Load view settings...
    text = window.status_bar.text()
    assert text.startswith("View settings not loaded: ") and said in text, text
    assert "Unexpected" not in text and "Traceback" not in window.status_bar.details
    assert window.channels.view() == before
    assert window.toolbar.colormap_combo.currentText() == "magma"


def test_a_1d_scan_is_plotted_against_a_chosen_field_with_a_ratio_overlaid(make_window, qtbot):
    path = DATA / "i07-418550.nxs"
    with h5py.File(path, "r") as f:
        gamma = f["entry/instrument/diff1gamma/value"][()]
        roi1 = f["entry/instrument/pil2roi/roi1_sum"][()].astype(float)
        roi2 = f["entry/instrument/pil2roi/roi2_sum"][()].astype(float)
    window = make_window(path)
    wait_terminal(qtbot, window)
    channels = (Channel("gamma", dataset="/entry/instrument/diff1gamma/value"),
                Channel("roi1", dataset="/entry/instrument/pil2roi/roi1_sum"),
                Channel("roi2/roi1", dataset="/entry/instrument/pil2roi/roi2_sum",
                        monitor="/entry/instrument/pil2roi/roi1_sum"))
    window.channels.dock.set_channels(channels, emit=True)
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("roi2/roi1")).all(), timeout=10000)
    view = window.map_view
    view.x_combo.setCurrentText("gamma")
    view.x_combo.textActivated.emit("gamma")
    window.channels.show("roi1")
    window.channels.dock.list.item(2).setCheckState(Qt.Checked)
    qtbot.wait(250)
    x, y = view.curve.getData()
    np.testing.assert_allclose(x, gamma)
    np.testing.assert_allclose(y, roi1)
    ox, oy = view.curves.overlays[0].getData()
    np.testing.assert_allclose(ox, gamma)
    np.testing.assert_allclose(oy, roi2 / roi1)
    assert view.plot.getAxis("bottom").labelText == "gamma"
    # clicking a point on the curve pins that point
    target = int(np.argmax(gamma))
    assert view.click_at_scene(view.scene_position((target,))) == (target,)


def test_the_shown_channel_is_marked_on_the_frame(make_window, qtbot):
    window = make_window(DATA / "fluo.nxs")
    wait_terminal(qtbot, window)
    window.channels.dock.set_channels((Channel("K", "window", bounds=(3300.0, 3500.0)),
                                       Channel("lo", "rect", bounds=(10, 20))), emit=True)
    marks = window.channels.marks
    energy = window.frame_view.trace_panel.x_values(4096)
    window.channels.show("K")
    # shaded over the channels the map sums: those whose energy lies in [3300, 3500]
    inside = energy[(energy >= 3300) & (energy <= 3500)]
    assert marks.region.isVisible()
    assert marks.region.getRegion() == pytest.approx((inside[0], inside[-1]))
    window.channels.show("lo")
    assert marks.region.getRegion() == pytest.approx((energy[10], energy[19]))
    # a window with no channel inside shades nothing
    window.channels.dock.set_channels((Channel("none", "window", bounds=(1e9, 2e9)),),
                                      emit=True)
    window.channels.show("none")
    assert not marks.region.isVisible()
    window.channels.show("sum")
    assert not marks.region.isVisible()


def test_a_dragged_polygon_becomes_a_polygon_channel_equal_to_numpy(make_window, qtbot):
    from swmrview.core.compute.channels import points_in_polygon

    path = DATA / "xrd_test.nxs"
    window = make_window(path)
    wait_terminal(qtbot, window)
    dock = window.channels.dock
    fill_form(dock, "wedge", "polygon")
    qtbot.mouseClick(dock.roi_button, Qt.LeftButton)           # puts the polygon on the image
    assert window.channels.polygon.shown and dock.bounds_edit.text() == ""
    roi = window.channels.polygon.roi
    roi.movePoint(roi.getHandles()[0], (150.0, 10.0))          # drag a vertex
    qtbot.mouseClick(dock.roi_button, Qt.LeftButton)           # takes its vertices
    vertices = [tuple(map(float, p.split(","))) for p in dock.bounds_edit.text().split(";")]
    assert vertices[0] == pytest.approx((150.0, 10.0)) and len(vertices) == 4
    qtbot.mouseClick(dock.apply_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("wedge")).all(), timeout=10000)
    with h5py.File(path, "r", locking=False) as f:
        images = f["entry1/xrd_entry/instrument/detector/data"][()].astype(np.float64)
    yy, xx = np.mgrid[:100, :1000]
    polygon = tuple(tuple(round(v, 1) for v in p) for p in vertices)
    inside = points_in_polygon(xx + 0.5, yy + 0.5, polygon)
    assert 0 < inside.sum() < inside.size
    np.testing.assert_allclose(window.state.values("wedge"), images[..., inside].sum(-1),
                               rtol=1e-6)
    xs, _ys = window.channels.marks.outline.getData()
    assert len(xs) == 5                                          # outlined while shown


def test_all_maps_side_by_side_and_a_click_on_a_tile_shows_that_point(make_window, qtbot):
    window = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, window)
    window.channels.dock.set_channels((Channel("Co", "window", bounds=(1200, 1400)),
                                       Channel("It", dataset="/entry1/raster_counterTimer01/It")),
                                      emit=True)
    grid = window.channels.grid
    grid.show()
    qtbot.waitUntil(lambda: set(grid.tiles) == {"sum", "Co", "It"}, timeout=5000)
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("It")).all(), timeout=10000)
    window.mark_map_dirty()
    qtbot.wait(250)
    _plot, item = grid.tiles["It"]
    np.testing.assert_allclose(item.image, i18("/entry1/raster_counterTimer01/It"))
    plot, _item = grid.tiles["Co"]
    x, y = window.state.point_xy((1, 0))
    scene = plot.vb.mapViewToScene(pg_point(x, y))
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
    assert shown == [(1, 0)]
    assert window.state.pinned == (1, 0)


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_kept_channels_that_do_not_fit_the_next_scan_are_greyed_not_shown_empty(make_window,
                                                                                qtbot):
    first = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, first)
    first.channels.dock.set_channels((Channel("Co/I0", "window", bounds=(1200, 1400),
                                              monitor=I0),), emit=True)
    first.channels.show("Co/I0")
    first.close()                                   # kept in the user's settings
    window = make_window(DATA / "xrd_test.nxs")
    wait_terminal(qtbot, window)
    dock = window.channels.dock
    assert [c.name for c in dock.channels()] == ["Co/I0"]          # kept for scans it fits
    assert "no per-point monitor" in dock.list.item(0).toolTip()
    assert "Not computed for this scan: Co/I0" in dock.message.text()
    assert window.state.channels == {} and window.state.reduction == "sum"
    assert "channel" not in window.status.message                 # no refusal from the worker
    assert np.isfinite(window.state.values("sum")).all()


def test_a_1d_scan_is_plotted_against_any_per_point_field_chosen_as_x(make_window, qtbot):
    path = DATA / "i07-418550.nxs"
    field = "/entry/instrument/diff1gamma/value"
    with h5py.File(path, "r") as f:
        gamma = f[field][()]
    window = make_window(path)
    wait_terminal(qtbot, window)
    view = window.map_view
    offered = [view.x_combo.itemText(i) for i in range(view.x_combo.count())]
    assert field in offered and "/entry/instrument/pil2roi/roi1_sum" in offered
    view.x_combo.setCurrentText(field)
    view.x_combo.textActivated.emit(field)               # as the user picks it
    assert [c.name for c in window.channels.dock.channels()] == ["value"]
    assert window.state.x_layer == "value"
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("value")).all(), timeout=10000)
    window.mark_map_dirty()
    qtbot.wait(250)
    x, _y = view.curve.getData()
    np.testing.assert_allclose(x, gamma)
    assert view.x_combo.currentText() == "value"


@pytest.mark.parametrize("positions, shape", [("grid", (20, 25)), ("spiral", (500,))])
@pytest.mark.slow
def test_element_maps_of_a_larger_live_simulated_xrf_scan(make_window, qtbot, tmp_path,
                                                          positions, shape):
    """The simulator's XRF writer (500 points, 4 elements x 1024 channels, I0), followed live
    with a beamline's view settings, all maps side by side: every channel equals numpy on the
    exact frames, on a grid and on a spiral drawn at its recorded positions."""
    from swmrview.tools import simulate

    cfg = simulate.SimConfig(shape=shape, detector="xrf", elements=4, channels=1024,
                             rate=400.0, positions=positions, snake=positions == "grid")
    lines = {"Ca": (3.55, 3.85), "Fe": (6.25, 6.55), "Zn": (8.5, 8.78)}
    channels = tuple(Channel(f"{el}/I0", "window", bounds=b, elements=(0, 1, 3),
                             monitor=simulate.I0_PATH) for el, b in lines.items())
    view = ViewSettings(channels=channels + (Channel("I0", dataset=simulate.I0_PATH),),
                        shown="Fe/I0")
    path = tmp_path / "xrf.h5"
    writer = simulate.start_writer(path, cfg)
    window = make_window(path, view=view, timeout=20.0)
    window.channels.grid.show()
    wait_terminal(qtbot, window, timeout=90000)
    writer.join(30)
    assert window.status.kind == FINISHED, window.status.message
    energy = simulate.energy_axis(cfg)
    n = int(np.prod(shape))
    frames = np.array([simulate.expected_frame(i, cfg) for i in range(n)], dtype=np.float64)
    i0 = np.array([simulate.expected_i0(i, cfg) for i in range(n)])
    for el, (lo, hi) in lines.items():
        inside = (energy >= lo) & (energy <= hi)
        want = frames[:, [0, 1, 3]][:, :, inside].sum(axis=(1, 2)) / i0
        np.testing.assert_allclose(window.state.values(f"{el}/I0").ravel(), want, rtol=1e-12,
                                   err_msg=el)
    np.testing.assert_allclose(window.state.values("I0").ravel(), i0)
    assert window.state.reduction == "Fe/I0"
    assert set(window.channels.grid.tiles) == {"sum", "Ca/I0", "Fe/I0", "Zn/I0", "I0"}
    if positions == "spiral":
        assert window.map_view.scatter_view.active()
        xs, _ys = window.map_view.scatter_view.points.getData()
        assert len(xs) == n


def test_open_docks_are_remembered_for_the_next_window(make_window, qtbot):
    first = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, first)
    first.channels.grid.show()
    first.compare.dock.show()
    first.channels.dock.hide()
    first.close()
    window = make_window(I18, data=(MCAS,))
    wait_terminal(qtbot, window)
    assert window.channels.grid.isVisible() and window.compare.dock.isVisible()
    assert not window.channels.dock.isVisible()


def test_marks_and_the_polygon_are_in_frame_pixels_on_a_binned_frame(make_window, qtbot):
    """Frames wider than the screen are shown binned but drawn in frame pixels: a channel's
    outline and a dragged polygon use the same pixels as the ROI and the channel."""
    window = make_window()
    view = window.frame_view
    view.set_frame_kind("image")
    view.show_frame(np.zeros((4096, 4096), np.uint16), "big", binning=2)
    marks, polygon = window.channels.marks, window.channels.polygon
    marks.show(Channel("r", "rect", bounds=(2048, 6144, 1000, 3000)))
    xs, ys = marks.outline.getData()
    assert (min(xs), max(xs), min(ys), max(ys)) == (1000, 3000, 2048, 6144)
    polygon.show()
    vertices = np.array(polygon.vertices())
    np.testing.assert_allclose(vertices.mean(axis=0), (4096, 4096))   # the frame's centre
