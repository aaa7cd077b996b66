"""Follow a data folder: the newest scan file in it (and its subfolders), switching to each new one.

:class:`DirectorySession` has the interface of :class:`~swmrview.session.session.Session` and
wraps one Session for the scan shown; :class:`~swmrview.session.scan_finder.ScanFinder` says
which files of the folder are scans, newest first. When a newer scan appears it opens it in a
second Session but keeps handing out the shown scan's messages until the new one has a point;
then it hands out the new scan's :class:`~swmrview.model.messages.ScanInfo` and updates and
closes the old one, so the last map stays on screen until the next has something to show. It
also hands out :class:`~swmrview.model.messages.ScanList` messages (the scans to go back to):
:meth:`DirectorySession.open_scan` shows an older one (and stops switching to new scans),
:meth:`DirectorySession.follow_newest` goes back to following the newest.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from swmrview.model.messages import PointFrame, RegionFrame, ScanInfo, ScanList, Update
from swmrview.model.options import EXIT_TIMED_OUT, ViewerOptions
from swmrview.model.status import ERROR, TIMED_OUT, WAITING, Status
from swmrview.model.view_settings import ViewSettings
from swmrview.session.followed import Followed, Rejected, StopAll, named
from swmrview.session.scan_finder import ScanFinder, is_own_export
from swmrview.session.session import Message, Session, new_generation

logger = logging.getLogger(__name__)

CHECK_DIR_S = 1.0        # how often the folder is looked at


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
        self.current: Followed | None = None
        self.pending: Followed | None = None
        self.scans: tuple[str, ...] = ()
        self.following = True
        self.stop_event: threading.Event = StopAll(self._wrapped)
        self.status = Status(WAITING, f"Waiting for a scan in {self.path}")
        self._own_status: Status | None = None   # last waiting status handed out by us
        self._sent_list: ScanList | None = None
        self._last_check = -np.inf
        self._started = clock()
        self._mask_on = options.mask
        self._channels: tuple | None = None
        self._reductions: tuple[str, ...] | None = None   # the window's built-in maps
        self._screen_binning = 1
        self._rejected = Rejected()              # scans that failed to show

    def _wrapped(self) -> tuple[Followed | None, Followed | None]:
        return self.current, self.pending

    @property
    def name(self) -> str:
        """The followed folder's name."""
        return os.path.basename(self.path)

    @property
    def busy(self) -> bool:
        """True while a wrapped session has work for the next step soon."""
        return any(f is not None and f.session.busy for f in (self.current, self.pending))

    @property
    def backlog(self) -> bool:
        """True while the shown scan's session has points still to read."""
        return self.current is not None and self.current.session.backlog

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
        self.status = status = _waiting_status(self.options, self.path, self.pending,
                                               now - self._started)
        if status != self._own_status:
            self._own_status = status
            out.append(Update(self.generation, status))

    def _check_folder(self, out: list) -> None:
        scans = [p for p in self.finder.scan()
                 if not is_own_export(p, self.options.export_nexus)]
        self._rejected.forget_changed()  # a failed scan that changed: try again
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
        if self._reductions is not None:   # the maps the window shows hold for the next scans
            session.set_reductions(self._reductions)
        session.set_screen_binning(self._screen_binning)
        if self.stop_event.is_set():
            session.stop_event.set()
        self.pending = Followed(session, chosen)
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
            shown, last = self.current.buffer, _last_update(messages)
            if last is not None and not any(m is last for m in shown):
                shown = shown + [last]  # the newest status, progress and frame
            self.current.buffer = []
            self._relay(self.current, shown, out)
        elif status.terminal:  # a newer file that ends with nothing to show: keep the shown scan
            self._rejected.add(pending.path)
            self._drop_pending(status.message)

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

    def _info_seen(self, followed: Followed) -> None:
        followed.seen_info = True
        if not self._mask_on:  # the user's choice holds for the next scans too
            followed.session.set_mask_enabled(False)

    # ------------------------------------------------------------------ relaying
    def _outer(self, followed: Followed, generation: int) -> int:
        outer = followed.outer(generation)
        if followed is self.current:
            self.generation = max(self.generation, outer)
        return outer

    def _relay(self, followed: Followed, messages: Sequence[Message | None], out: list) -> None:
        """Hand on the shown session's messages, with our generations and the scan's name."""
        for message in messages:
            if isinstance(message, ScanInfo):
                if not followed.seen_info:
                    self._info_seen(followed)
                out.append(dataclasses.replace(
                    message, generation=self._outer(followed, message.generation)))
            elif message is not None:
                out.append(dataclasses.replace(
                    message, generation=self._outer(followed, message.generation),
                    status=named(message.status, followed.name)))
        if followed is self.current:
            self.status = named(followed.session.status, followed.name)

    # ------------------------------------------------------------------ requests
    def point(self, position: Sequence[int]) -> PointFrame | None:
        """The frame at ``position`` of the shown scan, or None."""
        return None if self.current is None \
            else self._from_shown(self.current.session.point(position))

    def region_frame(self, positions: np.ndarray, how: str = "sum",
                     request: int = 0) -> RegionFrame | None:
        """As :meth:`Session.region_frame`, for the shown scan."""
        return None if self.current is None \
            else self._from_shown(self.current.session.region_frame(positions, how, request))

    def region_more(self) -> RegionFrame | None:
        """As :meth:`Session.region_more`, for the shown scan."""
        return None if self.current is None \
            else self._from_shown(self.current.session.region_more())

    @property
    def region_busy(self) -> bool:
        """True while the shown scan's session reads a region."""
        return self.current is not None and self.current.session.region_busy

    def _from_shown(self, message: PointFrame | RegionFrame | None
                    ) -> PointFrame | RegionFrame | None:
        """A reply of the shown scan's session, with our generation."""
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

    def set_screen_binning(self, binning: int) -> None:
        """As :meth:`Session.set_screen_binning`, for this scan and the next ones."""
        self._screen_binning = max(1, int(binning))
        for followed in (self.current, self.pending):
            if followed is not None:
                followed.session.set_screen_binning(binning)

    def set_reductions(self, names) -> None:
        """As :meth:`Session.set_reductions`; the choice holds for the next scans too."""
        self._reductions = tuple(names)
        for followed in (self.current, self.pending):
            if followed is not None:
                followed.session.set_reductions(names)

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
        self.stop_event = StopAll(self._wrapped)


def _last_update(messages: Sequence[Message]) -> Update | None:
    updates = [m for m in messages if isinstance(m, Update)]
    return updates[-1] if updates else None


def _waiting_status(options: ViewerOptions, path: str, pending: Followed | None,
                    waited: float) -> Status:
    """While no scan of the folder ``path`` is shown: for which it waits, or a time-out."""
    if pending is None and options.headless and waited > options.timeout:
        return Status(TIMED_OUT, f"Timed out after {options.timeout:g} s waiting for "
                                 f"a scan in {path}", EXIT_TIMED_OUT)
    if pending is not None:
        return Status(WAITING, f"Waiting for {pending.name}")
    return Status(WAITING, f"Waiting for a scan in {path}")
