"""Copying HDF5 objects exactly: attributes byte for byte, datasets with their own type,
filters and fill value, and the datasets that do not change during a scan."""

from __future__ import annotations

import logging

import h5py
import hdf5plugin  # noqa: F401  (registers bitshuffle/LZ4/Blosc so compressed data can be copied)
import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["copy_attrs", "create_like", "raw_block", "copy_static"]


def _raw_attr(aid, dst, name: str) -> None:
    """Copy a fixed-length string attribute byte for byte (no NULLTERM/NULLPAD conversion)."""
    tid = aid.get_type()
    arr = np.empty(aid.shape, dtype=aid.dtype)
    aid.read(arr, mtype=tid)
    if name in dst.attrs:
        del dst.attrs[name]
    new = h5py.h5a.create(dst.id, name.encode(), tid, aid.get_space())
    new.write(arr, mtype=tid)


def copy_attrs(src, dst) -> None:
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


def create_like(group: h5py.Group, name: str, src: h5py.Dataset, shape: tuple[int, ...],
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


def raw_block(src: h5py.Dataset, dst: h5py.Dataset, start: tuple[int, ...] = (),
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


def copy_static(group: h5py.Group, name: str, src: h5py.Dataset) -> h5py.Dataset:
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
            raw_block(src, dst)
        else:
            dst = group.create_dataset(name, shape=(), dtype=src.dtype)
            dst[()] = src[()]
        return dst
    maxshape = src.maxshape
    if src.size == 0:
        maxshape = tuple(None for _ in src.shape)
    dst = create_like(group, name, src, src.shape, maxshape, _static_chunks(src))
    if src.size:
        if src.dtype.kind == "S":
            raw_block(src, dst)
        else:
            dst[...] = src[...]
    return dst
