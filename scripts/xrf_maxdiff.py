"""The figures of issue 18: fitted maps against PyMca's FastXRFLinearFit, and windows against
the fit on the overlapping simulator.

1. For the simulator's ``--overlap`` scan (followed by a Session, as the viewer runs it: block
   results, then the end-of-scan pass) and the two real files with their shipped
   configurations (the whole-stack pass): the largest |difference| of each line group's map from
   ``FastXRFLinearFit.fitMultipleSpectra(refit=True)``, over that map's maximum.
2. On the simulator: how much of each window map and each fitted map is the wrong element
   (regressed on both known maps: 0 is none) and its correlation with the right known map.

Run: ``PYTHONPATH=. .venv/bin/python scripts/xrf_maxdiff.py [--shape 20x30]``
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit  # noqa: E402

from swmrview.core.compute import xrf_config as xc  # noqa: E402
from swmrview.core.compute import xrf_fit as xf  # noqa: E402
from swmrview.core.compute.channels import Channel  # noqa: E402
from swmrview.tools import simulate  # noqa: E402
from tests.conftest import Follow  # noqa: E402

DATA = ROOT / "tests" / "data"
WINDOWS = {"Mn": (5.75, 6.05), "Fe": (6.25, 6.55), "As": (10.40, 10.70), "Pb": (10.40, 10.70)}
PARTNER = {"Mn": "Fe", "Fe": "Mn", "As": "Pb", "Pb": "As"}
GROUP = {"Mn": "Mn K", "Fe": "Fe K", "As": "As K", "Pb": "Pb L"}


def pymca(spectra, config):
    out = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=spectra, configuration=copy.deepcopy(config.config), refit=True)
    labels = list(out.labels("parameters"))
    return {name: out["parameters"][i].ravel() for i, name in enumerate(labels)}


def table(title, groups, ours, theirs):
    print(f"\n{title}")
    for j, name in enumerate(groups):
        want = theirs[name]
        print(f"  {name:20s} max |diff| / max {np.abs(ours[:, j] - want).max() / np.abs(want).max():.2g}"
              f"   (map max {np.abs(want).max():.4g})")


def share(values, own, wrong):
    design = np.stack([own, wrong, np.ones_like(own)], axis=1)
    a, b, _c = np.linalg.lstsq(design, values, rcond=None)[0]
    return float(b * wrong.mean() / (a * own.mean()))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--shape", default="20x30")
    shape = tuple(int(v) for v in p.parse_args().shape.split("x"))
    sim = simulate.SimConfig(shape=shape, detector="xrf", elements=4, channels=4096,
                             overlap=True, rate=1e5)
    config = xc.load_config(DATA / "xrf_simulated_overlap.cfg")
    frames = np.array([simulate.expected_frame(i, sim) for i in range(sim.n_points)])
    i0 = np.array([simulate.expected_i0(i, sim) for i in range(sim.n_points)])
    step = xf.XrfFitStep(config, sim.frame)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "overlap.h5"
        simulate.write_scan(path, sim)
        channels = tuple(Channel(g, "fitted", column=g) for g in step.groups)
        f = Follow(path, xrf=config)
        f.until(lambda f: f.state is not None)
        f.state.set_channels(channels)
        f.session.set_channels(channels)
        f.until_ended()
        live = np.stack([f.state.values(g).ravel() for g in step.groups], axis=1)
        f.close()
    table(f"simulator --overlap {sim.shape}, 4 x 4096, a Session (block results + the "
          f"end-of-scan pass) vs FastXRFLinearFit(refit=True)", step.groups, live,
          pymca(frames.sum(axis=1), config))

    with h5py.File(DATA / "i18_test_data.nxs", "r") as h:
        mcas = h["entry1/instrument/xspress3/MCAs"][...].reshape(4, 10, 4096)
    cfg = xc.load_config(DATA / "xrf_i18_test_data.cfg")
    s = xf.XrfFitStep(cfg, mcas.shape[1:])
    table("i18_test_data.nxs (2 x 2 points, 10 x 4096), fit_stack vs FastXRFLinearFit",
          s.groups, xf.fit_stack(mcas, s).areas, pymca(mcas.sum(axis=1), cfg))
    with h5py.File(DATA / "fluo.nxs", "r") as h:
        spectra = h["entry1/fluo_entry/data/data"][...].reshape(8, 4096)
    cfg = xc.load_config(DATA / "xrf_fluo.cfg")
    s = xf.XrfFitStep(cfg, (4096,))
    table("fluo.nxs (2 x 2 x 2 spectra), fit_stack vs FastXRFLinearFit",
          s.groups, xf.fit_stack(spectra, s).areas, pymca(spectra, cfg))

    known = {el: np.array([simulate.element_amounts(i, sim)[el] for i in range(sim.n_points)])
             for el in WINDOWS}
    energy = simulate.energy_axis(sim)
    single = xf.fit_stack(frames, xf.XrfFitStep(config, sim.frame, elements=(2,)))
    summed = xf.fit_stack(frames, step)
    print(f"\nwindows vs fit, simulator --overlap {sim.shape}: share of the wrong element "
          "(0: none) and correlation with the right known map")
    print(f"  {'map':4s} {'wrong':5s} {'window':>16s} {'fit, element 2':>16s} "
          f"{'fit, 4 summed':>16s}")
    for el, (lo, hi) in WINDOWS.items():
        own, wrong = known[el], known[PARTNER[el]]
        window = frames[:, :, (energy >= lo) & (energy <= hi)].sum(axis=(1, 2)) / i0
        fit1 = single.areas[:, single.groups.index(GROUP[el])] / i0
        fit4 = summed.areas[:, summed.groups.index(GROUP[el])] / i0
        cells = [f"{share(v, own, wrong):+.3f} r={np.corrcoef(v, own)[0, 1]:.3f}"
                 for v in (window, fit1, fit4)]
        print(f"  {el:4s} {PARTNER[el]:5s} " + " ".join(f"{c:>16s}" for c in cells))
    print(f"  (known maps: corr(As, Pb) = {np.corrcoef(known['As'], known['Pb'])[0, 1]:.3f}, "
          f"corr(Mn, Fe) = {np.corrcoef(known['Mn'], known['Fe'])[0, 1]:.3f})")


if __name__ == "__main__":
    main()
