"""Searching a file for datasets to show: one bounded walk, and the filters applied to it; the
paths the user names (`explicit`), and `LayoutError` when nothing can be shown.

The walk is breadth-first, bounded in depth and in the number of links looked at, so a huge
tree is never walked deeply; it is done once per layout. Motor positions (NXtransformations
entries, NXpositioner values, old-style ``axis`` datasets) are never taken for data.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Callable, Iterator, Sequence

import h5py
import numpy as np

from swmrview.core.files.fields import (FieldDataset, dataset_fields, numeric_fields, open_data,
                                       split_field)
from swmrview.core.files.nexus import Plot, child, is_numeric, nx_class
from swmrview.core.files.sources import Notes, resolve, vds_missing_files

logger = logging.getLogger(__name__)

__all__ = ["MAX_DEPTH", "LayoutError", "walk", "FileIndex", "absolute", "explicit", "usable",
           "quiet_usable", "fits", "fallback_signal"]

MAX_DEPTH = 6           # how deep below the root
MAX_LINKS = 2000        # how many links to look at in total
_PREFERRED = ("sum", "total", "counts", "intensity", "data")
_UNLIKELY = ("time", "stamp", "uniqueid", "key", "number", "counter", "path", "index")


def walk(root: h5py.Group, skip: Sequence[str] = ()) -> Iterator[tuple[str, object]]:
    """Breadth-first (path, object) pairs, bounded in depth and count; broken links skipped."""
    queue = deque([("", root, 0)])
    seen_groups = set()
    budget = MAX_LINKS
    while queue and budget > 0:
        base, group, depth = queue.popleft()
        for name in group:
            budget -= 1
            if budget < 0:
                logger.debug("layout search stopped after %d links", MAX_LINKS)
                return
            path = f"{base}/{name}"
            if any(path == s or path.startswith(s + "/") for s in skip):
                continue
            obj = child(group, name)
            if obj is None:
                continue
            yield path, obj
            if isinstance(obj, h5py.Group) and depth + 1 < MAX_DEPTH and obj.id not in seen_groups:
                seen_groups.add(obj.id)
                queue.append((path, obj, depth + 1))


class LayoutError(ValueError):
    """Nothing can be shown (or an explicit path is wrong); the message says why."""


def absolute(path: str) -> str:
    """``path`` from the file's root: one leading slash, no trailing one."""
    return "/" + path.strip("/")


def explicit(h5file: h5py.File, path: str, what: str) -> h5py.Dataset | FieldDataset:
    """A dataset (or ``PATH:FIELD`` of a compound one) named by the user; LayoutError names a
    missing path or broken link."""
    base, field = split_field(path)
    if field is not None and child(h5file, path) is None:
        explicit(h5file, base, what)       # the dataset itself: missing, a group, a link
        try:
            return open_data(h5file, path)
        except KeyError as exc:
            raise LayoutError(f"{what} {absolute(path)}: {exc.args[0] if exc.args else exc}"
                              ) from None
    obj, problem = resolve(h5file, path)
    if problem is not None:
        if problem.missing_file or "links to" in problem.message or "soft link" in problem.message:
            raise LayoutError(f"{what} {absolute(path)}: {problem.message}")
        raise LayoutError(f"no dataset at {absolute(path)} in {h5file.filename}")
    if not isinstance(obj, h5py.Dataset):
        raise LayoutError(f"no dataset at {absolute(path)} in {h5file.filename} (it is a group)")
    return obj


def usable(h5file: h5py.File, path: str, notes: Notes, what: str) -> h5py.Dataset | None:
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
        if numeric_fields(obj.dtype):
            notes.add(f"{what} {path} is a compound dataset; its numeric fields are shown as "
                      f"{path}:FIELD ({', '.join(numeric_fields(obj.dtype))})")
            return None
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


def quiet_usable(obj) -> bool:
    """A numeric array whose data are there (no note: used while scanning many datasets)."""
    return is_numeric(obj) and obj.ndim >= 1 and not vds_missing_files(obj)


def fits(ds: h5py.Dataset, shape: Sequence[int | None], exact: bool) -> bool:
    """Leading dims fit the scan shape: while live a dim may be short of it if it can grow."""
    return fits_shape(ds.shape, ds.maxshape, shape, exact)


def fits_shape(got_shape: Sequence[int], maxshape: Sequence[int | None],
               shape: Sequence[int | None], exact: bool) -> bool:
    """:func:`fits` for a dataset's ``shape`` and ``maxshape`` (as in a tree description)."""
    if len(got_shape) < len(shape):
        return False
    for d, want in enumerate(shape):
        if want is None:
            continue
        got, most = got_shape[d], maxshape[d]
        if exact:       # a finished file; an aborted scan may be short in its unlimited dim 0
            if got != want and not (d == 0 and most is None and 1 < got < want):
                return False
        elif got > want or (most is not None and most != want):
            return False
    return True


def name_score(path: str) -> int:
    """0 for names a signal usually has (``sum``, ``data``...), 2 for bookkeeping (times, ids,
    counters), 1 otherwise: lower is a better fallback signal."""
    name = path.rsplit("/", 1)[-1].lower()
    if any(p in name for p in _PREFERRED):
        return 0
    if any(u in name for u in _UNLIKELY):
        return 2
    return 1


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


class FileIndex:
    """The walked file, and what the signal and data searches must leave out."""

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
            self._all = list(walk(self.h5file))
        return self._all

    def walked(self) -> list[tuple[str, object]]:
        """The walk without the skipped groups."""
        return [(p, o) for p, o in self.all()
                if not any(p == s or p.startswith(s + "/") for s in self.skip)]

    def with_fields(self, pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
        """``pairs`` followed by the numeric fields (``PATH:FIELD``) of their compound
        datasets, each a :class:`~swmrview.core.files.fields.FieldDataset`."""
        fields = [f for path, obj in pairs
                  if isinstance(obj, h5py.Dataset) and obj.dtype.names
                  for f in dataset_fields(path, obj)]
        return pairs + fields

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


def fallback_signal(scope: FileIndex, plot: Plot | None, failed: str | None,
                    fits_scan: Callable[[h5py.Dataset], bool]) -> str | None:
    """A numeric field of the plot, else a detector's data, else the largest numeric dataset."""
    walked = scope.with_fields(scope.walked())
    tiers: list[list[tuple[tuple, str]]] = [[], [], []]
    if plot is not None:
        in_plot = scope.with_fields([(f"{plot.path}/{name}", child(plot.group, name))
                                     for name in plot.group])
        for i, (path, obj) in enumerate(in_plot):
            if path != failed and is_numeric(obj) and obj.size >= 2 \
                    and fits_scan(obj) and quiet_usable(obj) and scope.allowed(path, obj):
                tiers[0].append(((name_score(path), i), path))
    for i, (path, obj) in enumerate(walked):
        if not is_numeric(obj) or path == failed or obj.size < 2 \
                or not fits_scan(obj) or not quiet_usable(obj) or not scope.allowed(path, obj):
            continue
        parent = obj.parent
        if path.rsplit("/", 1)[-1] == "data" and (nx_class(parent) == "NXdetector"
                                                  or parent.name.endswith("/detector")):
            tiers[1].append(((i,), path))
        # sizes that do not change while a writer grows the dataset (dims of unlimited maxshape
        # left out), so a live file picks the same dataset from one look to the next
        fixed = [n for n, m in zip(obj.shape, obj.maxshape or obj.shape) if m is not None]
        frame = int(np.prod([n for n, m in zip(obj.shape[1:], (obj.maxshape or obj.shape)[1:])
                             if m is not None]))
        tiers[2].append(((name_score(path) == 2, -frame, -int(np.prod(fixed)), i), path))
    for tier in tiers:
        if tier:
            return min(tier)[1]
    return None
