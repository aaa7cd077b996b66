"""Finished Malcolm-style scan files made in the tests (the structure of p45-example.nxs and
k11-18014.nxs in ../shared/data/real): an NXdata whose ``signal`` is an external link into the
detector file, NXpositioner readbacks ``/entry/<motor>/value`` of the scan's shape with their
``value_set``, and ``diamond_scan`` keys (``uniqueKeys`` in the scan file, the detector's
``NDArrayUniqueId`` behind an external link)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

DETECTOR_FILE = "scan-1234-det.h5"


def missing_detector_scan(path: Path, shape=(5, 5), acquired: int | None = None) -> Path:
    """A scan whose detector file ``DETECTOR_FILE`` was never written beside it. ``acquired``
    points (all by default) have their ``uniqueKeys`` (1, 2, ...); the others are 0."""
    ny, nx = shape
    n = ny * nx if acquired is None else acquired
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="det")
        plot = entry.create_group("det")
        plot.attrs.update(NX_class="NXdata", signal="data",
                          axes=np.array([b"stagey_value_set", b"stagex_value_set", b".", b"."]),
                          stagey_value_set_indices=[0], stagex_value_set_indices=[1],
                          stagex_value_indices=[0, 1], stagey_value_indices=[0, 1])
        plot["data"] = h5py.ExternalLink(DETECTOR_FILE, "/entry/detector/detector")
        yy, xx = np.meshgrid(np.linspace(0, 1, ny), np.linspace(0, 2, nx), indexing="ij")
        for motor, readback, demand in (("stagex", xx + 0.01, np.linspace(0, 2, nx)),
                                        ("stagey", yy - 0.01, np.linspace(0, 1, ny))):
            group = entry.create_group(motor)
            group.attrs.update(NX_class="NXpositioner", gda_scan_role="scannable")
            group["value"] = readback
            group["value"].attrs["units"] = "mm"
            group["value_set"] = demand
            plot[f"{motor}_value"] = group["value"]
            plot[f"{motor}_value_set"] = group["value_set"]
        keys = np.zeros(ny * nx, "i4")
        keys[:n] = np.arange(1, n + 1)
        attributes = entry.create_group("NDAttributes")
        attributes.attrs["NX_class"] = "NXcollection"
        attributes["uniqueKeys"] = keys.reshape(ny, nx)
        scan = entry.create_group("diamond_scan")
        scan.attrs["NX_class"] = "NXcollection"
        scan["keys/uniqueKeys"] = attributes["uniqueKeys"]
        scan["keys/det_uid"] = h5py.ExternalLink(DETECTOR_FILE,
                                                 "/entry/NDAttributes/NDArrayUniqueId")
        scan["scan_shape"] = np.array(shape, "i4")
        scan["scan_rank"] = np.int32(2)
        scan["scan_finished"] = np.array([1], "i4")
    return path
