"""The key follower's idle poll: one value of an h5py key dataset, read cheaply.

Once the point's chunk is stored (`swmrview.core.follow.chunks.chunk_info`), uncompressed and
of an integer type, the value's bytes are read straight from the file with no refresh; see
`KeyProbe`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np

from swmrview.core.follow.chunks import chunk_info, filter_ids
from swmrview.core.follow.positions import unravel

__all__ = ["KeyProbe"]


class KeyProbe:
    """Reads one value of an h5py key dataset cheaply: the idle poll.

    Once the point's chunk is stored, uncompressed and of an integer type, the value's bytes
    are read straight from the file (``os.pread`` on HDF5's own file descriptor) with no
    refresh: an uncompressed chunk never moves once HDF5 has stored it, so these are the
    bytes ``H5Dread`` would return after ``H5Drefresh``, which costs most of a poll. Otherwise
    (chunk not stored yet, point outside the dataset, filters, floats, a driver without a file
    descriptor) the dataset is refreshed and the value read through cached HDF5 objects.
    """

    __slots__ = (
        "_clear",
        "_direct_ok",
        "_fd",
        "_file_id",
        "_offset",
        "_zero",
        "buf",
        "chunks",
        "coords",
        "dataset",
        "extent",
        "fspace",
        "id",
        "index",
        "mspace",
        "mtype",
        "refresh",
    )

    @classmethod
    def of(cls, dataset: Any) -> KeyProbe | None:
        try:
            import h5py
        except ImportError:  # pragma: no cover - h5py is a dependency
            return None
        if not isinstance(dataset, h5py.Dataset) or dataset.chunks is None:
            return None
        if dataset.dtype.kind not in "iubf" or dataset.shape is None:
            return None
        return cls(dataset)

    def __init__(self, dataset: Any):
        from h5py import h5s, h5t

        self.dataset = dataset
        self.id = dataset.id
        self.refresh = dataset.id.refresh
        props = getattr(dataset, "_cache_props", None)
        self._clear = props.clear if isinstance(props, dict) else dataset.refresh
        self.buf = np.zeros(1, dataset.dtype)
        self.mtype = h5t.py_create(self.buf.dtype)
        self.mspace = h5s.create_simple((1,))
        self.fspace = None
        self.index = -1
        self.coords: tuple[int, ...] = ()
        self.extent: tuple[int, ...] = ()
        self.chunks = tuple(dataset.chunks)
        self._offset: int | None = None
        self._zero = bytes(dataset.dtype.itemsize)
        self._fd = None
        self._file_id = None
        self._direct_ok = False
        try:
            if dataset.dtype.kind in "iu" and filter_ids(dataset) == []:
                self._file_id = dataset.file.id
                self._fd = int(self._file_id.get_vfd_handle())
                self._direct_ok = hasattr(os, "pread") and self._fd >= 0
        except Exception:  # noqa: BLE001 - another driver, no descriptor: refresh and read
            self._direct_ok = False

    def is_set(self, index: int, scan_shape: Sequence[int | None], rank: int,
               refresh: bool = True) -> bool:
        """Whether the key of flat ``index`` is non-zero (False while outside the dataset)."""
        if index == self.index and self._offset is not None and self._file_id.valid:
            value = os.pread(self._fd, len(self._zero), self._offset)
            if len(value) == len(self._zero):
                return value != self._zero
        if refresh:
            self.refresh()
            self._clear()
        if index != self.index:
            self.index = index
            self._offset = None
            self.coords = unravel(index, scan_shape) + (0,) * (self.id.rank - rank)
            self.fspace = None
        if self.fspace is None or refresh:
            if self.fspace is None or not _inside(self.coords, self.extent):
                space = self.id.get_space()
                self.extent = space.shape
                if len(self.coords) != len(self.extent) or not _inside(self.coords, self.extent):
                    self.fspace = None
                    return False
                space.select_hyperslab(self.coords, (1,) * len(self.coords))
                self.fspace = space
        self.id.read(self.mspace, self.fspace, self.buf, self.mtype)
        if self._direct_ok and self._offset is None:
            self._locate()
        return bool(self.buf[0] != 0)

    def _locate(self) -> None:
        """The file offset of the value at ``coords`` if its chunk is stored."""
        start = tuple(c // n * n for c, n in zip(self.coords, self.chunks))
        info = chunk_info(self.dataset, start)
        if info is None or info.size != len(self._zero) * prod(self.chunks):
            return  # not stored yet, or not a whole uncompressed chunk
        local = 0
        for c, s, n in zip(self.coords, start, self.chunks):
            local = local * n + (c - s)
        # HDF5's address as the file offset: the probe reads HDF5's own descriptor (HDF5
        # 2.0's addresses count the userblock; ChunkReader checks this, the probe does not)
        self._offset = info.address + local * len(self._zero)


def _inside(coords: Sequence[int], extent: Sequence[int]) -> bool:
    return all(c < n for c, n in zip(coords, extent))
