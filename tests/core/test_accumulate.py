"""Pixel-wise sum / max / mean of many frames, bad pixels left out as in the map's reductions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from swmrview.core.compute.accumulate import FrameAccumulator, accumulate_frames


def _reference(frames, how, mask=None, overflow=None):
    """numpy's answer: invalid values as NaN, then nan-reductions (NaN where none is left)."""
    values = frames.astype(np.float64)
    bad = ~np.isfinite(values)
    if mask is not None:
        bad |= np.broadcast_to(mask, values.shape)
    if overflow is not None:
        bad |= values >= overflow
    values[bad] = np.nan
    none_left = bad.all(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN slices: set below
        out = {"sum": np.nansum, "max": np.nanmax, "mean": np.nanmean}[how](values, axis=0)
    out = np.asarray(out, dtype=np.float64)
    out[none_left] = np.nan
    return out


@pytest.mark.parametrize("how", ["sum", "max", "mean"])
def test_integer_images_with_mask_and_overflow_match_numpy(how):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 1000, (9, 5, 7)).astype(np.uint16)
    frames[:, 0, 0] = 65535                 # a gap pixel: overflows in every frame
    frames[2, 3, 4] = 65535                 # overflows once: the other frames count
    mask = np.zeros((5, 7), bool)
    mask[4, 6] = True
    got = accumulate_frames(frames, how, mask=mask, overflow=65535)
    want = _reference(frames, how, mask, 65535)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got[0, 0]) and np.isnan(got[4, 6])
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)
    if how == "sum":
        assert got[3, 4] == frames[:, 3, 4].sum() - 65535


@pytest.mark.parametrize("how", ["sum", "max", "mean"])
def test_float_spectra_leave_nan_values_out(how):
    rng = np.random.default_rng(4)
    frames = rng.random((6, 3, 40))          # several detector elements of 40 channels
    frames[1, 0, 5] = np.nan
    frames[:, 2, 7] = np.nan                 # never a value there
    got = accumulate_frames(frames, how)
    want = _reference(frames, how)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got[2, 7]) and not np.isnan(got[0, 5])
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


@pytest.mark.parametrize("how", ["sum", "max", "mean"])
def test_inf_values_are_left_out_like_nan(how):
    rng = np.random.default_rng(5)
    frames = rng.random((6, 3, 40))
    frames[1, 0, 5] = np.inf
    frames[2, 1, 9] = -np.inf                # the max still finite: caught by the min
    frames[:, 2, 7] = -np.inf                # never a value there
    got = accumulate_frames(frames, how)
    want = _reference(frames, how)
    assert np.isnan(got[2, 7]) and np.isfinite(got[0, 5]) and np.isfinite(got[1, 9])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


def test_scalar_frames_and_a_frame_of_the_wrong_shape():
    acc = FrameAccumulator((), "sum", overflow=100.0)
    for value in (1.0, 250.0, 2.5):          # 250 overflows: left out
        acc.add(np.asarray(value))
    assert acc.n == 3 and float(acc.result()) == 3.5
    with pytest.raises(ValueError):
        acc.add(np.zeros(3))
    with pytest.raises(ValueError):
        FrameAccumulator((2,), "median")


def test_uint32_sums_past_32_bits_are_exact():
    frames = np.full((3, 2, 2), 2**32 - 2, np.uint32)
    assert accumulate_frames(frames, "sum")[0, 0] == 3 * (2**32 - 2)
