"""What the window exports: at the end of a scan by itself (headless), or from the Export menu.

``--export-map``, ``--export-frame``, ``--export-nexus``, ``--screenshot`` and
``--exit-on-finish`` (SPEC section 3). TIFF and CSV are written by the Qt-free
:mod:`swmrview.session.export`; only PNG is rendered here (a grab of the view as shown, with its
axes, colour bar and levels). The live NeXus export is fed from the window's messages by an
:class:`~swmrview.session.export_feed.ExportFeed`: the window calls :meth:`HeadlessActions.scan_info`
from ``_on_info`` and :meth:`HeadlessActions.scan_update` from ``_on_update``.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QTimer

from swmrview.gui.lag_probe import LagProbe
from swmrview.model.messages import ScanInfo, Update
from swmrview.model.options import EXIT_BAD_INPUT, EXIT_ERROR, EXIT_OK, ViewerOptions
from swmrview.model.status import ERROR, FINISHED, Status
from swmrview.model.view_state import ViewState
from swmrview.session.arrays import array_format, output_problem, write_array
from swmrview.session.export_feed import ExportFeed

logger = logging.getLogger(__name__)


class HeadlessActions:
    """Runs the headless flags of ``options`` for ``window`` once per scan end, and the
    Export menu's actions."""

    def __init__(self, window, options: ViewerOptions) -> None:
        self.window = window
        self.options = options
        self.exported = self.grabbed = self.frame_exported = False
        self.bad_input = False   # an output asked for that the file cannot give (no map)
        # --stats: the GUI thread's lateness probe, writing the window's LagStats at close
        self.lag_probe = LagProbe(window.stats, options.stats, window) if options.stats else None
        self.live = ExportFeed(threaded=True)      # h5py writes off the GUI thread
        self._export_error: str | None = None
        self._said: set[str] = set()               # failures logged (each once)
        if options.export_nexus:
            self.live.start(options.export_nexus)   # from the first scan shown on

    # ------------------------------------------------------------------ the window's messages
    def scan_info(self, info: ScanInfo, state: ViewState | None) -> None:
        """The window shows a new scan or dataset: a live export starts its file."""
        self.live.scan_info(info, state)

    def channels_changed(self, state: ViewState) -> None:
        """The user changed the map channels: a live export goes on in a new file."""
        self.live.channels_changed(state)

    def scan_update(self, update: Update) -> None:
        """An update applied to the window's state: into the live export too."""
        self.live.scan_update(update)
        if self.live.error != self._export_error:   # set by the export's writer thread
            self._export_error = self.live.error
            if self._export_error:
                self._show(self._export_error)

    # ------------------------------------------------------------------ scan end and close
    def scan_ended(self, status: Status) -> None:
        """The scan finished, timed out or failed: export, grab and (maybe) close."""
        if status.kind != ERROR:  # the session already logged an error itself
            logger.info("%s", status.message)
        if status.kind == FINISHED:  # a timed-out scan may resume: its export stays open
            self.live.finish()
        if self.options.export_map:
            self.export_map(self.options.export_map)
        if self.options.export_frame:
            self.export_frame(self.options.export_frame)
        if self.options.screenshot:
            self.screenshot(self.options.screenshot)
        if self.options.exit_on_finish:
            QTimer.singleShot(0, self.window.close)

    def closing(self, exit_code: int, status: str) -> int:
        """On close: write what was asked for and not done yet (a live export is finished, the
        ``--stats`` file written); the exit code then: an output not written never passes for
        a success (2 when the file had none to give, such as a map of a single frame)."""
        self.live.close()
        if self.options.screenshot and not self.grabbed:
            self.screenshot(self.options.screenshot)
        if self.options.export_map and not self.exported and self.window.state is not None:
            self.export_map(self.options.export_map)
        if self.options.export_frame and not self.frame_exported \
                and self.window.state is not None:
            self.export_frame(self.options.export_frame)
        if self.unwritten() and exit_code == EXIT_OK:
            exit_code = EXIT_BAD_INPUT if self.bad_input else EXIT_ERROR
        if self.lag_probe is not None and not self.lag_probe.write(
                self.options.path, status, exit_code) and exit_code == EXIT_OK:
            exit_code = EXIT_ERROR
        return exit_code

    def unwritten(self) -> list[str]:
        """The outputs asked for in the options that were not (all) written."""
        options = self.options
        missing = [path for path, done in ((options.export_map, self.exported),
                                           (options.export_frame, self.frame_exported),
                                           (options.screenshot, self.grabbed)) if path and not done]
        if options.export_nexus and self.live.failures:
            missing.append(options.export_nexus)
        return missing

    # ------------------------------------------------------------------ exports
    def start_live_export(self, path: str) -> bool:
        """Write the map channels to ``path`` live from now on (the points acquired so far
        first, by the export's writer thread); False (logged, and shown in the status bar) if
        there is no map; a file that cannot be written is said when the thread finds out."""
        state = self.window.state
        if state is None or state.rank == 0:
            return self._no_map(path)
        if not self.live.start(path, state):
            return self._failed(self.live.error or f"cannot export to {path}")
        self.window.view_actions.request_reductions()   # the export's maps (max) computed
        follow = getattr(self.window, "follow", None)
        if follow is not None:   # the patterns of the points to come, for the export
            follow.request_results.emit(True)
        self._done(f"exporting the map live to {path}")
        return True

    def stop_live_export(self) -> None:
        """Finish the live export file and write no more."""
        self.live.stop()

    def export_map(self, path: str) -> bool:
        """Write the displayed map plane: CSV (as before), TIFF (values) or PNG (the view);
        False (logged) when there is no map."""
        state = self.window.state
        if state is None or state.rank == 0:
            return self._no_map(path)
        try:
            kind = array_format(path)
            if kind == "csv":
                state.export_csv(path)
            elif kind == "tiff":
                write_array(path, state.plane(), comments=self._comments(
                    f"map {state.reduction}", state, slow_index=state.slow_index))
            else:
                self.window.map_view.refresh()
                self._save_grab(self.window.map_view, path)
        except (OSError, ValueError) as exc:
            return self._failed(f"map not written to {path}: {self._why(path, exc)}")
        self.exported = True
        self._done(f"map written to {path}")
        return True

    def export_frame(self, path: str) -> bool:
        """Write the frame on screen: TIFF/CSV (its values) or PNG (the view); False (logged)
        when no frame is shown."""
        self.window.redraw()
        frame = self.shown_frame()
        if frame is None:
            return self._failed(f"no frame to export to {path}")
        try:
            kind = array_format(path)
            if kind == "png":
                self._save_grab(self.window.frame_view, path)
            else:
                state = self.window.state
                binning = getattr(self.window.frame_view.image_panel, "binning", 1) \
                    if self.window.frame_view.kind == "image" else 1
                extra = [f"binned {binning}x{binning} for display"] if binning != 1 else []
                write_array(path, frame, comments=self._comments(
                    f"frame {self.window.frame_view.shown_label}", state) + extra)
        except (OSError, ValueError) as exc:
            return self._failed(f"frame not written to {path}: {self._why(path, exc)}")
        self.frame_exported = True
        self._done(f"frame written to {path}")
        return True

    def shown_frame(self) -> np.ndarray | None:
        """The values of the frame on screen (an image, a spectrum, or a scalar), or None."""
        view, state = self.window.frame_view, self.window.state
        if view.kind == "scalar":
            if state is None or state.shown is None or not state.is_acquired(state.shown):
                return None
            return np.asarray(state.map.values["sum"][tuple(state.shown)])
        frame = view.current_frame()
        return None if frame is None else np.asarray(frame)

    def screenshot(self, path: str) -> bool:
        """Redraw now and save a grab of the window; False (logged) if it cannot be saved."""
        self.window.redraw()
        if not self.window.grab().save(path):   # Qt says no more than that
            return self._failed(f"screenshot not saved to {path}: "
                                f"{output_problem(path) or 'the image could not be written'}")
        self.grabbed = True
        self._done(f"screenshot saved to {path}")
        return True

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _save_grab(widget, path: str) -> None:
        if not widget.grab().save(path, "PNG"):
            raise OSError(f"cannot write {path}")

    def _comments(self, what: str, state: ViewState | None, slow_index=()) -> list[str]:
        info = self.window.info
        source = f"{info.path}:{info.data_path}" if info is not None else "?"
        lines = [f"swmrview {what.strip()} of {source}"]
        if state is not None and state.rank > 2:
            lines.append(f"slow_index={tuple(int(i) for i in slow_index)}")
        return lines

    @staticmethod
    def _why(path: str, exc: Exception) -> str:
        """Why ``path`` was not written, in plain words rather than Python's."""
        problem = output_problem(path)
        if problem:
            return problem
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror
        return str(exc)

    def _no_map(self, path: str) -> bool:
        """A map was asked for of a file that has none (a single frame): bad input, exit 2."""
        self.bad_input = True
        state = self.window.state
        what = "the file is a single frame" if state is not None else "nothing was shown"
        return self._failed(f"no scan map to export to {path}: {what}")

    def _failed(self, message: str) -> bool:
        if message not in self._said:   # a retry at close fails the same way: said once
            self._said.add(message)
            logger.error("%s", message)
        self._show(message)
        return False

    def _done(self, message: str) -> None:
        logger.info("%s", message)
        self._show(message)

    def _show(self, message: str) -> None:
        bar = getattr(self.window, "status_bar", None)
        if bar is not None and not self.options.headless:
            bar.showMessage(message, 5000)


__all__ = ["HeadlessActions"]
