"""Regressions found in review: each reproduces a failure the earlier code had."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from swmrview.core import (
    DataSource, FrameReader, KeyDataMismatchError, KeyFollower, ScanRankError,
)

from .conftest import open_when_ready
from .writers import Plan, frame_of


@pytest.mark.slow
def test_standalone_reader_following_out_of_order_never_reads_fill(writer):
    order = tuple(j for i in range(0, 40, 2) for j in (i + 1, i))  # 1, 0, 3, 2, ...
    plan = Plan(scan_shape=(40,), frame=(6,), frames_per_chunk=4, order=order, rate=80)
    path, _ = writer(plan)
    with open_when_ready(path) as f:
        reader = FrameReader(f["entry/data"], 1)
        follower = KeyFollower([f["keys/key0"]], timeout=20, finished_dataset=f["finished"],
                               out_of_order=True)
        frames = {i: reader.read(i) for i in follower}
    assert sorted(frames) == list(range(40))
    for index, frame in frames.items():
        np.testing.assert_array_equal(frame, frame_of(index, plan))


def test_skip_after_passes_a_gap_at_the_end_of_a_wide_row():
    key = np.zeros((4, 5000), np.int32)
    key.flat[:] = 1
    key[0, -1] = 0  # the last point of the first row was dropped
    kf = KeyFollower([key], timeout=None, skip_after=0.0)
    got = np.concatenate([kf.poll() for _ in range(4)])
    assert got.size == 19_999 and kf.skipped == [4999]


def test_keys_with_different_fast_axes_are_refused_by_name():
    a = np.zeros((3, 5), np.int32)
    b = np.zeros((3, 6), np.int32)
    with pytest.raises(ScanRankError, match=r"different scan shapes.*\(3, 5\).*\(3, 6\)"):
        KeyFollower([a, b]).check_datasets()


def test_data_of_another_fast_size_than_the_keys_is_a_named_error():
    keys = np.ones((3, 5), np.int32)
    with pytest.raises(KeyDataMismatchError, match=r"\(3, 6\).*scan of shape \(3, 5\)"):
        DataSource([keys], {"d": np.zeros((3, 6, 2))})


def test_a_given_scan_rank_wins_over_trailing_length_one_axes():
    keys = np.ones((10, 1, 1, 1), np.int32)  # a GDA 10x1 grid: scan_rank says 2
    kf = KeyFollower([keys], timeout=None, scan_rank=2)
    assert kf.poll().tolist() == list(range(10))
    assert kf.scan_shape == (10, 1) and kf.total_points == 10 and kf.are_keys_complete()


def test_stop_ends_an_iteration_even_with_points_queued():
    key = np.ones((1000,), np.int32)
    kf = KeyFollower([key], timeout=None)
    first = next(kf)
    kf.stop()
    assert first == 0 and list(kf) == []


def test_datasource_reset_refreshes_again_for_the_points_that_follow():
    refreshes = []

    class Data(np.ndarray):
        def refresh(self):
            refreshes.append(1)

    key = np.zeros((6,), np.int32)
    data = np.zeros((6, 2)).view(Data)
    source = DataSource([key], {"d": data}, timeout=None)
    key[:3] = 1
    source.poll()
    source.reset()
    key[3:] = 1
    batch = source.poll()  # after a reset, every point comes again
    assert [b.index for b in batch] == list(range(6))
    assert len(refreshes) == 2  # one refresh per batch, also after the reset


def test_the_finished_flag_seen_before_the_last_keys_still_reports_them():
    key = np.zeros((5,), np.int32)
    key[:3] = 1

    class Flag(np.ndarray):
        """The flag reads as set, and the writer's last keys land just after."""

        def __getitem__(self, item):
            key[3:] = 1
            return np.asarray(self).__getitem__(item)

    kf = KeyFollower([key], timeout=None, finished_dataset=np.ones((1,), np.int32).view(Flag))
    assert kf.poll().tolist() == [0, 1, 2]
    reported = kf.poll().tolist()
    assert reported == [3, 4] and kf.finished_set and kf.is_finished()


def test_stop_from_another_thread_interrupts_a_waiting_datasource():
    key = np.zeros((5,), np.int32)
    source = DataSource([key], {"d": np.zeros((5, 2))}, timeout=None)
    out = []
    thread = threading.Thread(target=lambda: out.extend(source))
    thread.start()
    source.stop()
    thread.join(timeout=2)
    assert not thread.is_alive() and out == []
