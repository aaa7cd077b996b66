"""Follow a data folder: the newest scan file in it (and its subfolders), switching to each new one.

:class:`ScanFinder` lists the scan files of a folder, newest first, bounded in depth and count;
it leaves out files that are not HDF5 yet and detector files that another file of the folder
links to (external links and virtual dataset sources: ``scan-det.h5``, ``k11-18014/*.h5``).
"Newest" is the order in which files appeared: the files present at the first look are ordered
by their modification time then, and a file that appears later is newer than all of them. A
scan still being written keeps changing its modification time, so that time alone would let an
old live scan take the lead back from a new one.

:class:`DirectorySession` has the interface of :class:`~swmrview.session.session.Session` and
wraps one Session for the scan shown. When a newer scan appears it opens it in a second Session
but keeps handing out the shown scan's messages until the new one has a point; then it hands out
the new scan's :class:`~swmrview.model.messages.ScanInfo` and updates and closes the old one, so
the last map stays on screen until the next has something to show. It also hands out
:class:`~swmrview.model.messages.ScanList` messages (the scans to go back to):
:meth:`DirectorySession.open_scan` shows an older one (and stops switching to new scans),
:meth:`DirectorySession.follow_newest` goes back to following the newest.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from swmrview.core.files.opening import HDF5_SUFFIXES, FileLockedError, is_hdf5, open_swmr

from swmrview.model.messages import PointFrame, ScanInfo, ScanList, Update
from swmrview.model.options import EXIT_TIMED_OUT, ViewerOptions
from swmrview.model.messages import RegionFrame
from swmrview.session.session import Message, Session, new_generation
from swmrview.model.status import ERROR, TIMED_OUT, WAITING, Status
from swmrview.model.view_settings import ViewSettings

logger = logging.getLogger(__name__)

SCAN_SUFFIXES = HDF5_SUFFIXES
MAX_DEPTH = 3            # subfolder levels below the followed folder
MAX_FILES = 5000         # scan-like names looked at per check (the newest are kept)
LINK_BUDGET_S = 0.1      # time per check spent opening new files to read their links
MAX_LINK_OBJECTS = 5000  # links and datasets visited per file
CHECK_DIR_S = 1.0        # how often the folder is looked at


# ---------------------------------------------------------------------------- finding scans

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


# ---------------------------------------------------------------------------- following

class _Followed:
    """One Session and the outer generations its messages are handed out with."""

    def __init__(self, session: Session, chosen: bool) -> None:
        self.session = session
        self.chosen = chosen          # opened by the user (open_scan), not by following
        self.generations: dict[int, int] = {}
        self.seen_info = False
        self.buffer: list[Message] = []   # while waiting to be shown: its info, then updates

    @property
    def path(self) -> str:
        return self.session.path


class _StopAll(threading.Event):
    """``stop_event`` of a DirectorySession: setting it stops the sessions it wraps too."""

    def __init__(self, owner: DirectorySession) -> None:
        super().__init__()
        self._owner = owner

    def set(self) -> None:
        super().set()
        for followed in (self._owner.current, self._owner.pending):
            if followed is not None:
                followed.session.stop_event.set()


class DirectorySession:
    """Follows the newest scan of the folder ``options.path``; see the module docstring."""

    def __init__(self, options: ViewerOptions, clock: Callable[[], float] = time.monotonic,
                 *, check_every: float = CHECK_DIR_S, finder: ScanFinder | None = None) -> None:
        self.options = options
        self.path = os.path.abspath(options.path or ".")
        self.clock = clock
        self.check_every = check_every
        self.finder = finder or ScanFinder(self.path)
        self.generation = new_generation()
        self.current: _Followed | None = None
        self.pending: _Followed | None = None
        self.scans: tuple[str, ...] = ()
        self.following = True
        self.stop_event: threading.Event = _StopAll(self)
        self.status = Status(WAITING, self._waiting_text)
        self._own_status: Status | None = None   # last waiting status handed out by us
        self._sent_list: ScanList | None = None
        self._last_check = -np.inf
        self._started = clock()
        self._mask_on = options.mask
        self._channels: tuple | None = None
        self._rejected: dict[str, int] = {}      # path -> mtime_ns of a scan that failed to show

    @property
    def _waiting_text(self) -> str:
        return f"Waiting for a scan in {self.path}"

    @property
    def name(self) -> str:
        """The followed folder's name."""
        return os.path.basename(self.path)

    @property
    def busy(self) -> bool:
        """True while a wrapped session has work for the next step soon."""
        return any(f is not None and f.session.busy for f in (self.current, self.pending))

    # ------------------------------------------------------------------ the step
    def step(self) -> list[Message | ScanList]:
        """Look at the folder (about once a second), step the sessions; return the messages."""
        out: list[Message | ScanList] = []
        try:
            now = self.clock()
            if now - self._last_check >= self.check_every:
                self._last_check = now
                self._check_folder(out)
            if self.current is not None:
                self._relay(self.current, self.current.session.step(), out)
            if self.pending is not None:
                self._step_pending(out)
            if self.current is None:
                self._wait(now, out)
        except Exception as exc:  # every failure becomes a status message
            logger.exception("following %s failed", self.path)
            self.status = Status(ERROR, f"Error: {exc}", 1, f"{type(exc).__name__}: {exc}")
            out.append(Update(self.generation, self.status))
        scans = ScanList(self.generation, self.scans,
                         self.current.path if self.current is not None else None, self.following)
        if scans != self._sent_list:
            self._sent_list = scans
            out.append(scans)
        return out

    def _wait(self, now: float, out: list) -> None:
        waited = now - self._started
        if self.pending is None and self.options.headless and waited > self.options.timeout:
            status = Status(TIMED_OUT, f"Timed out after {self.options.timeout:g} s waiting for "
                            f"a scan in {self.path}", EXIT_TIMED_OUT)
        elif self.pending is not None:
            status = Status(WAITING, f"Waiting for {os.path.basename(self.pending.path)}")
        else:
            status = Status(WAITING, self._waiting_text)
        self.status = status
        if status != self._own_status:
            self._own_status = status
            out.append(Update(self.generation, status))

    def _own_output(self, path: str) -> bool:
        """True for the live NeXus export of ``--export-nexus`` (``OUT.nxs``, ``OUT-2.nxs``...).

        Followed as a new scan, it would export itself to the next file, and so on.
        """
        export = self.options.export_nexus
        if not export:
            return False
        stem, ext = os.path.splitext(os.path.abspath(export))
        return re.fullmatch(re.escape(stem) + r"(-\d+)?" + re.escape(ext), path) is not None

    def _check_folder(self, out: list) -> None:
        scans = [p for p in self.finder.scan() if not self._own_output(p)]
        for path, mtime in list(self._rejected.items()):  # a failed scan that changed: try again
            try:
                if os.stat(path).st_mtime_ns != mtime:
                    del self._rejected[path]
            except OSError:
                del self._rejected[path]
        self.scans = tuple(scans)
        if self.pending is not None and not self.pending.chosen and self.pending.path not in scans:
            self._drop_pending("no longer a scan of the folder")  # e.g. found to be a detector file
        if not self.following:
            return
        newest = next((p for p in scans if p not in self._rejected), None)
        if newest is None or (self.current is not None and newest == self.current.path) \
                or (self.pending is not None and newest == self.pending.path):
            return
        if self.pending is not None:
            self._drop_pending(f"{os.path.basename(newest)} is newer")
        logger.info("new scan in %s: %s", self.path, newest)
        self._start(newest, chosen=False)

    def _start(self, path: str, chosen: bool) -> None:
        """Open ``path``: shown at once if nothing is shown, else once it has a point."""
        options = dataclasses.replace(self.options, path=path)
        if self._channels is not None:  # the user's channels hold for the next scans too
            view = dataclasses.replace(self.options.view or ViewSettings(),
                                       channels=self._channels)
            options = dataclasses.replace(options, view=view)
        session = Session(options, self.clock)
        if self.stop_event.is_set():
            session.stop_event.set()
        self.pending = _Followed(session, chosen)
        if self.current is None:
            self._promote()

    def _step_pending(self, out: list) -> None:
        pending = self.pending
        messages = pending.session.step()
        for message in messages:
            if isinstance(message, ScanInfo):
                pending.buffer = [message]
                self._info_seen(pending)
            elif pending.buffer and (message.axes is not None or len(message.positions)):
                pending.buffer.append(message)
        status = pending.session.status
        has_points = any(isinstance(m, Update) and m.n_ready > 0 for m in messages)
        if has_points or (status.terminal and pending.chosen):
            self._promote()
            shown, last = self.current.buffer, self._last_update(messages)
            if last is not None and not any(m is last for m in shown):
                shown = shown + [last]  # the newest status, progress and frame
            self.current.buffer = []
            self._relay(self.current, shown, out)
        elif status.terminal:  # a newer file that ends with nothing to show: keep the shown scan
            try:
                self._rejected[pending.path] = os.stat(pending.path).st_mtime_ns
            except OSError:
                pass
            self._drop_pending(status.message)

    @staticmethod
    def _last_update(messages: Sequence[Message]) -> Update | None:
        updates = [m for m in messages if isinstance(m, Update)]
        return updates[-1] if updates else None

    def _promote(self) -> None:
        """Show the pending scan: close the shown one."""
        if self.current is not None:
            logger.info("showing %s instead of %s", self.pending.path, self.current.path)
            self.current.session.close()
        self.current, self.pending = self.pending, None

    def _drop_pending(self, why: str) -> None:
        logger.info("not switching to %s: %s", self.pending.path, why)
        self.pending.session.close()
        self.pending = None

    def _info_seen(self, followed: _Followed) -> None:
        followed.seen_info = True
        if not self._mask_on:  # the user's choice holds for the next scans too
            followed.session.set_mask_enabled(False)

    # ------------------------------------------------------------------ relaying
    def _outer(self, followed: _Followed, generation: int) -> int:
        outer = followed.generations.get(generation)
        if outer is None:
            outer = followed.generations[generation] = new_generation()
        if followed is self.current:
            self.generation = max(self.generation, outer)
        return outer

    def _relay(self, followed: _Followed, messages: Sequence[Message | None], out: list) -> None:
        """Hand on the shown session's messages, with our generations and the scan's name."""
        name = os.path.basename(followed.path)
        for message in messages:
            if message is None:
                continue
            if isinstance(message, ScanInfo):
                if not followed.seen_info:
                    self._info_seen(followed)
                out.append(dataclasses.replace(
                    message, generation=self._outer(followed, message.generation)))
                continue
            status = message.status
            if name not in status.message:
                status = dataclasses.replace(status, message=f"{name}: {status.message}")
            out.append(dataclasses.replace(
                message, generation=self._outer(followed, message.generation), status=status))
        self.status = followed.session.status if followed is self.current else self.status
        if followed is self.current and name not in self.status.message:
            self.status = dataclasses.replace(self.status,
                                              message=f"{name}: {self.status.message}")

    # ------------------------------------------------------------------ requests
    def point(self, position: Sequence[int]) -> PointFrame | None:
        """The frame at ``position`` of the shown scan, or None."""
        if self.current is None:
            return None
        point = self.current.session.point(position)
        if point is None:
            return None
        return dataclasses.replace(point, generation=self._outer(self.current, point.generation))

    def region_frame(self, positions: np.ndarray, how: str = "sum",
                     request: int = 0) -> RegionFrame | None:
        """As :meth:`Session.region_frame`, for the shown scan."""
        if self.current is None:
            return None
        return self._region_message(self.current.session.region_frame(
            positions, how, request))

    def region_more(self) -> RegionFrame | None:
        """As :meth:`Session.region_more`, for the shown scan."""
        if self.current is None:
            return None
        return self._region_message(self.current.session.region_more())

    @property
    def region_busy(self) -> bool:
        """True while the shown scan's session reads a region."""
        return self.current is not None and self.current.session.region_busy

    def _region_message(self, message: RegionFrame | None) -> RegionFrame | None:
        if message is None:
            return None
        return dataclasses.replace(message,
                                   generation=self._outer(self.current, message.generation))

    def set_roi(self, roi: Sequence[int] | None) -> None:
        """As :meth:`Session.set_roi`, for the shown scan."""
        if self.current is not None:
            self.current.session.set_roi(roi)

    def set_mask_enabled(self, on: bool) -> None:
        """As :meth:`Session.set_mask_enabled`; the choice holds for the next scans too."""
        self._mask_on = bool(on)
        if self.current is not None:
            self.current.session.set_mask_enabled(on)

    def set_channels(self, channels) -> None:
        """As :meth:`Session.set_channels`; the channels hold for the next scans too."""
        self._channels = tuple(channels)
        if self.current is not None:
            self.current.session.set_channels(channels)

    def set_dataset(self, path: str) -> None:
        """As :meth:`Session.set_dataset`, for the shown scan."""
        if self.current is not None:
            self.current.session.set_dataset(path)

    def open_scan(self, path: str) -> None:
        """Show ``path`` (an older scan of the list) and stop switching to new scans."""
        path = os.path.abspath(path)
        self.following = False
        if self.current is not None and self.current.path == path:
            if self.pending is not None:
                self._drop_pending("the user chose the shown scan")
            return
        if self.pending is not None:
            if self.pending.path == path:
                self.pending.chosen = True
                return
            self._drop_pending(f"the user chose {os.path.basename(path)}")
        logger.info("showing %s (chosen)", path)
        self._start(path, chosen=True)

    def follow_newest(self) -> None:
        """Switch to the newest scan again (now, and whenever a new one starts)."""
        self.following = True
        self._last_check = -np.inf  # look at the folder at the next step
        if self.pending is not None and self.pending.chosen:
            self._drop_pending("following the newest scan again")

    def close(self) -> None:
        """Close the scans' files (the session can open them again with :meth:`step`)."""
        self.stop_event.set()
        for followed in (self.pending, self.current):
            if followed is not None:
                followed.session.close()
        self.pending = None
        self.current = None
        self._sent_list = None
        self._own_status = None
        self._last_check = -np.inf
        self.stop_event = _StopAll(self)
