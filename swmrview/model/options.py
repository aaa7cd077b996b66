"""Viewer options shared by the command line, the session and the window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Exit codes of ``swmrview ... --exit-on-finish`` (documented in ``swmrview --help``).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_TIMED_OUT = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class ViewerOptions:
    """What to follow and how; built by :mod:`swmrview.cli` from the command line."""

    path: str | None = None
    keys: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    finished: str | None = None
    timeout: float = 10.0
    reduce: str | None = None   # --reduce: the map shown (None: last time's, else sum)
    exit_on_finish: bool = False
    export_map: str | None = None
    screenshot: str | None = None
    export_nexus: str | None = None        # map channels written live as NeXus (model.export)
    export_frame: str | None = None        # the frame shown at the end: .png, .tif(f), .csv
    stats: str | None = None               # --stats: lag diagnostics written as JSON at exit
    poll_interval: float = 0.02
    stall_after: float = 2.0
    skip_after: float | None = None
    threads: int | None = None
    mask: bool = True                      # leave the detector's masked/overflowing pixels out
    view: Any = None                       # model.view_settings.ViewSettings from --settings
    xrf: Any = None                        # core.compute.xrf_config.XrfConfig: fit the spectra
    poni: str | None = None                # --poni: the diffraction geometry (wins over all)

    @property
    def headless(self) -> bool:
        """True when the run ends by itself (automation, tests, screenshots)."""
        return self.exit_on_finish
