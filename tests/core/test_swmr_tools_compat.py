"""A script written for swmr_tools 0.9.0 gives the same results after changing its import."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

swmr_tools = pytest.importorskip("swmr_tools")
import swmrview.core as swmrview_core
from swmrview.tools.simulate import SimConfig

KEYS = "/entry/diamond_scan/keys"
DATA = "/entry/instrument/detector/data"


def user_script(lib, path, out_path):
    """A typical processing script: integrate each frame, write results shaped like the scan."""
    results = []
    with h5py.File(path, "r", swmr=True) as f, h5py.File(out_path, "w") as out:
        keys = [f[KEYS + "/" + name] for name in f[KEYS]]
        kf = lib.KeyFollower(keys, timeout=1, finished_dataset=f["/entry/diamond_scan/scan_finished"])
        kf.check_datasets()
        source = lib.DataSource(keys, {"data": f[DATA]}, timeout=1,
                                finished_dataset=f["/entry/diamond_scan/scan_finished"])
        output = None
        for frames in source:
            profile = frames["data"].sum(axis=-1, dtype=np.float64).reshape(-1)
            if output is None:
                output = source.create_dataset(profile, out, "profile")
            else:
                source.append_data(profile, frames.slice_metadata, output)
            results.append((frames.index, frames.slice_metadata, frames.maxshape))
        positions = [lib.utils.get_position(i, f[DATA].shape, kf.scan_rank) for i, *_ in results]
        return (results, output[...], output.maxshape, kf.scan_rank, tuple(kf.maxshape),
                source.is_scan_finished(), source.has_timed_out(), positions)


@pytest.mark.slow
def test_the_same_script_gives_the_same_results_with_either_import(sim_writer, tmp_path):
    cfg = SimConfig(shape=(4, 5), frame=(6, 8), rate=400)
    path, proc = sim_writer(cfg)
    proc.join(timeout=30)
    theirs = user_script(swmr_tools, path, tmp_path / "theirs.h5")
    ours = user_script(swmrview_core, path, tmp_path / "ours.h5")
    assert ours[0] == theirs[0]  # indices, slice metadata, maxshape at every point
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2:] == theirs[2:]
    assert len(ours[0]) == 20 and ours[5] is True


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.data())
def test_position_helpers_match_swmr_tools(shape, data):
    scan_rank = data.draw(st.integers(1, len(shape)))
    index = data.draw(st.integers(0, int(np.prod(shape[:scan_rank])) - 1))
    theirs, ours = swmr_tools.utils, swmrview_core.utils
    assert ours.get_position(index, shape, scan_rank) == tuple(theirs.get_position(index, shape, scan_rank))
    assert ours.get_position_snake(index, shape, scan_rank) == theirs.get_position_snake(index, shape, scan_rank)
    assert ours.get_position_snake_row(index, shape, scan_rank) == theirs.get_position_snake_row(
        index, shape, scan_rank)
    assert ours.get_row_slice(index, shape, scan_rank) == theirs.get_row_slice(index, shape, scan_rank)


@pytest.mark.slow
def test_row_key_follower_and_check_file_readable_match(sim_writer):
    cfg = SimConfig(shape=(3, 4), frame=(2,), rate=400)
    path, proc = sim_writer(cfg)
    proc.join(timeout=30)
    with h5py.File(path, "r", swmr=True) as f:
        keys = [f[KEYS + "/uniqueKeys"]]
        rows = {}
        for lib in (swmr_tools, swmrview_core):
            follower = lib.RowKeyFollower(keys, timeout=0.5, finished_dataset=None, row_size=4)
            follower.check_datasets()  # swmr_tools needs this call before iterating
            rows[lib.__name__] = list(follower)
        theirs, ours = rows["swmr_tools"], rows["swmrview.core"]
    assert ours == theirs == [3, 7, 11]
    assert swmrview_core.check_file_readable(str(path), [DATA]) is True
    assert swmrview_core.check_file_readable(str(path), ["/nope"], timeout=0.2, retrys=2) is False


def _stream_into_grid(lib, shape, n, snake):
    """Feed a stream of points, n per chunk, through lib.chunk_utils; the grid after each chunk."""
    grid, data, last, states = np.zeros(shape), np.arange(n) + 1.0, None, []
    for start in range(0, int(np.prod(shape)), n):
        lib.chunk_utils.write_data(lib.chunk_utils.get_slice_structure(start, n, shape, snake),
                                   data, last, grid)
        states.append(grid.copy())
        last, data = data, data + n
    return states


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=3), st.integers(1, 14), st.booleans())
def test_chunk_utils_writes_the_same_blocks_at_the_same_time_and_never_a_wrong_value(
        shape, n, snake):
    locate = swmr_tools.utils.get_position_snake if snake else swmr_tools.utils.get_position
    final = np.zeros(shape)
    for k in range(int(np.prod(shape))):
        final[tuple(locate(k, shape, len(shape)))] = k + 1
    theirs = _stream_into_grid(swmr_tools, shape, n, snake)
    ours = _stream_into_grid(swmrview_core, shape, n, snake)
    for t, o in zip(theirs, ours):
        assert np.all((o == 0) | (o == final))  # a block is written once it is whole
        right = t == final  # swmr_tools writes a few snake blocks early with wrong values
        np.testing.assert_array_equal(o[right], t[right])
    np.testing.assert_array_equal(ours[-1], final)
    np.testing.assert_array_equal(theirs[-1], final)


def test_the_frozen_api_is_swmr_tools_own_list_and_every_name_of_its_modules_is_there():
    """``swmrview.core.SWMR_TOOLS_API`` says in one place which names never change: exactly
    swmr_tools' ``__all__``; the public functions and classes of its modules are there too."""
    assert tuple(swmrview_core.SWMR_TOOLS_API) == tuple(swmr_tools.__all__)
    for name in swmr_tools.__all__:
        assert hasattr(swmrview_core, name), name
    import inspect
    for module in (swmr_tools.utils, swmr_tools.datasource):
        ours = swmrview_core.utils if module is swmr_tools.utils else swmrview_core
        for name, obj in vars(module).items():
            if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__ \
                    and (inspect.isfunction(obj) or inspect.isclass(obj)):
                assert hasattr(ours, name), f"{module.__name__}.{name}"
