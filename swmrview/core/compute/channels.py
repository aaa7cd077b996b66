"""Map channels: named per-point values beyond the built-in sum/mean/max/ROI.

A :class:`Channel` says what one map shows: a dataset (``None``: the detector on show), a
reduction of each frame, an optional set of detector elements (rows of an MCA frame such as
xspress3's 10 x 4096) and an optional monitor (I0) to divide by. Kinds:

- ``sum``, ``mean``, ``max``: over the whole frame (over the chosen elements of an MCA);
- ``rect``: the sum inside ``bounds`` = ``(y0, y1, x0, x1)`` pixels of an image, or
  ``(x0, x1)`` channels of a spectrum (slice bounds);
- ``polygon``: the sum over the pixels whose centres lie inside ``polygon`` = ``((x, y), ...)``;
- ``window``: the sum of the spectrum channels whose energy lies in ``bounds`` = ``(lo, hi)``,
  both ends included (in the calibration's unit when the file has one, else channel numbers:
  the calibration is then the channel number itself), summed over the chosen elements: an XRF
  element map. :func:`window_span` is the one rule, also used for the shading on the spectrum;
- ``q-window``: the sum of the bins of the azimuthally integrated pattern (the ``integrate``
  processing step, :mod:`swmrview.core.compute.integrate`) whose centres lie in ``bounds`` =
  ``(lo, hi)`` in the integration unit; ``background="linear"`` first subtracts the line through
  the mean of the 3 bins just outside each edge; ``azimuth = (chi_lo, chi_hi)`` (degrees)
  integrates only that sector (its own step instance, :attr:`Channel.step_key`);
- ``fitted``: one named ``column`` of the XRF fit's results (the ``xrf-fit`` processing step,
  :mod:`swmrview.core.compute.xrf_fit`): a line group's area as PyMca names it (``"Fe K"``),
  its uncertainty (``"Fe K sigma"``) or the fit's ``"chisq"``; ``elements`` are the detector
  elements summed before the fit (their own step instance, ``"xrf-fit[0,1,3]"``).

A channel with a ``step`` (any kind of ``sum``, ``mean``, ``max``, ``window``) reduces that
processing step's result row (:mod:`swmrview.core.compute.steps`) instead of the frame, with
the step's ``labels`` as the calibration of ``window`` bounds
(:mod:`swmrview.core.compute.step_channels`).

Pixels are left out as in :mod:`swmrview.core.compute.reduce`: masked, ``>= overflow`` or not finite. A
:class:`ChannelReducer` looks only at the region a channel needs, so a window of 200 channels
costs 200 channels per element, not the whole frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from swmrview.core.compute.reduce import REDUCTIONS, exact_total, nonfinite

__all__ = ["KINDS", "Channel", "ChannelReducer", "points_in_polygon", "parse_elements",
           "window_span", "spectrum_span"]

KINDS = ("sum", "mean", "max", "rect", "polygon", "window", "q-window", "fitted")
#: What a ``background`` may be (None: no background subtracted).
BACKGROUNDS = ("linear",)
#: The step a ``q-window`` channel reduces (the azimuthal integration).
INTEGRATE = "integrate"
#: The step a ``fitted`` channel takes a column of (the XRF fit).
XRF_FIT = "xrf-fit"


@dataclass(frozen=True)
class Channel:
    """One named map channel (see the module docstring); immutable and JSON-friendly."""

    name: str
    kind: str = "sum"
    dataset: str | None = None
    bounds: tuple[float, ...] = ()
    polygon: tuple[tuple[float, float], ...] = ()
    elements: tuple[int, ...] | None = None
    monitor: str | None = None
    step: str | None = None          # the processing step whose result is reduced
    background: str | None = None    # "linear": subtract the line under a window
    azimuth: tuple[float, ...] | None = None   # (chi_lo, chi_hi) degrees: a sector
    column: str | None = None        # fitted: the fit's result column ("Fe K", "chisq")

    def __post_init__(self) -> None:
        object.__setattr__(self, "bounds", tuple(float(v) for v in self.bounds))
        object.__setattr__(self, "polygon", tuple((float(x), float(y)) for x, y in self.polygon))
        if self.elements is not None:
            object.__setattr__(self, "elements", tuple(int(e) for e in self.elements))
        if self.azimuth is not None:
            object.__setattr__(self, "azimuth", tuple(float(v) for v in self.azimuth))
        if not self.name or self.name in REDUCTIONS:
            raise ValueError(f"a channel needs a name other than {', '.join(REDUCTIONS)}")
        if self.kind not in KINDS:
            raise ValueError(f"channel {self.name!r}: unknown kind {self.kind!r} (known: "
                             f"{', '.join(KINDS)})")
        need = {"rect": (2, 4), "window": (2,), "q-window": (2,)}.get(self.kind)
        if need and len(self.bounds) not in need:
            raise ValueError(f"{self.kind} channel {self.name!r} needs "
                             f"{' or '.join(map(str, need))} bounds, got {len(self.bounds)}")
        if self.kind == "polygon" and len(self.polygon) < 3:
            raise ValueError(f"polygon channel {self.name!r} needs at least 3 vertices")
        if self.background is not None and self.background not in BACKGROUNDS:
            raise ValueError(f"channel {self.name!r}: unknown background {self.background!r} "
                             f"(known: {', '.join(BACKGROUNDS)})")
        if self.background is not None and self.kind not in ("window", "q-window"):
            raise ValueError(f"channel {self.name!r}: a background needs a window")
        if self.azimuth is not None and (self.kind != "q-window" or len(self.azimuth) != 2):
            raise ValueError(f"channel {self.name!r}: azimuth is [chi_lo, chi_hi] of a "
                             "q-window channel")
        if (self.kind == "fitted") != (self.column is not None) or self.column == "":
            raise ValueError(f"channel {self.name!r}: a fitted channel names the column of the "
                             "fit it maps (\"column\": \"Fe K\"), and only it has one")
        if self.kind == "fitted" and (self.bounds or self.polygon or self.dataset):
            raise ValueError(f"channel {self.name!r}: a fitted channel maps the fit of the "
                             "detector on show: no bounds, polygon or dataset")
        if self.step is not None and self.kind not in ("sum", "mean", "max", "window",
                                                       "q-window", "fitted"):
            raise ValueError(f"channel {self.name!r}: a {self.kind} cannot reduce the "
                             f"result of step {self.step!r}")
        if self.step_key is not None and self.dataset is not None:
            raise ValueError(f"channel {self.name!r}: a processing step works on the "
                             "detector on show, not on another dataset")

    @property
    def step_key(self) -> str | None:
        """The key of the processing step whose result the channel reduces, or None (the
        frame itself): ``step``, ``"integrate"`` for a q-window, and for a sector
        ``"integrate[chi_lo,chi_hi]"`` (an integration of its own over that χ range)."""
        if self.kind == "fitted":
            base = self.step or XRF_FIT
            if self.elements is None:
                return base
            return f"{base}[{','.join(str(e) for e in self.elements)}]"
        if self.kind != "q-window":
            return self.step
        base = self.step or INTEGRATE
        if self.azimuth is None:
            return base
        lo, hi = self.azimuth
        return f"{base}[{lo:g},{hi:g}]"

    @property
    def frames(self) -> bool:
        """True if the channel reads frames of the detector on show."""
        return self.dataset is None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON settings files."""
        return {k: v for k, v in asdict(self).items() if v not in ((), None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Channel":
        """Inverse of :meth:`to_dict`: a channel as read from a settings file.

        Anything wrong (an unknown field, so typos are said; a missing name; a value of the
        wrong type) is a ValueError in plain words naming the channel and the field.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a channel must be an object with {', '.join(FIELDS)}, not "
                             f"{as_written(data)}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a channel has no name" if name in (None, "")
                             else f"a channel's name must be text, not {as_written(name)}")
        unknown = [k for k in data if k not in FIELDS]
        if unknown:
            fields = ", ".join(repr(str(k)) for k in unknown)
            raise ValueError(f"channel {name!r}: unknown field{'s' if len(unknown) > 1 else ''} "
                             f"{fields} (known: {', '.join(FIELDS)})")
        values = dict(data)
        for key in ("kind", "dataset", "monitor", "step", "background", "column"):
            value = values.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"channel {name!r}: {key} must be text, not {as_written(value)}")
        if not _numbers(values.get("bounds", ())):
            raise ValueError(f"channel {name!r}: bounds must be a list of numbers, not "
                             f"{as_written(values['bounds'])}")
        polygon = values.get("polygon", ())
        if not isinstance(polygon, (list, tuple)) or not all(
                _numbers(p) and len(p) == 2 for p in polygon):
            raise ValueError(f"channel {name!r}: polygon must be a list of [x, y] vertices, "
                             f"not {as_written(polygon)}")
        azimuth = values.get("azimuth")
        if azimuth is not None and not (_numbers(azimuth) and len(azimuth) == 2):
            raise ValueError(f"channel {name!r}: azimuth must be [chi_lo, chi_hi] in degrees, "
                             f"not {as_written(azimuth)}")
        elements = values.get("elements")
        if elements is not None and not (_numbers(elements) and all(
                float(e).is_integer() for e in elements)):
            raise ValueError(f"channel {name!r}: elements must be a list of element numbers, "
                             f"not {as_written(elements)}")
        return cls(**values)

    def describe(self) -> str:
        """A short text for lists and colour-bar labels."""
        what = self.kind
        if self.kind == "fitted":
            what += f" {self.column}"
        if self.kind in ("rect", "window", "q-window"):
            what += "[" + ", ".join(f"{v:g}" for v in self.bounds) + "]"
        if self.background:
            what += f" - {self.background} bg"
        if self.azimuth is not None:
            what += " χ[" + ", ".join(f"{v:g}" for v in self.azimuth) + "]"
        text = f"{what} of {self.step_key or self.dataset or 'detector'}"
        if self.elements is not None:
            text += f" elements {format_elements(self.elements)}"
        if self.monitor:
            text += f" / {self.monitor.rsplit('/', 1)[-1]}"
        return text


#: The fields of a channel in a settings file, in the order :meth:`Channel.to_dict` writes them.
FIELDS = ("name", "kind", "dataset", "bounds", "polygon", "elements", "monitor", "step",
          "background", "azimuth", "column")


def _numbers(value: Any) -> bool:
    """True for a list (or tuple) of plain numbers (not text, not true/false)."""
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def as_written(value: Any) -> str:
    """A value from a settings file as its writer would recognise it (shortened)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_elements(text: str) -> tuple[int, ...] | None:
    """``"0-3, 5"`` -> (0, 1, 2, 3, 5); blank -> None (all elements)."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            out.extend(range(int(first), int(last) + 1))
        elif part:
            out.append(int(part))
    return tuple(out) if out else None


def format_elements(elements: Sequence[int]) -> str:
    """(0, 1, 2, 3, 5) -> ``"0-3,5"``."""
    parts, run = [], []
    for e in sorted(set(elements)):
        if run and e == run[-1] + 1:
            run.append(e)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [e]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


def points_in_polygon(xs: np.ndarray, ys: np.ndarray,
                      polygon: Sequence[tuple[float, float]]) -> np.ndarray:
    """Bool array: which points (xs, ys) lie inside ``polygon`` (even-odd ray casting)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    inside = np.zeros(np.broadcast(xs, ys).shape, dtype=bool)
    vx = np.array([p[0] for p in polygon], dtype=np.float64)
    vy = np.array([p[1] for p in polygon], dtype=np.float64)
    for i in range(len(vx)):
        x0, y0, x1, y1 = vx[i - 1], vy[i - 1], vx[i], vy[i]
        if y0 == y1:
            continue
        crosses = (y0 > ys) != (y1 > ys)
        x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xs < x_at)
    return inside


def window_span(bounds: Sequence[float], n: int,
                calibration: np.ndarray | None = None) -> tuple[int, int]:
    """The channels of an ``n``-channel spectrum inside the window ``bounds`` = ``(lo, hi)``, as
    slice bounds ``(start, stop)``; ``(0, 0)`` when no channel is inside.

    The one rule for windows (map channels, their shading on the spectrum, the ROI drawn on a
    spectrum): channel ``i`` is inside iff ``lo <= x[i] <= hi``, both ends included, where ``x``
    is the calibration (one value per channel, ascending or descending, e.g. energy) or, without
    one (None, or not ``n`` values), the channel number ``i`` itself. Bounds may come in either
    order.
    """
    lo, hi = sorted(float(v) for v in bounds)
    x = np.arange(n, dtype=np.float64) if calibration is None or len(calibration) != n \
        else np.asarray(calibration, dtype=np.float64)
    inside = np.flatnonzero((x >= lo) & (x <= hi))
    return (int(inside[0]), int(inside[-1]) + 1) if inside.size else (0, 0)


def spectrum_span(channel: Channel, n: int,
                  calibration: np.ndarray | None = None) -> tuple[int, int]:
    """Slice bounds of the channels of an ``n``-channel spectrum that a ``window`` channel
    (:func:`window_span`) or a two-bound ``rect`` channel (slice bounds of channel numbers,
    whatever the calibration) takes; ``(0, 0)`` when none."""
    if channel.kind == "window":
        return window_span(channel.bounds, n, calibration)
    if channel.kind != "rect" or len(channel.bounds) != 2:
        raise ValueError(f"channel {channel.name!r} is not a window or range of a spectrum")
    lo, hi = sorted(channel.bounds)
    a, b = int(np.clip(np.floor(lo), 0, n)), int(np.clip(np.ceil(hi), 0, n))
    return (a, b) if b > a else (0, 0)


@dataclass
class _Region:
    index: tuple            # what to take from the frame
    keep: np.ndarray | None = None   # bool over the taken values (polygon, mask); None: all
    empty: bool = False


class ChannelReducer:
    """Reduce frames of one shape to one channel's value (thread-safe: no state per frame).

    Parameters
    ----------
    channel
        What to compute (its ``monitor`` is applied by the caller, who reads the monitor).
    frame_shape
        Shape of the frames of the channel's dataset.
    mask, overflow
        Excluded pixels, as in :func:`swmrview.core.compute.reduce.reduce_frame`.
    energy
        Calibration of the spectrum's last axis (one value per channel, ascending or
        descending); ``window`` bounds are in its unit. None: channel numbers.
    """

    def __init__(self, channel: Channel, frame_shape: Sequence[int],
                 mask: np.ndarray | None = None, overflow: float | None = None,
                 energy: np.ndarray | None = None) -> None:
        self.channel = channel
        self.frame_shape = tuple(int(n) for n in frame_shape)
        self.overflow = overflow
        self._reduction = {"mean": "mean", "max": "max"}.get(channel.kind, "sum")
        self._region = self._select(channel, energy)
        bad = None
        if mask is not None:
            bad = np.broadcast_to(np.asarray(mask) != 0, self.frame_shape)[self._region.index]
        keep = self._region.keep
        if bad is not None and bad.any():
            keep = ~bad if keep is None else keep & ~bad
        self._keep = keep
        # a polygon's pixels as runs of the flattened box: summed with np.add.reduceat in
        # 32 bits (8/16-bit pixels, runs short enough not to overflow), half the time of
        # copying them out
        self._runs = _runs(keep) if self._reduction == "sum" and keep is not None else None

    def _select(self, channel: Channel, energy: np.ndarray | None) -> _Region:
        shape = self.frame_shape
        rank = len(shape)
        elements: Any = slice(None)
        if channel.elements is not None and rank >= 2:
            chosen = [e for e in channel.elements if 0 <= e < shape[0]]
            if len(chosen) != len(channel.elements):
                raise ValueError(f"channel {channel.name!r}: elements {channel.elements} "
                                 f"outside 0..{shape[0] - 1}")
            elements = np.asarray(chosen, dtype=np.intp)
        if channel.kind in ("sum", "mean", "max"):
            return _Region((elements,) if rank >= 2 and channel.elements is not None else ())
        if rank == 0:
            raise ValueError(f"channel {channel.name!r}: a {channel.kind} needs frames, "
                             "not scalars")
        if channel.kind == "window" or (channel.kind == "rect" and len(channel.bounds) == 2):
            a, b = spectrum_span(channel, shape[-1], energy)
            lead = (elements,) + (slice(None),) * (rank - 2) if rank >= 2 else ()
            return _Region(lead + (slice(a, b),), empty=b <= a)
        if rank < 2:
            raise ValueError(f"channel {channel.name!r}: a {channel.kind} needs image frames")
        h, w = shape[-2], shape[-1]
        rest = (slice(None),) * (rank - 2)
        if channel.kind == "rect":
            y0, y1, x0, x1 = (int(round(v)) for v in channel.bounds)
            ys, xs = slice(max(0, min(y0, y1)), min(h, max(y0, y1))), \
                slice(max(0, min(x0, x1)), min(w, max(x0, x1)))
            return _Region(rest + (ys, xs), empty=ys.stop <= ys.start or xs.stop <= xs.start)
        px = np.array([p[0] for p in channel.polygon])
        py = np.array([p[1] for p in channel.polygon])
        x0, x1 = int(max(0, np.floor(px.min()))), int(min(w, np.ceil(px.max()) + 1))
        y0, y1 = int(max(0, np.floor(py.min()))), int(min(h, np.ceil(py.max()) + 1))
        if x1 <= x0 or y1 <= y0:
            return _Region(rest + (slice(0, 0), slice(0, 0)), empty=True)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        inside = points_in_polygon(xx + 0.5, yy + 0.5, channel.polygon)
        keep = np.broadcast_to(inside, shape[:-2] + inside.shape) if rank > 2 else inside
        return _Region(rest + (slice(y0, y1), slice(x0, x1)), keep=np.array(keep),
                       empty=not inside.any())

    def __call__(self, frame: np.ndarray) -> float:
        """The channel's value for one frame (before any monitor normalisation)."""
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape:
            raise ValueError(f"frame of shape {frame.shape}, expected {self.frame_shape}")
        if self._region.empty or frame.size == 0:
            return 0.0 if self._reduction == "sum" else float("nan")
        values = frame[self._region.index]
        if self._runs is not None and values.dtype.kind in "ui" and values.dtype.itemsize <= 2 \
                and (self.overflow is None or values.max() < self.overflow):
            flat = np.ascontiguousarray(values).reshape(-1)
            sums = np.add.reduceat(flat, self._runs,
                                   dtype=np.uint32 if values.dtype.kind == "u" else np.int32)
            return float(sums[0::2].sum(dtype=np.int64))
        keep = self._keep
        bad = nonfinite(values)
        if bad is not None:
            keep = ~bad if keep is None else keep & ~bad
        if self.overflow is not None and values.dtype.kind in "iuf":
            below = values < self.overflow
            if not below.all():
                keep = below if keep is None else keep & below
        if keep is not None:
            values = values[keep]
        if values.size == 0:
            return 0.0 if self._reduction == "sum" else float("nan")
        if self._reduction == "max":
            return float(values.max())
        total = exact_total(values)
        return total / values.size if self._reduction == "mean" else total


MAX_RUN = 1 << 15   # 32768 pixels of 16 bits sum within 32 bits, signed or not


def _runs(keep: np.ndarray) -> np.ndarray | None:
    """Start and end indices of the runs of True in ``keep`` flattened, for np.add.reduceat
    (sums of the even segments are the runs); None if nothing is kept or a run is longer
    than :data:`MAX_RUN` (its 32-bit sum could overflow: a run goes on across rows)."""
    flat = np.concatenate([[False], np.asarray(keep, dtype=bool).reshape(-1), [False]])
    edges = np.flatnonzero(np.diff(flat.astype(np.int8)))
    if edges.size == 0 or (edges[1::2] - edges[0::2]).max() > MAX_RUN:
        return None
    return edges[edges < keep.size].astype(np.intp)


def normalise(values: np.ndarray, monitor: np.ndarray) -> np.ndarray:
    """``values / monitor``, NaN where the monitor is zero or not finite."""
    monitor = np.asarray(monitor, dtype=np.float64)
    out = np.full(np.shape(values), np.nan)
    ok = np.isfinite(monitor) & (monitor != 0)
    np.divide(values, monitor, out=out, where=ok)
    return out
