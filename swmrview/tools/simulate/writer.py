"""The simulated beamline's writing loop: a whole scan at its rate, in this process or in a
spawned writer process (the demo and the tests), with drops, a crash and delays on request."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from pathlib import Path

from swmrview.tools.simulate.config import SimConfig
from swmrview.tools.simulate.expected import acquisition_order
from swmrview.tools.simulate.layout import ScanFiles

logger = logging.getLogger(__name__)


def write_scan(path: str | os.PathLike, cfg: SimConfig) -> None:
    """Write a whole scan to ``path`` as a SWMR writer; blocks until the scan ends."""
    path = Path(path)
    if cfg.start_delay > 0:
        logger.info("waiting %.3g s before creating %s", cfg.start_delay, path)
        time.sleep(cfg.start_delay)
    files = ScanFiles(path, cfg)
    try:
        if cfg.swmr_delay > 0:
            logger.info("holding %s open without SWMR for %.3g s", path, cfg.swmr_delay)
            for f in files.files:
                f.flush()
            time.sleep(cfg.swmr_delay)
        files.start_swmr()
        logger.info("writing %s: %d points at %.3g/s", path, cfg.n_points, cfg.rate)
        dropped = set(cfg.drop)
        start = time.monotonic()
        for count, index in enumerate(acquisition_order(cfg), start=1):
            delay = start + (count - 1) / cfg.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if index == cfg.crash_at:
                logger.warning("simulated crash at point %d", index)
                os._exit(1)
            if index in dropped:
                logger.debug("dropping point %d", index)
                files.grow_rows(int(index))
                continue
            files.write_point(int(index), count)
        files.finish()
        logger.info("finished %s", path)
    finally:
        files.close()


def _run_writer(path: str, cfg: SimConfig, log_level: int) -> None:
    # Ctrl-C in the terminal reaches the whole process group: the parent (the demo viewer or a
    # test) decides when the writer stops, so the child ignores it instead of printing a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(message)s")
    write_scan(path, cfg)


def start_writer(path: str | os.PathLike, cfg: SimConfig) -> multiprocessing.Process:
    """Start :func:`write_scan` in a separate (spawned) process and return it, started."""
    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    proc = ctx.Process(target=_run_writer, args=(str(path), cfg, level),
                       name=f"swmrview-sim:{os.path.basename(path)}", daemon=True)
    proc.start()
    return proc

