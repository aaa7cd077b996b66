"""reduce_frame / reduce_frames / FrameReducer against plain numpy over the valid pixels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from swmrview.core.compute.reduce import REDUCTIONS, FrameReducer, reduce_frame, reduce_frames


def reference(frame, roi=None, mask=None, overflow=None):
    """The reductions computed the obvious way: float64 over a boolean array of valid pixels."""
    frame = np.asarray(frame)
    values = frame.astype(np.float64)
    valid = np.isfinite(values)
    if mask is not None:
        valid &= ~np.broadcast_to(np.asarray(mask) != 0, frame.shape)
    if overflow is not None:
        valid &= ~(frame >= overflow)
    kept = values[valid]
    out = {
        "sum": float(kept.sum()),
        "mean": float(kept.mean()) if kept.size else np.nan,
        "max": float(kept.max()) if kept.size else np.nan,
        "roi": np.nan,
    }
    if roi is not None:
        region = (Ellipsis,) + tuple(slice(roi[i], roi[i + 1]) for i in range(0, len(roi), 2))
        out["roi"] = float(np.where(valid, values, 0)[region].sum())
    return out


def assert_same(got, expected, exact=True):
    assert set(got) == set(REDUCTIONS)
    for name in REDUCTIONS:
        g, e = got[name], expected[name]
        if np.isnan(e):
            assert np.isnan(g), (name, g, e)
        elif exact:
            assert g == e, (name, g, e)
        else:
            assert g == pytest.approx(e, rel=1e-9, abs=1e-9), (name, g, e)


def detector_frame(dtype, shape=(64, 80), seed=0):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    frame = rng.poisson(30, shape)
    if info is not None:
        frame = np.clip(frame, info.min, info.max).astype(dtype)
    else:
        frame = frame.astype(dtype)
    return frame


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.int32,
                                   np.int64, np.float32, np.float64])
def test_plain_frames_match_numpy(dtype):
    frame = detector_frame(dtype)
    assert_same(reduce_frame(frame, roi=(3, 20, 5, 41)), reference(frame, (3, 20, 5, 41)),
                exact=np.dtype(dtype).kind in "ui")


def test_mask_excludes_pixels_in_every_reduction():
    frame = detector_frame(np.uint16)
    frame[10, 10] = 60000                       # the max, but masked
    mask = np.zeros(frame.shape, bool)
    mask[10, 10] = mask[0, :] = mask[:, 7] = True
    roi = (0, 12, 0, 12)
    got = reduce_frame(frame, roi=roi, mask=mask)
    assert_same(got, reference(frame, roi, mask))
    assert got["max"] < 60000
    # an NXdetector pixel_mask (non-zero = bad) works the same
    assert_same(reduce_frame(frame, roi=roi, mask=mask.astype(np.uint32) * 4),
                reference(frame, roi, mask))


def test_mask_broadcasts_over_leading_frame_dims():
    frame = np.stack([detector_frame(np.uint16, seed=s) for s in range(3)])
    mask = np.zeros(frame.shape[1:], bool)
    mask[5:9, 2] = True
    assert_same(reduce_frame(frame, mask=mask), reference(frame, mask=mask))


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32])
def test_overflow_excludes_gap_pixels_like_an_eiger(dtype):
    top = np.iinfo(dtype).max
    reducer = FrameReducer((64, 80), roi=(0, 40, 30, 50), overflow=top)
    for seed in range(4):
        frame = detector_frame(dtype, seed=seed)
        frame[:, 33:35] = top                    # gap columns, in every frame
        frame[seed, seed] = top                  # a different saturated pixel each frame
        expected = reference(frame, (0, 40, 30, 50), overflow=top)
        before = frame.copy()
        assert_same(reducer.reduce(frame), expected)
        np.testing.assert_array_equal(frame, before)   # never modified by default
        # the pipeline's path: the reducer may zero excluded pixels in place
        assert_same(dict(zip(REDUCTIONS, reducer(frame.copy(), writable=True))), expected)
    # a frame without the gap pixels: the remembered ones are counted again
    frame = detector_frame(dtype, seed=9)
    assert_same(reducer.reduce(frame), reference(frame, (0, 40, 30, 50), overflow=top))


def test_overflow_below_dtype_max_and_with_mask():
    frame = detector_frame(np.uint16)
    frame[1, 1] = 1000
    frame[2, 2] = 999
    mask = np.zeros(frame.shape, bool)
    mask[2, 2] = True
    assert_same(reduce_frame(frame, mask=mask, overflow=1000),
                reference(frame, mask=mask, overflow=1000))
    with pytest.raises(ValueError):
        reduce_frame(frame, overflow=0)


def test_nan_pixels_are_left_out():
    frame = detector_frame(np.float32)
    frame[4, :] = np.nan
    frame[0, 0] = 5
    got = reduce_frame(frame, roi=(0, 10, 0, 10), overflow=40)
    assert_same(got, reference(frame, (0, 10, 0, 10), overflow=40), exact=False)
    assert np.isfinite(got["sum"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inf_pixels_are_left_out_like_nan(dtype):
    """+inf and -inf pixels (a dead or saturated float pixel) are left out of every reduction,
    not a sum of +-inf painted as the top colour."""
    frame = detector_frame(dtype)
    want_all = frame[1:].astype(np.float64)                      # row 0 holds the bad pixels
    frame[0, :] = 1.0
    frame[0, 3] = np.inf
    frame[0, 5] = -np.inf
    frame[0, 7] = np.nan
    keep = np.ones(frame.shape, bool)
    keep[0, [3, 5, 7]] = False
    reducer = FrameReducer(frame.shape, roi=(0, 10, 0, 10))
    for got in (reduce_frame(frame, roi=(0, 10, 0, 10)), reducer.reduce(frame),
                dict(zip(REDUCTIONS, reducer(frame.copy(), writable=True)))):
        assert all(np.isfinite(v) for v in got.values()), got
        assert got["sum"] == pytest.approx(frame[keep].astype(np.float64).sum(), rel=1e-12)
        assert got["mean"] == pytest.approx(frame[keep].astype(np.float64).mean(), rel=1e-12)
        assert got["max"] == max(want_all.max(), 1.0)
        assert got["roi"] == pytest.approx(np.where(keep, frame, 0)[:10, :10].sum(), rel=1e-12)
        assert_same(got, reference(frame, (0, 10, 0, 10)), exact=False)
    # one kind alone (-inf does not show in the max, +inf not in a finite sum's sign)
    for bad in (np.inf, -np.inf):
        alone = detector_frame(dtype)
        alone[2, 2] = bad
        assert_same(reduce_frame(alone, overflow=40), reference(alone, overflow=40),
                    exact=False)
        assert_same(reduce_frame(alone, mask=alone > 35), reference(alone, mask=alone > 35),
                    exact=False)
    # every valid pixel negative: the zeroed -inf pixel does not become the max
    negative = -detector_frame(dtype) - 1
    negative[1, 1] = -np.inf
    assert_same(reduce_frame(negative), reference(negative), exact=False)
    assert reduce_frame(negative)["max"] < 0
    # scalars and frames of nothing but inf
    assert reduce_frame(np.float64(np.inf))["sum"] == 0.0
    assert np.isnan(reduce_frame(np.float64(-np.inf))["max"])
    only = reduce_frame(np.array([np.inf, -np.inf, np.nan], dtype=dtype))
    assert only["sum"] == 0.0 and np.isnan(only["mean"]) and np.isnan(only["max"])


def test_negative_values_with_excluded_pixels_keep_the_true_max():
    frame = -detector_frame(np.int32) - 1            # every valid pixel negative
    mask = np.zeros(frame.shape, bool)
    mask[3] = True
    assert_same(reduce_frame(frame, mask=mask), reference(frame, mask=mask))
    frame = frame.astype(np.float64)
    frame[5, 5] = np.nan
    assert_same(reduce_frame(frame, mask=mask), reference(frame, mask=mask), exact=False)


def test_all_pixels_excluded():
    frame = np.full((4, 4), np.nan)
    got = reduce_frame(frame, roi=(0, 2, 0, 2))
    assert got["sum"] == 0.0 and got["roi"] == 0.0
    assert np.isnan(got["mean"]) and np.isnan(got["max"])
    got = reduce_frame(np.ones((4, 4), np.uint8), mask=np.ones((4, 4), bool))
    assert got["sum"] == 0.0 and np.isnan(got["mean"]) and np.isnan(got["max"])


def test_spectra_scalars_and_empty_frames():
    spectrum = np.arange(10, dtype=np.float32)
    assert reduce_frame(spectrum, roi=(2, 5))["roi"] == 2 + 3 + 4
    assert reduce_frame(spectrum, roi=(2, 5), overflow=3)["roi"] == 2
    assert np.isnan(reduce_frame(spectrum)["roi"])
    scalar = reduce_frame(np.float64(2.5), roi=(0, 1))
    assert scalar["sum"] == scalar["mean"] == scalar["max"] == scalar["roi"] == 2.5
    assert np.isnan(reduce_frame(np.float64(2.5))["roi"])
    assert np.isnan(reduce_frame(np.uint16(7), overflow=7)["max"])
    with pytest.raises(ValueError):
        reduce_frame(spectrum, roi=(0, 1, 0, 1))
    assert all(np.isnan(v) for v in reduce_frame(np.zeros((0, 4))).values())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8])
def test_fast_integer_sums_are_exact_at_the_extremes(dtype):
    info = np.iinfo(dtype)
    for fill in (info.max, info.min):
        frame = np.full((3, 65536), fill, dtype=dtype)
        assert reduce_frame(frame)["sum"] == float(frame.astype(np.float64).sum())
        assert reduce_frame(frame)["mean"] == float(fill)


def test_reduce_frames_stacks_and_sequences():
    frames = np.stack([detector_frame(np.uint16, seed=s) for s in range(5)])
    frames[2, 3, 3] = 65535
    mask = np.zeros(frames.shape[1:], bool)
    mask[0] = True
    got = reduce_frames(frames, roi=(0, 5, 0, 5), mask=mask, overflow=65535)
    assert set(got) == set(REDUCTIONS)
    for i, frame in enumerate(frames):
        expected = reference(frame, (0, 5, 0, 5), mask, 65535)
        assert_same({k: v[i] for k, v in got.items()}, expected)
    assert all(v.dtype == np.float64 and v.shape == (5,) for v in got.values())
    listed = reduce_frames(list(frames), roi=(0, 5, 0, 5), mask=mask, overflow=65535)
    for name in REDUCTIONS:
        np.testing.assert_array_equal(listed[name], got[name])
    assert all(v.shape == (0,) for v in reduce_frames([]).values())


def test_reducer_rejects_a_frame_of_another_shape():
    with pytest.raises(ValueError):
        FrameReducer((4, 4))(np.zeros((4, 5)))


@settings(max_examples=150, deadline=None)
@given(
    frame=hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int16, np.uint32, np.int32]),
                     hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9)),
    data=st.data(),
)
def test_matches_numpy_for_any_integer_frame(frame, data):
    mask = data.draw(hnp.arrays(bool, frame.shape)) if data.draw(st.booleans()) else None
    overflow = data.draw(st.one_of(st.none(), st.integers(1, 300)))
    roi = None
    if frame.ndim >= 2 and data.draw(st.booleans()):
        roi = (data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9)),
               data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9)))
    reducer = FrameReducer(frame.shape, roi, mask, overflow)
    expected = reference(frame, roi, mask, overflow)
    assert_same(reducer.reduce(frame), expected)
    assert_same(reducer.reduce(frame), expected)                 # with remembered overflows
    assert_same(dict(zip(REDUCTIONS, reducer(frame.copy(), writable=True))), expected)


def test_one_reducer_shared_by_threads_counts_every_overflow_once():
    """Threads that learn the same gap pixels at once must not count them twice."""
    from concurrent.futures import ThreadPoolExecutor

    top = np.iinfo(np.uint32).max
    frames = []
    for seed in range(24):
        frame = detector_frame(np.uint32, shape=(120, 90), seed=seed)
        frame[:, 40:43] = top
        frame[seed, :seed] = top
        frames.append(frame)
    for _ in range(5):
        reducer = FrameReducer((120, 90), roi=(0, 60, 30, 60), overflow=top)
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda f: reducer(f.copy(), writable=True), frames))
        for frame, values in zip(frames, got):
            assert_same(dict(zip(REDUCTIONS, values)), reference(frame, (0, 60, 30, 60),
                                                                  overflow=top))


@pytest.mark.parametrize("top", [2**30 - 1, 2**30, 2**32 - 2])
def test_uint32_row_sums_exact_on_both_sides_of_the_32_bit_limit(top):
    frame = np.full((5, 4), top, dtype=np.uint32)     # a row sums to 4 * top
    frame[0, 0] = 3
    assert reduce_frame(frame)["sum"] == float(frame.astype(np.float64).sum())
    assert reduce_frame(frame, roi=(0, 2, 1, 3))["roi"] == float(4 * top)


def without_max(expected):
    return dict(expected, max=np.nan)


@settings(max_examples=100, deadline=None)
@given(
    frame=hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int16, np.uint32, np.int32,
                                      np.float32, np.float64]),
                     hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9),
                     elements=st.integers(0, 255)),
    data=st.data(),
)
def test_without_the_max_sum_mean_and_roi_stay_exact(frame, data):
    if frame.dtype.kind != "u":   # negative values too
        frame = (frame.astype(np.int64) - 50).astype(frame.dtype)
    if frame.dtype.kind == "f" and data.draw(st.booleans()):
        flat = frame.reshape(-1)
        flat[data.draw(st.integers(0, flat.size - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))
    mask = data.draw(hnp.arrays(bool, frame.shape)) if data.draw(st.booleans()) else None
    overflow = data.draw(st.one_of(st.none(), st.integers(1, 300)))
    roi = None
    if frame.ndim >= 2 and data.draw(st.booleans()):
        roi = (data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9)),
               data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9)))
    reducer = FrameReducer(frame.shape, roi, mask, overflow, max=False)
    expected = without_max(reference(frame, roi, mask, overflow))
    assert_same(reducer.reduce(frame), expected, exact=frame.dtype.kind != "f")
    assert_same(reducer.reduce(frame), expected, exact=frame.dtype.kind != "f")
    assert_same(dict(zip(REDUCTIONS, reducer(frame.copy(), writable=True))), expected,
                exact=frame.dtype.kind != "f")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_without_the_max_nonfinite_pixels_are_still_left_out(bad):
    frame = detector_frame(np.float32)
    frame[3, 4] = bad
    frame[10, 1] = -bad if not np.isnan(bad) else bad
    got = FrameReducer(frame.shape, max=False).reduce(frame)
    assert_same(got, without_max(reference(frame)))
