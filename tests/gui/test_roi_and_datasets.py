"""ROIs and dataset switches: one owner (the view state), recomputed by the session."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.model.status import FINISHED
from swmrview.tools.simulate import SimConfig

from .conftest import wait_terminal
from .files import static_file


@pytest.mark.slow
def test_roi_changes_map_values(sim_writer, make_window, qtbot):
    cfg = SimConfig(shape=(4, 5), frame=(16, 16), rate=200.0)
    path, proc = sim_writer(cfg)
    proc.join(20)
    window = make_window(path)
    wait_terminal(qtbot, window)
    qtbot.waitUntil(lambda: window.shown_position is not None, timeout=5000)
    window.toolbar.roi_box.setChecked(True)
    assert window.toolbar.reduction_combo.currentText() == "roi"
    roi = window.frame_view.image_panel.roi
    roi.setPos([2, 3], finish=False)
    roi.setSize([5, 4])  # finish=True emits the region change
    assert window.state.roi == (3, 7, 2, 7)
    with h5py.File(path, "r", locking=False) as f:
        expected = f["/entry/data/data"][:, :, 3:7, 2:7].sum(axis=(2, 3), dtype=np.float64)
    qtbot.waitUntil(lambda: np.array_equal(window.state.map.plane("roi"), expected),
                    timeout=10000)
    assert not np.array_equal(expected, window.state.map.plane("sum"))
    window.toolbar.roi_box.setChecked(False)            # back to the chosen reduction
    assert window.toolbar.reduction_combo.currentText() == "sum"


def test_roi_not_carried_to_next_file(make_window, qtbot, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    static_file(a, spectra=False)
    spectra = static_file(b, images=False)["spectra"]
    window = make_window(a)
    wait_terminal(qtbot, window, timeout=10000)
    qtbot.waitUntil(lambda: window.shown_position is not None, timeout=5000)
    window.toolbar.roi_box.setChecked(True)
    assert window.state.roi is not None and len(window.state.roi) == 4
    window.open_path(str(b))
    assert not window.toolbar.roi_box.isChecked()
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED
    np.testing.assert_allclose(window.state.plane(), spectra.astype(np.float64).sum(axis=2))


def test_dataset_switch_recomputes_the_map_for_acquired_points(make_window, qtbot, tmp_path):
    path = tmp_path / "static.h5"
    data = static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    np.testing.assert_array_equal(window.state.plane(), data["images"].sum(axis=(2, 3)))
    assert window.info.frame_rank == 2
    window.set_dataset("/data/spectra")
    qtbot.waitUntil(lambda: window.info.data_path == "/data/spectra", timeout=5000)
    expected = data["spectra"].astype(np.float64).sum(axis=2)
    qtbot.waitUntil(lambda: np.allclose(window.state.plane(), expected), timeout=5000)
    assert window.state.n_acquired == 12
    assert window.frame_view.currentWidget() is window.frame_view.trace_panel
    window.pin_point((1, 1))
    qtbot.waitUntil(lambda: window.shown_position == (1, 1), timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), data["spectra"][1, 1])


def test_tree_lists_datasets(make_window, qtbot, tmp_path):
    path = tmp_path / "static.h5"
    static_file(path)
    window = make_window(path)
    wait_terminal(qtbot, window, timeout=10000)
    names = []

    def walk(item):
        names.append(item.text(0))
        for i in range(item.childCount()):
            walk(item.child(i))

    walk(window.dock.tree.topLevelItem(0))
    assert any(n.startswith("images") for n in names) and "spectra" in names


def test_mask_choice_holds_for_the_next_file(make_window, qtbot, tmp_path):
    """The box stayed unchecked while the next file's session left masked pixels out."""
    import shutil
    from pathlib import Path

    eiger = Path(__file__).parents[1] / "data" / "eiger" / \
        "eiger1_testmode10_2datafiles_4images_lz4_data_000001.h5"
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    shutil.copy(eiger, a)
    shutil.copy(eiger, b)
    window = make_window(a)
    wait_terminal(qtbot, window)
    masked = window.state.map.values["sum"].copy()
    window.toolbar.mask_box.setChecked(False)
    qtbot.waitUntil(lambda: not np.array_equal(window.state.map.values["sum"], masked),
                    timeout=5000)
    unmasked = window.state.map.values["sum"].copy()
    window.open_path(str(b))
    wait_terminal(qtbot, window)
    qtbot.wait(200)
    assert not window.toolbar.mask_box.isChecked()
    np.testing.assert_array_equal(window.state.map.values["sum"], unmasked)


def test_a_pinned_point_shows_the_new_datasets_frame_after_a_switch(make_window, qtbot,
                                                                    tmp_path):
    """The pinned point kept the previous dataset's frame on screen after a switch."""
    path = tmp_path / "static.h5"
    data = static_file(path)
    window = make_window(path, data=("/data/images",))
    wait_terminal(qtbot, window, timeout=10000)
    window.pin_point((2, 1))
    qtbot.waitUntil(lambda: window.shown_position == (2, 1), timeout=5000)
    np.testing.assert_array_equal(window.frame_view.current_frame(), data["images"][2, 1])
    with qtbot.waitSignal(window.frame_shown, timeout=5000,
                          check_params_cb=lambda position: position == (2, 1)):
        window.set_dataset("/data/spectra")   # the pinned point's frame is drawn again
    assert window.info.data_path == "/data/spectra"
    assert window.state.pinned == (2, 1)
    np.testing.assert_array_equal(window.frame_view.current_frame(), data["spectra"][2, 1])
