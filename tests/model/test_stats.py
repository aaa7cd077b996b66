"""The arithmetic of ``--stats``: percentiles, stalls, rates and key-to-screen times, on
hand-made samples (no Qt, no file)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from swmrview.model.messages import ScanInfo, Update
from swmrview.model.stats import FIELDS, STALL_S, TICK_S, LagStats, percentile
from swmrview.model.status import LIVE, Status


def info(frame_shape=(100, 50), dtype="uint16") -> ScanInfo:
    return ScanInfo(generation=1, path="scan.h5", mode="keys", scan_shape=(10,), axes=(),
                    data_path="/entry/data/data", data_paths=(), frame_shape=frame_shape,
                    dtype=dtype, tree={})


def update(new_points: int) -> Update:
    return Update(generation=1, status=Status(LIVE, "Live"), new_points=new_points)


def test_percentile_interpolates_between_the_nearest_samples():
    samples = list(range(1, 101))   # 1 .. 100
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile(samples, 90) == pytest.approx(90.1)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_event_loop_lateness_and_stalls_from_the_ticks():
    stats = LagStats(clock=lambda: 0.0)
    # ticks due every 10 ms: 98 on time, then one 30 ms late, one 200 ms late, one 60 ms late
    times = [0.0]
    for late in [0.0] * 98 + [0.030, 0.200, 0.060]:
        times.append(times[-1] + TICK_S + late)
    for t in times:
        stats.tick(t)
    out = stats.summary(now=10.0)
    assert out["event_loop_ticks"] == 101          # the first tick only starts the clock
    assert out["event_loop_late_ms_p50"] == 0.0
    assert out["event_loop_late_ms_max"] == pytest.approx(200.0)
    expected_p99 = np.percentile([0.0] * 98 + [30.0, 200.0, 60.0], 99)
    assert out["event_loop_late_ms_p99"] == pytest.approx(expected_p99, abs=0.01)
    assert out["event_loop_stalls_over_50ms"] == 2  # 200 and 60 ms; 30 ms is not a stall
    assert STALL_S == 0.050


def test_a_tick_earlier_than_due_is_not_negative_lateness():
    stats = LagStats(clock=lambda: 0.0)
    for t in (0.0, 0.009, 0.019):
        stats.tick(t)
    assert stats.summary(now=1.0)["event_loop_late_ms_max"] == 0.0


def test_points_bytes_and_rates_over_the_time_following():
    stats = LagStats(clock=lambda: 0.0)
    stats.scan_opened(info((100, 50), "uint16"), now=1.0)   # 10,000 bytes a frame
    stats.update(update(30), now=2.0)
    stats.update(update(0), now=2.5)     # a status update: no points, following time unchanged
    stats.update(update(70), now=3.0)
    out = stats.summary(now=20.0)
    assert out["following_s"] == 2.0     # opened at 1 s, newest point at 3 s
    assert out["run_s"] == 20.0
    assert out["points_read"] == 100 and out["points_per_s"] == 50.0
    assert out["mb_read"] == 1.0 and out["read_mb_per_s"] == 0.5
    # a second scan adds its own span; the time between the scans is not following
    stats.scan_opened(info((10,), "float64"), now=10.0)
    stats.update(update(20), now=12.0)
    out = stats.summary(now=20.0)
    assert out["following_s"] == 4.0 and out["points_read"] == 120
    assert out["mb_read"] == pytest.approx(1.0016)


def test_key_to_screen_median_and_p90_of_the_live_frames_drawn():
    stats = LagStats(clock=lambda: 0.0)
    stats.scan_opened(info(), now=0.0)
    stats.update(update(10), now=1.0)
    delays = [0.010, 0.020, 0.030, 0.040, 0.100]
    for i, delay in enumerate(delays):
        stats.frame_drawn(found_at=float(i), now=i + delay)
    stats.frame_drawn(found_at=None, now=6.0)   # drawn, but when its point was found is unknown
    out = stats.summary(now=10.0)
    assert out["frames_drawn"] == 6 and out["frames_per_s"] == 6.0
    assert out["key_to_screen_frames"] == 5
    assert out["key_to_screen_ms_median"] == pytest.approx(30.0)
    assert out["key_to_screen_ms_p90"] == pytest.approx(np.percentile(delays, 90) * 1000)


def test_nothing_measured_is_null_not_zero_or_nan(tmp_path):
    stats = LagStats(clock=lambda: 5.0)
    path = tmp_path / "lag.json"
    stats.write(path, file="scan.h5", status="error", exit_code=2)
    out = json.loads(path.read_text())
    assert tuple(out) == FIELDS
    assert out["status"] == "error" and out["exit_code"] == 2
    assert out["points_read"] == 0 and out["frames_drawn"] == 0
    for name in ("event_loop_late_ms_p99", "points_per_s", "read_mb_per_s",
                 "key_to_screen_ms_median"):
        assert out[name] is None


def test_click_to_frame_from_each_point_asked_for_to_its_frame_drawn():
    stats = LagStats(clock=lambda: 0.0)
    stats.point_drawn(now=0.5)                 # nothing asked for yet: not counted
    stats.point_asked(now=1.0)
    stats.point_asked(now=2.0)                 # asked again before the first was drawn
    stats.point_drawn(now=2.04)
    stats.point_drawn(now=2.5)                 # the same frame drawn again: not a new answer
    stats.point_asked(now=3.0)
    stats.point_drawn(now=3.08)
    out = stats.summary(now=4.0)
    assert out["click_to_frame_count"] == 2
    assert out["click_to_frame_ms_median"] == pytest.approx(60.0)
    assert out["click_to_frame_ms_max"] == pytest.approx(80.0)
