"""Find what to follow and what to show in an open HDF5 scan file: keys, flag, signal, axes.

Order of evidence (explicit paths given by the user always win):

1. **Keys** give the scan rank: GDA/Malcolm ``diamond_scan``/``solstice_scan`` keys (links that
   lead nowhere are *dangling*, not an error), else a generic ``keys`` group or integer
   ``*key*``/``*uniqueid*`` datasets. A declared ``scan_shape`` is the scan shape; keys and data
   may have an unlimited maxshape in every scan dimension and still be one point long.
2. **The signal** is the NeXus default plot (``@default`` chain, ``@signal``, old-style
   ``signal=1``). One that is missing, a group, text, or behind a missing file is noted and
   replaced by a numeric field of the same plot, then a detector's ``data``, then the largest
   numeric dataset; the layout says why in ``notes``.
3. **Without keys** the scan rank comes from the signal (the *frame-rank rule*):
   ``@interpretation`` (scalar 0, spectrum 1, image 2) wins; else GDA 8 ``scan_dimensions``;
   else, when the plot names a 1-D axis for each of the signal's 2 or 3 dimensions, every
   dimension is a scan dimension (scalars on a grid, e.g. STXM); else by shape: 1-D ->
   scalars per point; 2-D -> spectra per point if the first dimension is unlimited (a growing
   stack), else a single image (scan rank 0); N-D (N >= 3) -> images (the last two
   dimensions) over N-2 scan dimensions. The scan shape is the signal's leading dimensions
   (None for an unlimited one while a writer has the file open).

Only metadata is read (and single-value detector settings); never data, never a virtual
dataset's missing sources. :class:`LayoutError` is raised only when nothing can be shown.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Sequence

import h5py
import numpy as np

from . import gda as gda_mod
from .files import writer_active
from .nexus import (Plot, axis_candidates, child, find_mask, find_plot,
                    frame_rank_from_interpretation, is_numeric, nx_class, units)
from .positions import scan_rank_of
from .sources import Notes, resolve, vds_missing_files

logger = logging.getLogger(__name__)

__all__ = ["LayoutError", "ScanLayout", "find_layout", "scan_rank_of"]

GDA_SCAN = "/entry/diamond_scan"
GDA_KEYS = GDA_SCAN + "/keys"
GDA_FINISHED = GDA_SCAN + "/scan_finished"

_MAX_DEPTH = 6          # generic search: how deep below the root
_MAX_LINKS = 2000       # generic search: how many links to look at in total
_PREFERRED = ("sum", "total", "counts", "intensity", "data")
_UNLIKELY = ("time", "stamp", "uniqueid", "key", "number", "counter", "path", "index")


class LayoutError(ValueError):
    """Nothing can be shown (or an explicit path is wrong); the message says why."""


@dataclass(frozen=True)
class ScanLayout:
    """Where a scan's datasets are; every path is absolute in the opened (master) file.

    keys           key datasets to follow (may be empty: no keys in the file)
    finished       the finished-flag dataset, or None
    data           usable numeric datasets fitting the scan, best first (signal first)
    signal         the dataset to show (numeric, readable), or None
    axes           per scan dim: motor positions, 1-D (that dim's length) or scan-shaped
    axis_names     per scan dim: axis name (``dimN`` when none is named)
    scan_rank      number of scan dimensions (0: a single frame, no map)
    scan_shape     per scan dim: declared / maxshape / data size; None = not known yet
    gda            a GDA/Malcolm ``diamond_scan``/``solstice_scan`` file
    dangling_keys  key links whose target (file or object) is missing; not in ``keys``
    axis_units     per scan dim: the axis's ``@units`` or None
    pixel_mask     NXdetector pixel mask fitting the signal's frames (non-zero = bad pixel)
    overflow       values >= this are saturated/gap pixels (None: no such value)
    notes          what was ignored or is missing, in words for the status bar / stderr
    missing_files  files named by links or virtual datasets that do not exist
    frame_shape    shape of one frame of the signal (its dims after the scan dims)
    """

    keys: tuple[str, ...]
    finished: str | None
    data: tuple[str, ...]
    signal: str | None
    axes: tuple[str | None, ...]
    axis_names: tuple[str, ...]
    scan_rank: int
    scan_shape: tuple[int | None, ...]
    gda: bool
    dangling_keys: tuple[str, ...] = ()
    axis_units: tuple[str | None, ...] = ()
    pixel_mask: str | None = None
    overflow: int | None = None
    notes: tuple[str, ...] = ()
    missing_files: tuple[str, ...] = ()
    frame_shape: tuple[int, ...] = ()


# ----------------------------------------------------------------------------- helpers

def _abs(path: str) -> str:
    return "/" + path.strip("/")


def _explicit(h5file: h5py.File, path: str, what: str) -> h5py.Dataset:
    """A dataset named by the user; LayoutError names a missing path or broken link."""
    obj, problem = resolve(h5file, path)
    if problem is not None:
        if problem.missing_file or "links to" in problem.message or "soft link" in problem.message:
            raise LayoutError(f"{what} {_abs(path)}: {problem.message}")
        raise LayoutError(f"no dataset at {_abs(path)} in {h5file.filename}")
    if not isinstance(obj, h5py.Dataset):
        raise LayoutError(f"no dataset at {_abs(path)} in {h5file.filename} (it is a group)")
    return obj


def _walk(root: h5py.Group, skip: Sequence[str] = ()) -> Iterator[tuple[str, object]]:
    """Breadth-first (path, object) pairs, bounded in depth and count; broken links skipped."""
    queue = deque([("", root, 0)])
    seen_groups = set()
    budget = _MAX_LINKS
    while queue and budget > 0:
        base, group, depth = queue.popleft()
        for name in group:
            budget -= 1
            if budget < 0:
                logger.debug("layout search stopped after %d links", _MAX_LINKS)
                return
            path = f"{base}/{name}"
            if any(path == s or path.startswith(s + "/") for s in skip):
                continue
            obj = child(group, name)
            if obj is None:
                continue
            yield path, obj
            if isinstance(obj, h5py.Group) and depth + 1 < _MAX_DEPTH and obj.id not in seen_groups:
                seen_groups.add(obj.id)
                queue.append((path, obj, depth + 1))


def _is_flag(path: str, obj) -> bool:
    """A dataset that can be a finished flag: one integer (or none yet), named *finished*."""
    return (isinstance(obj, h5py.Dataset) and "finished" in path.rsplit("/", 1)[-1].lower()
            and obj.dtype.kind in "biu" and obj.size <= 1)


def _is_live(h5file: h5py.File) -> bool:
    try:
        return writer_active(h5file.filename)
    except OSError:
        return False


def _flag_value(ds) -> int | None:
    if not isinstance(ds, h5py.Dataset) or ds.size != 1 or ds.dtype.kind not in "biu":
        return None
    try:
        return int(np.asarray(ds[()]).ravel()[0])
    except (OSError, RuntimeError, ValueError, IndexError):
        return None


def _usable(h5file: h5py.File, path: str, notes: Notes, what: str) -> h5py.Dataset | None:
    """The numeric dataset at ``path``, or None with a note saying why it cannot be shown."""
    obj, problem = resolve(h5file, path)
    if problem is not None:
        notes.problem(problem, f"{what} unavailable: ")
        return None
    if isinstance(obj, h5py.Group):
        notes.add(f"{what} {path} is a group, not a dataset; ignored")
        return None
    if not isinstance(obj, h5py.Dataset):
        return None
    if not is_numeric(obj):
        kind = "text" if obj.dtype.kind in "SUO" else f"{obj.dtype} values"
        notes.add(f"{what} {path} holds {kind}, not numbers; ignored")
        return None
    missing = vds_missing_files(obj)
    if missing:
        notes.add(f"{what} {path} is a virtual dataset whose source file(s) "
                  f"{', '.join(missing)} are missing; not read")
        for name in missing:
            notes.missing(name)
        return None
    if obj.ndim == 0:
        notes.add(f"{what} {path} is a single value; ignored")
        return None
    return obj


def _quiet_usable(obj) -> bool:
    """A numeric array whose data are there (no note: used while scanning many datasets)."""
    return is_numeric(obj) and obj.ndim >= 1 and not vds_missing_files(obj)


def _fits(ds: h5py.Dataset, shape: Sequence[int | None], exact: bool) -> bool:
    """Leading dims fit the scan shape: while live a dim may be short of it if it can grow."""
    if ds.ndim < len(shape):
        return False
    for d, want in enumerate(shape):
        if want is None:
            continue
        got, most = ds.shape[d], ds.maxshape[d]
        if exact:       # a finished file; an aborted scan may be short in its unlimited dim 0
            if got != want and not (d == 0 and most is None and 1 < got < want):
                return False
        elif got > want or (most is not None and most != want):
            return False
    return True


def _name_score(path: str) -> int:
    name = path.rsplit("/", 1)[-1].lower()
    if any(p in name for p in _PREFERRED):
        return 0
    if any(u in name for u in _UNLIKELY):
        return 2
    return 1


# ----------------------------------------------------------------------------- keys

def _generic_keys(walked: Sequence[tuple[str, object]]) -> list[str]:
    candidates = []
    for path, obj in walked:
        name = path.rsplit("/", 1)[-1]
        if isinstance(obj, h5py.Group) and name.lower() == "keys":
            found = [f"{path}/{n}" for n in obj
                     if isinstance(child(obj, n), h5py.Dataset) and obj[n].dtype.kind in "iu"]
            if found:
                return found
        elif isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iu" \
                and ("key" in name.lower() or "uniqueid" in name.lower()):
            candidates.append(path)
    return candidates


def _key_rank(paths: Sequence[str], key_ds: Sequence[h5py.Dataset], declared: int | None,
              notes: Notes) -> int:
    """Scan rank of the keys: the declared one if every key fits it, else their own."""

    def ones_from(ds: h5py.Dataset, rank: int) -> bool:
        return ds.ndim >= rank and all(ds.shape[d] == 1 and ds.maxshape[d] in (1, None)
                                       for d in range(rank, ds.ndim))

    if declared:
        if all(ones_from(ds, declared) for ds in key_ds):
            return declared
        notes.add(f"declared scan rank {declared} does not fit the keys; using theirs")
    ranks = [scan_rank_of(ds.maxshape) for ds in key_ds]
    low = min(ranks)
    if all(ones_from(ds, low) for ds in key_ds):
        return low          # e.g. uniqueKeys (n, m) beside NDArrayUniqueId (n, m, 1, 1)
    detail = ", ".join(f"{p} (rank {r}, maxshape {ds.maxshape})"
                       for p, r, ds in zip(paths, ranks, key_ds))
    raise LayoutError(f"key datasets have different scan ranks: {detail}")


def _key_shape(key_ds: Sequence[h5py.Dataset], rank: int,
               declared: tuple[int, ...] | None) -> tuple[int | None, ...]:
    if declared is not None and len(declared) == rank:
        return declared
    shape: list[int | None] = [None] * rank
    for ds in key_ds:
        for d in range(rank):
            if shape[d] is None and ds.maxshape[d] is not None:
                shape[d] = int(ds.maxshape[d])
    for d in range(1, rank):
        if shape[d] is None:
            shape[d] = int(key_ds[0].shape[d])
    return tuple(shape)


# ----------------------------------------------------------------------------- signal

def _placed_as_position(path: str, parent_class: str | None) -> bool:
    """NXtransformations entries and NXpositioner values (GDA 8 writes counters as
    NXpositioner groups too, so only their ``value*``-like fields count)."""
    name = path.rsplit("/", 1)[-1]
    return parent_class == "NXtransformations" or (
        parent_class == "NXpositioner" and name.startswith(("value", "target", "raw", "demand")))


def _is_position(path: str, ds: h5py.Dataset, parent_class: str | None) -> bool:
    """Motor positions: placed as such, or marked old-style with an ``axis`` attribute."""
    if _placed_as_position(path, parent_class):
        return True
    try:
        return "axis" in ds.attrs
    except (OSError, RuntimeError, KeyError):
        return False


class _Scope:
    """What the signal and data searches must leave out, and the scan they must fit."""

    def __init__(self, h5file: h5py.File):
        self.h5file = h5file
        self.skip: list[str] = []
        self.excluded_ids: set = set()
        self._all: list[tuple[str, object]] | None = None
        self._positions: dict = {}
        self._position_ids: set | None = None
        self._classes: dict[str, str | None] = {}

    def all(self) -> list[tuple[str, object]]:
        """Every object of the bounded walk (walked once per layout)."""
        if self._all is None:
            self._all = list(_walk(self.h5file))
        return self._all

    def walked(self) -> list[tuple[str, object]]:
        """The walk without the skipped groups."""
        return [(p, o) for p, o in self.all()
                if not any(p == s or p.startswith(s + "/") for s in self.skip)]

    def _parent_class(self, path: str) -> str | None:
        parent = path.rsplit("/", 1)[0] or "/"
        if parent not in self._classes:
            self._classes[parent] = nx_class(child(self.h5file, parent))
        return self._classes[parent]

    def is_position(self, path: str, obj) -> bool:
        """Whether ``obj`` holds motor positions, also when hard-linked elsewhere (e.g. an
        NXmx ``sam_x`` in NXdata is the one in NXtransformations). Cached."""
        if self._position_ids is None:
            self._position_ids = set()
            for p, o in self.all():
                if isinstance(o, h5py.Dataset) and _placed_as_position(p, self._parent_class(p)):
                    self._position_ids.add(o.id)
        if obj.id in self._position_ids:
            return True
        if obj.id not in self._positions:
            self._positions[obj.id] = _is_position(path, obj, self._parent_class(path))
        return self._positions[obj.id]

    def allowed(self, path: str, obj) -> bool:
        return (obj.id not in self.excluded_ids
                and not any(path == s or path.startswith(s + "/") for s in self.skip)
                and not self.is_position(path, obj))


def _fallback_signal(scope: _Scope, plot: Plot | None, failed: str | None,
                     fits) -> str | None:
    """A numeric field of the plot, else a detector's data, else the largest numeric dataset."""
    walked = scope.walked()
    tiers: list[list[tuple[tuple, str]]] = [[], [], []]
    if plot is not None:
        for i, name in enumerate(plot.group):
            path = f"{plot.path}/{name}"
            obj = child(plot.group, name)
            if path != failed and isinstance(obj, h5py.Dataset) and obj.size >= 2 \
                    and fits(obj) and _quiet_usable(obj) and scope.allowed(path, obj):
                tiers[0].append(((_name_score(path), i), path))
    for i, (path, obj) in enumerate(walked):
        if not isinstance(obj, h5py.Dataset) or path == failed or obj.size < 2 \
                or not fits(obj) or not _quiet_usable(obj) or not scope.allowed(path, obj):
            continue
        parent = obj.parent
        if path.rsplit("/", 1)[-1] == "data" and (nx_class(parent) == "NXdetector"
                                                  or parent.name.endswith("/detector")):
            tiers[1].append(((i,), path))
        frame = int(np.prod(obj.shape[1:])) if obj.ndim > 1 else 1
        tiers[2].append(((_name_score(path) == 2, -frame, -obj.size, i), path))
    for tier in tiers:
        if tier:
            return min(tier)[1]
    return None


def _plot_length(h5file: h5py.File, plot: Plot | None, failed: str | None) -> int | None:
    """Length of the plot's first dimension: from its unusable signal, else its first axis."""
    if plot is None:
        return None
    if failed:
        obj, _ = resolve(h5file, failed)
        if isinstance(obj, h5py.Dataset) and obj.ndim >= 1:
            return int(obj.shape[0])
    for name in axis_candidates(plot.group, None, 1)[0]:
        obj = child(plot.group, name)
        if is_numeric(obj) and obj.ndim == 1:
            return int(obj.shape[0])
    return None


def _frame_rank_rule(h5file: h5py.File, path: str, ds: h5py.Dataset, plot: Plot | None,
                     axes_per_dim: list[list[str]] | None) -> int:
    """Scan rank of a signal in a file without keys (see the module docstring)."""
    frame = frame_rank_from_interpretation(ds)
    if frame is not None:
        return max(ds.ndim - frame, 0)
    dims = gda_mod.scan_dimensions(h5file, path)
    if dims and len(dims) <= ds.ndim and all(ds.shape[d] <= n for d, n in enumerate(dims)):
        return len(dims)
    if plot is not None and axes_per_dim is not None and path.startswith(plot.path + "/") \
            and 2 <= ds.ndim <= 3 and all(_axis_ok(plot.group, names, ds.shape[d])
                                     for d, names in enumerate(axes_per_dim[: ds.ndim])):
        return ds.ndim
    if ds.ndim == 1:
        return 1
    if ds.ndim == 2:
        return 1 if ds.maxshape[0] is None else 0
    return ds.ndim - 2


def _axis_ok(group: h5py.Group, names: list[str], length: int) -> bool:
    return any(is_numeric(a) and a.ndim == 1 and a.shape[0] == length
               for a in (child(group, n) for n in names))


# ----------------------------------------------------------------------------- axes

def _axes(plot: Plot | None, rank: int, shape: Sequence[int | None], exact: bool
          ) -> tuple[tuple[str | None, ...], tuple[str, ...], tuple[str | None, ...]]:
    paths: list[str | None] = [None] * rank
    names = [f"dim{d}" for d in range(rank)]
    unit_list: list[str | None] = [None] * rank
    if plot is None or rank == 0:
        return tuple(paths), tuple(names), tuple(unit_list)
    signal_obj = child(plot.group, plot.signal) if plot.signal else None
    signal_obj = signal_obj if isinstance(signal_obj, h5py.Dataset) else None
    per_dim = axis_candidates(plot.group, signal_obj, max(rank, signal_obj.ndim if signal_obj
                                                          is not None else rank))
    for d in range(rank):
        for name in per_dim[d]:
            obj = child(plot.group, name)
            if not _quiet_usable(obj):
                continue
            want = shape[d]
            one_d = obj.ndim == 1 and (want is None or obj.shape[0] == want or
                                       (not exact and obj.maxshape[0] is None
                                        and obj.shape[0] <= want))
            scan_shaped = obj.ndim == rank and _fits(obj, shape, exact)
            if one_d or scan_shaped:
                paths[d], names[d], unit_list[d] = f"{plot.path}/{name}", name, units(obj)
                break
        else:
            if per_dim[d]:
                names[d] = per_dim[d][0]
    return tuple(paths), tuple(names), tuple(unit_list)


# ----------------------------------------------------------------------------- entry point

def find_layout(h5file: h5py.File, keys: Sequence[str] = (), data: Sequence[str] = (),
                finished: str | None = None) -> ScanLayout:
    """Locate keys, finished flag, signal, data and axes in ``h5file``; explicit paths win.

    Raises
    ------
    LayoutError
        A path given explicitly is missing or a group, keys disagree on the scan rank,
        nothing at all can be shown (no keys and no numeric data), or the file's structure
        cannot be read (a damaged file); the message says why.
    """
    try:
        return _find_layout(h5file, keys, data, finished)
    except (OSError, RuntimeError, KeyError, TypeError) as exc:
        logger.warning("layout of %s failed", getattr(h5file, "filename", h5file), exc_info=True)
        raise LayoutError(f"cannot read the structure of {h5file.filename}: "
                          f"{type(exc).__name__}: {exc}") from exc


def _find_layout(h5file: h5py.File, keys: Sequence[str], data: Sequence[str],
                 finished: str | None) -> ScanLayout:
    if isinstance(keys, str):
        keys = (keys,)
    if isinstance(data, str):
        data = (data,)
    notes = Notes()
    scope = _Scope(h5file)
    live = _is_live(h5file)
    scan = gda_mod.find_scan(h5file, notes)
    is_gda = scan is not None

    # keys
    dangling: list[str] = []
    if keys:
        key_paths = [_abs(p) for p in keys]
        key_ds = [_explicit(h5file, p, "key") for p in key_paths]
    else:
        if is_gda:
            key_paths, dangling = gda_mod.scan_keys(h5file, scan, notes)
        else:
            key_paths = _generic_keys(scope.all())
        key_ds = [h5file[p] for p in key_paths]

    # finished flag
    if finished:
        finished_path = _abs(finished)
        finished_ds = _explicit(h5file, finished_path, "finished flag")
    else:
        finished_path = scan.finished if is_gda else next(
            (p for p, o in scope.all() if _is_flag(p, o)), None)
        finished_ds = child(h5file, finished_path) if finished_path else None

    # scan rank and shape when keys or a GDA declaration give them
    rank: int | None = None
    shape: tuple[int | None, ...] | None = None
    if key_ds:
        rank = _key_rank(key_paths, key_ds, scan.rank if is_gda else None, notes)
        shape = _key_shape(key_ds, rank, scan.shape if is_gda else None)
    elif is_gda and scan.shape is not None:
        rank, shape = len(scan.shape), scan.shape
    # A finished file must fit the scan exactly; a live (or unfinished GDA) one may be short.
    exact = not live and not (is_gda and _flag_value(finished_ds) == 0)

    explicit_data = [_abs(p) for p in data]
    explicit_ds = [_explicit(h5file, p, "data") for p in explicit_data]

    # signal
    plot = find_plot(h5file, notes)
    scope.skip = [scan.path] if is_gda else []
    scope.excluded_ids = {o.id for o in list(key_ds) + [finished_ds] if o is not None}
    signal_path: str | None = None
    signal_ds: h5py.Dataset | None = None
    if plot is not None:
        if plot.signal:
            candidate = f"{plot.path}/{plot.signal}"
            signal_ds = _usable(h5file, candidate, notes, "signal")
            if signal_ds is not None and rank is not None and not _fits(signal_ds, shape, exact):
                notes.add(f"signal {candidate} {signal_ds.shape} does not fit the scan shape "
                          f"{tuple(shape)}; ignored")
                signal_ds = None
            signal_path = candidate if signal_ds is not None else None
        else:
            notes.add(f"the plot {plot.path} names no signal")
        failed = None if signal_ds is not None else (f"{plot.path}/{plot.signal}"
                                                     if plot.signal else None)
        axis_names_listed = {n for names in axis_candidates(plot.group, None, 8) for n in names}
        axis_names_listed |= {a[: -len("_indices")] for a in plot.group.attrs
                              if a.endswith("_indices")}
        for name in axis_names_listed:              # axes are never the signal
            obj = child(plot.group, name)
            if obj is not None:
                scope.excluded_ids.add(obj.id)
    else:
        failed = None

    if signal_ds is None and not explicit_ds:
        gda8 = gda_mod.scan_dimensions(h5file, plot.path if plot else "/entry1")
        points = _plot_length(h5file, plot, failed)

        def fits(obj) -> bool:
            if rank is not None:
                return _fits(obj, shape, exact)
            if gda8:
                return _fits(obj, gda8, exact)
            if points is not None:      # as long as the plot's signal or first axis
                return obj.shape[0] == points or (not exact and obj.maxshape[0] is None)
            return True

        signal_path = _fallback_signal(scope, plot, failed, fits)
        if signal_path is not None:
            signal_ds = h5file[signal_path]
            notes.add(f"showing {signal_path} instead" if plot is not None or notes.notes
                      else f"no NeXus default plot; showing {signal_path}")
    # the dataset whose shape gives the scan when nothing declared it: the user's first
    # --data, else the signal
    base = explicit_ds[0] if explicit_ds else signal_ds
    base_path = explicit_data[0] if explicit_ds else signal_path

    if base is None and not key_ds and not dangling:
        why = "; ".join(notes.notes) or ("no key datasets, no NeXus plot, and no numeric "
                                         f"dataset of 2 or more values within {_MAX_DEPTH} levels")
        raise LayoutError(f"nothing to show in {h5file.filename}: {why}; "
                          f"name the datasets with --key PATH / --data PATH")

    # scan rank and shape from the signal when nothing declared them
    if rank is None:
        if base is None:
            rank, shape = 0, ()
        else:
            per_dim = axis_candidates(plot.group, base, base.ndim) if plot is not None else None
            rank = _frame_rank_rule(h5file, base_path, base, plot, per_dim)
            shape = tuple(None if (live and base.maxshape[d] is None) else int(base.shape[d])
                          for d in range(rank))
    assert shape is not None

    axes, axis_names, axis_units = _axes(plot, rank, shape, exact)
    for a in axes:
        if a is not None:
            scope.excluded_ids.add(h5file[a].id)

    # data: the signal first, then every other numeric dataset fitting the scan
    if explicit_ds:
        data_paths = explicit_data
    elif rank == 0:
        data_paths = [signal_path] if signal_path else []
    else:
        data_paths = [signal_path] if signal_path else []
        seen = {signal_ds.id} if signal_ds is not None else set()
        ordered = []
        if plot is not None:
            ordered = [(f"{plot.path}/{n}", child(plot.group, n)) for n in plot.group]
        for path, obj in ordered + scope.walked():
            if isinstance(obj, h5py.Dataset) and obj.id not in seen \
                    and (obj.size >= 2 or not exact) and obj.ndim >= rank \
                    and _fits(obj, shape, exact) and _quiet_usable(obj) \
                    and scope.allowed(path, obj):
                seen.add(obj.id)
                data_paths.append(path)
        if not data_paths:
            notes.add(f"no numeric dataset fits the scan shape {tuple(shape)} yet")

    frame_shape = tuple(int(n) for n in base.shape[rank:]) if base is not None else ()
    pixel_mask, overflow = (find_mask(h5file, base_path, base, frame_shape, notes)
                            if base is not None else (None, None))

    layout = ScanLayout(keys=tuple(key_paths), finished=finished_path, data=tuple(data_paths),
                        signal=signal_path, axes=axes, axis_names=axis_names, scan_rank=rank,
                        scan_shape=tuple(shape), gda=is_gda, dangling_keys=tuple(dangling),
                        axis_units=axis_units, pixel_mask=pixel_mask, overflow=overflow,
                        notes=tuple(notes.notes), missing_files=tuple(notes.missing_files),
                        frame_shape=frame_shape)
    logger.debug("layout of %s: %s", h5file.filename, layout)
    return layout
