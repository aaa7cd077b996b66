"""DataSource: the frames of several datasets at each ready point (swmr_tools API)."""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from . import output
from .frames import FrameReader
from .keys import KeyFollower

logger = logging.getLogger(__name__)

__all__ = ["DataSource", "SliceDict"]


class SliceDict(dict):
    """Frames by dataset name, with the point's ``index``, ``slice_metadata`` and scan ``maxshape``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.slice_metadata = None
        self.maxshape = None
        self.index = None


class DataSource:
    """Iterator of `SliceDict` for each ready point of the scan.

    Parameters
    ----------
    key_datasets
        Key datasets followed by a `KeyFollower`.
    datasets
        Mapping of names to datasets to read a frame from at each point.
    timeout, finished_dataset
        As for `KeyFollower`; further keyword options (``poll_interval``, ``out_of_order``,
        ``skip_after``, ``stop_event``) go to it too.
    """

    def __init__(self, key_datasets: Sequence[Any], datasets: Mapping[str, Any], timeout=10,
                 finished_dataset=None, **follower_options: Any):
        if not datasets:
            raise RuntimeError("No data specified to follow!")
        follower_options.pop("use_direct_chunk", None)
        if follower_options.pop("interleaved_datasets", None) is not None:
            raise NotImplementedError("interleaved_datasets is not supported by swmrview")
        self.kf = KeyFollower(key_datasets, timeout, finished_dataset, **follower_options)
        self.kf.check_datasets()
        self._datasets = dict(datasets)
        self.frame_readers = {name: FrameReader(ds, self.kf.scan_rank, auto_refresh=False)
                              for name, ds in self._datasets.items()}
        for reader in self.frame_readers.values():
            reader.check_scan_shape(self.kf.scan_shape)
        self.max_index = -1  # swmr_tools attribute: the highest index read so far
        self._generation = 0

    def __iter__(self) -> DataSource:
        return self

    def __next__(self) -> SliceDict:
        return self._read(next(self.kf))

    def poll(self) -> list[SliceDict]:
        """Poll once without blocking: the frames of every newly ready point."""
        return [self._read(i) for i in self.kf.poll().tolist()]

    def _read(self, index: int) -> SliceDict:
        if self._generation != self.kf.generation:  # new points: their chunks need a refresh
            self._generation = self.kf.generation
            for reader in self.frame_readers.values():
                reader.refresh()
        out = SliceDict()
        for name, reader in self.frame_readers.items():
            out[name], out.slice_metadata = reader.read_frame(index)
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
