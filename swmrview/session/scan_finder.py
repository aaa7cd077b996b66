"""Find the scan files of a folder (and its subfolders), newest first.

:class:`ScanFinder` lists them bounded in depth and count; it leaves out files that are not HDF5
yet and detector files that another file of the folder links to (external links and virtual
dataset sources: ``scan-det.h5``, ``k11-18014/*.h5``). "Newest" is the order in which files
appeared: the files present at the first look are ordered by their modification time then, and
a file that appears later is newer than all of them. A scan still being written keeps changing
its modification time, so that time alone would let an old live scan take the lead back from a
new one.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import h5py

from swmrview.core.files.opening import HDF5_SUFFIXES, FileLockedError, is_hdf5, open_swmr

__all__ = ["ScanFinder", "linked_files", "is_own_export"]

logger = logging.getLogger(__name__)

SCAN_SUFFIXES = HDF5_SUFFIXES
MAX_DEPTH = 3            # subfolder levels below the followed folder
MAX_FILES = 5000         # scan-like names looked at per check (the newest are kept)
LINK_BUDGET_S = 0.1      # time per check spent opening new files to read their links
MAX_LINK_OBJECTS = 5000  # links and datasets visited per file


@dataclass
class _File:
    """What is known about one scan-like file (kept while its inode stays the same)."""

    inode: int
    order: tuple[int, float]             # (check at which it appeared, mtime then): the sort key
    hdf5: bool = False
    links: frozenset[str] | None = None  # absolute paths of files it links to; None: not read yet
    tried_mtime: int = -1                # mtime_ns of the last failed signature or link check


def linked_files(h5: h5py.File, max_objects: int = MAX_LINK_OBJECTS) -> frozenset[str]:
    """Absolute paths of the files ``h5`` reaches by external links or virtual dataset sources."""
    here = os.path.dirname(os.path.abspath(h5.filename))
    found: set[str] = set()
    seen = 0

    def add(name: str) -> None:
        if name and name != ".":  # as HDF5 looks: the path as given, then next to the file
            found.add(os.path.normpath(os.path.join(here, name)))
            found.add(os.path.join(here, os.path.basename(name)))

    def visit(name: str, link) -> int | None:
        nonlocal seen
        seen += 1
        if seen > max_objects:
            return 1  # stop: enough of a very large file
        if isinstance(link, h5py.ExternalLink):
            add(link.filename)
        elif isinstance(link, h5py.HardLink):
            try:
                obj = h5.get(name)
                if isinstance(obj, h5py.Dataset) and obj.is_virtual:
                    for source in obj.virtual_sources():
                        add(source.file_name)
            except Exception as exc:  # noqa: BLE001 - an unreadable object links nowhere we see
                logger.debug("%s in %s: %s", name, h5.filename, exc)
        return None

    h5.visititems_links(visit)
    return frozenset(found)


class ScanFinder:
    """The scan files of ``directory``, newest first (see the module docstring)."""

    def __init__(self, directory: str, max_depth: int = MAX_DEPTH, max_files: int = MAX_FILES,
                 link_budget: float = LINK_BUDGET_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = os.path.abspath(directory)
        self.max_depth = max_depth
        self.max_files = max_files
        self.link_budget = link_budget
        self.clock = clock
        self._files: dict[str, _File] = {}
        self._checks = 0
        self._warned = False

    def _walk(self) -> Iterator[tuple[str, os.stat_result]]:
        count = 0
        stack = [(self.directory, 0)]
        while stack:
            folder, depth = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if depth < self.max_depth:
                            stack.append((entry.path, depth + 1))
                        continue
                    if not entry.name.lower().endswith(SCAN_SUFFIXES):
                        continue
                    stat = entry.stat()
                except OSError:
                    continue  # removed while we looked
                count += 1
                if count > self.max_files:
                    if not self._warned:
                        self._warned = True
                        logger.warning("more than %d scan files under %s: only the first are "
                                       "looked at", self.max_files, self.directory)
                    return
                yield entry.path, stat

    def scan(self) -> list[str]:
        """Look at the folder now; return the scan files (absolute paths), newest first."""
        self._checks += 1
        first = self._checks == 1
        present: dict[str, os.stat_result] = dict(self._walk())
        for path in list(self._files):
            if path not in present:
                del self._files[path]
        for path, stat in present.items():
            known = self._files.get(path)
            if known is None or known.inode != stat.st_ino:  # new, or replaced by a new scan
                order = (0 if first else self._checks, stat.st_mtime)
                self._files[path] = _File(stat.st_ino, order)
        newest_first = sorted(self._files, key=lambda p: self._files[p].order, reverse=True)
        deadline = self.clock() + self.link_budget
        for path in newest_first:
            known = self._files[path]
            if known.links is not None:
                continue
            mtime = present[path].st_mtime_ns
            if known.tried_mtime == mtime and not known.hdf5:
                continue  # not HDF5 (yet): look again when it changes
            if self.clock() > deadline:
                break  # the rest at the next check
            self._read(path, known, mtime)
        linked: set[str] = set()
        for known in self._files.values():
            if known.links:
                linked |= known.links
        return [p for p in newest_first
                if self._files[p].links is not None and p not in linked]

    def _read(self, path: str, known: _File, mtime: int) -> None:
        known.tried_mtime = mtime
        try:
            known.hdf5 = known.hdf5 or is_hdf5(path)
            if not known.hdf5:
                return
            h5 = open_swmr(path, retry_for=0)
        except (FileNotFoundError, FileLockedError):
            return  # still being created, or a writer has it open without SWMR: next time
        except OSError as exc:
            logger.debug("cannot open %s: %s", path, exc)
            return
        try:
            known.links = linked_files(h5)
        except Exception as exc:  # noqa: BLE001 - a file we cannot walk is a scan without links
            logger.debug("cannot read the links of %s: %s", path, exc)
            known.links = frozenset()
        finally:
            h5.close()


def is_own_export(path: str, export: str | None) -> bool:
    """True for the live NeXus export of ``--export-nexus`` (``OUT.nxs``, ``OUT-2.nxs``...).

    Followed as a new scan, it would export itself to the next file, and so on.
    """
    if not export:
        return False
    stem, ext = os.path.splitext(os.path.abspath(export))
    return re.fullmatch(re.escape(stem) + r"(-\d+)?" + re.escape(ext), path) is not None
