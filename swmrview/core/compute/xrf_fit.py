"""Fitted XRF maps: PyMca's linear fit as a processing step, and its whole-stack final pass.

PyMca's ``FastXRFLinearFit`` (the field's standard batch fit) takes every non-linear parameter
(calibration, peak widths and shapes) from the fit configuration, builds the linear basis once
(the derivative of the model with respect to each free parameter: the continuum's terms and
one area per line group) and solves one linear least-squares problem per spectrum. The sum
(pile-up) peak is fixed, not fitted. :class:`LinearBasis` builds that basis with PyMca's own
model (``ClassMcaTheory``) in the same calls and order as ``FastXRFLinearFit`` 5.9.7, and
solves it the same way (its SVD pseudo-inverse without weights; per-spectrum Poisson weights
when the configuration's ``fitweight`` is set), but for a whole block of spectra at once:

- no weights: one matrix product per block (the pseudo-inverse is computed once);
- Poisson weights: the normal equations of every spectrum of the block from one matrix
  product, then one batched solve;
- a SNIP background (``stripflag``) is stripped from each spectrum first, as PyMca does.

:class:`XrfFitStep` is the :class:`~swmrview.core.compute.steps.FrameStep` that the pipeline
runs live: a frame is a spectrum ``(channels,)`` or an MCA ``(detector elements, channels)``
whose chosen elements are summed first. Its columns are the area of each line group, named as
PyMca names them ("Fe K", "Pb L", "Scatter Peak000"), then each area's uncertainty
("Fe K sigma") and the reduced χ² ("chisq").

**Refit.** PyMca then refits the spectra whose areas come out negative with those line
groups removed, but only when they are at least 0.25% of the whole stack (fewer are set to
zero), and repeats. That rule needs the whole stack, so block results differ from it where
areas are negative; :func:`fit_stack` is the end-of-scan pass that applies it, and its maps
equal ``FastXRFLinearFit.fitMultipleSpectra(refit=True)`` on the same stack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from swmrview.core.compute.xrf_config import XrfConfig, XrfConfigError, require_pymca

logger = logging.getLogger(__name__)

__all__ = ["LinearBasis", "XrfFitStep", "StackFit", "fit_stack", "REFIT_FRACTION"]

#: PyMca refits the spectra with negative areas only when they are this fraction of the stack.
REFIT_FRACTION = 0.0025
#: Spectra per block in the whole-stack pass (bounds the memory of the temporaries).
_STACK_BLOCK = 512
#: Spectra fitted at once inside a block (their temporaries fit in the CPU cache).
_SUB_BLOCK = 16


@dataclass(frozen=True)
class LinearBasis:
    """PyMca's linear model of one configuration on spectra of ``channels`` channels.

    ``derivatives`` is ``(fitted channels, free parameters)``: the continuum's free terms first
    (``n_background`` of them), then one column per line group; ``first:stop`` the channels
    fitted (the configuration's ``xmin``..``xmax``).
    """

    names: tuple[str, ...]
    n_background: int
    derivatives: np.ndarray
    first: int
    stop: int
    channels: int
    weighted: bool
    strip: tuple[int, int, tuple[int, ...]] | None       # (filter width, snip width, anchors)
    zero: float
    gain: float
    version: str
    #: the strongest line of each line group: (group, energy keV), for marks on the spectrum
    lines: tuple[tuple[str, float], ...] = ()
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, config: XrfConfig, channels: int) -> "LinearBasis":
        """The basis of ``config`` for spectra of ``channels`` channels (the expensive part)."""
        require_pymca()
        import PyMca5
        from PyMca5.PyMcaPhysics.xrf import ClassMcaTheory

        cfg = _fast_fit_config(config)
        theory = ClassMcaTheory.McaTheory()
        theory.setConfiguration(cfg)
        theory.enableOptimizedLinearFit()
        fit = cfg["fit"]
        xmin, xmax = int(fit["xmin"]), min(int(fit["xmax"]), channels - 1)
        if xmin >= xmax:
            raise XrfConfigError(f"{config.source}: the fit region (channels {xmin}-{xmax}) "
                                 f"lies outside the {channels} channels of these spectra")
        # FastXRFLinearFit hands the first spectrum; the basis does not depend on it
        theory.setData(x=None, y=np.ones(channels), xmin=xmin, xmax=xmax)
        theory.estimate()
        columns, names, n_background = [], [], 0
        for i, name in enumerate(theory.PARAMETERS):
            if theory.codes[0][i] == ClassMcaTheory.Gefit.CFIXED:
                continue
            d = theory.linearMcaTheoryDerivative(theory.parameters, i, theory.xdata)
            columns.append(np.ravel(d).astype(np.float64))
            names.append(str(name))
            n_background += i < theory.NGLOBAL
        if len(names) <= n_background:
            raise XrfConfigError(f"{config.source}: no line group inside the fit region "
                                 f"(channels {xmin}-{xmax})")
        xdata = np.ravel(theory.xdata)
        first, stop = int(xdata[0]), int(xdata[-1]) + 1
        strip = None
        if fit["stripflag"]:
            strip = (int(fit["stripfilterwidth"]), int(fit["snipwidth"]),
                     _anchors(fit, xdata, stop - first))
        lines = []
        for group, peaks in zip(theory.PARAMETERS[theory.NGLOBAL:], theory.PEAKS0):
            peaks = np.asarray(peaks, dtype=np.float64)      # rows: (rate, energy, ...)
            if group not in names or not len(peaks):
                continue
            lines.append((str(group), float(peaks[np.argmax(peaks[:, 0]), 1])))
        derivatives = np.ascontiguousarray(np.stack(columns, axis=1))
        derivatives.setflags(write=False)
        return cls(names=tuple(names), n_background=int(n_background),
                   derivatives=derivatives, first=first, stop=stop, channels=int(channels),
                   weighted=bool(fit["fitweight"]), strip=strip,
                   zero=float(theory.parameters[0]), gain=float(theory.parameters[1]),
                   version=str(PyMca5.version()), lines=tuple(lines))

    @property
    def groups(self) -> tuple[str, ...]:
        """The line groups' names, as PyMca names them ("Fe K", "Pb L", "Scatter Peak000")."""
        return self.names[self.n_background:]

    def energy(self) -> np.ndarray:
        """Energy (keV) of the fitted channels, by the configuration's calibration."""
        return self.zero + self.gain * np.arange(self.first, self.stop, dtype=np.float64)

    def prepare(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(spectra to solve, background) of spectra ``y`` over the fitted channels
        (``first:stop``): the SNIP background is stripped from each spectrum when the
        configuration asks for it."""
        if self.strip is None:
            return y, None
        return y - (bkg := _snip(y, *self.strip)), bkg

    def solve(self, b: np.ndarray, keep: tuple[int, ...] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Parameters and uncertainties ``(k, free)`` of prepared spectra ``b`` ``(k, n)``;
        ``keep`` lists the columns left free (the others are fixed at zero), as PyMca's refit.
        """
        cols = tuple(range(len(self.names))) if keep is None else tuple(keep)
        params = np.zeros((b.shape[0], len(self.names)))
        sigma = np.zeros_like(params)
        if not self.weighted:
            pinv, sig = self._solver(cols)
            params[:, cols] = (pinv @ b.T).T         # (m, n) @ (n, k): BLAS's fast shape
            sigma[:, cols] = sig
            return params, sigma
        a, scale, outer = self._solver(cols)
        w = np.abs(b)                                    # PyMca: sigma = sqrt|b|, 1 where 0
        w[w == 0] = 1.0
        q = 1.0 / w
        m = len(cols)
        normal = (q @ outer).reshape(-1, m, m)
        rhs = (b * q) @ a
        inverse = np.linalg.inv(normal)
        params[:, cols] = np.einsum("kij,kj->ki", inverse, rhs) / scale
        sigma[:, cols] = np.sqrt(np.abs(np.einsum("kii->ki", inverse))) / scale
        return params, sigma

    def _solver(self, cols: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """Once per set of free columns: the pseudo-inverse and uncertainties (no weights), or
        the columns scaled to unit norm and the products of every pair of them (weights: a
        spectrum's normal equations are its weights times those products)."""
        if (found := self._cache.get(cols)) is not None:
            return found
        a = self.derivatives[:, cols]
        if not self.weighted:
            found = _pseudo_inverse(a)
        else:
            scale = np.sqrt((a * a).sum(axis=0))
            scale[scale == 0] = 1.0
            a = a / scale
            found = (a, scale, np.einsum("ci,cj->cij", a, a).reshape(a.shape[0], -1))
        for array in found:
            array.setflags(write=False)
        self._cache[cols] = found       # a race only computes it twice
        return found

    def model(self, params: np.ndarray, background: np.ndarray | None) -> np.ndarray:
        """The fitted spectra ``(k, n)`` over the fitted channels (background included)."""
        fitted = params @ self.derivatives.T
        return fitted if background is None else fitted + background

    def chisq(self, y: np.ndarray, model: np.ndarray, free: int, scratch: bool = False
              ) -> np.ndarray:
        """Reduced χ² of each spectrum: Σ (y - model)² / max(y, 1) over (channels - free).
        ``scratch``: ``y`` and ``model`` are the caller's temporaries, overwritten here."""
        r = model if scratch else model.copy()
        r -= y
        np.square(r, out=r)
        r /= np.maximum(y, 1.0, out=y if scratch else None)
        return r.sum(axis=1) / max(1, y.shape[1] - free)


def _sum_rows(rows: np.ndarray) -> np.ndarray:
    """``(k, rows, n)`` -> ``(k, n)`` float64, the rows summed. Integer counts are summed as
    32-bit integers when they cannot overflow (a third of the time of a float64 sum)."""
    r = rows.shape[1]
    if rows.dtype.kind in "ui" and rows.dtype.itemsize <= 4 and rows.size:
        if rows.dtype.kind == "u" and int(rows.max()) * r < 2 ** 32:
            return rows.sum(axis=1, dtype=np.uint32).astype(np.float64)
        if rows.dtype.kind == "i" and max(int(rows.max()), -int(rows.min())) * r < 2 ** 31:
            return rows.sum(axis=1, dtype=np.int32).astype(np.float64)
    return rows.sum(axis=1, dtype=np.float64)


def _fast_fit_config(config: XrfConfig) -> Any:
    """The configuration as ``FastXRFLinearFit._fitConfigure`` makes it (no concentrations)."""
    import copy

    cfg = copy.deepcopy(config.config)
    if cfg.get("concentrations", {}).get("useautotime", 0):
        cfg["concentrations"]["useautotime"] = 0
    fit = cfg["fit"]
    if fit.get("strategyflag", 0):
        raise XrfConfigError(f"{config.source}: fit strategies do not work with the linear "
                             f"fit (PyMca refuses them too): untick the strategy")
    if fit["stripflag"] and fit["stripalgorithm"] != 1:
        raise XrfConfigError(f"{config.source}: the linear fit needs the SNIP background "
                             f"(PyMca refuses the strip algorithm too)")
    if fit["continuum"] == 5:
        raise XrfConfigError(f"{config.source}: an exponential polynomial continuum cannot "
                             f"be fitted linearly")
    fit["linearfitflag"] = 1
    return cfg


def _anchors(fit: dict, xdata: np.ndarray, n: int) -> tuple[int, ...]:
    """SNIP anchor indices in the fitted channels, as ``FastXRFLinearFit._fitBkgAnchorList``."""
    anchors = []
    if fit.get("stripanchorsflag") and fit.get("stripanchorslist") is not None:
        for channel in fit["stripanchorslist"]:
            if channel <= xdata[0]:
                continue
            index = np.nonzero(xdata >= channel)[0]
            if len(index) and index.min() > 0:
                anchors.append(int(index.min()))
    return tuple(sorted(anchors or [0, n - 1]))


def _snip(y: np.ndarray, filter_width: int, snip_width: int, anchors: tuple[int, ...]
          ) -> np.ndarray:
    """PyMca's background of each row: Savitzky-Golay smoothing, then SNIP between anchors."""
    from PyMca5.PyMcaMath.fitting import SpecfitFuns

    smooth = np.array([SpecfitFuns.SavitskyGolay(row, filter_width) for row in y]) \
        if filter_width > 1 else y.copy()
    last = 0
    for anchor in anchors:
        if last < anchor < smooth.shape[1]:
            smooth[:, last:anchor] = SpecfitFuns.snip1d(
                np.ascontiguousarray(smooth[:, last:anchor]), snip_width, 0)
            last = anchor
    if last < smooth.shape[1]:
        smooth[:, last:] = SpecfitFuns.snip1d(np.ascontiguousarray(smooth[:, last:]),
                                              snip_width, 0)
    return smooth


def _pseudo_inverse(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pseudo-inverse of ``a``, the parameters' uncertainties) as PyMca's ``lstsq`` without
    weights: SVD, singular values below max(m, n) * eps dropped."""
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    s[s < max(a.shape) * np.finfo(np.float64).eps] = np.inf
    dummy = vt.T * (1.0 / s)
    return dummy @ u.T, np.sqrt(np.diag(dummy @ dummy.T))


class XrfFitStep:
    """The live fit as a processing step (see the module docstring): frames ``(k, channels)``
    or ``(k, elements, channels)`` become ``(k, 2 * groups + 1)`` areas, sigmas and χ²."""

    unit = ""

    def __init__(self, config: XrfConfig, frame_shape: Sequence[int],
                 elements: Sequence[int] | None = None, name: str = "xrf-fit") -> None:
        frame_shape = tuple(int(n) for n in frame_shape)
        if len(frame_shape) not in (1, 2):
            raise XrfConfigError(f"the XRF fit needs spectra or MCA frames, got frames of "
                                 f"shape {frame_shape}")
        self.name = name
        self.xrf = config
        self.config_text = config.text
        self.frame_shape = frame_shape
        self.elements = None if elements is None else tuple(int(e) for e in elements)
        if self.elements is not None and len(frame_shape) == 2 and (
                not self.elements or max(self.elements) >= frame_shape[0]
                or min(self.elements) < 0):
            raise XrfConfigError(f"detector elements {self.elements} outside the "
                                 f"{frame_shape[0]} of these frames")
        self.basis = LinearBasis.build(config, frame_shape[-1])
        groups = self.basis.groups
        self.labels = tuple(groups) + tuple(f"{g} sigma" for g in groups) + ("chisq",)

    @property
    def groups(self) -> tuple[str, ...]:
        return self.basis.groups

    def spectra(self, frames: np.ndarray) -> np.ndarray:
        """``(k, fitted channels)`` float64 over the fit region: MCA frames' chosen detector
        elements summed (only the fitted channels are read and summed)."""
        frames = np.asarray(frames)
        if frames.shape[1:] != self.frame_shape:
            raise ValueError(f"frames of shape {frames.shape[1:]}, the fit was built for "
                             f"{self.frame_shape}")
        region = slice(self.basis.first, self.basis.stop)
        if len(self.frame_shape) == 1:
            return np.array(frames[:, region], dtype=np.float64, order="C")
        rows = frames if self.elements is None else frames[:, list(self.elements)]
        return _sum_rows(rows[:, :, region])

    def fit(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(parameters, sigmas, model, spectra) of a block, over the fitted channels."""
        y = self.spectra(frames)
        b, background = self.basis.prepare(y)
        params, sigma = self.basis.solve(b)
        return params, sigma, self.basis.model(params, background), y

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty((len(frames), len(self.labels)))
        g, nb = len(self.groups), self.basis.n_background
        # a few spectra at a time: their temporaries stay in the CPU cache (twice as fast
        # as 64 at once), and one matrix product still serves each sub-block
        for lo in range(0, len(frames), _SUB_BLOCK):
            params, sigma, model, y = self.fit(frames[lo:lo + _SUB_BLOCK])
            rows = out[lo:lo + len(params)]
            rows[:, :g] = params[:, nb:]
            rows[:, g:2 * g] = sigma[:, nb:]
            rows[:, 2 * g] = self.basis.chisq(y, model, params.shape[1], scratch=True)
        return out

    def finish(self, rows: np.ndarray, frames_of: Callable[[np.ndarray], np.ndarray]) -> int:
        """The end-of-scan pass over every point's block results ``rows`` (changed in place):
        PyMca's refit rule, reading again only the frames refitted (:func:`refit_negative`)."""
        return refit_negative(self, rows, frames_of)

    def config(self) -> dict[str, Any]:
        """What a reader of the export needs to reproduce the fit: the configuration as
        ``.cfg`` text, where it came from, the line groups and the detector elements summed."""
        return {"cfg": self.config_text, "source": self.xrf.source, "groups": list(self.groups),
                "elements": None if self.elements is None else list(self.elements),
                "pymca": self.basis.version}

    def curve(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(energy keV, fitted model, residual) of one frame, for the frame view's overlay."""
        _params, _sigma, model, y = self.fit(np.asarray(frame)[None])
        return self.basis.energy(), model[0], y[0] - model[0]

    def fit_curve(self, frame: np.ndarray) -> tuple[int, np.ndarray, np.ndarray,
                                                    tuple[tuple[str, float], ...]]:
        """For the frame view: (first channel, model, residual, line marks at channel
        positions) of one frame (the worker computes it; the window only draws it)."""
        _energy, model, residual = self.curve(frame)
        b = self.basis
        marks = tuple((group, (energy - b.zero) / b.gain) for group, energy in b.lines
                      if b.first <= (energy - b.zero) / b.gain < b.stop)
        return b.first, model, residual, marks

    def describe(self) -> str:
        b = self.basis
        summed = ""
        if len(self.frame_shape) == 2:
            which = "all" if self.elements is None else ", ".join(map(str, self.elements))
            summed = f"; detector elements {which} summed first"
        return (f"PyMca {b.version} linear fit ({self.xrf.source}): {', '.join(b.groups)}; "
                f"channels {b.first}-{b.stop - 1}; "
                f"{'SNIP background, ' if b.strip else ''}"
                f"{'Poisson weights' if b.weighted else 'no weights'}{summed}")


@dataclass(frozen=True)
class StackFit:
    """The whole-stack fit: ``areas``/``sigma`` ``(n, groups)`` and ``chisq`` ``(n,)``."""

    groups: tuple[str, ...]
    areas: np.ndarray
    sigma: np.ndarray
    chisq: np.ndarray
    refitted: int

    def results(self) -> np.ndarray:
        """The step's columns for every point: areas, sigmas, χ² (as :class:`XrfFitStep`)."""
        return np.concatenate([self.areas, self.sigma, self.chisq[:, None]], axis=1)


def fit_stack(frames: np.ndarray, step: XrfFitStep, refit: bool = True) -> StackFit:
    """The fit of a whole stack of frames ``(n, *frame_shape)`` with PyMca's refit rule (see
    the module docstring): equal to ``FastXRFLinearFit.fitMultipleSpectra`` with the same
    configuration and ``refit``. The block pass, then :func:`refit_negative`."""
    n = len(frames)
    rows = np.concatenate([step(frames[lo:lo + _STACK_BLOCK])
                           for lo in range(0, n, _STACK_BLOCK)]) if n else \
        np.zeros((0, len(step.labels)))
    refitted = refit_negative(step, rows, lambda which: frames[which]) if refit else 0
    g = len(step.groups)
    return StackFit(groups=step.groups, areas=rows[:, :g], sigma=rows[:, g:2 * g],
                    chisq=rows[:, 2 * g], refitted=refitted)


def refit_negative(step: XrfFitStep, rows: np.ndarray,
                   frames_of: Callable[[np.ndarray], np.ndarray]) -> int:
    """PyMca's refit (``FastXRFLinearFit._fitLstSqNegative``) over a whole stack's results.

    ``rows`` ``(n, len(step.labels))`` are the step's block results of every point, changed in
    place; ``frames_of(indices)`` gives the frames of those rows (sorted indices): only the
    spectra refitted are read again, so the end of a live scan reads a few frames, not all.
    Returns how many spectra were refitted. While negative areas remain: take the line group
    with the most negative points (and the groups negative at the same points), refit those
    points without them when they are at least :data:`REFIT_FRACTION` of the stack, else set
    their areas to zero; after 2 x groups + 1 rounds, the areas still negative are zeroed.
    """
    basis = step.basis
    g, nb, n_free = len(step.groups), basis.n_background, len(basis.names)
    areas, sigma = rows[:, :g], rows[:, g:2 * g]
    iteration, limit = 1, 2 * g + 1
    refitted = 0
    while True:
        negatives = []
        for j in range(g):
            mask = areas[:, j] < 0
            if (count := int(mask.sum())) > 0:
                negatives.append((count, j, mask))
        if not negatives:
            return refitted
        if iteration > limit:
            for count, j, mask in negatives:
                areas[mask, j] = 0.0
                logger.warning("%d points of %s forced to zero", count, step.groups[j])
            return refitted
        negatives.sort(key=lambda t: (t[0], t[1]), reverse=True)
        bad, mask = [negatives[0][1]], negatives[0][2]
        for count, j, other in negatives:
            if j not in bad and count:
                both = mask & other
                if both.any():
                    bad.append(j)
                    mask = both
        which = np.nonzero(mask)[0]
        if len(which) < REFIT_FRACTION * len(mask):
            areas[np.ix_(which, bad)] = 0.0
            sigma[np.ix_(which, bad)] = 0.0
        else:
            keep = tuple(i for i in range(n_free) if i - nb not in bad)
            for lo in range(0, len(which), _STACK_BLOCK):
                chunk = which[lo:lo + _STACK_BLOCK]
                y = step.spectra(frames_of(chunk))
                b, background = basis.prepare(y)
                params, sig = basis.solve(b, keep)
                rows[chunk, :g] = params[:, nb:]
                rows[chunk, g:2 * g] = sig[:, nb:]
                rows[chunk, 2 * g] = basis.chisq(y, basis.model(params, background), n_free,
                                                 scratch=True)
            refitted += len(which)
        iteration += 1
