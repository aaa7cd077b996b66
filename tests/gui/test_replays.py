"""The window following live replays of real beamline files (written by a real process the way
their writers did): the finished map equals the sums computed from the original file."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from swmrview.core.files.layout import find_layout
from swmrview.model.status import FINISHED
from swmrview.tools.replay import start_replay

from .conftest import wait_terminal

pytestmark = pytest.mark.slow   # every test here starts a process

DATA = Path(__file__).resolve().parents[1] / "data"


def original_sums(path: Path) -> tuple[str, np.ndarray]:
    """(signal path, per-point sums) of a finished file, with plain h5py and numpy."""
    with h5py.File(path, "r", locking=False) as f:
        layout = find_layout(f)
        signal = layout.signal
        data = np.asarray(f[signal][()], dtype=np.float64)
    rank = layout.scan_rank
    sums = data.reshape(data.shape[:rank] + (-1,)).sum(axis=-1) if data.ndim > rank else data
    return signal, sums


@pytest.mark.parametrize("name, rate", [("p45-example.nxs", 4.0), ("i07-418550.nxs", 8.0),
                                        ("i18_test_data.nxs", 8.0)])
def test_live_replay_of_a_real_file_maps_what_the_original_holds(
        name, rate, make_window, qtbot, tmp_path):
    signal, expected = original_sums(DATA / name)
    out = tmp_path / name
    writer = start_replay(DATA / name, out, rate=rate)
    window = make_window(out, timeout=5.0)
    shapes = []
    window.status_changed.connect(lambda _s: window.state and shapes.append(window.state.shape))
    wait_terminal(qtbot, window, timeout=60000)
    assert window.state.shape == expected.shape             # declared or grown, never frozen
    assert all(np.all(np.array(s) <= expected.shape) for s in shapes)
    writer.join(20)
    assert writer.exitcode == 0
    assert window.status.kind == FINISHED, window.status.message
    assert window.info.data_path == signal
    np.testing.assert_allclose(window.state.map.values["sum"], expected, rtol=1e-12)


def test_live_replay_of_a_malcolm_scan_with_missing_detector_files(make_window, qtbot, tmp_path):
    """k11: key links into detector files, two of them missing in the original (synthesised)."""
    signal, expected = original_sums(DATA / "k11-18014.nxs")
    out = tmp_path / "k11-18014.nxs"
    writer = start_replay(DATA / "k11-18014.nxs", out, rate=3000.0, batch=50)
    window = make_window(out, timeout=5.0, data=(signal,))  # the replay synthesises the
    wait_terminal(qtbot, window, timeout=90000)               # missing EtherCAT signal file
    writer.join(30)
    assert window.status.kind == FINISHED, window.status.message
    assert window.state.n_acquired == expected.size == 3201
    np.testing.assert_allclose(window.state.map.values["sum"], expected, rtol=1e-12)
