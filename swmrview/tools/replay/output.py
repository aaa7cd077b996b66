"""One output file of a replay: a copy of one input file whose per-point datasets grow live.

Every group, attribute and link is copied as it is; datasets that fit the scan shape (the
viewer's data, keys, motor positions, text alike) are created at (1, ..., 1) + frame with an
unlimited maxshape in every scan dim and written point by point; the finished flag is created
0 and set last; everything else is copied whole before SWMR starts.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import h5py
import numpy as np

from swmrview.core.files.search import fits_shape

from swmrview.tools.replay.copying import copy_attrs, copy_static, create_like, raw_block
from swmrview.tools.replay.points import Run

logger = logging.getLogger(__name__)

__all__ = ["Output", "PerPoint", "abs_path", "SCALAR_CHUNK"]

#: Chunk length along the fastest scan dim for scalar per-point datasets with no chunking.
SCALAR_CHUNK = 64
_FINISHED_NAMES = ("scan_finished",)


def abs_path(path: str) -> str:
    return "/" + path.lstrip("/")


@dataclass
class PerPoint:
    """A dataset written point by point: from ``src``, or made up by ``make`` (synthesised)."""

    src: h5py.Dataset | None      # None: synthesised
    dst: h5py.Dataset
    kind: str = "data"            # "data", "key", "frames", "scalar"
    make: Callable[[Run, int], np.ndarray] | None = None   # values of n points of a run


class Output:
    """One output file: a copy of one input file (or a synthesised one) and its live datasets."""

    def __init__(self, path: Path, rank_shape: tuple[int, ...], label: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.label = label
        self.scan_shape = rank_shape
        self.file = h5py.File(path, "w", libver="latest")
        self.data: list[PerPoint] = []
        self.keys: list[PerPoint] = []
        self.flags: list[tuple[h5py.Dataset, np.ndarray]] = []
        self.created: dict = {}
        self.extra_outputs: list[Output] = []   # the master's detector files
        self.vds_sources: set[str] = set()       # paths ("." sources) and files virtual data read

    @property
    def rank(self) -> int:
        return len(self.scan_shape)

    # -- classification
    def _per_point(self, ds: h5py.Dataset) -> bool:
        """Fits the scan as the viewer's data must (an aborted scan's unlimited slowest dim
        may stop short): keys, data, motor positions and text alike grow point by point."""
        return (not ds.is_virtual and ds.shape is not None
                and fits_shape(ds.shape, ds.maxshape, self.scan_shape, exact=True))

    def _make_per_point(self, group: h5py.Group, name: str, src: h5py.Dataset) -> h5py.Dataset:
        rank = self.rank
        tail = src.shape[rank:]
        maxshape = (None,) * rank + tuple(src.maxshape[rank:])
        if src.chunks:
            chunks = tuple(src.chunks)
        elif tail:
            chunks = (1,) * rank + tuple(max(1, n) for n in tail)
        else:
            chunks = (1,) * (rank - 1) + (SCALAR_CHUNK,)
        return create_like(group, name, src, (1,) * rank + tail, maxshape, chunks)

    # -- building the tree
    def copy_tree(self, src: h5py.Group, dst: h5py.Group, keys: set[str], finished: str | None,
                  links: list[tuple[str, h5py.ExternalLink, bool]]) -> None:
        """Copy ``src`` into ``dst``: groups, attributes, links; per-point datasets left empty."""
        copy_attrs(src, dst)
        for name in src:
            link = src.get(name, getlink=True)
            path = f"{dst.name.rstrip('/')}/{name}"
            if isinstance(link, h5py.SoftLink):
                dst[name] = h5py.SoftLink(link.path)
                continue
            if isinstance(link, h5py.ExternalLink):
                dst[name] = h5py.ExternalLink(link.filename, link.path)
                links.append((path, link, path in keys))
                continue
            try:
                obj = src[name]
            except (KeyError, OSError, RuntimeError) as exc:
                logger.warning("%s: %s%s not copied: %s", self.label, src.name, name, exc)
                continue
            if obj.id in self.created:
                dst[name] = self.created[obj.id]
                continue
            if isinstance(obj, h5py.Group):
                new = dst.create_group(name)
                self.created[obj.id] = new
                self.copy_tree(obj, new, keys, finished, links)
            elif isinstance(obj, h5py.Dataset):
                new = self._copy_dataset(dst, name, obj, path, keys, finished)
                self.created[obj.id] = new
            else:
                logger.warning("%s: %s (a committed datatype) not copied", self.label, path)

    def _copy_dataset(self, dst: h5py.Group, name: str, src: h5py.Dataset, path: str,
                      keys: set[str], finished: str | None) -> h5py.Dataset:
        if path == finished or (finished is None and name in _FINISHED_NAMES):
            new = copy_static(dst, name, src)
            final = np.asarray(src[()])
            if new.shape:
                new[...] = 0
            else:
                new[()] = 0
            self.flags.append((new, final))
        elif self._per_point(src):
            new = self._make_per_point(dst, name, src)
            is_key = path in keys or name == "NDArrayUniqueId"
            (self.keys if is_key else self.data).append(
                PerPoint(src, new, "key" if is_key else "data"))
        else:
            if src.is_virtual:
                for vs in src.virtual_sources():
                    self.vds_sources.add(abs_path(vs.dset_name) if vs.file_name == "."
                                         else os.path.basename(vs.file_name))
            new = copy_static(dst, name, src)
        copy_attrs(src, new)
        return new

    def order_keys(self) -> None:
        """Keys are written detector keys first, ``uniqueKeys`` last (GDA's order)."""
        self.keys.sort(key=lambda k: k.dst.name.endswith("uniqueKeys"))

    # -- writing
    @staticmethod
    def _grow(ds: h5py.Dataset, last: tuple[int, ...]) -> None:
        """Extend the scan dims of ``ds`` so that it holds scan position ``last``."""
        rank = len(last)
        need = tuple(max(n, p + 1) for n, p in zip(ds.shape[:rank], last))
        if need != ds.shape[:rank]:
            ds.resize(need + ds.shape[rank:])

    def _write(self, item: PerPoint, run: Run, flush: bool) -> None:
        row, lo, hi = run.row, run.lo, run.hi
        if item.src is not None:
            # an aborted scan's dataset may stop short of the scan shape: write what it holds
            shape = item.src.shape
            if any(r >= n for r, n in zip(row, shape)):
                return
            hi = min(hi, shape[len(row)] - 1)
            if hi < lo:
                return
        self._grow(item.dst, row + (hi,))
        sel = row + (slice(lo, hi + 1),)
        if item.src is not None:
            if item.src.dtype.kind == "S":
                raw_block(item.src, item.dst, row + (lo,), (1,) * len(row) + (hi + 1 - lo,))
            else:
                item.dst[sel] = item.src[sel]
        else:
            item.dst[sel] = item.make(run, hi + 1 - lo)
        if flush:
            item.dst.flush()

    def write_data(self, runs: Sequence[Run]) -> None:
        for item in self.data:
            for run in runs:
                self._write(item, run, flush=False)
            item.dst.flush()

    def write_keys(self, runs: Sequence[Run]) -> None:
        for item in self.keys:
            for run in runs:
                self._write(item, run, flush=False)
            item.dst.flush()

    def grow_keys(self, runs: Sequence[Run]) -> None:
        """Unkeyed points (key 0 in the original): keys grow over them, nothing is written."""
        for item in self.keys:
            for run in runs:
                if item.src is None or all(r < n for r, n in zip(run.row + (run.hi,),
                                                                  item.src.shape)):
                    self._grow(item.dst, run.row + (run.hi,))
            item.dst.flush()

    def finish(self) -> None:
        for ds, final in self.flags:
            if ds.shape:
                ds[...] = final
            else:
                ds[()] = final
            ds.flush()

    def close(self) -> None:
        self.file.close()

