"""Every real beamline file opens headless: exit 0 with a view, or exit 2 naming the reason.

The files are in ``../shared/data/real`` beside the checkout (the test skips without them).
The viewer runs as users run it: ``swmrview FILE --exit-on-finish`` in a subprocess.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.real_data import REAL, REAL_FILES as FILES
from tests.test_cli import run_cli

pytestmark = pytest.mark.slow   # every test here starts a process


@pytest.mark.skipif(not FILES, reason=f"no real files in {REAL}")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(REAL)) for p in FILES])
def test_real_file_opens_headless(path, tmp_path):
    csv, png = tmp_path / "map.csv", tmp_path / "shot.png"
    result = run_cli([path, "--exit-on-finish", "--timeout", "3", "--export-map", csv,
                      "--screenshot", png], tmp_path, timeout=120)
    err = result.stderr
    assert "Traceback" not in err, err
    assert result.returncode in (0, 2), err
    assert png.exists() and png.stat().st_size > 0
    if result.returncode == 2:
        assert "nothing to show" in err or "not" in err or "single frame" in err, err
        assert not csv.exists()          # nothing claims to be the map
        return
    assert "Complete file:" in err or "Finished:" in err, err
    if csv.exists():                                           # a scan (not a single frame)
        values = np.loadtxt(csv, delimiter=",", comments="#", ndmin=2)
        assert np.isfinite(values).any(), f"an empty map for {path.name}"
