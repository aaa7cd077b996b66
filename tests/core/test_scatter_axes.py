"""Finding and reading per-point motor positions of non-grid scans (real files, live writers)."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from swmrview.core import open_swmr
from swmrview.core.files.layout import find_layout
from swmrview.core.files.scatter_axes import find_scatter_axes, read_planned, read_positions
from tests.writers import scatter_writer as sw

DATA = Path(__file__).parent.parent / "data"


def scatter_of(h5):
    layout = find_layout(h5)
    return layout, find_scatter_axes(h5, layout.scan_rank, layout.scan_shape, layout.signal)


def test_xrd_test_positions_over_the_two_fast_dims():
    """Savu's xrd_test.nxs: x, y (2, 2) with x_indices = y_indices = [1, 2] in a 2x2x2 scan."""
    with h5py.File(DATA / "xrd_test.nxs", "r") as h5:
        layout, axes = scatter_of(h5)
        assert layout.scan_shape == (2, 2, 2)
        assert axes.dims == (1, 2)
        assert (axes.x, axes.y) == ("/entry1/xrd_entry/data/x", "/entry1/xrd_entry/data/y")
        x, y = read_positions(h5, axes)
        np.testing.assert_array_equal(x, h5["/entry1/xrd_entry/data/x"][()])
        np.testing.assert_array_equal(y, h5["/entry1/xrd_entry/data/y"][()])
        assert read_planned(h5, axes, (2, 2)) is None     # the file has no value_set


def test_gda_grid_scan_positions_are_found_but_its_value_set_is_no_trajectory():
    """p45-example.nxs: per-point stagex/stagey readbacks; value_set is one value per step of
    each motor's own axis, so there is no planned trajectory; ring_energy is a monitor."""
    with h5py.File(DATA / "p45-example.nxs", "r") as h5:
        _, axes = scatter_of(h5)
        assert (axes.x_name, axes.y_name, axes.dims) == ("stagex", "stagey", (0, 1))
        assert axes.planned_x == "/entry/mandelbrot/stagex_value_set"
        assert read_planned(h5, axes, (1, 2)) is None


def test_grid_and_line_scans_have_no_scatter(tmp_path):
    """A 1-D NXdata gives every counter ``_indices = 0`` (GDA's measurement group): counters
    are not positions. A grid with 1-D axes has none either."""
    path = tmp_path / "line.nxs"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="data")
        data = entry.create_group("data")
        data.attrs.update(NX_class="NXdata", signal="roi1_sum", axes=["h"])
        for name in ("h", "roi1_sum", "maxx", "maxy", "TimeFromEpoch"):
            data[name] = np.arange(10.0)
            data.attrs[f"{name}_indices"] = np.int32(0)
        grid = entry.create_group("grid")
        grid.attrs.update(NX_class="NXdata", signal="map", axes=["y", "x"],
                          x_indices=1, y_indices=0)
        grid["map"], grid["x"], grid["y"] = np.ones((3, 4)), np.arange(4.0), np.arange(3.0)
    with h5py.File(path, "r") as h5:
        assert scatter_of(h5)[1] is None
    with h5py.File(path, "a") as f:
        f["entry"].attrs["default"] = "grid"
    with h5py.File(path, "r") as h5:
        layout, axes = scatter_of(h5)
        assert layout.scan_rank == 2 and axes is None


def test_spiral_declares_x_and_records_y_beside_it(tmp_path):
    """A 1-D spiral in NeXus: ``x_indices = 0`` and ``y_indices = 0``, ``@axes = [x]``."""
    path = tmp_path / "spiral.nxs"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="data")
        data = entry.create_group("data")
        data.attrs.update(NX_class="NXdata", signal="counts", axes=["sample_x"],
                          sample_x_indices=0, sample_y_indices=0, counts_indices=0)
        data["counts"] = np.arange(20.0)
        data["sample_y"] = np.sin(np.arange(20.0))
        data["sample_x"] = np.cos(np.arange(20.0))
        data["sample_x"].attrs["units"] = "mm"
    with h5py.File(path, "r") as h5:
        _, axes = scatter_of(h5)
    assert (axes.x_name, axes.y_name, axes.dims, axes.x_unit) == ("sample_x", "sample_y", (0,),
                                                                 "mm")


@pytest.mark.parametrize("shape", [(120,), (6, 10)])
@pytest.mark.slow
def test_live_writer_positions_grow_and_the_plan_is_whole_from_the_start(tmp_path, shape):
    """While the GDA-like writer runs: positions found, read as they grow, plan complete."""
    path = tmp_path / "scan.nxs"
    writer = sw.start_scatter_writer(path, shape, rate=150)
    try:
        h5 = open_swmr(str(path), retry_for=30)
        try:
            _, axes = scatter_of(h5)
            assert axes is not None and axes.dims == tuple(range(len(shape)))
            assert (axes.x_name, axes.y_name) == ("sample_x", "sample_y")
            planned = read_planned(h5, axes, shape)
            want = sw.planned_positions(shape)
            np.testing.assert_allclose(planned[0], want[0])
            np.testing.assert_allclose(planned[1], want[1])
            real = sw.real_positions(writer.scan)
            sizes = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                x, y = read_positions(h5, axes)
                sizes.append(x.size)
                if x.shape == tuple(shape) and writer.exitcode is not None:
                    break
                time.sleep(0.05)
            x, y = read_positions(h5, axes)
        finally:
            h5.close()
    finally:
        writer.join(30)
    assert writer.exitcode == 0
    assert len(set(sizes)) > 2 and sizes == sorted(sizes)        # grew while being read
    np.testing.assert_allclose(x, real[0])
    np.testing.assert_allclose(y, real[1])
