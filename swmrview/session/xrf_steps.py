"""The XRF fit as a processing step of the session (no Qt): registers the ``xrf-fit`` family.

Steps of ``"xrf-fit"`` fit the spectra on show (1-D spectra or an MCA's detector elements
summed) with the PyMca configuration of ``--xrf-config`` or the view settings' ``xrf_config``
(:mod:`swmrview.core.compute.xrf_fit`). ``"xrf-fit[0,1,3]"`` fits the sum of those detector
elements only (a ``fitted`` channel with ``elements``). The plain ``"xrf-fit"`` runs on every
point by itself whenever a configuration was given, so the live export writes the fit and the
frame view shows it with no channel yet.

At the end of the scan :class:`StepFinisher` runs each built step's end-of-scan pass (the XRF
fit's whole-stack refit, PyMca's rule) over the results kept for every point, reading again
only the frames it refits, and queues the points whose results changed so their channels are
recomputed from the new rows; the finished status waits for them, so a headless export writes
the finished maps.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from swmrview.core.compute.channels import XRF_FIT
from swmrview.model.status import FINISHED, LIVE, Status
from swmrview.session.steps import Factory, register

logger = logging.getLogger(__name__)

__all__ = ["xrf_config_of", "StepFinisher", "finish_steps"]


def xrf_config_of(options: Any) -> Any:
    """The fit configuration: ``--xrf-config`` (loaded by the command line), else the view
    settings' ``xrf_config`` (loaded now: XrfConfigError, a ValueError, says why not); None."""
    if getattr(options, "xrf", None) is not None:
        return options.xrf
    path = getattr(getattr(options, "view", None), "xrf_config", None)
    if not path:
        return None
    from swmrview.core.compute.xrf_config import load_config

    return load_config(path)


def _elements(key: str) -> tuple[int, ...] | None:
    if key == XRF_FIT:
        return None
    inner = key[len(XRF_FIT) + 1:-1]
    try:
        return tuple(int(v) for v in inner.split(","))
    except ValueError:
        raise ValueError(f"bad XRF fit key {key!r}: expected xrf-fit[0,1,...]") from None


_BLAS_HELD = False


def _one_blas_thread() -> None:
    """Hold numpy's BLAS to one thread, once, when a fit is built: the fit's matrix products
    are small and already run in the pipeline's worker threads, and OpenBLAS's own threads only
    contend with them and busy-wait between calls, taking the core the window needs (the GUI
    event loop's p99 doubled with them on 2 cores)."""
    global _BLAS_HELD
    if _BLAS_HELD:
        return
    _BLAS_HELD = True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        logger.info("threadpoolctl missing: BLAS keeps its own threads during the XRF fit")
        return
    threadpool_limits(limits=1, user_api="blas")


def _build(scan: Any, options: Any, key: str) -> Any:
    from swmrview.core.compute.xrf_config import require_pymca
    from swmrview.core.compute.xrf_fit import XrfFitStep

    require_pymca()
    _one_blas_thread()
    config = xrf_config_of(options)
    if config is None:
        raise ValueError("no XRF fit configuration: give a PyMca .cfg (--xrf-config FILE.cfg "
                         "or \"xrf_config\" in the view settings)")
    return XrfFitStep(config, tuple(scan.pipeline.frame_shape), _elements(key), name=key)


def _auto(scan: Any, options: Any) -> bool:
    given = getattr(options, "xrf", None) is not None or \
        bool(getattr(getattr(options, "view", None), "xrf_config", None))
    return given and len(tuple(scan.pipeline.frame_shape)) in (1, 2)


register(XRF_FIT, Factory(_build, _auto))


def finish_steps(scan: Any, reader: Any) -> int:
    """Run the end-of-scan pass of every built step that has one (``step.finish``) over the
    results kept for the acquired points; put the changed rows back and queue their points
    for the channels on that step. Returns the number of points queued."""
    steps = scan.channels.steps.built() if scan.channels is not None \
        and scan.channels.steps is not None else {}
    queued = 0
    for key, step in steps.items():
        if not hasattr(step, "finish") or key not in reader.results.keys:
            continue
        positions = reader.acquired.positions()
        if not len(positions):
            continue
        # arrival order is not file order: sort so frames are read forwards
        positions = positions[np.lexsort(positions.T[::-1])]
        rows = reader.results.get(key, positions)
        have = np.isfinite(rows).all(axis=1)
        positions, rows = positions[have], rows[have]
        new = rows.copy()

        def frames_of(which: np.ndarray, positions=positions) -> np.ndarray:
            return np.stack([scan.pipeline.read(tuple(int(p) for p in positions[i]))
                             for i in which])

        refitted = step.finish(new, frames_of)
        changed = ~np.all(new == rows, axis=1)
        logger.info("%s end of scan: %d of %d points refitted, %d changed", key, refitted,
                    len(rows), int(changed.sum()))
        if not changed.any():
            continue
        reader.results.put(key, positions[changed], new[changed])
        names = tuple(n for n, r in scan.channels.step_reducers().items() if r.step == key)
        reader.backfill.append((positions[changed], names))
        queued += int(changed.sum())
    return queued


class StepFinisher:
    """Holds the finished status back while the end-of-scan passes' points are recomputed."""

    def __init__(self) -> None:
        self.active = False

    def reset(self) -> None:
        self.active = False

    def status(self, scan: Any, reader: Any, status: Status, previous: Status) -> Status:
        """The status to show: ``status``, or "finishing" while the passes' work is queued
        (only when the scan finishes now; a pass after the end just updates the maps)."""
        if status.kind != FINISHED:
            return status
        if reader.finish_due and not reader.pending:
            reader.finish_due = False
            try:
                queued = finish_steps(scan, reader)
            except Exception as exc:  # noqa: BLE001 - the block results stay; said, not fatal
                logger.warning("end-of-scan pass failed, the maps keep the block results: %s",
                               exc)
                queued = 0
            if queued and not previous.terminal:
                self.active = True
        if self.active and (reader.backfill or reader.pending):
            return Status(LIVE, "Finishing: the whole-stack XRF fit (PyMca's refit rule)")
        self.active = False
        return status
