"""The XRF fit step: PyMca configurations, the linear basis per block, and the whole-stack pass
against PyMca's own FastXRFLinearFit on the same stack and configuration."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

pytest.importorskip("PyMca5")

from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit  # noqa: E402

from swmrview.core.compute import xrf_config as xc  # noqa: E402
from swmrview.core.compute import xrf_fit as xf  # noqa: E402
from swmrview.core.compute.steps import FrameStep  # noqa: E402

ELEMENTS = {"Ca": "K", "Mn": "K", "Fe": "K", "As": "K", "Pb": "L"}
CAL = (0.0025, 0.005)       # keV: channel centres of 4096 channels over 0-20.48 keV


def config(**kw) -> xc.XrfConfig:
    return xc.build_config(ELEMENTS, CAL, 15.0, channels=4096, **kw)


def synthetic(step: xf.XrfFitStep, n: int, zero_mn: int, seed: int = 1) -> np.ndarray:
    """MCA frames (n, 4, 4096) drawn from the fit's own model: known areas, Mn absent from the
    first ``zero_mn`` points (so its fitted area comes out negative in about half of them)."""
    rng = np.random.default_rng(seed)
    basis = step.basis
    amp = rng.uniform(0.2, 1.0, size=(n, len(basis.names))) * 4000
    amp[:, :basis.n_background] = (20.0, 0.001)[:basis.n_background] if not basis.strip else 0
    amp[:zero_mn, basis.names.index("Mn K")] = 0.0
    mean = np.full((n, 4096), 5.0)
    mean[:, basis.first:basis.stop] += amp @ basis.derivatives.T
    return rng.poisson(np.clip(mean, 0, None)[:, None, :] / 4, size=(n, 4, 4096)).astype(
        np.uint32)


def pymca(spectra: np.ndarray, cfg: xc.XrfConfig, refit: bool = True):
    """PyMca's FastXRFLinearFit run directly: {group: (areas, sigmas)}."""
    out = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=spectra, configuration=copy.deepcopy(cfg.config), refit=refit)
    labels = list(out.labels("parameters"))
    return {name: (out["parameters"][i], out["uncertainties"][i])
            for i, name in enumerate(labels)}


# ------------------------------------------------------------------------- configurations

def test_a_missing_or_unparseable_cfg_is_a_plain_error_naming_the_file(tmp_path):
    with pytest.raises(xc.XrfConfigError, match="nothere.cfg: no such file"):
        xc.load_config(tmp_path / "nothere.cfg")
    junk = tmp_path / "junk.cfg"
    junk.write_text("this is not\n[[[ a config\n")
    with pytest.raises(xc.XrfConfigError, match="junk.cfg cannot be parsed"):
        xc.load_config(junk)
    empty = tmp_path / "empty.cfg"
    empty.write_text("")
    with pytest.raises(xc.XrfConfigError, match="empty.cfg: not a PyMca fit configuration"):
        xc.load_config(empty)
    assert issubclass(xc.XrfConfigError, ValueError)


def test_a_file_without_fit_sections_is_merged_with_pymca_defaults_and_says_so(tmp_path):
    only_peaks = tmp_path / "peaks.cfg"
    only_peaks.write_text("[peaks]\nFe = K\n")
    loaded = xc.load_config(only_peaks)
    assert loaded.warning is not None and "peaks.cfg has no [fit] section" in loaded.warning
    assert "defaults" in loaded.warning
    assert loaded.peaks == {"Fe": "K"} and loaded.config["fit"]["xmin"] == 83   # PyMca's
    unrelated = tmp_path / "other.cfg"
    unrelated.write_text("[foo]\nbar = 1\n")
    with pytest.raises(xc.XrfConfigError, match=r"other.cfg: no element lines.*missing"):
        xc.load_config(unrelated)


def test_a_saved_configuration_loads_back_the_same(tmp_path):
    built = config()
    path = tmp_path / "built.cfg"
    path.write_text(built.text)
    loaded = xc.load_config(path)
    assert loaded.warning is None and loaded.peaks == built.peaks
    assert loaded.config["detector"]["gain"] == pytest.approx(CAL[1])
    assert loaded.config["fit"]["energy"][0] == 15.0
    again = xc.config_from_text(built.text)
    assert again.text == built.text


def test_build_config_picks_the_excited_line_families_and_the_fit_region():
    cfg = xc.build_config(["Fe", "As", "Pb", "Au"], CAL, 12.0, channels=4096)
    # at 12 keV: As K (edge 11.87) is excited, Pb only L3 (13.04) is not: M; Au L3 (11.92): L
    assert cfg.peaks == {"Fe": "K", "As": "K", "Pb": "M", "Au": ["L", "M"]}
    fit = cfg.config["fit"]
    assert fit["energy"][0] == 12.0
    assert fit["xmin"] == int(np.floor((1.0 - CAL[0]) / CAL[1]))
    assert fit["xmax"] == int(np.ceil((12.5 - CAL[0]) / CAL[1]))
    with pytest.raises(xc.XrfConfigError, match="unknown element 'Xx'"):
        xc.build_config(["Xx"], CAL, 12.0, channels=4096)
    with pytest.raises(xc.XrfConfigError, match="not.*excited|no line"):
        xc.build_config(["U"], CAL, 1.0, channels=4096)


def test_calibrations_from_an_energy_axis_and_from_two_peaks():
    axis = CAL[0] + CAL[1] * np.arange(4096)
    assert xc.calibration_from_axis(axis) == pytest.approx(CAL)
    # eV axes are the caller's to convert; two peaks: Fe Ka at channel 1280, Pb La at 2110
    zero, gain = xc.calibration_from_peaks(1280.0, 6.404, 2110.0, 10.551)
    assert zero + gain * 1280 == pytest.approx(6.404) and zero + gain * 2110 == pytest.approx(
        10.551)
    with pytest.raises(xc.XrfConfigError):
        xc.calibration_from_peaks(10, 6.4, 10, 7.0)
    with pytest.raises(xc.XrfConfigError):
        xc.calibration_from_axis(axis[::-1])


# ------------------------------------------------------------------------------- the step

def test_the_step_is_a_frame_step_with_pymca_names():
    step = xf.XrfFitStep(config(), (4, 4096), elements=(0, 2))
    assert isinstance(step, FrameStep)
    assert step.groups == ("Ca K", "Mn K", "Fe K", "As K", "Pb L", "Scatter Peak000",
                           "Scatter Compton000")
    assert step.labels[:2] == ("Ca K", "Mn K") and step.labels[-1] == "chisq"
    assert "Fe K sigma" in step.labels and len(step.labels) == 2 * len(step.groups) + 1
    text = step.describe()
    assert "PyMca 5.9" in text and "detector elements 0, 2 summed first" in text
    with pytest.raises(xc.XrfConfigError, match="outside"):
        xf.XrfFitStep(config(), (4, 4096), elements=(4,))
    with pytest.raises(xc.XrfConfigError, match="fit region"):
        xf.XrfFitStep(config(), (100,))


@pytest.mark.parametrize("weight, continuum", [(False, "linear"), (True, "linear"),
                                               (False, "snip"), (True, "snip")])
def test_block_results_equal_fastxrflinearfit_without_refit(weight, continuum):
    cfg = config(weight=weight, continuum=continuum)
    step = xf.XrfFitStep(cfg, (4, 4096))
    frames = synthetic(step, 120, zero_mn=30)
    blocks = np.concatenate([step(frames[lo:lo + 37]) for lo in range(0, 120, 37)])
    direct = pymca(frames.sum(axis=1), cfg, refit=False)
    g = len(step.groups)
    for j, name in enumerate(step.groups):
        areas, sigmas = direct[name]
        np.testing.assert_allclose(blocks[:, j], areas, rtol=0, atol=1e-9 * np.abs(areas).max(),
                                   err_msg=name)
        np.testing.assert_allclose(blocks[:, g + j], sigmas, rtol=1e-9, err_msg=name)
    if continuum == "linear":       # the refit's work to do (SNIP leaves Mn's a bias)
        assert (blocks[:30, step.groups.index("Mn K")] < 0).any()
    chisq = blocks[:, -1]
    assert np.isfinite(chisq).all() and (chisq > 0).all()
    if continuum == "linear":       # spectra drawn from the model itself: Poisson's 1
        assert 0.85 < np.median(chisq) < 1.2


@pytest.mark.parametrize("weight, continuum", [(False, "linear"), (True, "linear")])
def test_the_whole_stack_pass_equals_fastxrflinearfit_with_refit(weight, continuum):
    """PyMca's refit: negative areas refitted without that group when they are >= 0.25% of
    the stack; equal to FastXRFLinearFit(refit=True) within 1e-3 of each map's maximum."""
    cfg = config(weight=weight, continuum=continuum)
    step = xf.XrfFitStep(cfg, (4, 4096))
    frames = synthetic(step, 200, zero_mn=40)
    stack = xf.fit_stack(frames, step)
    direct = pymca(frames.sum(axis=1), cfg, refit=True)
    assert stack.refitted > 0
    for j, name in enumerate(step.groups):
        areas, sigmas = direct[name]
        worst = np.abs(stack.areas[:, j] - areas).max() / np.abs(areas).max()
        assert worst < 1e-3, (name, worst)
        np.testing.assert_allclose(stack.sigma[:, j], sigmas, rtol=1e-6, atol=1e-9,
                                   err_msg=name)
    mn = step.groups.index("Mn K")
    assert (stack.areas[:, mn] >= 0).all()
    assert (stack.areas[:40, mn] == 0).sum() > 10        # refitted without Mn: exactly zero
    live = step(frames)
    assert (live[:40, mn] < 0).any()                     # the block results had negatives


def test_few_negative_points_are_set_to_zero_not_refitted():
    """Under 0.25% of the stack: PyMca zeroes those areas instead of refitting them."""
    cfg = config()
    step = xf.XrfFitStep(cfg, (4, 4096))
    frames = synthetic(step, 1000, zero_mn=4, seed=0)
    live = step(frames)
    mn = step.groups.index("Mn K")
    negative = np.nonzero(live[:, mn] < 0)[0]
    assert 0 < len(negative) < 0.0025 * 1000
    stack = xf.fit_stack(frames, step)
    assert stack.refitted == 0
    assert (stack.areas[negative, mn] == 0).all() and (stack.sigma[negative, mn] == 0).all()
    others = np.setdiff1d(np.arange(1000), negative)
    np.testing.assert_array_equal(stack.areas[others], live[others, :len(step.groups)])
    direct = pymca(frames.sum(axis=1), cfg, refit=True)
    np.testing.assert_allclose(stack.areas[:, mn], direct["Mn K"][0], rtol=0,
                               atol=1e-9 * direct["Mn K"][0].max())


def test_the_step_is_thread_safe():
    step = xf.XrfFitStep(config(weight=True), (4, 4096))
    frames = synthetic(step, 64, zero_mn=0)
    want = step(frames)
    got: dict[int, np.ndarray] = {}

    def run(k: int) -> None:
        got[k] = np.concatenate([step(frames[i:i + 8]) for i in range(0, 64, 8)])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-9)


def test_the_fitted_curve_and_residual_of_one_frame():
    step = xf.XrfFitStep(config(), (4, 4096))
    frame = synthetic(step, 1, zero_mn=0)[0]
    energy, model, residual = step.curve(frame)
    basis = step.basis
    assert energy.shape == model.shape == (basis.stop - basis.first,)
    assert energy[0] == pytest.approx(CAL[0] + CAL[1] * basis.first)
    np.testing.assert_allclose(model + residual, frame.sum(axis=0)[basis.first:basis.stop])
    assert np.abs(residual).sum() < 0.2 * frame.sum()


@pytest.mark.parametrize("dtype, big", [(np.uint32, 2 ** 31), (np.uint16, 60000),
                                        (np.int32, 2 ** 30), (np.float32, 1e9)])
def test_detector_elements_are_summed_exactly_whatever_the_counts(dtype, big):
    """Counts summed as 32-bit integers when they cannot overflow, else as float64."""
    step = xf.XrfFitStep(config(), (4, 4096), elements=(0, 1, 3))
    frames = np.random.default_rng(0).integers(0, 50, size=(3, 4, 4096)).astype(dtype)
    frames[1, :, 1000] = big                   # three elements of it overflow 32 bits
    want = frames[:, [0, 1, 3]].astype(np.float64).sum(axis=1)[:, step.basis.first:
                                                                  step.basis.stop]
    np.testing.assert_array_equal(step.spectra(frames), want)
    np.testing.assert_array_equal(step.spectra(frames[:1]), want[:1])    # the small path


def test_the_end_of_scan_pass_reads_only_the_frames_it_refits():
    """Live, the block results are kept; at the end only the points with negative areas are
    read again, and the result is the whole-stack fit."""
    cfg = config()
    step = xf.XrfFitStep(cfg, (4, 4096))
    frames = synthetic(step, 200, zero_mn=40)
    rows = np.concatenate([step(frames[lo:lo + 16]) for lo in range(0, 200, 16)])
    negative = set(np.nonzero((rows[:, :len(step.groups)] < 0).any(axis=1))[0])
    read: list[int] = []

    def frames_of(which):
        assert list(which) == sorted(which)
        read.extend(int(i) for i in which)
        return frames[which]

    refitted = xf.refit_negative(step, rows, frames_of)
    assert refitted == len(read) > 0 and set(read) <= negative
    stack = xf.fit_stack(frames, step)
    np.testing.assert_allclose(rows, stack.results(), rtol=1e-9, atol=1e-6)
