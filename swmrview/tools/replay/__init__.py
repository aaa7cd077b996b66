"""Replay a finished scan file as a live SWMR scan, the way its writer wrote it.

``swmrview --replay FINISHED OUT [--rate R]`` (or ``python -m swmrview.tools.replay``) rewrites any
finished scan as a real SWMR writer would have written it, for demos on real data, for training
and for tests (:func:`start_replay` runs it in a separate process):

- the same groups, attributes and links (hard, soft and external links are kept as they are);
- the scan shape, keys, finished flag and signal are the viewer's: :func:`core.layout.find_layout`
  (declared ``scan_shape``, keys, GDA 8 ``scan_dimensions``, else the NeXus signal by the
  frame-rank rule); ``--scan-shape`` overrides the shape;
- *per-point* datasets (leading dims fit the scan shape, as the viewer's data must: per-element
  fields of (scan) + (elements,) included) are created at shape (1, ..., 1) + frame
  with maxshape None in every scan dim, chunked, and grow point by point as GDA's do; every other
  dataset is copied as it is (chunked unless scalar) before SWMR starts;
- points are written in acquisition order: the order of the key values when the file has keys
  (so a snake comes back snaked), else C order; each point's data is flushed before its keys;
- files behind external links (detector files) are replayed live too, with the data they hold;
  link targets whose file or dataset is missing are synthesised (small frames, per-point scalars
  or key datasets), each one named on the log (stderr);
- the finished flag (``scan_finished``) is created 0 and set last, to the original's value.
  Files without keys (GDA 8, areaDetector, DECTRIS data files) replay by growing their per-point
  datasets; no keys or flag are invented for them.

Every dataset is created before ``swmr_mode`` is switched on (an SWMR requirement). Only datasets
whose data is read whole from the original are copied; virtual datasets are recreated with their
original source mapping (missing sources stay missing).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import h5py
import hdf5plugin  # noqa: F401  (registers bitshuffle/LZ4/Blosc so compressed data can be copied)
import numpy as np

from swmrview.core import gda as gda_mod
from swmrview.core.layout import LayoutError, ScanLayout, find_layout
from swmrview.core.nexus import nx_class
from swmrview.core.positions import unravel
from swmrview.core.search import fits_shape
from swmrview.core.sources import Notes

logger = logging.getLogger(__name__)

__all__ = ["ReplayError", "ScanInfo", "analyse", "replay_scan", "start_replay", "main"]

#: Frame shape of synthesised detector data (a missing detector file).
SYNTH_FRAME = (16, 16)
#: Chunk length along the fastest scan dim for scalar per-point datasets with no chunking.
SCALAR_CHUNK = 64
_FINISHED_NAMES = ("scan_finished",)


class ReplayError(Exception):
    """The file cannot be replayed (the message says why)."""


@dataclass
class ScanInfo:
    """What :func:`analyse` found in a finished file."""

    scan_shape: tuple[int, ...]
    source: str                      # where the scan shape came from
    keys: tuple[str, ...] = ()       # key dataset/link paths in the master file
    finished: str | None = None      # finished-flag path
    signal: str | None = None        # the dataset the viewer shows
    data: tuple[str, ...] = ()       # the datasets the viewer follows, signal first
    notes: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return len(self.scan_shape)


# ----------------------------------------------------------------------------- analysis

def _known_shape(f: h5py.File, layout: ScanLayout) -> tuple[int, ...]:
    """The layout's scan shape with any dim it leaves open (None: keys with an unlimited
    maxshape and no declared shape) taken from the keys' or the signal's size in the file."""
    sized = [f[p] for p in layout.keys] or ([f[layout.signal]] if layout.signal else [])
    shape = []
    for d, n in enumerate(layout.scan_shape):
        if n is None:
            n = max((int(ds.shape[d]) for ds in sized if ds.ndim > d), default=0)
        shape.append(int(n))
    return tuple(shape)


def _shape_source(f: h5py.File, layout: ScanLayout, shape: tuple[int, ...]) -> str:
    """Where the layout's scan shape comes from, in words (for the log and the CLI)."""
    scan = gda_mod.find_scan(f, Notes())
    if scan is not None and scan.shape == shape:
        return f"{scan.path}/scan_shape"
    if layout.keys:
        return f"keys {layout.keys[0]}"
    dims = gda_mod.scan_dimensions(f, layout.signal or "/")
    if dims == shape:
        return f"/{(layout.signal or '/').strip('/').split('/')[0]}/scan_dimensions"
    return f"signal {layout.signal}"


def analyse(f: h5py.File, scan_shape: Sequence[int] | None = None) -> ScanInfo:
    """What to replay in an open finished file, as the viewer sees it.

    The scan shape, keys, finished flag, signal and data are :func:`core.layout.find_layout`'s
    (keys whose links dangle are kept: the replay synthesises them). ``scan_shape`` overrides
    the shape; it also lets a file in which the viewer finds nothing to show be replayed.
    """
    try:
        layout = find_layout(f)
    except LayoutError as exc:
        if scan_shape is None:
            raise ReplayError(f"{exc}; give a scan shape with --scan-shape to replay it anyway"
                              ) from exc
        return ScanInfo(tuple(int(n) for n in scan_shape), "given")
    found = dict(keys=layout.keys + layout.dangling_keys, finished=layout.finished,
                 signal=layout.signal, data=layout.data, notes=list(layout.notes))
    if scan_shape is not None:
        return ScanInfo(tuple(int(n) for n in scan_shape), "given", **found)
    if layout.scan_rank == 0:
        raise ReplayError(f"{f.filename}: {layout.signal} is a single frame, not a scan; "
                          "nothing would grow (give a scan shape with --scan-shape)")
    shape = _known_shape(f, layout)
    if min(shape) < 1:
        raise ReplayError(f"{f.filename}: scan shape {layout.scan_shape} has an empty dim; "
                          "give one with --scan-shape")
    return ScanInfo(shape, _shape_source(f, layout, shape), **found)


# ----------------------------------------------------------------------------- copying

def _raw_attr(aid, dst, name: str) -> None:
    """Copy a fixed-length string attribute byte for byte (no NULLTERM/NULLPAD conversion)."""
    tid = aid.get_type()
    arr = np.empty(aid.shape, dtype=aid.dtype)
    aid.read(arr, mtype=tid)
    if name in dst.attrs:
        del dst.attrs[name]
    new = h5py.h5a.create(dst.id, name.encode(), tid, aid.get_space())
    new.write(arr, mtype=tid)


def _copy_attrs(src, dst) -> None:
    for name in src.attrs:
        try:
            aid = src.attrs.get_id(name)
            if aid.dtype.kind == "S" and aid.get_space().get_simple_extent_type() != h5py.h5s.NULL:
                _raw_attr(aid, dst, name)
                continue
            dst.attrs.create(name, src.attrs[name], shape=aid.shape, dtype=aid.dtype)
        except Exception as exc:  # noqa: BLE001  (an odd attribute must not stop the replay)
            try:
                dst.attrs[name] = src.attrs[name]
            except Exception:  # noqa: BLE001
                logger.warning("attribute %s of %s not copied: %s", name, src.name, exc)


def _space(shape: tuple[int, ...], maxshape: tuple[int | None, ...]):
    return h5py.h5s.create_simple(
        shape, tuple(h5py.h5s.UNLIMITED if m is None else m for m in maxshape))


def _create_like(group: h5py.Group, name: str, src: h5py.Dataset, shape: tuple[int, ...],
                 maxshape: tuple[int | None, ...], chunks: tuple[int, ...]) -> h5py.Dataset:
    """A chunked dataset with ``src``'s type, filters and fill value, of the given shape."""
    try:
        dcpl = src.id.get_create_plist()
        if dcpl.get_external_count():
            raise ValueError("raw external storage")
        dcpl.set_chunk(chunks)
        dsid = h5py.h5d.create(group.id, name.encode(), src.id.get_type(), _space(shape, maxshape),
                               dcpl=dcpl)
        return h5py.Dataset(dsid)
    except Exception as exc:  # noqa: BLE001  (fall back to an unfiltered copy)
        logger.debug("plain copy of %s (%s)", src.name, exc)
        if name in group:
            del group[name]
        return group.create_dataset(name, shape=shape, maxshape=maxshape, chunks=chunks,
                                    dtype=src.dtype)


def _raw_block(src: h5py.Dataset, dst: h5py.Dataset, start: tuple[int, ...] = (),
               count: tuple[int, ...] = ()) -> None:
    """Copy the block ``start``/``count`` over the leading dims (all of it for ``()``) in
    ``src``'s own file type: fixed-length strings keep every byte (h5py's numpy conversion would
    drop the last character of a NULLTERM string that fills its width)."""
    tid = src.id.get_type()
    count = tuple(count) + src.shape[len(count):]
    start = tuple(start) + (0,) * (len(src.shape) - len(start))
    spaces = []
    for ds in (src, dst):
        space = ds.id.get_space()
        if space.get_simple_extent_ndims():
            space.select_hyperslab(start, count)
        spaces.append(space)
    mspace = h5py.h5s.create_simple(count) if count else h5py.h5s.create(h5py.h5s.SCALAR)
    arr = np.empty(count, dtype=src.dtype)
    src.id.read(mspace, spaces[0], arr, mtype=tid)
    dst.id.write(mspace, spaces[1], arr, mtype=tid)


def _static_chunks(ds: h5py.Dataset) -> tuple[int, ...]:
    if ds.chunks:
        return ds.chunks
    shape = tuple(max(1, n) for n in ds.shape)
    # about 1 MB per chunk, whole trailing dims first
    itemsize = max(1, ds.dtype.itemsize)
    chunks = list(shape)
    for i in range(len(chunks)):
        while int(np.prod(chunks)) * itemsize > (1 << 20) and chunks[i] > 1:
            chunks[i] = max(1, chunks[i] // 2)
    return tuple(chunks)


def _copy_static(group: h5py.Group, name: str, src: h5py.Dataset) -> h5py.Dataset:
    """Copy a dataset that does not change during the scan (chunked unless scalar/empty)."""
    if src.is_virtual:
        dsid = h5py.h5d.create(group.id, name.encode(), src.id.get_type(), src.id.get_space(),
                               dcpl=src.id.get_create_plist())
        return h5py.Dataset(dsid)
    if src.shape is None:
        return group.create_dataset(name, data=h5py.Empty(src.dtype))
    if src.ndim == 0:
        if src.dtype.kind == "S":           # the same file type, copied byte for byte
            dst = h5py.Dataset(h5py.h5d.create(group.id, name.encode(), src.id.get_type(),
                                               h5py.h5s.create(h5py.h5s.SCALAR)))
            _raw_block(src, dst)
        else:
            dst = group.create_dataset(name, shape=(), dtype=src.dtype)
            dst[()] = src[()]
        return dst
    maxshape = src.maxshape
    if src.size == 0:
        maxshape = tuple(None for _ in src.shape)
    dst = _create_like(group, name, src, src.shape, maxshape, _static_chunks(src))
    if src.size:
        if src.dtype.kind == "S":
            _raw_block(src, dst)
        else:
            dst[...] = src[...]
    return dst


# ----------------------------------------------------------------------------- one output file

@dataclass(frozen=True)
class _Run:
    """Consecutive points of one fast row: ``row`` (slow dims) and fast indices lo..hi."""

    row: tuple[int, ...]
    lo: int
    hi: int
    indices: tuple[int, ...]     # flat indices, in position order (lo..hi)
    counts: tuple[int, ...]      # acquisition counts (from 1), in position order


def _runs(indices: Sequence[int], counts: Sequence[int], shape: tuple[int, ...]) -> list[_Run]:
    """Split points (in acquisition order) into runs written as one slice each."""
    runs: list[_Run] = []
    fast = shape[-1]
    group: list[tuple[int, int]] = []

    def close() -> None:
        if group:
            ordered = sorted(group)
            pos = unravel(ordered[0][0], shape)
            runs.append(_Run(pos[:-1], pos[-1], pos[-1] + len(ordered) - 1,
                             tuple(i for i, _ in ordered), tuple(c for _, c in ordered)))
            group.clear()

    step = 0
    for index, count in zip(indices, counts):
        if group:
            prev = group[-1][0]
            d = index - prev
            same_row = index // fast == prev // fast
            if same_row and abs(d) == 1 and (step in (0, d)):
                step = d
                group.append((index, count))
                continue
            close()
        step = 0
        group.append((index, count))
    close()
    return runs


def _synthetic(item: "_PerPoint", run: _Run, n: int) -> np.ndarray:
    """Values of a synthesised dataset over ``n`` points of ``run`` (shape (n,) + frame):
    keys are the acquisition counts, frames a small pattern over the count, scalars the flat
    index."""
    counts = np.asarray(run.counts[:n], dtype=np.int64)
    if item.kind == "key":
        return counts.astype(np.int32).reshape(n, 1, 1)
    if item.kind == "frames":
        pattern = (np.arange(int(np.prod(SYNTH_FRAME))) % 16).reshape(SYNTH_FRAME)
        return (counts[:, None, None] + pattern[None]).astype(np.uint16)
    return np.asarray(run.indices[:n], dtype=np.float64)


@dataclass
class _PerPoint:
    src: h5py.Dataset | None      # None: synthesised
    dst: h5py.Dataset
    kind: str = "data"            # "data", "key", "frames", "scalar"


class _Output:
    """One output file: a copy of one input file (or a synthesised one) and its live datasets."""

    def __init__(self, path: Path, rank_shape: tuple[int, ...], label: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.label = label
        self.scan_shape = rank_shape
        self.file = h5py.File(path, "w", libver="latest")
        self.data: list[_PerPoint] = []
        self.keys: list[_PerPoint] = []
        self.flags: list[tuple[h5py.Dataset, np.ndarray]] = []
        self.created: dict = {}
        self.extra_outputs: list[_Output] = []   # the master's detector files
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
        return _create_like(group, name, src, (1,) * rank + tail, maxshape, chunks)

    # -- building the tree
    def copy_tree(self, src: h5py.Group, dst: h5py.Group, keys: set[str], finished: str | None,
                  links: list[tuple[str, h5py.ExternalLink, bool]]) -> None:
        """Copy ``src`` into ``dst``: groups, attributes, links; per-point datasets left empty."""
        _copy_attrs(src, dst)
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
            new = _copy_static(dst, name, src)
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
                _PerPoint(src, new, "key" if is_key else "data"))
        else:
            if src.is_virtual:
                for vs in src.virtual_sources():
                    self.vds_sources.add(_abs(vs.dset_name) if vs.file_name == "."
                                         else os.path.basename(vs.file_name))
            new = _copy_static(dst, name, src)
        _copy_attrs(src, new)
        return new

    def synthesise(self, path: str, kind: str, reason: str) -> None:
        """Create a per-point dataset at ``path`` that the original does not hold."""
        rank = self.rank
        parent, _, name = path.rstrip("/").rpartition("/")
        group = self.file.require_group(parent or "/")
        if name in group:
            return
        if kind == "key":
            tail, dtype, chunks = (1, 1), np.int32, (1,) * (rank - 1) + (8,) + (1, 1)
        elif kind == "frames":
            tail, dtype, chunks = SYNTH_FRAME, np.uint16, (1,) * rank + SYNTH_FRAME
        else:
            tail, dtype, chunks = (), np.float64, (1,) * (rank - 1) + (SCALAR_CHUNK,)
        dst = group.create_dataset(name, shape=(1,) * rank + tail,
                                   maxshape=(None,) * rank + tail, chunks=chunks, dtype=dtype,
                                   fillvalue=0)
        entry = _PerPoint(None, dst, kind)
        (self.keys if kind == "key" else self.data).append(entry)
        logger.warning("replay: synthesised %s:%s as %s %s per point (%s)", self.path.name, path,
                       tail or "scalar", np.dtype(dtype).name, reason)

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

    def _write(self, item: _PerPoint, run: "_Run", flush: bool) -> None:
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
                _raw_block(item.src, item.dst, row + (lo,), (1,) * len(row) + (hi + 1 - lo,))
            else:
                item.dst[sel] = item.src[sel]
        else:
            item.dst[sel] = _synthetic(item, run, hi + 1 - lo)
        if flush:
            item.dst.flush()

    def write_data(self, runs: Sequence["_Run"]) -> None:
        for item in self.data:
            for run in runs:
                self._write(item, run, flush=False)
            item.dst.flush()

    def write_keys(self, runs: Sequence["_Run"]) -> None:
        for item in self.keys:
            for run in runs:
                self._write(item, run, flush=False)
            item.dst.flush()

    def grow_keys(self, runs: Sequence["_Run"]) -> None:
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


# ----------------------------------------------------------------------------- the replay

def _resolve(link_file: str, base: Path) -> Path | None:
    """Where HDF5 finds an external link's file for a parent in ``base`` (None: missing)."""
    candidates = []
    if os.path.isabs(link_file):
        candidates.append(Path(link_file))
    else:
        candidates.append(base / link_file)
    candidates.append(base / os.path.basename(link_file))
    for c in candidates:
        if c.is_file():
            return c
    return None


def _out_location(link_file: str, out_dir: Path) -> Path | None:
    """Where the replayed external file goes: beside OUT, where HDF5 will look for it (an
    absolute path's file name in OUT's directory). None: it would land outside that directory."""
    if os.path.isabs(link_file):
        if os.path.exists(link_file):
            logger.warning("replay: the link to %s still resolves to that absolute path, not to "
                           "the replayed copy beside OUT", link_file)
        return out_dir / os.path.basename(link_file)
    where = (out_dir / link_file).resolve()
    if not where.is_relative_to(out_dir.resolve()):
        return None
    return out_dir / link_file


def _abs(path: str) -> str:
    return "/" + path.lstrip("/")


def _synth_kind(target: str, is_key: bool) -> str:
    if is_key or target.rstrip("/").endswith("NDArrayUniqueId"):
        return "key"
    parts = [p for p in target.lower().split("/") if p]
    if parts and parts[-1] in ("data", "detector") and (
            len(parts) == 1 or any("detector" in p for p in parts[:-1])):
        return "frames"
    return "scalar"


def _link_targets(targets, master: h5py.File,
                  vds_sources: set[str]) -> dict[str, tuple[bool, bool]]:
    """Target path -> (a key link?, linked from an NXdata group?) for one external file.

    Links that virtual datasets read (NXmx ``data_000001``...) are left out: their files stay
    missing in the replay as in the original, so the virtual data still reads as missing."""
    out: dict[str, tuple[bool, bool]] = {}
    for path, link, is_key in targets:
        if path in vds_sources or os.path.basename(link.filename) in vds_sources:
            logger.warning("replay: %s -> %s:%s left missing (a virtual dataset's source)",
                           path, link.filename, link.path)
            continue
        in_plot = nx_class(master[path.rpartition("/")[0] or "/"]) == "NXdata"
        old_key, old_plot = out.get(_abs(link.path), (False, False))
        out[_abs(link.path)] = (old_key or is_key, old_plot or in_plot)
    return out


def _acquisition_order(info: ScanInfo, master: _Output) -> tuple[list[int], list[int]]:
    """(keyed flat indices in key order, unkeyed flat indices in C order)."""
    n = int(np.prod(info.scan_shape))
    ordering = None
    for item in sorted(master.keys, key=lambda k: not k.dst.name.endswith("uniqueKeys")):
        if item.src is not None and item.src.dtype.kind in "iu":
            ordering = item.src
            break
    if ordering is None:
        for out in master.extra_outputs:
            for item in out.keys:
                if item.src is not None and item.src.dtype.kind in "iu":
                    ordering = item.src
                    break
            if ordering is not None:
                break
    if ordering is None:
        return list(range(n)), []
    values = np.zeros(info.scan_shape, dtype=np.int64)
    raw = np.asarray(ordering[...])
    rank = info.rank
    raw = raw.reshape(raw.shape[:rank] + (-1,))[..., 0]
    values[tuple(slice(0, s) for s in raw.shape)] = raw
    flat = values.ravel()
    keyed = np.flatnonzero(flat > 0)
    keyed = keyed[np.argsort(flat[keyed], kind="stable")]
    unkeyed = np.flatnonzero(flat <= 0)
    return [int(i) for i in keyed], [int(i) for i in unkeyed]


#: Detector files still to create: (where, [(link path, link, is a key)], original or None).
_Pending = list[tuple[Path, list[tuple[str, h5py.ExternalLink, bool]], Path | None]]


def _build(finished: Path, out: Path, scan_shape: Sequence[int] | None):
    """Open the original and create the replay's scan file; detector files are left pending."""
    src = h5py.File(finished, "r")
    sources = [src]
    try:
        info = analyse(src, scan_shape)
        logger.info("replay %s: scan shape %s (%s)", finished.name, info.scan_shape, info.source)
        by_file: dict[Path, list[tuple[str, h5py.ExternalLink, bool]]] = {}
        pending: _Pending = []
        master = _Output(out, info.scan_shape, out.name)
        links: list[tuple[str, h5py.ExternalLink, bool]] = []
        master.copy_tree(src, master.file, set(info.keys), info.finished, links)
        for path, link, is_key in links:
            where = _out_location(link.filename, out.parent)
            if where is None:
                logger.warning("replay: %s -> %s left as it is (outside OUT's directory)",
                               path, link.filename)
                continue
            by_file.setdefault(where, []).append((path, link, is_key))
        for out_path, targets in by_file.items():
            if out_path.resolve() == out.resolve():
                continue
            found = _resolve(targets[0][1].filename, finished.parent)
            if found is not None and found.resolve() == out_path.resolve():
                master.close()
                out.unlink()
                raise ReplayError(f"replaying into {out.parent} would overwrite the original's "
                                  f"detector file {found}; choose another directory for OUT")
            pending.append((out_path, targets, found))
        return info, master, pending, sources
    except BaseException:
        for s in sources:
            s.close()
        raise


def _build_detectors(info: ScanInfo, master: _Output, pending: _Pending,
                     sources: list) -> list[_Output]:
    """Create the detector files: replay the ones present, synthesise what is missing.

    A missing file is created only when something in it is synthesised (scan data or keys);
    otherwise it stays missing, as in the original."""
    created = []
    for out_path, targets, found in pending:
        what = "file missing" if found is None else "dataset missing from the file"
        ext_src = None
        if found is not None:
            ext_src = h5py.File(found, "r")
            sources.append(ext_src)
        synth = []
        for target, (is_key, in_plot) in _link_targets(targets, master.file,
                                                       master.vds_sources).items():
            if ext_src is not None and target in ext_src:
                continue
            kind = _synth_kind(target, is_key)
            if kind == "scalar" and not in_plot:
                logger.warning("replay: %s:%s left dangling (%s; not scan data)",
                               out_path.name, target, what)
                continue
            synth.append((target, kind))
        if ext_src is None and not synth:
            logger.warning("replay: %s stays missing, as in the original", targets[0][1].filename)
            continue
        ext = _Output(out_path, info.scan_shape, out_path.name)
        master.extra_outputs.append(ext)
        created.append(ext)
        if ext_src is not None:
            ext_keys = {_abs(t[1].path) for t in targets if t[2]}
            ext.copy_tree(ext_src, ext.file, ext_keys, None, [])
            logger.info("replay: detector file %s replayed from %s", out_path.name, found)
        else:
            logger.warning("replay: %s is missing; synthesising its linked scan data",
                           targets[0][1].filename)
        for target, kind in synth:
            ext.synthesise(target, kind, what)
        ext.order_keys()
    return created


def replay_scan(finished: str | os.PathLike, out: str | os.PathLike, rate: float = 20.0, *,
                scan_shape: Sequence[int] | None = None, batch: int = 1,
                swmr_delay: float = 0.0, detector_delay: float = 0.0) -> ScanInfo:
    """Replay ``finished`` into ``out`` as a live SWMR scan; blocks until it is written.

    ``rate`` is points per second; ``batch`` points are written and flushed together (1: point
    by point, as GDA does; Malcolm/areaDetector scans at kHz flush in blocks like this).
    ``swmr_delay``: seconds the scan file stays open before SWMR (readers get a lock error);
    ``detector_delay``: seconds after the scan file goes SWMR before the detector files are
    created (their links dangle meanwhile, as when a detector's file appears late).
    Returns what :func:`analyse` found.
    """
    finished, out = Path(finished), Path(out)
    if rate <= 0:
        raise ReplayError("rate must be positive")
    if batch < 1:
        raise ReplayError("batch must be at least 1")
    if not finished.is_file():
        raise ReplayError(f"{finished}: not a file")
    if not h5py.is_hdf5(finished):
        raise ReplayError(f"{finished}: not an HDF5 file")
    if out.exists() and out.resolve() == finished.resolve():
        raise ReplayError("OUT must not be the file being replayed")
    info, master, pending, sources = _build(finished, out, scan_shape)
    master.order_keys()
    outputs = [master]
    try:
        if detector_delay <= 0:
            outputs = _build_detectors(info, master, pending, sources) + [master]
        if swmr_delay > 0:
            master.file.flush()
            time.sleep(swmr_delay)
        for o in outputs:
            o.file.swmr_mode = True
        if detector_delay > 0:
            logger.info("replay: detector files in %.3g s", detector_delay)
            time.sleep(detector_delay)
            detectors = _build_detectors(info, master, pending, sources)
            for o in detectors:
                o.file.swmr_mode = True
            outputs = detectors + [master]
        keyed, unkeyed = _acquisition_order(info, master)
        logger.info("replay %s -> %s: %d points at %.3g/s", finished.name, out, len(keyed)
                    + len(unkeyed), rate)
        sequence = keyed + unkeyed
        start = time.monotonic()
        for first in range(0, len(sequence), batch):
            part = sequence[first:first + batch]
            delay = start + (first + len(part) - 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            counts = range(first + 1, first + len(part) + 1)
            runs = _runs(part, counts, info.scan_shape)
            n_keyed = max(0, min(len(part), len(keyed) - first))
            keyed_runs = _runs(part[:n_keyed], counts[:n_keyed], info.scan_shape)
            unkeyed_runs = _runs(part[n_keyed:], counts[n_keyed:], info.scan_shape)
            for o in outputs:                      # detector files first, the scan file last
                o.write_data(runs)
            for o in outputs:                      # then keys, uniqueKeys last
                if keyed_runs:
                    o.write_keys(keyed_runs)
                if unkeyed_runs:
                    o.grow_keys(unkeyed_runs)
        for o in outputs:
            o.finish()
        logger.info("replay of %s finished", finished.name)
        return info
    finally:
        for o in master.extra_outputs + [master]:
            o.close()
        for s in sources:
            s.close()


def _run(finished: str, out: str, rate: float, options: dict, log_level: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(message)s")
    replay_scan(finished, out, rate, **options)


def start_replay(finished: str | os.PathLike, out: str | os.PathLike, rate: float = 20.0, *,
                 scan_shape: Sequence[int] | None = None, batch: int = 1,
                 swmr_delay: float = 0.0, detector_delay: float = 0.0
                 ) -> multiprocessing.Process:
    """Start :func:`replay_scan` in a separate (spawned) process and return it, started.

    The process exits 0 when the replay is complete (the finished flag set), 1 on an error.
    """
    options = dict(scan_shape=None if scan_shape is None else tuple(scan_shape),
                   batch=int(batch), swmr_delay=float(swmr_delay),
                   detector_delay=float(detector_delay))
    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    proc = ctx.Process(target=_run,
                       args=(str(finished), str(out), float(rate), options, level),
                       name=f"swmrview-replay:{os.path.basename(str(out))}", daemon=True)
    proc.start()
    return proc


# ----------------------------------------------------------------------------- CLI

def _dims(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dims like 20x30, got {text!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected positive dims, got {text!r}")
    return dims


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swmrview --replay",
        description="Rewrite a finished scan file as a live SWMR scan, as its writer did "
                    "(per-point datasets growing from (1, ..., 1), keys after data, finished "
                    "flag last; detector files live too, missing ones synthesised).")
    p.add_argument("finished", help="the finished scan file to replay")
    p.add_argument("output", help="the live file to write (detector files go beside it)")
    p.add_argument("--rate", type=float, default=20.0, help="points per second (default 20)")
    p.add_argument("--scan-shape", type=_dims, default=None,
                   help="scan shape, e.g. 20x30, when the file's own cannot be found")
    p.add_argument("--batch", type=int, default=1,
                   help="points written and flushed together (default 1: point by point)")
    p.add_argument("--swmr-delay", type=float, default=0.0,
                   help="seconds to hold the scan file open before enabling SWMR")
    p.add_argument("--detector-delay", type=float, default=0.0,
                   help="seconds after the scan file before the detector files appear")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code (2: the file cannot be replayed)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    start = time.monotonic()
    try:
        info = replay_scan(args.finished, args.output, args.rate, scan_shape=args.scan_shape,
                           batch=args.batch, swmr_delay=args.swmr_delay,
                           detector_delay=args.detector_delay)
    except ReplayError as exc:
        logger.error("%s", exc)
        return 2
    except OSError as exc:
        logger.error("cannot replay %s: %s", args.finished, exc)
        return 2
    print(f"replayed {args.finished} ({info.scan_shape}, {info.source}) to {args.output} "
          f"in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
