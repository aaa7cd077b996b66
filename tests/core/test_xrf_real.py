"""The XRF fit on real beamline files (I18 xspress3 and Savu's fluo.nxs) with the configurations
shipped in tests/data (how they were chosen: tests/data/README.md)."""

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

DATA = Path(__file__).resolve().parents[1] / "data"


def fit_file(frames: np.ndarray, cfg_name: str):
    config = xc.load_config(DATA / cfg_name)
    assert config.warning is None
    step = xf.XrfFitStep(config, frames.shape[1:])
    return config, step, xf.fit_stack(frames, step)


def window(spectra: np.ndarray, config: xc.XrfConfig, lo: float, hi: float) -> np.ndarray:
    det = config.config["detector"]
    energy = det["zero"] + det["gain"] * np.arange(spectra.shape[-1])
    return spectra[..., (energy >= lo) & (energy <= hi)].sum(axis=-1)


def assert_equals_pymca(frames: np.ndarray, step: xf.XrfFitStep, stack: xf.StackFit) -> None:
    summed = frames.sum(axis=1) if frames.ndim == 3 else frames
    out = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=summed, configuration=copy.deepcopy(step.xrf.config), refit=True)
    labels = list(out.labels("parameters"))
    for j, name in enumerate(step.groups):
        direct = out["parameters"][labels.index(name)]
        assert np.abs(stack.areas[:, j] - direct).max() <= 1e-3 * np.abs(direct).max(), name


def test_i18_xspress3_map_cobalt_follows_its_window():
    """I18: 2 x 2 points of 10 x 4096 xspress3 MCAs (elements 0-5 empty), 13 keV beam; Co is
    the main fluorescence line (the file's own Co_K window counts agree)."""
    with h5py.File(DATA / "i18_test_data.nxs", "r") as f:
        mcas = f["entry1/instrument/xspress3/MCAs"][...].reshape(4, 10, 4096)
        file_window = f["entry1/instrument/xspress3/Co_K"][...].reshape(4, 10).sum(axis=1)
    config, step, stack = fit_file(mcas, "xrf_i18_test_data.cfg")
    assert step.groups[:7] == ("Ar K", "Ti K", "Cr K", "Fe K", "Co K", "Ni K", "Re L")
    assert np.isfinite(stack.areas).all() and np.isfinite(stack.sigma).all()
    assert np.isfinite(stack.chisq).all() and (stack.chisq < 30).all()
    co = stack.areas[:, step.groups.index("Co K")]
    assert (co > 20 * stack.sigma[:, step.groups.index("Co K")]).all()
    assert np.argmax(stack.areas[:, :7].sum(axis=0)) == step.groups.index("Co K")   # main
    ours = window(mcas.sum(axis=1), config, 6.80, 7.06)
    assert np.corrcoef(co, ours)[0, 1] > 0.9
    assert np.corrcoef(co, file_window)[0, 1] > 0.9
    assert_equals_pymca(mcas, step, stack)


def test_fluo_nxs_map_zinc_follows_its_window():
    """Savu's fluo.nxs: 2 x 2 x 2 spectra of 4096 channels, 17 keV beam; its energy axis says
    20 eV a channel, which puts the elastic peak at 34 keV: the configuration is calibrated
    on two peaks instead. Zn is the main element."""
    with h5py.File(DATA / "fluo.nxs", "r") as f:
        spectra = f["entry1/fluo_entry/data/data"][...].reshape(8, 4096)
        axis = f["entry1/fluo_entry/data/energy"][...] / 1000.0
        mono = f["entry1/fluo_entry/instrument/monochromator/energy"][()] / 1000.0
    config, step, stack = fit_file(spectra, "xrf_fluo.cfg")
    total = spectra.sum(axis=0)
    above = np.nonzero(total > 0.2 * total.max())[0].max()          # the highest-energy peak
    elastic = int(above - 20 + np.argmax(total[above - 20:above + 1]))
    assert axis[elastic] == pytest.approx(2 * mono, rel=0.01)          # the file's axis
    det = config.config["detector"]
    assert det["zero"] + det["gain"] * elastic == pytest.approx(mono, abs=0.02)
    assert np.isfinite(stack.areas).all() and np.isfinite(stack.chisq).all()
    zn = stack.areas[:, step.groups.index("Zn K")]
    assert np.argmax(stack.areas[:, :8].sum(axis=0)) == step.groups.index("Zn K")
    assert np.corrcoef(zn, window(spectra, config, 8.50, 8.78))[0, 1] > 0.9
    assert_equals_pymca(spectra, step, stack)
