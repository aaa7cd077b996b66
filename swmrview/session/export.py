"""The live NeXus export (no Qt): the map channels written as a NeXus file while the scan runs.

:class:`LiveExport` writes the per-point reductions of a scan into a NeXus file *while the scan
runs*, as a processing step would with swmr_tools' ``create_dataset``/``append_data``: one
NXdata group with a dataset per reduction (``@signal`` the first, the motor axes from the scan
with their units), its own key dataset (``/entry/keys/uniqueKeys``, 0 until that point's
values are written, like GDA's ``uniqueKeys``) and a finished flag (``/entry/finished``, shape
(1,), maxshape (None,)). Another swmrview (or DAWN, or a swmr_tools script) can follow the
export while it grows: every dataset is created first, then SWMR mode is switched on; each
:meth:`LiveExport.apply` writes values, flushes, then writes the keys and flushes again, so a
reader never sees a key before its values.

Every scan dimension has an unlimited maxshape and starts at the length known from the scan
(1 where it is unknown), growing as points arrive: a reader's key follower sees the final
shape of the fast dimensions from the start when the scan declared it.

Channels are fixed for the life of a file (SWMR cannot add datasets): when the set of
reductions changes (a ROI added, map channels added or changed, another dataset shown, a new
scan), finish this export and start a new :class:`LiveExport` on another file;
:func:`next_export_path` names it. Map channels (:mod:`swmrview.core.compute.channels`) are written
beside the reductions, each with its spec as JSON in a ``channel`` attribute.

Processing steps run on every point (``ScanInfo.steps``: the azimuthal integration when a
geometry is known) are written as one NXdata each, ``/entry/<step>`` (``/entry/integrate``):
``data`` of shape scan x bins (NaN until written) with the bin centres as the last axis (``q``
or ``2th`` with its units), the engine and geometry source in ``@description`` and pyFAI's
geometry as JSON in ``geometry``. Their rows come with the updates (``Update.results``, sent
when the session is told an export runs); points read before an export started mid-scan keep
NaN patterns. A step with named columns (the XRF fit) is written by
:mod:`swmrview.session.export_fit` instead: ``/entry/xrf_fit`` with its areas, uncertainties,
χ² and the PyMca configuration as text.

A window's messages reach live exports through :mod:`swmrview.session.export_feed`; frames and
map planes are written as TIFF or CSV by :mod:`swmrview.session.arrays`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import h5py
import numpy as np

from swmrview.core.files.nxdata import write_nxdata
from swmrview.session.export_fit import FitDatasets, named_columns
from swmrview.model.messages import Axis, ScanInfo, Update

if TYPE_CHECKING:  # pragma: no cover
    from swmrview.model.view_state import ViewState

logger = logging.getLogger(__name__)

__all__ = ["LiveExport", "StateSnapshot", "DEFAULT_REDUCTIONS", "ENTRY", "NXDATA", "KEYS", "FINISHED"]

DEFAULT_REDUCTIONS = ("sum", "mean", "max")
ENTRY = "/entry"
NXDATA = ENTRY + "/data"
KEYS = ENTRY + "/keys/uniqueKeys"
FINISHED = ENTRY + "/finished"
CHUNK_POINTS = 4096          # points per chunk of a map dataset (a few rows of a typical map)

class LiveExport:
    """A NeXus file of the scan's map channels, written live (see the module docstring).

    Parameters
    ----------
    path
        File to create (overwritten if it exists).
    info
        The scan being followed: its shape (None: unknown length), axes and source.
    reductions
        Channels to write, each a reduction name of the :class:`~swmrview.model.messages.Update`
        values; the first is the NXdata ``@signal``.
    roi
        The ROI the ``"roi"`` channel is computed with; ``"roi"`` values an update computed for
        another ROI are not written.
    channels
        The :class:`~swmrview.core.compute.channels.Channel` of each map channel among ``reductions``
        (its spec is kept in the dataset's ``channel`` attribute, as JSON); a name that is not
        a valid HDF5 name ("Fe/I0") is written as "Fe_over_I0" with the name in ``long_name``.
    """

    def __init__(self, path: str | os.PathLike, info: ScanInfo,
                 reductions: Sequence[str] = DEFAULT_REDUCTIONS,
                 roi: Sequence[int] | None = None,
                 channels: Mapping[str, Any] | None = None) -> None:
        if info.scan_rank == 0:
            raise ValueError("a single frame (scan rank 0) has no map to export")
        reductions = tuple(dict.fromkeys(reductions))
        if not reductions:
            raise ValueError("no reductions to export")
        self.path = os.fspath(path)
        self.info = info
        self.reductions = reductions
        self.roi = None if roi is None else tuple(int(v) for v in roi)
        self.rank = info.scan_rank
        self.n_written = 0                     # points keyed so far (the last key value)
        self.finished = False
        shape = tuple(max(int(n or 0), 1) for n in info.scan_shape)
        self._shape = shape                    # current extent of every map dataset
        self._values = {name: np.full(shape, np.nan) for name in reductions}
        self._keys = np.zeros(shape, np.int32)
        self.channels = dict(channels or {})   # name -> Channel, for the map channels
        self._names = _dataset_names(reductions)
        self._axis_names = _axis_names(info.axes, self.rank, tuple(self._names.values()))
        self.file = h5py.File(self.path, "w", libver="latest")
        try:
            self._create(info)
            self.file.swmr_mode = True        # every dataset exists: readers may open now
        except BaseException:
            self.file.close()
            raise
        logger.info("live NeXus export of %s to %s (%s)", info.data_path, self.path,
                    ", ".join(reductions))

    # ------------------------------------------------------------------ layout
    def _create(self, info: ScanInfo) -> None:
        f = self.file
        f.attrs["default"] = "entry"
        f.attrs["creator"] = "swmrview"
        entry = f.create_group(ENTRY)
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        entry.create_dataset("program_name", data="swmrview")
        entry.create_dataset("start_time", data=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        entry.create_dataset("source_file", data=info.path)
        entry.create_dataset("source_dataset", data=info.data_path)
        data = write_nxdata(entry.create_group("data"), self._names[self.reductions[0]],
                            axes=self._axis_names,
                            indices={name: d for d, name in enumerate(self._axis_names)},
                            auxiliary=[self._names[n] for n in self.reductions[1:]])
        maxshape = (None,) * self.rank
        chunks = _chunks(self._shape)
        self.datasets: dict[str, h5py.Dataset] = {}
        for name in self.reductions:
            ds = data.create_dataset(self._names[name], shape=self._shape, maxshape=maxshape,
                                     chunks=chunks, dtype=np.float64, fillvalue=np.nan)
            channel = self.channels.get(name)
            ds.attrs["long_name"] = name if channel is not None else f"{name} of {info.data_path}"
            if channel is not None:
                ds.attrs["channel"] = json.dumps(channel.to_dict())
            if name == "roi" and self.roi is not None:
                ds.attrs["roi"] = np.asarray(self.roi, np.int64)
            self.datasets[name] = ds
        self.axis_datasets: list[h5py.Dataset] = []
        for d, name in enumerate(self._axis_names):
            axis = info.axes[d] if d < len(info.axes) else None
            values = self._axis_values(d, axis)
            ds = data.create_dataset(name, data=values, maxshape=(None,),
                                     chunks=(max(min(len(values), 1024), 64),))
            if axis is not None and axis.unit:
                ds.attrs["units"] = axis.unit
            self.axis_datasets.append(ds)
        keys = entry.create_group("keys")
        keys.attrs["NX_class"] = "NXcollection"
        self.keys = keys.create_dataset("uniqueKeys", shape=self._shape, maxshape=maxshape,
                                        chunks=chunks, dtype=np.int32, fillvalue=0)
        self.flag = entry.create_dataset("finished", shape=(1,), maxshape=(None,),
                                         dtype=np.int32, fillvalue=0)
        self.patterns: dict[str, h5py.Dataset] = {}
        for key, step in dict(getattr(info, "steps", {}) or {}).items():
            if named_columns(step):   # the XRF fit: areas, uncertainties, chisq
                self.patterns[key] = FitDatasets(entry, key, step, self._shape)
                continue
            self.patterns[key] = _pattern_group(entry, key, step, self._shape,
                                                self._axis_names)

    def _axis_values(self, d: int, axis: Axis | None) -> np.ndarray:
        n = self._shape[d]
        if axis is not None and axis.values is not None and len(axis.values):
            values = np.asarray(axis.values, dtype=np.float64).ravel()
            return _extend(values, n)
        return np.arange(n, dtype=np.float64)

    # ------------------------------------------------------------------ writing
    def apply(self, update: Update) -> int:
        """Write the values at the update's positions, then their keys; return points keyed.

        Datasets grow first when a point (or the update's ``scan_shape``) lies beyond them,
        as swmr_tools' ``append_data`` does. Updates of another generation are the caller's
        to filter (a new scan or dataset needs a new export file).
        """
        if self.finished:
            raise ValueError(f"export {self.path} is finished")
        if update.axes is not None:
            self._write_axes(update.axes)
        if update.scan_shape is not None and len(update.scan_shape) == self.rank:
            self._grow(tuple(int(n or 0) for n in update.scan_shape))
        values = dict(update.values)
        if "roi" in values and update.roi is not None and \
                tuple(int(v) for v in update.roi) != self.roi:
            values.pop("roi")
        rows = getattr(update, "results", None) or {}
        for key, ds in self.patterns.items():
            if key in rows and len(update.positions):
                positions = np.asarray(update.positions, dtype=np.int64)
                self._grow(tuple(positions.max(axis=0) + 1))
                for position, row in zip(positions, rows[key]):
                    ds[tuple(position)] = row
        return self.write_points(update.positions, values, update.channels)

    def apply_state(self, state: ViewState | StateSnapshot) -> int:
        """Write every point acquired so far in ``state`` (arrival order), e.g. when an export
        starts in the middle of a scan; return the points keyed.

        Points with no value yet in any channel (another dataset shown, its values still being
        recomputed) are left unkeyed: the updates that bring their values key them.
        """
        snapshot = state if isinstance(state, StateSnapshot) else StateSnapshot.of(state)
        self._write_axes(snapshot.axes)
        self._grow(snapshot.shape)
        positions = snapshot.positions
        if not len(positions):
            return 0
        values = {name: snapshot.values[name] for name in self.reductions
                  if name in snapshot.values}
        if "roi" in values and snapshot.roi != self.roi:
            values.pop("roi")
        if not values:
            return 0
        known = np.any([np.isfinite(v) for v in values.values()], axis=0)
        for name in self.channels:   # a channel added later: keyed when its values come
            if name in values:
                known &= np.isfinite(values[name])
        return self.write_points(positions, values, key=known)

    def write_points(self, positions: np.ndarray, values: Mapping[str, np.ndarray],
                     update_channels: Mapping[str, Any] | None = None,
                     key: np.ndarray | None = None) -> int:
        """Write ``values[name][k]`` at ``positions[k]`` (an (n, rank) int array), then key
        the points not keyed yet (only those where ``key`` is True, if given); return how
        many were keyed now."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1, self.rank)
        if not len(positions):
            return 0
        if (positions < 0).any():
            raise IndexError(f"negative scan position in {positions.min(axis=0)}")
        self._grow(tuple(positions.max(axis=0) + 1))
        where = tuple(positions.T)
        box = tuple(slice(int(lo), int(hi) + 1)
                    for lo, hi in zip(positions.min(axis=0), positions.max(axis=0)))
        written = [name for name in self.reductions if name in values]
        for name in written:
            if name in self.channels and update_channels is not None \
                    and update_channels.get(name) != self.channels[name]:
                continue   # computed for another spec than this file's
            self._values[name][where] = np.asarray(values[name], dtype=np.float64)
            self.datasets[name][box] = self._values[name][box]
        self.file.flush()                      # the values are on disk before any key
        fresh = self._keys[where] == 0
        if key is not None:
            fresh &= np.asarray(key, dtype=bool)
        if not fresh.any():
            return 0
        new = positions[fresh]
        _, first = np.unique(new, axis=0, return_index=True)
        new = new[np.sort(first)]              # each new point once, in arrival order
        self._keys[tuple(new.T)] = np.arange(self.n_written + 1, self.n_written + len(new) + 1)
        self.n_written += len(new)
        self.keys[box] = self._keys[box]
        self.file.flush()
        return len(new)

    def _grow(self, shape: Sequence[int]) -> None:
        """Extend every map dataset (and the keys) to at least ``shape``."""
        wanted = tuple(max(n, int(s)) for n, s in zip(self._shape, shape))
        if wanted == self._shape:
            return
        old = tuple(slice(0, n) for n in self._shape)
        for name, arr in self._values.items():
            grown = np.full(wanted, np.nan)
            grown[old] = arr
            self._values[name] = grown
            self.datasets[name].resize(wanted)
        for ds in getattr(self, "patterns", {}).values():
            ds.resize(wanted + ds.shape[self.rank:])
        keys = np.zeros(wanted, np.int32)
        keys[old] = self._keys
        self._keys = keys
        self.keys.resize(wanted)
        for d, (before, after) in enumerate(zip(self._shape, wanted)):
            if after > before:
                axis = self.axis_datasets[d]
                if len(axis) < after:
                    known = len(axis)
                    values = _extend(axis[()], after)
                    axis.resize((after,))
                    axis[known:] = values[known:]
        self._shape = wanted

    def _write_axes(self, axes: Sequence[Axis]) -> None:
        for d, axis in enumerate(axes[: self.rank]):
            if axis.values is None or not len(axis.values):
                continue
            values = np.asarray(axis.values, dtype=np.float64).ravel()
            ds = self.axis_datasets[d]
            if len(values) > len(ds):
                ds.resize((len(values),))
            ds[: len(values)] = values

    # ------------------------------------------------------------------ ending
    def finish(self) -> None:
        """Set the finished flag (readers stop following) and close the file."""
        if self.finished:
            return
        self.flag[0] = 1
        self.file.flush()
        self.finished = True
        self.close()
        logger.info("live NeXus export finished: %d points in %s", self.n_written, self.path)

    def close(self) -> None:
        """Close the file (without setting the finished flag, e.g. on an error)."""
        if self.file.id.valid:
            self.file.close()

    @property
    def closed(self) -> bool:
        """True once the file is closed."""
        return not self.file.id.valid

    def __enter__(self) -> LiveExport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

@dataclass(frozen=True)
class StateSnapshot:
    """What :meth:`LiveExport.apply_state` needs of a view state, copied (so another thread
    can write it while the window goes on)."""

    info: ScanInfo
    axes: tuple[Axis, ...]
    shape: tuple[int, ...]
    roi: tuple[int, ...] | None
    positions: np.ndarray                 # (n, rank) acquired points in arrival order
    values: Mapping[str, np.ndarray]      # reduction -> value at each of ``positions``
    channels: Mapping[str, Any] = field(default_factory=dict)   # name -> Channel

    @classmethod
    def of(cls, state: ViewState) -> StateSnapshot:
        """Copy the acquired points of ``state`` and their values."""
        positions = state.acquired_positions()
        where = tuple(positions.T)
        values = {name: arr[where].copy() for name, arr in state.map.values.items()}
        return cls(state.info, tuple(state.axes), tuple(state.shape), state.roi, positions,
                   values, dict(state.channels))



def _pattern_group(entry: h5py.Group, key: str, step: Any, shape: Sequence[int],
                   axis_names: Sequence[str]) -> h5py.Dataset:
    """``/entry/<key>``: an NXdata of the step's rows per point, its bins the last axis."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", key).strip("_") or "step"
    unit = str(step.unit)
    axis = {"q_nm^-1": ("q", "1/nm"), "q_A^-1": ("q", "1/angstrom"),
            "2th_deg": ("two_theta", "degree")}.get(unit, ("x", unit))
    rank = len(shape)
    group = write_nxdata(entry.create_group(name), "data",
                         axes=(".",) * rank + (axis[0],),
                         indices={axis[0]: rank})
    n = len(step.x)
    ds = group.create_dataset("data", shape=tuple(shape) + (n,),
                              maxshape=(None,) * rank + (n,), chunks=(1,) * rank + (n,),
                              dtype=np.float64, fillvalue=np.nan)
    ds.attrs["long_name"] = f"{key}: {step.describe}"
    x = group.create_dataset(axis[0], data=np.asarray(step.x, dtype=np.float64))
    if axis[1]:
        x.attrs["units"] = axis[1]
    group.attrs["description"] = step.describe
    group.create_dataset("geometry", data=step.config)
    return ds


def _extend(values: np.ndarray, n: int) -> np.ndarray:
    """Motor positions to at least ``n`` values, continuing the last step (as the map's
    coordinates do while a scan's positions are still growing)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) >= n:
        return values.copy()
    step = values[-1] - values[-2] if len(values) > 1 and values[-1] != values[-2] else 1.0
    return np.concatenate([values, values[-1] + step * np.arange(1, n - len(values) + 1)])


def _dataset_names(reductions: Sequence[str]) -> dict[str, str]:
    """A valid, unique HDF5 dataset name for each reduction or channel name."""
    out: dict[str, str] = {}
    for name in reductions:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name.replace("/", "_over_")).strip(".") or "map"
        base, k = safe, 2
        while safe in out.values():
            safe, k = f"{base}_{k}", k + 1
        out[name] = safe
    return out


def _axis_names(axes: Sequence[Axis], rank: int, reserved: Sequence[str]) -> tuple[str, ...]:
    """One dataset name per scan dimension, from the scan's axes, unique and not a channel."""
    used = set(reserved) | {"keys", "finished"}
    names = []
    for d in range(rank):
        name = axes[d].name if d < len(axes) else ""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name or "").strip("._") or f"dim{d}"
        base, k = name, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return tuple(names)


def _chunks(shape: Sequence[int]) -> tuple[int, ...]:
    """About CHUNK_POINTS points per chunk: whole fast rows, then a few rows."""
    chunks = [1] * len(shape)
    left = CHUNK_POINTS
    for d in reversed(range(len(shape))):
        chunks[d] = max(1, min(int(shape[d]), left))
        left = max(1, left // chunks[d])
        if shape[d] > chunks[d]:
            break
    return tuple(chunks)
