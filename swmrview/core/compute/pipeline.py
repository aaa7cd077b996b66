"""Read, decompress and reduce scan frames on every core, results in scan order.

HDF5 decompresses inside h5py's global lock, so a map computed through ``dataset[...]`` runs on
one core however many there are. `ReducePipeline` instead takes each frame's raw chunk and
decompresses and reduces it in a pool of worker threads. The raw chunk is read by
`swmrview.core.follow.chunks` (the one owner of raw chunks): on a plain local file by address
with ``os.preadv``, which holds neither h5py's lock nor the GIL, else through HDF5; it is
decoded by `swmrview.core.follow.decoders`, whose decoders release the GIL.

Direct chunk reads need one frame per chunk and only the filters the decoders know; anything
else (several frames per chunk, fletcher32, scaleoffset, szip, virtual datasets, numpy arrays,
a field of a compound dataset (:class:`swmrview.core.files.fields.FieldDataset`)) is read
through h5py, in runs of consecutive frames, and still reduced in the pool. Frames under
64 KiB are read and reduced on the calling thread (the pool costs more than it saves).

Under SWMR a reader sees newly written chunks only after a refresh: call `refresh` once per
batch of newly ready points before `read_reduce` (as `FrameReader` with ``auto_refresh=False``).

Processing steps (:class:`~swmrview.core.compute.steps.FrameStep`: azimuthal integration, an XRF
fit) run in the same worker threads on the same frames (`read_process`), once per frame however
many channels use them, before the built-in reductions (which may zero masked pixels of a
frame in place). Their results come back per point, ``(n, len(step.labels))``, beside the map
values, and a channel whose reducer has a ``step`` attribute (a
:class:`~swmrview.core.compute.step_channels.StepChannelReducer`) reduces that step's result
rows instead of the frame. Blocks of consecutive frames read through h5py reach a step as one
``(k, *frame)`` call; frames read as chunks are gathered per unit of work into one call too.
Steps run on the pool's threads even for one frame (pyFAI's integrate2d crashed with a
segfault when called on the viewer's follower QThread, and never on these threads).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from swmrview.core.compute.combined import Combined as _Combined
from swmrview.core.compute.reduce import REDUCTIONS, FrameReducer, Roi
from swmrview.core.follow.chunks import ChunkReader
from swmrview.core.follow.decoders import Decoder, decode, decoder_for

logger = logging.getLogger(__name__)

__all__ = ["ReducePipeline", "Processed"]


class Processed(NamedTuple):
    """What `ReducePipeline.read_process` gives: values by name ((n,) each), step results by
    step key ((n, len(labels)) float64 each), and the last frame (None if none was read)."""

    values: dict[str, np.ndarray]
    results: dict[str, np.ndarray]
    last: np.ndarray | None

_SMALL_FRAME = 1 << 16   # bytes: smaller frames are read and reduced on the calling thread
DEFAULT_MAX_THREADS = 8
_BLOCK_BYTES = 4 << 20   # frames per pool task: about this much decoded data
_RUN_BYTES = 1 << 20     # at most this much read in one h5py call on the fallback path (cache-sized)


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
    reductions
        The built-in values `read_reduce` computes (default all of sum, mean, max, roi):
        sum and mean are one accumulation, max a pass of its own (see `set_reductions`).
    nice
        Raise the worker threads' nice value by this much (Linux; 0 leaves them be): a viewer
        on the writer's machine passes 10, so on busy cores the writer gets the CPU first and
        the viewer catches up when it is idle.
    """

    def __init__(self, dataset: Any, scan_rank: int, *, threads: int | None = None,
                 roi: Roi | None = None, mask: np.ndarray | None = None,
                 overflow: float | None = None, direct: bool = True,
                 reductions: Sequence[str] = REDUCTIONS, nice: int = 0) -> None:
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
        self.reductions = _builtins(reductions)
        self._reducer = self._make_reducer()
        self._stages = self._direct_stages() if direct else None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._closed = False
        self._nice = max(0, int(nice))
        # raw chunks are read with os.preadv at the address HDF5 gives (a 4 us lookup under
        # h5py's lock) instead of H5Dread_chunk (the whole copy under the lock and the GIL)
        self.chunks = ChunkReader(dataset, by_address=self._stages is not None)
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
        return decoder_for(ds)

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

    def _make_reducer(self, reductions: Sequence[str] | None = None) -> FrameReducer:
        wanted = self.reductions if reductions is None else reductions
        return FrameReducer(self.frame_shape, self._roi, self._mask, self._overflow,
                            max="max" in wanted)

    def set_roi(self, roi: Roi | None) -> None:
        """Change the region summed for the ``roi`` value."""
        self._roi = roi
        self._reducer = self._make_reducer()

    def set_mask(self, mask: np.ndarray | None, overflow: float | None = None) -> None:
        """Change the excluded pixels: ``mask`` (True = excluded) and values ``>= overflow``."""
        self._mask, self._overflow = mask, overflow
        self._reducer = self._make_reducer()

    def set_reductions(self, names: Sequence[str]) -> None:
        """Compute only these built-in values from now on (names of `REDUCTIONS`, in any
        order); the values `read_reduce` returns keep the order of `REDUCTIONS`."""
        reductions = _builtins(names)
        if reductions != self.reductions:
            self.reductions = reductions
            self._reducer = self._make_reducer()

    def close(self) -> None:
        """Stop the worker threads (the dataset stays open: it belongs to the caller).

        A call still running finishes; later calls read on the calling thread."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
            self._closed = True
        self.chunks.close()
        if pool is not None:
            pool.shutdown(wait=True)

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

    def read_reduce(self, positions: np.ndarray | Sequence[Sequence[int]],
                    extra: Mapping[str, Callable[[np.ndarray], float]] | None = None,
                    builtin: bool | Sequence[str] = True
                    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Reduce the frames at ``positions`` ((n, rank) ints, an array as the followers give
        them): values by name (same order), and the last frame.

        ``extra``: more reductions (map channels) computed on the same frames, each read once.
        ``builtin``: True computes the built-in values of `reductions`; False none of them (a
        channel added later is computed alone); names compute those (a map switched on later,
        over the points already read). Every position must be inside the dataset as of the
        last `refresh`.
        """
        values, _, last = self.read_process(positions, extra, builtin)
        return values, last

    def read_process(self, positions: np.ndarray | Sequence[Sequence[int]],
                     extra: Mapping[str, Callable[[np.ndarray], Any]] | None = None,
                     builtin: bool | Sequence[str] = True,
                     steps: Mapping[str, Any] | None = None) -> Processed:
        """As `read_reduce`, and run the processing ``steps`` (key -> FrameStep) on the same
        frames in the worker threads: their results per point come back by key.

        An ``extra`` reducer with a ``step`` attribute naming one of ``steps`` reduces blocks
        of that step's result rows ``(k, m) -> (k,)`` instead of the frame.
        """
        pos = self._positions(positions)
        n = len(pos)
        if builtin is True:
            chosen, reducer = self.reductions, self._reducer
        elif not builtin:
            chosen, reducer = (), None
        else:
            chosen = _builtins(builtin)
            reducer = self._reducer if chosen == self.reductions else self._make_reducer(chosen)
        extra = dict(extra or {})
        steps = dict(steps or {})
        on_steps = {k: f for k, f in extra.items() if getattr(f, "step", None) is not None}
        missing = sorted({f.step for f in on_steps.values()} - set(steps))
        if missing:
            raise ValueError(f"channels reduce the results of steps not run: {missing}")
        on_frames = {k: f for k, f in extra.items() if k not in on_steps}
        names = chosen + tuple(on_frames) + tuple(on_steps)
        rows = [REDUCTIONS.index(name) for name in chosen]
        out = np.full((len(names), n), np.nan)
        results = {key: np.full((n, len(step.labels)), np.nan) for key, step in steps.items()}
        if n == 0:
            return Processed(dict(zip(names, out)), results, None)
        reducer = _Combined(reducer, rows, tuple(on_frames.values()), steps, results,
                            tuple(on_steps.values()), len(chosen) + len(on_frames))
        pool = None
        # steps always run on the pool's threads, never on the caller's: pyFAI's engines
        # crashed (segfault) on the GUI's follower QThread, not on pool threads
        if steps or (self.threads > 1 and n > 1 and self._frame_bytes >= _SMALL_FRAME):
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
        return Processed(dict(zip(names, out)), results, last)

    # ------------------------------------------------------------------ internals
    def _executor(self) -> ThreadPoolExecutor | None:
        with self._pool_lock:
            if self._closed:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="swmrview-reduce",
                                                initializer=_lower_priority,
                                                initargs=(self._nice,))
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
            # the steps get this work's frames as one block (a fit costs ~80 us a call for
            # one spectrum, ~27 us a spectrum in blocks), copied before the reductions may
            # zero excluded pixels of the scratch frame
            stack = None
            for i in range(start, stop):
                is_last = keep_last and i == stop - 1
                frame = self._read_chunk(tuple(pos[i]), scratch=not is_last)
                if reducer.steps:
                    if stack is None:
                        stack = np.empty((stop - start,) + frame.shape, frame.dtype)
                    stack[i - start] = frame
                out[:, i] = reducer(frame, writable=not is_last)
                if is_last:
                    last = frame
            if stack is not None:
                reducer.steps_on(stack, start)
            reducer.step_channels(out, start, stop)
            return last
        for run_start, run_len in _runs(pos, start, stop, self._max_run()):
            frames = self._read_run(tuple(pos[run_start]), run_len, scratch=True)
            reducer.steps_on(frames, run_start)
            for k in range(run_len):
                is_last = keep_last and run_start + k == stop - 1
                out[:, run_start + k] = reducer(frames[k], writable=not is_last)
            reducer.step_channels(out, run_start, run_start + run_len)
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
        return self.chunks.read_raw(offset, raw, exact=out is not None)

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
        data = np.frombuffer(decode(stages, filter_mask, raw, final), dtype=self.dtype)
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


def _lower_priority(nice: int) -> None:
    """Raise this thread's nice value by ``nice`` (Linux threads have their own)."""
    if nice and hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
        except OSError as error:   # not allowed, or not Linux: run at the normal priority
            logger.debug("worker thread priority unchanged: %s", error)


def _builtins(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as built-in reductions in the order of `REDUCTIONS` (ValueError if unknown)."""
    unknown = [n for n in names if n not in REDUCTIONS]
    if unknown:
        raise ValueError(f"unknown reductions {unknown}; choose from {REDUCTIONS}")
    return tuple(n for n in REDUCTIONS if n in names)


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
