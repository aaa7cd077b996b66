"""The raw chunk of an HDF5 dataset: is it stored, where, and its bytes.

One owner for these rules, which every reader of raw chunks calls: the followers ask whether
a chunk is stored (`stored`: growth of keyless files) or where it lies (`chunk_info`: the key
probe), `swmrview.core.compute.pipeline.ReducePipeline` reads raw chunks by address in its
threads (`ChunkReader`) and decodes them with `swmrview.core.follow.decoders`, and swmr_tools'
readers (``FrameReader``, ``ChunkSource``) read them through HDF5 (`read_raw`).

Where a chunk is: ``get_chunk_info_by_coord`` gives its address, size and filter mask (a few
microseconds under h5py's lock); a chunk HDF5 has not stored yet has no address. Under SWMR a
reader sees newly stored chunks only after refreshing the dataset.

Reading: `read_raw` asks HDF5 (``dataset.id.read_direct_chunk``, under h5py's lock, as
swmr_tools 0.9.0's ``ChunkSource`` does). On a plain local file (HDF5's default ``sec2``
driver, POSIX) a `ChunkReader` reads the bytes at the chunk's address with ``os.preadv``,
which holds neither h5py's lock nor the GIL (the first chunk is compared with HDF5's own read,
as HDF5 versions differ on whether addresses count a userblock), and asks HDF5 for any chunk
that lookup cannot serve.

This module lies in ``follow``, the lowest of core's layers, although reading files is its job:
the followers need `stored` and `chunk_info`, and ``files`` already imports ``follow``
(``positions``), so ``files`` could not be the lower layer.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, NamedTuple, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["ChunkInfo", "ChunkReader", "chunk_info", "filter_ids", "read_raw", "stored"]

# a failed chunk lookup: not stored yet, no chunk index, a closed or odd file
_LOOKUP_ERRORS = (KeyError, ValueError, RuntimeError, OSError)

# ---------------------------------------------------------------------------- where


class ChunkInfo(NamedTuple):
    """Where a stored chunk is: its address in the file, its size, and its filter mask (bit i
    set: filter i was skipped for this chunk)."""

    address: int
    size: int
    filter_mask: int


def chunk_info(dataset: Any, offset: Sequence[int]) -> ChunkInfo | None:
    """Where the chunk starting at ``offset`` (one index per dataset axis) is stored, or None
    while HDF5 has not stored it (or cannot tell)."""
    try:
        info = dataset.id.get_chunk_info_by_coord(tuple(offset))
    except _LOOKUP_ERRORS:
        return None
    if info.byte_offset is None or info.size is None:
        return None
    return ChunkInfo(int(info.byte_offset), int(info.size), int(info.filter_mask))


def stored(dataset: Any, offset: Sequence[int]) -> bool:
    """Whether the chunk starting at ``offset`` has a file address (HDF5 has stored it)."""
    return chunk_info(dataset, offset) is not None


def filter_ids(dataset: Any) -> list[int] | None:
    """The HDF5 filter ids of ``dataset``'s pipeline, in order; None if it has none to read
    (a numpy array, or an object that is not an HDF5 dataset)."""
    try:
        dcpl = dataset.id.get_create_plist()
    except AttributeError:
        return None
    return [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]


# ---------------------------------------------------------------------------- reading


def read_raw(dataset: Any, offset: Sequence[int], out: np.ndarray | None = None, *,
             exact: bool = False) -> tuple[int, Any]:
    """``(filter_mask, raw bytes)`` of the chunk at ``offset``, read by HDF5 under h5py's lock.

    ``out``: a uint8 buffer to read into when the chunk fits (else a new buffer, or
    ValueError with ``exact``). Raises if the chunk is not stored. For reads by address
    without h5py's lock, keep a `ChunkReader`.
    """
    if out is None:
        return dataset.id.read_direct_chunk(tuple(offset))
    try:
        return dataset.id.read_direct_chunk(tuple(offset), out=out)
    except ValueError:  # chunk larger than the buffer
        if exact:
            raise
        return dataset.id.read_direct_chunk(tuple(offset))


class ChunkReader:
    """Raw chunks of one dataset: by address with ``os.preadv`` where possible, else `read_raw`.

    Reads from any number of threads. `close` stops reads by address; its file descriptor is
    closed once no read is in flight (a descriptor number closed under a read could be reused
    by another file).

    Parameters
    ----------
    dataset
        h5py dataset.
    by_address
        Try reads by address (default True); False always asks HDF5.
    """

    def __init__(self, dataset: Any, by_address: bool = True) -> None:
        self.dataset = dataset
        self._lock = threading.Lock()
        self._closed = False
        self._file: int | None = None   # the file's descriptor once opened
        self._base = 0   # added to HDF5's chunk addresses (set by _check_base)
        self._file_users = 0   # reads in flight on it: closed when the last one ends
        self._checked = threading.Event()   # first chunk compared with HDF5's own read
        self._pread = by_address and self._pread_possible()

    @property
    def by_address(self) -> bool:
        """True while chunks are read by address (a plain local file, not closed, and the
        first chunk read so matched HDF5's read)."""
        return self._pread

    @property
    def file_open(self) -> bool:
        """True while this reader holds a descriptor of the file."""
        return self._file is not None

    def info(self, offset: Sequence[int]) -> ChunkInfo | None:
        """`chunk_info` of this dataset: with reads by address, the only step under h5py's
        lock."""
        return chunk_info(self.dataset, offset)

    def read_raw(self, offset: tuple[int, ...], out: np.ndarray,
                 exact: bool = False) -> tuple[int, Any]:
        """``(filter_mask, raw bytes)`` of the chunk at ``offset``, into ``out`` (uint8) when it
        fits; else a new buffer from HDF5, or ValueError with ``exact``."""
        if self._pread:
            read = self._pread_chunk(offset, out)
            if read is not None:
                return read
        return read_raw(self.dataset, offset, out, exact=exact)

    def close(self) -> None:
        """Stop reading by address (later reads ask HDF5); the dataset stays open."""
        with self._lock:
            self._closed = True
            self._pread = False
        self._release_file()

    def __del__(self) -> None:
        opened = getattr(self, "_file", None)
        if opened is not None:  # nothing can read any more: no reference is left
            try:
                os.close(opened)
            except OSError:
                pass

    def _pread_possible(self) -> bool:
        try:
            f = self.dataset.file
            return hasattr(os, "preadv") and f.driver == "sec2" and os.path.isfile(f.filename)
        except Exception:  # noqa: BLE001 - anything odd: let HDF5 read the chunks
            return False

    def _acquire_file(self) -> int | None:
        """The file's descriptor for one read (`_release_file` after)."""
        with self._lock:
            if not self._pread or self._closed:
                return None
            if self._file is None:
                try:
                    self._file = os.open(self.dataset.file.filename, os.O_RDONLY)
                except OSError as error:  # moved, or a relative name after a chdir
                    logger.debug("reading chunks through HDF5: %s", error)
                    self._pread = False
                    return None
            self._file_users += 1
            return self._file

    def _release_file(self, used: bool = False) -> None:
        """End one read (``used``), and close the descriptor once closed and unused: never
        while a read is in flight, whose descriptor number could be reused by another file."""
        with self._lock:
            self._file_users -= int(used)
            opened = None
            if self._closed and self._file_users == 0:
                opened, self._file = self._file, None
        if opened is not None:
            os.close(opened)

    def _pread_chunk(self, offset: tuple[int, ...], raw: np.ndarray) -> tuple[int, Any] | None:
        """The chunk's bytes read by address without h5py's lock, or None (not allocated,
        larger than ``raw``, or a short read: HDF5 then reads it)."""
        info = self.info(offset)
        if info is None or info.size > raw.size:
            return None
        fd = self._acquire_file()
        if fd is None:
            return None
        view = raw[: info.size]
        try:
            if self._checked.is_set():
                base = self._base
            else:
                base = self._check_base(fd, offset, info)
                if base is None:
                    return None
            if os.preadv(fd, [view], base + info.address) != info.size:
                return None
        except OSError:
            return None
        finally:
            self._release_file(used=True)
        return info.filter_mask, view

    def _check_base(self, fd: int, offset: tuple[int, ...], info: ChunkInfo) -> int | None:
        """Compare one chunk read by address with HDF5's read of it, once: HDF5 versions
        differ on whether chunk addresses count the userblock. Returns the base to add, or
        None (and reads by address stop) if neither matches."""
        _, expected = read_raw(self.dataset, offset)
        expected = bytes(expected)
        userblock = int(self.dataset.file.userblock_size or 0)
        found = None
        for base in dict.fromkeys((0, userblock)):
            if os.pread(fd, info.size, base + info.address) == expected:
                found = base
                break
        with self._lock:
            if found is None:
                self._pread = False
            else:
                self._base = found
        self._checked.set()
        return found
