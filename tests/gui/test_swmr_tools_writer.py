"""The window following swmr_tools' own writer process (from its test suite, fetched at test
time as the suite test does): a keyless Blosc dataset written chunk by chunk under SWMR."""

from __future__ import annotations

import importlib
import multiprocessing
import sys

import numpy as np
import pytest

from swmrview.model.status import FINISHED
from tests.core.test_swmr_tools_suite import _fetch_suite

from .conftest import wait_terminal

pytestmark = pytest.mark.slow   # every test here starts a process


def expected_sums() -> np.ndarray:
    """mock_scan writes chunk k of 10 frames (4x5) as arange(200).reshape(10, 4, 5) + k."""
    i = np.arange(250)
    j, k = i % 10, i // 10
    return (np.arange(20).sum() + 20 * 20 * j + 20 * k).astype(float)


def test_swmr_tools_mock_scan_is_followed_by_chunk_readability(make_window, qtbot, tmp_path,
                                                               monkeypatch):
    suite = _fetch_suite()
    monkeypatch.syspath_prepend(str(suite))          # the spawned writer imports it too
    theirs = importlib.import_module("test_chunk_using_h5py")
    path = tmp_path / "mock_scan.h5"
    writer = multiprocessing.get_context("spawn").Process(target=theirs.mock_scan,
                                                          args=(str(path),), daemon=True)
    writer.start()
    try:
        window = make_window(path, timeout=5.0)
        qtbot.waitUntil(lambda: window.state is not None and window.state.n_acquired > 0,
                        timeout=20000)
        assert window.info.mode == "growth" and "no keys" in window.status.message
        assert window.state.n_acquired < 250                # followed while written
        wait_terminal(qtbot, window, timeout=60000)
    finally:
        writer.join(30)
        sys.modules.pop("test_chunk_using_h5py", None)
    assert writer.exitcode == 0
    assert window.status.kind == FINISHED, [s.message for s in window.statuses]
    np.testing.assert_array_equal(window.state.map.values["sum"], expected_sums())
