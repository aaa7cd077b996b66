"""Read one scan point's frame from a data dataset, refreshing its shape only when needed."""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from swmrview.core.follow.following import refresh_dataset
from swmrview.core.follow.positions import unravel

logger = logging.getLogger(__name__)

__all__ = ["FrameReader", "KeyDataMismatchError", "MissingFilterError", "check_filters"]

_FILTER_NAMES = {32001: "Blosc", 32004: "LZ4", 32008: "bitshuffle", 32015: "Zstandard",
                 307: "bzip2", 32017: "SZ", 32026: "Blosc2", 32013: "zfp", 32018: "FCIDECOMP"}


class KeyDataMismatchError(ValueError):
    """A point the keys say is ready lies outside the data dataset."""


class MissingFilterError(OSError):
    """The data is compressed with an HDF5 filter that is not installed."""


def missing_filters(dataset: Any) -> list[str]:
    """Names (or ids) of the compression filters of ``dataset`` that HDF5 cannot load here."""
    import h5py

    try:
        dcpl = dataset.id.get_create_plist()
    except AttributeError:  # numpy arrays have no filters
        return []
    missing = []
    for i in range(dcpl.get_nfilters()):
        filter_id, _, _, name = dcpl.get_filter(i)
        if not h5py.h5z.filter_avail(filter_id):
            label = _FILTER_NAMES.get(filter_id) or name.decode(errors="replace").strip() \
                or "an unknown filter"
            missing.append(f"{label} (filter id {filter_id})")
    return missing


def check_filters(dataset: Any, what: str = "") -> None:
    """Raise `MissingFilterError` naming ``dataset`` (``what`` it is, e.g. "the key") and each
    of its compression filters that cannot be loaded here; h5py would only fail on reading,
    with a message that names no filter."""
    missing = missing_filters(dataset)
    if missing:
        raise MissingFilterError(_filter_message(dataset, missing, what))


def _filter_message(dataset: Any, missing: Sequence[str], what: str = "") -> str:
    name = f"{what} {_name(dataset)}" if what else _name(dataset)
    return (f"{name} is compressed with {', '.join(missing)}, which is not installed "
            "here: install hdf5plugin, or put the filter's HDF5 plugin in HDF5_PLUGIN_PATH")


class FrameReader:
    """Frames of ``dataset`` by flat scan index (swmr_tools API, without its 1 s sleeps).

    Under SWMR a reader sees a newly written chunk only after refreshing the dataset, even
    when the shape already covers it. By default `read_frame` refreshes before reading each new
    index (points may arrive in any order); a caller that reads batches of newly ready points
    passes ``auto_refresh=False`` and calls `refresh` once per batch instead (as `DataSource`
    and the viewer do).

    Parameters
    ----------
    dataset
        h5py dataset or numpy array whose first ``scan_rank`` dimensions are the scan.
    scan_rank
        Number of scan dimensions (``KeyFollower.scan_rank``).
    """

    def __init__(self, dataset: Any, scan_rank: int, use_direct_chunk: bool = False, *,
                 auto_refresh: bool = True):
        if scan_rank > len(dataset.shape):
            raise KeyDataMismatchError(
                f"{_name(dataset)} has rank {len(dataset.shape)}, less than the scan rank {scan_rank}"
            )
        self.dataset = dataset
        self.scan_rank = scan_rank
        # accepted for swmr_tools compatibility; h5py's own path is within a few % of read_direct
        self.use_direct_chunk = False
        maxshape = getattr(dataset, "maxshape", None) or dataset.shape
        self._maxshape = tuple(maxshape)
        self._shape = tuple(dataset.shape)
        self.auto_refresh = auto_refresh
        self._last_index: int | None = None

    def refresh(self) -> None:
        """Refresh the dataset: every point whose keys were seen before this call is visible."""
        refresh_dataset(self.dataset)
        self._shape = tuple(self.dataset.shape)

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one frame (the dataset's trailing dimensions)."""
        return self._shape[self.scan_rank:]

    @property
    def dtype(self) -> np.dtype:
        """The frames' dtype."""
        return self.dataset.dtype

    def position(self, index: int) -> tuple[int, ...]:
        """Scan position of flat ``index``, refreshing the dataset once if it lies beyond it."""
        pos = unravel(index, self._unravel_shape())
        if not self._inside(pos):
            self.refresh()
            pos = unravel(index, self._unravel_shape())
            if not self._inside(pos):
                raise KeyDataMismatchError(
                    f"point {index} (position {pos}) is ready in the keys but outside "
                    f"{_name(self.dataset)} of shape {self._shape}"
                )
        return pos

    def read_frame(self, index: int, force_refresh: bool = False) -> tuple[np.ndarray, tuple]:
        """Frame at flat ``index`` with its length-1 scan dimensions, and its scan slices."""
        if force_refresh or (self.auto_refresh and index != self._last_index):
            self.refresh()
        self._last_index = index
        selection = tuple(slice(p, p + 1) for p in self.position(index))
        try:
            return np.asarray(self.dataset[selection]), selection
        except OSError as error:
            missing = missing_filters(self.dataset)
            if missing:
                raise MissingFilterError(_filter_message(self.dataset, missing)) from error
            raise

    def read(self, index: int) -> np.ndarray:
        """The frame at flat ``index`` alone (scan dimensions dropped)."""
        frame, _ = self.read_frame(index)
        return frame.reshape(frame.shape[self.scan_rank:])

    def check_scan_shape(self, scan_shape: Sequence[int | None]) -> None:
        """Raise `KeyDataMismatchError` unless the data's fast scan axes match ``scan_shape``.

        Frames are placed by the keys' scan shape: data of another fast size would put every
        frame after the first row at the wrong scan position.
        """
        data_fast = self._unravel_shape()[1:]
        fast = tuple(scan_shape[1:])
        if len(self._unravel_shape()) != len(scan_shape) or (
                None not in fast and None not in data_fast and data_fast != fast):
            raise KeyDataMismatchError(
                f"{_name(self.dataset)} has scan dimensions {self._unravel_shape()}, "
                f"but the keys describe a scan of shape {tuple(scan_shape)}")

    def _unravel_shape(self) -> tuple[int | None, ...]:
        dims = [m if m is not None else s for m, s in zip(self._maxshape, self._shape)]
        dims = dims[: self.scan_rank]
        if self._maxshape[0] is None:
            dims[0] = None
        return tuple(dims)

    def _inside(self, pos: tuple[int, ...]) -> bool:
        return all(p < n for p, n in zip(pos, self._shape))


def _name(dataset: Any) -> str:
    return getattr(dataset, "name", None) or f"array of shape {dataset.shape}"
