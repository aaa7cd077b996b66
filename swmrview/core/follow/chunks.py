"""The raw chunk of an HDF5 dataset: is it stored, where, its bytes, and decoding them.

One owner for these rules, which every reader of raw chunks calls: the followers ask whether
a chunk is stored (`stored`: growth of keyless files) or where it lies (`chunk_info`: the key
probe), `swmrview.core.compute.pipeline.ReducePipeline` reads raw chunks by address and decodes
them in its threads (`ChunkReader`, `decoder_for`, `decode`), and swmr_tools' readers
(``FrameReader``, ``ChunkSource``) read them through HDF5 (`read_raw`).

Where a chunk is: ``get_chunk_info_by_coord`` gives its address, size and filter mask (a few
microseconds under h5py's lock); a chunk HDF5 has not stored yet has no address. Under SWMR a
reader sees newly stored chunks only after refreshing the dataset.

Reading: `read_raw` asks HDF5 (``dataset.id.read_direct_chunk``, under h5py's lock, as
swmr_tools 0.9.0's ``ChunkSource`` does). On a plain local file (HDF5's default ``sec2``
driver, POSIX) a `ChunkReader` reads the bytes at the chunk's address with ``os.preadv``,
which holds neither h5py's lock nor the GIL (the first chunk is compared with HDF5's own read,
as HDF5 versions differ on whether addresses count a userblock), and asks HDF5 for any chunk
that lookup cannot serve.

Decoding (`decoder_for`: one decoder per filter, each ``decode(raw, out=None)``; `decode`
applies them as the chunk's filter mask says). The decoders release the GIL:

- bitshuffle (LZ4, Zstandard or none), LZ4, Blosc and Zstandard: the compiled filter libraries
  that ``hdf5plugin`` ships, called through ``ctypes`` (which releases the GIL); when a library
  or symbol is missing, the ``bitshuffle``, ``lz4`` or ``blosc`` Python packages if installed
  (``bitshuffle``'s own module holds the GIL);
- deflate (gzip) through ``zlib`` and the HDF5 shuffle filter through numpy.

This module lies in ``follow``, the lowest of core's layers, although reading files is its job:
the followers need `stored` and `chunk_info`, and ``files`` already imports ``follow``
(``positions``), so ``files`` could not be the lower layer.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import zlib
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["BLOSC_FILTER", "ChunkInfo", "ChunkReader", "chunk_info", "decode", "decoder_for", "decoder_sources",
           "filter_ids", "read_raw", "stored"]

#: HDF5 filter id of Blosc (the one filter swmr_tools' direct chunk reads decode)
BLOSC_FILTER = 32001

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


# raw chunk bytes in, decoded bytes out; ``out`` (a uint8 array) is filled when it has the
# decoded size and the decoder can write into it, else a new buffer is returned
Decoder = Callable[..., Any]

# ---------------------------------------------------------------------------- decoding: libraries

_LIBS: dict[str, Any] = {}
_LIBS_LOCK = threading.Lock()
# which implementation each filter ended up with, for benchmarks and logs
_SOURCES: dict[str, str] = {}


def _plugin_lib(name: str) -> Any:
    """The ``hdf5plugin`` filter library ``name`` (bshuf, lz4, blosc, zstd) via ctypes, or None."""
    with _LIBS_LOCK:
        if name in _LIBS:
            return _LIBS[name]
        lib = None
        try:
            import hdf5plugin

            path = None
            get_config = getattr(hdf5plugin, "get_config", None)
            if get_config is not None:
                path = get_config().registered_filters.get(name)
            if not path:
                path = os.path.join(hdf5plugin.PLUGIN_PATH, f"libh5{name}.so")
            if os.path.exists(path):
                lib = ctypes.CDLL(path)
        except Exception as error:  # noqa: BLE001 - any failure means: use another decoder
            logger.debug("hdf5plugin library %s not usable: %s", name, error)
        _LIBS[name] = lib
        return lib


def _symbol(lib: Any, name: str, restype: Any, argtypes: Sequence[Any]) -> Any:
    fn = getattr(lib, name, None) if lib is not None else None
    if fn is not None:
        fn.restype = restype
        fn.argtypes = list(argtypes)
    return fn


def _ptr(buf: Any) -> tuple[np.ndarray, int]:
    """A uint8 array over ``buf`` (kept alive by the caller) and its address."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    return arr, arr.ctypes.data


_SIZE = ctypes.c_size_t
_VP = ctypes.c_void_p

# ---------------------------------------------------------------------------- decoders


def _bitshuffle_decoder(cd: Sequence[int], itemsize: int) -> Decoder | None:
    elem = int(cd[2]) if len(cd) > 2 and cd[2] else itemsize
    comp = int(cd[4]) if len(cd) > 4 else 0
    cd_block = int(cd[3]) if len(cd) > 3 else 0
    if comp not in (0, 2, 3):
        return None
    lib = _plugin_lib("bshuf")
    name = {0: "bshuf_bitunshuffle", 2: "bshuf_decompress_lz4", 3: "bshuf_decompress_zstd"}[comp]
    fn = _symbol(lib, name, ctypes.c_int64, (_VP, _VP, _SIZE, _SIZE, _SIZE))
    py = None
    if fn is None:
        try:
            import bitshuffle

            py = {0: bitshuffle.bitunshuffle, 2: bitshuffle.decompress_lz4,
                  3: getattr(bitshuffle, "decompress_zstd", None)}[comp]
        except ImportError:
            py = None
        if py is None:
            return None
    _SOURCES["bitshuffle"] = ("hdf5plugin libh5bshuf via ctypes (GIL released)" if fn
                              else "bitshuffle package (holds the GIL)")

    def decode(raw: Any, out: np.ndarray | None = None) -> np.ndarray:
        src, _ = _ptr(raw)
        if comp:
            total = int.from_bytes(src[:8].tobytes(), "big")
            block = int.from_bytes(src[8:12].tobytes(), "big") // elem
            data = src[12:]
        else:
            total, block, data = src.size, cd_block, src
        n = total // elem
        if fn is not None:
            out = _out(out, total)
            done = fn(data.ctypes.data, out.ctypes.data, n, elem, block)
            if done < 0:
                raise OSError(f"bitshuffle decompression failed (error {done})")
            return out
        dtype = np.dtype(f"u{elem}") if elem in (1, 2, 4, 8) else np.dtype(("V", elem))
        if comp:
            return py(np.ascontiguousarray(data), (n,), dtype, block).view(np.uint8)
        return py(np.ascontiguousarray(data).view(dtype), block).view(np.uint8)

    return decode


def _lz4_decoder() -> Decoder | None:
    fn = _symbol(_plugin_lib("lz4"), "LZ4_decompress_safe", ctypes.c_int,
                 (_VP, _VP, ctypes.c_int, ctypes.c_int))
    py = None
    if fn is None:
        try:
            import lz4.block as py  # releases the GIL
        except ImportError:
            return None
    _SOURCES["lz4"] = ("hdf5plugin libh5lz4 via ctypes (GIL released)" if fn
                       else "lz4 package (GIL released)")

    def decode(raw: Any, out: np.ndarray | None = None) -> np.ndarray:
        # HDF5 LZ4 filter: u64 BE total size, u32 BE block size, then per block a u32 BE
        # compressed size and the block (stored as is when it did not compress)
        src, base = _ptr(raw)
        total = int.from_bytes(src[:8].tobytes(), "big")
        block = int.from_bytes(src[8:12].tobytes(), "big")
        out = _out(out, total)
        pos, done = 12, 0
        while done < total:
            size = min(block, total - done)
            csize = int.from_bytes(src[pos:pos + 4].tobytes(), "big")
            pos += 4
            if csize == size:
                out[done:done + size] = src[pos:pos + size]
            elif fn is not None:
                if fn(base + pos, out.ctypes.data + done, csize, size) != size:
                    raise OSError("LZ4 decompression failed")
            else:
                out[done:done + size] = np.frombuffer(
                    py.decompress(src[pos:pos + csize].tobytes(), uncompressed_size=size),
                    dtype=np.uint8)
            pos += csize
            done += size
        return out

    return decode


def _blosc_decoder() -> Decoder | None:
    fn = _symbol(_plugin_lib("blosc"), "blosc_decompress_ctx", ctypes.c_int,
                 (_VP, _VP, _SIZE, ctypes.c_int))
    py = None
    if fn is None:
        try:
            import blosc as py
        except ImportError:
            return None
    _SOURCES["blosc"] = ("hdf5plugin libh5blosc via ctypes (GIL released)" if fn
                         else "blosc package")

    def decode(raw: Any, out: np.ndarray | None = None) -> Any:
        if fn is None:
            return py.decompress(bytes(raw))
        src, base = _ptr(raw)
        total = int.from_bytes(src[4:8].tobytes(), "little")  # blosc header: nbytes
        out = _out(out, total)
        if fn(base, out.ctypes.data, total, 1) != total:
            raise OSError("Blosc decompression failed")
        return out

    return decode


def _zstd_decoder() -> Decoder | None:
    fn = _symbol(_plugin_lib("zstd"), "ZSTD_decompress", _SIZE, (_VP, _SIZE, _VP, _SIZE))
    size_fn = _symbol(_plugin_lib("zstd"), "ZSTD_getFrameContentSize", ctypes.c_ulonglong,
                      (_VP, _SIZE))
    if fn is None or size_fn is None:
        return None
    _SOURCES["zstd"] = "hdf5plugin libh5zstd via ctypes (GIL released)"

    def decode(raw: Any, out: np.ndarray | None = None) -> np.ndarray:
        src, base = _ptr(raw)
        total = size_fn(base, src.size)
        if total >= (1 << 63):
            raise OSError("Zstandard frame without a content size")
        out = _out(out, total)
        if fn(out.ctypes.data, total, base, src.size) != total:
            raise OSError("Zstandard decompression failed")
        return out

    return decode


def _shuffle_decoder(cd: Sequence[int], itemsize: int) -> Decoder:
    elem = int(cd[0]) if cd else itemsize

    wide = np.dtype(f"<u{elem}") if elem in (2, 4, 8) and sys.byteorder == "little" else None

    def decode(raw: Any, out: np.ndarray | None = None) -> np.ndarray:
        src = np.frombuffer(raw, dtype=np.uint8)
        n = src.size // elem
        out = _out(out, src.size)
        if wide is not None:
            # byte plane b holds byte b of every element: OR the planes into whole elements
            # (a strided transpose is 20x slower)
            values = out[: n * elem].view(wide)
            values[...] = src[:n]
            for b in range(1, elem):
                values |= src[b * n:(b + 1) * n].astype(wide) << (8 * b)
        else:
            out[: n * elem].reshape(n, elem)[...] = src[: n * elem].reshape(elem, n).T
        out[n * elem:] = src[n * elem:]
        return out

    return decode


def _deflate_decoder(nbytes: int) -> Decoder:
    def decode(raw: Any, out: np.ndarray | None = None) -> bytes:
        # releases the GIL while inflating; sized once instead of grown from 16 KiB
        return zlib.decompress(raw, bufsize=max(nbytes, 1))

    return decode


def _out(out: np.ndarray | None, size: int) -> np.ndarray:
    """``out`` if it holds exactly ``size`` bytes, else a new buffer."""
    if out is not None and out.size == size:
        return out
    return np.empty(size, dtype=np.uint8)


def decoder_for(dataset: Any) -> list[Decoder] | None:
    """Decoders for ``dataset``'s filter pipeline (in pipeline order), or None if one of its
    filters cannot be decoded outside HDF5 here. ``[]`` for a dataset without filters."""
    try:
        dcpl = dataset.id.get_create_plist()
    except AttributeError:
        return None
    itemsize = dataset.dtype.itemsize
    nbytes = int(np.prod(dataset.chunks or (), dtype=np.int64)) * itemsize
    stages: list[Decoder] = []
    for i in range(dcpl.get_nfilters()):
        filter_id, _flags, cd, _name = dcpl.get_filter(i)
        decoder: Decoder | None
        if filter_id == 32008:
            decoder = _bitshuffle_decoder(cd, itemsize)
        elif filter_id == 32004:
            decoder = _lz4_decoder()
        elif filter_id == BLOSC_FILTER:
            decoder = _blosc_decoder()
        elif filter_id == 32015:
            decoder = _zstd_decoder()
        elif filter_id == 1:
            decoder = _deflate_decoder(nbytes)
        elif filter_id == 2:
            decoder = _shuffle_decoder(cd, itemsize)
        else:
            decoder = None
        if decoder is None:
            return None
        stages.append(decoder)
    return stages


def decoder_sources() -> dict[str, str]:
    """Which implementation decodes each filter seen so far (for logs and benchmarks)."""
    return dict(_SOURCES)



def decode(stages: Sequence[Decoder], filter_mask: int, raw: Any,
           out: np.ndarray | None = None) -> Any:
    """The decoded bytes of a raw chunk: ``stages`` (from `decoder_for`) applied last filter
    first, skipping those ``filter_mask`` marks as not applied to this chunk; the final stage
    writes into ``out`` (uint8) when it can."""
    buf = raw
    last_stage = next((i for i in range(len(stages)) if not filter_mask & (1 << i)), -1)
    for i in range(len(stages) - 1, -1, -1):
        if not filter_mask & (1 << i):
            buf = stages[i](buf, out if i == last_stage else None)
    return buf
