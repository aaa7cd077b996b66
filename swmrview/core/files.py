"""Opening followed files read-only, and reading a writer's state from the superblock."""

from __future__ import annotations

import logging
import os
import threading
import time

import h5py
import hdf5plugin  # noqa: F401  (registers bitshuffle, LZ4, Blosc... so compressed frames read)

logger = logging.getLogger(__name__)

__all__ = ["open_swmr", "writer_active", "NotHDF5Error", "FileLockedError"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SWMR_WRITE = 0x04
_WRITE = 0x01
_MIN_SUPERBLOCK = 48  # bytes of the smallest (v2/v3) superblock


class NotHDF5Error(OSError):
    """The path exists but is not an HDF5 file."""


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
    Raises FileNotFoundError, NotHDF5Error or FileLockedError with a message naming the file.
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
