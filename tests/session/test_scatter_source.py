"""The scatter source reads only the positions that may have changed since its last read (the
rows of points acquired since), through the scan's shared handles, and sends the messages a
full read would."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from swmrview.core.files.scatter_axes import ScatterAxes, read_positions
from swmrview.session.handles import ScanFile
from swmrview.session.scatter_source import ScatterSource

AXES = ScatterAxes("/entry/data/x", "/entry/data/y", "x", "y", "mm", "mm", (0,))


def _selections(monkeypatch):
    """Record every h5py selection read: (dataset name, the key)."""
    seen = []
    real = h5py.Dataset.__getitem__

    def getitem(self, key, *args, **kwargs):
        seen.append((self.name, key))
        return real(self, key, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)
    return seen


@pytest.mark.parametrize("preallocated", [False, True])
def test_only_the_rows_of_new_points_are_read_and_messages_equal_a_full_read(
        tmp_path, monkeypatch, preallocated):
    n = 1000
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    path = tmp_path / "grow.h5"
    f = h5py.File(path, "w")
    group = f.create_group("entry/data")
    for name in ("x", "y"):   # as GDA grows them, or pre-allocated and filled (NaN to come)
        group.create_dataset(name, shape=(n if preallocated else 0,), maxshape=(None,),
                             chunks=(64,), dtype="f8", fillvalue=np.nan)
    scan_file = ScanFile(f)
    source = ScatterSource(scan_file, AXES, declared=(n,))
    seen = _selections(monkeypatch)
    written = acquired = 0
    for step in (0, 37, 200, 201, 650, 999, 1000):
        if not preallocated:
            for name in ("x", "y"):
                group[name].resize((step,))
        group["x"][written:step], group["y"][written:step] = x[written:step], y[written:step]
        written = step
        before, seen[:] = acquired, []
        message = source.read(step, (n,), final=step == n)
        reads = [key for _name, key in seen]
        acquired = step
        if message is None:       # nothing changed: the last message still holds
            message = source.last
        fx, fy = read_positions(scan_file, AXES)            # what the old source sent
        np.testing.assert_array_equal(message.x, fx)
        np.testing.assert_array_equal(message.y, fy)
        assert message.n_points == step
        # x and y read once each: from the first point not acquired at the last read on,
        # and in full at the first read and the last (the scan ended)
        whole = before == 0 or step == n
        if step == 0 and not preallocated:
            assert reads == []                              # empty datasets: nothing to read
        else:
            assert reads == ([()] if whole else [slice(before, None)]) * 2
    # a growing dataset is read about once in all (twice: the last read reads it all again);
    # a pre-allocated one from the first point not acquired to its end, each time
    assert source.values_read <= 2 * (2 * n + 1000 - 650) if not preallocated \
        else source.values_read < 2 * 7 * n
    f.close()


def test_rows_of_a_2d_scan_are_read_from_the_first_unfinished_row(tmp_path, monkeypatch):
    rows, cols = 12, 16
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 1, (rows, cols)), rng.uniform(0, 1, (rows, cols))
    axes = ScatterAxes("/x", "/y", "x", "y", None, None, (0, 1))
    f = h5py.File(tmp_path / "grid.h5", "w")
    for name in ("x", "y"):
        f.create_dataset(name, shape=(0, cols), maxshape=(None, cols), dtype="f8",
                         fillvalue=np.nan)
    source = ScatterSource(ScanFile(f), axes, declared=(rows, cols))
    seen = _selections(monkeypatch)
    acquired = 0
    for done in (5, 40, 41, 100, 192):
        r = -(-done // cols)                  # rows begun
        for name, values in (("x", x), ("y", y)):
            f[name].resize((r, cols))
            flat = np.full(r * cols, np.nan)
            flat[:done] = values.ravel()[:done]
            f[name][...] = flat.reshape(r, cols)
        before, seen[:] = acquired, []
        message = source.read(done, (rows, cols)) or source.last
        acquired = done
        want = np.full((r, cols), np.nan)
        want.ravel()[:done] = x.ravel()[:done]
        np.testing.assert_array_equal(message.x, want)
        reads = [key for _name, key in seen]
        start = before // cols                # the first row holding a point to come
        assert reads == ([slice(start, None)] if start else [()]) * 2
        fx, _fy = read_positions(source.h5, axes)
        np.testing.assert_array_equal(message.x, fx)
    f.close()
