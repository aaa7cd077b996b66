"""Small complete files for GUI tests (written with plain h5py)."""

from __future__ import annotations

import h5py
import numpy as np


def static_file(path, images=True, spectra=True, key=True):
    """A generic complete file: one key dataset, (3, 4, 6, 7) images, (3, 4, 11) spectra."""
    rng = np.random.default_rng(1)
    out = {}
    with h5py.File(path, "w") as f:
        if key:
            f.create_dataset("keys/key", data=np.arange(1, 13, dtype=np.int32).reshape(3, 4, 1))
        if images is not None and images is not False:
            out["images"] = rng.integers(0, 100, (3, 4, 6, 7)).astype(np.uint16) \
                if images is True else images
            f.create_dataset("data/images", data=out["images"], chunks=(1, 1, 6, 7))
        if spectra is not None and spectra is not False:
            out["spectra"] = rng.random((3, 4, 11)).astype(np.float32) if spectra is True \
                else spectra
            f.create_dataset("data/spectra", data=out["spectra"], chunks=(1, 1, 11))
    return out


def kinds(window) -> list[str]:
    """Status kinds in order, consecutive repeats collapsed."""
    out = []
    for status in window.statuses:
        if not out or out[-1] != status.kind:
            out.append(status.kind)
    return out
