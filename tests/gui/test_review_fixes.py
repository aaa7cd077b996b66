"""Regression tests for the GUI review (notes/gui_review.md): each fails without its fix."""

from __future__ import annotations

import os

import h5py
import numpy as np

from swmrview.gui.messages import ERROR, FINISHED, WAITING

from .conftest import wait_terminal
from .test_viewer import _static_file


def _write_static(path, images=None, spectra=None):
    """A complete generic file (one key dataset) with the given (3, 4, ...) datasets."""
    with h5py.File(path, "w") as f:
        f.create_dataset("keys/key", data=np.arange(1, 13, dtype=np.int32).reshape(3, 4, 1))
        if images is not None:
            f.create_dataset("data/images", data=images, chunks=(1, 1) + images.shape[2:])
        if spectra is not None:
            f.create_dataset("data/spectra", data=spectra, chunks=(1, 1) + spectra.shape[2:])


def test_open_path_drops_previous_files_messages_and_handles_next_end(
        make_window, qtbot, tmp_path):
    """Item 1: A's queued info/batches must not land after open_path(B); B's end is handled."""
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "map.csv"
    _static_file(a)
    window = make_window(a, data=("/data/images",), export_map=str(out))
    window.open_path(str(b))  # at once: A's first tick has already queued its info and end
    qtbot.wait(400)
    assert window.info is None and window.scan_map is None
    assert window.status.kind == WAITING and "b.h5" in window.status.message
    assert not out.exists()  # A's end was not taken for B's
    images = np.full((3, 4, 6, 7), 3, np.uint16)
    _write_static(b, images=images)
    wait_terminal(qtbot, window, timeout=10000)
    assert window.status.kind == FINISHED and window.info.path == str(b)
    assert out.exists()  # B's end exported the map
    np.testing.assert_array_equal(np.loadtxt(out, delimiter=",", comments="#"),
                                  np.full((3, 4), 3.0 * 42))
