"""Hypothesis properties: whatever order keys arrive in, every ready point is reported once."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from swmrview.core import KeyFollower
from swmrview.core.follow import following as following_module
from swmrview.core.follow import keys as keys_module


@st.composite
def arrivals(draw):
    """A scan shape, a number of keys, and the order in which (key, point) pairs get set."""
    shape = draw(st.sampled_from([(7,), (3, 4), (2, 3, 2), (50,), (5, 9)]))
    n_keys = draw(st.integers(1, 3))
    events = [(k, i) for k in range(n_keys) for i in range(int(np.prod(shape)))]
    order = draw(st.permutations(events))
    polls = draw(st.lists(st.integers(0, len(events)), max_size=12))
    window = draw(st.sampled_from([1, 2, 5, 4096]))  # small windows cross window boundaries
    return shape, n_keys, order, sorted(set(polls) | {len(events)}), window


def _check(shape, n_keys, order, polls, window, out_of_order):
    saved, keys_module.WINDOW_POINTS = keys_module.WINDOW_POINTS, window
    try:
        _follow_arrivals(shape, n_keys, order, polls, out_of_order)
    finally:
        keys_module.WINDOW_POINTS = saved


def _follow_arrivals(shape, n_keys, order, polls, out_of_order):
    keys = [np.zeros(shape + (1,), np.int32) for _ in range(n_keys)]
    kf = KeyFollower(keys, timeout=None, out_of_order=out_of_order)
    reported: list[int] = []
    done = 0
    for upto in polls:
        for k, i in order[done:upto]:
            keys[k].flat[i] = 1
        done = upto
        ready = np.flatnonzero(np.logical_and.reduce([k.ravel() != 0 for k in keys]))
        reported += kf.poll().tolist()
        assert len(reported) == len(set(reported)), "a point was reported twice"
        assert set(reported) <= set(ready.tolist()), "a point was reported before all its keys"
        if out_of_order:
            assert set(reported) == set(ready.tolist()), "a ready point was not reported"
        else:
            first_missing = next((i for i in range(int(np.prod(shape))) if i not in set(ready)), None)
            expected = list(range(first_missing if first_missing is not None else ready.size))
            assert reported == expected, "in order: exactly the contiguous ready prefix"
    assert sorted(reported) == list(range(int(np.prod(shape))))
    assert kf.are_keys_complete()


@settings(max_examples=150, deadline=None)
@given(arrivals())
def test_in_order_reports_exactly_the_contiguous_ready_prefix(case):
    _check(*case, out_of_order=False)


@settings(max_examples=150, deadline=None)
@given(arrivals())
def test_out_of_order_reports_every_ready_point_exactly_once(case):
    _check(*case, out_of_order=True)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 20_000), st.integers(0, 20_000))
def test_large_windows_report_each_point_once(n_ready, n_more):
    key = np.zeros(40_000, np.int8)
    kf = KeyFollower([key], timeout=None)
    key[:n_ready] = 1
    first = _drain(kf)
    key[n_ready:n_ready + n_more] = 1
    second = _drain(kf)
    assert first.tolist() == list(range(n_ready))
    assert second.tolist() == list(range(n_ready, min(n_ready + n_more, key.size)))


def _drain(kf):
    """Poll until nothing new; each poll reports a bounded batch."""
    batches = []
    while (batch := kf.poll()).size:
        assert batch.size <= following_module.MAX_NEW_PER_POLL
        batches.append(batch)
    return np.concatenate(batches) if batches else np.empty(0, np.int64)
