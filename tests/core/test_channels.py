"""Map channels computed by ChannelReducer, compared with numpy on real beamline files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from swmrview.core.compute.channels import (
    Channel,
    ChannelReducer,
    format_elements,
    normalise,
    parse_elements,
    points_in_polygon,
    spectrum_span,
    window_span,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def test_i18_element_window_summed_over_chosen_elements():
    with h5py.File(DATA / "i18_test_data.nxs", "r") as f:
        mcas = f["entry1/xspress3/MCAs"][()]          # (2, 2, 10, 4096)
        i0 = f["entry1/raster_counterTimer01/I0"][()]
    channel = Channel("Fe", "window", bounds=(1200, 1400), elements=(6, 8, 9))
    reducer = ChannelReducer(channel, mcas.shape[2:])
    got = np.array([[reducer(mcas[i, j]) for j in range(2)] for i in range(2)])
    want = mcas[:, :, [6, 8, 9], 1200:1401].sum(axis=(-1, -2))
    np.testing.assert_allclose(got, want)
    assert got.sum() > 0
    np.testing.assert_allclose(normalise(got, i0), want / i0)


def test_i18_whole_frame_reductions_over_all_elements():
    with h5py.File(DATA / "i18_test_data.nxs", "r") as f:
        mca = f["entry1/xspress3/MCAs"][1, 0]
    for kind, want in (("sum", mca.sum()), ("mean", mca.mean()), ("max", mca.max())):
        assert ChannelReducer(Channel("c", kind), mca.shape)(mca) == pytest.approx(want)
    one = ChannelReducer(Channel("c", "sum", elements=(4,)), mca.shape)(mca)
    assert one == pytest.approx(mca[4].sum())


def test_fluo_window_in_energy_units():
    with h5py.File(DATA / "fluo.nxs", "r") as f:
        data = f["entry1/fluo_entry/data/data"][()]      # (2, 2, 2, 4096)
        energy = f["entry1/fluo_entry/data/energy"][()]  # eV
    lo, hi = float(energy[1000]), float(energy[1500])
    reducer = ChannelReducer(Channel("w", "window", bounds=(hi, lo)), data.shape[3:],
                             energy=energy)
    inside = (energy >= lo) & (energy <= hi)
    for point in np.ndindex(data.shape[:3]):
        assert reducer(data[point]) == pytest.approx(data[point][inside].sum(dtype=np.float64),
                                                     rel=1e-6)
    # without a calibration the same bounds are channel numbers
    plain = ChannelReducer(Channel("w", "window", bounds=(1000, 1500)), data.shape[3:])
    assert plain(data[0, 1, 1]) == pytest.approx(data[0, 1, 1, 1000:1501].sum(dtype=np.float64),
                                                 rel=1e-6)


def _window_sum(bounds, spectrum, calibration=None):
    reducer = ChannelReducer(Channel("w", "window", bounds=bounds), spectrum.shape,
                             energy=calibration)
    return reducer(spectrum)


def test_a_window_takes_the_same_channels_with_and_without_a_calibration():
    n = 300
    spectrum = (np.arange(n, dtype=np.float64) + 1) ** 2      # every channel's sum different
    identity = np.arange(n, dtype=np.float64)
    for bounds, first, last in (((100, 200), 100, 200),       # both ends included
                                ((200, 100), 100, 200),       # either order
                                ((99.5, 200.5), 100, 200),
                                ((100.5, 199.5), 101, 199),   # a fractional edge takes no
                                ((100.2, 100.8), 0, -1),      # channel below or above it
                                ((0, 299), 0, 299),
                                ((-50, 5), 0, 5),
                                ((290, 1e6), 290, 299)):
        want = spectrum[first:last + 1].sum()
        span = (first, last + 1) if last >= first else (0, 0)
        assert window_span(bounds, n) == span, bounds
        assert window_span(bounds, n, identity) == span, bounds
        assert _window_sum(bounds, spectrum) == want, bounds
        assert _window_sum(bounds, spectrum, identity) == want, bounds


def test_a_window_in_energy_takes_the_channels_whose_energy_lies_in_it():
    n = 100
    spectrum = np.arange(n, dtype=np.float64) ** 2
    energy = 2.0 + 0.25 * np.arange(n)                # keV: channel 8 is 4.0 keV, 16 is 6.0
    assert window_span((4.0, 6.0), n, energy) == (8, 17)
    assert _window_sum((4.0, 6.0), spectrum, energy) == spectrum[8:17].sum()
    assert window_span((4.1, 5.9), n, energy) == (9, 16)
    assert window_span((4.0, 6.0), n, energy[::-1]) == (n - 17, n - 8)   # descending
    # a calibration of another length is not this spectrum's: channel numbers
    assert window_span((4.0, 6.0), n, energy[:50]) == (4, 7)


def test_a_window_outside_the_spectrum_is_empty():
    spectrum = np.ones((4, 64), dtype=np.uint16)      # 4 elements
    energy = np.linspace(1.0, 10.0, 64)
    for bounds, calibration in (((64.5, 100), None), ((-10, -0.5), None),
                                ((11.0, 12.0), energy), ((0.0, 0.9), energy)):
        assert window_span(bounds, 64, calibration) == (0, 0)
        reducer = ChannelReducer(Channel("w", "window", bounds=bounds), spectrum.shape,
                                 energy=calibration)
        assert reducer(spectrum) == 0.0               # a sum of no channel, as before


def test_a_rect_on_a_spectrum_stays_slice_bounds_of_channel_numbers():
    n = 300
    spectrum = np.arange(n, dtype=np.float64)
    energy = 1000.0 + 10.0 * np.arange(n)
    rect = Channel("r", "rect", bounds=(100, 200))
    for calibration in (None, energy):
        assert spectrum_span(rect, n, calibration) == (100, 200)
        reducer = ChannelReducer(rect, spectrum.shape, energy=calibration)
        assert reducer(spectrum) == spectrum[100:200].sum()
    assert spectrum_span(Channel("w", "window", bounds=(100, 200)), n) == (100, 201)


def test_xrd_rectangle_and_polygon_on_images():
    with h5py.File(DATA / "xrd_test.nxs", "r") as f:
        images = f["entry1/xrd_entry/instrument/detector/data"][()]   # (2, 2, 2, 100, 1000)
    frame = images[1, 0, 1]
    rect = ChannelReducer(Channel("r", "rect", bounds=(10, 60, 200, 700)), frame.shape)
    assert rect(frame) == pytest.approx(frame[10:60, 200:700].sum(dtype=np.float64), rel=1e-6)
    triangle = ((100.0, 5.0), (900.0, 5.0), (100.0, 95.0))
    poly = ChannelReducer(Channel("p", "polygon", polygon=triangle), frame.shape)
    yy, xx = np.mgrid[:100, :1000]
    inside = points_in_polygon(xx + 0.5, yy + 0.5, triangle)
    assert 0.3 < inside.mean() * 1000 * 100 / (800 * 90 / 2) < 1.1   # about the triangle's area
    assert poly(frame) == pytest.approx(frame[inside].sum(dtype=np.float64), rel=1e-6)


def test_masked_overflowing_and_nan_pixels_are_left_out():
    frame = np.arange(40, dtype=np.float64).reshape(4, 10)
    frame[0, 1] = np.nan
    frame[2, 3] = 1000
    mask = np.zeros(frame.shape, bool)
    mask[1, 2] = True
    reducer = ChannelReducer(Channel("c", "rect", bounds=(0, 4, 0, 5)), frame.shape,
                             mask=mask, overflow=500)
    keep = np.zeros(frame.shape, bool)
    keep[:, :5] = True
    keep[0, 1] = keep[2, 3] = keep[1, 2] = False
    assert reducer(frame) == pytest.approx(frame[keep].sum())
    assert ChannelReducer(Channel("m", "max"), frame.shape, overflow=500)(frame) == 39


def test_inf_pixels_are_left_out_like_nan():
    spectrum = np.tile(np.arange(100, dtype=np.float32), (4, 1))     # 4 elements
    spectrum[0, 20] = np.inf
    spectrum[1, 30] = -np.inf
    spectrum[2, 40] = np.nan
    keep = np.isfinite(spectrum)
    window = ChannelReducer(Channel("w", "window", bounds=(10, 50)), spectrum.shape)
    assert window(spectrum) == pytest.approx(np.where(keep, spectrum, 0)[:, 10:51].sum())
    for kind, want in (("sum", spectrum[keep].sum(dtype=np.float64)),
                       ("mean", spectrum[keep].mean(dtype=np.float64)), ("max", 99.0)):
        got = ChannelReducer(Channel("c", kind), spectrum.shape)(spectrum)
        assert np.isfinite(got) and got == pytest.approx(want), kind
    only = ChannelReducer(Channel("c", "sum", elements=(1,)), spectrum.shape)(spectrum)
    assert only == pytest.approx(spectrum[1][keep[1]].sum())
    image = np.ones((10, 10))
    image[1, 5], image[2, 8] = np.inf, -np.inf          # both inside the triangle
    triangle = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0))
    yy, xx = np.mgrid[:10, :10]
    inside = points_in_polygon(xx + 0.5, yy + 0.5, triangle)
    assert inside[1, 5] and inside[2, 8]
    poly = ChannelReducer(Channel("p", "polygon", polygon=triangle), image.shape)(image)
    assert poly == inside.sum() - 2


def test_integer_frames_sum_exactly():
    frame = np.full((3, 5), 2**31 - 1, dtype=np.int32)
    assert ChannelReducer(Channel("c", "sum"), frame.shape)(frame) == 15 * (2**31 - 1)


def test_channel_validation_and_round_trip():
    with pytest.raises(ValueError, match="name"):
        Channel("sum")
    with pytest.raises(ValueError, match="bounds"):
        Channel("w", "window", bounds=(1, 2, 3))
    with pytest.raises(ValueError, match="kind"):
        Channel("w", "median")
    with pytest.raises(ValueError, match="elements"):
        ChannelReducer(Channel("c", elements=(12,)), (10, 4096))
    with pytest.raises(ValueError, match="image"):
        ChannelReducer(Channel("p", "polygon", polygon=((0, 0), (1, 0), (0, 1))), (4096,))
    c = Channel("Fe/I0", "window", bounds=(6.2, 6.6), elements=(0, 1, 2, 3, 7),
                monitor="/entry/I0")
    assert Channel.from_dict(c.to_dict()) == c
    assert "0-3,7" in c.describe() and "I0" in c.describe()
    assert parse_elements(" 0-3, 7") == (0, 1, 2, 3, 7) and parse_elements("") is None
    assert format_elements((5, 0, 1, 2)) == "0-2,5"


def test_normalise_leaves_zero_monitor_as_nan():
    got = normalise(np.array([2.0, 3.0, 4.0]), np.array([2.0, 0.0, np.nan]))
    assert got[0] == 1.0 and np.isnan(got[1:]).all()


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.uint8])
def test_polygon_sums_of_small_integer_images_equal_numpy(dtype):
    """Runs of the polygon summed with reduceat; an overflowing pixel inside falls back to
    the general path, which leaves it out."""
    rng = np.random.default_rng(3)
    top = np.iinfo(dtype).max
    image = rng.integers(0, top // 2, (300, 400)).astype(dtype)
    hexagon = tuple((200 + 150 * np.cos(a), 150 + 120 * np.sin(a))
                    for a in np.linspace(0, 2 * np.pi, 7)[:-1])
    yy, xx = np.mgrid[:300, :400]
    inside = points_in_polygon(xx + 0.5, yy + 0.5, hexagon)
    mask = np.zeros(image.shape, bool)
    mask[150, 100:300] = True                       # a dead row across the polygon
    reducer = ChannelReducer(Channel("p", "polygon", polygon=hexagon), image.shape,
                             mask=mask, overflow=top)
    assert reducer(image) == image[inside & ~mask].sum(dtype=np.int64)
    image[150, 200] = image[100, 200] = top         # one masked, one not: left out
    assert reducer(image) == image[inside & ~mask].sum(dtype=np.int64) - int(top)
    whole = ChannelReducer(Channel("p", "polygon", polygon=((0, 0), (400, 0), (400, 300),
                                                            (0, 300))), image.shape)
    assert whole(image) == image.sum(dtype=np.int64)


def test_sums_over_long_runs_of_kept_pixels_do_not_overflow():
    """A masked detector keeps runs of millions of pixels across rows: the 32-bit run sums
    must not be used for them (found in review: 3 705 030 704 instead of 7 999 998 000)."""
    frame = np.full((2000, 2000), 2000, dtype=np.uint16)
    mask = np.zeros(frame.shape, bool)
    mask[5, 7] = True
    want = 2000 * (frame.size - 1)
    assert ChannelReducer(Channel("s", "sum"), frame.shape, mask=mask)(frame) == want
    everything = ((-10.0, -10.0), (5000.0, -10.0), (5000.0, 5000.0), (-10.0, 5000.0))
    assert ChannelReducer(Channel("p", "polygon", polygon=everything), frame.shape)(frame) \
        == 2000 * frame.size
