"""Redraw rate of 2048x2048 uint16 frames through the viewer's frame view, while following.

The real `FrameView` (image, histogram, 256-entry LUT, auto-levels off) is handed 2048x2048
frames as fast as it can draw them: ``show_frame`` then a synchronous ``repaint()`` (the
offscreen backing store is really painted; the ImageItem's paint calls are counted) and
``processEvents``, while a real viewer window follows a simulator scan in the same process
(worker thread reading and reducing frames, map and status updates on the GUI thread).
Baseline in the same run: a bare pyqtgraph `ImageItem.setImage(frame, autoLevels=False)` in a
plot of the same size.

Run: /work/venv/bin/python benchmarks/redraw_rate.py
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import machine_note, print_verdicts, table, verdict
from swmrview.tools import simulate

SIZE = (2048, 2048)
VIEW = (900, 800)
SECONDS = 3.0
SIM = simulate.SimConfig(shape=(40, 50), frame=(256, 256), rate=40.0)  # outlasts the run


def make_frames(k: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: SIZE[0], : SIZE[1]]
    frames = []
    for i in range(k):
        spot = 20000 * np.exp(-((yy - 700 - 100 * i) ** 2 + (xx - 1000) ** 2) / (2 * 150.0**2))
        frames.append((rng.poisson(100, SIZE) + spot).astype(np.uint16))
    return frames


class PaintCounter:
    """Counts paint calls per ImageItem, so a 'redraw' is known to have really painted."""

    def __init__(self, image_item_class) -> None:
        self.counts: dict[int, int] = {}
        original = image_item_class.paint

        def paint(item, *args):
            self.counts[id(item)] = self.counts.get(id(item), 0) + 1
            return original(item, *args)

        image_item_class.paint = paint


def rate(show, widget, item, app, frames, counter: PaintCounter) -> tuple[float, float]:
    """Frames/s of show(frame) + repaint + processEvents for SECONDS, and paints of ``item``
    per frame."""
    n, painted = 0, counter.counts.get(id(item), 0)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        show(frames[n % len(frames)], n)
        widget.repaint()
        app.processEvents()
        n += 1
    elapsed = time.perf_counter() - t0
    return n / elapsed, (counter.counts.get(id(item), 0) - painted) / n


def main() -> None:
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from swmrview.gui.frame_view import FrameView
    from swmrview.gui.map_drawing import lookup_table
    from swmrview.gui.main_window import MainWindow
    from swmrview.model.options import ViewerOptions

    machine_note()
    app = QApplication.instance() or QApplication([])
    frames = make_frames()
    counter = PaintCounter(pg.ImageItem)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
            QSettings.setPath(fmt, QSettings.UserScope, tmp)
        scan = Path(tmp) / "scan.h5"
        writer = simulate.start_writer(scan, SIM)
        window = MainWindow(ViewerOptions(path=str(scan), timeout=10))
        window.resize(1000, 600)
        window.show()
        deadline = time.monotonic() + 30
        while window.status.kind != "live" and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)

        view = FrameView()
        view.set_frame_kind("image")
        view.set_auto_levels(False)
        view.resize(*VIEW)
        view.show()
        view.show_frame(frames[0], 0)  # first frame sets levels and range once

        plot_widget = pg.GraphicsLayoutWidget()
        plot = plot_widget.addPlot()
        bare = pg.ImageItem(axisOrder="row-major")
        bare.setLookupTable(lookup_table("viridis"))
        plot.addItem(bare)
        plot.setAspectLocked(True)
        bare.setImage(frames[0], autoLevels=False, levels=(0, 25000))
        plot_widget.resize(*VIEW)
        plot_widget.show()
        app.processEvents()

        def show_bare(frame, _index):
            bare.setImage(frame, autoLevels=False)

        results = {"bare": [], "view": []}
        paints = {"bare": [], "view": []}
        points_before = window.state.n_acquired if window.state else 0
        t0 = time.monotonic()
        for _ in range(3):  # interleaved so both see the same machine noise
            for name, show, widget, item in (
                    ("bare", show_bare, plot_widget, bare),
                    ("view", view.show_frame, view, view.image_panel.image)):
                fps, per_frame = rate(show, widget, item, app, frames, counter)
                results[name].append(fps)
                paints[name].append(per_frame)
        followed = ((window.state.n_acquired if window.state else 0) - points_before) / (time.monotonic() - t0)
        status = window.status.message
        window.close()
        view.close()
        plot_widget.close()
        app.processEvents()
        writer.terminate()  # the scan only had to keep the follower busy meanwhile
        writer.join(10)

    bare_fps = statistics.median(results["bare"])
    view_fps = statistics.median(results["view"])
    print(f"# widgets {VIEW[0]}x{VIEW[1]} offscreen; follower meanwhile took {followed:.1f} "
          f"points/s of {SIM.frame[0]}x{SIM.frame[1]} frames ({status})")
    table(f"Redraw of {SIZE[0]}x{SIZE[1]} uint16 frames while following (frames/s, median of 3 "
          f"x {SECONDS:g} s)",
          ["path", "frames/s", "runs", "paints/frame", "ratio to bare"],
          [("bare pyqtgraph ImageItem.setImage", bare_fps,
            " ".join(f"{v:.0f}" for v in results["bare"]), statistics.median(paints["bare"]), 1.0),
           ("swmrview FrameView.show_frame", view_fps,
            " ".join(f"{v:.0f}" for v in results["view"]), statistics.median(paints["view"]),
            view_fps / bare_fps)])
    verdict("redraw 2048x2048 while following", f"{view_fps:.1f} fps", ">= 30 fps",
            view_fps >= 30)
    print_verdicts()


if __name__ == "__main__":
    main()
