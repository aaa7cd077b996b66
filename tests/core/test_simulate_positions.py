"""The simulated beamline's spiral and fly scans: per-point motor positions and the planned path."""

from __future__ import annotations

import math
import time

import h5py
import numpy as np
import pytest

from swmrview.tools.simulate import positions as sim_positions

from swmrview.tools import simulate
from swmrview.core.files.layout import find_layout
from swmrview.tools.simulate import (SimConfig, expected_frame, expected_positions, planned_positions,
                               recorded_positions)

FAST = 5000.0
VALUE = simulate.POSITIONER_VALUE
VALUE_SET = simulate.POSITIONER_VALUE_SET


def finish(proc, timeout=60.0) -> int:
    proc.join(timeout)
    assert not proc.is_alive(), "writer did not finish"
    return proc.exitcode


def open_live(path, deadline):
    while True:
        try:
            return h5py.File(path, "r", swmr=True)
        except OSError:
            assert time.monotonic() < deadline, "file never opened"
            time.sleep(0.01)


def test_spiral_plan_is_a_fermat_spiral():
    n = 200
    y, x = sim_positions.spiral_plan(n)
    cy, cx = sim_positions.SPIRAL_CENTRE
    r = np.hypot(y - cy, x - cx)
    np.testing.assert_allclose(r, sim_positions.SPIRAL_RADIUS * np.sqrt(np.arange(n) / (n - 1)),
                               atol=1e-12)
    theta = np.unwrap(np.arctan2(y - cy, x - cx)[1:])
    golden = math.pi * (3 - math.sqrt(5))
    np.testing.assert_allclose(np.diff(theta) % (2 * np.pi), golden, atol=1e-9)
    # a Fermat spiral covers its disc evenly: half the points inside 1/sqrt(2) of the radius
    assert abs(np.mean(r < sim_positions.SPIRAL_RADIUS / math.sqrt(2)) - 0.5) < 0.02


@pytest.mark.slow
def test_spiral_live_positions_per_point_and_whole_plan_at_start(sim_writer):
    cfg = SimConfig(shape=(150,), frame=(16,), positions="spiral", rate=150.0)
    path, proc = sim_writer(cfg)
    deadline = time.monotonic() + 60
    plan = planned_positions(cfg)
    y_plan, x_plan = sim_positions.spiral_plan(150)
    np.testing.assert_array_equal(plan["stage_x"], x_plan)
    np.testing.assert_array_equal(plan["stage_y"], y_plan)
    seen_sizes: set[int] = set()
    checked: set[int] = set()
    with open_live(path, deadline) as f:
        # the demand path of the whole scan is there from the first look, fixed in size
        for motor in ("stage_x", "stage_y"):
            demand = f[VALUE_SET.format(motor=motor)]
            assert demand.shape == demand.maxshape == (150,)
            assert demand.attrs["units"] == "mm"
            np.testing.assert_array_equal(demand[...], plan[motor])
        values = {m: f[VALUE.format(motor=m)] for m in ("stage_x", "stage_y")}
        for ds in values.values():
            assert ds.maxshape == (None,) and ds.attrs["units"] == "mm"
        keys, finished = f[simulate.UNIQUE_KEYS], f[simulate.FINISHED_PATH]
        layout_live = None
        while True:
            assert time.monotonic() < deadline, "scan never finished"
            finished.refresh()
            done = bool(finished[0])
            keys.refresh()
            for ds in values.values():
                ds.refresh()
            seen_sizes.add(values["stage_x"].shape[0])
            ready = np.flatnonzero(keys[...].ravel())
            for i in ready[-5:]:                 # a keyed point has its positions written
                want = expected_positions(int(i), cfg)
                assert values["stage_x"][i] == want["stage_x"]
                assert values["stage_y"][i] == want["stage_y"]
                checked.add(int(i))
            if layout_live is None and 10 < len(ready) < 140:
                layout_live = find_layout(f)
            if done:
                break
            time.sleep(0.01)
    assert finish(proc) == 0
    assert min(seen_sizes) < 150 and max(seen_sizes) == 150        # grew point by point
    assert len(checked) > 20
    assert layout_live is not None
    assert layout_live.axes == ("/entry/data/stage_x_value_set",)
    assert layout_live.axis_units == ("mm",) and layout_live.scan_shape == (150,)
    with h5py.File(path, "r", swmr=True) as f:
        actual = recorded_positions(cfg)
        for motor in ("stage_x", "stage_y"):
            written = f[VALUE.format(motor=motor)][...]
            np.testing.assert_array_equal(written, actual[motor])
            # actual positions scatter around the plan by a few microns, not more
            err = written - plan[motor]
            assert 0 < np.abs(err).max() < 0.03 and np.abs(err).mean() < 0.01
        nxdata = f[simulate.NXDATA_PATH]
        assert list(nxdata.attrs["axes"]) == ["stage_x_value_set", "."]
        for name in ("stage_x", "stage_y", "stage_x_value_set", "stage_y_value_set"):
            assert int(nxdata.attrs[f"{name}_indices"]) == 0
        assert nxdata["stage_x"] == f[VALUE.format(motor="stage_x")]
        assert nxdata["stage_y_value_set"] == f[VALUE_SET.format(motor="stage_y")]
        layout = find_layout(f)
        assert layout.data == ("/entry/data/data",)     # positions are axes, not data


@pytest.mark.slow
def test_spiral_frames_see_the_sample_at_the_recorded_positions(sim_writer):
    cfg = SimConfig(shape=(60,), frame=(24, 20), positions="spiral", rate=FAST)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    with h5py.File(path, "r", swmr=True) as f:
        data = f[simulate.DATA_PATH]
        assert data.shape == (60, 24, 20)
        for i in range(60):
            np.testing.assert_array_equal(data[i], expected_frame(i, cfg))
    # the picture is looked at where the motors were: the same place gives the same value
    grid = SimConfig(shape=(41, 41), frame=())
    y, x = sim_positions.fractions("spiral", (60,), 0, False, 59)
    near = int(np.ravel_multi_index((round(y * 40), round(x * 40)), (41, 41)))
    assert simulate.sample_value(59, cfg) == pytest.approx(simulate.sample_value(near, grid),
                                                           rel=0.15)


@pytest.mark.slow
def test_fly_scan_positions_are_scan_shaped_with_lag_and_jitter(sim_writer):
    cfg = SimConfig(shape=(5, 8), frame=(), positions="fly", snake=True, rate=FAST)
    path, proc = sim_writer(cfg)
    assert finish(proc) == 0
    plan, actual = planned_positions(cfg), recorded_positions(cfg)
    with h5py.File(path, "r", swmr=True) as f:
        x = f[VALUE.format(motor="stage_x")]
        y = f[VALUE.format(motor="stage_y")]
        assert x.shape == y.shape == (5, 8) and x.maxshape == (None, None)
        np.testing.assert_array_equal(x[...], actual["stage_x"])
        np.testing.assert_array_equal(y[...], actual["stage_y"])
        np.testing.assert_array_equal(f[VALUE_SET.format(motor="stage_x")][...],
                                      np.linspace(0, 3, 8))
        np.testing.assert_array_equal(f[VALUE_SET.format(motor="stage_y")][...],
                                      np.linspace(-1, 1, 5))
        for i in (0, 13, 39):
            pos = np.unravel_index(i, cfg.shape)
            assert x[pos] == expected_positions(i, cfg)["stage_x"]
        for motor, (value, value_set) in simulate.positioner_paths(cfg).items():
            assert f[value].shape == (5, 8) and f[value_set].ndim == 1, motor
        nxdata = f[simulate.NXDATA_PATH]
        assert list(nxdata.attrs["axes"]) == ["stage_y_value_set", "stage_x_value_set"]
        assert list(nxdata.attrs["stage_x_indices"]) == [0, 1]
        assert list(nxdata.attrs["stage_y_indices"]) == [0, 1]
        assert nxdata.attrs["stage_y_value_set_indices"] == 0
        assert nxdata.attrs["stage_x_value_set_indices"] == 1
        layout = find_layout(f)
        assert layout.axes == ("/entry/data/stage_y_value_set", "/entry/data/stage_x_value_set")
        assert layout.data == ("/entry/data/data",)
    # the encoder lags behind the demand along the direction of travel (snake: odd rows back)
    lag = actual["stage_x"] - plan["stage_x"][None, :]
    assert lag[0::2].mean() > 0 > lag[1::2].mean()
    assert np.abs(actual["stage_y"] - plan["stage_y"][:, None]).max() < 0.1
    assert np.std(lag[0]) > 0                   # jitter and drift: not a constant offset
    assert simulate.positioner_paths(SimConfig())["stage_x"] == (
        None, "/entry/instrument/stage_x/value_set")        # a grid records demand only


def test_fly_with_xrf_writes_positions_and_i0_before_the_key(tmp_path):
    cfg = SimConfig(shape=(2, 3), detector="xrf", elements=1, channels=32, positions="fly")
    files = simulate.ScanFiles(tmp_path / "fly.h5", cfg)
    try:
        files.start_swmr()
        per_point = files.per_point()
        assert per_point[0] is files.data and per_point[-1] is files.unique_keys
        assert all(ds.shape[:2] == (1, 1) for ds in per_point)     # grows from (1, 1)
        files.write_point(4, 1)
        assert all(ds.shape[:2] == (2, 2) for ds in per_point)
        assert files.positions["stage_x"][1, 1] == expected_positions(4, cfg)["stage_x"]
        assert files.i0[1, 1] == simulate.xrf.i0_value(0, 6)
    finally:
        files.close()


@pytest.mark.parametrize("kwargs", [
    dict(shape=(4, 5), positions="spiral"),
    dict(shape=(20,), positions="fly"),
    dict(shape=(2, 3), positions="raster"),
])
def test_positions_config_validation(kwargs):
    with pytest.raises(ValueError):
        SimConfig(**kwargs)


def test_cli_xrf_spiral(tmp_path, capsys):
    out = tmp_path / "spiral.h5"
    assert simulate.main([str(out), "--xrf", "--positions", "spiral", "--shape", "40",
                          "--elements", "2", "--channels", "128", "--rate", "5000"]) == 0
    assert "40 points" in capsys.readouterr().out
    with h5py.File(out, "r") as f:
        assert f[simulate.DATA_PATH].shape == (40, 2, 128)
        assert f[VALUE.format(motor="stage_y")].shape == (40,)
        assert f[simulate.I0_PATH].shape == (40,)
        layout = find_layout(f)
        assert layout.frame_shape == (2, 128) and layout.scan_shape == (40,)
        assert layout.axes == ("/entry/data/stage_x_value_set",)
