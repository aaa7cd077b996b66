"""Live XRF fitting throughput: the fit step in blocks against PyMca's FastXRFLinearFit.

A stack of simulated MCA frames (``--overlap`` simulator: 4 detector elements x 4096 channels,
uint32, Ca Mn Fe Cu Zn As Pb lines, scatter, background, Poisson noise) is fitted with the same
PyMca configuration three ways, each in the same run:

- ``FastXRFLinearFit``: PyMca's own ``fitMultipleSpectra`` over the whole stack of summed
  spectra (n, 4096), ``refit`` False and True. The baseline: it is handed the elements
  already summed (flattering to it); ``sum elements + FastXRFLinearFit`` adds that sum, which
  a 4-element stack needs before PyMca can fit it. The targets compare with the bare figure.
- ``step, blocks of K``: :class:`~swmrview.core.compute.xrf_fit.XrfFitStep` called on blocks of
  K frames of (4, 4096) as the pipeline's worker threads do: sum the elements, strip the SNIP
  background if configured, one matrix product, the model and χ². ``x T threads``: blocks
  handed to T threads at once (numpy's matrix products release the GIL).
- ``fit_stack``: the end-of-scan pass with PyMca's refit rule.

Configurations: the simulator's (``tests/data/xrf_simulated_overlap.cfg``: linear continuum, no
weights), the same with Poisson weights (PyMca's default ``fitweight = 1``), and with a SNIP
background. Targets (issue 18): the step at least as fast as FastXRFLinearFit (same-run ratio)
and at least 1,000 spectra/s. Then the agreement: the largest difference of each fitted map
from FastXRFLinearFit(refit=True), over that map's maximum.

BLAS threads: both fits spend their time in numpy's matrix products, which OpenBLAS spreads
over every core by itself; on a shared machine that oversubscribes (2 cores, other jobs) and
both slow down several times. ``--blas-threads 1`` (the default) holds BLAS to one thread for
both, as the pipeline would (its worker threads are the parallelism); ``--blas-threads 0``
leaves OpenBLAS's default.

Run: .venv/bin/python benchmarks/xrf_fit.py [--points 2000] [--repeat 3] [--quick]
     [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import copy
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common
import numpy as np

from PyMca5.PyMcaPhysics.xrf import FastXRFLinearFit

from swmrview.core.compute import xrf_config as xc
from swmrview.core.compute import xrf_fit as xf
from swmrview.tools import simulate

CFG = Path(__file__).resolve().parents[1] / "tests" / "data" / "xrf_simulated_overlap.cfg"


def stack(points: int) -> np.ndarray:
    cfg = simulate.SimConfig(shape=(points,), detector="xrf", elements=4, channels=4096,
                             overlap=True)
    return np.array([simulate.expected_frame(i, cfg) for i in range(points)])


def configurations() -> dict[str, xc.XrfConfig]:
    base = xc.load_config(CFG)
    weighted = copy.deepcopy(base.config)
    weighted["fit"]["fitweight"] = 1
    snip = copy.deepcopy(base.config)
    snip["fit"].update(stripflag=1, stripalgorithm=1, snipwidth=60, continuum=0)
    return {"linear, no weights": base,
            "linear, Poisson weights": xc._checked(weighted, "weighted"),
            "SNIP, no weights": xc._checked(snip, "snip")}


def pymca(summed: np.ndarray, config: xc.XrfConfig, refit: bool):
    return FastXRFLinearFit.FastXRFLinearFit().fitMultipleSpectra(
        y=summed, configuration=copy.deepcopy(config.config), refit=refit)


def blocks(step: xf.XrfFitStep, frames: np.ndarray, size: int, threads: int) -> None:
    starts = range(0, len(frames), size)
    if threads == 1:
        for lo in starts:
            step(frames[lo:lo + size])
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda lo: step(frames[lo:lo + size]), starts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="500 points, 1 repeat")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="BLAS threads for both fits (0: OpenBLAS's default)")
    args = p.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads, user_api="blas")
    if args.quick:
        args.points, args.repeat = 500, 1
    logging.getLogger("PyMca5").setLevel(logging.ERROR)
    frames = stack(args.points)
    summed = frames.sum(axis=1)
    n = len(frames)
    idle = _common.idle_cores()
    print(f"{n} frames of {frames.shape[1:]} {frames.dtype}; BLAS threads "
          f"{args.blas_threads or 'default'}; cores idle before: "
          f"{'?' if idle is None else f'{idle:.1f}'}")
    for label, config in configurations().items():
        step = xf.XrfFitStep(config, frames.shape[1:])
        base = _common.median_time(lambda: pymca(summed, config, False), repeat=args.repeat)
        base_refit = _common.median_time(lambda: pymca(summed, config, True),
                                         repeat=args.repeat)
        with_sum = _common.median_time(lambda: pymca(frames.sum(axis=1), config, False),
                                       repeat=args.repeat)
        rows = [("FastXRFLinearFit refit=False", n / base, 1.0),
                ("FastXRFLinearFit refit=True", n / base_refit, base / base_refit),
                ("sum elements + FastXRFLinearFit", n / with_sum, base / with_sum)]
        best = 0.0
        for size, threads in ((64, 1), (256, 1), (64, 2)):
            t = _common.median_time(lambda: blocks(step, frames, size, threads),
                                    repeat=args.repeat)
            rows.append((f"step, blocks of {size} x {threads} thread"
                         f"{'s' if threads > 1 else ''}", n / t, base / t))
            if threads == 1:
                best = max(best, n / t)
        t = _common.median_time(lambda: xf.fit_stack(frames, step), repeat=args.repeat)
        rows.append(("fit_stack (refit, end of scan)", n / t, base_refit / t))
        _common.table(f"{label}: {step.describe()}",
                      ["method", "spectra/s", "x FastXRFLinearFit"], rows)
        _common.verdict(f"{label}: step, 1 thread vs FastXRFLinearFit",
                        f"{best / (n / base):.2f}x", ">= 1x", best >= n / base)
        _common.verdict(f"{label}: live fit keeps up", f"{best:,.0f} spectra/s",
                        ">= 1,000 points/s", best >= 1000)
        if label.startswith("linear, no"):
            agreement(frames, summed, step, config)
    _common.print_verdicts("issue 18 targets")


def agreement(frames, summed, step, config) -> None:
    out = pymca(summed, config, True)
    final = xf.fit_stack(frames, step)
    labels = list(out.labels("parameters"))
    rows = []
    for j, name in enumerate(step.groups):
        direct = out["parameters"][labels.index(name)]
        rows.append((name, float(np.abs(direct).max()),
                     float(np.abs(final.areas[:, j] - direct).max() / np.abs(direct).max())))
    _common.table(f"fit_stack vs FastXRFLinearFit(refit=True), {final.refitted} spectra "
                  f"refitted", ["line group", "map max", "max |diff| / map max"], rows)
    worst = max(r[2] for r in rows)
    _common.verdict("finished maps = FastXRFLinearFit", f"{worst:.1e} of the map max",
                    "<= 1e-3", worst <= 1e-3)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - t0:.0f} s")
