"""Diamond's GDA scan bookkeeping: ``diamond_scan`` / ``solstice_scan`` groups and GDA 8 entries.

GDA 9 and Malcolm write ``/entry/diamond_scan`` (older: ``/entry/solstice_scan``) holding
``scan_shape``, ``scan_rank`` (older ``scanRank``), ``scan_finished`` and ``keys/``: one key per
detector, often an external link into the detector's own file, which may not exist yet (or at
all, when a detector file was left behind). GDA 8 files (``entry1``) have no keys; their
``scan_dimensions`` gives the scan shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from swmrview.core.files.nexus import child, nx_class
from swmrview.core.files.sources import Notes, resolve

__all__ = ["GdaScan", "find_scan", "scan_keys", "scan_dimensions", "SCAN_GROUPS"]

SCAN_GROUPS = ("diamond_scan", "solstice_scan")


@dataclass(frozen=True)
class GdaScan:
    """A GDA scan group and what it declares (None where it declares nothing usable)."""

    path: str
    rank: int | None
    shape: tuple[int, ...] | None
    finished: str | None
    keys_group: str | None


def _ints(ds) -> tuple[int, ...] | None:
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iu" or ds.size > 32:
        return None
    try:
        return tuple(int(v) for v in np.asarray(ds[()]).ravel())
    except (OSError, RuntimeError, ValueError, TypeError):
        return None


def _entries(h5file: h5py.File) -> list[str]:
    names = []
    for name in h5file:
        obj = child(h5file, name)
        if isinstance(obj, h5py.Group) and (name == "entry" or nx_class(obj) == "NXentry"):
            names.append(name)
    return sorted(names, key=lambda n: n != "entry")


def find_scan(h5file: h5py.File, notes: Notes) -> GdaScan | None:
    """The GDA scan group of the file, with its declared rank and shape."""
    for entry in _entries(h5file):
        for group_name in SCAN_GROUPS:
            path = f"/{entry}/{group_name}"
            group = child(h5file, path)
            if not isinstance(group, h5py.Group):
                continue
            rank_value = None
            for name in ("scan_rank", "scanRank"):
                values = _ints(child(group, name))
                if values:
                    rank_value = values[0]
                    break
            shape = _ints(child(group, "scan_shape"))
            if shape is not None and (not shape or any(n <= 0 for n in shape)):
                notes.add(f"ignoring {path}/scan_shape = {list(shape)}: not a scan shape")
                shape = None
            if shape is not None and rank_value is not None and rank_value != len(shape):
                notes.add(f"{path}: scan rank {rank_value} disagrees with scan_shape "
                          f"{list(shape)}; using the shape")
            rank = len(shape) if shape is not None else (
                rank_value if rank_value and rank_value > 0 else None)
            flag = child(group, "scan_finished")
            finished = f"{path}/scan_finished" if isinstance(flag, h5py.Dataset) else None
            keys = child(group, "keys")
            keys_group = f"{path}/keys" if isinstance(keys, h5py.Group) else None
            return GdaScan(path, rank, shape, finished, keys_group)
    return None


def scan_keys(h5file: h5py.File, scan: GdaScan, notes: Notes) -> tuple[list[str], list[str]]:
    """(usable key paths, dangling key paths): a key whose link leads nowhere is dangling."""
    if scan.keys_group is None:
        return [], []
    group = h5file[scan.keys_group]
    keys: list[str] = []
    dangling: list[str] = []
    for name in group:
        path = f"{scan.keys_group}/{name}"
        obj, problem = resolve(h5file, path)
        if problem is not None:
            dangling.append(path)
            notes.problem(problem, "key ")
        elif isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iu":
            keys.append(path)
    return keys, dangling


def scan_dimensions(h5file: h5py.File, path: str) -> tuple[int, ...] | None:
    """GDA 8 ``scan_dimensions`` of the entry holding ``path`` (e.g. ``/entry1``)."""
    entry = "/" + path.strip("/").split("/")[0]
    dims = _ints(child(h5file, f"{entry}/scan_dimensions"))
    if dims and all(n > 0 for n in dims):
        return dims
    return None
