"""Key flush to frame on screen: the real viewer (worker thread + main window, offscreen).

A writer process writes the simulator's GDA layout (``swmrview.tools.simulate``) at 20 points/s and
records ``time.time()`` right after each point's keys are flushed; the window records when it
sets that point's frame on the ImageItem (its ``frame_shown`` signal, emitted by ``redraw``).
Baselines measured the same way, without a GUI: swmr_tools 0.9.0 `DataSource` (sleeps
timeout/20 = 0.5 s between polls) and swmrview `DataSource` (polls every 0.02 s).

Run: /work/venv/bin/python benchmarks/viewer_latency.py
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import swmr_tools

from _common import machine_note, percentile, print_verdicts, table, verdict
from swmrview.tools import simulate
from swmrview.core import DataSource

CFG = simulate.SimConfig(shape=(8, 10), frame=(256, 256), rate=20.0)


def _writer(path: str, ready, go, out) -> None:
    """The simulator's writer loop, timing each point's key flush (scan ends with the flag)."""
    files = simulate.ScanFiles(Path(path), CFG)  # the simulator's own layout and write order
    try:
        files.start_swmr()
        ready.set()
        go.wait(60)
        start = time.monotonic() + 0.2
        for count, index in enumerate(simulate.acquisition_order(CFG), start=1):
            time.sleep(max(0.0, start + (count - 1) / CFG.rate - time.monotonic()))
            files.write_point(int(index), count)  # data, then both keys, each flushed
            out.put((int(index), time.time()))
        time.sleep(0.2)
        files.finish()
    finally:
        files.close()


def start_writer(path: Path):
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_writer, args=(str(path), ready, go, out), daemon=True)
    proc.start()
    if not ready.wait(60):
        raise RuntimeError("writer did not start")
    return proc, go, out


def flush_times(out) -> dict[int, float]:
    return dict(out.get(timeout=10) for _ in range(CFG.n_points))


def library_latency(path: Path, which: str) -> tuple[list[float], int]:
    """Latencies (s) from key flush to the frame returned by a DataSource, no GUI."""
    proc, go, out = start_writer(path)
    got: dict[int, float] = {}
    with h5py.File(path, "r", swmr=True) as f:
        keys = [f[simulate.UNIQUE_KEYS], f[simulate.DETECTOR_KEY]]
        data, finished = {"data": f[simulate.DATA_PATH]}, f[simulate.FINISHED_PATH]
        if which == "swmr_tools":
            source = swmr_tools.DataSource(keys, data, timeout=10, finished_dataset=finished)
        else:
            source = DataSource(keys, data, timeout=10, finished_dataset=finished)
        go.set()
        for point in source:
            got[point.index] = time.time()
            if len(got) == CFG.n_points:
                break
    flushed = flush_times(out)
    proc.join(10)
    return [got[i] - flushed[i] for i in got], len(got)


def viewer_latency(path: Path) -> tuple[list[float], int, list[float]]:
    """Latencies (s) from key flush to the frame set on the window's ImageItem, and from key
    flush to the worker's batch reaching the GUI thread (the rest is the redraw timer)."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from swmrview.gui.main_window import MainWindow
    from swmrview.model.options import ViewerOptions

    app = QApplication.instance() or QApplication([])
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):  # keep recent files out of ~
        QSettings.setPath(fmt, QSettings.UserScope, str(path.parent / "settings"))
    proc, go, out = start_writer(path)
    shown: dict[int, float] = {}
    arrived: dict[int, float] = {}
    on_update = MainWindow._on_update

    def flat(position) -> int:
        return int(np.ravel_multi_index(tuple(position), CFG.shape))

    def timed_on_update(self, update):  # runs in the GUI thread (queued from the worker)
        if update.frame_position is not None:
            arrived.setdefault(flat(update.frame_position), time.time())
        on_update(self, update)

    MainWindow._on_update = timed_on_update  # before the window connects it
    window = MainWindow(ViewerOptions(path=str(path), timeout=10, poll_interval=0.02))
    window.frame_shown.connect(lambda position: shown.setdefault(flat(position), time.time()))
    window.resize(1000, 600)
    window.show()

    def wait_for(condition, seconds: float) -> None:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: condition() and loop.quit())
        timer.start(5)
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        timer.stop()

    wait_for(lambda: window.status.kind == "live", 30)
    go.set()
    wait_for(lambda: window.status.terminal, 30)
    window.close()
    app.processEvents()
    MainWindow._on_update = on_update
    flushed = flush_times(out)
    proc.join(10)
    return ([shown[i] - flushed[i] for i in shown if i in flushed], len(shown),
            [arrived[i] - flushed[i] for i in arrived if i in flushed])


def main() -> None:
    machine_note()
    print(f"# scan {CFG.shape} of {CFG.frame} uint16 frames at {CFG.rate:g} points/s, "
          f"GDA layout written by swmrview.tools.simulate's writer; window offscreen")
    rows = []
    medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, run in (
            ("swmr_tools DataSource (no GUI)",
             lambda: library_latency(Path(tmp) / "st.h5", "swmr_tools")),
            ("swmrview DataSource (no GUI)",
             lambda: library_latency(Path(tmp) / "sv.h5", "swmrview")),
            ("swmrview viewer: flush -> ImageItem",
             lambda: viewer_latency(Path(tmp) / "gui.h5")),
        ):
            lat, n, *stage = run()
            medians[label] = statistics.median(lat)
            rows.append((label, f"{n}/{CFG.n_points}", statistics.median(lat) * 1e3,
                         percentile(lat, 90) * 1e3, max(lat) * 1e3))
            if stage:
                rows.append(("  of which flush -> batch in GUI thread", f"{len(stage[0])}",
                             statistics.median(stage[0]) * 1e3, percentile(stage[0], 90) * 1e3,
                             max(stage[0]) * 1e3))
    table("Key flush (writer process) to frame (ms)", ["path", "frames", "median", "p90", "max"],
          rows)
    viewer = medians["swmrview viewer: flush -> ImageItem"]
    base = medians["swmr_tools DataSource (no GUI)"]
    print(f"swmr_tools (no GUI) / swmrview viewer, median: {base / viewer:.1f}x")
    verdict("viewer key flush -> frame shown, median", f"{viewer * 1e3:.1f} ms", "< 50 ms",
            viewer < 0.050)
    print_verdicts()


if __name__ == "__main__":
    main()
