"""The session's map channels: who reads what, and the values of a block of points.

Channels of the detector on show (``Channel.dataset is None``) are computed on the frames the
session reads anyway, in the same pass as the built-in reductions, so every frame is read once.
Channels of other per-point datasets (a counter, another detector) and monitors (I0) are read
through a pipeline of their own, one per dataset. Runs in the follower thread; no Qt.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from swmrview.core.compute.channels import Channel, ChannelReducer, normalise
from swmrview.core.compute.step_channels import StepChannelReducer
from swmrview.core.files.fields import open_data
from swmrview.core.compat.frames import check_filters
from swmrview.core.files.nexus import child, units
from swmrview.core.files.nxdata import axis_candidates
from swmrview.core.compute.pipeline import ReducePipeline
from swmrview.core.files.search import fits_shape

from swmrview.model.messages import Axis

logger = logging.getLogger(__name__)


class ChannelSet:
    """The channels a session computes; see the module docstring.

    Parameters
    ----------
    file
        The scan's :class:`~swmrview.session.handles.ScanFile` (datasets of other channels and
        monitors are looked up in it, sharing the handles of every other reader).
    scan_rank
        Number of scan dimensions.
    written
        The scan's :class:`~swmrview.session.written.WrittenRule`: a point is read from a
        dataset only once it is written there.
    """

    def __init__(self, file: Any, scan_rank: int, written: Any) -> None:
        self.file = file
        self.scan_rank = scan_rank
        self.written = written
        self.channels: dict[str, Channel] = {}
        self._main: dict[str, ChannelReducer] = {}       # channels of the detector on show
        self._other: dict[str, ChannelReducer] = {}      # channels of another dataset
        self._on_steps: dict[str, StepChannelReducer] = {}   # channels of a step's results
        self.steps: Any = None   # the scan's session.steps.StepSet (steps built on demand)
        self._pipelines: dict[str, ReducePipeline] = {}  # dataset path -> its reader
        self.refused: dict[str, str] = {}   # name -> why, of the last :meth:`set`

    # ------------------------------------------------------------------ setting up
    def set(self, channels: Iterable[Channel], frame_shape: Sequence[int],
            mask: np.ndarray | None, overflow: float | None,
            energy: np.ndarray | None) -> tuple[list[str], list[str]]:
        """Use ``channels``: (names to compute again over read points, refusals to tell).

        A channel whose spec did not change keeps its values; one that cannot be computed (a
        dataset missing, bounds that do not fit) is refused with a reason and left out.
        """
        wanted = {c.name: c for c in channels}
        changed, refused = [], []
        self.refused = {}
        for name in list(self.channels):
            if wanted.get(name) != self.channels[name]:
                self._drop(name)
        for name, channel in wanted.items():
            if name in self.channels:
                continue
            try:
                self._add(channel, frame_shape, mask, overflow, energy)
            except Exception as exc:  # noqa: BLE001 - a bad channel is refused, not fatal
                logger.warning("channel %s refused: %s", name, exc)
                refused.append(f"channel {name}: {exc}")
                self.refused[name] = str(exc)
                continue
            changed.append(name)
        self._close_unused()
        return changed, refused

    def forget_frames(self) -> None:
        """The detector on show changed (dataset or mask): its channels' reducers must be
        made again by the next :meth:`set`."""
        for channel in [c for c in self.channels.values() if c.frames]:
            self._drop(channel.name)
        if self.steps is not None:
            self.steps.reset()

    def _add(self, channel: Channel, frame_shape: Sequence[int], mask: np.ndarray | None,
             overflow: float | None, energy: np.ndarray | None) -> None:
        if channel.monitor:
            monitor = self._pipeline(channel.monitor)
            if monitor.frame_shape:
                raise ValueError(f"monitor {channel.monitor} holds {monitor.frame_shape} "
                                 "per point, not one value")
        if channel.step_key is not None:
            if self.steps is None:
                raise ValueError("no processing steps here")
            step = self.steps.get(channel.step_key)
            self._on_steps[channel.name] = StepChannelReducer(channel, step.labels)
        elif channel.frames:
            self._main[channel.name] = ChannelReducer(channel, frame_shape, mask, overflow,
                                                      energy)
        else:
            pipeline = self._pipeline(channel.dataset)
            self._other[channel.name] = ChannelReducer(channel, pipeline.frame_shape)
        self.channels[channel.name] = channel

    def _pipeline(self, path: str) -> ReducePipeline:
        if path not in self._pipelines:
            try:
                dataset = open_data(self.file, path)
            except KeyError:
                raise ValueError(f"no dataset {path} in the file") from None
            if not hasattr(dataset, "shape") or len(dataset.shape) < self.scan_rank:
                raise ValueError(f"{path} does not hold one value or frame per scan point")
            if dataset.dtype.kind not in "biuf":
                raise ValueError(f"{path} is not numeric ({dataset.dtype})")
            check_filters(dataset)   # refused now, not failing the whole scan on reading
            self._pipelines[path] = ReducePipeline(dataset, self.scan_rank, threads=1)
        return self._pipelines[path]

    def _drop(self, name: str) -> None:
        self.channels.pop(name, None)
        self._main.pop(name, None)
        self._other.pop(name, None)
        self._on_steps.pop(name, None)

    def _close_unused(self) -> None:
        used = {c.dataset for c in self.channels.values() if c.dataset} \
            | {c.monitor for c in self.channels.values() if c.monitor}
        for path in [p for p in self._pipelines if p not in used]:
            self._pipelines.pop(path).close()

    def close(self) -> None:
        """Stop every reader (the file belongs to the session)."""
        for pipeline in self._pipelines.values():
            pipeline.close()
        self._pipelines.clear()

    # ------------------------------------------------------------------ computing
    def main_reducers(self, names: Iterable[str] | None = None) -> dict[str, ChannelReducer]:
        """Reducers to run on the detector frames read for a block (``names``: only those)."""
        if names is None:
            return dict(self._main)
        return {n: self._main[n] for n in names if n in self._main}

    def step_reducers(self, names: Iterable[str] | None = None
                      ) -> dict[str, StepChannelReducer]:
        """Reducers of step results (``names``: only those), each with its ``step`` key."""
        if names is None:
            return dict(self._on_steps)
        return {n: self._on_steps[n] for n in names if n in self._on_steps}

    def step_keys(self) -> tuple[str, ...]:
        """The keys of the steps the channels use."""
        return tuple(dict.fromkeys(r.step for r in self._on_steps.values()))

    def finish(self, block: np.ndarray, values: dict[str, np.ndarray],
               names: Iterable[str] | None = None) -> np.ndarray:
        """Add the other datasets' channels to ``values`` and divide by monitors, in place.

        Returns a bool array: the points of ``block`` some dataset does not hold yet (a
        counter written after the detector's key); their values are NaN, to be read again.
        """
        names = list(self.channels) if names is None else [n for n in names
                                                          if n in self.channels]
        late = np.zeros(len(block), dtype=bool)
        monitors: dict[str, np.ndarray] = {}
        for name in names:
            channel = self.channels[name]
            if name in self._other:
                values[name], missing = self._read(channel.dataset, block, self._other[name])
                late |= missing
            if channel.monitor and name in values:
                if channel.monitor not in monitors:
                    monitors[channel.monitor], missing = self._read(channel.monitor, block)
                    late |= missing
                values[name] = normalise(values[name], monitors[channel.monitor])
        return late

    def _read(self, path: str, block: np.ndarray,
              reducer: ChannelReducer | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Values of ``path`` at ``block`` (a channel's reduction, else the scalar itself) and
        the points not written there yet (NaN, read again later)."""
        pipeline = self._pipelines[path]
        pipeline.refresh()
        inside = self.written.mask(path, block) if len(block) else np.zeros(0, bool)
        out = np.full(len(block), np.nan)
        if inside.any() and not pipeline.frame_shape:
            out[inside] = _box_values(pipeline.dataset, block[inside])
        elif inside.any():
            extra = {"v": reducer} if reducer is not None else None
            reduced, _ = pipeline.read_reduce(block[inside], extra=extra,
                                              builtin=reducer is None)
            out[inside] = reduced["v"] if reducer is not None else reduced["sum"]
        return out, ~inside


def _box_values(dataset: Any, points: np.ndarray) -> np.ndarray:
    """One value per point (a counter, a monitor) read as the points' bounding box in one
    h5py call, not a frame reduction per point."""
    low = points.min(axis=0)
    box = tuple(slice(int(a), int(b) + 1) for a, b in zip(low, points.max(axis=0)))
    values = np.asarray(dataset[box], dtype=np.float64)
    return values[tuple((points - low).T)]


def spectrum_axis(dataset: Any) -> Axis | None:
    """The calibration of a spectrum's channels: a 1-D field of the data's NXdata (or detector
    group) that its ``axes`` / ``*_indices`` attributes put on the last dimension."""
    try:
        n = dataset.shape[-1]
        for name in axis_candidates(dataset.parent, dataset, len(dataset.shape))[-1]:
            field = child(dataset.parent, name)
            if field is not None and getattr(field, "shape", None) == (n,) \
                    and field.dtype.kind in "iuf":
                return Axis(name, units(field), np.asarray(field[()], dtype=np.float64))
    except Exception:  # noqa: BLE001 - no calibration: channel numbers
        logger.debug("no spectrum axis for %s", getattr(dataset, "name", dataset), exc_info=True)
    return None


def per_point_fields(tree: Mapping[str, Any], scan_shape: Sequence[int | None],
                     skip: Iterable[str] = (), exact: bool = True
                     ) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(path, frame shape) of the numeric datasets holding one value or frame per scan point:
    their leading dims are the scan's (``exact``: a finished scan), or can still grow to it
    (the rule of :func:`swmrview.core.files.search.fits`)."""
    rank = len(scan_shape)
    skip = set(skip)
    found: list[tuple[str, tuple[int, ...]]] = []

    def walk(node: Mapping[str, Any]) -> None:
        for entry in node.get("children", ()):
            if entry.get("kind") == "group":
                walk(entry)
            elif entry.get("kind") == "dataset" and entry.get("children"):
                walk(entry)     # a compound dataset: its numeric fields
            elif entry.get("kind") == "dataset" and entry["path"] not in skip:
                shape = tuple(entry.get("shape", ()))
                try:
                    kind = np.dtype(entry.get("dtype", "")).kind
                except TypeError:
                    continue
                if rank == 0 or kind not in "biuf" or len(shape) < rank:
                    continue
                if fits_shape(shape, entry.get("maxshape", shape), scan_shape, exact):
                    found.append((entry["path"], shape[rank:]))

    walk(tree)
    return tuple(found)
