"""Azimuthal integration with pyFAI as a processing step: a diffraction image -> I(q) or I(2θ).

:class:`AzimuthalStep` is a :class:`~swmrview.core.compute.steps.FrameStep`. It is built once per
geometry, mask, settings and azimuthal range (a sector channel gets its own instance) and
integrates a blank frame at construction, so a bad geometry fails there and the bin centres
(``labels``) are known before any frame.

Threads: one ``pyFAI.integrator.azimuthal.AzimuthalIntegrator`` must not integrate on two
threads at once. pyFAI builds and checks its engines under a lock, but its sparse-matrix
engines (CSR, LUT; ``pyFAI.ext.CSR_common.CsrIntegrator.integrate_ng``) preprocess each image
into one buffer per engine (``out=self.preprocessed``) outside that lock, so two threads
sharing an engine mix their images: measured here, patterns off by up to 10 % with 2 threads
(the histogram engine has no such buffer). So each worker thread integrates with its own copy
of the integrator (``copy.deepcopy``, which leaves the engines out) whose engine it builds on
its first frame: the engine is built once per geometry and thread, never per frame; memory is
one sparse matrix per thread. Inside each call pyFAI's CSR product releases the GIL and runs
on its OpenMP threads.

Geometry comes from a PONI file (:func:`load_poni`) or from the file's NeXus detector
(:func:`nexus_geometry`); :class:`Geometry` keeps which one it was for ``describe()``.

Masks: the detector's static mask goes to pyFAI as ``mask`` (part of the engine); pixels at or
above the overflow value are set to a dummy value in a float copy of the frame and left out
with pyFAI's ``dummy`` (a per-frame mask would rebuild the engine on every frame).

pyFAI is imported only here and only when a step is built: without it,
:func:`missing_pyfai` says how to install it.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["UNITS", "METHODS", "INSTALL", "Integration", "Geometry", "AzimuthalStep",
           "GeometryError", "load_poni", "nexus_geometry", "missing_pyfai"]

#: Integration units (pyFAI's names).
UNITS = ("q_nm^-1", "q_A^-1", "2th_deg")
#: Integration methods: pixel splitting and algorithm (the implementation is OpenCL when
#: pyFAI finds a device, else Cython).
METHODS = {"csr": ("bbox", "csr"), "lut": ("bbox", "lut"), "full-csr": ("full", "csr"),
           "histogram": ("no", "histogram")}
DEFAULT_UNIT, DEFAULT_NPT, DEFAULT_METHOD = "q_nm^-1", 1000, "csr"
INSTALL = 'pip install "swmrview[diffraction]"'
DUMMY = -1.0e30   # value given to overflowing pixels, left out by pyFAI's dummy


class GeometryError(ValueError):
    """A geometry that cannot be used: a PONI file missing, garbage or truncated, or a NeXus
    detector without distance, pixel size or wavelength. The message names the file."""


def poni_problem(poni: str | None, settings: "Integration | None" = None) -> str | None:
    """Why the PONI file given (``--poni``, else the settings' ``poni``) cannot be used, in
    plain words naming it; None when there is none or it is good (said at start: exit 2)."""
    path = poni or (settings.poni if settings is not None else None)
    if not path:
        return None
    missing = missing_pyfai()
    if missing:
        return f"{path}: {missing}"
    try:
        load_poni(path)
    except GeometryError as exc:
        return str(exc)
    return None


def missing_pyfai() -> str | None:
    """Why diffraction cannot be integrated here (pyFAI not installed), or None.

    Looks for the package without importing it: importing pyFAI takes over a second, which
    every window paid at start-up for its I(q) switch, diffraction or not."""
    if importlib.util.find_spec("pyFAI") is None:
        return f"azimuthal integration needs pyFAI: {INSTALL}"
    return None


@dataclass(frozen=True)
class Integration:
    """The ``"integration"`` of the view settings: geometry file, unit, bins and method."""

    poni: str | None = None
    unit: str = DEFAULT_UNIT
    npt: int = DEFAULT_NPT
    method: str = DEFAULT_METHOD

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown integration unit {self.unit!r} (known: "
                             f"{', '.join(UNITS)})")
        if isinstance(self.npt, bool) or not isinstance(self.npt, int) or self.npt < 2:
            raise ValueError(f"integration npt must be a whole number of bins from 2, not "
                             f"{self.npt!r}")
        if self.method not in METHODS:
            raise ValueError(f"unknown integration method {self.method!r} (known: "
                             f"{', '.join(METHODS)})")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for a settings file (the poni only when set)."""
        out = {"unit": self.unit, "npt": self.npt, "method": self.method}
        return {"poni": self.poni, **out} if self.poni else out

    @classmethod
    def from_dict(cls, data: Any) -> "Integration":
        """From a settings file's ``"integration"`` object; ValueError in plain words."""
        if not isinstance(data, Mapping):
            raise ValueError("\"integration\" must be an object with poni, unit, npt, method")
        unknown = [k for k in data if k not in ("poni", "unit", "npt", "method")]
        if unknown:
            raise ValueError(f"integration: unknown field(s) {', '.join(map(repr, unknown))} "
                             "(known: poni, unit, npt, method)")
        poni = data.get("poni")
        if poni is not None and not isinstance(poni, str):
            raise ValueError(f"integration: poni must be a file path, not {poni!r}")
        return cls(**dict(data))


@dataclass(frozen=True)
class Geometry:
    """An azimuthal integrator's geometry and where it came from (said by ``describe()``)."""

    source: str                              # "PONI file x.poni", "NeXus /entry/.../detector"
    config: Mapping[str, Any] = field(default_factory=dict)   # pyFAI.load's dict
    fit2d: Mapping[str, float] | None = None  # NeXus: setFit2D's arguments, and wavelength

    def integrator(self) -> Any:
        """A new AzimuthalIntegrator of this geometry.

        pyFAI calls ``gc.collect()`` each time a geometry changes (``auto_gc``): on the
        viewer's follower thread that collected Qt objects off the GUI thread and deadlocked
        both (the viewer collects on the GUI thread only). So it is switched off first.
        """
        from pyFAI.integrator.azimuthal import AzimuthalIntegrator

        ai = AzimuthalIntegrator()
        ai.auto_gc = False
        if self.fit2d is not None:
            fit2d = dict(self.fit2d)
            wavelength = fit2d.pop("wavelength")
            ai.setFit2D(**fit2d)
            ai.wavelength = wavelength
            return ai
        return ai.set_config(dict(self.config))


def load_poni(path: str | os.PathLike) -> Geometry:
    """The geometry of a PONI file; GeometryError naming it if it is missing, not a PONI
    file, or truncated (pyFAI's own ERROR-level traceback is kept from the user)."""
    path = os.fspath(path)
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise GeometryError(f"PONI file {path} not found")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise GeometryError(f"cannot read PONI file {path}: {exc}") from None
    if "\0" in text or not text.strip():
        raise GeometryError(f"{path} is not a PONI file (empty or binary)")
    from pyFAI.io.ponifile import PoniFile

    quiet = _Quiet(("pyFAI", "pyFAI.io.ponifile", "pyFAI.geometry"))
    try:
        with quiet:
            poni = PoniFile(path)
            config = poni.as_dict()
    except Exception as exc:  # noqa: BLE001 - pyFAI raises anything on a bad file
        raise GeometryError(f"{path} is not a usable PONI file ({type(exc).__name__}: "
                            f"{exc})") from None
    needed = ("dist", "poni1", "poni2", "wavelength")
    missing = [k for k in needed if config.get(k) in (None, 0.0) and k != "poni1"
               and k != "poni2"]
    if missing or config.get("detector") in (None, "") or config.get("dist") is None:
        raise GeometryError(f"{path} is not a usable PONI file (truncated? no "
                            f"{', '.join(missing) or 'detector'})")
    return Geometry(f"PONI file {name}", config)


class _Quiet:
    """Raise the level of pyFAI's loggers while loading (it logs a traceback at ERROR)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.loggers = [logging.getLogger(n) for n in names]
        self.levels: list[int] = []

    def __enter__(self) -> None:
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.CRITICAL + 1)

    def __exit__(self, *exc: object) -> None:
        for lg, level in zip(self.loggers, self.levels):
            lg.setLevel(level)


_LENGTH = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "micron": 1e-6, "nm": 1e-9,
           "cm": 1e-2, "angstrom": 1e-10, "a": 1e-10, "å": 1e-10}


def nexus_geometry(detector: Any) -> Geometry | None:
    """The geometry of an NXdetector group (h5py): ``distance``, ``beam_center_x/y``,
    ``x/y_pixel_size`` there, and the wavelength from an NXbeam ``incident_wavelength`` or an
    NXmonochromator ``wavelength`` / ``energy`` of the same instrument. None if it has no
    distance or pixel size; GeometryError if it has those but no wavelength.

    Lengths without units are metres (NeXus' SI default), except a beam centre above 1,
    taken in pixels (files write either)."""
    if detector is None or "distance" not in detector:
        return None
    try:
        dist = _length(detector["distance"])
        px = _length(detector["x_pixel_size"]) if "x_pixel_size" in detector else None
        py = _length(detector["y_pixel_size"]) if "y_pixel_size" in detector else px
    except (TypeError, ValueError):
        return None
    if not dist or not px or not py:
        return None
    centre = []
    for axis, size in (("beam_center_x", px), ("beam_center_y", py)):
        field_ = detector.get(axis)
        centre.append(_centre(field_, size) if field_ is not None else 0.0)
    wavelength = _wavelength(detector.parent)
    if wavelength is None:
        raise GeometryError(f"{detector.name} has a distance and pixel size but no wavelength "
                            "(NXbeam incident_wavelength or NXmonochromator wavelength/energy): "
                            "give a PONI file with --poni")
    return Geometry(f"NeXus geometry of {detector.name}",
                    fit2d={"directDist": dist * 1e3, "centerX": centre[0], "centerY": centre[1],
                           "pixelX": px * 1e6, "pixelY": py * 1e6, "wavelength": wavelength})


def _units(field_: Any) -> str:
    value = field_.attrs.get("units", "")
    return (value.decode() if isinstance(value, bytes) else str(value)).strip().lower()


def _length(field_: Any) -> float:
    value = float(np.asarray(field_[()]).ravel()[0])
    unit = _units(field_)
    return value * _LENGTH.get(unit, 1.0)


def _centre(field_: Any, pixel: float) -> float:
    value = float(np.asarray(field_[()]).ravel()[0])
    unit = _units(field_)
    if unit.startswith("pixel") or (not unit and abs(value) > 1):
        return value
    return value * _LENGTH.get(unit, 1.0) / pixel


def _wavelength(instrument: Any) -> float | None:
    """Wavelength in metres from the NXbeam / NXmonochromator groups of ``instrument``."""
    for name in instrument:
        group = instrument.get(name)
        if not hasattr(group, "keys"):
            continue
        for key in ("incident_wavelength", "wavelength"):
            if key in group:
                value = float(np.asarray(group[key][()]).ravel()[0])
                unit = _units(group[key]) or "angstrom"
                return value * _LENGTH.get(unit, 1e-10)
        if "energy" in group and _nx_class(group) in ("NXmonochromator", "NXbeam"):
            value = float(np.asarray(group["energy"][()]).ravel()[0])
            kev = value if _units(group["energy"]) == "kev" else value / 1e3
            return 12.398419843320026 / kev * 1e-10
    return None


def _nx_class(group: Any) -> str:
    value = group.attrs.get("NX_class", "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _method(name: str) -> tuple[Any, str]:
    """pyFAI's IntegrationMethod for ``name`` and the implementation: OpenCL when available."""
    from pyFAI.method_registry import IntegrationMethod

    split, algo = METHODS[name]
    for impl in ("opencl", "cython"):
        found = IntegrationMethod.select_method(1, split, algo, impl)
        if found and (impl == "cython" or _opencl_device()):
            return found[0], impl
    raise ValueError(f"pyFAI has no {name} method here")


def _opencl_device() -> bool:
    try:
        from pyFAI.opencl import ocl
    except Exception:  # noqa: BLE001 - no pyopencl
        return False
    return ocl is not None


class AzimuthalStep:
    """Azimuthal integration of image frames (a FrameStep; see the module docstring).

    Parameters
    ----------
    geometry
        Where the integrator comes from.
    frame_shape
        The images' shape (the engine is built for it).
    settings
        Unit, bins and method.
    mask
        Detector pixels left out (True), or None.
    overflow
        Values at or above it are left out (dummy), or None.
    azimuth
        ``(chi_lo, chi_hi)`` in degrees: integrate that sector only.
    name
        The step's key (``"integrate"``, ``"integrate[0,90]"``).
    """

    def __init__(self, geometry: Geometry, frame_shape: Sequence[int], settings: Integration,
                 mask: np.ndarray | None = None, overflow: float | None = None,
                 azimuth: Sequence[float] | None = None, name: str = "integrate") -> None:
        if len(frame_shape) != 2:
            raise ValueError(f"azimuthal integration needs image frames, not {tuple(frame_shape)}")
        self.name, self.geometry, self.settings = name, geometry, settings
        self.frame_shape = tuple(int(n) for n in frame_shape)
        self.overflow = overflow
        self.azimuth = None if azimuth is None else tuple(float(v) for v in azimuth)
        self._ai = geometry.integrator()
        self._local = threading.local()     # this thread's integrator (see the docstring)
        self._copy_lock = threading.Lock()
        self._method, self.implementation = _method(settings.method)
        self.unit = settings.unit
        self._kwargs: dict[str, Any] = {
            "npt": settings.npt, "unit": settings.unit, "method": self._method,
            "mask": None if mask is None else np.asarray(mask, dtype=np.int8),
            "azimuth_range": self.azimuth}
        # build the engine and fill pyFAI's caches (solid angle, positions) on this thread:
        # calls from the worker threads then only read them
        self._local.ai = self._ai
        blank = self._ai.integrate1d(np.zeros(self.frame_shape, np.float32),
                                     dummy=DUMMY, delta_dummy=0.5, **self._kwargs)
        self.labels = np.array(blank.radial, dtype=np.float64)
        self.labels.setflags(write=False)
        self.engine = str(getattr(blank, "compute_engine", "") or "")

    @property
    def kwargs(self) -> dict[str, Any]:
        """The arguments every ``integrate1d`` call gets (for comparisons and the export)."""
        return dict(self._kwargs)

    @property
    def integrator(self) -> Any:
        """The AzimuthalIntegrator (do not change it: the engine is built for it)."""
        return self._ai

    def _here(self) -> Any:
        """This thread's integrator: a copy of the first, its engine built at once, one thread
        at a time (two threads building their engines together crashed the process now and
        then: "double free or corruption" in pyFAI's native code)."""
        ai = getattr(self._local, "ai", None)
        if ai is None:
            with self._copy_lock:
                ai = copy.deepcopy(self._ai)
                ai.integrate1d(np.zeros(self.frame_shape, np.float32), dummy=DUMMY,
                               delta_dummy=0.5, **self._kwargs)
            self._local.ai = ai
        return ai

    def with_azimuth(self, azimuth: Sequence[float], name: str) -> "AzimuthalStep":
        """A step of the same geometry and settings over a sector (a new integrator)."""
        mask = self._kwargs["mask"]
        return AzimuthalStep(self.geometry, self.frame_shape, self.settings,
                             None if mask is None else mask != 0, self.overflow, azimuth, name)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        ai = self._here()
        out = np.empty((len(frames), len(self.labels)))
        for i, frame in enumerate(frames):
            data = frame
            if self.overflow is not None and frame.dtype.kind in "iuf":
                bad = frame >= self.overflow
                if bad.any():
                    data = frame.astype(np.float32)
                    data[bad] = DUMMY
            out[i] = ai.integrate1d(data, dummy=DUMMY, delta_dummy=0.5,
                                          **self._kwargs).intensity
        return out

    def cake(self, frame: np.ndarray, npt_azim: int = 360
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The 2-D cake of one frame: ``(radial, chi in degrees, intensity[chi, radial])``
        with pyFAI's ``integrate2d`` (this thread's integrator, the same unit, bins, mask and
        splitting; a 2-D engine of its own, built on first use)."""
        from pyFAI.method_registry import IntegrationMethod

        ai = self._here()
        split, algo = METHODS[self.settings.method]
        method = IntegrationMethod.select_method(2, split, algo, self.implementation) or \
            IntegrationMethod.select_method(2, split, algo, "cython")
        data = np.asarray(frame)
        if self.overflow is not None and data.dtype.kind in "iuf":
            bad = data >= self.overflow
            if bad.any():
                data = data.astype(np.float32)
                data[bad] = DUMMY
        kwargs = self.kwargs
        result = ai.integrate2d(data, self.settings.npt, npt_azim, unit=self.unit,
                                method=method[0], mask=kwargs["mask"], dummy=DUMMY,
                                delta_dummy=0.5)
        return (np.asarray(result.radial, dtype=np.float64),
                np.asarray(result.azimuthal, dtype=np.float64),
                np.asarray(result.intensity, dtype=np.float64))

    def describe(self) -> str:
        sector = "" if self.azimuth is None else \
            f", χ {self.azimuth[0]:g}..{self.azimuth[1]:g}°"
        masked = ", masked" if self._kwargs["mask"] is not None else ""
        return (f"pyFAI {self.settings.method} ({self.implementation}) {self.settings.npt} "
                f"bins in {self.unit}{sector}{masked}; geometry: {self.geometry.source}")

    def config(self) -> dict[str, Any]:
        """The geometry used, as pyFAI writes it (for the export)."""
        try:
            return dict(self._ai.get_config())
        except Exception:  # noqa: BLE001 - older pyFAI
            return {"poni": str(self._ai)}
