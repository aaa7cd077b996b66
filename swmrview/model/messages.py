"""The immutable messages a session hands out (numpy arrays are read-only; no h5py objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from swmrview.model.status import Status


def frozen(array: Any) -> np.ndarray:
    """A read-only contiguous copy-or-view of ``array``."""
    array = np.require(array, requirements="C")  # keeps rank 0 (ascontiguousarray does not)
    if array.flags.writeable:
        array = array.view()
        array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Axis:
    """One scan dimension: its name, unit and motor position per index (None: use indices)."""

    name: str
    unit: str | None = None
    values: np.ndarray | None = None

    @property
    def label(self) -> str:
        """``"name (unit)"`` for axis labels."""
        return f"{self.name} ({self.unit})" if self.unit else self.name


@dataclass(frozen=True)
class Scatter:
    """Real positions of a non-grid scan's points (spiral, fly, snake): drawn as a scatter map.

    ``x`` and ``y`` are indexed by the scan dims ``dims`` (their extent read so far); the first
    ``n_points`` acquired points (arrival order) have their positions in them. ``planned_x`` /
    ``planned_y`` are the demand positions of the whole scan, shaped like the scan over ``dims``.
    """

    x_name: str
    y_name: str
    unit_x: str | None
    unit_y: str | None
    x: np.ndarray
    y: np.ndarray
    planned_x: np.ndarray | None = None
    planned_y: np.ndarray | None = None
    dims: tuple[int, ...] = (0,)
    n_points: int = 0


@dataclass(frozen=True)
class FitCurve:
    """A fitted spectrum, computed in the worker for the frame view's overlay: the model and
    the residual (data - model) over the channels ``first:first + len(model)`` of the frame's
    trace, and the fitted line groups' main lines at (fractional) channel positions."""

    first: int
    model: np.ndarray
    residual: np.ndarray
    lines: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Pattern:
    """One point's processing-step result: an integrated pattern I(q) or a fit's columns.

    ``x`` are the step's labels (bin centres in ``unit``, or column names), ``y`` the values."""

    step: str                      # the step key ("integrate", "integrate[0,90]", "xrf-fit")
    x: np.ndarray
    unit: str
    y: np.ndarray
    position: tuple[int, ...] = ()
    describe: str = ""             # what ran (engine, geometry used)
    fit: FitCurve | None = None    # a fit step's model of this point's spectrum (XRF)


@dataclass(frozen=True)
class StepInfo:
    """A processing step run on every point of a scan (for the export): its key, result
    labels (bin centres) and unit, what ran, and its configuration as JSON (pyFAI's geometry)."""

    key: str
    x: np.ndarray
    unit: str
    describe: str = ""
    config: str = "{}"


@dataclass(frozen=True)
class ScanInfo:
    """What a scan is: sent when a file opens, a new scan replaces it, or the dataset changes."""

    generation: int
    path: str
    mode: str                                 # "keys", "growth" (no keys, live) or "complete"
    scan_shape: tuple[int | None, ...]        # final shape as far as known (None: unknown)
    axes: tuple[Axis, ...]
    data_path: str
    data_paths: tuple[str, ...]               # datasets that can be shown instead
    frame_shape: tuple[int, ...]
    dtype: str
    tree: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    masked: bool = False                      # a pixel mask or overflow value applies
    frame_axis: Axis | None = None            # calibration of a spectrum's channels (energy)
    fields: tuple[tuple[str, tuple[int, ...]], ...] = ()   # per-point datasets: (path, frame)
    scatter: Scatter | None = None            # per-point positions (a non-grid scan)
    steps: Mapping[str, StepInfo] = field(default_factory=dict)   # run on every point

    @property
    def frame_rank(self) -> int:
        """0 for scalars, 1 for spectra, 2 for images."""
        return len(self.frame_shape)

    @property
    def frame_kind(self) -> str:
        """"scalar", "spectrum" (also several detector elements of many channels) or "image"."""
        from swmrview.model.frames import frame_kind

        return frame_kind(self.frame_shape)

    @property
    def scan_rank(self) -> int:
        """Number of scan dimensions (0: a single frame, no map)."""
        return len(self.scan_shape)


@dataclass(frozen=True)
class Update:
    """One step of following: changed map cells, newest frame, progress and status."""

    generation: int
    status: Status
    positions: np.ndarray = field(default_factory=lambda: frozen(np.zeros((0, 0), np.int64)))
    values: Mapping[str, np.ndarray] = field(default_factory=dict)
    new_points: int = 0                       # the first ``new_points`` positions are new
    roi: tuple[int, ...] | None = None        # ROI the "roi" values were computed with
    channels: Mapping[str, Any] = field(default_factory=dict)  # Channel specs of the values
    frame: np.ndarray | None = None           # newest frame (display copy, maybe binned)
    frame_position: tuple[int, ...] | None = None
    frame_levels: tuple[float, float] | None = None
    frame_binning: int = 1
    scan_shape: tuple[int | None, ...] | None = None   # current shape when it changed
    axes: tuple[Axis, ...] | None = None               # new motor positions when they changed
    n_ready: int = 0
    total: int | None = None
    rate: float = 0.0
    scatter: Scatter | None = None            # per-point positions when they were re-read
    found_at: float | None = None             # time.monotonic() the frame's point was found
    patterns: Mapping[str, Pattern] = field(default_factory=dict)  # newest point's, by step
    results: Mapping[str, np.ndarray] = field(default_factory=dict)  # rows of ``positions``
    # by step key: only when an export asks for them (see Session.send_results)


@dataclass(frozen=True)
class PointFrame:
    """The frame of one requested point (a map click or slider move)."""

    generation: int
    position: tuple[int, ...]
    frame: np.ndarray
    levels: tuple[float, float] | None = None
    binning: int = 1
    patterns: Mapping[str, Pattern] = field(default_factory=dict)  # its step results


@dataclass(frozen=True)
class Cake:
    """The 2-D cake of one point: intensity over (χ, radial) from ``integrate2d``."""

    generation: int
    position: tuple[int, ...]
    radial: np.ndarray
    chi: np.ndarray                  # degrees
    intensity: np.ndarray            # (len(chi), len(radial))
    unit: str


@dataclass(frozen=True)
class ScanList:
    """The scans of a followed folder (directory mode), newest first, and the one shown."""

    generation: int
    paths: tuple[str, ...]
    current: str | None = None
    following: bool = True                    # switching to each new scan as it starts


@dataclass(frozen=True)
class RegionFrame:
    """Progress or result of one region request (a rectangle drawn on the map)."""

    generation: int
    request: int                      # the GUI's number of the request (newest shown)
    how: str                          # "sum", "max" or "mean"
    n_read: int                       # points read so far
    n_points: int                     # points that are read (the region, capped)
    n_requested: int                  # points in the region
    done: bool = False
    frame: np.ndarray | None = None   # the reduced frame when done (float64, NaN: no value)
    levels: tuple[float, float] | None = None
    binning: int = 1
    error: str | None = None

    @property
    def capped(self) -> bool:
        """True if the region had more points than were read."""
        return self.n_points < self.n_requested

    @property
    def text(self) -> str:
        """What the frame is, for a label: "sum of 12 points", progress, or the error."""
        if self.error:
            return f"region {self.how}: {self.error}"
        of = f"first {self.n_points} of {self.n_requested} points (capped)" if self.capped \
            else f"{self.n_points} point{'s' if self.n_points != 1 else ''}"
        if not self.done:
            return f"reading {self.n_read}/{self.n_points} points for the {self.how}..."
        return f"{self.how} of {of}"
