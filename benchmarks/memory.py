"""Peak memory while following scans of 10^3 and 10^5 points: bounded by the map?

Each measurement runs in a fresh child process: it opens a scan of 16x16 uint16 frames (SWMR,
keys all set, finished), resets the kernel's peak-RSS counter, then follows every point with a
DataSource and places each frame's reductions in a `ScanMap`. The growth of peak RSS (VmHWM)
is compared with the map's own bytes (4 float64 reductions + a filled flag per point). The
baseline is swmr_tools 0.9.0's DataSource feeding the same ScanMap; two more rows split
swmrview's figure into the key follower alone and plain h5py reads of every frame (HDF5's
metadata cache, which levels off). The ScanMap is allocated in every row.

Run: /work/venv/bin/python benchmarks/memory.py
"""

from __future__ import annotations

import _common  # noqa: F401  (sys.path, offscreen)

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from _common import machine_note, print_verdicts, table, verdict

FRAME = (16, 16)
SIZES = (10**3, 10**5, 3 * 10**5)
LIBRARIES = ("swmrview", "swmr_tools", "only KeyFollower (swmrview)", "only h5py reads")


def write_scan(path: Path, n: int) -> None:
    frames = np.random.default_rng(0).integers(0, 1000, (n,) + FRAME, dtype=np.uint16)
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("data", data=frames, maxshape=(None,) + FRAME, chunks=(1,) + FRAME)
        f.create_dataset("keys", data=np.arange(1, n + 1, dtype=np.int32), maxshape=(None,),
                         chunks=(4096,))
        f.create_dataset("finished", data=np.ones(1, np.int32), maxshape=(None,), chunks=(1,))
        f.swmr_mode = True


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(library: str, path: str, n: int) -> None:
    """Follow the scan once and print a JSON line of memory figures (runs in a fresh process)."""
    import swmr_tools

    from swmrview.core import DataSource
    from swmrview.core.compute.reduce import reduce_frame
    from swmrview.core.compute.scanmap import ScanMap

    from swmrview.core import KeyFollower

    with h5py.File(path, "r", swmr=True) as f:
        keys, data, finished = [f["keys"]], {"d": f["data"]}, f["finished"]
        if library.startswith("swmrview"):
            source = DataSource(keys, data, timeout=5, finished_dataset=finished)
        elif library == "swmr_tools":
            source = swmr_tools.DataSource(keys, data, timeout=5, finished_dataset=finished)
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        start = status_kb("VmRSS")
        t0 = time.perf_counter()
        scan_map = ScanMap((n,))
        if library.startswith("only KeyFollower"):
            count = sum(1 for _ in KeyFollower(keys, timeout=5, finished_dataset=finished))
            assert count == n
        elif library.startswith("only h5py"):
            for i in range(n):
                data["d"][i:i + 1]
        else:
            for point in source:
                scan_map.set((point.index,), reduce_frame(point["d"]))
            assert scan_map.n_filled == n, scan_map.n_filled
        elapsed = time.perf_counter() - t0
        map_bytes = sum(a.nbytes for a in scan_map.values.values()) + scan_map.filled.nbytes
        print(json.dumps({"growth_kb": status_kb("VmHWM") - start, "map_bytes": map_bytes,
                          "seconds": elapsed}))


def measure(library: str, path: Path, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", library, str(path), str(n)],
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    machine_note()
    print(f"# 1-D scans of {FRAME[0]}x{FRAME[1]} uint16 frames; each figure from a fresh "
          f"process; growth = VmHWM after following - VmRSS before")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            path = Path(tmp) / f"scan_{n}.h5"
            write_scan(path, n)
            for library in LIBRARIES:
                results[library, n] = measure(library, path, n)
    rows = []
    for library in LIBRARIES:
        for n in SIZES:
            r = results[library, n]
            growth, map_mb = r["growth_kb"] / 1024, r["map_bytes"] / 2**20
            rows.append((library, f"{n:.0e}", growth, map_mb, growth - map_mb,
                         n / r["seconds"]))
    table("Peak RSS growth while following every point, ScanMap included (MB)",
          ["reader (DataSource + ScanMap unless 'only')", "points", "growth", "map bytes",
           "growth - map", "points/s"], rows)

    # Bounded means the memory beyond the map stops growing with the scan length.
    rows = []
    for library in LIBRARIES:
        extra = [(results[library, n]["growth_kb"] * 1024 - results[library, n]["map_bytes"])
                 / 2**20 for n in SIZES]
        per_point = (extra[-1] - extra[-2]) * 2**20 / (SIZES[-1] - SIZES[-2])
        rows.append((library, *extra, extra[-1] - extra[-2], per_point))
        if library == "swmrview":
            verdict(f"{library}: non-map growth {SIZES[-2]:.0e} -> {SIZES[-1]:.0e}",
                    f"+{extra[-1] - extra[-2]:.1f} MB", "< 2 MB (bounded)",
                    extra[-1] - extra[-2] < 2)
    table("Peak RSS beyond the map (MB): should stop growing with the scan",
          ["reader", *(f"{n:.0e}" for n in SIZES), f"increase to {SIZES[-1]:.0e}",
           "bytes/point"], rows)
    print_verdicts()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
