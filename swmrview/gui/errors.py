"""No silent failures: any exception raised in a slot is logged and shown in the window.

Qt swallows exceptions raised in slots after printing them; :func:`install_exception_hook`
routes them to logging and to a callback (the window's status bar, with a details view).
:func:`collect_garbage_in_gui_thread` keeps Python's cycle collector out of the follower
thread, where destroying Qt objects deadlocks.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

logger = logging.getLogger(__name__)

_handlers: list[Callable[[str, str], None]] = []


def install_exception_hook() -> None:
    """Route uncaught exceptions (slots included) to logging and the registered windows."""
    if getattr(sys.excepthook, "swmrview", False):
        return
    previous = sys.excepthook

    def hook(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        logger.error("unexpected error: %s", details)
        for handler in list(_handlers):
            try:
                handler(f"{kind.__name__}: {value}", details)
            except Exception:  # noqa: BLE001 - the hook itself must never raise
                logger.debug("error handler failed", exc_info=True)

    hook.swmrview = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def add_handler(handler: Callable[[str, str], None]) -> None:
    """Call ``handler(summary, details)`` for every uncaught exception."""
    _handlers.append(handler)


def remove_handler(handler: Callable[[str, str], None]) -> None:
    """Stop calling ``handler``."""
    if handler in _handlers:
        _handlers.remove(handler)


def show_details(parent: QWidget, summary: str, details: str) -> QMessageBox:
    """A non-modal box with the full message (opened from the status bar)."""
    box = QMessageBox(QMessageBox.Warning, "swmrview: details", summary, parent=parent)
    box.setDetailedText(details)
    box.setModal(False)
    box.show()
    return box


_COLLECTOR = None


def collect_garbage_in_gui_thread() -> None:
    """Collect Python's reference cycles on a GUI-thread timer only (pyqtgraph's
    GarbageCollector), never in the follower thread.

    A cycle holding Qt objects (a closed window's widgets) collected by the follower thread
    destroys them there: it then waits for the GIL inside QObject's destructor while the GUI
    thread, holding the GIL, waits for the Qt lock that destructor holds. The viewer froze so
    once in the test suite.
    """
    global _COLLECTOR
    if _COLLECTOR is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _COLLECTOR = GarbageCollector(interval=1.0)
