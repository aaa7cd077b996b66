"""What a :class:`~swmrview.session.directory.DirectorySession` keeps of the scans it wraps.

:class:`Followed` is one wrapped Session with the outer generations its messages are handed out
with; :class:`StopAll` is the folder's stop event, which stops the wrapped sessions too;
:class:`Rejected` holds the scans that ended with nothing to show until their file changes.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable

from swmrview.model.status import Status
from swmrview.session.session import Message, Session, new_generation

__all__ = ["Followed", "StopAll", "Rejected", "named"]


class Followed:
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

    @property
    def name(self) -> str:
        """The scan file's name, said in front of its statuses."""
        return os.path.basename(self.path)

    def outer(self, generation: int) -> int:
        """The outer generation of the session's ``generation`` (a new one the first time)."""
        outer = self.generations.get(generation)
        if outer is None:
            outer = self.generations[generation] = new_generation()
        return outer


def named(status: Status, name: str) -> Status:
    """``status`` with the scan's ``name`` in front, unless its message says it already."""
    if name in status.message:
        return status
    return dataclasses.replace(status, message=f"{name}: {status.message}")


class StopAll(threading.Event):
    """A folder's ``stop_event``: setting it stops the sessions ``followed()`` returns too."""

    def __init__(self, followed: Callable[[], Iterable[Followed | None]]) -> None:
        super().__init__()
        self._followed = followed

    def set(self) -> None:
        super().set()
        for followed in self._followed():
            if followed is not None:
                followed.session.stop_event.set()


class Rejected:
    """Scans that ended with nothing to show, kept out of following until their file changes."""

    def __init__(self) -> None:
        self._mtimes: dict[str, int] = {}   # path -> mtime_ns when it was rejected

    def __contains__(self, path: str) -> bool:
        return path in self._mtimes

    def add(self, path: str) -> None:
        try:
            self._mtimes[path] = os.stat(path).st_mtime_ns
        except OSError:
            pass

    def forget_changed(self) -> None:
        """Try again the rejected scans whose file changed (or is gone)."""
        for path, mtime in list(self._mtimes.items()):
            try:
                if os.stat(path).st_mtime_ns != mtime:
                    del self._mtimes[path]
            except OSError:
                del self._mtimes[path]
