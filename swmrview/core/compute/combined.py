"""What the pipeline computes on each frame: the processing steps (first, as the built-in
reducer may zero excluded pixels of a writable frame in place), the channels on frames, the
chosen built-in reductions, and per block the channels on the steps' results. Used by
:class:`swmrview.core.compute.pipeline.ReducePipeline` in its worker threads."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from swmrview.core.compute.reduce import REDUCTIONS, FrameReducer

__all__ = ["Combined"]


class Combined:
    """The processing steps of one frame (first: the built-in reducer may zero excluded
    pixels of a writable frame), the extra channels on frames and the chosen built-in
    reductions (``rows`` of the reducer's values, maybe none); then the channels on the steps'
    results, per block. Values in the order: built-in, channels on frames, channels on steps
    (from row ``first_on_steps``)."""

    def __init__(self, builtin: FrameReducer | None, rows: list[int],
                 extra: tuple[Callable[[np.ndarray], float], ...],
                 steps: Mapping[str, Any] | None = None,
                 results: Mapping[str, np.ndarray] | None = None,
                 on_steps: tuple[Any, ...] = (), first_on_steps: int = 0) -> None:
        self.builtin, self.extra = (builtin if rows else None), extra
        self.rows = None if rows == list(range(len(REDUCTIONS))) else rows
        self.steps, self.results = dict(steps or {}), dict(results or {})
        self.on_steps, self.first = on_steps, first_on_steps
        self.n_frame_values = len(rows) + len(extra)

    def steps_on(self, frames: np.ndarray, start: int) -> None:
        """Run every step on ``frames`` (k, *frame), the points from ``start`` on."""
        for key, step in self.steps.items():
            self.results[key][start:start + len(frames)] = step(frames)

    def step_channels(self, out: np.ndarray, start: int, stop: int) -> None:
        """The channels on step results of the points ``start:stop`` into ``out``."""
        for j, reducer in enumerate(self.on_steps):
            out[self.first + j, start:stop] = reducer(self.results[reducer.step][start:stop])

    def __call__(self, frame: np.ndarray, writable: bool = False) -> list[float]:
        # channels first: the built-in reducer may zero excluded pixels of a writable frame
        values = [f(frame) for f in self.extra]
        nan = [float("nan")] * len(self.on_steps)
        if self.builtin is None:
            return values + nan
        reduced = self.builtin(frame, writable=writable)
        if self.rows is not None:
            reduced = [reduced[i] for i in self.rows]
        return list(reduced) + values + nan
