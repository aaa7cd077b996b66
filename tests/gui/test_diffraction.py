"""Diffraction in the window, driven as a user would: the newest point's I(q) with the raw
image a toggle away, a q-window dragged on the pattern and mapped, held points' patterns
overlaid, and an RGB composite of three channels; maps compared with pyFAI's integrate1d."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

pytest.importorskip("pyFAI")

from swmrview.model.rgb import composite  # noqa: E402
from swmrview.tools.simulate import SimConfig, write_scan  # noqa: E402
from swmrview.tools.simulate.xrd import write_poni  # noqa: E402
from tests import xrd_reference as ref  # noqa: E402

from .conftest import wait_terminal  # noqa: E402


@pytest.fixture(scope="module")
def xrd_scan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xrd-gui")
    path, poni = folder / "scan.h5", folder / "scan.poni"
    cfg = SimConfig(shape=(4, 6), frame=(128, 128), rate=1e5, detector="xrd")
    write_poni(poni, cfg.frame)
    write_scan(path, cfg)
    return path, poni


def test_pattern_shown_raw_image_a_toggle_away_and_a_dragged_q_window_mapped(
        make_window, qtbot, xrd_scan):
    path, poni = xrd_scan
    window = make_window(path, poni=str(poni))
    wait_terminal(qtbot, window)
    view = window.frame_view
    qtbot.waitUntil(lambda: view.showing_pattern, timeout=5000)
    radial, full = ref.patterns(path, poni)
    pattern = view.pattern_panel.pattern
    np.testing.assert_allclose(pattern.y, full[pattern.position], rtol=1e-6, atol=1e-9)
    assert "PONI file scan.poni" in view.pattern_panel.note.text()
    window.pattern_action.setChecked(False)            # the raw image
    assert view.currentWidget() is view.image_panel
    window.pattern_action.setChecked(True)
    assert view.showing_pattern
    # drag a window on the pattern (the ROI) and take it as a q-window channel
    window.toolbar.roi_box.setChecked(True)
    view.pattern_panel.region.setRegion((19.6, 20.6))
    dock = window.channels.dock
    dock.name_edit.setText("CeO2")
    dock.kind_combo.setCurrentText("window")
    qtbot.mouseClick(dock.roi_button, Qt.LeftButton)
    assert dock.kind_combo.currentText() == "q-window"
    assert dock.bounds_edit.text() == "19.6, 20.6"
    qtbot.mouseClick(dock.apply_button, Qt.LeftButton)
    assert dock.message.text() == ""
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("CeO2")).all(), timeout=10000)
    np.testing.assert_allclose(window.state.values("CeO2"),
                               ref.window(radial, full, 19.6, 20.6), rtol=1e-6)
    qtbot.wait(150)
    marks = window.channels.marks.q_region       # the shown channel's window is shaded
    assert marks.isVisible() and marks.getRegion() == pytest.approx((19.6, 20.6))


def test_held_points_overlay_their_patterns(make_window, qtbot, xrd_scan):
    path, poni = xrd_scan
    window = make_window(path, poni=str(poni))
    wait_terminal(qtbot, window)
    for position in ((0, 0), (3, 5)):
        window.compare.hold(position)
    panel = window.frame_view.pattern_panel
    qtbot.waitUntil(lambda: panel.held_curves == 2, timeout=10000)
    _, full = ref.patterns(path, poni)
    for position, (_n, pattern, curve) in panel._held.items():
        np.testing.assert_allclose(curve.yData, full[position], rtol=1e-6, atol=1e-9)
    window.compare.remove((0, 0))
    assert panel.held_curves == 1


def test_rgb_composite_of_three_q_windows_each_with_its_own_levels(make_window, qtbot,
                                                                   xrd_scan, tmp_path):
    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings

    path, poni = xrd_scan
    channels = (Channel("CeO2", "q-window", bounds=(19.6, 20.6)),
                Channel("LaB6", "q-window", bounds=(14.6, 15.6)),
                Channel("CeO2 220", "q-window", bounds=(32.3, 33.3)))
    settings = tmp_path / "view.json"
    ViewSettings(channels=channels, shown="CeO2").save(settings)
    window = make_window(path, poni=str(poni))
    window.channels.load(str(settings))
    wait_terminal(qtbot, window)
    state = window.state
    qtbot.waitUntil(lambda: all(np.isfinite(state.values(c.name)).all() for c in channels),
                    timeout=10000)
    rgb = window.channels.rgb
    rgb.show()
    rgb.choose(("CeO2", "LaB6", "CeO2 220"))
    rgb.level_edits[2].setText("0, 1000")
    rgb.refresh(state)
    planes = [state.values(c.name) for c in channels]
    want, levels = composite(planes, (None, None, (0.0, 1000.0)))
    np.testing.assert_array_equal(rgb.image.image, want)
    assert levels[0] != levels[1] and levels[2] == (0.0, 1000.0)
    assert want[..., 0].max() == 255 and want[..., 1].max() == 255   # each scaled to its own


def test_the_cake_of_the_shown_point_is_pyfai_integrate2d(make_window, qtbot, xrd_scan):
    import h5py
    import pyFAI

    path, poni = xrd_scan
    window = make_window(path, poni=str(poni))
    wait_terminal(qtbot, window)
    panel = window.frame_view.pattern_panel
    qtbot.waitUntil(lambda: window.frame_view.showing_pattern, timeout=5000)
    window.pin_point((2, 3))
    qtbot.waitUntil(lambda: window.shown_position == (2, 3), timeout=5000)
    panel.cake_box.setChecked(True)
    qtbot.waitUntil(lambda: panel.cake is not None and panel.cake.position == (2, 3),
                    timeout=20000)
    with h5py.File(path, "r", locking=False) as f:
        frame = f[ref.DATA][2, 3]
        mask = f[ref.MASK][()] != 0
        saturation = f[ref.SATURATION][()]
    want = pyFAI.load(str(poni)).integrate2d(frame, 1000, 360, unit="q_nm^-1",
                                              method=("bbox", "csr", "cython"),
                                              mask=mask | (frame >= saturation))
    np.testing.assert_allclose(panel.cake.radial, want.radial)
    np.testing.assert_allclose(panel.cake.chi, want.azimuthal)
    np.testing.assert_allclose(panel.cake.intensity, want.intensity, rtol=1e-5, atol=1e-6)
    assert panel.stack.currentWidget() is panel.cake_plot
    panel.cake_box.setChecked(False)
    assert panel.stack.currentWidget() is panel.plot
