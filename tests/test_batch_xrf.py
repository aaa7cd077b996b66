"""``swmrview map --settings VIEW.json --xrf-config FIT.cfg``: fitted maps in batch, split into
tasks, then PyMca's whole-stack refit per file: equal to FastXRFLinearFit(refit=True) on the
file, as the viewer's finished maps are."""

from __future__ import annotations

import copy
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("PyMca5")

from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit  # noqa: E402

from swmrview.core.compute import xrf_config as xc  # noqa: E402
from swmrview.core.compute.channels import Channel  # noqa: E402
from swmrview.model.view_settings import ViewSettings  # noqa: E402
from swmrview.tools import simulate  # noqa: E402
from swmrview.tools.batch import compute_maps, plan_file  # noqa: E402
from swmrview.tools.batch.cli import main as map_main  # noqa: E402
from swmrview.tools.batch.steps import Processing  # noqa: E402
from swmrview.tools.batch.xrf import finish_maps  # noqa: E402

CFG = Path(__file__).resolve().parent / "data" / "xrf_simulated_overlap.cfg"
SIM = simulate.SimConfig(shape=(5, 8), detector="xrf", elements=4, channels=4096,
                         overlap=True, rate=1e5)
PB = Channel("Pb", "fitted", column="Pb L")
AS2 = Channel("As of 2", "fitted", column="As K", elements=(2,))


@pytest.fixture(scope="module")
def overlap(tmp_path_factory):
    path = tmp_path_factory.mktemp("xrf-batch") / "scan.h5"
    simulate.write_scan(path, SIM)
    frames = np.array([simulate.expected_frame(i, SIM) for i in range(SIM.n_points)])
    return path, frames


def pymca(spectra, config):
    out = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=spectra, configuration=copy.deepcopy(config.config), refit=True)
    labels = list(out.labels("parameters"))
    return {name: out["parameters"][i].reshape(SIM.shape) for i, name in enumerate(labels)}


def close(got, want):
    return np.abs(got - want).max() <= 1e-3 * np.abs(want).max()


def test_batch_fitted_maps_equal_fastxrflinearfit_after_the_whole_stack_pass(overlap):
    path, frames = overlap
    config = xc.load_config(CFG)
    processing = Processing((PB, AS2), xrf=config.text, xrf_source=str(CFG))
    plans = [plan_file(str(path))]
    maps = compute_maps(plans, workers=0, processing=processing, progress=False,
                        frames_per_task=7)                      # 6 tasks
    block = maps[0]["Pb"].copy()
    assert finish_maps(plans, maps, processing) > 0             # PyMca refits some points
    (values,) = maps
    want = pymca(frames.sum(axis=1), config)
    assert close(values["Pb"], want["Pb L"])
    assert not np.allclose(block, values["Pb"])                 # the pass changed the map
    assert close(values["As of 2"], pymca(frames[:, 2], config)["As K"])
    assert values["xrf-fit"].shape == SIM.shape + (19,)
    assert list(values["xrf-fit/x"][:2]) == ["Ca K", "Mn K"]


def test_the_map_command_writes_fitted_maps_and_the_fit(overlap, tmp_path):
    path, frames = overlap
    settings = tmp_path / "view.json"
    ViewSettings(channels=(PB,), shown="Pb", xrf_config=str(CFG)).save(settings)
    out = tmp_path / "maps.nxs"
    assert map_main([str(path), "--out", str(out), "--settings", str(settings),
                     "--workers", "0", "--quiet"]) == 0
    config = xc.load_config(CFG)
    want = pymca(frames.sum(axis=1), config)
    with h5py.File(out, "r") as f:
        (entry,) = f.values()
        assert close(entry["map/Pb"][()], want["Pb L"])
        fit = entry["xrf_fit"]
        groups = [g.decode() if isinstance(g, bytes) else g for g in fit["line_group"][()]]
        for j, name in enumerate(groups):
            assert close(fit["areas"][..., j], want[name]), name
        text = fit["configuration"][()]
        text = text.decode() if isinstance(text, bytes) else text
    assert xc.config_from_text(text).text == config.text
    bad = tmp_path / "bad.cfg"
    bad.write_text("[[[")
    assert map_main([str(path), "--out", str(tmp_path / "x.nxs"), "--xrf-config", str(bad),
                     "--workers", "0", "--quiet"]) == 2
    assert not (tmp_path / "x.nxs").exists()
