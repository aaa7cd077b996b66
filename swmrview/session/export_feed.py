"""Feeding a window's scan messages into live NeXus exports (no Qt), one file per set of
channels, with every h5py call in a writer thread of its own (see :class:`ExportFeed`)."""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from dataclasses import replace
from typing import Iterable, Sequence


from swmrview.model.messages import ScanInfo, Update
from swmrview.model.view_state import ViewState
from swmrview.session.arrays import output_problem
from swmrview.session.export import DEFAULT_REDUCTIONS, LiveExport, StateSnapshot

logger = logging.getLogger(__name__)

__all__ = ["ExportFeed", "next_export_path"]


class ExportFeed:
    """Feeds a window's scan messages into live exports, one file per set of channels.

    The window calls :meth:`scan_info` after it built its view state for a new
    :class:`ScanInfo`, :meth:`scan_update` after applying each update, :meth:`finish` when
    the scan finished, and :meth:`close` when it closes. :meth:`start` begins exporting
    (``--export-nexus`` at the first scan; the menu in the middle of one, writing the points
    acquired so far first). A new ScanInfo (another scan, or another dataset whose values are
    recomputed) changes the channels' meaning: the current file is finished and the next one
    is ``OUT-2.nxs``, ``OUT-3.nxs``... (:func:`next_export_path`).

    With ``threaded=True`` every h5py call runs in a writer thread of its own (the window's
    GUI thread never touches h5py): the methods only copy what they need and queue it;
    :meth:`wait` blocks until the queue is written. :attr:`error` says why the last file
    failed (set by that thread).
    """

    def __init__(self, reductions: Sequence[str] = DEFAULT_REDUCTIONS,
                 threaded: bool = False) -> None:
        self.reductions = tuple(reductions)
        self.path: str | None = None          # where the next (or current) export goes
        self.export: LiveExport | None = None
        self.paths: list[str] = []            # every file started, in order
        self.error: str | None = None         # why the last start or write failed
        self.failures: list[str] = []         # every failure since this feed was made
        self.active = False                   # a file is (being) written for the scan shown
        self._generation: int | None = None   # of the scan the last file was started for
        self._queue: queue.Queue | None = queue.Queue() if threaded else None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the caller's side
    def start(self, path: str | os.PathLike, state: ViewState | None = None,
              reductions: Sequence[str] | None = None) -> bool:
        """Export to ``path`` from now on: at once from ``state`` (its acquired points first)
        if a scan is shown, else when the first ScanInfo comes. False (``error`` says why)
        when the scan has no map; a file that cannot be written sets ``error`` (at once
        unthreaded, else when the writer thread gets to it)."""
        self.finish()
        self.path, self.error = os.fspath(path), None
        if reductions is not None:
            self.reductions = tuple(reductions)
        self._submit(self._reset_paths)
        self._generation = None
        if state is None:
            return True
        if state.rank == 0:
            self.error = f"a single frame has no map to export to {self.path}"
            return False
        self._generation, self.active = state.info.generation, True
        self._submit(self._open, StateSnapshot.of(state))
        return self.error is None or self._queue is not None

    def scan_info(self, info: ScanInfo, state: ViewState | None) -> None:
        """A new scan or dataset is shown in ``state``: start its export file."""
        if self.path is None or state is None or info.generation == self._generation:
            return
        self.finish()
        self._generation = info.generation
        if info.scan_rank == 0:
            logger.warning("a single frame has no map: nothing exported to %s", self.path)
            return
        self.active = True
        self._submit(self._open, StateSnapshot.of(state))

    def scan_update(self, update: Update) -> None:
        """Write the update's points into the current export (if it is of this scan)."""
        if self.active and update.generation == self._generation and (
                len(update.positions) or update.scan_shape is not None or update.axes is not None):
            self._submit(self._apply, replace(update, frame=None))   # no frame held in the queue

    def channels_changed(self, state: ViewState) -> None:
        """The map channels changed: finish this file and go on in the next one (SWMR cannot
        add datasets to a file being followed)."""
        if not self.active or state.info.generation != self._generation:
            return
        self.finish()
        self.active = True
        self._submit(self._open, StateSnapshot.of(state))

    def finish(self) -> None:
        """Set the finished flag of the current file and close it (a later scan shown in the
        window still starts the next file)."""
        if self.active:
            self.active = False
            self._submit(self._finish_export)

    def stop(self) -> None:
        """Finish the current file and export nothing more."""
        self.finish()
        self.path = None

    def wait(self) -> None:
        """Block until everything queued is written (threaded)."""
        if self._queue is not None and self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Finish the current file and end the writer thread (waits for it)."""
        self.finish()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    # ------------------------------------------------------------------ the writer's side
    def _submit(self, fn, *args) -> None:
        if self._queue is None:
            fn(*args)
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="swmrview-export",
                                            daemon=True)
            self._thread.start()
        self._queue.put((fn, args))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                fn, args = item
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - the thread must go on; said in error
                self.error = f"export failed: {type(exc).__name__}: {exc}"
                self.failures.append(self.error)
                logger.exception("live export failed")
            finally:
                self._queue.task_done()

    def _reset_paths(self) -> None:
        self.paths = []

    def _open(self, snapshot: StateSnapshot) -> None:
        path = self.path if not self.paths else next_export_path(self.path, self.paths)
        reductions = self.reductions + (("roi",) if snapshot.roi is not None
                                        and "roi" not in self.reductions else ())
        reductions += tuple(n for n in snapshot.channels if n not in reductions)
        try:
            self.export = LiveExport(path, snapshot.info, reductions, roi=snapshot.roi,
                                     channels=snapshot.channels)
            self.paths.append(path)
            self.export.apply_state(snapshot)
        except (OSError, ValueError) as exc:
            self.error = f"cannot export to {path}: {output_problem(path) or exc}"
            self.failures.append(self.error)
            logger.error("%s", self.error)
            if self.export is not None:
                self.export.close()
            self.export = None
            self.active = False
            return
        self.error = None

    def _apply(self, update: Update) -> None:
        export = self.export
        if export is None or export.closed or update.generation != export.info.generation:
            return
        try:
            export.apply(update)
        except (OSError, ValueError) as exc:
            self.error = f"export to {export.path} stopped: {exc}"
            self.failures.append(self.error)
            logger.error("%s", self.error)
            export.close()
            self.export = None
            self.active = False

    def _finish_export(self) -> None:
        export, self.export = self.export, None
        if export is None:
            return
        try:
            export.finish()
        except (OSError, ValueError) as exc:
            self.failures.append(f"finishing the export {export.path} failed: {exc}")
            logger.error("%s", self.failures[-1])
            export.close()


def next_export_path(path: str | os.PathLike, taken: Iterable[str] = ()) -> str:
    """``scan.nxs`` -> ``scan-2.nxs``, ``scan-3.nxs``... the next name not in ``taken`` and
    not on disk: the file for an export whose channels changed."""
    path = os.fspath(path)
    stem, ext = os.path.splitext(path)
    match = re.fullmatch(r"(.*)-(\d+)", stem)
    base, n = (match.group(1), int(match.group(2)) + 1) if match else (stem, 2)
    taken = set(taken)
    while True:
        candidate = f"{base}-{n}{ext}"
        if candidate not in taken and not os.path.exists(candidate):
            return candidate
        n += 1
