"""Batch maps of finished scans on Dask: ``swmrview map FILES...|DIR --out maps.nxs``.

Each file's data is found as the viewer finds it (`swmrview.core.files.layout.find_layout`: the
signal, its scan shape, axes, pixel mask and overflow value), the scan's points are split into
tasks (one per file, or one per range of frames for a big file) and each task reduces its frames
with `swmrview.core.compute.pipeline.ReducePipeline`, so the values are those the viewer shows. Results
are written as NeXus: one NXentry per file holding an NXdata with one dataset per channel
(``sum``, ``mean``, ``max``, ``roi``), the first being the signal, and the scan axes.

Tasks run on a Dask cluster: by default a local cluster of worker processes, or an existing
one given by ``--scheduler ADDRESS`` (e.g. started with dask-jobqueue on the facility's
cluster). ``--workers 0`` runs the tasks in this process without Dask. Dask is an optional
dependency (``pip install "swmrview[cluster]"``); the viewer never imports this module.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np

from swmrview.core.files.fields import open_data
from swmrview.core.files.nxdata import write_nxdata
from swmrview.core.files.opening import HDF5_SUFFIXES
from swmrview.core.follow.positions import unravel_many
from swmrview.core.compute.reduce import REDUCTIONS as CHANNELS

logger = logging.getLogger(__name__)

__all__ = ["FilePlan", "Task", "plan_file", "plan_tasks", "run_task", "compute_maps",
           "write_nexus", "find_files", "main", "CHANNELS"]

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


# ---------------------------------------------------------------------------- planning


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
               frames_per_task: int | None = None) -> list[Task]:
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
                                  threads))
    return tasks


# ---------------------------------------------------------------------------- one task


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


def run_task(task: Task) -> tuple[int, int, np.ndarray]:
    """Reduce the task's points: ``(start, stop, values)`` with ``values[channel, point]``,
    NaN for points not acquired."""
    from swmrview.core.compute.pipeline import ReducePipeline

    plan = task.plan
    n = task.stop - task.start
    out = np.full((len(CHANNELS), max(n, 0)), np.nan)
    if n <= 0:
        return task.start, task.stop, out
    flat = np.arange(task.start, task.stop, dtype=np.int64)
    positions = unravel_many(flat, plan.scan_shape)
    with h5py.File(plan.path, "r") as f:
        ok = _acquired(f, plan, positions)
        if not ok.any():
            return task.start, task.stop, out
        mask = overflow = None
        if task.use_mask:
            overflow = plan.overflow
            if plan.pixel_mask:
                mask = np.asarray(f[plan.pixel_mask]) != 0
        with ReducePipeline(open_data(f, plan.data), plan.scan_rank, threads=task.threads,
                            roi=task.roi, mask=mask, overflow=overflow) as pipe:
            chosen = positions[ok]
            step = 4096  # bounded memory per call, whatever the range
            cols = np.flatnonzero(ok)
            for a in range(0, len(chosen), step):
                values, _ = pipe.read_reduce(chosen[a:a + step])
                for c, name in enumerate(CHANNELS):
                    out[c, cols[a:a + step]] = values[name]
    return task.start, task.stop, out


# ---------------------------------------------------------------------------- running


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
                 progress: bool | None = None, client=None, on_error: str = "raise"
                 ) -> list[dict[str, np.ndarray] | None]:
    """Map channels of every plan, as float64 arrays of its scan shape (NaN: not acquired).

    ``client``: an existing ``dask.distributed.Client``; else ``scheduler`` (an address) or a
    local cluster of ``workers`` processes; ``workers=0`` runs the tasks here without Dask.
    ``on_error="skip"``: a file whose task fails is logged and gets None instead of maps.
    """
    tasks = plan_tasks(plans, roi=roi, use_mask=use_mask, threads=threads,
                       frames_per_task=frames_per_task)
    maps = [{c: np.full(p.n_points, np.nan) for c in CHANNELS} for p in plans]
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
        start, stop, values = result
        target = maps[index[id(task.plan)]]
        for c, name in enumerate(CHANNELS):
            target[name][start:stop] = values[c]
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
    return [None if i in failed else {c: m[c].reshape(p.scan_shape) for c in CHANNELS}
            for i, (p, m) in enumerate(zip(plans, maps))]


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


# ---------------------------------------------------------------------------- NeXus output


def _entry_name(path: str, used: set[str]) -> str:
    base = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in Path(path).stem) or "scan"
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def _axis_values(f: h5py.File, path: str, shape: tuple[int, ...], dim: int
                 ) -> tuple[np.ndarray, list[int]] | None:
    """Axis values fitted to the map: 1-D along ``dim`` or scan-shaped; None if unusable."""
    try:
        values = np.asarray(f[path][()], dtype=np.float64)
    except Exception as error:  # noqa: BLE001 - a broken axis must not lose the map
        logger.warning("axis %s not written: %s", path, error)
        return None
    if values.ndim == 1:
        out = np.full(shape[dim], np.nan)
        n = min(len(out), len(values))
        out[:n] = values[:n]
        return out, [dim]
    if values.ndim >= len(shape):
        values = values.reshape(values.shape[:len(shape)] + (-1,))[..., 0]
        out = np.full(shape, np.nan)
        cut = tuple(slice(0, min(a, b)) for a, b in zip(shape, values.shape))
        out[cut] = values[cut]
        return out, list(range(len(shape)))
    return None


def write_nexus(out: str, plans: Sequence[FilePlan], maps: Sequence[dict[str, np.ndarray]],
                channels: Sequence[str], *, roi: Sequence[int] | None = None) -> list[str]:
    """Write one NXentry/NXdata per file into ``out``; returns the entry names."""
    names: list[str] = []
    used: set[str] = set()
    channels = list(channels)
    with h5py.File(out, "w") as nx:
        nx.attrs["NX_class"] = "NXroot"
        nx.attrs["creator"] = "swmrview map"
        for plan, values in zip(plans, maps):
            name = _entry_name(plan.path, used)
            names.append(name)
            entry = nx.create_group(name)
            entry.attrs["NX_class"] = "NXentry"
            entry.attrs["default"] = "map"
            entry["source_file"] = plan.path
            entry["source_data"] = plan.data
            data = entry.create_group("map")
            for channel in channels:
                ds = data.create_dataset(channel, data=values[channel])
                ds.attrs["long_name"] = f"{channel} of {plan.data}"
                if channel == "roi" and roi is not None:
                    ds.attrs["roi"] = np.asarray(roi, dtype=np.int64)
            if plan.pixel_mask:
                data.attrs["pixel_mask"] = plan.pixel_mask
            if plan.overflow is not None:
                data.attrs["overflow"] = plan.overflow
            axes: list[str] = []
            indices: dict[str, list[int]] = {}
            with h5py.File(plan.path, "r") as src:
                for dim, (axis_name, axis_path, units) in enumerate(plan.axes):
                    fitted = _axis_values(src, axis_path, plan.scan_shape, dim) \
                        if axis_path else None
                    if fitted is None:
                        axes.append(".")
                        continue
                    label = axis_name if axis_name not in data else f"{axis_name}_axis"
                    ds = data.create_dataset(label, data=fitted[0])
                    if units:
                        ds.attrs["units"] = units
                    ds.attrs["original"] = axis_path
                    indices[label] = fitted[1]
                    axes.append(label)
            write_nxdata(data, channels[0], axes=axes, indices=indices, auxiliary=channels[1:])
        if names:
            nx.attrs["default"] = names[0]
    return names


# ---------------------------------------------------------------------------- command


def _roi(text: str) -> tuple[int, ...]:
    parts = [int(v) for v in text.replace(":", ",").split(",") if v.strip()]
    if len(parts) not in (2, 4):
        raise argparse.ArgumentTypeError("ROI is y0,y1,x0,x1 (images) or x0,x1 (spectra)")
    return tuple(parts)


def _channels(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in ("sum", "mean", "max")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"reductions are sum, mean, max; got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swmrview map",
        description="Maps of finished scans on a Dask cluster, written as NeXus.",
        epilog="examples:\n"
               "  swmrview map /dls/i22/data/2026/cm12345-1/ --out maps.nxs\n"
               "  swmrview map scan1.nxs scan2.nxs --reduce sum,max --roi 100,200,300,400 "
               "--out maps.nxs\n"
               "  swmrview map DIR --scheduler tcp://head:8786 --out maps.nxs",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                   help="scan files, or directories whose HDF5/NeXus files are all mapped")
    p.add_argument("--out", required=True, metavar="OUT.nxs", help="NeXus file to write")
    p.add_argument("--reduce", type=_channels, default=["sum"], metavar="sum|mean|max",
                   help="reduction(s), comma separated; the first is the NXdata signal "
                        "(default sum)")
    p.add_argument("--roi", type=_roi, metavar="Y0,Y1,X0,X1",
                   help="also write the sum inside this region (x0,x1 for spectra)")
    p.add_argument("--data", metavar="P", help="data dataset path (default: as the viewer finds)")
    p.add_argument("--no-mask", action="store_true",
                   help="keep pixels the detector's pixel mask or overflow value exclude")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), metavar="N",
                   help="processes of the local cluster (0: run here without Dask)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="decompress/reduce threads inside each task (default 1)")
    p.add_argument("--frames-per-task", type=int, metavar="N",
                   help="split files into tasks of N frames (default: about 1 GB of frames)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``swmrview map``; returns the exit code (0 ok, 1 error, 2 bad input)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.debug:
        for noisy in ("distributed", "tornado", "bokeh", "h5py"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    files = find_files(args.inputs, exclude=[args.out])
    if not files:
        print("swmrview map: no HDF5 files found in " + " ".join(args.inputs), file=sys.stderr)
        return 2
    plans: list[FilePlan] = []
    for path in files:
        try:
            plans.append(plan_file(path, args.data))
        except Exception as error:  # noqa: BLE001 - skip the file, say why, map the others
            print(f"swmrview map: skipping {path}: {error}", file=sys.stderr)
    if not plans:
        return 2
    channels = list(args.reduce) + (["roi"] if args.roi else [])
    t0 = time.monotonic()
    maps = compute_maps(plans, roi=args.roi, use_mask=not args.no_mask,
                        scheduler=args.scheduler, workers=args.workers, threads=args.threads,
                        frames_per_task=args.frames_per_task,
                        progress=False if args.quiet else None, on_error="skip")
    done = [(p, m) for p, m in zip(plans, maps) if m is not None]
    names = write_nexus(args.out, [p for p, _ in done], [m for _, m in done], channels,
                        roi=args.roi)
    frames = sum(p.n_points for p, _ in done)
    logger.info("wrote %d maps (%d points) to %s in %.1f s", len(names), frames, args.out,
                time.monotonic() - t0)
    return 0 if len(done) == len(files) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
