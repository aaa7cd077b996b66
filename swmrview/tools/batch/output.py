"""Writing batch maps as NeXus: one NXentry per file holding an NXdata with one dataset per
channel (the first being the signal) and the scan axes fitted to the map."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from swmrview.core.files.nxdata import write_nxdata
from swmrview.tools.batch.plan import FilePlan

logger = logging.getLogger(__name__)

__all__ = ["write_nexus"]


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


def _write_pattern(entry: h5py.Group, key: str, rows: np.ndarray, x: np.ndarray,
                   describe: str) -> None:
    """A step's results (scan shape x bins) as an NXdata ``<key>`` with its bins' axis."""
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in key).strip("_")
    group = entry.create_group(name or "step")
    rank = rows.ndim - 1
    group.create_dataset("data", data=rows)
    group.create_dataset("x", data=np.asarray(x, dtype=np.float64))
    group.attrs["description"] = describe
    write_nxdata(group, "data", axes=(".",) * rank + ("x",), indices={"x": rank})


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
            for key in [k for k in values if f"{k}/x" in values]:
                if np.asarray(values[f"{key}/x"]).dtype.kind in "USO":   # the XRF fit
                    from swmrview.tools.batch.xrf import write_fit

                    write_fit(entry, key, values[key], values[f"{key}/x"],
                              values.get(f"{key}/describe", ""),
                              values.get(f"{key}/config", "{}"))
                    continue
                _write_pattern(entry, key, values[key], values[f"{key}/x"],
                               values.get(f"{key}/describe", ""))
        if names:
            nx.attrs["default"] = names[0]
    return names
