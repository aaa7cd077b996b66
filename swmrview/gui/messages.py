"""Immutable messages the follower thread sends to the GUI (no h5py objects ever cross)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from swmrview.gui.options import EXIT_OK

WAITING, LIVE, STALLED, FINISHED, TIMED_OUT, ERROR = (
    "waiting", "live", "stalled", "finished", "timed out", "error")
TERMINAL = (FINISHED, TIMED_OUT, ERROR)
IDLE = "idle"  # the window before any file is opened


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Status:
    """What the follower is doing, as shown in the status bar."""

    kind: str
    message: str
    exit_code: int = EXIT_OK

    @property
    def terminal(self) -> bool:
        """True once following has ended (finished, timed out, or error)."""
        return self.kind in TERMINAL


@dataclass(frozen=True)
class ScanInfo:
    """Static description of the followed scan, sent when a file is opened or data switched."""

    generation: int
    path: str
    scan_shape: tuple[int | None, ...]
    axis_names: tuple[str, ...]
    axis_values: tuple[np.ndarray | None, ...]
    data_path: str
    frame_shape: tuple[int, ...]
    dtype: str
    tree: Mapping[str, Any]
    acquired: np.ndarray                     # flat indices acquired so far, in arrival order

    @property
    def frame_rank(self) -> int:
        """0 for scalars, 1 for spectra, 2 for images."""
        return len(self.frame_shape)


@dataclass(frozen=True)
class Batch:
    """Results of one worker tick: newest frame, changed map cells, progress and status."""

    generation: int
    indices: np.ndarray                      # flat indices of changed map cells
    values: Mapping[str, np.ndarray]         # reduction name -> value per changed cell
    roi: tuple[int, ...] | None              # ROI the "roi" values were computed with
    frame: np.ndarray | None                 # newest frame read in this batch (read-only copy)
    frame_index: int | None
    n_ready: int
    total: int | None
    rate: float
    status: Status
    new_points: int = 0                      # how many of ``indices`` are newly acquired


@dataclass(frozen=True)
class PointFrame:
    """The frame of one requested point (a map click or slider move)."""

    generation: int
    index: int
    frame: np.ndarray
