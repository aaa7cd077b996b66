"""DataSource: the frames of several datasets at each ready point (swmr_tools API)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from swmrview.core.compat import frames, output
from swmrview.core.follow.chunks import filter_ids, read_raw
from swmrview.core.follow.decoders import BLOSC_FILTER
from swmrview.core.follow.keys import KeyFollower

logger = logging.getLogger(__name__)

__all__ = ["DataSource", "FrameReader", "SliceDict"]


class SliceDict(dict):
    """Frames by dataset name, with the point's ``index``, ``slice_metadata`` and scan ``maxshape``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.slice_metadata = None
        self.maxshape = None
        self.index = None


class FrameReader(frames.FrameReader):
    """`swmrview.core.compat.frames.FrameReader` (swmr_tools API), with swmr_tools' direct chunk read.

    With ``use_direct_chunk=True``, a dataset compressed with Blosc alone and chunked one frame
    per chunk is read with ``read_direct_chunk`` (`swmrview.core.follow.chunks.read_raw`) and
    decompressed by the ``blosc`` module (when installed), as swmr_tools does; any other
    dataset is read through h5py.
    """

    def __init__(self, dataset: Any, scan_rank: int, use_direct_chunk: bool = False, *,
                 auto_refresh: bool = True):
        super().__init__(dataset, scan_rank, auto_refresh=auto_refresh)
        self.chunk = _frame_chunk(dataset, scan_rank) if use_direct_chunk else None
        self.use_direct_chunk = self.chunk is not None

    def read_frame(self, index: int, force_refresh: bool = False) -> tuple[np.ndarray, tuple]:
        """Frame at flat ``index`` with its length-1 scan dimensions, and its scan slices."""
        if not self.use_direct_chunk:
            return super().read_frame(index, force_refresh)
        if force_refresh or (self.auto_refresh and index != self._last_index):
            self.refresh()
        self._last_index = index
        pos = self.position(index)
        # the ``blosc`` module, not decoders.decoder_for's decoder (libh5blosc through ctypes):
        # swmr_tools decodes so, and only when that module is installed (same bytes either way)
        import blosc

        offset = tuple(pos) + (0,) * (len(self.chunk) - len(pos))
        _, blob = read_raw(self.dataset, offset)
        frame = np.frombuffer(blosc.decompress(blob), dtype=self.dataset.dtype)
        return frame.reshape(self.chunk), tuple(slice(p, p + 1) for p in pos)


def _frame_chunk(dataset: Any, scan_rank: int) -> tuple[int, ...] | None:
    """The chunk shape if ``dataset`` is Blosc-only, one frame per chunk, and blosc imports."""
    if filter_ids(dataset) != [BLOSC_FILTER]:
        return None
    try:
        chunk = tuple(dataset.chunks)
        import blosc  # noqa: F401
    except (ImportError, TypeError):
        return None
    frame = tuple(dataset.shape[scan_rank:])
    if chunk[scan_rank:] != frame or any(c != 1 for c in chunk[:scan_rank]):
        return None
    return chunk


class DataSource:
    """Iterator of `SliceDict` for each ready point of the scan.

    Parameters
    ----------
    key_datasets
        Key datasets followed by a `KeyFollower`.
    datasets
        Mapping of names to datasets to read a frame from at each point (or None with
        ``interleaved_datasets``).
    timeout, finished_dataset
        As for `KeyFollower`; further keyword options (``scan_shape``, ``poll_interval``,
        ``out_of_order``, ``skip_after``, ``stop_event``...) go to it too.
    use_direct_chunk
        Read Blosc-compressed one-frame chunks directly (see `FrameReader`).
    interleaved_datasets
        Mapping of names to lists of datasets written in turn by several writers: point i
        is frame i // n of dataset i % n (the keys cover all points, e.g. a VDS of keys).
    """

    def __init__(self, key_datasets: Sequence[Any], datasets: Mapping[str, Any] | None,
                 timeout=10, finished_dataset=None, use_direct_chunk: bool = False,
                 interleaved_datasets: Mapping[str, Sequence[Any]] | None = None,
                 **follower_options: Any):
        if not datasets and not interleaved_datasets:
            raise RuntimeError("No data specified to follow!")
        self.kf = KeyFollower(key_datasets, timeout, finished_dataset, **follower_options)
        self.kf.check_datasets()
        self._datasets = dict(datasets or {})
        self._interleaved_datasets = {name: list(group)
                                      for name, group in (interleaved_datasets or {}).items()}
        rank = self.kf.scan_rank
        self.frame_readers = {name: FrameReader(ds, rank, use_direct_chunk, auto_refresh=False)
                              for name, ds in self._datasets.items()}
        self.interleaved_frame_readers = {
            name: [FrameReader(ds, rank, use_direct_chunk, auto_refresh=False) for ds in group]
            for name, group in self._interleaved_datasets.items()}
        for reader in self.frame_readers.values():  # fast axes still growing are not compared
            reader.check_scan_shape(self.kf.settled_shape())
        self.max_index = -1  # swmr_tools attribute: the highest index read so far
        self._generation = 0

    def __iter__(self) -> DataSource:
        return self

    def __next__(self) -> SliceDict:
        return self._read(next(self.kf))

    def poll(self) -> list[SliceDict]:
        """Poll once without blocking: the frames of every newly ready point."""
        return [self._read(i) for i in self.kf.poll().tolist()]

    def _readers(self):
        yield from self.frame_readers.values()
        for group in self.interleaved_frame_readers.values():
            yield from group

    def _read(self, index: int) -> SliceDict:
        if self._generation != self.kf.generation:  # new points: their chunks need a refresh
            self._generation = self.kf.generation
            for reader in self._readers():
                reader.refresh()
        out = SliceDict()
        for name, reader in self.frame_readers.items():
            out[name], out.slice_metadata = reader.read_frame(index)
        for name, group in self.interleaved_frame_readers.items():
            frame, metadata = group[index % len(group)].read_frame(index // len(group))
            out[name] = frame
            if out.slice_metadata is None:
                out.slice_metadata = (slice(index, index + 1),) + tuple(metadata[1:])
        out.index = index
        out.maxshape = self.kf.maxshape
        self.max_index = max(self.max_index, index)
        return out

    def stop(self) -> None:
        """End a blocking iteration at once (from any thread)."""
        self.kf.stop()

    def reset(self) -> None:
        """Start again from the first point."""
        self.kf.reset()
        self.max_index = -1

    def create_dataset(self, data, fh, path, **kwargs):
        """Output dataset shaped scan maxshape + ``data.shape``, holding ``data`` as point 0."""
        return output.create_dataset(data, self.kf.maxshape, fh, path, **kwargs)

    def append_data(self, data, slice_metadata, dataset) -> None:
        """Write ``data`` at ``slice_metadata`` in an output dataset, growing it as needed."""
        output.append_data(data, slice_metadata, dataset)

    def is_scan_finished(self) -> bool:
        """True once the finished flag was seen."""
        return self.kf.finished_set

    def has_timed_out(self) -> bool:
        """True if following stopped on the timeout."""
        return self.kf.timed_out
