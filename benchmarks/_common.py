"""Small helpers shared by the benchmark scripts: timing, tables and target verdicts.

Benchmarks report ratios against a baseline measured in the same run (this machine is noisy);
targets from SPEC section 4 are printed next to the measured ratio, never asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

# runnable as `python benchmarks/NAME.py` from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

VERDICTS: list[tuple[str, str, str, bool]] = []


def median_time(fn: Callable[[], object], repeat: int = 30, number: int = 1) -> float:
    """Median over ``repeat`` runs of the seconds one call of ``fn`` takes."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear interpolation."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned plain-text table."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths))))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    sys.stdout.flush()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return "nan"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3g}"
    return str(value)


def verdict(name: str, measured: str, target: str, ok: bool) -> None:
    """Record one target check (printed by `print_verdicts`)."""
    VERDICTS.append((name, measured, target, ok))


def print_verdicts(title: str = "SPEC section 4 targets") -> None:
    """Print every recorded target with PASS/MISS."""
    table(title, ["check", "measured", "target", "result"],
          [(n, m, t, "PASS" if ok else "MISS") for n, m, t, ok in VERDICTS])


def machine_note() -> None:
    """One line describing where the figures come from."""
    import h5py
    import numpy as np

    print(f"# {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}); "
          f"{time.strftime('%Y-%m-%d %H:%M')}")


def idle_cores(seconds: float = 1.0) -> float | None:
    """Cores left idle by every process (this one too) over ``seconds`` (from /proc/stat; Linux only)."""
    def sample():
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)   # idle + iowait, total
    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, IndexError, ValueError):
        return None
    return (os.cpu_count() or 1) * (idle1 - idle0) / max(total1 - total0, 1e-9)
