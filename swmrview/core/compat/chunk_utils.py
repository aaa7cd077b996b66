"""Map chunks of a stream of points onto a scan grid (swmr_tools.chunk_utils API and results).

A detector writes its points as a stack, ``n_points_chunk`` points per chunk, in acquisition
order (raster, or snake: every other fast row acquired backwards). `get_slice_structure` says,
for the chunk starting at stream index ``index``, which pieces of the grid (shape
``scan_shape``) can be written now, from this chunk ("current"), the one before ("last"), or
both ("combined", through an intermediate buffer); `write_data` writes them.

The grid's fast axis is cut into blocks aligned to the chunk size (``n_points_chunk`` wide,
the last one shorter) or, when a chunk is longer than a row, into whole rows, so that output
datasets chunked that way are written a whole chunk at a time; output slices always step
forwards (h5py cannot write negative steps), snake rows are reversed on the input side.

A block is written by the chunk holding its last acquired point, except the short block at
the grid end of a backwards row: it is acquired first in that row and is written by the
first chunk that starts inside the row (swmr_tools 0.9.0 writes it then, and callers may rely
on when each block appears).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from swmrview.core.compat import utils

__all__ = [
    "ChunkSliceCollection",
    "SliceInOut",
    "SliceSize",
    "get_slice_structure",
    "write_data",
]


class SliceInOut:
    """Where a piece is taken from (``input``, first axis of the chunk) and put (``output``)."""

    def __init__(self, input: slice, output: slice):
        self.input = input
        self.output = output


class SliceSize:
    """The grid slice an intermediate buffer of ``size`` points is written to."""

    def __init__(self, slice: slice, size: int):
        self.slice = slice
        self.size = size


class ChunkSliceCollection:
    """One piece of the grid to write: from the ``current`` chunk, the ``last`` one, or both
    (``combined``, assembled in ``intermediate``); ``position`` is a grid point in its row."""

    types = ("current", "last", "combined")

    def __init__(self, type: str, position: Sequence[int]):
        if type not in ChunkSliceCollection.types:
            raise RuntimeError(f"{type} not in {ChunkSliceCollection.types}")
        self.type = type
        self.current: SliceInOut | None = None
        self.last: SliceInOut | None = None
        self.intermediate: SliceSize | None = None
        self.position = position

    def __repr__(self) -> str:
        text = f"Type {self.type}, position {self.position}"
        if self.last:
            text += f" Last input: {self.last.input} Output: {self.last.output}"
        if self.current:
            text += f" Current input: {self.current.input} Output: {self.current.output}"
        if self.intermediate:
            text += f" Intermed: {self.intermediate.slice} size: {self.intermediate.size}"
        return text


def _forwards(start: int, stop: int) -> slice:
    return slice(start, stop, 1)


def _backwards(start: int, stop: int) -> slice:
    """The elements start..stop-1 in reverse order."""
    return slice(stop - 1, start - 1 if start > 0 else None, -1)


def _block(index: int, n: int, grid_row: tuple[int, ...], backwards: bool, c0: int, c1: int,
           a0: int) -> ChunkSliceCollection:
    """The piece for grid columns c0:c1 of a row whose points a0, a0+1... fill it."""
    width = c1 - c0
    a1 = a0 + width
    from_last = max(0, min(a1, index) - a0)  # points acquired in the previous chunk
    position = grid_row + (c0,)
    take = _backwards if backwards else _forwards
    if from_last == 0:
        piece = ChunkSliceCollection("current", position)
        piece.current = SliceInOut(take(a0 - index, a1 - index), _forwards(c0, c1))
        return piece
    last_start = a0 - (index - n)
    if from_last == width:
        piece = ChunkSliceCollection("last", position)
        piece.last = SliceInOut(take(last_start, last_start + width), _forwards(c0, c1))
        return piece
    piece = ChunkSliceCollection("combined", position)
    rest = width - from_last
    if backwards:  # first-acquired points go to the grid end of the block
        piece.last = SliceInOut(take(last_start, n), _forwards(rest, width))
        piece.current = SliceInOut(take(0, rest), _forwards(0, rest))
    else:
        piece.last = SliceInOut(take(last_start, n), _forwards(0, from_last))
        piece.current = SliceInOut(take(0, rest), _forwards(from_last, width))
    piece.intermediate = SliceSize(_forwards(c0, c1), width)
    return piece


def get_slice_structure(index: int, n_points_chunk: int, scan_shape: Sequence[int],
                        snake: bool) -> list[ChunkSliceCollection]:
    """The pieces of a ``scan_shape`` grid to write when the chunk starting at ``index`` arrives.

    Parameters
    ----------
    index
        Stream index of the chunk's first point (a multiple of ``n_points_chunk``).
    n_points_chunk
        Points per chunk.
    scan_shape
        Shape of the grid.
    snake
        True for a snake scan (rows alternate direction), False for raster.

    Returns a list of `ChunkSliceCollection`, in the order to write them (`write_data`).
    """
    shape = [int(s) for s in scan_shape]
    n = int(n_points_chunk)
    index = int(index)
    row_len = shape[-1]
    total = int(np.prod(shape))
    width = min(n, row_len)
    end = min(index + n, total)
    pieces = []
    first_row = max(0, index - n) // row_len
    last_row = (end - 1) // row_len
    for r in range(first_row, last_row + 1):
        row_start = r * row_len
        if snake:
            grid, backwards = utils.get_position_snake_row(row_start, shape, len(shape))
        else:
            grid, backwards = utils.get_position(row_start, shape, len(shape)), False
        grid_row = tuple(int(p) for p in grid[:-1])
        # blocks in the order they are acquired
        starts = list(range(0, row_len, width))
        if backwards:
            starts.reverse()
        acquired = row_start
        for c0 in starts:
            c1 = min(c0 + width, row_len)
            a0, a1 = acquired, acquired + (c1 - c0)
            acquired = a1
            write_at = (a1 - 1) // n * n
            if backwards and n <= row_len and c1 == row_len:
                write_at = max(write_at, -(-row_start // n) * n)
            if write_at == index:
                pieces.append(_block(index, n, grid_row, backwards, c0, c1, a0))
    return pieces


def write_data(slice_structure: Sequence[ChunkSliceCollection], data: Any, last_data: Any,
               output: Any) -> None:
    """Write the pieces of `get_slice_structure` from ``data`` (the chunk, points along its
    first axis) and ``last_data`` (the chunk before) into ``output`` (grid shape + frame shape;
    a numpy array or an h5py dataset)."""
    rank = len(data.shape)
    for piece in slice_structure:
        if piece.type == "current":
            block, where = data[piece.current.input], piece.current.output
        elif piece.type == "last":
            block, where = last_data[piece.last.input], piece.last.output
        else:
            block = np.zeros((piece.intermediate.size,) + tuple(data.shape[1:]), data.dtype)
            block[piece.last.output] = last_data[piece.last.input]
            block[piece.current.output] = data[piece.current.input]
            where = piece.intermediate.slice
        selection = [slice(0, None)] * len(output.shape)
        for axis, p in enumerate(piece.position):
            selection[axis] = slice(p, p + 1)
        selection[-rank] = where
        output[tuple(selection)] = block
