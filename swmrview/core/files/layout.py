"""Find what to follow and what to show in an open HDF5 scan file: keys, flag, signal, axes.

Order of evidence (explicit paths given by the user always win):

1. **Keys** give the scan rank: GDA/Malcolm ``diamond_scan``/``solstice_scan`` keys (links that
   lead nowhere are *dangling*, not an error), else a generic ``keys`` group or integer
   ``*key*``/``*uniqueid*`` datasets. A declared ``scan_shape`` is the scan shape; keys and data
   may have an unlimited maxshape in every scan dimension and still be one point long.
2. **The signal** is the NeXus default plot (``@default`` chain, ``@signal``, old-style
   ``signal=1``). One that is missing, a group, text, or behind a missing file is noted and
   replaced by a numeric field of the same plot, then a detector's ``data``, then the largest
   numeric dataset; the layout says why in ``notes``. When none is left because the detector
   file is missing (a Malcolm scan whose detector never wrote), the scan file's own per-point
   fields are mapped: its readable keys (``uniqueKeys``: which points were acquired, in order),
   then its motor readbacks; the first note names the missing file.
3. **Without keys** the scan rank comes from the signal (the *frame-rank rule*):
   ``@interpretation`` (scalar 0, spectrum 1, image 2) wins; else GDA 8 ``scan_dimensions``;
   else, for a signal of 3 or more dimensions that is the ``data`` of an NXdetector giving
   ``x_``/``y_pixel_size`` (NXdetector ``data[np, i, j]``), its last two dimensions are pixels
   (one if it gives only ``x``) and the leading ones the scan, whatever axes the plot names
   (an NXsas stack of 10 x 195 x 487 with pixel-number axes is 10 images); else, when the
   plot names a 1-D axis for each of the signal's 2 or 3 dimensions, every dimension is a scan
   dimension (scalars on a grid, e.g. STXM); else by shape: 1-D ->
   scalars per point; 2-D -> spectra per point if the first dimension is unlimited (a growing
   stack), the name says so (``mca``, ``spectr``) or it is long and thin (last dimension at
   least 4 times the first, e.g. (n, 4096)), else a single image (scan rank 0); N-D (N >= 3)
   -> images (the last two dimensions) over N-2 scan dimensions. The scan shape is the signal's leading dimensions
   (None for an unlimited one while a writer has the file open).

Only metadata is read (and single-value detector settings); never data, never a virtual
dataset's missing sources. :class:`LayoutError` is raised only when nothing can be shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import h5py
import numpy as np

from swmrview.core.files import gda as gda_mod
from swmrview.core.files.fields import FieldDataset, numeric_fields, open_data, split_field
from swmrview.core.files.opening import writer_active
from swmrview.core.files.nexus import (Plot, child, detector_pixel_rank, find_mask, find_plot,
                                       frame_rank_from_interpretation, is_numeric, units)
from swmrview.core.files.nxdata import axis_candidates, parse_nxdata
from swmrview.core.follow.positions import scan_rank_of
from swmrview.core.files.search import MAX_DEPTH, FileIndex, fallback_signal, fits, quiet_usable, usable
from swmrview.core.files.sources import Notes, resolve

logger = logging.getLogger(__name__)

__all__ = ["LayoutError", "ScanLayout", "find_layout", "scan_rank_of"]

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


def _explicit(h5file: h5py.File, path: str, what: str) -> h5py.Dataset | FieldDataset:
    """A dataset (or ``PATH:FIELD`` of a compound one) named by the user; LayoutError names a
    missing path or broken link."""
    base, field = split_field(path)
    if field is not None and child(h5file, path) is None:
        _explicit(h5file, base, what)       # the dataset itself: missing, a group, a link
        try:
            return open_data(h5file, path)
        except KeyError as exc:
            raise LayoutError(f"{what} {_abs(path)}: {exc.args[0] if exc.args else exc}"
                              ) from None
    obj, problem = resolve(h5file, path)
    if problem is not None:
        if problem.missing_file or "links to" in problem.message or "soft link" in problem.message:
            raise LayoutError(f"{what} {_abs(path)}: {problem.message}")
        raise LayoutError(f"no dataset at {_abs(path)} in {h5file.filename}")
    if not isinstance(obj, h5py.Dataset):
        raise LayoutError(f"no dataset at {_abs(path)} in {h5file.filename} (it is a group)")
    return obj


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


# ----------------------------------------------------------------------------- keys

def _generic_keys(walked: Sequence[tuple[str, object]]) -> list[str]:
    """A group named ``keys``, else integer datasets named like ``*key*``/``*uniqueid*``.

    NXtomo's ``image_key`` (0 for every projection) is a frame type, not a key.
    """
    candidates = []
    for path, obj in walked:
        name = path.rsplit("/", 1)[-1].lower()
        if isinstance(obj, h5py.Group) and name == "keys":
            found = [f"{path}/{n}" for n in obj
                     if isinstance(child(obj, n), h5py.Dataset) and obj[n].dtype.kind in "iu"]
            if found:
                return found
        elif isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iu" and name != "image_key" \
                and ("key" in name or "uniqueid" in name):
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
    pixels = detector_pixel_rank(h5file, path, ds) if ds.ndim >= 3 else None
    if pixels is not None:
        return ds.ndim - pixels
    if plot is not None and axes_per_dim is not None and path.startswith(plot.path + "/") \
            and 2 <= ds.ndim <= 3 and all(_axis_ok(plot.group, names, ds.shape[d],
                                                   growing=ds.maxshape[d] is None)
                                     for d, names in enumerate(axes_per_dim[: ds.ndim])):
        return ds.ndim
    if ds.ndim == 1:
        return 1
    if ds.ndim == 2:
        return 1 if _spectra(path, ds) else 0
    return ds.ndim - 2


def _spectra(path: str, ds: h5py.Dataset) -> bool:
    """A 2-D signal is a stack of spectra (not one image) if it grows along its first
    dimension, is named like one, or is long and thin (many channels, few points)."""
    name = path.rsplit("/", 1)[-1].lower()
    return (ds.maxshape[0] is None or any(w in name for w in ("mca", "spectr"))
            or ds.shape[1] >= 4 * max(ds.shape[0], 1))


def _axis_ok(group: h5py.Group, names: list[str], length: int, growing: bool = False) -> bool:
    """A 1-D numeric axis of ``length`` (at least that long while the data still grows)."""
    return any(is_numeric(a) and a.ndim == 1
               and (a.shape[0] == length or growing and a.shape[0] >= length)
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
            if not quiet_usable(obj):
                continue
            want = shape[d]
            one_d = obj.ndim == 1 and (want is None or obj.shape[0] == want or
                                       (not exact and obj.maxshape[0] is None
                                        and obj.shape[0] <= want))
            scan_shaped = obj.ndim == rank and fits(obj, shape, exact)
            if one_d or scan_shaped:
                paths[d], names[d], unit_list[d] = f"{plot.path}/{name}", name, units(obj)
                break
        else:
            if per_dim[d]:
                names[d] = per_dim[d][0]
    return tuple(paths), tuple(names), tuple(unit_list)


# ----------------------------------------------------------------------------- steps

def _find_keys(h5file: h5py.File, index: FileIndex, scan: gda_mod.GdaScan | None,
               keys: Sequence[str], notes: Notes
               ) -> tuple[list[str], list[h5py.Dataset], list[str]]:
    """(key paths, key datasets, dangling key paths): explicit, GDA, else generic keys."""
    if keys:
        paths = [_abs(p) for p in keys]
        return paths, [_explicit(h5file, p, "key") for p in paths], []
    if scan is not None:
        paths, dangling = gda_mod.scan_keys(h5file, scan, notes)
    else:
        paths, dangling = _generic_keys(index.all()), []
    return paths, [h5file[p] for p in paths], dangling


def _find_flag(h5file: h5py.File, index: FileIndex, scan: gda_mod.GdaScan | None,
               finished: str | None) -> tuple[str | None, h5py.Dataset | None]:
    if finished:
        path = _abs(finished)
        return path, _explicit(h5file, path, "finished flag")
    path = scan.finished if scan is not None else next(
        (p for p, o in index.all() if _is_flag(p, o)), None)
    return path, (child(h5file, path) if path else None)


def _exclude_axes(index: FileIndex, plot: Plot) -> None:
    """Datasets the plot names as axes (also by ``AXIS_indices`` over several dims) are
    never the signal nor data."""
    info = parse_nxdata(plot.group)
    names = {n for per_dim in info.axes_per_dim(8) for n in per_dim} | set(info.indices)
    for name in names:
        obj = child(plot.group, name)
        if obj is not None:
            index.excluded_ids.add(obj.id)


def _choose_signal(h5file: h5py.File, index: FileIndex, plot: Plot | None,
                   rank: int | None, shape, exact: bool, notes: Notes, fallback: bool = True
                   ) -> tuple[str | None, h5py.Dataset | None]:
    """The plot's signal if it can be shown, else (with ``fallback``) another one, noted."""
    failed = None
    if plot is not None:
        _exclude_axes(index, plot)
        if not plot.signal:
            notes.add(f"the plot {plot.path} names no signal")
        else:
            path = f"{plot.path}/{plot.signal}"
            ds = usable(h5file, path, notes, "signal")
            if ds is not None and rank is not None and not fits(ds, shape, exact):
                notes.add(f"signal {path} {ds.shape} does not fit the scan shape "
                          f"{tuple(shape)}; ignored")
                ds = None
            if ds is not None:
                return path, ds
            failed = path
    if not fallback:
        return None, None

    gda8 = gda_mod.scan_dimensions(h5file, plot.path if plot else "/entry1")
    points = _plot_length(h5file, plot, failed)

    def fits_scan(obj: h5py.Dataset) -> bool:
        if rank is not None:
            return fits(obj, shape, exact)
        if gda8:
            return fits(obj, gda8, exact)
        if points is not None:      # as long as the plot's signal or first axis
            return obj.shape[0] == points or (not exact and obj.maxshape[0] is None)
        return True

    path = fallback_signal(index, plot, failed, fits_scan)
    if path is None:
        return None, None
    what = ""
    base, field = split_field(path)
    if field is not None and child(h5file, path) is None:
        others = [n for n in numeric_fields(h5file[base].dtype) if n != field]
        what = (f" (the field {field!r} of the compound dataset {base}"
                + (f"; its other numeric fields {', '.join(others)} are listed as "
                   f"{base}:FIELD" if others else "") + ")")
    notes.add(f"showing {path} instead{what}" if plot is not None or notes.notes
              else f"no NeXus default plot; showing {path}{what}")
    return path, open_data(h5file, path)


def _own_fields(index: FileIndex, key_paths: Sequence[str], key_ds: Sequence[h5py.Dataset],
                rank: int, shape, exact: bool) -> list[str]:
    """Per-point fields a scan file keeps of its own when its detector data cannot be read:
    its readable keys (their values: which points were acquired, in which order), then its
    motor readbacks (scan-shaped positions). Never data otherwise; the last resort."""
    found: list[tuple[bool, int, str]] = []
    seen: set = set()
    for path, obj in list(zip(key_paths, key_ds)) + [
            (p, o) for p, o in index.walked()
            if isinstance(o, h5py.Dataset) and o.ndim == rank and index.is_position(p, o)]:
        if obj.id not in seen and obj.size >= 2 and obj.ndim >= rank \
                and fits(obj, shape, exact) and quiet_usable(obj):
            seen.add(obj.id)
            # one value per point first (an NDArrayUniqueId (n, m, 1, 1) after uniqueKeys)
            found.append((obj.ndim != rank, len(found), path))
    return [path for *_, path in sorted(found)]


def _collect_data(index: FileIndex, plot: Plot | None, signal_path: str | None,
                  signal_ds: h5py.Dataset | None, rank: int, shape, exact: bool) -> list[str]:
    """The signal first, then the plot's and every other numeric dataset fitting the scan."""
    found = [signal_path] if signal_path else []
    if rank == 0:
        return found

    def ident(obj) -> tuple:      # the fields of one compound dataset share its id
        return obj.id, getattr(obj, "field", None)

    seen = {ident(signal_ds)} if signal_ds is not None else set()
    ordered = [(f"{plot.path}/{n}", child(plot.group, n)) for n in plot.group] if plot else []
    for path, obj in index.with_fields(ordered + index.walked()):
        if is_numeric(obj) and ident(obj) not in seen \
                and (obj.size >= 2 or not exact) and obj.ndim >= rank \
                and fits(obj, shape, exact) and quiet_usable(obj) and index.allowed(path, obj):
            seen.add(ident(obj))
            found.append(path)
    return found


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
        return _find_layout(h5file, (keys,) if isinstance(keys, str) else tuple(keys),
                            (data,) if isinstance(data, str) else tuple(data), finished)
    except (OSError, RuntimeError, KeyError, TypeError) as exc:
        logger.warning("layout of %s failed", getattr(h5file, "filename", h5file), exc_info=True)
        raise LayoutError(f"cannot read the structure of {h5file.filename}: "
                          f"{type(exc).__name__}: {exc}") from exc


def _find_layout(h5file: h5py.File, keys: tuple[str, ...], data: tuple[str, ...],
                 finished: str | None) -> ScanLayout:
    notes = Notes()
    index = FileIndex(h5file)
    live = _is_live(h5file)
    scan = gda_mod.find_scan(h5file, notes)
    key_paths, key_ds, dangling = _find_keys(h5file, index, scan, keys, notes)
    finished_path, finished_ds = _find_flag(h5file, index, scan, finished)
    index.skip = [scan.path] if scan is not None else []
    index.excluded_ids = {o.id for o in key_ds + [finished_ds] if o is not None}

    # the scan rank and shape when keys or a GDA declaration give them
    rank: int | None = None
    shape: tuple[int | None, ...] | None = None
    if key_ds:
        rank = _key_rank(key_paths, key_ds, scan.rank if scan else None, notes)
        shape = _key_shape(key_ds, rank, scan.shape if scan else None)
    elif scan is not None and scan.shape is not None:
        rank, shape = len(scan.shape), scan.shape
    # a finished file must fit the scan exactly; a live (or unfinished GDA) one may be short
    exact = not live and not (scan is not None and _flag_value(finished_ds) == 0)

    explicit = [(_abs(p), _explicit(h5file, p, "data")) for p in data]
    plot = find_plot(h5file, notes)
    signal_path, signal_ds = _choose_signal(h5file, index, plot, rank, shape, exact, notes,
                                            fallback=not explicit)

    # a scan whose detector data is unreadable (its file missing) still has its own keys and
    # motor readbacks: map those, and say which file is missing
    own: list[str] = []
    if signal_ds is None and not explicit and rank and (notes.missing_files or dangling):
        own = _own_fields(index, key_paths, key_ds, rank, shape, exact)
        if own:
            signal_path, signal_ds = own[0], h5file[own[0]]
            missing = notes.missing_files
            why = (f"detector data missing ({', '.join(missing)} not found)" if missing
                   else "no detector data can be read")
            notes.notes.insert(0, f"{why}: mapping the scan file's own {signal_path} "
                                  f"instead (the motor readbacks are listed as data)")

    # the dataset whose shape gives the scan when nothing declared it: the first --data, or
    # the signal
    base_path, base = explicit[0] if explicit else (signal_path, signal_ds)
    if base is None and not key_ds and not dangling:
        why = "; ".join(notes.notes + [
            f"no key datasets, and no{' other' if notes.notes else ''} numeric data of 2 or "
            f"more values within {MAX_DEPTH} levels (motor positions are not data)"])
        raise LayoutError(f"nothing to show in {h5file.filename}: {why}; "
                          f"name the datasets with --key PATH / --data PATH")
    if rank is None:
        if base is None:
            rank, shape = 0, ()
        else:
            per_dim = axis_candidates(plot.group, base, base.ndim) if plot is not None else None
            rank = _frame_rank_rule(h5file, base_path, base, plot, per_dim)
            shape = tuple(None if (live and base.maxshape[d] is None) else int(base.shape[d])
                          for d in range(rank))

    axes, axis_names, axis_units = _axes(plot, rank, shape, exact)
    index.excluded_ids |= {h5file[a].id for a in axes if a is not None}
    if explicit:
        data_paths = [p for p, _ in explicit]
    else:
        data_paths = _collect_data(index, plot, signal_path, signal_ds, rank, shape, exact)
        data_paths += [p for p in own if p not in data_paths]
        if not data_paths:
            notes.add(f"no numeric dataset fits the scan shape {tuple(shape)} yet")

    frame_shape = tuple(int(n) for n in base.shape[rank:]) if base is not None else ()
    pixel_mask, overflow = (find_mask(h5file, base_path, base, frame_shape, notes)
                            if base is not None else (None, None))
    layout = ScanLayout(keys=tuple(key_paths), finished=finished_path, data=tuple(data_paths),
                        signal=signal_path, axes=axes, axis_names=axis_names, scan_rank=rank,
                        scan_shape=tuple(shape), gda=scan is not None,
                        dangling_keys=tuple(dangling), axis_units=axis_units,
                        pixel_mask=pixel_mask, overflow=overflow, notes=tuple(notes.notes),
                        missing_files=tuple(notes.missing_files), frame_shape=frame_shape)
    logger.debug("layout of %s: %s", h5file.filename, layout)
    return layout
