"""Where the real beamline files are: ``shared/data/real`` beside the checkout, or beside a
folder holding it (a git worktree in ``wt/NAME``); ``SWMRVIEW_REAL_DATA`` names another place.
Tests using them skip when there are none."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


def _real_dir() -> Path:
    if os.environ.get("SWMRVIEW_REAL_DATA"):
        return Path(os.environ["SWMRVIEW_REAL_DATA"])
    candidates = [base / "shared" / "data" / "real" for base in _ROOT.parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])


REAL = _real_dir()
REAL_FILES = sorted(p for p in REAL.rglob("*") if p.suffix in (".h5", ".nxs", ".hdf5")) \
    if REAL.is_dir() else []
