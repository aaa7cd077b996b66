"""Held points and region selection (hold and compare), on a real ViewState, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.model.compare import MAX_HELD, HeldPoints
from swmrview.model.region_points import region_positions
from swmrview.model.messages import Axis, ScanInfo, Update
from swmrview.model.status import LIVE, Status
from swmrview.model.view_state import ViewState
from swmrview.tools.simulate import SimConfig, acquisition_order


def _state(shape, positions, axes=None):
    axes = axes or tuple(Axis(f"m{d}") for d in range(len(shape)))
    state = ViewState(ScanInfo(1, "/x.h5", "keys", tuple(shape), axes, "/d", ("/d",), (4,),
                               "uint16", {}))
    positions = np.asarray(positions, np.int64).reshape(-1, len(shape))
    state.apply(Update(1, Status(LIVE, "live"), positions=positions,
                       values={"sum": np.arange(len(positions), dtype=float)},
                       new_points=len(positions), scan_shape=tuple(shape)))
    return state


def _grid(shape):
    return np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1)


# ---------------------------------------------------------------------- held points
def test_only_acquired_points_are_held_once_each_in_the_order_held():
    state = _state((3, 4), [[0, 0], [0, 1], [2, 3]])
    held = state.held
    assert held.add((2, 3)) and held.add([0, 0])
    assert not held.add((1, 1))              # not acquired: no frame to compare
    assert not held.add((2, 3))              # already held
    assert held.positions == [(2, 3), (0, 0)]
    assert [p.number for p in held] == [1, 2]
    assert (0, 0) in held and (1, 1) not in held


def test_at_most_the_bound_is_held_and_numbers_are_reused():
    held = HeldPoints(lambda p: True)
    for k in range(MAX_HELD):
        assert held.add((k,))
    assert held.full and not held.add((99,))
    assert len(held) == MAX_HELD
    assert held.remove((2,)) and not held.remove((2,))
    assert held.add((50,)) and held.number((50,)) == 3    # the freed number, stable colours
    assert held.positions[-1] == (50,)
    assert not held.toggle((50,)) and (50,) not in held
    assert held.toggle((51,)) and held.number((51,)) == 3
    held.clear()
    assert len(held) == 0 and held.add((0,)) and held.number((0,)) == 1


def test_frames_are_kept_only_for_held_points():
    held = HeldPoints(lambda p: True, limit=3)
    held.add((1, 2))
    held.add((0, 0))
    assert held.missing_frames() == [(1, 2), (0, 0)]
    assert held.set_frame((1, 2), np.ones(3))
    assert not held.set_frame((5, 5), np.ones(3))        # a late answer for a point let go
    assert held.missing_frames() == [(0, 0)]
    np.testing.assert_array_equal(held.frame((1, 2)), np.ones(3))
    held.remove((1, 2))
    assert held.frame((1, 2)) is None
    held.set_frame((0, 0), np.zeros(3))
    held.clear_frames()                      # another dataset: read them again
    assert held.positions == [(0, 0)] and held.missing_frames() == [(0, 0)]


def test_a_new_dataset_keeps_the_held_points():
    state = _state((2, 2), [[0, 0], [1, 1]])
    state.held.add((1, 1))
    state.new_dataset(state.info)
    assert state.held.positions == [(1, 1)]


# ---------------------------------------------------------------------- regions
def _manual(state, x, y=None):
    """Brute force over every grid cell: acquired, on the plane shown, centre inside."""
    out = []
    for position in _grid(state.shape):
        position = tuple(int(p) for p in position)
        if not state.is_acquired(position) or position[:-2] != tuple(state.slow_index) \
                and state.rank > 2:
            continue
        cx = state.coordinates(state.rank - 1)[position[-1]]
        if not min(x) <= cx <= max(x):
            continue
        if state.rank >= 2:
            cy = state.coordinates(state.rank - 2)[position[-2]]
            if not min(y) <= cy <= max(y):
                continue
        out.append(position)
    return sorted(out)


def test_rank_1_region_is_an_interval_of_motor_positions():
    axis = Axis("energy", "eV", np.array([7100.0, 7105, 7110, 7120, 7140, 7180]))
    state = _state((6,), [[0], [1], [2], [3], [4]], axes=(axis,))   # the last not acquired
    got = region_positions(state, (7108.0, 7200.0))
    assert [tuple(p) for p in got] == [(2,), (3,), (4,)]
    assert sorted(map(tuple, got)) == _manual(state, (7108.0, 7200.0))
    assert len(region_positions(state, (7200.0, 7108.0))) == 3      # either order


def test_rank_2_region_with_a_descending_motor_matches_brute_force():
    axes = (Axis("y", "mm", np.linspace(5.0, 3.0, 5)), Axis("x", "mm", np.linspace(0, 1, 7)))
    acquired = _grid((5, 7))[:30]            # the last row not all acquired
    state = _state((5, 7), acquired, axes=axes)
    for x, y in [((0.1, 0.6), (3.4, 4.6)), ((1.0, -1.0), (10.0, 0.0)), ((0.3, 0.31), (4, 4.1)),
                 ((0.5, 1.0), (3.0, 3.6))]:
        got = region_positions(state, x, y)
        assert sorted(map(tuple, got)) == _manual(state, x, y)
    assert len(region_positions(state, (-9, 9), (-9, 9))) == 30     # every acquired point
    with pytest.raises(ValueError):
        region_positions(state, (0, 1))


def test_snake_scan_region_is_by_grid_cell_in_arrival_order():
    cfg = SimConfig(shape=(4, 5), snake=True)
    order = acquisition_order(cfg)[:13]      # two rows and a half, the second reversed
    positions = np.stack(np.unravel_index(order, cfg.shape), axis=1)
    state = _state(cfg.shape, positions)
    got = region_positions(state, (1.0, 3.0), (1.0, 2.0))
    assert sorted(map(tuple, got)) == _manual(state, (1.0, 3.0), (1.0, 2.0))
    assert [tuple(p) for p in got] == [(1, 3), (1, 2), (1, 1), (2, 1), (2, 2)]   # as acquired


def test_rank_3_region_takes_the_plane_on_screen():
    state = _state((2, 3, 3), _grid((2, 3, 3)))
    state.set_slow_index((1,))
    got = region_positions(state, (0, 1), (1, 2))
    assert all(p[0] == 1 for p in got) and len(got) == 4
    assert sorted(map(tuple, got)) == _manual(state, (0, 1), (1, 2))


def test_a_point_read_twice_is_in_the_region_once():
    state = _state((2, 2), [[0, 0], [0, 1], [0, 0]])
    assert [tuple(p) for p in region_positions(state, (0, 1), (0, 1))] == [(0, 0), (0, 1)]


def test_a_1d_region_uses_the_x_the_plot_is_drawn_against():
    """A 1-D scan plotted against another map (a channel): the region is an interval of that
    map's values, not of the motor (found in review: it picked nothing)."""
    from swmrview.core.compute.channels import Channel

    state = _state((10,), [[i] for i in range(10)])
    state.set_channels((Channel("angle", dataset="/angle"),))
    angle = 190.0 - 10 * np.arange(10)
    state.apply(Update(1, Status(LIVE, "live"), positions=_grid((10,)),
                       values={"angle": angle},
                       channels={"angle": state.channels["angle"]}))
    state.set_x_layer("angle")
    got = region_positions(state, (100.0, 130.0))
    assert sorted(int(p[0]) for p in got) == [6, 7, 8, 9]


def test_a_scatter_region_takes_the_points_drawn_inside_the_box():
    from swmrview.model.messages import Scatter

    n = 20
    x, y = np.cos(np.arange(n)), np.sin(np.arange(n))
    info = ScanInfo(1, "/x.h5", "keys", (n,), (Axis("x"),), "/d", ("/d",), (4,), "uint16", {},
                    scatter=Scatter("x", "y", "mm", "mm", x, y, n_points=n))
    state = ViewState(info)
    state.apply(Update(1, Status(LIVE, "live"), positions=_grid((n,)),
                       values={"sum": np.arange(n, dtype=float)}, new_points=n))
    got = region_positions(state, (0.0, 1.0), (0.0, 1.0), scatter=True)
    want = [i for i in range(n) if 0 <= x[i] <= 1 and 0 <= y[i] <= 1]
    assert [int(p[0]) for p in got] == want and want
