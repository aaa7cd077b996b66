"""GUI event-loop responsiveness while following: how late a 10 ms timer fires (p50, p99).

The real `MainWindow` (offscreen) follows a simulator scan in a writer process while a 10 ms
QTimer in the GUI thread records how late each of its ticks comes. Two scans: 256x256 frames
at 100 points/s (a fast scan), and 8192x8192 frames at 1 point/s (frames far larger than a
screen: the old viewer stalled the GUI thread ~0.9 s on the first one). A third, when PyMca5
is installed: 4 x 4096 XRF spectra at 100 points/s fitted live (``--xrf-config``, the overlap
simulator's configuration) with the fitted Pb map shown and the fit drawn over the spectrum
(issue 18: the GUI stays responsive while fitting). Baseline, same run:
the same timer in the same application with no window open. SPEC 4: p99 under 50 ms.

Run: .venv/bin/python benchmarks/event_loop.py
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import tempfile
import time
from pathlib import Path

from _common import machine_note, percentile, print_verdicts, table, verdict
from swmrview.tools import simulate

TICK_MS = 10
SECONDS = 6.0
SCANS = {
    "256x256 at 100 pt/s": simulate.SimConfig(shape=(30, 40), frame=(256, 256), rate=100.0),
    "8192x8192 at 1 pt/s": simulate.SimConfig(shape=(1, 4), frame=(8192, 8192), rate=1.0),
    "XRF 4x4096 fitted at 100 pt/s": simulate.SimConfig(
        shape=(30, 40), detector="xrf", elements=4, channels=4096, overlap=True, rate=100.0),
}
XRF_CFG = Path(__file__).resolve().parents[1] / "tests" / "data" / "xrf_simulated_overlap.cfg"


def _options(cfg) -> dict:
    """The live fit's options for the XRF scan ({} without PyMca: not run)."""
    if not cfg.overlap:
        return {}
    from swmrview.core.compute.channels import Channel
    from swmrview.core.compute.xrf_config import load_config
    from swmrview.model.view_settings import ViewSettings

    view = ViewSettings(channels=(Channel("Pb", "fitted", column="Pb L"),), shown="Pb")
    return {"xrf": load_config(XRF_CFG), "view": view}


def lateness(app, seconds: float, until=lambda: True) -> list[float]:
    """Run the event loop for ``seconds`` (and until ``until()``, at most 4x as long) with a
    10 ms timer; how late each tick was (ms)."""
    from PySide6.QtCore import QTimer

    late: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, (now - last[0]) * 1000 - TICK_MS))
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    start = time.perf_counter()
    while (time.perf_counter() - start < seconds
           or not until() and time.perf_counter() - start < 4 * seconds):
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return late[1:]


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from swmrview.gui.main_window import MainWindow
    from swmrview.model.options import ViewerOptions

    machine_note()
    app = QApplication.instance() or QApplication([])
    rows = [("no window (baseline)", *_stats(lateness(app, SECONDS)), "-")]
    baseline_p99 = rows[0][2]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
            QSettings.setPath(fmt, QSettings.UserScope, tmp)
        for name, cfg in SCANS.items():
            try:
                extra = _options(cfg)
            except Exception as exc:  # noqa: BLE001 - PyMca5 missing: that row is left out
                print(f"# {name}: not run ({exc})")
                continue
            path = Path(tmp) / f"{name.split()[0]}.h5"
            writer = simulate.start_writer(path, cfg)
            window = MainWindow(ViewerOptions(path=str(path), timeout=20, **extra))
            window.resize(1200, 700)
            window.show()
            late = lateness(app, SECONDS,
                            lambda: window.state is not None and window.state.n_acquired >= 2)
            points = window.state.n_acquired if window.state else 0
            window.close()
            app.processEvents()
            writer.terminate()
            writer.join(10)
            p50, p99, worst = _stats(late)
            rows.append((f"following {name}", p50, p99, worst, points))
            verdict(f"event loop p99 while following {name}", f"{p99:.1f} ms",
                    "< 50 ms", p99 < 50)
    table(f"Lateness of a {TICK_MS} ms GUI-thread timer over {SECONDS:g} s (ms)",
          ["GUI thread", "p50", "p99", "worst", "points shown"], rows)
    print(f"# baseline p99 {baseline_p99:.1f} ms")
    print_verdicts()


def _stats(late: list[float]) -> tuple[float, float, float]:
    return percentile(late, 50), percentile(late, 99), max(late) if late else float("nan")


if __name__ == "__main__":
    main()
