"""The live writer: the replay's scan and detector files, written point by point in a process.

Every dataset is created before ``swmr_mode`` is switched on (an SWMR requirement). Points go
in acquisition order, ``batch`` at a time at ``rate`` points per second: each batch's data in
the detector files, then in the scan file, then the keys (``uniqueKeys`` last); the finished
flag is set last.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Sequence

import h5py

from swmrview.tools.replay.analyse import ReplayError, ScanInfo, analyse
from swmrview.tools.replay.external import Link, Pending, build_detectors, detector_files
from swmrview.tools.replay.output import Output
from swmrview.tools.replay.points import acquisition_order, runs

logger = logging.getLogger(__name__)

__all__ = ["replay_scan", "start_replay"]


def _build(finished: Path, out: Path, scan_shape: Sequence[int] | None
           ) -> tuple[ScanInfo, Output, Pending, list[h5py.File]]:
    """Open the original and create the replay's scan file; detector files are left pending."""
    src = h5py.File(finished, "r")
    sources = [src]
    try:
        info = analyse(src, scan_shape)
        logger.info("replay %s: scan shape %s (%s), signal %s", finished.name, info.scan_shape,
                    info.source, info.signal)
        master = Output(out, info.scan_shape, out.name)
        links: list[Link] = []
        master.copy_tree(src, master.file, set(info.keys), info.finished, links)
        try:
            pending = detector_files(links, finished, out)
        except ReplayError:
            master.close()
            out.unlink()
            raise
        return info, master, pending, sources
    except BaseException:
        for s in sources:
            s.close()
        raise


def replay_scan(finished: str | os.PathLike, out: str | os.PathLike, rate: float = 20.0, *,
                scan_shape: Sequence[int] | None = None, batch: int = 1,
                swmr_delay: float = 0.0, detector_delay: float = 0.0) -> ScanInfo:
    """Replay ``finished`` into ``out`` as a live SWMR scan; blocks until it is written.

    ``rate`` is points per second; ``batch`` points are written and flushed together (1: point
    by point, as GDA does; Malcolm/areaDetector scans at kHz flush in blocks like this).
    ``swmr_delay``: seconds the scan file stays open before SWMR (readers get a lock error);
    ``detector_delay``: seconds after the scan file goes SWMR before the detector files are
    created (their links dangle meanwhile, as when a detector's file appears late).
    Returns what :func:`analyse` found.
    """
    finished, out = Path(finished), Path(out)
    if rate <= 0:
        raise ReplayError("rate must be positive")
    if batch < 1:
        raise ReplayError("batch must be at least 1")
    if not finished.is_file():
        raise ReplayError(f"{finished}: not a file")
    if not h5py.is_hdf5(finished):
        raise ReplayError(f"{finished}: not an HDF5 file")
    if out.exists() and out.resolve() == finished.resolve():
        raise ReplayError("OUT must not be the file being replayed")
    info, master, pending, sources = _build(finished, out, scan_shape)
    master.order_keys()
    outputs = [master]
    try:
        if detector_delay <= 0:
            outputs = build_detectors(info.scan_shape, master, pending, sources) + [master]
        if swmr_delay > 0:
            master.file.flush()
            time.sleep(swmr_delay)
        for o in outputs:
            o.file.swmr_mode = True
        if detector_delay > 0:
            logger.info("replay: detector files in %.3g s", detector_delay)
            time.sleep(detector_delay)
            detectors = build_detectors(info.scan_shape, master, pending, sources)
            for o in detectors:
                o.file.swmr_mode = True
            outputs = detectors + [master]
        keyed, unkeyed = acquisition_order(info.scan_shape, [master] + master.extra_outputs)
        logger.info("replay %s -> %s: %d points at %.3g/s", finished.name, out, len(keyed)
                    + len(unkeyed), rate)
        sequence = keyed + unkeyed
        start = time.monotonic()
        for first in range(0, len(sequence), batch):
            part = sequence[first:first + batch]
            delay = start + (first + len(part) - 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            counts = range(first + 1, first + len(part) + 1)
            all_runs = runs(part, counts, info.scan_shape)
            n_keyed = max(0, min(len(part), len(keyed) - first))
            keyed_runs = runs(part[:n_keyed], counts[:n_keyed], info.scan_shape)
            unkeyed_runs = runs(part[n_keyed:], counts[n_keyed:], info.scan_shape)
            for o in outputs:                      # detector files first, the scan file last
                o.write_data(all_runs)
            for o in outputs:                      # then keys, uniqueKeys last
                if keyed_runs:
                    o.write_keys(keyed_runs)
                if unkeyed_runs:
                    o.grow_keys(unkeyed_runs)
        for o in outputs:
            o.finish()
        logger.info("replay of %s finished", finished.name)
        return info
    finally:
        for o in master.extra_outputs + [master]:
            o.close()
        for s in sources:
            s.close()


def _run(finished: str, out: str, rate: float, options: dict, log_level: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(message)s")
    replay_scan(finished, out, rate, **options)


def start_replay(finished: str | os.PathLike, out: str | os.PathLike, rate: float = 20.0, *,
                 scan_shape: Sequence[int] | None = None, batch: int = 1,
                 swmr_delay: float = 0.0, detector_delay: float = 0.0
                 ) -> multiprocessing.Process:
    """Start :func:`replay_scan` in a separate (spawned) process and return it, started.

    The process exits 0 when the replay is complete (the finished flag set), 1 on an error.
    """
    options = dict(scan_shape=None if scan_shape is None else tuple(scan_shape),
                   batch=int(batch), swmr_delay=float(swmr_delay),
                   detector_delay=float(detector_delay))
    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    proc = ctx.Process(target=_run,
                       args=(str(finished), str(out), float(rate), options, level),
                       name=f"swmrview-replay:{os.path.basename(str(out))}", daemon=True)
    proc.start()
    return proc

