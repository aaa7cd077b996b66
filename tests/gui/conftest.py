"""GUI test fixtures: offscreen Qt, isolated settings, and no QThread left running."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc  # noqa: E402
import weakref  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QThread  # noqa: E402

from swmrview.model.options import ViewerOptions  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory):
    """Keep QSettings (recent files, geometry) out of the user's home."""
    path = str(tmp_path_factory.mktemp("settings"))
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, path)
    yield path


@pytest.fixture(autouse=True)
def no_thread_left_running(monkeypatch, qapp):
    """Fail any test that leaves a QThread it started still running."""
    started: list[weakref.ref] = []
    original = QThread.start

    def tracking_start(self, *args):
        started.append(weakref.ref(self))
        return original(self, *args)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield
    qapp.processEvents()
    gc.collect()   # the test's closed windows, here in the GUI thread (see main_window)
    running = [t() for t in started if t() is not None and t().isRunning()]
    for thread in running:  # stop them so one failure does not cascade
        thread.quit()
        thread.wait(5000)
    assert not running, f"{len(running)} QThread(s) left running: {running}"


@pytest.fixture
def make_window(qtbot):
    """Factory ``make_window(path, **options) -> MainWindow``, closed at teardown."""
    from swmrview.gui.main_window import MainWindow

    windows = []

    def make(path=None, **kwargs):
        kwargs.setdefault("timeout", 5.0)
        kwargs.setdefault("stall_after", 0.5)
        options = ViewerOptions(path=str(path) if path else None, **kwargs)
        window = MainWindow(options)
        window.statuses = [window.status]
        window.status_changed.connect(lambda s: window.statuses.append(s))
        qtbot.addWidget(window)
        window.resize(1000, 600)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def wait_terminal(qtbot, window, timeout=30_000):
    """Wait until the window's follower reaches finished / timed out / error."""
    qtbot.waitUntil(lambda: window.status.terminal, timeout=timeout)
    qtbot.wait(50)  # let the last redraw tick run


def file_reductions(path, data_path="/entry/data/data", scan_rank=2,
                    key_path="/entry/diamond_scan/keys/uniqueKeys"):
    """Per-point sum/mean/max computed independently from the file with plain h5py.

    Points whose key is still zero are NaN (never acquired).
    """
    with h5py.File(path, "r", locking=False) as f:  # the viewer in this process holds it unlocked
        data = f[data_path][()].astype(np.float64)
        keys = f[key_path][()]
        if "/entry/diamond_scan/scan_shape" in f:  # GDA: every dataset grows, the shape is declared
            scan_shape = tuple(int(n) for n in f["/entry/diamond_scan/scan_shape"][()])
        else:
            scan_shape = f[key_path].maxshape[:scan_rank]
    axes = tuple(range(scan_rank, data.ndim))
    data_full = np.zeros(tuple(scan_shape) + data.shape[scan_rank:])
    data_full[tuple(slice(0, n) for n in data.shape)] = data
    data = data_full
    keys = keys.reshape(keys.shape[:scan_rank])
    padded = np.zeros(scan_shape, keys.dtype)
    padded[tuple(slice(0, n) for n in keys.shape)] = keys
    keys = padded
    out = {"sum": data.sum(axis=axes), "mean": data.mean(axis=axes), "max": data.max(axis=axes)}
    for name in out:
        full = np.full(keys.shape, np.nan)
        region = tuple(slice(0, n) for n in out[name].shape)
        full[region] = out[name]
        full[keys == 0] = np.nan
        out[name] = full
    return out
