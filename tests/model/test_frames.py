"""Frames made ready to draw in the follower thread: binning for the screen, and levels."""

from __future__ import annotations

import numpy as np

from swmrview.model.frames import MAX_DISPLAY, display_frame


def test_an_image_is_binned_by_the_screen_binning_asked_for():
    frame = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    shown, levels, binning = display_frame(frame, screen_binning=4)
    assert binning == 4
    np.testing.assert_array_equal(shown, frame[::4, ::4])
    assert shown.flags.c_contiguous
    assert levels == (float(frame[::4, ::4].min()), float(frame[::4, ::4].max()))


def test_screen_binning_one_leaves_frames_whole():
    frame = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    shown, _, binning = display_frame(frame)
    assert binning == 1 and shown.shape == (64, 48)


def test_spectra_are_never_binned_for_the_screen():
    mca = np.arange(4 * 4096, dtype=np.uint32).reshape(4, 4096)   # 4 elements x 4096 channels
    shown, _, binning = display_frame(mca, screen_binning=8)
    assert binning == 1
    np.testing.assert_array_equal(shown, mca)
    trace = np.arange(4096.0)
    assert display_frame(trace, screen_binning=8)[2] == 1


def test_binning_keeps_at_least_two_pixels_per_axis():
    frame = np.ones((16, 80), dtype=np.uint16)
    shown, _, binning = display_frame(frame, screen_binning=50)
    assert binning == 8 and shown.shape == (2, 10)


def test_huge_frames_are_binned_to_the_display_limit_whatever_the_screen_asks():
    frame = np.zeros((MAX_DISPLAY + 10, 64), dtype=np.uint8)
    shown, _, binning = display_frame(frame, screen_binning=1)
    assert binning == 2 and shown.shape[0] <= MAX_DISPLAY


def test_masked_pixels_of_a_binned_frame_stay_out_of_the_levels():
    frame = np.full((16, 16), 5, dtype=np.uint16)
    frame[0, 0] = 60000                       # a hot pixel on the kept grid, masked
    frame[4, 4] = 9
    mask = np.zeros((16, 16), bool)
    mask[0, 0] = True
    _, levels, binning = display_frame(frame, mask, screen_binning=4)
    assert binning == 4 and levels == (5.0, 9.0)
