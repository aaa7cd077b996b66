"""One opened scan: the follower, the read-and-reduce pipeline and the motor axes of a file.

Which follower depends on what the file holds: key datasets (followed as swmr_tools does),
no keys but a writer still at work (followed by dataset growth), or a complete file (every
point ready at once). Everything here runs in the follower thread; nothing here imports Qt.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from swmrview.core.files.fields import open_data
from swmrview.core.compat.frames import KeyDataMismatchError, check_filters
from swmrview.core.follow.growth import GrowthFollower
from swmrview.core.follow.following import read_finished_flag
from swmrview.core.follow.keys import KeyFollower
from swmrview.core.files.layout import LayoutError, ScanLayout
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.follow.positions import unravel_many

from swmrview.session.followers import CompleteFollower
from swmrview.session.handles import ScanFile
from swmrview.session.written import WrittenRule
from swmrview.model.frames import frame_kind
from swmrview.model.messages import Axis, frozen
from swmrview.model.options import ViewerOptions
from swmrview.session.scatter_source import ScatterSource

logger = logging.getLogger(__name__)

KEYS, GROWTH, COMPLETE = "keys", "growth", "complete"
MODE_TEXT = {KEYS: "following keys", GROWTH: "no keys: following dataset growth",
             COMPLETE: "complete file"}


class WaitForFiles(LayoutError):
    """Key links point to detector files that are not there yet (a live scan): wait."""


@dataclass
class OpenScan:
    """Everything held for one open file (h5py objects never leave the follower thread).

    ``file`` hands out one shared handle per dataset: every reader asks it for its datasets.
    """

    file: ScanFile
    layout: ScanLayout
    mode: str
    follower: Any
    pipeline: ReducePipeline
    data_path: str
    notes: tuple[str, ...] = ()
    axes: tuple[Axis, ...] = ()
    mask: np.ndarray | None = None       # excluded pixels now in use (True = left out)
    overflow: float | None = None        # values at or above it left out
    channels: Any = None                 # model.channels.ChannelSet: the map channels' readers
    frame_axis: Axis | None = None       # calibration of the spectra shown (energy), if any
    scatter: ScatterSource | None = None  # per-point positions of a non-grid scan
    written: WrittenRule | None = None   # is point i of dataset D written (every reader asks)
    _axis_sizes: tuple = field(default=(), repr=False)

    @property
    def scan_rank(self) -> int:
        """Number of scan dimensions."""
        return self.layout.scan_rank if self.mode != COMPLETE else len(self.follower.scan_shape)

    @property
    def batch(self) -> int:
        """Points read and reduced per pipeline call: about 32 MB of frames, 4 to 4096 points.

        Big calls keep the pipeline's threads busy when a backlog is read (small ones pay its
        per-call cost); the read budget still bounds a step.
        """
        frame_bytes = int(np.prod(self.pipeline.frame_shape, dtype=np.int64)) \
            * self.pipeline.dtype.itemsize
        return int(np.clip((32 << 20) // max(1, frame_bytes), 4, 4096))

    def index_shape(self) -> tuple[int | None, ...]:
        """The shape the follower's flat indices are counted over, now."""
        return index_shape(self.follower)

    def positions(self, indices: np.ndarray) -> np.ndarray:
        """Scan positions, shape (n, rank), of the follower's flat ``indices``."""
        return unravel_many(indices, self.index_shape())

    def close(self) -> None:
        """Stop following and close the file (never raises)."""
        try:
            self.follower.stop()
            if self.channels is not None:
                self.channels.close()
            if self.written is not None:
                self.written.close()
            self.pipeline.close()
            self.file.close()
        except Exception:  # noqa: BLE001 - closing must not raise on the way out
            logger.debug("error closing scan", exc_info=True)


def index_shape(follower: Any) -> tuple[int | None, ...]:
    """The shape ``follower``'s flat indices are counted over, now."""
    return tuple(getattr(follower, "index_shape", None) or follower.scan_shape)


def _flag_set(h5: Any, layout: ScanLayout) -> bool:
    if not layout.finished:
        return False
    try:
        return read_finished_flag(h5[layout.finished])
    except Exception:  # noqa: BLE001 - an unreadable flag is "not set"
        return False


def open_scan(h5: Any, layout: ScanLayout, options: ViewerOptions, active: bool,
              data_path: str | None = None, mask: bool = True) -> OpenScan:
    """Build the follower, pipeline and axes for ``layout`` in the open file ``h5``.

    Raises
    ------
    WaitForFiles
        Key links dangle while the writer is still at work.
    LayoutError
        Nothing in the file can be shown.

    ``mask`` leaves the detector's masked and overflowing pixels out (the user's choice).
    """
    h5 = h5 if isinstance(h5, ScanFile) else ScanFile(h5)
    notes = list(layout.notes)
    data_path = data_path or (options.data[0] if options.data else None) \
        or layout.signal or (layout.data[0] if layout.data else None)
    if not data_path:
        raise LayoutError(f"nothing to show in {h5.filename}: no numeric dataset that matches "
                          "the scan" + (f" ({'; '.join(notes)})" if notes else ""))
    data = open_data(h5, data_path)
    flag = _flag_set(h5, layout)
    if layout.dangling_keys and active and not flag:
        raise WaitForFiles("waiting for detector file(s): " + ", ".join(
            layout.missing_files or layout.dangling_keys))
    if layout.keys and not (layout.dangling_keys and (flag or not active)):
        mode, follower = KEYS, _key_follower(h5, layout, options)
    elif active and not flag:
        mode = GROWTH
        follower = GrowthFollower([data], timeout=options.timeout,
                                  finished_dataset=h5[layout.finished] if layout.finished else None,
                                  scan_rank=layout.scan_rank, poll_interval=options.poll_interval,
                                  stop_event=threading.Event())
    else:
        mode = COMPLETE
        if layout.dangling_keys:
            notes.append("key files missing: shown as a complete scan without keys")
        follower = CompleteFollower(data.shape[: layout.scan_rank])
    pipeline = make_pipeline(data, layout.scan_rank, options)
    if mode == KEYS:
        check_keys_fit_data(follower, data, layout.keys)
    scan = OpenScan(h5, layout, mode, follower, pipeline, data_path, tuple(notes))
    # no reference back to the scan: a cycle would keep its HDF5 objects alive until a garbage
    # collection long after the file closed, whose late release corrupted a later scan's
    # datasets ("can't insert duplicate key")
    scan.written = WrittenRule(mode == GROWTH, lambda path: open_data(h5, path),
                               scan.scan_rank, lambda: index_shape(follower))
    apply_mask(scan, mask)
    refresh_axes(scan)
    scan.scatter = ScatterSource.find(h5, layout)
    if scan.scatter is not None:
        scan.scatter.read(0, scan.follower.scan_shape)
    return scan


def check_keys_fit_data(follower: KeyFollower, data: Any, keys: Any = ()) -> None:
    """Raise KeyDataMismatchError (in plain words) if ``data`` cannot hold the scan the keys
    describe: a fixed scan axis of another size (frames would be looked for where there are
    none), or fewer points along the slowest axis than the keys already have.

    Axes that may still grow (unlimited in the data, or not settled in the keys) are not
    compared: mid-scan a GDA file's datasets grow from (1, ..., 1).
    """
    rank = follower.scan_rank
    wanted = follower.settled_shape()
    held = tuple(data.maxshape or data.shape)[:rank]
    for axis, (k, m) in enumerate(zip(wanted, held)):
        if k is None or m is None:
            continue
        if m != k if axis else m < k:
            names = ", ".join(keys) or "the keys"
            raise KeyDataMismatchError(
                f"keys and data do not match: {names} describe{'s' if len(keys) == 1 else ''} "
                f"a scan of {shape_text(wanted)} points but {data.name} holds "
                f"{shape_text(held)} (scan axis {axis + 1} has {k} points in the keys, "
                f"{m} in the data)")


def shape_text(shape: Any) -> str:
    """(2, 3) -> "2x3"; an axis of unknown length is "?"."""
    return "x".join("?" if n is None else str(n) for n in shape)


#: How much lower than the writer the viewer's decoding threads run (nice value).
VIEWER_NICE = 10


def make_pipeline(data: Any, scan_rank: int, options: ViewerOptions) -> ReducePipeline:
    """The read-and-reduce pipeline of one data dataset (checked against the scan rank).

    Pass the same h5py Dataset object a growth follower polls: two handles of one dataset,
    refreshed separately, can leave one's chunk index stale under SWMR.
    """
    data_path = data.name
    if not hasattr(data, "dtype") or data.dtype.kind not in "biuf":
        raise LayoutError(f"{data_path} is not a numeric dataset")
    if data.ndim < scan_rank:
        raise LayoutError(f"{data_path} has rank {data.ndim}, less than the scan rank "
                          f"{scan_rank}")
    check_filters(data)   # h5py would fail on every frame with a message naming no filter
    # a guest on the writer's machine: on busy cores the writer gets the CPU first
    return ReducePipeline(data, scan_rank, threads=options.threads, nice=VIEWER_NICE)


def _key_follower(h5: Any, layout: ScanLayout, options: ViewerOptions) -> KeyFollower:
    keys = [h5[p] for p in layout.keys]
    finished = h5[layout.finished] if layout.finished else None
    for key in keys:
        check_filters(key, "the key")
    if finished is not None:
        check_filters(finished, "the finished flag")
    declared = tuple(layout.scan_shape) if None not in layout.scan_shape else None
    skip_after = options.skip_after
    if skip_after is None:
        skip_after = max(0.5, min(2.0, options.timeout / 4))
    follower = KeyFollower(keys, timeout=options.timeout, finished_dataset=finished,
                           scan_shape=declared, poll_interval=options.poll_interval,
                           out_of_order=True, skip_after=skip_after,
                           stop_event=threading.Event(), scan_rank=layout.scan_rank)
    follower.check_datasets()
    return follower


def has_detector_mask(scan: OpenScan) -> bool:
    """True if the shown dataset is the detector signal whose pixel mask or overflow is known."""
    layout = scan.layout
    return scan.data_path == layout.signal and bool(layout.pixel_mask
                                                    or layout.overflow is not None)


def apply_mask(scan: OpenScan, on: bool) -> bool:
    """Leave the detector's bad and overflowing pixels out of reductions (``on``) or not.

    Returns True if the data has a mask or an overflow value at all.
    """
    layout, mask = scan.layout, None
    frame_shape = tuple(scan.pipeline.frame_shape)
    if not has_detector_mask(scan):  # another dataset than the detector's: nothing left out
        scan.mask = scan.overflow = None
        scan.pipeline.set_mask(None, None)
        return False
    if layout.pixel_mask:
        try:
            values = np.asarray(scan.file[layout.pixel_mask][()])
            if values.shape == frame_shape:
                mask = values != 0
        except Exception as exc:  # noqa: BLE001 - a broken mask is a note, not a failure
            logger.warning("pixel mask %s not used: %s", layout.pixel_mask, exc)
    has_mask = mask is not None or layout.overflow is not None
    scan.mask, scan.overflow = (mask, layout.overflow) if on else (None, None)
    scan.pipeline.set_mask(scan.mask, scan.overflow)
    return has_mask


def fitting_roi(scan: OpenScan, roi: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """``roi`` if it fits the scan's frames (4 values for images, 2 for spectra), else None."""
    kind = frame_kind(tuple(scan.pipeline.frame_shape))
    if roi is not None and len(roi) != {"image": 4, "spectrum": 2}.get(kind, -1):
        logger.warning("ROI %s does not fit %s frames: ignored", roi, kind)
        return None
    return roi


def use_channels(scan: OpenScan, wanted: Sequence[Any], rebuild: bool
                 ) -> tuple[list[str], list[str]]:
    """Give the scan's channel set the ``wanted`` channels (``rebuild``: the detector changed,
    its frames' reducers are made again); the names changed and the reasons of those refused."""
    if scan.channels is None:
        return [], []
    args = (scan.pipeline.frame_shape, scan.mask, scan.overflow,
            None if scan.frame_axis is None else scan.frame_axis.values)
    if rebuild:
        scan.channels.forget_frames()
    return scan.channels.set(wanted, *args)


def refresh_axes(scan: OpenScan, force: bool = False) -> bool:
    """Re-read the motor positions if their datasets grew (or ``force``); True if they changed.

    Under SWMR a dataset's new shape is only seen after refreshing it; ``force`` reads the
    values again at a scan's end, when a snake's last row has filled in positions read early.
    """
    layout = scan.layout
    rank = scan.scan_rank
    names = list(layout.axis_names)[:rank] + [f"dim{d}" for d in range(len(layout.axis_names),
                                                                       rank)]
    units = list(getattr(layout, "axis_units", ()) or ())[:rank]
    units += [None] * (rank - len(units))
    paths = list(layout.axes)[:rank] + [None] * (rank - len(layout.axes))
    sizes = []
    for path in paths:
        try:
            ds = scan.file[path] if path else None
            if ds is not None and getattr(scan.file, "swmr_mode", False):
                ds.refresh()
            sizes.append(tuple(ds.shape) if ds is not None else None)
        except Exception:  # noqa: BLE001 - a missing axis falls back to indices
            sizes.append(None)
    if tuple(sizes) == scan._axis_sizes and scan.axes and not force:
        return False
    scan._axis_sizes = tuple(sizes)
    axes = tuple(Axis(names[d], units[d], _axis_values(scan.file, paths[d], d, rank))
                 for d in range(rank))
    changed = len(axes) != len(scan.axes) or any(
        _values_differ(a.values, b.values) for a, b in zip(axes, scan.axes))
    scan.axes = axes
    return changed or not axes


def _values_differ(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is not b
    return a.shape != b.shape or not np.array_equal(a, b)


def _axis_values(h5: Any, path: str | None, dim: int, rank: int) -> np.ndarray | None:
    """Positions along scan dim ``dim``: a 1-D axis, or a scan-shaped positioner's line at 0."""
    if not path:
        return None
    try:
        ds = h5[path]
        if ds.ndim == 1:
            values = ds[()]
        elif ds.ndim >= rank and ds.dtype.kind in "iuf":
            # a positioner of the whole scan shape: the line along ``dim`` through the origin
            # (grid points keep their motor positions whatever the acquisition order)
            index = tuple(slice(None) if d == dim else 0 for d in range(rank))
            values = ds[index]
            values = np.asarray(values).reshape(np.asarray(values).shape[:1])
        else:
            return None
        values = np.asarray(values, dtype=np.float64).ravel()
    except Exception:  # noqa: BLE001 - axes are decoration: fall back to indices
        logger.debug("axis %s unreadable", path, exc_info=True)
        return None
    if values.size == 0 or not np.isfinite(values).all():
        return None
    return frozen(values)


