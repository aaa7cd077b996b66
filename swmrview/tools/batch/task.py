"""One batch task, run on a Dask worker (or here): reduce a range of a file's points with the
viewer's `swmrview.core.compute.pipeline.ReducePipeline`, NaN for points not acquired."""

from __future__ import annotations

import h5py
import numpy as np

from swmrview.core.compute.reduce import REDUCTIONS as CHANNELS
from swmrview.core.files.fields import open_data
from swmrview.core.follow.positions import unravel_many
from swmrview.tools.batch.plan import FilePlan, Task

__all__ = ["CHANNELS", "run_task"]


def _acquired(f: h5py.File, plan: FilePlan, positions: np.ndarray) -> np.ndarray:
    """True for positions inside the data whose keys (if any) are all non-zero."""
    rank = plan.scan_rank
    ok = (positions < np.asarray(plan.data_scan_shape, dtype=np.int64)).all(axis=1)
    for key in plan.keys:
        ds = f[key]
        if ds.ndim < rank:
            continue
        key_ok = np.zeros(len(positions), dtype=bool)
        if rank == 0:
            key_ok[:] = bool((np.asarray(ds[()]) != 0).all())
        else:
            inside = (positions < np.asarray(ds.shape[:rank], dtype=np.int64)).all(axis=1)
            chosen = positions[inside]
            if len(chosen):
                lo, hi = int(chosen[:, 0].min()), int(chosen[:, 0].max()) + 1
                block = np.asarray(ds[lo:hi])  # only the rows this task covers
                block = block.reshape(block.shape[:rank] + (-1,))
                idx = chosen.copy()
                idx[:, 0] -= lo
                key_ok[inside] = (block[tuple(idx.T)] != 0).all(axis=-1)
        ok &= key_ok
    return ok


def run_task(task: Task) -> tuple[int, int, np.ndarray] | tuple[int, int, np.ndarray, dict]:
    """Reduce the task's points: ``(start, stop, values)`` with ``values[channel, point]``,
    NaN for points not acquired; with processing (channels, integration) the rows are
    CHANNELS then the processing's channels, and a fourth item holds the steps' results
    (``key -> (points, bins)``) and their labels (``key + "/x"``)."""
    from swmrview.core.compute.pipeline import ReducePipeline

    plan = task.plan
    n = task.stop - task.start
    processing = task.processing
    names = list(CHANNELS) + ([c.name for c in processing.channels] if processing else [])
    out = np.full((len(names), max(n, 0)), np.nan)
    results: dict = {}

    def done():
        return (task.start, task.stop, out) if processing is None else \
            (task.start, task.stop, out, results)

    if n <= 0:
        return done()
    flat = np.arange(task.start, task.stop, dtype=np.int64)
    positions = unravel_many(flat, plan.scan_shape)
    with h5py.File(plan.path, "r") as f:
        ok = _acquired(f, plan, positions)
        if not ok.any():
            return done()
        mask = overflow = None
        if task.use_mask:
            overflow = plan.overflow
            if plan.pixel_mask:
                mask = np.asarray(f[plan.pixel_mask]) != 0
        data = open_data(f, plan.data)
        steps, extra = {}, {}
        if processing is not None:
            from swmrview.tools.batch.steps import build

            from swmrview.tools.batch.xrf import step_config

            steps, extra = build(processing, f, data, mask, overflow, plan.scan_rank)
            for key, step in steps.items():
                results[key] = np.full((n, len(step.labels)), np.nan)
                results[key + "/x"] = np.asarray(step.labels)
                results[key + "/describe"] = step.describe()
                results[key + "/config"] = step_config(step)
        with ReducePipeline(data, plan.scan_rank, threads=task.threads,
                            roi=task.roi, mask=mask, overflow=overflow) as pipe:
            chosen = positions[ok]
            step = 4096  # bounded memory per call, whatever the range
            cols = np.flatnonzero(ok)
            for a in range(0, len(chosen), step):
                values, rows, _ = pipe.read_process(chosen[a:a + step], extra=extra,
                                                    steps=steps)
                for c, name in enumerate(names):
                    if name in values:
                        out[c, cols[a:a + step]] = values[name]
                for key, block in rows.items():
                    results[key][cols[a:a + step]] = block
    return done()
