"""Running batch tasks: on a Dask cluster (a local one of worker processes, an existing one by
its scheduler's address, or a client given), or here without Dask; their results placed in
each file's maps, with a progress bar on stderr. Dask is imported only when it is used."""

from __future__ import annotations

import logging
import sys
import time
from typing import Sequence

import numpy as np

from swmrview.tools.batch.plan import FilePlan, Task, plan_tasks
from swmrview.tools.batch.task import CHANNELS, run_task

logger = logging.getLogger(__name__)

__all__ = ["compute_maps"]


class _Progress:
    """A one-line progress bar on stderr (only when it is a terminal, or when forced)."""

    def __init__(self, total: int, frames: int, enabled: bool | None = None) -> None:
        self.total, self.frames, self.done, self.done_frames = total, frames, 0, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.monotonic()
        self._last = 0.0

    def update(self, frames: int) -> None:
        self.done += 1
        self.done_frames += frames
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            width = 30
            filled = int(width * self.done / max(1, self.total))
            rate = self.done_frames / max(now - self.t0, 1e-9)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/"
                             f"{self.total} tasks, {self.done_frames}/{self.frames} frames, "
                             f"{rate:,.0f} frames/s")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def compute_maps(plans: Sequence[FilePlan], *, roi: Sequence[int] | None = None,
                 use_mask: bool = True, scheduler: str | None = None, workers: int = 2,
                 threads: int = 1, frames_per_task: int | None = None,
                 progress: bool | None = None, client=None, on_error: str = "raise",
                 processing=None) -> list[dict[str, np.ndarray] | None]:
    """Map channels of every plan, as float64 arrays of its scan shape (NaN: not acquired).

    ``client``: an existing ``dask.distributed.Client``; else ``scheduler`` (an address) or a
    local cluster of ``workers`` processes; ``workers=0`` runs the tasks here without Dask.
    ``on_error="skip"``: a file whose task fails is logged and gets None instead of maps.
    ``processing`` (a :class:`~swmrview.tools.batch.steps.Processing`): its channels are
    mapped too, and each step's results come as ``"<key>"`` (scan shape x bins) with
    ``"<key>/x"`` (bin centres) and ``"<key>/describe"``.
    """
    tasks = plan_tasks(plans, roi=roi, use_mask=use_mask, threads=threads,
                       frames_per_task=frames_per_task, processing=processing)
    names = list(CHANNELS) + ([c.name for c in processing.channels] if processing else [])
    maps = [{c: np.full(p.n_points, np.nan) for c in names} for p in plans]
    index = {id(p): i for i, p in enumerate(plans)}
    bar = _Progress(len(tasks), sum(p.n_points for p in plans), progress)

    failed: set[int] = set()

    def place(task: Task, result, error: BaseException | None = None) -> None:
        if error is not None:
            if on_error != "skip":
                raise error
            i = index[id(task.plan)]
            if i not in failed:
                logger.error("%s: %s", task.plan.path, error)
            failed.add(i)
            bar.update(task.stop - task.start)
            return
        start, stop, values = result[:3]
        target = maps[index[id(task.plan)]]
        for c, name in enumerate(names):
            target[name][start:stop] = values[c]
        for key, rows in (result[3] if len(result) > 3 else {}).items():
            if key.endswith(("/x", "/describe", "/config")):
                target[key] = rows
                continue
            if key not in target:
                target[key] = np.full((task.plan.n_points, rows.shape[1]), np.nan)
            target[key][start:stop] = rows
        bar.update(stop - start)

    if client is None and workers == 0 and scheduler is None:
        for task in tasks:
            try:
                result = run_task(task)
            except Exception as error:  # noqa: BLE001 - place() raises or skips the file
                place(task, None, error)
            else:
                place(task, result)
    else:
        _run_on_dask(tasks, place, client, scheduler, workers)
    return [None if i in failed else {c: _shaped(c, v, p.scan_shape) for c, v in m.items()}
            for i, (p, m) in enumerate(zip(plans, maps))]


def _shaped(name: str, values, scan_shape):
    """A map or a step's rows in the scan's shape (labels and descriptions as they are)."""
    if name.endswith(("/x", "/describe", "/config")):
        return values
    return values.reshape(tuple(scan_shape) + values.shape[1:])


def _run_on_dask(tasks: Sequence[Task], place, client, scheduler: str | None,
                 workers: int) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError('batch maps need Dask: pip install "swmrview[cluster]" '
                           "(or --workers 0 to run without it)") from error
    own_cluster = own_client = None
    try:
        if client is None:
            if scheduler:
                client = own_client = Client(scheduler)
            else:
                own_cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1,
                                           processes=True, dashboard_address=":0")
                client = own_client = Client(own_cluster)
        futures = client.map(run_task, list(tasks), pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for future in as_completed(futures):
            if future.status == "error":
                place(by_key[future.key], None, future.exception())
            else:
                place(by_key[future.key], future.result())
            future.release()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
