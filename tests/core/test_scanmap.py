"""The numpy scan map: reductions, placement by flat index, growth, planes and CSV export."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swmrview.core.scanmap import REDUCTIONS, ScanMap, read_csv, reduce_frame


def test_reductions_match_numpy_in_float64():
    frame = np.full((512, 512), 65535, dtype=np.uint16)   # sum overflows uint16/uint32 math
    frame[3, 4] = 7
    red = reduce_frame(frame, roi=(0, 10, 2, 6))
    exact = frame.astype(np.float64)
    assert red["sum"] == exact.sum()
    assert red["mean"] == pytest.approx(exact.mean())
    assert red["max"] == 65535.0
    assert red["roi"] == exact[0:10, 2:6].sum()
    assert set(red) == set(REDUCTIONS)


def test_roi_for_spectra_none_and_scalars():
    spectrum = np.arange(10, dtype=np.float32)
    assert reduce_frame(spectrum, roi=(2, 5))["roi"] == 2 + 3 + 4
    assert np.isnan(reduce_frame(spectrum)["roi"])
    scalar = reduce_frame(np.float64(2.5))
    assert scalar["sum"] == scalar["mean"] == scalar["max"] == 2.5
    with pytest.raises(ValueError):
        reduce_frame(spectrum, roi=(0, 1, 0, 1))
    assert all(np.isnan(v) for v in reduce_frame(np.zeros((0, 4))).values())


def test_values_nan_where_not_acquired():
    smap = ScanMap((3, 4))
    frame = np.ones((5, 5), dtype=np.uint16)
    assert smap.add(6, frame)["sum"] == 25.0
    smap.add(6, frame)                                      # repeat does not double count
    sums = smap.values["sum"]
    assert sums.shape == (3, 4)
    assert sums[1, 2] == 25.0
    assert np.isnan(np.delete(sums.ravel(), 6)).all()
    assert smap.n_filled == 1
    assert smap.filled.sum() == 1 and smap.filled[1, 2]
    with pytest.raises(IndexError):
        smap.add(12, frame)


def test_set_places_precomputed_reductions():
    smap = ScanMap((5,))
    pos = smap.set(3, {"sum": 1.0, "max": 2.0, "unknown": 9.0})
    assert pos == (3,)
    assert smap.values["max"][3] == 2.0 and np.isnan(smap.values["mean"][3])


def test_grows_along_dim0_when_length_unknown():
    smap = ScanMap((None, 10))
    assert smap.shape == (0, 10)
    smap.set(4, {"sum": 1.0})
    assert smap.shape == (1, 10)
    smap.set(573, {"sum": 2.0})                             # forces several doublings
    assert smap.shape == (58, 10)
    sums = smap.values["sum"]
    assert sums[0, 4] == 1.0 and sums[57, 3] == 2.0
    assert np.isfinite(sums).sum() == 2
    assert smap.plane("sum").shape == (58, 10)
    smap.clear()
    assert smap.shape == (0, 10) and smap.n_filled == 0


def test_plane_of_3d_scan_and_copy():
    smap = ScanMap((2, 3, 4))
    for i in range(24):
        smap.set(i, {"sum": float(i)})
    np.testing.assert_array_equal(smap.plane("sum", (1,)), np.arange(12, 24).reshape(3, 4))
    np.testing.assert_array_equal(smap.plane("sum"), np.arange(12).reshape(3, 4))
    assert np.isnan(smap.plane("sum", (5,))).all()
    plane = smap.plane("sum", (0,))
    plane[:] = -1
    assert smap.values["sum"][0, 0, 0] == 0.0
    with pytest.raises(KeyError):
        smap.plane("median")


def test_set_roi_clears_only_roi():
    smap = ScanMap((2, 2), roi=(0, 1, 0, 1))
    smap.add(0, np.full((2, 2), 3.0))
    assert smap.values["roi"][0, 0] == 3.0
    smap.set_roi((0, 2, 0, 2))
    assert np.isnan(smap.values["roi"]).all()
    assert smap.values["sum"][0, 0] == 12.0
    smap.add(1, np.full((2, 2), 3.0))
    assert smap.values["roi"][0, 1] == 12.0


def test_csv_round_trip_2d(tmp_path):
    smap = ScanMap((3, 4))
    for i, v in [(0, 1.5), (5, 1e-20), (11, 123456789.123)]:
        smap.set(i, {"sum": v, "max": -v})
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
    line.set(2, {"sum": 4.0})
    buffer = io.StringIO()
    line.to_csv(buffer, comments=False)
    assert buffer.getvalue() == "nan,nan,4,nan,nan,nan\n"

    cube = ScanMap((2, 2, 3))
    for i in range(12):
        cube.set(i, {"mean": float(i)})
    out = tmp_path / "cube.csv"
    cube.to_csv(out, reduction="mean", slow_index=(1,))
    assert "slow_index=(1,)" in out.read_text()
    np.testing.assert_array_equal(read_csv(out), np.arange(6, 12).reshape(2, 3))


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple), data=st.data())
def test_exactly_the_filled_cells_are_finite(shape, data):
    n = int(np.prod(shape))
    indices = data.draw(st.sets(st.integers(0, n - 1)))
    smap = ScanMap(shape)
    for i in indices:
        smap.add(i, np.array([1.0, float(i)]))
    expected = np.zeros(n, dtype=bool)
    expected[list(indices)] = True
    for name in ("sum", "mean", "max"):
        np.testing.assert_array_equal(np.isfinite(smap.values[name]).ravel(), expected)
    assert smap.n_filled == len(indices)
    assert np.isnan(smap.values["roi"]).all()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8, np.float32])
def test_fast_integer_sums_are_exact_at_the_extremes(dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else np.finfo(dtype)
    for fill in (info.max, info.min):
        frame = np.full((3, 65536), fill, dtype=dtype)
        expected = float(frame.astype(np.float64).sum())
        assert reduce_frame(frame)["sum"] == expected
        assert reduce_frame(frame)["mean"] == float(fill)
