"""Overlapping XRF lines on the simulator (``--overlap``): energy windows mix the elements'
known maps, the fitted line groups separate them, and the fit of a written scan equals PyMca's
FastXRFLinearFit run directly on the finished file."""

from __future__ import annotations

import copy
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("PyMca5")

from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit  # noqa: E402

from swmrview.core.compute import xrf_config as xc  # noqa: E402
from swmrview.core.compute import xrf_fit as xf  # noqa: E402
from swmrview.tools import simulate  # noqa: E402

CFG = Path(__file__).resolve().parents[1] / "data" / "xrf_simulated_overlap.cfg"
#: The windows a user would draw on each element's main line (keV).
WINDOWS = {"Mn": (5.75, 6.05), "Fe": (6.25, 6.55), "As": (10.40, 10.70), "Pb": (10.40, 10.70)}
GROUP = {"Mn": "Mn K", "Fe": "Fe K", "As": "As K", "Pb": "Pb L"}
PARTNER = {"Mn": "Fe", "Fe": "Mn", "As": "Pb", "Pb": "As"}


def share(values: np.ndarray, own: np.ndarray, wrong: np.ndarray) -> float:
    """How much of a map is the wrong element: regress it on both known maps and a constant,
    and compare the wrong map's part with the own map's (0: none of it)."""
    design = np.stack([own, wrong, np.ones_like(own)], axis=1)
    a, b, _c = np.linalg.lstsq(design, values, rcond=None)[0]
    return float(b * wrong.mean() / (a * own.mean()))


def scan(shape=(20, 30)):
    cfg = simulate.SimConfig(shape=shape, detector="xrf", elements=4, channels=4096,
                             overlap=True)
    n = cfg.n_points
    frames = np.array([simulate.expected_frame(i, cfg) for i in range(n)])
    i0 = np.array([simulate.expected_i0(i, cfg) for i in range(n)])
    known = {el: np.array([simulate.element_amounts(i, cfg)[el] for i in range(n)])
             for el in WINDOWS}
    return cfg, frames, i0, known


def test_the_shipped_configuration_fits_the_simulators_lines():
    loaded = xc.load_config(CFG)
    assert loaded.warning is None
    assert loaded.peaks == {"Ca": "K", "Mn": "K", "Fe": "K", "Cu": "K", "Zn": "K", "As": "K",
                            "Pb": "L"}
    assert loaded.config["fit"]["energy"][0] == simulate.xrf.OVERLAP_BEAM_ENERGY
    zero, gain = xc.calibration_from_axis(simulate.xrf.energy_axis(4096))
    assert loaded.config["detector"]["gain"] == pytest.approx(gain)
    assert loaded.config["detector"]["zero"] == pytest.approx(zero)


def test_windows_mix_overlapping_elements_and_the_fit_separates_them():
    cfg, frames, i0, known = scan()
    energy = simulate.energy_axis(cfg)
    config = xc.load_config(CFG)
    # one detector element (gain 1.0): the model is the simulator's lines
    single = xf.fit_stack(frames, xf.XrfFitStep(config, cfg.frame, elements=(2,)))
    # all four summed: their gains differ by up to 0.9 %, which the one calibration ignores
    summed = xf.fit_stack(frames, xf.XrfFitStep(config, cfg.frame))
    for el, (lo, hi) in WINDOWS.items():
        own, wrong = known[el], known[PARTNER[el]]
        window = frames[:, :, (energy >= lo) & (energy <= hi)].sum(axis=(1, 2)) / i0
        fit1 = single.areas[:, single.groups.index(GROUP[el])] / i0
        fit4 = summed.areas[:, summed.groups.index(GROUP[el])] / i0
        assert np.corrcoef(fit1, own)[0, 1] > 0.99, el
        assert abs(share(fit1, own, wrong)) < 0.03, el
        assert np.corrcoef(fit4, own)[0, 1] > 0.97, el
        if el == "Mn":          # Mn's Ka window holds no Fe line: a window is right there
            assert abs(share(window, own, wrong)) < 0.01
            continue
        # Fe Ka holds Mn Kb; As Ka and Pb La coincide
        assert share(window, own, wrong) > 0.1, el
        assert abs(share(fit4, own, wrong)) < 0.3 * share(window, own, wrong), el
    as_window = frames[:, :, (energy >= 10.4) & (energy <= 10.7)].sum(axis=(1, 2)) / i0
    assert np.corrcoef(as_window, known["Pb"])[0, 1] > 0.45       # looks like the Pb map
    assert np.corrcoef(known["As"], known["Pb"])[0, 1] < -0.1      # which it is not


@pytest.mark.slow
def test_the_fit_of_a_written_scan_equals_fastxrflinearfit_on_the_finished_file(sim_writer):
    cfg = simulate.SimConfig(shape=(8, 12), detector="xrf", elements=4, channels=4096,
                             overlap=True, rate=2000.0, snake=True)
    path, proc = sim_writer(cfg)
    proc.join(60)
    assert proc.exitcode == 0
    with h5py.File(path, "r") as f:
        data = f[simulate.DATA_PATH][...].reshape(cfg.n_points, *cfg.frame)
        i0 = f[simulate.I0_PATH][...].ravel()
    config = xc.load_config(CFG)
    step = xf.XrfFitStep(config, cfg.frame)
    live = np.concatenate([step(data[lo:lo + 7]) for lo in range(0, cfg.n_points, 7)])
    final = xf.fit_stack(data, step)
    out = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=data.sum(axis=1), configuration=copy.deepcopy(config.config), refit=True)
    labels = list(out.labels("parameters"))
    g = len(step.groups)
    unchanged = (live[:, :g] >= 0).all(axis=1)        # the points the refit leaves alone
    assert 0 < unchanged.sum() < cfg.n_points
    for j, name in enumerate(step.groups):
        direct = out["parameters"][labels.index(name)]
        scale = np.abs(direct).max()
        assert np.abs(final.areas[:, j] - direct).max() < 1e-3 * scale, name
        np.testing.assert_allclose(live[unchanged, j], final.areas[unchanged, j], rtol=1e-9,
                                   atol=1e-9 * scale, err_msg=name)
        np.testing.assert_allclose(
            final.sigma[:, j], out["uncertainties"][labels.index(name)], rtol=1e-6)
    np.testing.assert_allclose(live[unchanged, 2 * g], final.chisq[unchanged], rtol=1e-9)
    known = np.array([simulate.element_amounts(i, cfg)["Pb"] for i in range(cfg.n_points)])
    pb = final.areas[:, step.groups.index("Pb L")] / i0
    assert np.corrcoef(pb, known)[0, 1] > 0.97
