"""What map channels cost: element windows and I0 normalisation on a simulated XRF scan.

A finished XRF scan from `swmrview.tools.simulate` (4 detector elements x 4096 channels, uint32, one
frame per chunk, in the page cache; an I0 counter per point) is read in the session's blocks
(about 32 MB of frames per `read_reduce` call, as `OpenScan.batch`), every frame once:

- ``read_direct``: plain h5py into one preallocated frame, single-threaded. The baseline.
- ``built-ins tN``: `ReducePipeline.read_reduce`, sum/mean/max/roi only, N threads.
- ``+4 windows tN``: the same pass also computes 4 energy-window channels (Ca, Fe, Cu, Zn
  K-alpha +- 0.15 keV, about 60 channels, over all 4 elements).
- ``+4 windows, Fe/I0 tN``: as the session does per block: the channels' reducers from
  `swmrview.session.channels.ChannelSet`, then `ChannelSet.finish`, which reads the I0 counter
  (a dataset of its own) and divides one channel by it.
- ``1 channel later tN``: a channel added after the points were read, computed alone over
  all of them (``builtin=False``); to compare with reading everything again with every
  reduction (the ``+4 windows`` row).

Then the reducers alone on one in-memory frame: a `ChannelReducer` window (60 channels x 4
elements) against `FrameReducer` over the whole XRF frame, and rectangle / polygon channels on a
1024x1024 uint16 image against the whole-frame reductions: a channel only looks at its region.

Run: .venv/bin/python benchmarks/channels.py [--shape 40x50] [--repeat 7] [--quick]
     [--compression bitshuffle]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from typing import Any
from collections.abc import Callable, Iterator
from pathlib import Path

import _common  # noqa: F401  (sys.path, offscreen)
import h5py
import numpy as np
from _common import machine_note, median_time, print_verdicts, table, verdict

from swmrview.tools.simulate import xrf as sim_xrf
from swmrview.core.compute.channels import Channel, ChannelReducer
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.compute.reduce import FrameReducer
from swmrview.session.channels import ChannelSet, spectrum_axis
from swmrview.tools.simulate import I0_PATH, NXDATA_PATH, SimConfig, write_scan

THREADS = (1, 2)
HALF_WIDTH = 0.15   # keV each side of a K-alpha line: 60 channels of 5 eV
ELEMENTS = ("Ca", "Fe", "Cu", "Zn")


def windows(monitor: str | None = None) -> list[Channel]:
    """The 4 K-alpha window channels over every detector element (Fe divided by ``monitor``)."""
    out = []
    for name in ELEMENTS:
        line = sim_xrf.LINES[name][0][0]
        out.append(Channel(name, "window", bounds=(line - HALF_WIDTH, line + HALF_WIDTH),
                           monitor=monitor if name == "Fe" else None))
    return out


def contention() -> str:
    """Load average (other agents share the cores)."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


class Scan:
    """The open scan and what each method needs (one pipeline per thread count, kept)."""

    def __init__(self, path: Path) -> None:
        self.file = h5py.File(path, "r", swmr=True)
        self.data = self.file[f"{NXDATA_PATH}/data"]   # the NXdata signal (energy axis)
        self.rank = self.data.ndim - 2
        self.frame_shape = self.data.shape[self.rank:]
        self.positions = np.array(list(np.ndindex(*self.data.shape[: self.rank])), dtype=np.int64)
        frame_bytes = int(np.prod(self.frame_shape)) * self.data.dtype.itemsize
        self.batch = int(np.clip((32 << 20) // frame_bytes, 4, 4096))  # as OpenScan.batch
        axis = spectrum_axis(self.data)
        self.energy = None if axis is None else axis.values
        assert self.energy is not None, "the simulated XRF scan has an energy axis"
        self.pipes = {t: ReducePipeline(self.data, self.rank, threads=t) for t in THREADS}
        assert all(p.direct for p in self.pipes.values()), "expected direct chunk reads"
        self.reducers = {c.name: ChannelReducer(c, self.frame_shape, energy=self.energy)
                         for c in windows()}
        self.late = {"Fe": self.reducers["Fe"]}
        self.chans = ChannelSet(self.file, self.rank)
        changed, refused = self.chans.set(windows(monitor=I0_PATH), self.frame_shape, None,
                                          None, self.energy)
        assert not refused and len(changed) == 4, refused

    def blocks(self, n: int) -> Iterator[np.ndarray]:
        """The first ``n`` positions in blocks of the session's size."""
        for start in range(0, n, self.batch):
            yield self.positions[start:min(n, start + self.batch)]

    def close(self) -> None:
        """Stop the pipelines and close the file."""
        self.chans.close()
        for pipe in self.pipes.values():
            pipe.close()
        self.file.close()


def methods(scan: Scan) -> dict[str, Callable[[np.ndarray], object]]:
    """Name -> what the method does with one block of points (one `read_reduce` call)."""
    def read_direct(block: np.ndarray) -> None:
        out = np.empty((1,) * scan.rank + scan.frame_shape, scan.data.dtype)
        for p in block:
            scan.data.read_direct(out, tuple(slice(i, i + 1) for i in p))

    def pipeline(threads: int, extra, builtin: bool = True, finish: bool = False):
        pipe = scan.pipes[threads]

        def run(block: np.ndarray) -> None:
            pipe.refresh()
            reducers = scan.chans.main_reducers() if finish else extra
            reduced, _ = pipe.read_reduce([tuple(p) for p in block], extra=reducers,
                                          builtin=builtin)
            if finish:
                late = scan.chans.finish(block, reduced)
                assert not late.any() and np.isfinite(reduced["Fe"]).all()
        return run

    out: dict[str, Callable[[np.ndarray], object]] = {"read_direct": read_direct}
    for t in THREADS:
        out[f"built-ins t{t}"] = pipeline(t, None)
        out[f"+4 windows t{t}"] = pipeline(t, scan.reducers)
        out[f"+4 windows, Fe/I0 t{t}"] = pipeline(t, None, finish=True)
        out[f"1 channel later t{t}"] = pipeline(t, scan.late, builtin=False)
    return out


def measure(scan: Scan, repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds per point of each method over every (pass, block).

    Every block is read by every method in turn before the next block (the order rotating
    from block to block), so a burst of another job's work hits all methods alike and only
    spoils a few of the many samples the median is taken over.
    """
    runs = methods(scan)
    names = list(runs)
    blocks = list(scan.blocks(len(scan.positions)))
    wall: dict[str, list[float]] = {m: [] for m in runs}
    cpu: dict[str, list[float]] = {m: [] for m in runs}
    for run in runs.values():   # warm the page cache, pools and buffers
        run(blocks[0][:64])
    turn = 0
    for _ in range(repeat):
        for block in blocks:
            turn += 1
            for name in names[turn % len(names):] + names[: turn % len(names)]:
                c0, t0 = time.process_time(), time.perf_counter()
                runs[name](block)
                wall[name].append((time.perf_counter() - t0) / len(block))
                cpu[name].append((time.process_time() - c0) / len(block))
    return ({m: statistics.median(v) for m, v in wall.items()},
            {m: statistics.median(v) for m, v in cpu.items()})


def _h5py_rows_time(scan: Scan, rows: slice, fe: np.ndarray, repeat: int) -> tuple[float, Any]:
    """Per call, h5py reading I0's ``rows`` in one call and dividing; and I0's chunks. The
    handle is closed on return: HDF5 refuses reads of a dataset refreshed while another
    handle of it is open, and the channel set refreshes its own (the session holds only that
    one)."""
    i0 = scan.file[I0_PATH]

    def h5py_rows() -> None:
        np.divide(fe, i0[rows].reshape(-1)[: len(fe)])

    return median_time(h5py_rows, repeat=max(5, 3 * repeat)), i0.chunks


def monitor_report(scan: Scan, repeat: int) -> float:
    """The I0 read and division of `ChannelSet.finish` alone, per point, against h5py reading
    the same rows of I0 in one call; returns the ratio."""
    block = scan.positions[: scan.batch]
    rows = slice(int(block[0, 0]), int(block[-1, 0]) + 1)
    fe = np.ones(len(block))

    def finish() -> None:
        scan.chans.finish(block, {"Fe": fe.copy()}, names=["Fe"])

    h5py_time, chunks = _h5py_rows_time(scan, rows, fe, repeat)
    gc.collect()
    times = {"h5py I0[rows] + divide": h5py_time / len(block),
             "ChannelSet.finish (Fe / I0)": median_time(finish, repeat=max(5, 3 * repeat))
             / len(block)}
    base = times["h5py I0[rows] + divide"]
    table(f"the monitor alone: I0 read and divide, {len(block)} points "
          f"(I0 chunks {chunks})", ["method", "us/point", "time / h5py"],
          [(name, 1e6 * t, t / base) for name, t in times.items()])
    return times["ChannelSet.finish (Fe / I0)"] / base


def check_values(scan: Scan) -> None:
    """The channels the benchmark times give the values of a plain numpy pass (so the timed
    code does the real work)."""
    block = scan.positions[: min(len(scan.positions), 32)]
    reduced, _ = scan.pipes[1].read_reduce([tuple(p) for p in block], extra=scan.reducers)
    scan.chans.finish(block, {k: v.copy() for k, v in reduced.items()})
    for k, p in enumerate(block):
        frame = scan.data[tuple(p)]
        for name, reducer in scan.reducers.items():
            lo, hi = reducer.channel.bounds
            inside = (scan.energy >= lo) & (scan.energy <= hi)
            assert reduced[name][k] == frame[:, inside].sum(), name


def scan_report(title: str, wall: dict[str, float], cpu: dict[str, float]) -> dict[str, float]:
    base = wall["read_direct"]
    rows = []
    for name, t in wall.items():
        threads = name.rsplit("t", 1)[1] if name != "read_direct" else None
        builtins = wall.get(f"built-ins t{threads}") if threads else None
        cpu_builtins = cpu.get(f"built-ins t{threads}") if threads else None
        rows.append((name, 1e6 * t, t / base, t / builtins if builtins else float("nan"),
                     1e6 * cpu[name], cpu[name] / cpu_builtins if cpu_builtins else float("nan"),
                     cpu[name] / t))
    table(title, ["method", "us/point", "time / read_direct", "time / built-ins (same tN)",
                  "CPU us/point", "CPU / built-ins", "cores busy"], rows)
    return {name: t / base for name, t in wall.items()}


def frame_report(repeat: int) -> dict[str, float]:
    """The reducers alone on one in-memory frame: seconds per frame by reduction name."""
    rng = np.random.default_rng(0)
    energy = sim_xrf.energy_axis(4096)
    spectrum = rng.poisson(5, (4, 4096)).astype(np.uint32)
    fe = ChannelReducer(windows()[1], spectrum.shape, energy=energy)
    whole_xrf = FrameReducer(spectrum.shape)
    everything = ChannelReducer(Channel("all", "window", bounds=(0, sim_xrf.ENERGY_MAX)),
                                spectrum.shape, energy=energy)
    image = rng.poisson(20, (1024, 1024)).astype(np.uint16)
    whole_image = FrameReducer(image.shape)

    def polygon(cx: float, cy: float, r: float) -> Channel:
        angles = np.linspace(0, 2 * np.pi, 7)[:-1]
        return Channel("poly", "polygon",
                       polygon=tuple((cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles))

    small = ChannelReducer(polygon(400, 500, 64), image.shape)       # 128x~111 box
    large = ChannelReducer(polygon(512, 512, 450), image.shape)      # 900x~780 box
    rect = ChannelReducer(Channel("rect", "rect", bounds=(300, 556, 300, 556)), image.shape)
    number = 20
    cases = [
        ("XRF 4x4096 uint32", "FrameReducer (whole frame)", lambda: whole_xrf(spectrum)),
        ("XRF 4x4096 uint32", "numpy frame.sum()", lambda: spectrum.sum(dtype=np.uint64)),
        ("XRF 4x4096 uint32", "window 60 ch x 4 elements", lambda: fe(spectrum)),
        ("XRF 4x4096 uint32", "window 4096 ch x 4 elements", lambda: everything(spectrum)),
        ("image 1024x1024 uint16", "FrameReducer (whole frame)", lambda: whole_image(image)),
        ("image 1024x1024 uint16", "numpy frame.sum()", lambda: image.sum(dtype=np.uint64)),
        ("image 1024x1024 uint16", "rect 256x256", lambda: rect(image)),
        ("image 1024x1024 uint16", "hexagon r=64 (box 128x111)", lambda: small(image)),
        ("image 1024x1024 uint16", "hexagon r=450 (box 900x780)", lambda: large(image)),
    ]
    times = {(f, m): median_time(fn, repeat=max(5, 3 * repeat), number=number)
             for f, m, fn in cases}
    rows = []
    for (f, m), t in times.items():
        base = times[(f, "FrameReducer (whole frame)")]
        rows.append((f, m, 1e6 * t, t / base))
    table(f"reducers alone on one in-memory frame (median of {max(5, 3 * repeat)} x {number})",
          ["frame", "reduction", "us/frame", "time / FrameReducer"], rows)
    return {m if "FrameReducer" not in m else f"{m}, {f.split()[0]}": t
            for (f, m), t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="40x50", help="scan shape ROWSxCOLS (default 40x50)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compression", choices=("bitshuffle", "blosc"), default=None,
                        help="compress the frames as the simulator can (default: none)")
    parser.add_argument("--quick", action="store_true", help="a 10x20 scan, 3 passes")
    args = parser.parse_args()
    if args.quick:
        args.shape, args.repeat = "10x20", 3
    shape = tuple(int(v) for v in args.shape.lower().split("x"))
    machine_note()
    print(f"# before the run: {contention()}; the machine is shared with other jobs, so single "
          "figures move by 20-30 % between runs: read the ratios")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "xrf.h5"
        cfg = SimConfig(shape=shape, detector="xrf", elements=4, channels=4096, rate=1e6,
                        compression=args.compression)
        t0 = time.perf_counter()
        write_scan(path, cfg)
        size = path.stat().st_size / 1e6
        scan = Scan(path)
        try:
            print(f"# XRF scan {'x'.join(map(str, shape))} = {cfg.n_points} points of "
                  f"{scan.frame_shape} uint32, {args.compression or 'uncompressed'}, file "
                  f"{size:.0f} MB (written in {time.perf_counter() - t0:.1f} s); blocks of "
                  f"{scan.batch} points per read_reduce; median over {args.repeat} passes x "
                  f"{-(-cfg.n_points // scan.batch)} blocks, each block read by every method "
                  "in turn; 'cores busy' = process CPU time / wall time")
            check_values(scan)
            wall, cpu = measure(scan, args.repeat)
            print(f"# after the scan passes: {contention()}")
            ratio = scan_report(f"XRF scan {args.shape}, every point once (channels computed "
                                "in the same pass as the built-ins)", wall, cpu)
            monitor = monitor_report(scan, args.repeat)
        finally:
            scan.close()
    alone = frame_report(args.repeat)
    frame = {m: t / alone["FrameReducer (whole frame), " + ("XRF" if "window" in m else "image")]
             for m, t in alone.items() if "FrameReducer" not in m}

    def share(a: str, b: str, t: int) -> str:
        return (f"{100 * (wall[f'{a} t{t}'] / wall[f'{b} t{t}'] - 1):+.0f} % wall, "
                f"{100 * (cpu[f'{a} t{t}'] / cpu[f'{b} t{t}'] - 1):+.0f} % CPU")

    for t in THREADS:
        later = wall[f"1 channel later t{t}"] / wall[f"+4 windows t{t}"]
        guess = 4 * alone["window 60 ch x 4 elements"] / cpu[f"built-ins t{t}"]
        print(f"t{t}: 4 window channels add {share('+4 windows', 'built-ins', t)} to the built-ins; "
              f"reading I0 and dividing by it adds {share('+4 windows, Fe/I0', '+4 windows', t)} "
              f"more; adding 1 channel later over all points takes {later:.2f}x the time of "
              f"reading them again with every reduction (the window reducer alone on an "
              f"in-memory frame predicts +{100 * guess:.0f} % CPU for the 4 windows)")
    win = frame["window 60 ch x 4 elements"]
    win_all = win / frame["window 4096 ch x 4 elements"]
    print(f"ChannelSet.finish reads and divides by I0 at {monitor:.0f}x the time of h5py reading "
          "the same rows in one call (one box read per block, plus the refresh and the division)")
    print(f"a 60-channel x 4-element window costs {win:.2f}x FrameReducer on the whole XRF frame "
          f"and {win_all:.2f}x the same window over all 4096 channels; "
          f"a hexagon over a 128x111 box {frame['hexagon r=64 (box 128x111)']:.2f}x, over a "
          f"900x780 box {frame['hexagon r=450 (box 900x780)']:.2f}x FrameReducer on the image")

    verdict("4 windows vs built-ins, t1", f"{wall['+4 windows t1'] / wall['built-ins t1']:.2f}x",
            "<= 1.25x", wall["+4 windows t1"] <= 1.25 * wall["built-ins t1"])
    verdict("4 windows + Fe/I0 vs read_direct, t2", f"{ratio['+4 windows, Fe/I0 t2']:.2f}x",
            "<= 1.5x", ratio["+4 windows, Fe/I0 t2"] <= 1.5)
    verdict("1 channel later vs all again, t1",
            f"{wall['1 channel later t1'] / wall['+4 windows t1']:.2f}x", "< 1x",
            wall["1 channel later t1"] < wall["+4 windows t1"])
    verdict("window 60x4 vs window 4096x4 (XRF frame)", f"{win_all:.2f}x", "<= 0.5x",
            win_all <= 0.5)
    small = frame["hexagon r=64 (box 128x111)"]
    verdict("hexagon in 128x111 box vs FrameReducer (image)", f"{small:.2f}x", "<= 0.1x",
            small <= 0.1)
    print_verdicts("channel cost checks (expectations of this design, not SPEC targets)")


if __name__ == "__main__":
    main()
