"""The XRF fit in batch maps (``swmrview map --settings VIEW.json --xrf-config FIT.cfg``).

The workers fit every spectrum with the viewer's step (:class:`~swmrview.core.compute.xrf_fit.
XrfFitStep`, built from the configuration's text, which travels with each task) and map the
settings' ``fitted`` channels from its results, as the viewer does live. When every task of a
file is back, :func:`finish_maps` runs the whole-stack pass with PyMca's refit rule over the
file's results (reading again only the spectra it refits), so the batch maps equal the
viewer's finished maps and ``FastXRFLinearFit(refit=True)``; the output holds the areas, their
uncertainties, chi2 and the configuration as text (:mod:`swmrview.session.export_fit`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Sequence

import h5py
import numpy as np

from swmrview.core.compute.channels import XRF_FIT
from swmrview.core.compute.step_channels import StepChannelReducer
from swmrview.core.files.fields import open_data

logger = logging.getLogger(__name__)

__all__ = ["fit_keys", "xrf_steps", "finish_maps", "StepColumns"]


def fit_keys(processing: Any) -> list[str]:
    """The XRF fit steps a batch runs: the plain fit when a configuration is given, and the
    fits of the detector elements the ``fitted`` channels name."""
    if not getattr(processing, "xrf", None):
        return []
    keys = [XRF_FIT] + [c.step_key for c in processing.channels if c.kind == "fitted"]
    return list(dict.fromkeys(keys))


def _elements(key: str) -> tuple[int, ...] | None:
    return None if key == XRF_FIT else tuple(int(v) for v in key[len(XRF_FIT) + 1:-1].split(","))


def xrf_steps(processing: Any, frame_shape: Sequence[int]) -> dict[str, Any]:
    """The fit steps of one task (built from the configuration's text)."""
    keys = fit_keys(processing)
    if not keys:
        if any(c.kind == "fitted" for c in processing.channels):
            raise ValueError("fitted channels need a PyMca fit configuration: --xrf-config "
                             "FILE.cfg or \"xrf_config\" in the settings")
        return {}
    from swmrview.core.compute.xrf_config import config_from_text
    from swmrview.core.compute.xrf_fit import XrfFitStep

    config = config_from_text(processing.xrf, processing.xrf_source or "<settings>")
    return {key: XrfFitStep(config, tuple(frame_shape), _elements(key), name=key)
            for key in keys}


def finish_maps(plans: Sequence[Any], maps: Sequence[dict | None], processing: Any) -> int:
    """The whole-stack pass of each file's fits (in place in ``maps``): PyMca's refit over the
    results, then the fitted channels mapped again from the new rows; returns the spectra
    refitted."""
    keys = fit_keys(processing)
    refitted = 0
    for plan, values in zip(plans, maps):
        if values is None:
            continue
        with h5py.File(plan.path, "r") as f:
            data = open_data(f, plan.data)
            frame_shape = tuple(data.shape[plan.scan_rank:])
            steps = xrf_steps(processing, frame_shape)
            for key in keys:
                if key not in values:
                    continue
                shape = values[key].shape
                rows = values[key].reshape(-1, shape[-1])
                have = np.flatnonzero(np.isfinite(rows).all(axis=1))
                positions = np.stack(np.unravel_index(have, plan.scan_shape), axis=1)
                new = rows[have].copy()

                def frames_of(which, positions=positions, data=data):
                    return np.stack([np.asarray(data[tuple(int(p) for p in positions[i])])
                                     for i in which])

                refitted += steps[key].finish(new, frames_of)
                rows[have] = new
                values[key] = rows.reshape(shape)
                for channel in processing.channels:
                    if channel.kind == "fitted" and channel.step_key == key:
                        reducer = StepChannelReducer(channel, steps[key].labels)
                        mapped = np.full(len(rows), np.nan)
                        mapped[have] = reducer(new)
                        values[channel.name] = mapped.reshape(plan.scan_shape)
    if refitted:
        logger.info("whole-stack XRF pass: %d spectra refitted (PyMca's rule)", refitted)
    return refitted


@dataclass(frozen=True)
class StepColumns:
    """What :class:`~swmrview.session.export_fit.FitDatasets` needs of a step (as a StepInfo)."""

    x: np.ndarray
    describe: str
    config: str


def write_fit(entry: h5py.Group, key: str, rows: np.ndarray, labels, describe: str,
              config: str) -> None:
    """A fit's results (scan shape x columns) as ``/<entry>/<key>``: areas, uncertainties,
    chisq and the configuration text."""
    from swmrview.session.export_fit import FitDatasets

    scan_shape = rows.shape[:-1]
    fit = FitDatasets(entry, key, StepColumns(np.asarray(labels), describe, config or "{}"),
                      scan_shape)
    g = len(fit.groups)
    fit.areas[...] = rows[..., :g]
    fit.sigma[...] = rows[..., g:2 * g]
    fit.chisq[...] = rows[..., 2 * g]


def step_config(step: Any) -> str:
    """A step's configuration as JSON (``{}`` when it has none)."""
    return json.dumps(step.config(), default=str) if hasattr(step, "config") else "{}"
