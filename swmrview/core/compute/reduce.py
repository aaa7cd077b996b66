"""Frame reductions for the scan map: sum, mean, max and an ROI sum, with bad pixels left out.

A pixel is left out of every reduction when the ``mask`` marks it (True or non-zero, as an
NXdetector ``pixel_mask``), when its value is ``>= overflow`` (saturated or gap pixels: an Eiger
writes ``2**bits - 1`` there), or when it is not finite (NaN, +inf, -inf: :func:`nonfinite`, the
one rule for every reduction). Over the pixels that remain:

- ``sum``: the exact sum (0 when no pixel remains);
- ``mean``: ``sum / count`` (NaN when no pixel remains);
- ``max``: the largest value (NaN when no pixel remains);
- ``roi``: the sum inside ``roi``, ``(y0, y1, x0, x1)`` for images or ``(x0, x1)`` for spectra
  (Python slice bounds); NaN without an ROI.

A scalar frame gives its value for every reduction (``roi`` only when an ROI is set). An empty
frame gives NaN everywhere.

Speed: a frame without excluded pixels costs one sum (8/16-bit integer sums run in 32-bit row
sums, exact and about twice as fast as float64; so do unsigned 32-bit frames whose maximum keeps
a row below 2**32). ``mean`` shares the sum: the count of kept pixels is fixed by the mask and
only changes when a pixel overflows or is not finite. The max is a second pass over the frame
(about 40 % of the sum's time on 1024x1024 uint16): a `FrameReducer` made with
``max=False`` leaves it out (the value is NaN) unless it needs the max anyway, to find
overflowing pixels or to sum unsigned 32-bit rows in 32 bits. Non-finite float pixels are found
by the sum, which propagates NaN and both infinities. Reducing a frame in row blocks that fit
in L2, sum and max back to back, was measured slower here (Python per block), as was
``np.add.reduce`` over the flat buffer with a wide dtype. Excluded pixels are zeroed through their flat indices (fancy
assignment, three times faster than ``np.put``), and `FrameReducer` remembers the pixels that
overflowed before (gap pixels overflow in every frame), so a frame whose overflowing pixels are
the same costs a gather of those pixels instead of a compare over the whole frame.
"""

from __future__ import annotations

import threading
from typing import Iterable, Sequence

import numpy as np

__all__ = ["REDUCTIONS", "Roi", "FrameReducer", "reduce_frame", "reduce_frames", "exact_total",
           "nonfinite"]

REDUCTIONS = ("sum", "mean", "max", "roi")

Roi = tuple[int, int, int, int] | tuple[int, int]

_NAN = float("nan")


def nonfinite(values: np.ndarray, *reduced: float) -> np.ndarray | None:
    """Where ``values`` are not finite (NaN, +inf or -inf): the values left out of every
    reduction, map levels included. None when there are none (and for integer data).

    ``reduced``: reductions of ``values`` already computed that between them propagate every
    non-finite value (the sum; or the max, which catches NaN and +inf, with the min for -inf).
    When they are all finite the values are not looked at again.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "fc" or values.size == 0:
        return None
    if reduced and all(np.isfinite(r) for r in reduced):
        return None
    bad = ~np.isfinite(values)
    return bad if bad.any() else None


def exact_total(frame: np.ndarray, top: float | None = None) -> float:
    """Exact sum of ``frame`` (8/16-bit integers in 32-bit row sums, 32-bit ints in 64-bit).

    ``top``: the frame's maximum if known; unsigned 32-bit rows that cannot reach 2**32 with
    it are summed in 32 bits (twice as fast as converting every pixel to 64 bits).
    """
    kind, size = frame.dtype.kind, frame.dtype.itemsize
    if frame.ndim and kind in "ui" and size <= 2 and frame.shape[-1] <= 65536:
        # rows of <= 65536 pixels of 8/16-bit integers cannot overflow 32 bits
        wide = np.uint32 if kind == "u" else np.int32
        return float(frame.sum(axis=-1, dtype=wide).sum(dtype=np.int64))
    if (frame.ndim and kind == "u" and size == 4 and top is not None
            and int(top) * frame.shape[-1] < 2**32):
        return float(frame.sum(axis=-1, dtype=np.uint32).sum(dtype=np.uint64))
    if kind in "ui" and size <= 4:
        return float(frame.sum(dtype=np.uint64 if kind == "u" else np.int64))
    if kind == "b":
        return float(np.count_nonzero(frame))
    return float(frame.sum(dtype=np.float64))


def _roi_slices(roi: Sequence[int] | None, frame_shape: tuple[int, ...]) -> tuple | None:
    if roi is None:
        return None
    roi = tuple(int(v) for v in roi)
    if len(frame_shape) == 0:
        return ()
    if len(roi) == 2:
        return (Ellipsis, slice(roi[0], roi[1]))
    if len(roi) == 4 and len(frame_shape) >= 2:
        return (Ellipsis, slice(roi[0], roi[1]), slice(roi[2], roi[3]))
    raise ValueError(f"roi {roi} does not fit a frame of rank {len(frame_shape)}")


class FrameReducer:
    """Reduce frames of one shape with a fixed ROI, mask and overflow (reusable, thread-safe).

    Parameters
    ----------
    frame_shape
        Shape of the frames.
    roi, mask, overflow
        As in :func:`reduce_frame`. ``mask`` must broadcast to ``frame_shape``.
    max
        Compute the ``max`` value (False: NaN, and one pass over the frame saved).
    """

    def __init__(self, frame_shape: Sequence[int], roi: Roi | None = None,
                 mask: np.ndarray | None = None, overflow: float | None = None,
                 max: bool = True) -> None:  # noqa: A002 - the reduction's name
        self.want_max = bool(max)
        self.frame_shape = tuple(int(n) for n in frame_shape)
        self.size = int(np.prod(self.frame_shape, dtype=np.int64))
        self.roi = None if roi is None else tuple(int(v) for v in roi)
        self._roi = _roi_slices(self.roi, self.frame_shape)
        if overflow is not None and not overflow > 0:
            raise ValueError(f"overflow must be positive, got {overflow}")
        self.overflow = overflow
        self._mask_idx = np.empty(0, dtype=np.intp)
        if mask is not None:
            bad = np.broadcast_to(np.asarray(mask) != 0, self.frame_shape)
            self._mask_idx = np.flatnonzero(bad)
        self._n_masked = int(self._mask_idx.size)
        self._kept = self.size - self._n_masked   # pixels a frame keeps before overflow/NaN
        # flat indices (outside the mask) that overflowed in the last frame with overflows
        self._learned = np.empty(0, dtype=np.intp)
        self._learned_set: np.ndarray | None = None  # the same pixels as a bool array
        self._learn_lock = threading.Lock()

    def __call__(self, frame: np.ndarray, writable: bool = False) -> tuple[float, float, float,
                                                                           float]:
        """``(sum, mean, max, roi)`` of ``frame``.

        ``writable=True`` lets the reducer zero excluded pixels in ``frame`` itself (the pipeline
        hands over frames it decoded); otherwise a frame with excluded pixels is copied first.
        """
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape:
            raise ValueError(f"frame of shape {frame.shape}, expected {self.frame_shape}")
        if frame.size == 0:
            return (_NAN, _NAN, _NAN, _NAN)
        if frame.ndim == 0:
            return self._scalar(frame)
        kind = frame.dtype.kind
        if kind == "b":
            frame = frame.view(np.uint8)
            kind = "u"
        owned = writable and frame.flags.c_contiguous and frame.flags.writeable
        work = frame if owned else None  # a copy is made only if a pixel has to be zeroed
        zeroed: list[np.ndarray] = []  # flat indices of the excluded pixels set to 0 in work
        if self._n_masked:
            work = _own(frame, work)
            work.reshape(-1)[self._mask_idx] = 0
            zeroed.append(self._mask_idx)
        if self.overflow is not None and self._learned.size:
            # pixels that overflowed before (gap pixels): check and zero just those
            work = _own(frame, work)
            learned = self._learned
            over = learned[np.take(work.reshape(-1), learned) >= self.overflow]
            work.reshape(-1)[over] = 0
            zeroed.append(over)
        base = frame if work is None else work
        need_top = (self.want_max or self.overflow is not None
                    or (kind == "u" and frame.dtype.itemsize == 4))
        top = base.max() if need_top else None
        floats = kind in "fc"
        if floats and top is not None and not np.isfinite(top):  # NaN or +inf
            work, top = self._drop_nonfinite(frame, work, zeroed)
            floats = False
            base = work
        if top is not None and self.overflow is not None and top >= self.overflow:
            # new overflowing pixels: one compare over the frame, and remember them
            work = _own(frame, work)
            new = np.flatnonzero(work >= self.overflow)
            work.reshape(-1)[new] = 0
            zeroed.append(new)
            self._learn(new)
            base = work
            top = work.max()
        if floats and top is None:
            with np.errstate(invalid="ignore", over="ignore"):   # +inf and -inf give NaN
                total = exact_total(base, top)
        else:
            total = exact_total(base, top)
        if floats and not np.isfinite(total):  # NaN or infinite pixels the sum propagated
            work, top = self._drop_nonfinite(frame, work, zeroed)
            base = work
            total = exact_total(base, top)
        # the mask's pixels (zeroed[0] when there is a mask) are counted out once, in _kept
        count = self._kept - sum(idx.size for idx in zeroed[1 if self._n_masked else 0:])
        if count <= 0:
            return (0.0, _NAN, _NAN, _NAN if self._roi is None else 0.0)
        roi = _NAN if self._roi is None else exact_total(base[self._roi], top)
        if not self.want_max:
            return (total, total / count, _NAN, roi)
        top = float(base.max() if top is None else top)
        if count < self.size and top <= 0 and kind != "u":
            # zeroed pixels may stand above every remaining value: take the max the slow way
            valid = np.ones(base.size, dtype=bool)
            for idx in zeroed:
                valid[idx] = False
            top = float(base.reshape(-1)[valid].max())
        return (total, total / count, top, roi)

    @staticmethod
    def _drop_nonfinite(frame: np.ndarray, work: np.ndarray | None,
                        zeroed: list[np.ndarray]) -> tuple[np.ndarray, float]:
        """Zero the non-finite pixels (:func:`nonfinite`) of ``work`` (a copy of ``frame`` made
        if need be), add them to ``zeroed``; (work, its new max)."""
        work = _own(frame, work)
        bad = nonfinite(work)
        if bad is not None:
            idx = np.flatnonzero(bad)
            work.reshape(-1)[idx] = 0
            zeroed.append(idx)
        return work, work.max()

    def _learn(self, new: np.ndarray) -> None:
        """Remember pixels that overflowed (each once, whichever thread saw them first)."""
        with self._learn_lock:
            if self._learned_set is None:
                self._learned_set = np.zeros(self.size, dtype=bool)
            fresh = new[~self._learned_set[new]]
            if fresh.size:
                self._learned_set[fresh] = True
                self._learned = np.concatenate((self._learned, fresh))

    def _scalar(self, frame: np.ndarray) -> tuple[float, float, float, float]:
        value = float(frame)
        bad = (nonfinite(frame) is not None
               or (self.overflow is not None and value >= self.overflow) or self._n_masked > 0)
        if bad:
            return (0.0, _NAN, _NAN, _NAN if self._roi is None else 0.0)
        return (value, value, value, _NAN if self._roi is None else value)

    def reduce(self, frame: np.ndarray) -> dict[str, float]:
        """The reductions of one frame by name (see :func:`reduce_frame`)."""
        return dict(zip(REDUCTIONS, self(frame)))


def _own(frame: np.ndarray, work: np.ndarray | None) -> np.ndarray:
    """A writable C-contiguous array to zero pixels in: ``work``, or a copy of ``frame``."""
    if work is None:
        work = np.array(frame, order="C", copy=True)
        if work.dtype.kind == "b":
            work = work.view(np.uint8)
    return work


def reduce_frame(frame: np.ndarray, roi: Roi | None = None, mask: np.ndarray | None = None,
                 overflow: float | None = None) -> dict[str, float]:
    """Reduce one frame to the map values ``sum``, ``mean``, ``max`` and ``roi``.

    Parameters
    ----------
    frame
        The frame (any rank; a scalar gives its value for every reduction).
    roi
        ``(y0, y1, x0, x1)`` for images or ``(x0, x1)`` for spectra (Python slice bounds);
        without it the ``roi`` value is NaN.
    mask
        Bool array broadcastable to the frame, True (or non-zero) = pixel left out.
    overflow
        Pixels with values ``>= overflow`` are left out (e.g. ``2**bits - 1`` gap pixels);
        must be positive.

    Non-finite pixels (NaN, +inf, -inf) are always left out. The frame is never modified.
    """
    frame = np.asarray(frame)
    return FrameReducer(frame.shape, roi, mask, overflow).reduce(frame)


def reduce_frames(frames: np.ndarray | Iterable[np.ndarray], roi: Roi | None = None,
                  mask: np.ndarray | None = None,
                  overflow: float | None = None) -> dict[str, np.ndarray]:
    """Reduce a stack of frames: float64 arrays by reduction name, first axis = frame."""
    frames = frames if isinstance(frames, np.ndarray) else [np.asarray(f) for f in frames]
    n = len(frames)
    out = np.full((len(REDUCTIONS), n), np.nan)
    if n:
        reducer = FrameReducer(np.shape(frames[0]), roi, mask, overflow)
        for i in range(n):
            out[:, i] = reducer(frames[i])
    return dict(zip(REDUCTIONS, out))
