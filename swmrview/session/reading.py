"""Read and reduce the points a step found, within a time budget, and read them again when a
request changes what is computed (an ROI, the mask, a dataset, channels); the frame of one point.

The :class:`Reader` owns the acquired set and two queues: new points (read first) and points to
compute again (the backfill). Each :meth:`Reader.read` turns what it got through into the fields
of one :class:`~swmrview.model.messages.Update`. Runs in the follower thread.
"""

from __future__ import annotations

import collections
import logging
from types import MappingProxyType
from typing import Any, Callable, Sequence

import numpy as np

from swmrview.core.compat.frames import KeyDataMismatchError
from swmrview.core.compute.reduce import REDUCTIONS

from swmrview.model.frames import display_frame
from swmrview.model.messages import FitCurve, Pattern, PointFrame, frozen
from swmrview.model.status import RateMeter
from swmrview.session.acquired import Acquired
from swmrview.session.scan import OpenScan, shape_text
from swmrview.session.step_results import StepResults

logger = logging.getLogger(__name__)

READ_BUDGET_S = 0.05     # time spent reading frames per step, so requests stay responsive

Names = tuple[str, ...] | None   # the channels or built-in maps to compute; None: every value


class Reader:
    """The points read so far and the points still to read; see the module docstring."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.pending: collections.deque[np.ndarray] = collections.deque()   # (n, rank) chunks
        self.backfill: collections.deque[tuple[np.ndarray, Names]] = collections.deque()
        self.late: list[tuple[np.ndarray, tuple[str, ...]]] = []  # other datasets lagging
        self.acquired = Acquired()   # the points read, in arrival order
        self.results = StepResults()  # their processing steps' results (patterns, fits)
        self.send_results = False     # updates carry the rows of their points (an export)
        self.finish_due = False       # a step with an end-of-scan pass got new rows
        self.n_ready = 0
        self.rate = 0.0
        self._meter = RateMeter()
        self.screen_binning = 1   # live frames: frame pixels per screen pixel (the view asks)

    @property
    def behind(self) -> int:
        """New points found but not read yet."""
        return sum(map(len, self.pending))

    def reset(self) -> None:
        """Forget every point (a new scan); the late list survives, as it always has."""
        self.pending.clear()
        self.backfill.clear()
        self.acquired.clear()
        self.results.clear()
        self.finish_due = False
        self.n_ready = 0
        self._meter.clear()
        self.rate = 0.0

    def measure(self, now: float) -> float:
        """The points-per-second rate of the points read, as of ``now``."""
        self.rate = self._meter.add(now, self.n_ready)
        return self.rate

    def again(self, names: Names) -> None:
        """Queue the acquired points to compute ``names`` (None: every value) again."""
        positions = self.acquired.positions()
        if positions.size:
            self.backfill.append((positions, names))

    def again_all(self) -> None:
        """Read every acquired point again (a new ROI, mask or dataset), dropping older backfill."""
        self.backfill.clear()
        self.late = []
        self.again(None)

    def read(self, scan: OpenScan, deadline: float) -> dict[str, Any]:
        """Read and reduce pending points (then backfill) until ``deadline``; the update's fields."""
        chunks, values, new, frame, position = [], collections.defaultdict(list), 0, None, None
        refreshed = False
        taken: Any = ()   # the names of the blocks in this update (None: every value)
        self.backfill.extend(self.late)  # points another dataset did not hold last step
        self.late = []
        for queue, is_new in ((self.pending, True), (self.backfill, False)):
            while queue and (self.clock() < deadline or not chunks):
                if not refreshed:  # under SWMR, chunks written since the last refresh read as fill
                    scan.pipeline.refresh()
                    refreshed = True
                block, names = (queue.popleft(), None) if is_new else queue.popleft()
                if chunks and names != taken:  # other values than this update's: next step
                    queue.appendleft(block if is_new else (block, names))
                    break
                if len(block) > scan.batch:
                    rest = block[scan.batch:]
                    queue.appendleft(rest if is_new else (rest, names))
                    block = block[:scan.batch]
                reduced, last = self._reduce(scan, block, names)
                if len(block) and len(reduced) == 0 and not chunks:
                    continue  # nothing to compute for these names any more
                chunks.append(block)
                taken = names
                for name, column in reduced.items():
                    values[name].append(column)
                if is_new:
                    new += len(block)
                    self.acquired.add(block)
                    frame, position = last, tuple(int(p) for p in block[-1])
            if queue:
                break
        self.n_ready += new
        update = _update_fields(scan, chunks, values, new, frame, position, self.screen_binning)
        if position is not None:
            update.update(patterns=self.patterns(scan, position, frame))
        if self.send_results and chunks and scan.channels is not None \
                and scan.channels.steps is not None:
            positions = update["positions"]
            update["results"] = MappingProxyType({
                key: frozen(self.results.get(key, positions))
                for key in scan.channels.steps.auto() if key in self.results.keys})
        return update

    def patterns(self, scan: OpenScan, position: Sequence[int],
                 frame: np.ndarray | None = None) -> MappingProxyType:
        """The step results kept for one point, as small immutable messages by step key;
        with its ``frame``, a fit step's model of it too (computed here, not in the window)."""
        out = {}
        steps = scan.channels.steps.built() if scan.channels is not None \
            and scan.channels.steps is not None else {}
        for key, step in steps.items():
            row = self.results.row(key, position)
            if row is not None:
                out[key] = Pattern(key, frozen(np.asarray(step.labels)), step.unit, frozen(row),
                                   tuple(int(p) for p in position), step.describe(),
                                   _fit_curve(step, frame))
        return MappingProxyType(out)

    def _reduce(self, scan: OpenScan, block: np.ndarray, names: Names
                ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Values of ``block`` (all, or only the channels ``names``) and its last frame.

        The processing steps run with the frames when a value needs their results and they
        are not kept for every point of the block (new points: always); channels of a step
        whose results are kept are computed from those, without reading frames."""
        chans = scan.channels
        extra = chans.main_reducers(names) if chans is not None else {}
        on_steps = chans.step_reducers(names) if chans is not None else {}
        steps: dict[str, Any] = {}
        if chans is not None and chans.steps is not None:
            if names is None:
                steps = chans.steps.running(chans.step_keys())
            else:
                for key in dict.fromkeys(r.step for r in on_steps.values()):
                    if not self.results.has(key, block):
                        steps[key] = chans.steps.get(key)
        kept = {n: r for n, r in on_steps.items() if r.step not in steps}
        extra = {**extra, **{n: r for n, r in on_steps.items() if r.step in steps}}
        # every value the pipeline computes now, or the built-in maps named (switched on later)
        builtin = True if names is None else tuple(n for n in names if n in REDUCTIONS)
        reduced: dict[str, np.ndarray] = {}
        last = None
        if builtin or extra or steps:
            try:
                reduced, results, last = scan.pipeline.read_process(
                    block, extra=extra, builtin=builtin, steps=steps)
            except IndexError:   # refreshed before reading: the data cannot hold the point
                raise KeyDataMismatchError(_outside(scan, block)) from None
            for key, rows in results.items():
                self.results.put(key, block, rows)
                self.finish_due |= hasattr(steps.get(key), "finish")
        for name, reducer in kept.items():
            reduced[name] = reducer(self.results.get(reducer.step, block))
        if chans is not None:
            late = chans.finish(block, reduced, names)
            if late.any():
                lagging = tuple(n for n in (names or chans.channels) if n in chans.channels
                                and (chans.channels[n].dataset or chans.channels[n].monitor))
                self.late.append((block[late], lagging))
        return reduced, last


def _fit_curve(step: Any, frame: np.ndarray | None) -> FitCurve | None:
    """The model of ``frame`` by a fit step (one that has ``fit_curve``), or None."""
    if frame is None or not hasattr(step, "fit_curve"):
        return None
    try:
        first, model, residual, lines = step.fit_curve(frame)
    except Exception:  # noqa: BLE001 - the overlay is a view; the maps go on
        logger.debug("no fit curve", exc_info=True)
        return None
    return FitCurve(int(first), frozen(model), frozen(residual), tuple(lines))


def _update_fields(scan: OpenScan, chunks: list, values: dict, new: int, frame, position,
                   screen_binning: int = 1) -> dict[str, Any]:
    """The fields of an update carrying the read ``chunks`` and the last new ``frame`` (binned
    for the screen: see `display_frame`)."""
    update: dict[str, Any] = {}
    if chunks:
        update["positions"] = frozen(np.concatenate(chunks))
        update["values"] = MappingProxyType({k: frozen(np.concatenate(v))
                                             for k, v in values.items()})
        update["new_points"] = new
        if scan.channels is not None:
            update["channels"] = MappingProxyType(dict(scan.channels.channels))
    if frame is not None:
        shown, levels, binning = display_frame(frame, scan.mask, scan.overflow, screen_binning)
        update.update(frame=frozen(shown), frame_position=position, frame_levels=levels,
                      frame_binning=binning)
    return update


def _outside(scan: OpenScan, block: np.ndarray) -> str:
    """Plain words for keys that are ready at points the data does not hold."""
    data = scan.pipeline.dataset
    shape = tuple(data.shape[:scan.scan_rank])
    bad = next((tuple(int(v) for v in p) for p in block
                if any(v >= n for v, n in zip(p, shape))), tuple(block[-1]))
    return (f"keys and data do not match: the keys say point {bad} is ready, but "
            f"{data.name} holds only {shape_text(shape)} points")


def point_frame(scan: OpenScan, generation: int, position: Sequence[int],
                reader: Reader | None = None) -> PointFrame | None:
    """The frame of ``scan`` at ``position`` as shown, or None if it cannot be read."""
    position = tuple(int(p) for p in position)
    try:
        frame = scan.pipeline.read(position)
    except Exception as exc:  # noqa: BLE001 - a failed read is a message, never a crash
        logger.warning("could not read point %s: %s", position, exc)
        return None
    shown, levels, binning = display_frame(frame, scan.mask, scan.overflow)
    patterns = reader.patterns(scan, position, frame) if reader is not None \
        else MappingProxyType({})
    return PointFrame(generation, position, frozen(shown), levels, binning, patterns)
