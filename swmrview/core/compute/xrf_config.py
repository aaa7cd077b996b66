"""PyMca fit configurations for the fitted XRF maps: load a ``.cfg``, or build one.

A configuration is what PyMca's advanced fit saves (``File > Save configuration``): the line
groups to fit (``[peaks]``), the energy calibration and peak widths (``[detector]``), the
excitation energy, continuum, background stripping and fit region (``[fit]``), the peak shape
and the attenuators. :func:`load_config` reads one; :func:`build_config` makes one from a list of
elements, the file's energy calibration and the excitation energy, starting from PyMca's own
defaults (``McaTheory().getConfiguration()``) so every key PyMca needs is there.

PyMca merges whatever it reads into its defaults without a word: a parseable file that has no
``[fit]`` or ``[peaks]`` section fits PyMca's default model. :func:`load_config` says so in
:attr:`XrfConfig.warning` (the command line prints it, the window shows it).

PyMca5 is an optional dependency (``pip install "swmrview[xrf]"``): it is imported only when a
configuration is loaded or built, and :func:`require_pymca` says how to install it.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["XrfConfig", "XrfConfigError", "INSTALL_HINT", "require_pymca", "load_config",
           "config_from_text", "build_config", "calibration_from_axis",
           "calibration_from_peaks", "FIT_SECTIONS"]

#: How to get the fit when PyMca is missing.
INSTALL_HINT = 'the XRF fit needs PyMca5: pip install "swmrview[xrf]"'
#: The sections that make a file a fit configuration; without them PyMca fits its defaults.
FIT_SECTIONS = ("fit", "peaks")


class XrfConfigError(ValueError):
    """A fit configuration that is missing, unreadable, or fits nothing (CLI exit 2)."""


@dataclass(frozen=True)
class XrfConfig:
    """A PyMca fit configuration: the merged dict PyMca fits with, and where it came from.

    ``config`` is PyMca's configuration (its defaults updated by the file); ``text`` the same
    as ``.cfg`` text, written beside the fitted maps so a script can reproduce them;
    ``warning`` is set when the file lacked sections PyMca then took from its defaults.
    """

    source: str
    config: Any = field(repr=False, compare=False)
    text: str = field(repr=False)
    warning: str | None = None

    @property
    def peaks(self) -> dict[str, Any]:
        """The element line groups fitted, as the ``[peaks]`` section has them."""
        return dict(self.config.get("peaks", {}))


def require_pymca() -> None:
    """Raise :class:`XrfConfigError` with the install command when PyMca5 is not importable."""
    try:
        import PyMca5.PyMcaPhysics.xrf.ClassMcaTheory  # noqa: F401
    except ImportError as exc:
        raise XrfConfigError(f"{INSTALL_HINT} ({exc})") from None


def _merged(raw: Any) -> Any:
    """PyMca's defaults updated by ``raw``, exactly as ``McaTheory.setConfiguration`` does."""
    from PyMca5.PyMcaPhysics.xrf import ClassMcaTheory

    theory = ClassMcaTheory.McaTheory()
    theory.setConfiguration(raw)
    return theory.getConfiguration()


def _as_text(config: Any) -> str:
    from PyMca5.PyMcaIO import ConfigDict

    return ConfigDict.ConfigDict(initdict=config).tostring()


def _checked(raw: Any, source: str) -> XrfConfig:
    """Merge ``raw`` into PyMca's defaults; note the missing sections; refuse an empty fit."""
    if not list(raw.keys()):
        raise XrfConfigError(f"{source}: not a PyMca fit configuration (no sections)")
    missing = [name for name in FIT_SECTIONS if name not in raw]
    warning = None
    if missing:
        warning = (f"{source} has no [{'], ['.join(missing)}] section"
                   f"{'s' if len(missing) > 1 else ''}: PyMca fills "
                   f"{'them' if len(missing) > 1 else 'it'} with its defaults")
        logger.warning(warning)
    try:
        config = _merged(raw)
    except Exception as exc:       # PyMca raises bare exceptions on bad values
        raise XrfConfigError(f"{source}: PyMca cannot use this configuration: {exc}") from exc
    if not config.get("peaks"):
        raise XrfConfigError(f"{source}: no element lines to fit (the [peaks] section is "
                             f"{'missing' if 'peaks' in missing else 'empty'})")
    return XrfConfig(source=source, config=config, text=_as_text(config), warning=warning)


def load_config(path: str | os.PathLike) -> XrfConfig:
    """Read a PyMca ``.cfg`` file (``--xrf-config``, the view settings' ``xrf_config``).

    Raises :class:`XrfConfigError` naming the file when it is missing, cannot be parsed or
    has no lines to fit; a file without ``[fit]``/``[peaks]`` loads with a ``warning``.
    """
    require_pymca()
    from PyMca5.PyMcaIO import ConfigDict

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise XrfConfigError(f"XRF fit configuration {name}: no such file")
    raw = ConfigDict.ConfigDict()
    try:
        raw.read(name)
    except Exception as exc:       # configparser errors, undecodable bytes, ...
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise XrfConfigError(f"XRF fit configuration {name} cannot be parsed: {first}") from None
    return _checked(raw, name)


def config_from_text(text: str, source: str = "<text>") -> XrfConfig:
    """A configuration from ``.cfg`` text (as stored beside exported maps)."""
    require_pymca()
    from PyMca5.PyMcaIO import ConfigDict

    raw = ConfigDict.ConfigDict()
    try:
        raw.readfp(io.StringIO(text))
    except Exception as exc:
        raise XrfConfigError(f"{source} cannot be parsed: {exc}") from None
    return _checked(raw, source)


def calibration_from_axis(energy: Sequence[float]) -> tuple[float, float]:
    """(zero, gain) in keV with energy = zero + gain * channel, fitted to a file's energy axis
    (the channel centres); PyMca's calibration is linear in the channel number."""
    e = np.asarray(energy, dtype=np.float64).ravel()
    if e.size < 2 or not np.isfinite(e).all():
        raise XrfConfigError("the energy axis needs at least two finite values")
    gain, zero = np.polyfit(np.arange(e.size, dtype=np.float64), e, 1)
    if gain <= 0:
        raise XrfConfigError("the energy axis does not increase with the channel")
    return float(zero), float(gain)


def calibration_from_peaks(channel_a: float, energy_a: float, channel_b: float,
                           energy_b: float) -> tuple[float, float]:
    """(zero, gain) through two known peaks: channel positions and their energies (keV)."""
    if channel_a == channel_b or energy_a == energy_b:
        raise XrfConfigError("two different peaks are needed for a calibration")
    gain = (energy_b - energy_a) / (channel_b - channel_a)
    if gain <= 0:
        raise XrfConfigError("the peaks' energies do not increase with the channel")
    return float(energy_a - gain * channel_a), float(gain)


def build_config(elements: Sequence[str] | dict[str, Any], calibration: tuple[float, float],
                 excitation: float, *, channels: int, fit_range: tuple[float, float] | None = None,
                 noise: float = 0.1, fano: float = 0.114, detector: str = "Si",
                 detector_thickness_cm: float = 0.045, weight: bool = False,
                 continuum: str = "linear", snip_width: int | None = None,
                 scatter: bool = True, source: str = "built") -> XrfConfig:
    """A fit configuration from the elements to fit and the file's calibration.

    ``elements``: symbols (each fitted with the line families the excitation reaches: K, else
    L, else M) or PyMca's ``[peaks]`` mapping (``{"Pb": ["L", "M"]}``); ``calibration``:
    (zero, gain) keV from :func:`calibration_from_axis` or :func:`calibration_from_peaks`;
    ``excitation``: the beam energy (keV); ``fit_range`` (keV) defaults to 1 keV up to the
    excitation plus 0.5 keV; ``noise`` (keV FWHM) and ``fano`` set the peak widths;
    ``continuum``: ``"linear"`` (PyMca's 'Linear' continuum, fitted) or ``"snip"`` (SNIP
    background stripped from each spectrum, as PyMca does); ``weight``: Poisson weights per
    spectrum (PyMca's fitweight, slower) or none.
    """
    require_pymca()
    from PyMca5.PyMcaPhysics.xrf import ClassMcaTheory, Elements

    zero, gain = (float(v) for v in calibration)
    if not gain > 0 or not excitation > 0 or channels < 2:
        raise XrfConfigError("a configuration needs a positive gain, excitation and channels")
    if isinstance(elements, dict):
        peaks = {str(k): v for k, v in elements.items()}
    else:
        peaks = {}
        for symbol in elements:
            families = _excited_families(symbol, excitation, Elements)
            if not families:
                raise XrfConfigError(f"{symbol}: no line of it is excited at {excitation} keV")
            peaks[symbol] = families if len(families) > 1 else families[0]
    if not peaks:
        raise XrfConfigError("no elements to fit")
    lo, hi = fit_range if fit_range is not None else (1.0, excitation + 0.5)
    config = ClassMcaTheory.McaTheory().getConfiguration()
    config["peaks"] = peaks
    fit = config["fit"]
    fit["energy"] = [float(excitation)]
    fit["energyweight"] = [1.0]
    fit["energyflag"] = [1]
    fit["energyscatter"] = [1 if scatter else 0]
    fit["scatterflag"] = 1 if scatter else 0
    fit["xmin"] = int(max(0, np.floor((lo - zero) / gain)))
    fit["xmax"] = int(min(channels - 1, np.ceil((hi - zero) / gain)))
    fit["fitweight"] = 1 if weight else 0
    fit["linearfitflag"] = 1
    fit["sumflag"] = 0
    fit["escapeflag"] = 1
    fit["continuum"] = {"linear": 2, "snip": 0}[continuum]
    fit["stripflag"] = 1 if continuum == "snip" else 0
    fit["stripalgorithm"] = 1
    fit["snipwidth"] = int(snip_width if snip_width is not None else max(4, round(0.3 / gain)))
    det = config["detector"]
    det.update(zero=zero, gain=gain, noise=float(noise), fano=float(fano), detele=detector)
    config["attenuators"]["Detector"] = [1, detector + "1", 2.33, detector_thickness_cm, 1.0]
    return _checked(config, source)


def _excited_families(symbol: str, excitation: float, elements_module: Any) -> list[str]:
    """K if its K edge is below the excitation, else the L and M families it excites."""
    try:
        binding = elements_module.Element[symbol]["binding"]
    except KeyError:
        raise XrfConfigError(f"unknown element {symbol!r}") from None
    if binding.get("K", np.inf) < excitation:
        return ["K"]
    def edge(shell: str) -> float:
        return min((v for k, v in binding.items() if k.startswith(shell) and v > 0),
                   default=np.inf)

    # only the binding energies: PyMca rewrites its tables' line lists for the last excitation
    # (M lines below 1 keV are outside any fit region: left out)
    return [shell for shell in ("L", "M") if edge(shell) < excitation
            and (shell == "L" or edge(shell) > 1.0)]
