"""The window against a fast detector, end to end: the real ``swmrview`` in a real X window.

A simulator process (``swmrview --simulate``) writes 2048x2048 uint16 frames as fast as it can
(bitshuffle/LZ4, then uncompressed). Three runs of each, rotated so a burst of another job hits
them alike:

- **writer alone**: how long the writer takes with nobody reading (the baseline);
- **viewer**: ``swmrview FILE --exit-on-finish --stats OUT.json`` on an Xvfb screen, started as
  the writer starts. The ``--stats`` file gives the GUI event-loop lateness (a 10 ms timer on the
  GUI thread), frames drawn per second and key-to-screen times; the writer's own time is set
  against the writer alone;
- **clicks**: the same, while ``xdotool`` clicks map points every 0.4 s; ``--stats`` gives the
  time from each click to its frame on screen (``click_to_frame_*``).

Needs Debian's ``xvfb`` (with ``libxcb-icccm4 libxcb-keysyms1``) and ``xdotool``.

Run: .venv/bin/python benchmarks/fast_writer.py [--shape 30x20] [--repeat 3]
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path)

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_note, print_verdicts, table, verdict

SWMRVIEW = [sys.executable, "-m", "swmrview"]
ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))   # this checkout's swmrview in every process


class Screen:
    """An Xvfb display for the runs (one for all: starting one costs a second)."""

    def __init__(self, number: int = 97) -> None:
        self.display = f":{number}"
        self.proc = subprocess.Popen(["Xvfb", self.display, "-screen", "0", "1600x1000x24",
                                      "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        self.env = dict(ENV, DISPLAY=self.display)
        self.env.pop("QT_QPA_PLATFORM", None)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def writer(path: Path, args) -> subprocess.Popen:
    return subprocess.Popen(SWMRVIEW + ["--simulate", str(path), "--shape", args.shape,
                                        "--frame", "2048x2048", "--rate", "100000",
                                        "--compression", args.compression],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def timed_writer(path: Path, args) -> float:
    start = time.monotonic()
    proc = writer(path, args)
    _, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"writer failed: {err}")
    return time.monotonic() - start


def click_map(screen: Screen, viewer: subprocess.Popen) -> None:
    """Click points of the map every 0.4 s until ``viewer`` exits (the window is found by
    its title; a click that misses the acquired points asks for nothing and is not counted)."""
    win = None
    while viewer.poll() is None and win is None:
        out = subprocess.run(["xdotool", "search", "--name", " - swmrview$"], env=screen.env,
                             capture_output=True, text=True)
        win = out.stdout.split()[0] if out.stdout.split() else None
        time.sleep(0.2)
    if win is None:
        return
    geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", win], env=screen.env,
                         capture_output=True, text=True).stdout
    g = dict(line.split("=") for line in geo.split())
    x, y, w, h = (int(g[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
    # the map's plot in the window's default layout (frame | histogram | map | channels)
    spots = [(x + int(w * fx), y + int(h * fy)) for fy in (0.40, 0.47, 0.54)
             for fx in (0.54, 0.60, 0.66)]
    i = 0
    time.sleep(1.5)   # some points acquired first
    while viewer.poll() is None:
        sx, sy = spots[i % len(spots)]
        subprocess.run(["xdotool", "mousemove", str(sx), str(sy), "click", "1"],
                       env=screen.env, capture_output=True)
        i += 1
        time.sleep(0.4)


def viewer_run(screen: Screen, path: Path, args, clicks: bool) -> tuple[float, dict]:
    stats = path.with_suffix(".json")
    start = time.monotonic()
    w = writer(path, args)
    deadline = time.monotonic() + 20
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)   # the file's layout written: the viewer opens a scan, not a stub
    v = subprocess.Popen(SWMRVIEW + [str(path), "--exit-on-finish", "--stats", str(stats)],
                         env=screen.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    if clicks:
        click_map(screen, v)
    _, err = w.communicate(timeout=600)
    written = time.monotonic() - start
    v.communicate(timeout=600)
    if w.returncode != 0 or not stats.exists():
        raise SystemExit(f"run failed: writer {w.returncode} {err}")
    return written, json.loads(stats.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="30x20", help="scan shape (default 30x20: 600 frames)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compression", default=None,
                        help="one compression only (default: bitshuffle, then none)")
    opts = parser.parse_args()
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install xvfb xdotool)")
    machine_note()
    screen = Screen()
    try:
        for compression in ([opts.compression] if opts.compression else ["bitshuffle", "none"]):
            opts.compression = compression
            alone, live, clicked = [], [], []
            with tempfile.TemporaryDirectory() as tmp:
                for r in range(opts.repeat):
                    for kind in ("alone", "viewer", "clicks"):
                        path = Path(tmp) / f"{kind}{r}.h5"
                        if kind == "alone":
                            alone.append(timed_writer(path, opts))
                        else:
                            out = viewer_run(screen, path, opts, clicks=kind == "clicks")
                            (live if kind == "viewer" else clicked).append(out)
                        path.unlink()
            report(compression, opts.shape, alone, live, clicked)
    finally:
        screen.close()
    print_verdicts("Issue 16 targets (fast 2048x2048 writer, real window on Xvfb)")


def med(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def report(compression: str, shape: str, alone: list[float], live: list, clicked: list) -> None:
    stats = [s for _, s in live]
    writer_alone = statistics.median(alone)
    writer_viewed = statistics.median(t for t, _ in live)
    rows = [
        ("writer time (s), alone / with viewer", f"{writer_alone:.2f} / {writer_viewed:.2f}",
         f"{writer_viewed / writer_alone:.2f}x"),
        ("event loop late p50 (ms)", med(stats, "event_loop_late_ms_p50"), ""),
        ("event loop late p99 (ms)", med(stats, "event_loop_late_ms_p99"), ""),
        ("event loop late max (ms)", med(stats, "event_loop_late_ms_max"), ""),
        ("stalls over 50 ms", med(stats, "event_loop_stalls_over_50ms"), ""),
        ("frames drawn per s", med(stats, "frames_per_s"), ""),
        ("points read per s", med(stats, "points_per_s"), ""),
        ("key to screen median / p90 (ms)",
         f"{med(stats, 'key_to_screen_ms_median'):.0f} / {med(stats, 'key_to_screen_ms_p90'):.0f}",
         ""),
        ("click to frame median / max (ms)",
         f"{med([s for _, s in clicked], 'click_to_frame_ms_median'):.0f} / "
         f"{med([s for _, s in clicked], 'click_to_frame_ms_max'):.0f}",
         f"{sum(s['click_to_frame_count'] for _, s in clicked)} clicks"),
    ]
    table(f"{compression}, {shape} points of 2048x2048 uint16, medians of {len(alone)} runs",
          ["figure", "value", "note"], rows)
    p99 = med(stats, "event_loop_late_ms_p99")
    verdict(f"event loop p99 ({compression})", f"{p99:.1f} ms", "< 50 ms", p99 < 50)
    click = med([s for _, s in clicked], "click_to_frame_ms_median")
    verdict(f"click to frame median ({compression})", f"{click:.0f} ms", "< 100 ms", click < 100)
    slow = writer_viewed / writer_alone
    verdict(f"writer slowed ({compression})", f"{(slow - 1) * 100:+.0f} %", "<= +10 %",
            slow <= 1.10)


if __name__ == "__main__":
    main()
