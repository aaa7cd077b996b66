"""ChunkSource: follow datasets with no keys, one whole chunk at a time (swmr_tools API).

A chunk (along the first axis) is ready when the dataset has grown past its first point and
HDF5 has stored it (its chunk has a file address), in every dataset: as swmr_tools 0.9.0
decides. Each iteration yields a `SliceDict` holding the chunk of every dataset (points along
the first axis; the last chunk of a scan of known length cut to that length), with ``index``
(the chunk's first point), ``slice_metadata`` and ``maxshape``.

Differences from swmr_tools: ``slice_metadata`` is the chunk's real span (swmr_tools computes
``slice(start, index + chunk)``, an operator-precedence slip); polls every ``poll_interval``
seconds instead of ``timeout/20``; ends as soon as the last chunk of a scan of known length
is read instead of waiting out the timeout; datasets with no finite length work; chunks are
read directly (``read_direct_chunk``) when uncompressed or Blosc-compressed with the
``blosc`` module present, and through h5py (any filter ``hdf5plugin`` loads) otherwise.

Whether a chunk is stored and its raw bytes come from `swmrview.core.follow.chunks`; Blosc
chunks are decoded by the ``blosc`` module, as swmr_tools does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from swmrview.core.compat.datasource import SliceDict
from swmrview.core.follow.chunks import filter_ids, read_raw, stored
from swmrview.core.follow.decoders import BLOSC_FILTER
from swmrview.core.follow.following import read_finished_flag, refresh_dataset

logger = logging.getLogger(__name__)

__all__ = ["ChunkSource"]


class ChunkSource:
    """Iterator of the chunks of ``datasets`` (a name -> h5py dataset mapping) as they are stored.

    Parameters
    ----------
    datasets
        Datasets chunked along the first axis only (each chunk holds whole frames).
    timeout
        Seconds to wait for the next chunk before iteration stops.
    finished_dataset
        Optional scalar or (1,) dataset, non-zero when the scan is complete.
    poll_interval, stop_event
        Seconds between polls while waiting; an event that ends iteration at once.
    """

    def __init__(self, datasets: Mapping[str, Any], timeout: float = 10, finished_dataset=None,
                 *, poll_interval: float = 0.02, stop_event: threading.Event | None = None):
        self._check_datasets(datasets.values())
        self._datasets = dict(datasets)
        self.finished_dataset = finished_dataset
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.finished_set = False
        self.timed_out = False
        finite = [ds.maxshape[0] for ds in self._datasets.values() if ds.maxshape[0] is not None]
        self.max_size = min(finite) if finite else None
        self.chunk_size = next(iter(self._datasets.values())).chunks[0]
        self.current_index = 0
        self._direct = {name: _direct_read_ok(ds) for name, ds in self._datasets.items()}

    @staticmethod
    def _check_datasets(datasets) -> None:
        for ds in datasets:
            shape, chunks = ds.shape, ds.chunks
            if chunks is None:
                raise RuntimeError(f"{getattr(ds, 'name', 'dataset')} is not chunked")
            for axis in range(1, len(shape)):
                if shape[axis] != chunks[axis]:
                    raise RuntimeError(f"Chunk {chunks} and shape {shape} not compatible")

    def __iter__(self) -> ChunkSource:
        return self

    def __next__(self) -> SliceDict:
        if self.stop_event.is_set() or self._past_end():
            raise StopIteration
        if self._chunk_ready():
            return self._generate_output()
        deadline = time.monotonic() + self.timeout
        while not self.stop_event.wait(self.poll_interval):
            finished = self._check_finished_dataset()
            for ds in self._datasets.values():
                refresh_dataset(ds)
            if self._chunk_ready():
                return self._generate_output()
            if finished:
                raise StopIteration
            if time.monotonic() > deadline:
                self.timed_out = True
                raise StopIteration
        raise StopIteration

    def _past_end(self) -> bool:
        return self.max_size is not None and self.current_index * self.chunk_size >= self.max_size

    def _chunk_ready(self) -> bool:
        start = self.current_index * self.chunk_size
        for ds in self._datasets.values():
            if ds.shape[0] <= start:  # stored, but the dataset's extent does not show it yet
                return False
            if not stored(ds, (start,) + (0,) * (len(ds.shape) - 1)):
                return False
        return True

    def _generate_output(self) -> SliceDict:
        start = self.current_index * self.chunk_size
        stop = start + self.chunk_size
        if self.max_size is not None:
            stop = min(stop, self.max_size)
        output = SliceDict()
        output.index = start
        output.slice_metadata = [slice(start, stop)]
        output.maxshape = [self.max_size]
        for name, ds in self._datasets.items():
            output[name] = self._read(name, ds, start, stop)
        self.current_index += 1
        return output

    def _read(self, name: str, ds: Any, start: int, stop: int) -> np.ndarray:
        if self._direct[name]:
            _, blob = read_raw(ds, (start,) + (0,) * (len(ds.shape) - 1))
            if self._direct[name] == "blosc":  # the blosc module, as swmr_tools decodes them
                import blosc

                blob = blosc.decompress(blob)
            chunk = np.frombuffer(blob, dtype=ds.dtype).reshape((-1,) + tuple(ds.chunks[1:]))
            return chunk[: stop - start]
        return np.asarray(ds[start:stop])

    def _check_finished_dataset(self) -> bool:
        dataset = self.finished_dataset
        if dataset is None:
            return False
        try:
            self.finished_set = read_finished_flag(dataset)   # the one flag rule
        except ValueError:   # several values: swmr_tools warns and never ends on it
            logger.warning("finished dataset (%s) is non-singular", dataset)
            return False
        return self.finished_set

    def stop(self) -> None:
        """End iteration at once (from any thread)."""
        self.stop_event.set()


def _direct_read_ok(ds: Any) -> str | None:
    """"plain" or "blosc" when a chunk can be read directly and decoded here, else None."""
    ids = filter_ids(ds)
    if ids is None:
        return None
    if not ids:
        return "plain"
    if ids == [BLOSC_FILTER]:
        try:
            import blosc  # noqa: F401
        except ImportError:
            return None
        return "blosc"
    return None
