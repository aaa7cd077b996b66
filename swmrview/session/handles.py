"""The open file of one scan, handing out one h5py Dataset per dataset.

Everything that reads a followed file (the key or growth follower, the pipeline of the shown
detector, the channels' datasets and monitors, motor axes, scatter positions, regions) asks the
scan's :class:`ScanFile` for its datasets, never ``h5py.File[path]`` on its own. Two handles of
one dataset, refreshed separately under SWMR, make HDF5 fail with "can't insert duplicate key"
(a channel naming the detector on show, ``--data`` naming a key) or leave one handle's chunk
index stale. Runs in the follower thread; no Qt.
"""

from __future__ import annotations

from typing import Any

import h5py

__all__ = ["ScanFile"]


class ScanFile:
    """An open h5py File whose datasets are opened once and shared.

    ``scan_file[path]`` returns the shared Dataset (the same object for every path that leads
    to it: a soft link, an external link, its own name) or, for a group, the group itself.
    Discovery code that walks the tree may use :attr:`h5` directly: it keeps no handle open.
    """

    def __init__(self, h5: h5py.File) -> None:
        self.h5 = h5
        self._by_path: dict[str, h5py.Dataset] = {}
        self._by_object: dict[tuple[str, str], h5py.Dataset] = {}

    # the few File attributes readers use
    @property
    def filename(self) -> str:
        return self.h5.filename

    @property
    def swmr_mode(self) -> bool:
        return bool(getattr(self.h5, "swmr_mode", False))

    @property
    def attrs(self) -> Any:
        return self.h5.attrs

    def __getitem__(self, path: str) -> Any:
        key = "/" + path.strip("/")
        shared = self._by_path.get(key)
        if shared is not None:
            return shared
        obj = self.h5[key]
        if not isinstance(obj, h5py.Dataset):
            return obj
        identity = (obj.file.filename, obj.name)
        shared = self._by_object.setdefault(identity, obj)
        self._by_path[key] = shared
        return shared

    def get(self, path: str, default: Any = None) -> Any:
        try:
            return self[path]
        except (KeyError, OSError, RuntimeError, ValueError):
            return default

    def __contains__(self, path: str) -> bool:
        return self.get(path) is not None

    def refresh(self) -> None:
        """Refresh every shared dataset (once per step; a no-op outside SWMR)."""
        if not self.swmr_mode:
            return
        for ds in self._by_object.values():
            try:
                ds.refresh()
            except (OSError, RuntimeError, ValueError):
                pass  # a dataset behind a link that went away: its reader says so

    def close(self) -> None:
        self._by_path.clear()
        self._by_object.clear()
        self.h5.close()
