"""Find what to follow and what to show in an open HDF5 scan file: keys, flag, signal, axes.

`find_layout` is the entry; it gathers the evidence in this order (explicit paths given by the
user always win):

1. **Keys** give the scan rank and shape, and the finished flag is found beside them
   (:mod:`swmrview.core.files.keys_search`).
2. **The signal** is the NeXus default plot, else a noted fallback, else the scan file's own
   per-point fields when its detector file is missing; **without keys** the scan rank comes
   from the signal by the *frame-rank rule*; the data are every numeric dataset fitting the
   scan (:mod:`swmrview.core.files.signal_choice`).
3. **The axes** are the plot's, one per scan dimension, and the pixel mask and overflow value
   the detector's (:func:`swmrview.core.files.nexus.find_mask`). The scan shape is the signal's
   leading dimensions when nothing declares it (None for an unlimited one while a writer has
   the file open).

Only metadata is read (and single-value detector settings); never data, never a virtual
dataset's missing sources. :class:`LayoutError` is raised only when nothing can be shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import h5py

from swmrview.core.files import gda as gda_mod
from swmrview.core.files.keys_search import find_flag, find_keys, flag_value, key_rank, key_shape
from swmrview.core.files.nexus import Plot, child, find_mask, find_plot, units
from swmrview.core.files.nxdata import axis_candidates
from swmrview.core.files.opening import writer_active
from swmrview.core.files.search import (MAX_DEPTH, FileIndex, LayoutError, absolute, explicit,
                                        fits, quiet_usable)
from swmrview.core.files.signal_choice import (choose_signal, collect_data, frame_rank_rule,
                                               own_fields)
from swmrview.core.files.sources import Notes
from swmrview.core.follow.positions import scan_rank_of

logger = logging.getLogger(__name__)

__all__ = ["LayoutError", "ScanLayout", "find_layout", "scan_rank_of"]


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
    key_paths, key_ds, dangling = find_keys(h5file, index, scan, keys, notes)
    finished_path, finished_ds = find_flag(h5file, index, scan, finished)
    index.skip = [scan.path] if scan is not None else []
    index.excluded_ids = {o.id for o in key_ds + [finished_ds] if o is not None}

    # the scan rank and shape when keys or a GDA declaration give them
    rank: int | None = None
    shape: tuple[int | None, ...] | None = None
    if key_ds:
        rank = key_rank(key_paths, key_ds, scan.rank if scan else None, notes)
        shape = key_shape(key_ds, rank, scan.shape if scan else None)
    elif scan is not None and scan.shape is not None:
        rank, shape = len(scan.shape), scan.shape
    # a finished file must fit the scan exactly; a live (or unfinished GDA) one may be short
    exact = not live and not (scan is not None and flag_value(finished_ds) == 0)

    named = [(absolute(p), explicit(h5file, p, "data")) for p in data]
    plot = find_plot(h5file, notes)
    signal_path, signal_ds = choose_signal(h5file, index, plot, rank, shape, exact, notes,
                                           fallback=not named)

    # a scan whose detector data is unreadable (its file missing) still has its own keys and
    # motor readbacks: map those, and say which file is missing
    own: list[str] = []
    if signal_ds is None and not named and rank and (notes.missing_files or dangling):
        own = own_fields(index, key_paths, key_ds, rank, shape, exact)
        if own:
            signal_path, signal_ds = own[0], h5file[own[0]]
            missing = notes.missing_files
            why = (f"detector data missing ({', '.join(missing)} not found)" if missing
                   else "no detector data can be read")
            notes.notes.insert(0, f"{why}: mapping the scan file's own {signal_path} "
                                  f"instead (the motor readbacks are listed as data)")

    # the dataset whose shape gives the scan when nothing declared it: the first --data, or
    # the signal
    base_path, base = named[0] if named else (signal_path, signal_ds)
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
            rank = frame_rank_rule(h5file, base_path, base, plot, per_dim)
            shape = tuple(None if (live and base.maxshape[d] is None) else int(base.shape[d])
                          for d in range(rank))

    axes, axis_names, axis_units = _axes(plot, rank, shape, exact)
    index.excluded_ids |= {h5file[a].id for a in axes if a is not None}
    if named:
        data_paths = [p for p, _ in named]
    else:
        data_paths = collect_data(index, plot, signal_path, signal_ds, rank, shape, exact)
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


# ----------------------------------------------------------------------------- live, axes

def _is_live(h5file: h5py.File) -> bool:
    """A writer has the file open (its superblock's SWMR-write flag)."""
    try:
        return writer_active(h5file.filename)
    except OSError:
        return False


def _axes(plot: Plot | None, rank: int, shape: Sequence[int | None], exact: bool
          ) -> tuple[tuple[str | None, ...], tuple[str, ...], tuple[str | None, ...]]:
    """Per scan dim: the plot's axis fitting it (path, name, units), else ``dimN``."""
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
