"""KeyFollower against real SWMR writer processes, one test per improvement over swmr_tools."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from swmrview.core import KeyFollower, RowKeyFollower, ScanRankError, open_swmr
from swmrview.core.follow import following as following_module
from swmrview.core.follow import keys as keys_module

from .conftest import open_when_ready
from .writers import Plan


def follow(path, **options):
    """Follow a file to the end with the iterator API; return (indices, follower)."""
    with open_when_ready(path) as f:
        keys = [f[f"keys/{name}"] for name in sorted(f["keys"])]
        finished = f["finished"] if "finished" in f else None
        kf = KeyFollower(keys, finished_dataset=finished, **options)
        return list(kf), kf


@pytest.mark.slow
def test_follows_a_live_1d_scan_in_order_and_stops_on_finished(writer):
    path, proc = writer(Plan(scan_shape=(40,)))
    indices, kf = follow(path, timeout=20)
    assert indices == list(range(40))
    assert kf.finished_set and not kf.timed_out
    assert kf.current_max == 39 and kf.is_finished()


@pytest.mark.parametrize("finished", ["rank0", "shape1"])
@pytest.mark.slow
def test_rank0_and_shape1_finished_flags_both_end_the_scan(writer, finished):
    path, _ = writer(Plan(scan_shape=(10,), finished=finished))
    indices, kf = follow(path, timeout=20)
    assert indices == list(range(10)) and kf.finished_set


@pytest.mark.slow
def test_2d_scan_with_trailing_one_keys_and_a_lagging_second_key(writer):
    plan = Plan(scan_shape=(6, 5), n_keys=2, key_lag=4, trailing_one=True)
    path, _ = writer(plan)
    seen_ahead_of_second_key = []
    with open_when_ready(path) as f:
        k0, k1 = f["keys/key0"], f["keys/key1"]
        kf = KeyFollower([k0, k1], timeout=20, finished_dataset=f["finished"])
        kf.check_datasets()
        assert kf.scan_rank == 2 and kf.maxshape == (None, 5)
        for index in kf:
            # a point is ready only when both keys are set: never ahead of the lagging key
            k1.refresh()
            pos = np.unravel_index(index, (k1.shape[0], 5))
            seen_ahead_of_second_key.append(k1[pos + (0,)] == 0)
    assert not any(seen_ahead_of_second_key)
    assert kf.n_ready == 30 and kf.current_max == 29


@pytest.mark.slow
def test_poll_interval_is_independent_of_a_long_timeout(writer):
    # swmr_tools sleeps timeout/20 between polls: 50 s here. Ours polls every 20 ms.
    path, _ = writer(Plan(scan_shape=(30,), rate=100))
    t0 = time.monotonic()
    indices, _ = follow(path, timeout=1000)
    assert indices == list(range(30))
    assert time.monotonic() - t0 < 10  # swmr_tools would sleep 50 s at its first wait


def test_poll_reads_keys_only_from_the_first_incomplete_point():
    reads = []

    class RecordingKey(np.ndarray):
        def __getitem__(self, item):
            reads.append(item)
            return np.asarray(self).__getitem__(item)

    key = np.zeros((1_000_000,), np.int32).view(RecordingKey)
    kf = KeyFollower([key], timeout=None)
    key[:999_000] = 1
    caught_up = 0
    while (batch := kf.poll()).size:  # a backlog comes in bounded batches
        assert batch.size <= following_module.MAX_NEW_PER_POLL
        caught_up += batch.size
    assert caught_up == 999_000
    reads.clear()
    key[999_000:999_010] = 1
    new = kf.poll()
    assert new.tolist() == list(range(999_000, 999_010))
    # one window from the first incomplete point: never the 999,000 complete ones again
    assert all(r.start >= 999_000 for r in reads)
    assert sum(min(r.stop, key.size) - r.start for r in reads) <= keys_module.WINDOW_POINTS


def test_poll_is_non_blocking_and_stop_ends_a_blocking_iteration_at_once():
    key = np.zeros((10,), np.int32)
    kf = KeyFollower([key], timeout=None)
    t0 = time.monotonic()
    assert kf.poll().size == 0  # nothing ready: returns at once
    assert time.monotonic() - t0 < 1
    out = []
    thread = threading.Thread(target=lambda: out.extend(kf))
    thread.start()
    key[:3] = 1
    time.sleep(0.2)
    kf.stop()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert out == [0, 1, 2]


@pytest.mark.slow
def test_a_key_reset_to_zero_times_out_instead_of_hanging(writer):
    path, proc = writer(Plan(scan_shape=(30,), reset_after=12, hold=1.0, rate=20))
    indices, kf = follow(path, timeout=1.5)
    proc.terminate()
    # the reset may land before the last few points were seen: a prefix, never beyond 12
    assert 0 < len(indices) <= 12 and indices == list(range(len(indices)))
    assert kf.timed_out and kf.key_reset


@pytest.mark.slow
def test_an_empty_key_waits_instead_of_crashing(writer):
    path, _ = writer(Plan(scan_shape=(8,), hold=1.0))
    with open_when_ready(path) as f:
        kf = KeyFollower([f["keys/key0"]], timeout=20, finished_dataset=f["finished"])
        assert f["keys/key0"].shape == (0,)
        assert kf.poll().size == 0 and not kf.done
        assert list(kf) == list(range(8))


def test_keys_of_different_scan_rank_are_refused_by_name():
    a = np.zeros((4, 5), np.int32)
    b = np.zeros((20,), np.int32)
    with pytest.raises(ScanRankError, match="rank 2.*rank 1"):
        KeyFollower([a, b]).check_datasets()


def test_several_keys_combine_as_booleans_not_float_products():
    # swmr_tools multiplies keys as float64: 1e200-scale products overflow; signs cancel.
    big = np.full((5,), np.iinfo(np.int64).max, np.int64)
    neg = np.array([-1, 1, -1, 0, 1], np.int64)
    kf = KeyFollower([big, neg, big], timeout=0)
    assert kf.poll().tolist() == [0, 1, 2]


@pytest.mark.slow
def test_out_of_order_reports_each_point_once_and_skips_a_dropped_one(writer):
    order = (3, 0, 1, 7, 2, 5, 4, 6, 9, 8, 11, 10)
    path, _ = writer(Plan(scan_shape=(12,), order=order, drop=(5,), rate=50))
    indices, kf = follow(path, timeout=20, out_of_order=True, skip_after=0.1)
    assert sorted(indices) == [i for i in range(12) if i != 5]
    assert len(set(indices)) == len(indices)
    assert kf.skipped == [5] and kf.current_max == 11


@pytest.mark.slow
def test_in_order_without_skipping_stops_at_a_dropped_point(writer):
    path, _ = writer(Plan(scan_shape=(10,), drop=(4,)))
    indices, kf = follow(path, timeout=20)
    assert indices == [0, 1, 2, 3] and kf.finished_set


@pytest.mark.slow
def test_file_written_without_swmr_reads_to_the_end(writer):
    path, proc = writer(Plan(scan_shape=(3, 4), swmr=False, unlimited=False, finished=""))
    proc.join(timeout=30)
    with open_swmr(path) as f:
        kf = KeyFollower([f["keys/key0"]], timeout=5)
        assert list(kf) == list(range(12))
        assert kf.are_keys_complete() and not kf.timed_out


@pytest.mark.slow
def test_row_key_follower_yields_the_last_index_of_each_complete_row(writer):
    path, _ = writer(Plan(scan_shape=(4, 5), unlimited=False))
    with open_when_ready(path) as f:
        rows = list(RowKeyFollower([f["keys/key0"]], timeout=20, finished_dataset=f["finished"]))
    assert rows == [4, 9, 14, 19]


# -- issue 9: swmr_tools semantics and the follower contract ------------------------------------

class GrowingKey:
    """A key object (not HDF5) whose shape and maxshape grow, as a mock dataset may."""

    def __init__(self, values, maxshape):
        self.values, self.maxshape = values, maxshape

    @property
    def shape(self):
        return self.values.shape

    def __getitem__(self, item):
        return self.values[item]


def test_refresh_catches_up_in_one_call_and_holds_the_backlog_as_a_range():
    key = np.zeros((2_000_000,), np.int8)
    key[:1_500_000] = 1
    kf = KeyFollower([key], timeout=None)
    assert kf.refresh() and kf.get_current_max() == 1_499_999  # as swmr_tools: all at once
    assert len(kf._pending) == 1_500_000 and len(kf._pending._segments) == 1  # one range
    assert next(kf) == 0 and next(kf) == 1
    assert kf.poll().size == following_module.MAX_NEW_PER_POLL  # poll() hands it out in batches


def test_maxshape_keeps_the_keys_type_and_keys_are_read_past_a_stale_maxshape():
    key = GrowingKey(np.ones((2, 4), np.int32), [2, 4])
    kf = KeyFollower([key], timeout=0.2)
    kf.check_datasets()
    assert kf.maxshape == [2, 4] and isinstance(kf.maxshape, list)
    got = [next(kf) for _ in range(8)]
    key.values = np.ones((5, 4), np.int32)  # the writer went on past the first maxshape
    key.maxshape = [5, 4]
    got += list(kf)
    assert got == list(range(20)) and not kf.timed_out and kf.scan_shape == (5, 4)


def test_declared_scan_shape_with_keys_growing_from_one_point():
    key = np.zeros((1, 1, 1), np.int32)  # GDA: unlimited in every dimension, trailing 1
    kf = KeyFollower([key], timeout=None, scan_shape=(3, 4))
    kf.check_datasets()
    assert kf.scan_rank == 2 and kf.scan_shape == (3, 4) and kf.total_points == 12
    key = np.zeros((1, 3, 1), np.int32)
    key[0, :3] = 1
    kf.key_datasets[0] = key
    assert kf.poll().tolist() == [0, 1, 2]
    key = np.ones((3, 4, 1), np.int32)
    kf.key_datasets[0] = key
    assert kf.poll().tolist() == list(range(3, 12))
    assert kf.are_keys_complete() and not kf.done  # ends on the next poll that finds nothing
    assert kf.poll().size == 0 and kf.done and not kf.timed_out


def test_growing_fast_axes_give_flat_indices_that_never_change_meaning():
    # no declared shape: the fast size is taken from the keys, frozen once row 1 appears
    key = GrowingKey(np.zeros((1, 1), np.int32), (None, None))
    kf = KeyFollower([key], timeout=None, scan_rank=2)
    seen = []
    for shape, filled in [((1, 2), 2), ((1, 5), 5), ((2, 5), 7), ((3, 5), 15)]:
        key.values = np.zeros(shape, np.int32)
        key.values.reshape(-1)[:filled] = 1
        new = kf.poll()
        rows, cols = kf.positions(new)
        seen += list(zip(rows.tolist(), cols.tolist()))
    assert kf.scan_shape == (None, 5) and kf.index_shape == (None, 5)
    assert seen == [(r, c) for r in range(3) for c in range(5)]
    key.values = np.ones((3, 7), np.int32)  # a writer growing a frozen axis: logged, not re-mapped
    assert kf.poll().size == 0 and kf.scan_shape == (None, 5)


def test_resume_after_a_timeout_keeps_following_from_where_it_was():
    key = np.zeros((10,), np.int32)
    key[:4] = 1
    kf = KeyFollower([key], timeout=0.2)
    got = kf.poll().tolist()
    while not kf.done:
        got += kf.poll().tolist()
        time.sleep(0.02)
    assert got == [0, 1, 2, 3] and kf.timed_out
    key[4:7] = 1
    kf.resume()
    assert not kf.timed_out and not kf.done
    assert kf.poll().tolist() == [4, 5, 6]


def test_is_finished_reads_the_flag_as_swmr_tools_does():
    flag = np.zeros((1,), np.int32)
    kf = KeyFollower([np.ones((4,), np.int32)], timeout=None, finished_dataset=flag)
    assert not kf.is_finished() and not kf.finished_set
    flag[0] = 1
    assert not kf.is_finished() and kf.finished_set  # seen now; following ends on a later poll
    assert list(kf) == [0, 1, 2, 3] and kf.is_finished() and not kf.timed_out


@pytest.mark.slow
def test_without_a_flag_a_scan_of_known_size_ends_when_every_point_is_in(writer):
    path, _ = writer(Plan(scan_shape=(4, 5), unlimited=False, finished=""))
    indices, kf = follow(path, timeout=30)
    assert indices == list(range(20)) and not kf.timed_out and not kf.finished_set


@pytest.mark.slow
def test_idle_poll_reads_one_value_of_one_key_through_cached_hdf5_objects(writer):
    path, proc = writer(Plan(scan_shape=(40,), n_keys=2, unlimited=False, rate=400, drop=(30,)))
    proc.join(timeout=30)
    with open_when_ready(path) as f:
        keys = [f["keys/key0"], f["keys/key1"]]
        kf = KeyFollower(keys, timeout=None)
        assert kf.refresh() and kf.get_current_max() == 29
        assert kf.poll().tolist() == list(range(30))  # the backlog refresh() found
        calls = []
        for k in keys:  # any high-level read would go through Dataset.__getitem__
            k.__class__ = type("Counting", (k.__class__,), {
                "__getitem__": lambda self, item, _c=calls: _c.append(item)})
        for _ in range(5):
            assert kf.poll().size == 0
        assert calls == [] and not kf.done


def test_datasource_does_not_compare_fast_axes_that_are_still_growing():
    from swmrview.core import DataSource

    key = GrowingKey(np.ones((1, 2), np.int32), (None, None))  # keys lag the data in row 0
    data = np.zeros((1, 3, 4))
    source = DataSource([key], {"d": data}, timeout=None, scan_rank=2)
    assert source.kf.settled_shape() == (None, None)
    key.values = np.ones((2, 3), np.int32)
    source.kf.poll()
    assert source.kf.settled_shape() == (None, 3)  # frozen once row 1 appears
