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
