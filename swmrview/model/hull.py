"""Plane geometry of scattered points: convex hulls, points in a polygon, lines and planes of
position arrays. Plain numpy, no Qt."""

from __future__ import annotations

import warnings

import numpy as np


def collinear(x: np.ndarray, y: np.ndarray) -> bool:
    """At least 3 finite points and all on one line (a line scan of two motors)."""
    good = np.isfinite(x) & np.isfinite(y)
    x, y = x[good].ravel(), y[good].ravel()
    if len(x) < 3:
        return False
    span = max(np.ptp(x), np.ptp(y))
    if span == 0:
        return True
    d = np.stack([x - x.mean(), y - y.mean()])
    singular = np.linalg.svd(d, compute_uv=False)
    return bool(singular[-1] <= 1e-3 * singular[0])


def last_plane(values: np.ndarray) -> np.ndarray:
    """The last 2-D plane of a position array over more than 2 scan dims."""
    return values.reshape((-1,) + values.shape[-2:])[-1] if values.ndim > 2 else values


def along_one_dim(values: np.ndarray) -> bool:
    """A 2-D position array (NaN: not known) that changes along one of its dims only, to
    within 10 % of a step."""
    if values.ndim != 2 or not np.isfinite(values).any():
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows and columns
        along_rows = np.nanmax(np.abs(values - np.nanmedian(values, axis=0, keepdims=True)))
        along_cols = np.nanmax(np.abs(values - np.nanmedian(values, axis=1, keepdims=True)))
        moving, still, axis = (along_cols, along_rows, 1) if along_cols >= along_rows \
            else (along_rows, along_cols, 0)
        if not moving > 0:
            return True
        steps = np.abs(np.diff(values, axis=axis))
        steps = steps[np.isfinite(steps) & (steps > 0)]
        step = float(np.median(steps)) if steps.size else float(moving)
    return bool(still <= 0.1 * step)


def convex_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Vertices (k, 2) of the convex hull of the points, counter-clockwise (monotone chain)."""
    pts = np.unique(np.stack([x, y], axis=1), axis=0) if len(x) else np.zeros((0, 2))
    if len(pts) < 3:
        return pts

    def half(points: np.ndarray) -> list:
        chain: list = []
        for p in points:
            while len(chain) >= 2 and cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    hull = np.array(lower[:-1] + upper[:-1])
    return hull if len(hull) >= 3 else hull[:0]


def outermost(bins: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """True for the points holding the smallest or the largest of ``values`` in their bin."""
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(low, bins, values)
    np.maximum.at(high, bins, values)
    return (values == low[bins]) | (values == high[bins])


def row_spans(hull: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each height in ``ys``, the x interval (lo, hi) the convex polygon ``hull`` covers
    (lo > hi where it covers none)."""
    a, b = hull, np.roll(hull, -1, axis=0)
    ya, yb = a[:, 1], b[:, 1]
    y = ys[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (y - ya) / (yb - ya)
        x = a[:, 0] + t * (b[:, 0] - a[:, 0])
    crosses = (y >= np.minimum(ya, yb)) & (y <= np.maximum(ya, yb)) & (ya != yb)
    lo = np.where(crosses, x, np.inf).min(axis=1)
    hi = np.where(crosses, x, -np.inf).max(axis=1)
    return lo, hi


def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def in_polygon(hull: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where (x, y) lies inside (or on) the convex counter-clockwise polygon ``hull``."""
    inside = np.ones(np.shape(x), bool)
    scale = max(np.ptp(hull[:, 0]), np.ptp(hull[:, 1]), 1e-300)
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        cross = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
        inside &= cross >= -1e-9 * scale * scale
    return inside


def fill_outside(image: np.ndarray, where: np.ndarray) -> None:
    """Fill NaN cells of ``image`` inside ``where`` from their filled 8 neighbours, repeatedly."""
    known = np.isfinite(image)
    for _ in range(sum(image.shape)):
        todo = where & ~known
        if not todo.any():
            return
        values = np.pad(np.where(known, image, 0.0), 1)
        counts = np.pad(known.astype(np.float64), 1)
        total = np.zeros(image.shape)
        n = np.zeros(image.shape)
        rows, cols = image.shape
        for dr in (0, 1, 2):
            for dc in (0, 1, 2):
                if dr == dc == 1:
                    continue
                total += values[dr: dr + rows, dc: dc + cols]
                n += counts[dr: dr + rows, dc: dc + cols]
        new = todo & (n > 0)
        if not new.any():
            return
        image[new] = total[new] / n[new]
        known = known | new
