"""The view state: one owner of the map, acquired points, pinned point, ROI and geometry (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.model.messages import Axis, ScanInfo, Update
from swmrview.model.status import LIVE, Status
from swmrview.model.view_state import ViewState


def info(shape, axes=None, frame_shape=(4, 4)):
    axes = axes or tuple(Axis(f"m{d}") for d in range(len(shape)))
    return ScanInfo(1, "/x.h5", "keys", tuple(shape), axes, "/entry/data", ("/entry/data",),
                    tuple(frame_shape), "uint16", {})


def update(positions, sums, new=None, shape=None, frame_at=None, roi=None):
    positions = np.asarray(positions, dtype=np.int64)
    sums = np.asarray(sums, dtype=float)
    return Update(1, Status(LIVE, "live"), positions=positions,
                  values={"sum": sums, "roi": sums * 2}, roi=roi,
                  new_points=len(positions) if new is None else new, scan_shape=shape,
                  frame=None if frame_at is None else np.zeros((2, 2)),
                  frame_position=frame_at)


def test_map_grows_in_every_dimension_from_one_by_one():
    """GDA grows every per-point dataset from (1, 1): the map must follow, never freeze."""
    state = ViewState(info((None, None)))
    assert state.shape == (0, 0)
    state.apply(update([[0, 0]], [1.0], shape=(1, 1)))
    state.apply(update([[0, 1], [0, 2]], [2.0, 3.0], shape=(1, 3)))
    changes = state.apply(update([[1, 2], [1, 1]], [4.0, 5.0], shape=(2, 3)))
    assert changes.shape and changes.map
    assert state.shape == (2, 3)
    plane = state.plane()
    assert plane[0].tolist() == [1.0, 2.0, 3.0]
    assert plane[1, 1:].tolist() == [5.0, 4.0] and np.isnan(plane[1, 0])
    assert state.n_acquired == 5
    assert state.order_position(3) == (1, 2)           # arrival order, not grid order


def test_declared_shape_sizes_the_map_from_the_first_point():
    state = ViewState(info((5, 5)))
    state.apply(update([[0, 0]], [1.0], shape=(1, 1)))
    assert state.shape == (5, 5)
    assert np.isnan(state.plane()).sum() == 24


def test_nan_value_is_still_acquired_and_pinnable():
    state = ViewState(info((2, 2)))
    state.apply(update([[1, 0]], [np.nan]))
    assert state.is_acquired((1, 0))
    assert state.pin((1, 0)) and state.shown == (1, 0)
    assert not state.pin((0, 0))                        # not acquired: nothing to show
    assert state.shown == (1, 0)


def test_pin_and_follow_latest():
    state = ViewState(info((3,)))
    state.apply(update([[0], [1]], [1.0, 2.0], frame_at=(1,)))
    assert state.shown == (1,)
    state.pin((0,))
    state.apply(update([[2]], [3.0], frame_at=(2,)))
    assert state.shown == (0,) and state.latest == (2,)
    state.follow_latest()
    assert state.shown == (2,)
    assert state.order_of((2,)) == 2 and state.order_of((5,)) is None


def test_roi_values_of_another_roi_are_dropped_and_a_new_roi_clears_them():
    state = ViewState(info((2,)))
    state.set_roi((0, 2, 0, 2))
    state.apply(update([[0]], [1.0], roi=(0, 2, 0, 2)))
    state.apply(update([[1]], [5.0], roi=(9, 9, 9, 9)))  # queued before the ROI changed
    roi = state.map.values["roi"]
    assert roi[0] == 2.0 and np.isnan(roi[1])
    assert state.set_roi((0, 1, 0, 1)) and np.isnan(state.map.values["roi"]).all()
    assert not state.set_roi((0, 1, 0, 1))


def test_uneven_axis_positions_are_drawn_where_they_are():
    values = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
    state = ViewState(info((6,), axes=(Axis("x", "mm", values),)))
    state.apply(update([[2]], [3.0]))
    assert state.point_xy((2,))[0] == 2.0                 # not 6.4 as an even spread puts it
    assert not state.is_uniform(0)
    assert state.position_at(7.0) == (4,)                 # nearest cell of 8.0 (edges 6..12)
    assert state.position_at(100.0) is None


def test_coordinates_continue_the_last_step_while_the_axis_grows():
    state = ViewState(info((None,), axes=(Axis("x", None, np.array([1.0, 1.5])),)))
    state.apply(update([[3]], [1.0]))
    assert state.coordinates(0).tolist() == [1.0, 1.5, 2.0, 2.5]


def test_slow_index_follows_the_newest_point_before_drawing():
    """A 3-D scan of unknown length: the plane shown is the new slice at once, not a redraw late."""
    state = ViewState(info((None, 2, 2)))
    state.apply(update([[0, 0, 0]], [1.0], frame_at=(0, 0, 0)))
    state.apply(update([[1, 0, 0]], [2.0], frame_at=(1, 0, 0)))
    assert state.shape == (2, 2, 2)
    assert state.slow_index == (1,)
    assert state.plane()[0, 0] == 2.0
    state.set_slow_index((0,))                             # the user's choice sticks...
    state.apply(update([[1, 0, 1]], [3.0], frame_at=(1, 0, 1)))
    assert state.slow_index == (0,)
    state.follow_latest()                                  # ...until following latest again
    assert state.slow_index == (1,)


def test_map_positions_on_a_2d_grid_with_descending_motor():
    axes = (Axis("y", None, np.array([10.0, 9.0, 8.0])), Axis("x", None, np.array([0.0, 2.0])))
    state = ViewState(info((3, 2), axes=axes))
    assert state.point_xy((2, 1)) == (2.0, 8.0)
    assert state.position_at(2.1, 8.2) == (2, 1)


def test_single_frame_has_no_map():
    state = ViewState(info(()))
    state.apply(Update(1, Status(LIVE, ""), positions=np.zeros((1, 0), np.int64),
                       values={"sum": np.array([4.0])}, new_points=1, frame_position=()))
    assert state.rank == 0 and state.n_acquired == 1
    assert state.position_at(0.0, 0.0) is None


def test_export_csv(tmp_path):
    state = ViewState(info((2, 2)))
    state.apply(update([[0, 1]], [7.0]))
    out = tmp_path / "m.csv"
    state.export_csv(str(out))
    rows = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert rows == ["nan,7", "nan,nan"]


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError):
        ViewState(info((2,))).set_reduction("median")


def test_a_motor_that_did_not_move_gives_cells_of_index_width():
    """Equal positions (a readback of a motor left in place) made cells of zero width: the
    map was drawn with no area (blank) and no point could be clicked."""
    axes = (Axis("y", "mm", np.array([3.0, 3.0, 3.0])), Axis("x", "mm", np.array([0., 1., 2., 3.])))
    state = ViewState(info((3, 4), axes))
    state.apply(update([[0, 0]], [1.0], shape=(3, 4)))
    edges = state.edges(0)
    assert (np.diff(edges) > 0).all()
    assert state.position_at(*state.point_xy((2, 1))) == (2, 1)
    assert state.point_xy((2, 1))[0] == 1.0                            # x keeps its motor
