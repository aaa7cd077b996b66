"""The points of a replay: the order they were acquired in, and runs written as one slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from swmrview.core.follow.positions import unravel

__all__ = ["Run", "runs", "acquisition_order"]


@dataclass(frozen=True)
class Run:
    """Consecutive points of one fast row: ``row`` (slow dims) and fast indices lo..hi."""

    row: tuple[int, ...]
    lo: int
    hi: int
    indices: tuple[int, ...]     # flat indices, in position order (lo..hi)
    counts: tuple[int, ...]      # acquisition counts (from 1), in position order


def runs(indices: Sequence[int], counts: Sequence[int], shape: tuple[int, ...]) -> list[Run]:
    """Split points (in acquisition order) into runs written as one slice each."""
    found: list[Run] = []
    fast = shape[-1]
    group: list[tuple[int, int]] = []

    def close() -> None:
        if group:
            ordered = sorted(group)
            pos = unravel(ordered[0][0], shape)
            found.append(Run(pos[:-1], pos[-1], pos[-1] + len(ordered) - 1,
                             tuple(i for i, _ in ordered), tuple(c for _, c in ordered)))
            group.clear()

    step = 0
    for index, count in zip(indices, counts):
        if group:
            prev = group[-1][0]
            d = index - prev
            same_row = index // fast == prev // fast
            if same_row and abs(d) == 1 and (step in (0, d)):
                step = d
                group.append((index, count))
                continue
            close()
        step = 0
        group.append((index, count))
    close()
    return found


def acquisition_order(scan_shape: tuple[int, ...], outputs: Sequence
                      ) -> tuple[list[int], list[int]]:
    """(keyed flat indices in key order, unkeyed flat indices in C order).

    ``outputs``: the scan file's output first, then its detector files'. The first integer
    key the original holds (``uniqueKeys`` first in the scan file) gives the order; without
    one every point is keyed, in C order."""
    n = int(np.prod(scan_shape))
    first, *rest = outputs
    candidates = sorted(first.keys, key=lambda k: not k.dst.name.endswith("uniqueKeys"))
    candidates += [item for out in rest for item in out.keys]
    ordering = next((item.src for item in candidates
                     if item.src is not None and item.src.dtype.kind in "iu"), None)
    if ordering is None:
        return list(range(n)), []
    values = np.zeros(scan_shape, dtype=np.int64)
    raw = np.asarray(ordering[...])
    rank = len(scan_shape)
    raw = raw.reshape(raw.shape[:rank] + (-1,))[..., 0]
    values[tuple(slice(0, s) for s in raw.shape)] = raw
    flat = values.ravel()
    keyed = np.flatnonzero(flat > 0)
    keyed = keyed[np.argsort(flat[keyed], kind="stable")]
    unkeyed = np.flatnonzero(flat <= 0)
    return [int(i) for i in keyed], [int(i) for i in unkeyed]

