"""Fitted XRF maps through a Session: ``fitted`` channels of the ``xrf-fit`` step, live block
results, and at the end of the scan the whole-stack pass with PyMca's refit rule, so the
finished maps equal FastXRFLinearFit over the whole stack."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyMca5")

from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit  # noqa: E402

from swmrview.core.compute import xrf_config as xc  # noqa: E402
from swmrview.core.compute import xrf_fit as xf  # noqa: E402
from swmrview.core.compute.channels import Channel  # noqa: E402
from swmrview.model.status import FINISHED  # noqa: E402
from swmrview.model.view_settings import ViewSettings  # noqa: E402
from swmrview.tools import simulate  # noqa: E402
from swmrview.tools.simulate import SimConfig, write_scan  # noqa: E402

CFG = Path(__file__).resolve().parents[1] / "data" / "xrf_simulated_overlap.cfg"
SIM = SimConfig(shape=(6, 8), detector="xrf", elements=4, channels=4096, overlap=True,
                rate=1e5)
PB = Channel("Pb/I0", "fitted", column="Pb L", monitor=simulate.I0_PATH)
AS = Channel("As", "fitted", column="As K")
CHI = Channel("chi2", "fitted", column="chisq")
SIGMA = Channel("Pb sigma", "fitted", column="Pb L sigma")


@pytest.fixture(scope="module")
def overlap_scan(tmp_path_factory):
    """A finished simulated XRF scan with overlapping lines (written in this process), its
    frames, I0, and the fit of the whole stack by swmrview and by PyMca."""
    path = tmp_path_factory.mktemp("xrf") / "overlap.h5"
    write_scan(path, SIM)
    frames = np.array([simulate.expected_frame(i, SIM) for i in range(SIM.n_points)])
    i0 = np.array([simulate.expected_i0(i, SIM) for i in range(SIM.n_points)])
    config = xc.load_config(CFG)
    step = xf.XrfFitStep(config, SIM.frame)
    out = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=frames.sum(axis=1), configuration=copy.deepcopy(config.config), refit=True)
    labels = list(out.labels("parameters"))
    pymca = {name: out["parameters"][labels.index(name)] for name in step.groups}
    return path, frames, i0, config, step, pymca


def use(f, channels):
    f.state.set_channels(channels)
    f.session.set_channels(channels)


def test_finished_fitted_maps_equal_fastxrflinearfit_over_the_whole_stack(follow,
                                                                           overlap_scan):
    path, frames, i0, config, step, pymca = overlap_scan
    f = follow(path, xrf=config)
    first_finished = {}
    f.until(lambda f: f.state is not None)
    original = f.state.apply

    def apply(update):
        original(update)
        if update.status.kind == FINISHED and not first_finished:
            first_finished.update({c.name: f.state.values(c.name).ravel().copy()
                                   for c in (PB, AS, CHI, SIGMA)})

    f.state.apply = apply
    use(f, (PB, AS, CHI, SIGMA))
    f.until_ended()
    assert f.session.status.kind == FINISHED
    live = step(frames)
    pb = step.groups.index("Pb L")
    negative = live[:, pb] < 0
    assert negative.sum() >= 0.0025 * len(frames)      # PyMca refits these: not zeroes them
    final = xf.fit_stack(frames, step)
    for channel, column, scale in ((PB, "Pb L", i0), (AS, "As K", 1.0)):
        got = f.state.values(channel.name).ravel()
        want = pymca[column] / scale
        assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max(), channel.name
        # the first finished update already carried the finished maps (headless exports)
        np.testing.assert_allclose(first_finished[channel.name], got, rtol=1e-12)
    np.testing.assert_allclose(f.state.values("chi2").ravel(), final.chisq, rtol=1e-9)
    np.testing.assert_allclose(f.state.values("Pb sigma").ravel(), final.sigma[:, pb],
                               rtol=1e-9)
    # refitted points differ from their block result; the status said the pass ran
    assert not np.allclose(f.state.values("Pb/I0").ravel()[negative],
                           live[negative, pb] / i0[negative])
    assert any(s.message.startswith("Finishing: the whole-stack XRF fit") for s in f.statuses)
    assert f.kinds.index(FINISHED) > [s.message[:9] for s in f.statuses].index("Finishing")
    # every point's fit is kept (what the export writes and the frame view shows)
    positions = f.session.acquired.positions()
    kept = f.session.results.get("xrf-fit", positions)
    np.testing.assert_allclose(kept, final.results()[np.ravel_multi_index(positions.T,
                                                                           SIM.shape)],
                               rtol=1e-9, atol=1e-6)
    assert "xrf-fit" in f.infos[-1].steps and "Pb L" in list(f.infos[-1].steps["xrf-fit"].x)


def test_a_fitted_channel_of_some_detector_elements_is_a_fit_of_their_sum(follow,
                                                                          overlap_scan):
    path, frames, i0, config, _step, _pymca = overlap_scan
    one = Channel("Fe of 2", "fitted", column="Fe K", elements=(2,))
    assert one.step_key == "xrf-fit[2]"
    f = follow(path, xrf=config)
    f.until(lambda f: f.state is not None)
    use(f, (one,))
    f.until_ended()
    want = xf.fit_stack(frames, xf.XrfFitStep(config, SIM.frame, elements=(2,)))
    np.testing.assert_allclose(f.state.values("Fe of 2").ravel(),
                               want.areas[:, want.groups.index("Fe K")], rtol=1e-9)
    assert set(f.session.scan.channels.steps.built()) == {"xrf-fit", "xrf-fit[2]"}


def test_fitted_channels_that_cannot_be_made_are_refused_with_the_reason(follow, overlap_scan,
                                                                         tmp_path):
    path, *_rest, config, _step, _pymca = overlap_scan
    f = follow(path)                                    # no configuration
    f.until(lambda f: f.state is not None)
    use(f, (AS,))
    f.until_ended()
    refused = f.session.scan.channels.refused
    assert "no XRF fit configuration" in refused["As"] and "--xrf-config" in refused["As"]
    assert "xrf-fit" not in f.infos[-1].steps           # nothing runs without one
    f.close()                                           # one reader of the file at a time
    g = follow(path, xrf=config)
    g.until(lambda g: g.state is not None)
    use(g, (Channel("Au", "fitted", column="Au L"),))
    g.until_ended()
    said = g.session.scan.channels.refused["Au"]
    assert "the fit has no 'Au L' (it fits Ca K, Mn K" in said and "chisq" not in said
    g.close()
    # the settings' xrf_config is used when no --xrf-config is given
    (tmp_path / "fit.cfg").write_text(CFG.read_text())
    h = follow(path, view=ViewSettings(xrf_config=str(tmp_path / "fit.cfg")))
    h.until(lambda h: h.state is not None)
    use(h, (AS,))
    h.until_ended()
    assert "As" not in h.session.scan.channels.refused
    assert np.isfinite(h.state.values("As")).all()


@pytest.mark.slow
def test_a_live_scan_shows_block_results_then_the_finished_fit(follow, sim_writer):
    """A real writer process: while the scan runs the maps are the block results; when it
    finishes they are the whole-stack fit of the file."""
    cfg = SimConfig(shape=(8, 10), detector="xrf", elements=4, channels=4096, overlap=True,
                    rate=12.0)
    path, proc = sim_writer(cfg)
    config = xc.load_config(CFG)
    f = follow(path, xrf=config, timeout=20.0)
    f.until(lambda f: f.state is not None, timeout=30)
    use(f, (PB, AS))
    f.until(lambda f: 0 < f.state.n_acquired < cfg.n_points, timeout=30)
    assert f.session.status.kind != FINISHED
    acquired = f.state.acquired_positions()
    during = f.state.values("Pb/I0")[tuple(acquired.T)].copy()
    f.until_ended(timeout=60)
    proc.join(30)
    assert f.session.status.kind == FINISHED
    frames = np.array([simulate.expected_frame(i, cfg) for i in range(cfg.n_points)])
    i0 = np.array([simulate.expected_i0(i, cfg) for i in range(cfg.n_points)])
    step = xf.XrfFitStep(config, cfg.frame)
    final = xf.fit_stack(frames, step)
    pb = final.areas[:, step.groups.index("Pb L")] / i0
    got = f.state.values("Pb/I0").ravel()
    assert np.abs(got - pb).max() <= 1e-3 * np.abs(pb).max()
    assert final.refitted > 0
    # meanwhile the maps were the block results of the points read (negative areas and all)
    index = np.ravel_multi_index(acquired.T, cfg.shape)
    block = step(frames[index])[:, step.groups.index("Pb L")] / i0[index]
    finite = np.isfinite(during)
    assert finite.sum() > 0
    np.testing.assert_allclose(during[finite], block[finite], rtol=1e-9)
