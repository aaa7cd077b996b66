"""A q-window map of a finished diffraction scan through the whole ``swmrview`` process, against
a plain loop of pyFAI ``integrate1d`` over the same frames with the same method.

The scans are the simulator's (``--simulate --xrd``: CeO2 and LaB6 rings, a masked gap, hot
pixels at the saturation value) at 1024x1024 and at a Pilatus 2M's 1679x1475, uint32, one frame
per chunk, uncompressed, finished. swmrview is timed as a whole process,
``swmrview SCAN --poni P --settings view.json --exit-on-finish --export-map OUT.csv`` with one
q-window channel, minus its start-up (the same command on a 2-frame scan of the same frames;
the integrator's engine is built in both). The baseline, timed in this process in the same run,
is what a user's script does: open the file, read each frame with h5py and call
``ai.integrate1d(frame, npt, unit="q_nm^-1", method=("bbox", "csr", "cython"), mask=pixel_mask)``
(its engine built before the clock starts); swmrview also leaves each frame's saturated pixels
out. Runs alternate, medians are taken; each CSV is checked against the baseline's window sums.

Run: .venv/bin/python benchmarks/xrd_map.py [--frames 40] [--repeat 3] [--quick]
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
import numpy as np

from _common import idle_cores, machine_note, print_verdicts, table, verdict

ROOT = Path(__file__).resolve().parents[1]
DATA = "/entry/instrument/detector/data"
MASK = "/entry/instrument/detector/pixel_mask"
WINDOW = (19.6, 20.6)
NPT = 1000
SIZES = {"1024x1024": (1024, 1024), "Pilatus 2M (1679x1475)": (1679, 1475)}


def make_scan(folder: Path, name: str, shape: tuple[int, int], n: int) -> tuple[Path, Path]:
    """A finished simulated XRD scan of ``n`` points (1 x n) and its PONI file."""
    from swmrview.tools.simulate import SimConfig, write_scan
    from swmrview.tools.simulate.xrd import write_poni

    path, poni = folder / f"{name}.h5", folder / f"{name}.poni"
    cfg = SimConfig(shape=(1, n), frame=shape, rate=1e6, detector="xrd", fixed_maxshape=True)
    write_poni(poni, shape)
    write_scan(path, cfg)
    return path, poni


def plain_loop(path: Path, poni: Path) -> tuple[float, np.ndarray]:
    """Seconds of reading + integrating every frame in a plain loop; the window sums."""
    import pyFAI

    ai = pyFAI.load(str(poni))
    with h5py.File(path, "r") as f:
        data, mask = f[DATA], f[MASK][()]
        shape = data.shape[-2:]
        ai.integrate1d(np.zeros(shape, np.float32), NPT, unit="q_nm^-1",
                       method=("bbox", "csr", "cython"), mask=mask)   # engine built here
        n = int(np.prod(data.shape[:-2]))
        frames = data.shape[:-2]
        sums = np.empty(n)
        t0 = time.perf_counter()
        for k, index in enumerate(np.ndindex(frames)):
            result = ai.integrate1d(data[index], NPT, unit="q_nm^-1",
                                    method=("bbox", "csr", "cython"), mask=mask)
            inside = (result.radial >= WINDOW[0]) & (result.radial <= WINDOW[1])
            sums[k] = result.intensity[inside].sum()
        return time.perf_counter() - t0, sums


def viewer_seconds(path: Path, poni: Path, settings: Path, out: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "swmrview", str(path), "--poni", str(poni), "--settings",
           str(settings), "--exit-on-finish", "--export-map", str(out)]
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"swmrview failed: {result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150,
                        help="frames per scan (enough that the map outweighs start-up noise)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1024x1024 only, 20 frames")
    args = parser.parse_args()
    from swmrview.core.compute.channels import Channel
    from swmrview.model.view_settings import ViewSettings

    machine_note()
    idle = idle_cores()
    print(f"# idle cores before the run: {idle:.1f}" if idle is not None else "")
    sizes = dict(list(SIZES.items())[:1]) if args.quick else SIZES
    frames = 20 if args.quick else args.frames
    rows = []
    with tempfile.TemporaryDirectory(prefix="swmrview-xrd-bench-") as tmp:
        folder = Path(tmp)
        settings = folder / "view.json"
        ViewSettings(channels=(Channel("CeO2", "q-window", bounds=WINDOW),),
                     shown="CeO2").save(settings)
        for label, shape in sizes.items():
            tag = f"{shape[0]}x{shape[1]}"
            scan, poni = make_scan(folder, f"scan-{tag}", shape, frames)
            small, small_poni = make_scan(folder, f"start-{tag}", shape, 2)
            loops, whole, starts = [], [], []
            for _ in range(args.repeat):
                seconds, sums = plain_loop(scan, poni)
                loops.append(seconds)
                out = folder / f"{tag}.csv"
                whole.append(viewer_seconds(scan, poni, settings, out))
                starts.append(viewer_seconds(small, small_poni, settings, folder / "s.csv"))
                got = np.loadtxt(out, delimiter=",", comments="#").ravel()
                # swmrview also leaves the hot (saturated) pixels out: close, not equal
                assert np.allclose(got, sums, rtol=0.05), (got[:3], sums[:3])
            loop = statistics.median(loops)
            net = statistics.median(whole) - statistics.median(starts)
            if net <= 0.2 * loop:   # start-up varied more than the whole map took
                print(f"# {label}: too noisy (net {net:.2f} s); run with more --frames")
                continue
            ratio = net / loop
            rows.append((label, frames, f"{loop:.2f}", f"{frames / loop:.1f}",
                         f"{statistics.median(whole):.2f}", f"{statistics.median(starts):.2f}",
                         f"{net:.2f}", f"{frames / net:.1f}", f"{ratio:.2f}x"))
            verdict(f"q-window map {label}, swmrview vs integrate1d loop", f"{ratio:.2f}x",
                    "<= 1.3x", ratio <= 1.3)
    table("q-window map of a finished XRD scan (seconds, medians)",
          ["frames", "n", "loop s", "loop fr/s", "swmrview s", "start-up s", "net s",
           "net fr/s", "ratio"], rows)
    print_verdicts("issue 17 targets (time, same-run ratio)")


if __name__ == "__main__":
    main()
