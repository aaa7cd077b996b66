"""Flat scan index <-> scan position, with swmr_tools' helper names and meanings."""

from __future__ import annotations

from math import prod
from typing import Sequence

import numpy as np

__all__ = [
    "unravel",
    "unravel_many",
    "ravel_many",
    "n_points",
    "scan_rank_of",
    "get_position",
    "get_position_snake",
    "get_position_snake_row",
    "get_row_slice",
]


def scan_rank_of(maxshape: Sequence[int | None]) -> int:
    """Rank of a key's maxshape with trailing length-1 dimensions ignored (at least 1)."""
    rank = len(maxshape)
    while rank > 1 and maxshape[rank - 1] == 1:
        rank -= 1
    return rank


def unravel(index: int, scan_shape: Sequence[int | None]) -> tuple[int, ...]:
    """Position of flat ``index`` in C order; ``scan_shape[0]`` may be None (unlimited)."""
    index = int(index)
    pos = []
    for n in reversed(scan_shape[1:]):
        index, p = divmod(index, int(n))
        pos.append(p)
    pos.append(index)
    return tuple(reversed(pos))


def _dims(scan_shape: Sequence[int | None]) -> list[int]:
    """C-order dims for numpy, the slow axis unbounded (a live scan's first dim grows)."""
    dims = [int(n) if n else 1 for n in scan_shape]
    dims[0] = np.iinfo(np.int64).max // max(1, prod(dims[1:]))
    return dims


def unravel_many(indices: np.ndarray, scan_shape: Sequence[int | None]) -> np.ndarray:
    """Positions (n, rank) int64 of flat ``indices`` in C order; ``scan_shape[0]`` may be
    None or too small (the slow axis is unbounded). The one vectorised rule: followers, the
    session, batch maps and replays all count points this way."""
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if not len(scan_shape):
        return np.zeros((indices.size, 0), np.int64)
    return np.stack(np.unravel_index(indices, _dims(scan_shape)), axis=1).astype(np.int64)


def ravel_many(positions: np.ndarray, scan_shape: Sequence[int | None]) -> np.ndarray:
    """Flat C-order indices of ``positions`` (n, rank): the inverse of :func:`unravel_many`."""
    positions = np.asarray(positions, dtype=np.int64)
    if not len(scan_shape):
        return np.zeros(len(positions), np.int64)
    return np.ravel_multi_index(tuple(positions.T), _dims(scan_shape)).astype(np.int64)


def get_position(index: int, shape: Sequence[int], scan_rank: int) -> tuple[int, ...]:
    """Scan position of flat ``index`` in a dataset of ``shape`` with ``scan_rank`` scan dims."""
    return tuple(int(p) for p in np.unravel_index(index, tuple(shape[:scan_rank])))


def get_position_snake_row(
    index: int, shape: Sequence[int], scan_rank: int
) -> tuple[tuple[int, ...], bool]:
    """Grid position of acquisition ``index`` in a snake scan, and whether its fast row is reversed."""
    straight = get_position(index, shape, scan_rank)
    out = list(straight)
    reversed_row = False
    total = straight[0]
    for i in range(1, len(out)):
        if total % 2 == 1:
            out[i] = shape[i] - straight[i] - 1
            reversed_row = i == len(out) - 1
        total += out[i]
    return tuple(out), reversed_row


def get_position_snake(index: int, shape: Sequence[int], scan_rank: int) -> tuple[int, ...]:
    """Grid position of acquisition ``index`` in a snake scan."""
    return get_position_snake_row(index, shape, scan_rank)[0]


def get_row_slice(index: int, shape: Sequence[int], scan_rank: int) -> tuple[slice, ...]:
    """Slices selecting the whole fast-axis row that contains ``index``."""
    pos = get_position(index, shape, scan_rank)
    slices = [slice(p, p + 1) for p in pos]
    slices[scan_rank - 1] = slice(None)
    return tuple(slices)


def n_points(scan_shape: Sequence[int | None]) -> int | None:
    """Number of points in a scan, or None when a dimension is unlimited."""
    return None if any(n is None for n in scan_shape) else prod(scan_shape)
