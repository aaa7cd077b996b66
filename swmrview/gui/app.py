"""Start the Qt application: icon, Ctrl-C handling, main window, exit code."""

from __future__ import annotations

import logging
import signal
import sys
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from swmrview.gui.errors import install_exception_hook
from swmrview.gui.main_window import MainWindow
from swmrview.model.options import EXIT_INTERRUPTED, ViewerOptions

logger = logging.getLogger(__name__)


def resource_path(name: str) -> Path | None:
    """Path of a packaged resource (``swmrview.resources``), or None if it is missing."""
    candidate = resources.files("swmrview.resources").joinpath(name)
    return Path(str(candidate)) if candidate.is_file() else None


def app_icon() -> QIcon:
    """The application icon (empty if the resource is missing)."""
    path = resource_path("swmrview.svg")
    return QIcon(str(path)) if path else QIcon()


_QT_NOISE = ("propagateSizeHints",)


def _qt_message(kind: QtMsgType, _context, message: str) -> None:
    """Route Qt's own messages to logging (known offscreen-plugin noise at debug level)."""
    if any(noise in message for noise in _QT_NOISE) or kind == QtMsgType.QtDebugMsg:
        logger.debug("Qt: %s", message)
    elif kind == QtMsgType.QtInfoMsg:
        logger.info("Qt: %s", message)
    else:
        logger.warning("Qt: %s", message)


def run(options: ViewerOptions) -> int:
    """Show the main window for ``options`` and run the event loop; returns the exit code."""
    qInstallMessageHandler(_qt_message)
    install_exception_hook()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("swmrview")
    app.setOrganizationName("swmrview")
    app.setDesktopFileName("swmrview")
    app.setWindowIcon(app_icon())
    window = MainWindow(options)
    interrupted = []

    def on_sigint(*_args) -> None:
        interrupted.append(True)
        QTimer.singleShot(0, window.close)  # close from the event loop, not mid-paint

    previous = signal.signal(signal.SIGINT, on_sigint)
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # lets Python run its signal handlers
    wake.start(200)
    window.show()
    try:
        app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous)
    return EXIT_INTERRUPTED if interrupted else window.exit_code
