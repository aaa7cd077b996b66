"""The window with an XRF fit: fitted maps from the settings, and the spectrum overlaid with the
model and residual the worker computed (the newest point's, then a clicked point's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyMca5")

from swmrview.core.compute import xrf_config as xc  # noqa: E402
from swmrview.core.compute import xrf_fit as xf  # noqa: E402
from swmrview.core.compute.channels import Channel  # noqa: E402
from swmrview.model.status import FINISHED  # noqa: E402
from swmrview.model.view_settings import ViewSettings  # noqa: E402
from swmrview.tools import simulate  # noqa: E402
from tests.gui.conftest import wait_terminal  # noqa: E402

CFG = Path(__file__).resolve().parents[1] / "data" / "xrf_simulated_overlap.cfg"
SIM = simulate.SimConfig(shape=(5, 6), detector="xrf", elements=4, channels=4096,
                         overlap=True, rate=1e5)


def test_fitted_maps_and_the_fit_over_the_spectrum(make_window, qtbot, tmp_path):
    path = tmp_path / "overlap.h5"
    simulate.write_scan(path, SIM)
    config = xc.load_config(CFG)
    view = ViewSettings(channels=(Channel("Pb/I0", "fitted", column="Pb L",
                                          monitor=simulate.I0_PATH),), shown="Pb/I0")
    window = make_window(path, view=view, xrf=config)
    wait_terminal(qtbot, window)
    assert window.status.kind == FINISHED, window.status.message
    frames = np.array([simulate.expected_frame(i, SIM) for i in range(SIM.n_points)])
    i0 = np.array([simulate.expected_i0(i, SIM) for i in range(SIM.n_points)])
    step = xf.XrfFitStep(config, SIM.frame)
    final = xf.fit_stack(frames, step)
    want = final.areas[:, step.groups.index("Pb L")] / i0
    got = window.state.values("Pb/I0").ravel()
    assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max()
    assert window.state.reduction == "Pb/I0"

    # the newest point's spectrum with the model and residual computed by the worker
    trace = window.frame_view.trace_panel
    qtbot.waitUntil(lambda: trace.fit.fit is not None, timeout=5000)
    newest = SIM.n_points - 1
    first, model, residual, _marks = step.fit_curve(frames[newest])
    np.testing.assert_allclose(trace.fit.model.getData()[1], model, rtol=1e-9)
    np.testing.assert_allclose(trace.fit.residual.getData()[1], residual, rtol=1e-9,
                               atol=1e-9)
    x, y = trace.curve.getData()
    np.testing.assert_allclose(trace.fit.model.getData()[0], x[first:first + len(model)])
    np.testing.assert_allclose(model + residual, y[first:first + len(model)])
    assert {"Fe K", "Mn K", "As K", "Pb L"} <= set(trace.fit.groups)
    energies = [m.value() for m in trace.fit.marks]
    assert any(abs(e - 10.551) < 0.01 for e in energies)             # Pb La on the energy axis

    # a clicked point: its own fit
    window.pin_point((1, 2))
    index = 1 * SIM.shape[1] + 2
    _first, model, _residual, _marks = step.fit_curve(frames[index])
    qtbot.waitUntil(lambda: np.allclose(trace.fit.model.getData()[1], model, rtol=1e-9),
                    timeout=5000)


def test_a_fitted_channel_added_in_the_channels_dock(make_window, qtbot, tmp_path):
    """Reduce "fitted", the line group typed where the bounds go: the dock lists the groups
    the scan's fit has, and the channel maps the fitted area over I0."""
    path = tmp_path / "overlap.h5"
    simulate.write_scan(path, SIM)
    config = xc.load_config(CFG)
    window = make_window(path, xrf=config)
    wait_terminal(qtbot, window)
    dock = window.channels.dock
    dock.kind_combo.setCurrentText("fitted")
    assert dock.message.text().startswith("Fitted line groups: Ca K, Mn K, Fe K")
    assert dock.bounds_edit.isEnabled() and "Fe K" in dock.bounds_edit.placeholderText()
    dock.name_edit.setText("Fe/I0")
    dock.bounds_edit.setText("Fe K")
    dock.monitor_combo.setCurrentText(simulate.I0_PATH)
    assert dock.apply_form()
    assert dock.channels()[-1] == Channel("Fe/I0", "fitted", column="Fe K",
                                          monitor=simulate.I0_PATH)
    frames = np.array([simulate.expected_frame(i, SIM) for i in range(SIM.n_points)])
    i0 = np.array([simulate.expected_i0(i, SIM) for i in range(SIM.n_points)])
    step = xf.XrfFitStep(config, SIM.frame)
    want = xf.fit_stack(frames, step).areas[:, step.groups.index("Fe K")] / i0
    qtbot.waitUntil(lambda: np.isfinite(window.state.values("Fe/I0")).all(), timeout=10000)
    np.testing.assert_allclose(window.state.values("Fe/I0").ravel(), want, rtol=1e-9)
    dock.list.setCurrentRow(len(dock.channels()) - 1)
    assert dock.bounds_edit.text() == "Fe K"                # the column comes back to edit
    dock.name_edit.setText("no group")
    dock.bounds_edit.setText("")
    assert not dock.apply_form() and "names the column" in dock.message.text()
