"""Opening followed files read-only, and reading a writer's state from the superblock."""

from __future__ import annotations

import logging
import os
import threading
import time

import h5py
import hdf5plugin  # noqa: F401  (registers bitshuffle, LZ4, Blosc... so compressed frames read)

logger = logging.getLogger(__name__)

#: File name endings of HDF5 scan files (NeXus included), for finding scans in a folder.
HDF5_SUFFIXES = (".nxs", ".h5", ".hdf5", ".hdf", ".nx5")

__all__ = ["open_swmr", "writer_active", "NotHDF5Error", "FileLockedError", "EmptyFileError"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SWMR_WRITE = 0x04
_WRITE = 0x01
_MIN_SUPERBLOCK = 48  # bytes of the smallest (v2/v3) superblock


class NotHDF5Error(OSError):
    """The path exists but is not an HDF5 file."""


class EmptyFileError(FileNotFoundError):
    """The file exists but holds nothing yet (0 bytes): a writer may just have created it,
    so it is waited for like a missing file; once waiting gives up it is not HDF5."""


class FileLockedError(OSError):
    """A writer holds the file open without SWMR (or before switching SWMR on)."""


def _superblock(path: str | os.PathLike) -> bytes | None:
    """The first superblock bytes, or None if no HDF5 signature is found."""
    with open(path, "rb") as f:
        offset = 0
        size = os.fstat(f.fileno()).st_size
        while offset + 12 <= size:  # the superblock may sit at 0, 512, 1024, 2048...
            f.seek(offset)
            head = f.read(12)
            if head[:8] == _SIGNATURE:
                return head
            offset = 512 if offset == 0 else offset * 2
    return None


def is_hdf5(path: str | os.PathLike) -> bool:
    """True if ``path`` starts with an HDF5 signature (reads a few bytes only)."""
    return _superblock(path) is not None


def writer_active(path: str | os.PathLike) -> bool:
    """True if the superblock says a writer has the file open in SWMR mode.

    A writer that crashed leaves the flag set, so a stalled file still counts as active:
    the follower's timeout is what ends it.
    """
    head = _superblock(path)
    if head is None or head[8] < 3:  # consistency flags for SWMR exist from superblock v3
        return False
    return bool(head[11] & _SWMR_WRITE and head[11] & _WRITE)


def _open_once(path: str | os.PathLike) -> h5py.File:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if not is_hdf5(path):
        with open(path, "rb") as f:
            head = f.read(_MIN_SUPERBLOCK)
        if not head:
            raise EmptyFileError(f"{path} is empty (0 bytes): not an HDF5 file yet")
        if len(head) < _MIN_SUPERBLOCK and _SIGNATURE.startswith(head[:8]):
            raise FileNotFoundError(f"{path} is still being created")  # superblock not yet written
        raise NotHDF5Error(f"not an HDF5 file: {path}")
    try:
        # No file lock: a reader's lock would stop the next scan re-creating this file. A writer
        # that has it open without SWMR is still refused by the superblock's status flags.
        return h5py.File(path, "r", swmr=True, locking=False)
    except OSError as swmr_error:
        text = str(swmr_error).lower()
        if "lock" in text or "already open" in text:
            raise FileLockedError(
                f"{path} is open by a writer without SWMR (waiting for SWMR mode): {swmr_error}"
            ) from swmr_error
        try:  # files written without libver='latest' can refuse SWMR readers
            return h5py.File(path, "r", locking=False)
        except OSError:
            raise swmr_error from None


def open_swmr(
    path: str | os.PathLike,
    *,
    retry_for: float = 0.0,
    interval: float = 0.1,
    stop_event: threading.Event | None = None,
) -> h5py.File:
    """Open ``path`` read-only (SWMR when possible), retrying while missing or locked.

    Retries for up to ``retry_for`` seconds (0: once), or until ``stop_event`` is set.
    Raises FileNotFoundError (EmptyFileError for a file of 0 bytes), NotHDF5Error or
    FileLockedError with a message naming the file.
    """
    deadline = time.monotonic() + retry_for
    while True:
        try:
            return _open_once(path)
        except (FileNotFoundError, FileLockedError) as error:
            if time.monotonic() >= deadline or (stop_event and stop_event.is_set()):
                raise
            logger.debug("retrying open: %s", error)
        waited = stop_event.wait(interval) if stop_event else time.sleep(interval)
        if waited:
            raise FileNotFoundError(f"stopped while waiting for {path}")


def _file_id(path: str | os.PathLike) -> tuple[int, int, int, int] | None:
    """(device, inode, size, mtime) of ``path``, or None if it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class NewScanWatch:
    """Notice a new scan written under the same file name (checked at most every ``interval`` s).

    A new scan is a new inode, a file that shrank (a new writer truncated it) or, once the scan
    followed has ended, a writer opening the file again or any write after its writer closed.
    """

    def __init__(self, path: str | os.PathLike, interval: float = 1.0):
        self.path = path
        self.interval = interval
        self._id: tuple | None = None
        self._was_active = True
        self._closed_mtime: int | None = None
        self._last_check = -float("inf")

    def arm(self, writer_was_active: bool = True) -> None:
        """Watch the file as it is now (after opening it, or failing to)."""
        self._id = _file_id(self.path)
        self._was_active = writer_was_active
        self._closed_mtime = None

    def disarm(self) -> None:
        """Stop watching until `arm` is called again."""
        self._id = None
        self._closed_mtime = None

    def new_scan(self, scan_ended: bool) -> bool:
        """True if the file now holds a new scan; ``scan_ended``: the followed scan is over."""
        now = time.monotonic()
        if self._id is None or now - self._last_check < self.interval:
            return False
        self._last_check = now
        current = _file_id(self.path)
        if current is None:
            return False
        old, self._id = self._id, current
        active = writer_active(self.path)
        was_active, self._was_active = self._was_active, active
        if current[:2] != old[:2] or current[2] < old[2]:
            return True
        if not scan_ended:
            return False
        if active:
            return not was_active
        if self._closed_mtime is None:  # the writer has closed: anything after this is new
            self._closed_mtime = current[3]
            return False
        return current[3] != self._closed_mtime
