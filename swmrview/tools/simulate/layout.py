"""The files the simulated beamline creates: a GDA-like master (NeXus entry, NXdata with motor
axes, ``diamond_scan`` keys, ``scan_finished``), an optional areaDetector file linked from it,
and the datasets written at each point (data, positions, I0, then keys).

By default datasets grow the way GDA's do (SPEC section 1): every per-point dataset, keys
included, has an unlimited maxshape in every scan dimension and grows from (1, ..., 1) as points
arrive; keys are chunked several points per chunk; ``scan_shape`` and ``scan_rank`` are written
at scan start and are the only place the final shape is known. ``fixed_maxshape`` keeps the
older behaviour: maxshape is the final scan shape and only the slowest dimension grows.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

from swmrview.tools.simulate import positions as sim_positions
from swmrview.tools.simulate import xrd as sim_xrd
from swmrview.tools.simulate import xrf as sim_xrf
from swmrview.tools.simulate.config import (
    DETECTOR_FILE_DATA,
    DETECTOR_FILE_KEY,
    I0_PATH,
    MONITOR_PATH,
    SimConfig,
)
from swmrview.tools.simulate.expected import (
    axis_names,
    axis_positions,
    energy_axis,
    expected_frame,
    expected_positions,
    planned_positions,
)

#: Points per key chunk along the fastest scan dim (GDA writes keys in chunks of 8 points).
KEY_CHUNK = 8
#: Points per chunk along the fastest scan dim for scalar data (frames are one per chunk).
SCALAR_CHUNK = 64


def _filters(cfg: SimConfig) -> dict:
    if cfg.compression == "bitshuffle":
        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    if cfg.compression == "blosc":
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    return {}


def _growing(group: h5py.Group, name: str, cfg: SimConfig, tail: tuple[int, ...],
             chunks: tuple[int, ...], dtype, **kwargs) -> h5py.Dataset:
    """A chunked per-point dataset of shape scan + ``tail``, created empty of points.

    GDA (default): shape (1, ..., 1) + tail, maxshape None in every scan dim. Fixed maxshape:
    one slow row, maxshape = the final shape.
    """
    rank = len(cfg.shape)
    if cfg.fixed_maxshape:
        shape, maxshape = (1,) + cfg.shape[1:] + tail, cfg.shape + tail
    else:
        shape, maxshape = (1,) * rank + tail, (None,) * rank + tail
    return group.create_dataset(name, shape=shape, maxshape=maxshape, chunks=chunks,
                                dtype=dtype, fillvalue=0, **kwargs)


def _nx_group(parent: h5py.Group, name: str, nx_class: str) -> h5py.Group:
    group = parent.require_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def _fast_chunk(cfg: SimConfig, points: int) -> int:
    """Chunk length along the fastest scan dim: a whole row if fixed, else ``points``."""
    return cfg.shape[-1] if cfg.fixed_maxshape else points


def _create_data(group: h5py.Group, name: str, cfg: SimConfig) -> h5py.Dataset:
    if cfg.frame:
        chunks = (1,) * len(cfg.shape) + cfg.frame
    else:
        chunks = (1,) * (len(cfg.shape) - 1) + (_fast_chunk(cfg, SCALAR_CHUNK),)
    return _growing(group, name, cfg, cfg.frame, chunks, cfg.dtype, **_filters(cfg))


def _create_key(group: h5py.Group, name: str, cfg: SimConfig, trailing: int) -> h5py.Dataset:
    tail = (1,) * trailing
    chunks = (1,) * (len(cfg.shape) - 1) + (_fast_chunk(cfg, KEY_CHUNK),) + tail
    return _growing(group, name, cfg, tail, chunks, np.int32)


class ScanFiles:
    """The open master (and detector) files and the datasets written at each point."""

    def __init__(self, path: Path, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.files: list[h5py.File] = []
        self.positions: dict[str, h5py.Dataset] = {}    # spiral / fly: actual positions
        self.i0: h5py.Dataset | None = None             # xrf: the I0 counter
        det_file = None
        if cfg.external:
            det_path = path.with_name(path.stem + "_detector.h5")
            det_file = h5py.File(det_path, "w", libver="latest")
            self.files.append(det_file)
            entry = det_file.require_group("entry")
            self.data = _create_data(entry.require_group("data"), "data", cfg)
            self.det_key = _create_key(entry.require_group("NDAttributes"), "NDArrayUniqueId",
                                       cfg, trailing=2)
        master = h5py.File(path, "w", libver="latest")
        self.files.append(master)
        self.finished = self._write_master(master, det_file, cfg)

    def _write_master(self, f: h5py.File, det_file: h5py.File | None,
                      cfg: SimConfig) -> h5py.Dataset:
        f.attrs["default"] = "entry"
        entry = _nx_group(f, "entry", "NXentry")
        entry.attrs["default"] = "data"
        instrument = _nx_group(entry, "instrument", "NXinstrument")
        detector = _nx_group(instrument, "detector", "NXdetector")
        nxdata = _nx_group(entry, "data", "NXdata")
        scan = _nx_group(entry, "diamond_scan", "NXcollection")
        keys = _nx_group(scan, "keys", "NXcollection")
        if det_file is not None:
            det_name = os.path.basename(det_file.filename)
            detector["data"] = h5py.ExternalLink(det_name, DETECTOR_FILE_DATA)
            nxdata["data"] = h5py.ExternalLink(det_name, DETECTOR_FILE_DATA)
            keys["detector"] = h5py.ExternalLink(det_name, DETECTOR_FILE_KEY)
        else:
            self.data = _create_data(detector, "data", cfg)
            nxdata["data"] = self.data
            self.det_key = _create_key(keys, "detector", cfg, trailing=2)
        self.unique_keys = _create_key(keys, "uniqueKeys", cfg, trailing=1)

        nxdata.attrs["signal"] = "data"
        if cfg.positions == "grid":
            names = list(axis_names(len(cfg.shape)))
            for dim, (name, values) in enumerate(axis_positions(cfg).items()):
                motor = _nx_group(instrument, name, "NXpositioner")
                demand = motor.create_dataset("value_set", data=values, chunks=values.shape)
                demand.attrs["units"] = "mm"
                nxdata[name] = demand
                nxdata.attrs[f"{name}_indices"] = np.int32(dim)
        else:
            names = self._write_positioners(instrument, nxdata, cfg)
        frame_axes = ["."] * len(cfg.frame)
        if cfg.xrf:
            frame_axes[-1] = "energy"
            energy = nxdata.create_dataset("energy", data=energy_axis(cfg),
                                           chunks=(cfg.channels,))
            energy.attrs["units"] = "keV"
            nxdata.attrs["energy_indices"] = np.int32(len(cfg.shape) + len(cfg.frame) - 1)
            self._write_i0(entry, instrument, cfg)
        if cfg.xrd:
            self._write_geometry(instrument, detector, cfg)
        nxdata.attrs["axes"] = np.array(names + frame_axes, dtype=h5py.string_dtype())

        finished = scan.create_dataset("scan_finished", shape=(1,), maxshape=(None,),
                                       chunks=(1,), dtype=np.int32, fillvalue=0)
        scan.create_dataset("scan_rank", data=np.int32(len(cfg.shape)))
        scan.create_dataset("scan_shape", data=np.array(cfg.shape, dtype=np.int32),
                            chunks=(len(cfg.shape),))
        return finished

    def _write_positioners(self, instrument: h5py.Group, nxdata: h5py.Group,
                           cfg: SimConfig) -> list[str]:
        """Spiral / fly motors as GDA writes them; returns the NXdata ``axes`` of the scan dims.

        ``/entry/instrument/<motor>/value`` grows per point (actual positions), ``value_set``
        holds the whole plan from the start; NXdata links them as ``<motor>`` (indices: every
        scan dim) and ``<motor>_value_set`` (indices: its dim; a spiral's both 0).
        """
        rank = len(cfg.shape)
        spiral = cfg.positions == "spiral"
        chunks = (1,) * (rank - 1) + (_fast_chunk(cfg, SCALAR_CHUNK),)
        for dim, (name, plan) in enumerate(planned_positions(cfg).items()):
            motor = _nx_group(instrument, name, "NXpositioner")
            actual = _growing(motor, "value", cfg, (), chunks, np.float64)
            demand = motor.create_dataset("value_set", data=plan, chunks=plan.shape)
            for ds in (actual, demand):
                ds.attrs["units"] = "mm"
            self.positions[name] = actual
            nxdata[name] = actual
            nxdata[f"{name}_value_set"] = demand
            nxdata.attrs[f"{name}_indices"] = (np.int32(0) if rank == 1
                                               else np.arange(rank, dtype=np.int32))
            nxdata.attrs[f"{name}_value_set_indices"] = np.int32(0 if spiral else dim)
        if spiral:      # one scan dim: x is its axis, y rides along
            return [f"{sim_positions.MOTORS[1]}_value_set"]
        return [f"{name}_value_set" for name in sim_positions.MOTORS]

    @staticmethod
    def _write_geometry(instrument: h5py.Group, detector: h5py.Group, cfg: SimConfig) -> None:
        """XRD: the detector's NeXus geometry, pixel mask and saturation value."""
        h, w = cfg.frame
        px = sim_xrd.pixel_size(cfg.frame)
        for name, value, unit in (("distance", sim_xrd.DISTANCE, "m"),
                                  ("x_pixel_size", px, "m"), ("y_pixel_size", px, "m"),
                                  ("beam_center_x", w / 2, "pixels"),
                                  ("beam_center_y", h / 2, "pixels")):
            detector.create_dataset(name, data=np.float64(value)).attrs["units"] = unit
        detector.create_dataset("pixel_mask", data=sim_xrd.gap_mask(cfg.frame))
        detector.create_dataset("saturation_value", data=np.uint32(sim_xrd.SATURATION))
        beam = _nx_group(instrument, "beam", "NXbeam")
        beam.create_dataset("incident_wavelength",
                            data=np.float64(sim_xrd.WAVELENGTH * 1e10)).attrs["units"] = "angstrom"

    def _write_i0(self, entry: h5py.Group, instrument: h5py.Group, cfg: SimConfig) -> None:
        """The I0 counter (per point, growing like the data), also an NXmonitor's ``data``."""
        rank = len(cfg.shape)
        chunks = (1,) * (rank - 1) + (_fast_chunk(cfg, SCALAR_CHUNK),)
        counter = _nx_group(instrument, I0_PATH.split("/")[-2], "NXcollection")
        counter.attrs["gda_scan_role"] = "monitor_per_point"
        self.i0 = _growing(counter, "I0", cfg, (), chunks, np.float64)
        self.i0.attrs["units"] = "counts"
        monitor = _nx_group(entry, MONITOR_PATH.split("/")[-2], "NXmonitor")
        monitor["data"] = self.i0

    def per_point(self) -> list[h5py.Dataset]:
        """Every dataset growing per point, data first and keys last (the order written)."""
        extra = list(self.positions.values())
        if self.i0 is not None:
            extra.append(self.i0)
        return [self.data, *extra, self.det_key, self.unique_keys]

    def start_swmr(self) -> None:
        for f in self.files:
            f.swmr_mode = True

    @staticmethod
    def _grow(dataset: h5py.Dataset, pos: tuple[int, ...]) -> None:
        """Extend the scan dims of ``dataset`` so that it holds scan position ``pos``."""
        rank = len(pos)
        shape = dataset.shape
        needed = tuple(max(n, int(p) + 1) for n, p in zip(shape[:rank], pos))
        if needed != shape[:rank]:
            dataset.resize(needed + shape[rank:])

    def write_point(self, index: int, count: int) -> None:
        """Write grid point ``index`` (the ``count``-th acquired, from 1): data, then keys."""
        pos = np.unravel_index(index, self.cfg.shape)
        self._grow(self.data, pos)
        self.data[pos] = expected_frame(index, self.cfg)
        self.data.flush()
        recorded = expected_positions(index, self.cfg)
        for name, dataset in self.positions.items():
            self._grow(dataset, pos)
            dataset[pos] = recorded[name]
            dataset.flush()
        if self.i0 is not None:
            self._grow(self.i0, pos)
            self.i0[pos] = sim_xrf.i0_value(count - 1, self.cfg.n_points)   # by acquisition
            self.i0.flush()
        for key in (self.det_key, self.unique_keys):
            self._grow(key, pos)
            key[pos] = count
            key.flush()

    def grow_rows(self, index: int) -> None:
        """Extend every growing dataset to include grid point ``index`` (a dropped point)."""
        pos = np.unravel_index(index, self.cfg.shape)
        for dataset in self.per_point():
            self._grow(dataset, pos)
            dataset.flush()

    def finish(self) -> None:
        self.finished[0] = 1
        self.finished.flush()

    def close(self) -> None:
        for f in reversed(self.files):
            f.close()

