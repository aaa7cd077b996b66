"""The ``swmrview`` command with diffraction: ``--simulate --xrd``, ``--poni`` (bad ones exit
2 naming the file, pyFAI's traceback kept out) and a headless q-window map equal to pyFAI."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.core.compute.channels import Channel
from swmrview.model.view_settings import ViewSettings
from tests import xrd_reference as ref
from tests.test_cli import run_cli

pytestmark = pytest.mark.slow   # every test here starts a process
pytest.importorskip("pyFAI")


def test_simulated_xrd_scan_mapped_headless_equals_pyfai(tmp_path):
    scan = tmp_path / "xrd.h5"
    result = run_cli(["--simulate", scan, "--xrd", "--shape", "3x4", "--frame", "128x128",
                      "--rate", "200"], tmp_path)
    assert result.returncode == 0, result.stderr
    poni = tmp_path / "xrd.poni"
    assert poni.exists() and "geometry in" in result.stdout
    with h5py.File(scan, "r") as f:
        assert f["/entry/diamond_scan/scan_finished"][0] == 1
        assert (f["/entry/diamond_scan/keys/uniqueKeys"][()] > 0).all()
        assert f["/entry/instrument/detector/pixel_mask"][()].any()
    settings = tmp_path / "view.json"
    ViewSettings(channels=(Channel("CeO2", "q-window", bounds=(19.6, 20.6)),),
                 shown="CeO2").save(settings)
    out = tmp_path / "ceo2.csv"
    result = run_cli([scan, "--poni", poni, "--settings", settings, "--exit-on-finish",
                      "--export-map", out], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Unable to import pyOpenCl" not in result.stderr
    radial, full = ref.patterns(scan, poni)
    np.testing.assert_allclose(np.loadtxt(out, delimiter=",", comments="#"),
                               ref.window(radial, full, 19.6, 20.6), rtol=1e-6)


@pytest.mark.parametrize("content", [None, b"\x89HDF\r\n\x1a\n\x00\x00binary", b"hello\n",
                                     "truncated"])
def test_a_bad_poni_file_exits_2_naming_it_without_a_traceback(tmp_path, content):
    from swmrview.tools.simulate.xrd import write_poni

    poni = tmp_path / "geometry.poni"
    if content == "truncated":
        write_poni(poni, (64, 64))
        poni.write_text(poni.read_text()[:190])
    elif content is not None:
        poni.write_bytes(content)
    result = run_cli([tmp_path / "scan.h5", "--poni", poni, "--exit-on-finish"], tmp_path)
    assert result.returncode == 2
    assert "geometry.poni" in result.stderr
    assert "Traceback" not in result.stderr and " ERROR " not in result.stderr
    assert not (tmp_path / "scan.h5").exists()
