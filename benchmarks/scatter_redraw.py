"""Redraw of a non-grid scan's scatter map of 10^4, 10^5 and 10^6 points, before and after the
scatter caches (issue "a window that keeps up with a fast detector", part 4).

A real `MapView` (offscreen, 600x450, the map's own colour bar) draws a `ViewState` filled by
hand, as `tests/gui/test_map_view.py` does: a spiral scan whose positions and planned trajectory
are known, all but the last few batches of points acquired. Each timed redraw first applies one
more batch of new points (1 % of the scan, not timed: the window does that when an update
comes), then times `MapView.refresh()` and a synchronous `repaint()` of the plot (what the map
timer does, at most 10 times a second). Also timed: a redraw with nothing new, and the first
draw of a scan (`set_state`, every cache built).

*before* is the code of commit ``--old`` (default 13c79e4, the merge this work started from),
taken out of git with `git archive` and run in its own process; *after* is this checkout, in
another process; each case runs in both, interleaved over ``--rounds`` rounds, medians taken.
Baseline, same processes: bare pyqtgraph drawing the same image, `ImageItem.setImage(image,
autoLevels=False)` of the binned float32 image with a 256-entry LUT, and a repaint of a plot of
the same size (for 10^4 points, which are drawn as symbols, the same image as if binned).

With the planned trajectory known (the default) the last batches' planned points are drawn as
pending dots, which the old code redrew on every redraw; ``--no-plan`` leaves them out.

Run: .venv/bin/python benchmarks/scatter_redraw.py [--old REV] [--rounds 3] [--no-plan]
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _common import machine_note, print_verdicts, table, verdict

ROOT = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)
VIEW = (600, 450)
REPEAT = 7            # timed redraws per case and round
BUDGET_MS = 50.0      # the target for 10^6 points (the map redraws at 10 Hz)


# ----------------------------------------------------------------------------- one process

def measure(n: int, repeat: int, planned: bool = True) -> dict:
    """Times (ms) of the redraws of an ``n``-point scatter map with the code importable here."""
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from swmrview.gui.map_drawing import colormap
    from swmrview.gui.map_view import MapView
    from swmrview.model.messages import Axis, ScanInfo, Scatter, Update, frozen
    from swmrview.model.status import LIVE, Status
    from swmrview.model.view_state import ViewState

    app = QApplication.instance() or QApplication([])
    k = np.arange(n)
    phi = np.sqrt(k + 0.5) * np.sqrt(4 * np.pi)
    r = 0.2 / (2 * np.pi) * phi
    x, y = r * np.sin(phi), r * np.cos(phi)
    rng = np.random.default_rng(0)
    rx, ry = x + rng.normal(0, 0.002, n), y + rng.normal(0, 0.002, n)   # where they really were
    values = 100 + 50 * np.sin(3 * rx) * np.cos(2 * ry) + rng.normal(0, 2, n)
    batch = max(n // 100, 10)
    first = n - (repeat + 2) * batch

    def state_with(count: int) -> ViewState:
        scatter = Scatter("sample_x", "sample_y", "mm", "mm", frozen(rx), frozen(ry),
                          frozen(x) if planned else None, frozen(y) if planned else None,
                          (0,), n)
        info = ScanInfo(1, "bench.h5", "keys", (n,), (Axis("sample_x", "mm"),), "/d", ("/d",),
                        (), "f8", {}, scatter=scatter)
        state = ViewState(info)
        add(state, 0, count)
        return state

    def add(state, start: int, stop: int) -> None:
        state.apply(Update(1, Status(LIVE, "live"), positions=k[start:stop, None],
                           values={"sum": values[start:stop]}, new_points=stop - start,
                           frame_position=(stop - 1,)))

    view = MapView()
    view.resize(*VIEW)
    view.show()
    app.processEvents()
    widget = view.plot_widget.viewport()

    def redraw() -> float:
        t0 = time.perf_counter()
        view.refresh()
        widget.repaint()
        return 1000 * (time.perf_counter() - t0)

    cold = []
    for _ in range(2):
        state = state_with(first)
        t0 = time.perf_counter()
        view.set_state(state)
        widget.repaint()
        cold.append(1000 * (time.perf_counter() - t0))
    assert view.scatter_view.active(), "the spiral is not drawn as a scatter map"
    live, at = [], first
    for _ in range(repeat):
        add(state, at, at + batch)
        at += batch
        live.append(redraw())
    idle = [redraw() for _ in range(repeat)]

    # the baseline: bare pyqtgraph drawing the same binned image in a plot of the same size
    size = int(np.clip(1.2 * np.sqrt(at), 8, 1024))
    good = slice(0, at)
    col = np.clip(((rx[good] - rx.min()) / np.ptp(rx) * size).astype(int), 0, size - 1)
    row = np.clip(((ry[good] - ry.min()) / np.ptp(ry) * size).astype(int), 0, size - 1)
    count = np.bincount(row * size + col, minlength=size * size)
    total = np.bincount(row * size + col, weights=values[good], minlength=size * size)
    with np.errstate(invalid="ignore", divide="ignore"):
        image = (total / count).reshape(size, size).astype(np.float32)
    levels = (float(np.nanmin(image)), float(np.nanmax(image)))
    bare = pg.PlotWidget()
    bare.resize(*VIEW)
    item = pg.ImageItem(axisOrder="row-major")
    item.setLookupTable(colormap("viridis").getLookupTable(nPts=256))
    bare.addItem(item)
    bare.show()
    app.processEvents()
    baseline = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        item.setImage(image, autoLevels=False, levels=levels)
        bare.viewport().repaint()
        baseline.append(1000 * (time.perf_counter() - t0))
    drawn = view.scatter_view.items.image.isVisible()
    view.close()
    bare.close()
    return {"n": n, "live": live, "idle": idle, "cold": cold, "bare": baseline,
            "image": bool(drawn)}


# ----------------------------------------------------------------------------- driver

def old_tree(rev: str, into: Path) -> Path | None:
    """The swmrview package of commit ``rev``, unpacked under ``into`` (None if not in git)."""
    archive = into / "old.tar"
    try:
        with open(archive, "wb") as out:
            subprocess.run(["git", "-C", str(ROOT), "archive", rev, "swmrview"], stdout=out,
                           check=True, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"# no 'before' figures: git archive {rev} failed ({exc})")
        return None
    with tarfile.open(archive) as tar:
        tar.extractall(into / "old", filter="data")
    return into / "old"


def run(path: Path, n: int, repeat: int, planned: bool) -> dict:
    env = dict(os.environ, SCATTER_CODE=str(path), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, __file__, "--measure", str(n), "--repeat",
                          str(repeat)] + ([] if planned else ["--no-plan"]), env=env, capture_output=True, text=True, check=True,
                         cwd=str(path))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", default="13c79e4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--no-plan", action="store_true",
                        help="no planned trajectory (nothing pending drawn)")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:   # the code under test first on the path (_common put this checkout)
        code = os.environ.get("SCATTER_CODE", str(ROOT))
        sys.path[:] = [code] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]
        result = measure(args.measure, args.repeat, not args.no_plan)
        import swmrview
        result["code"] = str(Path(swmrview.__file__).resolve().parents[1])
        print(json.dumps(result))
        return
    machine_note()
    print(f"# load average {os.getloadavg()[0]:.2f} at start; plot {VIEW[0]}x{VIEW[1]} "
          f"offscreen; each timed redraw after 1 % of the scan came; {args.rounds} rounds x "
          f"{args.repeat} redraws, before/after in turn; planned trajectory "
          f"{'not known' if args.no_plan else 'known (the points to come drawn faint)'}")
    with tempfile.TemporaryDirectory() as tmp:
        old = old_tree(args.old, Path(tmp))
        results = {}
        for n in SIZES:
            for _ in range(args.rounds):
                for name, path in (("before", old), ("after", ROOT)):
                    if path is not None:
                        got = run(path, n, args.repeat, not args.no_plan)
                        slot = results.setdefault((name, n), {})
                        for key, value in got.items():
                            if isinstance(value, list):
                                slot.setdefault(key, []).extend(value)
                            else:
                                slot[key] = value

    def med(name, n, key):
        got = results.get((name, n))
        return statistics.median(got[key]) if got else float("nan")

    rows = []
    for n in SIZES:
        b, a, bare = med("before", n, "live"), med("after", n, "live"), med("after", n, "bare")
        how = "binned image" if results[("after", n)]["image"] else "symbols"
        rows.append((f"{n:,}", how, b, a, bare, b / a, a / bare))
    table("Redraw after new points (ms, median): MapView.refresh() + repaint",
          ["points", "drawn as", "before", "after", "bare pyqtgraph setImage", "before/after",
           "after/bare"], rows)
    rows = []
    for n in SIZES:
        rows.append((f"{n:,}", med("before", n, "idle"), med("after", n, "idle"),
                     med("before", n, "cold"), med("after", n, "cold"),
                     med("before", n, "idle") / med("after", n, "idle")))
    table("Redraw with nothing new, and the first draw of a scan (ms, median)",
          ["points", "idle before", "idle after", "first before", "first after",
           "idle before/after"], rows)
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")
    top = SIZES[-1]
    verdict(f"redraw of {top:,} points after new ones", f"{med('after', top, 'live'):.1f} ms",
            f"< {BUDGET_MS:.0f} ms", med("after", top, "live") < BUDGET_MS)
    if ("before", top) in results:
        ratio = med("before", top, "live") / med("after", top, "live")
        verdict(f"before / after at {top:,} points", f"{ratio:.1f}x", ">= 2x", ratio >= 2)
    print_verdicts("targets (issue: a window that keeps up with a fast detector, part 4)")


if __name__ == "__main__":
    main()
