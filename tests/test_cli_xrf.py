"""``--xrf-config``: a PyMca fit configuration from the command line or the view settings; a
missing or unparseable one exits 2 naming it before any window or file is opened."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PyMca5")

from swmrview import cli  # noqa: E402
from swmrview.model.view_settings import ViewSettings  # noqa: E402

CFG = Path(__file__).resolve().parent / "data" / "xrf_simulated_overlap.cfg"


@pytest.fixture
def options(monkeypatch):
    """The ViewerOptions the command line would start the window with (no window)."""
    seen = []
    import swmrview.gui.app as app

    monkeypatch.setattr(app, "run", lambda opts: seen.append(opts) or 0)
    return seen


@pytest.mark.parametrize("text, said", [
    (None, "missing.cfg: no such file"),
    ("[[[ not a config", "missing.cfg cannot be parsed"),
    ("[foo]\nbar = 1\n", "missing.cfg: no element lines to fit"),
])
def test_a_bad_xrf_config_exits_2_naming_it(tmp_path, capsys, options, text, said):
    cfg = tmp_path / "missing.cfg"
    if text is not None:
        cfg.write_text(text)
    scan = tmp_path / "scan.h5"
    assert cli.main([str(scan), "--xrf-config", str(cfg)]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("swmrview: error: ") and said in err
    assert options == [] and not scan.exists()


def test_the_settings_files_xrf_config_is_loaded_and_the_command_line_wins(tmp_path, capsys,
                                                                           options):
    (tmp_path / "fit.cfg").write_text(CFG.read_text())
    settings = tmp_path / "view.json"
    ViewSettings(xrf_config="fit.cfg").save(settings)
    assert cli.main([str(tmp_path / "scan.h5"), "--settings", str(settings)]) == 0
    assert options[-1].xrf.source == str(tmp_path / "fit.cfg")
    assert "Pb" in options[-1].xrf.peaks
    other = tmp_path / "other.cfg"
    other.write_text("[peaks]\nFe = K\n")           # parseable, no [fit]: PyMca's defaults
    assert cli.main([str(tmp_path / "scan.h5"), "--settings", str(settings),
                     "--xrf-config", str(other)]) == 0
    assert options[-1].xrf.source == str(other) and options[-1].xrf.peaks == {"Fe": "K"}
    err = capsys.readouterr().err
    assert "swmrview: warning: " in err and "other.cfg has no [fit] section" in err
    (tmp_path / "fit.cfg").unlink()
    assert cli.main([str(tmp_path / "scan.h5"), "--settings", str(settings)]) == 2
    assert "fit.cfg: no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_headless_export_of_a_fitted_map_and_the_live_nexus_fit(tmp_path):
    """``--xrf-config`` with a settings file showing a fitted channel / I0: the exported map
    is the whole-stack fit (PyMca's refit) over I0, and the live NeXus export holds the areas,
    uncertainties, chisq and the configuration as text, which rebuild the same fit."""
    import copy

    import h5py
    import numpy as np
    from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit

    from swmrview.core.compute import xrf_config as xc
    from swmrview.core.compute.channels import Channel
    from swmrview.tools import simulate
    from tests.test_cli import run_cli

    cfg = simulate.SimConfig(shape=(5, 8), detector="xrf", elements=4, channels=4096,
                             overlap=True, rate=1e5)
    data = tmp_path / "scan.h5"
    simulate.write_scan(data, cfg)
    settings = tmp_path / "view.json"
    ViewSettings(channels=(Channel("Pb/I0", "fitted", column="Pb L",
                                   monitor=simulate.I0_PATH),),
                 shown="Pb/I0").save(settings)
    out, nexus = tmp_path / "pb.csv", tmp_path / "fit.nxs"
    result = run_cli([data, "--settings", settings, "--xrf-config", CFG, "--exit-on-finish",
                      "--export-map", out, "--export-nexus", nexus], tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    frames = np.array([simulate.expected_frame(i, cfg) for i in range(cfg.n_points)])
    i0 = np.array([simulate.expected_i0(i, cfg) for i in range(cfg.n_points)])
    config = xc.load_config(CFG)
    direct = FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=frames.sum(axis=1), configuration=copy.deepcopy(config.config), refit=True)
    labels = list(direct.labels("parameters"))
    pb = direct["parameters"][labels.index("Pb L")].reshape(cfg.shape)
    got = np.loadtxt(out, delimiter=",", comments="#")
    want = pb / i0.reshape(cfg.shape)
    assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max()
    with h5py.File(nexus, "r") as f:
        fit = f["/entry/xrf_fit"]
        assert fit.attrs["signal"] == "areas" and "PyMca" in fit.attrs["description"]
        groups = [g.decode() if isinstance(g, bytes) else g for g in fit["line_group"][()]]
        assert groups[groups.index("Pb L")] == "Pb L" and fit["areas"].shape == (5, 8, 9)
        areas = fit["areas"][()]
        for j, name in enumerate(groups):
            want = direct["parameters"][labels.index(name)].reshape(cfg.shape)
            assert np.abs(areas[..., j] - want).max() <= 1e-3 * np.abs(want).max(), name
        np.testing.assert_allclose(
            fit["uncertainties"][..., groups.index("Pb L")],
            direct["uncertainties"][labels.index("Pb L")].reshape(cfg.shape), rtol=1e-6)
        assert np.isfinite(fit["chisq"][()]).all()
        text = fit["configuration"][()]
        text = text.decode() if isinstance(text, bytes) else text
        assert fit["configuration"].attrs["source"] == str(CFG)
    rebuilt = xc.config_from_text(text)
    assert rebuilt.peaks == config.peaks and rebuilt.text == config.text
