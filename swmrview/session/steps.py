"""The processing steps of one open scan: which run on every frame, built once each (no Qt).

A :class:`StepSet` builds each step instance the first time a key is asked for (the expensive
part: pyFAI's engine, PyMca's basis) and keeps it until the detector, its mask or the settings
change. Step keys are ``family`` or ``family[args]``: the family names a factory in
:data:`FACTORIES` (``"integrate"`` here; the XRF fit registers ``"xrf-fit"`` with
:func:`register`), which gets the scan, the options and the key and returns a
:class:`~swmrview.core.compute.steps.FrameStep` or raises ValueError saying why not.

The steps run on every new point are the *running* ones: those the channels use, plus those a
family's ``auto`` says run by themselves (integration whenever a geometry was given or the file
has one, so the newest pattern is shown and exported with no channel yet).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from swmrview.core.compute.integrate import (
    AzimuthalStep,
    Geometry,
    GeometryError,
    Integration,
    load_poni,
    missing_pyfai,
    nexus_geometry,
)

logger = logging.getLogger(__name__)

__all__ = ["StepSet", "Factory", "FACTORIES", "register", "family_of"]


@dataclass(frozen=True)
class Factory:
    """How to build the steps of one family: ``build(scan, options, key)`` -> FrameStep
    (ValueError: why not), and ``auto(scan, options)`` -> True if it runs with no channel."""

    build: Callable[[Any, Any, str], Any]
    auto: Callable[[Any, Any], bool] = lambda scan, options: False


FACTORIES: dict[str, Factory] = {}


def register(family: str, factory: Factory) -> None:
    """Make steps of ``family`` available to channels naming it."""
    FACTORIES[family] = factory


def family_of(key: str) -> str:
    """``"integrate[0,90]"`` -> ``"integrate"``."""
    return key.split("[", 1)[0]


class StepSet:
    """The scan's step instances by key; see the module docstring."""

    def __init__(self, scan: Any, options: Any) -> None:
        # a weak reference: the scan holds this set (through its channels), and a cycle would
        # keep its HDF5 objects alive after closing (see session.scan.open_scan)
        self._scan = weakref.ref(scan)
        self.options = options
        self._steps: dict[str, Any] = {}
        self._auto: tuple[str, ...] | None = None
        self.problems: dict[str, str] = {}

    @property
    def scan(self) -> Any:
        """The open scan (None once it is gone)."""
        return self._scan()

    def get(self, key: str) -> Any:
        """The step of ``key``, built on first use (ValueError: why it cannot be)."""
        if key in self._steps:
            return self._steps[key]
        if key in self.problems:
            raise ValueError(self.problems[key])
        factory = FACTORIES.get(family_of(key))
        if factory is None:
            raise ValueError(f"no processing step {family_of(key)!r} (known: "
                             f"{', '.join(FACTORIES) or 'none'})")
        if self.scan is None:
            raise ValueError("the scan is closed")
        try:
            step = factory.build(self.scan, self.options, key)
        except (ValueError, ImportError, OSError) as exc:
            self.problems[key] = str(exc)
            raise ValueError(str(exc)) from None
        logger.info("processing step %s: %s", key, step.describe())
        self._steps[key] = step
        return step

    def auto(self) -> tuple[str, ...]:
        """The families that run on every frame with no channel (those that can be built)."""
        if self._auto is not None:
            return self._auto
        out = []
        for family, factory in FACTORIES.items():
            try:
                if factory.auto(self.scan, self.options):
                    self.get(family)
                    out.append(family)
            except ValueError as exc:
                logger.debug("step %s not run: %s", family, exc)
        self._auto = tuple(out)
        return self._auto

    def running(self, channel_keys: Iterable[str]) -> dict[str, Any]:
        """The steps to run on new points: the automatic ones and those of ``channel_keys``
        that could be built."""
        out = {k: self._steps[k] for k in self.auto()}
        for key in channel_keys:
            try:
                out[key] = self.get(key)
            except ValueError:
                pass
        return out

    def built(self) -> dict[str, Any]:
        """Every step built so far, by key."""
        return dict(self._steps)

    def reset(self) -> None:
        """The detector, its mask or the settings changed: build again when asked."""
        self._steps.clear()
        self._auto = None
        self.problems.clear()


# ---------------------------------------------------------------------- integration
def integration_of(options: Any) -> Integration:
    """The integration settings: the view settings' ``"integration"``, ``--poni`` winning."""
    view = getattr(options, "view", None)
    settings = getattr(view, "integration", None) or Integration()
    poni = getattr(options, "poni", None)
    if poni:
        settings = Integration(poni, settings.unit, settings.npt, settings.method)
    return settings


def geometry_of(scan: Any, options: Any) -> Geometry | None:
    """``--poni`` or the settings' PONI file, else the shown detector's NeXus geometry."""
    settings = integration_of(options)
    if settings.poni:
        return load_poni(settings.poni)
    try:
        data = scan.file[scan.data_path]
        return nexus_geometry(_detector_group(data))
    except GeometryError:
        raise
    except Exception:  # noqa: BLE001 - no NeXus geometry: none
        logger.debug("no NeXus geometry for %s", scan.data_path, exc_info=True)
        return None


def _detector_group(data: Any) -> Any:
    """The NXdetector the data belongs to (its parent, or the detector beside an NXdata)."""
    parent = data.parent
    if "distance" in parent:
        return parent
    entry = parent.parent
    for name in entry:
        group = entry.get(name)
        if hasattr(group, "keys") and _cls(group) == "NXinstrument":
            for inner in group:
                det = group.get(inner)
                if hasattr(det, "keys") and _cls(det) == "NXdetector" and "distance" in det:
                    return det
    return None


def _cls(group: Any) -> str:
    value = group.attrs.get("NX_class", "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _build_integrate(scan: Any, options: Any, key: str) -> AzimuthalStep:
    problem = missing_pyfai()
    if problem:
        raise ValueError(problem)
    frame_shape = tuple(scan.pipeline.frame_shape)
    if len(frame_shape) != 2:
        raise ValueError(f"azimuthal integration needs image frames, not {frame_shape}")
    geometry = geometry_of(scan, options)
    if geometry is None:
        raise ValueError("no geometry for azimuthal integration: give a PONI file "
                         "(--poni FILE or \"integration\": {\"poni\": ...} in the settings)")
    azimuth = None
    if key != "integrate":
        inner = key[len("integrate["):-1]
        azimuth = tuple(float(v) for v in inner.split(","))
    return AzimuthalStep(geometry, frame_shape, integration_of(options), scan.mask,
                         scan.overflow, azimuth, key)


def _auto_integrate(scan: Any, options: Any) -> bool:
    if len(tuple(scan.pipeline.frame_shape)) != 2 or missing_pyfai():
        return False
    return bool(integration_of(options).poni) or geometry_of(scan, options) is not None


register("integrate", Factory(_build_integrate, _auto_integrate))
