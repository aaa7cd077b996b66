"""When each point was found ready, for the window's key-to-screen time (no Qt, no file)."""

from __future__ import annotations

import collections
from types import SimpleNamespace

import numpy as np

from swmrview.session.polling import Poller


def test_the_newest_point_read_is_found_at_the_poll_that_queued_it():
    poller = Poller("scan.h5", clock=lambda: 0.0)
    reader = SimpleNamespace(pending=collections.deque())
    poller._queue(reader, np.zeros((3, 1), np.int64), now=1.0)    # points 0-2
    poller._queue(reader, np.zeros((2, 1), np.int64), now=2.0)    # points 3-4
    poller._queue(reader, np.zeros((4, 1), np.int64), now=3.0)    # points 5-8
    assert len(reader.pending) == 3
    assert poller.found_at(0) is None
    assert poller.found_at(2) == 1.0      # read up to point 1: found in the first poll
    assert poller.found_at(3) == 1.0
    assert poller.found_at(4) == 2.0      # a reader behind reads older polls' points
    assert poller.found_at(9) == 3.0
    assert poller.found_at(10) is None    # more than was queued here: not known
    poller.reset()                        # a new scan counts from zero again
    poller._queue(reader, np.zeros((1, 1), np.int64), now=7.0)
    assert poller.found_at(1) == 7.0
