"""Find a scan's key, finished-flag, data and axis datasets in an open HDF5 file.

Diamond's GDA layout and the NeXus default plot are found by direct lookups; generic files by
a bounded breadth-first search, so a huge tree is never walked deeply. Explicit paths given by
the user always win. Every failure is a :class:`LayoutError` whose message names what is missing.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Sequence

import h5py
import numpy as np

from .positions import scan_rank_of

logger = logging.getLogger(__name__)

__all__ = ["LayoutError", "ScanLayout", "find_layout", "scan_rank_of"]

GDA_SCAN = "/entry/diamond_scan"
GDA_KEYS = GDA_SCAN + "/keys"
GDA_FINISHED = GDA_SCAN + "/scan_finished"
GDA_RANK = GDA_SCAN + "/scan_rank"
GDA_SHAPE = GDA_SCAN + "/scan_shape"

_MAX_DEPTH = 4          # generic search: how deep below the root
_MAX_LINKS = 2000       # generic search: how many links to look at in total
_MAX_CHILDREN = 200     # NeXus fallback: children inspected per group


class LayoutError(ValueError):
    """The file lacks (or has inconsistent) key, data or flag datasets; the message says which."""


@dataclass(frozen=True)
class ScanLayout:
    """Where a scan's datasets are; every path is absolute in the opened (master) file."""

    keys: tuple[str, ...]
    finished: str | None
    data: tuple[str, ...]
    signal: str | None
    axes: tuple[str | None, ...]
    axis_names: tuple[str, ...]
    scan_rank: int
    scan_shape: tuple[int | None, ...]
    gda: bool


# ----------------------------------------------------------------------------- helpers

def _abs(path: str) -> str:
    return "/" + path.strip("/")


def _text(value) -> str | None:
    """An attribute as str (handles bytes, numpy scalars and length-1 arrays)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.ravel()[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        text = _text(value)
        # Old NeXus style: a single string with axes separated by ':' or ','.
        return [part.strip() for part in text.replace(",", ":").split(":")]
    return [_text(v) or "." for v in np.asarray(value).ravel()]


def _nx_class(obj) -> str | None:
    return _text(obj.attrs.get("NX_class"))


def _external_file(h5file: h5py.File, link: h5py.ExternalLink) -> str:
    if os.path.isabs(link.filename):
        return link.filename
    return os.path.join(os.path.dirname(os.path.abspath(h5file.filename)), link.filename)


def _lookup(h5file: h5py.File, path: str, what: str):
    """Object at ``path``; a LayoutError names a missing link or an unopenable external file."""
    path = _abs(path)
    try:
        return h5file[path]
    except (KeyError, OSError, RuntimeError, ValueError):
        pass
    group: h5py.Group = h5file
    for i, name in enumerate(path.strip("/").split("/")):
        prefix = "/" + "/".join(path.strip("/").split("/")[: i + 1])
        link = group.get(name, getlink=True) if isinstance(group, h5py.Group) else None
        if link is None:
            raise LayoutError(f"no dataset at {path} in {h5file.filename}")
        try:
            obj = group[name]
        except (KeyError, OSError, RuntimeError) as exc:
            if isinstance(link, h5py.ExternalLink):
                raise LayoutError(
                    f"{what} {prefix} is an external link to {link.path} in "
                    f"{_external_file(h5file, link)}, which cannot be opened (missing external "
                    f"file?)") from exc
            raise LayoutError(f"no dataset at {path} in {h5file.filename} "
                              f"(broken link at {prefix})") from exc
        group = obj
    return group


def _dataset(h5file: h5py.File, path: str, what: str) -> h5py.Dataset:
    obj = _lookup(h5file, path, what)
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
            try:
                obj = group[name]
            except (KeyError, OSError, RuntimeError):
                logger.debug("skipping unreadable link %s", path)
                continue
            yield path, obj
            if isinstance(obj, h5py.Group) and depth + 1 < _MAX_DEPTH and obj.id not in seen_groups:
                seen_groups.add(obj.id)
                queue.append((path, obj, depth + 1))


def _kind(group: h5py.Group, name: str) -> type | None:
    """h5py.Group / h5py.Dataset behind ``name``, or None if missing or a broken link."""
    try:
        return group.get(name, getclass=True)
    except (KeyError, OSError, RuntimeError, ValueError):
        return None


def _is_int(ds) -> bool:
    return isinstance(ds, h5py.Dataset) and ds.dtype.kind in "iu"


# ----------------------------------------------------------------------------- keys

def _gda_keys(h5file: h5py.File) -> list[str]:
    group = h5file[GDA_KEYS]
    paths = []
    for name in group:
        # External links are kept even when broken, so the error names the missing file.
        if group.get(name, getclass=True, getlink=True) is h5py.ExternalLink \
                or _kind(group, name) is h5py.Dataset:
            paths.append(f"{GDA_KEYS}/{name}")
    return paths


def _generic_keys(h5file: h5py.File) -> list[str]:
    candidates = []
    for path, obj in _walk(h5file):
        name = path.rsplit("/", 1)[-1]
        if isinstance(obj, h5py.Group) and name.lower() == "keys":
            found = [f"{path}/{n}" for n in obj
                     if _kind(obj, n) is h5py.Dataset and _is_int(obj[n])]
            if found:
                return found
        elif _is_int(obj) and ("key" in name.lower() or "uniqueid" in name.lower()):
            candidates.append(path)
    return candidates


def _find_keys(h5file: h5py.File, keys: Sequence[str], gda: bool) -> list[str]:
    if keys:
        return [_abs(p) for p in keys]
    if gda:
        return _gda_keys(h5file)
    found = _generic_keys(h5file)
    if not found:
        raise LayoutError(
            f"no key datasets found in {h5file.filename} (no {GDA_KEYS} group, no group named "
            f"'keys', no integer dataset named like *key* or *uniqueid*); "
            f"name them with --key PATH")
    return found


def _scan_rank(h5file: h5py.File, paths: Sequence[str], key_ds: Sequence[h5py.Dataset],
               gda: bool) -> int:
    ranks = [scan_rank_of(ds.maxshape) for ds in key_ds]
    if gda and GDA_RANK in h5file:
        # The declared rank also covers scans whose fast dims have length 1.
        try:
            declared = int(np.asarray(h5file[GDA_RANK][()]).ravel()[0])
        except (IndexError, TypeError, ValueError, OSError):
            declared = 0
        if declared > 0 and all(r <= declared <= ds.ndim for r, ds in zip(ranks, key_ds)):
            return declared
        logger.warning("ignoring %s = %s: it does not fit the keys", GDA_RANK, declared)
    if len(set(ranks)) > 1:
        detail = ", ".join(f"{p} (rank {r}, maxshape {ds.maxshape})"
                           for p, r, ds in zip(paths, ranks, key_ds))
        raise LayoutError(f"key datasets have different scan ranks: {detail}")
    return ranks[0]


def _scan_shape(h5file: h5py.File, key_ds: Sequence[h5py.Dataset], rank: int,
                gda: bool) -> tuple[int | None, ...]:
    if gda and GDA_SHAPE in h5file:
        try:
            shape = tuple(int(n) for n in np.asarray(h5file[GDA_SHAPE][()]).ravel())
            if len(shape) == rank and all(n > 0 for n in shape):
                return shape
        except (TypeError, ValueError, OSError):
            pass
    shape: list[int | None] = [None] * rank
    for ds in key_ds:
        for d in range(rank):
            if shape[d] is None and ds.maxshape[d] is not None:
                shape[d] = int(ds.maxshape[d])
    for d in range(1, rank):
        if shape[d] is None:
            shape[d] = int(key_ds[0].shape[d])
    return tuple(shape)


def _is_flag(path: str, obj) -> bool:
    """A dataset that can be a finished flag: one integer (or none yet), named *finished*."""
    return (isinstance(obj, h5py.Dataset) and "finished" in path.rsplit("/", 1)[-1].lower()
            and obj.dtype.kind in "biu" and obj.size <= 1)


# ----------------------------------------------------------------------------- NeXus

def _child_group(group: h5py.Group, name: str) -> h5py.Group | None:
    try:
        obj = group[name]
    except (KeyError, OSError, RuntimeError):
        return None
    return obj if isinstance(obj, h5py.Group) else None


def _default_nxdata(h5file: h5py.File) -> tuple[str, h5py.Group] | None:
    """Follow ``@default`` from the root (falling back to NX_class) to an NXdata group."""
    path, group = "", h5file
    for _ in range(8):
        if path and (_nx_class(group) == "NXdata" or "signal" in group.attrs):
            return path, group
        name = _text(group.attrs.get("default"))
        child = _child_group(group, name) if name else None
        if child is None:
            name = None
            for i, candidate in enumerate(group):
                if i >= _MAX_CHILDREN:
                    break
                if _kind(group, candidate) is not h5py.Group:
                    continue
                nx = _nx_class(group[candidate])
                if nx == "NXdata" or (nx in ("NXentry", "NXsubentry") and name is None):
                    name = candidate
                    if nx == "NXdata":
                        break
            child = _child_group(group, name) if name else None
        if child is None:
            return None
        path, group = f"{path}/{name}", child
    return None


def _axes(nxdata: h5py.Group | None, nxpath: str | None,
          rank: int) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    names = [f"dim{d}" for d in range(rank)]
    paths: list[str | None] = [None] * rank
    if nxdata is None:
        return tuple(paths), tuple(names)
    listed = _texts(nxdata.attrs.get("axes"))
    per_dim: dict[int, str] = {d: a for d, a in enumerate(listed[:rank]) if a and a != "."}
    if not per_dim:
        for attr in nxdata.attrs:
            if attr.endswith("_indices"):
                dims = np.asarray(nxdata.attrs[attr]).ravel()
                if dims.size and 0 <= int(dims[0]) < rank:
                    per_dim.setdefault(int(dims[0]), attr[: -len("_indices")])
    for d, axis in per_dim.items():
        names[d] = axis
        if _kind(nxdata, axis) is h5py.Dataset:
            paths[d] = f"{nxpath}/{axis}"
    return tuple(paths), tuple(names)


# ----------------------------------------------------------------------------- data

def _matches_scan(ds: h5py.Dataset, scan_shape: Sequence[int | None]) -> bool:
    """Leading dims fit the scan; dim 0's current size is ignored since it grows."""
    if ds.dtype.kind not in "biufc" or ds.ndim < len(scan_shape):
        return False
    for d, want in enumerate(scan_shape):
        got = ds.maxshape[d]
        if got is None:
            if d == 0:
                continue
            got = ds.shape[d]
        if want is not None and got != want:
            return False
    return True


def _find_data(h5file: h5py.File, scan_shape: Sequence[int | None], signal: str | None,
               nxpath: str | None, exclude: list, skip: Sequence[str]) -> list[str]:
    found: list[str] = []
    seen = list(exclude)

    def consider(path: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and _matches_scan(obj, scan_shape) \
                and not any(obj.id == other.id for other in seen):
            found.append(path)
            seen.append(obj)

    if signal is not None:
        consider(signal, h5file[signal])
    if nxpath is not None:
        group = h5file[nxpath]
        for name in group:
            if _kind(group, name) is h5py.Dataset:
                consider(f"{nxpath}/{name}", group[name])
    for path, obj in _walk(h5file, skip=skip):
        consider(path, obj)
    return found


# ----------------------------------------------------------------------------- entry point

def find_layout(h5file: h5py.File, keys: Sequence[str] = (), data: Sequence[str] = (),
                finished: str | None = None) -> ScanLayout:
    """Locate keys, finished flag, data and axes in ``h5file``; explicit paths override.

    Raises
    ------
    LayoutError
        A named path is missing, an external key file cannot be opened, no keys are found,
        or the keys disagree on the scan rank.
    """
    if isinstance(keys, str):
        keys = (keys,)
    if isinstance(data, str):
        data = (data,)
    gda = _kind(h5file, GDA_KEYS) is h5py.Group
    key_paths = _find_keys(h5file, keys, gda)
    key_ds = [_dataset(h5file, p, "key") for p in key_paths]
    if not key_ds:
        raise LayoutError(f"{GDA_KEYS} in {h5file.filename} holds no key datasets; "
                          f"name them with --key PATH")
    rank = _scan_rank(h5file, key_paths, key_ds, gda)
    scan_shape = _scan_shape(h5file, key_ds, rank, gda)

    finished_path = _abs(finished) if finished else None
    if finished_path is None:
        if gda and GDA_FINISHED in h5file:
            finished_path = GDA_FINISHED
        elif not gda:
            finished_path = next((p for p, o in _walk(h5file) if _is_flag(p, o)), None)
    finished_ds = _dataset(h5file, finished_path, "finished flag") if finished_path else None

    located = _default_nxdata(h5file)
    nxpath, nxdata = located if located else (None, None)
    signal = None
    if nxdata is not None and _text(nxdata.attrs.get("signal")):
        candidate = f"{nxpath}/{_text(nxdata.attrs.get('signal'))}"
        if data:
            signal = candidate if _kind(h5file, candidate) is h5py.Dataset else None
        else:
            _dataset(h5file, candidate, "signal")
            signal = candidate
    axes, axis_names = _axes(nxdata, nxpath, rank)

    if data:
        data_paths = [_abs(p) for p in data]
        for p in data_paths:
            _dataset(h5file, p, "data")
    else:
        exclude = key_ds + ([finished_ds] if finished_ds is not None else [])
        exclude += [h5file[a] for a in axes if a is not None]
        skip = [GDA_SCAN] if gda else []
        data_paths = _find_data(h5file, scan_shape, signal, nxpath, exclude, skip)

    layout = ScanLayout(keys=tuple(key_paths), finished=finished_path, data=tuple(data_paths),
                        signal=signal, axes=axes, axis_names=axis_names, scan_rank=rank,
                        scan_shape=scan_shape, gda=gda)
    logger.debug("layout of %s: %s", h5file.filename, layout)
    return layout
