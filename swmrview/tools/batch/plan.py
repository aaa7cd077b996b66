"""Planning batch maps: which files, what to reduce in each (found as the viewer finds it),
and the tasks that split the points (one per file, or per range of frames for a big file)."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import h5py
import numpy as np

from swmrview.core.files.fields import open_data
from swmrview.core.files.opening import HDF5_SUFFIXES

logger = logging.getLogger(__name__)

__all__ = ["FilePlan", "Task", "TASK_BYTES", "find_files", "plan_file", "plan_tasks"]

TASK_BYTES = 1 << 30    # about this much raw frame data per task when a file is split


@dataclass(frozen=True)
class FilePlan:
    """What to reduce in one file (found on the client, shipped to the workers)."""

    path: str
    data: str                                 # data dataset path
    scan_rank: int
    scan_shape: tuple[int, ...]               # the map's shape
    data_scan_shape: tuple[int, ...]          # the data's scan dims (points beyond: NaN)
    frame_shape: tuple[int, ...]
    itemsize: int
    keys: tuple[str, ...] = ()                # points whose keys are all zero stay NaN
    pixel_mask: str | None = None
    overflow: float | None = None
    axes: tuple[tuple[str, str | None, str | None], ...] = ()   # (name, path, units) per dim
    notes: tuple[str, ...] = ()

    @property
    def n_points(self) -> int:
        return int(np.prod(self.scan_shape, dtype=np.int64))


@dataclass(frozen=True)
class Task:
    """Reduce the points ``start:stop`` (flat, C order over the scan shape) of one file."""

    plan: FilePlan
    start: int
    stop: int
    roi: tuple[int, ...] | None = None
    use_mask: bool = True
    threads: int = 1
    processing: Any = None     # tools.batch.steps.Processing: channels and integration


def find_files(inputs: Iterable[str], exclude: Sequence[str] = ()) -> list[str]:
    """The HDF5 files named, with the HDF5/NeXus files directly inside each directory named."""
    skip = {os.path.abspath(p) for p in exclude}
    found: list[str] = []
    for name in inputs:
        if os.path.isdir(name):
            for entry in sorted(os.listdir(name)):
                path = os.path.join(name, entry)
                if entry.lower().endswith(HDF5_SUFFIXES) and os.path.isfile(path):
                    found.append(path)
        else:
            found.append(name)
    out, seen = [], set()
    for path in found:
        full = os.path.abspath(path)
        if full not in skip and full not in seen:
            seen.add(full)
            out.append(path)
    return out


def plan_file(path: str, data: str | None = None) -> FilePlan:
    """Find the data, its scan shape, axes, mask and overflow in ``path`` (as the viewer does)."""
    from swmrview.core.files.layout import find_layout

    with h5py.File(path, "r") as f:
        layout = find_layout(f, data=(data,) if data else ())
        data_path = data or layout.signal or (layout.data[0] if layout.data else None)
        if data_path is None:
            raise ValueError(f"{path}: no numeric data to map")
        ds = open_data(f, data_path)
        rank = int(layout.scan_rank)
        data_scan = tuple(int(n) for n in ds.shape[:rank])
        declared = tuple(layout.scan_shape)
        scan_shape = tuple(int(d if d is not None else s) for d, s in
                           zip(declared, data_scan)) if declared else data_scan
        if len(scan_shape) != rank:
            scan_shape = data_scan
        axes = []
        names = tuple(layout.axis_names)
        units = tuple(layout.axis_units)
        for d in range(rank):
            name = names[d] if d < len(names) and names[d] else f"dim{d}"
            axis = layout.axes[d] if d < len(layout.axes) else None
            axes.append((name, axis, units[d] if d < len(units) else None))
        return FilePlan(
            path=os.path.abspath(path), data=data_path, scan_rank=rank, scan_shape=scan_shape,
            data_scan_shape=data_scan, frame_shape=tuple(int(n) for n in ds.shape[rank:]),
            itemsize=int(ds.dtype.itemsize), keys=tuple(layout.keys),
            pixel_mask=layout.pixel_mask, overflow=layout.overflow, axes=tuple(axes),
            notes=tuple(layout.notes))


def plan_tasks(plans: Sequence[FilePlan], *, roi: Sequence[int] | None = None,
               use_mask: bool = True, threads: int = 1,
               frames_per_task: int | None = None, processing: Any = None) -> list[Task]:
    """Tasks over every file: one per file, or per range of frames when a file is big."""
    tasks = []
    roi = None if roi is None else tuple(int(v) for v in roi)
    for plan in plans:
        fits = roi is not None and (len(roi) == 2 and len(plan.frame_shape) >= 1
                                    or len(roi) == 4 and len(plan.frame_shape) >= 2)
        if roi is not None and not fits:
            logger.warning("%s: ROI %s does not fit frames of shape %s; its roi map is NaN",
                           plan.path, roi, plan.frame_shape)
        n = plan.n_points
        frame_bytes = max(1, int(np.prod(plan.frame_shape, dtype=np.int64)) * plan.itemsize)
        per = frames_per_task or max(64, TASK_BYTES // frame_bytes)
        parts = max(1, math.ceil(n / per))
        bounds = np.linspace(0, n, parts + 1).round().astype(np.int64)
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b > a or n == 0:
                tasks.append(Task(plan, int(a), int(b), roi if fits else None, use_mask,
                                  threads, processing))
    return tasks
