"""``swmrview map --settings VIEW.json``: q-window maps and patterns in batch equal pyFAI's
integrate1d (and so the live ones), in this process and through the command line."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

pytest.importorskip("pyFAI")

from swmrview.core.compute.channels import Channel  # noqa: E402
from swmrview.core.compute.integrate import Integration  # noqa: E402
from swmrview.model.view_settings import ViewSettings  # noqa: E402
from swmrview.tools.batch import compute_maps, plan_file  # noqa: E402
from swmrview.tools.batch.steps import Processing  # noqa: E402
from swmrview.tools.simulate import SimConfig, write_scan  # noqa: E402
from swmrview.tools.simulate.xrd import write_poni  # noqa: E402
from tests import xrd_reference as ref  # noqa: E402

CHANNELS = (Channel("CeO2", "q-window", bounds=(19.6, 20.6)),
            Channel("sector", "q-window", bounds=(19.6, 20.6), azimuth=(-90, 0)),
            Channel("LaB6 bg", "q-window", bounds=(14.6, 15.6), background="linear"))


@pytest.fixture(scope="module")
def xrd_scan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xrd-batch")
    path, poni = folder / "scan.h5", folder / "scan.poni"
    cfg = SimConfig(shape=(3, 5), frame=(128, 128), rate=1e5, detector="xrd")
    write_poni(poni, cfg.frame)
    write_scan(path, cfg)
    return path, poni


def test_batch_q_windows_and_patterns_equal_pyfai(xrd_scan):
    path, poni = xrd_scan
    processing = Processing(CHANNELS, Integration(npt=500), str(poni))
    (maps,) = compute_maps([plan_file(str(path))], workers=0, processing=processing,
                           progress=False, frames_per_task=4)     # 4 tasks
    radial, full = ref.patterns(path, poni, npt=500)
    _, sector = ref.patterns(path, poni, npt=500, azimuth=(-90, 0))
    np.testing.assert_allclose(maps["integrate/x"], radial)
    np.testing.assert_allclose(maps["integrate"], full, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(maps["CeO2"], ref.window(radial, full, 19.6, 20.6), rtol=1e-6)
    np.testing.assert_allclose(maps["sector"], ref.window(radial, sector, 19.6, 20.6),
                               rtol=1e-6)
    assert np.isfinite(maps["LaB6 bg"]).all() and "PONI file" in maps["integrate/describe"]


@pytest.mark.slow
def test_map_command_with_settings_writes_maps_and_patterns_on_dask(xrd_scan, tmp_path):
    import subprocess
    import sys

    path, poni = xrd_scan
    settings = tmp_path / "view.json"
    ViewSettings(channels=CHANNELS[:1], integration=Integration(poni=str(poni))).save(settings)
    out = tmp_path / "maps.nxs"
    result = subprocess.run([sys.executable, "-m", "swmrview", "map", str(path), "--settings",
                             str(settings), "--out", str(out), "--workers", "2", "--quiet"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    radial, full = ref.patterns(path, poni)
    with h5py.File(out, "r") as f:
        entry = f["scan"]
        np.testing.assert_allclose(entry["map/CeO2"][()], ref.window(radial, full, 19.6, 20.6),
                                   rtol=1e-6)
        np.testing.assert_allclose(entry["integrate/data"][()], full, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(entry["integrate/x"][()], radial)
    bad = tmp_path / "bad.poni"
    bad.write_text("Distance: 0.1\n")
    result = subprocess.run([sys.executable, "-m", "swmrview", "map", str(path), "--poni",
                             str(bad), "--out", str(tmp_path / "x.nxs"), "--workers", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "bad.poni" in result.stderr
    assert "Traceback" not in result.stderr
