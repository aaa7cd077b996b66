"""What to show in a scan file: the signal, the scan rank it gives when no key does, and the
other data fitting the scan.

**The signal** is the NeXus default plot (``@default`` chain, ``@signal``, old-style
``signal=1``). One that is missing, a group, text, or behind a missing file is noted and
replaced by a numeric field of the same plot, then a detector's ``data``, then the largest
numeric dataset; the layout says why in ``notes``. When none is left because the detector
file is missing (a Malcolm scan whose detector never wrote), the scan file's own per-point
fields are mapped: its readable keys (``uniqueKeys``: which points were acquired, in order),
then its motor readbacks; the first note names the missing file.

**Without keys** the scan rank comes from the signal (the *frame-rank rule*):
``@interpretation`` (scalar 0, spectrum 1, image 2) wins; else GDA 8 ``scan_dimensions``;
else, for a signal of 3 or more dimensions that is the ``data`` of an NXdetector giving
``x_``/``y_pixel_size`` (NXdetector ``data[np, i, j]``), its last two dimensions are pixels
(one if it gives only ``x``) and the leading ones the scan, whatever axes the plot names
(an NXsas stack of 10 x 195 x 487 with pixel-number axes is 10 images); else, when the
plot names a 1-D axis for each of the signal's 2 or 3 dimensions, every dimension is a scan
dimension (scalars on a grid, e.g. STXM); else by shape: 1-D -> scalars per point; 2-D ->
spectra per point if the first dimension is unlimited (a growing stack), the name says so
(``mca``, ``spectr``) or it is long and thin (last dimension at least 4 times the first, e.g.
(n, 4096)), else a single image (scan rank 0); N-D (N >= 3) -> images (the last two
dimensions) over N-2 scan dimensions.

**The data** are the signal first, then the plot's and every other numeric dataset fitting
the scan (never the plot's axes, the keys or the flag).

Part of layout discovery (`swmrview.core.files.layout.find_layout`).
"""

from __future__ import annotations

from typing import Sequence

import h5py

from swmrview.core.files import gda as gda_mod
from swmrview.core.files.fields import numeric_fields, open_data, split_field
from swmrview.core.files.nexus import (Plot, child, detector_pixel_rank,
                                       frame_rank_from_interpretation, is_numeric)
from swmrview.core.files.nxdata import axis_candidates, parse_nxdata
from swmrview.core.files.search import FileIndex, fallback_signal, fits, quiet_usable, usable
from swmrview.core.files.sources import Notes, resolve

__all__ = ["choose_signal", "collect_data", "frame_rank_rule", "own_fields"]


# ----------------------------------------------------------------------------- signal

def choose_signal(h5file: h5py.File, index: FileIndex, plot: Plot | None,
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


def _exclude_axes(index: FileIndex, plot: Plot) -> None:
    """Datasets the plot names as axes (also by ``AXIS_indices`` over several dims) are
    never the signal nor data."""
    info = parse_nxdata(plot.group)
    names = {n for per_dim in info.axes_per_dim(8) for n in per_dim} | set(info.indices)
    for name in names:
        obj = child(plot.group, name)
        if obj is not None:
            index.excluded_ids.add(obj.id)


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


# ----------------------------------------------------------------------------- frame-rank rule

def frame_rank_rule(h5file: h5py.File, path: str, ds: h5py.Dataset, plot: Plot | None,
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


# ----------------------------------------------------------------------------- data

def own_fields(index: FileIndex, key_paths: Sequence[str], key_ds: Sequence[h5py.Dataset],
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


def collect_data(index: FileIndex, plot: Plot | None, signal_path: str | None,
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
