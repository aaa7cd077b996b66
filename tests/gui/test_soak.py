"""A long repaint soak through the real redraw path (SPEC 6: PySide6 6.12.0 none_dealloc)."""

from __future__ import annotations

import numpy as np

from swmrview.model.messages import Axis, ScanInfo, Update
from swmrview.model.status import LIVE, Status
from swmrview.model.view_state import ViewState


def test_redraw_soak(make_window, qapp):
    window = make_window(None)
    info = ScanInfo(0, "/soak.h5", "keys", (50, 60), (Axis("y"), Axis("x")), "/d", ("/d",),
                    (32, 32), "uint16", {})
    window.info, window.state = info, ViewState(info)
    window.frame_view.set_frame_kind("image")
    window.map_view.set_state(window.state)
    frames = [np.full((32, 32), i, np.uint16) + np.arange(32, dtype=np.uint16) for i in range(8)]
    for i in range(3000):
        position = np.unravel_index(i, (50, 60))
        window.state.apply(Update(0, Status(LIVE, "live"),
                                  positions=np.array([position], np.int64),
                                  values={"sum": np.array([float(i)])}, new_points=1))
        window.scheduler.show_frame((tuple(map(int, position)), frames[i % 8], True, None, 1))
        window.mark_map_dirty()
        window.redraw()
        qapp.processEvents()
    assert window.shown_position == (49, 59)
    np.testing.assert_array_equal(window.frame_view.current_frame(), frames[2999 % 8])
    assert window.state.n_acquired == 3000 and window.toolbar.slider.maximum() == 2999
