"""The map of a finished scan as a user gets it: the whole ``swmrview`` process, against h5py.

``swmrview FILE --exit-on-finish --export-map OUT.csv`` is timed as a whole process (Qt,
opening, reading, reducing, the window applying every update, the CSV) on a finished scan of
1024x1024 uint16 frames, one frame per chunk, uncompressed and bitshuffle/LZ4. The start-up
(the same command on a 2-frame file of the same frames) is subtracted, and what is left is set
against single-threaded h5py ``read_direct`` of every frame into one preallocated frame, timed
in this process in the same run (the files are in the page cache, as a file being written is).
Runs rotate through the methods, so a burst of another job hits them alike; medians are taken.

Then a thread-scaling table (``--threads 1`` and ``2``), and the map shown as ``--reduce max``
(the max map costs a pass over each frame only while it is shown, exported or kept). Each
CSV is checked against numpy's sums (or maxima) of the same frames.

Run: .venv/bin/python benchmarks/map_end_to_end.py [--frames 300] [--repeat 5] [--quick]
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

from _common import idle_cores, machine_note, print_verdicts, table, verdict

SHAPE = (1024, 1024)
ROOT = Path(__file__).resolve().parents[1]


def write_scan(path: Path, n: int, compression: dict) -> np.ndarray:
    """n detector-like frames (spot + Poisson background), one per chunk, as a finished file
    without keys (a complete scan of n points); returns the frames' (sum, max) per point."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    templates = []
    for k in range(8):
        spot = 3000 * np.exp(-((yy - SHAPE[0] // 3 - 50 * k) ** 2 + (xx - SHAPE[1] // 2) ** 2)
                             / (2 * 40.0**2))
        templates.append((rng.poisson(20, SHAPE) + spot).astype(np.uint16))
    with h5py.File(path, "w", libver="latest") as f:
        data = f.create_dataset("data/images", shape=(n,) + SHAPE, chunks=(1,) + SHAPE,
                                dtype=np.uint16, **compression)
        for i in range(n):
            data[i] = templates[i % len(templates)]
    sums = np.array([t.sum(dtype=np.float64) for t in templates])
    tops = np.array([float(t.max()) for t in templates])
    order = np.arange(n) % len(templates)
    return np.stack([sums[order], tops[order]])


def read_direct_seconds(path: Path) -> float:
    """Seconds to read every frame once with single-threaded h5py ``read_direct``."""
    with h5py.File(path, "r") as f:
        data = f["data/images"]
        frame = np.empty(SHAPE, np.uint16)
        t0 = time.perf_counter()
        for i in range(data.shape[0]):
            data.read_direct(frame, np.s_[i])
        return time.perf_counter() - t0


def viewer_seconds(path: Path, out: Path, *options: str) -> float:
    """Wall seconds of the whole ``swmrview PATH --exit-on-finish --export-map OUT`` process."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(out.parent),
               XDG_CONFIG_HOME=str(out.parent / "config"), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "swmrview", str(path), "--exit-on-finish",
           "--export-map", str(out), *options]
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stderr}")
    out.with_suffix(".log").write_text(result.stderr)
    return seconds


def contention() -> str:
    idle = idle_cores(0.5)
    text = f"load average {os.getloadavg()[0]:.2f}"
    return text + (f", {idle:.2f} of {os.cpu_count()} cores idle" if idle is not None else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 frames, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.repeat = 100, 3
    machine_note()
    print(f"# before the run: {contention()}")
    files = {"uncompressed": {}, "bitshuffle-lz4": hdf5plugin.Bitshuffle()}
    with tempfile.TemporaryDirectory(prefix="swmrview-e2e-") as tmp:
        tmp = Path(tmp)
        paths, expected = {}, {}
        for name, compression in files.items():
            paths[name] = tmp / f"{name}.h5"
            expected[name] = write_scan(paths[name], args.frames, compression)
            write_scan(tmp / f"{name}-tiny.h5", 2, compression)
        size = {n: p.stat().st_size / 1e6 for n, p in paths.items()}
        print(f"# {args.frames} frames of {SHAPE[0]}x{SHAPE[1]} uint16, one per chunk: "
              + ", ".join(f"{n} {s:.0f} MB" for n, s in size.items())
              + f"; median of {args.repeat} runs, methods in turn")
        # (label, file, options, what the CSV holds); t2 is the default on 2 cores
        # --reduce sum: the map shown last time persists in the settings (max after those runs)
        runs = [(f"swmrview t{t}", name, ("--threads", str(t), "--reduce", "sum"), 0)
                for name in files for t in (1, 2)]
        runs += [("swmrview t2 --reduce max", name, ("--threads", "2", "--reduce", "max"), 1)
                 for name in files]
        times: dict[tuple, list[float]] = {}
        base: dict[str, list[float]] = {n: [] for n in files}
        startup: dict[str, list[float]] = {n: [] for n in files}
        for rep in range(args.repeat + 1):   # the first pass warms the page cache: not kept
            for name in files:
                out = tmp / f"{name}-tiny.csv"
                s = viewer_seconds(tmp / f"{name}-tiny.h5", out, "--threads", "2")
                r = read_direct_seconds(paths[name])
                if rep:
                    startup[name].append(s)
                    base[name].append(r)
            for label, name, options, row in runs:
                out = tmp / f"{name}-{len(times)}.csv"
                seconds = viewer_seconds(paths[name], out, *options)
                values = np.loadtxt(out, delimiter=",", comments="#")
                if not np.array_equal(values, expected[name][row]):
                    bad = np.flatnonzero(values != expected[name][row])
                    raise AssertionError(
                        f"{label} on {name}: the map differs from numpy's at points "
                        f"{bad[:10].tolist()}: {values[bad[:10]].tolist()} instead of "
                        f"{expected[name][row][bad[:10]].tolist()}; {out.read_text()[:200]}"
                        "; the viewer said:\n"
                        + out.with_suffix(".log").read_text()[-3000:])
                if rep:
                    times.setdefault((label, name), []).append(seconds)
        print(f"# after the runs: {contention()}")

        rows, ratios = [], {}
        for name in files:
            rd = statistics.median(base[name])
            st = statistics.median(startup[name])
            rows.append((f"read_direct (in process)", name, rd * 1e3, float("nan"),
                         args.frames / rd, 1.0))
            rows.append(("swmrview, 2-frame file (start-up)", name, st * 1e3, float("nan"),
                         float("nan"), float("nan")))
            for label, fname in times:
                if fname != name:
                    continue
                whole = statistics.median(times[(label, name)])
                net = whole - st
                ratios[(label, name)] = net / rd
                rows.append((label, name, whole * 1e3, net * 1e3, args.frames / net, net / rd))
        table("the map of a finished scan, whole process, start-up subtracted",
              ["method", "file", "whole ms", "net ms", "frames/s", "net / read_direct"], rows)

        scaling = []
        for name in files:
            t1 = ratios[("swmrview t1", name)]
            t2 = ratios[("swmrview t2", name)]
            scaling.append((name, t1, t2, t1 / t2))
        table("thread scaling (--threads), net time / read_direct",
              ["file", "t1", "t2", "speed t2 / t1"], scaling)

        unc = ratios[("swmrview t2", "uncompressed")]
        bs = ratios[("swmrview t2", "bitshuffle-lz4")]
        verdict("uncompressed map, whole process vs read_direct", f"{unc:.2f}x", "<= 1.2x",
                unc <= 1.2)
        verdict("bitshuffle map, whole process vs read_direct", f"{bs:.2f}x", "<= 0.77x",
                bs <= 0.77)
        print_verdicts("issue targets (time, same-run ratio)")


if __name__ == "__main__":
    main()
