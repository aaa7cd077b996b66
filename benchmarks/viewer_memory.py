"""Memory of the viewer's model following 10^5 and 10^6 scalar points: bounded by the map?

Each measurement runs in a fresh child process: it follows a finished scan of scalar points
(keys all set, flag set) with the viewer's own read path, a `swmrview.session.session.Session`
stepped in a loop, and applies every update to a `ViewState`, exactly as the window does (minus
drawing). The growth of peak RSS (VmHWM) is compared, per point, with the view state's own
arrays (the map: 4 float64 values and an acquired flag per point; the arrival order: one int64
per point and scan dim), measured in the same process. Before this model the viewer grew about
165 bytes per point (Python lists and dicts beyond the map).

Run: .venv/bin/python benchmarks/viewer_memory.py
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

SIZES = (10**5, 10**6)


def write_scan(path: Path, n: int) -> None:
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("entry/data", data=np.random.default_rng(0).random(n), chunks=(8192,))
        f.create_dataset("entry/keys/key", data=np.arange(1, n + 1, dtype=np.int32),
                         maxshape=(None,), chunks=(8192,))
        f.create_dataset("entry/finished", data=np.ones(1, np.int32), maxshape=(None,),
                         chunks=(1,))


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(path: str, n: int) -> None:
    """Follow the scan with Session + ViewState; print a JSON line of memory figures."""
    from swmrview.model.messages import ScanInfo
    from swmrview.model.options import ViewerOptions
    from swmrview.session.session import Session
    from swmrview.model.view_state import ViewState

    session = Session(ViewerOptions(path=path, data=("/entry/data",), timeout=5))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start = status_kb("VmRSS")
    t0 = time.perf_counter()
    state = None
    while state is None or not (session.status.terminal and not session.busy):
        for message in session.step():
            if isinstance(message, ScanInfo):
                state = ViewState(message)
            elif state is not None:
                state.apply(message)
    elapsed = time.perf_counter() - t0
    assert state.n_acquired == n, (state.n_acquired, session.status)
    own = sum(a.nbytes for a in state.map._values.values()) + state.map._filled.nbytes \
        + state._order.nbytes
    session.close()
    print(json.dumps({"growth_kb": status_kb("VmHWM") - start, "state_bytes": own,
                      "seconds": elapsed}))


def measure(path: Path, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), str(n)],
                         capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    machine_note()
    print("# scalar scans, viewer model (Session + ViewState, no drawing); fresh process each")
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            path = Path(tmp) / f"scan_{n}.h5"
            write_scan(path, n)
            results[n] = r = measure(path, n)
            growth = r["growth_kb"] * 1024
            rows.append((f"{n:.0e}", growth / 2**20, r["state_bytes"] / 2**20,
                         growth / n, r["state_bytes"] / n, n / r["seconds"]))
    table("Peak RSS growth following every point (MB, bytes/point)",
          ["points", "growth MB", "view state arrays MB", "growth B/pt", "arrays B/pt",
           "points/s"], rows)
    a, b = SIZES
    per_point = (results[b]["growth_kb"] - results[a]["growth_kb"]) * 1024 / (b - a)
    arrays = (results[b]["state_bytes"] - results[a]["state_bytes"]) / (b - a)
    verdict(f"growth per point {a:.0e} -> {b:.0e} vs the view state's own arrays",
            f"{per_point:.0f} B/pt vs {arrays:.0f} B/pt: {per_point / arrays:.2f}x",
            "bounded by the map arrays (<= 1.5x; was ~165 B/pt)", per_point <= 1.5 * arrays)
    print_verdicts()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
