"""Settings of one simulated scan, and the paths the simulator writes (the GDA / NeXus
conventions the viewer auto-detects)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from swmrview.tools.simulate import positions as sim_positions

#: Paths the simulator writes (the GDA / NeXus conventions the viewer auto-detects).
DATA_PATH = "/entry/instrument/detector/data"
NXDATA_PATH = "/entry/data"
KEYS_GROUP = "/entry/diamond_scan/keys"
UNIQUE_KEYS = KEYS_GROUP + "/uniqueKeys"
DETECTOR_KEY = KEYS_GROUP + "/detector"
FINISHED_PATH = "/entry/diamond_scan/scan_finished"
DETECTOR_FILE_DATA = "/entry/data/data"
DETECTOR_FILE_KEY = "/entry/NDAttributes/NDArrayUniqueId"
#: XRF: the spectra's energy calibration (channel centres, keV), the NXdata axis of the last dim.
ENERGY_PATH = "/entry/data/energy"
#: XRF: the I0 counter, one value per point (also ``/entry/I0/data``, an NXmonitor).
I0_PATH = "/entry/instrument/counterTimer01/I0"
MONITOR_PATH = "/entry/I0/data"
#: Spiral / fly: actual (per point) and demand (whole plan) positions of each motor.
POSITIONER_VALUE = "/entry/instrument/{motor}/value"
POSITIONER_VALUE_SET = "/entry/instrument/{motor}/value_set"
DETECTORS = ("frame", "xrf", "xrd")


@dataclass
class SimConfig:
    """Settings of one simulated scan.

    ``frame`` is ``()`` for scalars, ``(n,)`` for spectra, ``(h, w)`` for images; ``drop`` and
    ``crash_at`` are flat grid indices (C order over ``shape``); ``rate`` is points per second.
    ``fixed_maxshape`` False (default) writes like GDA: unlimited maxshape in every scan dim,
    datasets growing from (1, ..., 1); True: maxshape = final shape, only dim 0 grows.
    ``overlap`` (XRF): add Mn, As and Pb, whose lines overlap Fe's and each other's, with a
    15 keV beam (:mod:`swmrview.tools.simulate.xrf`).
    """

    shape: tuple[int, ...] = (20, 30)
    frame: tuple[int, ...] = (64, 64)
    rate: float = 50.0
    snake: bool = False
    compression: str | None = None
    external: bool = False
    drop: tuple[int, ...] = field(default_factory=tuple)
    crash_at: int | None = None
    swmr_delay: float = 0.0
    start_delay: float = 0.0
    seed: int = 0
    fixed_maxshape: bool = False
    detector: str = "frame"
    elements: int = 4
    channels: int = 4096
    positions: str = "grid"
    overlap: bool = False

    def __post_init__(self) -> None:
        self.shape = tuple(int(n) for n in self.shape)
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if self.overlap and self.detector != "xrf":
            raise ValueError("overlap (the overlapping XRF elements) needs the xrf detector")
        if self.detector == "xrf":
            if self.elements < 1 or self.channels < 16:
                raise ValueError("xrf needs at least 1 element and 16 channels")
            self.frame = (int(self.elements), int(self.channels))
        self.frame = tuple(int(n) for n in self.frame)
        if self.detector == "xrd" and len(self.frame) != 2:
            raise ValueError(f"xrd needs image frames (HxW), got {self.frame}")
        self.drop = tuple(int(i) for i in self.drop)
        if self.positions not in sim_positions.POSITION_MODES:
            raise ValueError(f"positions must be one of {sim_positions.POSITION_MODES}, "
                             f"got {self.positions!r}")
        if self.positions == "spiral" and len(self.shape) != 1:
            raise ValueError(f"a spiral scan is 1-D (--shape N), got {self.shape}")
        if self.positions == "fly" and len(self.shape) != 2:
            raise ValueError(f"a fly scan is 2-D (--shape ROWSxCOLS), got {self.shape}")
        if not 1 <= len(self.shape) <= 3 or min(self.shape) < 1:
            raise ValueError(f"scan shape must have 1 to 3 positive dims, got {self.shape}")
        if len(self.frame) > 2 or (self.frame and min(self.frame) < 1):
            raise ValueError(f"frame must be (), (n,) or (h, w), got {self.frame}")
        if self.compression not in (None, "bitshuffle", "blosc"):
            raise ValueError(f"unknown compression {self.compression!r}")
        if self.rate <= 0:
            raise ValueError("rate must be positive")

    @property
    def n_points(self) -> int:
        """Number of points in the scan."""
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        """Frame dtype: uint16 images, float32 spectra, float64 scalars, uint32 XRF counts."""
        if self.detector in ("xrf", "xrd"):
            return np.dtype(np.uint32)
        return np.dtype({0: np.float64, 1: np.float32, 2: np.uint16}[len(self.frame)])

    @property
    def xrd(self) -> bool:
        """Whether frames are diffraction images (two phases' rings, a PONI file beside)."""
        return self.detector == "xrd"

    @property
    def xrf(self) -> bool:
        """Whether frames are XRF spectra (with an energy axis and an I0 monitor)."""
        return self.detector == "xrf"

