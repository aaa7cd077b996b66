"""The XRF fit in the live NeXus export: ``/entry/xrf_fit`` (no Qt).

A step whose result columns are named (the XRF fit: areas of each line group, their
uncertainties, χ²) is written as one NXdata beside the map channels:

- ``areas`` (scan x groups): the fitted area of each line group, the ``@signal``, with the
  group names (``"Fe K"``, ``"Pb L"``, as PyMca names them) as its last axis ``line_group``;
- ``uncertainties`` (scan x groups) and ``chisq`` (scan): the fit's σ of each area and its
  reduced χ²;
- ``configuration``: the PyMca fit configuration as ``.cfg`` text (with ``@source``, the file it
  came from), ``@description`` what ran; so a script that follows the export can rebuild the
  same fit (``xrf_config.config_from_text``) and reproduce every row.

Rows are NaN until written; at the end of the scan the whole-stack refit's rows overwrite the
block results of the points it changed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import h5py
import numpy as np

from swmrview.core.files.nxdata import write_nxdata

__all__ = ["named_columns", "FitDatasets"]


def named_columns(step: Any) -> bool:
    """True for a step whose result columns are names (write it with :class:`FitDatasets`)."""
    x = np.asarray(step.x)
    return x.dtype.kind in "USO"


class FitDatasets:
    """The datasets of ``/entry/<key>`` for one named-column step; rows written by position."""

    def __init__(self, entry: h5py.Group, key: str, step: Any, shape: Sequence[int]) -> None:
        labels = [str(v) for v in np.asarray(step.x)]
        self.groups = [n for n in labels[:-1] if not n.endswith(" sigma")]
        g = len(self.groups)
        if labels[g:2 * g] != [f"{n} sigma" for n in self.groups] or labels[-1] != "chisq":
            raise ValueError(f"step {key}: columns {labels} are not areas, sigmas and chisq")
        self.rank = len(shape)
        name = re.sub(r"[^A-Za-z0-9_]+", "_", key).strip("_") or "fit"
        group = write_nxdata(entry.create_group(name), "areas",
                             axes=(".",) * self.rank + ("line_group",),
                             indices={"line_group": self.rank})
        shape = tuple(shape)
        common = dict(maxshape=(None,) * self.rank + (g,), chunks=(1,) * self.rank + (g,),
                      dtype=np.float64, fillvalue=np.nan)
        self.areas = group.create_dataset("areas", shape=shape + (g,), **common)
        self.areas.attrs["long_name"] = "fitted area (counts)"
        self.sigma = group.create_dataset("uncertainties", shape=shape + (g,), **common)
        self.sigma.attrs["long_name"] = "uncertainty of the fitted area (counts)"
        self.chisq = group.create_dataset("chisq", shape=shape, maxshape=(None,) * self.rank,
                                          chunks=(1,) * self.rank, dtype=np.float64,
                                          fillvalue=np.nan)
        self.chisq.attrs["long_name"] = "reduced chi-square of the fit"
        group.create_dataset("line_group", data=np.array(self.groups, dtype=h5py.string_dtype()))
        config = json.loads(step.config or "{}")
        cfg = group.create_dataset("configuration", data=str(config.get("cfg", "")),
                                   dtype=h5py.string_dtype())
        cfg.attrs["source"] = str(config.get("source", ""))
        if config.get("elements") is not None:
            cfg.attrs["detector_elements_summed"] = np.asarray(config["elements"], np.int64)
        group.attrs["description"] = step.describe

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.areas.shape)

    def resize(self, shape: Sequence[int]) -> None:
        """Grow with the scan (``shape``: scan dims + anything after, as a pattern's)."""
        scan = tuple(shape)[:self.rank]
        g = len(self.groups)
        self.areas.resize(scan + (g,))
        self.sigma.resize(scan + (g,))
        self.chisq.resize(scan)

    def __setitem__(self, position: tuple[int, ...], row: np.ndarray) -> None:
        g = len(self.groups)
        self.areas[position] = row[:g]
        self.sigma[position] = row[g:2 * g]
        self.chisq[position] = row[2 * g]
