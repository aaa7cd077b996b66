"""The frame pane: levels from the follower thread, crosshair, spectra, big frames binned."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.model.frames import display_frame
from swmrview.tools.simulate import SimConfig

from .conftest import wait_terminal


def test_auto_levels_follow_frames_when_on_and_stay_when_off(make_window):
    window = make_window(None)
    view = window.frame_view
    view.set_frame_kind("image")
    a = np.arange(64, dtype=np.uint16).reshape(8, 8)
    b = (a * 10 + 1000).astype(np.uint16)
    view.show_frame(a, levels=display_frame(a)[1])
    assert view.image_panel.levels() == (0.0, 63.0)
    window.toolbar.auto_levels_box.setChecked(False)
    view.show_frame(b, levels=display_frame(b)[1])
    assert view.image_panel.levels() == (0.0, 63.0)
    np.testing.assert_array_equal(view.image_panel.image.image, b)
    window.toolbar.auto_levels_box.setChecked(True)
    view.show_frame(b, levels=display_frame(b)[1])
    assert view.image_panel.levels() == (1000.0, 1630.0)
    window.toolbar.log_box.setChecked(True)
    lo, hi = view.image_panel.levels()
    assert hi == pytest.approx(np.log10(1630.0), rel=1e-5)


def test_masked_and_overflowing_pixels_leave_the_levels(make_window):
    frame = np.arange(16, dtype=np.uint16).reshape(4, 4)
    frame[0, 0] = 65535                                   # an Eiger gap pixel
    mask = np.zeros((4, 4), bool)
    mask[3, 3] = True                                     # a bad pixel (value 15)
    shown, levels, binning = display_frame(frame, mask, overflow=65535)
    assert levels == (1.0, 14.0) and binning == 1


def test_inf_pixels_leave_the_levels():
    """Levels computed in the follower thread (display_frame) ignore +-inf like NaN."""
    frame = np.arange(16, dtype=np.float32).reshape(4, 4)
    frame[0, 0], frame[3, 3], frame[1, 1] = -np.inf, np.inf, np.nan
    assert display_frame(frame)[1] == (1.0, 14.0)
    assert display_frame(np.full((2, 2), np.inf))[1] is None


def test_log_scale_levels_leave_overflowing_pixels_out_too(make_window):
    """In log scale the levels were taken from every pixel: Eiger gap pixels set the top."""
    frame = np.arange(1, 65, dtype=np.uint16).reshape(8, 8)
    frame[0, :] = 65535
    shown, levels, _ = display_frame(frame, overflow=65535)
    window = make_window(None)
    view = window.frame_view
    view.set_frame_kind("image")
    window.toolbar.log_box.setChecked(True)
    view.show_frame(shown, levels=levels)
    lo, hi = view.image_panel.levels()
    assert (lo, hi) == (pytest.approx(np.log10(9.0)), pytest.approx(np.log10(64.0)))
    np.testing.assert_allclose(view.image_panel.image.image, np.log10(frame.astype(np.float32)),
                               rtol=1e-6)
    zeros = frame.copy()
    zeros[1, 0] = 0                                       # clipped to the smallest positive
    view.show_frame(zeros, levels=display_frame(zeros, overflow=65535)[1])
    assert view.image_panel.image.image[1, 0] == pytest.approx(1.0)
    assert view.image_panel.levels()[0] == pytest.approx(1.0)


def test_a_huge_frame_is_binned_off_the_gui_thread(make_window):
    frame = np.zeros((8192, 8192), np.uint16)
    frame[4096, 4100] = 7
    shown, levels, binning = display_frame(frame)
    assert binning == 2 and shown.shape == (4096, 4096)
    window = make_window(None)
    window.frame_view.set_frame_kind("image")
    window.frame_view.show_frame(shown, levels=levels, binning=binning)
    rect = window.frame_view.image_panel.image.boundingRect()
    mapped = window.frame_view.image_panel.image.mapRectToParent(rect)
    assert (mapped.width(), mapped.height()) == (8192, 8192)   # pixel coordinates kept


def test_crosshair_reads_pixel_value(make_window, qtbot):
    window = make_window(None)
    window.pages.setCurrentWidget(window.splitter)
    view = window.frame_view
    view.set_frame_kind("image")
    frame = np.arange(48, dtype=np.uint16).reshape(6, 8)
    view.show_frame(frame)
    qtbot.wait(50)
    panel = view.image_panel
    panel._mouse_moved(panel.image.mapToScene(5.5, 2.5))  # what sigMouseMoved delivers
    assert panel.readout.text() == f"x=5  y=2  value={frame[2, 5]}"
    assert panel.vline.isVisible() and panel.vline.value() == pytest.approx(5.5)


def test_frames_of_rank_three_show_their_first_plane(make_window):
    window = make_window(None)
    window.frame_view.set_frame_kind("image")
    stack = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    window.frame_view.show_frame(stack)
    np.testing.assert_array_equal(window.frame_view.current_frame(), stack[0])


@pytest.mark.slow
def test_running_mean_of_live_spectra_only(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(10,), frame=(32,), rate=100.0)
    path, proc = sim_writer(cfg)
    window = make_window(path)
    window.toolbar.mean_box.setChecked(True)
    wait_terminal(qtbot, window)
    panel = window.frame_view.trace_panel
    assert panel.mean_curve.isVisible()
    _, mean = panel.mean_curve.getData()
    np.testing.assert_allclose(mean, np.mean(list(panel._recent), axis=0))
    count = len(panel._recent)
    window.pin_point((0,))
    qtbot.waitUntil(lambda: window.shown_position == (0,), timeout=5000)
    assert len(panel._recent) == count                   # a pinned frame is not live


def test_the_spectrum_roi_takes_the_channels_inside_the_drawn_range(make_window):
    """The ROI drawn on a spectrum follows the rule of windows: a channel is in it when its x
    (channel number here, no calibration) lies in the range, both ends included."""
    window = make_window(None)
    view = window.frame_view
    view.set_frame_kind("spectrum")
    view.show_frame(np.arange(100, dtype=np.float64))
    panel = view.trace_panel
    panel.set_roi_enabled(True)
    for drawn, want in (((40.0, 60.0), (40, 61)), ((40.3, 60.7), (41, 61)),
                        ((40.6, 40.9), (0, 0))):
        panel.region.setRegion(drawn)
        assert panel.roi_bounds() == want, drawn


def test_the_view_asks_for_live_frames_binned_to_its_screen_pixels(make_window, qtbot):
    window = make_window(None)
    view = window.frame_view
    view.set_frame_kind("image")
    panel = view.image_panel
    asked = []
    panel.screen_binning_changed.connect(asked.append)
    frame = np.zeros((2048, 2048), dtype=np.uint16)
    view.show_frame(frame, levels=(0.0, 1.0))
    qtbot.waitUntil(lambda: bool(asked))
    per_pixel = min(abs(v) for v in panel.plot.vb.viewPixelSize())
    assert asked[-1] == int(per_pixel) >= 2       # 2048 pixels in a few hundred screen pixels
    panel.plot.vb.setRange(xRange=(0, 64), yRange=(0, 64), padding=0)   # zoomed right in
    qtbot.waitUntil(lambda: asked[-1] == 1)


def test_frames_binned_for_the_screen_keep_the_users_zoom_and_place(make_window, qtbot):
    window = make_window(None)
    view = window.frame_view
    view.set_frame_kind("image")
    panel = view.image_panel
    frame = np.arange(512 * 512, dtype=np.uint32).reshape(512, 512).astype(np.float32)
    view.show_frame(frame, levels=(0.0, 1.0))
    panel.plot.vb.setRange(xRange=(100, 200), yRange=(100, 200), padding=0)
    zoom = panel.plot.vb.viewRange()
    view.show_frame(np.ascontiguousarray(frame[::4, ::4]), levels=(0.0, 1.0), binning=4)
    assert panel.plot.vb.viewRange() == zoom          # not autoranged: the same frames
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    assert (rect.width(), rect.height()) == (512, 512)  # drawn over the whole frame's pixels
    assert panel.full_shape() == (512, 512)
    view.show_frame(np.zeros((100, 100), np.float32), levels=(0.0, 1.0))   # another frame size
    assert panel.plot.vb.viewRange() != zoom


def test_the_histogram_range_follows_the_levels_at_its_refresh_not_every_frame(make_window):
    window = make_window(None)
    view = window.frame_view
    view.set_frame_kind("image")
    panel = view.image_panel
    a = np.linspace(0, 100, 64 * 64, dtype=np.float32).reshape(64, 64)
    view.show_frame(a, levels=(0.0, 100.0))               # the first frame: at once
    for top in (130.0, 90.0, 180.0):                        # frames in between: levels only
        view.show_frame(a * top / 100, levels=(0.0, top))
        assert panel.levels() == (0.0, top)
        assert panel._hist_range[1] == pytest.approx(105.0)
    panel._refresh_histogram()                              # the 2 Hz refresh
    assert panel._hist_range[1] >= 180.0
