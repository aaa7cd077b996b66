"""What to replay in a finished file: the viewer's answer (:func:`core.layout.find_layout`).

The scan shape, keys, finished flag, signal and data a replay works with are those the viewer
finds in the original, so the replay grows exactly the points the viewer will follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import h5py

from swmrview.core.files import gda as gda_mod
from swmrview.core.files.layout import LayoutError, ScanLayout, find_layout
from swmrview.core.files.sources import Notes

__all__ = ["ReplayError", "ScanInfo", "analyse"]


class ReplayError(Exception):
    """The file cannot be replayed (the message says why)."""


@dataclass
class ScanInfo:
    """What :func:`analyse` found in a finished file."""

    scan_shape: tuple[int, ...]
    source: str                      # where the scan shape came from
    keys: tuple[str, ...] = ()       # key dataset/link paths in the master file
    finished: str | None = None      # finished-flag path
    signal: str | None = None        # the dataset the viewer shows
    data: tuple[str, ...] = ()       # the datasets the viewer follows, signal first
    notes: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return len(self.scan_shape)


def _known_shape(f: h5py.File, layout: ScanLayout) -> tuple[int, ...]:
    """The layout's scan shape with any dim it leaves open (None: keys with an unlimited
    maxshape and no declared shape) taken from the keys' or the signal's size in the file."""
    sized = [f[p] for p in layout.keys] or ([f[layout.signal]] if layout.signal else [])
    shape = []
    for d, n in enumerate(layout.scan_shape):
        if n is None:
            n = max((int(ds.shape[d]) for ds in sized if ds.ndim > d), default=0)
        shape.append(int(n))
    return tuple(shape)


def _shape_source(f: h5py.File, layout: ScanLayout, shape: tuple[int, ...]) -> str:
    """Where the layout's scan shape comes from, in words (for the log and the CLI)."""
    scan = gda_mod.find_scan(f, Notes())
    if scan is not None and scan.shape == shape:
        return f"{scan.path}/scan_shape"
    if layout.keys:
        return f"keys {layout.keys[0]}"
    dims = gda_mod.scan_dimensions(f, layout.signal or "/")
    if dims == shape:
        return f"/{(layout.signal or '/').strip('/').split('/')[0]}/scan_dimensions"
    return f"signal {layout.signal}"


def analyse(f: h5py.File, scan_shape: Sequence[int] | None = None) -> ScanInfo:
    """What to replay in an open finished file, as the viewer sees it.

    The scan shape, keys, finished flag, signal and data are :func:`core.layout.find_layout`'s
    (keys whose links dangle are kept: the replay synthesises them). ``scan_shape`` overrides
    the shape; it also lets a file in which the viewer finds nothing to show be replayed.
    """
    try:
        layout = find_layout(f)
    except LayoutError as exc:
        if scan_shape is None:
            raise ReplayError(f"{exc}; give a scan shape with --scan-shape to replay it anyway"
                              ) from exc
        return ScanInfo(tuple(int(n) for n in scan_shape), "given")
    found = dict(keys=layout.keys + layout.dangling_keys, finished=layout.finished,
                 signal=layout.signal, data=layout.data, notes=list(layout.notes))
    if scan_shape is not None:
        return ScanInfo(tuple(int(n) for n in scan_shape), "given", **found)
    if layout.scan_rank == 0:
        raise ReplayError(f"{f.filename}: {layout.signal} is a single frame, not a scan; "
                          "nothing would grow (give a scan shape with --scan-shape)")
    shape = _known_shape(f, layout)
    if min(shape) < 1:
        raise ReplayError(f"{f.filename}: scan shape {layout.scan_shape} has an empty dim; "
                          "give one with --scan-shape")
    return ScanInfo(shape, _shape_source(f, layout, shape), **found)

