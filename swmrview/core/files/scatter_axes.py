"""Per-point motor positions of non-grid scans (spiral, random, fly, snake): find and read them.

A scan's points have real positions when two motor datasets are recorded per point, i.e. have
the scan's shape (or grow with it, as GDA writes them: unlimited maxshape, from (1, ...)):

- NeXus: fields of the default NXdata whose ``NAME_indices`` name two or more scan dims
  (``x_indices = [1, 2]``), or, in a 1-D scan, two or more fields of one dim
  (a spiral: ``x_indices = 0`` and ``y_indices = 0``).
- GDA: NXpositioner groups with ``@gda_scan_role = "scannable"`` whose ``value`` has the scan's
  rank (when the NXdata declares no such fields).

The planned (demand) positions of the whole scan are the motors' ``value_set`` when it holds one
value per point of the scan (GDA writes them at the start of a non-grid scan; for a grid it has
one value per step of the motor's own axis and is not a trajectory). Only metadata is read here
(:func:`find_scatter_axes`); the positions themselves are read by :func:`read_positions` and
:func:`read_planned` in the follower thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import h5py
import numpy as np

from swmrview.core.files.nexus import attr, child, find_plot, is_numeric, nx_class, text, units
from swmrview.core.files.nxdata import parse_nxdata
from swmrview.core.files.sources import Notes

logger = logging.getLogger(__name__)

__all__ = ["ScatterAxes", "find_scatter_axes", "read_positions", "read_rows", "read_planned"]


@dataclass(frozen=True)
class ScatterAxes:
    """Where the per-point positions of a scan are (paths absolute in the open file).

    x, y          per-point position datasets (x drawn horizontally: the faster axis)
    dims          the scan dims the datasets' dims stand for, in order (e.g. (1, 2), or (0,))
    planned_x/y   the motors' ``value_set`` datasets (used when they hold the whole scan)
    """

    x: str
    y: str
    x_name: str
    y_name: str
    x_unit: str | None
    y_unit: str | None
    dims: tuple[int, ...]
    planned_x: str | None = None
    planned_y: str | None = None


@dataclass(frozen=True)
class _Candidate:
    path: str
    name: str
    dims: tuple[int, ...]
    declared: int        # scan dim @axes names it for (-1: none)
    order: int           # place in the file's attributes


def _fits(ds: h5py.Dataset, dims: Sequence[int], shape: Sequence[int | None]) -> bool:
    """The dataset's dims follow the scan dims ``dims``: equal, unknown, or still growing."""
    if ds.ndim != len(dims):
        return False
    for n, maxn, d in zip(ds.shape, ds.maxshape, dims):
        want = shape[d] if d < len(shape) else None
        if want is not None and n != want and not (maxn is None and n <= want):
            return False
    return True


def _base(name: str) -> str:
    """A motor's name without GDA's field suffixes (``stagex_value`` -> ``stagex``)."""
    for suffix in ("_value_set", "_value", "_set"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_monitor(ds: h5py.Dataset, h5file: h5py.File) -> bool:
    """A GDA per-point monitor (ring current...) recorded like a positioner: not a motor."""
    target = text(attr(ds, "target"))
    group = child(h5file, target.rsplit("/", 1)[0]) if target and "/" in target else ds.parent
    role = text(attr(group, "gda_scan_role")) if isinstance(group, h5py.Group) else None
    return bool(role) and role.lower().startswith("monitor")


def _nxdata_candidates(h5file: h5py.File, group: h5py.Group, signal: str | None, rank: int,
                       shape: Sequence[int | None]) -> list[_Candidate]:
    info = parse_nxdata(group)
    axes = [_base(n) for n in info.axes]
    found = []
    for order, (name, dims) in enumerate(info.indices.items()):
        if not dims or name == signal or name.endswith("_set"):
            continue
        if list(dims) != sorted(set(dims)) or dims[-1] >= rank:
            continue
        if len(dims) < 2 and not (rank == 1 and dims == (0,)):
            continue  # one axis of a grid: drawn by the grid map
        ds = child(group, name)
        if not is_numeric(ds) or not _fits(ds, dims, shape) or _is_monitor(ds, h5file):
            continue
        declared = max((d for d, a in enumerate(axes) if a == _base(name)), default=-1)
        found.append(_Candidate(f"{group.name}/{name}", name, dims, declared, order))
    return found


def _gda_candidates(h5file: h5py.File, rank: int, shape: Sequence[int | None]
                    ) -> list[_Candidate]:
    """Scannables of ``/entry*/instrument`` whose ``value`` is recorded per point."""
    found = []
    for entry in ("entry", "entry1"):
        instrument = child(h5file, f"/{entry}/instrument")
        if not isinstance(instrument, h5py.Group):
            continue
        for order, name in enumerate(instrument):
            group = child(instrument, name)
            if nx_class(group) != "NXpositioner" \
                    or (text(attr(group, "gda_scan_role")) or "") != "scannable":
                continue
            ds = child(group, "value")
            dims = tuple(range(rank))
            if is_numeric(ds) and _fits(ds, dims, shape):
                found.append(_Candidate(ds.name, name, dims, -1, order))
    return found


def _xy_rank(name: str) -> int:
    """0 for a name that reads as an x motor, 1 for y, 2 otherwise (x is drawn horizontally)."""
    last = _base(name).lower().rstrip("0123456789_")[-1:]
    return {"x": 0, "y": 1}.get(last, 2)


def _partner(name: str) -> str | None:
    """The y motor's name of an x motor and the other way round (``sample_x`` -> ``sample_y``)."""
    base = _base(name)
    stem = base.rstrip("0123456789_")
    swap = {"x": "y", "y": "x", "X": "Y", "Y": "X"}.get(stem[-1:])
    return None if swap is None else stem[:-1] + swap + base[len(stem):]


def _pick_line(candidates: list[_Candidate]) -> tuple[_Candidate, _Candidate] | None:
    """A 1-D scan's two motors: its declared axis and that axis's x/y partner.

    A 1-D NXdata gives every counter ``_indices = 0`` (GDA's ``measurement``), so two fields
    of dim 0 are not enough: a spiral declares ``x`` as its axis and records ``y`` beside it.
    """
    declared = [c for c in candidates if c.declared == 0]
    for axis in declared:
        partner = _partner(axis.name)
        other = next((c for c in candidates if partner and _base(c.name) == partner), None)
        if other is not None:
            return (axis, other) if _xy_rank(axis.name) <= _xy_rank(other.name) else (other, axis)
    return None


def _pick(candidates: list[_Candidate], rank: int) -> tuple[_Candidate, _Candidate] | None:
    """Two motors of the same dims covering the fastest dim: x the faster, y the slower."""
    groups: dict[tuple[int, ...], list[_Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.dims, []).append(c)
    usable = [dims for dims, cs in groups.items() if len(cs) >= 2]
    if not usable:
        return None
    dims = max(usable, key=lambda ds: (ds[-1] == rank - 1, len(ds)))
    ordered = sorted(groups[dims], key=lambda c: (-c.declared, c.order))[:2]
    names = [_xy_rank(c.name) for c in ordered]
    if names[1] < names[0]:  # "x"/"y" names win over the declaration order
        ordered.reverse()
    return ordered[0], ordered[1]


def _positioners_holding(h5file: h5py.File, ds: h5py.Dataset | None) -> list[str]:
    """Paths of the NXpositioner groups whose ``value`` is ``ds`` (NXdata holds hard links)."""
    found = []
    for entry in ("entry", "entry1"):
        instrument = child(h5file, f"/{entry}/instrument")
        if ds is None or not isinstance(instrument, h5py.Group):
            continue
        for name in instrument:
            value = child(instrument, f"{name}/value")
            if isinstance(value, h5py.Dataset) and value.id == ds.id:
                found.append(f"{instrument.name}/{name}")
    return found


def _planned_path(h5file: h5py.File, candidate: _Candidate) -> str | None:
    """The motor's demand positions: ``NAME_set`` beside it, else its positioner's value_set."""
    ds = child(h5file, candidate.path)
    beside = child(ds.parent, candidate.name + "_set") if ds is not None else None
    if is_numeric(beside):
        return f"{ds.parent.name}/{candidate.name}_set"
    target = text(attr(ds, "target")) if ds is not None else None
    for group_path in ([target.rsplit("/", 1)[0]] if target and "/" in target else []) \
            + [candidate.path.rsplit("/", 1)[0]] + _positioners_holding(h5file, ds):
        value_set = child(h5file, f"{group_path}/value_set")
        if is_numeric(value_set):
            return f"{group_path}/value_set"
    return None


def find_scatter_axes(h5file: h5py.File, scan_rank: int, scan_shape: Sequence[int | None],
                      signal: str | None = None) -> ScatterAxes | None:
    """The per-point position datasets of the scan in ``h5file``, or None for a grid scan.

    ``scan_shape`` is the layout's (None where unknown); ``signal`` the shown dataset, never a
    position. Only metadata is read.
    """
    if scan_rank < 1:
        return None
    try:
        plot = find_plot(h5file, Notes())
        candidates = _nxdata_candidates(h5file, plot.group, plot.signal, scan_rank,
                                        scan_shape) if plot is not None else []
        candidates = [c for c in candidates if c.path != signal]
        picked = (_pick_line(candidates) if scan_rank == 1 else _pick(candidates, scan_rank)) \
            or _pick(_gda_candidates(h5file, scan_rank, scan_shape), scan_rank)
        if picked is None:
            return None
        x, y = picked
        xs, ys = h5file[x.path], h5file[y.path]
        return ScatterAxes(x.path, y.path, _base(x.name), _base(y.name), units(xs), units(ys),
                           x.dims, _planned_path(h5file, x), _planned_path(h5file, y))
    except (OSError, RuntimeError, KeyError, TypeError, ValueError):
        logger.debug("scatter axes of %s not found", h5file.filename, exc_info=True)
        return None


def read_positions(h5file: h5py.File, axes: ScatterAxes) -> tuple[np.ndarray, np.ndarray]:
    """The x and y recorded so far (float64, both cut to the extent both reached).

    Refreshes the datasets first under SWMR, so positions written since the last read show.
    """
    arrays = []
    for path in (axes.x, axes.y):
        ds = h5file[path]
        if getattr(h5file, "swmr_mode", False):
            ds.refresh()
        arrays.append(np.asarray(ds[()], dtype=np.float64))
    extent = tuple(min(a, b) for a, b in zip(arrays[0].shape, arrays[1].shape))
    window = tuple(slice(0, n) for n in extent)
    return arrays[0][window], arrays[1][window]


def read_rows(h5file: h5py.File, path: str, start: int = 0
              ) -> tuple[tuple[int, ...], np.ndarray]:
    """The shape now of the dataset at ``path`` and its rows from ``start`` on along its first
    dim (float64; all of it for a 0-d dataset), after a refresh under SWMR. Only those rows are
    read (a live scan's new positions), not the whole dataset."""
    ds = h5file[path]
    if getattr(h5file, "swmr_mode", False):
        ds.refresh()
    shape = tuple(int(n) for n in ds.shape)
    if not shape:
        return shape, np.asarray(ds[()], dtype=np.float64)
    first = min(max(start, 0), shape[0])
    if first >= shape[0]:
        return shape, np.zeros((0,) + shape[1:])
    return shape, np.asarray(ds[first:] if first else ds[()], dtype=np.float64)


def read_planned(h5file: h5py.File, axes: ScatterAxes, shape: Sequence[int]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The demand positions of the whole scan, shaped ``shape`` (the scan's over ``dims``).

    None when the file has none, or its ``value_set`` is one value per step of a grid axis.
    """
    if not axes.planned_x or not axes.planned_y or not shape or None in shape:
        return None
    total = int(np.prod(shape))
    if len(shape) > 1 and total <= max(shape):
        return None  # a line of a grid: each motor's value_set is its own axis
    out = []
    for path in (axes.planned_x, axes.planned_y):
        ds = h5file[path]
        if getattr(h5file, "swmr_mode", False):
            ds.refresh()
        if ds.size != total:
            return None
        out.append(np.asarray(ds[()], dtype=np.float64).reshape(tuple(shape)))
    return out[0], out[1]
