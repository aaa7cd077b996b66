"""Map channels over a processing step's results: a pattern's q-window, a fitted column.

A channel with a :attr:`~swmrview.core.compute.channels.Channel.step_key` does not look at the
frame: it reduces the result row of that step (:mod:`swmrview.core.compute.steps`), one row
per point. :class:`StepChannelReducer` takes a block of rows ``(k, m)`` and gives ``k`` values,
so the pipeline's worker threads apply it right after the step, and the session applies it to
the rows it kept when a channel is added mid-scan (no frame read again).

The rules:

- ``window`` / ``q-window``: the sum of the columns whose label (the bin centre, in the step's
  unit) lies in ``bounds``, both ends included (:func:`~swmrview.core.compute.channels.window_span`,
  the rule of XRF windows); with ``background="linear"`` minus the straight line through
  ``(mean label, mean value)`` of the :data:`EDGE_BINS` bins just outside each edge, evaluated at
  each bin inside (fewer bins where the window touches the pattern's end; none on a side:
  that side's mean is the other's, a flat background; none at all: no background);
- ``sum`` / ``mean`` / ``max``: over the whole row, or over the columns numbered in the
  channel's ``elements`` (named columns: ``Channel("Fe", "sum", step="xrf-fit",
  elements=(3,))`` is the fitted Fe area when ``labels[3] == "Fe K"``); a ``window`` needs
  numeric labels;
- ``fitted``: the one column named ``column`` (the XRF fit's ``"Fe K"``, ``"Fe K sigma"``,
  ``"chisq"``): the XRF fit's own rule, by name (its ``elements`` are detector elements, which
  choose the fit, :attr:`~swmrview.core.compute.channels.Channel.step_key`).

Non-finite values (pyFAI gives NaN for an empty bin with some methods) are left out of sums.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from swmrview.core.compute.channels import Channel, window_span

__all__ = ["EDGE_BINS", "StepChannelReducer", "window_columns"]

EDGE_BINS = 3   # bins each side of a window whose mean fixes the linear background


def window_columns(channel: Channel, labels: np.ndarray | Sequence) -> tuple[int, int]:
    """Slice bounds of the result columns inside the channel's window (``(0, 0)``: none)."""
    x = _numeric(labels)
    return window_span(channel.bounds, len(labels), x)


def _numeric(labels: np.ndarray | Sequence) -> np.ndarray | None:
    try:
        x = np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return x if x.ndim == 1 else None


class StepChannelReducer:
    """Reduce blocks of one step's result rows to a channel's values (thread-safe: no state).

    ``step`` is the key of the step whose result it takes (the pipeline looks for it).
    """

    def __init__(self, channel: Channel, labels: np.ndarray | Sequence) -> None:
        self.channel = channel
        self.step = channel.step_key
        self.width = len(labels)
        self._how = {"mean": "mean", "max": "max"}.get(channel.kind, "sum")
        self._span: tuple[int, int] | None = None
        self._columns = None
        if channel.elements is not None and channel.kind in ("sum", "mean", "max"):
            bad = [e for e in channel.elements if not 0 <= e < self.width]
            if bad:
                raise ValueError(f"channel {channel.name!r}: columns {bad} outside the "
                                 f"{self.width} results of {self.step}")
            self._columns = np.asarray(channel.elements, dtype=np.intp)
        self._background: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._column: int | None = None
        if channel.kind == "fitted":
            names = [str(label) for label in labels]
            if channel.column not in names:
                fitted = ", ".join(n for n in names
                                   if not n.endswith(" sigma") and n != "chisq")
                raise ValueError(f"channel {channel.name!r}: the fit has no {channel.column!r} "
                                 f"(it fits {fitted})")
            self._column = names.index(channel.column)
        if channel.kind in ("window", "q-window"):
            x = _numeric(labels)
            if x is None:
                raise ValueError(f"channel {channel.name!r}: the results of {self.step} have "
                                 "named columns, not a numeric axis for a window")
            a, b = window_span(channel.bounds, len(x), x)
            self._span = (a, b)
            if channel.background == "linear" and b > a:
                self._background = _background_weights(x, a, b)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """Values of ``rows`` ``(k, m)`` (or one row ``(m,)``: a 1-element array)."""
        rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        if rows.shape[1] != self.width:
            raise ValueError(f"step result of {rows.shape[1]} columns, expected {self.width}")
        if self._column is not None:
            return rows[:, self._column].copy()
        if self._span is not None:
            a, b = self._span
            if b <= a:
                return np.zeros(len(rows))
            inside = rows[:, a:b]
            if self._background is not None:
                inside = inside - self._line(rows, *self._background)
            return np.nansum(inside, axis=1)
        if self._columns is not None:
            rows = rows[:, self._columns]
        if self._how == "max":
            return np.nanmax(rows, axis=1) if rows.shape[1] else np.full(len(rows), np.nan)
        if self._how == "mean":
            return np.nanmean(rows, axis=1) if rows.shape[1] else np.full(len(rows), np.nan)
        return np.nansum(rows, axis=1)

    @staticmethod
    def _line(rows: np.ndarray, left: np.ndarray, right: np.ndarray,
              x_inside: np.ndarray) -> np.ndarray:
        """The background under the window for each row: ``(k, bins inside)``."""
        (xl, il), (xr, ir) = left, right
        yl = np.nanmean(rows[:, il], axis=1) if il.size else None
        yr = np.nanmean(rows[:, ir], axis=1) if ir.size else None
        if yl is None and yr is None:
            return np.zeros((len(rows), x_inside.size))
        if yl is None or yr is None or xl == xr:
            flat = yl if yr is None else yr if yl is None else (yl + yr) / 2
            return np.repeat(flat[:, None], x_inside.size, axis=1)
        slope = (yr - yl) / (xr - xl)
        return yl[:, None] + slope[:, None] * (x_inside[None, :] - xl)


def _background_weights(x: np.ndarray, a: int, b: int):
    """``((x_left, idx_left), (x_right, idx_right), x_inside)`` of a window's ``[a, b)``: the
    mean label and the indices of the :data:`EDGE_BINS` bins just outside each edge."""
    left = np.arange(max(0, a - EDGE_BINS), a)
    right = np.arange(b, min(len(x), b + EDGE_BINS))
    xl = float(x[left].mean()) if left.size else 0.0
    xr = float(x[right].mean()) if right.size else 0.0
    return (xl, left), (xr, right), x[a:b].copy()
