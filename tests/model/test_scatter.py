"""The scatter map model: points at real positions, pending plan, picking, interpolation (no Qt);
and the session sending a live non-grid scan's positions."""

from __future__ import annotations

import numpy as np
import pytest

from swmrview.model.messages import Axis, ScanInfo, Scatter, Update, frozen
from swmrview.model.hull import convex_hull, in_polygon
from swmrview.model.status import FINISHED, LIVE, Status
from swmrview.model.view_state import ViewState
from tests.writers import scatter_writer as sw


def spiral(n):
    return sw.planned_positions((n,))


def make_state(shape, x, y, n_points, planned=None, dims=None, axes=None):
    dims = dims or tuple(range(len(shape)))
    scatter = Scatter("sx", "sy", "mm", "mm", frozen(x), frozen(y),
                      None if planned is None else frozen(planned[0]),
                      None if planned is None else frozen(planned[1]), dims, n_points)
    axes = axes or tuple(Axis(f"m{d}") for d in range(len(shape)))
    info = ScanInfo(1, "/x.h5", "keys", tuple(shape), axes, "/d", ("/d",), (), "f8", {},
                    scatter=scatter)
    return ViewState(info)


def acquire(state, positions, values):
    positions = np.asarray(positions, np.int64).reshape(len(values), -1)
    state.apply(Update(1, Status(LIVE, "live"), positions=positions,
                       values={"sum": np.asarray(values, float)}, new_points=len(values)))


def test_points_are_the_acquired_ones_with_known_positions_and_their_values():
    x, y = spiral(50)
    state = make_state((50,), x[:30], y[:30], n_points=0, planned=(x, y))
    acquire(state, np.arange(40), np.arange(40) * 2.0)
    assert len(state.scatter.points(state)) == 0          # positions read before any point
    state.apply(Update(1, Status(LIVE, "live"), scatter=Scatter(
        "sx", "sy", "mm", "mm", frozen(x[:40]), frozen(y[:40]), frozen(x), frozen(y), (0,), 35)))
    pts = state.scatter.points(state)
    assert len(pts) == 35                                  # the rest: positions not read yet
    np.testing.assert_array_equal(pts.x, x[:35])
    np.testing.assert_array_equal(pts.y, y[:35])
    np.testing.assert_array_equal(pts.values, np.arange(35) * 2.0)
    px, py = state.scatter.pending(state)                  # planned, not acquired
    np.testing.assert_array_equal(px, x[40:])
    np.testing.assert_array_equal(py, y[40:])


def test_pending_trajectory_joins_neighbours_only():
    """A raster's fly-back is a jump, not a line across the map."""
    gx, gy = sw.planned_positions((4, 6))
    state = make_state((4, 6), gx, gy, 0, planned=(gx, gy))
    x, _, connect = state.scatter.pending_path(state)
    assert len(x) == 24
    assert connect.reshape(4, 6)[:, :-1].all()             # along each row
    assert not connect.reshape(4, 6)[:, -1].any()          # row end -> next row start


def test_points_of_a_3d_scan_are_those_of_the_shown_plane():
    """xrd_test.nxs-like: theta slowest, x and y (2, 2) over dims 1 and 2."""
    x = np.array([[-0.85, -0.848], [-0.85, -0.848]])
    y = np.array([[13.6, 13.6], [13.605, 13.605]])
    state = make_state((2, 2, 2), x, y, 8, dims=(1, 2))
    positions = np.array(np.unravel_index(np.arange(8), (2, 2, 2))).T
    acquire(state, positions, np.arange(8.0))
    state.set_slow_index((1,))
    pts = state.scatter.points(state)
    assert pts.positions[:, 0].tolist() == [1, 1, 1, 1]
    np.testing.assert_array_equal(pts.values, [4, 5, 6, 7])
    np.testing.assert_array_equal(pts.x, x.ravel())
    assert state.scatter.point_xy((1, 1, 0)) == (-0.85, 13.605)
    assert state.scatter.prefers_points(state)            # the grid map has no positions
    assert state.scatter.readout((1, 1, 0)) == "at sx=-0.85 mm  sy=13.605 mm"


def test_nearest_point_pick_in_pixel_units():
    x, y = spiral(60)
    state = make_state((60,), x, y, 60)
    acquire(state, np.arange(60), np.ones(60))
    k = 37
    assert state.scatter.nearest(state, x[k] + 1e-3, y[k] - 1e-3) == (k,)
    # 0.01 mm per pixel: a point 0.5 mm away is 50 px away, outside a 20 px pick
    far = (x.max() + 0.5, 0.0)
    assert state.scatter.nearest(state, *far, scale=(0.01, 0.01), max_distance=20) is None
    assert state.scatter.nearest(state, *far) is not None


def test_interpolation_reproduces_a_linear_field_and_is_nan_outside_the_hull():
    x, y = spiral(400)
    values = sw.expected_value(x, y)
    state = make_state((400,), x, y, 400)
    acquire(state, np.arange(400), values)
    result = state.scatter.interpolate(state, size=40)
    image = result.image
    x0, y0, w, h = result.rect
    assert image.shape == (40, 40)
    assert (x0, y0, x0 + w, y0 + h) == pytest.approx((x.min(), y.min(), x.max(), y.max()))
    cy, cx = np.meshgrid(y0 + (np.arange(40) + 0.5) * h / 40, x0 + (np.arange(40) + 0.5) * w / 40,
                         indexing="ij")
    hull = convex_hull(x, y)
    inside = in_polygon(hull, cx, cy)
    assert np.isnan(image[0, 0]) and np.isnan(image[-1, -1])   # the disc's corners
    assert np.isfinite(image[inside]).all()
    truth = sw.expected_value(cx, cy)
    cell = max(w, h) / 40 * np.hypot(3.0, 2.0)                 # the field's change per cell
    assert np.nanmax(np.abs(image - truth)[inside]) < 1.5 * cell
    assert np.nanmean(np.abs(image - truth)[inside]) < 0.5 * cell


def test_hull_and_polygon_test_against_a_known_square():
    rng = np.random.default_rng(3)
    px, py = rng.uniform(0, 1, 200), rng.uniform(0, 1, 200)
    px[:4], py[:4] = [0, 1, 1, 0], [0, 0, 1, 1]
    hull = convex_hull(px, py)
    assert sorted(map(tuple, hull.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert in_polygon(hull, np.array([0.5, 1.5, 1.0]), np.array([0.5, 0.5, 0.5])).tolist() \
        == [True, False, True]


def test_too_few_points_have_no_interpolation():
    x, y = spiral(10)
    state = make_state((10,), x, y, 2)
    acquire(state, [0, 1], [1.0, 2.0])
    assert state.scatter.interpolate(state) is None


@pytest.mark.parametrize("jitter, grid", [(0.0, True), (0.3, False)])
def test_grid_like_positions_keep_the_grid_map(jitter, grid):
    """A step scan's readbacks on the grid keep the grid map; a jittered fly scan does not."""
    scan = sw.ScatterScan((5, 8), jitter=jitter)
    x, y = sw.real_positions(scan)
    px, py = sw.planned_positions(scan.shape)
    axes = (Axis("sy", "mm", frozen(py[:, 0])), Axis("sx", "mm", frozen(px[0])))
    state = make_state((5, 8), x, y, 40, planned=(px, py), axes=axes)
    acquire(state, np.array(np.unravel_index(np.arange(40), (5, 8))).T, np.ones(40))
    assert state.scatter.grid_like(state) is grid
    assert state.scatter.prefers_points(state) is not grid


def test_a_line_of_two_motors_is_drawn_as_a_line():
    t = np.linspace(0, 1, 30)
    state = make_state((30,), t, 2 * t + 1, 30, axes=(Axis("sx", "mm", frozen(t)),))
    acquire(state, np.arange(30), np.ones(30))
    assert state.scatter.grid_like(state) and not state.scatter.prefers_points(state)


@pytest.mark.parametrize("shape", [(300,), (10, 16)])
@pytest.mark.slow
def test_session_sends_live_positions_until_the_scan_ends(tmp_path, follow, shape):
    """A live GDA-like spiral / fly scan: positions follow the points, the plan is whole from
    the start and pending shrinks to nothing; values are those written at the real positions."""
    path = tmp_path / "scan.nxs"
    writer = sw.start_scatter_writer(path, shape, rate=120)
    f = follow(path)
    pending, drawn = [], []

    def watch(f):
        if f.state is not None and f.state.scatter is not None:
            pending.append(len(f.state.scatter.pending(f.state)[0]))
            drawn.append(len(f.state.scatter.points(f.state)))
        return f.session.status.terminal and not f.session.busy

    f.until(watch)
    writer.join(10)
    assert f.session.status.kind == FINISHED
    n = int(np.prod(shape))
    assert f.infos[0].scatter is not None and f.infos[0].scatter.planned_x.shape == shape
    assert pending[0] > 0.8 * n and pending[-1] == 0 and pending == sorted(pending, reverse=True)
    assert len(set(drawn)) > 2                                  # filled in while live
    pts = f.state.scatter.points(f.state)
    assert len(pts) == n
    rx, ry = sw.real_positions(writer.scan)
    at = tuple(pts.positions.T)
    np.testing.assert_allclose(pts.x, rx[at])
    np.testing.assert_allclose(pts.y, ry[at])
    np.testing.assert_allclose(pts.values, sw.expected_value(pts.x, pts.y) * 20)
    assert f.state.scatter.prefers_points(f.state)


def test_binned_points_hold_each_cells_mean_and_nan_where_no_point_fell():
    x = np.array([0.0, 1.0, 1.0, 2.0, 2.0])
    y = np.array([0.0, 0.0, 2.0, 2.0, 2.0])
    state = make_state((5,), x, y, 5)
    acquire(state, np.arange(5), [1.0, 2.0, 3.0, 4.0, 6.0])
    image = state.scatter.interpolate(state, size=2, fill=False).image
    # cells of 1 x 1: (row 0: y < 1) [0 -> 1.0, 1 and 2 at x >= 1 -> 2.0]; row 1: 3 and (4 + 6)
    np.testing.assert_array_equal(image, [[1.0, 2.0], [np.nan, (3 + 4 + 6) / 3]])


def _reference_binning(pts, result):
    """Numpy binning of ``pts`` on the grid of ``result``: each cell's mean of the finite
    values, NaN where none fell (what the binned map draws)."""
    n = result.image.shape[0]
    x0, y0, w, h = result.rect
    good = np.isfinite(pts.values)
    col = np.clip(((pts.x[good] - x0) / (w / n)).astype(np.int64), 0, n - 1)
    row = np.clip(((pts.y[good] - y0) / (h / n)).astype(np.int64), 0, n - 1)
    count = np.zeros((n, n))
    total = np.zeros((n, n))
    np.add.at(count, (row, col), 1)
    np.add.at(total, (row, col), pts.values[good])
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def test_binned_points_equal_a_numpy_binning_and_grow_with_new_points_only():
    """The binned image kept by the geometry: equal to binning all points afresh, after new
    points (added to the cells, not rebinned) and after old values changed."""
    n = 20_000
    x, y = spiral(n)
    state = make_state((n,), x, y, n, planned=(x, y))
    rng = np.random.default_rng(1)
    values = rng.uniform(1, 5, n)
    values[::97] = np.nan                                  # points with no value yet
    acquire(state, np.arange(12_000), values[:12_000])
    first = state.scatter.binned(state)
    pts = state.scatter.points(state)
    assert len(pts) == 12_000
    np.testing.assert_allclose(first.image, _reference_binning(pts, first), rtol=1e-12)
    assert np.isnan(first.image).any() and np.isfinite(first.image).any()
    bins = state.scatter._bins["sum"]
    assert bins.rebuilds == 1
    cells = bins._cells.copy()

    acquire(state, np.arange(12_000, 13_000), values[12_000:13_000])
    after = state.scatter.binned(state)
    assert bins.rebuilds == 1                              # the grid kept: new points added
    np.testing.assert_array_equal(bins._cells[:12_000], cells[:12_000])
    assert after.rect == first.rect
    pts = state.scatter.points(state)                      # a full recompute on that grid
    assert len(pts) == 13_000
    np.testing.assert_allclose(after.image, _reference_binning(pts, after), rtol=1e-9)
    wanted = int(1.2 * np.sqrt(13_000))                    # finer, but not 1.25x finer yet
    assert after.image.shape[0] < wanted < 1.25 * after.image.shape[0]

    # old points recomputed (another dataset, an ROI): their old values leave their cells
    again = np.arange(0, 13_000, 3)
    acquire(state, again, np.full(len(again), 10.0))
    changed = state.scatter.binned(state)
    np.testing.assert_allclose(changed.image, _reference_binning(state.scatter.points(state),
                                                                 changed), rtol=1e-9)
    assert state.scatter.binned(state) is changed          # nothing new: the same image


def test_binned_grid_is_rebuilt_when_points_fall_outside_it():
    """Without a planned trajectory the grid spans the points; a spiral growing outwards
    rebuilds it (with room to spare), and the image still equals a fresh binning."""
    n = 8_000
    x, y = spiral(n)
    state = make_state((n,), x, y, n)
    acquire(state, np.arange(2_000), np.arange(2_000.0))
    first = state.scatter.binned(state)
    assert first.rect == pytest.approx((x[:2000].min(), y[:2000].min(),
                                        np.ptp(x[:2000]), np.ptp(y[:2000])))
    for stop in (4_000, 6_000, 8_000):
        acquire(state, np.arange(stop - 2_000, stop), np.arange(stop - 2_000.0, stop))
        result = state.scatter.binned(state)
        pts = state.scatter.points(state)
        x0, y0, w, h = result.rect
        assert x0 <= pts.x.min() and pts.x.max() <= x0 + w * (1 + 1e-12)
        assert y0 <= pts.y.min() and pts.y.max() <= y0 + h * (1 + 1e-12)
        np.testing.assert_allclose(result.image, _reference_binning(pts, result), rtol=1e-9)


def test_cached_points_follow_the_plane_and_positions_read_later():
    """The gathered points are those a full gather gives: on the plane shown, with positions
    that arrive after their points."""
    rng = np.random.default_rng(2)
    gx, gy = rng.uniform(0, 1, (4, 5)), rng.uniform(0, 1, (4, 5))
    state = make_state((3, 4, 5), gx[:1], gy[:1], 0, dims=(1, 2))
    positions = np.argwhere(np.ones((3, 4, 5), bool))
    acquire(state, positions[:30], np.arange(30.0))
    assert len(state.scatter.points(state)) == 0
    state.apply(Update(1, Status(LIVE, "live"), scatter=Scatter(
        "sx", "sy", "mm", "mm", frozen(gx[:2]), frozen(gy[:2]), None, None, (1, 2), 30)))
    state.set_slow_index((1,))
    pts = state.scatter.points(state)                      # row 0 and 1 of plane 1 known
    assert [tuple(p) for p in pts.positions] == [tuple(p) for p in positions[20:30]]
    np.testing.assert_array_equal(pts.x, gx[:2].ravel())
    acquire(state, positions[30:45], np.arange(30.0, 45.0))
    state.apply(Update(1, Status(LIVE, "live"), scatter=Scatter(
        "sx", "sy", "mm", "mm", frozen(gx), frozen(gy), None, None, (1, 2), 45)))
    pts = state.scatter.points(state)
    np.testing.assert_array_equal(pts.values, np.arange(20.0, 40.0))
    np.testing.assert_array_equal(pts.x, gx.ravel())
    state.set_slow_index((2,))
    np.testing.assert_array_equal(state.scatter.points(state).values, np.arange(40.0, 45.0))
