"""Read, decompress and reduce scan frames on every core, results in scan order.

HDF5 decompresses inside h5py's global lock, so a map computed through ``dataset[...]`` runs on
one core however many there are. `ReducePipeline` instead takes each frame's raw chunk and
decompresses and reduces it in a pool of worker threads. The raw bytes: on a plain local file
(HDF5's default ``sec2`` driver, POSIX) the chunk's address and size are looked up under h5py's
lock (``get_chunk_info_by_coord``, a few microseconds) and the bytes read with ``os.preadv``,
which holds neither h5py's lock nor the GIL (the first chunk is compared with HDF5's own read,
as HDF5 versions differ on whether addresses count a userblock); otherwise, and for any chunk
that lookup cannot serve, with ``dataset.id.read_direct_chunk`` under the lock, as swmr_tools
0.9.0's ``ChunkSource`` does. The decoders release the GIL:

- bitshuffle (LZ4, Zstandard or none), LZ4, Blosc and Zstandard: the compiled filter libraries
  that ``hdf5plugin`` ships, called through ``ctypes`` (which releases the GIL); when a library
  or symbol is missing, the ``bitshuffle``, ``lz4`` or ``blosc`` Python packages if installed
  (``bitshuffle``'s own module holds the GIL);
- deflate (gzip) through ``zlib`` and the HDF5 shuffle filter through numpy.

Direct chunk reads need one frame per chunk and only those filters; anything else (several
frames per chunk, fletcher32, scaleoffset, szip, virtual datasets, numpy arrays, a field of a
compound dataset (:class:`swmrview.core.files.fields.FieldDataset`)) is read through
h5py, in runs of consecutive frames, and still reduced in the pool. Frames under 64 KiB are
read and reduced on the calling thread (the pool costs more than it saves).

Under SWMR a reader sees newly written chunks only after a refresh: call `refresh` once per
batch of newly ready points before `read_reduce` (as `FrameReader` with ``auto_refresh=False``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from swmrview.core.compute.reduce import REDUCTIONS, FrameReducer, Roi

logger = logging.getLogger(__name__)

__all__ = ["ReducePipeline", "chunk_decoder", "decoder_sources"]

_SMALL_FRAME = 1 << 16   # bytes: smaller frames are read and reduced on the calling thread
DEFAULT_MAX_THREADS = 8
_BLOCK_BYTES = 4 << 20   # frames per pool task: about this much decoded data
_RUN_BYTES = 1 << 20     # at most this much read in one h5py call on the fallback path (cache-sized)

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


def chunk_decoder(dataset: Any) -> list[Decoder] | None:
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
        elif filter_id == 32001:
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


# ---------------------------------------------------------------------------- pipeline


class ReducePipeline:
    """Frames of ``dataset`` by scan position, reduced to the map values in a thread pool.

    Parameters
    ----------
    dataset
        h5py dataset (or numpy array) whose first ``scan_rank`` dimensions are the scan.
    scan_rank
        Number of scan dimensions.
    threads
        Worker threads (default: the number of cores, at most 8: each thread keeps one frame
        buffer); 1 reads and reduces on the calling thread.
    roi, mask, overflow
        As in `swmrview.core.compute.reduce.reduce_frame`; ``mask`` has the frame's shape.
    direct
        Use direct chunk reads when possible (default True); False always reads through h5py.
    """

    def __init__(self, dataset: Any, scan_rank: int, *, threads: int | None = None,
                 roi: Roi | None = None, mask: np.ndarray | None = None,
                 overflow: float | None = None, direct: bool = True) -> None:
        shape = tuple(dataset.shape)
        if scan_rank < 0 or scan_rank > len(shape):
            raise ValueError(f"scan rank {scan_rank} does not fit a dataset of shape {shape}")
        self.dataset = dataset
        self.scan_rank = int(scan_rank)
        self.threads = max(1, int(threads if threads is not None else
                                   min(DEFAULT_MAX_THREADS, os.cpu_count() or 1)))
        self._shape = shape
        self.frame_shape: tuple[int, ...] = shape[scan_rank:]
        self.dtype = np.dtype(dataset.dtype)
        self._frame_size = int(np.prod(self.frame_shape, dtype=np.int64))
        self._frame_bytes = self._frame_size * self.dtype.itemsize
        self._roi, self._mask, self._overflow = roi, mask, overflow
        self._reducer = FrameReducer(self.frame_shape, roi, mask, overflow)
        self._stages = self._direct_stages() if direct else None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._closed = False
        # raw chunks are read with os.preadv at the address HDF5 gives (a 4 us lookup under
        # h5py's lock) instead of H5Dread_chunk (the whole copy under the lock and the GIL)
        self._file: int | None = None   # the file's descriptor once opened
        self._base = 0   # added to HDF5's chunk addresses (set by _check_base)
        self._file_users = 0   # reads in flight on it: closed when the last one ends
        self._checked = threading.Event()   # first chunk compared with HDF5's own read
        self._pread = self._stages is not None and self._pread_possible()
        # per-thread frame buffers, reused for every frame that is only reduced: allocating
        # (and page-faulting) megabytes per frame costs as much as reducing it, more where
        # malloc hands big blocks back to the system at once (Dask workers)
        self._local = threading.local()

    # ------------------------------------------------------------------ setup
    def _direct_stages(self) -> list[Decoder] | None:
        """Decoders when every frame is exactly one chunk we can decode, else None."""
        ds = self.dataset
        if not hasattr(ds, "id") or self.dtype.kind not in "uifb" or self.dtype.fields:
            return None
        if getattr(ds, "field", None) is not None:
            return None     # a field of a compound dataset: its chunks hold every field
        if getattr(ds, "is_virtual", False) or ds.chunks is None:
            return None
        if tuple(ds.chunks) != (1,) * self.scan_rank + self.frame_shape:
            return None
        if self._frame_bytes < _SMALL_FRAME:
            return None  # per-chunk calls cost more than reading runs of frames through h5py
        return chunk_decoder(ds)

    def _pread_possible(self) -> bool:
        try:
            f = self.dataset.file
            return hasattr(os, "preadv") and f.driver == "sec2" and os.path.isfile(f.filename)
        except Exception:  # noqa: BLE001 - anything odd: let HDF5 read the chunks
            return False

    def _acquire_file(self) -> int | None:
        """The file's descriptor for one read (`_release_file` after)."""
        with self._pool_lock:
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
        with self._pool_lock:
            self._file_users -= int(used)
            opened = None
            if self._closed and self._file_users == 0:
                opened, self._file = self._file, None
        if opened is not None:
            os.close(opened)

    @property
    def direct(self) -> bool:
        """True when frames are read as raw chunks and decoded in the worker threads."""
        return self._stages is not None

    def refresh(self) -> None:
        """Refresh the dataset (SWMR): chunks written before this call become readable."""
        refresh = getattr(self.dataset, "refresh", None)
        if refresh is not None:
            refresh()
        self._shape = tuple(self.dataset.shape)

    def set_roi(self, roi: Roi | None) -> None:
        """Change the region summed for the ``roi`` value."""
        self._roi = roi
        self._reducer = FrameReducer(self.frame_shape, roi, self._mask, self._overflow)

    def set_mask(self, mask: np.ndarray | None, overflow: float | None = None) -> None:
        """Change the excluded pixels: ``mask`` (True = excluded) and values ``>= overflow``."""
        self._mask, self._overflow = mask, overflow
        self._reducer = FrameReducer(self.frame_shape, self._roi, mask, overflow)

    def close(self) -> None:
        """Stop the worker threads (the dataset stays open: it belongs to the caller).

        A call still running finishes; later calls read on the calling thread."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
            self._closed = True
            self._pread = False
        if pool is not None:
            pool.shutdown(wait=True)
        self._release_file()

    def __del__(self) -> None:
        opened = getattr(self, "_file", None)
        if opened is not None:  # nothing can read any more: no reference is left
            try:
                os.close(opened)
            except OSError:
                pass

    def __enter__(self) -> "ReducePipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading
    def read(self, position: Sequence[int]) -> np.ndarray:
        """The frame at scan ``position`` (scan dims dropped)."""
        pos = self._check(position)
        if self._stages is not None:
            return self._read_chunk(pos)
        return self._read_run(pos, 1)[0]

    def read_reduce(self, positions: Sequence[Sequence[int]],
                    extra: Mapping[str, Callable[[np.ndarray], float]] | None = None,
                    builtin: bool = True) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Reduce the frames at ``positions``: values by name (same order), and the last frame.

        ``extra``: more reductions (map channels) computed on the same frames, each read once;
        ``builtin=False`` leaves out sum/mean/max/roi (a channel added later is computed alone).
        Every position must be inside the dataset as of the last `refresh`.
        """
        pos = self._positions(positions)
        n = len(pos)
        names = (REDUCTIONS if builtin else ()) + tuple(extra or ())
        out = np.full((len(names), n), np.nan)
        if n == 0:
            return dict(zip(names, out)), None
        reducer = _Combined(self._reducer if builtin else None, tuple((extra or {}).values()))
        pool = None
        if self.threads > 1 and n > 1 and self._frame_bytes >= _SMALL_FRAME:
            pool = self._executor()
        if pool is None:
            last = self._work(pos, 0, n, out, reducer)
        else:
            # blocks of about 4 MB of frames (at least 4 per thread), taken by whichever thread
            # is free, so a thread the OS preempts holds up little; each block writes its own
            # slice of out
            per_block = max(1, min(-(-n // (self.threads * 4)),
                                   _BLOCK_BYTES // max(1, self._frame_bytes)))
            blocks = -(-n // per_block)
            bounds = np.linspace(0, n, blocks + 1).astype(int)
            futures: list[Future] = []
            last = None
            try:
                for a, b in zip(bounds[:-1], bounds[1:]):
                    futures.append(pool.submit(self._work, pos, int(a), int(b), out, reducer))
            except RuntimeError:  # closed from another thread meanwhile: finish here
                for future in futures:
                    future.cancel()
                futures = []
                last = self._work(pos, 0, n, out, reducer)
            try:
                for future in futures:
                    last = future.result()
            finally:
                for future in futures:
                    future.cancel()
        return dict(zip(names, out)), last

    # ------------------------------------------------------------------ internals
    def _executor(self) -> ThreadPoolExecutor | None:
        with self._pool_lock:
            if self._closed:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="swmrview-reduce")
            return self._pool

    def _positions(self, positions: Sequence[Sequence[int]]) -> np.ndarray:
        n = len(positions)
        pos = np.asarray(positions, dtype=np.int64).reshape(n, self.scan_rank)
        if (pos < 0).any() or (pos >= np.asarray(self._shape[: self.scan_rank])).any():
            bad = pos[((pos < 0) | (pos >= np.asarray(self._shape[: self.scan_rank]))).any(1)][0]
            raise IndexError(f"scan position {tuple(int(v) for v in bad)} outside "
                             f"{getattr(self.dataset, 'name', 'the data')} of shape {self._shape} "
                             "(refresh after new points are ready)")
        return pos

    def _check(self, position: Sequence[int]) -> tuple[int, ...]:
        return tuple(int(v) for v in self._positions([tuple(position)])[0])

    def _work(self, pos: np.ndarray, start: int, stop: int, out: np.ndarray,
              reducer: "_Combined") -> np.ndarray | None:
        """Read and reduce ``pos[start:stop]`` into ``out[:, start:stop]``; the last frame if
        ``stop`` is the end of ``pos``."""
        keep_last = stop == len(pos)
        last = None
        if self._stages is not None:
            for i in range(start, stop):
                is_last = keep_last and i == stop - 1
                frame = self._read_chunk(tuple(pos[i]), scratch=not is_last)
                out[:, i] = reducer(frame, writable=not is_last)
                if is_last:
                    last = frame
            return last
        for run_start, run_len in _runs(pos, start, stop, self._max_run()):
            frames = self._read_run(tuple(pos[run_start]), run_len, scratch=True)
            for k in range(run_len):
                is_last = keep_last and run_start + k == stop - 1
                out[:, run_start + k] = reducer(frames[k], writable=not is_last)
            if keep_last and run_start + run_len == stop:
                last = frames[-1].copy()
        return last

    def _max_run(self) -> int:
        return max(1, _RUN_BYTES // max(1, self._frame_bytes))

    def _scratch(self, nbytes: int, name: str = "frame") -> np.ndarray:
        """This thread's reusable uint8 buffer ``name`` of ``nbytes``."""
        buf = getattr(self._local, name, None)
        if buf is None or buf.size != nbytes:
            buf = np.empty(nbytes, dtype=np.uint8)
            setattr(self._local, name, buf)
        return buf

    def _read_raw(self, offset: tuple[int, ...], out: np.ndarray | None = None
                  ) -> tuple[int, Any]:
        """``(filter_mask, raw bytes)`` of the chunk at ``offset`` (the only step under h5py's
        lock), into ``out`` or a reused buffer when it fits (compressed chunks are rarely
        larger than the frame)."""
        raw = out if out is not None else \
            self._scratch(self._frame_bytes + (self._frame_bytes >> 3) + 4096, "raw")
        if self._pread:
            read = self._pread_chunk(offset, raw)
            if read is not None:
                return read
        try:
            return self.dataset.id.read_direct_chunk(offset, out=raw)
        except ValueError:  # chunk larger than the buffer
            if out is not None:
                raise
            return self.dataset.id.read_direct_chunk(offset)

    def _pread_chunk(self, offset: tuple[int, ...], raw: np.ndarray) -> tuple[int, Any] | None:
        """The chunk's bytes read by address without h5py's lock, or None (not allocated,
        larger than ``raw``, or a short read: HDF5 then reads it)."""
        info = self._chunk_info(offset)
        if info.byte_offset is None or info.size is None or info.size > raw.size:
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
            if os.preadv(fd, [view], base + info.byte_offset) != info.size:
                return None
        except OSError:
            return None
        finally:
            self._release_file(used=True)
        return info.filter_mask, view

    def _chunk_info(self, offset: tuple[int, ...]) -> Any:
        """HDF5's record of the chunk at ``offset`` (address, size, filter mask): with
        reads by address, the only step under h5py's lock."""
        return self.dataset.id.get_chunk_info_by_coord(offset)

    def _check_base(self, fd: int, offset: tuple[int, ...], info: Any) -> int | None:
        """Compare one chunk read by address with HDF5's read of it, once: HDF5 versions
        differ on whether chunk addresses count the userblock. Returns the base to add, or
        None (and reads by address stop) if neither matches."""
        _, expected = self.dataset.id.read_direct_chunk(offset)
        expected = bytes(expected)
        userblock = int(self.dataset.file.userblock_size or 0)
        found = None
        for base in dict.fromkeys((0, userblock)):
            if os.pread(fd, info.size, base + info.byte_offset) == expected:
                found = base
                break
        with self._pool_lock:
            if found is None:
                self._pread = False
            else:
                self._base = found
        self._checked.set()
        return found

    def _read_chunk(self, pos: tuple[int, ...], scratch: bool = False) -> np.ndarray:
        """One frame by direct chunk read, decoded on this thread; h5py if that fails.

        ``scratch``: decode into this thread's reused buffer (valid until its next read)."""
        offset = tuple(int(v) for v in pos) + (0,) * len(self.frame_shape)
        stages = self._stages
        final = self._scratch(self._frame_bytes) if scratch else \
            np.empty(self._frame_bytes, dtype=np.uint8)
        try:
            if not stages:
                self._read_raw(offset, final)
                return final.view(self.dtype).reshape(self.frame_shape)
            filter_mask, raw = self._read_raw(offset)
        except Exception as error:  # noqa: BLE001 - unallocated chunk, I/O error: ask HDF5
            logger.debug("direct chunk read at %s failed (%s); reading through h5py", pos, error)
            return self._read_run(pos, 1)[0]
        buf = raw
        last_stage = next((i for i in range(len(stages)) if not filter_mask & (1 << i)), -1)
        for i in range(len(stages) - 1, -1, -1):
            if not filter_mask & (1 << i):
                buf = stages[i](buf, final if i == last_stage else None)
        data = np.frombuffer(buf, dtype=self.dtype)
        if data.size != self._frame_size:
            raise OSError(f"chunk at {offset} decoded to {data.size} values, "
                          f"expected {self._frame_size}")
        return data.reshape(self.frame_shape)

    def _read_run(self, pos: tuple[int, ...], length: int, scratch: bool = False) -> np.ndarray:
        """``length`` frames from ``pos`` along the last scan dim, through h5py (or numpy).

        ``scratch``: read into this thread's reused buffer (valid until its next read)."""
        if pos:
            sel = tuple(slice(p, p + 1) for p in pos[:-1]) + (slice(pos[-1], pos[-1] + length),)
            dest = (1,) * (len(pos) - 1) + (length,) + self.frame_shape
        else:
            sel, dest = (), self.frame_shape
        read_direct = getattr(self.dataset, "read_direct", None)
        if read_direct is not None and self.dataset.size:
            nbytes = length * self._frame_bytes
            frames = (self._scratch(nbytes) if scratch else np.empty(nbytes, dtype=np.uint8)
                      ).view(self.dtype).reshape(dest)
            read_direct(frames, sel if pos else None)
        else:
            frames = np.array(self.dataset[sel], dtype=self.dtype)
        return frames.reshape((length,) + self.frame_shape)


class _Combined:
    """The built-in reductions (or none) and the extra channels of one frame, in that order."""

    def __init__(self, builtin: FrameReducer | None,
                 extra: tuple[Callable[[np.ndarray], float], ...]) -> None:
        self.builtin, self.extra = builtin, extra

    def __call__(self, frame: np.ndarray, writable: bool = False) -> list[float]:
        # channels first: the built-in reducer may zero excluded pixels of a writable frame
        values = [f(frame) for f in self.extra]
        if self.builtin is None:
            return values
        return list(self.builtin(frame, writable=writable)) + values


def _runs(pos: np.ndarray, start: int, stop: int, max_run: int):
    """``(index, length)`` of runs of positions that follow each other along the last dim."""
    if pos.shape[1] == 0:
        for i in range(start, stop):
            yield i, 1
        return
    step = np.ones(stop - start, dtype=bool)
    if stop - start > 1:
        block = pos[start:stop]
        step[1:] = ((block[1:, -1] == block[:-1, -1] + 1)
                    & (block[1:, :-1] == block[:-1, :-1]).all(1))
    i = start
    breaks = np.flatnonzero(~step[1:]) + start + 1 if stop - start > 1 else np.empty(0, int)
    for end in list(breaks) + [stop]:
        while i < end:
            length = min(max_run, end - i)
            yield i, length
            i += length
