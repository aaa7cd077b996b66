"""The numpy scan map: placement by position, growth in any dimension, planes and CSV export."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swmrview.core.compute.scanmap import ScanMap, read_csv


def place(smap, index_or_pos, **values):
    pos = np.unravel_index(index_or_pos, smap.shape) if np.isscalar(index_or_pos) \
        else index_or_pos
    smap.set(tuple(int(p) for p in pos), values)


def test_values_nan_where_not_acquired_and_repeats_count_once():
    smap = ScanMap((3, 4))
    smap.set((1, 2), {"sum": 25.0})
    smap.set((1, 2), {"sum": 25.0})
    sums = smap.values["sum"]
    assert sums.shape == (3, 4) and sums[1, 2] == 25.0
    assert np.isnan(np.delete(sums.ravel(), 6)).all()
    assert smap.n_filled == 1 and smap.filled.sum() == 1 and smap.filled[1, 2]


def test_acquired_is_kept_apart_from_values():
    smap = ScanMap((2,))
    smap.set((0,), {"sum": np.nan})
    assert smap.is_filled((0,)) and not smap.is_filled((1,))
    assert smap.n_filled == 1


def test_grows_in_every_dimension_and_lookups_have_no_side_effects():
    smap = ScanMap((None, None))
    assert smap.shape == (0, 0)
    smap.set((0, 0), {"sum": 1.0})
    assert smap.shape == (1, 1)
    assert smap.position(0) == (0, 0) and smap.shape == (1, 1)   # a lookup never grows it
    smap.set((57, 3), {"sum": 2.0})                                # several doublings
    assert smap.shape == (58, 4)
    sums = smap.values["sum"]
    assert sums[0, 0] == 1.0 and sums[57, 3] == 2.0 and np.isfinite(sums).sum() == 2
    assert smap.grow_to((60, None)) and smap.shape == (60, 4)
    assert not smap.grow_to((10, 2))
    assert smap.flat_index((1, 0)) == 4
    buffer = io.StringIO()
    smap.to_csv(buffer)
    assert "scan_shape=?x?, extent=60x4" in buffer.getvalue().splitlines()[0]
    with pytest.raises(IndexError):
        smap.set_many(np.array([[-1, 0]]), {"sum": np.array([1.0])})


def test_set_many_matches_set():
    one, many = ScanMap((None, 2, 3)), ScanMap((None, 2, 3))
    positions = np.array([[0, 1, 2], [3, 0, 0], [0, 1, 2]])
    values = np.array([1.0, 2.0, 3.0])
    for p, v in zip(positions, values):
        one.set(tuple(p), {"sum": v})
    many.set_many(positions, {"sum": values})
    np.testing.assert_array_equal(one.values["sum"], many.values["sum"])
    assert one.n_filled == many.n_filled == 2


def test_plane_of_3d_scan_and_copy():
    smap = ScanMap((2, 3, 4))
    for i in range(24):
        place(smap, i, sum=float(i))
    np.testing.assert_array_equal(smap.plane("sum", (1,)), np.arange(12, 24).reshape(3, 4))
    np.testing.assert_array_equal(smap.plane("sum"), np.arange(12).reshape(3, 4))
    assert np.isnan(smap.plane("sum", (5,))).all()
    plane = smap.plane("sum", (0,))
    plane[:] = -1
    assert smap.values["sum"][0, 0, 0] == 0.0
    with pytest.raises(KeyError):
        smap.plane("median")


def test_clear_one_reduction_keeps_the_rest():
    smap = ScanMap((2, 2))
    smap.set((0, 0), {"sum": 12.0, "roi": 3.0})
    smap.clear("roi")
    assert np.isnan(smap.values["roi"]).all() and smap.values["sum"][0, 0] == 12.0
    smap.clear()
    assert smap.n_filled == 0 and np.isnan(smap.values["sum"]).all()


def test_csv_round_trip_2d(tmp_path):
    smap = ScanMap((3, 4))
    for i, v in [(0, 1.5), (5, 1e-20), (11, 123456789.123)]:
        place(smap, i, sum=v, max=-v)
    out = tmp_path / "map.csv"
    smap.to_csv(out)
    text = out.read_text().splitlines()
    assert text[0].startswith("#") and "reduction=sum" in text[0]
    assert len(text) == 1 + 3 and text[1].count(",") == 3 and "nan" in text[1]
    np.testing.assert_array_equal(read_csv(out), smap.values["sum"])
    smap.to_csv(out, reduction="max", comments=False)
    assert not out.read_text().startswith("#")
    np.testing.assert_array_equal(read_csv(out), smap.values["max"])


def test_csv_1d_is_one_line_and_3d_takes_slow_index(tmp_path):
    line = ScanMap((6,))
    line.set((2,), {"sum": 4.0})
    buffer = io.StringIO()
    line.to_csv(buffer, comments=False)
    assert buffer.getvalue() == "nan,nan,4,nan,nan,nan\n"
    cube = ScanMap((2, 2, 3))
    for i in range(12):
        place(cube, i, mean=float(i))
    out = tmp_path / "cube.csv"
    cube.to_csv(out, reduction="mean", slow_index=(1,))
    assert "slow_index=(1,)" in out.read_text()
    np.testing.assert_array_equal(read_csv(out), np.arange(6, 12).reshape(2, 3))


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple), data=st.data())
def test_exactly_the_filled_cells_are_finite_whatever_the_growth(shape, data):
    n = int(np.prod(shape))
    indices = sorted(data.draw(st.sets(st.integers(0, n - 1))))
    smap = ScanMap((None,) * len(shape))          # nothing declared: grows from empty
    positions = np.array([np.unravel_index(i, shape) for i in indices], dtype=np.int64)
    smap.set_many(positions.reshape(len(indices), len(shape)),
                  {"sum": np.asarray(indices, dtype=float)})
    smap.grow_to(shape)
    expected = np.zeros(n, dtype=bool)
    expected[indices] = True
    np.testing.assert_array_equal(np.isfinite(smap.values["sum"]).ravel(), expected)
    np.testing.assert_array_equal(smap.filled.ravel(), expected)
    assert smap.n_filled == len(indices)
