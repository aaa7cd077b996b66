"""Open the followed file, waiting and retrying, and describe the scan once it is open.

:class:`Opener` tries again at most every :data:`RETRY_OPEN_S` while the file is missing, locked
by a writer, empty or its detector files are not there yet, and says what it waits for;
:func:`scan_info` is the description the window gets of an open scan; :func:`exit_code_for`
sorts a failure into bad input or an error. Runs in the follower thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from types import MappingProxyType
from typing import Callable

import numpy as np

from swmrview.core.compat.frames import KeyDataMismatchError, MissingFilterError
from swmrview.core.files.fields import open_data
from swmrview.core.files.layout import LayoutError, find_layout
from swmrview.core.files.opening import (
    EmptyFileError,
    FileLockedError,
    NewScanWatch,
    NotHDF5Error,
    open_swmr,
    writer_active,
)
from swmrview.core.files.tree import hdf5_tree
from swmrview.core.follow.keys import ScanRankError

from swmrview.model.messages import ScanInfo, StepInfo, frozen
from swmrview.model.options import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_TIMED_OUT, ViewerOptions
from swmrview.model.status import TIMED_OUT, WAITING, Status
from swmrview.model.view_settings import ShownChannelError
from swmrview.session.channels import ChannelSet, per_point_fields, spectrum_axis
from swmrview.session.steps import StepSet
import swmrview.session.xrf_steps  # noqa: F401,E402 - registers the "xrf-fit" steps
from swmrview.session.scan import COMPLETE, OpenScan, WaitForFiles, has_detector_mask, open_scan

logger = logging.getLogger(__name__)

RETRY_OPEN_S = 0.25      # how often a missing or locked file is tried again


class Opener:
    """Opens ``options.path``: :meth:`attempt` returns the open scan, a waiting (or timed out)
    status, or None when it is too soon to try again; it raises what waiting cannot mend.

    ``watch`` is armed after each attempt that found a file, so a scan replacing it is noticed.
    """

    def __init__(self, options: ViewerOptions, watch: NewScanWatch,
                 clock: Callable[[], float]) -> None:
        self.options = options
        self.path = options.path or ""
        self.name = os.path.basename(self.path)
        self.watch = watch
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Start waiting afresh (a new session, or the file was replaced)."""
        self._wait_start = self.clock()
        self._last_try = -np.inf
        self._empty_since: float | None = None   # when the file was first seen empty

    def attempt(self, stop_event: threading.Event, mask_on: bool) -> OpenScan | Status | None:
        """Try to open the file now (see the class docstring)."""
        now = self.clock()
        if now - self._last_try < RETRY_OPEN_S:
            return None
        self._last_try = now
        waited = now - self._wait_start
        if os.path.isdir(self.path):
            raise IsADirectoryError(f"{self.path} is a directory, not an HDF5 file: give the "
                                    "scan file inside it")
        try:
            h5 = open_swmr(self.path, retry_for=0, stop_event=stop_event)
        except EmptyFileError:
            return self._empty(now)
        except (FileNotFoundError, FileLockedError) as exc:
            self._empty_since = None
            message = f"File locked by writer, retrying: {self.name}" \
                if isinstance(exc, FileLockedError) else f"Waiting for {self.name}"
            return self._waiting(message, waited, f"Timed out waiting for {self.name} after "
                                                  f"{self.options.timeout:g} s")
        except Exception:
            self.watch.arm(False)  # so a real scan replacing it is noticed
            raise
        return self._open(h5, waited, mask_on)

    def _open(self, h5, waited: float, mask_on: bool) -> OpenScan | Status:
        active = False
        try:
            active = writer_active(self.path)
            layout = find_layout(h5, keys=self.options.keys, data=self.options.data,
                                 finished=self.options.finished)
            scan = open_scan(h5, layout, self.options, active, mask=mask_on)
        except Exception as exc:
            h5.close()
            if isinstance(exc, WaitForFiles) or (active and not self.options.keys
                                                 and isinstance(exc, LayoutError)):
                return self._waiting(f"Waiting ({self.name}): {exc}", waited)
            self.watch.arm(active)
            raise
        self.watch.arm(active)
        return scan

    def _empty(self, now: float) -> Status:
        """A writer may just have created the file: wait a while (the timeout), then say it is
        not HDF5; a writer starting on it later is still noticed (the watch)."""
        if self._empty_since is None:
            self._empty_since = now
        timeout = self.options.timeout
        if now - self._empty_since > timeout:
            self.watch.arm(False)
            raise EmptyFileError(f"{self.name} is empty (0 bytes), not an HDF5 file: no "
                                 f"writer has written it in {timeout:g} s")
        return Status(WAITING, f"{self.name} is empty (not an HDF5 file yet): waiting "
                               f"up to {timeout:g} s for a writer")

    def _waiting(self, message: str, waited: float, timed_out: str = "") -> Status:
        if self.options.headless and waited > self.options.timeout:
            return Status(TIMED_OUT, timed_out or f"Timed out after "
                          f"{self.options.timeout:g} s. {message}", EXIT_TIMED_OUT)
        return Status(WAITING, message)


def add_readers(scan: OpenScan, options: ViewerOptions | None = None) -> None:
    """Give a freshly opened scan its map channels' readers and its spectra's calibration."""
    scan.channels = ChannelSet(scan.file, scan.scan_rank, scan.written)
    scan.channels.steps = StepSet(scan, options or ViewerOptions())
    scan.frame_axis = spectrum_axis(open_data(scan.file, scan.data_path))


def check_shown(options: ViewerOptions, info: ScanInfo, scan: OpenScan) -> None:
    """Headless with view settings: raise if the map they name cannot be shown (never export
    another map instead)."""
    view = options.view
    if options.headless and view is not None:
        problem = view.shown_problem(info, scan.channels.refused)
        if problem:
            raise ShownChannelError(f"view settings: {problem}")


def scan_info(scan: OpenScan, generation: int, path: str) -> ScanInfo:
    """The description of the open ``scan`` for the window."""
    layout = scan.layout
    data_paths = tuple(dict.fromkeys((scan.data_path,) + tuple(layout.data)))
    try:
        tree = hdf5_tree(scan.file["/"], set(data_paths))
    except Exception:  # noqa: BLE001 - the tree is a convenience
        logger.debug("tree walk failed", exc_info=True)
        tree = {"name": "/", "path": "/", "kind": "group", "children": []}
    shape = tuple(scan.follower.scan_shape) if scan.mode == COMPLETE \
        else tuple(layout.scan_shape)
    fields = per_point_fields(tree, shape, skip=tuple(layout.keys) + (layout.finished,),
                              exact=scan.mode == COMPLETE)
    return ScanInfo(generation, path, scan.mode, shape, scan.axes,
                    scan.data_path, data_paths, tuple(scan.pipeline.frame_shape),
                    str(scan.pipeline.dtype), MappingProxyType(tree), scan.notes,
                    masked=has_detector_mask(scan), frame_axis=scan.frame_axis,
                    fields=fields,
                    scatter=scan.scatter.last if scan.scatter is not None else None,
                    steps=step_infos(scan))


def step_infos(scan: OpenScan) -> MappingProxyType:
    """The steps run on every point of ``scan`` (those with no channel: integration when a
    geometry is known), as messages."""
    steps = scan.channels.steps if scan.channels is not None else None
    out = {}
    if steps is not None:
        for key in steps.auto():
            step = steps.get(key)
            config = step.config() if hasattr(step, "config") else {}
            out[key] = StepInfo(key, frozen(np.asarray(step.labels)), step.unit,
                                step.describe(), json.dumps(config, default=str))
    return MappingProxyType(out)


def exit_code_for(exc: BaseException) -> int:
    """Bad input (2) for what the file or the user named wrongly, else an error (1)."""
    bad_input = (NotHDF5Error, LayoutError, KeyError, ScanRankError, KeyDataMismatchError,
                 IsADirectoryError, ShownChannelError, EmptyFileError, MissingFilterError)
    return EXIT_BAD_INPUT if isinstance(exc, bad_input) else EXIT_ERROR
