"""NeXus as found in the wild: the default plot, a detector's pixel rank and its masks.

The ``@default`` chain is followed (also into NXsubentry groups and GDA 8 ``entry1`` files) to
an NXdata group; what that group's attributes say (signal, axes, ``AXIS_indices``, the
old-style ``signal=1`` / ``axes="x:y"`` / ``axis=N`` and ``primary=1``) is parsed by
:mod:`swmrview.core.files.nxdata` alone. Nothing here reads data except single-value
metadata (``saturation_value``, ``bit_depth_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import h5py
import numpy as np

from swmrview.core.files.attributes import (MAX_CHILDREN, attr, child, is_numeric, nx_class, text,
                                            texts, units)
from swmrview.core.files.nxdata import axis_candidates, declared_signal, has_signal, signal_name
from swmrview.core.files.sources import Notes, resolve

__all__ = ["Plot", "text", "texts", "nx_class", "child", "is_numeric", "find_plot",
           "axis_candidates", "frame_rank_from_interpretation", "detector_pixel_rank", "units",
           "find_mask", "attr", "signal_name"]

_INTERPRETATION = {"scalar": 0, "spectrum": 1, "image": 2, "rgb-image": 3, "rgba-image": 3,
                   "hsl-image": 3, "hsla-image": 3, "cmyk-image": 3}


def _groups(group: h5py.Group) -> Iterator[tuple[str, h5py.Group]]:
    for i, name in enumerate(group):
        if i >= MAX_CHILDREN:
            return
        obj = child(group, name)
        if isinstance(obj, h5py.Group):
            yield name, obj


# ----------------------------------------------------------------------------- default plot

@dataclass(frozen=True)
class Plot:
    """An NXdata group and the name its signal is given by (None if it names none)."""

    path: str
    group: h5py.Group
    signal: str | None


def _pick_nxdata(path: str, group: h5py.Group) -> tuple[str, h5py.Group] | None:
    """An NXdata below an entry: one with a signal first, also inside NXsubentry groups."""
    found: list[tuple[str, h5py.Group]] = []
    for name, obj in _groups(group):
        cls = nx_class(obj)
        if cls == "NXdata":
            found.append((f"{path}/{name}", obj))
        elif cls == "NXsubentry":
            inner = _default_in(f"{path}/{name}", obj, None)
            if inner is not None:
                found.append(inner)
    for candidate in found:
        if has_signal(candidate[1]):
            return candidate
    return found[0] if found else None


def _default_in(path: str, group: h5py.Group, notes: Notes | None,
                depth: int = 0) -> tuple[str, h5py.Group] | None:
    """Follow ``@default`` below ``group`` to an NXdata; fall back on NX_class."""
    if depth > 6:
        return None
    if nx_class(group) == "NXdata" and path:
        return path, group
    named = declared_signal(group)
    if named and notes is not None and isinstance(child(group, named), h5py.Group):
        notes.add(f"@signal of {path or '/'} names the group {named!r}, not a dataset; "
                  f"ignored, the plot is looked for below")
    name = text(attr(group, "default"))
    if name:
        target = child(group, name)
        if isinstance(target, h5py.Group):
            found = _default_in(f"{path}/{name}", target, notes, depth + 1)
            if found is not None:
                return found
        elif notes is not None:
            notes.add(f"@default of {path or '/'} names {name!r}, which is not a group here; "
                      f"looked for a plot elsewhere")
    picked = _pick_nxdata(path, group)
    if picked is not None:
        return picked
    for name, obj in _groups(group):
        if nx_class(obj) in ("NXentry", "NXsubentry") or (not path and name.startswith("entry")):
            found = _default_in(f"{path}/{name}", obj, notes, depth + 1)
            if found is not None:
                return found
    return None


def find_plot(h5file: h5py.File, notes: Notes) -> Plot | None:
    """The default NXdata plot of the file and its signal name (not yet checked)."""
    found = _default_in("", h5file, notes)
    if found is None:
        return None
    path, group = found
    return Plot(path, group, signal_name(group))


# ----------------------------------------------------------------------------- axes

def frame_rank_from_interpretation(ds: h5py.Dataset) -> int | None:
    """Frame rank stated by the signal's ``@interpretation`` (image: 2, spectrum: 1...)."""
    value = text(attr(ds, "interpretation"))
    return _INTERPRETATION.get(value.strip().lower()) if value else None


def detector_pixel_rank(h5file: h5py.File, path: str, signal: h5py.Dataset) -> int | None:
    """Pixel dimensions of an NXdetector whose ``data`` the signal is: 2 when it gives both
    ``x_`` and ``y_pixel_size`` (or ``_pixel_offset``), 1 when only ``x``; else None.

    NXdetector ``data`` is ``[np, i, j, tof]``: the scan points first, then the detector's own
    pixel dimensions; a detector with x and y pixels writes images, whatever axes the plot
    names for them (an NXdata may give pixel-number axes for every dimension of the signal).
    """
    parent = signal.parent
    groups = [parent] if nx_class(parent) == "NXdetector" else []
    groups += [g for g in _detector_groups(h5file, path, signal)
               if g.id != parent.id and isinstance(child(g, "data"), h5py.Dataset)
               and child(g, "data").id == signal.id]
    for group in groups:
        has = {axis: any(child(group, f"{axis}_pixel_{what}") is not None
                         for what in ("size", "offset")) for axis in "xy"}
        if has["x"] and has["y"]:
            return 2
        if has["x"]:
            return 1
    return None


# ----------------------------------------------------------------------------- masks

def _detector_groups(h5file: h5py.File, path: str, signal: h5py.Dataset) -> list[h5py.Group]:
    """NXdetector-like groups describing ``signal``: its parent, one whose ``data`` it is, or
    the entry's only detector."""
    groups: list[h5py.Group] = []
    parent = signal.parent
    if nx_class(parent) == "NXdetector" or _has_link(parent, "pixel_mask") \
            or _has_link(parent, "detectorSpecific"):
        groups.append(parent)
    detectors: list[h5py.Group] = []
    entry = child(h5file, "/" + path.strip("/").split("/")[0])
    if isinstance(entry, h5py.Group):
        for base in (child(entry, "instrument"), entry):
            if not isinstance(base, h5py.Group):
                continue
            for name, obj in _groups(base):
                if nx_class(obj) == "NXdetector" or name == "detector":
                    detectors.append(obj)
    for group in detectors:
        data = child(group, "data")
        if isinstance(data, h5py.Dataset) and data.id == signal.id \
                and all(group.id != g.id for g in groups):
            groups.append(group)
    if not groups and len(detectors) == 1:
        groups = detectors
    return groups


def _has_link(group: h5py.Group, path: str) -> bool:
    """Whether a link (perhaps broken) exists at ``path`` below ``group``."""
    head, _, rest = path.partition("/")
    try:
        if group.get(head, getlink=True) is None:
            return False
    except (KeyError, OSError, RuntimeError, ValueError):
        return False
    if not rest:
        return True
    inner = child(group, head)
    return isinstance(inner, h5py.Group) and _has_link(inner, rest)


def _scalar(group: h5py.Group, name: str) -> float | None:
    ds = child(group, name)
    if not is_numeric(ds) or ds.size != 1 or ds.is_virtual:
        return None
    try:
        return float(np.asarray(ds[()]).ravel()[0])
    except (OSError, RuntimeError, ValueError, IndexError):
        return None


def find_mask(h5file: h5py.File, path: str, signal: h5py.Dataset, frame_shape: tuple[int, ...],
              notes: Notes) -> tuple[str | None, int | None]:
    """NXdetector ``pixel_mask`` path fitting the frame, and the overflow value.

    Overflow: ``saturation_value`` (or DECTRIS ``countrate_correction_count_cutoff``) of the
    detector, else ``2**bit_depth_image - 1``, else the largest value of unsigned 16/32-bit
    integer data (the value counting detectors write into gap and dead pixels).
    """
    if not frame_shape:         # scalars per point: no pixels to leave out
        return None, None
    mask_path: str | None = None
    overflow: float | None = None
    image_shape = tuple(frame_shape[-2:])
    for group in _detector_groups(h5file, path, signal):
        for place in ("pixel_mask", "detectorSpecific/pixel_mask"):
            path = f"{group.name}/{place}"
            if mask_path is not None or not _has_link(group, place):
                continue
            obj = child(group, place)
            if obj is None:
                _, problem = resolve(h5file, path)
                if problem is not None:
                    notes.problem(problem, "pixel mask unavailable: ")
                continue
            same = child(h5file, path)      # the path must lead to it from the opened file
            if is_numeric(obj) and len(image_shape) == 2 and tuple(obj.shape) == image_shape \
                    and not obj.is_virtual and same is not None and same.id == obj.id:
                mask_path = path
        if overflow is None:
            for name in ("saturation_value", "detectorSpecific/countrate_correction_count_cutoff"):
                value = _scalar(group, name)
                if value is not None and value > 0:
                    overflow = value
                    break
        if overflow is None:
            for name in ("bit_depth_image", "detectorSpecific/bit_depth_image",
                         "bit_depth_readout"):
                bits = _scalar(group, name)
                if bits is not None and 0 < bits <= 64:
                    overflow = 2 ** int(bits) - 1
                    break
    if overflow is None and signal.dtype.kind == "u" and signal.dtype.itemsize >= 2:
        overflow = int(np.iinfo(signal.dtype).max)
    return mask_path, (int(overflow) if overflow is not None else None)
