"""Decoding raw HDF5 chunks outside HDF5: one decoder per filter, applied as a chunk's
filter mask says.

`swmrview.core.compute.pipeline.ReducePipeline` reads raw chunks (`swmrview.core.follow.chunks`)
and decodes them in its worker threads: `decoder_for` gives one decoder per filter of a
dataset's pipeline, each ``decode(raw, out=None)``, and `decode` applies them last filter first.
The decoders release the GIL:

- bitshuffle (LZ4, Zstandard or none), LZ4, Blosc and Zstandard: the compiled filter libraries
  that ``hdf5plugin`` ships, called through ``ctypes`` (which releases the GIL); when a library
  or symbol is missing, the ``bitshuffle``, ``lz4`` or ``blosc`` Python packages if installed
  (``bitshuffle``'s own module holds the GIL);
- deflate (gzip) through ``zlib`` and the HDF5 shuffle filter through numpy.

`decoder_sources` says which implementation each filter ended up with (logs, benchmarks).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import zlib
from typing import Any, Callable, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["BLOSC_FILTER", "Decoder", "decode", "decoder_for", "decoder_sources"]

#: HDF5 filter id of Blosc (the one filter swmr_tools' direct chunk reads decode)
BLOSC_FILTER = 32001

# raw chunk bytes in, decoded bytes out; ``out`` (a uint8 array) is filled when it has the
# decoded size and the decoder can write into it, else a new buffer is returned
Decoder = Callable[..., Any]

# ---------------------------------------------------------------------------- libraries

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
